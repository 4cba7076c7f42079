//! The book stage: applies `MarketEvent`s to each instrument's L2 book and top-of-book
//! state, and publishes a compact [`TopUpdate`] to the edge stage when the top of book or
//! the tracked depth changed, with the ingress timestamp passed through.
//!
//! Runs on the hot-path thread; allocation-free after construction (books are built for
//! their configured maximum depth at start-up). An event is only taken from the ring when
//! the edge ring has room for what it may publish, so backpressure flows upstream and
//! nothing is dropped. The top of book comes from the venue's top-of-book stream; the L2
//! book (from depth diffs) gives the tracked depth and is checked for crossing after
//! every diff.
//!
//! The feed stage's [`FeedStatus`] events arrive on the same ring: `Reset` (connection
//! lost) forgets the book, which is published invalid until the venue's resync procedure
//! makes it valid again; `Stale` publishes the instrument invalid (edges using it are
//! suppressed) until `Fresh`, while the book keeps following the venue.

use crate::book::engine::{Applied, BookEngine, BookView, Invalidation, TopSource};
use crate::book::top::TopUpdate;
use crate::runtime::{RunReport, Stage, StageKind};
use crate::stage_io::StageIo;
use crate::telemetry::sample::Metric;
use crate::types::bps::Bps;
use crate::types::{
    EventBody, FeedStatus, InstrumentId, InstrumentRegistry, MarketEvent, Price, Qty, Venue,
};

/// Events handled per poll at most (keeps the fused hot-path loop fair).
pub const EVENTS_PER_POLL_MAX: usize = 256;

/// Book sizing and what is tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookParams {
    /// Levels per side each L2 book holds (default 5000: Binance's deepest snapshot).
    pub levels_max: usize,
    /// Depth tracked for the edge stage: quote value within this many bps of the touch
    /// (default 10).
    pub tracked_depth_bps: Bps,
    /// Events (diff headers and levels) a Binance book buffers while its REST snapshot
    /// is fetched (default 16384, about 1.2 MiB per Binance instrument).
    pub resync_buffer_events: usize,
}

impl Default for BookParams {
    fn default() -> Self {
        Self {
            levels_max: 5000,
            tracked_depth_bps: Bps::lit("10"),
            resync_buffer_events: 16_384,
        }
    }
}

/// The book stage.
pub struct BookStage {
    engine: BookEngine,
    names: Vec<String>,
    last: Vec<Option<TopUpdate>>,
    resync_pending: Vec<bool>,
    stale: Vec<bool>,
    resync: rtrb::Producer<InstrumentId>,
    io: BookIo,
}

/// The book stage's rings: market events in, top-of-book updates out.
pub type BookIo = StageIo<MarketEvent, TopUpdate>;

impl BookStage {
    /// A book stage with one book per registered instrument, each allocated now.
    /// Resync requests (an instrument whose book became invalid) go out on `resync`,
    /// to the feed stage, which owns the connections.
    pub fn new(
        registry: &InstrumentRegistry,
        params: BookParams,
        top_source: impl Fn(Venue) -> TopSource,
        resync: rtrb::Producer<InstrumentId>,
        io: BookIo,
    ) -> Self {
        Self {
            engine: BookEngine::with_top_sources(registry, params, top_source),
            names: registry
                .iter()
                .map(|i| format!("{} {} {}", i.venue, i.kind.name(), i.symbol))
                .collect(),
            last: vec![None; registry.len()],
            resync_pending: vec![false; registry.len()],
            stale: vec![false; registry.len()],
            resync,
            io,
        }
    }

    /// The books (tests compare them with the simulator's).
    pub fn engine(&self) -> &BookEngine {
        &self.engine
    }

    fn apply(&mut self, event: &MarketEvent, start_raw: u64) {
        if let EventBody::Feed(status) = event.body {
            self.feed_status(event, status, start_raw);
            return;
        }
        match self.engine.apply(event) {
            Applied::Nothing => {}
            Applied::Changed => {
                if let Some(view) = self.engine.view(event.instrument) {
                    self.resync_pending[event.instrument.index()] = false;
                    self.publish(event, Some(view), start_raw);
                }
            }
            Applied::Invalidated(why) => self.invalidated(event, why, start_raw),
            Applied::SnapshotNeeded => self.request_resync(event.instrument),
        }
    }

    /// Acts on the feed stage's word about an instrument's connection.
    fn feed_status(&mut self, event: &MarketEvent, status: FeedStatus, start_raw: u64) {
        let index = event.instrument.index();
        if index >= self.stale.len() {
            return;
        }
        match status {
            FeedStatus::Reset => {
                self.engine.reset(event.instrument);
                self.resync_pending[index] = false;
                self.stale[index] = false;
                self.io.stats.book_resets.incr();
                log::info!(
                    "book: {}: connection lost; book invalid until resynced",
                    self.names[index]
                );
                self.publish(event, None, start_raw);
            }
            FeedStatus::Stale => {
                self.stale[index] = true;
                self.publish(event, None, start_raw);
            }
            FeedStatus::Fresh => {
                self.stale[index] = false;
                let view = self.engine.view(event.instrument);
                self.publish(event, view, start_raw);
            }
        }
    }

    /// Asks the feed stage for a resync, once until the book is valid again.
    fn request_resync(&mut self, instrument: InstrumentId) {
        let index = instrument.index();
        if self.resync_pending[index] {
            return;
        }
        self.resync_pending[index] = true;
        if self.resync.push(instrument).is_err() {
            self.resync_pending[index] = false;
            self.io.stats.book_resync_requests_dropped.incr();
        }
    }

    /// Counts and logs an invalid book, tells the edge stage, asks the feed to resync.
    fn invalidated(&mut self, event: &MarketEvent, why: Invalidation, start_raw: u64) {
        let index = event.instrument.index();
        let name = &self.names[index];
        match why {
            Invalidation::Gap {
                expected_after,
                got,
            } => {
                self.io.stats.book_sequence_gaps.incr();
                log::warn!(
                    "book: {name}: sequence gap (last applied {expected_after}, next claims {got}); book invalid, resyncing"
                );
            }
            Invalidation::Checksum { venue, book } => {
                self.io.stats.book_checksum_mismatches.incr();
                log::warn!(
                    "book: {name}: checksum mismatch (venue {venue}, book {book}); book invalid, resyncing"
                );
            }
        }
        self.publish(event, None, start_raw);
        self.resync_pending[index] = false;
        self.request_resync(event.instrument);
    }

    /// Publishes a valid book's top and depth when they changed, or (`None`) that the
    /// instrument's book is invalid.
    fn publish(&mut self, event: &MarketEvent, view: Option<BookView>, start_raw: u64) {
        let index = event.instrument.index();
        let view = view.filter(|_| !self.stale[index]);
        self.io
            .stats
            .health
            .set_book_valid(index, self.engine.is_valid(event.instrument));
        let valid = view.is_some();
        let view = view.unwrap_or(BookView {
            bid: Price::ZERO,
            bid_qty: Qty::ZERO,
            ask: Price::ZERO,
            ask_qty: Qty::ZERO,
            bid_depth_quote: 0,
            ask_depth_quote: 0,
        });
        let update = TopUpdate {
            instrument: event.instrument,
            bid: view.bid,
            bid_qty: view.bid_qty,
            ask: view.ask,
            ask_qty: view.ask_qty,
            bid_depth_quote: view.bid_depth_quote,
            ask_depth_quote: view.ask_depth_quote,
            valid,
            ts_recv_raw: event.ts_recv_raw,
            ts_venue_ms: event.ts_venue_ms,
        };
        let last = &mut self.last[event.instrument.index()];
        if last.is_some_and(|last| same_content(&last, &update)) {
            return;
        }
        *last = Some(update);
        // Room was checked before the event was popped.
        let _ = self.io.output.push(update);
        self.io.stats.book_updates.incr();
        self.io
            .samples
            .record(Metric::Book, start_raw, self.io.clock.raw());
    }
}

/// Whether two updates carry the same top, depth and validity (timestamps aside).
fn same_content(a: &TopUpdate, b: &TopUpdate) -> bool {
    (
        a.bid,
        a.bid_qty,
        a.ask,
        a.ask_qty,
        a.bid_depth_quote,
        a.ask_depth_quote,
        a.valid,
    ) == (
        b.bid,
        b.bid_qty,
        b.ask,
        b.ask_qty,
        b.bid_depth_quote,
        b.ask_depth_quote,
        b.valid,
    )
}

impl Stage for BookStage {
    fn kind(&self) -> StageKind {
        StageKind::Book
    }

    fn poll(&mut self) -> usize {
        let mut handled = 0;
        while handled < EVENTS_PER_POLL_MAX && !self.io.output.is_full() {
            let Ok(event) = self.io.input.pop() else {
                break;
            };
            let start_raw = self.io.clock.raw();
            self.apply(&event, start_raw);
            handled += 1;
        }
        self.io.stats.book_events.add(handled as u64);
        handled
    }

    fn finish(&mut self, report: &mut RunReport) {
        while self.poll() > 0 {}
        let mut totals = crate::book::engine::BookCounters::default();
        let (mut dropped, mut evicted) = (0, 0);
        for i in 0..self.engine.len() {
            let id = InstrumentId(u32::try_from(i).unwrap_or(u32::MAX));
            let c = self.engine.counters(id);
            totals.snapshots += c.snapshots;
            totals.updates += c.updates;
            totals.stale += c.stale;
            totals.buffered += c.buffered;
            totals.buffer_overflows += c.buffer_overflows;
            totals.checksums_matched += c.checksums_matched;
            totals.resyncs += c.resyncs;
            totals.crossed += c.crossed;
            let o = self.engine.l2(id).overflow();
            dropped += o.dropped_far;
            evicted += o.evicted_far;
            if !self.engine.is_valid(id) {
                log::warn!("book: {} ends invalid", self.names[i]);
            }
        }
        report.set("book.snapshots", totals.snapshots);
        report.set("book.diffs_applied", totals.updates);
        report.set("book.stale_dropped", totals.stale);
        report.set("book.diffs_buffered", totals.buffered);
        report.set("book.buffer_overflows", totals.buffer_overflows);
        report.set("book.checksums_matched", totals.checksums_matched);
        report.set("book.resyncs", totals.resyncs);
        report.set("book.crossed_levels", totals.crossed);
        report.set("book.levels_dropped_far", dropped);
        report.set("book.levels_evicted_far", evicted);
    }
}
