//! Gateway records as database rows: orders (one row per order event), fills, leg-out
//! events, closed trades and portfolio snapshots.
//!
//! Cold path, in the sidecar. [`GatewayRows`] keeps the one piece of state a row needs
//! that its record does not carry: when each working order was sent (a fill's latency
//! is sent → filled); an order is forgotten once its terminal row is written. Money is
//! written in quote units (USD), quantities in venue units for orders and fills (what
//! the venue sees) and in base units for trades.

use std::collections::HashMap;

use crate::gateway::config::QUOTE_SCALE;
use crate::gateway::execution::Executed;
use crate::gateway::order::{Fill, Liquidity, Order, OrderState, OrderStyle, VenueReject};
use crate::gateway::portfolio::PortfolioSnapshot;
use crate::gateway::record::{ClosedLeg, ClosedTrade, ExitReason, GatewayRecord, LegOut};
use crate::telemetry::db::row::{Table, Value};
use crate::types::{InstrumentId, InstrumentRegistry, OrderSide, Qty};

/// Table `orders`.
pub const ORDERS: Table = Table {
    name: "orders",
    code: 10,
    columns: &[
        "event_at",
        "order_id",
        "venue_order_id",
        "intent_id",
        "leg",
        "mode",
        "venue",
        "symbol",
        "market",
        "side",
        "style",
        "limit_price",
        "qty",
        "status",
        "filled_qty",
        "avg_fill_price",
        "reject_reason",
    ],
};

/// Table `fills`.
pub const FILLS: Table = Table {
    name: "fills",
    code: 11,
    columns: &[
        "filled_at",
        "order_id",
        "trade_id",
        "venue",
        "symbol",
        "market",
        "side",
        "price",
        "qty",
        "fee",
        "fee_asset",
        "liquidity",
        "latency_ms",
    ],
};

/// Table `leg_out_events`.
pub const LEG_OUT_EVENTS: Table = Table {
    name: "leg_out_events",
    code: 12,
    columns: &[
        "occurred_at",
        "intent_id",
        "filled_venue",
        "filled_symbol",
        "filled_side",
        "filled_qty",
        "filled_price",
        "missed_venue",
        "missed_symbol",
        "timeout_ms",
        "hedge_order_id",
        "hedge_price",
        "hedge_qty",
        "cost_quote",
    ],
};

/// Table `trades`.
pub const TRADES: Table = Table {
    name: "trades",
    code: 13,
    columns: &[
        "trade_id",
        "intent_id",
        "strategy",
        "strategy_version",
        "config_hash",
        "mode",
        "long_venue",
        "long_symbol",
        "short_venue",
        "short_symbol",
        "qty",
        "entry_at",
        "exit_at",
        "entry_long_price",
        "entry_short_price",
        "exit_long_price",
        "exit_short_price",
        "entry_edge_bps",
        "exit_edge_bps",
        "pnl_quote",
        "pnl_bps",
        "fees_quote",
        "slippage_bps",
        "latency_ms",
        "confidence",
        "exit_reason",
        "funding_quote",
    ],
};

/// Table `portfolio_snapshots`.
pub const PORTFOLIO_SNAPSHOTS: Table = Table {
    name: "portfolio_snapshots",
    code: 14,
    columns: &[
        "taken_at",
        "equity_quote",
        "cash_quote",
        "exposure_quote",
        "open_positions",
        "realized_pnl_quote",
        "unrealized_pnl_quote",
        "daily_pnl_quote",
        "drawdown_pct",
        "circuit_breaker",
        "margin_used_quote",
        "margin_utilisation_pct",
    ],
};

/// Every gateway table.
pub const GATEWAY_TABLES: [&Table; 5] = [
    &ORDERS,
    &FILLS,
    &LEG_OUT_EVENTS,
    &TRADES,
    &PORTFOLIO_SNAPSHOTS,
];

/// The trading mode written to every row: this build only paper-trades.
const MODE: &str = "PAPER";
/// The quote asset fees are charged in.
const FEE_ASSET: &str = "USD";

/// Turns gateway records into rows.
#[derive(Debug)]
pub struct GatewayRows {
    sent_ns: HashMap<u64, u64>,
    config_hash: String,
}

impl GatewayRows {
    /// A converter whose trade rows carry `config_hash` (of the resolved configuration).
    pub fn new(config_hash: String) -> Self {
        Self {
            sent_ns: HashMap::new(),
            config_hash,
        }
    }

    /// The table and values of a record's row, or `None` for records with no row
    /// (refusals and abandoned trades are counters, not rows).
    pub fn row(
        &mut self,
        record: &GatewayRecord,
        registry: &InstrumentRegistry,
    ) -> Option<(&'static Table, Vec<Value>)> {
        match record {
            GatewayRecord::OrderSent(o) => {
                self.sent_ns.insert(o.id.0, o.ts_sent_ns);
                Some((&ORDERS, order_values(o, o.ts_sent_ns, registry)))
            }
            GatewayRecord::OrderDone(o) => {
                self.sent_ns.remove(&o.id.0);
                Some((&ORDERS, order_values(o, o.ts_done_ns, registry)))
            }
            GatewayRecord::Fill(f) => {
                let sent = self.sent_ns.get(&f.order.0).copied().unwrap_or(f.ts_ns);
                Some((&FILLS, fill_values(f, sent, registry)))
            }
            GatewayRecord::LegOut(l) => Some((&LEG_OUT_EVENTS, leg_out_values(l, registry))),
            GatewayRecord::Closed(t) => Some((&TRADES, self.trade_values(t, registry))),
            GatewayRecord::Abandoned { .. } | GatewayRecord::Rejected { .. } => None,
        }
    }

    fn trade_values(&self, t: &ClosedTrade, registry: &InstrumentRegistry) -> Vec<Value> {
        let (long, short) = if t.legs[0].side == OrderSide::Buy {
            (&t.legs[0], &t.legs[1])
        } else {
            (&t.legs[1], &t.legs[0])
        };
        let (long_inst, short_inst) = (
            registry.get(long.instrument),
            registry.get(short.instrument),
        );
        let fees_raw: i128 = t
            .legs
            .iter()
            .map(|l| l.entry.fees_raw + l.exit.fees_raw)
            .sum();
        let (exit_long, exit_short) = (vwap(&long.exit), vwap(&short.exit));
        vec![
            Value::Text(format!("T{}", t.id.0)),
            int(t.intent_id),
            Value::Text(t.strategy.as_str().to_owned()),
            Value::Text(env!("CARGO_PKG_VERSION").to_owned()),
            Value::Text(self.config_hash.clone()),
            Value::Text(MODE.to_owned()),
            Value::Text(long_inst.venue.name().to_owned()),
            Value::Text(long_inst.symbol.clone()),
            Value::Text(short_inst.venue.name().to_owned()),
            Value::Text(short_inst.symbol.clone()),
            Value::Real(base_qty(long)),
            time(t.first_fill_ns),
            time(t.closed_ns),
            Value::Real(vwap(&long.entry)),
            Value::Real(vwap(&short.entry)),
            Value::Real(exit_long),
            Value::Real(exit_short),
            Value::Real(t.entry_spread_bps.to_num::<f64>()),
            Value::Real(spread_bps(exit_long, exit_short)),
            Value::Real(quote(t.pnl_raw)),
            Value::Real(ratio_bps(t.pnl_raw, t.locked_raw)),
            Value::Real(quote(fees_raw)),
            Value::Real((slippage_bps(long) + slippage_bps(short)) / 2.0),
            Value::Real(ms(t.matched_ns.saturating_sub(t.decided_ns))),
            int(u64::from(t.confidence)),
            Value::Text(exit_reason(t.reason).to_owned()),
            Value::Real(quote(t.funding_raw)),
        ]
    }
}

/// The row of a portfolio snapshot.
pub fn snapshot_values(s: &PortfolioSnapshot) -> Vec<Value> {
    let marked = s.equity_raw + s.unrealised_raw;
    let drawdown_pct = if s.peak_equity_raw > 0 {
        ratio_bps(s.peak_equity_raw - marked, s.peak_equity_raw).max(0.0) / 100.0
    } else {
        0.0
    };
    vec![
        time(s.ts_ns),
        Value::Real(quote(marked)),
        Value::Real(quote(s.available_raw)),
        Value::Real(quote(s.open_value_raw)),
        int(s.open_positions),
        Value::Real(quote(s.realised_raw)),
        Value::Real(quote(s.unrealised_raw)),
        Value::Real(quote(s.daily_pnl_raw)),
        Value::Real(drawdown_pct),
        Value::Bool(s.daily_halt),
        Value::Real(quote(s.margin_used_raw)),
        Value::Real(s.margin_utilisation_bps as f64 / 100.0),
    ]
}

fn order_values(o: &Order, at_ns: u64, registry: &InstrumentRegistry) -> Vec<Value> {
    let inst = registry.get(o.instrument);
    let avg = if o.filled.is_zero() {
        Value::Null
    } else {
        Value::Real(avg_price(o.notional_raw, o.filled))
    };
    vec![
        time(at_ns),
        Value::Text(order_id(o.id.0)),
        Value::Null,
        int(o.intent_id),
        Value::Text(o.role.as_str().to_owned()),
        Value::Text(MODE.to_owned()),
        Value::Text(inst.venue.name().to_owned()),
        Value::Text(inst.symbol.clone()),
        Value::Text(inst.kind.name().to_owned()),
        Value::Text(o.side.as_str().to_owned()),
        Value::Text(style(o.style).to_owned()),
        if o.style == OrderStyle::Market {
            Value::Null
        } else {
            Value::Real(o.limit.to_f64_lossy())
        },
        Value::Real(o.qty.to_f64_lossy()),
        Value::Text(state(o.state).to_owned()),
        Value::Real(o.filled.to_f64_lossy()),
        avg,
        o.reject
            .map_or(Value::Null, |r| Value::Text(reject(r).to_owned())),
    ]
}

fn fill_values(f: &Fill, sent_ns: u64, registry: &InstrumentRegistry) -> Vec<Value> {
    let inst = registry.get(f.instrument);
    vec![
        time(f.ts_ns),
        Value::Text(order_id(f.order.0)),
        Value::Null,
        Value::Text(inst.venue.name().to_owned()),
        Value::Text(inst.symbol.clone()),
        Value::Text(inst.kind.name().to_owned()),
        Value::Text(f.side.as_str().to_owned()),
        Value::Real(f.price.to_f64_lossy()),
        Value::Real(f.qty.to_f64_lossy()),
        Value::Real(quote(f.fee_raw)),
        Value::Text(FEE_ASSET.to_owned()),
        Value::Text(
            match f.liquidity {
                Liquidity::Maker => "MAKER",
                Liquidity::Taker => "TAKER",
            }
            .to_owned(),
        ),
        Value::Real(ms(f.ts_ns.saturating_sub(sent_ns))),
    ]
}

fn leg_out_values(l: &LegOut, registry: &InstrumentRegistry) -> Vec<Value> {
    let name = |id: InstrumentId| {
        let inst = registry.get(id);
        (
            Value::Text(inst.venue.name().to_owned()),
            Value::Text(inst.symbol.clone()),
        )
    };
    let (filled_venue, filled_symbol) = name(l.filled_instrument);
    let (missed_venue, missed_symbol) = name(l.instrument);
    vec![
        time(l.hedge_sent_ns),
        int(l.intent_id),
        filled_venue,
        filled_symbol,
        Value::Text(l.filled_side.as_str().to_owned()),
        Value::Real(l.filled.qty.to_f64_lossy()),
        Value::Real(vwap(&l.filled)),
        missed_venue,
        missed_symbol,
        Value::Real(ms(l.hedge_sent_ns.saturating_sub(l.naked_since_ns))),
        Value::Null,
        Value::Real(l.hedge_price.to_f64_lossy()),
        Value::Real(l.qty.to_f64_lossy()),
        Value::Real(quote(l.loss_raw)),
    ]
}

fn order_id(id: u64) -> String {
    format!("O{id}")
}

fn int(value: u64) -> Value {
    Value::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

fn time(ns: u64) -> Value {
    Value::Time(i64::try_from(ns).unwrap_or(i64::MAX))
}

#[allow(clippy::cast_precision_loss)] // report values
fn quote(raw: i128) -> f64 {
    raw as f64 / QUOTE_SCALE as f64
}

#[allow(clippy::cast_precision_loss)] // a duration for humans
fn ms(ns: u64) -> f64 {
    ns as f64 / 1_000_000.0
}

#[allow(clippy::cast_precision_loss)] // report values
fn ratio_bps(numer: i128, denom: i128) -> f64 {
    if denom == 0 {
        0.0
    } else {
        numer as f64 / denom as f64 * 10_000.0
    }
}

/// Volume-weighted price of executions (0 when nothing executed).
#[allow(clippy::cast_precision_loss)] // report values
fn vwap(e: &Executed) -> f64 {
    if e.qty.is_zero() {
        return 0.0;
    }
    avg_price(e.notional_raw, e.qty)
}

#[allow(clippy::cast_precision_loss)] // report values
fn avg_price(notional_raw: i128, qty: Qty) -> f64 {
    notional_raw as f64 / QUOTE_SCALE as f64 / qty.to_f64_lossy()
}

fn base_qty(leg: &ClosedLeg) -> f64 {
    leg.entry.qty.to_f64_lossy() * leg.contract_size.to_f64_lossy()
}

/// The short leg over the long leg, bps of the long price (0 without both).
fn spread_bps(long: f64, short: f64) -> f64 {
    if long > 0.0 && short > 0.0 {
        (short - long) / long * 10_000.0
    } else {
        0.0
    }
}

/// Entry slippage of a leg against its decision price (positive: worse), bps.
fn slippage_bps(leg: &ClosedLeg) -> f64 {
    let limit = leg.limit.to_f64_lossy();
    let got = vwap(&leg.entry);
    if limit <= 0.0 || got <= 0.0 {
        return 0.0;
    }
    let adverse = match leg.side {
        OrderSide::Buy => got - limit,
        OrderSide::Sell => limit - got,
    };
    adverse / limit * 10_000.0
}

fn style(s: OrderStyle) -> &'static str {
    match s {
        OrderStyle::Ioc => "IOC",
        OrderStyle::PostOnly => "POST_ONLY",
        OrderStyle::Market => "MARKET",
    }
}

fn state(s: OrderState) -> &'static str {
    match s {
        OrderState::New => "NEW",
        OrderState::Acked => "ACKED",
        OrderState::PartiallyFilled => "PARTIALLY_FILLED",
        OrderState::Filled => "FILLED",
        OrderState::Cancelled => "CANCELLED",
        OrderState::Rejected => "REJECTED",
    }
}

fn reject(r: VenueReject) -> &'static str {
    match r {
        VenueReject::PostOnlyWouldCross => "POST_ONLY_WOULD_CROSS",
        VenueReject::NoBook => "NO_BOOK",
        VenueReject::ZeroQty => "ZERO_QTY",
    }
}

fn exit_reason(r: ExitReason) -> &'static str {
    match r {
        ExitReason::FundingConverged => "FUNDING_CONVERGED",
        ExitReason::ProfitTarget => "TARGET",
        ExitReason::SpreadWidened => "SPREAD_EXIT",
        ExitReason::SpreadStop => "STOP",
        ExitReason::KillSwitch => "KILL_SWITCH",
        ExitReason::DailyLoss => "DAILY_LOSS",
        ExitReason::Timeout => "TIMEOUT",
        ExitReason::EndOfRun => "END_OF_RUN",
        ExitReason::Liquidation => "LIQUIDATION",
    }
}
