//! OKX v5 over loopback: acks, `books` updates with chained `seqId`s, `bbo-tbt`,
//! `trades`, `funding-rate`, and `ping`/`pong`; in the form before 2026 a snapshot first
//! and checksums that match the book rebuilt with `L2Book`; in the 2026 form checksum 0,
//! no snapshot, and the REST order book whose `seqId` the updates bridge to.

use super::*;
use crate::book::L2Book;
use crate::types::{Qty, Side};

/// Applies a `books` message's levels (strings as sent) to an `L2Book`.
fn apply(book: &mut L2Book, data: &Value) {
    for (side, key) in [(Side::Bid, "bids"), (Side::Ask, "asks")] {
        for level in data[key].as_array().unwrap() {
            let price = Price::from_decimal_str(level[0].as_str().unwrap()).unwrap();
            let qty = Qty::from_decimal_str(level[1].as_str().unwrap()).unwrap();
            assert_eq!(level[2], "0");
            book.apply(side, price, qty);
        }
    }
}

/// A simulator of OKX's BTC markets in the given form.
fn start_okx(snapshot_push: bool, checksums: bool) -> SimHandle {
    start(SimConfig {
        venues: vec![SimVenue::btc(Venue::Okx)],
        okx_snapshot_push: snapshot_push,
        okx_checksums: checksums,
        ..SimConfig::default()
    })
    .unwrap()
}

/// Subscribes `ws` to `books` of `inst`, and a second connection to the other market's
/// trades (the model starts once every market has a subscriber); returns that one.
fn subscribe_books(sim: &SimHandle, ws: &mut Client, inst: &str) -> Client {
    send(
        ws,
        &format!(r#"{{"op":"subscribe","args":[{{"channel":"books","instId":"{inst}"}}]}}"#),
    );
    assert_eq!(next_json(ws)["event"], "subscribe");
    let (kind, other) = if inst.ends_with("-SWAP") {
        (MarketKind::Spot, "BTC-USDT")
    } else {
        (MarketKind::Perp, "BTC-USDT-SWAP")
    };
    let mut second = connect_market(sim, Venue::Okx, kind);
    send(
        &mut second,
        &format!(r#"{{"op":"subscribe","args":[{{"channel":"trades","instId":"{other}"}}]}}"#),
    );
    assert_eq!(next_json(&mut second)["event"], "subscribe");
    second
}

/// The next `books` push of a connection subscribed to `books` alone.
fn next_books(ws: &mut Client) -> Value {
    let v = next_json(ws);
    assert_eq!(v["arg"]["channel"], "books", "{v}");
    v
}

#[test]
fn test_okx_legacy_books_chain_checksums_and_channels() {
    let sim = start_okx(true, true);
    let mut spot = connect_market(&sim, Venue::Okx, MarketKind::Spot);
    send(
        &mut spot,
        r#"{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"bbo-tbt","instId":"BTC-USDT"}]}"#,
    );
    for channel in ["books", "bbo-tbt"] {
        let ack = next_json(&mut spot);
        assert_eq!(ack["event"], "subscribe");
        assert_eq!(ack["arg"]["channel"], channel);
        assert_eq!(ack["arg"]["instId"], "BTC-USDT");
        assert!(ack["connId"].is_string());
    }
    let mut perp = connect_market(&sim, Venue::Okx, MarketKind::Perp);
    send(
        &mut perp,
        r#"{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT-SWAP"},{"channel":"funding-rate","instId":"BTC-USDT-SWAP"}]}"#,
    );
    assert_eq!(next_json(&mut perp)["event"], "subscribe");
    assert_eq!(next_json(&mut perp)["event"], "subscribe");

    let mut book = L2Book::with_depth(400);
    let (mut last_seq, mut updates, mut bbos) = (None::<i64>, 0, 0);
    while updates < 10 || bbos < 3 {
        let v = next_json(&mut spot);
        let channel = v["arg"]["channel"].as_str().unwrap();
        let data = &v["data"][0];
        if channel == "bbo-tbt" {
            assert_eq!(data["asks"].as_array().unwrap().len(), 1);
            assert!(data["ts"].is_string());
            bbos += 1;
            continue;
        }
        assert_eq!(channel, "books");
        let (seq, prev) = (
            data["seqId"].as_i64().unwrap(),
            data["prevSeqId"].as_i64().unwrap(),
        );
        match last_seq {
            None => {
                assert_eq!((v["action"].as_str(), prev), (Some("snapshot"), -1));
                assert_eq!(data["bids"].as_array().unwrap().len(), 100);
            }
            Some(last) => {
                assert_eq!(v["action"], "update");
                assert_eq!(prev, last);
                assert!(seq > prev);
                updates += 1;
            }
        }
        apply(&mut book, data);
        let checksum = i32::try_from(data["checksum"].as_i64().unwrap()).unwrap();
        assert_eq!(book.okx_checksum(), checksum, "seqId {seq}");
        last_seq = Some(seq);
    }

    send(&mut spot, "ping");
    read_until(&mut spot, 1_000, |t| t == "pong");
    let funding = read_until(&mut perp, 1_000, |t| t.contains("funding-rate"));
    let funding: Value = serde_json::from_str(&funding).unwrap();
    assert_eq!(funding["data"][0]["instType"], "SWAP");
    assert!(funding["data"][0]["fundingRate"].is_string());
    let trade = read_until(&mut perp, 1_000, |t| t.contains(r#""channel":"trades""#));
    let trade: Value = serde_json::from_str(&trade).unwrap();
    assert!(matches!(
        trade["data"][0]["side"].as_str(),
        Some("buy" | "sell")
    ));

    send(
        &mut perp,
        r#"{"op":"subscribe","args":[{"channel":"books5","instId":"BTC-USDT-SWAP"}]}"#,
    );
    let error = read_until(&mut perp, 1_000, |t| t.contains(r#""event":"error""#));
    assert!(error.contains(r#""code":"60018""#));
}

#[test]
fn test_okx_2026_books_have_no_snapshot_and_zero_checksums() {
    let sim = start_venues(&[Venue::Okx]);
    let mut spot = connect_market(&sim, Venue::Okx, MarketKind::Spot);
    let _perp = subscribe_books(&sim, &mut spot, "BTC-USDT");
    let mut last = None;
    for _ in 0..5 {
        let v = next_books(&mut spot);
        assert_eq!(v["action"], "update", "no snapshot push");
        let data = &v["data"][0];
        assert_eq!(data["checksum"], 0);
        let (seq, prev) = (
            data["seqId"].as_i64().unwrap(),
            data["prevSeqId"].as_i64().unwrap(),
        );
        if let Some(last) = last {
            assert_eq!(prev, last);
        }
        assert!(seq > prev);
        last = Some(seq);
    }
}

#[test]
fn test_okx_rest_book_bridges_the_updates_by_seq_id() {
    // Real checksums without a snapshot push: every update after the bridge must give
    // the checksum OKX computed, so the REST book and its `seqId` are exact.
    let sim = start_okx(false, true);
    let mut perp = connect_market(&sim, Venue::Okx, MarketKind::Perp);
    let _spot = subscribe_books(&sim, &mut perp, "BTC-USDT-SWAP");
    let buffered: Vec<Value> = (0..3).map(|_| next_books(&mut perp)).collect();
    let (status, body) =
        super::binance::http_get(&sim, "/api/v5/market/books?instId=BTC-USDT-SWAP&sz=400");
    assert_eq!(status, 200, "{body}");
    let rest: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rest["code"], "0");
    let snapshot = &rest["data"][0];
    assert!(snapshot.get("checksum").is_none() && snapshot.get("prevSeqId").is_none());
    assert!(snapshot["ts"].is_string());
    let snapshot_seq = snapshot["seqId"].as_i64().unwrap();
    assert!(snapshot_seq >= buffered[2]["data"][0]["seqId"].as_i64().unwrap());
    let mut book = L2Book::with_depth(400);
    apply(&mut book, snapshot);
    let (mut last, mut applied) = (None::<i64>, 0);
    for v in buffered
        .into_iter()
        .chain(std::iter::repeat_with(|| next_books(&mut perp)))
    {
        let data = &v["data"][0];
        let (seq, prev) = (
            data["seqId"].as_i64().unwrap(),
            data["prevSeqId"].as_i64().unwrap(),
        );
        match last {
            None if prev != snapshot_seq && seq <= snapshot_seq => continue,
            None => assert!(prev <= snapshot_seq && snapshot_seq < seq || prev == snapshot_seq),
            Some(last) => assert_eq!(prev, last),
        }
        apply(&mut book, data);
        let checksum = i32::try_from(data["checksum"].as_i64().unwrap()).unwrap();
        assert_eq!(
            book.okx_checksum(),
            checksum,
            "seqId {seq} after REST {snapshot_seq}"
        );
        last = Some(seq);
        applied += 1;
        if applied == 10 {
            break;
        }
    }
}

#[test]
fn test_okx_rest_book_refusals() {
    let sim = start_venues(&[Venue::Okx]);
    for (target, code) in [
        ("/api/v5/market/books", "50014"),
        ("/api/v5/market/books?instId=ETH-USDT", "51001"),
        ("/api/v5/market/books?instId=BTC-USDT&sz=401", "51000"),
        ("/api/v5/market/books?instId=BTC-USDT&sz=x", "51000"),
    ] {
        let (status, body) = super::binance::http_get(&sim, target);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, v["code"].as_str()), (400, Some(code)), "{target}");
        assert_eq!(v["data"], serde_json::json!([]));
    }
    let (status, body) = super::binance::http_get(&sim, "/api/v5/market/books?instId=BTC-USDT");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        v["data"][0]["bids"].as_array().unwrap().len(),
        1,
        "sz defaults to 1"
    );
}
