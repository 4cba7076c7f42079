//! What every venue decoder returns: the outcome of one frame ([`Decoded`]) or why it
//! could not be decoded ([`DecodeError`]). Shared by the venue modules; owns no state.

use crate::feed::event_buf::EventBufFull;
use crate::types::DecimalError;

/// What a frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Market data: this many events were appended to the buffer.
    Events(usize),
    /// The venue acknowledged a request (subscription, unsubscription).
    Ack,
    /// The venue answered our heartbeat (a pong), or sent one of its own.
    Heartbeat,
    /// A well-formed message of a type this decoder does not handle (skipped).
    Unknown,
}

/// Why a frame could not be decoded. `Copy`, so the hot path can count and keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or JSON of an unexpected shape.
    #[error("malformed JSON or unexpected shape")]
    Json,
    /// A price or quantity string that is not an exact decimal in range.
    #[error("bad decimal: {0}")]
    Decimal(DecimalError),
    /// A field this message type requires is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A symbol that is not configured on this connection.
    #[error("symbol not configured on this connection")]
    UnknownSymbol,
    /// More levels than the event buffer holds.
    #[error("more events in one frame than the configured maximum")]
    TooManyEvents,
    /// The venue reported an error for one of our requests.
    #[error("the venue answered a request with an error")]
    VenueError,
    /// Arrays or objects nested deeper than [`crate::feed::json::NESTING_MAX`].
    #[error("nested deeper than the decoders allow")]
    TooDeep,
    /// A frame longer than its venue's bound ([`crate::feed::venues::frame_bytes_max`]).
    #[error("frame longer than the venue's bound")]
    TooLarge,
    /// A price at or below zero, or a quantity no venue sends ([`crate::feed::sanity`]).
    #[error("impossible price or quantity")]
    BadLevel,
    /// A top of book or snapshot whose bid is at or above its ask.
    #[error("crossed top of book or snapshot")]
    Crossed,
    /// A key the decoder reads appears twice in one object (JSON leaves its meaning to
    /// the reader: first or last wins, or both levels arrays apply).
    #[error("duplicated key")]
    DuplicateKey,
}

impl DecodeError {
    /// How many kinds [`DecodeError::kind`] tells apart.
    pub const KIND_COUNT: usize = 11;
    /// The report name of each kind, in [`DecodeError::kind`] order.
    pub const KIND_NAMES: [&'static str; Self::KIND_COUNT] = [
        "json",
        "decimal",
        "missing_field",
        "unknown_symbol",
        "too_many_events",
        "venue_error",
        "too_deep",
        "too_large",
        "bad_level",
        "crossed",
        "duplicate_key",
    ];

    /// The kind of this error, an index below [`DecodeError::KIND_COUNT`] (malformed
    /// frames are counted per kind).
    pub const fn kind(self) -> usize {
        match self {
            DecodeError::Json => 0,
            DecodeError::Decimal(_) => 1,
            DecodeError::MissingField(_) => 2,
            DecodeError::UnknownSymbol => 3,
            DecodeError::TooManyEvents => 4,
            DecodeError::VenueError => 5,
            DecodeError::TooDeep => 6,
            DecodeError::TooLarge => 7,
            DecodeError::BadLevel => 8,
            DecodeError::Crossed => 9,
            DecodeError::DuplicateKey => 10,
        }
    }
}

impl From<EventBufFull> for DecodeError {
    fn from(_: EventBufFull) -> Self {
        DecodeError::TooManyEvents
    }
}
