//! Resolves `[record]` into [`RecordSettings`] (or `None` when recording is off). Cold
//! path, start-up only.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigError;
use crate::config::raw::RawRecord;
use crate::config::resolve::invalid;
use crate::record::RecordSettings;
use crate::record::format::BLOCK_BYTES_MAX;

/// Smallest ring accepted: room for a few large depth frames.
pub const RING_BYTES_MIN: usize = 1 << 20;
/// Smallest block accepted: below this zstd compresses poorly and the index grows.
pub const BLOCK_BYTES_MIN: usize = 4 << 10;

/// Validates `[record]`; `None` unless `enabled = true`.
pub fn resolve_record(raw: RawRecord) -> Result<Option<RecordSettings>, ConfigError> {
    if !raw.enabled.unwrap_or(false) {
        return Ok(None);
    }
    let mut settings = RecordSettings::default();
    if let Some(dir) = raw.dir {
        settings.dir = PathBuf::from(dir);
    }
    if let Some(bytes) = raw.rotate_bytes {
        if bytes == 0 {
            return Err(invalid("record.rotate_bytes", "must be at least 1"));
        }
        settings.rotate_bytes = bytes;
    }
    if let Some(secs) = raw.rotate_secs {
        if secs == 0 {
            return Err(invalid("record.rotate_secs", "must be at least 1"));
        }
        settings.rotate_after = Duration::from_secs(secs);
    }
    if let Some(bytes) = raw.block_bytes {
        if !(BLOCK_BYTES_MIN..=BLOCK_BYTES_MAX as usize / 2).contains(&bytes) {
            return Err(invalid(
                "record.block_bytes",
                format!("must be {BLOCK_BYTES_MIN} to {}", BLOCK_BYTES_MAX / 2),
            ));
        }
        settings.block_bytes = bytes;
    }
    if let Some(ms) = raw.flush_interval_ms {
        if ms == 0 {
            return Err(invalid("record.flush_interval_ms", "must be at least 1"));
        }
        settings.flush_after = Duration::from_millis(ms);
    }
    if let Some(bytes) = raw.ring_bytes {
        if bytes < RING_BYTES_MIN {
            return Err(invalid(
                "record.ring_bytes",
                format!("must be at least {RING_BYTES_MIN}"),
            ));
        }
        settings.ring_bytes = bytes;
    }
    Ok(Some(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_record_is_off_by_default_and_bad_values_name_the_key() {
        assert_eq!(resolve_record(RawRecord::default()).unwrap(), None);
        let on = RawRecord {
            enabled: Some(true),
            rotate_secs: Some(60),
            ..RawRecord::default()
        };
        let settings = resolve_record(on).unwrap().unwrap();
        assert_eq!(settings.rotate_after, Duration::from_secs(60));
        let bad = RawRecord {
            enabled: Some(true),
            ring_bytes: Some(10),
            ..RawRecord::default()
        };
        let err = resolve_record(bad).unwrap_err().to_string();
        assert!(err.contains("record.ring_bytes"), "{err}");
    }
}
