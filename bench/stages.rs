//! Criterion benchmarks of the hot-path pieces, one group per stage; ids are
//! `stage/op/variant`. Run: `cargo bench --bench stages`. Figures go to LATENCY.md.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use edgeline::edge::opportunity::Quad;
use edgeline::edge::{BasisParams, BasisTracker};
use edgeline::feed::binance::{BinanceDecoder, Decoded};
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{InstrumentId, Price};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A USD-M `depthUpdate` of about 350 bytes, in the venue's format.
const DEPTH_PERP: &str = r#"{"e":"depthUpdate","E":1723161255208,"T":1723161255206,"s":"BTCUSDT","U":5009323918,"u":5009323920,"pu":5009323917,"b":[["61737.60","0.000"],["61730.10","1.204"],["61729.90","0.350"],["61728.00","2.001"]],"a":[["61837.70","1.546"],["61839.80","0.000"],["61840.20","0.010"],["61841.00","4.400"],["61850.30","0.120"]]}"#;
/// A spot `bookTicker`, in the venue's format.
const BOOK_TICKER_SPOT: &str = r#"{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}"#;

fn decoder() -> BinanceDecoder {
    let mut symbols = SymbolMap::default();
    symbols.insert("BTCUSDT", InstrumentId(0));
    BinanceDecoder::new(symbols)
}

/// Measures decoding one frame into events (fixed point included) into a reused buffer.
fn bench_decode(c: &mut Criterion) {
    let decoder = decoder();
    let mut buf = EventBuf::with_capacity(64);
    let mut group = c.benchmark_group("decode");
    for (id, frame, events) in [
        ("binance/book_ticker_spot", BOOK_TICKER_SPOT, 1),
        ("binance/depth_update_perp", DEPTH_PERP, 10),
    ] {
        group.bench_function(id, |b| {
            b.iter(|| {
                buf.clear();
                let r = decoder.decode(black_box(frame.as_bytes()), 1, &mut buf);
                assert_eq!(r, Ok(Decoded::Events(events)));
            })
        });
    }
    group.finish();
}

/// Measures one rtrb ring round trip between two threads (a hop is half of it).
fn bench_ring(c: &mut Criterion) {
    c.bench_function("ring/hop/rtrb_round_trip", |b| {
        b.iter_custom(|iters| {
            let (mut ping_tx, mut ping_rx) = rtrb::RingBuffer::<u64>::new(64);
            let (mut pong_tx, mut pong_rx) = rtrb::RingBuffer::<u64>::new(64);
            let done = Arc::new(AtomicBool::new(false));
            let echo_done = Arc::clone(&done);
            let echo = std::thread::spawn(move || {
                let _ = core_affinity::set_for_current(core_affinity::CoreId { id: 1 });
                while !echo_done.load(Ordering::Relaxed) {
                    if let Ok(v) = ping_rx.pop() {
                        while pong_tx.push(v).is_err() {}
                    }
                }
            });
            let _ = core_affinity::set_for_current(core_affinity::CoreId { id: 0 });
            let start = Instant::now();
            for i in 0..iters {
                while ping_tx.push(i).is_err() {}
                let v = loop {
                    if let Ok(v) = pong_rx.pop() {
                        break v;
                    }
                };
                assert_eq!(v, i);
            }
            let elapsed = start.elapsed();
            done.store(true, Ordering::Relaxed);
            echo.join().unwrap();
            elapsed
        })
    });
}

/// Measures one basis tracker tick (baseline update + both directions + classification).
fn bench_edge(c: &mut Criterion) {
    let mut tracker = BasisTracker::new(BasisParams::default());
    let p = |raw: i64| Price::from_raw(raw);
    let mut i: i64 = 0;
    c.bench_function("edge/basis/tick", |b| {
        b.iter(|| {
            i += 1;
            let wobble = (i % 13) * 100_000_000;
            let q = Quad {
                perp_bid: p(600_010_000_000_000 + wobble),
                perp_ask: p(600_011_000_000_000 + wobble),
                spot_bid: p(600_000_000_000_000),
                spot_ask: p(600_000_100_000_000),
            };
            let eval = tracker.on_tick(black_box(q));
            assert!(eval.is_none_or(|e| e.mid_ref.raw() > 0));
        })
    });
}

criterion_group! {
    name = stages;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench_decode, bench_ring, bench_edge
}
criterion_main!(stages);
