//! The L2 book's OKX checksum on real OKX v5 recordings from `../shared/data/okx`
//! (`books` and `books-l2-tbt`, snapshot then updates): after every message the book's
//! CRC32 equals the checksum OKX sent. The messages are parsed here with serde_json (test
//! only): this tests the book, not an OKX decoder. Skips (saying so) when the data is
//! absent, and fails instead under `CI=true`.

mod common;

use std::collections::HashMap;

use edgeline::book::{L2Book, Level};
use edgeline::types::{Price, Qty, Side};

fn levels(value: &serde_json::Value) -> Vec<Level> {
    value
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| Level {
                    price: Price::from_decimal_str(row[0].as_str().unwrap()).unwrap(),
                    qty: Qty::from_decimal_str(row[1].as_str().unwrap()).unwrap(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Replays every book message of a CF-WS log; returns (snapshots, checked, mismatched).
fn replay(prefix: &str, channel: &str) -> Option<(usize, usize, usize)> {
    let text = std::fs::read_to_string(common::data_file("okx", prefix)?).unwrap();
    let mut books: HashMap<String, L2Book> = HashMap::new();
    let (mut snapshots, mut checked, mut mismatched) = (0, 0, 0);
    for line in text.lines().filter(|l| !l.starts_with("wss://")) {
        let Some((_, payload)) = line.split_once(": ") else {
            continue;
        };
        let msg: serde_json::Value = serde_json::from_str(payload).unwrap();
        if msg["arg"]["channel"] != channel || msg.get("action").is_none() {
            continue;
        }
        let inst = msg["arg"]["instId"].as_str().unwrap().to_string();
        let book = books
            .entry(inst)
            .or_insert_with(|| L2Book::with_depth(5000));
        let data = &msg["data"][0];
        let (bids, asks) = (levels(&data["bids"]), levels(&data["asks"]));
        if msg["action"] == "snapshot" {
            snapshots += 1;
            book.apply_snapshot(&bids, &asks);
        } else {
            book.apply_batch(bids.iter().map(|l| (Side::Bid, l.price, l.qty)));
            book.apply_batch(asks.iter().map(|l| (Side::Ask, l.price, l.qty)));
        }
        let want = data["checksum"].as_i64().unwrap();
        checked += 1;
        mismatched += usize::from(i64::from(book.okx_checksum()) != want);
    }
    Some((snapshots, checked, mismatched))
}

#[test]
fn test_okx_books_checksums_all_match() {
    let Some((snapshots, checked, mismatched)) = replay("cryptofeed_2022-05-13_books", "books")
    else {
        return;
    };
    // MANIFEST: 3 snapshots, 287 updates.
    assert_eq!((snapshots, checked), (3, 290));
    assert_eq!(mismatched, 0);
}

#[test]
fn test_okx_books_l2_tbt_checksums_all_match() {
    let Some((snapshots, checked, mismatched)) =
        replay("cryptofeed_2021-07-22_books-l2-tbt", "books-l2-tbt")
    else {
        return;
    };
    // MANIFEST: 10 snapshots, 1,494 updates.
    assert_eq!((snapshots, checked), (10, 1_504));
    assert_eq!(mismatched, 0);
}
