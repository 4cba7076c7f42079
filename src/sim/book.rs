//! One synthetic L2 order book per simulated market, with its update-id sequence and the
//! levels changed since the last depth message.
//!
//! Owned by the model thread (or a test). Allocates on the cold path only: the books are
//! `BookSpec::levels` levels per side (at most [`DEPTH_LEVELS_MAX`]), and the pending
//! diff holds at most the levels touched since the last depth message (bounded by the
//! steps in one depth interval times 2 × levels × 2).
//!
//! Each step the book is reshaped around the touch the price model asks for: the touch
//! plus `levels - 1` levels on a fixed grid behind it (every `level_gap_ticks`, like
//! resting orders on round prices). Levels that left the window are deleted (qty 0 in
//! the next diff), new ones get a random quantity, the touch and one deeper level
//! sometimes change quantity. Every step that changes the book advances the update id by
//! `id_step_min` to `id_step_min + UPDATE_ID_STEP_MAX - 1`, like the real venues whose
//! ids also count changes we do not see (an `id_step_min` of 2 leaves an unused id after
//! every change, which the Binance futures REST snapshot reports; see `market`).

use super::price::f64_to_i64;
use super::rng::SimRng;
use std::collections::BTreeMap;

/// Most levels per side of a synthetic book (OKX's `books` snapshot has 400).
pub(crate) const DEPTH_LEVELS_MAX: i64 = 400;
/// Number of distinct update-id increments of one step.
pub(crate) const UPDATE_ID_STEP_MAX: u64 = 3;
/// Chance per step that the spread changes (between 1 and 2 ticks).
const SPREAD_CHANGE_CHANCE: f64 = 0.02;
/// Chance per step that the quantity at the touch changes.
const TOP_QTY_CHANGE_CHANCE: f64 = 0.2;
/// Chance per step that one deeper level's quantity changes.
const DEEP_QTY_CHANGE_CHANCE: f64 = 0.3;

/// Price grid and lot size of one market, in raw units of 10^-8.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BookSpec {
    /// Tick size, raw.
    pub(crate) tick_raw: i64,
    /// Lot size, raw.
    pub(crate) lot_raw: i64,
    /// Largest level quantity, in lots.
    pub(crate) lots_max: u64,
    /// Ticks between the levels behind the touch (levels sit on multiples of it, so they
    /// keep their quantity while the touch moves, as resting orders do).
    pub(crate) level_gap_ticks: i64,
    /// Levels per side, 2 to [`DEPTH_LEVELS_MAX`].
    pub(crate) levels: i64,
    /// Smallest update-id increment of a step that changes the book (1 or more).
    pub(crate) id_step_min: u64,
}

/// One side's levels, best first, `(price, qty)` raw.
pub(crate) type Levels = Vec<(i64, i64)>;

/// Best bid and ask with their quantities, raw units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Top {
    pub(crate) bid: i64,
    pub(crate) bid_qty: i64,
    pub(crate) ask: i64,
    pub(crate) ask_qty: i64,
}

/// The levels changed since the previous depth message, with Binance's id triple.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DepthDiff {
    /// First update id in this message (`U`): the previous message's `u` + 1.
    pub(crate) first_id: u64,
    /// Last update id in this message (`u`).
    pub(crate) last_id: u64,
    /// The previous message's `u` (`pu`, futures only).
    pub(crate) prev_last_id: u64,
    /// Changed bids, best first, `(price, qty)` raw; qty 0 deletes the level.
    pub(crate) bids: Vec<(i64, i64)>,
    /// Changed asks, best first, `(price, qty)` raw; qty 0 deletes the level.
    pub(crate) asks: Vec<(i64, i64)>,
}

/// Which side of the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Bid,
    Ask,
}

/// One side's levels (price in ticks → qty raw) and its pending changes.
#[derive(Clone, Debug, Default)]
struct SideBook {
    levels: BTreeMap<i64, i64>,
    pending: BTreeMap<i64, i64>,
}

impl SideBook {
    /// Makes the side hold exactly the touch and the `levels - 1` grid levels beyond it;
    /// returns whether anything changed.
    fn reshape(&mut self, rng: &mut SimRng, spec: BookSpec, touch: i64, side: Side) -> bool {
        let gap = spec.level_gap_ticks;
        let (lo, hi) = grid_window(touch, gap, spec.levels, side);
        let wanted = |t: i64| t == touch || (lo <= t && t <= hi && t.rem_euclid(gap) == 0);
        let mut changed = false;
        let pending = &mut self.pending;
        self.levels.retain(|&tick, _| {
            let keep = wanted(tick);
            if !keep {
                pending.insert(tick, 0);
                changed = true;
            }
            keep
        });
        let grid = (0..spec.levels - 1).map(|i| lo + i * gap);
        for tick in std::iter::once(touch).chain(grid) {
            if !self.levels.contains_key(&tick) {
                changed |= self.set(tick, random_qty(rng, spec));
            }
        }
        if rng.chance(TOP_QTY_CHANGE_CHANCE) {
            changed |= self.set(touch, random_qty(rng, spec));
        }
        if rng.chance(DEEP_QTY_CHANGE_CHANCE) {
            let level = i64::try_from(rng.below((spec.levels - 1).unsigned_abs())).unwrap_or(0);
            changed |= self.set(lo + level * gap, random_qty(rng, spec));
        }
        changed
    }

    /// Sets a level's quantity; returns whether it differed.
    fn set(&mut self, tick: i64, qty: i64) -> bool {
        if self.levels.insert(tick, qty) == Some(qty) {
            return false;
        }
        self.pending.insert(tick, qty);
        true
    }
}

/// The lowest and highest of the `levels - 1` multiples of `gap` strictly beyond the
/// touch (below it for bids, above it for asks).
fn grid_window(touch: i64, gap: i64, levels: i64, side: Side) -> (i64, i64) {
    let far = (levels - 2) * gap;
    match side {
        Side::Bid => {
            let first = (touch - 1).div_euclid(gap) * gap;
            (first - far, first)
        }
        Side::Ask => {
            let first = (touch.div_euclid(gap) + 1) * gap;
            (first, first + far)
        }
    }
}

/// A random level quantity: 1 to `lots_max` lots.
fn random_qty(rng: &mut SimRng, spec: BookSpec) -> i64 {
    let lots = 1 + rng.below(spec.lots_max);
    i64::try_from(lots)
        .unwrap_or(1)
        .saturating_mul(spec.lot_raw)
}

/// A synthetic book for one market.
#[derive(Clone, Debug)]
pub(crate) struct SyntheticBook {
    spec: BookSpec,
    bids: SideBook,
    asks: SideBook,
    spread_ticks: i64,
    update_id: u64,
    last_emitted_id: u64,
}

impl SyntheticBook {
    /// An empty book whose update ids start after `first_id`.
    pub(crate) fn new(spec: BookSpec, first_id: u64) -> Self {
        Self {
            spec,
            bids: SideBook::default(),
            asks: SideBook::default(),
            spread_ticks: 1,
            update_id: first_id,
            last_emitted_id: first_id,
        }
    }

    /// Reshapes the book around `mid` (quote units); returns whether it changed.
    pub(crate) fn apply(&mut self, rng: &mut SimRng, mid: f64) -> bool {
        if rng.chance(SPREAD_CHANGE_CHANCE) {
            self.spread_ticks = 1 + i64::from(rng.chance(0.5));
        }
        let tick = self.spec.tick_raw as f64 * 1e-8;
        let bid = f64_to_i64(mid / tick - self.spread_ticks as f64 / 2.0);
        let ask = bid + self.spread_ticks;
        let spec = self.spec;
        let mut changed = self.bids.reshape(rng, spec, bid, Side::Bid);
        changed |= self.asks.reshape(rng, spec, ask, Side::Ask);
        if changed {
            self.update_id += self.spec.id_step_min + rng.below(UPDATE_ID_STEP_MAX);
        }
        changed
    }

    /// Best bid and ask (`None` before the first [`SyntheticBook::apply`]).
    pub(crate) fn top(&self) -> Option<Top> {
        let (bid, bid_qty) = self.bids.levels.last_key_value()?;
        let (ask, ask_qty) = self.asks.levels.first_key_value()?;
        Some(Top {
            bid: bid * self.spec.tick_raw,
            bid_qty: *bid_qty,
            ask: ask * self.spec.tick_raw,
            ask_qty: *ask_qty,
        })
    }

    /// The current (last) update id.
    pub(crate) fn update_id(&self) -> u64 {
        self.update_id
    }

    /// The update id of the last diff taken (the first id before any).
    pub(crate) fn last_diff_id(&self) -> u64 {
        self.last_emitted_id
    }

    /// The current levels `(bids, asks)`, best first, `(price, qty)` raw.
    pub(crate) fn levels(&self) -> (Levels, Levels) {
        let tick = self.spec.tick_raw;
        let raw = |(t, q): (&i64, &i64)| (t * tick, *q);
        (
            self.bids.levels.iter().rev().map(raw).collect(),
            self.asks.levels.iter().map(raw).collect(),
        )
    }

    /// The changes since the last call, or `None` when the book did not change.
    pub(crate) fn take_diff(&mut self) -> Option<DepthDiff> {
        if self.update_id == self.last_emitted_id {
            return None;
        }
        let tick = self.spec.tick_raw;
        let raw = |(t, q): (&i64, &i64)| (t * tick, *q);
        let diff = DepthDiff {
            first_id: self.last_emitted_id + 1,
            last_id: self.update_id,
            prev_last_id: self.last_emitted_id,
            bids: self.bids.pending.iter().rev().map(raw).collect(),
            asks: self.asks.pending.iter().map(raw).collect(),
        };
        self.bids.pending.clear();
        self.asks.pending.clear();
        self.last_emitted_id = self.update_id;
        Some(diff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: BookSpec = BookSpec {
        tick_raw: 1_000_000,
        lot_raw: 1_000,
        lots_max: 1_000,
        level_gap_ticks: 7,
        levels: 20,
        id_step_min: 1,
    };

    /// Replays diffs into a plain map book, the way a client would.
    fn replay(book: &mut BTreeMap<(bool, i64), i64>, diff: &DepthDiff) {
        for (is_bid, levels) in [(true, &diff.bids), (false, &diff.asks)] {
            for &(price, qty) in levels {
                if qty == 0 {
                    book.remove(&(is_bid, price));
                } else {
                    book.insert((is_bid, price), qty);
                }
            }
        }
    }

    #[test]
    fn test_book_diffs_rebuild_the_book() {
        let mut rng = SimRng::new(9);
        let mut book = SyntheticBook::new(SPEC, 100);
        let mut client = BTreeMap::new();
        let mut mid = 60_000.0;
        for step in 0..2_000 {
            mid += 0.013 * (rng.unit() - 0.5) * 100.0;
            book.apply(&mut rng, mid);
            if step % 100 == 0
                && let Some(diff) = book.take_diff()
            {
                replay(&mut client, &diff);
            }
        }
        if let Some(diff) = book.take_diff() {
            replay(&mut client, &diff);
        }
        let bids: Vec<_> = client.iter().filter(|((b, _), _)| *b).collect();
        let asks: Vec<_> = client.iter().filter(|((b, _), _)| !*b).collect();
        assert_eq!(bids.len(), 20);
        assert_eq!(asks.len(), 20);
        let (book_bids, book_asks) = book.levels();
        let flat = |levels: &[(i64, i64)], is_bid| {
            let mut map: Vec<_> = levels.iter().map(|&(p, q)| ((is_bid, p), q)).collect();
            map.sort_unstable();
            map
        };
        let client_bids: Vec<_> = bids.iter().map(|(k, q)| (**k, **q)).collect();
        let client_asks: Vec<_> = asks.iter().map(|(k, q)| (**k, **q)).collect();
        assert_eq!(flat(&book_bids, true), client_bids);
        assert_eq!(flat(&book_asks, false), client_asks);
        let top = book.top().unwrap();
        assert_eq!(bids.last().unwrap().0.1, top.bid);
        assert_eq!(asks.first().unwrap().0.1, top.ask);
        assert!(top.ask - top.bid <= 2 * SPEC.tick_raw && top.ask > top.bid);
    }

    #[test]
    fn test_book_ids_link_and_unchanged_book_has_no_diff() {
        let mut rng = SimRng::new(5);
        let mut book = SyntheticBook::new(SPEC, 1_000);
        book.apply(&mut rng, 60_000.0);
        let first = book.take_diff().unwrap();
        assert_eq!((first.first_id, first.prev_last_id), (1_001, 1_000));
        assert!(first.last_id >= first.first_id);
        assert_eq!(first.bids.len(), 20);
        assert!(book.take_diff().is_none());
        for _ in 0..50 {
            book.apply(&mut rng, 60_000.0);
        }
        let second = book.take_diff().unwrap();
        assert_eq!(second.first_id, first.last_id + 1);
        assert_eq!(second.prev_last_id, first.last_id);
    }
}
