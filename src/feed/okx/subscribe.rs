//! OKX v5 subscription messages: which channels edgeline asks for, per market kind.
//!
//! Spot: `books` (400 levels, 100 ms updates chained by `seqId`/`prevSeqId`; the initial
//! snapshot push while OKX still sends it, otherwise the REST book of
//! [`super::rest`]; `checksum` 0 since June 2026), `bbo-tbt` and `trades`. Swaps: the same plus `funding-rate`. The decoder also reads `mark-price` and
//! `open-interest`; they are not subscribed by default because the built-in simulator
//! does not serve them yet (it refuses the whole request, as OKX does). One
//! `{"op":"subscribe","args":[..]}` request carries every channel of every symbol (OKX
//! caps a request at 64 KiB, far above a connection's handful of symbols). Built at
//! connect time (cold path). A book is resynced from the REST book, never by
//! resubscribing: after the delisting a resubscribe brings no snapshot, and OKX counts
//! every subscribe and unsubscribe against 480 requests per connection per hour.

use crate::types::MarketKind;

/// The depth channel subscribed by default (`books-l2-tbt`/`books50-l2-tbt` need a login).
pub const BOOK_CHANNEL: &str = "books";

/// OKX's application-level ping; it answers the text `pong`.
pub const PING: &str = "ping";

fn channels(kind: MarketKind) -> &'static [&'static str] {
    match kind {
        MarketKind::Spot => &[BOOK_CHANNEL, "bbo-tbt", "trades"],
        MarketKind::Perp => &[BOOK_CHANNEL, "bbo-tbt", "trades", "funding-rate"],
    }
}

fn request(op: &str, args: &[(&str, &str)]) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|(channel, inst)| format!(r#"{{"channel":"{channel}","instId":"{inst}"}}"#))
        .collect();
    format!(r#"{{"op":"{op}","args":[{}]}}"#, args.join(","))
}

/// The text frames to send after connecting: one subscribe request for every channel
/// of `kind` on every symbol (wire `instId`s such as `BTC-USDT`, `BTC-USDT-SWAP`).
pub fn subscribe_messages(kind: MarketKind, symbols: &[&str]) -> Vec<String> {
    let args: Vec<(&str, &str)> = symbols
        .iter()
        .flat_map(|&symbol| channels(kind).iter().map(move |&channel| (channel, symbol)))
        .collect();
    vec![request("subscribe", &args)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_subscribe_spot_channels() {
        assert_eq!(
            subscribe_messages(MarketKind::Spot, &["BTC-USDT"]),
            vec![
                r#"{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"bbo-tbt","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}"#
            ]
        );
    }

    #[test]
    fn test_subscribe_swap_channels_for_every_symbol() {
        let msgs = subscribe_messages(MarketKind::Perp, &["BTC-USDT-SWAP", "ETH-USDT-SWAP"]);
        assert_eq!(msgs.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&msgs[0]).unwrap();
        let args = v["args"].as_array().unwrap();
        assert_eq!(args.len(), 8);
        assert_eq!(args[3]["channel"], "funding-rate");
        assert_eq!(args[7]["instId"], "ETH-USDT-SWAP");
    }

    #[test]
    fn test_ping_is_the_bare_text() {
        assert_eq!(PING, "ping");
    }
}
