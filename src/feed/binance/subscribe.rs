//! Binance subscription messages: which streams edgeline asks for, per market kind.
//!
//! Spot: `<sym>@bookTicker` and the diff depth `<sym>@depth@100ms`. USD-M futures: the
//! same plus `<sym>@markPrice@1s` (mark, index, funding). Stream names use the lower-case
//! symbol. Built once at connect time (cold path).

use crate::types::MarketKind;

/// Stream names for one symbol on one market.
pub fn streams(kind: MarketKind, symbol: &str) -> Vec<String> {
    let sym = symbol.to_ascii_lowercase();
    let mut streams = vec![format!("{sym}@bookTicker"), format!("{sym}@depth@100ms")];
    if kind == MarketKind::Perp {
        streams.push(format!("{sym}@markPrice@1s"));
    }
    streams
}

/// The `SUBSCRIBE` request for a set of streams.
pub fn subscribe_message(streams: &[String], id: u64) -> String {
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
        let s = streams(MarketKind::Perp, "BTCUSDT");
        assert_eq!(
            subscribe_message(&s, 1),
            r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@depth@100ms","btcusdt@markPrice@1s"],"id":1}"#
        );
    }

    #[test]
    fn test_subscribe_spot_streams() {
        assert_eq!(streams(MarketKind::Spot, "ETHUSDT").len(), 2);
    }
}
