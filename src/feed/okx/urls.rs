//! OKX v5 public market data endpoints: the public WebSocket, and the REST base of the
//! order book books start from (`[[venues]] rest_url`, see [`super::rest`]).
//!
//! Spot and swaps share one public host and path; they are still separate markets on
//! separate connections in edgeline. TLS (`wss://`, `https://`) endpoints, which the
//! transport and the snapshot fetcher speak (rustls); the default run uses the built-in
//! simulator instead.

/// Spot public channels.
pub const SPOT_WS: &str = "wss://ws.okx.com:8443/ws/v5/public";
/// Swap (perpetual) public channels: the same endpoint as spot.
pub const PERP_WS: &str = "wss://ws.okx.com:8443/ws/v5/public";
/// REST base of the order book (`GET /api/v5/market/books`), spot and swaps alike.
pub const REST: &str = "https://www.okx.com";
