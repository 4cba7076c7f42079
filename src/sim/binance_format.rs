//! Frame text in Binance's exact wire formats (spot and USD-M futures): field names and
//! order as the venue sends them, decimals printed as the venue prints them.
//!
//! Pure functions that append to a caller's `String`; called by the model thread (frames)
//! and by connection threads (request replies). Allocates only by growing that string
//! (cold path). Writing to a `String` cannot fail, so the `fmt::Result`s are discarded.
//!
//! References (payload examples copied from there):
//! - spot: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams>
//!   (`<symbol>@bookTicker` has no event time; `<symbol>@depth@100ms` has `U`/`u`);
//! - futures: <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams>
//!   (`bookTicker` carries `e`/`E`/`T`; `depthUpdate` adds `T` and `pu`;
//!   `markPriceUpdate` every 1 s with `@1s`).
//!
//! Spot prints every price and quantity with 8 decimals (`"60000.01000000"`); futures
//! print prices with the symbol's price precision (2 for BTCUSDT: `"60000.10"`) and
//! quantities with its quantity precision (3), mark/index prices and funding rates with 8.

use super::book::{DepthDiff, Top};
use super::market::Market;
/// The simulator's own fixed-point unit for everything it prints: 10^-8, the finest
/// decimal Binance prints. Prices and quantities are converted to it at the boundary
/// ([`sim_units`]).
pub(crate) const SCALE_DIGITS: u32 = 8;
/// Raw simulator units per one.
pub(crate) const SCALE: i64 = 100_000_000;

/// A price in simulator units (10^-8); digits below that are truncated (the
/// configuration is checked to be on that grid).
pub(crate) fn sim_units(price: crate::types::Price) -> i64 {
    price.raw() / (crate::types::Price::SCALE / SCALE)
}
use std::fmt::Write;

/// Decimals a market prints its prices and quantities with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decimals {
    /// Digits after the point for prices.
    pub(crate) price: u32,
    /// Digits after the point for quantities.
    pub(crate) qty: u32,
}

/// Spot: 8 and 8, whatever the symbol.
pub(crate) const SPOT_DECIMALS: Decimals = Decimals { price: 8, qty: 8 };
/// Decimals of futures mark prices, index prices and funding rates.
pub(crate) const FUTURES_MARK_DECIMALS: u32 = 8;

/// Appends `raw` (units of 10^-8) as a quoted decimal with exactly `decimals` digits
/// after the point (at most 8). Digits beyond `decimals` are truncated: callers pass
/// values on the market's grid, where that is exact.
pub(crate) fn push_decimal(out: &mut String, raw: i64, decimals: u32) {
    let decimals = decimals.min(SCALE_DIGITS);
    let sign = if raw < 0 { "-" } else { "" };
    let abs = raw.unsigned_abs();
    let int = abs / SCALE.unsigned_abs();
    if decimals == 0 {
        let _ = write!(out, "\"{sign}{int}\"");
        return;
    }
    let frac = (abs % SCALE.unsigned_abs()) / 10u64.pow(SCALE_DIGITS - decimals);
    let width = usize::try_from(decimals).unwrap_or(8);
    let _ = write!(out, "\"{sign}{int}.{frac:0width$}\"");
}

/// Spot `<symbol>@bookTicker`: `{"u":..,"s":..,"b":..,"B":..,"a":..,"A":..}`.
pub(crate) fn spot_book_ticker(out: &mut String, update_id: u64, symbol: &str, top: Top) {
    let _ = write!(out, "{{\"u\":{update_id},\"s\":\"{symbol}\",");
    push_top(out, top, SPOT_DECIMALS);
    out.push('}');
}

/// Futures `<symbol>@bookTicker`: `{"e":"bookTicker","u":..,"E":..,"T":..,"s":..,...}`.
pub(crate) fn perp_book_ticker(
    out: &mut String,
    times: EventTimes,
    update_id: u64,
    symbol: &str,
    top: Top,
    decimals: Decimals,
) {
    let EventTimes {
        event_ms,
        transaction_ms,
    } = times;
    let _ = write!(
        out,
        "{{\"e\":\"bookTicker\",\"u\":{update_id},\"E\":{event_ms},\"T\":{transaction_ms},\"s\":\"{symbol}\","
    );
    push_top(out, top, decimals);
    out.push('}');
}

/// The event time `E` and transaction time `T` of a futures frame, unix ms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EventTimes {
    /// `E`.
    pub(crate) event_ms: u64,
    /// `T`.
    pub(crate) transaction_ms: u64,
}

fn push_top(out: &mut String, top: Top, decimals: Decimals) {
    let fields = [
        ("b", top.bid, decimals.price),
        ("B", top.bid_qty, decimals.qty),
        ("a", top.ask, decimals.price),
        ("A", top.ask_qty, decimals.qty),
    ];
    for (i, (name, raw, digits)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{name}\":");
        push_decimal(out, raw, digits);
    }
}

/// `depthUpdate` for either market: spot
/// `{"e":"depthUpdate","E":..,"s":..,"U":..,"u":..,"b":[..],"a":[..]}`, futures
/// `{"e":"depthUpdate","E":..,"T":..,"s":..,"U":..,"u":..,"pu":..,"b":[..],"a":[..]}`.
pub(crate) fn depth_update(
    out: &mut String,
    market: Market,
    times: EventTimes,
    symbol: &str,
    diff: &DepthDiff,
    decimals: Decimals,
) {
    let _ = write!(out, "{{\"e\":\"depthUpdate\",\"E\":{},", times.event_ms);
    if market == Market::Perp {
        let _ = write!(out, "\"T\":{},", times.transaction_ms);
    }
    let _ = write!(
        out,
        "\"s\":\"{symbol}\",\"U\":{},\"u\":{},",
        diff.first_id, diff.last_id
    );
    if market == Market::Perp {
        let _ = write!(out, "\"pu\":{},", diff.prev_last_id);
    }
    out.push_str("\"b\":");
    push_levels(out, &diff.bids, decimals);
    out.push_str(",\"a\":");
    push_levels(out, &diff.asks, decimals);
    out.push('}');
}

fn push_levels(out: &mut String, levels: &[(i64, i64)], decimals: Decimals) {
    out.push('[');
    for (i, &(price, qty)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_decimal(out, price, decimals.price);
        out.push(',');
        push_decimal(out, qty, decimals.qty);
        out.push(']');
    }
    out.push(']');
}

/// The fields of a futures `markPriceUpdate`, raw units of 10^-8 and unix ms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MarkPrice {
    /// `E`.
    pub(crate) event_ms: u64,
    /// `p`.
    pub(crate) mark: i64,
    /// `i`.
    pub(crate) index: i64,
    /// `P`.
    pub(crate) settle_estimate: i64,
    /// `r`.
    pub(crate) funding_rate: i64,
    /// `T`: next funding time.
    pub(crate) next_funding_ms: u64,
}

/// Futures `<symbol>@markPrice@1s`:
/// `{"e":"markPriceUpdate","E":..,"s":..,"p":..,"i":..,"P":..,"r":..,"T":..}`.
pub(crate) fn mark_price(out: &mut String, symbol: &str, m: &MarkPrice) {
    let _ = write!(
        out,
        "{{\"e\":\"markPriceUpdate\",\"E\":{},\"s\":\"{symbol}\",",
        m.event_ms
    );
    let fields = [
        ("p", m.mark),
        ("i", m.index),
        ("P", m.settle_estimate),
        ("r", m.funding_rate),
    ];
    for (name, raw) in fields {
        let _ = write!(out, "\"{name}\":");
        push_decimal(out, raw, FUTURES_MARK_DECIMALS);
        out.push(',');
    }
    let _ = write!(out, "\"T\":{}}}", m.next_funding_ms);
}

/// The reply to an accepted request: `{"result":null,"id":<id>}` (`id_json` is the
/// request's id re-serialized, `null` when absent).
pub(crate) fn request_ok(id_json: &str) -> String {
    format!("{{\"result\":null,\"id\":{id_json}}}")
}

/// The reply to a rejected request, code and message as Binance:
/// `{"error":{"code":2,"msg":"Invalid request"},"id":<id>}`.
pub(crate) fn request_invalid(id_json: &str) -> String {
    format!("{{\"error\":{{\"code\":2,\"msg\":\"Invalid request\"}},\"id\":{id_json}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top() -> Top {
        Top {
            bid: 2_535_190_000,
            bid_qty: 3_121_000_000,
            ask: 2_536_520_000,
            ask_qty: 4_066_000_000,
        }
    }

    #[test]
    fn test_decimal_prints_like_venue() {
        let cases = [
            (6_000_001_000_000, 8, "\"60000.01000000\""),
            (6_000_010_000_000, 2, "\"60000.10\""),
            (123_400_000, 3, "\"1.234\""),
            (0, 8, "\"0.00000000\""),
            (-38_167, 8, "\"-0.00038167\""),
            (500_000_000, 0, "\"5\""),
        ];
        for (raw, decimals, want) in cases {
            let mut s = String::new();
            push_decimal(&mut s, raw, decimals);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn test_spot_book_ticker_matches_venue_example() {
        let mut s = String::new();
        spot_book_ticker(&mut s, 400_900_217, "BNBUSDT", top());
        assert_eq!(
            s,
            r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#
        );
    }

    #[test]
    fn test_perp_book_ticker_matches_venue_example() {
        let mut s = String::new();
        let times = EventTimes {
            event_ms: 1_568_014_460_893,
            transaction_ms: 1_568_014_460_891,
        };
        let five = Decimals { price: 5, qty: 2 };
        perp_book_ticker(&mut s, times, 400_900_217, "BNBUSDT", top(), five);
        assert_eq!(
            s,
            r#"{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190","B":"31.21","a":"25.36520","A":"40.66"}"#
        );
    }

    #[test]
    fn test_depth_update_both_markets() {
        let diff = DepthDiff {
            first_id: 157,
            last_id: 160,
            prev_last_id: 149,
            bids: vec![(240_000, 1_000_000_000)],
            asks: vec![(260_000, 0)],
        };
        let times = EventTimes {
            event_ms: 123_456_789,
            transaction_ms: 123_456_788,
        };
        let mut s = String::new();
        depth_update(&mut s, Market::Spot, times, "BNBBTC", &diff, SPOT_DECIMALS);
        assert_eq!(
            s,
            r#"{"e":"depthUpdate","E":123456789,"s":"BNBBTC","U":157,"u":160,"b":[["0.00240000","10.00000000"]],"a":[["0.00260000","0.00000000"]]}"#
        );
        s.clear();
        depth_update(
            &mut s,
            Market::Perp,
            times,
            "BTCUSDT",
            &diff,
            Decimals { price: 4, qty: 0 },
        );
        assert_eq!(
            s,
            r#"{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","0"]]}"#
        );
    }

    #[test]
    fn test_mark_price_matches_venue_example() {
        let m = MarkPrice {
            event_ms: 1_562_305_380_000,
            mark: 1_179_415_000_000,
            index: 1_178_462_659_091,
            settle_estimate: 1_178_425_641_265,
            funding_rate: 38_167,
            next_funding_ms: 1_562_306_400_000,
        };
        let mut s = String::new();
        mark_price(&mut s, "BTCUSDT", &m);
        assert_eq!(
            s,
            r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}"#
        );
    }

    #[test]
    fn test_request_replies() {
        assert_eq!(request_ok("1"), r#"{"result":null,"id":1}"#);
        assert_eq!(
            request_invalid("null"),
            r#"{"error":{"code":2,"msg":"Invalid request"},"id":null}"#
        );
    }
}
