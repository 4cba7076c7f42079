//! OKX v5 over loopback: acks, `books` snapshot then updates with chained `seqId`s and
//! checksums that match the book rebuilt with `L2Book`, `bbo-tbt`, `trades`,
//! `funding-rate`, and `ping`/`pong`.

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

#[test]
fn test_okx_books_chain_checksums_and_channels() {
    let sim = start_venues(&[Venue::Okx]);
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
