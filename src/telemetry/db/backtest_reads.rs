//! What a backtest report reads besides the trades ([`Reader::trades`]) and the summary
//! by volatility source ([`Reader::summary`]): the leg-out totals and the net edges of
//! the opportunities (for the edge distribution plot).
//!
//! Read-only, cold path (after a replay); the same figures from SQLite and PostgreSQL.

use rusqlite::Connection;

use crate::telemetry::db::DbError;
use crate::telemetry::db::analytics::Reader;
use crate::telemetry::db::error::BoxError;

/// Leg-outs: how many, and what their hedges cost.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegOutTotals {
    /// Leg-out events.
    pub events: u64,
    /// Sum of the hedges' cost against the intended edge, quote (`cost_quote`).
    pub loss_quote: f64,
}

/// Net edges of every opportunity recorded, bps, in recording order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetEdges {
    /// Basis: the edge less the projected cost of IOC on both legs
    /// (`expected_profit_ioc`).
    pub basis_bps: Vec<f64>,
    /// Cross-venue: net of fees, slippage model and funding (`net_bps`).
    pub spread_bps: Vec<f64>,
}

const BASIS_EDGES_SQL: &str = "SELECT expected_profit_ioc FROM opportunities ORDER BY id";
const SPREAD_EDGES_SQL: &str = "SELECT net_bps FROM spread_opportunities ORDER BY id";

const LEG_OUT_SQL: &str = "SELECT COUNT(*), COALESCE(SUM(cost_quote), 0.0) FROM leg_out_events";

impl Reader {
    /// Leg-out events and their summed cost.
    pub fn leg_out_totals(&mut self) -> Result<LegOutTotals, DbError> {
        let result = match self {
            Reader::Sqlite(conn) => leg_outs_sqlite(conn).map_err(BoxError::from),
            Reader::Postgres(client) => client
                .query_one(LEG_OUT_SQL, &[])
                .map(|r| LegOutTotals {
                    events: u64::try_from(r.get::<_, i64>(0)).unwrap_or(0),
                    loss_quote: r.get(1),
                })
                .map_err(BoxError::from),
        };
        result.map_err(|e| self.read_err(e))
    }

    /// The net edge of every opportunity, both kinds.
    pub fn opportunity_net_edges(&mut self) -> Result<NetEdges, DbError> {
        let column = |reader: &mut Reader, sql: &str| {
            let result = match reader {
                Reader::Sqlite(conn) => reals_sqlite(conn, sql).map_err(BoxError::from),
                Reader::Postgres(client) => client
                    .query(sql, &[])
                    .map(|rows| rows.iter().map(|r| r.get(0)).collect())
                    .map_err(BoxError::from),
            };
            result.map_err(|e| reader.read_err(e))
        };
        Ok(NetEdges {
            basis_bps: column(self, BASIS_EDGES_SQL)?,
            spread_bps: column(self, SPREAD_EDGES_SQL)?,
        })
    }
}

fn reals_sqlite(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<f64>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn leg_outs_sqlite(conn: &Connection) -> rusqlite::Result<LegOutTotals> {
    conn.query_row(LEG_OUT_SQL, [], |r| {
        Ok(LegOutTotals {
            events: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
            loss_quote: r.get(1)?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::db::DatabaseSettings;
    use crate::telemetry::db::sqlite::{DB_FILE_NAME, SqliteDb};

    #[test]
    fn test_leg_out_totals_of_an_empty_and_a_written_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        SqliteDb::open(&path).unwrap();
        let mut reader = Reader::open(&DatabaseSettings::default(), dir.path()).unwrap();
        assert_eq!(reader.leg_out_totals().unwrap(), LegOutTotals::default());
        assert_eq!(reader.opportunity_net_edges().unwrap(), NetEdges::default());
        let conn = Connection::open(&path).unwrap();
        for (seq, cost) in [(1, Some(1.5)), (2, Some(-0.25)), (3, None)] {
            conn.execute(
                "INSERT INTO leg_out_events (run_id, seq, occurred_at, intent_id, \
                 filled_venue, filled_symbol, filled_side, filled_qty, filled_price, \
                 missed_venue, missed_symbol, timeout_ms, cost_quote) \
                 VALUES ('r', ?1, '2026-11-21T10:00:00.000Z', 1, 'binance', 'BTCUSDT', \
                 'BUY', 0.1, 60000.0, 'binance', 'BTCUSDT', 500.0, ?2)",
                rusqlite::params![seq, cost],
            )
            .unwrap();
        }
        let totals = reader.leg_out_totals().unwrap();
        assert_eq!(totals.events, 3);
        assert!((totals.loss_quote - 1.25).abs() < 1e-12);
    }

    #[test]
    fn test_opportunity_net_edges_in_recording_order() {
        use crate::telemetry::db::Backend;
        use crate::telemetry::db::record::fixtures::opportunity_rows;
        use crate::telemetry::db::row::RowKeys;
        let dir = tempfile::tempdir().unwrap();
        let mut db = SqliteDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        db.write(&opportunity_rows(&mut RowKeys::new(1, 1), 3))
            .unwrap();
        let mut reader = Reader::open(&DatabaseSettings::default(), dir.path()).unwrap();
        let edges = reader.opportunity_net_edges().unwrap();
        // The fixture's edges are 10, 11, 12 bps with an IOC cost of 9 bps.
        assert_eq!(edges.basis_bps, [1.0, 2.0, 3.0]);
        assert!(edges.spread_bps.is_empty());
    }
}
