//! Property tests of the L2 book against a naive `BTreeMap` model: after every step of a
//! random sequence of snapshots, updates and deletes, the levels, best prices and query
//! answers agree, and the book's invariants hold (bids strictly descending, asks strictly
//! ascending, no zero levels, never more levels than configured, the block layout of
//! `src/book/side.rs` intact). The deep test loads snapshots of up to 1,500 levels and
//! changes levels anywhere in them, so blocks split, shift, merge and the side fills up;
//! its model applies the same capacity rule (a full side drops a level farther than all
//! it holds, otherwise evicts its farthest).

use std::collections::BTreeMap;

use edgeline::book::{L2Book, Level, TakerSide};
use edgeline::types::bps::Bps;
use edgeline::types::{Price, Qty, Side};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(Side, i64, i64),
    Snapshot(Vec<(i64, i64)>, Vec<(i64, i64)>),
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Bid), Just(Side::Ask)]
}

fn op() -> impl Strategy<Value = Op> {
    let level = (1i64..80, 1i64..6);
    prop_oneof![
        12 => (side(), 1i64..80, 0i64..6).prop_map(|(s, p, q)| Op::Set(s, p, q)),
        1 => (proptest::collection::vec(level.clone(), 0..30), proptest::collection::vec(level, 0..30))
            .prop_map(|(b, a)| Op::Snapshot(b, a)),
    ]
}

/// Price ticks of 0.5 around 1000, quantities in units of 0.25.
fn price(tick: i64) -> Price {
    Price::from_raw(i128::from(1000 * 2 + tick) * (Price::SCALE / 2))
}
fn qty(units: i64) -> Qty {
    Qty::from_raw(i128::from(units) * 25_000_000)
}

#[derive(Default)]
struct Model {
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
}

impl Model {
    fn side(&self, side: Side) -> Vec<(Price, Qty)> {
        match side {
            Side::Bid => self.bids.iter().rev().map(|(p, q)| (*p, *q)).collect(),
            Side::Ask => self.asks.iter().map(|(p, q)| (*p, *q)).collect(),
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Set(s, p, q) => {
                let map = if *s == Side::Bid {
                    &mut self.bids
                } else {
                    &mut self.asks
                };
                if *q == 0 {
                    map.remove(&price(*p));
                } else {
                    map.insert(price(*p), qty(*q));
                }
            }
            Op::Snapshot(b, a) => {
                *self = Model::default();
                for (p, q) in b {
                    self.bids.insert(price(*p), qty(*q));
                }
                for (p, q) in a {
                    self.asks.insert(price(*p), qty(*q));
                }
            }
        }
    }
}

fn apply(book: &mut L2Book, op: &Op) {
    match op {
        Op::Set(s, p, q) => {
            book.apply(*s, price(*p), qty(*q));
        }
        Op::Snapshot(b, a) => {
            let dedup = |levels: &Vec<(i64, i64)>| -> Vec<Level> {
                let map: BTreeMap<i64, i64> = levels.iter().copied().collect();
                map.into_iter()
                    .map(|(p, q)| Level {
                        price: price(p),
                        qty: qty(q),
                    })
                    .collect()
            };
            book.apply_snapshot(&dedup(b), &dedup(a));
        }
    }
}

fn levels(book: &L2Book, side: Side) -> Vec<(Price, Qty)> {
    book.side(side).iter().map(|l| (l.price, l.qty)).collect()
}

fn check_invariants(book: &L2Book, capacity: usize) -> Result<(), TestCaseError> {
    for side in [Side::Bid, Side::Ask] {
        let lv = levels(book, side);
        prop_assert!(lv.len() <= capacity);
        prop_assert!(lv.iter().all(|(_, q)| !q.is_zero()), "zero level");
        let ordered = lv.windows(2).all(|w| match side {
            Side::Bid => w[0].0 > w[1].0,
            Side::Ask => w[0].0 < w[1].0,
        });
        prop_assert!(ordered, "{side:?} out of order: {lv:?}");
        prop_assert_eq!(
            book.side(side).best().map(|l| (l.price, l.qty)),
            lv.first().copied()
        );
        prop_assert_eq!(book.side(side).len(), lv.len());
        if let Err(e) = book.side(side).check_layout() {
            return Err(TestCaseError::fail(format!("{side:?} layout: {e}")));
        }
    }
    Ok(())
}

/// `bps`: the distance `depth_within_bps` is checked at.
fn check_queries(
    book: &L2Book,
    model: &Model,
    k: usize,
    take: i64,
    bps: i32,
) -> Result<(), TestCaseError> {
    for side in [Side::Bid, Side::Ask] {
        let want = model.side(side);
        prop_assert_eq!(levels(book, side), want.clone());
        let top: Vec<_> = want.iter().take(k).collect();
        let d = book.depth_levels(side, k);
        prop_assert_eq!(d.levels, top.len());
        prop_assert_eq!(d.qty.raw(), top.iter().map(|(_, q)| q.raw()).sum::<i128>());
        let notional: i128 = top.iter().map(|(p, q)| p.notional_raw(*q)).sum();
        prop_assert_eq!(d.notional_raw, notional);
        if let Some((best, _)) = want.first() {
            let within = book.depth_within_bps(side, Bps::from_num(bps));
            let limit = f64::from(bps) / 1e4 * best.to_f64_lossy();
            let count = want
                .iter()
                .filter(|(p, _)| (p.to_f64_lossy() - best.to_f64_lossy()).abs() <= limit + 1e-9)
                .count();
            prop_assert_eq!(within.levels, count);
            let inside = &want[..count];
            prop_assert_eq!(
                within.qty.raw(),
                inside.iter().map(|(_, q)| q.raw()).sum::<i128>()
            );
            let notional: i128 = inside.iter().map(|(p, q)| p.notional_raw(*q)).sum();
            prop_assert_eq!(within.notional_raw, notional);
        }
        for (p, q) in &want {
            prop_assert_eq!(book.qty_at(side, *p), *q);
        }
    }
    let asks = model.side(Side::Ask);
    let total: i128 = asks.iter().map(|(_, q)| q.raw()).sum();
    match book.execute_qty(TakerSide::Buy, qty(take)) {
        Ok(e) => {
            prop_assert!(qty(take).raw() <= total);
            let mut left = qty(take).raw();
            let mut value = 0i128;
            for (p, q) in &asks {
                let t = left.min(q.raw());
                value += p.notional_raw(Qty::from_raw(t));
                left -= t;
            }
            prop_assert_eq!(e.notional_raw, value);
            prop_assert!(e.slippage_bps >= Bps::ZERO);
        }
        Err(e) => prop_assert!(qty(take).raw() > total && e.available.raw() == total),
    }
    let (b, a) = (
        book.depth_levels(Side::Bid, k).qty.raw(),
        book.depth_levels(Side::Ask, k).qty.raw(),
    );
    match book.imbalance(k) {
        Some(i) => prop_assert!(i >= -Bps::ONE && i <= Bps::ONE && (b + a) > 0),
        None => prop_assert_eq!(b + a, 0),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prop_book_matches_btreemap_model(ops in proptest::collection::vec(op(), 1..120), k in 1usize..8, take in 1i64..40) {
        let mut book = L2Book::with_depth(200);
        let mut model = Model::default();
        for op in &ops {
            apply(&mut book, op);
            model.apply(op);
            check_invariants(&book, 200)?;
            check_queries(&book, &model, k, take, 25)?;
        }
    }

    #[test]
    fn prop_book_beyond_capacity_keeps_best_and_invariants(ops in proptest::collection::vec(op(), 1..150), cap in 1usize..6) {
        let mut book = L2Book::with_depth(cap);
        let mut model = Model::default();
        for op in &ops {
            apply(&mut book, op);
            model.apply(op);
            check_invariants(&book, cap)?;
            // Levels held are always a subset of the model's, so a held best is never
            // better than the true best; an insert or update of the true best is kept.
            for side in [Side::Bid, Side::Ask] {
                let want = model.side(side);
                for (p, q) in levels(&book, side) {
                    prop_assert!(want.contains(&(p, q)), "{side:?} holds {p:?} the model lacks");
                }
            }
            if let Op::Set(side, p, q) = op
                && *q > 0
                && model.side(*side).first() == Some(&(price(*p), qty(*q)))
            {
                prop_assert_eq!(book.side(*side).best().map(|l| l.price), Some(price(*p)));
            }
        }
    }
}

#[derive(Debug, Clone)]
enum DeepOp {
    Set(Side, i64, i64),
    /// A snapshot of `len` consecutive ticks a side, bids below `mid`, asks above it.
    Snapshot {
        mid: i64,
        bids: usize,
        asks: usize,
    },
    /// A snapshot streamed level by level, unique prices in the order given.
    Streamed(Vec<(Side, i64, i64)>),
}

fn deep_op() -> impl Strategy<Value = DeepOp> {
    let streamed = proptest::collection::vec((side(), 0i64..4000, 0i64..4), 0..600);
    prop_oneof![
        40 => (side(), 0i64..4000, 0i64..3).prop_map(|(s, p, q)| DeepOp::Set(s, p, q)),
        1 => (1500i64..2500, 0usize..1500, 0usize..1500)
            .prop_map(|(mid, bids, asks)| DeepOp::Snapshot { mid, bids, asks }),
        1 => streamed.prop_map(DeepOp::Streamed),
    ]
}

/// The quantity of a snapshot level: never zero, varies with the price.
fn snapshot_units(tick: i64) -> i64 {
    1 + tick % 7
}

/// A BTreeMap book with the book's capacity rule.
struct CappedModel {
    inner: Model,
    cap: usize,
}

impl CappedModel {
    fn map(&mut self, side: Side) -> &mut BTreeMap<Price, Qty> {
        match side {
            Side::Bid => &mut self.inner.bids,
            Side::Ask => &mut self.inner.asks,
        }
    }

    /// The farthest held price of `side`.
    fn farthest(&mut self, side: Side) -> Option<Price> {
        let map = self.map(side);
        match side {
            Side::Bid => map.keys().next().copied(),
            Side::Ask => map.keys().next_back().copied(),
        }
    }

    fn set(&mut self, side: Side, p: Price, q: Qty) {
        let cap = self.cap;
        if q.is_zero() {
            self.map(side).remove(&p);
            return;
        }
        if self.map(side).contains_key(&p) || self.map(side).len() < cap {
            self.map(side).insert(p, q);
            return;
        }
        let far = self.farthest(side).expect("full side");
        let farther = match side {
            Side::Bid => p < far,
            Side::Ask => p > far,
        };
        if !farther {
            self.map(side).remove(&far);
            self.map(side).insert(p, q);
        }
    }

    fn apply(&mut self, op: &DeepOp) {
        match op {
            DeepOp::Set(s, p, q) => self.set(*s, price(*p), qty(*q)),
            DeepOp::Snapshot { mid, bids, asks } => {
                self.inner = Model::default();
                for t in (mid - *bids as i64..*mid).rev().take(self.cap) {
                    self.inner.bids.insert(price(t), qty(snapshot_units(t)));
                }
                for t in (mid + 1..=mid + *asks as i64).take(self.cap) {
                    self.inner.asks.insert(price(t), qty(snapshot_units(t)));
                }
            }
            DeepOp::Streamed(levels) => {
                self.inner = Model::default();
                // The first `cap` pushed a side are kept, then zero quantities dropped.
                let (mut bids, mut asks) = (0, 0);
                for (s, p, q) in unique(levels) {
                    let pushed = if s == Side::Bid { &mut bids } else { &mut asks };
                    *pushed += 1;
                    if *pushed <= self.cap && q > 0 {
                        self.map(s).insert(price(p), qty(q));
                    }
                }
            }
        }
    }
}

/// The levels with the first of each (side, price) kept.
fn unique(levels: &[(Side, i64, i64)]) -> Vec<(Side, i64, i64)> {
    let mut seen = std::collections::HashSet::new();
    levels
        .iter()
        .copied()
        .filter(|(s, p, _)| seen.insert((*s == Side::Bid, *p)))
        .collect()
}

fn apply_deep(book: &mut L2Book, op: &DeepOp) {
    match op {
        DeepOp::Set(s, p, q) => {
            book.apply(*s, price(*p), qty(*q));
        }
        DeepOp::Snapshot { mid, bids, asks } => {
            let level = |t: i64| Level {
                price: price(t),
                qty: qty(snapshot_units(t)),
            };
            let b: Vec<Level> = (mid - *bids as i64..*mid).rev().map(level).collect();
            let a: Vec<Level> = (mid + 1..=mid + *asks as i64).map(level).collect();
            book.apply_snapshot(&b, &a);
        }
        DeepOp::Streamed(levels) => {
            book.begin_snapshot();
            for (s, p, q) in unique(levels) {
                book.snapshot_level(s, price(p), qty(q));
            }
            book.end_snapshot();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn prop_deep_book_matches_capped_btreemap_model(
        ops in proptest::collection::vec(deep_op(), 1..300),
        cap in prop_oneof![1usize..40, 300usize..700, Just(5000usize)],
        k in 1usize..40,
        take in 1i64..400,
    ) {
        let mut book = L2Book::with_depth(cap);
        let mut model = CappedModel { inner: Model::default(), cap };
        for op in &ops {
            apply_deep(&mut book, op);
            model.apply(op);
            check_invariants(&book, cap)?;
            // 400 bps of ~1,000 is ~80 ticks: several blocks, whole and in part.
            check_queries(&book, &model.inner, k, take, 400)?;
        }
    }
}
