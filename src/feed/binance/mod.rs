//! Binance spot and USD-M futures adapter: endpoints ([`urls`]), subscriptions and the
//! connection plan per endpoint group and shard ([`subscribe`]), the decoder and its
//! fast path for the hot message types. Its sequencing rules live in
//! [`crate::book::sequence`], its REST snapshots in [`crate::feed::snapshot_fetch`].
//!
//! Followed (checked 2026-12-07; docs/venues.md, section Binance, has the details):
//! - USD-M "Important WebSocket Change Notice — Base URL Split & Migration",
//!   <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Important-WebSocket-Change-Notice>
//!   (streams split over `/public`, `/market`, `/private` since 2026-04-23);
//! - USD-M "Websocket Market Streams",
//!   <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams>
//!   (1024 streams and 10 incoming messages per second a connection, ping every 3 min);
//! - Spot "WebSocket Streams",
//!   <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams>
//!   (1024 streams and 5 incoming messages per second a connection, ping every 20 s).
//!
//! Cold (connect time): URLs, subscriptions, the plan. Hot (feed thread): the decoder.

pub mod decode;
pub mod fast;
pub mod subscribe;
pub mod urls;

pub use decode::{BinanceDecoder, DecodeError, Decoded};
