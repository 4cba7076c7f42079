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

use crate::book::l2::{Crossing, L2Book};
use crate::book::top::{InstrumentBook, SequenceCheck, TopChange, TopUpdate};
use crate::runtime::{RunReport, Stage, StageKind};
use crate::stage_io::StageIo;
use crate::telemetry::sample::Metric;
use crate::types::bps::Bps;
use crate::types::{EventBody, InstrumentId, InstrumentRegistry, MarketEvent, Side};

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
}

impl Default for BookParams {
    fn default() -> Self {
        Self {
            levels_max: 5000,
            tracked_depth_bps: Bps::lit("10"),
        }
    }
}

struct Instrument {
    state: InstrumentBook,
    l2: L2Book,
    /// Tracked depth (bid, ask quote value), recomputed after each depth diff only.
    depth_quote: (i64, i64),
    last: Option<TopUpdate>,
}

/// A depth diff being applied: its instrument and the levels still to come.
#[derive(Debug, Clone, Copy)]
struct DepthInProgress {
    instrument: InstrumentId,
    levels_left: u16,
}

/// The book stage.
pub struct BookStage {
    books: Vec<Instrument>,
    params: BookParams,
    depth: Option<DepthInProgress>,
    io: BookIo,
}

/// The book stage's rings: market events in, top-of-book updates out.
pub type BookIo = StageIo<MarketEvent, TopUpdate>;

impl BookStage {
    /// A book stage with one book per registered instrument, each allocated now.
    pub fn new(registry: &InstrumentRegistry, params: BookParams, io: BookIo) -> Self {
        Self {
            books: registry
                .iter()
                .map(|i| Instrument {
                    state: InstrumentBook::new(i.kind),
                    l2: L2Book::with_depth(params.levels_max),
                    depth_quote: (0, 0),
                    last: None,
                })
                .collect(),
            params,
            depth: None,
            io,
        }
    }

    fn apply(&mut self, event: &MarketEvent, start_raw: u64) {
        let index = event.instrument.index();
        if index >= self.books.len() {
            return;
        }
        match event.body {
            EventBody::TopOfBook {
                bid,
                bid_qty,
                ask,
                ask_qty,
                update_id,
            } => {
                let book = &mut self.books[index];
                match book
                    .state
                    .apply_top((bid, bid_qty, ask, ask_qty), update_id)
                {
                    TopChange::Changed => self.publish(event, start_raw),
                    TopChange::Unchanged => {}
                    TopChange::Crossed => self.io.stats.book_crossed.incr(),
                }
            }
            EventBody::DepthBegin {
                first_update_id,
                last_update_id,
                prev_update_id,
                levels,
                ..
            } => {
                let book = &mut self.books[index];
                let check = book
                    .state
                    .check_depth(first_update_id, last_update_id, prev_update_id);
                if let SequenceCheck::Gap {
                    expected_after,
                    got,
                } = check
                {
                    self.io.stats.book_sequence_gaps.incr();
                    log::warn!(
                        "book: depth gap on instrument {}: last applied {expected_after}, next claims {got}",
                        event.instrument.0
                    );
                }
                self.depth = Some(DepthInProgress {
                    instrument: event.instrument,
                    levels_left: levels,
                });
                self.end_depth_if_done(event, start_raw);
            }
            EventBody::DepthLevel { side, price, qty } => {
                self.books[index].l2.apply(side, price, qty);
                if let Some(d) = self.depth.as_mut() {
                    d.levels_left = d.levels_left.saturating_sub(1);
                }
                self.end_depth_if_done(event, start_raw);
            }
            EventBody::Funding { .. }
            | EventBody::Trade { .. }
            | EventBody::OpenInterest { .. } => {}
        }
    }

    /// After the last level of a diff: check the touch and publish a depth change.
    fn end_depth_if_done(&mut self, event: &MarketEvent, start_raw: u64) {
        let Some(d) = self.depth else { return };
        if d.levels_left > 0 || d.instrument != event.instrument {
            return;
        }
        self.depth = None;
        let bps = self.params.tracked_depth_bps;
        let book = &mut self.books[event.instrument.index()];
        if book.l2.crossing() != Crossing::Normal {
            self.io.stats.book_crossed.incr();
        }
        let depth = |side| {
            let raw = book.l2.depth_within_bps(side, bps).notional_raw;
            i64::try_from(raw).unwrap_or(i64::MAX)
        };
        book.depth_quote = (depth(Side::Bid), depth(Side::Ask));
        self.publish(event, start_raw);
    }

    /// Publishes the instrument's top and tracked depth if either changed.
    fn publish(&mut self, event: &MarketEvent, start_raw: u64) {
        let book = &mut self.books[event.instrument.index()];
        let Some((bid, bid_qty, ask, ask_qty)) = book.state.top() else {
            return;
        };
        let update = TopUpdate {
            instrument: event.instrument,
            bid,
            bid_qty,
            ask,
            ask_qty,
            bid_depth_quote: book.depth_quote.0,
            ask_depth_quote: book.depth_quote.1,
            ts_recv_raw: event.ts_recv_raw,
            ts_venue_ms: event.ts_venue_ms,
        };
        if book.last.is_some_and(|last| same_content(&last, &update)) {
            return;
        }
        book.last = Some(update);
        // Room was checked before the event was popped.
        let _ = self.io.output.push(update);
        self.io.stats.book_updates.incr();
        self.io
            .samples
            .record(Metric::Book, start_raw, self.io.clock.raw());
    }
}

/// Whether two updates carry the same top and depth (timestamps aside).
fn same_content(a: &TopUpdate, b: &TopUpdate) -> bool {
    (
        a.bid,
        a.bid_qty,
        a.ask,
        a.ask_qty,
        a.bid_depth_quote,
        a.ask_depth_quote,
    ) == (
        b.bid,
        b.bid_qty,
        b.ask,
        b.ask_qty,
        b.bid_depth_quote,
        b.ask_depth_quote,
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
        let (dropped, evicted) = self.books.iter().fold((0, 0), |(d, e), b| {
            let o = b.l2.overflow();
            (d + o.dropped_far, e + o.evicted_far)
        });
        report.set("book.levels_dropped_far", dropped);
        report.set("book.levels_evicted_far", evicted);
    }
}
