//! Frame text in OKX v5's exact public WebSocket formats (spot and swaps), and its REST
//! order book body: field names and order as the venue sends them, numbers as trimmed
//! decimal strings (`"60000.1"`, `"60000"`), times as strings of ms, and the `books`
//! CRC32 checksum (sent as 0 in the 2026 form, see [`super::SimConfig::okx_checksums`]).
//!
//! Pure functions appending to a caller's `String` (model thread), and reply builders
//! returning one (connection threads). Cold path; allocates only that text.
//!
//! Reference: <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>
//! (`books`: `action` `snapshot` (400 levels) then `update`s, levels
//! `[px, sz, "0", numOrders]`, `seqId`/`prevSeqId` chained (`-1` on a snapshot), and
//! `checksum`: CRC32 of the best 25 levels interleaved `bidPx:bidSz:askPx:askSz:..`
//! with the strings exactly as sent, as a signed 32-bit integer), `bbo-tbt`, `trades`,
//! `funding-rate`, and the `{"event":"subscribe","arg":..,"connId":..}` /
//! `{"event":"error","code":..,"msg":..,"connId":..}` replies; `GET /api/v5/market/books`
//! (`{"code":"0","msg":"","data":[{"asks":..,"bids":..,"ts":..,"seqId":..}]}`, and
//! `{"code":..,"msg":..,"data":[]}` refusals), from the API changelog's "Delist initial
//! snapshot and checksum field in order book channels" (read 2026-12-07). NB: the
//! simulator sends 100 levels, and `funding-rate` every second (the venue: every 30 to
//! 90 s).

use super::book::Top;
use super::text::{push_trimmed, write_trimmed};
use super::venue::{PerpStats, Trade};
use std::fmt::Write;

/// Levels per side in the checksum.
pub(crate) const CHECKSUM_LEVELS: usize = 25;
/// Funding interval of the swaps, ms (`nextFundingTime` = `fundingTime` + this).
const FUNDING_INTERVAL_MS: u64 = 8 * 3_600 * 1_000;
/// Funding rate bounds shown, as text (BTC-USDT-SWAP's).
const FUNDING_RATE_BOUND: &str = "0.0075";

/// A `books` message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Books<'a> {
    /// `action`: `snapshot` or `update`.
    pub(crate) snapshot: bool,
    /// `ts`.
    pub(crate) ts: u64,
    /// `prevSeqId` (-1 on a snapshot).
    pub(crate) prev_seq_id: i64,
    /// `seqId`.
    pub(crate) seq_id: u64,
    /// Bids, best first (sz 0 deletes, in updates).
    pub(crate) bids: &'a [(i64, i64)],
    /// Asks, best first.
    pub(crate) asks: &'a [(i64, i64)],
    /// `checksum` of the book after this message.
    pub(crate) checksum: i32,
    /// The market's lot, raw (the shown order count is derived from the size in lots).
    pub(crate) lot_raw: i64,
}

/// `{"arg":{"channel":"books","instId":..},"action":..,"data":[{"asks":[..],"bids":[..],
/// "ts":"..","checksum":..,"prevSeqId":..,"seqId":..}]}`.
pub(crate) fn books(out: &mut String, inst_id: &str, books: &Books<'_>) {
    let action = if books.snapshot { "snapshot" } else { "update" };
    let _ = write!(
        out,
        "{{\"arg\":{{\"channel\":\"books\",\"instId\":\"{inst_id}\"}},\"action\":\"{action}\",\"data\":[{{\"asks\":"
    );
    push_levels(out, books.asks, books.lot_raw);
    out.push_str(",\"bids\":");
    push_levels(out, books.bids, books.lot_raw);
    let _ = write!(
        out,
        ",\"ts\":\"{}\",\"checksum\":{},\"prevSeqId\":{},\"seqId\":{}}}]}}",
        books.ts, books.checksum, books.prev_seq_id, books.seq_id
    );
}

/// The order count shown for a level: 1 to 9, from its size in lots (0 for a deletion).
fn orders(qty: i64, lot_raw: i64) -> i64 {
    if qty == 0 {
        0
    } else {
        1 + (qty / lot_raw.max(1)) % 9
    }
}

fn push_levels(out: &mut String, levels: &[(i64, i64)], lot_raw: i64) {
    out.push('[');
    for (i, &(price, qty)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_trimmed(out, price, 0);
        out.push(',');
        push_trimmed(out, qty, 0);
        let _ = write!(out, ",\"0\",\"{}\"]", orders(qty, lot_raw));
    }
    out.push(']');
}

/// The REST order book: `{"code":"0","msg":"","data":[{"asks":[..],"bids":[..],
/// "ts":"..","seqId":..}]}` (levels best first, as the `books` channel prints them).
pub(crate) fn rest_books(out: &mut String, book: &Books<'_>) {
    out.push_str("{\"code\":\"0\",\"msg\":\"\",\"data\":[{\"asks\":");
    push_levels(out, book.asks, book.lot_raw);
    out.push_str(",\"bids\":");
    push_levels(out, book.bids, book.lot_raw);
    let _ = write!(
        out,
        ",\"ts\":\"{}\",\"seqId\":{}}}]}}",
        book.ts, book.seq_id
    );
}

/// A REST refusal: `{"code":..,"msg":..,"data":[]}` (`msg` must need no escaping).
pub(crate) fn rest_error(code: &str, msg: &str) -> String {
    format!("{{\"code\":\"{code}\",\"msg\":\"{msg}\",\"data\":[]}}")
}

/// OKX's checksum of a book (levels best first, raw 10^-8), over the text exactly as
/// [`books`] prints it.
pub(crate) fn checksum(bids: &[(i64, i64)], asks: &[(i64, i64)]) -> i32 {
    let mut text = String::with_capacity(CHECKSUM_LEVELS * 4 * 20);
    let mut push = |&(price, qty): &(i64, i64)| {
        if !text.is_empty() {
            text.push(':');
        }
        write_trimmed(&mut text, price, 0);
        text.push(':');
        write_trimmed(&mut text, qty, 0);
    };
    for n in 0..CHECKSUM_LEVELS {
        bids.get(n).map(&mut push);
        asks.get(n).map(&mut push);
    }
    i32::from_ne_bytes(crc32fast::hash(text.as_bytes()).to_ne_bytes())
}

/// `bbo-tbt`: `{"arg":{"channel":"bbo-tbt","instId":..},"data":[{"asks":[[..]],
/// "bids":[[..]],"ts":"..","seqId":..}]}`.
pub(crate) fn bbo(out: &mut String, inst_id: &str, ts: u64, seq_id: u64, top: Top, lot_raw: i64) {
    let _ = write!(
        out,
        "{{\"arg\":{{\"channel\":\"bbo-tbt\",\"instId\":\"{inst_id}\"}},\"data\":[{{\"asks\":"
    );
    push_levels(out, &[(top.ask, top.ask_qty)], lot_raw);
    out.push_str(",\"bids\":");
    push_levels(out, &[(top.bid, top.bid_qty)], lot_raw);
    let _ = write!(out, ",\"ts\":\"{ts}\",\"seqId\":{seq_id}}}]}}");
}

/// `trades`: `{"arg":{"channel":"trades","instId":..},"data":[{"instId":..,
/// "tradeId":..,"px":..,"sz":..,"side":..,"ts":..,"count":"1"}]}` (`side` is the taker's).
pub(crate) fn trade(out: &mut String, inst_id: &str, trade: &Trade) {
    let side = if trade.buy { "buy" } else { "sell" };
    let _ = write!(
        out,
        "{{\"arg\":{{\"channel\":\"trades\",\"instId\":\"{inst_id}\"}},\"data\":[{{\"instId\":\"{inst_id}\",\"tradeId\":\"{}\",\"px\":",
        trade.id
    );
    push_trimmed(out, trade.price, 0);
    out.push_str(",\"sz\":");
    push_trimmed(out, trade.qty, 0);
    let _ = write!(
        out,
        ",\"side\":\"{side}\",\"ts\":\"{}\",\"count\":\"1\"}}]}}",
        trade.ms
    );
}

/// `funding-rate`: `{"arg":{"channel":"funding-rate","instId":..},"data":[{
/// "fundingRate":..,"fundingTime":..,"instId":..,"instType":"SWAP",
/// "method":"current_period","maxFundingRate":..,"minFundingRate":..,
/// "nextFundingRate":"","nextFundingTime":..,"premium":..,"settFundingRate":..,
/// "settState":"settled","ts":..}]}`.
pub(crate) fn funding_rate(out: &mut String, inst_id: &str, ts: u64, stats: &PerpStats) {
    let _ = write!(
        out,
        "{{\"arg\":{{\"channel\":\"funding-rate\",\"instId\":\"{inst_id}\"}},\"data\":[{{\"fundingRate\":"
    );
    push_trimmed(out, stats.funding_rate, 0);
    let next = stats.next_funding_ms;
    let _ = write!(
        out,
        ",\"fundingTime\":\"{next}\",\"instId\":\"{inst_id}\",\"instType\":\"SWAP\",\"method\":\"current_period\",\"maxFundingRate\":\"{FUNDING_RATE_BOUND}\",\"minFundingRate\":\"-{FUNDING_RATE_BOUND}\",\"nextFundingRate\":\"\",\"nextFundingTime\":\"{}\",\"premium\":",
        next + FUNDING_INTERVAL_MS
    );
    push_trimmed(out, stats.funding_rate, 0);
    out.push_str(",\"settFundingRate\":");
    push_trimmed(out, stats.funding_rate, 0);
    let _ = write!(out, ",\"settState\":\"settled\",\"ts\":\"{ts}\"}}]}}");
}

/// `{"event":"subscribe"|"unsubscribe","arg":{"channel":..,"instId":..},"connId":..}`.
pub(crate) fn event_reply(event: &str, channel: &str, inst_id: &str, conn_id: &str) -> String {
    format!(
        "{{\"event\":\"{event}\",\"arg\":{{\"channel\":\"{channel}\",\"instId\":\"{inst_id}\"}},\"connId\":\"{conn_id}\"}}"
    )
}

/// `{"event":"error","code":..,"msg":..,"connId":..}` (`msg` must need no escaping).
pub(crate) fn error_reply(code: &str, msg: &str, conn_id: &str) -> String {
    format!(
        "{{\"event\":\"error\",\"code\":\"{code}\",\"msg\":\"{msg}\",\"connId\":\"{conn_id}\"}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::L2Book;
    use crate::types::{Price, Qty, Side};

    #[test]
    fn test_checksum_matches_venue_rule_and_l2_book() {
        // The OKX docs' example: bids 3366.1:7, 3366:6, asks 3366.8:9, 3368:8 (and a
        // third bid, to show the side that runs out stops contributing).
        let bids = [
            (336_610_000_000, 700_000_000),
            (336_600_000_000, 600_000_000),
            (336_500_000_000, 50_000_000),
        ];
        let asks = [
            (336_680_000_000, 900_000_000),
            (336_800_000_000, 800_000_000),
        ];
        let text = "3366.1:7:3366.8:9:3366:6:3368:8:3365:0.5";
        let want = i32::from_ne_bytes(crc32fast::hash(text.as_bytes()).to_ne_bytes());
        assert_eq!(checksum(&bids, &asks), want);
        let mut book = L2Book::with_depth(10);
        let level = |&(p, q): &(i64, i64)| {
            let price = i128::from(p) * (Price::SCALE / 100_000_000);
            (Price::from_raw(price), Qty::from_raw(i128::from(q)))
        };
        for (side, levels) in [(Side::Bid, &bids[..]), (Side::Ask, &asks[..])] {
            for (price, qty) in levels.iter().map(level) {
                book.apply(side, price, qty);
            }
        }
        assert_eq!(book.okx_checksum(), want);
    }

    #[test]
    fn test_books_and_bbo_match_venue_examples() {
        let mut s = String::new();
        let b = Books {
            snapshot: true,
            ts: 1_597_026_383_085,
            prev_seq_id: -1,
            seq_id: 123_456,
            bids: &[(847_698_000_000, 41_500_000_000)],
            asks: &[(847_698_000_000 + 1_000_000, 0)],
            checksum: -855_196_043,
            lot_raw: 100_000_000,
        };
        books(&mut s, "BTC-USDT", &b);
        assert_eq!(
            s,
            r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.99","0","0","0"]],"bids":[["8476.98","415","0","2"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}"#
        );
        s.clear();
        let top = Top {
            bid: 3_177_460_000_000,
            bid_qty: 33_922_110,
            ask: 3_177_470_000_000,
            ask_qty: 14_368_878,
        };
        bbo(&mut s, "BTC-USDT", 1_654_032_991_947, 9, top, 100_000_000);
        assert_eq!(
            s,
            r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["31774.7","0.14368878","0","1"]],"bids":[["31774.6","0.3392211","0","1"]],"ts":"1654032991947","seqId":9}]}"#
        );
    }

    #[test]
    fn test_trade_and_funding_match_venue_examples() {
        let t = Trade {
            id: 338_476_307,
            price: 3_023_600_000_000,
            qty: 20_000,
            buy: true,
            ms: 1_652_459_224_818,
        };
        let mut s = String::new();
        trade(&mut s, "BTC-USDT", &t);
        assert_eq!(
            s,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818","count":"1"}]}"#
        );
        s.clear();
        let stats = PerpStats {
            funding_rate: 10_000,
            next_funding_ms: 1_700_726_400_000,
            ..PerpStats::default()
        };
        funding_rate(&mut s, "BTC-USDT-SWAP", 1_700_724_675_402, &stats);
        assert_eq!(
            s,
            r#"{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001","fundingTime":"1700726400000","instId":"BTC-USDT-SWAP","instType":"SWAP","method":"current_period","maxFundingRate":"0.0075","minFundingRate":"-0.0075","nextFundingRate":"","nextFundingTime":"1700755200000","premium":"0.0001","settFundingRate":"0.0001","settState":"settled","ts":"1700724675402"}]}"#
        );
        s.clear();
        let book = Books {
            snapshot: true,
            ts: 1_597_026_383_085,
            prev_seq_id: -1,
            seq_id: 123_456,
            bids: &[(847_697_000_000, 25_600_000_000)],
            asks: &[(847_698_000_000, 41_500_000_000)],
            checksum: 0,
            lot_raw: 100_000_000,
        };
        rest_books(&mut s, &book);
        assert_eq!(
            s,
            r#"{"code":"0","msg":"","data":[{"asks":[["8476.98","415","0","2"]],"bids":[["8476.97","256","0","5"]],"ts":"1597026383085","seqId":123456}]}"#
        );
        assert_eq!(
            rest_error("51001", "Instrument ID does not exist."),
            r#"{"code":"51001","msg":"Instrument ID does not exist.","data":[]}"#
        );
        assert_eq!(
            event_reply("subscribe", "books", "BTC-USDT", "a4d3ae55"),
            r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#
        );
    }
}
