//! The runtime: stages, their placement on cores, idle policies, the clock, counters and
//! shutdown. Knows nothing about venues, books or strategies.

pub mod clock;
pub mod control;
pub mod counter;
pub mod host;
pub mod idle;
pub mod outcome;
pub mod placement;
pub mod report;
pub mod shutdown;
pub mod stage;

pub use clock::Clock;
pub use control::{Control, Thresholds};
pub use counter::Counter;
pub use host::{HostTopology, PlacementIssue, check_placement};
pub use idle::IdlePolicy;
pub use placement::{CorePlan, Placement, PlacementError, RunningStages, start_placed};
pub use report::{HistogramSummary, RunReport};
pub use shutdown::{Shutdown, StopReason};
pub use stage::{Stage, StageKind};
