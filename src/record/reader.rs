//! Reads recordings: the header, the block list (from the `.idx` file's valid prefix,
//! then the block headers after it), and frames block by block. The blocks are read and
//! decompressed ahead on a [`BlockLoader`] thread, so walking the frames costs only the
//! frame headers. Seeks by receive time through the block list.
//!
//! Damage (a torn last block after a crash, a block failing its checksum) is found while
//! listing or loading blocks; every frame before it is still read, then
//! [`RecordingReader::advance`] returns the error once, naming the file, the offset and
//! the frames read. Cold path (replays, tests); allocates its buffers per block size.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::record::block_loader::{BlockLoader, LoadError};
use crate::record::format::{
    BLOCK_HEADER_BYTES, BlockHeader, FrameRef, HEADER_TEXT_BYTES_MAX, Header, MAGIC, next_frame,
};
use crate::record::index::{BlockEntry, block_for_time, read_index};
use crate::record::{RecordError, format};

/// Damage found in the block list: where, and why.
#[derive(Debug, Clone)]
enum Damage {
    Truncated(u64),
    Corrupt(u64, String),
}

/// The current frame's header fields and where its payload is in the block.
#[derive(Debug, Clone)]
struct Head {
    ts_ns: u64,
    connection: u16,
    kind: format::FrameKind,
    instrument: u32,
    payload: std::ops::Range<usize>,
}

/// A recording open for reading.
pub struct RecordingReader {
    path: PathBuf,
    file: File,
    file_bytes: u64,
    header: Header,
    blocks: Vec<BlockEntry>,
    damage: Option<Damage>,
    next_block: usize,
    /// Loads the blocks from `next_block` on (started by the first read after opening
    /// or seeking).
    loader: Option<BlockLoader>,
    raw: Vec<u8>,
    /// Offset in `raw` of the frame after the current one.
    after: usize,
    /// The current frame, its payload as a range of `raw` (parsed once, read often).
    head: Option<Head>,
    frames_read: u64,
    /// Frames before this receive time are skipped (seek).
    from_ts_ns: u64,
}

impl RecordingReader {
    /// Opens a recording and lists its blocks; positions before the first frame (call
    /// [`RecordingReader::advance`]). A damaged tail is remembered and reported when
    /// reached; a damaged header fails here.
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        let io = |source| RecordError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let file_bytes = file.metadata().map_err(io)?.len();
        let (header, data_start) = read_header(&mut file, path)?;
        let mut blocks = read_index(path);
        blocks.retain(|b| b.offset >= data_start);
        let (blocks, damage) =
            scan_blocks(&mut file, blocks, data_start, file_bytes).map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            file_bytes,
            header,
            blocks,
            damage,
            next_block: 0,
            loader: None,
            raw: Vec::new(),
            after: 0,
            head: None,
            frames_read: 0,
            from_ts_ns: 0,
        })
    }

    /// What was recorded.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The readable blocks, in file order.
    pub fn blocks(&self) -> &[BlockEntry] {
        &self.blocks
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Positions before the first frame received at or after `ts_ns` (reading only the
    /// block that holds it).
    pub fn seek(&mut self, ts_ns: u64) {
        self.next_block = block_for_time(&self.blocks, ts_ns);
        self.loader = None;
        self.from_ts_ns = ts_ns;
        self.raw.clear();
        self.after = 0;
        self.head = None;
    }

    /// The current frame (after a successful [`RecordingReader::advance`]).
    #[inline]
    pub fn head(&self) -> Option<FrameRef<'_>> {
        let head = self.head.as_ref()?;
        Some(FrameRef {
            ts_ns: head.ts_ns,
            connection: head.connection,
            kind: head.kind,
            instrument: head.instrument,
            payload: self.raw.get(head.payload.clone())?,
        })
    }

    /// Moves to the next frame: `Ok(true)` when there is one, `Ok(false)` at the end,
    /// `Err` once when the damage is reached (every frame before it was read).
    pub fn advance(&mut self) -> Result<bool, RecordError> {
        loop {
            let mut at = self.after;
            match next_frame(&self.raw, &mut at) {
                Ok(Some(frame)) => {
                    let skip = frame.ts_ns < self.from_ts_ns;
                    self.after = at;
                    if skip {
                        continue;
                    }
                    self.head = Some(Head {
                        ts_ns: frame.ts_ns,
                        connection: frame.connection,
                        kind: frame.kind,
                        instrument: frame.instrument,
                        payload: at - frame.payload.len()..at,
                    });
                    self.frames_read += 1;
                    return Ok(true);
                }
                Ok(None) => {}
                Err(e) => return Err(self.damaged(self.next_block - 1, e.to_string())),
            }
            self.head = None;
            if !self.load_next_block()? {
                return Ok(false);
            }
        }
    }

    /// Loads the next block into `raw`; false after the last one (reporting the damage
    /// there, if any, once).
    fn load_next_block(&mut self) -> Result<bool, RecordError> {
        let Some(entry) = self.blocks.get(self.next_block).copied() else {
            return match self.damage.take() {
                Some(Damage::Truncated(offset)) => Err(RecordError::Truncated {
                    path: self.path.clone(),
                    offset,
                    file_bytes: self.file_bytes,
                    frames_read: self.frames_read,
                }),
                Some(Damage::Corrupt(offset, reason)) => Err(RecordError::Damaged {
                    path: self.path.clone(),
                    offset,
                    reason,
                    frames_read: self.frames_read,
                }),
                None => Ok(false),
            };
        };
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RecordError::Io { path, source }
        };
        if self.loader.is_none() {
            let file = self.file.try_clone().map_err(io(&self.path))?;
            let ahead = self.blocks[self.next_block..].to_vec();
            self.loader = Some(BlockLoader::start(file, ahead).map_err(io(&self.path))?);
        }
        let loader = self.loader.as_mut().expect("started above");
        let loaded = loader.next_block();
        self.next_block += 1;
        match loaded {
            Some(Ok(raw)) => {
                let walked = std::mem::replace(&mut self.raw, raw);
                loader.recycle(walked);
            }
            Some(Err(LoadError::Bad(e))) => return Err(self.bad_block(entry, e)),
            Some(Err(LoadError::Io(e))) => {
                self.loader = None;
                return Err(io(&self.path)(e));
            }
            None => {
                self.loader = None;
                return Err(io(&self.path)(std::io::Error::other(
                    "the block loading thread ended early",
                )));
            }
        }
        self.after = 0;
        Ok(true)
    }

    /// A damaged block: later blocks are not read.
    fn bad_block(&mut self, entry: BlockEntry, error: RecordError) -> RecordError {
        self.loader = None;
        self.blocks.truncate(self.next_block.saturating_sub(1));
        self.damage = None;
        RecordError::Damaged {
            path: self.path.clone(),
            offset: entry.offset,
            reason: error.to_string(),
            frames_read: self.frames_read,
        }
    }

    fn damaged(&mut self, block: usize, reason: String) -> RecordError {
        let entry = self.blocks[block];
        self.loader = None;
        self.raw.clear();
        self.after = 0;
        self.head = None;
        self.blocks.truncate(block + 1);
        self.next_block = block + 1;
        self.damage = None;
        RecordError::Damaged {
            path: self.path.clone(),
            offset: entry.offset,
            reason,
            frames_read: self.frames_read,
        }
    }
}

/// Reads and checks the file header; returns it and where the blocks start.
fn read_header(file: &mut File, path: &Path) -> Result<(Header, u64), RecordError> {
    let not = |reason: &str| RecordError::NotRecording {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let mut start = [0u8; 12];
    file.read_exact(&mut start)
        .map_err(|_| not("shorter than a header"))?;
    if start[..8] != MAGIC {
        return Err(not("wrong magic bytes"));
    }
    let len = u32::from_le_bytes([start[8], start[9], start[10], start[11]]);
    if len > HEADER_TEXT_BYTES_MAX {
        return Err(not("header length out of range"));
    }
    let mut text = vec![0u8; len as usize + 4];
    file.read_exact(&mut text)
        .map_err(|_| not("header cut short"))?;
    let crc = text.split_off(len as usize);
    if crc32fast::hash(&text).to_le_bytes()[..] != crc[..] {
        return Err(not("header checksum mismatch"));
    }
    let text = String::from_utf8(text).map_err(|_| not("header is not UTF-8"))?;
    let header = Header::parse(&text).map_err(|reason| not(&reason))?;
    Ok((header, 12 + u64::from(len) + 4))
}

/// Completes the block list after the index's last entry by reading block headers; stops
/// at the first header that is cut short or does not fit in the file.
fn scan_blocks(
    file: &mut File,
    mut blocks: Vec<BlockEntry>,
    data_start: u64,
    file_bytes: u64,
) -> std::io::Result<(Vec<BlockEntry>, Option<Damage>)> {
    let block_end = |b: &BlockEntry, file: &mut File| -> std::io::Result<Option<u64>> {
        let mut head = [0u8; BLOCK_HEADER_BYTES];
        file.seek(SeekFrom::Start(b.offset))?;
        file.read_exact(&mut head)?;
        Ok(BlockHeader::decode(&head)
            .ok()
            .map(|h| b.offset + BLOCK_HEADER_BYTES as u64 + u64::from(h.compressed_len)))
    };
    while let Some(last) = blocks.last() {
        match block_end(last, file) {
            Ok(Some(end)) if end <= file_bytes => break,
            _ => {
                blocks.pop();
            }
        }
    }
    let mut offset = match blocks.last() {
        Some(last) => block_end(last, file)?.unwrap_or(file_bytes),
        None => data_start,
    };
    while offset < file_bytes {
        let mut head = [0u8; BLOCK_HEADER_BYTES];
        file.seek(SeekFrom::Start(offset))?;
        if file.read_exact(&mut head).is_err() {
            return Ok((blocks, Some(Damage::Truncated(offset))));
        }
        let header = match BlockHeader::decode(&head) {
            Ok(h) => h,
            Err(e) => return Ok((blocks, Some(Damage::Corrupt(offset, e.to_string())))),
        };
        let end = offset + BLOCK_HEADER_BYTES as u64 + u64::from(header.compressed_len);
        if end > file_bytes {
            return Ok((blocks, Some(Damage::Truncated(offset))));
        }
        blocks.push(BlockEntry {
            offset,
            first_ts_ns: header.first_ts_ns,
            last_ts_ns: header.last_ts_ns,
            frames: header.frames,
        });
        offset = end;
    }
    Ok((blocks, None))
}

/// A frame read out of its block (tests and tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// Receive time, unix ns.
    pub ts_ns: u64,
    /// Connection index.
    pub connection: u16,
    /// Data frame or snapshot.
    pub kind: format::FrameKind,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Every frame of a recording in order, owned (tests and tools; replays stream instead).
pub fn read_all(path: &Path) -> Result<Vec<OwnedFrame>, RecordError> {
    let mut reader = RecordingReader::open(path)?;
    let mut out = Vec::new();
    while reader.advance()? {
        if let Some(f) = reader.head() {
            out.push(OwnedFrame {
                ts_ns: f.ts_ns,
                connection: f.connection,
                kind: f.kind,
                payload: f.payload.to_vec(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::format::{FrameKind, RecordedConnection};
    use crate::record::index::index_path;
    use crate::record::settings::RecordSettings;
    use crate::record::writer::RecordingWriter;
    use crate::types::{MarketKind, Venue};

    fn header() -> Header {
        Header {
            connections: vec![RecordedConnection {
                venue: Venue::Binance,
                kind: MarketKind::Perp,
                url: "ws://127.0.0.1:1/ws".into(),
                subscriptions: Vec::new(),
            }],
            instruments: Vec::new(),
        }
    }

    fn payload(i: u64) -> Vec<u8> {
        format!(
            "{{\"u\":{i},\"pad\":\"{}\"}}",
            "x".repeat((i % 50) as usize)
        )
        .into_bytes()
    }

    /// Writes `n` frames 1 ms apart into small blocks; returns the file.
    fn write(dir: &Path, n: u64) -> PathBuf {
        let settings = RecordSettings {
            block_bytes: 4096,
            ..RecordSettings::new(dir.to_path_buf())
        };
        let mut writer = RecordingWriter::new(settings, &header()).unwrap();
        for i in 0..n {
            let p = payload(i);
            writer
                .append(&FrameRef {
                    ts_ns: 1_000_000_000 + i * 1_000_000,
                    connection: 0,
                    kind: FrameKind::Data,
                    instrument: 0,
                    payload: &p,
                })
                .unwrap();
        }
        let summary = writer.finish().unwrap();
        assert_eq!(summary.files.len(), 1);
        assert!(summary.blocks > 3, "{summary:?}");
        summary.files[0].clone()
    }

    #[test]
    fn test_reader_reads_back_every_frame_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 1000);
        let frames = read_all(&path).unwrap();
        assert_eq!(frames.len(), 1000);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.payload, payload(i as u64));
            assert_eq!(f.ts_ns, 1_000_000_000 + i as u64 * 1_000_000);
        }
        let reader = RecordingReader::open(&path).unwrap();
        assert_eq!(reader.header(), &header());
        assert_eq!(reader.blocks(), &read_index(&path)[..]);
    }

    #[test]
    fn test_seek_starts_at_the_first_frame_at_or_after_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 1000);
        let mut reader = RecordingReader::open(&path).unwrap();
        reader.seek(1_000_000_000 + 700 * 1_000_000 - 1);
        assert!(reader.advance().unwrap());
        assert_eq!(reader.head().unwrap().payload, &payload(700)[..]);
        let mut rest = 1;
        while reader.advance().unwrap() {
            rest += 1;
        }
        assert_eq!(rest, 300);
        reader.seek(u64::MAX);
        assert!(!reader.advance().unwrap());
    }

    #[test]
    fn test_seek_back_after_reading_ahead_reads_on_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 1000);
        let mut reader = RecordingReader::open(&path).unwrap();
        for _ in 0..900 {
            assert!(reader.advance().unwrap());
        }
        reader.seek(1_000_000_000 + 10 * 1_000_000);
        let mut next = 10;
        while reader.advance().unwrap() {
            assert_eq!(reader.head().unwrap().payload, &payload(next)[..]);
            next += 1;
        }
        assert_eq!(next, 1000);
    }

    #[test]
    fn test_truncated_file_reads_everything_before_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 1000);
        let full = std::fs::read(&path).unwrap();
        let blocks = read_index(&path);
        for cut in [
            blocks[2].offset + 10,
            blocks[2].offset + 40,
            full.len() as u64 - 1,
        ] {
            std::fs::write(&path, &full[..usize::try_from(cut).unwrap()]).unwrap();
            let mut reader = RecordingReader::open(&path).unwrap();
            let whole_blocks = blocks.iter().filter(|b| b.offset < cut).count() - 1;
            let expected: u64 = blocks[..whole_blocks]
                .iter()
                .map(|b| u64::from(b.frames))
                .sum();
            let mut read = 0;
            let err = loop {
                match reader.advance() {
                    Ok(true) => read += 1,
                    Ok(false) => panic!("no error at the cut {cut}"),
                    Err(e) => break e,
                }
            };
            assert_eq!(read, expected, "cut at {cut}");
            let text = err.to_string();
            assert!(text.contains("truncated at byte"), "{text}");
            assert!(
                text.contains(&format!("{expected} frames before it")),
                "{text}"
            );
            assert!(!reader.advance().unwrap(), "the error is reported once");
        }
    }

    #[test]
    fn test_missing_or_torn_index_is_rebuilt_from_block_headers() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 500);
        let blocks = RecordingReader::open(&path).unwrap().blocks().to_vec();
        let index = std::fs::read(index_path(&path)).unwrap();
        std::fs::write(index_path(&path), &index[..index.len() / 2 + 5]).unwrap();
        assert_eq!(RecordingReader::open(&path).unwrap().blocks(), &blocks[..]);
        std::fs::remove_file(index_path(&path)).unwrap();
        assert_eq!(RecordingReader::open(&path).unwrap().blocks(), &blocks[..]);
        assert_eq!(read_all(&path).unwrap().len(), 500);
    }

    #[test]
    fn test_corrupt_block_is_reported_and_frames_before_it_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 1000);
        let blocks = read_index(&path);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[usize::try_from(blocks[1].offset).unwrap() + 50] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let mut reader = RecordingReader::open(&path).unwrap();
        let mut read = 0;
        let err = loop {
            match reader.advance() {
                Ok(true) => read += 1,
                Ok(false) => panic!("corruption not found"),
                Err(e) => break e,
            }
        };
        assert_eq!(read, u64::from(blocks[0].frames));
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
    }

    #[test]
    fn test_not_a_recording_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.edrec");
        std::fs::write(&path, b"1723161256000000000 {\"u\":1}\n").unwrap();
        let err = RecordingReader::open(&path).err().unwrap().to_string();
        assert!(err.contains("not an edgeline recording"), "{err}");
    }
}
