//! The recorder's two ends. [`RecorderTap`] lives in the feed stage (hot path): it copies
//! each frame, behind a 20-byte header carrying the raw receive time, into an SPSC byte
//! ring (rtrb) allocated at start-up: no allocation, no lock, no system call; a frame
//! that does not fit is dropped and counted, never waited for. The `edgeline-record`
//! thread (cold) drains the ring, converts raw ticks to unix nanoseconds with the run's
//! clock and hands frames to the [`RecordingWriter`]; it writes a block when it is full
//! or older than `flush_after`, and the last one when the tap is finished.

use std::mem::MaybeUninit;
use std::thread::JoinHandle;
use std::time::Duration;

use rtrb::{Consumer, Producer, RingBuffer};

use crate::record::RecordError;
use crate::record::format::{
    FRAME_HEADER_BYTES, FrameKind, FrameRef, Header, frame_header, next_frame,
};
use crate::record::settings::RecordSettings;
use crate::record::writer::{RecordingWriter, WriteSummary};
use crate::runtime::RunReport;
use crate::runtime::clock::{self, Clock};
use crate::types::InstrumentId;

/// Connection index written for REST snapshots (they name their instrument instead).
pub const SNAPSHOT_CONNECTION: u16 = u16::MAX;
/// Frames the recorder thread moves per round before checking its block timer.
const FRAMES_PER_ROUND_MAX: usize = 4096;
/// The recorder thread's sleep when the ring is empty: frames wait at most this long in
/// the ring (it has room for far more than this at any venue's rate).
const IDLE_SLEEP: Duration = Duration::from_millis(1);
/// Drops logged in full before logging only every 10,000th.
const DROPS_LOGGED_MAX: u64 = 3;

/// The feed thread's end of the recorder.
pub struct RecorderTap {
    ring: Producer<u8>,
    frames: u64,
    dropped: u64,
    thread: Option<JoinHandle<Result<WriteSummary, RecordError>>>,
}

impl RecorderTap {
    /// Creates the writer (and its folder) and starts the recorder thread.
    pub fn start(
        settings: RecordSettings,
        header: &Header,
        clock: Clock,
    ) -> Result<Self, RecordError> {
        let writer = RecordingWriter::new(settings.clone(), header)?;
        let (ring, rx) = RingBuffer::new(settings.ring_bytes);
        let flush_after = settings.flush_after;
        let thread = std::thread::Builder::new()
            .name("edgeline-record".into())
            .spawn(move || drain(rx, writer, &clock, flush_after))
            .map_err(|source| RecordError::Io {
                path: settings.dir,
                source,
            })?;
        Ok(Self {
            ring,
            frames: 0,
            dropped: 0,
            thread: Some(thread),
        })
    }

    /// Records a data frame of connection `connection` read at `ts_recv_raw`.
    #[inline]
    pub fn frame(&mut self, connection: usize, ts_recv_raw: u64, payload: &[u8]) {
        let connection = u16::try_from(connection).unwrap_or(SNAPSHOT_CONNECTION - 1);
        self.put(FrameRef {
            ts_ns: ts_recv_raw,
            connection,
            kind: FrameKind::Data,
            instrument: 0,
            payload,
        });
    }

    /// Records a REST snapshot body of `instrument` decoded at `ts_recv_raw`.
    pub fn snapshot(&mut self, instrument: InstrumentId, ts_recv_raw: u64, body: &[u8]) {
        self.put(FrameRef {
            ts_ns: ts_recv_raw,
            connection: SNAPSHOT_CONNECTION,
            kind: FrameKind::Snapshot,
            instrument: instrument.0,
            payload: body,
        });
    }

    /// Frames dropped so far because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn put(&mut self, frame: FrameRef<'_>) {
        let header = frame_header(&frame);
        let need = FRAME_HEADER_BYTES + frame.payload.len();
        let Ok(mut chunk) = self.ring.write_chunk_uninit(need) else {
            self.dropped += 1;
            if self.dropped <= DROPS_LOGGED_MAX || self.dropped.is_multiple_of(10_000) {
                log::warn!("record: ring full, {} frames dropped so far", self.dropped);
            }
            return;
        };
        let (first, second) = chunk.as_mut_slices();
        write_split(first, second, 0, &header);
        write_split(first, second, FRAME_HEADER_BYTES, frame.payload);
        // SAFETY: the chunk has `need` slots (`first` then `second`) and the two copies
        // above initialised all of them: the header's FRAME_HEADER_BYTES, then the
        // payload's remaining `need - FRAME_HEADER_BYTES`.
        unsafe { chunk.commit_all() };
        self.frames += 1;
    }

    /// Stops the recorder thread after it wrote everything in the ring; adds the
    /// figures to the report.
    pub fn finish(mut self, report: &mut RunReport) {
        let thread = self.thread.take();
        let (frames, dropped) = (self.frames, self.dropped);
        drop(self);
        let outcome = thread.map(|t| t.join());
        report.set("record.frames_dropped", dropped);
        match outcome {
            Some(Ok(Ok(summary))) => {
                report.set("record.frames", summary.frames);
                report.set("record.blocks", summary.blocks);
                report.set("record.bytes", summary.bytes);
                report.set("record.files", summary.files.len() as u64);
                report.notes.extend(
                    summary
                        .files
                        .iter()
                        .map(|f| format!("recorded {}", f.display())),
                );
            }
            Some(Ok(Err(e))) => {
                log::error!("record: stopped: {e}");
                report.notes.push(format!("recording failed: {e}"));
            }
            Some(Err(_)) | None => log::error!("record: the recorder thread panicked"),
        }
        report.set("record.frames_offered", frames + dropped);
    }
}

/// Copies `src` into the concatenation of `first` and `second`, from `offset`.
#[inline]
fn write_split(
    first: &mut [MaybeUninit<u8>],
    second: &mut [MaybeUninit<u8>],
    offset: usize,
    src: &[u8],
) {
    let in_first = first.len().saturating_sub(offset).min(src.len());
    if in_first > 0 {
        first[offset..offset + in_first].write_copy_of_slice(&src[..in_first]);
    }
    let rest = &src[in_first..];
    if !rest.is_empty() {
        let at = offset + in_first - first.len();
        second[at..at + rest.len()].write_copy_of_slice(rest);
    }
}

/// The recorder thread: drains the ring into the writer until the tap is gone and the
/// ring empty, then writes the last block.
fn drain(
    mut rx: Consumer<u8>,
    mut writer: RecordingWriter,
    clock: &Clock,
    flush_after: Duration,
) -> Result<WriteSummary, RecordError> {
    let mut buf = Vec::with_capacity(64 << 10);
    let mut block_started = None;
    loop {
        let mut moved = 0;
        while moved < FRAMES_PER_ROUND_MAX && pop(&mut rx, &mut buf) {
            let mut at = 0;
            if let Ok(Some(frame)) = next_frame(&buf, &mut at) {
                let ts_ns = clock.unix_ns(frame.ts_ns);
                writer
                    .append(&FrameRef { ts_ns, ..frame })
                    .inspect_err(|e| {
                        log::error!("record: {e}; recording stops");
                    })?;
            }
            moved += 1;
        }
        let now = clock::monotonic_now();
        match block_started {
            _ if !writer.has_pending() => block_started = None,
            None => block_started = Some(now),
            Some(start) if now.duration_since(start) >= flush_after => {
                writer.flush_block()?;
                block_started = None;
            }
            Some(_) => {}
        }
        if moved == 0 {
            if rx.is_abandoned() && rx.is_empty() {
                return writer.finish();
            }
            clock::sleep(IDLE_SLEEP);
        }
    }
}

/// Moves one whole record (header and payload, committed together by the tap) from the
/// ring into `buf`; false when the ring holds none.
fn pop(rx: &mut Consumer<u8>, buf: &mut Vec<u8>) -> bool {
    let mut header = [0u8; FRAME_HEADER_BYTES];
    {
        // Peeked, not committed: the whole record is read below.
        let Ok(head) = rx.read_chunk(FRAME_HEADER_BYTES) else {
            return false;
        };
        let (a, b) = head.as_slices();
        header[..a.len()].copy_from_slice(a);
        header[a.len()..].copy_from_slice(b);
    }
    let len = u32::from_le_bytes([header[16], header[17], header[18], header[19]]) as usize;
    let Ok(record) = rx.read_chunk(FRAME_HEADER_BYTES + len) else {
        return false;
    };
    let (a, b) = record.as_slices();
    buf.clear();
    buf.extend_from_slice(a);
    buf.extend_from_slice(b);
    record.commit_all();
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::reader::read_all;

    #[test]
    fn test_tap_records_frames_and_snapshots_with_unix_receive_times() {
        let dir = tempfile::tempdir().unwrap();
        let (clock, mock) = Clock::replayed();
        let mut tap = RecorderTap::start(
            RecordSettings {
                ring_bytes: 1 << 16,
                ..RecordSettings::new(dir.path().to_path_buf())
            },
            &Header::default(),
            clock.clone(),
        )
        .unwrap();
        let mut sent = Vec::new();
        for i in 0..2000u64 {
            mock.increment(1_000u64);
            let payload = format!("{{\"frame\":{i}}}");
            tap.frame(
                usize::try_from(i % 3).unwrap(),
                clock.raw(),
                payload.as_bytes(),
            );
            sent.push(payload);
            if i % 100 == 0 {
                clock::sleep(Duration::from_millis(1));
            }
        }
        tap.snapshot(InstrumentId(4), clock.raw(), b"{\"lastUpdateId\":1}");
        let dropped = tap.dropped();
        let mut report = RunReport::default();
        tap.finish(&mut report);
        let path = dir.path().read_dir().unwrap().flatten().map(|e| e.path());
        let path = path
            .collect::<Vec<_>>()
            .into_iter()
            .find(|p| p.extension() == Some("edrec".as_ref()))
            .unwrap();
        let frames = read_all(&path).unwrap();
        assert_eq!(frames.len() as u64 + dropped, 2001);
        assert_eq!(report.counter("record.frames"), frames.len() as u64);
        assert_eq!(report.counter("record.frames_dropped"), dropped);
        let last = frames.last().unwrap();
        assert_eq!(last.kind, FrameKind::Snapshot);
        assert_eq!(last.connection, SNAPSHOT_CONNECTION);
        assert_eq!(last.ts_ns, 2_000_000);
        let data: Vec<_> = frames
            .iter()
            .filter(|f| f.kind == FrameKind::Data)
            .collect();
        assert!(data.windows(2).all(|w| w[0].ts_ns < w[1].ts_ns));
        for f in data {
            let i = f.ts_ns / 1_000 - 1;
            assert_eq!(f.payload, sent[usize::try_from(i).unwrap()].as_bytes());
            assert_eq!(u64::from(f.connection), i % 3);
        }
    }

    #[test]
    fn test_a_frame_larger_than_the_ring_is_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut tap = RecorderTap::start(
            RecordSettings {
                ring_bytes: 1024,
                ..RecordSettings::new(dir.path().to_path_buf())
            },
            &Header::default(),
            Clock::new(),
        )
        .unwrap();
        tap.frame(0, 1, &[b'x'; 2000]);
        tap.frame(0, 2, b"small");
        assert_eq!(tap.dropped(), 1);
        let mut report = RunReport::default();
        tap.finish(&mut report);
        assert_eq!(report.counter("record.frames"), 1);
    }
}
