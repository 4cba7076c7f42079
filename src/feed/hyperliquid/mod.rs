//! Hyperliquid perpetuals and spot adapter: endpoint, subscriptions, the decoder and its
//! fast path for the hot channels.
//!
//! Markets are named on the wire by their coin: perpetuals by the asset (`BTC`), spot by
//! the pair name for the first pair (`PURR/USDC`) and `@{index}` for every other one
//! (`@107`, the index into the venue's spot meta `universe`). The [`crate::feed::SymbolMap`]
//! of a connection is keyed by exactly these wire names; resolving `@107` to a pair such
//! as HYPE/USDC is configuration, done before start-up, not the decoder's job. Perpetuals
//! of builder-deployed (HIP-3) dexes are named `dex:COIN` (`xyz:XYZ100`); they are wire
//! names like any other.
//!
//! Checked on 2026-12-07 against
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions>,
//! `.../websocket/timeouts-and-heartbeats` and `.../api/rate-limits`, and the 2026
//! reports of the `l2Book` cadence change (a plain `l2Book` is now pushed at most every
//! ~5 s; `"fast": true` gives 5 levels about every 0.5 s; edgeline still subscribes the
//! plain 20-level book and takes its top from `bbo`): see `docs/venues.md` (section
//! "Hyperliquid").

mod data;
pub mod decode;
pub mod fast;
pub mod subscribe;
pub mod urls;

pub use decode::{DecodeError, Decoded, HyperliquidDecoder};
