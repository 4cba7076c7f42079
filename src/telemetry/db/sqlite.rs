//! The SQLite backend (`opportunities.sqlite` in the output directory, the default).
//!
//! Owned by the database writer thread (cold path; allocates per batch: SQLite's own
//! buffers and the text of time values). The schema is [`migrations`], tracked in
//! `schema_migrations` (a file from before that table, tracked in `PRAGMA
//! user_version`, is adopted as version 1); `user_version` follows the latest version so
//! that older builds refuse a newer file. The journal is WAL with `synchronous =
//! NORMAL`: readers (users' `sqlite3` shells, notebooks) never block the writer, and a
//! power loss can cost at most the last commits, never corrupt the file. Rows are
//! inserted in batches, one transaction per batch, through one cached prepared
//! statement per table; a row whose key is already stored is skipped.
//!
//! The column names are a public interface: users query them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, ToSql, types::ToSqlOutput};

use crate::telemetry::db::Backend;
use crate::telemetry::db::error::{BoxError, DbError};
use crate::telemetry::db::migrations::{
    self, Dialect, MIGRATIONS, SCHEMA_MIGRATIONS_TABLE, SCHEMA_VERSION,
};
use crate::telemetry::db::record::rfc3339_millis;
use crate::telemetry::db::row::{Row, Value};

/// File name of the database in the output directory.
pub const DB_FILE_NAME: &str = "opportunities.sqlite";

/// How long a write waits for a lock held by another connection before failing: long
/// enough for a reader's checkpoint, short enough that the writer falls back to the
/// spool quickly.
pub const DB_BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// The SQLite writer.
#[derive(Debug)]
pub struct SqliteDb {
    conn: Connection,
    path: PathBuf,
    target: String,
    /// The insert statement's text per table code (the key of SQLite's statement cache).
    insert_sql: Vec<(u8, String)>,
    rows: u64,
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `path`, configures WAL and runs the
    /// migrations it has not seen yet.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let target = path.display().to_string();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| DbError::Open {
            target: target.clone(),
            source: e.into(),
        })?;
        configure(&conn, &target)?;
        migrate(&mut conn, &target)?;
        Ok(Self {
            conn,
            path: path.to_owned(),
            target,
            insert_sql: Vec::new(),
            rows: 0,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows inserted through this writer since it was opened (duplicates not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The latest applied migration (`schema_migrations`).
    pub fn schema_version(&self) -> Result<i64, DbError> {
        applied_version(&self.conn).map_err(|source| self.read_err(source))
    }

    /// Reads back every opportunity row, in id order (tests and tools; allocates the
    /// whole table).
    pub fn read_opportunities(&self) -> Result<Vec<StoredOpportunity>, DbError> {
        let sql = format!(
            "SELECT {} FROM opportunities ORDER BY id",
            StoredOpportunity::COLUMNS
        );
        self.read_all(&sql, StoredOpportunity::from_row)
    }

    /// Reads the `opportunity_summary_by_source` view, ordered by source.
    pub fn summary_by_source(&self) -> Result<Vec<SourceSummary>, DbError> {
        let sql = format!(
            "SELECT {} FROM opportunity_summary_by_source ORDER BY volatility_source",
            SourceSummary::COLUMNS
        );
        self.read_all(&sql, SourceSummary::from_row)
    }

    fn read_all<T>(
        &self,
        sql: &str,
        from_row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, DbError> {
        let read = || -> rusqlite::Result<Vec<T>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([], from_row)?;
            rows.collect()
        };
        read().map_err(|source| self.read_err(source))
    }

    fn read_err(&self, source: rusqlite::Error) -> DbError {
        DbError::Read {
            target: self.target.clone(),
            source: source.into(),
        }
    }

    fn insert_all(&mut self, rows: &[Row]) -> rusqlite::Result<usize> {
        for row in rows {
            if !self
                .insert_sql
                .iter()
                .any(|(code, _)| *code == row.table.code)
            {
                let sql = row.table.insert_sql(1, Dialect::Sqlite);
                self.insert_sql.push((row.table.code, sql));
            }
        }
        let tx = self.conn.transaction()?;
        let mut inserted = 0;
        for row in rows {
            let sql = self
                .insert_sql
                .iter()
                .find_map(|(code, sql)| (*code == row.table.code).then_some(sql.as_str()))
                .unwrap_or_default();
            let mut stmt = tx.prepare_cached(sql)?;
            let key: [&dyn ToSql; 2] = [&row.run_id, &row.seq];
            let params = key
                .into_iter()
                .chain(row.values.iter().map(|v| v as &dyn ToSql));
            inserted += stmt.execute(rusqlite::params_from_iter(params))?;
        }
        tx.commit()?;
        Ok(inserted)
    }
}

impl Backend for SqliteDb {
    fn write(&mut self, rows: &[Row]) -> Result<usize, DbError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let inserted = self.insert_all(rows).map_err(|e| DbError::Write {
            target: self.target.clone(),
            rows: rows.len(),
            source: e.into(),
        })?;
        self.rows += inserted as u64;
        Ok(inserted)
    }

    fn target(&self) -> &str {
        &self.target
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::from(rusqlite::types::Null),
            Value::Int(v) => ToSqlOutput::from(*v),
            Value::Real(v) => ToSqlOutput::from(*v),
            Value::Bool(v) => ToSqlOutput::from(i64::from(*v)),
            Value::Text(s) => ToSqlOutput::from(s.as_str()),
            Value::Time(ns) => ToSqlOutput::from(rfc3339_millis(*ns)),
        })
    }
}

fn configure(conn: &Connection, target: &str) -> Result<(), DbError> {
    let err = |setting| {
        move |source: rusqlite::Error| DbError::Configure {
            target: target.to_owned(),
            setting,
            source: source.into(),
        }
    };
    conn.busy_timeout(DB_BUSY_TIMEOUT)
        .map_err(err("busy_timeout"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(err("journal_mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // NB: only in-memory databases refuse WAL; never the case for a file.
        log::warn!("{target}: journal_mode is {mode}, not WAL");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err("synchronous"))
}

/// The latest version in `schema_migrations` (0 when none).
fn applied_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )
}

/// Creates `schema_migrations` if missing, adopting a file tracked in `user_version`
/// (only migration 1 was ever released that way).
fn bootstrap(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(&Dialect::Sqlite.render(SCHEMA_MIGRATIONS_TABLE))?;
    let legacy: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if legacy >= 1 {
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (1, ?1)
             ON CONFLICT (version) DO NOTHING",
            [MIGRATIONS[0].name],
        )?;
    }
    tx.commit()
}

/// Runs every migration not yet in `schema_migrations`, each in its own transaction
/// together with its `schema_migrations` row.
fn migrate(conn: &mut Connection, target: &str) -> Result<(), DbError> {
    let read_err = |source: rusqlite::Error| DbError::Read {
        target: target.to_owned(),
        source: source.into(),
    };
    bootstrap(conn).map_err(read_err)?;
    let found = applied_version(conn).map_err(read_err)?;
    if found > SCHEMA_VERSION {
        return Err(DbError::TooNew {
            target: target.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        apply(conn, m).map_err(|source| DbError::Migrate {
            target: target.to_owned(),
            version: m.version,
            source,
        })?;
        log::info!("{target}: migrated to schema version {}", m.version);
    }
    Ok(())
}

fn apply(conn: &mut Connection, m: &migrations::Migration) -> Result<(), BoxError> {
    let tx = conn.transaction()?;
    tx.execute_batch(&m.sql(Dialect::Sqlite))?;
    tx.execute(
        "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
        rusqlite::params![m.version, m.name],
    )?;
    tx.pragma_update(None, "user_version", m.version)?;
    tx.commit()?;
    Ok(())
}

/// A stored row, the columns tests and tools look at (read helper).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOpportunity {
    /// Row id.
    pub id: i64,
    /// RFC 3339 UTC decision time, milliseconds.
    pub detected_at: String,
    /// Ingress to decision, ms.
    pub detection_latency_ms: f64,
    /// Analysis start to decision, ms.
    pub analysis_duration_ms: f64,
    /// Edge, bps.
    pub edge_bps: f64,
    /// Perp best bid.
    pub perp_bid: f64,
    /// Spot best ask.
    pub spot_ask: f64,
    /// `PERP`, `SPOT` or `BOTH`.
    pub volatility_source: String,
    /// Whether the trading threshold was met.
    pub would_trade_current: bool,
    /// Expected profit of the hybrid style, bps.
    pub expected_profit_hybrid: f64,
    /// Venue name.
    pub venue: String,
    /// Spot symbol.
    pub spot_symbol: String,
    /// Perp symbol.
    pub perp_symbol: String,
    /// Direction name.
    pub direction: String,
    /// Venue time, unix ms.
    pub venue_ts_ms: i64,
}

impl StoredOpportunity {
    const COLUMNS: &'static str = "id, detected_at, detection_latency_ms, \
        analysis_duration_ms, edge_bps, perp_bid, spot_ask, volatility_source, \
        would_trade_current, expected_profit_hybrid, venue, spot_symbol, perp_symbol, \
        direction, venue_ts_ms";

    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            detected_at: row.get(1)?,
            detection_latency_ms: row.get(2)?,
            analysis_duration_ms: row.get(3)?,
            edge_bps: row.get(4)?,
            perp_bid: row.get(5)?,
            spot_ask: row.get(6)?,
            volatility_source: row.get(7)?,
            would_trade_current: row.get::<_, i64>(8)? != 0,
            expected_profit_hybrid: row.get(9)?,
            venue: row.get(10)?,
            spot_symbol: row.get(11)?,
            perp_symbol: row.get(12)?,
            direction: row.get(13)?,
            venue_ts_ms: row.get(14)?,
        })
    }
}

/// One row of the `opportunity_summary_by_source` view (read helper).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSummary {
    /// `PERP`, `SPOT` or `BOTH`.
    pub volatility_source: String,
    /// Opportunities from this source.
    pub count: i64,
    /// Mean edge, bps.
    pub avg_edge_bps: f64,
    /// Mean perp movement, bps.
    pub avg_perp_movement_bps: f64,
    /// Mean spot movement, bps.
    pub avg_spot_movement_bps: f64,
    /// Mean of `expected_profit_hybrid - expected_profit_ioc`, bps.
    pub avg_hybrid_advantage_bps: f64,
}

impl SourceSummary {
    const COLUMNS: &'static str = "volatility_source, count, avg_edge_bps, \
        avg_perp_movement_bps, avg_spot_movement_bps, avg_hybrid_advantage_bps";

    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            volatility_source: row.get(0)?,
            count: row.get(1)?,
            avg_edge_bps: row.get(2)?,
            avg_perp_movement_bps: row.get(3)?,
            avg_spot_movement_bps: row.get(4)?,
            avg_hybrid_advantage_bps: row.get(5)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::opportunity::VolatilitySource;
    use crate::runtime::Clock;
    use crate::telemetry::db::record::fixtures::{opportunity, opportunity_rows, registry};
    use crate::telemetry::db::record::{OPPORTUNITIES, Record, RowContext};
    use crate::telemetry::db::row::RowKeys;

    fn write_two(db: &mut SqliteDb) {
        let (clock, _mock) = Clock::mock();
        let reg = registry();
        let ctx = RowContext {
            registry: &reg,
            clock: &clock,
        };
        let mut keys = RowKeys::new(1, 1);
        let batch = [
            opportunity(10_000, 12.5, VolatilitySource::Perp, true),
            opportunity(20_000, 3.0, VolatilitySource::Spot, false),
        ]
        .map(|opp| Record::Opportunity(&opp).to_row(&mut keys, &ctx));
        assert_eq!(db.write(&batch).unwrap(), 2);
    }

    #[test]
    fn test_db_insert_batch_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = SqliteDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        write_two(&mut db);
        assert_eq!(db.rows(), 2);
        let rows = db.read_opportunities().unwrap();
        assert_eq!(rows.len(), 2);
        let first = &rows[0];
        assert_eq!(first.edge_bps, 12.5);
        assert_eq!((first.perp_bid, first.spot_ask), (50_010.5, 50_000.25));
        assert_eq!(first.volatility_source, "PERP");
        assert!(first.would_trade_current && !rows[1].would_trade_current);
        assert_eq!(first.expected_profit_hybrid, 7.0);
        assert_eq!(
            (first.detection_latency_ms, first.analysis_duration_ms),
            (0.002, 0.0005)
        );
        assert_eq!(
            (first.venue.as_str(), first.perp_symbol.as_str()),
            ("binance", "BTCUSDT")
        );
        assert_eq!(first.direction, "SHORT_PERP_LONG_SPOT");
        assert_eq!(first.venue_ts_ms, 1_700_000_000_123);
        assert_eq!(first.detected_at.len(), 24, "{}", first.detected_at);
    }

    #[test]
    fn test_db_binds_every_column() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = SqliteDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        write_two(&mut db);
        for column in ["run_id", "seq"].iter().chain(OPPORTUNITIES.columns) {
            let sql = format!("SELECT COUNT(*) FROM opportunities WHERE {column} IS NOT NULL");
            let n: i64 = db.conn.query_row(&sql, [], |r| r.get(0)).unwrap();
            assert_eq!(n, 2, "column {column}");
        }
    }

    #[test]
    fn test_db_replayed_rows_do_not_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = SqliteDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        let rows = opportunity_rows(&mut RowKeys::new(5, 5), 10);
        assert_eq!(db.write(&rows[..6]).unwrap(), 6);
        assert_eq!(db.write(&rows).unwrap(), 4, "the first six are skipped");
        assert_eq!(db.write(&rows).unwrap(), 0);
        assert_eq!(db.read_opportunities().unwrap().len(), 10);
        let other_run = opportunity_rows(&mut RowKeys::new(6, 5), 3);
        assert_eq!(db.write(&other_run).unwrap(), 3, "same seq, other run");
    }

    #[test]
    fn test_db_reopen_keeps_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        let mut db = SqliteDb::open(&path).unwrap();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        write_two(&mut db);
        drop(db);
        let db = SqliteDb::open(&path).unwrap();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        let applied: i64 = db
            .conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(applied, SCHEMA_VERSION, "each migration recorded once");
        assert_eq!(db.read_opportunities().unwrap().len(), 2);
        let mode: String = db
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn test_db_adopts_a_user_version_1_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&MIGRATIONS[0].sql(Dialect::Sqlite))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let mut db = SqliteDb::open(&path).unwrap();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        write_two(&mut db);
        for table in ["spread_opportunities", "trades", "latency_snapshots"] {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n: i64 = db.conn.query_row(&sql, [], |r| r.get(0)).unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

    #[test]
    fn test_db_refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        drop(SqliteDb::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?1, 'future')",
                [SCHEMA_VERSION + 1],
            )
            .unwrap();
        let err = SqliteDb::open(&path).unwrap_err();
        assert!(
            matches!(err, DbError::TooNew { found, .. } if found == SCHEMA_VERSION + 1),
            "{err}"
        );
    }

    #[test]
    fn test_db_summary_view_groups_by_source() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = SqliteDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        write_two(&mut db);
        let summary = db.summary_by_source().unwrap();
        let sources: Vec<&str> = summary
            .iter()
            .map(|s| s.volatility_source.as_str())
            .collect();
        assert_eq!(sources, ["PERP", "SPOT"]);
        assert_eq!((summary[0].count, summary[0].avg_edge_bps), (1, 12.5));
        assert_eq!(summary[0].avg_hybrid_advantage_bps, 3.5);
    }
}
