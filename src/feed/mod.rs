//! The feed: venue connections, venue decoders, and the feed stage that turns frames
//! into `MarketEvent`s.

pub mod binance;
pub mod bybit;
pub mod decode;
pub mod event_buf;
pub mod frame_source;
pub mod health;
pub mod hyperliquid;
pub mod json;
pub mod okx;
pub mod rest_budget;
pub mod rotation;
pub mod sanity;
pub mod scan;
pub mod silence;
pub mod snapshot_fetch;
pub mod stage;
pub mod symbols;
pub mod transport;
pub mod venues;

pub use decode::{DecodeError, Decoded};
pub use event_buf::EventBuf;
pub use stage::FeedStage;
pub use symbols::SymbolMap;
