//! Binance spot and USD-M futures adapter: endpoints, subscriptions and the decoder.

pub mod decode;
pub mod subscribe;
pub mod urls;

pub use decode::{BinanceDecoder, DecodeError, Decoded};
