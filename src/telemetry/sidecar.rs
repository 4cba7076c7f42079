//! The telemetry sidecar stage: drains the hot path's sample and record rings into
//! latency histograms and the database writer, prints progress lines, starts latency
//! dumps ([`crate::telemetry::dump`], periodic and final; their files are written on a
//! thread of their own), and at the end of the run writes the `.hgrm` files, the
//! percentile table and the report figures.
//!
//! Runs on its own (cold) core, never on the hot path. It may allocate, within bounds:
//! histograms are sized in [`TelemetryStage::new`]; each `poll` drains at most
//! [`SAMPLES_PER_POLL_MAX`] samples per ring and [`RECORDS_PER_POLL_MAX`] records, and
//! turns records into rows of at most one pending batch (`batch_rows`). Full or old
//! batches go to the database writer thread ([`WriterThread`]), which writes them or
//! spools them on disk; when its queue is full the sidecar stops draining the record
//! ring, so the edge stage drops and counts records instead of this thread growing
//! without bound. With `[nats]` on, every batch also goes to the NATS writer thread
//! ([`crate::telemetry::nats::publisher`]), which publishes it or spools it in its own
//! spool; a batch leaves the pending rows only when both queues have room.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::CreationError;
use rtrb::Consumer;

use crate::edge::opportunity::BasisOpportunity;
use crate::edge::spread_opportunity::{RejectReason, SpreadRecord};
use crate::runtime::clock::monotonic_now;
use crate::runtime::{Clock, RunReport, Stage, StageKind};
use crate::stats::PipelineStats;
use crate::telemetry::db::latency_snapshot::{Scope, snapshot_row};
use crate::telemetry::db::record::{Record, RowContext};
use crate::telemetry::db::row::{Row, RowKeys};
use crate::telemetry::db::spool::{Spool, SpoolError};
use crate::telemetry::db::writer::{DbWriter, WriterStats, WriterThread};
use crate::telemetry::db::{BATCH_ROWS_MAX, DatabaseSettings, DbError};
use crate::telemetry::dump::Dumper;
use crate::telemetry::dump_files::{DUMP_DIR_NAME, DumpOutcome};
use crate::telemetry::gateway_sink::GatewaySink;
use crate::telemetry::hgrm::write_hgrm_file;
use crate::telemetry::histograms::{LatencyHistograms, percentile_table};
use crate::telemetry::nats::NatsSettings;
use crate::telemetry::nats::publisher::{self, PublisherError};
use crate::telemetry::progress::Progress;
use crate::telemetry::sample::{LatencySample, Metric};
use crate::telemetry::status::{StageLatency, StatusBoard, VenueStatus};
use crate::types::{InstrumentRegistry, Venue};

/// Samples drained per ring per `poll`: bounds one poll to ~100 µs of recording so
/// progress lines and commits stay on time, and no ring starves the others.
pub const SAMPLES_PER_POLL_MAX: usize = 4096;

/// How often the status board is refreshed.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(1);

/// Opportunity records drained per `poll` (each becomes a row).
pub const RECORDS_PER_POLL_MAX: usize = 1024;

/// The sidecar's slice of the resolved configuration.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// Where `.hgrm` files, the SQLite database and the spool go; created if missing.
    pub output_dir: PathBuf,
    /// One progress line per interval on stdout (`Some(1 s)` in the CLI); `None` prints
    /// none and never resets the interval histograms (tests).
    pub progress_interval: Option<Duration>,
    /// Periodic latency dumps into `latency/` (`None`: only the final dump).
    pub dump_interval: Option<Duration>,
    /// The database, its batching and its spool.
    pub database: DatabaseSettings,
    /// The fixed interval the load is offered at, when it is (the end-to-end benchmark):
    /// ingress → decision is then corrected for coordinated omission. `None` by default.
    pub expected_interval: Option<Duration>,
    /// Venues watched for staleness: a venue whose mean venue-to-us delay over a
    /// progress interval exceeds its threshold is shown STALE and logged.
    pub stale_after: Vec<(Venue, Duration)>,
    /// Replays: a full writer queue blocks the poll (the replay waits for the database)
    /// instead of leaving records in the rings, so no record is dropped and rows get the
    /// same order and keys on every replay. False in live runs.
    pub lossless: bool,
    /// Publish every row to NATS JetStream too (`None`: `[nats]` off).
    pub nats: Option<NatsSettings>,
}

impl TelemetryConfig {
    /// Defaults for everything but the output directory; no progress lines.
    pub fn new(output_dir: PathBuf) -> Self {
        Self {
            output_dir,
            progress_interval: None,
            dump_interval: None,
            database: DatabaseSettings::default(),
            expected_interval: None,
            stale_after: Vec::new(),
            lossless: false,
            nats: None,
        }
    }
}

/// The ring ends and shared state the sidecar reads.
pub struct TelemetryInputs {
    /// One latency-sample ring per hot stage.
    pub samples: Vec<Consumer<LatencySample>>,
    /// Opportunity records from the edge stage.
    pub opportunities: Consumer<BasisOpportunity>,
    /// Pipeline counters (read only).
    pub stats: Arc<PipelineStats>,
    /// Instrument names for the database rows.
    pub registry: Arc<InstrumentRegistry>,
    /// Converts raw ticks to nanoseconds and wall time.
    pub clock: Clock,
    /// Where the sidecar publishes stage latencies and venue health (about once a
    /// second) for the Telegram bot and the metrics endpoint.
    pub status: Arc<StatusBoard>,
}

/// Why the sidecar could not start. Each variant names the path or operation.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The output directory could not be created: check the path and permissions.
    #[error("creating output directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Opening, configuring or migrating the database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The spool directory could not be opened or checked.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The database writer thread could not be started.
    #[error("starting the database writer thread: {0}")]
    WriterThread(std::io::Error),
    /// The NATS publisher could not start.
    #[error(transparent)]
    Nats(#[from] PublisherError),
    /// The latency dump thread could not be started.
    #[error("starting the latency dump thread: {0}")]
    DumpThread(std::io::Error),
    /// The histogram bounds were refused (a programming error in the constants).
    #[error("allocating latency histograms: {0}")]
    Histogram(#[from] CreationError),
    /// `batch_rows` is out of range: fix the configuration.
    #[error("database batch_rows = {value}: must be between 1 and {BATCH_ROWS_MAX}")]
    BatchRows {
        /// The configured value.
        value: usize,
    },
}

/// The telemetry sidecar: a [`Stage`] of kind [`StageKind::Telemetry`].
pub struct TelemetryStage {
    config: TelemetryConfig,
    samples: Vec<Consumer<LatencySample>>,
    opportunities: Consumer<BasisOpportunity>,
    stats: Arc<PipelineStats>,
    registry: Arc<InstrumentRegistry>,
    clock: Clock,
    histograms: LatencyHistograms,
    writer: Option<WriterThread>,
    nats: Option<WriterThread>,
    /// Rows of batches the database writer took but the NATS writer could not (its
    /// thread had stopped): lost to NATS.
    nats_unsent: u64,
    keys: RowKeys,
    pending: Vec<Row>,
    pending_since: Option<Instant>,
    batches_sent: u64,
    progress: Option<Progress>,
    stale: Vec<bool>,
    stale_since: Vec<Option<u64>>,
    status: Arc<StatusBoard>,
    venue_status: Vec<VenueStatus>,
    status_due: Instant,
    spread: Option<Consumer<SpreadRecord>>,
    gateway: Option<GatewaySink>,
    dumper: Dumper,
    dump_rows: VecDeque<Row>,
}

impl TelemetryStage {
    /// Creates the output directory, opens (and migrates) the database, opens the spool
    /// (replaying what an earlier run left there), starts the writer thread and
    /// allocates the histograms.
    pub fn new(config: TelemetryConfig, inputs: TelemetryInputs) -> Result<Self, TelemetryError> {
        let db = &config.database;
        if !(1..=BATCH_ROWS_MAX).contains(&db.batch_rows) {
            return Err(TelemetryError::BatchRows {
                value: db.batch_rows,
            });
        }
        std::fs::create_dir_all(&config.output_dir).map_err(|source| {
            TelemetryError::CreateDir {
                path: config.output_dir.clone(),
                source,
            }
        })?;
        let backend = db.open_backend(&config.output_dir)?;
        let (spool, _recovered) =
            Spool::open(&db.spool_dir(&config.output_dir), db.spool_max_bytes)?;
        let writer = DbWriter::new(backend, spool, db.batch_rows, db.flush_interval);
        let writer =
            WriterThread::spawn(writer, db.flush_interval).map_err(TelemetryError::WriterThread)?;
        let nats = match &config.nats {
            Some(settings) => Some(publisher::spawn(
                settings,
                &settings.spool_dir(&config.output_dir),
                db.batch_rows,
                db.flush_interval,
            )?),
            None => None,
        };
        let progress = config
            .progress_interval
            .map(|every| Progress::new(every, monotonic_now(), &inputs.stats));
        let start_ns = inputs.clock.unix_ns(inputs.clock.raw());
        let dumper = Dumper::spawn(
            config.output_dir.join(DUMP_DIR_NAME),
            config.dump_interval,
            monotonic_now(),
        )
        .map_err(TelemetryError::DumpThread)?;
        Ok(Self {
            // A rejection flush may add a row per reason past a nearly full batch.
            pending: Vec::with_capacity(db.batch_rows + RejectReason::ALL.len()),
            histograms: LatencyHistograms::with_expected_interval(config.expected_interval)?,
            stale: vec![false; config.stale_after.len()],
            stale_since: vec![None; config.stale_after.len()],
            keys: RowKeys::new(start_ns, std::process::id()),
            config,
            samples: inputs.samples,
            opportunities: inputs.opportunities,
            stats: inputs.stats,
            registry: inputs.registry,
            clock: inputs.clock,
            writer: Some(writer),
            nats,
            nats_unsent: 0,
            pending_since: None,
            batches_sent: 0,
            progress,
            status: inputs.status,
            venue_status: Vec::new(),
            status_due: monotonic_now(),
            spread: None,
            gateway: None,
            dumper,
            dump_rows: VecDeque::new(),
        })
    }

    /// Also drains the gateway stage's records and portfolio snapshots into rows
    /// (orders, fills, leg-outs, trades, snapshots) and the status board.
    pub fn with_gateway(mut self, sink: GatewaySink) -> Self {
        self.gateway = Some(sink);
        self
    }

    /// Turns up to `limit` gateway records into rows of the pending batch, within its
    /// room.
    fn take_gateway(&mut self, limit: usize, now: Instant) -> usize {
        let Some(sink) = self.gateway.as_mut() else {
            return 0;
        };
        let batch_rows = self.config.database.batch_rows;
        let room = batch_rows.saturating_sub(self.pending.len()).min(limit);
        let taken = sink.drain(room, &self.registry, &mut self.keys, &mut self.pending);
        if taken > 0 && self.pending_since.is_none() {
            self.pending_since = Some(now);
        }
        taken
    }

    /// Also drains the spread scanner's records: accepted opportunities become
    /// `spread_opportunities` rows, rejection counts one `spread_rejections` row per
    /// reason, in the same batches as the basis rows.
    pub fn with_spread_records(mut self, ring: Consumer<SpreadRecord>) -> Self {
        self.spread = Some(ring);
        self
    }

    /// Turns up to `limit` spread records into rows of the pending batch, within its
    /// room (a rejection flush takes a row per reason).
    fn take_spread(&mut self, limit: usize, now: Instant) -> usize {
        let Some(ring) = self.spread.as_mut() else {
            return 0;
        };
        let batch_rows = self.config.database.batch_rows;
        let free = batch_rows.saturating_sub(self.pending.len());
        let room = (free / RejectReason::ALL.len()).max(usize::from(free > 0));
        let take = ring.slots().min(limit).min(room);
        let Ok(chunk) = ring.read_chunk(take) else {
            return 0;
        };
        let ctx = RowContext {
            registry: &self.registry,
            clock: &self.clock,
        };
        let (head, tail) = chunk.as_slices();
        for record in head.iter().chain(tail) {
            match record {
                SpreadRecord::Opportunity(o) => {
                    self.pending
                        .push(Record::Spread(o).to_row(&mut self.keys, &ctx));
                }
                SpreadRecord::Rejections { ts_raw, counts } => {
                    for reason in RejectReason::ALL {
                        let count = counts.get(reason);
                        if count > 0 {
                            let record = Record::SpreadRejection {
                                ts_raw: *ts_raw,
                                reason,
                                count,
                            };
                            self.pending.push(record.to_row(&mut self.keys, &ctx));
                        }
                    }
                }
            }
        }
        chunk.commit_all();
        if take > 0 && self.pending_since.is_none() {
            self.pending_since = Some(now);
        }
        take
    }

    /// The latency histograms recorded so far.
    pub fn histograms(&self) -> &LatencyHistograms {
        &self.histograms
    }

    /// Batches handed to the database writer so far.
    pub fn batches_sent(&self) -> u64 {
        self.batches_sent
    }

    /// The run id keying this run's rows.
    pub fn run_id(&self) -> &str {
        self.keys.run_id()
    }

    /// Records up to `limit` samples from each ring; returns how many.
    fn drain_samples(&mut self, limit: usize) -> usize {
        let mut drained = 0;
        for ring in &mut self.samples {
            let Ok(chunk) = ring.read_chunk(ring.slots().min(limit)) else {
                continue;
            };
            let (head, tail) = chunk.as_slices();
            self.histograms
                .record_samples(&self.clock, head.iter().chain(tail));
            drained += chunk.len();
            chunk.commit_all();
        }
        drained
    }

    /// Drains one record ring through `take` (which fills the pending batch within its
    /// room), handing each full batch to the writer, until the ring is empty, `limit`
    /// records were taken or the writer's queue is full (in lossless mode: waits).
    fn drain_records(
        &mut self,
        limit: usize,
        now: Instant,
        take: fn(&mut Self, usize, Instant) -> usize,
    ) -> usize {
        let batch_rows = self.config.database.batch_rows;
        let mut drained = 0;
        loop {
            let taken = take(self, limit - drained, now);
            drained += taken;
            if self.pending.len() >= batch_rows {
                self.send_pending(self.config.lossless);
            }
            if taken == 0 || drained >= limit || self.pending.len() >= batch_rows {
                return drained;
            }
        }
    }

    /// Turns up to `limit` records into rows of the pending batch, within its room.
    fn take_records(&mut self, limit: usize, now: Instant) -> usize {
        let room = self.config.database.batch_rows - self.pending.len();
        let take = self.opportunities.slots().min(limit).min(room);
        let Ok(chunk) = self.opportunities.read_chunk(take) else {
            return 0;
        };
        let ctx = RowContext {
            registry: &self.registry,
            clock: &self.clock,
        };
        let (head, tail) = chunk.as_slices();
        for opp in head.iter().chain(tail) {
            let row = Record::Opportunity(opp).to_row(&mut self.keys, &ctx);
            self.pending.push(row);
        }
        chunk.commit_all();
        if take > 0 && self.pending_since.is_none() {
            self.pending_since = Some(now);
        }
        take
    }

    /// Hands the pending batch to the writer when it is full or its oldest row is old
    /// enough.
    fn flush_if_due(&mut self, now: Instant) {
        if self.pending.is_empty() {
            return;
        }
        let full = self.pending.len() >= self.config.database.batch_rows;
        let old = self
            .pending_since
            .is_some_and(|since| now.duration_since(since) >= self.config.database.flush_interval);
        if full || old {
            self.send_pending(false);
        }
    }

    /// Sends the pending batch to the writer; `wait` blocks for room in its queue (end
    /// of run), otherwise a full queue leaves the batch pending.
    fn send_pending(&mut self, wait: bool) {
        let Some(writer) = &self.writer else {
            return;
        };
        if !wait && self.nats.as_ref().is_some_and(WriterThread::is_full) {
            return;
        }
        let copy = self.nats.as_ref().map(|_| self.pending.clone());
        let capacity = self.config.database.batch_rows;
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(capacity));
        let sent = if wait {
            writer.send(batch)
        } else {
            writer.try_send(batch)
        };
        match sent {
            Ok(()) => {
                // NB: it had room a moment ago and this thread is its only sender, so
                // this does not wait outside the end of the run.
                if let (Some(nats), Some(copy)) = (&self.nats, copy)
                    && let Err(batch) = nats.send(copy)
                {
                    log::error!(
                        "telemetry: the NATS writer stopped; {} rows not published",
                        batch.len()
                    );
                    self.nats_unsent += batch.len() as u64;
                }
                self.batches_sent += 1;
                self.pending_since = None;
            }
            Err(batch) => self.pending = batch,
        }
    }

    /// Prints a progress line and starts a new histogram interval when one is due.
    fn progress_if_due(&mut self, now: Instant) {
        let Some(progress) = self.progress.as_mut() else {
            return;
        };
        if !progress.is_due(now) {
            return;
        }
        let e2e = self.histograms.interval(Metric::IngressToDecision);
        let p99_ns = (!e2e.is_empty()).then(|| e2e.value_at_quantile(0.99));
        let mut line = progress.advance(now, &self.stats, p99_ns);
        line.push_str(&self.venue_delays());
        line.push_str(&self.stats.health.summary());
        println!("{line}");
        self.histograms.reset_interval();
    }

    /// ` | binance 4 ms | okx 310 ms STALE`: each watched venue's mean venue-to-us delay
    /// over the interval; a venue turning stale or fresh again is logged.
    fn venue_delays(&mut self) -> String {
        let mut out = String::new();
        self.venue_status.clear();
        for (i, &(venue, threshold)) in self.config.stale_after.iter().enumerate() {
            let hist = self.histograms.interval(Metric::VenueDelay(venue));
            if hist.is_empty() {
                continue;
            }
            let mean = Duration::from_secs_f64(hist.mean() / 1e9);
            let stale = mean > threshold;
            if stale != self.stale[i] {
                if stale {
                    log::warn!("{venue} is stale: venue-to-us delay {mean:?} > {threshold:?}");
                } else {
                    log::info!("{venue} is fresh again: venue-to-us delay {mean:?}");
                }
                self.stale[i] = stale;
                self.stale_since[i] = stale.then(|| self.clock.unix_ms_now());
            }
            self.venue_status.push(VenueStatus {
                venue,
                mean_delay_ms: Some(mean.as_secs_f64() * 1000.0),
                stale,
                stale_since_unix_ms: self.stale_since[i],
            });
            let flag = if stale { " STALE" } else { "" };
            out.push_str(&format!(" | {venue} {} ms{flag}", mean.as_millis()));
        }
        out
    }

    /// Publishes stage latencies (cumulative) and venue health to the status board,
    /// about once a second.
    fn publish_status_if_due(&mut self, now: Instant) {
        if now < self.status_due {
            return;
        }
        self.status_due = now + STATUS_INTERVAL;
        let stages: Vec<StageLatency> = Metric::ALL
            .iter()
            .map(|&metric| (metric, self.histograms.cumulative(metric)))
            .filter(|(_, hist)| !hist.is_empty())
            .map(|(metric, hist)| StageLatency {
                name: metric.name(),
                count: hist.len(),
                p50_ns: hist.value_at_quantile(0.5),
                p99_ns: hist.value_at_quantile(0.99),
            })
            .collect();
        let venues = self.venue_status.clone();
        let now_unix_ms = self.clock.unix_ms_now();
        let database = self
            .writer
            .as_ref()
            .map_or_else(WriterStats::default, WriterThread::stats);
        let nats = self.nats.as_ref().map(WriterThread::stats);
        self.status.update(|s| {
            s.nats = nats;
            s.updated_unix_ms = now_unix_ms;
            s.stages = stages;
            s.venues = venues;
            s.database = database;
        });
        if let Some(sink) = &self.gateway {
            sink.publish(&self.status);
        }
    }

    /// Drains both kinds of ring until empty (producers have stopped), sending full
    /// batches on the way.
    fn drain_all(&mut self) {
        loop {
            let now = monotonic_now();
            let drained = self.drain_samples(usize::MAX)
                + self.drain_records(usize::MAX, now, Self::take_records)
                + self.drain_records(usize::MAX, now, Self::take_spread)
                + self.drain_records(usize::MAX, now, Self::take_gateway);
            if self.pending.len() >= self.config.database.batch_rows {
                self.send_pending(true);
            }
            if drained == 0 {
                break;
            }
        }
    }

    /// Sends the last rows and waits for the writers to finish (the database's, then
    /// the NATS one's, which makes a last attempt to publish what its spool holds).
    fn finish_writer(&mut self) -> (WriterStats, Option<WriterStats>) {
        self.drain_all();
        if !self.pending.is_empty() {
            self.send_pending(true);
        }
        let db = self
            .writer
            .take()
            .map_or_else(WriterStats::default, WriterThread::finish);
        (db, self.nats.take().map(WriterThread::finish))
    }

    /// The NATS figures of the run summary: `nats.rows_published` (stored by the
    /// stream), `nats.rows_duplicate` (it had them already), `nats.rows_pending` (in the
    /// NATS spool, published at the next start), `nats.rows_failed` (lost: its spool
    /// was full or failing, or its thread had stopped); returns the lost rows.
    fn report_nats(&self, nats: Option<&WriterStats>, report: &mut RunReport) -> u64 {
        let Some(nats) = nats else {
            return 0;
        };
        let failed = nats.rows_dropped + self.nats_unsent;
        report.set("nats.rows_published", nats.rows_written);
        report.set("nats.rows_duplicate", nats.rows_duplicate);
        report.set("nats.rows_spooled", nats.rows_spooled);
        report.set("nats.rows_pending", nats.rows_waiting);
        report.set("nats.rows_failed", failed);
        report.set("nats.publish_errors", nats.db_errors);
        if nats.rows_waiting > 0 {
            log::warn!(
                "{} telemetry rows wait in the NATS spool: they are published at the next start",
                nats.rows_waiting
            );
        }
        failed
    }

    /// Writes `<metric>.hgrm` for every stage metric and every venue that sent venue
    /// times; returns how many failed (logged).
    fn write_hgrm_files(&self) -> u64 {
        let mut failed = 0;
        for metric in Metric::ALL {
            if matches!(metric, Metric::VenueDelay(_))
                && self.histograms.cumulative(metric).is_empty()
            {
                continue;
            }
            let path = self
                .config
                .output_dir
                .join(format!("{}.hgrm", metric.name()));
            if let Err(err) = write_hgrm_file(&path, self.histograms.cumulative(metric)) {
                log::error!("writing {}: {err}", path.display());
                failed += 1;
            }
        }
        failed
    }
}

/// Latency dumps: the schedule and files are [`Dumper`]'s; here their summaries become
/// `latency_snapshots` rows in the sidecar's batches.
impl TelemetryStage {
    /// Starts a periodic dump when one is due, and queues the rows of finished ones.
    fn dump_if_due(&mut self, now: Instant) {
        let clock = &self.clock;
        self.dumper
            .start_if_due(now, &self.histograms, || clock.unix_ns(clock.raw()));
        while let Some(outcome) = self.dumper.try_done() {
            self.queue_snapshot_rows(&outcome);
        }
        self.move_dump_rows(now);
    }

    /// One row per histogram and scope of a finished dump.
    fn queue_snapshot_rows(&mut self, outcome: &DumpOutcome) {
        for metric in &outcome.metrics {
            for (scope, summary) in [
                (Scope::Cumulative, &metric.cumulative),
                (Scope::Interval, &metric.interval),
            ] {
                let row = snapshot_row(&mut self.keys, outcome.taken_at_unix_ns, scope, summary);
                self.dump_rows.push_back(row);
            }
        }
    }

    /// Moves queued snapshot rows into the pending batch, within its room; returns how
    /// many.
    fn move_dump_rows(&mut self, now: Instant) -> usize {
        let batch_rows = self.config.database.batch_rows;
        let room = batch_rows.saturating_sub(self.pending.len());
        let n = room.min(self.dump_rows.len());
        self.pending.extend(self.dump_rows.drain(..n));
        if n > 0 && self.pending_since.is_none() {
            self.pending_since = Some(now);
        }
        if self.pending.len() >= batch_rows {
            self.send_pending(false);
        }
        n
    }

    /// The final dump (every sample drained first); its rows are handed to the writer,
    /// waiting for room in its queue.
    fn final_dump(&mut self) {
        let taken_at = self.clock.unix_ns(self.clock.raw());
        for outcome in self.dumper.finish(&self.histograms, taken_at) {
            self.queue_snapshot_rows(&outcome);
        }
        while !self.dump_rows.is_empty() {
            let left = self.dump_rows.len();
            self.move_dump_rows(monotonic_now());
            if self.pending.len() >= self.config.database.batch_rows {
                self.send_pending(true);
            }
            if self.dump_rows.len() == left {
                log::error!("telemetry: the writer takes no more latency snapshot rows");
                return;
            }
        }
    }

    fn report_dumps(&self, report: &mut RunReport) {
        let stats = self.dumper.stats();
        report.set("telemetry.latency_dumps", stats.dumps);
        report.set("telemetry.latency_dumps_skipped", stats.skipped);
        report.set("telemetry.latency_dump_errors", stats.errors);
        report.set(
            "telemetry.latency_dump_snapshot_us_max",
            stats.snapshot_ns_max / 1_000,
        );
        report.set(
            "telemetry.latency_dump_write_ms_max",
            stats.write_ns_max / 1_000_000,
        );
    }
}

impl Stage for TelemetryStage {
    fn kind(&self) -> StageKind {
        StageKind::Telemetry
    }

    fn poll(&mut self) -> usize {
        let now = monotonic_now();
        let handled = self.drain_samples(SAMPLES_PER_POLL_MAX)
            + self.drain_records(RECORDS_PER_POLL_MAX, now, Self::take_records)
            + self.drain_records(RECORDS_PER_POLL_MAX, now, Self::take_spread)
            + self.drain_records(RECORDS_PER_POLL_MAX, now, Self::take_gateway);
        self.flush_if_due(now);
        self.progress_if_due(now);
        self.publish_status_if_due(now);
        self.dump_if_due(now);
        handled
    }

    fn finish(&mut self, report: &mut RunReport) {
        self.drain_all();
        self.final_dump();
        let (db, nats) = self.finish_writer();
        let unwritten = self.pending.len()
            + self.dump_rows.len()
            + self.opportunities.slots()
            + self.spread.as_ref().map_or(0, Consumer::slots)
            + self.gateway.as_ref().map_or(0, GatewaySink::waiting);
        if unwritten > 0 {
            log::error!(
                "telemetry: {unwritten} opportunity rows could not be handed to the writer"
            );
        }
        let hgrm_errors = self.write_hgrm_files();
        let summaries = self.histograms.summaries();
        let shown: Vec<_> = summaries
            .iter()
            .filter(|h| h.count > 0 || !h.name.starts_with("venue_delay_"))
            .cloned()
            .collect();
        print!("{}", percentile_table(&shown));
        report.histograms = summaries;
        self.stats.fill_report(report);
        report.set("telemetry.rows_written", db.rows_written);
        report.set("telemetry.rows_duplicate", db.rows_duplicate);
        report.set("telemetry.rows_spooled", db.rows_spooled);
        report.set("telemetry.rows_waiting_in_spool", db.rows_waiting);
        report.set("telemetry.rows_dropped", db.rows_dropped);
        report.set(
            "telemetry.rows_dropped_spool_full",
            db.rows_dropped_spool_full,
        );
        report.set("telemetry.rows_dropped_disk", db.rows_dropped_disk);
        report.set("telemetry.rows_unwritten", unwritten as u64);
        let records_dropped = self.stats.records_dropped();
        report.set("telemetry.samples_dropped", self.stats.samples_dropped());
        report.set("telemetry.records_dropped", records_dropped);
        let nats_lost = self.report_nats(nats.as_ref(), report);
        let lost = records_dropped + db.rows_dropped + unwritten as u64 + nats_lost;
        report.set("telemetry.rows_lost", lost);
        if records_dropped > 0 {
            log::error!(
                "telemetry: {records_dropped} records were dropped before the writer took them (it fell behind): {} basis, {} spread, {} gateway, {} portfolio snapshots",
                self.stats.edge_records_dropped.get(),
                self.stats.edge_spread_records_dropped.get(),
                self.stats.gateway_records_dropped.get(),
                self.stats.gateway_snapshots_skipped.get()
            );
        }
        report.set("telemetry.db_errors", db.db_errors);
        report.set("telemetry.spool_torn_bytes", db.spool_torn_bytes);
        report.set("telemetry.hgrm_errors", hgrm_errors);
        self.report_dumps(report);
        report.output_dir = self.config.output_dir.clone();
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::UNIX_EPOCH;

    use rtrb::{Producer, RingBuffer};

    use super::*;
    use crate::edge::opportunity::VolatilitySource;
    use crate::telemetry::db::migrations::SCHEMA_VERSION;
    use crate::telemetry::db::record::fixtures::{opportunity, registry};
    use crate::telemetry::db::sqlite::{DB_FILE_NAME, SqliteDb};
    use crate::telemetry::db::{BATCH_ROWS_DEFAULT, FLUSH_INTERVAL_DEFAULT};
    use crate::telemetry::hgrm::parse_hgrm;

    struct Rig {
        stage: TelemetryStage,
        feed: Producer<LatencySample>,
        edge: Producer<LatencySample>,
        opps: Producer<BasisOpportunity>,
        clock: Clock,
        board: Arc<StatusBoard>,
    }

    fn rig(dir: &Path, batch_rows: usize, flush_interval: Duration) -> Rig {
        rig_with(TelemetryConfig {
            database: DatabaseSettings {
                batch_rows,
                flush_interval,
                ..DatabaseSettings::default()
            },
            ..TelemetryConfig::new(dir.join("out"))
        })
    }

    fn rig_with(config: TelemetryConfig) -> Rig {
        let (clock, _mock) = Clock::mock();
        let (feed, feed_rx) = RingBuffer::new(8192);
        let (edge, edge_rx) = RingBuffer::new(64);
        let (opps, opps_rx) = RingBuffer::new(64);
        let board = Arc::new(StatusBoard::default());
        let inputs = TelemetryInputs {
            samples: vec![feed_rx, edge_rx],
            opportunities: opps_rx,
            stats: Arc::new(PipelineStats::default()),
            registry: Arc::new(registry()),
            clock: clock.clone(),
            status: Arc::clone(&board),
        };
        let stage = TelemetryStage::new(config, inputs).unwrap();
        Rig {
            stage,
            feed,
            edge,
            opps,
            clock,
            board,
        }
    }

    fn sample(metric: Metric, start_raw: u64, end_raw: u64) -> LatencySample {
        LatencySample {
            metric,
            start_raw,
            end_raw,
        }
    }

    /// Feed: 1000, 1200, 1400 ns; edge: 500 ns; ingress→decision: 1000, 2000 ns.
    fn push_samples(rig: &mut Rig) {
        for (start, end) in [(0, 1_000), (100, 1_300), (1_000, 2_400)] {
            rig.feed.push(sample(Metric::Feed, start, end)).unwrap();
        }
        rig.edge.push(sample(Metric::Edge, 50, 550)).unwrap();
        for end in [1_100, 2_100] {
            rig.edge
                .push(sample(Metric::IngressToDecision, 100, end))
                .unwrap();
        }
    }

    fn push_opportunities(rig: &mut Rig) {
        let sources = [
            (VolatilitySource::Perp, 10.0, true),
            (VolatilitySource::Perp, 14.0, true),
            (VolatilitySource::Spot, 4.0, false),
            (VolatilitySource::Both, 6.0, false),
        ];
        for (i, (source, edge, trade)) in (1u64..).zip(sources) {
            rig.opps
                .push(opportunity(i * 10_000, edge, source, trade))
                .unwrap();
        }
    }

    fn check_histograms(report: &RunReport) {
        let expect = [
            ("feed", 3, 1_200, 1_400),
            ("book", 0, 0, 0),
            ("edge", 1, 500, 500),
            ("ingress_to_decision", 2, 1_000, 2_000),
        ];
        assert_eq!(report.histograms.len(), Metric::ALL.len());
        for (name, count, p50, max) in expect {
            let h = report.histogram(name).unwrap();
            assert_eq!((h.count, h.p50_ns, h.max_ns), (count, p50, max), "{name}");
        }
    }

    fn check_hgrm_files(out: &Path) {
        for (metric, count) in Metric::ALL.into_iter().zip([3, 0, 1, 2]) {
            let path = out.join(format!("{}.hgrm", metric.name()));
            let parsed = parse_hgrm(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(parsed.total_count, count, "{}", path.display());
        }
    }

    fn check_rows(out: &Path, clock: &Clock) {
        let db = SqliteDb::open(&out.join(DB_FILE_NAME)).unwrap();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        let rows = db.read_opportunities().unwrap();
        let sources: Vec<&str> = rows.iter().map(|r| r.volatility_source.as_str()).collect();
        assert_eq!(sources, ["PERP", "PERP", "SPOT", "BOTH", "SPOT"]);
        let first = &rows[0];
        let at = &first.detected_at;
        assert_eq!(
            (at.len(), &at[10..11], &at[19..20], &at[23..]),
            (24, "T", ".", "Z")
        );
        let decided = UNIX_EPOCH + Duration::from_nanos(clock.unix_ns(10_000));
        assert_eq!(*at, humantime::format_rfc3339_millis(decided).to_string());
        assert_eq!((first.edge_bps, first.detection_latency_ms), (10.0, 0.002));
        assert!(first.would_trade_current && !rows[2].would_trade_current);
        let summary = db.summary_by_source().unwrap();
        let counts: Vec<(&str, i64)> = summary
            .iter()
            .map(|s| (s.volatility_source.as_str(), s.count))
            .collect();
        assert_eq!(counts, [("BOTH", 1), ("PERP", 2), ("SPOT", 2)]);
        assert_eq!(summary[1].avg_edge_bps, 12.0);
    }

    #[test]
    fn test_telemetry_stage_poll_and_finish() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig(dir.path(), 2, Duration::from_secs(3600));
        assert_eq!(rig.stage.kind(), StageKind::Telemetry);
        push_samples(&mut rig);
        push_opportunities(&mut rig);
        assert_eq!(rig.stage.poll(), 6 + 4);
        assert_eq!(
            rig.stage.batches_sent(),
            2,
            "full batches go to the writer in poll"
        );
        let published = rig.board.snapshot();
        assert!(published.updated_unix_ms > 0, "the first poll publishes");
        assert!(
            published
                .stages
                .iter()
                .any(|l| l.name == "feed" && l.count > 0),
            "{published:?}"
        );
        rig.opps
            .push(opportunity(50_000, 2.0, VolatilitySource::Spot, false))
            .unwrap();
        assert_eq!(rig.stage.poll(), 1);
        assert_eq!(rig.stage.batches_sent(), 2, "a young partial batch waits");
        assert_eq!(rig.stage.poll(), 0);

        let mut report = RunReport::default();
        rig.stage.finish(&mut report);
        let out = dir.path().join("out");
        // Five opportunities and the final dump's two rows per histogram with samples.
        assert_eq!(report.counter("telemetry.rows_written"), 5 + 2 * 3);
        assert_eq!(report.counter("telemetry.rows_unwritten"), 0);
        assert_eq!(report.counter("telemetry.rows_spooled"), 0);
        assert_eq!(report.counter("telemetry.rows_dropped"), 0);
        assert_eq!(report.output_dir, out);
        assert!(report.counters.contains_key("feed.frames"));
        check_histograms(&report);
        check_hgrm_files(&out);
        check_rows(&out, &rig.clock);
    }

    /// Records of every kind that the hot path dropped while the writer was behind are
    /// lost rows, beside the spool's; latency samples dropped are drops but no rows.
    #[test]
    fn test_telemetry_stage_reports_every_dropped_record_as_lost() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig(dir.path(), 2, Duration::from_secs(3600));
        let stats = Arc::clone(&rig.stage.stats);
        stats.edge_records_dropped.add(3);
        stats.edge_spread_records_dropped.add(4_286);
        stats.gateway_records_dropped.add(5);
        stats.gateway_snapshots_skipped.add(2);
        stats.feed_samples_dropped.add(7);
        stats.gateway_samples_dropped.add(1);
        let mut report = RunReport::default();
        rig.stage.finish(&mut report);
        assert_eq!(report.counter("telemetry.records_dropped"), 4_296);
        assert_eq!(report.counter("telemetry.samples_dropped"), 8);
        assert_eq!(report.counter("telemetry.rows_lost"), 4_296);
        assert_eq!(stats.drops(), 4_304);
    }

    #[test]
    fn test_telemetry_stage_flushes_old_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig(dir.path(), BATCH_ROWS_DEFAULT, Duration::ZERO);
        rig.opps
            .push(opportunity(10_000, 5.0, VolatilitySource::Both, false))
            .unwrap();
        assert_eq!(rig.stage.poll(), 1);
        assert_eq!(rig.stage.batches_sent(), 1);
        let mut report = RunReport::default();
        rig.stage.finish(&mut report);
        assert_eq!(report.counter("telemetry.rows_written"), 1);
    }

    #[test]
    fn test_telemetry_stage_writes_spread_rejection_counts() {
        use crate::edge::spread_opportunity::{RejectReason, RejectionCounts};
        let dir = tempfile::tempdir().unwrap();
        let rig = rig(dir.path(), 2, Duration::from_secs(3600));
        let (mut tx, rx) = RingBuffer::new(8);
        let mut stage = rig.stage.with_spread_records(rx);
        let mut counts = RejectionCounts::default();
        counts.add(RejectReason::Unprofitable);
        counts.add(RejectReason::VenueStale);
        tx.push(SpreadRecord::Rejections { ts_raw: 1, counts })
            .unwrap();
        assert_eq!(stage.poll(), 1);
        assert_eq!(
            stage.batches_sent(),
            1,
            "two reason rows fill a batch of two"
        );
        let mut report = RunReport::default();
        stage.finish(&mut report);
        assert_eq!(
            report.counter("telemetry.rows_written"),
            2,
            "one row per reason"
        );
        assert_eq!(report.counter("telemetry.rows_unwritten"), 0);
    }

    #[test]
    fn test_telemetry_stage_poll_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig(dir.path(), BATCH_ROWS_DEFAULT, FLUSH_INTERVAL_DEFAULT);
        for i in 0..5_000 {
            rig.feed.push(sample(Metric::Feed, 0, 100 + i)).unwrap();
        }
        assert_eq!(rig.stage.poll(), SAMPLES_PER_POLL_MAX);
        assert_eq!(rig.stage.poll(), 5_000 - SAMPLES_PER_POLL_MAX);
        assert_eq!(rig.stage.histograms().cumulative(Metric::Feed).len(), 5_000);
    }

    /// The file names in `dir` that start with `prefix` and end with `suffix`.
    fn files(dir: &Path, prefix: &str, suffix: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(prefix) && n.ends_with(suffix))
            .collect();
        names.sort();
        names
    }

    fn snapshot_rows(out: &Path) -> Vec<(String, String, i64)> {
        let conn = rusqlite::Connection::open(out.join(DB_FILE_NAME)).unwrap();
        let mut stmt = conn
            .prepare("SELECT metric, scope, count FROM latency_snapshots ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn test_telemetry_stage_final_dump_writes_files_and_snapshot_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig(dir.path(), 4, Duration::from_secs(3600));
        push_samples(&mut rig);
        assert_eq!(rig.stage.poll(), 6);
        let mut report = RunReport::default();
        rig.stage.finish(&mut report);
        let out = dir.path().join("out");
        let dumps = out.join(DUMP_DIR_NAME);
        assert_eq!(report.counter("telemetry.latency_dumps"), 1);
        assert_eq!(report.counter("telemetry.latency_dump_errors"), 0);
        for name in ["feed", "edge", "ingress_to_decision"] {
            assert_eq!(
                files(&dumps, &format!("{name}_2"), ".hgrm").len(),
                1,
                "{name}"
            );
            assert_eq!(
                files(&dumps, &format!("{name}_interval_"), ".hgrm").len(),
                1
            );
        }
        assert!(files(&dumps, "book", "").is_empty(), "no samples, no files");
        assert_eq!(files(&dumps, "summary_", ".json").len(), 1);
        assert_eq!(files(&dumps, "percentiles_", ".png").len(), 1);
        let rows = snapshot_rows(&out);
        let expect: Vec<(String, String, i64)> =
            [("feed", 3), ("edge", 1), ("ingress_to_decision", 2)]
                .into_iter()
                .flat_map(|(m, n)| {
                    [("CUMULATIVE", n), ("INTERVAL", n)]
                        .map(|(s, n)| (m.to_owned(), s.to_owned(), n))
                })
                .collect();
        assert_eq!(rows, expect);
        assert_eq!(report.counter("telemetry.rows_written"), 6);
        check_hgrm_files(&out);
    }

    #[test]
    fn test_telemetry_stage_periodic_dumps_split_intervals() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig_with(TelemetryConfig {
            dump_interval: Some(Duration::ZERO),
            ..TelemetryConfig::new(dir.path().join("out"))
        });
        rig.feed.push(sample(Metric::Feed, 0, 1_000)).unwrap();
        // The first poll starts a dump of the one sample; later polls collect it.
        let mut polls = 0;
        while rig.stage.dumper.stats().dumps == 0 {
            rig.stage.poll();
            polls += 1;
            assert!(polls < 10_000_000, "the dump thread never answered");
            std::thread::yield_now();
        }
        rig.feed.push(sample(Metric::Feed, 0, 3_000)).unwrap();
        let mut report = RunReport::default();
        rig.stage.finish(&mut report);
        let out = dir.path().join("out");
        let dumps = report.counter("telemetry.latency_dumps");
        assert!(dumps >= 2, "{dumps}");
        assert_eq!(
            files(&out.join(DUMP_DIR_NAME), "summary_", ".json").len() as u64,
            dumps
        );
        let rows = snapshot_rows(&out);
        assert_eq!(rows.len() as u64, dumps * 2);
        let first = (&rows[0], &rows[1]);
        assert_eq!((first.0.2, first.1.2), (1, 1), "{rows:?}");
        let last = (&rows[rows.len() - 2], &rows[rows.len() - 1]);
        assert_eq!(last.0, &("feed".to_owned(), "CUMULATIVE".to_owned(), 2));
        let intervals: i64 = rows.iter().filter(|r| r.1 == "INTERVAL").map(|r| r.2).sum();
        assert_eq!(
            intervals, 2,
            "every sample in exactly one interval: {rows:?}"
        );
    }

    #[test]
    fn test_telemetry_stage_publishes_database_figures() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig(dir.path(), 1, Duration::ZERO);
        push_opportunities(&mut rig);
        let mut polls = 0;
        loop {
            rig.stage.status_due = monotonic_now();
            rig.stage.poll();
            if rig.board.snapshot().database.rows_written == 4 {
                break;
            }
            polls += 1;
            assert!(polls < 10_000_000, "the writer never wrote the rows");
            std::thread::yield_now();
        }
        let mut report = RunReport::default();
        rig.stage.finish(&mut report);
        assert_eq!(report.counter("telemetry.rows_dropped"), 0);
    }

    /// Run 1 cannot reach its database (a closed port): its rows, latency snapshots
    /// included, wait in the spool; run 2, on SQLite with the same spool, delivers them.
    #[test]
    fn test_telemetry_stage_spool_outlives_the_run() {
        use crate::telemetry::db::DbTarget;
        use crate::telemetry::db::postgres::PgTarget;

        let dir = tempfile::tempdir().unwrap();
        let spool_dir = dir.path().join("spool");
        let closed = PgTarget::from_url("postgres://edgeline@127.0.0.1:1/none", None).unwrap();
        let mut first = rig_with(TelemetryConfig {
            database: DatabaseSettings {
                target: DbTarget::Postgres(Box::new(closed)),
                spool_dir: Some(spool_dir.clone()),
                ..DatabaseSettings::default()
            },
            ..TelemetryConfig::new(dir.path().join("out1"))
        });
        push_samples(&mut first);
        push_opportunities(&mut first);
        first.stage.poll();
        let mut report = RunReport::default();
        first.stage.finish(&mut report);
        assert_eq!(report.counter("telemetry.rows_written"), 0);
        assert_eq!(report.counter("telemetry.rows_dropped"), 0);
        assert_eq!(report.counter("telemetry.rows_waiting_in_spool"), 4 + 2 * 3);

        let second = rig_with(TelemetryConfig {
            database: DatabaseSettings {
                spool_dir: Some(spool_dir),
                ..DatabaseSettings::default()
            },
            ..TelemetryConfig::new(dir.path().join("out2"))
        });
        let mut stage = second.stage;
        let mut report = RunReport::default();
        stage.finish(&mut report);
        assert_eq!(report.counter("telemetry.rows_waiting_in_spool"), 0);
        assert_eq!(report.counter("telemetry.rows_written"), 4 + 2 * 3);
        let out = dir.path().join("out2");
        let db = SqliteDb::open(&out.join(DB_FILE_NAME)).unwrap();
        assert_eq!(db.read_opportunities().unwrap().len(), 4);
        let metrics: Vec<String> = snapshot_rows(&out).into_iter().map(|r| r.0).collect();
        assert_eq!(metrics.len(), 6, "{metrics:?}");
    }

    #[test]
    fn test_telemetry_stage_rejects_bad_config() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let inputs = || TelemetryInputs {
            samples: Vec::new(),
            opportunities: RingBuffer::new(1).1,
            stats: Arc::new(PipelineStats::default()),
            registry: Arc::new(registry()),
            clock: Clock::mock().0,
            status: Arc::new(StatusBoard::default()),
        };
        let mut zero = TelemetryConfig::new(dir.path().to_owned());
        zero.database.batch_rows = 0;
        let err = TelemetryStage::new(zero, inputs()).err().unwrap();
        assert!(
            matches!(err, TelemetryError::BatchRows { value: 0 }),
            "{err}"
        );
        let under_file = TelemetryConfig::new(file.join("out"));
        let err = TelemetryStage::new(under_file, inputs()).err().unwrap();
        assert!(matches!(err, TelemetryError::CreateDir { .. }), "{err}");
        assert!(err.to_string().contains("file/out"), "{err}");
    }
}
