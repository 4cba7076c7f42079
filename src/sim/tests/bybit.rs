//! Bybit v5 over loopback: acks, `orderbook.50` snapshot then contiguous deltas,
//! `tickers` snapshot then deltas, `publicTrade`, and pongs.

use super::*;

#[test]
fn test_bybit_orderbook_tickers_trades_and_ping() {
    let sim = start_venues(&[Venue::Bybit]);
    let mut perp = connect_market(&sim, Venue::Bybit, MarketKind::Perp);
    send(
        &mut perp,
        r#"{"op":"subscribe","args":["orderbook.50.BTCUSDT","tickers.BTCUSDT"],"req_id":"r1"}"#,
    );
    let ack = next_json(&mut perp);
    assert_eq!(ack["success"], true);
    assert_eq!(
        (ack["op"].as_str(), ack["req_id"].as_str()),
        (Some("subscribe"), Some("r1"))
    );
    assert!(ack["conn_id"].as_str().is_some_and(|c| !c.is_empty()));
    let mut spot = connect_market(&sim, Venue::Bybit, MarketKind::Spot);
    send(
        &mut spot,
        r#"{"op":"subscribe","args":["publicTrade.BTCUSDT"]}"#,
    );
    assert_eq!(next_json(&mut spot)["success"], true);

    let mut book = MapBook::default();
    let (mut last_u, mut last_seq, mut deltas) = (None::<u64>, 0, 0);
    let mut tickers = Vec::new();
    while deltas < 20 || tickers.len() < 3 {
        let v = next_json(&mut perp);
        let topic = v["topic"].as_str().unwrap();
        if topic == "tickers.BTCUSDT" {
            tickers.push(v);
            continue;
        }
        assert_eq!(topic, "orderbook.50.BTCUSDT");
        let data = &v["data"];
        let (u, seq) = (data["u"].as_u64().unwrap(), data["seq"].as_u64().unwrap());
        assert!(v["cts"].as_u64().unwrap() <= v["ts"].as_u64().unwrap());
        match last_u {
            None => {
                assert_eq!(v["type"], "snapshot");
                assert_eq!(data["b"].as_array().unwrap().len(), 50);
                assert_eq!(data["a"].as_array().unwrap().len(), 50);
            }
            Some(prev) => {
                assert_eq!(v["type"], "delta");
                assert_eq!(u, prev + 1);
                assert!(seq > last_seq);
                deltas += 1;
            }
        }
        book.apply(&pairs(&data["b"]), &pairs(&data["a"]));
        book.check_sane(50);
        (last_u, last_seq) = (Some(u), seq);
    }
    assert_eq!(tickers[0]["type"], "snapshot");
    for key in [
        "markPrice",
        "indexPrice",
        "openInterest",
        "fundingRate",
        "nextFundingTime",
    ] {
        assert!(tickers[0]["data"][key].is_string(), "{key}");
    }
    for delta in &tickers[1..] {
        assert_eq!(delta["type"], "delta");
        assert!(delta["data"]["markPrice"].is_string());
    }
    let mark = raw8_of(&tickers[0]["data"]["markPrice"]);
    let best_bid = *book.bids.last_key_value().unwrap().0;
    assert!(
        (mark - best_bid).abs() < best_bid / 1_000,
        "mark {mark} bid {best_bid}"
    );

    send(&mut perp, r#"{"op":"ping","req_id":"p"}"#);
    let pong = read_until(&mut perp, 1_000, |t| t.contains(r#""op":"ping""#));
    let pong: Value = serde_json::from_str(&pong).unwrap();
    assert_eq!(
        (pong["ret_msg"].as_str(), pong["req_id"].as_str()),
        (Some("pong"), Some("p"))
    );

    let trade = read_until(&mut spot, 1_000, |t| t.contains("publicTrade"));
    let trade: Value = serde_json::from_str(&trade).unwrap();
    let t = &trade["data"][0];
    assert!(matches!(t["S"].as_str(), Some("Buy" | "Sell")));
    assert!(raw8_of(&t["v"]) > 0 && raw8_of(&t["p"]) > 0);
    send(&mut spot, r#"{"op":"ping"}"#);
    let pong = read_until(&mut spot, 1_000, |t| t.contains(r#""op":"pong""#));
    assert!(pong.contains(r#""args":[""#));
}

#[test]
fn test_bybit_resubscribe_gets_a_fresh_snapshot() {
    let sim = start_venues(&[Venue::Bybit]);
    let mut perp = connect_market(&sim, Venue::Bybit, MarketKind::Perp);
    let mut spot = connect_market(&sim, Venue::Bybit, MarketKind::Spot);
    let sub = r#"{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}"#;
    send(&mut perp, sub);
    send(&mut spot, sub);
    for ws in [&mut perp, &mut spot] {
        assert_eq!(next_json(ws)["success"], true);
        assert_eq!(next_json(ws)["type"], "snapshot");
        assert_eq!(next_json(ws)["type"], "delta");
    }
    send(
        &mut spot,
        r#"{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}"#,
    );
    send(&mut spot, sub);
    read_until(&mut spot, 1_000, |t| t.contains(r#""op":"subscribe""#));
    let snapshot = read_until(&mut spot, 1_000, |t| t.contains("orderbook"));
    let snapshot: Value = serde_json::from_str(&snapshot).unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    let delta = next_json(&mut spot);
    assert_eq!(
        delta["data"]["u"].as_u64(),
        Some(snapshot["data"]["u"].as_u64().unwrap() + 1)
    );
}
