//! The fake exchange's matching engine and accounts: Binance's order semantics over a
//! book of its own per symbol.
//!
//! Each symbol has a static synthetic book (`levels` price levels each side, `level_qty`
//! each, one tick apart from the configured bid and ask) that takers walk, and the
//! resting orders of the account (post-only), which fill when [`Engine::trade_through`]
//! prints a trade at or through their price. Semantics follow the venue: `MARKET` and
//! `LIMIT IOC` take what the book gives and the rest `EXPIRED`; spot `LIMIT_MAKER` that
//! would cross is refused with -2010, USD-M `GTX` that would cross is accepted and
//! `EXPIRED`; filters refuse with -1013 (`Filter failure: ...`); client order ids are
//! unique over the whole session (stricter than the venue, which only checks open
//! orders: a second order under one id is then always a client bug the tests catch).
//!
//! Cold path (simulator): owned by the fake exchange's shared state under its mutex.

use std::collections::HashMap;

use crate::types::{MarketKind, OrderSide, Price, Qty};

/// One symbol the fake exchange lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSymbol {
    /// Venue symbol (`BTCUSDT`).
    pub symbol: String,
    /// Spot (`/api/v3`) or USD-M (`/fapi/v1`).
    pub kind: MarketKind,
    /// Base and quote assets (spot balances).
    pub base: String,
    /// Quote asset.
    pub quote: String,
    /// Best bid and ask of the synthetic book.
    pub bid: Price,
    /// Best ask.
    pub ask: Price,
    /// Price increment.
    pub tick: Price,
    /// Quantity increment (and minimum).
    pub step: Qty,
    /// Minimum order value.
    pub min_notional: Price,
    /// Levels each side.
    pub levels: u32,
    /// Quantity per level.
    pub level_qty: Qty,
}

/// An order at the fake exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOrder {
    /// Exchange order id.
    pub order_id: u64,
    /// Client order id.
    pub client_id: String,
    /// Symbol.
    pub symbol: String,
    /// Spot or USD-M (the same symbol names both).
    pub kind: MarketKind,
    /// Side.
    pub side: OrderSide,
    /// `MARKET`, `LIMIT`, `LIMIT_MAKER`.
    pub order_type: String,
    /// `IOC`, `GTC`, `GTX` or empty.
    pub tif: String,
    /// Limit price (zero for market).
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// Executed quantity.
    pub executed: Qty,
    /// Executed value, raw 10^-8 quote units (as `Price::notional_raw` gives).
    pub cum_quote_raw: i128,
    /// `NEW`, `PARTIALLY_FILLED`, `FILLED`, `CANCELED`, `EXPIRED`.
    pub status: &'static str,
}

impl FakeOrder {
    /// Whether it still works.
    pub fn is_open(&self) -> bool {
        matches!(self.status, "NEW" | "PARTIALLY_FILLED")
    }
}

/// A refusal with Binance's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub http: u16,
    /// Binance error code.
    pub code: i32,
    /// Message.
    pub msg: String,
}

impl ApiError {
    fn new(code: i32, msg: &str) -> Self {
        Self {
            http: 400,
            code,
            msg: msg.to_owned(),
        }
    }
}

/// A new order's parameters.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// Side.
    pub side: OrderSide,
    /// Type.
    pub order_type: &'a str,
    /// Time in force.
    pub tif: &'a str,
    /// Price (zero for market).
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// Client order id.
    pub client_id: &'a str,
    /// USD-M `reduceOnly`.
    pub reduce_only: bool,
}

/// The matching engine and the account.
#[derive(Debug, Default)]
pub struct Engine {
    /// Listed symbols.
    pub symbols: Vec<FakeSymbol>,
    /// Every order of the session.
    pub orders: Vec<FakeOrder>,
    /// Spot balances by asset, raw `Qty` units.
    pub balances: HashMap<String, i128>,
    /// USD-M positions by symbol, raw `Qty` units (negative: short).
    pub positions: HashMap<String, i128>,
    next_order_id: u64,
}

impl Engine {
    /// An engine listing `symbols` with spot `balances`.
    pub fn new(symbols: Vec<FakeSymbol>, balances: &[(&str, Qty)]) -> Self {
        Self {
            symbols,
            balances: balances
                .iter()
                .map(|(a, q)| ((*a).to_owned(), q.raw()))
                .collect(),
            next_order_id: 1,
            ..Self::default()
        }
    }

    /// A listed symbol.
    pub fn symbol(&self, name: &str, kind: MarketKind) -> Option<&FakeSymbol> {
        self.symbols
            .iter()
            .find(|s| s.symbol == name && s.kind == kind)
    }

    /// Places an order; the order as it stands after matching.
    pub fn place(&mut self, kind: MarketKind, o: &NewOrder<'_>) -> Result<FakeOrder, ApiError> {
        let sym = self
            .symbol(o.symbol, kind)
            .cloned()
            .ok_or_else(|| ApiError::new(-1121, "Invalid symbol."))?;
        if self
            .orders
            .iter()
            .any(|x| x.client_id == o.client_id && x.kind == kind)
        {
            return Err(ApiError::new(-2010, "Duplicate order sent."));
        }
        check_filters(&sym, o)?;
        let post_only = o.order_type == "LIMIT_MAKER" || o.tif == "GTX";
        let crosses = match o.side {
            OrderSide::Buy => o.price >= sym.ask,
            OrderSide::Sell => o.price <= sym.bid,
        };
        if post_only && crosses && kind == MarketKind::Spot {
            return Err(ApiError::new(
                -2010,
                "Order would immediately match and take.",
            ));
        }
        let mut order = FakeOrder {
            order_id: self.next_order_id,
            client_id: o.client_id.to_owned(),
            symbol: o.symbol.to_owned(),
            kind,
            side: o.side,
            order_type: o.order_type.to_owned(),
            tif: o.tif.to_owned(),
            price: o.price,
            qty: o.qty,
            executed: Qty::ZERO,
            cum_quote_raw: 0,
            status: "NEW",
        };
        if post_only {
            if crosses {
                order.status = "EXPIRED";
            }
        } else {
            let limit = (o.order_type != "MARKET").then_some(o.price);
            let (qty, value) = walk(&sym, o.side, limit, o.qty);
            self.book_fill(&sym, kind, &mut order, qty, value)?;
            if order.executed < order.qty {
                order.status = "EXPIRED";
            }
        }
        self.next_order_id += 1;
        self.orders.push(order.clone());
        Ok(order)
    }

    fn book_fill(
        &mut self,
        sym: &FakeSymbol,
        kind: MarketKind,
        order: &mut FakeOrder,
        qty: Qty,
        value: i128,
    ) -> Result<(), ApiError> {
        if qty.is_zero() {
            return Ok(());
        }
        let sign = if order.side == OrderSide::Buy { 1 } else { -1 };
        match kind {
            MarketKind::Spot => {
                // Values are raw 10^-8 quote units, the scale of a `Qty`.
                let quote_units = value;
                let base = self.balances.get(&sym.base).copied().unwrap_or(0);
                let quote = self.balances.get(&sym.quote).copied().unwrap_or(0);
                let (nb, nq) = (base + sign * qty.raw(), quote - sign * quote_units);
                if nb < 0 || nq < 0 {
                    return Err(ApiError::new(
                        -2010,
                        "Account has insufficient balance for requested action.",
                    ));
                }
                self.balances.insert(sym.base.clone(), nb);
                self.balances.insert(sym.quote.clone(), nq);
            }
            MarketKind::Perp => {
                *self.positions.entry(sym.symbol.clone()).or_insert(0) += sign * qty.raw();
            }
        }
        order.executed = Qty::from_raw(order.executed.raw() + qty.raw());
        order.cum_quote_raw += value;
        order.status = if order.executed == order.qty {
            "FILLED"
        } else {
            "PARTIALLY_FILLED"
        };
        Ok(())
    }

    /// A trade of `qty` prints at `price` on `symbol`: resting orders at or through it
    /// fill (oldest first) at their own price.
    pub fn trade_through(&mut self, symbol: &str, kind: MarketKind, price: Price, qty: Qty) {
        let Some(sym) = self.symbol(symbol, kind).cloned() else {
            return;
        };
        let mut left = qty.raw();
        for i in 0..self.orders.len() {
            let o = &self.orders[i];
            let hit = o.is_open()
                && o.symbol == symbol
                && o.kind == kind
                && match o.side {
                    OrderSide::Buy => price <= o.price,
                    OrderSide::Sell => price >= o.price,
                };
            if !hit || left <= 0 {
                continue;
            }
            let take = left.min(o.qty.raw() - o.executed.raw());
            let value = o.price.notional_raw(Qty::from_raw(take));
            let mut order = self.orders[i].clone();
            if self
                .book_fill(&sym, kind, &mut order, Qty::from_raw(take), value)
                .is_ok()
            {
                left -= take;
                self.orders[i] = order;
            }
        }
    }

    /// Cancels an open order by client id (or exchange id).
    pub fn cancel(
        &mut self,
        kind: MarketKind,
        symbol: &str,
        client_id: Option<&str>,
        order_id: Option<u64>,
    ) -> Result<FakeOrder, ApiError> {
        let o = self
            .find_mut(kind, symbol, client_id, order_id)
            .filter(|o| o.is_open())
            .ok_or_else(|| ApiError::new(-2011, "Unknown order sent."))?;
        o.status = "CANCELED";
        Ok(o.clone())
    }

    /// Cancels every open order of `symbol`; the cancelled ones.
    pub fn cancel_all(&mut self, kind: MarketKind, symbol: &str) -> Vec<FakeOrder> {
        let mut out = Vec::new();
        for o in self
            .orders
            .iter_mut()
            .filter(|o| o.kind == kind && o.symbol == symbol && o.is_open())
        {
            o.status = "CANCELED";
            out.push(o.clone());
        }
        out
    }

    /// An order by client id or exchange id.
    pub fn query(
        &mut self,
        kind: MarketKind,
        symbol: &str,
        client_id: Option<&str>,
        order_id: Option<u64>,
    ) -> Result<FakeOrder, ApiError> {
        self.find_mut(kind, symbol, client_id, order_id)
            .map(|o| o.clone())
            .ok_or_else(|| ApiError::new(-2013, "Order does not exist."))
    }

    fn find_mut(
        &mut self,
        kind: MarketKind,
        symbol: &str,
        client_id: Option<&str>,
        order_id: Option<u64>,
    ) -> Option<&mut FakeOrder> {
        self.orders.iter_mut().find(|o| {
            o.kind == kind
                && o.symbol == symbol
                && (client_id.is_some_and(|c| c == o.client_id) || order_id == Some(o.order_id))
        })
    }

    /// Open orders (of `kind` and `symbol`, or all).
    pub fn open_orders(&self, filter: Option<(MarketKind, &str)>) -> Vec<FakeOrder> {
        self.orders
            .iter()
            .filter(|o| o.is_open() && filter.is_none_or(|(k, s)| k == o.kind && s == o.symbol))
            .cloned()
            .collect()
    }
}

/// The venue's filters, as the client checks them too (`-1013` on failure).
fn check_filters(sym: &FakeSymbol, o: &NewOrder<'_>) -> Result<(), ApiError> {
    let fail = |f: &str| ApiError::new(-1013, &format!("Filter failure: {f}"));
    if o.qty.raw() <= 0 || o.qty.raw() % sym.step.raw() != 0 {
        return Err(fail("LOT_SIZE"));
    }
    if o.order_type != "MARKET" && (o.price.raw() <= 0 || o.price.raw() % sym.tick.raw() != 0) {
        return Err(fail("PRICE_FILTER"));
    }
    let price = if o.order_type == "MARKET" {
        sym.ask
    } else {
        o.price
    };
    if price.notional_raw(o.qty) < sym.min_notional.notional_raw(Qty::from_raw(Qty::SCALE)) {
        return Err(fail(if sym.kind == MarketKind::Spot {
            "NOTIONAL"
        } else {
            "MIN_NOTIONAL"
        }));
    }
    Ok(())
}

/// What a taker of `qty` on `side` gets from the synthetic book up to `limit`.
fn walk(sym: &FakeSymbol, side: OrderSide, limit: Option<Price>, qty: Qty) -> (Qty, i128) {
    let mut left = qty.raw();
    let (mut got, mut value) = (0i128, 0i128);
    for k in 0..i128::from(sym.levels) {
        let price = match side {
            OrderSide::Buy => Price::from_raw(sym.ask.raw() + k * sym.tick.raw()),
            OrderSide::Sell => Price::from_raw(sym.bid.raw() - k * sym.tick.raw()),
        };
        let reachable = limit.is_none_or(|l| match side {
            OrderSide::Buy => price <= l,
            OrderSide::Sell => price >= l,
        });
        if !reachable || left <= 0 {
            break;
        }
        let take = left.min(sym.level_qty.raw());
        got += take;
        value += price.notional_raw(Qty::from_raw(take));
        left -= take;
    }
    (Qty::from_raw(got), value)
}
