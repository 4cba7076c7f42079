//! One side of an L2 book: price levels in a fixed-capacity sorted array with the best
//! level at the end, so changes near the touch (the common case) move few elements.
//!
//! Owned by the book stage's thread. Capacity is fixed at construction (the configured
//! maximum depth); a level beyond it is dropped when it is farther than every held level,
//! otherwise the farthest level is evicted for it. Either way the best price stays right,
//! and the caller counts it. Nothing allocates after construction.

use crate::types::{Price, Qty, Side};

/// One price level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Level price.
    pub price: Price,
    /// Total quantity resting at the price.
    pub qty: Qty,
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

/// Levels of one side, best last.
#[derive(Debug, Clone)]
pub struct BookSide {
    side: Side,
    levels: Vec<Level>,
    capacity: usize,
}

impl BookSide {
    /// An empty side holding at most `capacity` levels (at least 1), allocated now.
    pub fn new(side: Side, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            side,
            levels: Vec::with_capacity(capacity),
            capacity,
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

    /// Index of `price`, or where it would be inserted. The touch is looked at first:
    /// most changes are at it or better (top-of-book streams), and they then cost one
    /// compare instead of a binary search through the whole side.
    #[inline]
    fn search(&self, price: Price) -> Result<usize, usize> {
        let key = self.key(price);
        if let Some(best) = self.levels.last() {
            let best_key = self.key(best.price);
            if key > best_key {
                return Err(self.levels.len());
            }
            if key == best_key {
                return Ok(self.levels.len() - 1);
            }
        }
        self.levels
            .binary_search_by_key(&key, |l| self.key(l.price))
    }

    /// Sets the quantity at `price`; zero removes the level.
    #[inline]
    pub fn set(&mut self, price: Price, qty: Qty) -> LevelChange {
        match (self.search(price), qty.is_zero()) {
            (Ok(i), true) => {
                self.levels.remove(i);
                LevelChange::Removed
            }
            (Ok(i), false) => {
                self.levels[i].qty = qty;
                LevelChange::Updated
            }
            (Err(_), true) => LevelChange::Absent,
            (Err(i), false) => self.insert(i, Level { price, qty }),
        }
    }

    fn insert(&mut self, at: usize, level: Level) -> LevelChange {
        if self.levels.len() < self.capacity {
            self.levels.insert(at, level);
            return LevelChange::Inserted;
        }
        if at == 0 {
            return LevelChange::DroppedFar;
        }
        self.levels.remove(0);
        self.levels.insert(at - 1, level);
        LevelChange::EvictedFar
    }

    /// Replaces the side with `levels` given best first, as venues send snapshots: the
    /// nearest `capacity` are kept (appended worst first, no shifting) and the number
    /// dropped is returned. Input that is not strictly ordered best first, or holds a
    /// zero quantity, is applied level by level instead.
    pub fn load_best_first(&mut self, levels: &[Level]) -> usize {
        self.levels.clear();
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
        self.levels.extend(levels[..kept].iter().rev());
        levels.len() - kept
    }

    /// Appends one level of a snapshot as the venue sent it (after [`BookSide::clear`];
    /// [`BookSide::finish_snapshot`] orders them). Returns false when the side is full
    /// and the level was dropped (venues send best first, so it is the farthest).
    #[inline]
    pub fn push_snapshot_level(&mut self, price: Price, qty: Qty) -> bool {
        if self.levels.len() >= self.capacity {
            return false;
        }
        self.levels.push(Level { price, qty });
        true
    }

    /// Orders the levels pushed since [`BookSide::clear`]: reversed when they came best
    /// first (the usual case, linear time), sorted otherwise; zero quantities and
    /// repeated prices are removed. Allocation-free.
    pub fn finish_snapshot(&mut self) {
        let side = self.side;
        let key = move |l: &Level| match side {
            Side::Bid => l.price.raw(),
            Side::Ask => -l.price.raw(),
        };
        let best_first = self.levels.windows(2).all(|w| key(&w[0]) > key(&w[1]));
        if best_first {
            self.levels.reverse();
        } else {
            self.levels.sort_unstable_by_key(key);
            self.levels.dedup_by_key(|l| key(l));
        }
        self.levels.retain(|l| !l.qty.is_zero());
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.levels.clear();
    }

    /// The best level.
    #[inline]
    pub fn best(&self) -> Option<Level> {
        self.levels.last().copied()
    }

    /// The level `n` places behind the best (0 = best).
    #[inline]
    pub fn nth(&self, n: usize) -> Option<Level> {
        self.levels.len().checked_sub(n + 1).map(|i| self.levels[i])
    }

    /// Levels from the best outward.
    pub fn iter(&self) -> impl Iterator<Item = &Level> {
        self.levels.iter().rev()
    }

    /// Quantity resting at exactly `price` (zero if none).
    pub fn qty_at(&self, price: Price) -> Qty {
        self.search(price).map_or(Qty::ZERO, |i| self.levels[i].qty)
    }

    /// Number of levels held.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Whether the side is empty.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Bytes of the level array (allocated once).
    pub fn heap_bytes(&self) -> usize {
        self.levels.capacity() * std::mem::size_of::<Level>()
    }

    /// Whether `price` is at or better than `limit` on this side.
    #[inline]
    pub fn at_or_better(&self, price: Price, limit: Price) -> bool {
        self.key(price) >= self.key(limit)
    }
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
}
