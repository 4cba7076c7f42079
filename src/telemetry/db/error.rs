//! The database error type, shared by both backends. Cold path.

use std::error::Error;

/// Any backend's error, boxed.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// What can go wrong with the database. Each variant names the target (the SQLite file
/// or the PostgreSQL server, never with its password) and the operation.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be opened or reached: check the path, or that the server
    /// runs and accepts the configured user.
    #[error("opening database {target}: {}", chain(source.as_ref()))]
    Open {
        /// The file or server.
        target: String,
        /// The backend's error.
        source: BoxError,
    },
    /// A connection setting (journal mode, synchronous, busy timeout) was refused.
    #[error("configuring database {target} ({setting}): {}", chain(source.as_ref()))]
    Configure {
        /// The file or server.
        target: String,
        /// The setting.
        setting: &'static str,
        /// The backend's error.
        source: BoxError,
    },
    /// A migration failed and was rolled back; the schema is at the previous version.
    #[error("migrating database {target} to schema version {version}: {}", chain(source.as_ref()))]
    Migrate {
        /// The file or server.
        target: String,
        /// The version being migrated to.
        version: i64,
        /// The backend's error.
        source: BoxError,
    },
    /// The database was migrated by a newer build: use that build or another database.
    #[error("database {target} has schema version {found}, newer than {supported}")]
    TooNew {
        /// The file or server.
        target: String,
        /// Its latest applied version.
        found: i64,
        /// The latest this build knows.
        supported: i64,
    },
    /// A batch could not be committed; it was rolled back and may be retried.
    #[error("writing {rows} rows to {target}: {}", chain(source.as_ref()))]
    Write {
        /// The file or server.
        target: String,
        /// Rows in the failed batch.
        rows: usize,
        /// The backend's error.
        source: BoxError,
    },
    /// A read failed.
    #[error("reading database {target}: {}", chain(source.as_ref()))]
    Read {
        /// The file or server.
        target: String,
        /// The backend's error.
        source: BoxError,
    },
}

/// `error: its source: its source …`, without repeating a message its source repeats.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}
