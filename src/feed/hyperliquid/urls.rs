//! Hyperliquid public market data endpoint.
//!
//! One WebSocket endpoint carries perpetuals and spot alike (the market is named by the
//! `coin` of each subscription), so [`SPOT_WS`] and [`PERP_WS`] are the same URL; edgeline
//! still opens one connection per market kind, as for every venue. TLS (`wss://`),
//! which the transport speaks (rustls); the default run uses the built-in simulator's
//! `ws://` endpoints instead.

/// Spot market data (the same endpoint as [`PERP_WS`]).
pub const SPOT_WS: &str = "wss://api.hyperliquid.xyz/ws";
/// Perpetuals market data (the same endpoint as [`SPOT_WS`]).
pub const PERP_WS: &str = "wss://api.hyperliquid.xyz/ws";
