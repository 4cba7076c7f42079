//! Telemetry sidecar: latency histograms and their dumps (`.hgrm`, JSON, PNG), the
//! database (SQLite or PostgreSQL, with its spool), progress lines, and the status board
//! with the Telegram bot and the metrics endpoint that read it; the process logger that
//! keeps secrets out of every log line ([`logging`]).

pub mod analytics;
pub mod db;
pub mod dump;
pub mod dump_files;
pub mod gateway_sink;
pub mod hgrm;
pub mod histograms;
pub mod logging;
pub mod metrics_http;
pub mod nats;
pub mod operator;
pub mod plot;
pub mod process;
pub mod progress;
pub mod sample;
pub mod sidecar;
pub mod status;
pub mod telegram;
pub mod tracker_stats;

pub use sidecar::{TelemetryConfig, TelemetryError, TelemetryInputs, TelemetryStage};
