//! Property tests of the Hyperliquid decoder against hostile input: arbitrary bytes, and
//! real messages from `../shared/data/hyperliquid` with bytes flipped, cut short or
//! spliced together. Never a panic; after an error the buffer holds exactly what it held
//! before; a success appends whole messages only (a depth header followed by exactly its
//! levels); never more events than the buffer's capacity. The real-message properties
//! skip (saying so) when the data is absent, and fail instead under `CI=true`.

mod common;
#[path = "common/deep.rs"]
mod deep;

use std::sync::OnceLock;

use edgeline::capture::read_file;
use edgeline::feed::hyperliquid::{DecodeError, Decoded, HyperliquidDecoder};
use edgeline::feed::json::NESTING_MAX;
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{EventBody, InstrumentId, MarketEvent, MarketKind, Price, Qty, Side};
use proptest::prelude::*;

fn decoder(kind: MarketKind) -> HyperliquidDecoder {
    let mut symbols = SymbolMap::default();
    for (i, name) in ["BTC", "FXS", "SHIA", "BANANA", "MOODENG", "@2", "@162"]
        .into_iter()
        .enumerate()
    {
        symbols.insert(name, InstrumentId(u32::try_from(i).unwrap()));
    }
    HyperliquidDecoder::new(kind, symbols)
}

/// Every real payload of the Hyperliquid data folder (empty when it is absent).
fn corpus() -> &'static [String] {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        [
            "perp_hftbacktest_",
            "perp_spot_tardis-node_",
            "perp_nautilus_",
        ]
        .into_iter()
        .filter_map(|prefix| common::data_file("hyperliquid", prefix))
        .flat_map(|path| read_file(&path).unwrap())
        .map(|m| m.payload)
        .collect()
    })
}

/// A sentinel event that stands for what the buffer held before the frame.
fn sentinel() -> MarketEvent {
    MarketEvent {
        ts_recv_raw: u64::MAX,
        ts_venue_ms: 0,
        instrument: InstrumentId(99),
        body: EventBody::DepthLevel {
            side: Side::Bid,
            price: Price::ZERO,
            qty: Qty::ZERO,
        },
    }
}

/// Decodes `frame` into a buffer of `capacity` already holding `prefill` sentinels and
/// checks every invariant of the decoder's contract; returns the outcome.
fn check(
    kind: MarketKind,
    frame: &[u8],
    capacity: usize,
    prefill: usize,
) -> Result<Decoded, DecodeError> {
    let mut buf = EventBuf::with_capacity(capacity);
    for _ in 0..prefill.min(capacity) {
        buf.push(sentinel()).unwrap();
    }
    let before = buf.len();
    let result = decoder(kind).decode(frame, 7, &mut buf);
    assert!(buf.len() <= capacity);
    assert!(buf.as_slice()[..before].iter().all(|e| *e == sentinel()));
    let added = &buf.as_slice()[before..];
    match result {
        Ok(Decoded::Events(n)) => {
            assert_eq!(added.len(), n);
            assert_whole_messages(added);
        }
        Ok(_) | Err(_) => assert!(added.is_empty(), "{result:?} left {added:?}"),
    }
    result
}

/// A depth header is followed by exactly its levels; no stray level; every event stamped.
fn assert_whole_messages(events: &[MarketEvent]) {
    let mut rest = events;
    while let Some((first, tail)) = rest.split_first() {
        assert_eq!(first.ts_recv_raw, 7);
        match first.body {
            EventBody::DepthBegin { levels, .. } => {
                let levels = usize::from(levels);
                assert!(tail.len() >= levels);
                assert!(tail[..levels].iter().all(|e| {
                    matches!(e.body, EventBody::DepthLevel { .. })
                        && e.instrument == first.instrument
                        && e.ts_recv_raw == 7
                }));
                rest = &tail[levels..];
            }
            EventBody::DepthLevel { .. } => panic!("level without a header: {events:?}"),
            _ => rest = tail,
        }
    }
}

/// How a real message is damaged.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        xor: u8,
    },
    Truncate {
        len: usize,
    },
    Splice {
        at: usize,
        other: usize,
        from: usize,
        len: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (any::<usize>(), any::<usize>(), any::<usize>(), 0usize..64).prop_map(
            |(at, other, from, len)| Mutation::Splice {
                at,
                other,
                from,
                len
            }
        ),
    ]
}

fn mutate(corpus: &[String], index: usize, mutations: &[Mutation]) -> Vec<u8> {
    let mut frame = corpus[index % corpus.len()].as_bytes().to_vec();
    for m in mutations {
        match *m {
            Mutation::Flip { at, xor } if !frame.is_empty() => {
                let at = at % frame.len();
                frame[at] ^= xor;
            }
            Mutation::Flip { .. } => {}
            Mutation::Truncate { len } => frame.truncate(len % (frame.len() + 1)),
            Mutation::Splice {
                at,
                other,
                from,
                len,
            } => {
                let donor = corpus[other % corpus.len()].as_bytes();
                let from = from % (donor.len() + 1);
                let piece = &donor[from..(from + len).min(donor.len())];
                let at = at % (frame.len() + 1);
                frame.splice(at..at, piece.iter().copied());
            }
        }
    }
    frame
}

fn kind(perp: bool) -> MarketKind {
    if perp {
        MarketKind::Perp
    } else {
        MarketKind::Spot
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn prop_arbitrary_bytes_keep_the_contract(
        frame in proptest::collection::vec(any::<u8>(), 0..256),
        perp in any::<bool>(),
        capacity in 1usize..64,
        prefill in 0usize..3,
    ) {
        let _ = check(kind(perp), &frame, capacity, prefill);
    }

    #[test]
    fn prop_json_like_bytes_keep_the_contract(
        frame in r#"\{("(channel|data|coin|time|levels|px|sz|bbo|ctx|side|tid)"|[\[\]{}:,"0-9.A-Bnul@/-]|l2Book|trades|bbo|null){0,40}\}"#,
        perp in any::<bool>(),
        capacity in 1usize..8,
    ) {
        let _ = check(kind(perp), frame.as_bytes(), capacity, 1);
    }

    #[test]
    fn prop_mutated_real_messages_keep_the_contract(
        index in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
        perp in any::<bool>(),
        capacity in prop_oneof![Just(8usize), Just(64usize)],
        prefill in 0usize..3,
    ) {
        let corpus = corpus();
        if !corpus.is_empty() {
            let frame = mutate(corpus, index, &mutations);
            let _ = check(kind(perp), &frame, capacity, prefill);
        }
    }

    #[test]
    fn prop_real_messages_decode_whole(index in any::<usize>(), perp in any::<bool>()) {
        let corpus = corpus();
        if !corpus.is_empty() {
            let frame = corpus[index % corpus.len()].as_bytes();
            let result = check(kind(perp), frame, 64, 1);
            prop_assert!(result.is_ok(), "{result:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prop_deeply_nested_real_messages_are_too_deep(
        index in any::<usize>(),
        depth in 1..2_000usize,
        perp in any::<bool>(),
    ) {
        let corpus = corpus();
        if !corpus.is_empty() {
            let frame = deep::nested(corpus[index % corpus.len()].as_bytes(), depth);
            let result = check(kind(perp), &frame, 64, 1);
            prop_assert!(depth <= NESTING_MAX || result == Err(DecodeError::TooDeep), "{result:?}");
        }
    }
}

/// Issue 21's frame, on a stack a recursion through it would overflow: malformed
/// (`TooDeep`) on both markets, fast path first and generic path alone.
#[test]
fn test_hyperliquid_hostile_deep_frame_is_malformed_on_a_small_stack() {
    let frame = deep::hostile_deep(r#"{"channel":"bbo","#);
    let results = deep::on_small_stack(|| {
        let mut buf = EventBuf::with_capacity(64);
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
