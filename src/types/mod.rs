//! Core value types shared by every stage: exact decimals, the instrument registry and
//! market events. Pure data, no threads, no I/O.

pub mod bps;
pub mod decimal;
pub mod event;
pub mod instrument;
pub mod intent;

pub use decimal::{DecimalError, DecimalErrorKind, Price, Qty, Rate};
pub use event::{EventBody, FeedStatus, FundingFields, MarketEvent, Side};
pub use instrument::{
    Instrument, InstrumentId, InstrumentRegistry, InstrumentSpec, MarketKind, Venue,
};
pub use intent::{ExecStyle, IntentLeg, OrderIntent, OrderSide, Strategy};
