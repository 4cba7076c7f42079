//! Binance subscription messages: which streams edgeline asks for, per market kind.
//!
//! Spot and USD-M futures: `<sym>@bookTicker`, the diff depth `<sym>@depth@100ms` and
//! `<sym>@trade` (every trade, as queue-position fills need; `aggTrade` decodes too);
//! futures add `<sym>@markPrice@1s` (mark, index, funding). Stream
//! names use the lower-case symbol. The book snapshot comes from REST
//! ([`crate::feed::snapshot_fetch`]), so a resync needs no message on the socket. Built at
//! connect time (cold path).

use crate::types::MarketKind;

/// Binance needs no application-level ping: it pings, and the transport answers.
pub const PING: Option<&str> = None;

/// Stream names for one symbol on one market.
pub fn streams(kind: MarketKind, symbol: &str) -> Vec<String> {
    let sym = symbol.to_ascii_lowercase();
    let mut streams = vec![
        format!("{sym}@bookTicker"),
        format!("{sym}@depth@100ms"),
        format!("{sym}@trade"),
    ];
    if kind == MarketKind::Perp {
        streams.push(format!("{sym}@markPrice@1s"));
    }
    streams
}

/// The `SUBSCRIBE` requests for every symbol of a connection (Binance accepts up to 200
/// streams a request; larger sets are split).
pub fn subscribe_messages(kind: MarketKind, symbols: &[&str]) -> Vec<String> {
    let all: Vec<String> = symbols.iter().flat_map(|s| streams(kind, s)).collect();
    all.chunks(200)
        .zip(1..)
        .map(|(chunk, id)| subscribe_message(chunk, id))
        .collect()
}

/// The REST path of a depth snapshot, relative to the REST base URL.
pub fn snapshot_path(kind: MarketKind, symbol: &str, limit: u32) -> String {
    let prefix = match kind {
        MarketKind::Spot => "/api/v3/depth",
        MarketKind::Perp => "/fapi/v1/depth",
    };
    format!("{prefix}?symbol={symbol}&limit={limit}")
}

fn subscribe_message(streams: &[String], id: u64) -> String {
    let params: Vec<String> = streams.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        "{{\"method\":\"SUBSCRIBE\",\"params\":[{}],\"id\":{id}}}",
        params.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_subscribe_perp_streams() {
        assert_eq!(
            subscribe_messages(MarketKind::Perp, &["BTCUSDT"]),
            vec![
                r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@depth@100ms","btcusdt@trade","btcusdt@markPrice@1s"],"id":1}"#
            ]
        );
    }

    #[test]
    fn test_subscribe_splits_beyond_200_streams() {
        let symbols: Vec<String> = (0..70).map(|i| format!("S{i}USDT")).collect();
        let names: Vec<&str> = symbols.iter().map(String::as_str).collect();
        let messages = subscribe_messages(MarketKind::Spot, &names);
        assert_eq!(messages.len(), 2);
        assert!(messages[1].ends_with(r#","id":2}"#));
    }

    #[test]
    fn test_snapshot_paths() {
        assert_eq!(
            snapshot_path(MarketKind::Spot, "BTCUSDT", 1000),
            "/api/v3/depth?symbol=BTCUSDT&limit=1000"
        );
        assert!(snapshot_path(MarketKind::Perp, "BTCUSDT", 5).starts_with("/fapi/v1/depth"));
    }
}
