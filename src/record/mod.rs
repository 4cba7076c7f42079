//! Recording raw venue traffic: every frame the feed stage reads (and every REST
//! snapshot it decodes) with its receive time and connection, to append-only files of
//! zstd-compressed blocks, rotated by size and time, each with an index of block
//! offsets and times so a replay can seek.
//!
//! - [`format`]: the bytes of a recording (header, blocks, frames);
//! - [`writer`]: blocks, rotation and the index, on the recorder thread;
//! - [`index`]: the `.idx` file beside each recording;
//! - [`reader`]: opening, seeking and reading a recording (replays, tests);
//! - [`block_loader`]: the reader's thread that reads and decompresses blocks ahead;
//! - [`tap`]: the feed thread's side (an SPSC byte ring, no allocation, drops counted
//!   when full) and the recorder thread behind it.
//!
//! Only [`tap::RecorderTap`] touches the hot path; everything else is cold and may
//! allocate. Nothing here reads or changes pipeline state.

pub mod block_loader;
pub mod format;
pub mod index;
pub mod reader;
pub mod settings;
pub mod tap;
pub mod writer;

use std::path::PathBuf;

pub use format::{FrameKind, FrameRef, Header, RecordedConnection, RecordedInstrument};
pub use reader::RecordingReader;
pub use settings::RecordSettings;
pub use tap::RecorderTap;
pub use writer::RecordingWriter;

/// File name extension of recordings.
pub const EXTENSION: &str = "edrec";

/// Why a recording cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Opening, writing or reading a file failed: check the path, permissions and space.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a recording (wrong magic) or its header is damaged.
    #[error("{path}: not an edgeline recording: {reason}")]
    NotRecording {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file ends inside a block (a crash while writing it, or a copy cut short):
    /// every frame before `offset` was read; the rest is lost.
    #[error(
        "{path}: truncated at byte {offset} (file is {file_bytes} bytes): {frames_read} frames before it were read, the rest is lost"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where the torn block starts.
        offset: u64,
        /// The file's length.
        file_bytes: u64,
        /// Frames read before the damage.
        frames_read: u64,
    },
    /// A block's bytes do not match their checksum or layout (without a path: raised
    /// by the codec, the reader adds where).
    #[error("corrupt recording: {0}")]
    Corrupt(String),
    /// A block is damaged: every frame before `offset` was read.
    #[error(
        "{path}: damaged block at byte {offset}: {reason}; {frames_read} frames before it were read"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where the damaged block starts.
        offset: u64,
        /// What is wrong.
        reason: String,
        /// Frames read before the damage.
        frames_read: u64,
    },
}
