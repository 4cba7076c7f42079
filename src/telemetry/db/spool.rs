//! The on-disk spool: rows the database could not take wait here, in order, until it
//! takes them again; the spool survives a restart of edgeline.
//!
//! Owned by the database writer thread (cold path; allocates per append and per
//! segment read). Bounded: at most `max_bytes` on disk (about: a new segment's 8-byte
//! header is not counted in advance); a row that does not fit is dropped, counted in
//! [`Spool::dropped_full`] and logged as an error ("spool full"). A row the disk refuses
//! (no space left, an I/O error) is dropped too, counted apart in
//! [`Spool::dropped_failed`] and logged with the OS error, so the report names the true
//! cause. Every filesystem error is recovered from: a failed write is cut back and the
//! next append starts a new segment; a segment whose creation failed is removed and its
//! index is never reused, so once the disk has room again rows are stored again.
//!
//! One process per spool: [`Spool::open`] locks `spool.lock` in the directory (an
//! advisory `flock`, released when the spool is dropped or the process dies); a second
//! process gets [`SpoolError::Locked`] naming the directory.
//!
//! Format: the spool directory holds segments `<index, 20 digits>.spool`, oldest
//! first, each at most [`SEGMENT_BYTES_MAX`] bytes. A segment is the magic
//! `EDLSPL01` followed by records; a record is `len: u32 LE`, `crc32(payload): u32 LE`,
//! then `payload`: table code `u8`; run id (`u16 LE` length + UTF-8); `seq: i64 LE`;
//! value count `u16 LE`; each value a tag byte then its data: 0 NULL, 1 integer
//! (`i64 LE`), 2 real (`f64` bits LE), 3 boolean (`u8`), 4 text (`u32 LE` length +
//! UTF-8), 5 time (unix ns, `i64 LE`). Appends are `fsync`ed. A record cut short by a
//! crash, or whose checksum does not match, ends its segment: [`Spool::open`] truncates
//! the file at the last good record and logs what it dropped.
//!
//! Replay reads the oldest segment ([`Spool::peek`]) and deletes it once every row of
//! it is written ([`Spool::consume`]); after a restart the rows of a partly replayed
//! segment are replayed again, which the database's row keys make harmless.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runtime::clock::monotonic_now;
use crate::telemetry::db::latency_snapshot::table_by_code;
use crate::telemetry::db::row::{Row, Value};

/// Largest segment file: small enough to read whole when replaying it.
pub const SEGMENT_BYTES_MAX: u64 = 4 << 20;

/// Largest record payload; a longer length field means a corrupt record.
pub const RECORD_BYTES_MAX: usize = 1 << 20;

/// Default spool bound: 1 GiB holds about four million opportunity rows, an outage of
/// hours at the tracker's usual rates.
pub const SPOOL_MAX_BYTES_DEFAULT: u64 = 1 << 30;

/// The first bytes of every segment.
pub const MAGIC: &[u8; 8] = b"EDLSPL01";

const FRAME_HEADER_BYTES: usize = 8;
const SEGMENT_SUFFIX: &str = ".spool";
/// The lock file in the spool directory.
pub const LOCK_FILE_NAME: &str = "spool.lock";
/// Segment indexes tried per creation when files are in the way (leftovers that could
/// not be removed): a bound, not a loop.
const CREATE_ATTEMPTS_MAX: u32 = 16;
/// At most one "spool full" error line per this interval (the count is in each line).
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// A spool operation that failed. Each variant names the path.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool directory could not be created or listed: check the path and
    /// permissions (`[database] spool_dir`).
    #[error("spool directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A segment could not be created, written, read, truncated or removed.
    #[error("spool segment {path}: {source}")]
    Segment {
        /// The segment file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process holds the spool: give each process its own `[database]
    /// spool_dir` (two writers would replay and delete each other's rows).
    #[error(
        "spool directory {path} is in use by another edgeline process (it holds {LOCK_FILE_NAME}): give each process its own [database] spool_dir"
    )]
    Locked {
        /// The directory.
        path: PathBuf,
    },
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    bytes: u64,
    rows: u64,
}

/// The oldest segment, loaded for replay.
#[derive(Debug)]
struct Head {
    rows: Vec<Row>,
    pos: usize,
}

/// What [`Spool::open`] found on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Rows waiting from an earlier run.
    pub rows: u64,
    /// Bytes dropped at torn or corrupt segment tails.
    pub torn_bytes: u64,
}

/// The spool. See the module documentation for the format.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes_max: u64,
    segments: VecDeque<Segment>,
    active: Option<File>,
    head: Option<Head>,
    next_index: u64,
    bytes: u64,
    rows: u64,
    dropped_full: u64,
    dropped_failed: u64,
    torn_bytes: u64,
    last_drop_log: Option<Instant>,
    /// Held for the spool's life: the advisory lock on [`LOCK_FILE_NAME`].
    _lock: File,
}

impl Spool {
    /// Opens the spool in `dir` (created if missing), bounded to `max_bytes`; checks
    /// every segment and truncates torn tails.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<(Self, Recovered), SpoolError> {
        Self::open_with_segment_bytes(dir, max_bytes, SEGMENT_BYTES_MAX)
    }

    /// [`Spool::open`] with another segment size (tests use small ones).
    pub fn open_with_segment_bytes(
        dir: &Path,
        max_bytes: u64,
        segment_bytes_max: u64,
    ) -> Result<(Self, Recovered), SpoolError> {
        let dir_err = |source| SpoolError::Dir {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(dir_err)?;
        let lock = lock_dir(dir)?;
        let mut spool = Self {
            dir: dir.to_owned(),
            max_bytes,
            segment_bytes_max,
            segments: VecDeque::new(),
            active: None,
            head: None,
            next_index: 0,
            bytes: 0,
            rows: 0,
            dropped_full: 0,
            dropped_failed: 0,
            torn_bytes: 0,
            last_drop_log: None,
            _lock: lock,
        };
        for (index, path) in segment_files(dir).map_err(dir_err)? {
            spool.next_index = index + 1;
            spool.recover_segment(path)?;
        }
        let recovered = Recovered {
            rows: spool.rows,
            torn_bytes: spool.torn_bytes,
        };
        Ok((spool, recovered))
    }

    /// Checks one segment left by an earlier run: truncates a torn tail, removes it if
    /// it holds no row, else queues it for replay.
    fn recover_segment(&mut self, path: PathBuf) -> Result<(), SpoolError> {
        let seg_err = |source| SpoolError::Segment {
            path: path.clone(),
            source,
        };
        let bytes = std::fs::read(&path).map_err(seg_err)?;
        let (rows, good_end) = decode_segment(&bytes);
        let torn = (bytes.len() - good_end) as u64;
        if torn > 0 {
            self.torn_bytes += torn;
            log::warn!(
                "spool {}: dropped a torn or corrupt tail of {torn} bytes after {} good rows",
                path.display(),
                rows.len()
            );
        }
        if rows.is_empty() {
            return std::fs::remove_file(&path).map_err(seg_err);
        }
        if torn > 0 {
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(seg_err)?;
            file.set_len(good_end as u64).map_err(seg_err)?;
            file.sync_all().map_err(seg_err)?;
        }
        self.bytes += good_end as u64;
        self.rows += rows.len() as u64;
        self.segments.push_back(Segment {
            path,
            bytes: good_end as u64,
            rows: rows.len() as u64,
        });
        Ok(())
    }

    /// Whether no row is waiting.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Rows waiting.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Rows dropped because the spool was full or its disk refused the write.
    pub fn dropped(&self) -> u64 {
        self.dropped_full + self.dropped_failed
    }

    /// Rows dropped because they did not fit `max_bytes` (the spool was full).
    pub fn dropped_full(&self) -> u64 {
        self.dropped_full
    }

    /// Rows dropped because the disk refused them (no space left, an I/O error).
    pub fn dropped_failed(&self) -> u64 {
        self.dropped_failed
    }

    /// Bytes dropped at torn or corrupt tails (at open and during replay).
    pub fn torn_bytes(&self) -> u64 {
        self.torn_bytes
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `rows` after every row already waiting and syncs them to disk; returns
    /// how many were stored. Rows that do not fit the bound, or that the disk refused,
    /// are dropped, counted and logged.
    pub fn append(&mut self, rows: &[Row]) -> usize {
        let mut buf = Vec::new();
        let mut buf_rows = 0;
        let mut stored = 0;
        let mut full = 0;
        let mut failed = None;
        let mut frame = Vec::new();
        for row in rows {
            frame.clear();
            encode_frame(row, &mut frame);
            let fits = frame.len() - FRAME_HEADER_BYTES <= RECORD_BYTES_MAX
                && self.bytes + (buf.len() + frame.len()) as u64 <= self.max_bytes;
            if !fits {
                full += 1;
                continue;
            }
            let active_bytes = self.active_bytes();
            let would_be = active_bytes + (buf.len() + frame.len()) as u64;
            if would_be > self.segment_bytes_max && active_bytes + buf.len() as u64 > 0 {
                self.write_or_drop(&mut buf, &mut buf_rows, &mut stored, &mut failed);
                self.active = None;
            }
            buf.extend_from_slice(&frame);
            buf_rows += 1;
        }
        self.write_or_drop(&mut buf, &mut buf_rows, &mut stored, &mut failed);
        if full > 0 {
            self.dropped_full += full;
            self.log_drop(&format!(
                "is full ({} of {} bytes, [database] spool_max_bytes)",
                self.bytes, self.max_bytes
            ));
        }
        if let Some((rows, err)) = failed {
            self.dropped_failed += rows;
            self.log_drop(&format!("could not store rows on disk ({err})"));
        }
        stored
    }

    /// Bytes in the segment open for appending (0 when none is).
    fn active_bytes(&self) -> u64 {
        match (&self.active, self.segments.back()) {
            (Some(_), Some(seg)) => seg.bytes,
            _ => 0,
        }
    }

    /// Writes the buffered records; on failure adds their rows to `failed` with the
    /// (first) error.
    fn write_or_drop(
        &mut self,
        buf: &mut Vec<u8>,
        buf_rows: &mut usize,
        stored: &mut usize,
        failed: &mut Option<(u64, SpoolError)>,
    ) {
        if *buf_rows == 0 {
            return;
        }
        match self.write_frames(buf, *buf_rows as u64) {
            Ok(()) => *stored += *buf_rows,
            Err(err) => match failed {
                Some((rows, _)) => *rows += *buf_rows as u64,
                None => *failed = Some((*buf_rows as u64, err)),
            },
        }
        buf.clear();
        *buf_rows = 0;
    }

    /// Writes whole records to the active segment (opening a new one if needed) and
    /// syncs them; on failure cuts the file back to where it was.
    fn write_frames(&mut self, frames: &[u8], rows: u64) -> Result<(), SpoolError> {
        if self.active.is_none() {
            self.open_segment()?;
        }
        let (Some(file), Some(seg)) = (self.active.as_mut(), self.segments.back_mut()) else {
            unreachable!("open_segment sets both");
        };
        let result = file.write_all(frames).and_then(|()| file.sync_data());
        if let Err(source) = result {
            let path = seg.path.clone();
            if let Err(err) = file.set_len(seg.bytes) {
                log::error!(
                    "spool {}: cutting back a failed write: {err}",
                    path.display()
                );
            }
            self.active = None;
            return Err(SpoolError::Segment { path, source });
        }
        seg.bytes += frames.len() as u64;
        seg.rows += rows;
        self.bytes += frames.len() as u64;
        self.rows += rows;
        Ok(())
    }

    /// Creates the next segment with its header. Every attempt takes a fresh index, so a
    /// file left by a failed creation is never in the way of the next one.
    fn open_segment(&mut self) -> Result<(), SpoolError> {
        let mut attempts = 0;
        let (path, mut file) = loop {
            let path = self
                .dir
                .join(format!("{:020}{SEGMENT_SUFFIX}", self.next_index));
            self.next_index += 1;
            attempts += 1;
            let created = OpenOptions::new().create_new(true).append(true).open(&path);
            match created {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if attempts >= CREATE_ATTEMPTS_MAX {
                        return Err(SpoolError::Segment { path, source: e });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts == 1 => {
                    // The directory went away (removed by hand): make it again.
                    std::fs::create_dir_all(&self.dir).map_err(|source| SpoolError::Dir {
                        path: self.dir.clone(),
                        source,
                    })?;
                }
                Err(source) => return Err(SpoolError::Segment { path, source }),
            }
        };
        if let Err(source) = file.write_all(MAGIC).and_then(|()| file.sync_all()) {
            drop(file);
            if let Err(err) = std::fs::remove_file(&path) {
                // NB: harmless: its index is not reused, and a file without rows is
                // removed at the next open.
                log::warn!("spool {}: removing a failed segment: {err}", path.display());
            }
            return Err(SpoolError::Segment { path, source });
        }
        self.bytes += MAGIC.len() as u64;
        self.segments.push_back(Segment {
            path,
            bytes: MAGIC.len() as u64,
            rows: 0,
        });
        self.active = Some(file);
        Ok(())
    }

    /// Logs why rows were just dropped (at most once per [`DROP_LOG_INTERVAL`]).
    fn log_drop(&mut self, why: &str) {
        let now = monotonic_now();
        let due = self
            .last_drop_log
            .is_none_or(|at| now.duration_since(at) >= DROP_LOG_INTERVAL);
        if due {
            self.last_drop_log = Some(now);
            log::error!(
                "database spool {} {why}: {} rows LOST so far ({} spool full, {} refused by the disk)",
                self.dir.display(),
                self.dropped(),
                self.dropped_full,
                self.dropped_failed
            );
        }
    }

    /// Up to `max_rows` of the oldest waiting rows, in order (all from one segment).
    pub fn peek(&mut self, max_rows: usize) -> Result<&[Row], SpoolError> {
        self.load_head()?;
        Ok(match &self.head {
            Some(head) => {
                let end = head.rows.len().min(head.pos + max_rows);
                &head.rows[head.pos..end]
            }
            None => &[],
        })
    }

    /// Marks the first `n` rows [`Spool::peek`] returned as written; a segment whose
    /// rows are all written is deleted.
    pub fn consume(&mut self, n: usize) -> Result<(), SpoolError> {
        let Some(head) = self.head.as_mut() else {
            return Ok(());
        };
        let n = n.min(head.rows.len() - head.pos);
        head.pos += n;
        self.rows -= n as u64;
        if head.pos == head.rows.len() {
            self.head = None;
            self.remove_oldest()?;
        }
        Ok(())
    }

    /// Loads the oldest segment with rows, sealing it first if it is the one open for
    /// appending; removes segments that turn out empty.
    fn load_head(&mut self) -> Result<(), SpoolError> {
        while self.head.is_none() {
            let Some(seg) = self.segments.front() else {
                return Ok(());
            };
            if self.segments.len() == 1 {
                self.active = None;
            }
            let path = seg.path.clone();
            let bytes = std::fs::read(&path).map_err(|source| SpoolError::Segment {
                path: path.clone(),
                source,
            })?;
            let (rows, good_end) = decode_segment(&bytes);
            if good_end < bytes.len() {
                let torn = (bytes.len() - good_end) as u64;
                self.torn_bytes += torn;
                log::error!(
                    "spool {}: {torn} corrupt bytes after {} rows dropped",
                    path.display(),
                    rows.len()
                );
            }
            let counted = seg.rows;
            self.rows = self.rows - counted + rows.len() as u64;
            if rows.is_empty() {
                self.remove_oldest()?;
            } else {
                self.head = Some(Head { rows, pos: 0 });
            }
        }
        Ok(())
    }

    fn remove_oldest(&mut self) -> Result<(), SpoolError> {
        let Some(seg) = self.segments.pop_front() else {
            return Ok(());
        };
        if self.segments.is_empty() {
            self.active = None;
        }
        self.bytes -= seg.bytes;
        std::fs::remove_file(&seg.path).map_err(|source| SpoolError::Segment {
            path: seg.path,
            source,
        })
    }
}

/// Takes the advisory lock of the spool in `dir` (created if missing), or fails with
/// [`SpoolError::Locked`] when another process holds it.
fn lock_dir(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join(LOCK_FILE_NAME);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| SpoolError::Dir {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SpoolError::Locked {
            path: dir.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(SpoolError::Dir { path, source }),
    }
}

/// The segment files in `dir`, by index.
fn segment_files(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let index = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(SEGMENT_SUFFIX))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(index) = index {
            found.push((index, path));
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// The rows of a segment up to its first bad record, and where that record starts.
/// A segment without the magic has no good byte.
fn decode_segment(bytes: &[u8]) -> (Vec<Row>, usize) {
    if !bytes.starts_with(MAGIC) {
        return (Vec::new(), 0);
    }
    let mut rows = Vec::new();
    let mut at = MAGIC.len();
    while let Some((row, len)) = decode_frame(&bytes[at..]) {
        rows.push(row);
        at += len;
    }
    (rows, at)
}

/// One record at the start of `bytes`, and its length; `None` if it is cut short,
/// fails its checksum or does not decode.
fn decode_frame(bytes: &[u8]) -> Option<(Row, usize)> {
    let header = bytes.get(..FRAME_HEADER_BYTES)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    if len > RECORD_BYTES_MAX {
        return None;
    }
    let payload = bytes.get(FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + len)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let row = decode_row(payload)?;
    Some((row, FRAME_HEADER_BYTES + len))
}

/// One row as a self-checking message (the spool's record: length, CRC-32, payload),
/// for carrying rows elsewhere than the spool (the NATS publisher).
pub fn encode_message(row: &Row) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 16 * row.values.len());
    encode_frame(row, &mut out);
    out
}

/// The row of a message made by [`encode_message`]; `None` when it is cut short, has
/// bytes after its record, fails its checksum, names an unknown table or does not
/// decode.
pub fn decode_message(bytes: &[u8]) -> Option<Row> {
    match decode_frame(bytes)? {
        (row, len) if len == bytes.len() => Some(row),
        _ => None,
    }
}

/// Appends the record of `row` (header and payload) to `out`.
fn encode_frame(row: &Row, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    out.push(row.table.code);
    put_str16(out, &row.run_id);
    out.extend_from_slice(&row.seq.to_le_bytes());
    let count = u16::try_from(row.values.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&count.to_le_bytes());
    for value in row.values.iter().take(usize::from(count)) {
        encode_value(value, out);
    }
    let payload = &out[start + FRAME_HEADER_BYTES..];
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0),
        Value::Int(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Value::Real(v) => {
            out.push(2);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Value::Bool(v) => out.extend_from_slice(&[3, u8::from(*v)]),
        Value::Text(s) => {
            out.push(4);
            let bytes = s.as_bytes();
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&bytes[..len as usize]);
        }
        Value::Time(ns) => {
            out.push(5);
            out.extend_from_slice(&ns.to_le_bytes());
        }
    }
}

/// `s` as a `u16` length and bytes (cut at 65,535 bytes, on a character boundary).
fn put_str16(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let len = u16::try_from(end).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// A reader over a record payload.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn str(&mut self, len: usize) -> Option<&'a str> {
        std::str::from_utf8(self.take(len)?).ok()
    }
}

fn decode_row(payload: &[u8]) -> Option<Row> {
    let mut cur = Cursor(payload);
    let table = table_by_code(cur.array::<1>()?[0])?;
    let run_len = u16::from_le_bytes(cur.array()?);
    let run_id: Arc<str> = cur.str(usize::from(run_len))?.into();
    let seq = i64::from_le_bytes(cur.array()?);
    let count = usize::from(u16::from_le_bytes(cur.array()?));
    if count != table.columns.len() {
        return None;
    }
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        values.push(decode_value(&mut cur)?);
    }
    cur.0.is_empty().then_some(Row {
        table,
        run_id,
        seq,
        values,
    })
}

fn decode_value(cur: &mut Cursor<'_>) -> Option<Value> {
    Some(match cur.array::<1>()?[0] {
        0 => Value::Null,
        1 => Value::Int(i64::from_le_bytes(cur.array()?)),
        2 => Value::Real(f64::from_bits(u64::from_le_bytes(cur.array()?))),
        3 => Value::Bool(cur.array::<1>()?[0] != 0),
        4 => {
            let len = u32::from_le_bytes(cur.array()?) as usize;
            Value::Text(cur.str(len)?.to_owned())
        }
        5 => Value::Time(i64::from_le_bytes(cur.array()?)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::db::record::fixtures::opportunity_rows;
    use crate::telemetry::db::row::RowKeys;

    fn rows(n: usize) -> Vec<Row> {
        opportunity_rows(&mut RowKeys::new(9, 9), n)
    }

    /// Every waiting row, oldest first, consuming them.
    fn drain(spool: &mut Spool) -> Vec<Row> {
        let mut out = Vec::new();
        loop {
            let batch = spool.peek(7).unwrap().to_vec();
            if batch.is_empty() {
                return out;
            }
            spool.consume(batch.len()).unwrap();
            out.extend(batch);
        }
    }

    fn segments(dir: &Path) -> Vec<PathBuf> {
        segment_files(dir)
            .unwrap()
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    }

    #[test]
    fn test_spool_keeps_order_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, recovered) =
            Spool::open_with_segment_bytes(dir.path(), 1 << 20, 2_000).unwrap();
        assert_eq!(recovered, Recovered::default());
        let all = rows(40);
        assert_eq!(spool.append(&all[..25]), 25);
        assert_eq!(spool.peek(3).unwrap(), &all[..3], "peek seals the head");
        assert_eq!(spool.append(&all[25..]), 15);
        assert!(segments(dir.path()).len() > 3, "small segments rotate");
        assert_eq!(spool.rows(), 40);
        assert_eq!(drain(&mut spool), all);
        assert!(spool.is_empty());
        assert_eq!(spool.bytes(), 0);
        assert!(
            segments(dir.path()).is_empty(),
            "written segments are deleted"
        );
    }

    #[test]
    fn test_spool_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let all = rows(30);
        {
            let (mut spool, _) =
                Spool::open_with_segment_bytes(dir.path(), 1 << 20, 3_000).unwrap();
            assert_eq!(spool.append(&all), 30);
            let first = spool.peek(100).unwrap().len();
            spool.consume(first).unwrap();
            assert_eq!(spool.rows(), 30 - first as u64);
        }
        let (mut spool, recovered) = Spool::open(dir.path(), 1 << 20).unwrap();
        let first_segment = 30 - usize::try_from(recovered.rows).unwrap();
        assert!(first_segment > 0 && recovered.rows > 0);
        assert_eq!(recovered.torn_bytes, 0);
        assert_eq!(drain(&mut spool), all[first_segment..]);
        assert_eq!(spool.append(&all[..2]), 2, "appends go on after a restart");
        assert_eq!(drain(&mut spool), all[..2]);
    }

    #[test]
    fn test_spool_drops_torn_tail_at_last_good_record() {
        let dir = tempfile::tempdir().unwrap();
        let all = rows(5);
        {
            let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
            assert_eq!(spool.append(&all), 5);
        }
        let path = segments(dir.path()).remove(0);
        let full = std::fs::read(&path).unwrap();
        let mut one = Vec::new();
        encode_frame(&all[4], &mut one);
        let good_len = full.len() - one.len();
        // A crash mid-append: the last record cut short.
        std::fs::write(&path, &full[..full.len() - 10]).unwrap();
        let (mut spool, recovered) = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(recovered.rows, 4);
        assert_eq!(recovered.torn_bytes, (one.len() - 10) as u64);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len as u64);
        assert_eq!(
            spool.append(&all[4..]),
            1,
            "appends after the cut stay readable"
        );
        drop(spool);
        let (mut spool, recovered) = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            recovered,
            Recovered {
                rows: 5,
                torn_bytes: 0
            }
        );
        assert_eq!(drain(&mut spool), all);
    }

    #[test]
    fn test_spool_checksum_mismatch_ends_segment() {
        let dir = tempfile::tempdir().unwrap();
        let all = rows(3);
        {
            let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
            assert_eq!(spool.append(&all), 3);
        }
        let path = segments(dir.path()).remove(0);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (mut spool, recovered) = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(recovered.rows, 2);
        assert!(recovered.torn_bytes > 0);
        assert_eq!(drain(&mut spool), all[..2]);
    }

    #[test]
    fn test_spool_garbage_segment_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("00000000000000000003.spool"),
            b"not a spool",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"left alone").unwrap();
        let (mut spool, recovered) = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            recovered,
            Recovered {
                rows: 0,
                torn_bytes: 11
            }
        );
        assert!(segments(dir.path()).is_empty());
        assert!(dir.path().join("notes.txt").exists());
        assert_eq!(spool.append(&rows(1)), 1);
        assert!(segments(dir.path())[0].ends_with("00000000000000000004.spool"));
    }

    /// A creation that failed half-way (the process died, or the disk filled after the
    /// file was made) leaves an empty file at the next index: it must not block every
    /// later creation.
    #[test]
    fn test_spool_leftover_empty_segment_does_not_block_appends() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
        std::fs::write(dir.path().join("00000000000000000000.spool"), b"").unwrap();
        std::fs::write(dir.path().join("00000000000000000001.spool"), b"EDL").unwrap();
        let all = rows(3);
        assert_eq!(spool.append(&all), 3, "stored past the leftovers");
        assert_eq!(spool.dropped(), 0);
        assert_eq!(drain(&mut spool), all);
    }

    #[test]
    fn test_spool_dir_is_locked_to_one_spool() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Spool::open(dir.path(), 1 << 20).unwrap();
        let err = Spool::open(dir.path(), 1 << 20).unwrap_err();
        assert!(matches!(err, SpoolError::Locked { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&dir.path().display().to_string()) && text.contains("spool_dir"),
            "{text}"
        );
        drop(first);
        assert!(
            Spool::open(dir.path(), 1 << 20).is_ok(),
            "free once dropped"
        );
        assert!(
            segments(dir.path()).is_empty(),
            "the lock file is no segment"
        );
    }

    #[test]
    fn test_spool_bound_drops_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let all = rows(100);
        let mut one = Vec::new();
        encode_frame(&all[0], &mut one);
        let max = (MAGIC.len() + 10 * one.len() + one.len() / 2) as u64;
        let (mut spool, _) = Spool::open(dir.path(), max).unwrap();
        assert_eq!(spool.append(&all[..4]), 4);
        assert_eq!(spool.append(&all[4..20]), 6, "ten rows fit the bound");
        assert_eq!(spool.dropped(), 10);
        assert_eq!((spool.dropped_full(), spool.dropped_failed()), (10, 0));
        assert!(spool.bytes() <= max);
        let head = spool.peek(100).unwrap().to_vec();
        assert_eq!(head, all[..10]);
        spool.consume(10).unwrap();
        assert_eq!(spool.append(&all[20..25]), 5, "room again once written");
        assert_eq!(spool.dropped(), 10);
        assert_eq!(drain(&mut spool), all[20..25]);
    }
}
