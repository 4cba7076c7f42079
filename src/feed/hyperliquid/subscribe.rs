//! Hyperliquid subscription messages: what edgeline asks for, per market kind.
//!
//! Every market: `l2Book` (full snapshots of the top 20 levels per side), `bbo` (top of
//! book) and `trades`; perpetuals also `activeAssetCtx` (mark, oracle, funding, open
//! interest). One `{"method":"subscribe","subscription":{"type":..,"coin":..}}` request per
//! channel and coin (the venue takes no batches); `coin` is the wire name (`BTC`,
//! `PURR/USDC`, `@107`). Built once at connect time (cold path, allocates).
//!
//! NB: the venue allows 1000 subscriptions and 100 connections per IP, and 2000 messages
//! a minute sent to it across all connections; edgeline uses 4 subscriptions per perp
//! coin and 3 per spot coin, and nothing here checks the total. Since mid-2026 a plain
//! `l2Book` is pushed at most every ~5 s (`"fast": true`: 5 levels, ~0.5 s); the top of
//! book comes from `bbo`, pushed on each block where it changes.
//!
//! Wire format: <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions>
//! (checked 2026-12-07; the `l2Book` cadence change is not on the stored copy of that
//! page, see `docs/venues.md`).

use std::fmt::Write;

use crate::types::MarketKind;

/// The venue's application-level ping; it answers `{"channel":"pong"}`. The venue closes a
/// connection idle for 60 s (its docs, "Heartbeats"), so a quiet connection sends this.
pub const PING: &str = r#"{"method":"ping"}"#;

/// The channels edgeline subscribes for one coin on one market kind.
fn channels(kind: MarketKind) -> &'static [&'static str] {
    match kind {
        MarketKind::Spot => &["l2Book", "bbo", "trades"],
        MarketKind::Perp => &["l2Book", "bbo", "trades", "activeAssetCtx"],
    }
}

/// Text frames to send after connecting: every channel of [`channels`] for every symbol.
pub fn subscribe_messages(kind: MarketKind, symbols: &[&str]) -> Vec<String> {
    symbols
        .iter()
        .flat_map(|symbol| {
            channels(kind)
                .iter()
                .map(move |channel| request("subscribe", channel, symbol))
        })
        .collect()
}

/// Unsubscribe then subscribe `l2Book` of one symbol, so the venue sends a fresh book.
///
/// NB: every Hyperliquid `l2Book` message is already a full snapshot, so the next message
/// after any gap repairs the book by itself; this exists for the common resync path (and
/// gets the snapshot without waiting for the next block). The same on both market kinds.
pub fn resync_messages(_kind: MarketKind, symbol: &str) -> Vec<String> {
    vec![
        request("unsubscribe", "l2Book", symbol),
        request("subscribe", "l2Book", symbol),
    ]
}

fn request(method: &str, channel: &str, coin: &str) -> String {
    format!(
        r#"{{"method":"{method}","subscription":{{"type":"{channel}","coin":{}}}}}"#,
        json_string(coin)
    )
}

/// `s` as a JSON string literal (wire names never need escaping; this keeps a bad config
/// value from producing a malformed request).
fn json_string(s: &str) -> String {
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    for c in s.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_subscribe_perp_channels() {
        let msgs = subscribe_messages(MarketKind::Perp, &["BTC"]);
        assert_eq!(
            msgs,
            [
                r#"{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}"#,
                r#"{"method":"subscribe","subscription":{"type":"bbo","coin":"BTC"}}"#,
                r#"{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}"#,
                r#"{"method":"subscribe","subscription":{"type":"activeAssetCtx","coin":"BTC"}}"#,
            ]
        );
    }

    #[test]
    fn test_subscribe_spot_both_name_forms() {
        let msgs = subscribe_messages(MarketKind::Spot, &["PURR/USDC", "@107"]);
        assert_eq!(msgs.len(), 6);
        assert_eq!(
            msgs[0],
            r#"{"method":"subscribe","subscription":{"type":"l2Book","coin":"PURR/USDC"}}"#
        );
        assert_eq!(
            msgs[5],
            r#"{"method":"subscribe","subscription":{"type":"trades","coin":"@107"}}"#
        );
        assert!(msgs.iter().all(|m| !m.contains("activeAssetCtx")));
    }

    #[test]
    fn test_resync_unsubscribes_then_subscribes_book() {
        assert_eq!(
            resync_messages(MarketKind::Perp, "ETH"),
            [
                r#"{"method":"unsubscribe","subscription":{"type":"l2Book","coin":"ETH"}}"#,
                r#"{"method":"subscribe","subscription":{"type":"l2Book","coin":"ETH"}}"#,
            ]
        );
    }

    #[test]
    fn test_requests_are_valid_json_even_for_odd_names() {
        for name in ["BTC", "@1", "PURR/USDC", "a\"b\\c\n"] {
            let msg = &subscribe_messages(MarketKind::Spot, &[name])[0];
            let v: serde_json::Value = serde_json::from_str(msg).unwrap();
            assert_eq!(v["subscription"]["coin"], name);
        }
        let v: serde_json::Value = serde_json::from_str(PING).unwrap();
        assert_eq!(v["method"], "ping");
    }
}
