//! Property tests of the Bybit decoder: arbitrary bytes, and real messages from
//! `../shared/data/bybit` with bytes flipped, inserted, cut off or spliced from another
//! message. Whatever the input: no panic; on error the buffer holds exactly what it held
//! before the frame; on success exactly `n` more events; never more than its capacity;
//! and the decoder accepts nothing that `serde_json` (the reference) rejects as JSON.

mod common;
#[path = "common/deep.rs"]
mod deep;

use std::collections::HashMap;
use std::sync::OnceLock;

use edgeline::capture::{self, Direction};
use edgeline::feed::bybit::{BybitDecoder, DecodeError, Decoded};
use edgeline::feed::json::NESTING_MAX;
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{EventBody, InstrumentId, MarketEvent, MarketKind, Qty};
use proptest::prelude::*;

/// Small enough that real book snapshots overflow it (exercising `TooManyEvents`).
const CAPACITY: usize = 48;
/// Events already in the buffer before the fuzzed frame (from "earlier frames").
const PREFILLED: usize = 2;
/// Real messages kept per topic kind (the corpus stays small enough for debug builds).
const PER_KIND_MAX: usize = 4;

fn decoder(kind: MarketKind) -> BybitDecoder {
    let mut symbols = SymbolMap::default();
    for (id, name) in (0..).zip(["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT"]) {
        symbols.insert(name, InstrumentId(id));
    }
    BybitDecoder::new(kind, symbols)
}

fn earlier_event() -> MarketEvent {
    MarketEvent {
        ts_recv_raw: 1,
        ts_venue_ms: 2,
        instrument: InstrumentId(9),
        body: EventBody::OpenInterest { qty: Qty::ZERO },
    }
}

/// Decodes `frame` on both markets into a prefilled buffer and checks every invariant.
fn check_frame(frame: &[u8]) -> Result<(), TestCaseError> {
    for kind in [MarketKind::Spot, MarketKind::Perp] {
        let mut buf = EventBuf::with_capacity(CAPACITY);
        for _ in 0..PREFILLED {
            buf.push(earlier_event()).unwrap();
        }
        let result = decoder(kind).decode(frame, 5, &mut buf);
        prop_assert!(buf.len() <= CAPACITY);
        prop_assert!(
            buf.as_slice()[..PREFILLED]
                .iter()
                .all(|e| *e == earlier_event())
        );
        match result {
            Ok(Decoded::Events(n)) => prop_assert_eq!(buf.len(), PREFILLED + n),
            Ok(_) | Err(_) => prop_assert_eq!(buf.len(), PREFILLED),
        }
        if result.is_ok() {
            let reference = serde_json::from_slice::<serde::de::IgnoredAny>(frame);
            prop_assert!(reference.is_ok(), "accepted invalid JSON: {:?}", result);
        }
        // The fast path is only a shortcut: the generic decoder says the same.
        let mut generic = EventBuf::with_capacity(CAPACITY);
        for _ in 0..PREFILLED {
            generic.push(earlier_event()).unwrap();
        }
        let reference = decoder(kind).decode_generic(frame, 5, &mut generic);
        prop_assert_eq!(format!("{result:?}"), format!("{reference:?}"));
        prop_assert_eq!(buf.as_slice(), generic.as_slice());
    }
    Ok(())
}

/// A few real messages of every topic kind and every control message shape.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let prefixes = [
            "v5_spot_linear_cryptofeed_",
            "linear_bybit-history-archive_",
            "derivs_v2-v5_tardis-node_",
            "spot_v1-v5_tardis-node_",
        ];
        let mut kept: HashMap<String, usize> = HashMap::new();
        let mut corpus = Vec::new();
        for prefix in prefixes {
            let Some(mut path) = common::data_file("bybit", prefix) else {
                continue;
            };
            if path.extension().is_some_and(|e| e == "zst") {
                path = path.with_extension("");
            }
            for m in capture::read_file(&path).unwrap() {
                if m.direction != Direction::Received {
                    continue;
                }
                let count = kept.entry(topic_kind(&m.payload)).or_default();
                if *count < PER_KIND_MAX {
                    *count += 1;
                    corpus.push(m.payload.into_bytes());
                }
            }
        }
        corpus
    })
}

/// The topic up to its first `.` plus the message type, or the control message's keys.
fn topic_kind(payload: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(payload).unwrap();
    let topic = v["topic"].as_str().unwrap_or("");
    let name = topic.split('.').next().unwrap_or("");
    format!("{name}/{}/{}", v["type"], v["op"])
}

/// One change to a real message.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        xor: u8,
    },
    Insert {
        at: usize,
        byte: u8,
    },
    Truncate {
        at: usize,
    },
    Splice {
        at: usize,
        other: usize,
        from: usize,
        len: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let json_byte = prop::sample::select(b"{}[]\",:0123456789.-e\\ tfn".to_vec());
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        (any::<usize>(), json_byte).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), any::<usize>(), any::<usize>(), 1..64usize).prop_map(
            |(at, other, from, len)| Mutation::Splice {
                at,
                other,
                from,
                len
            }
        ),
    ]
}

fn apply(frame: &mut Vec<u8>, m: &Mutation, corpus: &[Vec<u8>]) {
    if frame.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip { at, xor } => {
            let i = at % frame.len();
            frame[i] ^= xor;
        }
        Mutation::Insert { at, byte } => frame.insert(at % (frame.len() + 1), byte),
        Mutation::Truncate { at } => frame.truncate(at % frame.len()),
        Mutation::Splice {
            at,
            other,
            from,
            len,
        } => {
            let source = &corpus[other % corpus.len()];
            let from = from % source.len();
            let piece = &source[from..(from + len).min(source.len())];
            let at = at % (frame.len() + 1);
            frame.splice(at..at, piece.iter().copied());
        }
    }
}

// Case counts keep both properties near a second in a debug build.
proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn prop_arbitrary_bytes_never_panic_or_leave_partial_frames(
        frame in prop::collection::vec(any::<u8>(), 0..256)
    ) {
        check_frame(&frame)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8192, ..ProptestConfig::default() })]

    #[test]
    fn prop_mutated_real_messages_never_panic_or_leave_partial_frames(
        pick in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..4)
    ) {
        let corpus = corpus();
        if corpus.is_empty() {
            return Ok(());
        }
        let mut frame = corpus[pick % corpus.len()].clone();
        for m in &mutations {
            apply(&mut frame, m, corpus);
        }
        check_frame(&frame)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prop_deeply_nested_real_messages_are_too_deep(
        pick in any::<usize>(),
        depth in 1..2_000usize,
    ) {
        let corpus = corpus();
        if corpus.is_empty() {
            return Ok(());
        }
        let frame = deep::nested(&corpus[pick % corpus.len()], depth);
        check_frame(&frame)?;
        if depth > NESTING_MAX {
            let mut buf = EventBuf::with_capacity(CAPACITY);
            let r = decoder(MarketKind::Perp).decode(&frame, 5, &mut buf);
            prop_assert_eq!(r, Err(DecodeError::TooDeep));
        }
    }
}

/// Issue 21's frame, on a stack a recursion through it would overflow: malformed
/// (`TooDeep`) on both markets, fast path first and generic path alone.
#[test]
fn test_bybit_hostile_deep_frame_is_malformed_on_a_small_stack() {
    let frame = deep::hostile_deep(r#"{"topic":"orderbook.1.BTCUSDT","#);
    let results = deep::on_small_stack(|| {
        let mut buf = EventBuf::with_capacity(CAPACITY);
        [MarketKind::Spot, MarketKind::Perp].map(|kind| {
            let mut d = decoder(kind);
            [
                d.decode(&frame, 0, &mut buf),
                d.decode_generic(&frame, 0, &mut buf),
            ]
        })
    });
    assert_eq!(results, [[Err(DecodeError::TooDeep); 2]; 2]);
}

#[test]
fn test_unmutated_corpus_decodes_without_error() {
    if common::data_file("bybit", "v5_spot_linear_cryptofeed_").is_some() {
        // Book, trade, ticker, kline, liquidation and control shapes of every file.
        assert!(corpus().len() > 40, "{}", corpus().len());
    }
    for frame in corpus() {
        let mut buf = EventBuf::with_capacity(1 + 2 * 500);
        let result = decoder(MarketKind::Perp).decode(frame, 0, &mut buf);
        assert!(result.is_ok(), "{result:?}");
    }
}
