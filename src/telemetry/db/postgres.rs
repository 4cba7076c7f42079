//! The PostgreSQL backend, for several boxes reporting to one database.
//!
//! Owned by the database writer thread (cold path; allocates per batch). A synchronous
//! client (the `postgres` crate, no TLS: reach the server over a private network or a
//! tunnel). The connection is made lazily and remade after any failure; each time it
//! is (re)made the missing [`migrations`] are applied, each in its own transaction with
//! its `schema_migrations` row, under an advisory lock so that two boxes starting
//! together do not race. A batch is one transaction of multi-row
//! `INSERT … ON CONFLICT (run_id, seq) DO NOTHING` statements, prepared once per table
//! and row count and kept for the connection's life.
//!
//! The password comes from `EDGELINE_PG_PASSWORD` (or the URL's own); it is never
//! logged: errors and logs name the server as [`PgTarget::describe`] does.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use crate::telemetry::db::Backend;
use crate::telemetry::db::error::{BoxError, DbError};
use crate::telemetry::db::migrations::{
    Dialect, MIGRATIONS, Migration, SCHEMA_MIGRATIONS_TABLE, SCHEMA_VERSION,
};
use crate::telemetry::db::row::{Row, Value};

/// The environment variable holding the PostgreSQL password.
pub const PASSWORD_ENV: &str = "EDGELINE_PG_PASSWORD";

/// How long a connection attempt may take: short, so an unreachable server sends rows
/// to the spool quickly.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long unacknowledged data may sit on a connection before the kernel drops it: a
/// silent network cut fails the batch after this instead of hanging the writer.
pub const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);

/// PostgreSQL's limit on parameters per statement.
const PARAMS_MAX: usize = 65_535;

/// Key of the advisory lock taken while migrating ("edgeline" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x6564_6765_6c69_6e65;

/// A PostgreSQL server to write to: the parsed URL with the password applied.
#[derive(Clone)]
pub struct PgTarget {
    config: postgres::Config,
    describe: String,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgTarget({})", self.describe)
    }
}

impl PgTarget {
    /// Parses a `postgres://user[:password]@host[:port]/dbname[?options]` URL; a
    /// `password` given here (from [`PASSWORD_ENV`]) replaces the URL's own. The error
    /// never repeats the URL (it may hold a password).
    pub fn from_url(url: &str, password: Option<&str>) -> Result<Self, String> {
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            format!("not a valid PostgreSQL URL ({})", super::error::chain(&e))
        })?;
        if config.get_hosts().is_empty() {
            return Err("the URL names no host".into());
        }
        match config.get_ssl_mode() {
            postgres::config::SslMode::Disable | postgres::config::SslMode::Prefer => {}
            _ => {
                return Err(
                    "sslmode: edgeline has no TLS for PostgreSQL yet, so only sslmode=disable or sslmode=prefer (which then connects without TLS) can work; reach the server over a private network or a tunnel".into(),
                );
            }
        }
        if let Some(password) = password {
            config.password(password);
        }
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_user_timeout(TCP_USER_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("edgeline");
        }
        let describe = describe(&config);
        Ok(Self { config, describe })
    }

    /// `postgres://user@host:port/dbname`, without the password.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// The parsed configuration (password included; its `Debug` hides it).
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }
}

fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// The PostgreSQL writer.
pub struct PgDb {
    target: PgTarget,
    client: Option<Client>,
    statements: HashMap<(u8, usize), Statement>,
    rows: u64,
}

impl PgDb {
    /// A writer for `target`; connects (and migrates) now. An unreachable server is not
    /// an error here (it is logged; rows spool until it is reachable); a schema the
    /// server refuses or a newer schema is.
    pub fn open(target: PgTarget) -> Result<Self, DbError> {
        let mut db = Self {
            target,
            client: None,
            statements: HashMap::new(),
            rows: 0,
        };
        match db.connect() {
            Ok(()) => Ok(db),
            Err(err @ DbError::Open { .. }) => {
                log::warn!("{err}; rows wait in the spool until it is reachable");
                Ok(db)
            }
            Err(err) => Err(err),
        }
    }

    /// Rows inserted through this writer (duplicates not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Connects if not connected, and applies missing migrations.
    fn connect(&mut self) -> Result<(), DbError> {
        if self.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        self.client = None;
        self.statements.clear();
        let target = self.target.describe.clone();
        let mut client = self
            .target
            .config
            .connect(NoTls)
            .map_err(|e| DbError::Open {
                target: target.clone(),
                source: e.into(),
            })?;
        migrate(&mut client, &target)?;
        log::info!("connected to {target}");
        self.client = Some(client);
        Ok(())
    }

    fn insert_all(&mut self, rows: &[Row]) -> Result<usize, BoxError> {
        let Some(client) = self.client.as_mut() else {
            return Err("not connected".into());
        };
        let mut tx = client.transaction()?;
        let mut inserted = 0;
        for group in rows.chunk_by(|a, b| a.table.code == b.table.code) {
            let table = group[0].table;
            let per_stmt = PARAMS_MAX / (table.columns.len() + 2);
            for chunk in group.chunks(per_stmt) {
                let key = (table.code, chunk.len());
                let stmt = match self.statements.get(&key) {
                    Some(stmt) => stmt.clone(),
                    None => {
                        let sql = table.insert_sql(chunk.len(), Dialect::Postgres);
                        let stmt = tx.prepare(&sql)?;
                        self.statements.insert(key, stmt.clone());
                        stmt
                    }
                };
                let run_ids: Vec<&str> = chunk.iter().map(|row| &*row.run_id).collect();
                let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
                for (row, run_id) in chunk.iter().zip(&run_ids) {
                    params.push(run_id);
                    params.push(&row.seq);
                    params.extend(row.values.iter().map(|v| v as &(dyn ToSql + Sync)));
                }
                inserted += tx.execute(&stmt, &params)?;
            }
        }
        tx.commit()?;
        Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
    }
}

impl Backend for PgDb {
    fn write(&mut self, rows: &[Row]) -> Result<usize, DbError> {
        if rows.is_empty() {
            return Ok(0);
        }
        self.connect()?;
        match self.insert_all(rows) {
            Ok(inserted) => {
                self.rows += inserted as u64;
                Ok(inserted)
            }
            Err(source) => {
                // NB: the connection may be half-broken; a fresh one is cheap next time.
                self.client = None;
                self.statements.clear();
                Err(DbError::Write {
                    target: self.target.describe.clone(),
                    rows: rows.len(),
                    source,
                })
            }
        }
    }

    fn target(&self) -> &str {
        &self.target.describe
    }
}

/// Applies every migration missing from `schema_migrations`.
pub(crate) fn migrate(client: &mut Client, target: &str) -> Result<(), DbError> {
    let read_err = |source: BoxError| DbError::Read {
        target: target.to_owned(),
        source,
    };
    let found = bootstrap(client).map_err(read_err)?;
    if found > SCHEMA_VERSION {
        return Err(DbError::TooNew {
            target: target.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        let applied = apply(client, m).map_err(|source| DbError::Migrate {
            target: target.to_owned(),
            version: m.version,
            source,
        })?;
        if applied {
            log::info!("{target}: migrated to schema version {}", m.version);
        }
    }
    Ok(())
}

/// Creates `schema_migrations` if missing; returns the latest applied version.
fn bootstrap(client: &mut Client) -> Result<i64, BoxError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])?;
    // NB: checked first, as `CREATE TABLE IF NOT EXISTS` sends a NOTICE (logged by the
    // client) when the table exists.
    let exists: bool = tx
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        tx.batch_execute(&Dialect::Postgres.render(SCHEMA_MIGRATIONS_TABLE))?;
    }
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0);
    tx.commit()?;
    Ok(found)
}

/// Applies `m` unless another writer did meanwhile; returns whether it ran.
fn apply(client: &mut Client, m: &Migration) -> Result<bool, BoxError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])?;
    let done = tx
        .query_opt(
            "SELECT 1 FROM schema_migrations WHERE version = $1",
            &[&m.version],
        )?
        .is_some();
    if done {
        return Ok(false);
    }
    tx.batch_execute(&m.sql(Dialect::Postgres))?;
    tx.execute(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
        &[&m.version, &m.name],
    )?;
    tx.commit()?;
    Ok(true)
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql_checked(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql_checked(ty, out),
                _ => v.to_sql_checked(ty, out),
            },
            Value::Real(v) => v.to_sql_checked(ty, out),
            Value::Bool(v) => v.to_sql_checked(ty, out),
            Value::Text(s) => s.as_str().to_sql_checked(ty, out),
            Value::Time(ns) => {
                let at = UNIX_EPOCH + Duration::from_nanos(u64::try_from(*ns).unwrap_or(0));
                at.to_sql_checked(ty, out)
            }
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::FLOAT8
                | Type::BOOL
                | Type::TEXT
                | Type::VARCHAR
                | Type::TIMESTAMPTZ
                | Type::TIMESTAMP
        )
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_pg_target_hides_password() {
        let t = PgTarget::from_url("postgres://bob:hunter2@db.example:6543/edge", None).unwrap();
        assert_eq!(t.describe(), "postgres://bob@db.example:6543/edge");
        assert!(!format!("{t:?}").contains("hunter2"));
        assert_eq!(t.config().get_password(), Some(&b"hunter2"[..]));
        let t = PgTarget::from_url("postgres://bob:url@h/d", Some("env")).unwrap();
        assert_eq!(t.config().get_password(), Some(&b"env"[..]));
        let err = PgTarget::from_url("postgres://bob:s3cret@h:notaport/d", None).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
