//! Analytics over the opportunity tables, the same on both backends: the latest N
//! opportunities and the summary by volatility source with the recommendation rule
//! ([`recommend`]). Behind the `latest` and `summary` commands (and, later, the Telegram
//! answers).
//!
//! Cold path: the control thread; allocates the results. Read-only.

use std::fmt;
use std::path::Path;

use postgres::NoTls;
use rusqlite::{Connection, OpenFlags};

use crate::telemetry::db::error::{BoxError, DbError};
use crate::telemetry::db::{DatabaseSettings, DbTarget};
use crate::telemetry::tracker_stats::{Recommendation, recommend};

/// One recent opportunity.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestOpportunity {
    /// Row key: run.
    pub run_id: String,
    /// Row key: sequence.
    pub seq: i64,
    /// RFC 3339 UTC decision time, milliseconds.
    pub detected_at: String,
    /// Venue name.
    pub venue: String,
    /// Perp symbol.
    pub perp_symbol: String,
    /// Direction name.
    pub direction: String,
    /// Edge, bps.
    pub edge_bps: f64,
    /// `PERP`, `SPOT` or `BOTH`.
    pub volatility_source: String,
    /// Whether the trading threshold was met.
    pub would_trade: bool,
    /// Expected profit of the hybrid style, bps.
    pub expected_profit_hybrid: f64,
}

/// One volatility source in the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLine {
    /// `PERP`, `SPOT` or `BOTH`.
    pub source: String,
    /// Opportunities.
    pub count: u64,
    /// Mean edge, bps.
    pub avg_edge_bps: f64,
    /// Mean of expected_profit_hybrid - expected_profit_ioc, bps.
    pub avg_hybrid_advantage_bps: f64,
}

/// The summary by volatility source and the rule's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// One line per source present, by name.
    pub sources: Vec<SourceLine>,
    /// All opportunities.
    pub total: u64,
    /// The rule's verdict on the whole table.
    pub recommendation: Recommendation,
}

impl Summary {
    /// Builds the summary and its verdict from the per-source lines.
    pub fn from_sources(sources: Vec<SourceLine>) -> Self {
        let total: u64 = sources.iter().map(|s| s.count).sum();
        let share = |name: &str| {
            let n = sources
                .iter()
                .find(|s| s.source == name)
                .map_or(0, |s| s.count);
            pct(n, total)
        };
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let advantage = if total == 0 {
            0.0
        } else {
            sources
                .iter()
                .map(|s| s.avg_hybrid_advantage_bps * s.count as f64)
                .sum::<f64>()
                / total as f64
        };
        let recommendation = recommend(total, share("PERP"), share("SPOT"), advantage);
        Self {
            sources,
            total,
            recommendation,
        }
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn pct(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        n as f64 * 100.0 / total as f64
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "source  count   share  avg edge bps  hybrid advantage bps"
        )?;
        for s in &self.sources {
            writeln!(
                f,
                "{:<6} {:>6} {:>6.1}% {:>13.2} {:>21.2}",
                s.source,
                s.count,
                pct(s.count, self.total),
                s.avg_edge_bps,
                s.avg_hybrid_advantage_bps
            )?;
        }
        write!(
            f,
            "total {}; recommendation: {}",
            self.total, self.recommendation
        )
    }
}

impl fmt::Display for LatestOpportunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} edge {:.2} bps source {} hybrid {:+.2} bps{}",
            self.detected_at,
            self.venue,
            self.perp_symbol,
            self.direction,
            self.edge_bps,
            self.volatility_source,
            self.expected_profit_hybrid,
            if self.would_trade { " TRADE" } else { "" }
        )
    }
}

/// A read-only connection to either backend.
pub enum Reader {
    /// SQLite.
    Sqlite(Connection),
    /// PostgreSQL.
    Postgres(Box<postgres::Client>),
}

const LATEST_COLUMNS: &str = "run_id, seq, venue, perp_symbol, direction, edge_bps, \
    volatility_source, CAST(would_trade_current AS INTEGER), expected_profit_hybrid";

const SUMMARY_SQL: &str = "SELECT volatility_source, count, avg_edge_bps, \
    avg_hybrid_advantage_bps FROM opportunity_summary_by_source ORDER BY volatility_source";

impl Reader {
    /// Opens the configured database for reading (the SQLite file must exist).
    pub fn open(settings: &DatabaseSettings, output_dir: &Path) -> Result<Self, DbError> {
        match &settings.target {
            DbTarget::Sqlite(_) => {
                let path = settings.sqlite_path(output_dir).unwrap_or_default();
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY;
                Connection::open_with_flags(&path, flags)
                    .map(Reader::Sqlite)
                    .map_err(|e| DbError::Open {
                        target: path.display().to_string(),
                        source: e.into(),
                    })
            }
            DbTarget::Postgres(target) => target
                .config()
                .connect(NoTls)
                .map(|c| Reader::Postgres(Box::new(c)))
                .map_err(|e| DbError::Open {
                    target: target.describe().to_owned(),
                    source: e.into(),
                }),
        }
    }

    fn target(&self) -> String {
        match self {
            Reader::Sqlite(conn) => conn.path().unwrap_or("sqlite").to_owned(),
            Reader::Postgres(_) => "postgres".to_owned(),
        }
    }

    pub(crate) fn read_err(&self, source: BoxError) -> DbError {
        DbError::Read {
            target: self.target(),
            source,
        }
    }

    /// The `n` latest opportunities, newest first.
    pub fn latest(&mut self, n: usize) -> Result<Vec<LatestOpportunity>, DbError> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let result = match self {
            Reader::Sqlite(conn) => latest_sqlite(conn, n).map_err(BoxError::from),
            Reader::Postgres(client) => latest_postgres(client, n).map_err(BoxError::from),
        };
        result.map_err(|e| self.read_err(e))
    }

    /// The summary by volatility source with the recommendation.
    pub fn summary(&mut self) -> Result<Summary, DbError> {
        let result = match self {
            Reader::Sqlite(conn) => summary_sqlite(conn).map_err(BoxError::from),
            Reader::Postgres(client) => summary_postgres(client).map_err(BoxError::from),
        };
        result
            .map(Summary::from_sources)
            .map_err(|e| self.read_err(e))
    }
}

fn latest_sqlite(conn: &Connection, n: i64) -> rusqlite::Result<Vec<LatestOpportunity>> {
    let sql = format!(
        "SELECT detected_at, {LATEST_COLUMNS} FROM opportunities ORDER BY id DESC LIMIT ?1"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([n], |r| {
        Ok(LatestOpportunity {
            detected_at: r.get(0)?,
            run_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            seq: r.get::<_, Option<i64>>(2)?.unwrap_or(-1),
            venue: r.get(3)?,
            perp_symbol: r.get(4)?,
            direction: r.get(5)?,
            edge_bps: r.get(6)?,
            volatility_source: r.get(7)?,
            would_trade: r.get::<_, i64>(8)? != 0,
            expected_profit_hybrid: r.get(9)?,
        })
    })?;
    rows.collect()
}

fn latest_postgres(
    client: &mut postgres::Client,
    n: i64,
) -> Result<Vec<LatestOpportunity>, postgres::Error> {
    let sql = format!(
        "SELECT to_char(detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
         {LATEST_COLUMNS} FROM opportunities ORDER BY id DESC LIMIT $1"
    );
    let rows = client.query(&sql, &[&n])?;
    Ok(rows
        .iter()
        .map(|r| LatestOpportunity {
            detected_at: r.get(0),
            run_id: r.get::<_, Option<String>>(1).unwrap_or_default(),
            seq: r.get::<_, Option<i64>>(2).unwrap_or(-1),
            venue: r.get(3),
            perp_symbol: r.get(4),
            direction: r.get(5),
            edge_bps: r.get(6),
            volatility_source: r.get(7),
            would_trade: r.get::<_, i32>(8) != 0,
            expected_profit_hybrid: r.get(9),
        })
        .collect())
}

fn summary_sqlite(conn: &Connection) -> rusqlite::Result<Vec<SourceLine>> {
    let mut stmt = conn.prepare(SUMMARY_SQL)?;
    let rows = stmt.query_map([], |r| {
        Ok(SourceLine {
            source: r.get(0)?,
            count: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            avg_edge_bps: r.get(2)?,
            avg_hybrid_advantage_bps: r.get(3)?,
        })
    })?;
    rows.collect()
}

fn summary_postgres(client: &mut postgres::Client) -> Result<Vec<SourceLine>, postgres::Error> {
    let rows = client.query(SUMMARY_SQL, &[])?;
    Ok(rows
        .iter()
        .map(|r| SourceLine {
            source: r.get(0),
            count: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
            avg_edge_bps: r.get(2),
            avg_hybrid_advantage_bps: r.get(3),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::db::Backend;
    use crate::telemetry::db::record::fixtures::opportunity_rows;
    use crate::telemetry::db::row::RowKeys;
    use crate::telemetry::db::sqlite::SqliteDb;

    #[test]
    fn test_analytics_sqlite_latest_and_summary() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = SqliteDb::open(&dir.path().join("opportunities.sqlite")).unwrap();
        db.write(&opportunity_rows(&mut RowKeys::new(1, 1), 12))
            .unwrap();
        let settings = DatabaseSettings::default();
        let mut reader = Reader::open(&settings, dir.path()).unwrap();
        let latest = reader.latest(3).unwrap();
        let seqs: Vec<i64> = latest.iter().map(|l| l.seq).collect();
        assert_eq!(seqs, [11, 10, 9]);
        assert_eq!(latest[0].edge_bps, 21.0);
        assert!(latest[0].would_trade);
        assert!(latest[0].to_string().contains("edge 21.00 bps"));
        let summary = reader.summary().unwrap();
        assert_eq!(summary.total, 12);
        assert_eq!(summary.sources[0].source, "PERP");
        assert_eq!(
            summary.recommendation,
            Recommendation::CollectMore { have: 12 }
        );
        assert!(summary.to_string().contains("100.0%"));
    }

    #[test]
    fn test_analytics_summary_rule_from_sources() {
        let line = |source: &str, count, adv| SourceLine {
            source: source.into(),
            count,
            avg_edge_bps: 20.0,
            avg_hybrid_advantage_bps: adv,
        };
        let s = Summary::from_sources(vec![line("PERP", 800, 3.0), line("SPOT", 200, 1.0)]);
        assert_eq!(s.total, 1000);
        assert_eq!(
            s.recommendation,
            Recommendation::Hybrid,
            "80% PERP, +2.6 bps"
        );
        let s = Summary::from_sources(vec![line("PERP", 300, 3.0), line("SPOT", 700, 1.0)]);
        assert_eq!(s.recommendation, Recommendation::KeepIoc);
        let s = Summary::from_sources(Vec::new());
        assert_eq!(s.recommendation, Recommendation::CollectMore { have: 0 });
    }
}
