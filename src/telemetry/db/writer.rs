//! The database writer: rows go to the backend, or to the spool while the backend
//! refuses them, and from the spool back to the backend, in order, when it returns.
//!
//! [`DbWriter`] is the logic; [`WriterThread`] runs it on a thread of its own (cold,
//! unpinned), fed batches by the sidecar over a bounded channel, so a slow or hanging
//! database never stalls the sidecar, let alone the hot path. Allocates per batch.
//!
//! Order: while any row waits in the spool, new batches are appended behind it, never
//! written past it. Retries back off from the flush interval to [`RETRY_DELAY_MAX`].
//! Nothing is lost unless the spool itself is full or its disk fails; those rows are
//! counted ([`WriterStats::rows_dropped`]) and logged as errors.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use crate::runtime::clock::monotonic_now;
use crate::telemetry::db::Backend;
use crate::telemetry::db::row::Row;
use crate::telemetry::db::spool::Spool;

/// Longest wait between two attempts to reach a database that refuses writes.
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(5);

/// Batches queued between the sidecar and the writer thread.
pub const QUEUE_BATCHES: usize = 8;

/// Shortest wake-up interval of the writer thread, so a zero flush interval does not
/// make it spin.
pub const WRITER_TICK_MIN: Duration = Duration::from_millis(1);

/// Spool batches replayed per call before the writer looks at its queue again.
const REPLAY_BATCHES_PER_CALL: usize = 64;

/// What the writer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Rows inserted.
    pub rows_written: u64,
    /// Rows the database already had (replays of rows it took before a failure).
    pub rows_duplicate: u64,
    /// Rows appended to the spool.
    pub rows_spooled: u64,
    /// Rows still waiting in the spool (written at the next start).
    pub rows_waiting: u64,
    /// Rows lost: the spool was full or its disk failed (the sum of the next two).
    pub rows_dropped: u64,
    /// Rows lost because the spool was full (`spool_max_bytes`).
    pub rows_dropped_spool_full: u64,
    /// Rows lost because the spool's disk refused them (no space left, I/O errors).
    pub rows_dropped_disk: u64,
    /// Failed database writes.
    pub db_errors: u64,
    /// Spool bytes dropped at torn or corrupt tails.
    pub spool_torn_bytes: u64,
}

/// Backend plus spool.
pub struct DbWriter {
    backend: Box<dyn Backend>,
    spool: Spool,
    batch_rows: usize,
    retry_base: Duration,
    retry_delay: Duration,
    retry_at: Option<Instant>,
    stats: WriterStats,
}

impl DbWriter {
    /// A writer over `backend` and `spool`, replaying `batch_rows` rows per transaction
    /// and retrying after `retry_base` (doubling to [`RETRY_DELAY_MAX`]). Rows already in
    /// the spool are replayed at the first [`DbWriter::replay_if_due`].
    pub fn new(
        backend: Box<dyn Backend>,
        spool: Spool,
        batch_rows: usize,
        retry_base: Duration,
    ) -> Self {
        if !spool.is_empty() {
            log::warn!(
                "{} rows from an earlier run wait in the spool {}; replaying them into {}",
                spool.rows(),
                spool.dir().display(),
                backend.target()
            );
        }
        Self {
            backend,
            spool,
            batch_rows: batch_rows.max(1),
            retry_base,
            retry_delay: retry_base,
            retry_at: None,
            stats: WriterStats::default(),
        }
    }

    /// Writes `batch` (one transaction), or spools it behind the rows already waiting
    /// (the caller replays them with [`DbWriter::replay_if_due`]).
    pub fn write(&mut self, batch: &[Row], now: Instant) {
        if batch.is_empty() {
            return;
        }
        self.collect_late();
        if self.spool.is_empty() {
            match self.backend.write(batch) {
                Ok(inserted) => self.count_written(batch.len(), inserted),
                Err(err) => {
                    log::warn!("{err}; spooling rows until the database takes them");
                    self.failed(now);
                    self.spool(batch);
                }
            }
        } else {
            self.spool(batch);
        }
    }

    fn spool(&mut self, batch: &[Row]) {
        let stored = self.spool.append(batch);
        self.stats.rows_spooled += stored as u64;
    }

    fn count_written(&mut self, rows: usize, inserted: usize) {
        self.stats.rows_written += inserted as u64;
        self.stats.rows_duplicate += (rows - inserted.min(rows)) as u64;
    }

    /// Counts rows that calls reported failed inserted after all (they timed out, then
    /// committed): they are in the database, so they are written.
    fn collect_late(&mut self) {
        self.stats.rows_written += self.backend.take_late_inserted();
    }

    fn failed(&mut self, now: Instant) {
        self.stats.db_errors += 1;
        self.retry_at = Some(now + self.retry_delay);
        self.retry_delay = (self.retry_delay * 2).min(RETRY_DELAY_MAX);
    }

    /// Replays spooled rows, oldest first, when a retry is due.
    pub fn replay_if_due(&mut self, now: Instant) {
        self.collect_late();
        if self.spool.is_empty() || self.retry_at.is_some_and(|at| now < at) {
            return;
        }
        for _ in 0..REPLAY_BATCHES_PER_CALL {
            if !self.replay_one(now) {
                return;
            }
        }
    }

    /// Writes the oldest spooled batch; returns whether to go on.
    fn replay_one(&mut self, now: Instant) -> bool {
        let rows = match self.spool.peek(self.batch_rows) {
            Ok([]) => return false,
            Ok(rows) => rows,
            Err(err) => {
                log::error!("{err}; retrying later");
                self.failed(now);
                return false;
            }
        };
        let n = rows.len();
        match self.backend.write(rows) {
            Ok(inserted) => {
                self.count_written(n, inserted);
                if let Err(err) = self.spool.consume(n) {
                    log::error!("{err}");
                }
                self.retry_at = None;
                self.retry_delay = self.retry_base;
                if self.spool.is_empty() {
                    log::info!("database {} has every spooled row", self.backend.target());
                }
                !self.spool.is_empty()
            }
            Err(err) => {
                log::warn!("{err}; {} rows wait in the spool", self.spool.rows());
                self.failed(now);
                false
            }
        }
    }

    /// The figures so far.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            rows_waiting: self.spool.rows(),
            rows_dropped: self.spool.dropped(),
            rows_dropped_spool_full: self.spool.dropped_full(),
            rows_dropped_disk: self.spool.dropped_failed(),
            spool_torn_bytes: self.spool.torn_bytes(),
            ..self.stats
        }
    }

    /// A last replay attempt (if the database is reachable now); reports what is left.
    pub fn finish(&mut self) -> WriterStats {
        self.retry_at = None;
        while !self.spool.is_empty() && self.retry_at.is_none() {
            self.replay_one(monotonic_now());
        }
        self.collect_late();
        let stats = self.stats();
        if stats.rows_waiting > 0 {
            log::error!(
                "{} rows could not reach {} and wait in the spool {}: they are written at the next start",
                stats.rows_waiting,
                self.backend.target(),
                self.spool.dir().display()
            );
        }
        if stats.rows_dropped > 0 {
            log::error!(
                "{} database rows were LOST in the spool {}: {} because it was full (spool_max_bytes), {} because its disk refused them",
                stats.rows_dropped,
                self.spool.dir().display(),
                stats.rows_dropped_spool_full,
                stats.rows_dropped_disk
            );
        }
        stats
    }
}

/// A [`DbWriter`] on a thread of its own.
pub struct WriterThread {
    tx: Option<Sender<Vec<Row>>>,
    handle: Option<JoinHandle<WriterStats>>,
    live: Arc<Mutex<WriterStats>>,
}

impl WriterThread {
    /// Starts the thread; it wakes at least every `tick` (at least
    /// [`WRITER_TICK_MIN`]) to retry.
    pub fn spawn(writer: DbWriter, tick: Duration) -> std::io::Result<Self> {
        Self::spawn_named(writer, tick, "edgeline-db")
    }

    /// [`WriterThread::spawn`] with another thread name (the NATS publisher's).
    pub fn spawn_named(writer: DbWriter, tick: Duration, name: &str) -> std::io::Result<Self> {
        let tick = tick.max(WRITER_TICK_MIN);
        let (tx, rx) = bounded(QUEUE_BATCHES);
        let live = Arc::new(Mutex::new(writer.stats()));
        let shared = Arc::clone(&live);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(writer, &rx, tick, &shared))?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
            live,
        })
    }

    /// The writer's figures as of its last wake-up (for the status board).
    pub fn stats(&self) -> WriterStats {
        *self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the queue has no room for a batch (the sidecar, its only sender, then
    /// knows a send right after a `false` here finds room).
    pub fn is_full(&self) -> bool {
        self.tx.as_ref().is_none_or(Sender::is_full)
    }

    /// Queues a batch; gives it back when the queue is full.
    pub fn try_send(&self, batch: Vec<Row>) -> Result<(), Vec<Row>> {
        let Some(tx) = &self.tx else {
            return Err(batch);
        };
        tx.try_send(batch).map_err(|e| match e {
            TrySendError::Full(b) | TrySendError::Disconnected(b) => b,
        })
    }

    /// Queues a batch, waiting for room (end of run).
    pub fn send(&self, batch: Vec<Row>) -> Result<(), Vec<Row>> {
        match &self.tx {
            Some(tx) => tx.send(batch).map_err(|e| e.0),
            None => Err(batch),
        }
    }

    /// Closes the queue, lets the thread write what is queued, and returns its figures.
    pub fn finish(mut self) -> WriterStats {
        self.tx = None;
        let handle = self.handle.take();
        match handle.map(JoinHandle::join) {
            Some(Ok(stats)) => stats,
            _ => {
                log::error!("the database writer thread panicked");
                WriterStats::default()
            }
        }
    }
}

/// The thread: writes (or spools) every queued batch, then replays when due. The queue
/// is emptied before each replay, which may block on an unreachable server for up to
/// its connect timeout, so the queue has its whole capacity for that wait.
fn run(
    mut writer: DbWriter,
    rx: &Receiver<Vec<Row>>,
    tick: Duration,
    live: &Mutex<WriterStats>,
) -> WriterStats {
    loop {
        match rx.recv_timeout(tick) {
            Ok(batch) => {
                writer.write(&batch, monotonic_now());
                for batch in rx.try_iter() {
                    writer.write(&batch, monotonic_now());
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        writer.replay_if_due(monotonic_now());
        *live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = writer.stats();
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::telemetry::db::DbError;
    use crate::telemetry::db::record::fixtures::opportunity_rows;
    use crate::telemetry::db::row::RowKeys;

    /// A database that is up or down at the test's command and keeps row keys.
    #[derive(Clone, Default)]
    struct Fake {
        down: Arc<AtomicBool>,
        stored: Arc<Mutex<Vec<i64>>>,
    }

    impl Backend for Fake {
        fn write(&mut self, rows: &[Row]) -> Result<usize, DbError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(DbError::Write {
                    target: "fake".into(),
                    rows: rows.len(),
                    source: "down".into(),
                });
            }
            let mut stored = self.stored.lock().unwrap();
            let before = stored.len();
            for row in rows {
                if !stored.contains(&row.seq) {
                    stored.push(row.seq);
                }
            }
            Ok(stored.len() - before)
        }

        fn target(&self) -> &str {
            "fake"
        }
    }

    fn writer(fake: &Fake, dir: &std::path::Path, base: Duration) -> DbWriter {
        let (spool, _) = Spool::open(dir, 1 << 20).unwrap();
        DbWriter::new(Box::new(fake.clone()), spool, 7, base)
    }

    #[test]
    fn test_writer_spools_while_down_and_replays_in_order_when_due() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Fake::default();
        let base = Duration::from_millis(10);
        let mut w = writer(&fake, dir.path(), base);
        let rows = opportunity_rows(&mut RowKeys::new(1, 1), 40);
        let t0 = monotonic_now();
        w.write(&rows[..10], t0);
        fake.down.store(true, Ordering::SeqCst);
        w.write(&rows[10..20], t0);
        fake.down.store(false, Ordering::SeqCst);
        w.write(&rows[20..30], t0);
        w.replay_if_due(t0 + base / 2);
        assert_eq!(
            w.stats().rows_waiting,
            20,
            "not due yet: nothing passes the spool"
        );
        w.replay_if_due(t0 + base);
        w.write(&rows[30..], t0 + base);
        let stats = w.finish();
        assert_eq!((stats.rows_written, stats.rows_spooled), (40, 20));
        assert_eq!((stats.db_errors, stats.rows_waiting), (1, 0));
        assert_eq!(*fake.stored.lock().unwrap(), (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn test_writer_backs_off_to_the_maximum() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Fake::default();
        fake.down.store(true, Ordering::SeqCst);
        let base = Duration::from_secs(1);
        let mut w = writer(&fake, dir.path(), base);
        let rows = opportunity_rows(&mut RowKeys::new(1, 1), 1);
        let mut now = monotonic_now();
        w.write(&rows, now);
        for expected_errors in 2..=6 {
            now += RETRY_DELAY_MAX;
            w.replay_if_due(now);
            assert_eq!(w.stats().db_errors, expected_errors);
        }
        // 1, 2, 4, 5, 5 s: the delay is capped.
        assert_eq!(w.retry_delay, RETRY_DELAY_MAX);
        w.replay_if_due(now + RETRY_DELAY_MAX - Duration::from_millis(1));
        assert_eq!(w.stats().db_errors, 6);
    }

    #[test]
    fn test_writer_thread_publishes_drops_while_running() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Fake::default();
        fake.down.store(true, Ordering::SeqCst);
        let (spool, _) = Spool::open(dir.path(), 2_000).unwrap();
        let w = DbWriter::new(Box::new(fake), spool, 7, Duration::from_secs(3600));
        let thread = WriterThread::spawn(w, Duration::from_millis(1)).unwrap();
        assert_eq!(thread.stats(), WriterStats::default());
        thread
            .send(opportunity_rows(&mut RowKeys::new(1, 1), 100))
            .unwrap();
        let mut polls = 0;
        while thread.stats().rows_dropped == 0 {
            polls += 1;
            assert!(polls < 10_000_000, "no drop published");
            std::thread::yield_now();
        }
        let live = thread.stats();
        assert_eq!(live.rows_spooled + live.rows_dropped, 100, "{live:?}");
        assert!(
            live.rows_spooled > 0,
            "the rows that fit are kept: {live:?}"
        );
        let stats = thread.finish();
        assert_eq!(stats.rows_dropped, live.rows_dropped);
        assert_eq!(stats.rows_waiting, live.rows_spooled);
    }

    #[test]
    fn test_writer_thread_delivers_every_batch() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Fake::default();
        let thread =
            WriterThread::spawn(writer(&fake, dir.path(), Duration::ZERO), Duration::ZERO).unwrap();
        let rows = opportunity_rows(&mut RowKeys::new(1, 1), 50);
        for batch in rows.chunks(10) {
            thread.send(batch.to_vec()).unwrap();
        }
        let stats = thread.finish();
        assert_eq!((stats.rows_written, stats.rows_spooled), (50, 0));
        assert_eq!(*fake.stored.lock().unwrap(), (0..50).collect::<Vec<_>>());
    }
}
