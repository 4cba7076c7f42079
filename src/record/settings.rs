//! The recorder's slice of the configuration (`[record]`), with its defaults and limits.
//! Plain data; resolved and validated by the config module.

use std::path::PathBuf;
use std::time::Duration;

/// Default folder of recordings.
pub const DIR_DEFAULT: &str = "recordings";
/// Default file size at which a new file starts: 1 GiB keeps files easy to copy.
pub const ROTATE_BYTES_DEFAULT: u64 = 1 << 30;
/// Default recorded time after which a new file starts: one hour per file.
pub const ROTATE_AFTER_DEFAULT: Duration = Duration::from_secs(3600);
/// Default uncompressed bytes per block: 256 KiB compresses well (zstd) and bounds what
/// a crash can lose together with [`FLUSH_AFTER_DEFAULT`].
pub const BLOCK_BYTES_DEFAULT: usize = 256 << 10;
/// Longest a frame waits in an unwritten block (wall time on the recorder thread).
pub const FLUSH_AFTER_DEFAULT: Duration = Duration::from_secs(1);
/// Default byte ring between the feed thread and the recorder: 64 MiB rides out ~1 s of
/// a busy multi-venue feed while the recorder compresses or the disk stalls.
pub const RING_BYTES_DEFAULT: usize = 64 << 20;
/// zstd level: 1 is the fastest (~400 MB/s per core) and still shrinks JSON ~10x.
pub const ZSTD_LEVEL: i32 = 1;

/// Where and how to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSettings {
    /// Folder of the recordings (created if missing).
    pub dir: PathBuf,
    /// A file reaching this size is closed and a new one started.
    pub rotate_bytes: u64,
    /// A file spanning this much receive time is closed and a new one started.
    pub rotate_after: Duration,
    /// Uncompressed bytes per block.
    pub block_bytes: usize,
    /// Longest a frame waits before its block is written.
    pub flush_after: Duration,
    /// Bytes of the ring between the feed thread and the recorder.
    pub ring_bytes: usize,
}

impl RecordSettings {
    /// The defaults, recording into `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            rotate_bytes: ROTATE_BYTES_DEFAULT,
            rotate_after: ROTATE_AFTER_DEFAULT,
            block_bytes: BLOCK_BYTES_DEFAULT,
            flush_after: FLUSH_AFTER_DEFAULT,
            ring_bytes: RING_BYTES_DEFAULT,
        }
    }
}

impl Default for RecordSettings {
    fn default() -> Self {
        Self::new(PathBuf::from(DIR_DEFAULT))
    }
}
