//! Criterion benchmarks of the Hyperliquid decoder on real messages from
//! `../shared/data/hyperliquid`, one group per channel, each with three ids: `edgeline`
//! (the decoder: fast path first), `edgeline_generic` (the single-pass sonic-rs path
//! alone) and `serde_json` (a plain `#[derive(Deserialize)]`
//! baseline with `String`/`Vec` fields, converted to the same events with
//! `Price::from_decimal_str`), so their ratio can be read off. Throughput is per message.
//! Run: `cargo bench --bench decode_hyperliquid`. Prints a notice and measures nothing
//! when the data folder is absent.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgeline::capture::read_file;
use edgeline::feed::hyperliquid::{Decoded, HyperliquidDecoder};
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{
    EventBody, FundingFields, InstrumentId, MarketEvent, MarketKind, Price, Qty, Rate, Side,
};
use serde::Deserialize;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COINS: [&str; 7] = ["BTC", "FXS", "SHIA", "BANANA", "MOODENG", "@2", "@162"];

fn instrument(coin: &str) -> InstrumentId {
    let index = COINS.iter().position(|c| *c == coin).expect("a known coin");
    InstrumentId(u32::try_from(index).expect("few coins"))
}

fn decoder() -> HyperliquidDecoder {
    let mut symbols = SymbolMap::default();
    for coin in COINS {
        symbols.insert(coin, instrument(coin));
    }
    HyperliquidDecoder::new(MarketKind::Perp, symbols)
}

/// Real payloads of one channel from every Hyperliquid file.
fn messages(channel: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/hyperliquid");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: {} not found (real data absent)", dir.display());
        return Vec::new();
    };
    let tag = format!(r#"{{"channel":"{channel}","#);
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    paths
        .iter()
        .flat_map(|path| read_file(path).expect("a readable capture"))
        .map(|m| m.payload)
        .filter(|p| p.starts_with(&tag))
        .collect()
}

// The baseline: the messages as plain serde structs, every field kept.

#[derive(Deserialize)]
#[serde(tag = "channel", content = "data")]
enum Message {
    #[serde(rename = "l2Book")]
    Book(BookJson),
    #[serde(rename = "trades")]
    Trades(Vec<TradeJson>),
    #[serde(rename = "bbo")]
    Bbo(BboJson),
    #[serde(rename = "activeAssetCtx")]
    Ctx(CtxMessageJson),
}

#[derive(Deserialize)]
struct LevelJson {
    px: String,
    sz: String,
    n: u64,
}

#[derive(Deserialize)]
struct BookJson {
    coin: String,
    time: u64,
    levels: Vec<Vec<LevelJson>>,
}

#[derive(Deserialize)]
struct TradeJson {
    coin: String,
    side: String,
    px: String,
    sz: String,
    time: u64,
    hash: String,
    tid: u64,
    #[serde(default)]
    users: Vec<String>,
}

#[derive(Deserialize)]
struct BboJson {
    coin: String,
    time: u64,
    bbo: Vec<Option<LevelJson>>,
}

#[derive(Deserialize)]
struct CtxMessageJson {
    coin: String,
    ctx: CtxJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtxJson {
    funding: String,
    open_interest: String,
    prev_day_px: String,
    day_ntl_vlm: String,
    premium: Option<String>,
    oracle_px: String,
    mark_px: String,
    mid_px: Option<String>,
    impact_pxs: Option<Vec<String>>,
}

fn event(coin: &str, ts_venue_ms: u64, body: EventBody) -> MarketEvent {
    MarketEvent {
        ts_recv_raw: 1,
        ts_venue_ms,
        instrument: instrument(coin),
        body,
    }
}

fn price(s: &str) -> Price {
    Price::from_decimal_str(s).expect("a price")
}

fn qty(s: &str) -> Qty {
    Qty::from_decimal_str(s).expect("a quantity")
}

/// The baseline decoder: serde_json into owned structs, then the same events.
fn baseline(frame: &str, out: &mut EventBuf) -> usize {
    let start = out.len();
    let mut push = |e: MarketEvent| out.push(e).expect("capacity");
    match serde_json::from_str::<Message>(frame).expect("a handled message") {
        Message::Book(b) => {
            let count: usize = b.levels.iter().map(Vec::len).sum();
            let header = EventBody::DepthBegin {
                first_update_id: b.time,
                last_update_id: b.time,
                prev_update_id: 0,
                levels: u16::try_from(count).expect("levels"),
                snapshot: true,
                checksum: None,
            };
            push(event(&b.coin, b.time, header));
            for (side, levels) in [Side::Bid, Side::Ask].into_iter().zip(&b.levels) {
                for l in levels {
                    black_box(l.n);
                    let body = EventBody::DepthLevel {
                        side,
                        price: price(&l.px),
                        qty: qty(&l.sz),
                    };
                    push(event(&b.coin, b.time, body));
                }
            }
        }
        Message::Trades(trades) => {
            for t in trades {
                black_box((&t.hash, &t.users));
                let body = EventBody::Trade {
                    price: price(&t.px),
                    qty: qty(&t.sz),
                    aggressor: if t.side == "B" { Side::Bid } else { Side::Ask },
                    trade_id: t.tid,
                };
                push(event(&t.coin, t.time, body));
            }
        }
        Message::Bbo(b) => {
            if let [Some(bid), Some(ask)] = &b.bbo[..] {
                black_box((bid.n, ask.n));
                let body = EventBody::TopOfBook {
                    bid: price(&bid.px),
                    bid_qty: qty(&bid.sz),
                    ask: price(&ask.px),
                    ask_qty: qty(&ask.sz),
                    update_id: b.time,
                };
                push(event(&b.coin, b.time, body));
            }
        }
        Message::Ctx(m) => {
            let c = &m.ctx;
            black_box((&c.prev_day_px, &c.day_ntl_vlm, &c.premium, &c.mid_px));
            black_box(&c.impact_pxs);
            let funding = EventBody::Funding {
                mark: price(&c.mark_px),
                index: price(&c.oracle_px),
                rate: Rate::from_decimal_str(&c.funding).expect("a rate"),
                next_funding_ms: 0,
                fields: FundingFields::MARK
                    .with(FundingFields::INDEX)
                    .with(FundingFields::RATE),
            };
            push(event(&m.coin, 0, funding));
            let oi = EventBody::OpenInterest {
                qty: qty(&c.open_interest),
            };
            push(event(&m.coin, 0, oi));
        }
    }
    out.len() - start
}

/// Measures decoding every real message of each channel, edgeline (fast path first, and
/// the generic path alone) against the serde_json baseline, per message.
fn bench_decode(c: &mut Criterion) {
    for channel in ["l2Book", "trades", "bbo", "activeAssetCtx"] {
        let frames = messages(channel);
        if frames.is_empty() {
            continue;
        }
        let mut decoder = decoder();
        let mut buf = EventBuf::with_capacity(4096);
        let counts: Vec<usize> = frames
            .iter()
            .map(|f| {
                let mut mine = EventBuf::with_capacity(4096);
                let mut theirs = EventBuf::with_capacity(4096);
                let r = decoder.decode(f.as_bytes(), 1, &mut mine);
                let n = baseline(f, &mut theirs);
                assert_eq!(r, Ok(Decoded::Events(n)));
                assert_eq!(mine.as_slice(), theirs.as_slice(), "{f}");
                n
            })
            .collect();
        let mut group = c.benchmark_group(format!("feed/decode_hyperliquid/{channel}"));
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function("edgeline", |b| {
            b.iter(|| {
                for (frame, &n) in frames.iter().zip(&counts) {
                    buf.clear();
                    let r = decoder.decode(black_box(frame.as_bytes()), 1, &mut buf);
                    assert_eq!(r, Ok(Decoded::Events(n)));
                }
            })
        });
        let generic = decoder.clone();
        group.bench_function("edgeline_generic", |b| {
            b.iter(|| {
                for (frame, &n) in frames.iter().zip(&counts) {
                    buf.clear();
                    let r = generic.decode_generic(black_box(frame.as_bytes()), 1, &mut buf);
                    assert_eq!(r, Ok(Decoded::Events(n)));
                }
            })
        });
        group.bench_function("serde_json", |b| {
            b.iter(|| {
                for (frame, &n) in frames.iter().zip(&counts) {
                    buf.clear();
                    assert_eq!(baseline(black_box(frame), &mut buf), n);
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
