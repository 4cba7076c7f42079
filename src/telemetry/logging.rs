//! The process's logger: `env_logger` (filtered by `RUST_LOG`, `info` by default) behind
//! a seam that removes secrets from every record, whatever its level or module. The
//! secrets are the Telegram bot token ([`TOKEN_ENV`]) and the PostgreSQL password
//! ([`PASSWORD_ENV`]), read from the environment once at start. NB: the HTTP client
//! (ureq) logs every request's full URL at `debug`/`trace`, and the Bot API puts the
//! token in the path, so redacting in our own messages alone is not enough.
//!
//! Cold path: runs on whichever thread logs; formats a record only when it is enabled,
//! and allocates a second string only for a record that holds a secret.

use log::{Log, Metadata, Record};

use crate::telemetry::db::postgres::PASSWORD_ENV;
use crate::telemetry::telegram::bot::TOKEN_ENV;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Shortest value treated as a secret: a shorter one would redact ordinary words.
const SECRET_CHARS_MIN: usize = 6;

/// `env_logger` with every secret taken out of each message.
pub struct RedactingLogger {
    inner: env_logger::Logger,
    secrets: Vec<String>,
}

impl RedactingLogger {
    /// Wraps `inner`; `secrets` shorter than [`SECRET_CHARS_MIN`] are ignored. Each
    /// secret is also redacted percent-encoded (as it appears in a URL).
    pub fn new(inner: env_logger::Logger, secrets: impl IntoIterator<Item = String>) -> Self {
        let mut all = Vec::new();
        for secret in secrets {
            if secret.chars().count() < SECRET_CHARS_MIN {
                continue;
            }
            let encoded = percent_encoded(&secret);
            if encoded != secret {
                all.push(encoded);
            }
            all.push(secret);
        }
        // Longest first, so a secret inside another is not left half-redacted.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self {
            inner,
            secrets: all,
        }
    }

    /// `text` with every secret replaced by [`REDACTED`]; `None` when it holds none.
    pub fn redact(&self, text: &str) -> Option<String> {
        if !self.secrets.iter().any(|s| text.contains(s.as_str())) {
            return None;
        }
        let mut out = text.to_owned();
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), REDACTED);
        }
        Some(out)
    }
}

impl Log for RedactingLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.inner.matches(record) {
            return;
        }
        let text = record.args().to_string();
        match self.redact(&text) {
            None => self.inner.log(record),
            Some(clean) => self.inner.log(
                &Record::builder()
                    .args(format_args!("{clean}"))
                    .metadata(record.metadata().clone())
                    .module_path(record.module_path())
                    .file(record.file())
                    .line(record.line())
                    .build(),
            ),
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Installs the redacting logger as the process's logger, with the secrets found in
/// the environment now.
pub fn init() -> Result<(), log::SetLoggerError> {
    let inner =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).build();
    let max = inner.filter();
    let secrets = [TOKEN_ENV, PASSWORD_ENV]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok());
    log::set_boxed_logger(Box::new(RedactingLogger::new(inner, secrets)))?;
    log::set_max_level(max);
    Ok(())
}

/// `s` with every byte outside the URL-unreserved set percent-encoded (upper case).
fn percent_encoded(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(secrets: &[&str]) -> RedactingLogger {
        let inner = env_logger::Builder::new().build();
        RedactingLogger::new(inner, secrets.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn test_logging_redacts_plain_and_percent_encoded_secrets() {
        let l = logger(&["123456:ABC-def", "pw"]);
        assert_eq!(
            l.redact("GET http://x/bot123456:ABC-def/getUpdates")
                .as_deref(),
            Some("GET http://x/bot<redacted>/getUpdates")
        );
        assert_eq!(
            l.redact("GET /bot123456%3AABC-def/sendMessage").as_deref(),
            Some("GET /bot<redacted>/sendMessage")
        );
        assert_eq!(l.redact("a pw too short to be one"), None);
        assert_eq!(l.redact("nothing here"), None);
    }
}
