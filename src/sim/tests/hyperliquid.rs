//! Hyperliquid over loopback: `subscriptionResponse`, `l2Book` snapshots, `bbo`,
//! `trades`, `activeAssetCtx`, and `ping`/`pong`.

use super::*;

/// `[{"px","sz","n"}, ..]` as raw `(price, qty)` pairs.
fn hl_levels(levels: &Value) -> Vec<(i64, i64)> {
    levels
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert!(l["n"].as_u64().unwrap() >= 1);
            let px = l["px"].as_str().unwrap();
            assert!(px.contains('.'), "{px}");
            (raw8(px), raw8_of(&l["sz"]))
        })
        .collect()
}

#[test]
fn test_hyperliquid_snapshots_channels_and_ping() {
    let sim = start_venues(&[Venue::Hyperliquid]);
    let mut perp = connect_market(&sim, Venue::Hyperliquid, MarketKind::Perp);
    for kind in ["l2Book", "bbo", "activeAssetCtx"] {
        send(
            &mut perp,
            &format!(r#"{{"method":"subscribe","subscription":{{"type":"{kind}","coin":"BTC"}}}}"#),
        );
    }
    for kind in ["l2Book", "bbo", "activeAssetCtx"] {
        let ack = next_json(&mut perp);
        assert_eq!(ack["channel"], "subscriptionResponse");
        assert_eq!(ack["data"]["method"], "subscribe");
        assert_eq!(ack["data"]["subscription"]["type"], kind);
        assert_eq!(ack["data"]["subscription"]["coin"], "BTC");
    }
    let mut spot = connect_market(&sim, Venue::Hyperliquid, MarketKind::Spot);
    send(
        &mut spot,
        r#"{"method":"subscribe","subscription":{"type":"trades","coin":"@142"}}"#,
    );
    assert_eq!(next_json(&mut spot)["channel"], "subscriptionResponse");

    let (mut books, mut last_time, mut bbos, mut ctxs) = (0, 0, 0, 0);
    while books < 3 || bbos < 2 || ctxs < 1 {
        let v = next_json(&mut perp);
        let data = &v["data"];
        match v["channel"].as_str().unwrap() {
            "l2Book" => {
                assert_eq!(data["coin"], "BTC");
                let time = data["time"].as_u64().unwrap();
                assert!(time > last_time);
                last_time = time;
                let mut book = MapBook::default();
                let (bids, asks) = (hl_levels(&data["levels"][0]), hl_levels(&data["levels"][1]));
                assert!(bids.windows(2).all(|w| w[0].0 > w[1].0));
                assert!(asks.windows(2).all(|w| w[0].0 < w[1].0));
                book.apply(&bids, &asks);
                book.check_sane(20);
                books += 1;
            }
            "bbo" => {
                let bbo = hl_levels(&data["bbo"]);
                assert!(bbo[0].0 < bbo[1].0);
                bbos += 1;
            }
            "activeAssetCtx" => {
                let ctx = &data["ctx"];
                for key in ["funding", "openInterest", "markPx", "oraclePx"] {
                    assert!(ctx[key].is_string(), "{key}");
                }
                ctxs += 1;
            }
            other => panic!("unexpected channel {other}"),
        }
    }
    send(&mut perp, r#"{"method":"ping"}"#);
    read_until(&mut perp, 1_000, |t| t == r#"{"channel":"pong"}"#);
    let trade = read_until(&mut spot, 1_000, |t| t.contains(r#""channel":"trades""#));
    let trade: Value = serde_json::from_str(&trade).unwrap();
    assert_eq!(trade["data"][0]["coin"], "@142");
    assert!(matches!(trade["data"][0]["side"].as_str(), Some("A" | "B")));
}
