//! Loads a recording's blocks ahead of its reader, on a thread of its own: reads each
//! listed block, checks its checksum and decompresses it into a recycled buffer, so the
//! thread that walks the frames (a replay's only thread) never waits on the disk or on
//! zstd.
//!
//! Owns a handle on the file and the decompressor; knows nothing of frames, seeking or
//! the damage found while listing blocks (the reader keeps those). Blocks arrive in list
//! order; the first block that cannot be loaded arrives as its error and ends the
//! thread. At most [`BUFFERS`] blocks are decompressed at once, each buffer going back
//! to the thread once the reader has walked it. Cold path: allocates its buffers while
//! they grow to the block size, then recycles them.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::thread::JoinHandle;

use crossbeam::channel::{Receiver, Sender, bounded};

use crate::record::RecordError;
use crate::record::format::{BLOCK_HEADER_BYTES, BlockHeader};
use crate::record::index::BlockEntry;

/// Decompressed blocks in flight: one being walked, the others loaded ahead.
pub const BUFFERS: usize = 3;

/// Why a block could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Reading the file failed.
    Io(std::io::Error),
    /// The block is damaged: its header, checksum or compressed bytes.
    Bad(RecordError),
}

/// One block, decompressed, or why it is not.
type Loaded = Result<Vec<u8>, LoadError>;

/// The loading thread's handle: blocks come out of [`BlockLoader::next_block`] in order; a
/// walked buffer goes back with [`BlockLoader::recycle`]. Dropping it stops the thread.
pub struct BlockLoader {
    loaded: Option<Receiver<Loaded>>,
    spare: Option<Sender<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

impl BlockLoader {
    /// Starts loading `blocks` (in order) from `file`.
    pub fn start(file: File, blocks: Vec<BlockEntry>) -> std::io::Result<Self> {
        let (loaded_tx, loaded) = bounded(BUFFERS - 1);
        let (spare, spare_rx) = bounded(BUFFERS);
        for _ in 0..BUFFERS - 1 {
            spare.send(Vec::new()).map_err(std::io::Error::other)?;
        }
        let thread = std::thread::Builder::new()
            .name("edgeline-blocks".into())
            .spawn(move || load_all(file, &blocks, &loaded_tx, &spare_rx))?;
        Ok(Self {
            loaded: Some(loaded),
            spare: Some(spare),
            thread: Some(thread),
        })
    }

    /// The next block, waiting for it; `None` once the thread has ended (after the last
    /// block or after an error).
    pub fn next_block(&mut self) -> Option<Loaded> {
        self.loaded.as_ref()?.recv().ok()
    }

    /// Gives a walked block's buffer back for a later block.
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        if let Some(spare) = &self.spare {
            // A full or closed channel means the thread needs no more buffers.
            let _ = spare.try_send(buffer);
        }
    }
}

impl Drop for BlockLoader {
    fn drop(&mut self) {
        self.loaded = None;
        self.spare = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: loads every block into a spare buffer and sends it, until the list ends,
/// a block fails or the reader is gone.
fn load_all(
    mut file: File,
    blocks: &[BlockEntry],
    loaded: &Sender<Loaded>,
    spare: &Receiver<Vec<u8>>,
) {
    let mut decompressor = match zstd::bulk::Decompressor::new() {
        Ok(d) => d,
        Err(e) => {
            let _ = loaded.send(Err(LoadError::Io(e)));
            return;
        }
    };
    let mut compressed = Vec::new();
    for entry in blocks {
        let Ok(mut raw) = spare.recv() else {
            return;
        };
        let result = load(
            &mut file,
            &mut decompressor,
            entry,
            &mut compressed,
            &mut raw,
        );
        let failed = result.is_err();
        if loaded.send(result.map(|()| raw)).is_err() || failed {
            return;
        }
    }
}

/// Reads, checks and decompresses one block into `raw`.
fn load(
    file: &mut File,
    decompressor: &mut zstd::bulk::Decompressor<'static>,
    entry: &BlockEntry,
    compressed: &mut Vec<u8>,
    raw: &mut Vec<u8>,
) -> Result<(), LoadError> {
    let mut head = [0u8; BLOCK_HEADER_BYTES];
    file.seek(SeekFrom::Start(entry.offset))
        .map_err(LoadError::Io)?;
    file.read_exact(&mut head).map_err(LoadError::Io)?;
    let block = BlockHeader::decode(&head).map_err(LoadError::Bad)?;
    compressed.resize(block.compressed_len as usize, 0);
    file.read_exact(compressed).map_err(LoadError::Io)?;
    if crc32fast::hash(compressed) != block.crc32 {
        return Err(LoadError::Bad(RecordError::Corrupt(
            "checksum mismatch".into(),
        )));
    }
    raw.clear();
    raw.reserve(block.raw_len as usize);
    decompressor
        .decompress_to_buffer(compressed.as_slice(), raw)
        .map_err(|e| LoadError::Bad(RecordError::Corrupt(e.to_string())))?;
    Ok(())
}
