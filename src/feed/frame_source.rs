//! Where the feed stage's frames come from: the live [`Transport`] (sockets) or a replay
//! of recordings ([`crate::replay`]), behind one trait so both go through the same
//! decoders, books and strategies.
//!
//! The feed stage is generic over its source, so the live path is monomorphised over
//! `Transport` and costs exactly what it did before this seam (no dynamic dispatch; the
//! replay-only methods are provided defaults that compile to nothing). Owned by the
//! feed thread; implementations must not allocate or block in `is_readable` / `read`.

use std::io;

use crate::feed::transport::{Frame, LinkCounts, Notice, Transport};
use crate::types::InstrumentId;

/// A REST depth snapshot carried by the source itself (a recording's), not fetched.
#[derive(Debug, Clone, Copy)]
pub struct SourcedSnapshot<'a> {
    /// Whose snapshot.
    pub instrument: InstrumentId,
    /// The HTTP body as received.
    pub body: &'a [u8],
}

/// The connections the feed stage reads, one per venue market.
pub trait FrameSource: Send {
    /// Whether Binance books resync from snapshots this source delivers itself
    /// ([`FrameSource::next_snapshot`]) instead of REST requests.
    const SNAPSHOTS_SOURCED: bool = false;

    /// Number of connections.
    fn connection_count(&self) -> usize;
    /// Whether connection `index` is open.
    fn is_open(&self, index: usize) -> bool;
    /// Whether connection `index` may have a frame now.
    fn is_readable(&self, index: usize) -> bool;
    /// The next frame of connection `index`.
    fn read(&mut self, index: usize) -> Frame<'_>;
    /// Looks for readable connections without blocking.
    fn poll_readiness(&mut self) -> io::Result<()>;
    /// Timers, at most once per tick (`now_raw` from the feed stage's clock).
    fn tick(&mut self, now_raw: u64);
    /// The next connection transition, oldest first.
    fn next_notice(&mut self) -> Option<Notice>;
    /// The venue answered our ping on connection `index`.
    fn pong(&mut self, index: usize);
    /// Sends a text frame (resubscriptions); false when it cannot.
    fn send_text(&mut self, index: usize, text: &str) -> bool;
    /// What happened to connection `index` so far.
    fn counts(&self, index: usize) -> LinkCounts;
    /// A snapshot the source carries, when it is the next thing to deliver.
    fn next_snapshot(&mut self) -> Option<SourcedSnapshot<'_>> {
        None
    }

    /// When connection `index`'s current open began (clock raw; `None`: not open, or a
    /// source without connection lifetimes, as a replay).
    fn opened_raw(&self, _index: usize) -> Option<u64> {
        None
    }

    /// Opens a parked standby connection (planned replacement; no-op elsewhere).
    fn open(&mut self, _index: usize) {}

    /// Closes and parks a connection on purpose (planned replacement; no-op elsewhere).
    fn park(&mut self, _index: usize) {}
}

impl FrameSource for Transport {
    #[inline]
    fn connection_count(&self) -> usize {
        Transport::connection_count(self)
    }
    #[inline]
    fn is_open(&self, index: usize) -> bool {
        Transport::is_open(self, index)
    }
    #[inline]
    fn is_readable(&self, index: usize) -> bool {
        Transport::is_readable(self, index)
    }
    #[inline]
    fn read(&mut self, index: usize) -> Frame<'_> {
        Transport::read(self, index)
    }
    #[inline]
    fn poll_readiness(&mut self) -> io::Result<()> {
        Transport::poll_readiness(self)
    }
    #[inline]
    fn tick(&mut self, now_raw: u64) {
        Transport::tick(self, now_raw);
    }
    #[inline]
    fn next_notice(&mut self) -> Option<Notice> {
        Transport::next_notice(self)
    }
    #[inline]
    fn pong(&mut self, index: usize) {
        Transport::pong(self, index);
    }
    #[inline]
    fn send_text(&mut self, index: usize, text: &str) -> bool {
        Transport::send_text(self, index, text)
    }
    #[inline]
    fn counts(&self, index: usize) -> LinkCounts {
        Transport::counts(self, index)
    }
    fn opened_raw(&self, index: usize) -> Option<u64> {
        Transport::opened_raw(self, index)
    }
    fn open(&mut self, index: usize) {
        Transport::open(self, index);
    }
    fn park(&mut self, index: usize) {
        Transport::park(self, index);
    }
}
