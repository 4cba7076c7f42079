//! Fuzzing the Binance decoder (stream messages and REST snapshots) with proptest:
//! arbitrary bytes, and real messages from `../shared/data/binance` mutated (flips,
//! insertions, truncations, splices). Invariants: `common/fuzz.rs`, and the fast path
//! agreeing with the generic decoder on every input. Each run draws new inputs; repeat it
//! for a longer search.

mod common;
#[path = "common/deep.rs"]
mod deep;
#[path = "common/fuzz.rs"]
mod fuzz;

use std::sync::OnceLock;

use edgeline::capture::{self, Direction};
use edgeline::feed::binance::BinanceDecoder;
use edgeline::feed::json::NESTING_MAX;
use edgeline::feed::{DecodeError, EventBuf, SymbolMap};
use edgeline::types::InstrumentId;
use proptest::prelude::*;

/// Real messages kept per file.
const PER_FILE: usize = 40;

fn decoder() -> BinanceDecoder {
    let mut symbols = SymbolMap::default();
    for (id, name) in (0..).zip(["BTCUSDT", "SUSHIUSDT", "NKNUSDT", "FTMUSDT", "BNBUSDT"]) {
        symbols.insert(name, InstrumentId(id));
    }
    BinanceDecoder::new(symbols)
}

/// A spread of real messages: every channel of the captures and the literals files.
fn corpus() -> &'static [(Direction, Vec<u8>)] {
    static CORPUS: OnceLock<Vec<(Direction, Vec<u8>)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut out = Vec::new();
        for prefix in [
            "spot_hftbacktest_",
            "usdm_hftbacktest_",
            "usdm_cryptofeed_2021-07-22_depth",
            "usdm_cryptofeed_2021-07-22_rest",
            "crypto-msg-parser_",
            "usdm_tardis-node_",
        ] {
            let Some(path) = common::data_file("binance", prefix) else {
                continue;
            };
            let messages = capture::read_file(&path).unwrap();
            let step = (messages.len() / PER_FILE).max(1);
            out.extend(
                messages
                    .into_iter()
                    .step_by(step)
                    .filter(|m| m.direction != Direction::Sent)
                    .map(|m| (m.direction, m.payload.into_bytes())),
            );
        }
        out
    })
}

fn check(direction: Direction, frame: &[u8]) -> Result<(), TestCaseError> {
    let d = decoder();
    fuzz::check(frame, &mut |f, buf: &mut EventBuf| match direction {
        Direction::Http => d.decode_snapshot(f, InstrumentId(0), 5, buf),
        _ => d.decode(f, 5, buf),
    })?;
    same_as_generic(&d, frame)
}

/// The fast path is only a shortcut: on any input, `decode` (fast path first) and
/// `decode_generic` give the same outcome and the same events.
fn same_as_generic(d: &BinanceDecoder, frame: &[u8]) -> Result<(), TestCaseError> {
    let (mut fast, mut generic) = (EventBuf::with_capacity(64), EventBuf::with_capacity(64));
    let a = d.decode(frame, 5, &mut fast);
    let b = d.decode_generic(frame, 5, &mut generic);
    prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    prop_assert_eq!(fast.as_slice(), generic.as_slice());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn fuzz_binance_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(Direction::Received, &bytes)?;
        check(Direction::Http, &bytes)?;
    }

    #[test]
    fn fuzz_binance_mutated_real_messages(
        pick in any::<usize>(),
        other in any::<usize>(),
        m in fuzz::mutation(),
    ) {
        let corpus = corpus();
        prop_assume!(!corpus.is_empty());
        let (direction, message) = &corpus[pick % corpus.len()];
        let (_, tail) = &corpus[other % corpus.len()];
        check(*direction, &fuzz::mutate(message, tail, &m))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_binance_deeply_nested_real_messages(pick in any::<usize>(), depth in 1..2_000usize) {
        let corpus = corpus();
        prop_assume!(!corpus.is_empty());
        let (direction, message) = &corpus[pick % corpus.len()];
        let frame = deep::nested(message, depth);
        check(*direction, &frame)?;
        if depth > NESTING_MAX {
            let mut buf = EventBuf::with_capacity(64);
            let d = decoder();
            let r = match direction {
                Direction::Http => d.decode_snapshot(&frame, InstrumentId(0), 5, &mut buf),
                _ => d.decode(&frame, 5, &mut buf),
            };
            prop_assert_eq!(r, Err(DecodeError::TooDeep));
        }
    }
}

/// Issue 21's frame, on a stack a recursion through it would overflow: malformed
/// (`TooDeep`) on the stream path, the generic path and the REST snapshot path.
#[test]
fn test_binance_hostile_deep_frame_is_malformed_on_a_small_stack() {
    let frame = deep::hostile_deep(r#"{"e":"bookTicker","#);
    let results = deep::on_small_stack(|| {
        let d = decoder();
        let mut buf = EventBuf::with_capacity(64);
        [
            d.decode(&frame, 0, &mut buf),
            d.decode_generic(&frame, 0, &mut buf),
            d.decode_snapshot(&frame, InstrumentId(0), 0, &mut buf),
        ]
    });
    assert_eq!(results, [Err(DecodeError::TooDeep); 3]);
}

#[test]
fn test_binance_corpus_decodes_unmutated() {
    let corpus = corpus();
    for (direction, message) in corpus {
        check(*direction, message).unwrap();
    }
    let d = decoder();
    let mut buf = EventBuf::with_capacity(4096);
    let failures: Vec<String> = corpus
        .iter()
        .filter_map(|(direction, m)| {
            buf.clear();
            let r = d.decode(m, 0, &mut buf);
            let bad = *direction == Direction::Received
                && !matches!(r, Ok(_) | Err(DecodeError::UnknownSymbol));
            bad.then(|| format!("{r:?}: {}", String::from_utf8_lossy(&m[..m.len().min(160)])))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "real messages must decode: {failures:#?}"
    );
}
