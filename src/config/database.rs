//! Resolves `[database]` (and the older `[telemetry] db_batch_rows` /
//! `db_flush_interval_ms` keys, still accepted) into [`DatabaseSettings`]. Cold path.
//! Reads the PostgreSQL password from the environment ([`PASSWORD_ENV`]), never from
//! the file.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigError;
use crate::config::raw::{RawDatabase, RawTelemetry};
use crate::telemetry::db::deadline::WRITE_TIMEOUT_DEFAULT;
use crate::telemetry::db::postgres::{PASSWORD_ENV, PgTarget};
use crate::telemetry::db::spool::SPOOL_MAX_BYTES_DEFAULT;
use crate::telemetry::db::{
    BATCH_ROWS_DEFAULT, BATCH_ROWS_MAX, DatabaseSettings, DbTarget, FLUSH_INTERVAL_DEFAULT,
};

/// Longest accepted flush interval: rows should not wait longer than this to be written.
pub const FLUSH_INTERVAL_MS_MAX: u64 = 60_000;

/// Smallest accepted spool bound (a few segments' worth of rows).
pub const SPOOL_MAX_BYTES_MIN: u64 = 1 << 20;

/// Accepted `write_timeout_ms`: long enough for a batch over a slow link, short
/// enough that rows reach the spool before the queue to the writer fills.
pub const WRITE_TIMEOUT_MS_RANGE: std::ops::RangeInclusive<u64> = 100..=60_000;

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Validates `[database]`; `telemetry` may carry the two keys it had before.
pub fn resolve_database(
    raw: RawDatabase,
    telemetry: &RawTelemetry,
) -> Result<DatabaseSettings, ConfigError> {
    let batch_rows = moved(
        raw.batch_rows,
        telemetry.db_batch_rows,
        "batch_rows",
        "db_batch_rows",
    )?;
    let flush_ms = moved(
        raw.flush_interval_ms,
        telemetry.db_flush_interval_ms,
        "flush_interval_ms",
        "db_flush_interval_ms",
    )?;
    let batch_rows = batch_rows.unwrap_or(BATCH_ROWS_DEFAULT);
    if !(1..=BATCH_ROWS_MAX).contains(&batch_rows) {
        return Err(invalid(
            "database.batch_rows",
            format!("{batch_rows} is not between 1 and {BATCH_ROWS_MAX}"),
        ));
    }
    let flush_interval = match flush_ms {
        None => FLUSH_INTERVAL_DEFAULT,
        Some(ms) if (1..=FLUSH_INTERVAL_MS_MAX).contains(&ms) => Duration::from_millis(ms),
        Some(ms) => {
            return Err(invalid(
                "database.flush_interval_ms",
                format!("{ms} is not between 1 and {FLUSH_INTERVAL_MS_MAX}"),
            ));
        }
    };
    let spool_max_bytes = raw.spool_max_bytes.unwrap_or(SPOOL_MAX_BYTES_DEFAULT);
    if spool_max_bytes < SPOOL_MAX_BYTES_MIN {
        return Err(invalid(
            "database.spool_max_bytes",
            format!("{spool_max_bytes} is under the minimum of {SPOOL_MAX_BYTES_MIN} (1 MiB)"),
        ));
    }
    let write_timeout = match raw.write_timeout_ms {
        None => WRITE_TIMEOUT_DEFAULT,
        Some(ms) if WRITE_TIMEOUT_MS_RANGE.contains(&ms) => Duration::from_millis(ms),
        Some(ms) => {
            return Err(invalid(
                "database.write_timeout_ms",
                format!(
                    "{ms} is not between {} and {}",
                    WRITE_TIMEOUT_MS_RANGE.start(),
                    WRITE_TIMEOUT_MS_RANGE.end()
                ),
            ));
        }
    };
    let spool_dir = match raw.spool_dir.as_deref() {
        Some("") => return Err(invalid("database.spool_dir", "must not be empty")),
        other => other.map(PathBuf::from),
    };
    Ok(DatabaseSettings {
        target: resolve_url(raw.url.as_deref())?,
        batch_rows,
        flush_interval,
        spool_dir,
        spool_max_bytes,
        write_timeout,
    })
}

/// A key that moved from `[telemetry]` to `[database]`: either place, not both.
fn moved<T>(
    new: Option<T>,
    old: Option<T>,
    new_key: &str,
    old_key: &str,
) -> Result<Option<T>, ConfigError> {
    match (new, old) {
        (Some(_), Some(_)) => Err(invalid(
            &format!("telemetry.{old_key}"),
            format!("set only database.{new_key} (telemetry.{old_key} is its old name)"),
        )),
        (None, Some(value)) => {
            log::warn!("config: telemetry.{old_key} is now database.{new_key}; please rename it");
            Ok(Some(value))
        }
        (new, None) => Ok(new),
    }
}

/// `postgres://…` or `postgresql://…`: PostgreSQL; anything else without a scheme: a
/// SQLite file; absent: SQLite in the output directory.
fn resolve_url(url: Option<&str>) -> Result<DbTarget, ConfigError> {
    let key = "database.url";
    let Some(url) = url else {
        return Ok(DbTarget::Sqlite(None));
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let password = std::env::var(PASSWORD_ENV).ok();
        let target = PgTarget::from_url(url, password.as_deref()).map_err(|e| invalid(key, e))?;
        return Ok(DbTarget::Postgres(Box::new(target)));
    }
    if url.is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(invalid(
            key,
            format!("unsupported scheme `{scheme}` (postgres:// or a SQLite file path)"),
        ));
    }
    Ok(DbTarget::Sqlite(Some(PathBuf::from(url))))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn resolve(database: &str, telemetry: &str) -> Result<DatabaseSettings, String> {
        let db: RawDatabase = toml::from_str(database).unwrap();
        let tel: RawTelemetry = toml::from_str(telemetry).unwrap();
        resolve_database(db, &tel).map_err(|e| e.to_string())
    }

    #[test]
    fn test_database_defaults_to_sqlite_in_output_dir() {
        let s = resolve("", "").unwrap();
        assert!(matches!(s.target, DbTarget::Sqlite(None)));
        assert_eq!(s.batch_rows, BATCH_ROWS_DEFAULT);
        assert_eq!(s.flush_interval, FLUSH_INTERVAL_DEFAULT);
        assert_eq!(s.spool_max_bytes, SPOOL_MAX_BYTES_DEFAULT);
        assert_eq!(s.spool_dir, None);
        assert_eq!(s.write_timeout, WRITE_TIMEOUT_DEFAULT);
        let s = resolve("write_timeout_ms = 250", "").unwrap();
        assert_eq!(s.write_timeout, Duration::from_millis(250));
    }

    #[test]
    fn test_database_accepts_postgres_and_paths() {
        let s = resolve("url = \"postgres://edge@db.internal:5433/ticks\"", "").unwrap();
        let DbTarget::Postgres(pg) = s.target else {
            panic!("not postgres")
        };
        assert_eq!(pg.describe(), "postgres://edge@db.internal:5433/ticks");
        let s = resolve(
            "url = \"/var/lib/edge.sqlite\"\nspool_dir = \"/var/spool/e\"",
            "",
        )
        .unwrap();
        assert!(
            matches!(s.target, DbTarget::Sqlite(Some(p)) if p == Path::new("/var/lib/edge.sqlite"))
        );
        assert_eq!(s.spool_dir, Some(PathBuf::from("/var/spool/e")));
    }

    #[test]
    fn test_database_old_telemetry_keys_still_work() {
        let s = resolve("", "db_batch_rows = 64\ndb_flush_interval_ms = 20").unwrap();
        assert_eq!((s.batch_rows, s.flush_interval.as_millis()), (64, 20));
        let e = resolve("batch_rows = 8", "db_batch_rows = 64").unwrap_err();
        assert!(
            e.contains("telemetry.db_batch_rows") && e.contains("database.batch_rows"),
            "{e}"
        );
    }

    #[test]
    fn test_database_bad_values_name_the_key() {
        let cases = [
            ("batch_rows = 0", "database.batch_rows"),
            ("batch_rows = 1000000", "database.batch_rows"),
            ("flush_interval_ms = 0", "database.flush_interval_ms"),
            ("spool_max_bytes = 1000", "database.spool_max_bytes"),
            ("spool_dir = \"\"", "database.spool_dir"),
            ("write_timeout_ms = 5", "database.write_timeout_ms"),
            ("url = \"mysql://x/y\"", "database.url"),
            ("url = \"postgres://u:pw@h:port/d\"", "database.url"),
            ("url = \"postgres://u@h/d?sslmode=require\"", "database.url"),
            ("url = \"\"", "database.url"),
        ];
        for (text, key) in cases {
            let e = resolve(text, "").unwrap_err();
            assert!(e.contains(key), "{text}: {e}");
            assert!(!e.contains(":pw@"), "{text}: {e}");
        }
    }
}
