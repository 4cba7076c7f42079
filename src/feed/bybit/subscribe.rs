//! Bybit v5 subscription messages: which topics edgeline asks for, per market kind.
//!
//! Spot: `orderbook.50.<SYM>` and `publicTrade.<SYM>`. Linear perpetuals: the same plus
//! `tickers.<SYM>` (mark, index, funding, open interest). Bybit has no separate
//! top-of-book stream used here: the book stage derives the top from `orderbook.50`.
//! Symbols are the venue's upper-case names (`BTCUSDT`). Built once at connect time
//! (cold path, allocates).
//!
//! NB: spot accepts at most 10 topics per `subscribe` request; linear limits the total
//! length of `args` (21,000 characters) instead. Requests are split at
//! [`ARGS_PER_REQUEST_MAX`] on both, which keeps linear far below its limit.
//! <https://bybit-exchange.github.io/docs/v5/ws/connect>

use crate::types::MarketKind;

/// Book depth subscribed: 50 levels a side, pushed every 20 ms on both markets. Deeper
/// books are pushed less often (200: 100 ms linear, 200 ms spot; 1000: 200 ms; 500 no
/// longer exists), and `orderbook.1` has no depth behind the top (checked 2026-12-07,
/// <https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook>).
pub const BOOK_DEPTH: u16 = 50;

/// Most topics in one `subscribe` request (the spot limit, applied to both markets).
pub const ARGS_PER_REQUEST_MAX: usize = 10;

/// Bybit's application-level ping; answered by a pong the decoder reports as
/// [`crate::feed::Decoded::Heartbeat`]. Bybit asks for one every 20 s.
pub const PING: &str = r#"{"op":"ping"}"#;

/// The book topic of one symbol.
pub fn book_topic(symbol: &str) -> String {
    format!("orderbook.{BOOK_DEPTH}.{symbol}")
}

/// Every topic edgeline reads for one symbol on one market.
pub fn topics(kind: MarketKind, symbol: &str) -> Vec<String> {
    let mut topics = vec![book_topic(symbol), format!("publicTrade.{symbol}")];
    if kind == MarketKind::Perp {
        topics.push(format!("tickers.{symbol}"));
    }
    topics
}

/// The text frames to send after connecting: `subscribe` requests for every topic of
/// every symbol, at most [`ARGS_PER_REQUEST_MAX`] topics each.
pub fn subscribe_messages(kind: MarketKind, symbols: &[&str]) -> Vec<String> {
    let topics: Vec<String> = symbols.iter().flat_map(|s| topics(kind, s)).collect();
    topics
        .chunks(ARGS_PER_REQUEST_MAX)
        .map(|chunk| request("subscribe", chunk))
        .collect()
}

/// Unsubscribes then resubscribes the book of one symbol: Bybit answers the new
/// subscription with a fresh snapshot. The same on both markets (`kind` is not needed).
pub fn resync_messages(_kind: MarketKind, symbol: &str) -> Vec<String> {
    let topic = [book_topic(symbol)];
    vec![request("unsubscribe", &topic), request("subscribe", &topic)]
}

fn request(op: &str, topics: &[String]) -> String {
    let args: Vec<String> = topics.iter().map(|t| format!("\"{t}\"")).collect();
    format!("{{\"op\":\"{op}\",\"args\":[{}]}}", args.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_subscribe_perp_topics() {
        assert_eq!(
            subscribe_messages(MarketKind::Perp, &["BTCUSDT"]),
            [
                r#"{"op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT"]}"#
            ]
        );
    }

    #[test]
    fn test_subscribe_spot_splits_at_ten_args() {
        let symbols = ["A", "B", "C", "D", "E", "F"];
        let messages = subscribe_messages(MarketKind::Spot, &symbols);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].matches("orderbook.50.").count(), 5);
        assert_eq!(messages[0].matches("publicTrade.").count(), 5);
        assert_eq!(
            messages[1],
            r#"{"op":"subscribe","args":["orderbook.50.F","publicTrade.F"]}"#
        );
        assert!(!messages.concat().contains("tickers"));
    }

    #[test]
    fn test_resync_unsubscribes_then_subscribes_the_book() {
        assert_eq!(
            resync_messages(MarketKind::Spot, "ETHUSDT"),
            [
                r#"{"op":"unsubscribe","args":["orderbook.50.ETHUSDT"]}"#,
                r#"{"op":"subscribe","args":["orderbook.50.ETHUSDT"]}"#
            ]
        );
    }
}
