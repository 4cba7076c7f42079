//! edgeline: a low-latency crypto arbitrage core.
//!
//! The pipeline is `feed → book → edge`, with a telemetry sidecar fed by rings off the
//! critical path; see `DESIGN.md` beside the repository for the shape. Each module's own
//! documentation says which thread owns it and whether it may allocate.

pub mod backtest;
pub mod bench_e2e;
pub mod book;
pub mod capture;
pub mod config;
pub mod edge;
pub mod feed;
pub mod gateway;
pub mod pipeline;
pub mod record;
pub mod replay;
pub mod runtime;
pub mod sim;
pub mod stage_io;
pub mod stats;
pub mod telemetry;
pub mod types;
pub mod verify;
