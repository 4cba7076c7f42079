//! Bybit v5 spot and linear perpetual adapter: endpoints, subscriptions and the decoder.

pub mod decode;
pub mod subscribe;
pub mod urls;

pub use decode::{BybitDecoder, DecodeError, Decoded};
