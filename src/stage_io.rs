//! The ring ends and shared handles a hot-path stage is built with: its input ring, its
//! output ring, its latency sample sink, the pipeline counters and the clock. Built once
//! by the pipeline assembly (or a test) and moved into the stage.

use std::sync::Arc;

use crate::runtime::Clock;
use crate::stats::PipelineStats;
use crate::telemetry::sample::SampleSink;

/// What a stage reads from, writes to and reports through.
pub struct StageIo<In, Out> {
    /// Items from the upstream stage.
    pub input: rtrb::Consumer<In>,
    /// Items for the downstream stage (or telemetry).
    pub output: rtrb::Producer<Out>,
    /// Latency samples to telemetry.
    pub samples: SampleSink,
    /// Pipeline counters.
    pub stats: Arc<PipelineStats>,
    /// The clock.
    pub clock: Clock,
}
