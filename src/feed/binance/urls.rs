//! Binance public market data endpoints (raw-stream WebSocket bases and REST bases).
//!
//! Spot and USD-M futures are separate markets on separate hosts, for WebSocket and REST
//! alike (`/api/v3/depth` on the spot host, `/fapi/v1/depth` on the futures host). USD-M
//! WebSocket streams are split by endpoint group since 2026-04-23 (the unrouted
//! `wss://fstream.binance.com/ws` carries only `/public` streams now): [`PERP_WS`] is the
//! root, and each group's connection goes to the root plus its
//! [`super::subscribe::StreamGroup::path`]. Followed: "Important WebSocket Change Notice —
//! Base URL Split & Migration",
//! <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Important-WebSocket-Change-Notice>,
//! checked 2026-12-07 (see docs/venues.md).

/// Spot raw streams (every stream edgeline uses).
pub const SPOT_WS: &str = "wss://stream.binance.com:9443/ws";
/// USD-M futures WebSocket root: `/public/ws` and `/market/ws` hang off it.
pub const PERP_WS: &str = "wss://fstream.binance.com";
/// Spot REST (depth snapshots: `/api/v3/depth`).
pub const SPOT_REST: &str = "https://api.binance.com";
/// USD-M futures REST (depth snapshots: `/fapi/v1/depth`).
pub const PERP_REST: &str = "https://fapi.binance.com";
