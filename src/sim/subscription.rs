//! Client requests on a simulated connection: stream names and `SUBSCRIBE` /
//! `UNSUBSCRIBE`, answered the way Binance answers them.
//!
//! Called by a connection thread for each text message it reads; allocates the reply
//! string (cold path). The subscription itself is a bit mask ([`StreamKind::bit`]) that
//! the model thread reads when it fans frames out.
//!
//! Accepted stream names (lower-case symbol, as the venue requires):
//! - both markets: `<symbol>@bookTicker`, `<symbol>@depth@100ms`;
//! - perp also: `<symbol>@depth`, `<symbol>@depth@0ms`, `<symbol>@depth@250ms`,
//!   `<symbol>@depth@500ms`, `<symbol>@markPrice`, `<symbol>@markPrice@1s`.
//!
//! NB: differences from the venue: every depth alias is served at the simulator's one
//! 100 ms cadence, and `@markPrice` (3 s on the venue) at 1 s. Any unknown stream, an
//! unknown method or unparseable JSON is refused as a whole with
//! `{"error":{"code":2,"msg":"Invalid request"},"id":...}` (the venue answers bad JSON
//! with code 3; callers only test for `error`).

use super::binance_format::{request_invalid, request_ok};
use super::market::{Market, StreamKind};
use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};

/// Most streams accepted in one request (the venue's limit is 1024 per connection).
pub(crate) const REQUEST_PARAMS_MAX: usize = 1_024;

/// The stream a name designates on `market`, for the lower-case `symbol`.
pub(crate) fn parse_stream(name: &str, market: Market, symbol: &str) -> Option<StreamKind> {
    let rest = name.strip_prefix(symbol)?.strip_prefix('@')?;
    match (market, rest) {
        (_, "bookTicker") => Some(StreamKind::BookTicker),
        (_, "depth@100ms") => Some(StreamKind::Depth),
        (Market::Perp, "depth" | "depth@0ms" | "depth@250ms" | "depth@500ms") => {
            Some(StreamKind::Depth)
        }
        (Market::Perp, "markPrice" | "markPrice@1s") => Some(StreamKind::MarkPrice),
        _ => None,
    }
}

/// What a request does to a connection's subscription mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MaskChange {
    /// Add these bits.
    Add(u8),
    /// Remove these bits.
    Remove(u8),
    /// Leave the mask as it is (the request was refused).
    None,
}

impl MaskChange {
    /// The mask after the change.
    pub(crate) fn apply(self, mask: u8) -> u8 {
        match self {
            Self::Add(bits) => mask | bits,
            Self::Remove(bits) => mask & !bits,
            Self::None => mask,
        }
    }
}

/// Parses one request; returns the mask change and the reply text to send.
pub(crate) fn handle_request(text: &str, market: Market, symbol: &str) -> (MaskChange, String) {
    let Ok(request) = sonic_rs::from_str::<Value>(text) else {
        return (MaskChange::None, request_invalid("null"));
    };
    let id_json = request
        .get("id")
        .and_then(|id| sonic_rs::to_string(id).ok())
        .unwrap_or_else(|| "null".to_owned());
    match request_change(&request, market, symbol) {
        Some(change) => (change, request_ok(&id_json)),
        None => (MaskChange::None, request_invalid(&id_json)),
    }
}

/// The change a well-formed request asks for, `None` if anything in it is invalid.
fn request_change(request: &Value, market: Market, symbol: &str) -> Option<MaskChange> {
    let params = request.get("params")?.as_array()?;
    if params.len() > REQUEST_PARAMS_MAX {
        return None;
    }
    let mut bits = 0u8;
    for param in params.iter() {
        bits |= parse_stream(param.as_str()?, market, symbol)?.bit();
    }
    match request.get("method")?.as_str()? {
        "SUBSCRIBE" => Some(MaskChange::Add(bits)),
        "UNSUBSCRIBE" => Some(MaskChange::Remove(bits)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_stream_names_per_market() {
        let perp = |n| parse_stream(n, Market::Perp, "btcusdt");
        let spot = |n| parse_stream(n, Market::Spot, "btcusdt");
        assert_eq!(spot("btcusdt@bookTicker"), Some(StreamKind::BookTicker));
        assert_eq!(spot("btcusdt@depth@100ms"), Some(StreamKind::Depth));
        assert_eq!(spot("btcusdt@markPrice@1s"), None);
        assert_eq!(spot("ethusdt@bookTicker"), None);
        assert_eq!(spot("BTCUSDT@bookTicker"), None);
        assert_eq!(perp("btcusdt@depth@0ms"), Some(StreamKind::Depth));
        assert_eq!(perp("btcusdt@depth"), Some(StreamKind::Depth));
        assert_eq!(perp("btcusdt@markPrice"), Some(StreamKind::MarkPrice));
        assert_eq!(perp("btcusdt@trade"), None);
        assert_eq!(perp("btcusdt"), None);
    }

    #[test]
    fn test_request_subscribe_and_refusals() {
        let sub = r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@depth@100ms"],"id":1}"#;
        let (change, reply) = handle_request(sub, Market::Spot, "btcusdt");
        assert_eq!(change, MaskChange::Add(3));
        assert_eq!(reply, r#"{"result":null,"id":1}"#);
        let unsub = r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth@100ms"],"id":"a"}"#;
        let (change, reply) = handle_request(unsub, Market::Spot, "btcusdt");
        assert_eq!(change.apply(3), 1);
        assert_eq!(reply, r#"{"result":null,"id":"a"}"#);
        let invalid = r#"{"error":{"code":2,"msg":"Invalid request"},"id":7}"#;
        let unknown = r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","x@y"],"id":7}"#;
        assert_eq!(
            handle_request(unknown, Market::Spot, "btcusdt"),
            (MaskChange::None, invalid.to_owned())
        );
        let method = r#"{"method":"LIST","params":[],"id":7}"#;
        assert_eq!(handle_request(method, Market::Perp, "btcusdt").1, invalid);
        let (change, reply) = handle_request("{not json", Market::Perp, "btcusdt");
        assert_eq!(change, MaskChange::None);
        assert_eq!(
            reply,
            r#"{"error":{"code":2,"msg":"Invalid request"},"id":null}"#
        );
    }
}
