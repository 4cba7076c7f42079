//! Bybit v5 public market data endpoints.
//!
//! Spot and linear (USDT/USDC perpetuals) are separate WebSocket paths on one host
//! (<https://bybit-exchange.github.io/docs/v5/ws/connect>). TLS (`wss://`) endpoints, which
//! the transport speaks (rustls). Constants only: no state, no thread.

/// Spot public streams.
pub const SPOT_WS: &str = "wss://stream.bybit.com/v5/public/spot";
/// Linear (USDT and USDC perpetuals) public streams.
pub const PERP_WS: &str = "wss://stream.bybit.com/v5/public/linear";
