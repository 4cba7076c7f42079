//! Property tests of the L2 book against a naive `BTreeMap` model: after every step of a
//! random sequence of snapshots, updates and deletes, the levels, best prices and query
//! answers agree, and the book's invariants hold (bids strictly descending, asks strictly
//! ascending, no zero levels, never more levels than configured).

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
    }
    Ok(())
}

fn check_queries(book: &L2Book, model: &Model, k: usize, take: i64) -> Result<(), TestCaseError> {
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
            let within = book.depth_within_bps(side, Bps::from_num(25));
            let limit = 0.0025 * best.to_f64_lossy();
            let count = want
                .iter()
                .filter(|(p, _)| (p.to_f64_lossy() - best.to_f64_lossy()).abs() <= limit + 1e-9)
                .count();
            prop_assert_eq!(within.levels, count);
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
            check_queries(&book, &model, k, take)?;
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
