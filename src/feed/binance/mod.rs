//! Binance spot and USD-M futures adapter: endpoints, subscriptions, the decoder and its
//! fast path for the hot message types.

pub mod decode;
pub mod fast;
pub mod subscribe;
pub mod urls;

pub use decode::{BinanceDecoder, DecodeError, Decoded};
