//! Criterion benchmarks of the OKX decoder on real messages from `../shared/data/okx`,
//! one group per channel: `edgeline` (the decoder: fast path first) and
//! `edgeline_generic` (the sonic-rs single-pass path alone) beside
//! `serde_json` (a plain `#[derive(Deserialize)]` baseline with `String`/`Vec` fields,
//! converted to the same events with `Price::from_decimal_str`), every message of the
//! channel once per iteration (throughput per message). Ids are
//! `decode/okx_<channel>/<variant>`. Run: `cargo bench --bench decode_okx`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgeline::capture::{self, Direction};
use edgeline::feed::okx::{Decoded, OkxDecoder};
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{EventBody, InstrumentId, MarketEvent, MarketKind, Price, Qty, Side};
use serde::Deserialize;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Channels measured, and the file prefix each is taken from.
const CHANNELS: [(&str, &str); 5] = [
    ("books", "cryptofeed_2022-05-13_books"),
    ("books-l2-tbt", "cryptofeed_2021-07-22_books-l2-tbt"),
    ("trades", "cryptofeed_2022-05-13_books"),
    ("bbo-tbt", "crypto-msg-parser_"),
    ("books5", "crypto-msg-parser_"),
];

/// Largest frame, in events: a `books` snapshot is 400 levels a side.
const EVENTS_MAX: usize = 4096;

#[derive(Deserialize)]
struct Push<T> {
    arg: Arg,
    action: Option<String>,
    data: Vec<T>,
}

#[derive(Deserialize)]
struct Arg {
    #[serde(rename = "instId")]
    inst_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookData {
    asks: Vec<Vec<String>>,
    bids: Vec<Vec<String>>,
    ts: String,
    checksum: Option<i32>,
    seq_id: Option<u64>,
    prev_seq_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TradeData {
    trade_id: String,
    px: String,
    sz: String,
    side: String,
    ts: String,
}

fn event(body: EventBody, ts: &str, instrument: InstrumentId) -> MarketEvent {
    MarketEvent {
        ts_recv_raw: 1,
        ts_venue_ms: ts.parse().unwrap(),
        instrument,
        body,
    }
}

fn level(side: Side, row: &[String]) -> EventBody {
    EventBody::DepthLevel {
        side,
        price: Price::from_decimal_str(&row[0]).unwrap(),
        qty: Qty::from_decimal_str(&row[1]).unwrap(),
    }
}

/// The baseline: serde_json into owned structs of the (known) channel, then the same
/// events.
fn baseline(channel: &str, frame: &[u8], symbols: &SymbolMap, out: &mut EventBuf) -> usize {
    let start = out.len();
    match channel {
        "trades" => {
            let push: Push<TradeData> = serde_json::from_slice(frame).unwrap();
            let instrument = symbols.get(&push.arg.inst_id).unwrap();
            for t in &push.data {
                let body = EventBody::Trade {
                    price: Price::from_decimal_str(&t.px).unwrap(),
                    qty: Qty::from_decimal_str(&t.sz).unwrap(),
                    aggressor: if t.side == "buy" {
                        Side::Bid
                    } else {
                        Side::Ask
                    },
                    trade_id: t.trade_id.parse().unwrap_or(0),
                };
                out.push(event(body, &t.ts, instrument)).unwrap();
            }
        }
        "bbo-tbt" => {
            let push: Push<BookData> = serde_json::from_slice(frame).unwrap();
            let instrument = symbols.get(&push.arg.inst_id).unwrap();
            for d in &push.data {
                if let (Some(bid), Some(ask)) = (d.bids.first(), d.asks.first()) {
                    let body = EventBody::TopOfBook {
                        bid: Price::from_decimal_str(&bid[0]).unwrap(),
                        bid_qty: Qty::from_decimal_str(&bid[1]).unwrap(),
                        ask: Price::from_decimal_str(&ask[0]).unwrap(),
                        ask_qty: Qty::from_decimal_str(&ask[1]).unwrap(),
                        update_id: d.ts.parse().unwrap(),
                    };
                    out.push(event(body, &d.ts, instrument)).unwrap();
                }
            }
        }
        _ => {
            let push: Push<BookData> = serde_json::from_slice(frame).unwrap();
            let instrument = symbols.get(&push.arg.inst_id).unwrap();
            let snapshot = channel == "books5" || push.action.as_deref() == Some("snapshot");
            for d in &push.data {
                let seq = d.seq_id.unwrap_or(0);
                let begin = EventBody::DepthBegin {
                    first_update_id: seq,
                    last_update_id: seq,
                    prev_update_id: d.prev_seq_id.map_or(0, |p| u64::try_from(p).unwrap_or(0)),
                    levels: u16::try_from(d.asks.len() + d.bids.len()).unwrap(),
                    snapshot,
                    checksum: d.checksum,
                };
                out.push(event(begin, &d.ts, instrument)).unwrap();
                for (side, rows) in [(Side::Ask, &d.asks), (Side::Bid, &d.bids)] {
                    for row in rows {
                        out.push(event(level(side, row), &d.ts, instrument))
                            .unwrap();
                    }
                }
            }
        }
    }
    out.len() - start
}

/// The received messages of `channel` in the first file named `prefix`, with every
/// instrument they name configured; `None` (said) when the data is absent.
fn messages(channel: &str, prefix: &str) -> Option<(Vec<Vec<u8>>, SymbolMap)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/okx");
    let path = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        });
    let Some(path) = path else {
        eprintln!("SKIPPED: {}/{prefix}* not found", dir.display());
        return None;
    };
    let mut symbols = SymbolMap::default();
    let mut frames = Vec::new();
    for m in capture::read_file(&path).unwrap() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&m.payload) else {
            continue;
        };
        if m.direction != Direction::Received
            || v["arg"]["channel"] != channel
            || v.get("event").is_some()
        {
            continue;
        }
        let inst = v["arg"]["instId"].as_str().unwrap();
        if symbols.get(inst).is_none() {
            symbols.insert(inst, InstrumentId(u32::try_from(frames.len()).unwrap()));
        }
        frames.push(m.payload.into_bytes());
    }
    Some((frames, symbols))
}

/// Measures decoding every real message of each channel into a reused buffer (fast path
/// first, and the generic path alone), against the serde_json baseline; all produce the
/// same events (asserted before timing).
fn bench_decode_okx(c: &mut Criterion) {
    let mut buf = EventBuf::with_capacity(EVENTS_MAX);
    for (channel, prefix) in CHANNELS {
        let Some((frames, symbols)) = messages(channel, prefix) else {
            continue;
        };
        let mut decoder = OkxDecoder::new(MarketKind::Perp, symbols.clone());
        let mut check = EventBuf::with_capacity(EVENTS_MAX);
        let counts: Vec<usize> = frames
            .iter()
            .map(|f| {
                buf.clear();
                check.clear();
                baseline(channel, f, &symbols, &mut check);
                match decoder.decode(f, 1, &mut buf) {
                    Ok(Decoded::Events(n)) => {
                        assert_eq!(buf.as_slice(), check.as_slice());
                        n
                    }
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        let mut group = c.benchmark_group(format!("decode/okx_{channel}"));
        // Every variant decodes every message once per iteration, so all three are timed
        // (and counted under callgrind) on the same messages.
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function("edgeline", |b| {
            b.iter(|| {
                for (f, &n) in frames.iter().zip(&counts) {
                    buf.clear();
                    let r = decoder.decode(black_box(f), 1, &mut buf);
                    assert_eq!(r, Ok(Decoded::Events(n)));
                }
            })
        });
        let generic = decoder.clone();
        group.bench_function("edgeline_generic", |b| {
            b.iter(|| {
                for (f, &n) in frames.iter().zip(&counts) {
                    buf.clear();
                    let r = generic.decode_generic(black_box(f), 1, &mut buf);
                    assert_eq!(r, Ok(Decoded::Events(n)));
                }
            })
        });
        group.bench_function("serde_json", |b| {
            b.iter(|| {
                for (f, &n) in frames.iter().zip(&counts) {
                    buf.clear();
                    let got = baseline(channel, black_box(f), &symbols, &mut buf);
                    assert_eq!(got, n);
                }
            })
        });
        group.finish();
    }
}

criterion_group!(decode_okx, bench_decode_okx);
criterion_main!(decode_okx);
