//! The order gateway: turns [`crate::types::OrderIntent`]s into two-leg trades under hard
//! risk limits, sized by the configured method, executed on a paper venue that fills
//! like a real one, and accounted in a portfolio.
//!
//! Every part is owned by the gateway thread, allocates only at construction (proved
//! by `tests/alloc_free.rs`), and takes the time as an argument (never reads a clock),
//! so replays and tests are deterministic. `f64` appears only in portfolio metrics
//! (reports, not decisions).
//!
//! [`stage::GatewayStage`] drives [`engine::Gateway`] in the pipeline: on each poll it
//! feeds the market events of its ring in order to [`engine::Gateway::on_market`],
//! hands each intent of the edge → gateway ring to [`engine::Gateway::on_intent`], calls
//! [`engine::Gateway::poll`] (arrivals, leg timeouts, exits, kill switch, breakers) and
//! forwards the records and portfolio snapshots to telemetry.
//!
//! Parts, in the order an intent meets them: [`risk`] (hard limits, counted refusals),
//! [`sizing`], [`order`] (orders and fills), [`paper`] (latency, book walks, queue
//! position), [`execution`] (the two-leg state machine), [`portfolio`], [`record`]
//! (what telemetry receives), [`config`] (defaults and validation); beside them
//! [`funding`] (settlement times and payments of perps), [`margin`] (initial and
//! maintenance margin, liquidation prices) and [`correlation`] (the correlated
//! exposure cap).

pub mod config;
pub mod correlation;
pub mod engine;
pub mod execution;
pub mod funding;
pub mod margin;
pub mod order;
pub mod paper;
pub mod portfolio;
pub mod record;
pub mod risk;
pub mod sizing;
pub mod stage;

pub use config::GatewayConfig;
pub use engine::{Gateway, Now};
pub use risk::{KillSwitch, RejectReason};
