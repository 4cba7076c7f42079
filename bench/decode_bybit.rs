//! Criterion benchmarks of the Bybit decoder against a plain `serde_json` baseline, per
//! channel, on real linear messages from `../shared/data/bybit` (the cryptofeed v3
//! capture). Ids are `decode_bybit/<channel>/<variant>`: `edgeline` (the decoder, fast
//! path first), `edgeline_generic` (the sonic-rs path alone), `serde_json_derive`;
//! throughput is per message, so the variants of a channel compare directly. Run: `cargo bench --bench
//! decode_bybit`. Skips, saying so, when the data folder is absent.
//!
//! NB: the baseline is told the channel in advance (it deserializes straight into the
//! channel's struct), which the real decoder must find out from `topic`; it still pays
//! for a `String` per field and a `Vec` per level array, as typical adapters do.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgeline::capture::{self, Direction};
use edgeline::feed::bybit::{BybitDecoder, Decoded};
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{
    EventBody, FundingFields, InstrumentId, MarketEvent, MarketKind, Price, Qty, Rate, Side,
};
use serde::Deserialize;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The capture (linear and spot connections, told apart by URL).
const CAPTURE: &str =
    "v5_spot_linear_cryptofeed_2026-08_orderbook200_tickers_trades_BTC_ETH_SOL_DOGE.jsonl";
/// Messages kept per channel: enough variety, short iterations.
const MESSAGES_PER_CHANNEL_MAX: usize = 256;
/// Events of the largest frame: an `orderbook.200` snapshot of both sides.
const EVENTS_PER_FRAME_MAX: usize = 1 + 2 * 200;

fn symbols() -> SymbolMap {
    let mut map = SymbolMap::default();
    for (id, name) in (0..).zip(["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"]) {
        map.insert(name, InstrumentId(id));
    }
    map
}

/// One channel's messages and the baseline that decodes them.
struct Channel {
    id: &'static str,
    frames: Vec<String>,
    baseline: fn(&str, &SymbolMap, &mut EventBuf) -> usize,
}

/// Linear messages of the capture, grouped per channel.
fn channels() -> Option<Vec<Channel>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/bybit")
        .join(CAPTURE);
    if !path.exists() {
        eprintln!("SKIPPED: {} not found (real data absent)", path.display());
        return None;
    }
    let mut channels = [
        (
            "book_delta",
            baseline_book as fn(&str, &SymbolMap, &mut EventBuf) -> usize,
        ),
        ("book_snapshot", baseline_book),
        ("trade", baseline_trade),
        ("ticker", baseline_ticker),
    ]
    .map(|(id, baseline)| Channel {
        id,
        frames: Vec::new(),
        baseline,
    });
    for m in capture::read_file(&path).unwrap() {
        if m.direction != Direction::Received || !m.source.ends_with("/v5/public/linear") {
            continue;
        }
        if let Some(i) = channel_index(&m.payload)
            && channels[i].frames.len() < MESSAGES_PER_CHANNEL_MAX
        {
            channels[i].frames.push(m.payload);
        }
    }
    Some(channels.into())
}

/// Index into `channels()` of a message's channel (set-up only, so `serde_json::Value`).
fn channel_index(payload: &str) -> Option<usize> {
    let v: serde_json::Value = serde_json::from_str(payload).unwrap();
    let topic = v["topic"].as_str()?;
    match topic.split('.').next()? {
        "orderbook" if v["type"] == "delta" => Some(0),
        "orderbook" => Some(1),
        "publicTrade" => Some(2),
        "tickers" => Some(3),
        _ => None,
    }
}

/// Measures decoding one real message (fixed point included) into a reused buffer, by
/// the edgeline decoder (fast path first, and the generic path alone) and by the
/// `serde_json` derive baseline.
fn bench_decode_bybit(c: &mut Criterion) {
    let Some(channels) = channels() else {
        return;
    };
    let symbols = symbols();
    let mut decoder = BybitDecoder::new(MarketKind::Perp, symbols.clone());
    let mut buf = EventBuf::with_capacity(EVENTS_PER_FRAME_MAX);
    let mut group = c.benchmark_group("decode_bybit");
    for ch in &channels {
        let mut events_total = 0;
        for frame in &ch.frames {
            buf.clear();
            let Ok(Decoded::Events(n)) = decoder.decode(frame.as_bytes(), 1, &mut buf) else {
                panic!("not decoded: {frame}");
            };
            let decoded = buf.as_slice().to_vec();
            buf.clear();
            assert_eq!((ch.baseline)(frame, &symbols, &mut buf), n);
            assert_eq!(buf.as_slice(), decoded, "baseline differs on {frame}");
            events_total += n;
        }
        let count = u64::try_from(ch.frames.len()).unwrap();
        group.throughput(Throughput::Elements(count));
        group.bench_function(format!("{}/edgeline", ch.id), |b| {
            b.iter(|| {
                let mut events = 0;
                for frame in &ch.frames {
                    buf.clear();
                    if let Ok(Decoded::Events(n)) =
                        decoder.decode(black_box(frame.as_bytes()), 1, &mut buf)
                    {
                        events += n;
                    }
                }
                assert_eq!(events, events_total);
            })
        });
        group.bench_function(format!("{}/edgeline_generic", ch.id), |b| {
            b.iter(|| {
                let mut events = 0;
                for frame in &ch.frames {
                    buf.clear();
                    if let Ok(Decoded::Events(n)) =
                        decoder.decode_generic(black_box(frame.as_bytes()), 1, &mut buf)
                    {
                        events += n;
                    }
                }
                assert_eq!(events, events_total);
            })
        });
        group.bench_function(format!("{}/serde_json_derive", ch.id), |b| {
            b.iter(|| {
                let mut events = 0;
                for frame in &ch.frames {
                    buf.clear();
                    events += (ch.baseline)(black_box(frame), &symbols, &mut buf);
                }
                assert_eq!(events, events_total);
            })
        });
    }
    group.finish();
}

#[derive(Deserialize)]
struct BookMsg {
    #[serde(rename = "type")]
    kind: String,
    ts: u64,
    data: BookData,
}

#[derive(Deserialize)]
struct BookData {
    s: String,
    b: Vec<[String; 2]>,
    a: Vec<[String; 2]>,
    u: u64,
}

#[derive(Deserialize)]
struct TradeMsg {
    data: Vec<TradeData>,
}

#[derive(Deserialize)]
struct TradeData {
    #[serde(rename = "T")]
    time: u64,
    s: String,
    #[serde(rename = "S")]
    side: String,
    v: String,
    p: String,
    i: String,
}

#[derive(Deserialize)]
struct TickerMsg {
    ts: u64,
    data: TickerData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TickerData {
    symbol: String,
    mark_price: Option<String>,
    index_price: Option<String>,
    funding_rate: Option<String>,
    next_funding_time: Option<String>,
    open_interest: Option<String>,
}

fn event(ts_venue_ms: u64, instrument: InstrumentId, body: EventBody) -> MarketEvent {
    MarketEvent {
        ts_recv_raw: 1,
        ts_venue_ms,
        instrument,
        body,
    }
}

fn baseline_book(frame: &str, symbols: &SymbolMap, out: &mut EventBuf) -> usize {
    let msg: BookMsg = serde_json::from_str(frame).unwrap();
    let d = msg.data;
    let id = symbols.get(&d.s).unwrap();
    let begin = EventBody::DepthBegin {
        first_update_id: d.u,
        last_update_id: d.u,
        prev_update_id: 0,
        levels: u16::try_from(d.b.len() + d.a.len()).unwrap(),
        snapshot: msg.kind == "snapshot",
        checksum: None,
    };
    out.push(event(msg.ts, id, begin)).unwrap();
    let sides = d.b.iter().map(|l| (Side::Bid, l));
    for (side, [price, qty]) in sides.chain(d.a.iter().map(|l| (Side::Ask, l))) {
        let body = EventBody::DepthLevel {
            side,
            price: Price::from_decimal_str(price).unwrap(),
            qty: Qty::from_decimal_str(qty).unwrap(),
        };
        out.push(event(msg.ts, id, body)).unwrap();
    }
    out.len()
}

fn baseline_trade(frame: &str, symbols: &SymbolMap, out: &mut EventBuf) -> usize {
    let msg: TradeMsg = serde_json::from_str(frame).unwrap();
    for t in msg.data {
        let body = EventBody::Trade {
            price: Price::from_decimal_str(&t.p).unwrap(),
            qty: Qty::from_decimal_str(&t.v).unwrap(),
            aggressor: if t.side == "Buy" {
                Side::Bid
            } else {
                Side::Ask
            },
            trade_id: t.i.parse().unwrap_or(0),
        };
        out.push(event(t.time, symbols.get(&t.s).unwrap(), body))
            .unwrap();
    }
    out.len()
}

/// A ticker field that is present and not the empty string.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

fn baseline_ticker(frame: &str, symbols: &SymbolMap, out: &mut EventBuf) -> usize {
    let msg: TickerMsg = serde_json::from_str(frame).unwrap();
    let d = msg.data;
    let id = symbols.get(&d.symbol).unwrap();
    let mut fields = FundingFields::default();
    for (value, field) in [
        (&d.mark_price, FundingFields::MARK),
        (&d.index_price, FundingFields::INDEX),
        (&d.funding_rate, FundingFields::RATE),
        (&d.next_funding_time, FundingFields::NEXT_FUNDING),
    ] {
        if given(value).is_some() {
            fields = fields.with(field);
        }
    }
    let price = |v| given(v).map_or(Price::ZERO, |s| Price::from_decimal_str(s).unwrap());
    if !fields.is_empty() {
        let body = EventBody::Funding {
            mark: price(&d.mark_price),
            index: price(&d.index_price),
            rate: given(&d.funding_rate).map_or(Rate::ZERO, |s| Rate::from_decimal_str(s).unwrap()),
            next_funding_ms: given(&d.next_funding_time).map_or(0, |s| s.parse().unwrap()),
            fields,
        };
        out.push(event(msg.ts, id, body)).unwrap();
    }
    if let Some(oi) = given(&d.open_interest) {
        let body = EventBody::OpenInterest {
            qty: Qty::from_decimal_str(oi).unwrap(),
        };
        out.push(event(msg.ts, id, body)).unwrap();
    }
    out.len()
}

criterion_group!(decode_bybit, bench_decode_bybit);
criterion_main!(decode_bybit);
