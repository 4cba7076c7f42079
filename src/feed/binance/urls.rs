//! Binance public market data endpoints (raw-stream WebSocket bases and REST bases).
//!
//! Spot and USD-M futures are separate markets on separate hosts. These are TLS
//! endpoints: the WebSocket transport speaks `wss://` (rustls), but the REST snapshot
//! fetcher is still plain `http://`, so a live Binance book cannot sync yet; the default
//! run uses the built-in simulator's plain endpoints.

/// Spot raw streams.
pub const SPOT_WS: &str = "wss://stream.binance.com:9443/ws";
/// USD-M futures raw streams.
pub const PERP_WS: &str = "wss://fstream.binance.com/ws";
/// Spot REST (depth snapshots).
pub const SPOT_REST: &str = "https://api.binance.com";
/// USD-M futures REST (depth snapshots).
pub const PERP_REST: &str = "https://fapi.binance.com";
