//! A fixed-capacity buffer of decoded events: what a decoder writes one frame into.
//!
//! Sized once at start-up (the configured maximum events per frame); `push` never
//! reallocates and reports overflow instead. Owned by the feed stage's thread.

use crate::types::MarketEvent;

/// Events of one frame, at most `capacity` of them.
#[derive(Debug)]
pub struct EventBuf {
    events: Vec<MarketEvent>,
    capacity: usize,
}

/// The buffer is full: the frame carries more events than configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBufFull;

impl EventBuf {
    /// A buffer for at most `capacity` events, allocated now.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            events: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// Appends an event, or refuses when full (never grows).
    #[inline]
    pub fn push(&mut self, event: MarketEvent) -> Result<(), EventBufFull> {
        if self.events.len() >= self.capacity {
            return Err(EventBufFull);
        }
        self.events.push(event);
        Ok(())
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Drops events from `len` on.
    pub fn truncate(&mut self, len: usize) {
        self.events.truncate(len);
    }

    /// Removes every event.
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// The events held.
    pub fn as_slice(&self) -> &[MarketEvent] {
        &self.events
    }

    /// The events from `start` on, mutably (decoders finish their own events).
    pub fn tail_mut(&mut self, start: usize) -> &mut [MarketEvent] {
        &mut self.events[start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{EventBody, InstrumentId, Price, Qty, Side};

    fn level() -> MarketEvent {
        MarketEvent {
            ts_recv_raw: 0,
            ts_venue_ms: 0,
            instrument: InstrumentId(0),
            body: EventBody::DepthLevel {
                side: Side::Bid,
                price: Price::ZERO,
                qty: Qty::ZERO,
            },
        }
    }

    #[test]
    fn test_event_buf_refuses_beyond_capacity() {
        let mut buf = EventBuf::with_capacity(2);
        assert!(buf.push(level()).is_ok());
        assert!(buf.push(level()).is_ok());
        assert_eq!(buf.push(level()), Err(EventBufFull));
        assert_eq!(buf.len(), 2);
        buf.clear();
        assert!(buf.is_empty());
    }
}
