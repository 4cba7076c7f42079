//! One side of an L2 book: price levels in a blocked sorted array, worst level first and
//! the best last, so that a level change moves a bounded number of levels however far
//! from the touch it lands.
//!
//! Owned by the book stage's thread (the paper venue reads it through [`crate::book::L2Book`]).
//! Capacity is fixed at construction (the configured maximum depth); a level beyond it is
//! dropped when it is farther than every held level, otherwise the farthest level is
//! evicted for it. Either way the best price stays right, and the caller counts it.
//! Nothing allocates after construction.
//!
//! ## Layout
//! Levels live in blocks of [`BLOCK_LEVELS`] in one pool allocated at construction. A
//! small index (`Slot`s) lists the blocks in price order with each block's level count
//! and the sort key of its first (worst) level; within a block the levels are contiguous
//! and sorted. A change looks at the touch and the best block, else binary-searches the
//! index, then the block, and moves levels only inside that block. A full block first
//! hands one level to a neighbour with room (moving at most that neighbour too); when
//! both neighbours are full it splits in two. After a removal, two neighbouring blocks
//! whose levels fit in one are merged. So every pair of neighbouring blocks holds more
//! than [`BLOCK_LEVELS`] levels, which bounds the blocks in use to
//! `2 * (capacity / (BLOCK_LEVELS + 1)) + 1`: the pool is sized for that, about twice the
//! levels' own bytes (a 400-level book stays under 64 KiB). Splits and merges also move
//! index entries (32 bytes each, one per block, at most `capacity / 16` of them). Worst
//! case for one change: two blocks (2 KiB) and the index.
//!
//! NB: the real Binance BTCUSDT streams change levels more than 100 places from the touch
//! 47% (spot) to 69% (USD-M) of the time (issue 23); the single sorted array this replaces
//! moved hundreds of 32-byte levels for each of those. A dense tick-indexed ladder around
//! the touch (DESIGN.md) would make a change O(1), but it needs recentring as the touch
//! moves, a sorted fallback beyond its range and the venue's tick size; the blocked array
//! is one structure for every price, much simpler to get exactly right, iterates exactly
//! from the touch and loads snapshots in linear time, with a per-change cost that no
//! longer depends on depth. The ladder remains the longer-term aim of issue 23 (its
//! search, 128-bit binary searches of the index and a block, is most of what a change
//! costs now).
//!
//! Snapshots load in linear time: levels are written into the pool as one sorted run and
//! cut into full blocks. A streamed snapshot ([`BookSide::push_snapshot_level`]) uses the
//! pool as its staging area, which holds at least `capacity` levels.

use crate::types::{Price, Qty, Side};

/// Levels per block: a move inside a block is at most 1 KiB (32-byte levels).
pub const BLOCK_LEVELS: usize = 32;

/// One price level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Level price.
    pub price: Price,
    /// Total quantity resting at the price.
    pub qty: Qty,
}

impl Level {
    /// The filler of unused pool entries.
    const EMPTY: Self = Self {
        price: Price::ZERO,
        qty: Qty::ZERO,
    };
}

/// What a level change did to the side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelChange {
    /// A new level.
    Inserted,
    /// An existing level got a new quantity.
    Updated,
    /// A level was removed (quantity zero).
    Removed,
    /// A delete of a level the side does not hold (already gone, or dropped as too far).
    Absent,
    /// The side is full and the level is farther than every held level: dropped.
    DroppedFar,
    /// The side was full: the farthest level was evicted to hold this one.
    EvictedFar,
}

/// A block in price order: which pool block, how many levels it holds, and the sort key
/// of its first (worst) level.
#[derive(Debug, Clone, Copy)]
struct Slot {
    first: i128,
    block: usize,
    len: usize,
}

/// Levels of one side in blocks, worst first and best last.
#[derive(Debug, Clone)]
pub struct BookSide {
    side: Side,
    capacity: usize,
    /// Levels held.
    len: usize,
    /// Every block's levels, block `b` at `b * BLOCK_LEVELS..`; the staging area of a
    /// streamed snapshot too.
    pool: Vec<Level>,
    /// Blocks in use in price order; never an empty one.
    slots: Vec<Slot>,
    /// Pool blocks not in use.
    free: Vec<usize>,
    /// Levels pushed by a streamed snapshot not finished yet (`None` outside one).
    staged: Option<usize>,
}

/// Pool blocks a side of `capacity` levels can need (see the module doc).
fn blocks_for(capacity: usize) -> usize {
    2 * (capacity / (BLOCK_LEVELS + 1)) + 1
}

impl BookSide {
    /// An empty side holding at most `capacity` levels (at least 1), allocated now.
    pub fn new(side: Side, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let blocks = blocks_for(capacity);
        let mut free = Vec::with_capacity(blocks);
        free.extend((0..blocks).rev());
        Self {
            side,
            capacity,
            len: 0,
            pool: vec![Level::EMPTY; blocks * BLOCK_LEVELS],
            slots: Vec::with_capacity(blocks),
            free,
            staged: None,
        }
    }

    /// Sort key: ascending toward the best price (bids ascending, asks descending).
    #[inline]
    fn key(&self, price: Price) -> i128 {
        match self.side {
            Side::Bid => price.raw(),
            Side::Ask => -price.raw(),
        }
    }

    /// Pool index of the first level of the block at `slot`.
    #[inline]
    fn base(&self, slot: usize) -> usize {
        self.slots[slot].block * BLOCK_LEVELS
    }

    /// The levels of the block at `slot`.
    #[inline]
    fn block(&self, slot: usize) -> &[Level] {
        let s = self.slots[slot];
        let base = s.block * BLOCK_LEVELS;
        &self.pool[base..base + s.len]
    }

    /// The slot `price` is in or belongs to, and its index there or where it would be
    /// inserted; `None` when the side is empty. The touch is looked at first: most
    /// changes are at it or better (top-of-book streams), and they then cost one compare;
    /// then the best block, then a binary search of the index and of one block.
    #[inline]
    fn search(&self, price: Price) -> Option<(usize, Result<usize, usize>)> {
        // One search loop per side, so that no step matches on the side.
        match self.side {
            Side::Bid => self.search_keyed(price, |p| p.raw()),
            Side::Ask => self.search_keyed(price, |p| -p.raw()),
        }
    }

    #[inline(always)]
    fn search_keyed(
        &self,
        price: Price,
        key: impl Fn(Price) -> i128 + Copy,
    ) -> Option<(usize, Result<usize, usize>)> {
        let k = key(price);
        let last = self.slots.len().checked_sub(1)?;
        let best = self.slots[last];
        let best_key = key(self.pool[best.block * BLOCK_LEVELS + best.len - 1].price);
        if k > best_key {
            return Some((last, Err(best.len)));
        }
        if k == best_key {
            return Some((last, Ok(best.len - 1)));
        }
        let slot = if k >= best.first {
            last
        } else {
            self.slots[..last]
                .partition_point(|s| s.first <= k)
                .saturating_sub(1)
        };
        let found = self.block(slot).binary_search_by_key(&k, |l| key(l.price));
        Some((slot, found))
    }

    /// Sets the quantity at `price`; zero removes the level.
    #[inline]
    pub fn set(&mut self, price: Price, qty: Qty) -> LevelChange {
        if self.staged.is_some() {
            self.finish_snapshot();
        }
        match (self.search(price), qty.is_zero()) {
            (Some((slot, Ok(i))), true) => {
                self.remove(slot, i);
                LevelChange::Removed
            }
            (Some((slot, Ok(i))), false) => {
                let at = self.base(slot) + i;
                self.pool[at].qty = qty;
                LevelChange::Updated
            }
            (Some((_, Err(_))) | None, true) => LevelChange::Absent,
            (None, false) => self.insert(0, 0, Level { price, qty }),
            (Some((slot, Err(i))), false) => self.insert(slot, i, Level { price, qty }),
        }
    }

    /// Inserts `level` at index `at` of the block at `slot` (any slot when empty),
    /// evicting the farthest level when the side is full.
    fn insert(&mut self, slot: usize, at: usize, level: Level) -> LevelChange {
        if self.len < self.capacity {
            self.insert_with_room(slot, at, level);
            return LevelChange::Inserted;
        }
        if slot == 0 && at == 0 {
            return LevelChange::DroppedFar;
        }
        self.remove(0, 0);
        // The removal may have merged blocks: look the place up again.
        let (slot, at) = match self.search(level.price) {
            Some((slot, Err(at))) => (slot, at),
            _ => (0, 0),
        };
        self.insert_with_room(slot, at, level);
        LevelChange::EvictedFar
    }

    fn insert_with_room(&mut self, slot: usize, at: usize, level: Level) {
        self.len += 1;
        if self.slots.is_empty() {
            let block = self.take_block();
            self.pool[block * BLOCK_LEVELS] = level;
            self.slots.push(Slot {
                first: self.key(level.price),
                block,
                len: 1,
            });
            return;
        }
        if (self.slots[slot].len) < BLOCK_LEVELS {
            self.insert_in_block(slot, at, level);
        } else if slot > 0 && (self.slots[slot - 1].len) < BLOCK_LEVELS {
            self.shift_to_previous(slot, at, level);
        } else if slot + 1 < self.slots.len() && (self.slots[slot + 1].len) < BLOCK_LEVELS {
            self.shift_to_next(slot, at, level);
        } else {
            self.split(slot, at, level);
        }
    }

    /// Inserts into a block with room.
    fn insert_in_block(&mut self, slot: usize, at: usize, level: Level) {
        let base = self.base(slot);
        let len = self.slots[slot].len;
        self.pool.copy_within(base + at..base + len, base + at + 1);
        self.pool[base + at] = level;
        self.slots[slot].len += 1;
        if at == 0 {
            self.slots[slot].first = self.key(level.price);
        }
    }

    /// A full block (not the first) makes room by handing its worst level to the
    /// previous block, which has room.
    fn shift_to_previous(&mut self, slot: usize, at: usize, level: Level) {
        if at == 0 {
            let end = self.slots[slot - 1].len;
            self.insert_in_block(slot - 1, end, level);
            return;
        }
        let base = self.base(slot);
        let moved = self.pool[base];
        let end = self.slots[slot - 1].len;
        self.insert_in_block(slot - 1, end, moved);
        self.pool.copy_within(base + 1..base + at, base);
        self.pool[base + at - 1] = level;
        self.slots[slot].first = self.key(self.pool[base].price);
    }

    /// A full block makes room by handing its best level to the next block, which has
    /// room; a level past the block's end goes there itself.
    fn shift_to_next(&mut self, slot: usize, at: usize, level: Level) {
        if at == BLOCK_LEVELS {
            self.insert_in_block(slot + 1, 0, level);
            return;
        }
        let base = self.base(slot);
        let moved = self.pool[base + BLOCK_LEVELS - 1];
        self.insert_in_block(slot + 1, 0, moved);
        self.slots[slot].len -= 1;
        self.insert_in_block(slot, at, level);
    }

    /// Splits a full block whose neighbours are full (or absent) in two halves and
    /// inserts into the half the level belongs to.
    fn split(&mut self, slot: usize, at: usize, level: Level) {
        const HALF: usize = BLOCK_LEVELS / 2;
        let block = self.take_block();
        let (from, to) = (self.base(slot), block * BLOCK_LEVELS);
        self.pool.copy_within(from + HALF..from + BLOCK_LEVELS, to);
        self.slots[slot].len = HALF;
        let first = self.key(self.pool[to].price);
        self.slots.insert(
            slot + 1,
            Slot {
                first,
                block,
                len: (BLOCK_LEVELS - HALF),
            },
        );
        if at <= HALF {
            self.insert_in_block(slot, at, level);
        } else {
            self.insert_in_block(slot + 1, at - HALF, level);
        }
    }

    /// Removes index `at` of the block at `slot`, then frees an emptied block or merges
    /// the block with a neighbour when their levels fit in one.
    fn remove(&mut self, slot: usize, at: usize) {
        let base = self.base(slot);
        let len = self.slots[slot].len;
        self.pool.copy_within(base + at + 1..base + len, base + at);
        self.len -= 1;
        self.slots[slot].len -= 1;
        if len == 1 {
            self.free.push(self.slots[slot].block);
            self.slots.remove(slot);
            return;
        }
        if at == 0 {
            self.slots[slot].first = self.key(self.pool[base].price);
        }
        let fits = |a: &Slot, b: &Slot| (a.len + b.len) <= BLOCK_LEVELS;
        if slot > 0 && fits(&self.slots[slot - 1], &self.slots[slot]) {
            self.merge(slot - 1);
        } else if slot + 1 < self.slots.len() && fits(&self.slots[slot], &self.slots[slot + 1]) {
            self.merge(slot);
        }
    }

    /// Appends the block after `slot` to it and frees the emptied block.
    fn merge(&mut self, slot: usize) {
        let next = self.slots[slot + 1];
        let from = next.block * BLOCK_LEVELS;
        let to = self.base(slot) + self.slots[slot].len;
        self.pool.copy_within(from..from + next.len, to);
        self.slots[slot].len += next.len;
        self.free.push(next.block);
        self.slots.remove(slot + 1);
    }

    /// A free pool block. The bound on blocks in use (module doc) means one is always
    /// there; `Self::new` sized the pool for it.
    fn take_block(&mut self) -> usize {
        self.free
            .pop()
            .expect("pool sized for 2 * (capacity / (BLOCK_LEVELS + 1)) + 1 blocks")
    }

    /// Cuts the first `len` pool entries, sorted worst first, into full blocks.
    fn adopt_sorted_run(&mut self, len: usize) {
        let blocks = len.div_ceil(BLOCK_LEVELS);
        self.slots.clear();
        for b in 0..blocks {
            let start = b * BLOCK_LEVELS;
            self.slots.push(Slot {
                first: self.key(self.pool[start].price),
                block: b,
                len: (len - start).min(BLOCK_LEVELS),
            });
        }
        let total = self.pool.len() / BLOCK_LEVELS;
        self.free.clear();
        self.free.extend((blocks..total).rev());
        self.len = len;
    }

    /// Replaces the side with `levels` given best first, as venues send snapshots: the
    /// nearest `capacity` are kept (written worst first as one run, linear time) and the
    /// number dropped is returned. Input that is not strictly ordered best first, or
    /// holds a zero quantity, is applied level by level instead.
    pub fn load_best_first(&mut self, levels: &[Level]) -> usize {
        self.clear();
        let ordered = levels
            .windows(2)
            .all(|w| self.key(w[0].price) > self.key(w[1].price));
        if !ordered || levels.iter().any(|l| l.qty.is_zero()) {
            return levels
                .iter()
                .filter(|l| {
                    let change = self.set(l.price, l.qty);
                    matches!(change, LevelChange::DroppedFar | LevelChange::EvictedFar)
                })
                .count();
        }
        let kept = levels.len().min(self.capacity);
        for (slot, level) in self.pool.iter_mut().zip(levels[..kept].iter().rev()) {
            *slot = *level;
        }
        self.adopt_sorted_run(kept);
        levels.len() - kept
    }

    /// Appends one level of a snapshot as the venue sent it (after [`BookSide::clear`];
    /// [`BookSide::finish_snapshot`] orders them, and a [`BookSide::set`] before that
    /// finishes it first). Returns false when the side is full and the level was dropped
    /// (venues send best first, so it is the farthest). A first push outside a snapshot
    /// starts one: the side is emptied.
    #[inline]
    pub fn push_snapshot_level(&mut self, price: Price, qty: Qty) -> bool {
        let staged = match self.staged {
            Some(n) => n,
            None => {
                self.clear();
                0
            }
        };
        if staged >= self.capacity {
            self.staged = Some(staged);
            return false;
        }
        self.pool[staged] = Level { price, qty };
        self.staged = Some(staged + 1);
        true
    }

    /// Orders the levels pushed since [`BookSide::clear`]: reversed when they came best
    /// first (the usual case, linear time), sorted otherwise; zero quantities and
    /// repeated prices (the first pushed of equal ones after the sort is kept) are
    /// removed. Allocation-free; nothing to do outside a streamed snapshot.
    pub fn finish_snapshot(&mut self) {
        let Some(staged) = self.staged.take() else {
            return;
        };
        let side = self.side;
        let key = move |l: &Level| match side {
            Side::Bid => l.price.raw(),
            Side::Ask => -l.price.raw(),
        };
        let run = &mut self.pool[..staged];
        let best_first = run.windows(2).all(|w| key(&w[0]) > key(&w[1]));
        let mut kept = staged;
        if best_first {
            run.reverse();
        } else {
            run.sort_unstable_by_key(key);
            kept = dedup_by_key(run, key);
        }
        kept = retain_nonzero(&mut self.pool[..kept]);
        self.adopt_sorted_run(kept);
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.slots.clear();
        let total = self.pool.len() / BLOCK_LEVELS;
        self.free.clear();
        self.free.extend((0..total).rev());
        self.len = 0;
        self.staged = None;
    }

    /// The best level.
    #[inline]
    pub fn best(&self) -> Option<Level> {
        let last = self.slots.last()?;
        Some(self.pool[last.block * BLOCK_LEVELS + last.len - 1])
    }

    /// The level `n` places behind the best (0 = best).
    #[inline]
    pub fn nth(&self, n: usize) -> Option<Level> {
        let mut n = n;
        for s in self.slots.iter().rev() {
            let len = s.len;
            if n < len {
                return Some(self.pool[s.block * BLOCK_LEVELS + len - 1 - n]);
            }
            n -= len;
        }
        None
    }

    /// Levels from the best outward.
    pub fn iter(&self) -> impl Iterator<Item = &Level> {
        self.blocks().flat_map(|block| block.iter().rev())
    }

    /// The blocks of levels from the best block outward, each one's levels worst first
    /// (never empty), for queries that can take a whole block at once.
    pub fn blocks(&self) -> impl Iterator<Item = &[Level]> {
        self.slots.iter().rev().map(move |s| {
            let base = s.block * BLOCK_LEVELS;
            &self.pool[base..base + s.len]
        })
    }

    /// Quantity resting at exactly `price` (zero if none).
    pub fn qty_at(&self, price: Price) -> Qty {
        match self.search(price) {
            Some((slot, Ok(i))) => self.block(slot)[i].qty,
            _ => Qty::ZERO,
        }
    }

    /// Number of levels held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the side is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Blocks in use (for tests and telemetry: splits raise it, merges lower it).
    pub fn blocks_in_use(&self) -> usize {
        self.slots.len()
    }

    /// Checks the layout the module doc describes: blocks non-empty and within the
    /// pool, levels strictly ordered across blocks, each block's first key recorded,
    /// neighbouring blocks holding more than one block's worth, the level count right.
    /// Linear time, for tests.
    pub fn check_layout(&self) -> Result<(), &'static str> {
        let mut previous = None;
        let mut total = 0;
        for (i, s) in self.slots.iter().enumerate() {
            if s.len == 0 || s.len > BLOCK_LEVELS {
                return Err("block length out of range");
            }
            let block = self.block(i);
            if s.first != self.key(block[0].price) {
                return Err("stale first key");
            }
            for level in block {
                let key = self.key(level.price);
                if previous.is_some_and(|p| p >= key) {
                    return Err("levels out of order");
                }
                previous = Some(key);
            }
            if i > 0 && (self.slots[i - 1].len + s.len) <= BLOCK_LEVELS {
                return Err("neighbouring blocks fit in one");
            }
            total += s.len;
        }
        if total != self.len || self.len > self.capacity {
            return Err("level count wrong");
        }
        if self.slots.len() + self.free.len() != self.pool.len() / BLOCK_LEVELS {
            return Err("blocks lost");
        }
        Ok(())
    }

    /// Bytes of the level pool and the block index (allocated once).
    pub fn heap_bytes(&self) -> usize {
        self.pool.capacity() * std::mem::size_of::<Level>()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.free.capacity() * std::mem::size_of::<usize>()
    }

    /// Whether `price` is at or better than `limit` on this side.
    #[inline]
    pub fn at_or_better(&self, price: Price, limit: Price) -> bool {
        self.key(price) >= self.key(limit)
    }
}

/// Keeps the first of each run of equal keys, in place, like `Vec::dedup_by_key`;
/// returns the length kept.
fn dedup_by_key(levels: &mut [Level], key: impl Fn(&Level) -> i128) -> usize {
    let mut kept = 0;
    for i in 0..levels.len() {
        if kept == 0 || key(&levels[i]) != key(&levels[kept - 1]) {
            levels[kept] = levels[i];
            kept += 1;
        }
    }
    kept
}

/// Drops zero quantities in place, keeping the order; returns the length kept.
fn retain_nonzero(levels: &mut [Level]) -> usize {
    let mut kept = 0;
    for i in 0..levels.len() {
        if !levels[i].qty.is_zero() {
            levels[kept] = levels[i];
            kept += 1;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: i128) -> Price {
        Price::from_raw(raw)
    }

    fn q(raw: i128) -> Qty {
        Qty::from_raw(raw)
    }

    #[test]
    fn test_side_orders_bids_and_asks_from_best() {
        let mut bids = BookSide::new(Side::Bid, 8);
        let mut asks = BookSide::new(Side::Ask, 8);
        for price in [10, 12, 11] {
            bids.set(p(price), q(1));
            asks.set(p(price), q(1));
        }
        let b: Vec<i128> = bids.iter().map(|l| l.price.raw()).collect();
        let a: Vec<i128> = asks.iter().map(|l| l.price.raw()).collect();
        assert_eq!(b, [12, 11, 10]);
        assert_eq!(a, [10, 11, 12]);
        assert_eq!(bids.nth(1).unwrap().price, p(11));
        assert_eq!(asks.nth(3), None);
    }

    #[test]
    fn test_side_update_remove_absent() {
        let mut bids = BookSide::new(Side::Bid, 8);
        assert_eq!(bids.set(p(10), q(1)), LevelChange::Inserted);
        assert_eq!(bids.set(p(10), q(5)), LevelChange::Updated);
        assert_eq!(bids.qty_at(p(10)), q(5));
        assert_eq!(bids.set(p(10), Qty::ZERO), LevelChange::Removed);
        assert_eq!(bids.set(p(10), Qty::ZERO), LevelChange::Absent);
        assert!(bids.is_empty());
    }

    #[test]
    fn test_side_full_drops_far_and_evicts_for_near() {
        let mut asks = BookSide::new(Side::Ask, 2);
        asks.set(p(10), q(1));
        asks.set(p(11), q(1));
        assert_eq!(asks.set(p(12), q(1)), LevelChange::DroppedFar);
        assert_eq!(asks.set(p(9), q(1)), LevelChange::EvictedFar);
        let a: Vec<i128> = asks.iter().map(|l| l.price.raw()).collect();
        assert_eq!(a, [9, 10]);
        assert_eq!(asks.set(p(11), Qty::ZERO), LevelChange::Absent);
    }

    /// Prices 0..n in a scattered order (a full-period step modulo `n`).
    fn scattered(n: i128, step: i128) -> impl Iterator<Item = i128> {
        (0..n).map(move |i| (i * step + 7) % n)
    }

    #[test]
    fn test_side_blocks_split_shift_merge_and_fill_exactly() {
        for side in [Side::Bid, Side::Ask] {
            let mut s = BookSide::new(side, 2000);
            let mut model = std::collections::BTreeMap::new();
            let mut peak = 0;
            for price in scattered(3001, 1237) {
                let change = s.set(p(price), q(price + 1));
                let far = |held: &std::collections::BTreeMap<i128, i128>| match side {
                    Side::Bid => *held.keys().next().unwrap(),
                    Side::Ask => *held.keys().next_back().unwrap(),
                };
                if model.len() == 2000 {
                    let farthest = far(&model);
                    if s.at_or_better(p(farthest), p(price)) {
                        assert_eq!(change, LevelChange::DroppedFar);
                    } else {
                        assert_eq!(change, LevelChange::EvictedFar);
                        model.remove(&farthest);
                        model.insert(price, price + 1);
                    }
                } else {
                    assert_eq!(change, LevelChange::Inserted);
                    model.insert(price, price + 1);
                }
                s.check_layout().unwrap();
                peak = peak.max(s.blocks_in_use());
            }
            let held: Vec<i128> = s.iter().map(|l| l.price.raw()).collect();
            let mut want: Vec<i128> = model.keys().copied().collect();
            if side == Side::Bid {
                want.reverse();
            }
            assert_eq!(held, want);
            assert!(peak > 2000 / BLOCK_LEVELS, "{peak} blocks");
            for price in scattered(3001, 911) {
                let change = s.set(p(price), Qty::ZERO);
                let held = model.remove(&price).is_some();
                assert_eq!(change == LevelChange::Removed, held);
                s.check_layout().unwrap();
                assert!(s.blocks_in_use() <= 2 * s.len() / (BLOCK_LEVELS + 1) + 1);
            }
            assert_eq!((s.len(), s.blocks_in_use()), (0, 0));
        }
    }

    #[test]
    fn test_side_full_snapshot_then_inserts_between_full_blocks() {
        let mut bids = BookSide::new(Side::Bid, 800);
        let levels: Vec<Level> = (0..400)
            .rev()
            .map(|t| Level {
                price: p(2 * t),
                qty: q(1),
            })
            .collect();
        assert_eq!(bids.load_best_first(&levels), 0);
        bids.check_layout().unwrap();
        assert_eq!(bids.blocks_in_use(), 400usize.div_ceil(BLOCK_LEVELS));
        bids.set(p(2 * 399), Qty::ZERO);
        for t in (0..399).rev() {
            assert_eq!(bids.set(p(2 * t + 1), q(2)), LevelChange::Inserted);
            bids.check_layout().unwrap();
        }
        assert_eq!(bids.len(), 798);
        assert_eq!(bids.nth(0).unwrap().price, p(797));
        assert_eq!(bids.nth(797).unwrap().price, p(0));
        assert_eq!(bids.nth(798), None);
    }
}
