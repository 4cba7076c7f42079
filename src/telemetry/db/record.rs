//! Record kinds: what each stage hands the sidecar, and how each becomes a [`Row`].
//!
//! Adding a kind is one [`Record`] variant, one [`Table`] (listed in [`TABLES`] with a
//! fresh code) whose table a migration creates in both backends
//! ([`crate::telemetry::db::migrations`]), and one `values` function here. The writer,
//! the spool and both backends handle it without change.
//!
//! Cold path: runs in the sidecar; allocates the text values of each row.

use std::time::{Duration, UNIX_EPOCH};

use crate::edge::opportunity::{BasisOpportunity, Quad, QuadBps};
use crate::edge::spread_opportunity::{Metric, RejectReason, SpreadOpportunity};
use crate::runtime::Clock;
use crate::telemetry::db::gateway_rows::GATEWAY_TABLES;
use crate::telemetry::db::row::{Row, RowKeys, Table, Value};
use crate::types::InstrumentRegistry;
use crate::types::bps::Bps;

/// What turns a record into a row: names from the registry, wall time from the clock.
#[derive(Debug, Clone, Copy)]
pub struct RowContext<'a> {
    /// Resolves instrument ids to venue and symbol.
    pub registry: &'a InstrumentRegistry,
    /// Converts raw ticks to durations and wall-clock time.
    pub clock: &'a Clock,
}

/// Every kind of record the database stores.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A basis opportunity from the tracker (table `opportunities`).
    Opportunity(&'a BasisOpportunity),
    /// An accepted cross-venue spread opportunity (table `spread_opportunities`).
    Spread(&'a SpreadOpportunity),
    /// Rejected scanner candidates of one reason since the previous flush (table
    /// `spread_rejections`).
    SpreadRejection {
        /// Raw ticks of the flush.
        ts_raw: u64,
        /// Why they were rejected.
        reason: RejectReason,
        /// How many.
        count: u64,
    },
}

impl Record<'_> {
    /// The table this record goes to.
    pub fn table(&self) -> &'static Table {
        match self {
            Record::Opportunity(_) => &OPPORTUNITIES,
            Record::Spread(_) => &SPREAD_OPPORTUNITIES,
            Record::SpreadRejection { .. } => &SPREAD_REJECTIONS,
        }
    }

    /// The row for this record, keyed by `keys`.
    pub fn to_row(&self, keys: &mut RowKeys, ctx: &RowContext<'_>) -> Row {
        let values = match self {
            Record::Opportunity(opp) => opportunity_values(opp, ctx),
            Record::Spread(o) => spread_values(o, ctx),
            Record::SpreadRejection {
                ts_raw,
                reason,
                count,
            } => vec![
                Value::Time(unix_ns(ctx.clock, *ts_raw)),
                Value::Text(reason.as_str().to_owned()),
                Value::Int(i64::try_from(*count).unwrap_or(i64::MAX)),
            ],
        };
        keys.row(self.table(), values)
    }
}

/// Every table rows are written to, by spool code.
pub const TABLES: [&Table; 3] = [&OPPORTUNITIES, &SPREAD_OPPORTUNITIES, &SPREAD_REJECTIONS];

/// `spread_opportunities`: one row per accepted scanner opportunity, its best size in
/// columns and every size (and the soft metrics) as JSON text.
pub const SPREAD_OPPORTUNITIES: Table = Table {
    name: "spread_opportunities",
    code: 2,
    columns: &[
        "detected_at",
        "detection_latency_ms",
        "expires_at",
        "base",
        "kind",
        "buy_venue",
        "buy_symbol",
        "sell_venue",
        "sell_symbol",
        "buy_ask",
        "sell_bid",
        "gross_bps",
        "fees_bps",
        "funding_delta_bps",
        "buy_venue_delay_ms",
        "sell_venue_delay_ms",
        "stale_penalty",
        "notional",
        "qty",
        "vwap_buy",
        "vwap_sell",
        "slippage_bps",
        "net_bps",
        "expected_profit",
        "confidence",
        "metrics",
        "sizes",
    ],
};

/// `spread_rejections`: rejected candidates counted per reason per flush.
pub const SPREAD_REJECTIONS: Table = Table {
    name: "spread_rejections",
    code: 3,
    columns: &["flushed_at", "reason", "count"],
};

fn unix_ns(clock: &Clock, raw: u64) -> i64 {
    i64::try_from(clock.unix_ns(raw)).unwrap_or(i64::MAX)
}

/// The values of a `spread_opportunities` row, in [`SPREAD_OPPORTUNITIES`] order.
#[allow(clippy::cast_precision_loss)] // profits for reports
fn spread_values(o: &SpreadOpportunity, ctx: &RowContext<'_>) -> Vec<Value> {
    let clock = ctx.clock;
    let (buy, sell) = (ctx.registry.get(o.buy), ctx.registry.get(o.sell));
    let best = o.best_size();
    vec![
        Value::Time(unix_ns(clock, o.ts_decision_raw)),
        Value::Real(ns_to_ms(clock.delta_ns(o.ts_recv_raw, o.ts_decision_raw))),
        Value::Time(unix_ns(clock, o.expires_raw)),
        Value::Text(buy.base.clone()),
        Value::Text(buy.kind.name().to_owned()),
        Value::Text(buy.venue.name().to_owned()),
        Value::Text(buy.symbol.clone()),
        Value::Text(sell.venue.name().to_owned()),
        Value::Text(sell.symbol.clone()),
        Value::Real(o.buy_ask.to_f64_lossy()),
        Value::Real(o.sell_bid.to_f64_lossy()),
        Value::Real(bps(o.gross_bps)),
        Value::Real(bps(o.fees_bps)),
        Value::Real(bps(o.funding_delta_bps)),
        Value::Int(i64::from(o.venue_delay_ms[0])),
        Value::Int(i64::from(o.venue_delay_ms[1])),
        Value::Int(i64::from(o.stale_penalty)),
        Value::Real(best.notional.to_f64_lossy()),
        Value::Real(best.qty.to_f64_lossy()),
        Value::Real(best.vwap_buy.to_f64_lossy()),
        Value::Real(best.vwap_sell.to_f64_lossy()),
        Value::Real(bps(best.slippage_bps)),
        Value::Real(bps(best.net_bps)),
        Value::Real(best.expected_profit_raw as f64 / 1e8),
        Value::Int(i64::from(best.confidence)),
        Value::Text(metrics_json(o)),
        Value::Text(sizes_json(o)),
    ]
}

/// The table with spool code `code`.
pub fn table_by_code(code: u8) -> Option<&'static Table> {
    TABLES
        .into_iter()
        .chain(GATEWAY_TABLES)
        .find(|t| t.code == code)
}

/// `opportunities`: one row per basis opportunity. Column names are a public interface.
pub const OPPORTUNITIES: Table = Table {
    name: "opportunities",
    code: 1,
    columns: &[
        "detected_at",
        "detection_latency_ms",
        "analysis_duration_ms",
        "venue",
        "spot_symbol",
        "perp_symbol",
        "direction",
        "venue_ts_ms",
        "perp_bid",
        "perp_ask",
        "spot_bid",
        "spot_ask",
        "baseline_perp_bid",
        "baseline_perp_ask",
        "baseline_spot_bid",
        "baseline_spot_ask",
        "mid_ref",
        "perp_bid_deviation_bps",
        "perp_ask_deviation_bps",
        "spot_bid_deviation_bps",
        "spot_ask_deviation_bps",
        "perp_movement_bps",
        "spot_movement_bps",
        "volatility_source",
        "volatility_ratio",
        "edge_bps",
        "would_trade_current",
        "cost_ioc_both",
        "cost_ioc_perp_alo_spot",
        "cost_alo_both",
        "expected_profit_ioc",
        "expected_profit_hybrid",
    ],
};

/// The values of an `opportunities` row, in [`OPPORTUNITIES`] column order.
fn opportunity_values(opp: &BasisOpportunity, ctx: &RowContext<'_>) -> Vec<Value> {
    let clock = ctx.clock;
    let (spot, perp) = (ctx.registry.get(opp.spot), ctx.registry.get(opp.perp));
    let decided_ns = i64::try_from(clock.unix_ns(opp.ts_decision_raw)).unwrap_or(i64::MAX);
    let latency_ms = ns_to_ms(clock.delta_ns(opp.ts_recv_raw, opp.ts_decision_raw));
    let analysis_ms = ns_to_ms(clock.delta_ns(opp.analysis_start_raw, opp.ts_decision_raw));
    let mut values = vec![
        Value::Time(decided_ns),
        Value::Real(latency_ms),
        Value::Real(analysis_ms),
        Value::Text(perp.venue.name().to_owned()),
        Value::Text(spot.symbol.as_str().to_owned()),
        Value::Text(perp.symbol.as_str().to_owned()),
        Value::Text(opp.direction.as_str().to_owned()),
        Value::Int(i64::try_from(opp.ts_venue_ms).unwrap_or(i64::MAX)),
    ];
    values.extend(quad_f64(&opp.prices).map(Value::Real));
    values.extend(quad_f64(&opp.baseline).map(Value::Real));
    values.push(Value::Real(opp.mid_ref.to_f64_lossy()));
    values.extend(quad_bps(&opp.deviation).map(Value::Real));
    values.extend([
        Value::Real(bps(opp.perp_movement_bps)),
        Value::Real(bps(opp.spot_movement_bps)),
        Value::Text(opp.volatility_source.as_str().to_owned()),
        Value::Real(bps(opp.volatility_ratio)),
        Value::Real(bps(opp.edge_bps)),
        Value::Bool(opp.would_trade_current),
        Value::Real(bps(opp.costs.ioc_both)),
        Value::Real(bps(opp.costs.ioc_perp_alo_spot)),
        Value::Real(bps(opp.costs.alo_both)),
        Value::Real(bps(opp.expected_profit_ioc)),
        Value::Real(bps(opp.expected_profit_hybrid)),
    ]);
    values
}

fn quad_f64(q: &Quad) -> [f64; 4] {
    [q.perp_bid, q.perp_ask, q.spot_bid, q.spot_ask].map(|p| p.to_f64_lossy())
}

fn quad_bps(q: &QuadBps) -> [f64; 4] {
    [q.perp_bid, q.perp_ask, q.spot_bid, q.spot_ask].map(bps)
}

fn bps(value: Bps) -> f64 {
    value.to_num::<f64>()
}

#[allow(clippy::cast_precision_loss)] // a duration for humans; exact below 104 days
fn ns_to_ms(ns: u64) -> f64 {
    ns as f64 / 1_000_000.0
}

/// `{"funding_delta":0.5,"book_imbalance":null,...}`: each soft metric's score, null
/// when it was not available.
fn metrics_json(o: &SpreadOpportunity) -> String {
    const NAMES: [(&str, Metric); 6] = [
        ("funding_delta", Metric::FundingDelta),
        ("book_imbalance", Metric::BookImbalance),
        ("open_interest", Metric::OpenInterest),
        ("vwap_deviation", Metric::VwapDeviation),
        ("volatility", Metric::Volatility),
        ("liquidation_distance", Metric::LiquidationDistance),
    ];
    let best = o.best_size();
    let fields: Vec<String> = NAMES
        .iter()
        .map(|&(name, metric)| {
            let score = if metric == Metric::VwapDeviation {
                best.vwap_deviation_score
            } else {
                o.metrics.get(metric)
            };
            match score {
                Some(s) => format!("\"{name}\":{:.4}", bps(s)),
                None => format!("\"{name}\":null"),
            }
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// `[{"notional":100,"qty":0.001,"net_bps":3.1,"confidence":80,"rejected":null},...]`.
fn sizes_json(o: &SpreadOpportunity) -> String {
    let sizes: Vec<String> = o
        .sizes()
        .iter()
        .map(|s| {
            let rejected = s
                .rejected
                .map_or_else(|| "null".to_owned(), |r| format!("\"{}\"", r.as_str()));
            format!(
                "{{\"notional\":{},\"qty\":{},\"vwap_buy\":{},\"vwap_sell\":{},\"net_bps\":{:.4},\"expected_profit\":{:.8},\"confidence\":{},\"rejected\":{rejected}}}",
                s.notional,
                s.qty,
                s.vwap_buy,
                s.vwap_sell,
                bps(s.net_bps),
                s.expected_profit_raw as f64 / 1e8,
                s.confidence,
            )
        })
        .collect();
    format!("[{}]", sizes.join(","))
}

/// RFC 3339 UTC text with milliseconds (`2026-11-21T12:00:00.123Z`): how SQLite stores
/// [`Value::Time`].
pub fn rfc3339_millis(unix_ns: i64) -> String {
    let ns = u64::try_from(unix_ns).unwrap_or(0);
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(ns)).to_string()
}

/// Hand-made opportunities and registry, shared with the backend and sidecar tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::edge::opportunity::{CostModel, Direction, VolatilitySource};
    use crate::types::{InstrumentId, InstrumentSpec, MarketKind, Price, Qty, Venue};

    /// A registry with BTCUSDT spot (id 0) and perp (id 1) on Binance.
    pub(crate) fn registry() -> InstrumentRegistry {
        let mut reg = InstrumentRegistry::default();
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            reg.insert(InstrumentSpec {
                venue: Venue::Binance,
                kind,
                symbol: "BTCUSDT".into(),
                base: "BTC".into(),
                tick_size: price("0.01"),
                lot_size: Qty::from_decimal_str("0.001").unwrap(),
                min_notional: price("5"),
                contract_size: Qty::from_raw(Qty::SCALE),
            })
            .unwrap();
        }
        reg
    }

    pub(crate) fn price(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn quad(perp_bid: &str, perp_ask: &str, spot_bid: &str, spot_ask: &str) -> Quad {
        Quad {
            perp_bid: price(perp_bid),
            perp_ask: price(perp_ask),
            spot_bid: price(spot_bid),
            spot_ask: price(spot_ask),
        }
    }

    /// An opportunity decided at raw tick `decision_raw` (received 2 µs before, analysed
    /// from 500 ns before), with edge `edge` bps.
    pub(crate) fn opportunity(
        decision_raw: u64,
        edge: f64,
        source: VolatilitySource,
        would_trade: bool,
    ) -> BasisOpportunity {
        let b = Bps::from_num;
        BasisOpportunity {
            spot: InstrumentId(0),
            perp: InstrumentId(1),
            ts_recv_raw: decision_raw - 2_000,
            analysis_start_raw: decision_raw - 500,
            ts_decision_raw: decision_raw,
            ts_venue_ms: 1_700_000_000_123,
            prices: quad("50010.5", "50011", "50000", "50000.25"),
            mid_ref: price("50005.4375"),
            baseline: quad("50005", "50006", "50000", "50000.5"),
            deviation: QuadBps {
                perp_bid: b(1.25),
                perp_ask: b(1.0),
                spot_bid: b(0.0),
                spot_ask: b(-0.05),
            },
            perp_movement_bps: b(1.25),
            spot_movement_bps: b(0.05),
            volatility_source: source,
            volatility_ratio: b(25.0),
            direction: Direction::ShortPerpLongSpot,
            edge_bps: b(edge),
            would_trade_current: would_trade,
            costs: CostModel {
                ioc_both: b(9.0),
                ioc_perp_alo_spot: b(5.5),
                alo_both: b(2.0),
            },
            expected_profit_ioc: b(edge - 9.0),
            expected_profit_hybrid: b(edge - 5.5),
        }
    }

    /// `n` opportunity rows keyed by `keys`, edges 10, 11, … bps.
    pub(crate) fn opportunity_rows(keys: &mut RowKeys, n: usize) -> Vec<Row> {
        let (clock, _mock) = Clock::mock();
        let reg = registry();
        let ctx = RowContext {
            registry: &reg,
            clock: &clock,
        };
        (0..n)
            .map(|i| {
                let edge = 10.0 + i as f64;
                let opp = opportunity(10_000 + i as u64, edge, VolatilitySource::Perp, true);
                Record::Opportunity(&opp).to_row(keys, &ctx)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{opportunity, registry};
    use super::*;
    use crate::edge::opportunity::VolatilitySource;

    #[test]
    fn test_record_opportunity_fills_every_column() {
        let (clock, _mock) = Clock::mock();
        let reg = registry();
        let ctx = RowContext {
            registry: &reg,
            clock: &clock,
        };
        let opp = opportunity(10_000, 12.5, VolatilitySource::Perp, true);
        let row = Record::Opportunity(&opp).to_row(&mut RowKeys::new(1, 2), &ctx);
        assert_eq!(row.values.len(), OPPORTUNITIES.columns.len());
        assert!(!row.values.contains(&Value::Null));
        let col = |name| {
            let i = OPPORTUNITIES.columns.iter().position(|c| *c == name);
            row.values[i.unwrap()].clone()
        };
        assert_eq!(col("edge_bps"), Value::Real(12.5));
        assert_eq!(col("detection_latency_ms"), Value::Real(0.002));
        assert_eq!(col("volatility_source"), Value::Text("PERP".into()));
        assert_eq!(col("would_trade_current"), Value::Bool(true));
        assert_eq!(col("venue"), Value::Text("binance".into()));
    }

    #[test]
    fn test_record_table_codes_are_unique() {
        for (i, a) in TABLES.iter().enumerate() {
            for b in &TABLES[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(a.name, b.name);
            }
            assert_eq!(table_by_code(a.code), Some(*a));
        }
        assert_eq!(rfc3339_millis(1_500_000_000), "1970-01-01T00:00:01.500Z");
    }
}
