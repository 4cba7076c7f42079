//! State shared by the simulator's threads: the stop flag, the subscriber registry, the
//! fan-out of frames to connections, the dislocation record and the frame counter.
//!
//! Written by connection threads (register, subscription masks, counter) and by the model
//! thread (fan-out, dislocations); read by the handle. Cold path: the registry is a
//! mutex-guarded `Vec`, locked once per model step. Bounded: at most
//! [`CONNECTIONS_MAX`] subscribers, each with a queue of [`CONNECTION_QUEUE_FRAMES`];
//! a subscriber whose queue is full is a slow consumer: it is dropped from the registry
//! and flagged, and its connection thread closes it.

use super::Dislocation;
use super::market::{Frame, Market};
use crossbeam::channel::{self, Receiver, Sender, TrySendError};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tungstenite::Utf8Bytes;

/// Most simultaneous connections (each owns a thread and a queue of up to
/// [`CONNECTION_QUEUE_FRAMES`] frames).
pub(crate) const CONNECTIONS_MAX: usize = 32;
/// Frames queued for one connection before it counts as a slow consumer: about 30 s
/// of the default perp stream.
pub(crate) const CONNECTION_QUEUE_FRAMES: usize = 65_536;

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
    streams: Arc<AtomicU8>,
    slow: Arc<AtomicBool>,
    tx: Sender<Utf8Bytes>,
}

/// A connection thread's side of its registration.
#[derive(Debug)]
pub(crate) struct Link {
    /// Registry id, for [`Shared::unregister`].
    pub(crate) id: u64,
    /// Subscribed stream bits ([`super::market::StreamKind::bit`]).
    pub(crate) streams: Arc<AtomicU8>,
    /// Set by the model thread when the queue overflowed.
    pub(crate) slow: Arc<AtomicBool>,
    /// Frames to write, in order.
    pub(crate) rx: Receiver<Utf8Bytes>,
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
    subscribers: Mutex<Vec<Subscriber>>,
    next_id: AtomicU64,
}

impl Shared {
    /// Whether the simulator is stopping.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Registers a connection to `market` with an empty subscription.
    pub(crate) fn register(&self, market: Market) -> Link {
        let (tx, rx) = channel::bounded(CONNECTION_QUEUE_FRAMES);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let streams = Arc::new(AtomicU8::new(0));
        let slow = Arc::new(AtomicBool::new(false));
        lock(&self.subscribers).push(Subscriber {
            id,
            market,
            streams: Arc::clone(&streams),
            slow: Arc::clone(&slow),
            tx,
        });
        Link {
            id,
            streams,
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

    /// Whether both markets have a connection subscribed to at least one stream.
    pub(crate) fn both_markets_subscribed(&self) -> bool {
        let subs = lock(&self.subscribers);
        let has = |m: Market| {
            subs.iter()
                .any(|s| s.market == m && s.streams.load(Ordering::Acquire) != 0)
        };
        has(Market::Spot) && has(Market::Perp)
    }

    /// Queues each frame to every connection subscribed to its stream, draining
    /// `frames`. A full queue flags its connection slow and drops it from the registry.
    pub(crate) fn broadcast(&self, frames: &mut Vec<Frame>) {
        let mut subs = lock(&self.subscribers);
        for frame in frames.drain(..) {
            let bit = frame.stream.bit();
            let text = Utf8Bytes::from(frame.text);
            subs.retain(|s| {
                if s.market != frame.market || s.streams.load(Ordering::Acquire) & bit == 0 {
                    return true;
                }
                match s.tx.try_send(text.clone()) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_)) => {
                        s.slow.store(true, Ordering::Release);
                        false
                    }
                    Err(TrySendError::Disconnected(_)) => false,
                }
            });
        }
    }

    /// Mirrors the model's dislocation record: appends new ones and refreshes the last
    /// already mirrored (its `end_ms` may have been set since).
    pub(crate) fn sync_dislocations(&self, record: &[Dislocation]) {
        let mut mirror = lock(&self.dislocations);
        let from = mirror.len().saturating_sub(1);
        mirror.truncate(from);
        mirror.extend_from_slice(record.get(from..).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::market::StreamKind;

    fn frame(market: Market, stream: StreamKind) -> Frame {
        Frame {
            market,
            stream,
            text: format!("{market:?}{stream:?}"),
        }
    }

    #[test]
    fn test_hub_routes_by_market_and_stream() {
        let shared = Shared::default();
        let spot = shared.register(Market::Spot);
        let perp = shared.register(Market::Perp);
        assert!(!shared.both_markets_subscribed());
        spot.streams
            .store(StreamKind::Depth.bit(), Ordering::Release);
        perp.streams
            .store(StreamKind::BookTicker.bit(), Ordering::Release);
        assert!(shared.both_markets_subscribed());
        let mut frames = vec![
            frame(Market::Spot, StreamKind::BookTicker),
            frame(Market::Spot, StreamKind::Depth),
            frame(Market::Perp, StreamKind::BookTicker),
        ];
        shared.broadcast(&mut frames);
        let got: Vec<_> = spot.rx.try_iter().map(|t| t.to_string()).collect();
        assert_eq!(got, ["SpotDepth"]);
        let got: Vec<_> = perp.rx.try_iter().map(|t| t.to_string()).collect();
        assert_eq!(got, ["PerpBookTicker"]);
        shared.unregister(spot.id);
        assert!(!shared.both_markets_subscribed());
    }

    #[test]
    fn test_hub_full_queue_flags_slow_consumer() {
        let shared = Shared::default();
        let link = shared.register(Market::Perp);
        link.streams
            .store(StreamKind::BookTicker.bit(), Ordering::Release);
        for _ in 0..=CONNECTION_QUEUE_FRAMES {
            shared.broadcast(&mut vec![frame(Market::Perp, StreamKind::BookTicker)]);
        }
        assert!(link.slow.load(Ordering::Acquire));
        assert_eq!(link.rx.len(), CONNECTION_QUEUE_FRAMES);
        assert!(lock(&shared.subscribers).is_empty());
    }
}
