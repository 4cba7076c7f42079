//! The Hyperliquid decoder on every real file of `../shared/data/hyperliquid`, read with
//! `edgeline::capture::read_file`: each message's decoded events equal the events derived
//! from the same message with serde_json (the reference, written here); channels the
//! decoder does not handle are `Unknown`; counts are asserted exactly; every decoded
//! `l2Book` snapshot is a sane book (bids strictly descending, asks strictly ascending,
//! best bid below best ask). Skips (saying so) when the data folder is absent, and fails
//! instead under `CI=true`.

mod common;

use std::collections::{BTreeMap, HashMap};

use edgeline::capture::{Direction, read_file};
use edgeline::feed::hyperliquid::{Decoded, HyperliquidDecoder};
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{
    EventBody, FundingFields, InstrumentId, MarketEvent, MarketKind, Price, Qty, Rate, Side,
};
use serde_json::Value;

/// Events as compared: instrument, venue time, body.
type Row = (InstrumentId, u64, EventBody);

/// Wire names → ids, shared by the perp and the spot decoder of a test.
struct Names(HashMap<String, InstrumentId>);

impl Names {
    fn new(names: &[&str]) -> Self {
        let ids = (0u32..).map(InstrumentId);
        Self(names.iter().map(|n| n.to_string()).zip(ids).collect())
    }

    fn map(&self) -> SymbolMap {
        let mut map = SymbolMap::default();
        for (name, id) in &self.0 {
            map.insert(name, *id);
        }
        map
    }

    fn id(&self, coin: &Value) -> InstrumentId {
        self.0[coin.as_str().unwrap()]
    }
}

fn px(v: &Value) -> Price {
    Price::from_decimal_str(v.as_str().unwrap()).unwrap()
}

fn qty(v: &Value) -> Qty {
    Qty::from_decimal_str(v.as_str().unwrap()).unwrap()
}

/// The reference: the events `msg` should decode to, `None` for an unhandled channel.
fn expected(msg: &Value, kind: MarketKind, names: &Names) -> Option<Vec<Row>> {
    let data = &msg["data"];
    match msg["channel"].as_str().unwrap() {
        "l2Book" => {
            let (id, time) = (names.id(&data["coin"]), data["time"].as_u64().unwrap());
            let sides = data["levels"].as_array().unwrap();
            let mut rows = Vec::new();
            for (side, levels) in [Side::Bid, Side::Ask].into_iter().zip(sides) {
                for l in levels.as_array().unwrap() {
                    let body = EventBody::DepthLevel {
                        side,
                        price: px(&l["px"]),
                        qty: qty(&l["sz"]),
                    };
                    rows.push((id, time, body));
                }
            }
            let header = EventBody::DepthBegin {
                first_update_id: time,
                last_update_id: time,
                prev_update_id: 0,
                levels: u16::try_from(rows.len()).unwrap(),
                snapshot: true,
                checksum: None,
            };
            rows.insert(0, (id, time, header));
            Some(rows)
        }
        "bbo" => {
            let (id, time) = (names.id(&data["coin"]), data["time"].as_u64().unwrap());
            let bbo = data["bbo"].as_array().unwrap();
            let (bid, ask) = (&bbo[0], bbo.get(1).unwrap_or(&Value::Null));
            if bid.is_null() || ask.is_null() {
                return Some(Vec::new());
            }
            let body = EventBody::TopOfBook {
                bid: px(&bid["px"]),
                bid_qty: qty(&bid["sz"]),
                ask: px(&ask["px"]),
                ask_qty: qty(&ask["sz"]),
                update_id: time,
            };
            Some(vec![(id, time, body)])
        }
        "trades" => Some(
            data.as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    let body = EventBody::Trade {
                        price: px(&t["px"]),
                        qty: qty(&t["sz"]),
                        aggressor: if t["side"] == "B" {
                            Side::Bid
                        } else {
                            Side::Ask
                        },
                        trade_id: t["tid"].as_u64().unwrap(),
                    };
                    (names.id(&t["coin"]), t["time"].as_u64().unwrap(), body)
                })
                .collect(),
        ),
        "activeAssetCtx" if kind == MarketKind::Perp => {
            let (id, ctx) = (names.id(&data["coin"]), &data["ctx"]);
            let funding = EventBody::Funding {
                mark: px(&ctx["markPx"]),
                index: px(&ctx["oraclePx"]),
                rate: Rate::from_decimal_str(ctx["funding"].as_str().unwrap()).unwrap(),
                next_funding_ms: 0,
                fields: FundingFields::MARK
                    .with(FundingFields::INDEX)
                    .with(FundingFields::RATE),
            };
            let oi = EventBody::OpenInterest {
                qty: qty(&ctx["openInterest"]),
            };
            Some(vec![(id, 0, funding), (id, 0, oi)])
        }
        _ => None,
    }
}

/// Every decoded snapshot: bids strictly descending, asks strictly ascending, bid < ask.
fn check_book(events: &[MarketEvent]) {
    let EventBody::DepthBegin { levels, .. } = events[0].body else {
        panic!("not a depth message: {:?}", events[0]);
    };
    let (mut bids, mut asks) = (Vec::new(), Vec::new());
    for event in &events[1..=usize::from(levels)] {
        match event.body {
            EventBody::DepthLevel {
                side: Side::Bid,
                price,
                ..
            } => bids.push(price),
            EventBody::DepthLevel { price, .. } => asks.push(price),
            other => panic!("not a level: {other:?}"),
        }
    }
    assert!(bids.windows(2).all(|w| w[0] > w[1]), "bids {bids:?}");
    assert!(asks.windows(2).all(|w| w[0] < w[1]), "asks {asks:?}");
    if let (Some(bid), Some(ask)) = (bids.first(), asks.first()) {
        assert!(bid < ask, "crossed: {bid} >= {ask}");
    }
}

/// Messages seen per channel, events decoded, and how many snapshots were checked.
#[derive(Debug, Default)]
struct Tally {
    channels: BTreeMap<String, usize>,
    events: usize,
    books: usize,
    unknown: usize,
}

/// Decodes every received message of a file (perp or spot decoder chosen by the coin:
/// spot names start with `@` or contain `/`) and compares it with the reference.
fn replay(venue_file: &str, names: &Names) -> Option<Tally> {
    let path = common::data_file("hyperliquid", venue_file)?;
    let mut perp = HyperliquidDecoder::new(MarketKind::Perp, names.map());
    let mut spot = HyperliquidDecoder::new(MarketKind::Spot, names.map());
    let mut buf = EventBuf::with_capacity(256);
    let mut t = Tally::default();
    for message in read_file(&path).unwrap() {
        assert_eq!(message.direction, Direction::Received);
        let msg: Value = serde_json::from_str(&message.payload).unwrap();
        let channel = msg["channel"].as_str().unwrap().to_string();
        *t.channels.entry(channel).or_default() += 1;
        let coin = msg["data"]["coin"].as_str().unwrap_or("");
        let is_spot = coin.starts_with('@') || coin.contains('/');
        let (decoder, kind) = if is_spot {
            (&mut spot, MarketKind::Spot)
        } else {
            (&mut perp, MarketKind::Perp)
        };
        buf.clear();
        let decoded = decoder.decode(message.payload.as_bytes(), 5, &mut buf);
        let context = &message.payload[..message.payload.len().min(160)];
        match expected(&msg, kind, names) {
            None => {
                assert_eq!(decoded, Ok(Decoded::Unknown), "{context}");
                t.unknown += 1;
            }
            Some(rows) => {
                assert_eq!(decoded, Ok(Decoded::Events(rows.len())), "{context}");
                let got: Vec<Row> = buf
                    .as_slice()
                    .iter()
                    .map(|e| (e.instrument, e.ts_venue_ms, e.body))
                    .collect();
                assert_eq!(got, rows, "{context}");
                assert!(buf.as_slice().iter().all(|e| e.ts_recv_raw == 5));
                t.events += rows.len();
            }
        }
        if msg["channel"] == "l2Book" {
            check_book(buf.as_slice());
            t.books += 1;
        }
    }
    Some(t)
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn test_hyperliquid_hftbacktest_btc_books_and_trades() {
    let names = Names::new(&["BTC"]);
    let Some(t) = replay("perp_hftbacktest_", &names) else {
        return;
    };
    // MANIFEST: 46 `l2Book` 20-level snapshots, 9 `trades` messages (64 trades in all).
    assert_eq!(t.channels, counts(&[("l2Book", 46), ("trades", 9)]));
    assert_eq!(t.books, 46);
    assert_eq!(t.events, 46 * (1 + 40) + 64);
    assert_eq!(t.unknown, 0);
}

#[test]
fn test_hyperliquid_all_dexs_asset_ctxs_is_unknown() {
    let names = Names::new(&["BTC", "ETH"]);
    let Some(t) = replay("perp_nautilus_allDexsAssetCtxs", &names) else {
        return;
    };
    assert_eq!(t.channels, counts(&[("allDexsAssetCtxs", 1)]));
    assert_eq!((t.unknown, t.events), (1, 0));
}

#[test]
fn test_hyperliquid_tardis_literals_perp_and_spot() {
    let names = Names::new(&["FXS", "BTC", "SHIA", "BANANA", "MOODENG", "@2", "@162"]);
    let Some(t) = replay("perp_spot_tardis-node_", &names) else {
        return;
    };
    let want = [
        ("trades", 4),
        ("l2Book", 2),
        ("activeAssetCtx", 1),
        ("activeSpotAssetCtx", 1),
        ("bbo", 2),
    ];
    assert_eq!(t.channels, counts(&want));
    // 6 trades; SHIA's empty book (1) and BANANA's 2+2 levels (5); MOODENG funding and
    // open interest (2); the `@162` bbo (1); the one-sided BTC bbo yields none.
    assert_eq!(t.events, 6 + 1 + 5 + 2 + 1);
    assert_eq!(t.unknown, 1);
}
