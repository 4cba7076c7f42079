//! Feed health per connection (one venue market) and per instrument: connected, stale
//! or down, frames per second, reconnects, the last and the rolling 10-second average
//! venue-to-us delay, whether each book is synced (or resyncing) and whether each
//! instrument's stream is silent past its learned limit.
//!
//! [`FeedHealth`] is shared (inside `PipelineStats`) as atomics: the feed stage writes
//! the connection fields, the book stage writes the per-instrument book flag, telemetry
//! reads them for the progress line and the run report. No locks; sized at start-up.
//! [`DelayWindow`] is the feed stage's own rolling average (not shared), fixed-size and
//! allocation-free.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use crate::runtime::Counter;
use crate::types::{InstrumentRegistry, MarketKind, Venue};

/// One-second buckets of the rolling venue-delay average.
const DELAY_BUCKETS: usize = 10;
/// Seconds in the rolling venue-delay average.
pub const DELAY_WINDOW_SECS: u64 = DELAY_BUCKETS as u64;
/// `delay_*_ms` value meaning "no venue time seen".
const NO_DELAY: u64 = u64::MAX;

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected yet, or reconnecting after a loss.
    Down = 0,
    /// Connected and fresh.
    Up = 1,
    /// Connected, but the venue delay is above `stale_after`.
    Stale = 2,
    /// A parked standby, kept for a planned replacement (see `feed::rotation`).
    Standby = 3,
}

impl LinkState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => LinkState::Up,
            2 => LinkState::Stale,
            3 => LinkState::Standby,
            _ => LinkState::Down,
        }
    }

    /// Short name for the progress line.
    pub const fn name(self) -> &'static str {
        match self {
            LinkState::Down => "DOWN",
            LinkState::Up => "up",
            LinkState::Stale => "STALE",
            LinkState::Standby => "STANDBY",
        }
    }
}

/// One connection's health.
#[derive(Debug)]
pub struct LinkHealth {
    /// Venue.
    pub venue: Venue,
    /// Market.
    pub kind: MarketKind,
    state: AtomicU8,
    /// Times the connection was lost (feed stage).
    pub disconnects: Counter,
    frames_per_s: AtomicU64,
    delay_last_ms: AtomicU64,
    delay_avg_ms: AtomicU64,
}

/// One instrument's health.
#[derive(Debug)]
struct BookHealth {
    /// Index of its connection in [`FeedHealth::links`].
    link: Option<usize>,
    /// Its book follows the venue's (book stage).
    valid: AtomicBool,
    /// Its stream has been silent past its limit (feed stage, [`crate::feed::silence`]).
    silent: AtomicBool,
}

/// Every connection's and instrument's health.
#[derive(Debug, Default)]
pub struct FeedHealth {
    links: Vec<LinkHealth>,
    books: Vec<BookHealth>,
}

impl FeedHealth {
    /// One entry per `(venue, kind)` market of `links` (in connection order) and per
    /// instrument of the registry.
    pub fn new(registry: &InstrumentRegistry, links: &[(Venue, MarketKind)]) -> Self {
        let links_health = links
            .iter()
            .map(|&(venue, kind)| LinkHealth {
                venue,
                kind,
                state: AtomicU8::new(LinkState::Down as u8),
                disconnects: Counter::default(),
                frames_per_s: AtomicU64::new(0),
                delay_last_ms: AtomicU64::new(NO_DELAY),
                delay_avg_ms: AtomicU64::new(NO_DELAY),
            })
            .collect();
        let books = registry
            .iter()
            .map(|i| BookHealth {
                link: links.iter().position(|&l| l == (i.venue, i.kind)),
                valid: AtomicBool::new(false),
                silent: AtomicBool::new(false),
            })
            .collect();
        Self {
            links: links_health,
            books,
        }
    }

    /// Connection `i`'s entry (`None` when health is not tracked, as in unit tests).
    pub fn link(&self, i: usize) -> Option<&LinkHealth> {
        self.links.get(i)
    }

    /// Records whether instrument `index`'s book is valid (book stage).
    #[inline]
    pub fn set_book_valid(&self, index: usize, valid: bool) {
        if let Some(book) = self.books.get(index)
            && book.valid.load(Ordering::Relaxed) != valid
        {
            book.valid.store(valid, Ordering::Relaxed);
        }
    }

    /// Records whether instrument `index`'s stream is silent (feed stage).
    pub fn set_silent(&self, index: usize, silent: bool) {
        if let Some(book) = self.books.get(index) {
            book.silent.store(silent, Ordering::Relaxed);
        }
    }

    /// Instruments of connection `link` whose stream is silent (stale).
    pub fn streams_silent(&self, link: usize) -> usize {
        self.books
            .iter()
            .filter(|b| b.link == Some(link) && b.silent.load(Ordering::Relaxed))
            .count()
    }

    /// Every instrument whose stream is silent, across connections.
    pub fn streams_silent_total(&self) -> usize {
        self.books
            .iter()
            .filter(|b| b.silent.load(Ordering::Relaxed))
            .count()
    }

    /// `silent streams: binance/perp 1, okx/spot 2` (for `/status`); empty when none is.
    pub fn silent_line(&self) -> String {
        let parts: Vec<String> = (0..self.links.len())
            .filter_map(|i| {
                let n = self.streams_silent(i);
                let link = &self.links[i];
                (n > 0).then(|| format!("{}/{} {n}", link.venue, link.kind.name()))
            })
            .collect();
        if parts.is_empty() {
            return String::new();
        }
        format!("silent streams: {}", parts.join(", "))
    }

    /// Books of connection `link` that are not valid (resyncing or waiting).
    pub fn books_resyncing(&self, link: usize) -> usize {
        self.books
            .iter()
            .filter(|b| b.link == Some(link) && !b.valid.load(Ordering::Relaxed))
            .count()
    }

    /// ` | binance/spot up 812/s 3 ms` for each connection but parked standbys (with
    /// `r<n>` after losses, `silent <n>` while streams are silent, `resync <n>` while
    /// books resync); empty when nothing is tracked.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (i, link) in self.links.iter().enumerate() {
            if link.state() == LinkState::Standby {
                continue;
            }
            out.push_str(&format!(
                " | {}/{} {} {}/s",
                link.venue,
                link.kind.name(),
                link.state().name(),
                link.frames_per_s()
            ));
            if let Some(ms) = link.delay_avg_ms() {
                out.push_str(&format!(" {ms} ms"));
            }
            let lost = link.disconnects.get();
            if lost > 0 {
                out.push_str(&format!(" r{lost}"));
            }
            let silent = self.streams_silent(i);
            if silent > 0 {
                out.push_str(&format!(" silent {silent}"));
            }
            let resyncing = self.books_resyncing(i);
            if resyncing > 0 {
                out.push_str(&format!(" resync {resyncing}"));
            }
        }
        out
    }

    /// Connections in order.
    pub fn links(&self) -> &[LinkHealth] {
        &self.links
    }
}

impl LinkHealth {
    /// The connection's state.
    pub fn state(&self) -> LinkState {
        LinkState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Sets the state (feed stage).
    pub fn set_state(&self, state: LinkState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// Data frames received in the last whole second.
    pub fn frames_per_s(&self) -> u64 {
        self.frames_per_s.load(Ordering::Relaxed)
    }

    /// Sets the frame rate (feed stage, once a second).
    pub fn set_frames_per_s(&self, rate: u64) {
        self.frames_per_s.store(rate, Ordering::Relaxed);
    }

    /// The venue-to-us delay of the last frame with a venue time, ms.
    pub fn delay_last_ms(&self) -> Option<u64> {
        Some(self.delay_last_ms.load(Ordering::Relaxed)).filter(|&v| v != NO_DELAY)
    }

    /// The rolling [`DELAY_WINDOW_SECS`] average venue-to-us delay, ms.
    pub fn delay_avg_ms(&self) -> Option<u64> {
        Some(self.delay_avg_ms.load(Ordering::Relaxed)).filter(|&v| v != NO_DELAY)
    }

    /// Sets both delays (feed stage).
    pub fn set_delays(&self, last_ms: Option<u64>, avg_ms: Option<u64>) {
        self.delay_last_ms
            .store(last_ms.unwrap_or(NO_DELAY), Ordering::Relaxed);
        self.delay_avg_ms
            .store(avg_ms.unwrap_or(NO_DELAY), Ordering::Relaxed);
    }
}

/// A rolling average of venue-to-us delays over the last [`DELAY_WINDOW_SECS`] seconds of
/// receive time, in one-second buckets.
#[derive(Debug, Clone, Default)]
pub struct DelayWindow {
    /// `(second, sum ms, count)` per bucket, indexed by `second % DELAY_WINDOW_SECS`.
    buckets: [(u64, u64, u64); DELAY_BUCKETS],
    last_ms: Option<u64>,
}

impl DelayWindow {
    /// Adds one delay, measured at `recv_unix_ms`.
    #[inline]
    pub fn add(&mut self, delay_ms: u64, recv_unix_ms: u64) {
        let second = recv_unix_ms / 1_000;
        let slot = &mut self.buckets[Self::index(second)];
        if slot.0 != second {
            *slot = (second, 0, 0);
        }
        slot.1 = slot.1.saturating_add(delay_ms);
        slot.2 += 1;
        self.last_ms = Some(delay_ms);
    }

    /// The last delay added.
    pub fn last_ms(&self) -> Option<u64> {
        self.last_ms
    }

    /// The average delay of the window ending at `now_unix_ms`; `None` without samples.
    pub fn average_ms(&self, now_unix_ms: u64) -> Option<u64> {
        let now = now_unix_ms / 1_000;
        let (sum, count) = self
            .buckets
            .iter()
            .filter(|b| b.2 > 0 && b.0 <= now && now - b.0 < DELAY_WINDOW_SECS)
            .fold((0u64, 0u64), |(s, c), b| (s.saturating_add(b.1), c + b.2));
        (count > 0).then(|| sum / count)
    }

    /// Forgets every sample (a new connection starts a new window).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    fn index(second: u64) -> usize {
        usize::try_from(second % DELAY_WINDOW_SECS).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{InstrumentId, InstrumentSpec, Price, Qty};

    #[test]
    fn test_delay_window_rolls_over_ten_seconds() {
        let mut w = DelayWindow::default();
        assert_eq!(w.average_ms(5_000), None);
        w.add(10, 1_000);
        w.add(30, 1_500);
        assert_eq!(w.average_ms(1_900), Some(20));
        w.add(80, 9_000);
        assert_eq!(w.average_ms(9_000), Some(40));
        // At 11.0 s the samples of second 1 have left the window.
        assert_eq!(w.average_ms(11_000), Some(80));
        // Second 11 reuses second 1's bucket.
        w.add(4, 11_200);
        assert_eq!(w.average_ms(11_200), Some(42));
        assert_eq!(w.last_ms(), Some(4));
        assert_eq!(w.average_ms(30_000), None);
        w.clear();
        assert_eq!(w.last_ms(), None);
    }

    #[test]
    fn test_health_summary_and_book_flags() {
        let mut registry = InstrumentRegistry::default();
        registry
            .insert(InstrumentSpec {
                venue: Venue::Okx,
                kind: MarketKind::Spot,
                symbol: "BTC-USDT".into(),
                base: "BTC".into(),
                tick_size: Price::from_raw(1),
                lot_size: Qty::from_raw(1),
                min_notional: Price::ZERO,
                contract_size: Qty::from_raw(Qty::SCALE),
            })
            .unwrap();
        let health = FeedHealth::new(&registry, &[(Venue::Okx, MarketKind::Spot)]);
        assert_eq!(health.books_resyncing(0), 1);
        health.set_book_valid(InstrumentId(0).index(), true);
        let link = health.link(0).unwrap();
        link.set_state(LinkState::Stale);
        link.set_frames_per_s(812);
        link.set_delays(Some(300), Some(250));
        link.disconnects.incr();
        assert_eq!(health.summary(), " | okx/spot STALE 812/s 250 ms r1");
        assert!(health.silent_line().is_empty());
        health.set_silent(0, true);
        assert_eq!(
            health.summary(),
            " | okx/spot STALE 812/s 250 ms r1 silent 1"
        );
        assert_eq!(health.silent_line(), "silent streams: okx/spot 1");
        assert_eq!(health.streams_silent_total(), 1);
        assert!(FeedHealth::default().summary().is_empty());
    }
}
