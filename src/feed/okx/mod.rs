//! OKX v5 spot and swap adapter: endpoints, subscriptions and the decoder.

mod data;
pub mod decode;
pub mod subscribe;
pub mod urls;

pub use decode::{DecodeError, Decoded, OkxDecoder};
