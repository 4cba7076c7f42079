//! Frame text in Bybit v5's exact public WebSocket formats (spot and linear): field
//! names and order as the venue sends them, prices and quantities as fixed-decimal
//! strings (`"65114.20"`, `"0.004"`), times as numbers.
//!
//! Pure functions appending to a caller's `String` (model thread), and reply builders
//! returning one (connection threads). Cold path; allocates only that text.
//!
//! Reference (checked 2026-12-07): <https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook>
//! (`orderbook.{depth}.{symbol}`: `snapshot` then `delta`s, `u` +1 per message, `seq`
//! the cross sequence, `cts` the matching engine time), `.../public/trade`
//! (`publicTrade`), `.../public/ticker` (linear `tickers`: a `snapshot` then partial
//! `delta`s), and `.../ws/connect` (acks `{"success":true,"ret_msg":"","conn_id":..,
//! "req_id":..,"op":"subscribe"}`; the linear pong echoes `"op":"ping"` with
//! `"ret_msg":"pong"`, the spot pong is `{"req_id":..,"op":"pong","args":[ms],..}`).
//! NB: differences from the venue: trade ids `i` are numbers-as-text derived from a
//! counter, and `L` (tick direction) follows the taker's side.

use super::text::{Decimals, push_decimal, push_trimmed};
use super::venue::{PerpStats, Trade};
use crate::types::MarketKind;
use std::fmt::Write;

/// Most topics in one spot `subscribe`/`unsubscribe` request; the venue refuses more
/// with [`SPOT_ARGS_REFUSAL`] (linear limits the total length of `args` instead).
pub(crate) const SPOT_ARGS_MAX: usize = 10;

/// The spot `ret_msg` for a request over [`SPOT_ARGS_MAX`] topics, as the venue sends it
/// (`"args size \u003e10"` on the wire, the same text).
pub(crate) const SPOT_ARGS_REFUSAL: &str = "args size >10";

/// Levels per side the simulator serves on `orderbook.{N}`.
pub(crate) const ORDERBOOK_DEPTH: u32 = 50;

/// An `orderbook.50` message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderBook<'a> {
    /// `type`: `snapshot` or `delta`.
    pub(crate) snapshot: bool,
    /// `ts`; `cts` is one ms before.
    pub(crate) ts: u64,
    /// `u`: the message's update id.
    pub(crate) u: u64,
    /// `seq`: the cross sequence.
    pub(crate) seq: u64,
    /// Bids, best first (qty 0 deletes, in deltas).
    pub(crate) bids: &'a [(i64, i64)],
    /// Asks, best first.
    pub(crate) asks: &'a [(i64, i64)],
    /// Decimals of prices and quantities.
    pub(crate) decimals: Decimals,
}

/// `{"topic":"orderbook.50.S","type":..,"ts":..,"data":{"s":..,"b":[..],"a":[..],
/// "u":..,"seq":..},"cts":..}`.
pub(crate) fn orderbook(out: &mut String, symbol: &str, book: &OrderBook<'_>) {
    let kind = if book.snapshot { "snapshot" } else { "delta" };
    let _ = write!(
        out,
        "{{\"topic\":\"orderbook.{ORDERBOOK_DEPTH}.{symbol}\",\"type\":\"{kind}\",\"ts\":{},\"data\":{{\"s\":\"{symbol}\",\"b\":",
        book.ts
    );
    push_levels(out, book.bids, book.decimals);
    out.push_str(",\"a\":");
    push_levels(out, book.asks, book.decimals);
    let _ = write!(
        out,
        ",\"u\":{},\"seq\":{}}},\"cts\":{}}}",
        book.u,
        book.seq,
        book.ts.saturating_sub(1)
    );
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

/// `{"topic":"publicTrade.S","type":"snapshot","ts":..,"data":[{"T":..,"s":..,"S":..,
/// "v":..,"p":..,"L":..,"i":..,"BT":false,"seq":..}]}`.
pub(crate) fn public_trade(out: &mut String, symbol: &str, trade: &Trade, decimals: Decimals) {
    let (side, tick) = if trade.buy {
        ("Buy", "PlusTick")
    } else {
        ("Sell", "MinusTick")
    };
    let _ = write!(
        out,
        "{{\"topic\":\"publicTrade.{symbol}\",\"type\":\"snapshot\",\"ts\":{},\"data\":[{{\"T\":{},\"s\":\"{symbol}\",\"S\":\"{side}\",\"v\":",
        trade.ms, trade.ms
    );
    push_decimal(out, trade.qty, decimals.qty);
    out.push_str(",\"p\":");
    push_decimal(out, trade.price, decimals.price);
    let _ = write!(
        out,
        ",\"L\":\"{tick}\",\"i\":\"{}\",\"BT\":false,\"seq\":{}}}]}}",
        trade.id, trade.id
    );
}

/// The linear `tickers` snapshot's inputs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TickerSnapshot<'a> {
    /// Mark, index, funding, open interest.
    pub(crate) stats: &'a PerpStats,
    /// Best bid and ask.
    pub(crate) top: super::book::Top,
    /// `lastPrice`.
    pub(crate) last_price: i64,
    /// Decimals of prices and quantities.
    pub(crate) decimals: Decimals,
}

/// Linear `tickers` snapshot: `{"topic":"tickers.S","type":"snapshot","data":{"symbol":..,
/// "lastPrice":..,"markPrice":..,"indexPrice":..,"openInterest":..,
/// "openInterestValue":..,"nextFundingTime":..,"fundingRate":..,"bid1Price":..,
/// "bid1Size":..,"ask1Price":..,"ask1Size":..},"cs":..,"ts":..}`.
pub(crate) fn ticker_snapshot(
    out: &mut String,
    symbol: &str,
    ts: u64,
    cs: u64,
    ticker: &TickerSnapshot<'_>,
) {
    let d = ticker.decimals;
    let _ = write!(
        out,
        "{{\"topic\":\"tickers.{symbol}\",\"type\":\"snapshot\",\"data\":{{\"symbol\":\"{symbol}\",\"lastPrice\":"
    );
    push_decimal(out, ticker.last_price, d.price);
    push_stats(out, ticker.stats, d, true);
    let top = ticker.top;
    let fields = [
        ("bid1Price", top.bid, d.price),
        ("bid1Size", top.bid_qty, d.qty),
        ("ask1Price", top.ask, d.price),
        ("ask1Size", top.ask_qty, d.qty),
    ];
    for (name, raw, digits) in fields {
        let _ = write!(out, ",\"{name}\":");
        push_decimal(out, raw, digits);
    }
    let _ = write!(out, "}},\"cs\":{cs},\"ts\":{ts}}}");
}

/// The linear `tickers` delta's inputs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TickerDelta<'a> {
    /// Mark, index, funding, open interest.
    pub(crate) stats: &'a PerpStats,
    /// Whether `fundingRate` and `nextFundingTime` are included.
    pub(crate) with_funding: bool,
    /// Decimals of prices and quantities.
    pub(crate) decimals: Decimals,
}

/// Linear `tickers` delta: `{"topic":"tickers.S","type":"delta","data":{"symbol":..,
/// "markPrice":..,"indexPrice":..,"openInterest":..,"openInterestValue":..
/// [,"nextFundingTime":..,"fundingRate":..]},"cs":..,"ts":..}`.
pub(crate) fn ticker_delta(
    out: &mut String,
    symbol: &str,
    ts: u64,
    cs: u64,
    ticker: &TickerDelta<'_>,
) {
    let _ = write!(
        out,
        "{{\"topic\":\"tickers.{symbol}\",\"type\":\"delta\",\"data\":{{\"symbol\":\"{symbol}\""
    );
    push_stats(out, ticker.stats, ticker.decimals, ticker.with_funding);
    let _ = write!(out, "}},\"cs\":{cs},\"ts\":{ts}}}");
}

/// `,"markPrice":..,"indexPrice":..,"openInterest":..,"openInterestValue":..` and, with
/// `with_funding`, `,"nextFundingTime":..,"fundingRate":..`.
fn push_stats(out: &mut String, stats: &PerpStats, d: Decimals, with_funding: bool) {
    out.push_str(",\"markPrice\":");
    push_decimal(out, stats.mark, d.price);
    out.push_str(",\"indexPrice\":");
    push_decimal(out, stats.index, d.price);
    out.push_str(",\"openInterest\":");
    push_decimal(out, stats.open_interest, d.qty);
    out.push_str(",\"openInterestValue\":");
    let value = i128::from(stats.open_interest) * i128::from(stats.mark) / 100_000_000;
    push_decimal(out, i64::try_from(value).unwrap_or(i64::MAX), 2);
    if with_funding {
        let _ = write!(
            out,
            ",\"nextFundingTime\":\"{}\",\"fundingRate\":",
            stats.next_funding_ms
        );
        push_trimmed(out, stats.funding_rate, 0);
    }
}

/// The reply to `subscribe`/`unsubscribe` (`op`): `{"success":..,"ret_msg":..,
/// "conn_id":..,"req_id":..,"op":..}`; `req_id_json` is the request's `req_id` as JSON
/// text (`""` when absent).
pub(crate) fn op_reply(
    success: bool,
    ret_msg: &str,
    conn_id: &str,
    req_id_json: &str,
    op: &str,
) -> String {
    format!(
        "{{\"success\":{success},\"ret_msg\":\"{ret_msg}\",\"conn_id\":\"{conn_id}\",\"req_id\":{req_id_json},\"op\":\"{op}\"}}"
    )
}

/// The answer to `{"op":"ping"}`: linear `{"success":true,"ret_msg":"pong",..,
/// "op":"ping"}`, spot `{"req_id":..,"op":"pong","args":["<ms>"],"conn_id":..}`.
pub(crate) fn pong(kind: MarketKind, conn_id: &str, req_id_json: &str, now_ms: u64) -> String {
    match kind {
        MarketKind::Perp => op_reply(true, "pong", conn_id, req_id_json, "ping"),
        MarketKind::Spot => format!(
            "{{\"req_id\":{req_id_json},\"op\":\"pong\",\"args\":[\"{now_ms}\"],\"conn_id\":\"{conn_id}\"}}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::book::Top;

    const LINEAR: Decimals = Decimals { price: 2, qty: 3 };

    #[test]
    fn test_orderbook_matches_venue_example() {
        let mut s = String::new();
        let book = OrderBook {
            snapshot: true,
            ts: 1_672_304_484_978,
            u: 18_521_288,
            seq: 7_961_638_724,
            bids: &[(1_649_350_000_000, 600_000)],
            asks: &[(1_649_400_000_000, 0)],
            decimals: LINEAR,
        };
        orderbook(&mut s, "BTCUSDT", &book);
        assert_eq!(
            s,
            r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16494.00","0.000"]],"u":18521288,"seq":7961638724},"cts":1672304484977}"#
        );
    }

    #[test]
    fn test_public_trade_matches_venue_example() {
        let t = Trade {
            id: 42,
            price: 1_657_850_000_000,
            qty: 100_000,
            buy: true,
            ms: 1_672_304_486_865,
        };
        let mut s = String::new();
        public_trade(&mut s, "BTCUSDT", &t, LINEAR);
        assert_eq!(
            s,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486865,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"42","BT":false,"seq":42}]}"#
        );
    }

    #[test]
    fn test_tickers_snapshot_and_delta() {
        let stats = PerpStats {
            mark: 1_716_105_000_000,
            index: 1_716_090_000_000,
            funding_rate: 10_000,
            next_funding_ms: 1_673_280_000_000,
            open_interest: 37_317_843_000_000,
        };
        let top = Top {
            bid: 1_716_100_000_000,
            bid_qty: 7_345_000_000,
            ask: 1_716_110_000_000,
            ask_qty: 1_000_000,
        };
        let mut s = String::new();
        let snap = TickerSnapshot {
            stats: &stats,
            top,
            last_price: 1_716_110_000_000,
            decimals: LINEAR,
        };
        ticker_snapshot(&mut s, "BTCUSDT", 1_673_272_861_686, 24_987_956_059, &snap);
        assert_eq!(
            s,
            r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"17161.10","markPrice":"17161.05","indexPrice":"17160.90","openInterest":"373178.430","openInterestValue":"6404133696.15","nextFundingTime":"1673280000000","fundingRate":"0.0001","bid1Price":"17161.00","bid1Size":"73.450","ask1Price":"17161.10","ask1Size":"0.010"},"cs":24987956059,"ts":1673272861686}"#
        );
        s.clear();
        let delta = TickerDelta {
            stats: &stats,
            with_funding: false,
            decimals: LINEAR,
        };
        ticker_delta(&mut s, "BTCUSDT", 5, 6, &delta);
        assert_eq!(
            s,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"17161.05","indexPrice":"17160.90","openInterest":"373178.430","openInterestValue":"6404133696.15"},"cs":6,"ts":5}"#
        );
    }

    #[test]
    fn test_replies_match_venue_examples() {
        assert_eq!(
            op_reply(true, "", "cejreaspqfh3sjdnldmg-p", "\"\"", "subscribe"),
            r#"{"success":true,"ret_msg":"","conn_id":"cejreaspqfh3sjdnldmg-p","req_id":"","op":"subscribe"}"#
        );
        assert_eq!(
            pong(MarketKind::Perp, "c", "\"100001\"", 1),
            r#"{"success":true,"ret_msg":"pong","conn_id":"c","req_id":"100001","op":"ping"}"#
        );
        assert_eq!(
            pong(MarketKind::Spot, "c", "\"\"", 1_675_418_560_633),
            r#"{"req_id":"","op":"pong","args":["1675418560633"],"conn_id":"c"}"#
        );
    }
}
