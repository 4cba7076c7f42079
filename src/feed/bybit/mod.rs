//! Bybit v5 spot and linear perpetual adapter: endpoints, subscriptions, the decoder and
//! its fast path for order book, trade and ticker messages.
//!
//! Checked on 2026-12-07 against the venue's pages
//! <https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook> (depths 1, 50,
//! 200, 1000 on spot and linear; 500 is gone and answered `handler not found`),
//! <https://bybit-exchange.github.io/docs/v5/ws/connect> (endpoints, ping); no stored
//! copy of the v5 changelog was found. What was found and what it changed is in
//! `docs/venues.md` (section "Bybit v5").

pub mod decode;
pub mod fast;
pub mod subscribe;
pub mod urls;

pub use decode::{BybitDecoder, DecodeError, Decoded};
