//! Bybit v5 spot and linear perpetual adapter: endpoints, subscriptions, the decoder and
//! its fast path for order book, trade and ticker messages.

pub mod decode;
pub mod fast;
pub mod subscribe;
pub mod urls;

pub use decode::{BybitDecoder, DecodeError, Decoded};
