//! Client requests on a simulated connection, per venue: stream names, subscribe and
//! unsubscribe, and app-level pings, answered the way each venue answers them.
//!
//! Called by a connection thread for each text message it reads; allocates the replies
//! (cold path). The subscription itself is a bit mask ([`StreamKind::bit`]) that the
//! model thread reads when it fans frames out, plus the streams waiting for a snapshot
//! (see `hub`).
//!
//! Accepted requests (`S` is any of the market's configured symbols, as the venue spells
//! it; one request may name several, and each symbol keeps its own subscription):
//! - Binance: `{"method":"SUBSCRIBE"|"UNSUBSCRIBE","params":[..],"id":..}` with
//!   `s@bookTicker`, `s@depth@100ms`, `s@trade` (`s` lower case), perp also `s@depth`,
//!   `s@depth@0ms`, `s@depth@250ms`, `s@depth@500ms`, `s@markPrice`, `s@markPrice@1s`
//!   (on USD-M, a name the connection's endpoint group does not carry is acknowledged
//!   like the others and never sent: `MaskChange::served`).
//!   Any unknown stream, method or unparseable JSON is refused as a whole with
//!   `{"error":{"code":2,"msg":"Invalid request"},"id":..}` (NB: the venue answers bad
//!   JSON with code 3; callers only test for `error`). NB: every depth alias is served at
//!   the one 100 ms cadence, and `@markPrice` (3 s on the venue) at 1 s.
//! - Bybit: `{"op":"subscribe"|"unsubscribe","args":[..],"req_id":..}` with
//!   `orderbook.50.S` (a snapshot first), `publicTrade.S`, perp `tickers.S` (a snapshot
//!   first); `{"op":"ping"}`. Refusals: `"success":false` with the venue's `ret_msg`
//!   (spot: more than 10 topics in one request, `args size >10`).
//! - OKX: `{"op":"subscribe"|"unsubscribe","args":[{"channel":..,"instId":"S"},..]}` with
//!   `books` (a snapshot first only with `okx_snapshot_push`: OKX delisted it in 2026),
//!   `bbo-tbt`, `trades`, swap `funding-rate`; one
//!   `{"event":..,"arg":..,"connId":..}` per arg; the text `ping` gets `pong`. Refusals:
//!   `{"event":"error","code":"60012"|"60018",..}` and nothing changes.
//! - Hyperliquid: `{"method":"subscribe"|"unsubscribe","subscription":{"type":..,
//!   "coin":"S"}}` with `l2Book`, `bbo`, `trades`, perp `activeAssetCtx`;
//!   `{"method":"ping"}` gets `{"channel":"pong"}`. Refusals: `{"channel":"error",..}`.

use super::binance_format::{request_invalid, request_ok};
use super::market::{Market, StreamKind};
use super::{bybit_format as bybit, hyperliquid_format as hyperliquid, okx_format as okx};
use crate::types::{MarketKind, Venue};
use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};

/// Most streams accepted in one request (Binance's limit is 1024 per connection).
pub(crate) const REQUEST_PARAMS_MAX: usize = 1_024;

/// The streams of a venue that start with a snapshot sent to each new subscriber.
pub(crate) fn snapshot_streams(market: Market) -> u8 {
    match (market.venue, market.kind) {
        (Venue::Bybit, MarketKind::Perp) => StreamKind::Depth.bit() | StreamKind::Funding.bit(),
        (Venue::Bybit, MarketKind::Spot) | (Venue::Okx, _) => StreamKind::Depth.bit(),
        _ => 0,
    }
}

/// What a request does to a connection's subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MaskChange {
    /// Add these stream bits; those of `snapshot` first get a snapshot.
    Add {
        /// Streams added.
        bits: u8,
        /// Streams (among `bits`) waiting for their snapshot.
        snapshot: u8,
    },
    /// Remove these bits (and any snapshot they were waiting for).
    Remove(u8),
}

impl MaskChange {
    /// The same change with no stream waiting for a snapshot.
    fn without_snapshot(self) -> Self {
        match self {
            Self::Add { bits, .. } => Self::Add { bits, snapshot: 0 },
            remove @ Self::Remove(_) => remove,
        }
    }
}

impl MaskChange {
    /// A subscription of `bits` to `market`.
    fn add(market: Market, bits: u8) -> Self {
        Self::Add {
            bits,
            snapshot: bits & snapshot_streams(market),
        }
    }

    /// The change limited to the `served` streams of the connection's path (others are
    /// acknowledged and never sent, as Binance USD-M does on the wrong endpoint group).
    pub(crate) fn served(self, served: u8) -> Self {
        match self {
            Self::Add { bits, snapshot } => Self::Add {
                bits: bits & served,
                snapshot: snapshot & served,
            },
            Self::Remove(bits) => Self::Remove(bits),
        }
    }

    /// The state after the change: low byte the mask, high byte the streams waiting
    /// for a snapshot.
    pub(crate) fn apply(self, state: u16) -> u16 {
        match self {
            Self::Add { bits, snapshot } => state | u16::from(bits) | (u16::from(snapshot) << 8),
            Self::Remove(bits) => state & !(u16::from(bits) | (u16::from(bits) << 8)),
        }
    }
}

/// The connection a request arrives on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestContext<'a> {
    /// The connection's market.
    pub(crate) market: Market,
    /// The market's symbols as the venue spells them in requests (Binance: lower case),
    /// in index order.
    pub(crate) symbols: &'a [&'a str],
    /// The connection's id as the venue shows it (`conn_id`, `connId`).
    pub(crate) conn_id: &'a str,
    /// Wall-clock unix ms (Bybit's spot pong carries it).
    pub(crate) now_ms: u64,
    /// Whether OKX `books` starts with a snapshot (the form before OKX delisted it).
    pub(crate) okx_snapshot_push: bool,
}

/// A request's effect: the subscription changes (per symbol index) and the replies to
/// send, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The changes, one per symbol the request names.
    pub(crate) changes: Vec<(usize, MaskChange)>,
    /// Reply texts.
    pub(crate) replies: Vec<String>,
}

impl Outcome {
    fn reply(changes: Vec<(usize, MaskChange)>, reply: String) -> Self {
        Self {
            changes,
            replies: vec![reply],
        }
    }

    /// A refusal or a ping: no change.
    fn only(reply: String) -> Self {
        Self::reply(Vec::new(), reply)
    }

    /// The change to symbol `index` (`None` if the request did not name it).
    #[cfg(test)]
    fn change(&self, index: usize) -> Option<MaskChange> {
        self.changes
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, c)| *c)
    }
}

/// The streams a request names, per symbol index.
#[derive(Default)]
struct Picks(Vec<(usize, u8)>);

impl Picks {
    fn add(&mut self, index: usize, stream: StreamKind) {
        match self.0.iter_mut().find(|(i, _)| *i == index) {
            Some((_, bits)) => *bits |= stream.bit(),
            None => self.0.push((index, stream.bit())),
        }
    }

    /// The changes: subscriptions of `market` (`subscribe`) or removals.
    fn changes(self, market: Market, subscribe: bool) -> Vec<(usize, MaskChange)> {
        self.0
            .into_iter()
            .map(|(i, bits)| {
                let change = if subscribe {
                    MaskChange::add(market, bits)
                } else {
                    MaskChange::Remove(bits)
                };
                (i, change)
            })
            .collect()
    }
}

/// The index of `name` among the connection's symbols.
fn symbol_index(ctx: &RequestContext<'_>, name: &str) -> Option<usize> {
    ctx.symbols.iter().position(|s| *s == name)
}

/// Parses one text message; returns its effect.
pub(crate) fn handle_request(text: &str, ctx: &RequestContext<'_>) -> Outcome {
    match ctx.market.venue {
        Venue::Binance => binance_request(text, ctx),
        Venue::Bybit => bybit_request(text, ctx),
        Venue::Okx => okx_request(text, ctx),
        Venue::Hyperliquid => hyperliquid_request(text, ctx),
    }
}

/// The Binance stream a name designates on `kind`, and the index of its symbol among the
/// lower-case `symbols`.
pub(crate) fn binance_stream(
    name: &str,
    kind: MarketKind,
    symbols: &[&str],
) -> Option<(usize, StreamKind)> {
    let (symbol, rest) = name.split_once('@')?;
    let index = symbols.iter().position(|s| *s == symbol)?;
    let stream = match (kind, rest) {
        (_, "bookTicker") => Some(StreamKind::BookTicker),
        (_, "depth@100ms") => Some(StreamKind::Depth),
        (_, "trade") => Some(StreamKind::Trade),
        (MarketKind::Perp, "depth" | "depth@0ms" | "depth@250ms" | "depth@500ms") => {
            Some(StreamKind::Depth)
        }
        (MarketKind::Perp, "markPrice" | "markPrice@1s") => Some(StreamKind::Funding),
        _ => None,
    }?;
    Some((index, stream))
}

fn binance_request(text: &str, ctx: &RequestContext<'_>) -> Outcome {
    let Ok(request) = sonic_rs::from_str::<Value>(text) else {
        return Outcome::only(request_invalid("null"));
    };
    let id_json = request
        .get("id")
        .and_then(|id| sonic_rs::to_string(id).ok())
        .unwrap_or_else(|| "null".to_owned());
    let changes = || -> Option<Vec<(usize, MaskChange)>> {
        let params = request.get("params")?.as_array()?;
        if params.len() > REQUEST_PARAMS_MAX {
            return None;
        }
        let mut picks = Picks::default();
        for param in params.iter() {
            let (index, stream) = binance_stream(param.as_str()?, ctx.market.kind, ctx.symbols)?;
            picks.add(index, stream);
        }
        match request.get("method")?.as_str()? {
            "SUBSCRIBE" => Some(picks.changes(ctx.market, true)),
            "UNSUBSCRIBE" => Some(picks.changes(ctx.market, false)),
            _ => None,
        }
    };
    match changes() {
        Some(changes) => Outcome::reply(changes, request_ok(&id_json)),
        None => Outcome::only(request_invalid(&id_json)),
    }
}

/// The Bybit stream a topic designates on the connection, and its symbol's index.
fn bybit_topic(topic: &str, ctx: &RequestContext<'_>) -> Option<(usize, StreamKind)> {
    let (channel, rest) = topic.split_once('.')?;
    let on = |s: &str, stream| Some((symbol_index(ctx, s)?, stream));
    match (ctx.market.kind, channel) {
        (_, "orderbook") => {
            let (depth, s) = rest.split_once('.')?;
            (depth == bybit::ORDERBOOK_DEPTH.to_string()).then_some(())?;
            on(s, StreamKind::Depth)
        }
        (_, "publicTrade") => on(rest, StreamKind::Trade),
        (MarketKind::Perp, "tickers") => on(rest, StreamKind::Funding),
        _ => None,
    }
}

fn bybit_request(text: &str, ctx: &RequestContext<'_>) -> Outcome {
    let conn = ctx.conn_id;
    let Ok(request) = sonic_rs::from_str::<Value>(text) else {
        let reply = bybit::op_reply(false, "error:request not json", conn, "\"\"", "");
        return Outcome::only(reply);
    };
    let req_id = request
        .get("req_id")
        .and_then(|id| sonic_rs::to_string(id).ok())
        .unwrap_or_else(|| "\"\"".to_owned());
    let op = request.get("op").and_then(|op| op.as_str()).unwrap_or("");
    if op == "ping" {
        let reply = bybit::pong(ctx.market.kind, conn, &req_id, ctx.now_ms);
        return Outcome::only(reply);
    }
    if op != "subscribe" && op != "unsubscribe" {
        let reply = bybit::op_reply(false, "error:unsupported op", conn, &req_id, op_text(op));
        return Outcome::only(reply);
    }
    let mut picks = Picks::default();
    let args = request.get("args").and_then(|a| a.as_array());
    if ctx.market.kind == MarketKind::Spot && args.is_some_and(|a| a.len() > bybit::SPOT_ARGS_MAX) {
        let reply = bybit::op_reply(false, bybit::SPOT_ARGS_REFUSAL, conn, &req_id, op);
        return Outcome::only(reply);
    }
    for arg in args.iter().flat_map(|a| a.iter()).take(REQUEST_PARAMS_MAX) {
        let Some((index, stream)) = arg.as_str().and_then(|t| bybit_topic(t, ctx)) else {
            let reply = bybit::op_reply(false, "error:handler not found", conn, &req_id, op);
            return Outcome::only(reply);
        };
        picks.add(index, stream);
    }
    let changes = picks.changes(ctx.market, op == "subscribe");
    Outcome::reply(changes, bybit::op_reply(true, "", conn, &req_id, op))
}

/// `op` if it needs no JSON escaping, else empty.
fn op_text(op: &str) -> &str {
    if op.bytes().all(|b| b.is_ascii_alphanumeric()) {
        op
    } else {
        ""
    }
}

/// The OKX stream a channel designates on `kind`.
fn okx_channel(channel: &str, kind: MarketKind) -> Option<StreamKind> {
    match (kind, channel) {
        (_, "books") => Some(StreamKind::Depth),
        (_, "bbo-tbt") => Some(StreamKind::BookTicker),
        (_, "trades") => Some(StreamKind::Trade),
        (MarketKind::Perp, "funding-rate") => Some(StreamKind::Funding),
        _ => None,
    }
}

fn okx_request(text: &str, ctx: &RequestContext<'_>) -> Outcome {
    let conn = ctx.conn_id;
    if text == "ping" {
        return Outcome::only("pong".to_owned());
    }
    let invalid = || Outcome::only(okx::error_reply("60012", "Invalid request", conn));
    let Ok(request) = sonic_rs::from_str::<Value>(text) else {
        return invalid();
    };
    let op = request.get("op").and_then(|op| op.as_str()).unwrap_or("");
    let Some(args) = request.get("args").and_then(|a| a.as_array()) else {
        return invalid();
    };
    if (op != "subscribe" && op != "unsubscribe") || args.len() > REQUEST_PARAMS_MAX {
        return invalid();
    }
    let mut picks = Picks::default();
    let mut replies = Vec::with_capacity(args.len());
    for arg in args.iter() {
        let field = |name| {
            arg.get(name)
                .and_then(|v: &Value| v.as_str().map(str::to_owned))
        };
        let (Some(channel), Some(inst)) = (field("channel"), field("instId")) else {
            return invalid();
        };
        let stream = okx_channel(&channel, ctx.market.kind).zip(symbol_index(ctx, &inst));
        let Some((stream, index)) = stream else {
            let reply = okx::error_reply(
                "60018",
                "Wrong URL or channel or instId doesn't exist.",
                conn,
            );
            return Outcome::only(reply);
        };
        picks.add(index, stream);
        replies.push(okx::event_reply(op, &channel, &inst, conn));
    }
    let mut changes = picks.changes(ctx.market, op == "subscribe");
    if !ctx.okx_snapshot_push {
        for (_, change) in &mut changes {
            *change = change.without_snapshot();
        }
    }
    Outcome { changes, replies }
}

/// The Hyperliquid stream a subscription type designates on `kind`.
fn hyperliquid_type(kind_name: &str, kind: MarketKind) -> Option<StreamKind> {
    match (kind, kind_name) {
        (_, "l2Book") => Some(StreamKind::Depth),
        (_, "bbo") => Some(StreamKind::BookTicker),
        (_, "trades") => Some(StreamKind::Trade),
        (MarketKind::Perp, "activeAssetCtx") => Some(StreamKind::Funding),
        _ => None,
    }
}

fn hyperliquid_request(text: &str, ctx: &RequestContext<'_>) -> Outcome {
    let invalid = || Outcome::only(hyperliquid::error_reply("Invalid subscription"));
    let Ok(request) = sonic_rs::from_str::<Value>(text) else {
        return invalid();
    };
    let method = request.get("method").and_then(|m| m.as_str()).unwrap_or("");
    if method == "ping" {
        return Outcome::only(hyperliquid::PONG.to_owned());
    }
    let Some(subscription) = request.get("subscription") else {
        return invalid();
    };
    let field = |name| subscription.get(name).and_then(|v: &Value| v.as_str());
    let (Some(kind_name), Some(coin)) = (field("type"), field("coin")) else {
        return invalid();
    };
    let stream = hyperliquid_type(kind_name, ctx.market.kind).zip(symbol_index(ctx, coin));
    let Some((stream, index)) = stream else {
        return invalid();
    };
    let mut picks = Picks::default();
    picks.add(index, stream);
    let changes = match method {
        "subscribe" => picks.changes(ctx.market, true),
        "unsubscribe" => picks.changes(ctx.market, false),
        _ => return invalid(),
    };
    let reply = hyperliquid::subscription_response(method, kind_name, coin);
    Outcome::reply(changes, reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(venue: Venue, kind: MarketKind, symbols: &'a [&'a str]) -> RequestContext<'a> {
        RequestContext {
            market: Market { venue, kind },
            symbols,
            conn_id: "c1",
            now_ms: 5,
            okx_snapshot_push: true,
        }
    }

    #[test]
    fn test_binance_stream_names_per_market() {
        let perp = |n| binance_stream(n, MarketKind::Perp, &["btcusdt"]).map(|(_, s)| s);
        let spot = |n| binance_stream(n, MarketKind::Spot, &["btcusdt"]).map(|(_, s)| s);
        assert_eq!(spot("btcusdt@bookTicker"), Some(StreamKind::BookTicker));
        assert_eq!(spot("btcusdt@depth@100ms"), Some(StreamKind::Depth));
        assert_eq!(spot("btcusdt@trade"), Some(StreamKind::Trade));
        assert_eq!(spot("btcusdt@markPrice@1s"), None);
        assert_eq!(spot("ethusdt@bookTicker"), None);
        assert_eq!(spot("BTCUSDT@bookTicker"), None);
        assert_eq!(perp("btcusdt@depth@0ms"), Some(StreamKind::Depth));
        assert_eq!(perp("btcusdt@depth"), Some(StreamKind::Depth));
        assert_eq!(perp("btcusdt@markPrice"), Some(StreamKind::Funding));
        assert_eq!(perp("btcusdt@aggTrade"), None);
        assert_eq!(perp("btcusdt"), None);
    }

    #[test]
    fn test_requests_name_several_symbols_each_with_its_own_change() {
        let symbols = ["btcusdt", "ethusdt", "solusdt"];
        let c = ctx(Venue::Binance, MarketKind::Perp, &symbols);
        let sub = r#"{"method":"SUBSCRIBE","params":["ethusdt@depth@0ms","solusdt@trade","ethusdt@bookTicker"],"id":1}"#;
        let out = handle_request(sub, &c);
        assert_eq!(out.change(0), None);
        assert_eq!(out.change(1).unwrap().apply(0), 3);
        assert_eq!(out.change(2).unwrap().apply(0), 8);
        let okx = ["BTC-USDT", "ETH-USDT"];
        let c = ctx(Venue::Okx, MarketKind::Spot, &okx);
        let sub = r#"{"op":"subscribe","args":[{"channel":"books","instId":"ETH-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}"#;
        let out = handle_request(sub, &c);
        assert_eq!(out.change(0).unwrap().apply(0), 8);
        assert_eq!(out.change(1).unwrap().apply(0), 2 | (2 << 8));
        let bybit = ["BTCUSDT", "ETHUSDT"];
        let c = ctx(Venue::Bybit, MarketKind::Perp, &bybit);
        let sub = r#"{"op":"subscribe","args":["orderbook.50.ETHUSDT","tickers.BTCUSDT"]}"#;
        let out = handle_request(sub, &c);
        assert_eq!(out.change(0).unwrap().apply(0), 4 | (4 << 8));
        assert_eq!(out.change(1).unwrap().apply(0), 2 | (2 << 8));
        let hl = ["BTC", "ETH"];
        let c = ctx(Venue::Hyperliquid, MarketKind::Perp, &hl);
        let sub = r#"{"method":"subscribe","subscription":{"type":"bbo","coin":"ETH"}}"#;
        assert_eq!(handle_request(sub, &c).change(1).unwrap().apply(0), 1);
    }

    #[test]
    fn test_binance_request_subscribe_and_refusals() {
        let c = ctx(Venue::Binance, MarketKind::Spot, &["btcusdt"]);
        let sub = r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@depth@100ms"],"id":1}"#;
        let out = handle_request(sub, &c);
        assert_eq!(
            out.change(0),
            Some(MaskChange::Add {
                bits: 3,
                snapshot: 0
            })
        );
        assert_eq!(out.replies, [r#"{"result":null,"id":1}"#]);
        let unsub = r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth@100ms"],"id":"a"}"#;
        let out = handle_request(unsub, &c);
        assert_eq!(out.change(0).unwrap().apply(3), 1);
        assert_eq!(out.replies, [r#"{"result":null,"id":"a"}"#]);
        let invalid = r#"{"error":{"code":2,"msg":"Invalid request"},"id":7}"#;
        let unknown = r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","x@y"],"id":7}"#;
        assert_eq!(handle_request(unknown, &c).replies, [invalid]);
        assert_eq!(handle_request(unknown, &c).change(0), None);
        let method = r#"{"method":"LIST","params":[],"id":7}"#;
        assert_eq!(handle_request(method, &c).replies, [invalid]);
        let out = handle_request("{not json", &c);
        assert_eq!(out.change(0), None);
        assert_eq!(
            out.replies,
            [r#"{"error":{"code":2,"msg":"Invalid request"},"id":null}"#]
        );
    }

    #[test]
    fn test_bybit_request_topics_ping_and_refusals() {
        let c = ctx(Venue::Bybit, MarketKind::Perp, &["BTCUSDT"]);
        let sub = r#"{"op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT"]}"#;
        let out = handle_request(sub, &c);
        assert_eq!(
            out.change(0),
            Some(MaskChange::Add {
                bits: 14,
                snapshot: 6
            })
        );
        assert_eq!(
            out.replies,
            [r#"{"success":true,"ret_msg":"","conn_id":"c1","req_id":"","op":"subscribe"}"#]
        );
        assert_eq!(out.change(0).unwrap().apply(0), 14 | (6 << 8));
        let unsub = r#"{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"],"req_id":"9"}"#;
        let out = handle_request(unsub, &c);
        assert_eq!(out.change(0).unwrap().apply(14 | (6 << 8)), 12 | (4 << 8));
        assert!(out.replies[0].contains(r#""req_id":"9","op":"unsubscribe""#));
        for bad in [
            r#"{"op":"subscribe","args":["orderbook.200.BTCUSDT"]}"#,
            r#"{"op":"subscribe","args":["tickers.ETHUSDT"]}"#,
            r#"{"op":"hello"}"#,
            "nope",
        ] {
            let out = handle_request(bad, &c);
            assert_eq!(out.change(0), None);
            assert!(out.replies[0].starts_with(r#"{"success":false"#), "{bad}");
        }
        let spot = ctx(Venue::Bybit, MarketKind::Spot, &["BTCUSDT"]);
        let ticker = r#"{"op":"subscribe","args":["tickers.BTCUSDT"]}"#;
        assert_eq!(handle_request(ticker, &spot).change(0), None);
        let topics = |n| vec![r#""publicTrade.BTCUSDT""#; n].join(",");
        let eleven = format!(
            r#"{{"op":"subscribe","args":[{}],"req_id":"3"}}"#,
            topics(11)
        );
        for c in [&spot, &c] {
            let out = handle_request(&eleven, c);
            let refused = out.replies[0].contains(r#""success":false,"ret_msg":"args size >10""#);
            assert_eq!(
                refused,
                c.market.kind == MarketKind::Spot,
                "{:?}",
                out.replies
            );
            assert_eq!(out.change(0).is_none(), refused);
        }
        let ten = format!(r#"{{"op":"subscribe","args":[{}]}}"#, topics(10));
        assert!(handle_request(&ten, &spot).change(0).is_some());
        let client =
            crate::feed::bybit::subscribe::subscribe_messages(MarketKind::Spot, &["BTCUSDT"; 6]);
        assert_eq!(client.len(), 2, "12 topics in requests of at most 10");
        for request in &client {
            assert!(
                handle_request(request, &spot).change(0).is_some(),
                "{request}"
            );
        }
        let ping = handle_request(r#"{"op":"ping"}"#, &spot);
        assert_eq!(
            ping.replies,
            [r#"{"req_id":"","op":"pong","args":["5"],"conn_id":"c1"}"#]
        );
    }

    #[test]
    fn test_okx_request_args_ping_and_refusals() {
        let c = ctx(Venue::Okx, MarketKind::Spot, &["BTC-USDT"]);
        let sub = r#"{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}"#;
        let out = handle_request(sub, &c);
        assert_eq!(
            out.change(0),
            Some(MaskChange::Add {
                bits: 10,
                snapshot: 2
            })
        );
        assert_eq!(out.replies.len(), 2);
        assert_eq!(
            out.replies[1],
            r#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"c1"}"#
        );
        let current = RequestContext {
            okx_snapshot_push: false,
            ..c
        };
        assert_eq!(
            handle_request(sub, &current).change(0),
            Some(MaskChange::Add {
                bits: 10,
                snapshot: 0
            }),
            "the 2026 form pushes no snapshot"
        );
        assert_eq!(handle_request("ping", &c).replies, ["pong"]);
        let funding =
            r#"{"op":"subscribe","args":[{"channel":"funding-rate","instId":"BTC-USDT"}]}"#;
        let out = handle_request(funding, &c);
        assert_eq!(out.change(0), None);
        assert!(out.replies[0].contains(r#""code":"60018""#));
        let out = handle_request("{", &c);
        assert!(out.replies[0].contains(r#""code":"60012""#));
    }

    #[test]
    fn test_hyperliquid_request_types_ping_and_refusals() {
        let c = ctx(Venue::Hyperliquid, MarketKind::Perp, &["BTC"]);
        let sub = r#"{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}"#;
        let out = handle_request(sub, &c);
        assert_eq!(
            out.change(0),
            Some(MaskChange::Add {
                bits: 2,
                snapshot: 0
            })
        );
        assert_eq!(
            out.replies,
            [
                r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}}"#
            ]
        );
        let ping = handle_request(r#"{"method":"ping"}"#, &c);
        assert_eq!(ping.replies, [r#"{"channel":"pong"}"#]);
        let spot = ctx(Venue::Hyperliquid, MarketKind::Spot, &["@107"]);
        let ctx_sub =
            r#"{"method":"subscribe","subscription":{"type":"activeAssetCtx","coin":"@107"}}"#;
        let out = handle_request(ctx_sub, &spot);
        assert_eq!(out.change(0), None);
        assert!(out.replies[0].starts_with(r#"{"channel":"error""#));
    }
}
