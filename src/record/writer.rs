//! Writes recordings: frames collect in an uncompressed block; a full block (or one the
//! caller flushes) is compressed with zstd and appended whole with one `write_all`,
//! then its index entry. A file is closed (and synced) and the next one started when it
//! reaches `rotate_bytes` or spans `rotate_after` of receive time.
//!
//! Runs on the recorder thread (or in tests and tools); cold, allocates its buffers once
//! per block size. A crash loses the block being collected, nothing written before.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::record::format::{BLOCK_HEADER_BYTES, BlockHeader, FrameRef, Header, put_frame};
use crate::record::index::{BlockEntry, index_path};
use crate::record::settings::{RecordSettings, ZSTD_LEVEL};
use crate::record::{EXTENSION, RecordError};

/// An open recording file.
struct OpenFile {
    path: PathBuf,
    file: File,
    index: File,
    bytes: u64,
    first_ts_ns: u64,
}

/// What a writer wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// Frames written.
    pub frames: u64,
    /// Blocks written.
    pub blocks: u64,
    /// Bytes written (compressed, headers included).
    pub bytes: u64,
}

/// Appends frames to rotated recording files.
pub struct RecordingWriter {
    settings: RecordSettings,
    header: Vec<u8>,
    open: Option<OpenFile>,
    raw: Vec<u8>,
    compressed: Vec<u8>,
    compressor: zstd::bulk::Compressor<'static>,
    block_frames: u32,
    block_first_ts_ns: u64,
    block_last_ts_ns: u64,
    summary: WriteSummary,
}

impl RecordingWriter {
    /// A writer into `settings.dir` (created now); files start at the first frame.
    pub fn new(settings: RecordSettings, header: &Header) -> Result<Self, RecordError> {
        std::fs::create_dir_all(&settings.dir).map_err(|source| RecordError::Io {
            path: settings.dir.clone(),
            source,
        })?;
        let compressor =
            zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|source| RecordError::Io {
                path: settings.dir.clone(),
                source,
            })?;
        Ok(Self {
            raw: Vec::with_capacity(settings.block_bytes * 2),
            compressed: Vec::with_capacity(zstd::zstd_safe::compress_bound(
                settings.block_bytes * 2,
            )),
            header: header.encode(),
            settings,
            open: None,
            compressor,
            block_frames: 0,
            block_first_ts_ns: 0,
            block_last_ts_ns: 0,
            summary: WriteSummary::default(),
        })
    }

    /// Appends one frame; writes the block when it is full, rotates first when due.
    pub fn append(&mut self, frame: &FrameRef<'_>) -> Result<(), RecordError> {
        if self.rotation_due(frame.ts_ns) {
            self.close_file()?;
        }
        if self.open.is_none() {
            self.open = Some(self.create_file(frame.ts_ns)?);
        }
        if self.block_frames == 0 {
            self.block_first_ts_ns = frame.ts_ns;
        }
        put_frame(&mut self.raw, frame);
        self.block_frames += 1;
        self.block_last_ts_ns = self.block_last_ts_ns.max(frame.ts_ns);
        self.summary.frames += 1;
        if self.raw.len() >= self.settings.block_bytes {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Whether frames are waiting in an unwritten block.
    pub fn has_pending(&self) -> bool {
        self.block_frames > 0
    }

    /// Compresses and writes the collected block (nothing when it is empty).
    pub fn flush_block(&mut self) -> Result<(), RecordError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        if self.block_frames == 0 {
            return Ok(());
        }
        let io = |source| RecordError::Io {
            path: open.path.clone(),
            source,
        };
        self.compressed.clear();
        self.compressed
            .reserve(zstd::zstd_safe::compress_bound(self.raw.len()));
        self.compressor
            .compress_to_buffer(&self.raw, &mut self.compressed)
            .map_err(io)?;
        let header = BlockHeader {
            compressed_len: len_u32(self.compressed.len()),
            raw_len: len_u32(self.raw.len()),
            frames: self.block_frames,
            first_ts_ns: self.block_first_ts_ns,
            last_ts_ns: self.block_last_ts_ns,
            crc32: crc32fast::hash(&self.compressed),
        };
        // Two writes: a crash between them leaves a torn last block, which the reader
        // reports as truncated.
        open.file.write_all(&header.encode()).map_err(io)?;
        open.file.write_all(&self.compressed).map_err(io)?;
        let entry = BlockEntry {
            offset: open.bytes,
            first_ts_ns: header.first_ts_ns,
            last_ts_ns: header.last_ts_ns,
            frames: header.frames,
        };
        open.index.write_all(&entry.encode()).map_err(io)?;
        let written = (BLOCK_HEADER_BYTES + self.compressed.len()) as u64;
        open.bytes += written;
        self.summary.bytes += written;
        self.summary.blocks += 1;
        self.raw.clear();
        self.block_frames = 0;
        self.block_last_ts_ns = 0;
        Ok(())
    }

    /// Writes the last block, syncs and closes the file; returns what was written.
    pub fn finish(mut self) -> Result<WriteSummary, RecordError> {
        self.close_file()?;
        Ok(self.summary)
    }

    fn rotation_due(&self, ts_ns: u64) -> bool {
        let Some(open) = &self.open else {
            return false;
        };
        let span = Duration::from_nanos(ts_ns.saturating_sub(open.first_ts_ns));
        open.bytes + self.raw.len() as u64 >= self.settings.rotate_bytes
            || span >= self.settings.rotate_after
    }

    fn close_file(&mut self) -> Result<(), RecordError> {
        self.flush_block()?;
        if let Some(open) = self.open.take() {
            let io = |source| RecordError::Io {
                path: open.path.clone(),
                source,
            };
            open.file.sync_data().map_err(io)?;
            open.index.sync_data().map_err(io)?;
            log::info!(
                "record: closed {} ({} bytes)",
                open.path.display(),
                open.bytes
            );
        }
        Ok(())
    }

    /// A new file named after its first receive time (seconds) and a sequence number.
    fn create_file(&mut self, first_ts_ns: u64) -> Result<OpenFile, RecordError> {
        let secs = first_ts_ns / 1_000_000_000;
        let mut seq = self.summary.files.len();
        let (path, mut file) = loop {
            let path = self
                .settings
                .dir
                .join(format!("rec-{secs}-{seq:04}.{EXTENSION}"));
            match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => seq += 1,
                Err(source) => return Err(RecordError::Io { path, source }),
            }
        };
        let io = |path: &Path, source| RecordError::Io {
            path: path.to_path_buf(),
            source,
        };
        file.write_all(&self.header).map_err(|e| io(&path, e))?;
        let index_file = index_path(&path);
        let index = OpenOptions::new()
            .append(true)
            .create(true)
            .truncate(false)
            .open(&index_file)
            .map_err(|e| io(&index_file, e))?;
        log::info!("record: writing {}", path.display());
        self.summary.files.push(path.clone());
        self.summary.bytes += self.header.len() as u64;
        Ok(OpenFile {
            path,
            file,
            index,
            bytes: self.header.len() as u64,
            first_ts_ns,
        })
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::format::FrameKind;
    use crate::record::reader::read_all;

    fn frame(ts_ns: u64, payload: &[u8]) -> FrameRef<'_> {
        FrameRef {
            ts_ns,
            connection: 0,
            kind: FrameKind::Data,
            instrument: 0,
            payload,
        }
    }

    #[test]
    fn test_files_rotate_by_size_and_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let settings = RecordSettings {
            block_bytes: 4096,
            rotate_bytes: 20_000,
            rotate_after: Duration::from_secs(10),
            ..RecordSettings::new(dir.path().to_path_buf())
        };
        let mut writer = RecordingWriter::new(settings, &Header::default()).unwrap();
        let body: Vec<u8> = (0..200u32).flat_map(|i| i.to_le_bytes()).collect();
        for i in 0..300u64 {
            writer.append(&frame(i * 1_000_000, &body)).unwrap();
        }
        writer.append(&frame(11_000_000_000, b"later")).unwrap();
        let summary = writer.finish().unwrap();
        assert!(summary.files.len() >= 3, "{summary:?}");
        let frames: Vec<_> = summary
            .files
            .iter()
            .flat_map(|f| read_all(f).unwrap())
            .collect();
        assert_eq!(frames.len(), 301);
        assert_eq!(read_all(summary.files.last().unwrap()).unwrap().len(), 1);
        for file in &summary.files[..summary.files.len() - 1] {
            let len = std::fs::metadata(file).unwrap().len();
            assert!(len < 20_000 + 8192, "{} is {len} bytes", file.display());
        }
    }

    #[test]
    fn test_an_unflushed_block_is_all_a_crash_loses() {
        let dir = tempfile::tempdir().unwrap();
        let settings = RecordSettings {
            block_bytes: 1 << 20,
            ..RecordSettings::new(dir.path().to_path_buf())
        };
        let mut writer = RecordingWriter::new(settings, &Header::default()).unwrap();
        writer.append(&frame(1, b"first")).unwrap();
        writer.flush_block().unwrap();
        writer.append(&frame(2, b"second")).unwrap();
        assert!(writer.has_pending());
        let path = dir.path().read_dir().unwrap().flatten().map(|e| e.path());
        let path = path
            .collect::<Vec<_>>()
            .into_iter()
            .find(|p| p.extension() == Some(EXTENSION.as_ref()))
            .unwrap();
        // The writer is never finished (a crash): only the flushed block is on disk.
        std::mem::forget(writer);
        let frames = read_all(&path).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].payload, b"first");
    }
}
