//! The central PostgreSQL database of `edgeline collect`: the engines' schema (the same
//! [`migrations`](crate::telemetry::db::migrations)) plus a `site` column in every row
//! table, whose row key becomes `(site, run_id, seq)`. Its own versioned migrations
//! ([`CENTRAL_MIGRATIONS_TABLE`]) add the column after the engines' ones, under an
//! advisory lock so collectors starting together do not race.
//!
//! A batch is one transaction of `INSERT … ON CONFLICT (site, run_id, seq) DO NOTHING`
//! statements: a message delivered again (the collector died before its ack, or an
//! engine re-published past the broker's duplicate window) inserts nothing.
//!
//! Runs on the collector's thread (cold; allocates per batch). The database is for
//! collectors only: an engine writing to it directly would find no `(run_id, seq)` key.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};

use crate::telemetry::db::error::{BoxError, DbError};
use crate::telemetry::db::gateway_rows::GATEWAY_TABLES;
use crate::telemetry::db::latency_snapshot::LATENCY_SNAPSHOTS;
use crate::telemetry::db::postgres::{PgTarget, migrate};
use crate::telemetry::db::record::TABLES;
use crate::telemetry::db::row::{Row, Table};

/// The table recording the central migrations applied.
pub const CENTRAL_MIGRATIONS_TABLE: &str = "central_migrations";

/// The central schema version this build writes.
pub const CENTRAL_SCHEMA_VERSION: i64 = 1;

/// PostgreSQL's limit on parameters per statement.
const PARAMS_MAX: usize = 65_535;

/// Key of the advisory lock taken while migrating the central schema ("edgecent").
const CENTRAL_LOCK_KEY: i64 = 0x6564_6765_6365_6e74;

/// Every table that receives rows.
pub fn row_tables() -> impl Iterator<Item = &'static Table> {
    TABLES
        .into_iter()
        .chain(GATEWAY_TABLES)
        .chain(std::iter::once(&LATENCY_SNAPSHOTS))
}

/// Central migration 1: a `site` column in every row table, keyed `(site, run_id,
/// seq)` instead of `(run_id, seq)`.
pub fn site_column_sql() -> String {
    let mut sql = String::from("DROP INDEX IF EXISTS idx_opportunities_row_key;\n");
    for t in row_tables() {
        let name = t.name;
        sql.push_str(&format!(
            "ALTER TABLE {name} ADD COLUMN site TEXT NOT NULL DEFAULT '';\n\
             ALTER TABLE {name} DROP CONSTRAINT IF EXISTS {name}_run_id_seq_key;\n\
             CREATE UNIQUE INDEX idx_{name}_site_row_key ON {name} (site, run_id, seq);\n"
        ));
    }
    sql
}

/// `INSERT INTO <table> (site, run_id, seq, …) VALUES … ON CONFLICT (site, run_id,
/// seq) DO NOTHING` for `rows` rows.
pub fn insert_sql(table: &Table, rows: usize) -> String {
    let per_row = table.columns.len() + 3;
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=per_row)
                .map(|c| format!("${}", r * per_row + c))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {} (site, run_id, seq, {}) VALUES {} ON CONFLICT (site, run_id, seq) DO NOTHING",
        table.name,
        table.columns.join(", "),
        tuples.join(", ")
    )
}

/// One row and the site it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow {
    /// The engine's `[nats] site`.
    pub site: String,
    /// The row.
    pub row: Row,
}

/// The central database writer.
pub struct CentralDb {
    target: PgTarget,
    client: Option<Client>,
    statements: HashMap<(u8, usize), Statement>,
}

impl CentralDb {
    /// A writer for `target`; connects and migrates now (an unreachable server is an
    /// error here: the collector has nowhere to put what it would take).
    pub fn open(target: PgTarget) -> Result<Self, DbError> {
        let mut db = Self {
            target,
            client: None,
            statements: HashMap::new(),
        };
        db.connect()?;
        Ok(db)
    }

    /// The server as logs name it (no password).
    pub fn target(&self) -> &str {
        self.target.describe()
    }

    fn connect(&mut self) -> Result<(), DbError> {
        if self.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        self.client = None;
        self.statements.clear();
        let target = self.target.describe().to_owned();
        let mut client = self
            .target
            .config()
            .connect(NoTls)
            .map_err(|e| DbError::Open {
                target: target.clone(),
                source: e.into(),
            })?;
        migrate(&mut client, &target)?;
        migrate_central(&mut client).map_err(|source| DbError::Migrate {
            target: target.clone(),
            version: CENTRAL_SCHEMA_VERSION,
            source,
        })?;
        self.client = Some(client);
        Ok(())
    }

    /// Writes `rows` in one transaction; returns the rows inserted (the others were
    /// there already).
    pub fn write(&mut self, rows: &[SiteRow]) -> Result<usize, DbError> {
        if rows.is_empty() {
            return Ok(0);
        }
        self.connect()?;
        match self.insert_all(rows) {
            Ok(n) => Ok(n),
            Err(source) => {
                self.client = None;
                self.statements.clear();
                Err(DbError::Write {
                    target: self.target.describe().to_owned(),
                    rows: rows.len(),
                    source,
                })
            }
        }
    }

    fn insert_all(&mut self, rows: &[SiteRow]) -> Result<usize, BoxError> {
        let Some(client) = self.client.as_mut() else {
            return Err("not connected".into());
        };
        let mut by_table: Vec<&SiteRow> = rows.iter().collect();
        by_table.sort_by_key(|r| r.row.table.code);
        let mut tx = client.transaction()?;
        let mut inserted = 0;
        for group in by_table.chunk_by(|a, b| a.row.table.code == b.row.table.code) {
            let table = group[0].row.table;
            for chunk in group.chunks(PARAMS_MAX / (table.columns.len() + 3)) {
                let key = (table.code, chunk.len());
                let stmt = match self.statements.get(&key) {
                    Some(stmt) => stmt.clone(),
                    None => {
                        let stmt = tx.prepare(&insert_sql(table, chunk.len()))?;
                        self.statements.insert(key, stmt.clone());
                        stmt
                    }
                };
                let run_ids: Vec<&str> = chunk.iter().map(|r| &*r.row.run_id).collect();
                let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
                for (r, run_id) in chunk.iter().zip(&run_ids) {
                    params.push(&r.site);
                    params.push(run_id);
                    params.push(&r.row.seq);
                    params.extend(r.row.values.iter().map(|v| v as &(dyn ToSql + Sync)));
                }
                inserted += tx.execute(&stmt, &params)?;
            }
        }
        tx.commit()?;
        Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
    }
}

/// Applies the central migration if it is missing.
fn migrate_central(client: &mut Client) -> Result<(), BoxError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CENTRAL_LOCK_KEY])?;
    let exists: bool = tx
        .query_one(
            &format!("SELECT to_regclass('{CENTRAL_MIGRATIONS_TABLE}') IS NOT NULL"),
            &[],
        )?
        .get(0);
    if !exists {
        tx.batch_execute(&format!(
            "CREATE TABLE {CENTRAL_MIGRATIONS_TABLE} (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ))?;
    }
    let found: i64 = tx
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {CENTRAL_MIGRATIONS_TABLE}"),
            &[],
        )?
        .get(0);
    if found > CENTRAL_SCHEMA_VERSION {
        return Err(format!(
            "central schema version {found} is newer than {CENTRAL_SCHEMA_VERSION}: use a newer build"
        )
        .into());
    }
    if found < 1 {
        tx.batch_execute(&site_column_sql())?;
        tx.execute(
            &format!(
                "INSERT INTO {CENTRAL_MIGRATIONS_TABLE} (version, name) VALUES (1, 'site column')"
            ),
            &[],
        )?;
        log::info!("central database: added the site column");
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_central_insert_keys_on_site() {
        let sql = insert_sql(&LATENCY_SNAPSHOTS, 2);
        let per_row = LATENCY_SNAPSHOTS.columns.len() + 3;
        assert!(sql.starts_with("INSERT INTO latency_snapshots (site, run_id, seq, "));
        assert!(sql.contains(&format!("(${}, ", per_row + 1)), "{sql}");
        assert!(sql.ends_with("ON CONFLICT (site, run_id, seq) DO NOTHING"));
    }

    #[test]
    fn test_site_column_covers_every_row_table() {
        let sql = site_column_sql();
        assert_eq!(row_tables().count(), 9);
        for t in row_tables() {
            assert!(sql.contains(&format!("ALTER TABLE {} ADD COLUMN site", t.name)));
        }
    }
}
