//! Edge strategies: the perp-vs-spot basis tracker and the cross-venue spread scanner,
//! their opportunity records, and the edge stage that runs both on every top-of-book
//! change.

pub mod basis;
pub mod opportunity;
pub mod scanner;
pub mod spread;
pub mod spread_opportunity;
pub mod stage;

pub use basis::{BasisParams, BasisTracker};
pub use opportunity::BasisOpportunity;
pub use scanner::{MarketTerms, Scanner};
pub use spread::ScannerParams;
pub use spread_opportunity::{SpreadOpportunity, SpreadRecord};
pub use stage::{BasisPair, EdgeIo, EdgeStage};
