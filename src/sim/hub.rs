//! State shared by the simulator's threads: the stop flag, the subscriber registry, the
//! fan-out of frames and snapshots to connections, the REST snapshot requests, the
//! dislocation record and the frame counter.
//!
//! Written by connection threads (register, subscription states, REST requests, counter)
//! and by the model thread (fan-out, REST answers, dislocations); read by the handle.
//! Cold path: the registry is a mutex-guarded `Vec`, locked once per model step.
//! Bounded: at most [`CONNECTIONS_MAX`] subscribers, each with a queue of
//! [`CONNECTION_QUEUE_FRAMES`]; a subscriber whose queue is full is a slow consumer: it
//! is dropped from the registry and flagged, and its connection thread closes it. At most
//! [`REST_PENDING_MAX`] REST requests wait for the model.
//!
//! A connection's subscription state is one `u16` per symbol of its market (low byte:
//! subscribed streams, high byte: streams waiting for their snapshot), changed
//! atomically by the connection, so the model never sees a stream subscribed without its
//! pending snapshot. At each step the model thread
//! first sends each waiting subscriber the snapshot of its stream when the model has one
//! this step (then clears the pending bit); frames of a stream still waiting for its
//! snapshot, or whose snapshot went out this step, are not sent to that subscriber.

use super::book::Levels;
use super::fault::{FaultAction, SimFault};
use super::market::{Frame, Listing, Market, StreamKind};
use super::{Dislocation, RestFaults};
use crossbeam::channel::{self, Receiver, Sender, TrySendError};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tungstenite::Utf8Bytes;

/// Most simultaneous connections (each owns a thread and a queue of up to
/// [`CONNECTION_QUEUE_FRAMES`] frames).
pub(crate) const CONNECTIONS_MAX: usize = 32;
/// Frames queued for one connection before it counts as a slow consumer: about 30 s
/// of the default perp stream.
pub(crate) const CONNECTION_QUEUE_FRAMES: usize = 65_536;
/// Most REST snapshot requests waiting for the model thread (one per connection at most).
pub(crate) const REST_PENDING_MAX: usize = CONNECTIONS_MAX;
/// Every stream kind, in bit order.
const STREAM_KINDS: [StreamKind; 4] = [
    StreamKind::BookTicker,
    StreamKind::Depth,
    StreamKind::Funding,
    StreamKind::Trade,
];

/// A REST depth snapshot request waiting for the model thread.
#[derive(Debug)]
pub(crate) struct RestRequest {
    /// The symbol.
    pub(crate) listing: Listing,
    /// Most levels a side.
    pub(crate) limit: usize,
    /// Where the body goes (`None` if the model has no such market).
    pub(crate) reply: Sender<Option<String>>,
}

/// A request for a market's current book, waiting for the model thread.
#[derive(Debug)]
pub(crate) struct BookRequest {
    /// The symbol.
    pub(crate) listing: Listing,
    /// Where `(bids, asks)` go (`None` if the model has no such market).
    pub(crate) reply: Sender<Option<(Levels, Levels)>>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the data are
/// plain records, valid after any partial update).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The model thread's side of one connection.
#[derive(Debug)]
struct Subscriber {
    id: u64,
    market: Market,
    states: Arc<[AtomicU16]>,
    slow: Arc<AtomicBool>,
    tx: Sender<Utf8Bytes>,
}

/// A connection thread's side of its registration.
#[derive(Debug)]
pub(crate) struct Link {
    /// Registry id, for [`Shared::unregister`].
    pub(crate) id: u64,
    /// Subscription state per symbol of the market: stream bits ([`StreamKind::bit`]) in
    /// the low byte, streams waiting for a snapshot in the high byte.
    pub(crate) states: Arc<[AtomicU16]>,
    /// Set by the model thread when the queue overflowed.
    pub(crate) slow: Arc<AtomicBool>,
    /// Frames to write, in order.
    pub(crate) rx: Receiver<Utf8Bytes>,
}

/// A REST answer spoilt by [`RestFaults`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RestFault {
    /// `429` with `Retry-After: 1`.
    Throttle,
    /// `200` with half the body.
    Cut,
}

/// Everything the simulator's threads share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Set once by [`super::SimHandle`] to stop every thread.
    pub(crate) stop: AtomicBool,
    /// Frames written to client sockets, all connections together.
    pub(crate) frames_sent: AtomicU64,
    /// The dislocation record, mirrored from the model after each change.
    pub(crate) dislocations: Mutex<Vec<Dislocation>>,
    /// The fault plan (fixed at start).
    faults: Vec<SimFault>,
    /// Whether OKX `books` subscribers get a snapshot first (fixed at start).
    okx_snapshot_push: bool,
    /// REST answers still to refuse as rate limited, then to cut.
    rest_throttles_left: AtomicU32,
    rest_cuts_left: AtomicU32,
    /// Set by the handle to ask the model to stop stepping (see `runner`).
    pub(crate) pause_requested: AtomicBool,
    /// Set by the model while it is paused at a step after which every depth went out.
    pub(crate) paused: AtomicBool,
    subscribers: Mutex<Vec<Subscriber>>,
    rest: Mutex<Vec<RestRequest>>,
    books: Mutex<Vec<BookRequest>>,
    /// Per market: handshake attempts and accepted connections so far.
    seen: Mutex<Vec<(Market, u32, u32)>>,
    next_id: AtomicU64,
}

impl Shared {
    /// Shared state for a simulator with this fault plan.
    pub(crate) fn with_faults(faults: Vec<SimFault>) -> Self {
        Self {
            faults,
            ..Self::default()
        }
    }

    /// The same, with OKX `books` subscribers getting a snapshot first when `push`.
    pub(crate) fn with_okx_snapshot_push(self, push: bool) -> Self {
        Self {
            okx_snapshot_push: push,
            ..self
        }
    }

    /// The same, with the first REST answers spoilt as `faults` says.
    pub(crate) fn with_rest_faults(self, faults: RestFaults) -> Self {
        Self {
            rest_throttles_left: AtomicU32::new(faults.throttled),
            rest_cuts_left: AtomicU32::new(faults.cut),
            ..self
        }
    }

    /// What to do to the next REST answer, counting it against the plan.
    pub(crate) fn next_rest_fault(&self) -> Option<RestFault> {
        let take = |left: &AtomicU32| {
            left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
        };
        if take(&self.rest_throttles_left) {
            Some(RestFault::Throttle)
        } else if take(&self.rest_cuts_left) {
            Some(RestFault::Cut)
        } else {
            None
        }
    }

    /// Whether OKX `books` subscribers get a snapshot first.
    pub(crate) fn okx_snapshot_push(&self) -> bool {
        self.okx_snapshot_push
    }

    /// Whether the simulator is stopping.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Counts a handshake attempt on `market`; `true` if the fault plan refuses it.
    /// (`faultable` false: a connection the plan does not count, see `connection`.)
    pub(crate) fn refuse_handshake(&self, market: Market, faultable: bool) -> bool {
        if !faultable {
            return false;
        }
        let attempt = self.count(market, false);
        self.fault_of(market, attempt, true).is_some()
    }

    /// Counts an accepted connection on `market`; returns the fault it gets, if any
    /// (`faultable` false: none, and not counted).
    pub(crate) fn connection_fault(&self, market: Market, faultable: bool) -> Option<SimFault> {
        if !faultable {
            return None;
        }
        let index = self.count(market, true);
        self.fault_of(market, index, false)
    }

    /// The first fault of the plan for `market` that hits its `index`th handshake
    /// attempt (`refusal`: refusals only) or connection (other faults only).
    fn fault_of(&self, market: Market, index: u32, refusal: bool) -> Option<SimFault> {
        self.faults
            .iter()
            .find(|f| {
                f.venue == market.venue
                    && f.kind == market.kind
                    && f.hits(index)
                    && (f.action == FaultAction::RefuseHandshake) == refusal
            })
            .copied()
    }

    /// Increments a market's attempt (`accepted` false) or connection count; returns
    /// the value before.
    fn count(&self, market: Market, accepted: bool) -> u32 {
        let mut seen = lock(&self.seen);
        let i = match seen.iter().position(|(m, _, _)| *m == market) {
            Some(i) => i,
            None => {
                seen.push((market, 0, 0));
                seen.len() - 1
            }
        };
        let entry = &mut seen[i];
        let slot = if accepted { &mut entry.2 } else { &mut entry.1 };
        let before = *slot;
        *slot += 1;
        before
    }

    /// Queues a request for a market's current book; `None` if too many wait.
    pub(crate) fn request_book(
        &self,
        listing: Listing,
    ) -> Option<Receiver<Option<(Levels, Levels)>>> {
        let mut pending = lock(&self.books);
        if pending.len() >= REST_PENDING_MAX {
            return None;
        }
        let (reply, rx) = channel::bounded(1);
        pending.push(BookRequest { listing, reply });
        Some(rx)
    }

    /// Answers every waiting book request.
    pub(crate) fn answer_books(&self, answer: &dyn Fn(Listing) -> Option<(Levels, Levels)>) {
        for request in lock(&self.books).drain(..) {
            // The caller may have given up waiting: nothing to do then.
            let _ = request.reply.try_send(answer(request.listing));
        }
    }

    /// Registers a connection to `market` (which has `symbols` symbols) with an empty
    /// subscription.
    pub(crate) fn register(&self, market: Market, symbols: usize) -> Link {
        let (tx, rx) = channel::bounded(CONNECTION_QUEUE_FRAMES);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let states: Arc<[AtomicU16]> = (0..symbols).map(|_| AtomicU16::new(0)).collect();
        let slow = Arc::new(AtomicBool::new(false));
        lock(&self.subscribers).push(Subscriber {
            id,
            market,
            states: Arc::clone(&states),
            slow: Arc::clone(&slow),
            tx,
        });
        Link {
            id,
            states,
            slow,
            rx,
        }
    }

    /// Removes a connection (idempotent).
    pub(crate) fn unregister(&self, id: u64) {
        lock(&self.subscribers).retain(|s| s.id != id);
    }

    /// Registered connections.
    #[cfg(test)]
    pub(crate) fn hub_len(&self) -> usize {
        lock(&self.subscribers).len()
    }

    /// Whether every symbol of `listings` has a connection subscribed to a stream.
    pub(crate) fn all_subscribed(&self, listings: &[Listing]) -> bool {
        let subs = lock(&self.subscribers);
        listings.iter().all(|l| {
            subs.iter().any(|s| {
                s.market == l.market
                    && s.states
                        .get(l.index)
                        .is_some_and(|state| state.load(Ordering::Acquire) & 0xFF != 0)
            })
        })
    }

    /// Queues each frame to every connection subscribed to its symbol's stream, draining
    /// `frames`; first gives each subscriber waiting for a snapshot the one `snapshot`
    /// returns for its symbol and stream this step, if any. A full queue flags its
    /// connection slow and drops it from the registry.
    pub(crate) fn broadcast(
        &self,
        frames: &mut Vec<Frame>,
        snapshot: &dyn Fn(Listing, StreamKind) -> Option<String>,
    ) {
        let texts: Vec<_> = frames
            .drain(..)
            .map(|f| (f.listing, f.stream.bit(), Utf8Bytes::from(f.text)))
            .collect();
        let mut masks = Vec::new();
        let mut subs = lock(&self.subscribers);
        subs.retain(|s| {
            masks.clear();
            for (index, state) in s.states.iter().enumerate() {
                let [mut mask, pending] = state.load(Ordering::Acquire).to_le_bytes();
                let pending = pending & mask;
                for kind in STREAM_KINDS.iter().filter(|k| pending & k.bit() != 0) {
                    mask &= !kind.bit();
                    let listing = Listing {
                        market: s.market,
                        index,
                    };
                    let Some(text) = snapshot(listing, *kind) else {
                        continue;
                    };
                    state.fetch_and(!(u16::from(kind.bit()) << 8), Ordering::AcqRel);
                    if !s.send(Utf8Bytes::from(text)) {
                        return false;
                    }
                }
                masks.push(mask);
            }
            texts.iter().all(|(listing, bit, text)| {
                listing.market != s.market
                    || masks.get(listing.index).is_none_or(|mask| mask & bit == 0)
                    || s.send(text.clone())
            })
        });
    }

    /// Queues a REST snapshot request for the model thread; `None` if too many wait.
    pub(crate) fn request_rest(
        &self,
        listing: Listing,
        limit: usize,
    ) -> Option<Receiver<Option<String>>> {
        let mut pending = lock(&self.rest);
        if pending.len() >= REST_PENDING_MAX {
            return None;
        }
        let (reply, rx) = channel::bounded(1);
        pending.push(RestRequest {
            listing,
            limit,
            reply,
        });
        Some(rx)
    }

    /// Answers every waiting REST request with `answer`'s body.
    pub(crate) fn answer_rest(&self, answer: &dyn Fn(Listing, usize) -> Option<String>) {
        let mut pending = lock(&self.rest);
        for request in pending.drain(..) {
            // The connection may have given up waiting: nothing to do then.
            let _ = request
                .reply
                .try_send(answer(request.listing, request.limit));
        }
    }

    /// Mirrors the model's dislocation record, whose entries from index `from` on are
    /// new or changed.
    pub(crate) fn sync_dislocations(&self, from: usize, record: &[Dislocation]) {
        let mut mirror = lock(&self.dislocations);
        let from = from.min(mirror.len());
        mirror.truncate(from);
        mirror.extend_from_slice(record.get(from..).unwrap_or_default());
    }
}

impl Subscriber {
    /// Queues a text; `false` (and the subscriber flagged slow if full) when it cannot.
    fn send(&self, text: Utf8Bytes) -> bool {
        match self.tx.try_send(text) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.slow.store(true, Ordering::Release);
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{MarketKind, Venue};

    const SPOT: Market = Market {
        venue: Venue::Binance,
        kind: MarketKind::Spot,
    };
    const PERP: Market = Market {
        venue: Venue::Binance,
        kind: MarketKind::Perp,
    };

    fn at(market: Market, index: usize) -> Listing {
        Listing { market, index }
    }

    fn frame(market: Market, stream: StreamKind) -> Frame {
        frame_of(at(market, 0), stream)
    }

    fn frame_of(listing: Listing, stream: StreamKind) -> Frame {
        Frame {
            listing,
            stream,
            text: format!("{:?}{}{stream:?}", listing.market.kind, listing.index),
        }
    }

    fn no_snapshot(_: Listing, _: StreamKind) -> Option<String> {
        None
    }

    #[test]
    fn test_hub_routes_by_symbol() {
        let shared = Shared::default();
        let link = shared.register(PERP, 3);
        let listings = [at(PERP, 0), at(PERP, 1), at(PERP, 2)];
        let depth = u16::from(StreamKind::Depth.bit());
        link.states[1].store(depth, Ordering::Release);
        link.states[2].store(depth, Ordering::Release);
        assert!(!shared.all_subscribed(&listings));
        link.states[0].store(u16::from(StreamKind::Trade.bit()), Ordering::Release);
        assert!(shared.all_subscribed(&listings));
        let mut frames: Vec<_> = listings
            .iter()
            .map(|l| frame_of(*l, StreamKind::Depth))
            .collect();
        shared.broadcast(&mut frames, &no_snapshot);
        let got: Vec<_> = link.rx.try_iter().map(|t| t.to_string()).collect();
        assert_eq!(got, ["Perp1Depth", "Perp2Depth"]);
    }

    #[test]
    fn test_hub_routes_by_market_and_stream() {
        let shared = Shared::default();
        let spot = shared.register(SPOT, 1);
        let perp = shared.register(PERP, 1);
        assert!(!shared.all_subscribed(&[at(SPOT, 0), at(PERP, 0)]));
        spot.states[0].store(u16::from(StreamKind::Depth.bit()), Ordering::Release);
        perp.states[0].store(u16::from(StreamKind::BookTicker.bit()), Ordering::Release);
        assert!(shared.all_subscribed(&[at(SPOT, 0), at(PERP, 0)]));
        let mut frames = vec![
            frame(SPOT, StreamKind::BookTicker),
            frame(SPOT, StreamKind::Depth),
            frame(PERP, StreamKind::BookTicker),
        ];
        shared.broadcast(&mut frames, &no_snapshot);
        assert!(frames.is_empty());
        let got: Vec<_> = spot.rx.try_iter().map(|t| t.to_string()).collect();
        assert_eq!(got, ["Spot0Depth"]);
        let got: Vec<_> = perp.rx.try_iter().map(|t| t.to_string()).collect();
        assert_eq!(got, ["Perp0BookTicker"]);
        shared.unregister(spot.id);
        assert!(!shared.all_subscribed(&[at(SPOT, 0), at(PERP, 0)]));
    }

    #[test]
    fn test_hub_snapshot_goes_first_and_holds_back_its_stream() {
        let shared = Shared::default();
        let link = shared.register(PERP, 1);
        let depth = u16::from(StreamKind::Depth.bit());
        let trade = u16::from(StreamKind::Trade.bit());
        link.states[0].store(depth | trade | (depth << 8), Ordering::Release);
        let frames = || {
            vec![
                frame(PERP, StreamKind::Depth),
                frame(PERP, StreamKind::Trade),
            ]
        };
        shared.broadcast(&mut frames(), &no_snapshot);
        let got: Vec<_> = link.rx.try_iter().map(|t| t.to_string()).collect();
        assert_eq!(got, ["Perp0Trade"]);
        let snapshot = |_: Listing, k: StreamKind| Some(format!("snap{k:?}"));
        shared.broadcast(&mut frames(), &snapshot);
        let got: Vec<_> = link.rx.try_iter().map(|t| t.to_string()).collect();
        assert_eq!(got, ["snapDepth", "Perp0Trade"]);
        assert_eq!(link.states[0].load(Ordering::Acquire), depth | trade);
        shared.broadcast(&mut frames(), &snapshot);
        let got: Vec<_> = link.rx.try_iter().map(|t| t.to_string()).collect();
        assert_eq!(got, ["Perp0Depth", "Perp0Trade"]);
    }

    #[test]
    fn test_hub_full_queue_flags_slow_consumer() {
        let shared = Shared::default();
        let link = shared.register(PERP, 1);
        link.states[0].store(u16::from(StreamKind::BookTicker.bit()), Ordering::Release);
        for _ in 0..=CONNECTION_QUEUE_FRAMES {
            shared.broadcast(&mut vec![frame(PERP, StreamKind::BookTicker)], &no_snapshot);
        }
        assert!(link.slow.load(Ordering::Acquire));
        assert_eq!(link.rx.len(), CONNECTION_QUEUE_FRAMES);
        assert!(lock(&shared.subscribers).is_empty());
    }

    #[test]
    fn test_hub_rest_requests_answered_and_bounded() {
        let shared = Shared::default();
        let rx = shared.request_rest(at(SPOT, 0), 5).unwrap();
        shared.answer_rest(&|m, limit| Some(format!("{:?}{limit}", m.market.kind)));
        assert_eq!(rx.try_recv().unwrap().as_deref(), Some("Spot5"));
        let waiting: Vec<_> = (0..REST_PENDING_MAX)
            .map(|_| shared.request_rest(at(PERP, 0), 1).unwrap())
            .collect();
        assert!(shared.request_rest(at(PERP, 0), 1).is_none());
        drop(waiting);
        shared.answer_rest(&|_, _| None);
        assert!(shared.request_rest(at(PERP, 0), 1).is_some());
    }
}
