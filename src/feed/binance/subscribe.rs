//! Binance subscription messages and connection plan: which streams edgeline asks for,
//! on which endpoint group, and how a market's symbols are split over connections.
//!
//! Spot: `<sym>@bookTicker`, the diff depth `<sym>@depth@100ms` and `<sym>@trade` (every
//! trade, as queue-position fills need; `aggTrade` decodes too), all on one endpoint.
//! USD-M futures: since 2026-04-23 the streams are split by endpoint group
//! ([`StreamGroup`]): `/public` carries `<sym>@bookTicker` and `<sym>@depth@100ms`,
//! `/market` carries `<sym>@trade` and `<sym>@markPrice@1s` (mark, index, funding); a
//! stream asked for on the wrong group is acknowledged and never sent. Stream names use
//! the lower-case symbol. The book snapshot comes from REST
//! ([`crate::feed::snapshot_fetch`]), so a resync needs no message on the socket.
//!
//! Limits (the venue's, see docs/venues.md): 1024 streams per connection on both
//! markets; 5 incoming messages per second on spot and 10 on USD-M, where a ping, a pong
//! and a `SUBSCRIBE` each count. edgeline sends a connection's subscriptions together
//! right after its handshake, [`STREAMS_PER_REQUEST_MAX`] streams a request, so a
//! connection carries at most as many streams as fit in one second's messages less one
//! (kept for the pong of a ping in the same second), and at most 1024: [`plan`] shards
//! the symbols accordingly. Built at connect time (cold path).

use crate::feed::rest_budget::Limit;
use crate::types::MarketKind;
use std::time::Duration;

/// Binance needs no application-level ping: it pings, and the transport answers.
pub const PING: Option<&str> = None;

/// Streams named in one `SUBSCRIBE` request (edgeline's choice: the venue states no
/// limit per request, and 200 keeps a request near 6 KiB).
pub const STREAMS_PER_REQUEST_MAX: usize = 200;
/// Streams one connection may listen to (both markets).
pub const STREAMS_PER_CONNECTION_MAX: usize = 1024;
/// Incoming messages a spot connection may send per second.
pub const SPOT_MESSAGES_PER_SECOND_MAX: usize = 5;
/// Incoming messages a USD-M connection may send per second.
pub const PERP_MESSAGES_PER_SECOND_MAX: usize = 10;

/// A USD-M endpoint group (spot has one endpoint for everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamGroup {
    /// Spot's single endpoint (`wss://stream.binance.com:9443/ws`).
    Spot,
    /// USD-M high-frequency public data: `bookTicker`, `depth` (`…/public/ws`).
    Public,
    /// USD-M regular market data: `markPrice`, `aggTrade`, `trade`, klines, tickers
    /// (`…/market/ws`).
    Market,
}

impl StreamGroup {
    /// The groups a market's streams are split into, the one carrying the book first.
    pub const fn of(kind: MarketKind) -> &'static [StreamGroup] {
        match kind {
            MarketKind::Spot => &[StreamGroup::Spot],
            MarketKind::Perp => &[StreamGroup::Public, StreamGroup::Market],
        }
    }

    /// Whether the group carries the book (depth): a drop of its connection resets the
    /// books it carries.
    pub const fn carries_book(self) -> bool {
        matches!(self, StreamGroup::Spot | StreamGroup::Public)
    }

    /// The path under the USD-M root of the group's raw-stream endpoint (`""` for spot,
    /// whose configured URL is the endpoint itself).
    pub const fn path(self) -> &'static str {
        match self {
            StreamGroup::Spot => "",
            StreamGroup::Public => "/public/ws",
            StreamGroup::Market => "/market/ws",
        }
    }

    /// A short name for logs and health lines.
    pub const fn name(self) -> &'static str {
        match self {
            StreamGroup::Spot => "spot",
            StreamGroup::Public => "public",
            StreamGroup::Market => "market",
        }
    }

    /// Streams per symbol in this group.
    fn streams_per_symbol(self) -> usize {
        streams(self, "x").len()
    }

    /// Most streams on one connection of this group: what one second's messages carry
    /// (less one for a pong), capped at the venue's per-connection limit.
    pub const fn streams_per_connection_max(self) -> usize {
        let messages = match self {
            StreamGroup::Spot => SPOT_MESSAGES_PER_SECOND_MAX,
            StreamGroup::Public | StreamGroup::Market => PERP_MESSAGES_PER_SECOND_MAX,
        };
        let fit = (messages - 1) * STREAMS_PER_REQUEST_MAX;
        if fit < STREAMS_PER_CONNECTION_MAX {
            fit
        } else {
            STREAMS_PER_CONNECTION_MAX
        }
    }

    /// Most symbols on one connection of this group.
    pub fn symbols_per_connection_max(self) -> usize {
        self.streams_per_connection_max() / self.streams_per_symbol()
    }
}

const _: () = assert!(StreamGroup::Spot.streams_per_connection_max() == 800);
const _: () = assert!(StreamGroup::Public.streams_per_connection_max() == 1024);

/// Stream names for one symbol on one group.
pub fn streams(group: StreamGroup, symbol: &str) -> Vec<String> {
    let sym = symbol.to_ascii_lowercase();
    match group {
        StreamGroup::Spot => vec![
            format!("{sym}@bookTicker"),
            format!("{sym}@depth@100ms"),
            format!("{sym}@trade"),
        ],
        StreamGroup::Public => vec![format!("{sym}@bookTicker"), format!("{sym}@depth@100ms")],
        StreamGroup::Market => vec![format!("{sym}@trade"), format!("{sym}@markPrice@1s")],
    }
}

/// One planned connection: its group and the indexes (into the market's symbol list)
/// of the symbols it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedConnection {
    /// The endpoint group.
    pub group: StreamGroup,
    /// Indexes of its symbols in the list given to [`plan`].
    pub symbols: Vec<usize>,
}

/// The connections a market's `symbols` need: per group (the book's first), as few
/// shards as the per-connection limits allow, symbols in order.
pub fn plan(kind: MarketKind, symbols: usize) -> Vec<PlannedConnection> {
    let mut planned = Vec::new();
    for &group in StreamGroup::of(kind) {
        let per = group.symbols_per_connection_max().max(1);
        let indexes: Vec<usize> = (0..symbols).collect();
        for shard in indexes.chunks(per) {
            planned.push(PlannedConnection {
                group,
                symbols: shard.to_vec(),
            });
        }
    }
    planned
}

/// The `SUBSCRIBE` requests for the symbols of one connection of `group`
/// ([`STREAMS_PER_REQUEST_MAX`] streams a request).
pub fn subscribe_messages(group: StreamGroup, symbols: &[&str]) -> Vec<String> {
    let all: Vec<String> = symbols.iter().flat_map(|s| streams(group, s)).collect();
    all.chunks(STREAMS_PER_REQUEST_MAX)
        .zip(1..)
        .map(|(chunk, id)| subscribe_message(chunk, id))
        .collect()
}

/// The REST path of a depth snapshot, relative to the market's REST base URL.
pub fn snapshot_path(kind: MarketKind, symbol: &str, limit: u32) -> String {
    let prefix = match kind {
        MarketKind::Spot => "/api/v3/depth",
        MarketKind::Perp => "/fapi/v1/depth",
    };
    format!("{prefix}?symbol={symbol}&limit={limit}")
}

/// Request weight of a depth snapshot of `limit` levels: spot `/api/v3/depth` 5 up to
/// 100 levels, 25 to 500, 50 to 1000, 250 to 5000; USD-M `/fapi/v1/depth` 2 up to 50,
/// 5 at 100, 10 at 500, 20 at 1000 (see `docs/venues.md`, "REST pacing").
pub fn snapshot_weight(kind: MarketKind, limit: u32) -> u32 {
    match kind {
        MarketKind::Spot => match limit {
            0..=100 => 5,
            101..=500 => 25,
            501..=1000 => 50,
            _ => 250,
        },
        MarketKind::Perp => match limit {
            0..=50 => 2,
            51..=100 => 5,
            101..=500 => 10,
            _ => 20,
        },
    }
}

/// The IP's request-weight limit of a market's REST host: spot 6000 a minute, USD-M
/// 2400 a minute (`exchangeInfo`'s `REQUEST_WEIGHT`).
pub fn rest_weight_limit(kind: MarketKind) -> Limit {
    Limit {
        limit: match kind {
            MarketKind::Spot => 6000,
            MarketKind::Perp => 2400,
        },
        window: Duration::from_secs(60),
    }
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
    fn test_subscribe_perp_streams_per_group() {
        assert_eq!(
            subscribe_messages(StreamGroup::Public, &["BTCUSDT"]),
            vec![
                r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@depth@100ms"],"id":1}"#
            ]
        );
        assert_eq!(
            subscribe_messages(StreamGroup::Market, &["BTCUSDT"]),
            vec![
                r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@markPrice@1s"],"id":1}"#
            ]
        );
        // The venue's mapping: book ticker and depth are public, the rest market.
        for name in streams(StreamGroup::Public, "BTCUSDT") {
            assert!(
                name.contains("@bookTicker") || name.contains("@depth"),
                "{name}"
            );
        }
        for name in streams(StreamGroup::Market, "BTCUSDT") {
            assert!(
                !name.contains("@bookTicker") && !name.contains("@depth"),
                "{name}"
            );
        }
        assert!(StreamGroup::Public.carries_book() && !StreamGroup::Market.carries_book());
    }

    #[test]
    fn test_subscribe_splits_beyond_200_streams() {
        let symbols: Vec<String> = (0..70).map(|i| format!("S{i}USDT")).collect();
        let names: Vec<&str> = symbols.iter().map(String::as_str).collect();
        let messages = subscribe_messages(StreamGroup::Spot, &names);
        assert_eq!(messages.len(), 2);
        assert!(messages[1].ends_with(r#","id":2}"#));
    }

    #[test]
    fn test_plan_one_connection_per_group_when_small() {
        let perp = plan(MarketKind::Perp, 3);
        assert_eq!(perp.len(), 2);
        assert_eq!(perp[0].group, StreamGroup::Public);
        assert_eq!(perp[1].group, StreamGroup::Market);
        assert!(perp.iter().all(|c| c.symbols == [0, 1, 2]));
        assert_eq!(plan(MarketKind::Spot, 3).len(), 1);
    }

    #[test]
    fn test_plan_shards_within_streams_and_message_rate_limits() {
        for (kind, symbols) in [(MarketKind::Spot, 600), (MarketKind::Perp, 1100)] {
            let planned = plan(kind, symbols);
            for &group in StreamGroup::of(kind) {
                let shards: Vec<_> = planned.iter().filter(|c| c.group == group).collect();
                let carried: Vec<usize> = shards.iter().flat_map(|c| c.symbols.clone()).collect();
                assert_eq!(carried, (0..symbols).collect::<Vec<_>>(), "{group:?}");
                let limit = match kind {
                    MarketKind::Spot => SPOT_MESSAGES_PER_SECOND_MAX,
                    MarketKind::Perp => PERP_MESSAGES_PER_SECOND_MAX,
                };
                for shard in shards {
                    let names: Vec<String> =
                        shard.symbols.iter().map(|i| format!("S{i}USDT")).collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    let messages = subscribe_messages(group, &names);
                    let streams = names.len() * streams(group, "x").len();
                    assert!(
                        streams <= STREAMS_PER_CONNECTION_MAX,
                        "{group:?}: {streams}"
                    );
                    assert!(messages.len() < limit, "{group:?}: {}", messages.len());
                }
            }
        }
        assert_eq!(
            plan(MarketKind::Spot, 600).len(),
            3,
            "266 spot symbols a shard"
        );
        assert_eq!(
            plan(MarketKind::Perp, 1100).len(),
            6,
            "512 a shard, per group"
        );
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
