//! OKX v5 spot and swap adapter: endpoints, subscriptions, the decoder and its fast path
//! for the hot pushes, and the REST order book decoder.
//!
//! Follows OKX's 2026 book protocol: `seqId`/`prevSeqId` are the integrity check of every
//! book channel, `checksum` is 0 and not used (the rules live in
//! [`crate::book::sequence`] and [`crate::book::engine`]), and a book starts or restarts
//! from the REST order book ([`rest`]) once the initial snapshot push is gone. Pages
//! followed, read 2026-12-07 (details, limits and ping rules: `docs/venues.md`):
//! - API changelog, "Delist initial snapshot and checksum field in order book channels"
//!   (last update 2026-02-12): <https://my.okx.com/docs-v5/log_en>;
//! - "OKX Order Book Channels Checksum Field Deprecation" (2026-05-21): checksum always 0
//!   from 2026-06-23 on `books`, `books-l2-tbt`, `books50-l2-tbt`;
//! - WS order book channel and its "Sequence ID" section:
//!   <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>;
//! - WebSocket connect and connection limits:
//!   <https://www.okx.com/docs-v5/en/#overview-websocket-connect>.
//!
//! Decoding runs on the feed stage's thread, allocation-free; subscriptions and URLs are
//! built at connect time (cold).

mod data;
pub mod decode;
pub mod fast;
pub mod rest;
pub mod subscribe;
pub mod urls;

pub use decode::{DecodeError, Decoded, OkxDecoder};
