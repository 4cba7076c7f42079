//! The paper venue: fills orders the way a real venue would, against L2 books it keeps
//! from the market data it is fed.
//!
//! - Latency: an order reaches the venue `paper.latency_ms.<venue>` after it was sent,
//!   and meets the book as it is then (the driver feeds market events in time order and
//!   [`PaperVenue::on_market`] first processes every arrival due before the event).
//! - IOC and market orders walk the book at arrival ([`L2Book::execute_qty`]) up to their
//!   limit (a market order's limit is the venue's price band around the touch) and pay
//!   the taker fee; what the book cannot give is cancelled. What they took is removed
//!   from the paper book until the venue's next update of those levels.
//! - Post-only orders are rejected if they would cross; otherwise they rest behind the
//!   quantity resting at their price on arrival, and fill (at their price, maker fee)
//!   only after trades at or through their price add up to `paper.queue_share_bps` of
//!   that quantity; the volume beyond it fills them, partially if it is short.
//!
//! NB: cancels take effect at once (no cancel latency): an optimistic simplification
//! for the gateway's timeouts, which cancel orders that were not filled.
//!
//! Owned by the gateway thread; books and the order slab are allocated in
//! [`PaperVenue::new`], nothing after.

use crate::book::{L2Book, TakerSide};
use crate::gateway::config::{
    BPS_ONE, PaperConfig, VENUE_COUNT, VenueFees, kind_index, venue_index,
};
use crate::gateway::order::{Fill, Liquidity, Order, OrderId, OrderState, OrderStyle, VenueReject};
use crate::types::{
    EventBody, FeedStatus, InstrumentId, MarketEvent, MarketKind, OrderSide, Price, Qty, Side,
    Venue,
};

/// What the venue reports back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueEvent {
    /// An execution.
    Fill(Fill),
    /// The order reached a terminal state (filled, cancelled or rejected); this is its
    /// final form.
    Done(Order),
}

/// The venue cannot take the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PaperError {
    /// Every order slot is in use (`paper.orders_max`).
    #[error("paper venue full: {0} orders working")]
    Full(usize),
    /// The instrument is unknown to the venue.
    #[error("unknown instrument {0:?}")]
    UnknownInstrument(InstrumentId),
}

#[derive(Debug, Clone, Copy)]
struct Working {
    order: Order,
    arrival_ns: u64,
    arrived: bool,
    queue_required: i128,
    traded: i128,
}

/// The paper venue.
#[derive(Debug)]
pub struct PaperVenue {
    books: Vec<L2Book>,
    /// Why each instrument's book may not be traded against now.
    halts: Vec<Halt>,
    venues: Vec<Venue>,
    working: Vec<Working>,
    orders_max: usize,
    latency_ns: [u64; VENUE_COUNT],
    fees: Vec<VenueFees>,
    queue_share_bps: i64,
    band_bps: i64,
    now_ns: u64,
}

/// Why an instrument's paper book is not to be traded against: its feed is stale
/// (`Stale` until `Fresh`), or its connection was lost (`Reset` until book data comes
/// again, which the book stage forwards only once the book is valid).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Halt {
    stale: bool,
    reset: bool,
}

impl Halt {
    fn any(self) -> bool {
        self.stale || self.reset
    }
}

/// Fee of `notional_raw` at `centi_bps` hundredths of a basis point, truncated.
pub fn fee_raw(notional_raw: i128, centi_bps: i64) -> i128 {
    notional_raw * i128::from(centi_bps) / (i128::from(BPS_ONE) * 100)
}

impl PaperVenue {
    /// A venue for instruments whose venue and market kind are `markets` (indexed by
    /// instrument id).
    pub fn new(cfg: &PaperConfig, markets: &[(Venue, MarketKind)]) -> Self {
        Self {
            books: markets
                .iter()
                .map(|_| L2Book::with_depth(cfg.book_depth))
                .collect(),
            halts: vec![Halt::default(); markets.len()],
            venues: markets.iter().map(|&(venue, _)| venue).collect(),
            working: Vec::with_capacity(cfg.orders_max),
            orders_max: cfg.orders_max,
            latency_ns: cfg.latency_ns,
            fees: markets
                .iter()
                .map(|&(venue, kind)| cfg.fees[venue_index(venue)][kind_index(kind)])
                .collect(),
            queue_share_bps: cfg.queue_share_bps,
            band_bps: cfg.market_band_bps,
            now_ns: 0,
        }
    }

    /// The book of an instrument as the venue sees it.
    pub fn book(&self, id: InstrumentId) -> Option<&L2Book> {
        self.books.get(id.index())
    }

    /// One-way latency to a venue.
    pub fn latency_ns(&self, venue: Venue) -> u64 {
        self.latency_ns[venue_index(venue)]
    }

    /// Sets the latency to a venue (a measured figure, or a test's choice).
    pub fn set_latency_ns(&mut self, venue: Venue, ns: u64) {
        self.latency_ns[venue_index(venue)] = ns;
    }

    /// Fees of an instrument's market (zero for an unknown instrument).
    pub fn fees(&self, id: InstrumentId) -> VenueFees {
        self.fees.get(id.index()).copied().unwrap_or(VenueFees {
            maker_centi_bps: 0,
            taker_centi_bps: 0,
        })
    }

    /// The venue of an instrument.
    pub fn venue_of(&self, id: InstrumentId) -> Option<Venue> {
        self.venues.get(id.index()).copied()
    }

    /// The price band of market orders, bps from the touch.
    pub fn band_bps(&self) -> i64 {
        self.band_bps
    }

    /// Orders in flight or resting.
    pub fn working_len(&self) -> usize {
        self.working.len()
    }

    /// An order still working, by id.
    pub fn working(&self, id: OrderId) -> Option<&Order> {
        self.working
            .iter()
            .find(|w| w.order.id == id)
            .map(|w| &w.order)
    }

    /// The quantity a resting order waits for: its share of the queue at entry, and
    /// what has traded at its price since (`None` before arrival or for takers).
    pub fn queue(&self, id: OrderId) -> Option<(Qty, Qty)> {
        let w = self.working.iter().find(|w| w.order.id == id)?;
        (w.arrived && w.order.style == OrderStyle::PostOnly)
            .then(|| (Qty::from_raw(w.queue_required), Qty::from_raw(w.traded)))
    }

    /// Sends an order at `now_ns`; it arrives after the venue's latency.
    pub fn submit(&mut self, order: Order, now_ns: u64) -> Result<(), PaperError> {
        let venue = self
            .venue_of(order.instrument)
            .ok_or(PaperError::UnknownInstrument(order.instrument))?;
        if self.working.len() >= self.orders_max {
            return Err(PaperError::Full(self.working.len()));
        }
        self.working.push(Working {
            order,
            arrival_ns: now_ns + self.latency_ns(venue),
            arrived: false,
            queue_required: 0,
            traded: 0,
        });
        Ok(())
    }

    /// Cancels a working order (in flight or resting) at once; returns its final form,
    /// `None` if it is no longer working.
    pub fn cancel(&mut self, id: OrderId) -> Option<Order> {
        let i = self.working.iter().position(|w| w.order.id == id)?;
        let mut order = self.working.swap_remove(i).order;
        order.cancel().ok()?;
        order.ts_done_ns = self.now_ns;
        Some(order)
    }

    /// The earliest arrival still in flight.
    pub fn next_arrival_ns(&self) -> Option<u64> {
        self.working
            .iter()
            .filter(|w| !w.arrived)
            .map(|w| w.arrival_ns)
            .min()
    }

    /// Processes every arrival due at or before `now_ns`, in arrival order.
    pub fn advance(&mut self, now_ns: u64, sink: &mut impl FnMut(VenueEvent)) {
        self.now_ns = self.now_ns.max(now_ns);
        loop {
            let due = self
                .working
                .iter()
                .enumerate()
                .filter(|(_, w)| !w.arrived && w.arrival_ns <= now_ns)
                .min_by_key(|(_, w)| (w.arrival_ns, w.order.id))
                .map(|(i, _)| i);
            let Some(i) = due else { break };
            self.arrive(i, sink);
        }
    }

    /// Feeds a market event at `now_ns`: arrivals due first, then the book or the queues.
    pub fn on_market(
        &mut self,
        now_ns: u64,
        event: &MarketEvent,
        sink: &mut impl FnMut(VenueEvent),
    ) {
        self.advance(now_ns, sink);
        let index = event.instrument.index();
        let (Some(book), Some(halt)) = (self.books.get_mut(index), self.halts.get_mut(index))
        else {
            return;
        };
        if matches!(
            event.body,
            EventBody::DepthBegin { .. }
                | EventBody::DepthLevel { .. }
                | EventBody::TopOfBook { .. }
        ) {
            halt.reset = false;
        }
        match event.body {
            EventBody::Feed(FeedStatus::Stale) => halt.stale = true,
            EventBody::Feed(FeedStatus::Fresh) => halt.stale = false,
            EventBody::Feed(FeedStatus::Reset) => {
                *halt = Halt {
                    stale: false,
                    reset: true,
                };
                book.clear();
            }
            EventBody::DepthBegin { snapshot: true, .. } => book.clear(),
            EventBody::DepthLevel { side, price, qty } => {
                book.apply(side, price, qty);
            }
            EventBody::TopOfBook {
                bid,
                bid_qty,
                ask,
                ask_qty,
                ..
            } => apply_top(book, bid, bid_qty, ask, ask_qty),
            EventBody::Trade {
                price,
                qty,
                aggressor,
                ..
            } => {
                self.on_trade(event.instrument, price, qty, aggressor, now_ns, sink);
            }
            _ => {}
        }
    }

    fn arrive(&mut self, i: usize, sink: &mut impl FnMut(VenueEvent)) {
        let at_ns = self.working[i].arrival_ns;
        self.working[i].arrived = true;
        let order = self.working[i].order;
        let book = &self.books[order.instrument.index()];
        let halted = self.halts[order.instrument.index()].any();
        let reject = if order.qty.raw() <= 0 {
            Some(VenueReject::ZeroQty)
        } else if halted || (book.best_bid().is_none() && book.best_ask().is_none()) {
            Some(VenueReject::NoBook)
        } else if order.style == OrderStyle::PostOnly && would_cross(book, order.side, order.limit)
        {
            Some(VenueReject::PostOnlyWouldCross)
        } else {
            None
        };
        let w = &mut self.working[i];
        if let Some(reason) = reject {
            let _ = w.order.reject(reason);
            let mut done = self.working.swap_remove(i).order;
            done.ts_done_ns = at_ns;
            sink(VenueEvent::Done(done));
            return;
        }
        let _ = w.order.ack();
        match order.style {
            OrderStyle::PostOnly => {
                let own = match order.side {
                    OrderSide::Buy => Side::Bid,
                    OrderSide::Sell => Side::Ask,
                };
                let ahead = book.qty_at(own, order.limit).raw();
                let share = i128::from(self.queue_share_bps);
                let required = (ahead * share + i128::from(BPS_ONE) - 1) / i128::from(BPS_ONE);
                w.queue_required = required;
            }
            OrderStyle::Ioc | OrderStyle::Market => self.take(i, at_ns, sink),
        }
    }

    /// Walks the book for a taker order at slot `i`, then retires it.
    fn take(&mut self, i: usize, at_ns: u64, sink: &mut impl FnMut(VenueEvent)) {
        let order = self.working[i].order;
        let book = &self.books[order.instrument.index()];
        let (taker, opposite) = match order.side {
            OrderSide::Buy => (TakerSide::Buy, Side::Ask),
            OrderSide::Sell => (TakerSide::Sell, Side::Bid),
        };
        let side = book.side(opposite);
        if let Some(touch) = side.best() {
            let limit = match order.style {
                OrderStyle::Market => band_limit(touch.price, self.band_bps, order.side),
                _ => order.limit,
            };
            let available: i128 = side
                .iter()
                .take_while(|l| side.at_or_better(l.price, limit))
                .map(|l| l.qty.raw())
                .sum();
            let take = available.min(order.remaining().raw());
            if let Some(exec) = (take > 0)
                .then(|| book.execute_qty(taker, Qty::from_raw(take)).ok())
                .flatten()
            {
                let fee = fee_raw(
                    exec.notional_raw,
                    self.fees(order.instrument).taker_centi_bps,
                );
                let fill = Fill {
                    order: order.id,
                    instrument: order.instrument,
                    side: order.side,
                    price: exec.vwap,
                    qty: exec.filled,
                    notional_raw: exec.notional_raw,
                    fee_raw: fee,
                    liquidity: Liquidity::Taker,
                    touch: touch.price,
                    ts_ns: at_ns,
                };
                let _ = self.working[i]
                    .order
                    .apply_fill(exec.filled, exec.notional_raw, fee);
                consume(
                    &mut self.books[order.instrument.index()],
                    opposite,
                    exec.filled,
                );
                sink(VenueEvent::Fill(fill));
            }
        }
        let mut done = self.working.swap_remove(i).order;
        if done.state != OrderState::Filled {
            let _ = done.cancel();
        }
        done.ts_done_ns = at_ns;
        sink(VenueEvent::Done(done));
    }

    fn on_trade(
        &mut self,
        instrument: InstrumentId,
        price: Price,
        qty: Qty,
        aggressor: Side,
        now_ns: u64,
        sink: &mut impl FnMut(VenueEvent),
    ) {
        if self.halts[instrument.index()].any() {
            return;
        }
        let maker_fee = self.fees(instrument).maker_centi_bps;
        let mut i = 0;
        while i < self.working.len() {
            let w = &mut self.working[i];
            let o = w.order;
            let hit = match (o.side, aggressor) {
                (OrderSide::Sell, Side::Bid) => price >= o.limit,
                (OrderSide::Buy, Side::Ask) => price <= o.limit,
                _ => false,
            };
            if !(w.arrived && o.instrument == instrument && o.style == OrderStyle::PostOnly && hit)
            {
                i += 1;
                continue;
            }
            w.traded = w.traded.saturating_add(qty.raw());
            let fillable = w.traded - w.queue_required - o.filled.raw();
            let take = fillable.min(o.remaining().raw());
            if take > 0 {
                let qty = Qty::from_raw(take);
                let notional = o.limit.notional_raw(qty);
                let fee = fee_raw(notional, maker_fee);
                let _ = w.order.apply_fill(qty, notional, fee);
                sink(VenueEvent::Fill(Fill {
                    order: o.id,
                    instrument,
                    side: o.side,
                    price: o.limit,
                    qty,
                    notional_raw: notional,
                    fee_raw: fee,
                    liquidity: Liquidity::Maker,
                    touch: o.limit,
                    ts_ns: now_ns,
                }));
                if w.order.state == OrderState::Filled {
                    let mut done = self.working.swap_remove(i).order;
                    done.ts_done_ns = now_ns;
                    sink(VenueEvent::Done(done));
                    continue;
                }
            }
            i += 1;
        }
    }
}

/// Removes what a taker fill took from the touch outward, so the next order does not
/// take the same liquidity again (the venue's next update for a level replaces it).
fn consume(book: &mut L2Book, side: Side, qty: Qty) {
    let mut left = qty.raw();
    while let Some(level) = book.side(side).best().filter(|_| left > 0) {
        let take = left.min(level.qty.raw());
        book.apply(side, level.price, Qty::from_raw(level.qty.raw() - take));
        left -= take;
    }
}

/// Whether a post-only order at `limit` would take liquidity.
fn would_cross(book: &L2Book, side: OrderSide, limit: Price) -> bool {
    match side {
        OrderSide::Buy => book.best_ask().is_some_and(|a| limit >= a.price),
        OrderSide::Sell => book.best_bid().is_some_and(|b| limit <= b.price),
    }
}

/// The worst price a market order may reach: `band_bps` past the touch, on the tick
/// grid of the raw price (rounded toward the touch).
pub fn band_limit(touch: Price, band_bps: i64, side: OrderSide) -> Price {
    let one = i128::from(BPS_ONE);
    let t = touch.raw();
    Price::from_raw(match side {
        OrderSide::Buy => t * (one + i128::from(band_bps)) / one,
        OrderSide::Sell => (t * (one - i128::from(band_bps)) + one - 1) / one,
    })
}

/// Applies a top-of-book message: levels better than the new touch are gone, the touch
/// levels are set.
fn apply_top(book: &mut L2Book, bid: Price, bid_qty: Qty, ask: Price, ask_qty: Qty) {
    while let Some(b) = book.best_bid().filter(|b| b.price > bid) {
        book.apply(Side::Bid, b.price, Qty::ZERO);
    }
    while let Some(a) = book.best_ask().filter(|a| a.price < ask) {
        book.apply(Side::Ask, a.price, Qty::ZERO);
    }
    book.apply(Side::Bid, bid, bid_qty);
    book.apply(Side::Ask, ask, ask_qty);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::order::OrderLeg;

    const ID: InstrumentId = InstrumentId(0);

    fn p(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn q(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    fn event(ts: u64, body: EventBody) -> MarketEvent {
        MarketEvent {
            ts_recv_raw: ts,
            ts_venue_ms: 0,
            instrument: ID,
            body,
        }
    }

    fn level(side: Side, price: &str, qty: &str) -> EventBody {
        EventBody::DepthLevel {
            side,
            price: p(price),
            qty: q(qty),
        }
    }

    fn trade(price: &str, qty: &str, aggressor: Side) -> EventBody {
        EventBody::Trade {
            price: p(price),
            qty: q(qty),
            aggressor,
            trade_id: 0,
        }
    }

    /// Latency 10 ns on Binance; bids 100@2, 99@3; asks 101@1, 102@4.
    fn venue() -> (PaperVenue, Vec<VenueEvent>) {
        let mut cfg = PaperConfig::default();
        cfg.latency_ns[0] = 10;
        let mut v = PaperVenue::new(&cfg, &[(Venue::Binance, MarketKind::Spot)]);
        let mut out = Vec::new();
        for body in [
            level(Side::Bid, "100", "2"),
            level(Side::Bid, "99", "3"),
            level(Side::Ask, "101", "1"),
            level(Side::Ask, "102", "4"),
        ] {
            v.on_market(0, &event(0, body), &mut |e| out.push(e));
        }
        (v, out)
    }

    fn order(id: u64, side: OrderSide, style: OrderStyle, limit: &str, qty: &str) -> Order {
        let leg = OrderLeg {
            instrument: ID,
            venue: Venue::Binance,
            side,
            limit: p(limit),
        };
        Order::new(OrderId(id), leg, style, q(qty), 0)
    }

    fn fills(events: &[VenueEvent]) -> Vec<Fill> {
        events
            .iter()
            .filter_map(|e| match e {
                VenueEvent::Fill(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn test_paper_ioc_meets_the_book_at_arrival() {
        let (mut v, mut out) = venue();
        v.submit(order(1, OrderSide::Buy, OrderStyle::Ioc, "102", "3"), 0)
            .unwrap();
        // Before arrival the ask at 101 is lifted by someone else.
        v.on_market(5, &event(5, level(Side::Ask, "101", "0")), &mut |e| {
            out.push(e)
        });
        assert!(fills(&out).is_empty());
        v.advance(10, &mut |e| out.push(e));
        let f = fills(&out);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].price, f[0].qty, f[0].liquidity),
            (p("102"), q("3"), Liquidity::Taker)
        );
        assert_eq!(f[0].ts_ns, 10);
        // Taker fee 5 bps of 306.
        assert_eq!(f[0].fee_raw, 306 * 100_000_000 * 5 / 10_000);
        assert!(matches!(out.last(), Some(VenueEvent::Done(o)) if o.state == OrderState::Filled));
        assert_eq!(v.working_len(), 0);
        // The 102 level gave 3 of its 4.
        assert_eq!(v.book(ID).unwrap().best_ask().unwrap().qty, q("1"));
    }

    #[test]
    fn test_paper_no_fill_while_the_feed_is_stale_or_reset() {
        let (mut v, mut out) = venue();
        let status = |v: &mut PaperVenue, out: &mut Vec<VenueEvent>, s| {
            v.on_market(1, &event(1, EventBody::Feed(s)), &mut |e| out.push(e));
        };
        status(&mut v, &mut out, FeedStatus::Stale);
        v.submit(order(1, OrderSide::Buy, OrderStyle::Ioc, "102", "1"), 1)
            .unwrap();
        v.advance(20, &mut |e| out.push(e));
        assert!(fills(&out).is_empty());
        assert!(
            matches!(out.last(), Some(VenueEvent::Done(o)) if o.reject == Some(VenueReject::NoBook))
        );
        status(&mut v, &mut out, FeedStatus::Fresh);
        v.submit(order(2, OrderSide::Buy, OrderStyle::Ioc, "102", "1"), 20)
            .unwrap();
        v.advance(40, &mut |e| out.push(e));
        assert_eq!(fills(&out).len(), 1, "fresh again: fills");
        status(&mut v, &mut out, FeedStatus::Reset);
        assert_eq!(
            v.book(ID).unwrap().best_ask(),
            None,
            "a lost connection's book is gone"
        );
        v.submit(order(3, OrderSide::Buy, OrderStyle::Ioc, "102", "1"), 40)
            .unwrap();
        v.on_market(45, &event(45, trade("101", "5", Side::Bid)), &mut |e| {
            out.push(e)
        });
        v.advance(60, &mut |e| out.push(e));
        assert_eq!(fills(&out).len(), 1, "no fill until the book is back");
        v.on_market(60, &event(60, level(Side::Ask, "101", "1")), &mut |e| {
            out.push(e)
        });
        v.submit(order(4, OrderSide::Buy, OrderStyle::Ioc, "102", "1"), 60)
            .unwrap();
        v.advance(80, &mut |e| out.push(e));
        assert_eq!(fills(&out).len(), 2, "book data again: fills");
    }

    #[test]
    fn test_paper_ioc_partial_up_to_limit_then_cancelled() {
        let (mut v, mut out) = venue();
        v.submit(order(1, OrderSide::Sell, OrderStyle::Ioc, "100", "5"), 0)
            .unwrap();
        v.advance(10, &mut |e| out.push(e));
        assert_eq!(fills(&out)[0].qty, q("2"));
        let Some(VenueEvent::Done(o)) = out.last() else {
            panic!("no done")
        };
        assert_eq!((o.state, o.filled), (OrderState::Cancelled, q("2")));
    }

    #[test]
    fn test_paper_market_order_stops_at_the_band() {
        let (mut v, mut out) = venue();
        // Band 50 bps from 101: up to 101.505, so 102 is out of reach.
        v.submit(order(1, OrderSide::Buy, OrderStyle::Market, "0", "3"), 0)
            .unwrap();
        v.advance(10, &mut |e| out.push(e));
        let f = fills(&out);
        assert_eq!(
            (f[0].qty, f[0].price, f[0].touch),
            (q("1"), p("101"), p("101"))
        );
        assert_eq!(band_limit(p("100"), 50, OrderSide::Sell), p("99.5"));
        assert_eq!(band_limit(p("101"), 50, OrderSide::Buy), p("101.505"));
    }

    #[test]
    fn test_paper_post_only_queue_share_then_partial_fills() {
        let (mut v, mut out) = venue();
        v.submit(order(1, OrderSide::Buy, OrderStyle::PostOnly, "99", "1"), 0)
            .unwrap();
        v.advance(10, &mut |e| out.push(e));
        // 3 ahead at 99, 20% of it (0.6) must trade first.
        assert_eq!(v.queue(OrderId(1)), Some((q("0.6"), Qty::ZERO)));
        v.on_market(11, &event(11, trade("99", "0.5", Side::Ask)), &mut |e| {
            out.push(e)
        });
        v.on_market(12, &event(12, trade("99", "5", Side::Bid)), &mut |e| {
            out.push(e)
        });
        v.on_market(13, &event(13, trade("100", "5", Side::Ask)), &mut |e| {
            out.push(e)
        });
        assert!(fills(&out).is_empty());
        v.on_market(14, &event(14, trade("99", "0.3", Side::Ask)), &mut |e| {
            out.push(e)
        });
        let f = fills(&out);
        assert_eq!(
            (f[0].qty, f[0].price, f[0].liquidity),
            (q("0.2"), p("99"), Liquidity::Maker)
        );
        assert_eq!(f[0].fee_raw, fee_raw(p("99").notional_raw(q("0.2")), 200));
        v.on_market(15, &event(15, trade("98", "5", Side::Ask)), &mut |e| {
            out.push(e)
        });
        let f = fills(&out);
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].qty, q("0.8"));
        assert!(matches!(out.last(), Some(VenueEvent::Done(o)) if o.state == OrderState::Filled));
    }

    #[test]
    fn test_paper_post_only_crossing_rejected_and_cancel() {
        let (mut v, mut out) = venue();
        v.submit(
            order(1, OrderSide::Buy, OrderStyle::PostOnly, "101", "1"),
            0,
        )
        .unwrap();
        v.submit(
            order(2, OrderSide::Sell, OrderStyle::PostOnly, "103", "1"),
            0,
        )
        .unwrap();
        v.advance(10, &mut |e| out.push(e));
        assert!(
            matches!(out[0], VenueEvent::Done(o) if o.reject == Some(VenueReject::PostOnlyWouldCross))
        );
        assert_eq!(v.queue(OrderId(2)), Some((Qty::ZERO, Qty::ZERO)));
        let cancelled = v.cancel(OrderId(2)).unwrap();
        assert_eq!(cancelled.state, OrderState::Cancelled);
        assert_eq!(v.cancel(OrderId(2)), None);
    }

    #[test]
    fn test_paper_top_of_book_and_snapshot() {
        let (mut v, mut out) = venue();
        let top = EventBody::TopOfBook {
            bid: p("99"),
            bid_qty: q("7"),
            ask: p("103"),
            ask_qty: q("1"),
            update_id: 0,
        };
        v.on_market(1, &event(1, top), &mut |e| out.push(e));
        let book = v.book(ID).unwrap();
        assert_eq!(book.best_bid().unwrap().qty, q("7"));
        assert_eq!(book.best_ask().unwrap().price, p("103"));
        let begin = EventBody::DepthBegin {
            first_update_id: 0,
            last_update_id: 0,
            prev_update_id: 0,
            levels: 0,
            snapshot: true,
            checksum: None,
        };
        v.on_market(2, &event(2, begin), &mut |e| out.push(e));
        assert_eq!(v.book(ID).unwrap().best_bid(), None);
        v.submit(order(1, OrderSide::Buy, OrderStyle::Ioc, "1", "1"), 2)
            .unwrap();
        v.advance(12, &mut |e| out.push(e));
        assert!(
            matches!(out.last(), Some(VenueEvent::Done(o)) if o.reject == Some(VenueReject::NoBook))
        );
        let mut unknown = order(2, OrderSide::Buy, OrderStyle::Ioc, "1", "1");
        unknown.instrument = InstrumentId(9);
        assert_eq!(
            v.submit(unknown, 0),
            Err(PaperError::UnknownInstrument(InstrumentId(9)))
        );
    }
}
