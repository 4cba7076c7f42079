//! Telemetry sidecar: latency histograms, the opportunity database and progress lines.

pub mod sample;
