//! Frame text in Hyperliquid's exact WebSocket formats: `{"channel":..,"data":..}`
//! envelopes, prices and sizes as trimmed decimal strings keeping at least one decimal
//! (`"60000.0"`, `"0.38111"`), times as numbers.
//!
//! Pure functions appending to a caller's `String` (model thread), and reply builders
//! returning one (connection threads). Cold path; allocates only that text.
//!
//! Reference: <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions>
//! (`l2Book`: `{"coin","time","levels":[bids, asks]}` with levels `{"px","sz","n"}`,
//! always a whole snapshot; `bbo`; `trades` with `side` `B`/`A` the taker's;
//! `activeAssetCtx` for perps; `subscriptionResponse` echoing the request; `pong`).
//! NB: differences from the venue: `hash` is derived from the trade id, `users` is
//! omitted, the day statistics of `activeAssetCtx` are zeros, and `l2Book` is sent on
//! every book change, where the venue pushes a plain `l2Book` at most every ~5 s since
//! July 2026 (`docs/venues.md`, checked 2026-12-07).

use super::book::Top;
use super::text::push_trimmed;
use super::venue::{PerpStats, Trade};
use std::fmt::Write;

/// Digits after the point Hyperliquid always prints.
const DECIMALS_MIN: u32 = 1;

/// An `l2Book` message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct L2Book<'a> {
    /// `time`.
    pub(crate) time: u64,
    /// Bids, best first.
    pub(crate) bids: &'a [(i64, i64)],
    /// Asks, best first.
    pub(crate) asks: &'a [(i64, i64)],
    /// The market's lot, raw (the order count `n` is derived from the size in lots).
    pub(crate) lot_raw: i64,
}

/// `{"channel":"l2Book","data":{"coin":..,"time":..,"levels":[[..],[..]]}}`.
pub(crate) fn l2_book(out: &mut String, coin: &str, book: &L2Book<'_>) {
    let _ = write!(
        out,
        "{{\"channel\":\"l2Book\",\"data\":{{\"coin\":\"{coin}\",\"time\":{},\"levels\":[",
        book.time
    );
    push_levels(out, book.bids, book.lot_raw);
    out.push(',');
    push_levels(out, book.asks, book.lot_raw);
    out.push_str("]}}");
}

fn push_levels(out: &mut String, levels: &[(i64, i64)], lot_raw: i64) {
    out.push('[');
    for (i, &(price, qty)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_level(out, price, qty, lot_raw);
    }
    out.push(']');
}

/// `{"px":..,"sz":..,"n":..}`; `n` is 1 to 9, from the size in lots.
fn push_level(out: &mut String, price: i64, qty: i64, lot_raw: i64) {
    out.push_str("{\"px\":");
    push_trimmed(out, price, DECIMALS_MIN);
    out.push_str(",\"sz\":");
    push_trimmed(out, qty, DECIMALS_MIN);
    let _ = write!(out, ",\"n\":{}}}", 1 + (qty / lot_raw.max(1)) % 9);
}

/// `{"channel":"bbo","data":{"coin":..,"time":..,"bbo":[bid, ask]}}`.
pub(crate) fn bbo(out: &mut String, coin: &str, time: u64, top: Top, lot_raw: i64) {
    let _ = write!(
        out,
        "{{\"channel\":\"bbo\",\"data\":{{\"coin\":\"{coin}\",\"time\":{time},\"bbo\":["
    );
    push_level(out, top.bid, top.bid_qty, lot_raw);
    out.push(',');
    push_level(out, top.ask, top.ask_qty, lot_raw);
    out.push_str("]}}");
}

/// `{"channel":"trades","data":[{"coin":..,"side":..,"px":..,"sz":..,"time":..,
/// "hash":..,"tid":..}]}`.
pub(crate) fn trade(out: &mut String, coin: &str, trade: &Trade) {
    let side = if trade.buy { "B" } else { "A" };
    let _ = write!(
        out,
        "{{\"channel\":\"trades\",\"data\":[{{\"coin\":\"{coin}\",\"side\":\"{side}\",\"px\":"
    );
    push_trimmed(out, trade.price, DECIMALS_MIN);
    out.push_str(",\"sz\":");
    push_trimmed(out, trade.qty, DECIMALS_MIN);
    let _ = write!(
        out,
        ",\"time\":{},\"hash\":\"0x{:064x}\",\"tid\":{}}}]}}",
        trade.ms, trade.id, trade.id
    );
}

/// `{"channel":"activeAssetCtx","data":{"coin":..,"ctx":{"funding":..,
/// "openInterest":..,"prevDayPx":..,"dayNtlVlm":"0.0","premium":..,"oraclePx":..,
/// "markPx":..,"midPx":..,"impactPxs":[bid, ask],"dayBaseVlm":"0.0"}}}` (the oracle and
/// previous-day prices are the index, the premium the funding rate).
pub(crate) fn active_asset_ctx(out: &mut String, coin: &str, stats: &PerpStats, top: Top) {
    let _ = write!(
        out,
        "{{\"channel\":\"activeAssetCtx\",\"data\":{{\"coin\":\"{coin}\",\"ctx\":{{\"funding\":"
    );
    push_trimmed(out, stats.funding_rate, DECIMALS_MIN);
    out.push_str(",\"openInterest\":");
    push_trimmed(out, stats.open_interest, DECIMALS_MIN);
    out.push_str(",\"prevDayPx\":");
    push_trimmed(out, stats.index, DECIMALS_MIN);
    out.push_str(",\"dayNtlVlm\":\"0.0\",\"premium\":");
    push_trimmed(out, stats.funding_rate, DECIMALS_MIN);
    out.push_str(",\"oraclePx\":");
    push_trimmed(out, stats.index, DECIMALS_MIN);
    out.push_str(",\"markPx\":");
    push_trimmed(out, stats.mark, DECIMALS_MIN);
    out.push_str(",\"midPx\":");
    push_trimmed(out, (top.bid + top.ask) / 2, DECIMALS_MIN);
    out.push_str(",\"impactPxs\":[");
    push_trimmed(out, top.bid, DECIMALS_MIN);
    out.push(',');
    push_trimmed(out, top.ask, DECIMALS_MIN);
    out.push_str("],\"dayBaseVlm\":\"0.0\"}}}");
}

/// `{"channel":"subscriptionResponse","data":{"method":..,"subscription":{"type":..,
/// "coin":..}}}`.
pub(crate) fn subscription_response(method: &str, kind: &str, coin: &str) -> String {
    format!(
        "{{\"channel\":\"subscriptionResponse\",\"data\":{{\"method\":\"{method}\",\"subscription\":{{\"type\":\"{kind}\",\"coin\":\"{coin}\"}}}}}}"
    )
}

/// The answer to `{"method":"ping"}`.
pub(crate) const PONG: &str = r#"{"channel":"pong"}"#;

/// `{"channel":"error","data":"<message>"}` (`message` must need no escaping).
pub(crate) fn error_reply(message: &str) -> String {
    format!("{{\"channel\":\"error\",\"data\":\"{message}\"}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_l2_book_and_bbo_match_venue_examples() {
        let mut s = String::new();
        let book = L2Book {
            time: 1_737_918_843_893,
            bids: &[(10_505_500_000_000, 303_622_000)],
            asks: &[(10_505_600_000_000, 60_000_000)],
            lot_raw: 1_000,
        };
        l2_book(&mut s, "BTC", &book);
        assert_eq!(
            s,
            r#"{"channel":"l2Book","data":{"coin":"BTC","time":1737918843893,"levels":[[{"px":"105055.0","sz":"3.03622","n":8}],[{"px":"105056.0","sz":"0.6","n":7}]]}}"#
        );
        s.clear();
        let top = Top {
            bid: 10_505_500_000_000,
            bid_qty: 303_622_000,
            ask: 10_505_600_000_000,
            ask_qty: 60_000_000,
        };
        bbo(&mut s, "BTC", 7, top, 1_000);
        assert_eq!(
            s,
            r#"{"channel":"bbo","data":{"coin":"BTC","time":7,"bbo":[{"px":"105055.0","sz":"3.03622","n":8},{"px":"105056.0","sz":"0.6","n":7}]}}"#
        );
    }

    #[test]
    fn test_trade_ctx_and_replies_match_venue_examples() {
        let t = Trade {
            id: 1_016_375_172_059_570,
            price: 6_999_700_000_000,
            qty: 38_111_000,
            buy: true,
            ms: 1_730_160_006_192,
        };
        let mut s = String::new();
        trade(&mut s, "BTC", &t);
        let want = format!(
            r#"{{"channel":"trades","data":[{{"coin":"BTC","side":"B","px":"69997.0","sz":"0.38111","time":1730160006192,"hash":"0x{:064x}","tid":1016375172059570}}]}}"#,
            t.id
        );
        assert_eq!(s, want);
        s.clear();
        let stats = PerpStats {
            mark: 19_963_000,
            index: 19_950_000,
            funding_rate: 4_863,
            next_funding_ms: 0,
            open_interest: 1_861_746_000_000_000,
        };
        let top = Top {
            bid: 19_951_700,
            bid_qty: 1,
            ask: 19_972_500,
            ask_qty: 1,
        };
        active_asset_ctx(&mut s, "MOODENG", &stats, top);
        assert_eq!(
            s,
            r#"{"channel":"activeAssetCtx","data":{"coin":"MOODENG","ctx":{"funding":"0.00004863","openInterest":"18617460.0","prevDayPx":"0.1995","dayNtlVlm":"0.0","premium":"0.00004863","oraclePx":"0.1995","markPx":"0.19963","midPx":"0.199621","impactPxs":["0.199517","0.199725"],"dayBaseVlm":"0.0"}}}"#
        );
        assert_eq!(
            subscription_response("subscribe", "l2Book", "BTC"),
            r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}}"#
        );
    }
}
