//! What the Telegram bot asks of the run's database: the latest opportunities, the
//! summary by volatility source with the recommendation rule, the latest trades and the
//! trade statistics.
//!
//! [`Analytics`] is the question; [`DbAnalytics`] answers it through the database
//! layer's read-only [`Reader`] (SQLite or PostgreSQL, as configured), opened at the first
//! question and again after a failure. Cold path: every answer allocates.

use std::path::{Path, PathBuf};

use crate::telemetry::db::DatabaseSettings;
use crate::telemetry::db::DbError;
use crate::telemetry::db::analytics::{LatestOpportunity, Reader, Summary};
use crate::telemetry::db::trade_analytics::{TradeLine, TradeStats};

/// The questions the bot asks.
pub trait Analytics: Send {
    /// The summary by volatility source with the recommendation.
    fn summary(&mut self) -> Result<Summary, DbError>;
    /// The `n` most recent opportunities, newest first.
    fn latest(&mut self, n: usize) -> Result<Vec<LatestOpportunity>, DbError>;
    /// The `n` most recent closed trades, newest first.
    fn trades(&mut self, n: usize) -> Result<Vec<TradeLine>, DbError>;
    /// Statistics over every closed trade.
    fn trade_stats(&mut self) -> Result<TradeStats, DbError>;
}

/// Answers from the configured database.
pub struct DbAnalytics {
    settings: DatabaseSettings,
    output_dir: PathBuf,
    reader: Option<Reader>,
}

impl DbAnalytics {
    /// Reads the database `settings` name (the SQLite file in `output_dir` by default).
    pub fn new(settings: DatabaseSettings, output_dir: &Path) -> Self {
        Self {
            settings,
            output_dir: output_dir.to_owned(),
            reader: None,
        }
    }

    /// Runs `ask` on the reader, opening it first; a failed question drops the reader so
    /// the next one reconnects.
    fn ask<T>(
        &mut self,
        ask: impl FnOnce(&mut Reader) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut reader = match self.reader.take() {
            Some(reader) => reader,
            None => Reader::open(&self.settings, &self.output_dir)?,
        };
        let answer = ask(&mut reader);
        if answer.is_ok() {
            self.reader = Some(reader);
        }
        answer
    }
}

impl Analytics for DbAnalytics {
    fn summary(&mut self) -> Result<Summary, DbError> {
        self.ask(Reader::summary)
    }

    fn latest(&mut self, n: usize) -> Result<Vec<LatestOpportunity>, DbError> {
        self.ask(|r| r.latest(n))
    }

    fn trades(&mut self, n: usize) -> Result<Vec<TradeLine>, DbError> {
        self.ask(|r| r.latest_trades(n))
    }

    fn trade_stats(&mut self) -> Result<TradeStats, DbError> {
        self.ask(Reader::trade_stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::db::sqlite::{DB_FILE_NAME, SqliteDb};

    #[test]
    fn test_empty_database_answers_and_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut analytics = DbAnalytics::new(DatabaseSettings::default(), dir.path());
        let err = analytics.latest(1).unwrap_err().to_string();
        assert!(err.contains(DB_FILE_NAME), "{err}");
        SqliteDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        assert!(analytics.latest(5).unwrap().is_empty());
        assert_eq!(analytics.summary().unwrap().total, 0);
        assert!(analytics.trades(5).unwrap().is_empty());
        assert_eq!(analytics.trade_stats().unwrap().all.trades, 0);
    }
}
