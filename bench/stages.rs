//! Criterion benchmarks of the hot-path pieces, one group per stage (decoding has its own
//! per-venue targets, `decode_<venue>`); ids are
//! `stage/op/variant`. Run: `cargo bench --bench stages`. Figures go to LATENCY.md.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use edgeline::book::{L2Book, Level, TakerSide};
use edgeline::edge::opportunity::Quad;
use edgeline::edge::{BasisParams, BasisTracker};
use edgeline::types::{Price, Qty, Side};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// The `i`-th tick of the basis benches: the perp 1.65 to 1.85 bps over the spot.
fn tick(i: i64) -> Quad {
    let p = |units_e8: i128| Price::from_raw(units_e8 * (Price::SCALE / 100_000_000));
    let wobble = i128::from(i % 13) * 1_000_000;
    Quad {
        perp_bid: p(6_000_100_000_000 + wobble),
        perp_ask: p(6_000_110_000_000 + wobble),
        spot_bid: p(6_000_000_000_000),
        spot_ask: p(6_000_001_000_000),
    }
}

/// Measures one basis tracker tick (baseline update + both directions + classification),
/// and the edge stage's common case: a tick below the recording threshold.
fn bench_edge(c: &mut Criterion) {
    let mut tracker = BasisTracker::new(BasisParams::default());
    let mut i: i64 = 0;
    c.bench_function("edge/basis/tick", |b| {
        b.iter(|| {
            i += 1;
            // The whole analysis is black-boxed: read in part, it let the compiler drop
            // the rest when the tick was inlined here.
            let eval = black_box(tracker.on_tick(black_box(tick(i))));
            assert!(eval.is_none_or(|e| e.mid_ref.raw() > 0));
        })
    });
    // The same ticks against the default recording threshold (10 bps), so each is
    // decided by its edge alone.
    let mut tracker = BasisTracker::new(BasisParams::default());
    let threshold = tracker.params().tracker_threshold;
    c.bench_function("edge/basis/tick_below_threshold", |b| {
        b.iter(|| {
            i += 1;
            assert!(
                tracker
                    .on_tick_from(black_box(tick(i)), threshold)
                    .is_none()
            );
        })
    });
}

/// A book of `levels` per side around 60,000 with a 0.1 tick.
fn book_with(levels: usize) -> (L2Book, Vec<Level>, Vec<Level>) {
    let tick = Price::SCALE / 10;
    let mid = 60_000 * Price::SCALE;
    let level = |i: usize, sign: i128| Level {
        price: Price::from_raw(mid + sign * (i as i128 + 1) * tick),
        qty: Qty::from_raw(100_000 + (i as i128 % 7) * 10_000),
    };
    let bids: Vec<Level> = (0..levels).map(|i| level(i, -1)).collect();
    let asks: Vec<Level> = (0..levels).map(|i| level(i, 1)).collect();
    let mut book = L2Book::with_depth(levels.max(400));
    book.apply_snapshot(&bids, &asks);
    (book, bids, asks)
}

/// Measures the book engine: level update near the touch, a 20-level batch, a 400-level
/// snapshot, best bid/ask, and a market order walking 10 levels.
fn bench_book(c: &mut Criterion) {
    let mut group = c.benchmark_group("book");
    let (mut book, bids, asks) = book_with(400);
    let near = bids[2].price;
    let mut n: i64 = 0;
    group.bench_function("apply/update_near_touch", |b| {
        b.iter(|| {
            n += 1;
            let change = book.apply(
                Side::Bid,
                black_box(near),
                Qty::from_raw(i128::from(1 + n % 5)),
            );
            assert_eq!(change, edgeline::book::LevelChange::Updated);
        })
    });
    let batch: Vec<(Side, Price, Qty)> = (0..20)
        .map(|i| {
            let side = if i % 2 == 0 { Side::Bid } else { Side::Ask };
            let src = if side == Side::Bid { &bids } else { &asks };
            (side, src[i / 2].price, Qty::from_raw(50_000 + i as i128))
        })
        .collect();
    group.bench_function("apply/batch_20_levels", |b| {
        b.iter(|| {
            book.apply_batch(black_box(batch.iter().copied()));
            assert!(book.best_bid().is_some());
        })
    });
    group.bench_function("apply/snapshot_400_levels", |b| {
        b.iter(|| {
            book.apply_snapshot(black_box(&bids), black_box(&asks));
            assert_eq!(book.side(Side::Ask).len(), 400);
        })
    });
    group.bench_function("query/best_bid_ask", |b| {
        b.iter(|| {
            let (bid, ask) = (black_box(&book).best_bid(), black_box(&book).best_ask());
            assert!(bid.unwrap().price < ask.unwrap().price);
        })
    });
    let ten_levels = Qty::from_raw(bids[..10].iter().map(|l| l.qty.raw()).sum::<i128>() - 1);
    group.bench_function("query/execute_10_levels", |b| {
        b.iter(|| {
            let e = black_box(&book).execute_qty(TakerSide::Sell, black_box(ten_levels));
            assert_eq!(e.unwrap().levels, 10);
        })
    });
    group.finish();
}

criterion_group! {
    name = stages;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench_ring, bench_edge, bench_book
}
criterion_main!(stages);
