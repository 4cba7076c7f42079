//! The L2 order book of one instrument: both sides at fixed-point prices, any depth up to
//! its configured maximum, and the exact queries edges and fills need.
//!
//! Owned by the book stage's thread (and read by the paper venue through the same
//! queries). Nothing here allocates after [`L2Book::with_depth`]; every query walks the
//! held levels from the touch and stops as soon as it has its answer. Quantities and
//! notionals are exact integers (notional in raw 10^-8 quote units as `i128`); ratios
//! (bps, imbalance) are `Bps` fixed point.

use crate::book::side::{BookSide, Level, LevelChange};
use crate::types::bps::{Bps, bps_of, ratio};
use crate::types::decimal::{DECIMAL_TEXT_MAX, mul_div, write_decimal};
use crate::types::{Price, Qty, Side};

/// Levels per side the OKX checksum covers.
pub const OKX_CHECKSUM_LEVELS: usize = 25;

/// Which way a market order goes: a buy walks the asks, a sell walks the bids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakerSide {
    /// Buys from the asks.
    Buy,
    /// Sells into the bids.
    Sell,
}

/// Quantity and value resting on one side within some distance of the touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Depth {
    /// Levels counted.
    pub levels: usize,
    /// Total quantity.
    pub qty: Qty,
    /// Total value, raw 10^-8 quote units.
    pub notional_raw: i128,
}

/// A market order walked through the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execution {
    /// Quantity filled.
    pub filled: Qty,
    /// Value paid or received, raw 10^-8 quote units.
    pub notional_raw: i128,
    /// Volume-weighted price (truncated to the price scale, 10^-12).
    pub vwap: Price,
    /// The last (worst) price touched.
    pub worst: Price,
    /// Levels touched.
    pub levels: usize,
    /// How much worse than the touch the VWAP is, in bps of the touch (never negative).
    pub slippage_bps: Bps,
}

/// The book cannot fill the requested size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientLiquidity {
    /// What the whole side holds.
    pub available: Qty,
    /// Its value, raw 10^-8 quote units.
    pub available_notional_raw: i128,
}

/// State of the touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// Best bid below best ask, or a side empty.
    Normal,
    /// Best bid equals best ask.
    Locked,
    /// Best bid above best ask.
    Crossed,
}

/// Levels beyond the configured depth, since the book was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DepthOverflow {
    /// Far levels dropped because the side was full.
    pub dropped_far: u64,
    /// Far levels evicted to make room for nearer ones.
    pub evicted_far: u64,
}

/// An L2 book.
#[derive(Debug, Clone)]
pub struct L2Book {
    bids: BookSide,
    asks: BookSide,
    overflow: DepthOverflow,
}

impl L2Book {
    /// An empty book holding up to `levels_max` levels per side, allocated now.
    pub fn with_depth(levels_max: usize) -> Self {
        Self {
            bids: BookSide::new(Side::Bid, levels_max),
            asks: BookSide::new(Side::Ask, levels_max),
            overflow: DepthOverflow::default(),
        }
    }

    /// One side.
    pub fn side(&self, side: Side) -> &BookSide {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    /// Sets one level (quantity zero deletes it).
    #[inline]
    pub fn apply(&mut self, side: Side, price: Price, qty: Qty) -> LevelChange {
        let book_side = match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        };
        let change = book_side.set(price, qty);
        match change {
            LevelChange::DroppedFar => self.overflow.dropped_far += 1,
            LevelChange::EvictedFar => self.overflow.evicted_far += 1,
            _ => {}
        }
        change
    }

    /// Applies a batch of level changes in order.
    pub fn apply_batch(&mut self, changes: impl IntoIterator<Item = (Side, Price, Qty)>) {
        for (side, price, qty) in changes {
            self.apply(side, price, qty);
        }
    }

    /// Replaces the whole book with a snapshot (levels best first, as venues send them;
    /// any other order works too, more slowly). Levels beyond the depth are dropped far
    /// from the touch and counted.
    pub fn apply_snapshot(&mut self, bids: &[Level], asks: &[Level]) {
        let dropped = self.bids.load_best_first(bids) + self.asks.load_best_first(asks);
        self.overflow.dropped_far += dropped as u64;
    }

    /// Starts a snapshot streamed level by level: empties the book; follow with
    /// [`L2Book::snapshot_level`] for each level and [`L2Book::end_snapshot`].
    pub fn begin_snapshot(&mut self) {
        self.clear();
    }

    /// One level of a streamed snapshot, in the venue's order.
    #[inline]
    pub fn snapshot_level(&mut self, side: Side, price: Price, qty: Qty) {
        let book_side = match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        };
        if !book_side.push_snapshot_level(price, qty) {
            self.overflow.dropped_far += 1;
        }
    }

    /// Ends a streamed snapshot: both sides are put in order.
    pub fn end_snapshot(&mut self) {
        self.bids.finish_snapshot();
        self.asks.finish_snapshot();
    }

    /// Empties both sides (a resync starts here).
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Bytes the book occupies: the struct and both level arrays.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.bids.heap_bytes() + self.asks.heap_bytes()
    }

    /// Levels beyond the configured depth so far.
    pub fn overflow(&self) -> DepthOverflow {
        self.overflow
    }

    /// Best bid.
    #[inline]
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    /// Best ask.
    #[inline]
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// (best bid + best ask) / 2, truncated to the price's 10^-12.
    pub fn mid(&self) -> Option<Price> {
        let (b, a) = (self.best_bid()?, self.best_ask()?);
        Some(Price::from_raw((b.price.raw() + a.price.raw()) / 2))
    }

    /// (ask - bid) / mid in bps.
    pub fn spread_bps(&self) -> Option<Bps> {
        let (b, a) = (self.best_bid()?, self.best_ask()?);
        let (bid, ask) = (b.price.raw(), a.price.raw());
        Some(bps_of(2 * (ask - bid), bid + ask))
    }

    /// Whether the touch is crossed or locked.
    pub fn crossing(&self) -> Crossing {
        match (self.best_bid(), self.best_ask()) {
            (Some(b), Some(a)) if b.price > a.price => Crossing::Crossed,
            (Some(b), Some(a)) if b.price == a.price => Crossing::Locked,
            _ => Crossing::Normal,
        }
    }

    /// Quantity resting at exactly `price` on `side`.
    pub fn qty_at(&self, side: Side, price: Price) -> Qty {
        self.side(side).qty_at(price)
    }

    /// Depth of the best `n` levels of `side`.
    pub fn depth_levels(&self, side: Side, n: usize) -> Depth {
        accumulate(self.side(side).iter().take(n))
    }

    /// Depth of `side` within `bps` of its own touch (levels priced at most `bps` worse
    /// than the best, inclusive).
    pub fn depth_within_bps(&self, side: Side, bps: Bps) -> Depth {
        let book_side = self.side(side);
        let Some(best) = book_side.best() else {
            return Depth::default();
        };
        let limit = offset_by_bps(best.price, bps, side);
        accumulate(
            book_side
                .iter()
                .take_while(|l| book_side.at_or_better(l.price, limit)),
        )
    }

    /// Walks the book with a market order of `qty`.
    pub fn execute_qty(
        &self,
        taker: TakerSide,
        qty: Qty,
    ) -> Result<Execution, InsufficientLiquidity> {
        self.walk(
            taker,
            |filled, _| filled >= qty.raw(),
            |level, filled, _| level.qty.raw().min(qty.raw() - filled),
        )
    }

    /// Walks the book with a market order worth `notional` (raw 10^-8 quote units); the
    /// last level is taken in part, to 10^-8 of quantity.
    pub fn execute_notional(
        &self,
        taker: TakerSide,
        notional_raw: i128,
    ) -> Result<Execution, InsufficientLiquidity> {
        self.walk(
            taker,
            |_, value| value >= notional_raw,
            |level, _, value| {
                let left = notional_raw - value;
                let affordable = mul_div(left, Price::SCALE, level.price.raw().max(1));
                affordable.min(level.qty.raw())
            },
        )
    }

    /// Shared walk: `done(filled, value)` says when to stop, `take(level, filled, value)`
    /// how much of a level to take.
    fn walk(
        &self,
        taker: TakerSide,
        done: impl Fn(i128, i128) -> bool,
        take: impl Fn(&Level, i128, i128) -> i128,
    ) -> Result<Execution, InsufficientLiquidity> {
        let book_side = match taker {
            TakerSide::Buy => &self.asks,
            TakerSide::Sell => &self.bids,
        };
        let (mut filled, mut value, mut levels, mut worst) = (0i128, 0i128, 0usize, Price::ZERO);
        let mut stopped = false;
        for level in book_side.iter() {
            // A level yielding nothing means what is left is below one quantity unit.
            let qty = if done(filled, value) {
                0
            } else {
                take(level, filled, value)
            };
            if qty <= 0 {
                stopped = true;
                break;
            }
            filled += qty;
            value += level.price.notional_raw(Qty::from_raw(qty));
            levels += 1;
            worst = level.price;
        }
        if filled == 0 || !(stopped || done(filled, value)) {
            let all = accumulate(book_side.iter());
            return Err(InsufficientLiquidity {
                available: all.qty,
                available_notional_raw: all.notional_raw,
            });
        }
        let best = book_side.best().map_or(Price::ZERO, |l| l.price);
        Ok(execution(taker, best, worst, filled, value, levels))
    }

    /// Order book imbalance over the best `k` levels: (bid qty - ask qty) / (bid qty + ask
    /// qty), in [-1, 1]; `None` when both are empty.
    pub fn imbalance(&self, k: usize) -> Option<Bps> {
        let bid = self.depth_levels(Side::Bid, k).qty.raw();
        let ask = self.depth_levels(Side::Ask, k).qty.raw();
        (bid + ask > 0).then(|| ratio(bid - ask, bid + ask))
    }

    /// OKX's CRC32 checksum of the book: the best 25 levels of each side interleaved as
    /// `bidPx:bidSz:askPx:askSz:...` (a side that runs out just stops contributing), CRC32
    /// of that text read as a signed 32-bit integer.
    /// <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>
    pub fn okx_checksum(&self) -> i32 {
        let mut hasher = crc32fast::Hasher::new();
        let mut first = true;
        let mut buf = [0u8; DECIMAL_TEXT_MAX];
        let mut feed = |level: Level, hasher: &mut crc32fast::Hasher| {
            let fields = [
                (level.price.raw(), Price::DIGITS),
                (level.qty.raw(), Qty::DIGITS),
            ];
            for (i, (raw, digits)) in fields.into_iter().enumerate() {
                if !first || i > 0 {
                    hasher.update(b":");
                }
                first = false;
                let len = write_decimal(raw, digits, &mut buf);
                hasher.update(&buf[..len]);
            }
        };
        for n in 0..OKX_CHECKSUM_LEVELS {
            if let Some(bid) = self.bids.nth(n) {
                feed(bid, &mut hasher);
            }
            if let Some(ask) = self.asks.nth(n) {
                feed(ask, &mut hasher);
            }
        }
        i32::from_ne_bytes(hasher.finalize().to_ne_bytes())
    }
}

fn accumulate<'a>(levels: impl Iterator<Item = &'a Level>) -> Depth {
    levels.fold(Depth::default(), |d, l| Depth {
        levels: d.levels + 1,
        qty: Qty::from_raw(d.qty.raw() + l.qty.raw()),
        notional_raw: d.notional_raw + l.price.notional_raw(l.qty),
    })
}

/// `price` moved `bps` away from the touch, toward worse prices for `side`.
fn offset_by_bps(price: Price, bps: Bps, side: Side) -> Price {
    let delta = mul_div(price.raw(), i128::from(bps.to_bits()), 10_000i128 << 32);
    Price::from_raw(match side {
        Side::Bid => price.raw() - delta,
        Side::Ask => price.raw() + delta,
    })
}

fn execution(
    taker: TakerSide,
    best: Price,
    worst: Price,
    filled: i128,
    value: i128,
    levels: usize,
) -> Execution {
    let vwap_raw = mul_div(value, Price::SCALE, filled);
    let vwap = Price::from_raw(vwap_raw);
    let worse_by = match taker {
        TakerSide::Buy => vwap_raw - best.raw(),
        TakerSide::Sell => best.raw() - vwap_raw,
    };
    Execution {
        filled: Qty::from_raw(filled),
        notional_raw: value,
        vwap,
        worst,
        levels,
        slippage_bps: bps_of(worse_by.max(0), best.raw()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn q(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    /// A notional in raw 10^-8 quote units.
    fn raw(s: &str) -> i128 {
        q(s).raw()
    }

    fn close(got: Bps, want: f64) {
        let got = got.to_num::<f64>();
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    }

    /// bids 100@2, 99@3, 98@5; asks 101@1, 102@4, 105@10.
    fn book() -> L2Book {
        let mut b = L2Book::with_depth(16);
        for (price, qty) in [("100", "2"), ("99", "3"), ("98", "5")] {
            b.apply(Side::Bid, p(price), q(qty));
        }
        for (price, qty) in [("101", "1"), ("102", "4"), ("105", "10")] {
            b.apply(Side::Ask, p(price), q(qty));
        }
        b
    }

    fn levels_of(b: &L2Book, side: Side) -> Vec<(Price, Qty)> {
        b.side(side).iter().map(|l| (l.price, l.qty)).collect()
    }

    #[test]
    fn test_streamed_snapshot_equals_built_book_in_any_order() {
        let want = book();
        let mut b = L2Book::with_depth(16);
        b.apply(Side::Bid, p("1"), q("1"));
        b.begin_snapshot();
        for (price, qty) in [("100", "2"), ("99", "3"), ("98", "5")] {
            b.snapshot_level(Side::Bid, p(price), q(qty));
        }
        for (price, qty) in [("105", "10"), ("101", "1"), ("107", "0"), ("102", "4")] {
            b.snapshot_level(Side::Ask, p(price), q(qty));
        }
        b.end_snapshot();
        assert_eq!(levels_of(&b, Side::Bid), levels_of(&want, Side::Bid));
        assert_eq!(levels_of(&b, Side::Ask), levels_of(&want, Side::Ask));
        let mut small = L2Book::with_depth(2);
        small.begin_snapshot();
        for (price, qty) in [("100", "2"), ("99", "3"), ("98", "5")] {
            small.snapshot_level(Side::Bid, p(price), q(qty));
        }
        small.end_snapshot();
        assert_eq!(small.best_bid().unwrap().price, p("100"));
        assert_eq!(small.overflow().dropped_far, 1);
    }

    #[test]
    fn test_touch_mid_spread() {
        let b = book();
        assert_eq!(b.best_bid().unwrap().price, p("100"));
        assert_eq!(b.best_ask().unwrap().qty, q("1"));
        assert_eq!(b.mid(), Some(p("100.5")));
        close(b.spread_bps().unwrap(), 1.0 / 100.5 * 1e4);
        assert_eq!(b.crossing(), Crossing::Normal);
    }

    #[test]
    fn test_depth_by_levels_and_bps() {
        let b = book();
        let d = b.depth_levels(Side::Bid, 2);
        assert_eq!((d.levels, d.qty, d.notional_raw), (2, q("5"), raw("497")));
        let d = b.depth_within_bps(Side::Ask, Bps::from_num(100));
        assert_eq!((d.levels, d.qty, d.notional_raw), (2, q("5"), raw("509")));
        let d = b.depth_within_bps(Side::Bid, Bps::from_num(100));
        assert_eq!(
            (d.levels, d.qty),
            (2, q("5")),
            "99 is exactly 100 bps below 100"
        );
        let d = b.depth_levels(Side::Ask, 99);
        assert_eq!((d.levels, d.qty), (3, q("15")));
    }

    #[test]
    fn test_execute_qty_walks_levels() {
        let e = book().execute_qty(TakerSide::Buy, q("3")).unwrap();
        assert_eq!((e.filled, e.levels, e.worst), (q("3"), 2, p("102")));
        assert_eq!(e.notional_raw, raw("305"));
        assert_eq!(e.vwap, p("101.666666666666"));
        close(e.slippage_bps, (101.666666666666 - 101.0) / 101.0 * 1e4);
        let e = book().execute_qty(TakerSide::Sell, q("2")).unwrap();
        assert_eq!((e.vwap, e.levels), (p("100"), 1));
        assert_eq!(e.slippage_bps, Bps::ZERO);
    }

    #[test]
    fn test_execute_insufficient_liquidity() {
        let err = book().execute_qty(TakerSide::Buy, q("16")).unwrap_err();
        assert_eq!(err.available, q("15"));
        assert_eq!(err.available_notional_raw, raw("1559"));
        let err = L2Book::with_depth(4)
            .execute_qty(TakerSide::Sell, q("1"))
            .unwrap_err();
        assert_eq!(err.available, Qty::ZERO);
        let err = book()
            .execute_notional(TakerSide::Sell, raw("10000"))
            .unwrap_err();
        assert_eq!(err.available, q("10"));
    }

    #[test]
    fn test_execute_notional_takes_last_level_in_part() {
        let e = book()
            .execute_notional(TakerSide::Sell, raw("250"))
            .unwrap();
        assert_eq!(e.filled, q("2.50505050"));
        assert_eq!(e.notional_raw, raw("249.9999995"));
        assert_eq!(e.levels, 2);
    }

    #[test]
    fn test_imbalance_and_qty_at() {
        let b = book();
        assert_eq!(b.imbalance(2), Some(Bps::ZERO));
        close(b.imbalance(3).unwrap(), -0.2);
        assert_eq!(b.qty_at(Side::Bid, p("99")), q("3"));
        assert_eq!(b.qty_at(Side::Ask, p("103")), Qty::ZERO);
        assert_eq!(L2Book::with_depth(4).imbalance(5), None);
    }

    #[test]
    fn test_empty_and_one_sided_book() {
        let mut b = L2Book::with_depth(4);
        assert_eq!((b.best_bid(), b.mid(), b.spread_bps()), (None, None, None));
        assert_eq!(b.depth_within_bps(Side::Ask, Bps::ONE), Depth::default());
        b.apply(Side::Bid, p("10"), q("1"));
        assert_eq!((b.mid(), b.crossing()), (None, Crossing::Normal));
        close(b.imbalance(1).unwrap(), 1.0);
        assert_eq!(
            b.execute_qty(TakerSide::Sell, q("1")).unwrap().vwap,
            p("10")
        );
    }

    #[test]
    fn test_crossed_and_locked_detected() {
        let mut b = book();
        b.apply(Side::Bid, p("101"), q("1"));
        assert_eq!(b.crossing(), Crossing::Locked);
        b.apply(Side::Bid, p("101.5"), q("1"));
        assert_eq!(b.crossing(), Crossing::Crossed);
    }

    #[test]
    fn test_overflow_counted_best_price_kept() {
        let mut b = L2Book::with_depth(2);
        for price in ["100", "99", "98"] {
            b.apply(Side::Bid, p(price), q("1"));
        }
        b.apply(Side::Bid, p("101"), q("1"));
        assert_eq!(b.best_bid().unwrap().price, p("101"));
        assert_eq!(
            b.overflow(),
            DepthOverflow {
                dropped_far: 1,
                evicted_far: 1
            }
        );
    }

    #[test]
    fn test_snapshot_keeps_nearest_levels_in_any_order() {
        let level = |s: &str| Level {
            price: p(s),
            qty: q("1"),
        };
        let mut b = L2Book::with_depth(2);
        b.apply_snapshot(
            &[level("3"), level("2"), level("1")],
            &[level("4"), level("5")],
        );
        let bids: Vec<Price> = b.side(Side::Bid).iter().map(|l| l.price).collect();
        assert_eq!(bids, [p("3"), p("2")]);
        assert_eq!(b.overflow().dropped_far, 1);
        b.apply_snapshot(
            &[level("1"), level("3"), level("2")],
            &[level("5"), level("4")],
        );
        let bids: Vec<Price> = b.side(Side::Bid).iter().map(|l| l.price).collect();
        let asks: Vec<Price> = b.side(Side::Ask).iter().map(|l| l.price).collect();
        assert_eq!((bids, asks), (vec![p("3"), p("2")], vec![p("4"), p("5")]));
    }

    #[test]
    fn test_snapshot_replaces_book() {
        let mut b = book();
        let bids = [Level {
            price: p("50"),
            qty: q("1"),
        }];
        b.apply_snapshot(&bids, &[]);
        assert_eq!(b.best_bid().unwrap().price, p("50"));
        assert_eq!(b.best_ask(), None);
    }

    #[test]
    fn test_memory_of_400_and_5000_level_books() {
        let small = L2Book::with_depth(400).memory_bytes();
        let large = L2Book::with_depth(5000).memory_bytes();
        assert!(small < 64 * 1024, "{small} bytes");
        assert_eq!(small, std::mem::size_of::<L2Book>() + 2 * 400 * 32);
        assert_eq!(large, std::mem::size_of::<L2Book>() + 2 * 5000 * 32);
    }

    #[test]
    fn test_okx_checksum_documented_shape() {
        // Reference: Python's zlib.crc32(b"3366.1:7:3366.8:9:3366:6:3368:8") as int32.
        let mut b = L2Book::with_depth(400);
        b.apply(Side::Bid, p("3366.1"), q("7"));
        b.apply(Side::Bid, p("3366"), q("6"));
        b.apply(Side::Ask, p("3366.8"), q("9"));
        b.apply(Side::Ask, p("3368"), q("8"));
        assert_eq!(b.okx_checksum(), -1_881_014_294);
    }
}
