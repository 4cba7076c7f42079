//! The index beside each recording (`<file>.idx`): one 32-byte entry per block, appended
//! right after the block, so a replay finds the block holding a time without reading the
//! blocks before it.
//!
//! ```text
//! entry := u64:offset u64:first_ts_ns u64:last_ts_ns u32:frames u32:crc32(previous 28 bytes)
//! ```
//!
//! The index is a cache: a reader takes its longest valid prefix and scans the block
//! headers after it (a crash can leave the index one block behind, or torn). Cold path.

use std::path::{Path, PathBuf};

/// Bytes of one index entry.
pub const ENTRY_BYTES: usize = 32;

/// Where a block is and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockEntry {
    /// Offset of the block header in the recording.
    pub offset: u64,
    /// Receive time of its first frame, unix ns.
    pub first_ts_ns: u64,
    /// Receive time of its last frame, unix ns.
    pub last_ts_ns: u64,
    /// Frames in the block.
    pub frames: u32,
}

impl BlockEntry {
    /// The entry's bytes.
    pub fn encode(&self) -> [u8; ENTRY_BYTES] {
        let mut out = [0u8; ENTRY_BYTES];
        out[0..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.first_ts_ns.to_le_bytes());
        out[16..24].copy_from_slice(&self.last_ts_ns.to_le_bytes());
        out[24..28].copy_from_slice(&self.frames.to_le_bytes());
        let crc = crc32fast::hash(&out[..28]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses an entry; `None` when its checksum does not match.
    pub fn decode(bytes: &[u8; ENTRY_BYTES]) -> Option<Self> {
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        (crc32fast::hash(&bytes[..28]) == u32_at(28)).then(|| Self {
            offset: u64_at(0),
            first_ts_ns: u64_at(8),
            last_ts_ns: u64_at(16),
            frames: u32_at(24),
        })
    }
}

/// The index file of a recording.
pub fn index_path(recording: &Path) -> PathBuf {
    let mut name = recording.as_os_str().to_owned();
    name.push(".idx");
    PathBuf::from(name)
}

/// The valid entries at the start of an index file (empty when it is missing), in
/// order, stopping at the first bad checksum or out-of-order offset.
pub fn read_index(recording: &Path) -> Vec<BlockEntry> {
    let Ok(bytes) = std::fs::read(index_path(recording)) else {
        return Vec::new();
    };
    let mut entries: Vec<BlockEntry> = Vec::with_capacity(bytes.len() / ENTRY_BYTES);
    for chunk in bytes.chunks_exact(ENTRY_BYTES) {
        let Some(entry) = chunk.try_into().ok().and_then(BlockEntry::decode) else {
            break;
        };
        if entries
            .last()
            .is_some_and(|last| last.offset >= entry.offset)
        {
            break;
        }
        entries.push(entry);
    }
    entries
}

/// The first block that may hold a frame received at or after `ts_ns`.
pub fn block_for_time(blocks: &[BlockEntry], ts_ns: u64) -> usize {
    blocks.partition_point(|b| b.last_ts_ns < ts_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_entry_round_trips_and_a_flipped_bit_is_refused() {
        let e = BlockEntry {
            offset: 100,
            first_ts_ns: 5,
            last_ts_ns: 9,
            frames: 3,
        };
        let mut bytes = e.encode();
        assert_eq!(BlockEntry::decode(&bytes), Some(e));
        bytes[3] ^= 1;
        assert_eq!(BlockEntry::decode(&bytes), None);
    }

    #[test]
    fn test_block_for_time_finds_the_first_block_ending_at_or_after() {
        let b = |first, last| BlockEntry {
            offset: first,
            first_ts_ns: first,
            last_ts_ns: last,
            frames: 1,
        };
        let blocks = [b(10, 19), b(20, 29), b(30, 39)];
        assert_eq!(block_for_time(&blocks, 0), 0);
        assert_eq!(block_for_time(&blocks, 19), 0);
        assert_eq!(block_for_time(&blocks, 20), 1);
        assert_eq!(block_for_time(&blocks, 35), 2);
        assert_eq!(block_for_time(&blocks, 40), 3);
    }
}
