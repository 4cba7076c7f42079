//! Read-only questions about what a run recorded, for the Telegram bot (and commands):
//! the opportunity tracker's statistics and the latest opportunities.
//!
//! [`Analytics`] is what the bot asks; [`SqliteAnalytics`] answers from the run's SQLite
//! file over its own read-only connection (WAL lets it read while the sidecar writes).
//! Cold path: every answer allocates.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::telemetry::tracker_stats::{TrackerStats, tracker_stats};

/// Why a question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The database could not be opened or read.
    #[error("reading {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// One recorded opportunity, as `/latest` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestOpportunity {
    /// Detection time, RFC 3339.
    pub detected_at: String,
    /// Venue.
    pub venue: String,
    /// Perp symbol.
    pub perp_symbol: String,
    /// Edge, bps.
    pub edge_bps: f64,
    /// `PERP`, `SPOT` or `BOTH`.
    pub volatility_source: String,
    /// Whether it met the trading threshold.
    pub would_trade: bool,
}

/// The questions the bot asks.
pub trait Analytics: Send {
    /// The tracker's statistics at `now_unix_ms`.
    fn tracker_stats(&mut self, now_unix_ms: u64) -> Result<TrackerStats, AnalyticsError>;
    /// The `n` most recent opportunities, newest first.
    fn latest(&mut self, n: usize) -> Result<Vec<LatestOpportunity>, AnalyticsError>;
}

/// Answers from a SQLite opportunities file.
#[derive(Debug)]
pub struct SqliteAnalytics {
    path: PathBuf,
    conn: Option<Connection>,
}

impl SqliteAnalytics {
    /// Reads `path`; the file is opened at the first question (the sidecar creates it).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            conn: None,
        }
    }

    fn conn(&mut self) -> Result<&Connection, AnalyticsError> {
        if self.conn.is_none() {
            let conn = Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|source| self.err(source))?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_ref().expect("opened above"))
    }

    fn err(&self, source: rusqlite::Error) -> AnalyticsError {
        AnalyticsError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

impl Analytics for SqliteAnalytics {
    fn tracker_stats(&mut self, now_unix_ms: u64) -> Result<TrackerStats, AnalyticsError> {
        let result = tracker_stats(self.conn()?, now_unix_ms);
        result.map_err(|source| self.err(source))
    }

    fn latest(&mut self, n: usize) -> Result<Vec<LatestOpportunity>, AnalyticsError> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let read = |conn: &Connection| -> rusqlite::Result<Vec<LatestOpportunity>> {
            let mut stmt = conn.prepare(
                "SELECT detected_at, venue, perp_symbol, edge_bps, volatility_source,
                        would_trade_current
                 FROM opportunities ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(LatestOpportunity {
                    detected_at: r.get(0)?,
                    venue: r.get(1)?,
                    perp_symbol: r.get(2)?,
                    edge_bps: r.get(3)?,
                    volatility_source: r.get(4)?,
                    would_trade: r.get::<_, i64>(5)? != 0,
                })
            })?;
            rows.collect()
        };
        let result = read(self.conn()?);
        result.map_err(|source| self.err(source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::opportunity::VolatilitySource;
    use crate::runtime::Clock;
    use crate::telemetry::sqlite::fixtures::{opportunity, registry};
    use crate::telemetry::sqlite::{DB_FILE_NAME, OpportunityDb, RowContext};

    #[test]
    fn test_latest_newest_first_and_stats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        let mut db = OpportunityDb::open(&path).unwrap();
        let (clock, _mock) = Clock::mock();
        let reg = registry();
        let ctx = RowContext {
            registry: &reg,
            clock: &clock,
        };
        let batch = [
            opportunity(10_000, 12.5, VolatilitySource::Perp, true),
            opportunity(20_000, 3.0, VolatilitySource::Spot, false),
        ];
        db.insert_batch(&batch, &ctx).unwrap();
        let mut analytics = SqliteAnalytics::new(&path);
        let latest = analytics.latest(5).unwrap();
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[0].edge_bps, 3.0);
        assert_eq!(latest[0].volatility_source, "SPOT");
        assert!(latest[1].would_trade);
        assert_eq!(analytics.latest(1).unwrap().len(), 1);
        let stats = analytics.tracker_stats(clock.unix_ms_now()).unwrap();
        assert_eq!(stats.total, 2);
        assert_eq!(stats.perp.count, 1);
    }

    #[test]
    fn test_missing_file_is_an_error_naming_it() {
        let mut analytics = SqliteAnalytics::new(Path::new("/nonexistent/x.sqlite"));
        let err = analytics.latest(1).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/x.sqlite"), "{err}");
    }
}
