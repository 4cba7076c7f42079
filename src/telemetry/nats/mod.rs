//! Telemetry over NATS JetStream: an engine publishes every row it writes to its own
//! database (latency snapshots, interval histograms included) to one JetStream stream,
//! and `edgeline collect` consumes that stream into one PostgreSQL database.
//!
//! Cold path only. The client is the official `async-nats` crate, run on a tokio
//! runtime owned by the NATS writer thread ([`publisher`]) or by the collector
//! process ([`collect`]); nothing on the hot path links to it or waits on it.
//!
//! Subject scheme (every token checked at configuration time):
//!
//! ```text
//! <prefix>.tele.<site>.<venue>.<kind>
//! ```
//!
//! `prefix` is `[nats] subject_prefix` (default `edgeline`), `site` is `[nats] site`,
//! `venue` the row's first venue column (`venue`, `buy_venue`, `filled_venue`,
//! `long_venue`, lowercased) or `all` for rows of no one venue (rejection counts,
//! portfolio and latency snapshots), and `kind` the table name (`opportunities`,
//! `fills`, `latency_snapshots`, …). The stream (`[nats] stream`) takes
//! `<prefix>.tele.>`; a consumer can filter any level, e.g. `edgeline.tele.*.okx.>`.
//!
//! Each message is one row in the spool's self-checking encoding
//! ([`crate::telemetry::db::spool::encode_message`]) with the JetStream message id
//! (`Nats-Msg-Id`) `<run_id>:<seq>`, so the broker drops a re-publish of a row it
//! already stored within the stream's duplicate window
//! ([`DUPLICATE_WINDOW_DEFAULT`], `[nats] duplicate_window_secs`); the collector's
//! `ON CONFLICT (site, run_id, seq) DO NOTHING` covers re-publishes past it.

pub mod central;
pub mod collect;
pub mod publisher;

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};

use crate::telemetry::db::row::{Row, Value};

/// Environment variable with a NATS token (never in the file).
pub const TOKEN_ENV: &str = "EDGELINE_NATS_TOKEN";
/// Environment variable with a NATS user (with [`PASSWORD_ENV`]).
pub const USER_ENV: &str = "EDGELINE_NATS_USER";
/// Environment variable with a NATS password (with [`USER_ENV`]).
pub const PASSWORD_ENV: &str = "EDGELINE_NATS_PASSWORD";

/// Default broker.
pub const URL_DEFAULT: &str = "nats://127.0.0.1:4222";
/// Default subject prefix.
pub const SUBJECT_PREFIX_DEFAULT: &str = "edgeline";
/// Default stream name.
pub const STREAM_DEFAULT: &str = "EDGELINE_TELEMETRY";
/// Default duplicate window: 10 minutes. A row re-published within it (a batch whose
/// acks were lost, replayed from the spool) is dropped by the broker; one re-published
/// later (an outage longer than this with rows already stored before it) reaches the
/// collector twice and is dropped there by its row key.
pub const DUPLICATE_WINDOW_DEFAULT: Duration = Duration::from_secs(600);
/// Default bound on one batch's publish (all its acks): a broker that does not answer
/// within it sends the batch to the spool.
pub const PUBLISH_TIMEOUT_DEFAULT: Duration = Duration::from_secs(2);
/// Longest wait between two reconnection attempts.
pub const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(1);
/// Name of the NATS spool directory in the output directory.
pub const SPOOL_DIR_NAME: &str = "nats-spool";

/// Credentials, from the environment only.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No authentication.
    None,
    /// A token ([`TOKEN_ENV`]).
    Token(String),
    /// User and password ([`USER_ENV`], [`PASSWORD_ENV`]).
    UserPassword(String, String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::None => "None",
            Credentials::Token(_) => "Token(…)",
            Credentials::UserPassword(..) => "UserPassword(…)",
        })
    }
}

impl Credentials {
    /// Reads [`TOKEN_ENV`], or [`USER_ENV`] with [`PASSWORD_ENV`].
    pub fn from_env() -> Self {
        let get = |k| std::env::var(k).ok().filter(|v: &String| !v.is_empty());
        match (get(TOKEN_ENV), get(USER_ENV), get(PASSWORD_ENV)) {
            (Some(token), _, _) => Credentials::Token(token),
            (None, Some(user), Some(pass)) => Credentials::UserPassword(user, pass),
            _ => Credentials::None,
        }
    }
}

/// The resolved `[nats]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct NatsSettings {
    /// Whether this engine publishes (the collector reads the section either way).
    pub enabled: bool,
    /// `nats://host:port` (no credentials in it).
    pub url: String,
    /// This engine's site: one subject token. Required when `enabled`.
    pub site: Option<String>,
    /// First subject token(s).
    pub subject_prefix: String,
    /// The JetStream stream.
    pub stream: String,
    /// The stream's duplicate window.
    pub duplicate_window: Duration,
    /// Bound on one batch's publish.
    pub publish_timeout: Duration,
    /// Spool directory (`None`: [`SPOOL_DIR_NAME`] in the output directory).
    pub spool_dir: Option<PathBuf>,
    /// Spool bound in bytes.
    pub spool_max_bytes: u64,
    /// Credentials (environment only).
    pub credentials: Credentials,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            url: URL_DEFAULT.to_owned(),
            site: None,
            subject_prefix: SUBJECT_PREFIX_DEFAULT.to_owned(),
            stream: STREAM_DEFAULT.to_owned(),
            duplicate_window: DUPLICATE_WINDOW_DEFAULT,
            publish_timeout: PUBLISH_TIMEOUT_DEFAULT,
            spool_dir: None,
            spool_max_bytes: crate::telemetry::db::spool::SPOOL_MAX_BYTES_DEFAULT,
            credentials: Credentials::None,
        }
    }
}

impl NatsSettings {
    /// The stream's subjects filter: `<prefix>.tele.>`.
    pub fn stream_subjects(&self) -> String {
        format!("{}.tele.>", self.subject_prefix)
    }

    /// The stream as engines and collectors ensure it: file storage, the duplicate
    /// window, no size or age limit (the operator sets those on the broker).
    pub fn stream_config(&self) -> StreamConfig {
        StreamConfig {
            name: self.stream.clone(),
            subjects: vec![self.stream_subjects()],
            storage: StorageType::File,
            duplicate_window: self.duplicate_window,
            ..StreamConfig::default()
        }
    }

    /// The spool directory.
    pub fn spool_dir(&self, output_dir: &std::path::Path) -> PathBuf {
        self.spool_dir
            .clone()
            .unwrap_or_else(|| output_dir.join(SPOOL_DIR_NAME))
    }

    /// Connection options: credentials, retrying the first connection in the background
    /// (an engine starts while the broker is away), reconnecting forever at most
    /// [`RECONNECT_DELAY_MAX`] apart.
    pub fn connect_options(&self) -> async_nats::ConnectOptions {
        let opts = async_nats::ConnectOptions::new()
            .name("edgeline")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2))
            .reconnect_delay_callback(|attempts| {
                let ms = 50u64.saturating_mul(attempts as u64);
                Duration::from_millis(ms).min(RECONNECT_DELAY_MAX)
            });
        match &self.credentials {
            Credentials::None => opts,
            Credentials::Token(token) => opts.token(token.clone()),
            Credentials::UserPassword(user, pass) => {
                opts.user_and_password(user.clone(), pass.clone())
            }
        }
    }
}

/// Whether `token` is one NATS subject token: 1 to 64 of `A-Z a-z 0-9 _ -`.
pub fn is_subject_token(token: &str) -> bool {
    (1..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The row's venue for its subject: its first `venue` / `*_venue` text column,
/// lowercased, characters outside a subject token replaced by `_`; `all` when none.
pub fn row_venue(row: &Row) -> String {
    let venue = row
        .table
        .columns
        .iter()
        .zip(&row.values)
        .find(|(c, _)| **c == "venue" || c.ends_with("_venue"))
        .and_then(|(_, v)| match v {
            Value::Text(s) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        });
    match venue {
        Some(v) => v
            .chars()
            .take(64)
            .map(|c| match c {
                'a'..='z' | '0'..='9' | '_' | '-' => c,
                'A'..='Z' => c.to_ascii_lowercase(),
                _ => '_',
            })
            .collect(),
        None => "all".to_owned(),
    }
}

/// `<prefix>.tele.<site>.<venue>.<kind>` for `row`.
pub fn subject(prefix: &str, site: &str, row: &Row) -> String {
    format!("{prefix}.tele.{site}.{}.{}", row_venue(row), row.table.name)
}

/// `<run_id>:<seq>`: the row's JetStream message id.
pub fn message_id(row: &Row) -> String {
    format!("{}:{}", row.run_id, row.seq)
}

/// The site token of a telemetry subject under `prefix`, when it is one.
pub fn site_of_subject<'a>(prefix: &str, subject: &'a str) -> Option<&'a str> {
    let rest = subject.strip_prefix(prefix)?.strip_prefix(".tele.")?;
    let mut parts = rest.split('.');
    let site = parts.next()?;
    let (_venue, _kind) = (parts.next()?, parts.next()?);
    (parts.next().is_none() && is_subject_token(site)).then_some(site)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::db::record::fixtures::opportunity_rows;
    use crate::telemetry::db::row::RowKeys;

    #[test]
    fn test_subject_names_site_venue_and_kind() {
        let row = &opportunity_rows(&mut RowKeys::new(0xab, 3), 1)[0];
        let s = subject("edgeline", "tokyo", row);
        assert_eq!(s, "edgeline.tele.tokyo.binance.opportunities");
        assert_eq!(site_of_subject("edgeline", &s), Some("tokyo"));
        assert_eq!(message_id(row), "00000000000000ab-3:0");
        assert_eq!(site_of_subject("other", &s), None);
        assert_eq!(site_of_subject("edgeline", "edgeline.tele.x.y"), None);
        assert_eq!(site_of_subject("edgeline", "edgeline.tele.x.y.z.w"), None);
    }

    #[test]
    fn test_rows_of_no_venue_go_to_all() {
        use crate::telemetry::db::latency_snapshot::LATENCY_SNAPSHOTS;
        let mut keys = RowKeys::new(1, 1);
        let values = vec![Value::Null; LATENCY_SNAPSHOTS.columns.len()];
        let row = keys.row(&LATENCY_SNAPSHOTS, values);
        assert_eq!(row_venue(&row), "all");
    }

    #[test]
    fn test_subject_tokens() {
        assert!(is_subject_token("tokyo-1_a"));
        for bad in ["", "a.b", "a*", ">", "a b", &"x".repeat(65)] {
            assert!(!is_subject_token(bad), "{bad}");
        }
    }

    #[test]
    fn test_credentials_never_show_in_debug() {
        let c = Credentials::UserPassword("u".into(), "hunter2".into());
        assert!(!format!("{c:?}").contains("hunter2"));
        let s = NatsSettings {
            credentials: Credentials::Token("s3cret".into()),
            ..NatsSettings::default()
        };
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
