//! What a backtest report reads from the replay's database: the closed trades (in exit
//! order), the leg-out totals, the opportunities by volatility source and their net
//! edges.
//!
//! Cold path: one read after the replay, through the database layer's [`Reader`], so
//! SQLite and PostgreSQL give the same report.

use crate::telemetry::db::DbError;
use crate::telemetry::db::analytics::{Reader, SourceLine};
use crate::telemetry::db::backtest_reads::{LegOutTotals, NetEdges};
use crate::telemetry::db::trade_analytics::TradeLine;

/// The rows behind a backtest report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BacktestData {
    /// Closed trades, in exit order.
    pub trades: Vec<TradeLine>,
    /// Leg-outs and their cost.
    pub leg_outs: LegOutTotals,
    /// Basis opportunities by volatility source.
    pub sources: Vec<SourceLine>,
    /// Net edges of every opportunity.
    pub edges: NetEdges,
}

impl BacktestData {
    /// Reads everything the report needs.
    pub fn read(reader: &mut Reader) -> Result<Self, DbError> {
        Ok(Self {
            trades: reader.trades()?,
            leg_outs: reader.leg_out_totals()?,
            sources: reader.summary()?.sources,
            edges: reader.opportunity_net_edges()?,
        })
    }
}
