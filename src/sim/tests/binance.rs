//! Binance over loopback: WebSocket streams, frames equal to the model's, trades, and
//! the REST snapshot + diff procedure.

use super::*;
use crate::sim::market::{self, Market, StreamKind};
use std::io::{Read, Write};

fn subscribe(ws: &mut Client, streams: &[&str], id: u64) {
    let params = streams
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(",");
    let request = format!("{{\"method\":\"SUBSCRIBE\",\"params\":[{params}],\"id\":{id}}}");
    send(ws, &request);
}

/// A plain HTTP GET; returns the status code and the body.
pub(super) fn http_get(sim: &SimHandle, target: &str) -> (u16, String) {
    assert!(sim.rest_base().starts_with("http://127.0.0.1:"));
    let mut stream = TcpStream::connect(sim.addr()).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

#[test]
fn test_binance_loopback_subscribe_and_stream() {
    let sim = start(SimConfig::default()).unwrap();
    assert!(sim.perp_url().starts_with("ws://127.0.0.1:"));
    let mut perp = connect(&sim, &sim.perp_url()).unwrap();
    subscribe(&mut perp, &["btcusdt@bookTicker"], 1);
    assert_eq!(next_text(&mut perp), r#"{"result":null,"id":1}"#);
    let url = sim.url(Venue::Binance, MarketKind::Spot);
    assert!(url.ends_with("/binance/spot"));
    let mut spot = connect(&sim, &url).unwrap();
    subscribe(&mut spot, &["btcusdt@trade", "btcusdt@depth@100ms"], 2);
    assert_eq!(next_text(&mut spot), r#"{"result":null,"id":2}"#);
    let mut last_e = 0;
    for _ in 0..50 {
        let frame = next_json(&mut perp);
        assert_eq!(frame["e"], "bookTicker");
        let e = frame["E"].as_u64().unwrap();
        assert!(e > last_e);
        last_e = e;
    }
    subscribe(&mut perp, &["btcusdt@trades"], 3);
    let invalid = r#"{"error":{"code":2,"msg":"Invalid request"},"id":3}"#;
    read_until(&mut perp, 10_000, |t| t == invalid);
    let trade: Value = serde_json::from_str(&read_until(&mut spot, 1_000, |t| {
        t.starts_with(r#"{"e":"trade""#)
    }))
    .unwrap();
    assert_eq!(trade["s"], "BTCUSDT");
    assert!(raw8_of(&trade["q"]) > 0);
    assert!(sim.frames_sent() >= 51);
}

#[test]
fn test_binance_frames_match_model() {
    let sim = start(SimConfig::default()).unwrap();
    let mut perp = connect(&sim, &sim.perp_url()).unwrap();
    subscribe(&mut perp, &["btcusdt@bookTicker", "btcusdt@depth@100ms"], 1);
    next_text(&mut perp);
    let mut spot = connect(&sim, &sim.spot_url()).unwrap();
    subscribe(&mut spot, &["btcusdt@bookTicker"], 1);
    next_text(&mut spot);
    let received: Vec<String> = (0..300).map(|_| next_text(&mut perp)).collect();
    let first: Value = serde_json::from_str(&received[0]).unwrap();
    let start_ms = first["E"].as_u64().unwrap();
    let mut model = market::Model::new(&SimConfig::default(), start_ms).unwrap();
    let mut expected = Vec::new();
    let mut frames = Vec::new();
    while expected.len() < received.len() {
        model.step(&mut frames);
        let perp_frames = frames.drain(..).filter(|f| {
            f.listing.market.kind == MarketKind::Perp
                && matches!(f.stream, StreamKind::BookTicker | StreamKind::Depth)
        });
        expected.extend(perp_frames.map(|f| f.text));
    }
    expected.truncate(received.len());
    assert_eq!(received, expected);
}

/// Follows Binance's documented procedure on one market: buffer diffs, fetch the
/// snapshot, drop diffs with `u <= lastUpdateId`, check the first applied one, then
/// apply `diffs` more; returns the book and the last `u`.
fn snapshot_procedure(sim: &SimHandle, kind: MarketKind, ws: &mut Client) -> (MapBook, u64) {
    let buffered: Vec<Value> = (0..2).map(|_| next_json(ws)).collect();
    let target = match kind {
        MarketKind::Spot => "/api/v3/depth?symbol=BTCUSDT&limit=1000",
        MarketKind::Perp => "/fapi/v1/depth?symbol=BTCUSDT&limit=1000",
    };
    let (status, body) = http_get(sim, target);
    assert_eq!(status, 200, "{body}");
    let snapshot: Value = serde_json::from_str(&body).unwrap();
    if kind == MarketKind::Perp {
        assert!(snapshot["E"].as_u64().is_some() && snapshot["T"].as_u64().is_some());
    }
    let last_id = snapshot["lastUpdateId"].as_u64().unwrap();
    let mut book = MapBook::default();
    book.apply(&pairs(&snapshot["bids"]), &pairs(&snapshot["asks"]));
    book.check_sane(20);
    let mut prev_u = None;
    let mut applied = 0;
    let mut diffs = buffered.into_iter();
    while applied < 8 {
        let diff = diffs.next().unwrap_or_else(|| next_json(ws));
        let (first, last) = (diff["U"].as_u64().unwrap(), diff["u"].as_u64().unwrap());
        if last <= last_id {
            continue;
        }
        match prev_u {
            None if kind == MarketKind::Spot => {
                assert!(
                    first <= last_id + 1 && last_id < last,
                    "{first} {last_id} {last}"
                );
            }
            None => assert!(
                first <= last_id && last_id <= last,
                "{first} {last_id} {last}"
            ),
            Some(prev) => {
                assert_eq!(first, prev + 1);
                if kind == MarketKind::Perp {
                    assert_eq!(diff["pu"].as_u64(), Some(prev));
                }
            }
        }
        book.apply(&pairs(&diff["b"]), &pairs(&diff["a"]));
        prev_u = Some(last);
        applied += 1;
    }
    (book, prev_u.unwrap())
}

#[test]
fn test_binance_rest_snapshot_and_diffs_build_the_model_book() {
    let sim = start(SimConfig::default()).unwrap();
    let mut spot = connect(&sim, &sim.spot_url()).unwrap();
    subscribe(&mut spot, &["btcusdt@depth@100ms"], 1);
    assert_eq!(next_text(&mut spot), r#"{"result":null,"id":1}"#);
    let mut perp = connect(&sim, &sim.perp_url()).unwrap();
    subscribe(&mut perp, &["btcusdt@depth@100ms"], 1);
    assert_eq!(next_text(&mut perp), r#"{"result":null,"id":1}"#);
    let (spot_book, spot_u) = snapshot_procedure(&sim, MarketKind::Spot, &mut spot);
    let (perp_book, perp_u) = snapshot_procedure(&sim, MarketKind::Perp, &mut perp);
    let mut model = market::Model::new(&SimConfig::default(), 0).unwrap();
    let mut frames = Vec::new();
    for (kind, book, u) in [
        (MarketKind::Spot, spot_book, spot_u),
        (MarketKind::Perp, perp_book, perp_u),
    ] {
        while model.venues()[0].book(kind).last_diff_id() < u {
            model.step(&mut frames);
            frames.clear();
        }
        let truth = model.venues()[0].book(kind);
        assert_eq!(truth.last_diff_id(), u);
        assert_eq!(book.levels(), truth.levels());
    }
}

#[test]
fn test_binance_rest_errors_like_venue() {
    let sim = start(SimConfig::default()).unwrap();
    let (status, body) = http_get(&sim, "/api/v3/depth?symbol=ETHUSDT&limit=5");
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"code":-1121,"msg":"Invalid symbol."}"#)
    );
    let (status, body) = http_get(&sim, "/fapi/v1/depth?limit=5");
    assert_eq!(status, 400);
    assert!(body.starts_with(r#"{"code":-1102,"#));
    let (status, _) = http_get(&sim, "/api/v3/ticker");
    assert_eq!(status, 404);
    let (status, body) = http_get(&sim, "/api/v3/depth?symbol=BTCUSDT&limit=5");
    assert_eq!(status, 200);
    let snapshot: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(snapshot["bids"].as_array().unwrap().len(), 5);
}

/// The event types (`e`) of the frames a connection gets over `span_ms` of venue time
/// (at most 100 000 frames), sorted and deduplicated.
fn event_types_over(ws: &mut Client, span_ms: u64) -> Vec<String> {
    let mut types = Vec::new();
    let mut first_ms = None;
    for _ in 0..100_000 {
        let frame = next_json(ws);
        // Spot's book ticker is the one frame without an event type (or time).
        let e = frame["e"]
            .as_str()
            .or_else(|| frame["b"].is_string().then_some("bookTicker"));
        let Some(e) = e else {
            continue;
        };
        types.push(e.to_owned());
        let Some(ms) = frame["E"].as_u64() else {
            continue;
        };
        if ms - *first_ms.get_or_insert(ms) >= span_ms {
            break;
        }
    }
    types.sort();
    types.dedup();
    types
}

#[test]
fn test_binance_usdm_endpoint_groups_carry_only_their_streams() {
    let sim = start(SimConfig::default()).unwrap();
    let all = [
        "btcusdt@bookTicker",
        "btcusdt@depth@100ms",
        "btcusdt@trade",
        "btcusdt@markPrice@1s",
    ];
    let public_url = sim.binance_perp_url("public");
    assert!(
        public_url.ends_with("/binance/perp/public/ws"),
        "{public_url}"
    );
    let mut public = connect(&sim, &public_url).unwrap();
    let mut market = connect(&sim, &sim.binance_perp_url("market")).unwrap();
    let mut unrouted = connect(&sim, &sim.url(Venue::Binance, MarketKind::Perp)).unwrap();
    let mut spot = connect(&sim, &sim.spot_url()).unwrap();
    for ws in [&mut public, &mut market, &mut unrouted] {
        subscribe(ws, &all, 1);
        // Every USD-M stream is acknowledged, as the venue does on any group.
        assert_eq!(next_text(ws), r#"{"result":null,"id":1}"#);
    }
    subscribe(&mut spot, &all[..3], 1);
    assert_eq!(next_text(&mut spot), r#"{"result":null,"id":1}"#);
    // Over 2.5 s each connection gets several mark prices where they are served.
    assert_eq!(
        event_types_over(&mut market, 2_500),
        ["markPriceUpdate", "trade"]
    );
    assert_eq!(
        event_types_over(&mut public, 2_500),
        ["bookTicker", "depthUpdate"]
    );
    assert_eq!(
        event_types_over(&mut unrouted, 2_500),
        ["bookTicker", "depthUpdate"]
    );
    assert_eq!(
        event_types_over(&mut spot, 2_500),
        ["bookTicker", "depthUpdate", "trade"]
    );
}

#[test]
fn test_binance_usdm_group_paths_and_aliases() {
    let perp = Market {
        venue: Venue::Binance,
        kind: MarketKind::Perp,
    };
    let (public, market) = (market::PUBLIC_STREAMS, market::MARKET_STREAMS);
    assert_eq!(
        Market::from_path("/binance/perp/public/ws"),
        Some((perp, public))
    );
    assert_eq!(
        Market::from_path("/binance/perp/market/ws"),
        Some((perp, market))
    );
    assert_eq!(Market::from_path("/public/ws"), Some((perp, public)));
    assert_eq!(Market::from_path("/market/ws"), Some((perp, market)));
    assert_eq!(Market::from_path("/binance/perp"), Some((perp, public)));
    assert_eq!(Market::from_path("/ws/perp"), Some((perp, public)));
    assert_eq!(Market::from_path("/binance/perp/private/ws"), None);
    let okx_perp = Market {
        venue: Venue::Okx,
        kind: MarketKind::Perp,
    };
    assert_eq!(
        Market::from_path("/okx/perp"),
        Some((okx_perp, market::ALL_STREAMS))
    );
}

#[test]
fn test_binance_incoming_message_limit_disconnects_like_the_venue() {
    let sim = start(SimConfig::default()).unwrap();
    // Five requests in a second are allowed on spot: every one is answered.
    let mut spot = connect(&sim, &sim.spot_url()).unwrap();
    for id in 1..=5 {
        subscribe(&mut spot, &["btcusdt@trade"], id);
    }
    for id in 1..=5 {
        let reply = read_until(&mut spot, 10_000, |t| t.starts_with(r#"{"result""#));
        assert_eq!(reply, format!(r#"{{"result":null,"id":{id}}}"#));
    }
    // A sixth within the same second ends the connection with a policy close.
    let mut spot = connect(&sim, &sim.spot_url()).unwrap();
    for id in 1..=6 {
        subscribe(&mut spot, &["btcusdt@trade"], id);
    }
    let policy = tungstenite::protocol::frame::coding::CloseCode::Policy;
    let close = (0..100).find_map(|_| match spot.read() {
        Ok(Message::Close(frame)) => Some(frame.map(|f| f.code)),
        Ok(_) => None,
        Err(_) => Some(None),
    });
    assert_eq!(close, Some(Some(policy)));
    // USD-M allows ten.
    let mut public = connect(&sim, &sim.binance_perp_url("public")).unwrap();
    for id in 1..=10 {
        subscribe(&mut public, &["btcusdt@bookTicker"], id);
    }
    for id in 1..=10 {
        let reply = read_until(&mut public, 10_000, |t| t.starts_with(r#"{"result""#));
        assert_eq!(reply, format!(r#"{{"result":null,"id":{id}}}"#));
    }
}
