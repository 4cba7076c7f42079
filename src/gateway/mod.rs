//! The order gateway: turns [`crate::types::OrderIntent`]s into two-leg trades under hard
//! risk limits, sized by the configured method, executed on a paper venue that fills
//! like a real one, and accounted in a portfolio.
//!
//! Every part is owned by the gateway thread, allocates only at construction, and takes
//! the time as an argument (never reads a clock), so replays and tests are
//! deterministic. `f64` appears only in portfolio metrics (reports, not decisions).

pub mod config;
pub mod engine;
pub mod execution;
pub mod order;
pub mod paper;
pub mod portfolio;
pub mod record;
pub mod risk;
pub mod sizing;
