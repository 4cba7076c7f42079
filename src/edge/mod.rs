//! Edge strategies: the perp-vs-spot basis tracker, its opportunity records, and the edge
//! stage that runs it on every top-of-book change.

pub mod basis;
pub mod opportunity;
pub mod stage;

pub use basis::{BasisParams, BasisTracker};
pub use opportunity::BasisOpportunity;
pub use stage::{BasisPair, EdgeIo, EdgeStage};
