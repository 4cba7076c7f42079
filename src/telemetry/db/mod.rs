//! The database: SQLite (embedded, the default) or PostgreSQL behind one writer
//! interface ([`Backend`]), fed by the sidecar through a writer thread
//! ([`writer::WriterThread`]) that spools rows on disk while the database refuses them.
//!
//! Cold path only: nothing here is reachable from the hot path, which hands records to
//! the sidecar over rings (dropping and counting when they are full).
//!
//! - [`record`]: the record kinds and how each becomes a [`row::Row`];
//! - [`latency_snapshot`]: the rows of each latency dump;
//! - [`migrations`]: the schema, versioned, for both backends;
//! - [`sqlite`], [`postgres`]: the backends ([`deadline`] bounds PostgreSQL's calls);
//! - [`spool`]: the bounded on-disk spool;
//! - [`writer`]: backend + spool, on a thread of its own.

pub mod analytics;
pub mod backtest_reads;
pub mod deadline;
pub mod error;
pub mod gateway_rows;
pub mod latency_snapshot;
pub mod migrations;
pub mod postgres;
pub mod record;
pub mod row;
pub mod spool;
pub mod sqlite;
pub mod trade_analytics;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::DbError;
pub use row::Row;

use crate::telemetry::db::deadline::DeadlineBackend;
use crate::telemetry::db::postgres::{PgDb, PgTarget};
use crate::telemetry::db::sqlite::{DB_FILE_NAME, SqliteDb};

/// Default rows per transaction: one transaction per 512 rows amortises the commit's
/// fsync (SQLite) or round trip (PostgreSQL) while keeping a batch well under a
/// millisecond to write.
pub const BATCH_ROWS_DEFAULT: usize = 512;

/// Largest accepted `batch_rows`.
pub const BATCH_ROWS_MAX: usize = 65_536;

/// Default flush interval: rows reach the database within ~100 ms even when quiet.
pub const FLUSH_INTERVAL_DEFAULT: Duration = Duration::from_millis(100);

/// Name of the spool directory in the output directory.
pub const SPOOL_DIR_NAME: &str = "spool";

/// A database that takes batches of rows.
pub trait Backend: Send {
    /// Writes `rows` in one transaction, all or nothing; rows whose key is already
    /// stored are skipped. Returns the rows inserted.
    fn write(&mut self, rows: &[Row]) -> Result<usize, DbError>;

    /// The database as logs name it (a path, or a URL without password).
    fn target(&self) -> &str;

    /// Rows inserted by calls that had already been reported failed (a call that missed
    /// its deadline and committed after all), since the last call of this; never blocks.
    /// The writer counts them as written: they are in the database, and their replay
    /// from the spool finds them there. 0 for backends without deadlines.
    fn take_late_inserted(&mut self) -> u64 {
        0
    }
}

/// Which database to write to.
#[derive(Debug, Clone)]
pub enum DbTarget {
    /// A SQLite file (`None`: `opportunities.sqlite` in the output directory).
    Sqlite(Option<PathBuf>),
    /// A PostgreSQL server.
    Postgres(Box<PgTarget>),
}

/// The `[database]` settings.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Where rows go.
    pub target: DbTarget,
    /// Rows per transaction (1..=[`BATCH_ROWS_MAX`]).
    pub batch_rows: usize,
    /// Longest a row waits before its batch is written; also the first retry delay.
    pub flush_interval: Duration,
    /// Spool directory (`None`: `spool/` in the output directory).
    pub spool_dir: Option<PathBuf>,
    /// Spool bound in bytes.
    pub spool_max_bytes: u64,
    /// Longest a PostgreSQL connect or batch may go unanswered before its rows are
    /// spooled ([`deadline`]).
    pub write_timeout: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            target: DbTarget::Sqlite(None),
            batch_rows: BATCH_ROWS_DEFAULT,
            flush_interval: FLUSH_INTERVAL_DEFAULT,
            spool_dir: None,
            spool_max_bytes: spool::SPOOL_MAX_BYTES_DEFAULT,
            write_timeout: deadline::WRITE_TIMEOUT_DEFAULT,
        }
    }
}

impl DatabaseSettings {
    /// The SQLite file, when the target is SQLite.
    pub fn sqlite_path(&self, output_dir: &Path) -> Option<PathBuf> {
        match &self.target {
            DbTarget::Sqlite(path) => Some(path.clone().unwrap_or(output_dir.join(DB_FILE_NAME))),
            DbTarget::Postgres(_) => None,
        }
    }

    /// The spool directory.
    pub fn spool_dir(&self, output_dir: &Path) -> PathBuf {
        self.spool_dir
            .clone()
            .unwrap_or_else(|| output_dir.join(SPOOL_DIR_NAME))
    }

    /// Opens the backend (migrating it; an unreachable or unanswering PostgreSQL server
    /// is not an error here, see [`PgDb::open`] and [`DeadlineBackend`]).
    pub fn open_backend(&self, output_dir: &Path) -> Result<Box<dyn Backend>, DbError> {
        Ok(match &self.target {
            DbTarget::Sqlite(_) => {
                let path = self.sqlite_path(output_dir).unwrap_or_default();
                Box::new(SqliteDb::open(&path)?)
            }
            DbTarget::Postgres(target) => {
                let target = (**target).clone();
                let name = target.describe().to_owned();
                Box::new(DeadlineBackend::open(
                    name,
                    self.write_timeout,
                    move || Ok(Box::new(PgDb::open(target)?) as Box<dyn Backend>),
                )?)
            }
        })
    }
}
