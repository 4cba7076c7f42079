//! Fuzzing the OKX decoder: arbitrary bytes, and real messages from `../shared/data/okx`
//! mutated (byte flips, truncation, splices of two messages), and REST order book bodies
//! (`okx::rest::decode_book`) arbitrary and mutated. Whatever the input: no panic, events
//! already in the buffer are kept, an error or a non-event outcome leaves nothing of the
//! frame, a success leaves exactly its events (never beyond capacity), and each
//! `DepthBegin` is followed by exactly its `levels` level events.

mod common;
#[path = "common/deep.rs"]
mod deep;

use std::sync::OnceLock;

use edgeline::capture::{self, Direction};
use edgeline::feed::json::NESTING_MAX;
use edgeline::feed::okx::{self, DecodeError, Decoded, OkxDecoder};
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{EventBody, InstrumentId, MarketEvent, MarketKind, Qty};
use proptest::prelude::*;

/// Every received payload of the OKX files (empty when the data is absent).
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let prefixes = [
            "cryptofeed_2021-07-22_books-l2-tbt",
            "cryptofeed_2022-05-13_books",
            "crypto-msg-parser_",
        ];
        prefixes
            .iter()
            .filter_map(|p| common::data_file("okx", p))
            .flat_map(|path| capture::read_file(&path).unwrap())
            .filter(|m| m.direction == Direction::Received)
            .map(|m| m.payload.into_bytes())
            .collect()
    })
}

/// A decoder knowing the instruments of the recordings that matter most.
fn decoder() -> OkxDecoder {
    let mut symbols = SymbolMap::default();
    for (i, inst) in [
        "BTC-USDT",
        "BTC-USDT-SWAP",
        "BTC-USD-220527",
        "UNI-USD-SWAP",
        "ONT-USDT",
    ]
    .iter()
    .enumerate()
    {
        symbols.insert(inst, InstrumentId(u32::try_from(i).unwrap()));
    }
    OkxDecoder::new(MarketKind::Perp, symbols)
}

fn sentinel() -> MarketEvent {
    MarketEvent {
        ts_recv_raw: 1,
        ts_venue_ms: 2,
        instrument: InstrumentId(99),
        body: EventBody::OpenInterest { qty: Qty::ZERO },
    }
}

/// REST order book bodies in OKX's form (the first as the simulator prints one).
const REST_BOOKS: [&str; 3] = [
    r#"{"code":"0","msg":"","data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","seqId":123456}]}"#,
    r#"{"data":[{"seqId":"77","ts":"1","bids":[],"asks":[["1.5","2","0","1"]]}],"code":"0"}"#,
    r#"{"code":"51001","msg":"Instrument ID does not exist.","data":[]}"#,
];

/// Decodes `frame` into a buffer of `capacity` holding one earlier event, and checks
/// every invariant of the decoder contract.
fn check(frame: &[u8], capacity: usize) -> Result<(), TestCaseError> {
    check_with(frame, capacity, |frame, buf| {
        decoder().decode(frame, 5, buf)
    })
}

/// [`check`] of the REST order book decoder.
fn check_rest(frame: &[u8], capacity: usize) -> Result<(), TestCaseError> {
    check_with(frame, capacity, |frame, buf| {
        okx::rest::decode_book(frame, InstrumentId(1), 5, buf)
    })
}

fn check_with(
    frame: &[u8],
    capacity: usize,
    decode: impl FnOnce(&[u8], &mut EventBuf) -> Result<Decoded, okx::DecodeError>,
) -> Result<(), TestCaseError> {
    let mut buf = EventBuf::with_capacity(capacity);
    buf.push(sentinel()).unwrap();
    let result = decode(frame, &mut buf);
    prop_assert!(buf.len() <= capacity);
    prop_assert_eq!(buf.as_slice()[0], sentinel());
    let frame_events = &buf.as_slice()[1..];
    match result {
        Ok(Decoded::Events(n)) => prop_assert_eq!(n, frame_events.len()),
        _ => prop_assert!(frame_events.is_empty(), "{result:?} left events"),
    }
    let mut levels_left = 0usize;
    for event in frame_events {
        prop_assert_eq!(event.ts_recv_raw, 5);
        match event.body {
            EventBody::DepthLevel { .. } => {
                prop_assert!(levels_left > 0, "a level outside a depth message");
                levels_left -= 1;
            }
            EventBody::DepthBegin { levels, .. } => {
                prop_assert_eq!(levels_left, 0, "depth message cut short");
                levels_left = usize::from(levels);
            }
            _ => prop_assert_eq!(levels_left, 0, "depth message cut short"),
        }
    }
    prop_assert_eq!(levels_left, 0, "depth message cut short");
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Vec<(usize, u8)>),
    Truncate(usize),
    Splice(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..4).prop_map(Mutation::Flip),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(other, cut, at)| Mutation::Splice(other, cut, at)),
    ]
}

fn mutate(corpus: &[Vec<u8>], index: usize, m: &Mutation) -> Vec<u8> {
    let mut frame = corpus[index % corpus.len()].clone();
    match m {
        Mutation::Flip(flips) => {
            for &(at, xor) in flips {
                let len = frame.len();
                frame[at % len] ^= xor.max(1);
            }
        }
        Mutation::Truncate(at) => frame.truncate(at % frame.len()),
        Mutation::Splice(other, cut, at) => {
            let other = &corpus[other % corpus.len()];
            frame.truncate(cut % frame.len());
            frame.extend_from_slice(&other[at % other.len()..]);
        }
    }
    frame
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn prop_arbitrary_bytes_never_break_the_buffer(
        frame in prop::collection::vec(any::<u8>(), 0..256),
        capacity in 1usize..16,
    ) {
        check(&frame, capacity)?;
    }

    #[test]
    fn prop_mutated_real_messages_never_break_the_buffer(
        index in any::<usize>(),
        m in mutation(),
        capacity in 1usize..64,
    ) {
        let corpus = corpus();
        if corpus.is_empty() {
            return Ok(());
        }
        check(&mutate(corpus, index, &m), capacity)?;
    }

    #[test]
    fn prop_rest_books_arbitrary_and_mutated_never_break_the_buffer(
        frame in prop::collection::vec(any::<u8>(), 0..256),
        index in any::<usize>(),
        m in mutation(),
        capacity in 1usize..16,
    ) {
        check_rest(&frame, capacity)?;
        let corpus: Vec<Vec<u8>> = REST_BOOKS.iter().map(|b| b.as_bytes().to_vec()).collect();
        check_rest(&mutate(&corpus, index, &m), capacity)?;
        check_rest(&corpus[index % corpus.len()], capacity)?;
    }

    #[test]
    fn prop_real_messages_decode_whole_or_not_at_all(
        index in any::<usize>(),
        capacity in 1usize..64,
    ) {
        let corpus = corpus();
        if corpus.is_empty() {
            return Ok(());
        }
        check(&corpus[index % corpus.len()], capacity)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prop_deeply_nested_messages_and_books_are_too_deep(
        pick in any::<usize>(),
        depth in 1..2_000usize,
    ) {
        let corpus = corpus();
        let rest = REST_BOOKS[pick % REST_BOOKS.len()].as_bytes();
        let book = deep::nested(rest, depth);
        check_rest(&book, 64)?;
        let mut buf = EventBuf::with_capacity(64);
        let r = okx::rest::decode_book(&book, InstrumentId(1), 5, &mut buf);
        prop_assert!(depth <= NESTING_MAX || r == Err(DecodeError::TooDeep), "{r:?}");
        if !corpus.is_empty() {
            let frame = deep::nested(&corpus[pick % corpus.len()], depth);
            check(&frame, 64)?;
            let r = decoder().decode(&frame, 5, &mut buf);
            prop_assert!(depth <= NESTING_MAX || r == Err(DecodeError::TooDeep), "{r:?}");
        }
    }
}

/// Issue 21's frame, on a stack a recursion through it would overflow: malformed
/// (`TooDeep`) on the stream decoder (fast path first, and generic) and the REST book.
#[test]
fn test_okx_hostile_deep_frame_is_malformed_on_a_small_stack() {
    let frame = deep::hostile_deep(r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"#);
    let results = deep::on_small_stack(|| {
        let mut d = decoder();
        let mut buf = EventBuf::with_capacity(64);
        [
            d.decode(&frame, 0, &mut buf),
            d.decode_generic(&frame, 0, &mut buf),
            okx::rest::decode_book(&frame, InstrumentId(1), 0, &mut buf),
        ]
    });
    assert_eq!(results, [Err(DecodeError::TooDeep); 3]);
}
