//! Binance decode on real recorded messages (`../shared/data/binance`, hftbacktest
//! captures: spot and USD-M, combined-stream envelopes), per channel: edgeline's decoder
//! (`edgeline`: fast path first; `edgeline_generic`: the sonic-rs path alone) against a
//! plain `serde_json` derive decoder producing the same events (the baseline). Ids are
//! `decode_binance/<market>_<channel>/{edgeline,edgeline_generic,serde_json}`, every
//! message of the channel once per iteration (throughput per message).
//! Run: `cargo bench --bench decode_binance`. Figures go to LATENCY.md.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgeline::capture;
use edgeline::feed::binance::BinanceDecoder;
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{EventBody, InstrumentId, MarketEvent, Price, Qty, Side};
use serde::Deserialize;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Messages per channel cycled through by the benchmark.
const SAMPLE: usize = 2_000;

fn data(prefix: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/binance");
    let found = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with(prefix));
    if found.is_none() {
        eprintln!("SKIPPED: {}/{prefix}* not found", dir.display());
    }
    found.map(|e| e.path())
}

/// The first `SAMPLE` messages of a stream (`@bookTicker`, `@depth`, `@trade`).
fn messages(prefix: &str, stream: &str) -> Vec<String> {
    let Some(path) = data(prefix) else {
        return Vec::new();
    };
    capture::read_file(&path)
        .expect("capture reads")
        .into_iter()
        .filter(|m| m.payload.contains(stream))
        .take(SAMPLE)
        .map(|m| m.payload)
        .collect()
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct BookTickerJson {
    u: u64,
    s: String,
    b: String,
    #[serde(rename = "B")]
    bid_qty: String,
    a: String,
    #[serde(rename = "A")]
    ask_qty: String,
    #[serde(rename = "E")]
    event_ms: Option<u64>,
}

#[derive(Deserialize)]
struct DepthJson {
    #[serde(rename = "E")]
    event_ms: u64,
    s: String,
    #[serde(rename = "U")]
    first: u64,
    u: u64,
    pu: Option<u64>,
    b: Vec<[String; 2]>,
    a: Vec<[String; 2]>,
}

#[derive(Deserialize)]
struct TradeJson {
    #[serde(rename = "E")]
    event_ms: u64,
    s: String,
    t: u64,
    p: String,
    q: String,
    m: bool,
}

fn event(instrument: InstrumentId, ts_venue_ms: u64, body: EventBody) -> MarketEvent {
    MarketEvent {
        ts_recv_raw: 1,
        ts_venue_ms,
        instrument,
        body,
    }
}

fn px(s: &str) -> Price {
    Price::from_decimal_str(s).expect("price")
}

fn qty(s: &str) -> Qty {
    Qty::from_decimal_str(s).expect("qty")
}

/// The baseline: serde_json into owned structs, then the same events.
fn baseline(symbols: &SymbolMap, frame: &str, out: &mut EventBuf) {
    if frame.contains("@bookTicker") {
        let m: Envelope<BookTickerJson> = serde_json::from_str(frame).expect("json");
        let d = m.data;
        let id = symbols.get(&d.s).expect("symbol");
        let body = EventBody::TopOfBook {
            bid: px(&d.b),
            bid_qty: qty(&d.bid_qty),
            ask: px(&d.a),
            ask_qty: qty(&d.ask_qty),
            update_id: d.u,
        };
        out.push(event(id, d.event_ms.unwrap_or(0), body))
            .expect("room");
    } else if frame.contains("@depth") {
        let m: Envelope<DepthJson> = serde_json::from_str(frame).expect("json");
        let d = m.data;
        let id = symbols.get(&d.s).expect("symbol");
        let levels = u16::try_from(d.b.len() + d.a.len()).expect("levels");
        let begin = EventBody::DepthBegin {
            first_update_id: d.first,
            last_update_id: d.u,
            prev_update_id: d.pu.unwrap_or(0),
            levels,
            snapshot: false,
            checksum: None,
        };
        out.push(event(id, d.event_ms, begin)).expect("room");
        for (side, rows) in [(Side::Bid, &d.b), (Side::Ask, &d.a)] {
            for [p, q] in rows {
                let body = EventBody::DepthLevel {
                    side,
                    price: px(p),
                    qty: qty(q),
                };
                out.push(event(id, d.event_ms, body)).expect("room");
            }
        }
    } else {
        let m: Envelope<TradeJson> = serde_json::from_str(frame).expect("json");
        let d = m.data;
        let id = symbols.get(&d.s).expect("symbol");
        let body = EventBody::Trade {
            price: px(&d.p),
            qty: qty(&d.q),
            aggressor: if d.m { Side::Ask } else { Side::Bid },
            trade_id: d.t,
        };
        out.push(event(id, d.event_ms, body)).expect("room");
    }
}

fn bench_decode(c: &mut Criterion) {
    let mut symbols = SymbolMap::default();
    symbols.insert("BTCUSDT", InstrumentId(0));
    let decoder = BinanceDecoder::new(symbols.clone());
    let mut buf = EventBuf::with_capacity(4096);
    let mut group = c.benchmark_group("decode_binance");
    for (market, prefix) in [("spot", "spot_hftbacktest_"), ("usdm", "usdm_hftbacktest_")] {
        for (channel, stream) in [
            ("book_ticker", "@bookTicker"),
            ("depth", "@depth"),
            ("trade", "@trade"),
        ] {
            let frames = messages(prefix, stream);
            if frames.is_empty() {
                continue;
            }
            // Both decoders must agree on every message before either is timed.
            let mut check = EventBuf::with_capacity(4096);
            for f in &frames {
                buf.clear();
                check.clear();
                decoder.decode(f.as_bytes(), 1, &mut buf).expect("decodes");
                baseline(&symbols, f, &mut check);
                assert_eq!(buf.as_slice(), check.as_slice(), "{f}");
            }
            // Every variant decodes every message once per iteration, so all three are
            // timed (and counted under callgrind) on the same messages.
            group.throughput(Throughput::Elements(frames.len() as u64));
            let id = format!("{market}_{channel}");
            group.bench_function(format!("{id}/edgeline"), |b| {
                b.iter(|| {
                    for f in &frames {
                        buf.clear();
                        black_box(decoder.decode(black_box(f.as_bytes()), 1, &mut buf)).ok();
                    }
                })
            });
            group.bench_function(format!("{id}/edgeline_generic"), |b| {
                b.iter(|| {
                    for f in &frames {
                        buf.clear();
                        black_box(decoder.decode_generic(black_box(f.as_bytes()), 1, &mut buf))
                            .ok();
                    }
                })
            });
            group.bench_function(format!("{id}/serde_json"), |b| {
                b.iter(|| {
                    for f in &frames {
                        buf.clear();
                        baseline(&symbols, black_box(f), &mut buf);
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
