//! `[nats]`: telemetry over NATS JetStream ([`crate::telemetry::nats`]). Resolves the
//! raw section into [`NatsSettings`], naming the key of every bad value. Credentials
//! come from the environment only ([`Credentials::from_env`]); a URL carrying them is
//! refused without being echoed. Cold path.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::config::database::SPOOL_MAX_BYTES_MIN;
use crate::telemetry::nats::{
    Credentials, DUPLICATE_WINDOW_DEFAULT, NatsSettings, PUBLISH_TIMEOUT_DEFAULT, STREAM_DEFAULT,
    SUBJECT_PREFIX_DEFAULT, URL_DEFAULT, is_subject_token,
};

/// Accepted `duplicate_window_secs`: at least the 10 s a short outage takes, at most a
/// day (the broker keeps every message id of the window in memory).
pub const DUPLICATE_WINDOW_SECS_RANGE: std::ops::RangeInclusive<u64> = 10..=86_400;

/// Accepted `publish_timeout_ms`.
pub const PUBLISH_TIMEOUT_MS_RANGE: std::ops::RangeInclusive<u64> = 100..=60_000;

/// `[nats]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNats {
    /// Publish telemetry (default false).
    pub enabled: Option<bool>,
    /// `nats://host:port` (default `nats://127.0.0.1:4222`); credentials from
    /// `EDGELINE_NATS_TOKEN` or `EDGELINE_NATS_USER` + `EDGELINE_NATS_PASSWORD`.
    pub url: Option<String>,
    /// This engine's site, one subject token (`tokyo`, `sg-1`); required when enabled.
    pub site: Option<String>,
    /// Subject prefix, dot-separated tokens (default `edgeline`).
    pub subject_prefix: Option<String>,
    /// JetStream stream name (default `EDGELINE_TELEMETRY`).
    pub stream: Option<String>,
    /// The stream's duplicate window, seconds (default 600).
    pub duplicate_window_secs: Option<u64>,
    /// Longest a batch's acks may take before it is spooled, ms (default 2000).
    pub publish_timeout_ms: Option<u64>,
    /// Where rows wait while the broker is away (default `nats-spool/` in the output
    /// folder).
    pub spool_dir: Option<String>,
    /// Spool bound in bytes (default 1 GiB, at least 1 MiB).
    pub spool_max_bytes: Option<u64>,
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: format!("nats.{key}"),
        reason: reason.into(),
    }
}

/// Validates `[nats]`.
pub fn resolve_nats(raw: RawNats) -> Result<NatsSettings, ConfigError> {
    let url = raw.url.unwrap_or_else(|| URL_DEFAULT.to_owned());
    let Some(rest) = url.strip_prefix("nats://") else {
        return Err(invalid("url", "must start with nats://"));
    };
    if rest.contains('@') {
        return Err(invalid(
            "url",
            "must not carry credentials: set EDGELINE_NATS_TOKEN, or EDGELINE_NATS_USER and EDGELINE_NATS_PASSWORD",
        ));
    }
    if rest.is_empty() || rest.contains(['/', '?', ' ']) {
        return Err(invalid("url", format!("`{url}` is not nats://host:port")));
    }
    let enabled = raw.enabled.unwrap_or(false);
    let site = raw.site;
    match &site {
        Some(s) if !is_subject_token(s) => {
            return Err(invalid(
                "site",
                format!("`{s}`: 1 to 64 of A-Z a-z 0-9 _ -"),
            ));
        }
        None if enabled => return Err(invalid("site", "required when enabled")),
        _ => {}
    }
    let subject_prefix = raw
        .subject_prefix
        .unwrap_or_else(|| SUBJECT_PREFIX_DEFAULT.to_owned());
    if !subject_prefix.split('.').all(is_subject_token) {
        return Err(invalid(
            "subject_prefix",
            format!("`{subject_prefix}`: dot-separated tokens of A-Z a-z 0-9 _ -"),
        ));
    }
    let stream = raw.stream.unwrap_or_else(|| STREAM_DEFAULT.to_owned());
    if !is_subject_token(&stream) {
        return Err(invalid(
            "stream",
            format!("`{stream}`: 1 to 64 of A-Z a-z 0-9 _ -"),
        ));
    }
    let duplicate_window = match raw.duplicate_window_secs {
        None => DUPLICATE_WINDOW_DEFAULT,
        Some(s) if DUPLICATE_WINDOW_SECS_RANGE.contains(&s) => Duration::from_secs(s),
        Some(s) => {
            return Err(invalid(
                "duplicate_window_secs",
                format!("{s} is not between 10 and 86400"),
            ));
        }
    };
    let publish_timeout = match raw.publish_timeout_ms {
        None => PUBLISH_TIMEOUT_DEFAULT,
        Some(ms) if PUBLISH_TIMEOUT_MS_RANGE.contains(&ms) => Duration::from_millis(ms),
        Some(ms) => {
            return Err(invalid(
                "publish_timeout_ms",
                format!("{ms} is not between 100 and 60000"),
            ));
        }
    };
    let spool_max_bytes = raw
        .spool_max_bytes
        .unwrap_or(crate::telemetry::db::spool::SPOOL_MAX_BYTES_DEFAULT);
    if spool_max_bytes < SPOOL_MAX_BYTES_MIN {
        return Err(invalid(
            "spool_max_bytes",
            format!("{spool_max_bytes} is under the minimum of {SPOOL_MAX_BYTES_MIN} (1 MiB)"),
        ));
    }
    let spool_dir = match raw.spool_dir.as_deref() {
        Some("") => return Err(invalid("spool_dir", "must not be empty")),
        other => other.map(PathBuf::from),
    };
    Ok(NatsSettings {
        enabled,
        url,
        site,
        subject_prefix,
        stream,
        duplicate_window,
        publish_timeout,
        spool_dir,
        spool_max_bytes,
        credentials: Credentials::from_env(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<NatsSettings, String> {
        let raw: RawNats = toml::from_str(text).map_err(|e| e.to_string())?;
        resolve_nats(raw).map_err(|e| e.to_string())
    }

    #[test]
    fn test_nats_defaults_are_off_on_loopback() {
        let s = resolve("").unwrap();
        assert!(!s.enabled);
        assert_eq!(s.url, "nats://127.0.0.1:4222");
        assert_eq!(s.stream_subjects(), "edgeline.tele.>");
        assert_eq!(s.duplicate_window, DUPLICATE_WINDOW_DEFAULT);
        let s =
            resolve("enabled = true\nsite = \"tokyo\"\nsubject_prefix = \"acme.prod\"").unwrap();
        assert_eq!(
            (s.site.as_deref(), s.stream_subjects().as_str()),
            (Some("tokyo"), "acme.prod.tele.>")
        );
    }

    #[test]
    fn test_nats_bad_values_name_the_key_and_hide_secrets() {
        let cases = [
            ("enabled = true", "nats.site"),
            ("site = \"a.b\"", "nats.site"),
            ("url = \"http://x\"", "nats.url"),
            ("url = \"nats://bob:hunter2@h:4222\"", "nats.url"),
            ("subject_prefix = \"a..b\"", "nats.subject_prefix"),
            ("stream = \"A.B\"", "nats.stream"),
            ("duplicate_window_secs = 1", "nats.duplicate_window_secs"),
            ("publish_timeout_ms = 5", "nats.publish_timeout_ms"),
            ("spool_max_bytes = 10", "nats.spool_max_bytes"),
            ("spool_dir = \"\"", "nats.spool_dir"),
        ];
        for (text, key) in cases {
            let e = resolve(text).unwrap_err();
            assert!(e.contains(key), "{text}: {e}");
            assert!(!e.contains("hunter2"), "{text}: {e}");
        }
    }
}
