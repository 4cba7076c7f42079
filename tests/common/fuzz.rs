//! Fuzzing helpers shared by the decoder fuzz tests (`tests/fuzz_*.rs`): mutations of real
//! messages (byte flips, insertions, truncations, splices of two messages) as a proptest
//! strategy, and the invariants every decoder keeps on any input.

use edgeline::feed::{DecodeError, Decoded, EventBuf};
use edgeline::types::{EventBody, InstrumentId, MarketEvent, Qty};
use proptest::prelude::*;

/// Buffer capacity: small enough that real snapshots overflow it (`TooManyEvents`).
pub const CAPACITY: usize = 48;
/// Events already in the buffer before the fuzzed frame.
const PREFILLED: usize = 2;

/// One change to a real message; positions are taken modulo its length.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// XOR one byte.
    Flip(usize, u8),
    /// Insert one byte.
    Insert(usize, u8),
    /// Cut the message short.
    Truncate(usize),
    /// This message's head, then another message's tail.
    Splice(usize, usize),
}

/// Any mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(a, x)| Mutation::Flip(a, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Splice(a, b)),
    ]
}

/// `message` changed by `m` (`other` gives a splice its tail).
pub fn mutate(message: &[u8], other: &[u8], m: &Mutation) -> Vec<u8> {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    let mut out = message.to_vec();
    match *m {
        Mutation::Flip(i, x) => {
            if !out.is_empty() {
                let i = at(i, out.len());
                out[i] ^= x;
            }
        }
        Mutation::Insert(i, b) => out.insert(at(i, out.len() + 1), b),
        Mutation::Truncate(i) => out.truncate(at(i, out.len())),
        Mutation::Splice(i, j) => {
            out.truncate(at(i, out.len()));
            out.extend_from_slice(&other[at(j, other.len())..]);
        }
    }
    out
}

/// A decoder under test: one frame into the buffer.
pub type DecodeFn<'a> = dyn FnMut(&[u8], &mut EventBuf) -> Result<Decoded, DecodeError> + 'a;

fn earlier() -> MarketEvent {
    MarketEvent {
        ts_recv_raw: 1,
        ts_venue_ms: 2,
        instrument: InstrumentId(9),
        body: EventBody::OpenInterest { qty: Qty::ZERO },
    }
}

/// Decodes `frame` into a prefilled buffer and checks the invariants: no panic; earlier
/// events untouched; exactly `n` more events on success and none on any other outcome;
/// never beyond capacity; nothing accepted that `serde_json` rejects as JSON (a frame
/// that is not JSON at all, like OKX's `pong`, is allowed only as a heartbeat).
pub fn check(frame: &[u8], decode: &mut DecodeFn<'_>) -> Result<(), TestCaseError> {
    let mut buf = EventBuf::with_capacity(CAPACITY);
    for _ in 0..PREFILLED {
        buf.push(earlier()).unwrap();
    }
    let result = decode(frame, &mut buf);
    prop_assert!(buf.len() <= CAPACITY);
    prop_assert!(buf.as_slice()[..PREFILLED].iter().all(|e| *e == earlier()));
    match result {
        Ok(Decoded::Events(n)) => prop_assert_eq!(buf.len(), PREFILLED + n),
        _ => prop_assert_eq!(buf.len(), PREFILLED),
    }
    if let Ok(outcome) = result
        && outcome != Decoded::Heartbeat
    {
        let reference = serde_json::from_slice::<serde::de::IgnoredAny>(frame);
        prop_assert!(reference.is_ok(), "accepted invalid JSON as {outcome:?}");
    }
    Ok(())
}
