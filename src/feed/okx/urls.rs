//! OKX v5 public market data endpoint.
//!
//! Spot and swaps share one public host and path; they are still separate markets on
//! separate connections in edgeline. TLS (`wss://`) endpoints, which the transport speaks
//! (rustls); the default run uses the built-in simulator instead.

/// Spot public channels.
pub const SPOT_WS: &str = "wss://ws.okx.com:8443/ws/v5/public";
/// Swap (perpetual) public channels: the same endpoint as spot.
pub const PERP_WS: &str = "wss://ws.okx.com:8443/ws/v5/public";
