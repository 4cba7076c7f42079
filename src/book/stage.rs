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
//!
//! Snapshots: a Binance book asks the feed stage for its REST snapshot at its first
//! buffered diff. An OKX book first waits [`BookParams::stream_snapshot_wait`] for the
//! snapshot OKX pushed on subscribe until it delisted that push (2026), buffering its
//! updates, and asks for the REST book when none came; after a gap or a checksum
//! mismatch it asks for the REST book at once. The wait is checked once per poll, and
//! only while a book waits.

use std::time::Duration;

use crate::book::engine::{Applied, BookEngine, BookView, Invalidation, TopSource};
use crate::book::sequence::SequenceRule;
use crate::book::top::{Ladder, PerpInfo, TopUpdate};
use crate::runtime::{RunReport, Stage, StageKind};
use crate::stage_io::StageIo;
use crate::telemetry::sample::Metric;
use crate::types::bps::Bps;
use crate::types::{
    EventBody, FeedStatus, FundingFields, InstrumentId, InstrumentRegistry, MarketEvent, Price,
    Qty, Venue,
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
    /// Events (diff headers and levels) a Binance or OKX book buffers while it waits for
    /// its snapshot (default 16384, about 1.2 MiB per instrument); a message that does
    /// not fit empties the buffer and is counted (`book.buffer_overflows`).
    pub resync_buffer_events: usize,
    /// How long an OKX book buffers its updates waiting for the venue's snapshot push
    /// before it asks for the REST book (default 1 s: OKX pushed it right after the
    /// subscribe ack; 0 asks at once).
    pub stream_snapshot_wait: Duration,
}

impl Default for BookParams {
    fn default() -> Self {
        Self {
            levels_max: 5000,
            tracked_depth_bps: Bps::lit("10"),
            resync_buffer_events: 16_384,
            stream_snapshot_wait: Duration::from_secs(1),
        }
    }
}

/// The book stage.
pub struct BookStage {
    engine: BookEngine,
    names: Vec<String>,
    last: Vec<Option<TopUpdate>>,
    perp: Vec<PerpInfo>,
    resync_pending: Vec<bool>,
    /// Whether the book waits for a stream snapshot before asking for the REST one.
    awaits_stream_snapshot: Vec<bool>,
    /// When each waiting book began to wait (raw clock), if it is waiting.
    wait_started_raw: Vec<Option<u64>>,
    /// Books waiting now.
    waiting: usize,
    stream_snapshot_wait_ns: u64,
    stale: Vec<bool>,
    resync: rtrb::Producer<InstrumentId>,
    gateway: Option<rtrb::Producer<MarketEvent>>,
    /// Per instrument: whether the gateway holds a copy of a valid book (book data went
    /// to it since the last `Reset` it was sent).
    gateway_has_book: Vec<bool>,
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
            perp: vec![PerpInfo::default(); registry.len()],
            resync_pending: vec![false; registry.len()],
            awaits_stream_snapshot: registry
                .iter()
                .map(|i| SequenceRule::of(i.venue, i.kind).awaits_stream_snapshot())
                .collect(),
            wait_started_raw: vec![None; registry.len()],
            waiting: 0,
            stream_snapshot_wait_ns: u64::try_from(params.stream_snapshot_wait.as_nanos())
                .unwrap_or(u64::MAX),
            stale: vec![false; registry.len()],
            resync,
            gateway: None,
            gateway_has_book: vec![false; registry.len()],
            io,
        }
    }

    /// Also hands every event it applied to the gateway through `ring` (book data
    /// only while the instrument's book is valid, so the paper venue never trades on a
    /// book the strategies consider broken; the event that invalidates a book, by a
    /// gap, a checksum or a crossing, goes as a `Reset`, so the paper venue drops its
    /// copy and halts that instrument until the resynced book's data comes). Like the
    /// edge ring, an event is only taken when this ring has room: backpressure,
    /// nothing dropped.
    pub fn with_gateway(mut self, ring: rtrb::Producer<MarketEvent>) -> Self {
        self.gateway = Some(ring);
        self
    }

    /// Forwards an applied event to the gateway (room was checked before the pop).
    fn forward(&mut self, event: &MarketEvent) {
        let Some(ring) = self.gateway.as_mut() else {
            return;
        };
        let book_data = matches!(
            event.body,
            EventBody::DepthBegin { .. }
                | EventBody::DepthLevel { .. }
                | EventBody::TopOfBook { .. }
        );
        let Some(has_book) = self.gateway_has_book.get_mut(event.instrument.index()) else {
            let _ = ring.push(*event);
            return;
        };
        if book_data && !self.engine.is_valid(event.instrument) {
            if *has_book {
                *has_book = false;
                let _ = ring.push(MarketEvent {
                    body: EventBody::Feed(FeedStatus::Reset),
                    ..*event
                });
            }
            return;
        }
        match event.body {
            EventBody::Feed(FeedStatus::Reset) => *has_book = false,
            _ if book_data => *has_book = true,
            _ => {}
        }
        let _ = ring.push(*event);
    }

    /// The book engine, to configure it before the run (which books carry ladders).
    pub fn engine_mut(&mut self) -> &mut BookEngine {
        &mut self.engine
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
        if self.perp_info(event) {
            // Funding or open interest changed: republish the last update with it.
            if let Some(last) = self.last.get(event.instrument.index()).copied().flatten() {
                let view = last
                    .valid
                    .then(|| self.engine.view(event.instrument))
                    .flatten();
                if last.valid == view.is_some() {
                    self.publish(event, view, start_raw);
                }
            }
            return;
        }
        match self.engine.apply(event) {
            Applied::Nothing => {}
            Applied::Changed => {
                if let Some(view) = self.engine.view(event.instrument) {
                    self.resync_pending[event.instrument.index()] = false;
                    self.stop_waiting(event.instrument.index());
                    self.publish(event, Some(view), start_raw);
                }
            }
            Applied::Invalidated(why) => self.invalidated(event, why, start_raw),
            Applied::SnapshotNeeded => self.snapshot_needed(event.instrument, start_raw),
        }
    }

    /// A book buffers diffs for want of a snapshot: ask for the REST one (once until it
    /// is valid), or, for OKX when none was asked for yet, first wait for a pushed one.
    fn snapshot_needed(&mut self, instrument: InstrumentId, now_raw: u64) {
        let index = instrument.index();
        if self.resync_pending[index] || self.wait_started_raw[index].is_some() {
            return;
        }
        if self.awaits_stream_snapshot[index] && self.stream_snapshot_wait_ns > 0 {
            self.wait_started_raw[index] = Some(now_raw);
            self.waiting += 1;
            return;
        }
        self.request_resync(instrument);
    }

    fn stop_waiting(&mut self, index: usize) {
        if self.wait_started_raw[index].take().is_some() {
            self.waiting -= 1;
        }
    }

    /// Asks for the REST book of every book whose wait for a stream snapshot is over.
    fn check_waits(&mut self) {
        let now = self.io.clock.raw();
        for index in 0..self.wait_started_raw.len() {
            let Some(started) = self.wait_started_raw[index] else {
                continue;
            };
            if self.io.clock.delta_ns(started, now) < self.stream_snapshot_wait_ns {
                continue;
            }
            self.stop_waiting(index);
            let id = InstrumentId(u32::try_from(index).unwrap_or(u32::MAX));
            if !self.engine.is_valid(id) {
                log::info!(
                    "book: {}: no snapshot pushed within {} ms; asking for the REST book",
                    self.names[index],
                    self.stream_snapshot_wait_ns / 1_000_000
                );
                self.request_resync(id);
            }
        }
    }

    /// Keeps a perp's funding rate or open interest; true when the event carried one
    /// that changed.
    fn perp_info(&mut self, event: &MarketEvent) -> bool {
        let Some(info) = self.perp.get_mut(event.instrument.index()) else {
            return false;
        };
        let before = *info;
        match event.body {
            EventBody::Funding { rate, fields, .. } if fields.contains(FundingFields::RATE) => {
                info.funding_rate = Some(rate);
            }
            EventBody::OpenInterest { qty } => info.open_interest = Some(qty),
            _ => return false,
        }
        *info != before
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
                self.stop_waiting(index);
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
            Invalidation::Crossed { bid, ask } => {
                log::warn!(
                    "book: {name}: crossed (best bid {bid} >= best ask {ask}); book invalid, resyncing"
                );
            }
        }
        self.publish(event, None, start_raw);
        self.resync_pending[index] = false;
        self.stop_waiting(index);
        self.request_resync(event.instrument);
    }

    /// Publishes a valid book's top and depth when they changed, or (`None`) that the
    /// instrument's book is invalid.
    fn publish(&mut self, event: &MarketEvent, view: Option<BookView>, start_raw: u64) {
        let index = event.instrument.index();
        self.io
            .stats
            .health
            .set_book_valid(index, self.engine.is_valid(event.instrument));
        let view = view.as_ref().filter(|_| !self.stale[index]);
        let perp = self.perp[index];
        let last = &mut self.last[index];
        if last.as_ref().is_some_and(|last| carries(last, view, &perp)) {
            return;
        }
        let update = last.insert(TopUpdate {
            instrument: event.instrument,
            bid: view.map_or(Price::ZERO, |v| v.bid),
            bid_qty: view.map_or(Qty::ZERO, |v| v.bid_qty),
            ask: view.map_or(Price::ZERO, |v| v.ask),
            ask_qty: view.map_or(Qty::ZERO, |v| v.ask_qty),
            bid_depth_quote: view.map_or(0, |v| v.bid_depth_quote),
            ask_depth_quote: view.map_or(0, |v| v.ask_depth_quote),
            ladder: view.map_or_else(Ladder::default, |v| v.ladder),
            perp,
            valid: view.is_some(),
            ts_recv_raw: event.ts_recv_raw,
            ts_venue_ms: event.ts_venue_ms,
        });
        // Room was checked before the event was popped.
        let _ = self.io.output.push(*update);
        self.io.stats.book_updates.incr();
        if update.valid {
            self.io.stats.book_valid_updates.incr();
        }
        self.io
            .samples
            .record(Metric::Book, start_raw, self.io.clock.raw());
    }
}

/// Whether the last update published for an instrument already carries `view` (an
/// invalid book's zeros when `None`) and `perp`, so that publishing again would change
/// its timestamps only. Compared in place, the top (which changes most often) first:
/// building the new update to compare it whole would copy its few hundred bytes twice.
fn carries(last: &TopUpdate, view: Option<&BookView>, perp: &PerpInfo) -> bool {
    // Destructured whole, so that a new field cannot be left out of the comparison.
    let TopUpdate {
        instrument: _,
        bid,
        bid_qty,
        ask,
        ask_qty,
        bid_depth_quote,
        ask_depth_quote,
        ladder,
        perp: last_perp,
        valid,
        ts_recv_raw: _,
        ts_venue_ms: _,
    } = last;
    let Some(v) = view else {
        return !valid && last_perp == perp;
    };
    *valid
        && *bid == v.bid
        && *ask == v.ask
        && *bid_qty == v.bid_qty
        && *ask_qty == v.ask_qty
        && *bid_depth_quote == v.bid_depth_quote
        && *ask_depth_quote == v.ask_depth_quote
        && last_perp == perp
        && *ladder == v.ladder
}

impl Stage for BookStage {
    fn kind(&self) -> StageKind {
        StageKind::Book
    }

    fn poll(&mut self) -> usize {
        let mut handled = 0;
        while handled < EVENTS_PER_POLL_MAX && !self.io.output.is_full() {
            if self.gateway.as_ref().is_some_and(rtrb::Producer::is_full) {
                self.io.stats.book_gateway_ring_full.incr();
                break;
            }
            let Ok(event) = self.io.input.pop() else {
                break;
            };
            let start_raw = self.io.clock.raw();
            self.apply(&event, start_raw);
            self.forward(&event);
            handled += 1;
        }
        if self.waiting > 0 {
            self.check_waits();
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
            totals.checksums_skipped += c.checksums_skipped;
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
        report.set("book.checksums_skipped", totals.checksums_skipped);
        report.set("book.resyncs", totals.resyncs);
        report.set("book.crossed_levels", totals.crossed);
        report.set("book.levels_dropped_far", dropped);
        report.set("book.levels_evicted_far", evicted);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::runtime::Clock;
    use crate::stats::PipelineStats;
    use crate::telemetry::sample::SampleSink;
    use crate::types::{InstrumentSpec, MarketKind, Rate, Side};

    #[test]
    fn test_carries_ignores_only_the_timestamps() {
        use crate::book::top::{LadderLevel, LadderSide};
        let level = LadderLevel {
            price: Price::from_raw(102),
            qty: Qty::from_raw(2),
        };
        let view = BookView {
            bid: Price::from_raw(99),
            bid_qty: Qty::from_raw(1),
            ask: Price::from_raw(101),
            ask_qty: Qty::from_raw(1),
            bid_depth_quote: 5,
            ask_depth_quote: 6,
            ladder: Ladder {
                bids: LadderSide::from_levels([level]),
                asks: LadderSide::from_levels([level]),
            },
        };
        let perp = PerpInfo::default();
        let last = TopUpdate {
            instrument: InstrumentId(3),
            bid: view.bid,
            bid_qty: view.bid_qty,
            ask: view.ask,
            ask_qty: view.ask_qty,
            bid_depth_quote: view.bid_depth_quote,
            ask_depth_quote: view.ask_depth_quote,
            ladder: view.ladder,
            perp,
            valid: true,
            ts_recv_raw: 10,
            ts_venue_ms: 20,
        };
        assert!(carries(&last, Some(&view), &perp));
        assert!(!carries(&last, None, &perp));
        let funded = PerpInfo {
            funding_rate: None,
            open_interest: Some(Qty::from_raw(1)),
        };
        assert!(!carries(&last, Some(&view), &funded));
        let mut deeper = view;
        deeper.ladder.asks.levels[1] = level;
        deeper.ladder.asks.len = 2;
        let changed = [
            BookView {
                bid: Price::from_raw(98),
                ..view
            },
            BookView {
                bid_qty: Qty::from_raw(2),
                ..view
            },
            BookView {
                ask: Price::from_raw(102),
                ..view
            },
            BookView {
                ask_qty: Qty::from_raw(2),
                ..view
            },
            BookView {
                bid_depth_quote: 7,
                ..view
            },
            BookView {
                ask_depth_quote: 7,
                ..view
            },
            deeper,
        ];
        for other in changed {
            assert!(!carries(&last, Some(&other), &perp), "{other:?}");
        }
        let invalid = TopUpdate {
            bid: Price::ZERO,
            bid_qty: Qty::ZERO,
            ask: Price::ZERO,
            ask_qty: Qty::ZERO,
            bid_depth_quote: 0,
            ask_depth_quote: 0,
            ladder: Ladder::default(),
            valid: false,
            ..last
        };
        assert!(carries(&invalid, None, &perp));
        assert!(!carries(&invalid, None, &funded));
        assert!(!carries(&invalid, Some(&view), &perp));
    }

    /// A book stage over one instrument, with the ends of its rings and its mock clock.
    struct Rig {
        stage: BookStage,
        input: rtrb::Producer<MarketEvent>,
        out: rtrb::Consumer<TopUpdate>,
        /// Resync requests to the feed stage.
        asked: rtrb::Consumer<InstrumentId>,
        mock: Arc<quanta::Mock>,
    }

    fn rig(venue: Venue, kind: MarketKind, symbol: &str) -> Rig {
        let mut registry = InstrumentRegistry::default();
        registry
            .insert(InstrumentSpec {
                venue,
                kind,
                symbol: symbol.into(),
                base: "BTC".into(),
                tick_size: Price::from_raw(1),
                lot_size: Qty::from_raw(1),
                min_notional: Price::ZERO,
                contract_size: Qty::from_raw(Qty::SCALE),
            })
            .unwrap();
        let stats = Arc::new(PipelineStats::default());
        let (input, input_rx) = rtrb::RingBuffer::new(64);
        let (out_tx, out) = rtrb::RingBuffer::new(64);
        let (samples, _samples_rx) = rtrb::RingBuffer::new(64);
        let (resync, asked) = rtrb::RingBuffer::new(4);
        let (clock, mock) = Clock::mock();
        let io = BookIo {
            input: input_rx,
            output: out_tx,
            samples: SampleSink::new(samples, Arc::clone(&stats), |s| &s.book_samples_dropped),
            stats,
            clock,
        };
        let stage = BookStage::new(
            &registry,
            BookParams::default(),
            TopSource::default_for,
            resync,
            io,
        );
        Rig {
            stage,
            input,
            out,
            asked,
            mock,
        }
    }

    fn event(body: EventBody) -> MarketEvent {
        MarketEvent {
            ts_recv_raw: 0,
            ts_venue_ms: 0,
            instrument: InstrumentId(0),
            body,
        }
    }

    fn px(v: i64) -> Price {
        Price::from_raw(i128::from(v) * Price::SCALE)
    }

    #[test]
    fn test_publishes_ladder_and_republishes_on_funding_and_open_interest() {
        let Rig {
            mut stage,
            mut input,
            mut out,
            ..
        } = rig(Venue::Bybit, MarketKind::Perp, "BTCUSDT");
        let levels = [(Side::Bid, 100), (Side::Bid, 99), (Side::Ask, 101)];
        input
            .push(event(EventBody::DepthBegin {
                first_update_id: 1,
                last_update_id: 1,
                prev_update_id: 0,
                levels: 3,
                snapshot: true,
                checksum: None,
            }))
            .unwrap();
        for (side, p) in levels {
            input
                .push(event(EventBody::DepthLevel {
                    side,
                    price: px(p),
                    qty: Qty::from_raw(Qty::SCALE),
                }))
                .unwrap();
        }
        let rate = Rate::from_raw(Rate::SCALE / 10_000);
        let funding = EventBody::Funding {
            mark: px(100),
            index: px(100),
            rate,
            next_funding_ms: 0,
            fields: FundingFields::ALL,
        };
        input.push(event(funding)).unwrap();
        input.push(event(funding)).unwrap();
        let oi = Qty::from_raw(7 * Qty::SCALE);
        input
            .push(event(EventBody::OpenInterest { qty: oi }))
            .unwrap();
        let mark_only = EventBody::Funding {
            mark: px(101),
            index: px(100),
            rate: Rate::ZERO,
            next_funding_ms: 0,
            fields: FundingFields::MARK,
        };
        input.push(event(mark_only)).unwrap();
        stage.poll();
        let first = out.pop().unwrap();
        assert!(first.valid);
        let bids: Vec<Price> = first
            .ladder
            .bids
            .as_slice()
            .iter()
            .map(|l| l.price)
            .collect();
        assert_eq!(bids, [px(100), px(99)]);
        assert_eq!(first.ladder.asks.as_slice().len(), 1);
        assert_eq!(first.perp, PerpInfo::default());
        let with_rate = out.pop().unwrap();
        assert_eq!(with_rate.perp.funding_rate, Some(rate));
        assert_eq!((with_rate.bid, with_rate.ladder), (first.bid, first.ladder));
        let with_oi = out.pop().unwrap();
        assert_eq!(with_oi.perp.open_interest, Some(oi));
        assert!(
            out.pop().is_err(),
            "an unchanged rate or a mark alone publishes nothing"
        );
    }

    /// A gap invalidates the book: the gateway gets a `Reset` in place of the diff (so
    /// the paper venue drops its copy and halts), nothing of the broken book after it,
    /// and the resynced book's snapshot again.
    #[test]
    fn test_gateway_gets_a_reset_when_a_gap_invalidates_the_book() {
        let Rig {
            stage,
            mut input,
            mut asked,
            ..
        } = rig(Venue::Okx, MarketKind::Spot, "BTC-USDT");
        let (gateway_tx, mut gateway) = rtrb::RingBuffer::new(64);
        let mut stage = stage.with_gateway(gateway_tx);
        let mut push_depth = |seq: u64, prev: u64, snapshot: bool, bid: i64| {
            input
                .push(event(EventBody::DepthBegin {
                    first_update_id: seq,
                    last_update_id: seq,
                    prev_update_id: prev,
                    levels: 2,
                    snapshot,
                    checksum: None,
                }))
                .unwrap();
            for (side, p) in [(Side::Bid, bid), (Side::Ask, bid + 2)] {
                input
                    .push(event(EventBody::DepthLevel {
                        side,
                        price: px(p),
                        qty: Qty::from_raw(Qty::SCALE),
                    }))
                    .unwrap();
            }
        };
        push_depth(10, 0, true, 100);
        push_depth(11, 10, false, 99);
        push_depth(15, 14, false, 98); // a hole: 12 to 14 missing
        push_depth(16, 15, false, 97);
        stage.poll();
        let bodies: Vec<EventBody> = std::iter::from_fn(|| gateway.pop().ok())
            .map(|e| e.body)
            .collect();
        assert_eq!(bodies.len(), 7, "{bodies:?}");
        assert!(matches!(
            bodies[0],
            EventBody::DepthBegin { snapshot: true, .. }
        ));
        assert!(matches!(
            bodies[3],
            EventBody::DepthBegin {
                last_update_id: 11,
                ..
            }
        ));
        assert_eq!(bodies[6], EventBody::Feed(FeedStatus::Reset), "{bodies:?}");
        assert_eq!(
            asked.pop().ok(),
            Some(InstrumentId(0)),
            "a resync was asked for"
        );
        push_depth(20, 0, true, 90);
        stage.poll();
        let after: Vec<EventBody> = std::iter::from_fn(|| gateway.pop().ok())
            .map(|e| e.body)
            .collect();
        assert!(
            matches!(
                after.first(),
                Some(EventBody::DepthBegin { snapshot: true, .. })
            ),
            "the resynced book goes to the gateway again: {after:?}"
        );
    }

    #[test]
    fn test_okx_book_waits_for_a_pushed_snapshot_then_asks_for_the_rest_book() {
        let Rig {
            mut stage,
            mut input,
            mut asked,
            mock,
            ..
        } = rig(Venue::Okx, MarketKind::Spot, "BTC-USDT");
        let depth = |seq, prev, snapshot, checksum| {
            event(EventBody::DepthBegin {
                first_update_id: seq,
                last_update_id: seq,
                prev_update_id: prev,
                levels: 0,
                snapshot,
                checksum,
            })
        };
        input.push(depth(10, 9, false, Some(0))).unwrap();
        stage.poll();
        mock.increment(Duration::from_millis(999));
        input.push(depth(11, 10, false, Some(0))).unwrap();
        stage.poll();
        assert!(asked.pop().is_err(), "still waiting for a pushed snapshot");
        mock.increment(Duration::from_millis(2));
        stage.poll();
        assert_eq!(asked.pop(), Ok(InstrumentId(0)), "the REST book, once");
        input.push(depth(12, 11, false, Some(0))).unwrap();
        stage.poll();
        assert!(asked.pop().is_err());
        input.push(depth(10, 0, true, None)).unwrap();
        stage.poll();
        assert!(stage.engine().is_valid(InstrumentId(0)), "bridged by seqId");
        input.push(depth(15, 14, false, Some(0))).unwrap();
        stage.poll();
        assert_eq!(asked.pop(), Ok(InstrumentId(0)), "a gap asks at once");
    }
}
