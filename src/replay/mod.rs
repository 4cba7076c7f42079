//! Replays recordings and captures through the same stages as a live run: the feed
//! stage reads frames from [`source::ReplayFrames`] instead of sockets, with the
//! pipeline's clock replaced by a virtual one that shows every stage the recorded
//! receive times, so two replays of the same input produce the same rows.
//!
//! - [`input`]: one file (recording or capture) as frames aimed at connections;
//! - [`source`]: the inputs merged by receive time, as the feed stage's frame source;
//! - [`run`]: builds the pipeline over the source and drives it on one thread.

pub mod input;
pub mod run;
pub mod source;

use std::path::PathBuf;

pub use input::{InputFile, Window};
pub use run::{ReplayOptions, ReplayOutcome, recorded_span, replay};

use crate::capture::CaptureError;
use crate::pipeline::PipelineError;
use crate::record::RecordError;

/// Why a replay cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A recording cannot be opened (not a recording, damaged header, I/O).
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A capture cannot be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A capture does not say its market: name it as `VENUE.KIND=PATH`.
    #[error(
        "{path}: a capture does not say its market: write it as VENUE.KIND=PATH (e.g. binance.perp={path})"
    )]
    CaptureMarket {
        /// The file.
        path: PathBuf,
    },
    /// A capture's market has no instrument in the configuration: add one.
    #[error("{path}: {venue} {kind} has no instrument in the configuration")]
    MarketNotConfigured {
        /// The file.
        path: PathBuf,
        /// Venue name.
        venue: &'static str,
        /// Market kind name.
        kind: &'static str,
    },
    /// The pipeline could not be built (database, output folder).
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}
