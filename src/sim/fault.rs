//! The simulator's fault plan: what goes wrong on which connections, for tests of the
//! client's transport (and for runs from the config's `[[simulator.faults]]`).
//!
//! A [`SimFault`] names a market, an action and when it starts (after a number of data
//! frames written to the connection); it hits `connections` connections to that market
//! from the `first_connection`th (counting from 0; handshake attempts, for
//! [`FaultAction::RefuseHandshake`]), so a client that reconnects gets a healthy
//! connection afterwards and its books can be compared with the simulator's. A
//! connection gets at most one fault: the first of the plan that hits it. On Binance
//! USD-M, whose streams are split over endpoint groups, only the `/public` connections
//! (the book's) count and get faults, whatever order a client opens its groups in. [`FaultState`] is one connection's progress through its fault, owned by
//! that connection's thread (cold path: it allocates the delay queue and the injected
//! frames).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tungstenite::Utf8Bytes;

use crate::types::{MarketKind, Venue};

/// Largest oversized frame a fault may send, bytes.
pub const OVERSIZE_BYTES_MAX: usize = 64 << 20;
/// Longest delay a fault may add to every frame.
pub const DELAY_MAX: Duration = Duration::from_secs(10);

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// The TCP connection is dropped without a close frame.
    Close,
    /// The connection stops sending anything (frames, replies, pongs) but stays open.
    Stall,
    /// One text frame that is not JSON is sent, then the stream goes on.
    Garbage,
    /// The next depth update is cut in half (invalid JSON, and a hole in the sequence).
    Truncate,
    /// One frame of this many bytes is sent (above the client's limit, it must end the
    /// connection rather than allocate it).
    Oversize {
        /// Frame size.
        bytes: usize,
    },
    /// The next depth update is not sent: a gap in the update ids.
    SkipSequence,
    /// The next depth update carries a wrong, non-zero checksum (OKX `books`, whose
    /// checksum the client verifies whenever it is not 0).
    BadChecksum,
    /// Every frame is held this long before it is sent.
    Delay(Duration),
    /// The WebSocket handshake is answered `503 Service Unavailable`.
    RefuseHandshake,
}

/// One fault of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimFault {
    /// The venue whose market it hits.
    pub venue: Venue,
    /// The market kind.
    pub kind: MarketKind,
    /// What goes wrong.
    pub action: FaultAction,
    /// Data frames written to the connection before the fault starts (ignored by
    /// `RefuseHandshake` and `Delay`).
    pub after_frames: u64,
    /// How many connections to the market it hits (at least 1).
    pub connections: u32,
    /// The first connection it hits, counting from 0 (default 0).
    pub first_connection: u32,
}

impl SimFault {
    /// `action` on the first connection to `venue`'s `kind` market, after `after_frames`.
    pub fn new(venue: Venue, kind: MarketKind, action: FaultAction, after_frames: u64) -> Self {
        Self {
            venue,
            kind,
            action,
            after_frames,
            connections: 1,
            first_connection: 0,
        }
    }

    /// Whether it hits the market's `index`th connection (or handshake attempt).
    pub(crate) fn hits(&self, index: u32) -> bool {
        index >= self.first_connection && index - self.first_connection < self.connections
    }

    /// Why the fault cannot be used, if it cannot (checked by the config and at start).
    pub fn check(&self) -> Result<(), &'static str> {
        if self.connections == 0 {
            return Err("a fault must hit at least one connection");
        }
        match self.action {
            FaultAction::Oversize { bytes } if bytes == 0 || bytes > OVERSIZE_BYTES_MAX => {
                Err("an oversized frame must be 1 byte to 64 MiB")
            }
            FaultAction::Delay(d) if d > DELAY_MAX => Err("a fault delay must be at most 10 s"),
            FaultAction::BadChecksum if self.venue != Venue::Okx => {
                Err("bad_checksum needs a venue whose book carries a checksum (okx)")
            }
            _ => Ok(()),
        }
    }
}

/// Whether a frame is a depth update (not a snapshot) of `venue`'s wire format.
/// Hyperliquid sends only snapshots, so none of its frames is one.
pub(crate) fn is_depth_update(venue: Venue, text: &str) -> bool {
    match venue {
        Venue::Binance => text.contains(r#""e":"depthUpdate""#),
        Venue::Bybit => {
            text.contains(r#""topic":"orderbook."#) && text.contains(r#""type":"delta""#)
        }
        Venue::Okx => {
            text.contains(r#""channel":"books""#) && text.contains(r#""action":"update""#)
        }
        Venue::Hyperliquid => false,
    }
}

/// `text` with its `"checksum":N` replaced by a different non-zero value.
fn bad_checksum(text: &str) -> String {
    const KEY: &str = "\"checksum\":";
    let Some(at) = text.find(KEY).map(|i| i + KEY.len()) else {
        return text.to_owned();
    };
    let digits = text[at..]
        .find(|c: char| c != '-' && !c.is_ascii_digit())
        .unwrap_or(text.len() - at);
    let wrong = if &text[at..at + digits] == "1" {
        "2"
    } else {
        "1"
    };
    format!("{}{wrong}{}", &text[..at], &text[at + digits..])
}

/// What the connection does with the next queued frame.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Write these frames (the injected ones first, then the frame itself, if kept).
    Write(Vec<Utf8Bytes>),
    /// Drop the connection now (no close frame).
    Close,
    /// Stop sending anything from now on.
    Stall,
}

/// One connection's fault in progress.
#[derive(Debug)]
pub(crate) struct FaultState {
    venue: Venue,
    fault: Option<SimFault>,
    written: u64,
    delayed: VecDeque<(Instant, Utf8Bytes)>,
}

impl FaultState {
    /// The state of a connection to `venue`'s market that hits `fault` (or none).
    pub(crate) fn new(venue: Venue, fault: Option<SimFault>) -> Self {
        Self {
            venue,
            fault: fault.filter(|f| f.action != FaultAction::RefuseHandshake),
            written: 0,
            delayed: VecDeque::new(),
        }
    }

    /// Decides what happens to the next queued frame.
    pub(crate) fn next(&mut self, text: Utf8Bytes) -> Verdict {
        self.written += 1;
        let Some(fault) = self.fault else {
            return Verdict::Write(vec![text]);
        };
        if self.written <= fault.after_frames {
            return Verdict::Write(vec![text]);
        }
        let depth_update = is_depth_update(self.venue, &text);
        let (verdict, done) = match fault.action {
            FaultAction::Close => (Verdict::Close, true),
            FaultAction::Stall => (Verdict::Stall, true),
            FaultAction::Garbage => (
                Verdict::Write(vec![Utf8Bytes::from_static("\u{1}garbage{["), text]),
                true,
            ),
            FaultAction::Oversize { bytes } => {
                let padding = "x".repeat(bytes);
                (Verdict::Write(vec![Utf8Bytes::from(padding), text]), true)
            }
            FaultAction::Truncate if depth_update => {
                let mut cut = text.len() / 2;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                (
                    Verdict::Write(vec![Utf8Bytes::from(text[..cut].to_owned())]),
                    true,
                )
            }
            FaultAction::SkipSequence if depth_update => (Verdict::Write(Vec::new()), true),
            FaultAction::BadChecksum if depth_update => (
                Verdict::Write(vec![Utf8Bytes::from(bad_checksum(&text))]),
                true,
            ),
            FaultAction::Truncate | FaultAction::SkipSequence | FaultAction::BadChecksum => {
                (Verdict::Write(vec![text]), false)
            }
            FaultAction::Delay(_) | FaultAction::RefuseHandshake => {
                (Verdict::Write(vec![text]), false)
            }
        };
        if done {
            self.fault = None;
        }
        verdict
    }

    /// The delay every frame gets, if the fault is one.
    pub(crate) fn delay(&self) -> Option<Duration> {
        match self.fault?.action {
            FaultAction::Delay(d) => Some(d),
            _ => None,
        }
    }

    /// Holds a frame until `now + delay`.
    pub(crate) fn hold(&mut self, text: Utf8Bytes, now: Instant, delay: Duration) {
        self.delayed.push_back((now + delay, text));
    }

    /// The next held frame whose time has come.
    pub(crate) fn release(&mut self, now: Instant) -> Option<Utf8Bytes> {
        if self.delayed.front().is_some_and(|(due, _)| *due <= now) {
            return self.delayed.pop_front().map(|(_, text)| text);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: Verdict) -> Vec<String> {
        match v {
            Verdict::Write(t) => t.iter().map(ToString::to_string).collect(),
            other => panic!("{other:?}"),
        }
    }

    const DEPTH: &str = r#"{"e":"depthUpdate","U":1,"u":2}"#;
    const TOP: &str = r#"{"e":"bookTicker"}"#;

    #[test]
    fn test_fault_starts_after_frames_and_hits_once() {
        let f = SimFault::new(
            Venue::Binance,
            MarketKind::Spot,
            FaultAction::SkipSequence,
            1,
        );
        let mut s = FaultState::new(Venue::Binance, Some(f));
        assert_eq!(texts(s.next(DEPTH.into())), [DEPTH]);
        assert_eq!(texts(s.next(TOP.into())), [TOP]);
        assert!(texts(s.next(DEPTH.into())).is_empty());
        assert_eq!(texts(s.next(DEPTH.into())), [DEPTH]);
    }

    #[test]
    fn test_fault_actions_shape_the_frames() {
        let at = |action| {
            FaultState::new(
                Venue::Binance,
                Some(SimFault::new(Venue::Binance, MarketKind::Spot, action, 0)),
            )
        };
        assert!(matches!(
            at(FaultAction::Close).next(TOP.into()),
            Verdict::Close
        ));
        assert!(matches!(
            at(FaultAction::Stall).next(TOP.into()),
            Verdict::Stall
        ));
        let garbage = texts(at(FaultAction::Garbage).next(TOP.into()));
        assert_eq!(garbage.len(), 2);
        assert!(serde_json::from_str::<serde_json::Value>(&garbage[0]).is_err());
        let okx =
            r#"{"arg":{"channel":"books"},"action":"update","data":[{"checksum":0,"seqId":2}]}"#;
        let mut wrong = FaultState::new(
            Venue::Okx,
            Some(SimFault::new(
                Venue::Okx,
                MarketKind::Spot,
                FaultAction::BadChecksum,
                0,
            )),
        );
        assert_eq!(
            texts(wrong.next(TOP.into())),
            [TOP],
            "waits for a depth update"
        );
        assert_eq!(texts(wrong.next(okx.into())), [okx.replace(":0,", ":1,")]);
        assert_eq!(bad_checksum(r#"{"checksum":1}"#), r#"{"checksum":2}"#);
        assert_eq!(
            bad_checksum(r#"{"checksum":-855196043}"#),
            r#"{"checksum":1}"#
        );
        let binance = SimFault::new(
            Venue::Binance,
            MarketKind::Spot,
            FaultAction::BadChecksum,
            0,
        );
        assert!(binance.check().is_err());
        let cut = texts(at(FaultAction::Truncate).next(DEPTH.into()));
        assert_eq!(cut, [&DEPTH[..DEPTH.len() / 2]]);
        let big = texts(at(FaultAction::Oversize { bytes: 1000 }).next(TOP.into()));
        assert_eq!((big[0].len(), big[1].as_str()), (1000, TOP));
        let mut delayed = at(FaultAction::Delay(Duration::from_millis(5)));
        assert_eq!(delayed.delay(), Some(Duration::from_millis(5)));
        let t0 = crate::runtime::clock::monotonic_now();
        delayed.hold(TOP.into(), t0, Duration::from_millis(5));
        assert!(delayed.release(t0).is_none());
        assert!(delayed.release(t0 + Duration::from_millis(5)).is_some());
    }

    #[test]
    fn test_depth_updates_recognised_per_venue() {
        assert!(is_depth_update(
            Venue::Bybit,
            r#"{"topic":"orderbook.50.BTCUSDT","type":"delta"}"#
        ));
        assert!(!is_depth_update(
            Venue::Bybit,
            r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot"}"#
        ));
        assert!(is_depth_update(
            Venue::Okx,
            r#"{"arg":{"channel":"books"},"action":"update"}"#
        ));
        assert!(!is_depth_update(
            Venue::Hyperliquid,
            r#"{"channel":"l2Book"}"#
        ));
        let bad = SimFault {
            connections: 0,
            ..SimFault::new(Venue::Okx, MarketKind::Perp, FaultAction::Close, 0)
        };
        assert!(bad.check().is_err());
    }
}
