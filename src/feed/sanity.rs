//! What no venue can send, refused after decoding: a price at or below zero, a negative
//! quantity (zero deletes a level of a diff, so it is allowed there only), a zero
//! quantity in a snapshot level, a top of book or a trade, a top of book whose bid is at
//! or above its ask, and a snapshot whose levels cross. Such a frame is malformed
//! (`BadLevel` or `Crossed`): its events never reach a book. A book that crosses through
//! diffs is the book engine's to invalidate ([`crate::book::engine`]).
//!
//! Run by [`crate::feed::venues::VenueDecoder::decode`] and the REST snapshot decoders on
//! the feed thread: one pass over the frame's events, a few comparisons each; touches
//! nothing but them.

use crate::feed::decode::DecodeError;
use crate::types::{EventBody, MarketEvent, Price, Qty, Side};

/// Whether `events` (one frame's) hold only values a venue can send.
#[inline]
pub fn check_events(events: &[MarketEvent]) -> Result<(), DecodeError> {
    let mut snapshot = false;
    // The least raw quantity a level may have: 0 in a diff, 1 in a snapshot.
    let mut qty_min = 0i128;
    let mut touch = Touch::default();
    for event in events {
        match event.body {
            EventBody::DepthBegin { snapshot: s, .. } => {
                touch.check()?;
                touch = Touch::default();
                snapshot = s;
                qty_min = i128::from(s);
            }
            EventBody::DepthLevel { side, price, qty } => {
                // Price at least 1 raw unit, quantity at least `qty_min`: one sign test
                // (decoded values are within +-10^24 raw, so neither subtraction wraps).
                if (price.raw().wrapping_sub(1) | qty.raw().wrapping_sub(qty_min)) < 0 {
                    return Err(DecodeError::BadLevel);
                }
                if snapshot {
                    touch.add(side, price);
                }
            }
            EventBody::TopOfBook {
                bid,
                bid_qty,
                ask,
                ask_qty,
                ..
            } => {
                let below_one = bid.raw().wrapping_sub(1)
                    | ask.raw().wrapping_sub(1)
                    | bid_qty.raw().wrapping_sub(1)
                    | ask_qty.raw().wrapping_sub(1);
                if below_one < 0 {
                    return Err(DecodeError::BadLevel);
                }
                if bid >= ask {
                    return Err(DecodeError::Crossed);
                }
            }
            EventBody::Trade { price, qty, .. } if price <= Price::ZERO || qty <= Qty::ZERO => {
                return Err(DecodeError::BadLevel);
            }
            _ => {}
        }
    }
    touch.check()
}

/// The best bid and ask of a snapshot's levels so far.
#[derive(Debug, Default)]
struct Touch {
    bid: Option<Price>,
    ask: Option<Price>,
}

impl Touch {
    fn add(&mut self, side: Side, price: Price) {
        match side {
            Side::Bid => self.bid = Some(self.bid.map_or(price, |b| b.max(price))),
            Side::Ask => self.ask = Some(self.ask.map_or(price, |a| a.min(price))),
        }
    }

    fn check(&self) -> Result<(), DecodeError> {
        match (self.bid, self.ask) {
            (Some(bid), Some(ask)) if bid >= ask => Err(DecodeError::Crossed),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::InstrumentId;

    fn ev(body: EventBody) -> MarketEvent {
        MarketEvent {
            ts_recv_raw: 0,
            ts_venue_ms: 0,
            instrument: InstrumentId(0),
            body,
        }
    }

    fn px(text: &str) -> Price {
        Price::from_decimal_str(text).unwrap()
    }

    fn qty(text: &str) -> Qty {
        Qty::from_decimal_str(text).unwrap()
    }

    fn begin(snapshot: bool, levels: u16) -> MarketEvent {
        ev(EventBody::DepthBegin {
            first_update_id: 1,
            last_update_id: 1,
            prev_update_id: 0,
            levels,
            snapshot,
            checksum: None,
        })
    }

    fn level(side: Side, price: &str, q: &str) -> MarketEvent {
        ev(EventBody::DepthLevel {
            side,
            price: px(price),
            qty: qty(q),
        })
    }

    fn top(bid: &str, bid_qty: &str, ask: &str, ask_qty: &str) -> MarketEvent {
        ev(EventBody::TopOfBook {
            bid: px(bid),
            bid_qty: qty(bid_qty),
            ask: px(ask),
            ask_qty: qty(ask_qty),
            update_id: 1,
        })
    }

    #[test]
    fn test_check_events_levels_by_message_kind() {
        let diff = |p: &str, q: &str| check_events(&[begin(false, 1), level(Side::Bid, p, q)]);
        let snap = |p: &str, q: &str| check_events(&[begin(true, 1), level(Side::Bid, p, q)]);
        assert_eq!(diff("61800", "0"), Ok(()), "a diff deletes with zero");
        assert_eq!(diff("61800", "-5"), Err(DecodeError::BadLevel));
        assert_eq!(diff("0", "1"), Err(DecodeError::BadLevel));
        assert_eq!(diff("-1", "1"), Err(DecodeError::BadLevel));
        assert_eq!(snap("61800", "1"), Ok(()));
        assert_eq!(snap("61800", "0"), Err(DecodeError::BadLevel));
        assert_eq!(snap("61800", "-5"), Err(DecodeError::BadLevel));
    }

    #[test]
    fn test_check_events_top_and_trade() {
        assert_eq!(check_events(&[top("1", "1", "2", "1")]), Ok(()));
        assert_eq!(
            check_events(&[top("1", "0", "2", "1")]),
            Err(DecodeError::BadLevel)
        );
        assert_eq!(
            check_events(&[top("1", "1", "2", "-1")]),
            Err(DecodeError::BadLevel)
        );
        assert_eq!(
            check_events(&[top("0", "1", "2", "1")]),
            Err(DecodeError::BadLevel)
        );
        assert_eq!(
            check_events(&[top("2", "1", "2", "1")]),
            Err(DecodeError::Crossed)
        );
        assert_eq!(
            check_events(&[top("3", "1", "2", "1")]),
            Err(DecodeError::Crossed)
        );
        let trade = |p: &str, q: &str| {
            check_events(&[ev(EventBody::Trade {
                price: px(p),
                qty: qty(q),
                aggressor: Side::Bid,
                trade_id: 1,
            })])
        };
        assert_eq!(trade("1", "1"), Ok(()));
        assert_eq!(trade("1", "0"), Err(DecodeError::BadLevel));
        assert_eq!(trade("-1", "1"), Err(DecodeError::BadLevel));
    }

    #[test]
    fn test_check_events_crossed_snapshot_only() {
        let crossed = [
            begin(true, 2),
            level(Side::Bid, "101", "1"),
            level(Side::Ask, "100", "1"),
        ];
        assert_eq!(check_events(&crossed), Err(DecodeError::Crossed));
        let locked = [
            begin(true, 2),
            level(Side::Bid, "100", "1"),
            level(Side::Ask, "100", "1"),
        ];
        assert_eq!(check_events(&locked), Err(DecodeError::Crossed));
        let normal = [
            begin(true, 3),
            level(Side::Bid, "99", "1"),
            level(Side::Bid, "98", "1"),
            level(Side::Ask, "100", "1"),
        ];
        assert_eq!(check_events(&normal), Ok(()));
        // A diff's levels may look crossed on their own (a bid added, an ask deleted).
        let diff = [
            begin(false, 2),
            level(Side::Bid, "101", "1"),
            level(Side::Ask, "100", "0"),
        ];
        assert_eq!(check_events(&diff), Ok(()));
    }
}
