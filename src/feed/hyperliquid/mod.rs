//! Hyperliquid perpetuals and spot adapter: endpoint, subscriptions, the decoder and its
//! fast path for the hot channels.
//!
//! Markets are named on the wire by their coin: perpetuals by the asset (`BTC`), spot by
//! the pair name for the first pair (`PURR/USDC`) and `@{index}` for every other one
//! (`@107`, the index into the venue's spot meta `universe`). The [`crate::feed::SymbolMap`]
//! of a connection is keyed by exactly these wire names; resolving `@107` to a pair such
//! as HYPE/USDC is configuration, done before start-up, not the decoder's job.

mod data;
pub mod decode;
pub mod fast;
pub mod subscribe;
pub mod urls;

pub use decode::{DecodeError, Decoded, HyperliquidDecoder};
