//! Loopback tests of the running simulator: one module per venue (subscribe with the
//! venue's own messages, ack, snapshot, linked updates, ping), the Binance REST
//! snapshot procedure, and the server's plumbing (routing, stop, slow consumers).
//! Frames are parsed with serde_json; nothing here uses the client decoders.

mod binance;
mod bybit;
mod hyperliquid;
mod okx;

use super::*;
use serde_json::Value;
use std::net::TcpStream;
use tungstenite::handshake::HandshakeError;
use tungstenite::{Message, WebSocket};

/// A blocking test client.
type Client = WebSocket<TcpStream>;

/// Longest a test waits for one frame.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A simulator with these venues (BTC markets) and default settings.
fn start_venues(venues: &[Venue]) -> SimHandle {
    let config = SimConfig {
        venues: venues.iter().copied().map(SimVenue::btc).collect(),
        ..SimConfig::default()
    };
    start(config).unwrap()
}

/// Connects a blocking client; a failed handshake gives tungstenite's error.
fn connect(sim: &SimHandle, url: &str) -> Result<Client, tungstenite::Error> {
    let stream = TcpStream::connect(sim.addr()).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    match tungstenite::client(url, stream) {
        Ok((ws, _)) => Ok(ws),
        Err(HandshakeError::Failure(e)) => Err(e),
        Err(HandshakeError::Interrupted(_)) => panic!("handshake timed out"),
    }
}

/// Connects to a venue's market.
fn connect_market(sim: &SimHandle, venue: Venue, kind: MarketKind) -> Client {
    connect(sim, &sim.url(venue, kind)).unwrap()
}

fn send(ws: &mut Client, text: &str) {
    ws.send(Message::text(text)).unwrap();
}

fn next_text(ws: &mut Client) -> String {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return t.to_string(),
            _ => continue,
        }
    }
}

fn next_json(ws: &mut Client) -> Value {
    serde_json::from_str(&next_text(ws)).unwrap()
}

/// Reads until a frame satisfies `want` (at most `limit` frames); returns it.
fn read_until(ws: &mut Client, limit: usize, want: impl Fn(&str) -> bool) -> String {
    for _ in 0..limit {
        let text = next_text(ws);
        if want(&text) {
            return text;
        }
    }
    panic!("no matching frame in {limit}");
}

/// A decimal string as raw units of 10^-8.
fn raw8(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<8}");
    int.parse::<i64>().unwrap() * 100_000_000 + frac.parse::<i64>().unwrap()
}

/// A JSON string field as raw units of 10^-8.
fn raw8_of(v: &Value) -> i64 {
    raw8(v.as_str().unwrap())
}

/// `[[px, qty, ..], ..]` as `(price, qty)` raw pairs.
fn pairs(levels: &Value) -> Vec<(i64, i64)> {
    levels
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (raw8_of(&l[0]), raw8_of(&l[1])))
        .collect()
}

/// A client-side book: bids and asks by raw price.
#[derive(Debug, Default, PartialEq)]
struct MapBook {
    bids: std::collections::BTreeMap<i64, i64>,
    asks: std::collections::BTreeMap<i64, i64>,
}

impl MapBook {
    fn apply(&mut self, bids: &[(i64, i64)], asks: &[(i64, i64)]) {
        for (side, levels) in [(&mut self.bids, bids), (&mut self.asks, asks)] {
            for &(price, qty) in levels {
                if qty == 0 {
                    side.remove(&price);
                } else {
                    side.insert(price, qty);
                }
            }
        }
    }

    /// `(bids, asks)`, best first.
    fn levels(&self) -> (book::Levels, book::Levels) {
        (
            self.bids.iter().rev().map(|(p, q)| (*p, *q)).collect(),
            self.asks.iter().map(|(p, q)| (*p, *q)).collect(),
        )
    }

    fn check_sane(&self, levels: usize) {
        assert_eq!((self.bids.len(), self.asks.len()), (levels, levels));
        let best_bid = self.bids.last_key_value().unwrap().0;
        let best_ask = self.asks.first_key_value().unwrap().0;
        assert!(best_bid < best_ask, "crossed: {best_bid} >= {best_ask}");
    }
}

#[test]
fn test_server_bad_path_refused_with_404() {
    let sim = start(SimConfig::default()).unwrap();
    for path in ["/ws/nope", "/okx/spot", "/binance/futures"] {
        let url = format!("ws://{}{path}", sim.addr());
        match connect(&sim, &url) {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
            other => panic!("{path}: expected a 404, got {:?}", other.map(|_| ())),
        }
    }
}

#[test]
fn test_server_stop_closes_clients_and_drop_is_idempotent() {
    let sim = start(SimConfig::default()).unwrap();
    let mut perp = connect(&sim, &sim.perp_url()).unwrap();
    send(
        &mut perp,
        r#"{"method":"SUBSCRIBE","params":["btcusdt@markPrice@1s"],"id":1}"#,
    );
    assert_eq!(next_text(&mut perp), r#"{"result":null,"id":1}"#);
    sim.stop();
    let closed = (0..10).any(|_| matches!(perp.read(), Ok(Message::Close(_)) | Err(_)));
    assert!(closed);
    drop(start(SimConfig::default()).unwrap());
}

#[test]
fn test_server_slow_consumer_is_closed() {
    let config = SimConfig {
        step: Duration::from_micros(2),
        ..SimConfig::default()
    };
    let sim = start(config).unwrap();
    let mut spot = connect(&sim, &sim.spot_url()).unwrap();
    send(
        &mut spot,
        r#"{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1}"#,
    );
    let mut perp = connect(&sim, &sim.perp_url()).unwrap();
    send(
        &mut perp,
        r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker"],"id":1}"#,
    );
    let deadline = crate::runtime::clock::monotonic_now() + Duration::from_secs(20);
    let wait_while = |busy: &dyn Fn() -> bool| {
        while busy() && crate::runtime::clock::monotonic_now() < deadline {
            crate::runtime::clock::sleep(Duration::from_millis(5));
        }
    };
    wait_while(&|| sim.shared.hub_len() < 2);
    wait_while(&|| sim.shared.hub_len() == 2);
    let mut close_code = None;
    for _ in 0..200_000 {
        match perp.read() {
            Ok(Message::Close(frame)) => {
                close_code = frame.map(|f| f.code);
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let policy = tungstenite::protocol::frame::coding::CloseCode::Policy;
    assert_eq!(close_code, Some(policy));
}

#[test]
fn test_server_four_venues_run_and_record_venues() {
    let sim = start_venues(&Venue::ALL);
    let subscriptions = [
        (
            Venue::Binance,
            r#"{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1}"#.to_owned(),
        ),
        (
            Venue::Bybit,
            r#"{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}"#.to_owned(),
        ),
        (Venue::Okx, String::new()),
        (Venue::Hyperliquid, String::new()),
    ];
    let mut clients = Vec::new();
    for (venue, request) in subscriptions {
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let v = SimVenue::btc(venue);
            let symbol = &v.markets.iter().find(|m| m.kind == kind).unwrap().symbol;
            let request = match venue {
                Venue::Okx => format!(
                    r#"{{"op":"subscribe","args":[{{"channel":"books","instId":"{symbol}"}}]}}"#
                ),
                Venue::Hyperliquid => format!(
                    r#"{{"method":"subscribe","subscription":{{"type":"l2Book","coin":"{symbol}"}}}}"#
                ),
                _ => request.clone(),
            };
            let mut ws = connect_market(&sim, venue, kind);
            send(&mut ws, &request);
            clients.push((venue, kind, ws));
        }
    }
    for (venue, kind, ws) in &mut clients {
        for _ in 0..3 {
            let v = next_json(ws);
            assert!(v.is_object(), "{venue} {kind:?}: {v}");
        }
    }
    assert!(sim.frames_sent() >= 16);
    let dislocations = sim.stop();
    assert!(dislocations.iter().all(|d| Venue::ALL.contains(&d.venue)));
}

#[test]
fn test_config_validation_rejects_bad_fields() {
    let venue = |f: &dyn Fn(&mut SimVenue)| {
        let mut v = SimVenue::btc(Venue::Okx);
        f(&mut v);
        vec![v]
    };
    let bad = [
        SimConfig {
            step: Duration::ZERO,
            ..SimConfig::default()
        },
        SimConfig {
            dislocation_bps_min: 50,
            ..SimConfig::default()
        },
        SimConfig {
            venues: venue(&|v| v.markets[0].tick = Price::ZERO),
            ..SimConfig::default()
        },
        SimConfig {
            venues: venue(&|v| v.markets[0].symbol = "BTC/USDT".to_owned()),
            ..SimConfig::default()
        },
        SimConfig {
            venues: venue(&|v| v.markets[1].kind = MarketKind::Spot),
            ..SimConfig::default()
        },
        SimConfig {
            venues: venue(&|v| v.markets.clear()),
            ..SimConfig::default()
        },
        SimConfig {
            start_prices: vec![("BTC".to_owned(), Price::from_raw(Price::SCALE))],
            ..SimConfig::default()
        },
        SimConfig {
            venues: Vec::new(),
            ..SimConfig::default()
        },
        SimConfig {
            venues: vec![SimVenue::btc(Venue::Bybit), SimVenue::btc(Venue::Bybit)],
            ..SimConfig::default()
        },
    ];
    for config in bad {
        assert!(matches!(start(config), Err(SimError::InvalidConfig(_))));
    }
    assert!(SimConfig::default().validate().is_ok());
    let all = SimConfig {
        venues: Venue::ALL.into_iter().map(SimVenue::btc).collect(),
        ..SimConfig::default()
    };
    assert!(all.validate().is_ok());
}

#[test]
fn test_burst_paces_factor_times_faster_and_holds_venue_time_back() {
    let burst = super::SimBurst {
        after: Duration::from_secs(2),
        length: Duration::from_secs(1),
        factor: 10,
    };
    let step = Duration::from_millis(1);
    assert_eq!(
        burst.pace(Duration::from_millis(1999), step),
        (step, Duration::ZERO)
    );
    assert_eq!(
        burst.pace(Duration::from_secs(2), step),
        (Duration::from_micros(100), Duration::from_micros(900))
    );
    assert_eq!(
        burst.pace(Duration::from_secs(3), step),
        (step, Duration::ZERO)
    );
}
