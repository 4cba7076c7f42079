//! The SQLite opportunity database (`opportunities.sqlite` in the output directory).
//!
//! Owned by the telemetry thread (cold path; allocates per batch: the timestamp text
//! of each row and SQLite's own buffers). Schema changes are versioned migrations
//! tracked in `PRAGMA user_version`: each runs once, in its own transaction, so
//! reopening a database never re-runs one. The journal is WAL with
//! `synchronous = NORMAL`: readers (users' `sqlite3` shells, notebooks) never block the
//! writer, and a power loss can cost at most the last commits, never corrupt the file.
//! Rows are inserted in batches, one transaction per batch, through one cached
//! prepared statement.
//!
//! The column names of `opportunities` are a public interface: users query them.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::{CachedStatement, Connection, OpenFlags};

use crate::edge::opportunity::{BasisOpportunity, Quad, QuadBps};
use crate::edge::spread_opportunity::{
    Metric, RejectReason, RejectionCounts, SpreadOpportunity, SpreadRecord,
};
use crate::runtime::Clock;
use crate::types::InstrumentRegistry;
use crate::types::bps::Bps;

/// File name of the database in the output directory.
pub const DB_FILE_NAME: &str = "opportunities.sqlite";

/// How long a write waits for a lock held by another connection before failing: long
/// enough for a reader's checkpoint, short enough that the telemetry rings do not fill.
pub const DB_BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// Migration 1: the `opportunities` table, its indexes and the per-source summary view.
const MIGRATION_1: &str = "
CREATE TABLE opportunities (
    id INTEGER PRIMARY KEY,
    detected_at TEXT NOT NULL,
    detection_latency_ms REAL NOT NULL,
    edge_bps REAL NOT NULL,
    perp_bid REAL NOT NULL,
    perp_ask REAL NOT NULL,
    spot_bid REAL NOT NULL,
    spot_ask REAL NOT NULL,
    mid_ref REAL NOT NULL,
    baseline_perp_bid REAL NOT NULL,
    baseline_perp_ask REAL NOT NULL,
    baseline_spot_bid REAL NOT NULL,
    baseline_spot_ask REAL NOT NULL,
    perp_bid_deviation_bps REAL NOT NULL,
    perp_ask_deviation_bps REAL NOT NULL,
    spot_bid_deviation_bps REAL NOT NULL,
    spot_ask_deviation_bps REAL NOT NULL,
    perp_movement_bps REAL NOT NULL,
    spot_movement_bps REAL NOT NULL,
    volatility_source TEXT NOT NULL CHECK (volatility_source IN ('PERP', 'SPOT', 'BOTH')),
    volatility_ratio REAL NOT NULL,
    would_trade_current INTEGER NOT NULL CHECK (would_trade_current IN (0, 1)),
    cost_ioc_both REAL NOT NULL,
    cost_ioc_perp_alo_spot REAL NOT NULL,
    cost_alo_both REAL NOT NULL,
    expected_profit_ioc REAL NOT NULL,
    expected_profit_hybrid REAL NOT NULL,
    analysis_duration_ms REAL NOT NULL,
    venue TEXT NOT NULL,
    spot_symbol TEXT NOT NULL,
    perp_symbol TEXT NOT NULL,
    direction TEXT NOT NULL,
    venue_ts_ms INTEGER NOT NULL
);
CREATE INDEX idx_opportunities_detected_at ON opportunities (detected_at);
CREATE INDEX idx_opportunities_volatility_source ON opportunities (volatility_source);
CREATE INDEX idx_opportunities_edge_bps ON opportunities (edge_bps);
CREATE INDEX idx_opportunities_would_trade_current ON opportunities (would_trade_current);
CREATE VIEW opportunity_summary_by_source AS
SELECT volatility_source,
       COUNT(*) AS count,
       AVG(edge_bps) AS avg_edge_bps,
       AVG(perp_movement_bps) AS avg_perp_movement_bps,
       AVG(spot_movement_bps) AS avg_spot_movement_bps,
       AVG(expected_profit_hybrid - expected_profit_ioc) AS avg_hybrid_advantage_bps
FROM opportunities
GROUP BY volatility_source;
";

/// Migration 2: the cross-venue scanner's `spread_opportunities` (one row per accepted
/// opportunity, its best size in columns and every size as JSON) and
/// `spread_rejections` (rejected candidates counted per reason per flush).
const MIGRATION_2: &str = "
CREATE TABLE spread_opportunities (
    id INTEGER PRIMARY KEY,
    detected_at TEXT NOT NULL,
    detection_latency_ms REAL NOT NULL,
    expires_at TEXT NOT NULL,
    base TEXT NOT NULL,
    kind TEXT NOT NULL,
    buy_venue TEXT NOT NULL,
    buy_symbol TEXT NOT NULL,
    sell_venue TEXT NOT NULL,
    sell_symbol TEXT NOT NULL,
    buy_ask REAL NOT NULL,
    sell_bid REAL NOT NULL,
    gross_bps REAL NOT NULL,
    fees_bps REAL NOT NULL,
    funding_delta_bps REAL NOT NULL,
    buy_venue_delay_ms INTEGER NOT NULL,
    sell_venue_delay_ms INTEGER NOT NULL,
    stale_penalty INTEGER NOT NULL,
    notional REAL NOT NULL,
    qty REAL NOT NULL,
    vwap_buy REAL NOT NULL,
    vwap_sell REAL NOT NULL,
    slippage_bps REAL NOT NULL,
    net_bps REAL NOT NULL,
    expected_profit REAL NOT NULL,
    confidence INTEGER NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    metrics TEXT NOT NULL,
    sizes TEXT NOT NULL
);
CREATE INDEX idx_spread_opportunities_detected_at ON spread_opportunities (detected_at);
CREATE INDEX idx_spread_opportunities_net_bps ON spread_opportunities (net_bps);
CREATE TABLE spread_rejections (
    id INTEGER PRIMARY KEY,
    flushed_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX idx_spread_rejections_flushed_at ON spread_rejections (flushed_at);
";

/// Every migration, in order: entry `i` brings the schema from version `i` to `i + 1`.
/// Append only; never edit a released migration.
const MIGRATIONS: [&str; 2] = [MIGRATION_1, MIGRATION_2];

/// The schema version this build writes (`PRAGMA user_version` after migrating).
#[allow(clippy::cast_possible_truncation)] // a handful of migrations, checked below
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;
const _: () = assert!(MIGRATIONS.len() < 1_000);

/// The columns the writer fills (all but `id`), in table order. Parameter `:name` binds
/// column `name`.
const INSERT_COLUMNS: [&str; 32] = [
    "detected_at",
    "detection_latency_ms",
    "edge_bps",
    "perp_bid",
    "perp_ask",
    "spot_bid",
    "spot_ask",
    "mid_ref",
    "baseline_perp_bid",
    "baseline_perp_ask",
    "baseline_spot_bid",
    "baseline_spot_ask",
    "perp_bid_deviation_bps",
    "perp_ask_deviation_bps",
    "spot_bid_deviation_bps",
    "spot_ask_deviation_bps",
    "perp_movement_bps",
    "spot_movement_bps",
    "volatility_source",
    "volatility_ratio",
    "would_trade_current",
    "cost_ioc_both",
    "cost_ioc_perp_alo_spot",
    "cost_alo_both",
    "expected_profit_ioc",
    "expected_profit_hybrid",
    "analysis_duration_ms",
    "venue",
    "spot_symbol",
    "perp_symbol",
    "direction",
    "venue_ts_ms",
];

/// What can go wrong with the database. Each variant names the file and the operation;
/// all are cold-path errors reported to the operator.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file could not be opened or created: check the directory and its permissions.
    #[error("opening SQLite database {path}: {source}")]
    Open {
        /// Database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A connection setting (journal mode, synchronous, busy timeout) was refused.
    #[error("configuring SQLite database {path} ({setting}): {source}")]
    Configure {
        /// Database file.
        path: PathBuf,
        /// The setting.
        setting: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A migration failed and was rolled back; the file is at the previous version.
    #[error("migrating SQLite database {path} to schema version {version}: {source}")]
    Migrate {
        /// Database file.
        path: PathBuf,
        /// The version being migrated to.
        version: u32,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The file was written by a newer build: use that build or another output directory.
    #[error("SQLite database {path} has schema version {found}, newer than {supported}")]
    TooNew {
        /// Database file.
        path: PathBuf,
        /// Its `user_version`.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
    /// A batch could not be committed; it was rolled back and may be retried.
    #[error("writing {rows} opportunity rows to {path}: {source}")]
    Write {
        /// Database file.
        path: PathBuf,
        /// Rows in the failed batch.
        rows: usize,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A read (version, helpers) failed.
    #[error("reading SQLite database {path}: {source}")]
    Read {
        /// Database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// What turns an opportunity into a row: names from the registry, wall time from the
/// clock.
#[derive(Debug, Clone, Copy)]
pub struct RowContext<'a> {
    /// Resolves instrument ids to venue and symbol.
    pub registry: &'a InstrumentRegistry,
    /// Converts raw ticks to durations and wall-clock time.
    pub clock: &'a Clock,
}

/// The writer of `opportunities.sqlite`.
#[derive(Debug)]
pub struct OpportunityDb {
    conn: Connection,
    path: PathBuf,
    insert_sql: String,
    rows: u64,
}

impl OpportunityDb {
    /// Opens (creating if needed) the database at `path`, configures WAL and runs the
    /// migrations it has not seen yet.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let open_err = |source| DbError::Open {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        configure(&conn, path)?;
        migrate(&mut conn, path)?;
        Ok(Self {
            conn,
            path: path.to_owned(),
            insert_sql: insert_sql(),
            rows: 0,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows committed through this writer since it was opened.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The schema version recorded in the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, DbError> {
        user_version(&self.conn).map_err(|source| self.read_err(source))
    }

    /// Inserts `batch` in one transaction; all or nothing. Returns the rows written.
    pub fn insert_batch(
        &mut self,
        batch: &[BasisOpportunity],
        ctx: &RowContext<'_>,
    ) -> Result<usize, DbError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let write_err = |source| DbError::Write {
            path: self.path.clone(),
            rows: batch.len(),
            source,
        };
        let tx = self.conn.transaction().map_err(write_err)?;
        {
            let mut stmt = tx.prepare_cached(&self.insert_sql).map_err(write_err)?;
            for opp in batch {
                insert_row(&mut stmt, opp, ctx).map_err(write_err)?;
            }
        }
        tx.commit().map_err(write_err)?;
        self.rows += batch.len() as u64;
        Ok(batch.len())
    }

    /// Inserts the scanner's records in one transaction, all or nothing: an opportunity
    /// is a `spread_opportunities` row, a rejection flush one `spread_rejections` row
    /// per reason counted. Returns the rows written.
    pub fn insert_spread_batch(
        &mut self,
        batch: &[SpreadRecord],
        ctx: &RowContext<'_>,
    ) -> Result<usize, DbError> {
        let write_err = |source| DbError::Write {
            path: self.path.clone(),
            rows: batch.len(),
            source,
        };
        let tx = self.conn.transaction().map_err(write_err)?;
        let mut rows = 0;
        for record in batch {
            rows += match record {
                SpreadRecord::Opportunity(o) => insert_spread_row(&tx, o, ctx),
                SpreadRecord::Rejections { ts_raw, counts } => {
                    insert_rejection_rows(&tx, &rfc3339_ms(ctx.clock, *ts_raw), counts)
                }
            }
            .map_err(write_err)?;
        }
        tx.commit().map_err(write_err)?;
        self.rows += rows as u64;
        Ok(rows)
    }

    /// Reads back every row, in id order (tests and tools; allocates the whole table).
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
            path: self.path.clone(),
            source,
        }
    }
}

fn configure(conn: &Connection, path: &Path) -> Result<(), DbError> {
    let err = |setting| {
        move |source| DbError::Configure {
            path: path.to_owned(),
            setting,
            source,
        }
    };
    conn.busy_timeout(DB_BUSY_TIMEOUT)
        .map_err(err("busy_timeout"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(err("journal_mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // NB: only in-memory databases refuse WAL; never the case for a file.
        log::warn!("{}: journal_mode is {mode}, not WAL", path.display());
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err("synchronous"))
}

fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Runs every migration above the file's `user_version`, each in its own transaction
/// together with its version bump.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), DbError> {
    let found = user_version(conn).map_err(|source| DbError::Read {
        path: path.to_owned(),
        source,
    })?;
    if found > SCHEMA_VERSION {
        return Err(DbError::TooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for version in found + 1..=SCHEMA_VERSION {
        let sql = MIGRATIONS[(version - 1) as usize];
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        run(conn).map_err(|source| DbError::Migrate {
            path: path.to_owned(),
            version,
            source,
        })?;
        log::info!("{}: migrated to schema version {version}", path.display());
    }
    Ok(())
}

/// Wall time of a raw reading as RFC 3339 with milliseconds.
fn rfc3339_ms(clock: &Clock, raw: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_nanos(clock.unix_ns(raw));
    humantime::format_rfc3339_millis(at).to_string()
}

/// One `spread_rejections` row per reason counted.
fn insert_rejection_rows(
    conn: &Connection,
    at: &str,
    counts: &RejectionCounts,
) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO spread_rejections (flushed_at, reason, count) VALUES (?1, ?2, ?3)",
    )?;
    let mut rows = 0;
    for reason in RejectReason::ALL {
        let count = i64::try_from(counts.get(reason)).unwrap_or(i64::MAX);
        if count > 0 {
            rows += stmt.execute(rusqlite::params![at, reason.as_str(), count])?;
        }
    }
    Ok(rows)
}

const SPREAD_INSERT: &str = "INSERT INTO spread_opportunities (detected_at, detection_latency_ms, expires_at, base, kind, buy_venue, buy_symbol, sell_venue, sell_symbol, buy_ask, sell_bid, gross_bps, fees_bps, funding_delta_bps, buy_venue_delay_ms, sell_venue_delay_ms, stale_penalty, notional, qty, vwap_buy, vwap_sell, slippage_bps, net_bps, expected_profit, confidence, metrics, sizes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)";

fn insert_spread_row(
    conn: &Connection,
    o: &SpreadOpportunity,
    ctx: &RowContext<'_>,
) -> rusqlite::Result<usize> {
    let clock = ctx.clock;
    let (buy, sell) = (ctx.registry.get(o.buy), ctx.registry.get(o.sell));
    let best = o.best_size();
    let mut stmt = conn.prepare_cached(SPREAD_INSERT)?;
    stmt.execute(rusqlite::params![
        rfc3339_ms(clock, o.ts_decision_raw),
        ns_to_ms(clock.delta_ns(o.ts_recv_raw, o.ts_decision_raw)),
        rfc3339_ms(clock, o.expires_raw),
        buy.base.as_str(),
        buy.kind.name(),
        buy.venue.name(),
        buy.symbol.as_str(),
        sell.venue.name(),
        sell.symbol.as_str(),
        o.buy_ask.to_f64_lossy(),
        o.sell_bid.to_f64_lossy(),
        bps(o.gross_bps),
        bps(o.fees_bps),
        bps(o.funding_delta_bps),
        o.venue_delay_ms[0],
        o.venue_delay_ms[1],
        o.stale_penalty,
        best.notional.to_f64_lossy(),
        best.qty.to_f64_lossy(),
        best.vwap_buy.to_f64_lossy(),
        best.vwap_sell.to_f64_lossy(),
        bps(best.slippage_bps),
        bps(best.net_bps),
        best.expected_profit_raw as f64 / 1e8,
        best.confidence,
        metrics_json(o),
        sizes_json(o),
    ])
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

fn insert_sql() -> String {
    let params: Vec<String> = INSERT_COLUMNS.iter().map(|c| format!(":{c}")).collect();
    format!(
        "INSERT INTO opportunities ({}) VALUES ({})",
        INSERT_COLUMNS.join(", "),
        params.join(", ")
    )
}

fn insert_row(
    stmt: &mut CachedStatement<'_>,
    opp: &BasisOpportunity,
    ctx: &RowContext<'_>,
) -> rusqlite::Result<()> {
    bind_identity(stmt, opp, ctx)?;
    bind_prices(stmt, opp)?;
    bind_signals(stmt, opp)?;
    bind_costs(stmt, opp)?;
    stmt.raw_execute().map(|_| ())
}

/// Time, latency and names.
fn bind_identity(
    stmt: &mut CachedStatement<'_>,
    opp: &BasisOpportunity,
    ctx: &RowContext<'_>,
) -> rusqlite::Result<()> {
    let clock = ctx.clock;
    let (spot, perp) = (ctx.registry.get(opp.spot), ctx.registry.get(opp.perp));
    let decided = UNIX_EPOCH + Duration::from_nanos(clock.unix_ns(opp.ts_decision_raw));
    let detected_at = humantime::format_rfc3339_millis(decided).to_string();
    let latency_ms = ns_to_ms(clock.delta_ns(opp.ts_recv_raw, opp.ts_decision_raw));
    let analysis_ms = ns_to_ms(clock.delta_ns(opp.analysis_start_raw, opp.ts_decision_raw));
    let venue_ts_ms = i64::try_from(opp.ts_venue_ms).unwrap_or(i64::MAX);
    stmt.raw_bind_parameter(":detected_at", detected_at)?;
    stmt.raw_bind_parameter(":detection_latency_ms", latency_ms)?;
    stmt.raw_bind_parameter(":analysis_duration_ms", analysis_ms)?;
    stmt.raw_bind_parameter(":venue", perp.venue.name())?;
    stmt.raw_bind_parameter(":spot_symbol", spot.symbol.as_str())?;
    stmt.raw_bind_parameter(":perp_symbol", perp.symbol.as_str())?;
    stmt.raw_bind_parameter(":direction", opp.direction.as_str())?;
    stmt.raw_bind_parameter(":venue_ts_ms", venue_ts_ms)
}

/// Prices, mid and baselines.
fn bind_prices(stmt: &mut CachedStatement<'_>, opp: &BasisOpportunity) -> rusqlite::Result<()> {
    const PRICES: [&str; 4] = [":perp_bid", ":perp_ask", ":spot_bid", ":spot_ask"];
    const BASELINES: [&str; 4] = [
        ":baseline_perp_bid",
        ":baseline_perp_ask",
        ":baseline_spot_bid",
        ":baseline_spot_ask",
    ];
    for (name, value) in PRICES.into_iter().zip(quad_f64(&opp.prices)) {
        stmt.raw_bind_parameter(name, value)?;
    }
    for (name, value) in BASELINES.into_iter().zip(quad_f64(&opp.baseline)) {
        stmt.raw_bind_parameter(name, value)?;
    }
    stmt.raw_bind_parameter(":mid_ref", opp.mid_ref.to_f64_lossy())
}

/// Deviations, movements, volatility, edge and decision.
fn bind_signals(stmt: &mut CachedStatement<'_>, opp: &BasisOpportunity) -> rusqlite::Result<()> {
    const DEVIATIONS: [&str; 4] = [
        ":perp_bid_deviation_bps",
        ":perp_ask_deviation_bps",
        ":spot_bid_deviation_bps",
        ":spot_ask_deviation_bps",
    ];
    for (name, value) in DEVIATIONS.into_iter().zip(quad_bps_f64(&opp.deviation)) {
        stmt.raw_bind_parameter(name, value)?;
    }
    stmt.raw_bind_parameter(":perp_movement_bps", bps(opp.perp_movement_bps))?;
    stmt.raw_bind_parameter(":spot_movement_bps", bps(opp.spot_movement_bps))?;
    stmt.raw_bind_parameter(":volatility_source", opp.volatility_source.as_str())?;
    stmt.raw_bind_parameter(":volatility_ratio", bps(opp.volatility_ratio))?;
    stmt.raw_bind_parameter(":edge_bps", bps(opp.edge_bps))?;
    stmt.raw_bind_parameter(":would_trade_current", i64::from(opp.would_trade_current))
}

/// Projected costs and expected profits.
fn bind_costs(stmt: &mut CachedStatement<'_>, opp: &BasisOpportunity) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(":cost_ioc_both", bps(opp.costs.ioc_both))?;
    stmt.raw_bind_parameter(":cost_ioc_perp_alo_spot", bps(opp.costs.ioc_perp_alo_spot))?;
    stmt.raw_bind_parameter(":cost_alo_both", bps(opp.costs.alo_both))?;
    stmt.raw_bind_parameter(":expected_profit_ioc", bps(opp.expected_profit_ioc))?;
    stmt.raw_bind_parameter(":expected_profit_hybrid", bps(opp.expected_profit_hybrid))
}

fn quad_f64(q: &Quad) -> [f64; 4] {
    [q.perp_bid, q.perp_ask, q.spot_bid, q.spot_ask].map(|p| p.to_f64_lossy())
}

fn quad_bps_f64(q: &QuadBps) -> [f64; 4] {
    [q.perp_bid, q.perp_ask, q.spot_bid, q.spot_ask].map(bps)
}

fn bps(value: Bps) -> f64 {
    value.to_num::<f64>()
}

#[allow(clippy::cast_precision_loss)] // a duration for humans; exact below 104 days
fn ns_to_ms(ns: u64) -> f64 {
    ns as f64 / 1_000_000.0
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

/// Hand-made opportunities and registry, shared with the sidecar tests.
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
}

#[cfg(test)]
mod tests {
    use super::fixtures::{opportunity, registry};
    use super::*;
    use crate::edge::opportunity::VolatilitySource;

    fn write_two(db: &mut OpportunityDb) {
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
        assert_eq!(db.insert_batch(&batch, &ctx).unwrap(), 2);
    }

    #[test]
    fn test_db_spread_rows_and_rejection_counts() {
        use crate::edge::spread_opportunity::{MetricScores, RejectionCounts, SIZES_MAX, SizeEval};
        use crate::telemetry::sqlite::fixtures::price;
        use crate::types::InstrumentId;
        let dir = tempfile::tempdir().unwrap();
        let mut db = OpportunityDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        let (clock, _mock) = Clock::mock();
        let registry = registry();
        let ctx = RowContext {
            registry: &registry,
            clock: &clock,
        };
        let mut sizes = [SizeEval::default(); SIZES_MAX];
        sizes[0] = SizeEval {
            notional: price("100"),
            net_bps: Bps::from_num(3.5),
            expected_profit_raw: 3_500_000,
            confidence: 80,
            vwap_deviation_score: Some(Bps::ONE),
            ..SizeEval::default()
        };
        sizes[1].rejected = Some(RejectReason::InsufficientDepth);
        let mut metrics = MetricScores::default();
        metrics.set(Metric::BookImbalance, Some(Bps::from_num(0.5)));
        let opp = SpreadOpportunity {
            buy: InstrumentId(0),
            sell: InstrumentId(1),
            ts_recv_raw: 0,
            ts_decision_raw: 1_000,
            expires_raw: 2_000_001_000,
            buy_ask: price("100"),
            sell_bid: price("100.2"),
            gross_bps: Bps::from_num(20),
            fees_bps: Bps::from_num(10),
            funding_delta_bps: Bps::ZERO,
            venue_delay_ms: [3, 4],
            stale_penalty: 0,
            metrics,
            sizes,
            sizes_len: 2,
            best: 0,
        };
        let mut counts = RejectionCounts::default();
        counts.add(RejectReason::Unprofitable);
        counts.add(RejectReason::Unprofitable);
        counts.add(RejectReason::VenueStale);
        let batch = [
            SpreadRecord::Opportunity(opp),
            SpreadRecord::Rejections { ts_raw: 5, counts },
        ];
        assert_eq!(db.insert_spread_batch(&batch, &ctx).unwrap(), 3);
        let (net, confidence, metrics, sizes): (f64, i64, String, String) = db
            .conn
            .query_row(
                "SELECT net_bps, confidence, metrics, sizes FROM spread_opportunities",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((net, confidence), (3.5, 80));
        assert!(metrics.contains("\"book_imbalance\":0.5000"), "{metrics}");
        assert!(metrics.contains("\"vwap_deviation\":1.0000"), "{metrics}");
        assert!(metrics.contains("\"open_interest\":null"), "{metrics}");
        assert!(
            sizes.contains("\"rejected\":\"INSUFFICIENT_DEPTH\""),
            "{sizes}"
        );
        let unprofitable: i64 = db
            .conn
            .query_row(
                "SELECT count FROM spread_rejections WHERE reason = 'UNPROFITABLE'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unprofitable, 2);
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn test_db_insert_batch_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = OpportunityDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
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
    }

    #[test]
    fn test_db_binds_every_column() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = OpportunityDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        write_two(&mut db);
        for column in INSERT_COLUMNS {
            let sql = format!("SELECT COUNT(*) FROM opportunities WHERE {column} IS NOT NULL");
            let n: i64 = db.conn.query_row(&sql, [], |r| r.get(0)).unwrap();
            assert_eq!(n, 2, "column {column}");
        }
    }

    #[test]
    fn test_db_reopen_keeps_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        let mut db = OpportunityDb::open(&path).unwrap();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        write_two(&mut db);
        drop(db);
        let db = OpportunityDb::open(&path).unwrap();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(db.read_opportunities().unwrap().len(), 2);
        let mode: String = db
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn test_db_refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = OpportunityDb::open(&path).unwrap_err();
        let newer = SCHEMA_VERSION + 1;
        assert!(
            matches!(err, DbError::TooNew { found, .. } if found == newer),
            "{err}"
        );
    }

    #[test]
    fn test_db_summary_view_groups_by_source() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = OpportunityDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
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
