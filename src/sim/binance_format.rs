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
//!   `markPriceUpdate` every 1 s with `@1s`; `trade` adds `X`);
//! - REST depth snapshots: spot `GET /api/v3/depth` (`lastUpdateId`, `bids`, `asks`),
//!   futures `GET /fapi/v1/depth` (adds `E` and `T`); errors `{"code":..,"msg":..}`.
//!
//! Spot prints every price and quantity with 8 decimals (`"60000.01000000"`); futures
//! print prices with the symbol's price precision (2 for BTCUSDT: `"60000.10"`) and
//! quantities with its quantity precision (3), mark/index prices and funding rates with 8.

use super::book::{DepthDiff, Top};
use super::text::{Decimals, push_decimal};
use super::venue::{PerpStats, Trade};
use crate::types::MarketKind;
use std::fmt::Write;

/// Spot: 8 and 8, whatever the symbol.
pub(crate) const SPOT_DECIMALS: Decimals = Decimals { price: 8, qty: 8 };
/// Decimals of futures mark prices, index prices and funding rates.
pub(crate) const FUTURES_MARK_DECIMALS: u32 = 8;

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
    kind: MarketKind,
    times: EventTimes,
    symbol: &str,
    diff: &DepthDiff,
    decimals: Decimals,
) {
    let _ = write!(out, "{{\"e\":\"depthUpdate\",\"E\":{},", times.event_ms);
    if kind == MarketKind::Perp {
        let _ = write!(out, "\"T\":{},", times.transaction_ms);
    }
    let _ = write!(
        out,
        "\"s\":\"{symbol}\",\"U\":{},\"u\":{},",
        diff.first_id, diff.last_id
    );
    if kind == MarketKind::Perp {
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

/// Futures `<symbol>@markPrice@1s`:
/// `{"e":"markPriceUpdate","E":..,"s":..,"p":..,"i":..,"P":..,"r":..,"T":..}` (the
/// estimated settle price `P` is the index).
pub(crate) fn mark_price(out: &mut String, symbol: &str, event_ms: u64, stats: &PerpStats) {
    let _ = write!(
        out,
        "{{\"e\":\"markPriceUpdate\",\"E\":{event_ms},\"s\":\"{symbol}\","
    );
    let fields = [
        ("p", stats.mark),
        ("i", stats.index),
        ("P", stats.index),
        ("r", stats.funding_rate),
    ];
    for (name, raw) in fields {
        let _ = write!(out, "\"{name}\":");
        push_decimal(out, raw, FUTURES_MARK_DECIMALS);
        out.push(',');
    }
    let _ = write!(out, "\"T\":{}}}", stats.next_funding_ms);
}

/// `<symbol>@trade`: spot
/// `{"e":"trade","E":..,"s":..,"t":..,"p":..,"q":..,"T":..,"m":..,"M":true}`, futures
/// `{"e":"trade","E":..,"T":..,"s":..,"t":..,"p":..,"q":..,"X":"MARKET","m":..}`;
/// `m` is true when the buyer was the maker (the taker sold).
pub(crate) fn trade(
    out: &mut String,
    kind: MarketKind,
    times: EventTimes,
    symbol: &str,
    trade: &Trade,
    decimals: Decimals,
) {
    let _ = write!(out, "{{\"e\":\"trade\",\"E\":{},", times.event_ms);
    if kind == MarketKind::Perp {
        let _ = write!(out, "\"T\":{},", trade.ms);
    }
    let _ = write!(out, "\"s\":\"{symbol}\",\"t\":{},\"p\":", trade.id);
    push_decimal(out, trade.price, decimals.price);
    out.push_str(",\"q\":");
    push_decimal(out, trade.qty, decimals.qty);
    let maker_buyer = !trade.buy;
    match kind {
        MarketKind::Spot => {
            let _ = write!(out, ",\"T\":{},\"m\":{maker_buyer},\"M\":true}}", trade.ms);
        }
        MarketKind::Perp => {
            let _ = write!(out, ",\"X\":\"MARKET\",\"m\":{maker_buyer}}}");
        }
    }
}

/// REST depth snapshot body: spot `{"lastUpdateId":..,"bids":[..],"asks":[..]}`,
/// futures (with `times`) `{"lastUpdateId":..,"E":..,"T":..,"bids":[..],"asks":[..]}`.
pub(crate) fn rest_depth(
    out: &mut String,
    last_update_id: u64,
    times: Option<EventTimes>,
    bids: &[(i64, i64)],
    asks: &[(i64, i64)],
    decimals: Decimals,
) {
    let _ = write!(out, "{{\"lastUpdateId\":{last_update_id},");
    if let Some(times) = times {
        let _ = write!(
            out,
            "\"E\":{},\"T\":{},",
            times.event_ms, times.transaction_ms
        );
    }
    out.push_str("\"bids\":");
    push_levels(out, bids, decimals);
    out.push_str(",\"asks\":");
    push_levels(out, asks, decimals);
    out.push('}');
}

/// A REST error body, as Binance: `{"code":-1121,"msg":"Invalid symbol."}`.
pub(crate) fn rest_error(code: i32, msg: &str) -> String {
    format!("{{\"code\":{code},\"msg\":\"{msg}\"}}")
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
        depth_update(
            &mut s,
            MarketKind::Spot,
            times,
            "BNBBTC",
            &diff,
            SPOT_DECIMALS,
        );
        assert_eq!(
            s,
            r#"{"e":"depthUpdate","E":123456789,"s":"BNBBTC","U":157,"u":160,"b":[["0.00240000","10.00000000"]],"a":[["0.00260000","0.00000000"]]}"#
        );
        s.clear();
        depth_update(
            &mut s,
            MarketKind::Perp,
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
        let stats = PerpStats {
            mark: 1_179_415_000_000,
            index: 1_178_462_659_091,
            funding_rate: 38_167,
            next_funding_ms: 1_562_306_400_000,
            open_interest: 0,
        };
        let mut s = String::new();
        mark_price(&mut s, "BTCUSDT", 1_562_305_380_000, &stats);
        assert_eq!(
            s,
            r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.62659091","r":"0.00038167","T":1562306400000}"#
        );
    }

    #[test]
    fn test_trade_matches_venue_examples() {
        let t = Trade {
            id: 12_345,
            price: 100_000,
            qty: 10_000_000_000,
            buy: false,
            ms: 123_456_785,
        };
        let times = EventTimes {
            event_ms: 123_456_789,
            transaction_ms: 123_456_788,
        };
        let mut s = String::new();
        trade(&mut s, MarketKind::Spot, times, "BNBBTC", &t, SPOT_DECIMALS);
        assert_eq!(
            s,
            r#"{"e":"trade","E":123456789,"s":"BNBBTC","t":12345,"p":"0.00100000","q":"100.00000000","T":123456785,"m":true,"M":true}"#
        );
        s.clear();
        let perp = Decimals { price: 2, qty: 3 };
        trade(&mut s, MarketKind::Perp, times, "BTCUSDT", &t, perp);
        assert_eq!(
            s,
            r#"{"e":"trade","E":123456789,"T":123456785,"s":"BTCUSDT","t":12345,"p":"0.00","q":"100.000","X":"MARKET","m":true}"#
        );
    }

    #[test]
    fn test_rest_depth_matches_venue_examples() {
        let mut s = String::new();
        let bids = [(400_000_000, 43_100_000_000)];
        let asks = [(400_000_200, 1_200_000_000)];
        rest_depth(&mut s, 1_027_024, None, &bids, &asks, SPOT_DECIMALS);
        assert_eq!(
            s,
            r#"{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}"#
        );
        s.clear();
        let times = EventTimes {
            event_ms: 1_589_436_922_972,
            transaction_ms: 1_589_436_922_959,
        };
        rest_depth(
            &mut s,
            7,
            Some(times),
            &[],
            &[],
            Decimals { price: 2, qty: 3 },
        );
        assert_eq!(
            s,
            r#"{"lastUpdateId":7,"E":1589436922972,"T":1589436922959,"bids":[],"asks":[]}"#
        );
        assert_eq!(
            rest_error(-1121, "Invalid symbol."),
            r#"{"code":-1121,"msg":"Invalid symbol."}"#
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
