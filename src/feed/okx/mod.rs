//! OKX v5 spot and swap adapter: endpoints, subscriptions, the decoder and its fast path
//! for the hot pushes.

mod data;
pub mod decode;
pub mod fast;
pub mod rest;
pub mod subscribe;
pub mod urls;

pub use decode::{DecodeError, Decoded, OkxDecoder};
