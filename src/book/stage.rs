//! The book stage: applies `MarketEvent`s to per-instrument book state and publishes a
//! [`TopUpdate`] to the edge stage when the top of book changed.
//!
//! Runs on the hot-path thread; allocation-free after construction (per-instrument state
//! is a `Vec` sized from the registry at start-up). An event is only taken from the ring
//! when the edge ring has room for what it may publish, so backpressure flows upstream and
//! nothing is dropped.

use std::sync::Arc;

use crate::book::top::{InstrumentBook, SequenceCheck, TopChange, TopUpdate};
use crate::runtime::{Clock, RunReport, Stage, StageKind};
use crate::stats::PipelineStats;
use crate::telemetry::sample::{Metric, SampleSink};
use crate::types::{EventBody, InstrumentRegistry, MarketEvent};

/// Events handled per poll at most (keeps the fused hot-path loop fair).
pub const EVENTS_PER_POLL_MAX: usize = 256;

/// The book stage.
pub struct BookStage {
    books: Vec<InstrumentBook>,
    input: rtrb::Consumer<MarketEvent>,
    output: rtrb::Producer<TopUpdate>,
    samples: SampleSink,
    stats: Arc<PipelineStats>,
    clock: Clock,
}

impl BookStage {
    /// A book stage with one book per registered instrument.
    pub fn new(
        registry: &InstrumentRegistry,
        input: rtrb::Consumer<MarketEvent>,
        output: rtrb::Producer<TopUpdate>,
        samples: SampleSink,
        stats: Arc<PipelineStats>,
        clock: Clock,
    ) -> Self {
        Self {
            books: registry
                .iter()
                .map(|i| InstrumentBook::new(i.kind))
                .collect(),
            input,
            output,
            samples,
            stats,
            clock,
        }
    }

    fn apply(&mut self, event: &MarketEvent, start_raw: u64) {
        let Some(book) = self.books.get_mut(event.instrument.index()) else {
            return;
        };
        match event.body {
            EventBody::TopOfBook {
                bid,
                bid_qty,
                ask,
                ask_qty,
                update_id,
            } => match book.apply_top((bid, bid_qty, ask, ask_qty), update_id) {
                TopChange::Changed => {
                    let update = TopUpdate {
                        instrument: event.instrument,
                        bid,
                        bid_qty,
                        ask,
                        ask_qty,
                        ts_recv_raw: event.ts_recv_raw,
                        ts_venue_ms: event.ts_venue_ms,
                    };
                    // Room was checked before the event was popped.
                    let _ = self.output.push(update);
                    self.stats.book_updates.incr();
                    self.samples
                        .record(Metric::Book, start_raw, self.clock.raw());
                }
                TopChange::Unchanged => {}
                TopChange::Crossed => self.stats.book_crossed.incr(),
            },
            EventBody::DepthBegin {
                first_update_id,
                last_update_id,
                prev_update_id,
                ..
            } => {
                let check = book.check_depth(first_update_id, last_update_id, prev_update_id);
                if let SequenceCheck::Gap {
                    expected_after,
                    got,
                } = check
                {
                    self.stats.book_sequence_gaps.incr();
                    log::warn!(
                        "book: depth gap on instrument {}: last applied {expected_after}, next claims {got}",
                        event.instrument.0
                    );
                }
            }
            EventBody::DepthLevel { .. } | EventBody::Funding { .. } => {}
        }
    }
}

impl Stage for BookStage {
    fn kind(&self) -> StageKind {
        StageKind::Book
    }

    fn poll(&mut self) -> usize {
        let mut handled = 0;
        while handled < EVENTS_PER_POLL_MAX && !self.output.is_full() {
            let Ok(event) = self.input.pop() else { break };
            let start_raw = self.clock.raw();
            self.apply(&event, start_raw);
            handled += 1;
        }
        self.stats.book_events.add(handled as u64);
        handled
    }

    fn finish(&mut self, _report: &mut RunReport) {
        while self.poll() > 0 {}
    }
}
