//! The feed: venue connections, venue decoders, and the feed stage that turns frames
//! into `MarketEvent`s.

pub mod binance;
pub mod decode;
pub mod event_buf;
pub mod json;
pub mod okx;
pub mod stage;
pub mod symbols;
pub mod transport;

pub use decode::{DecodeError, Decoded};
pub use event_buf::EventBuf;
pub use stage::FeedStage;
pub use symbols::SymbolMap;
