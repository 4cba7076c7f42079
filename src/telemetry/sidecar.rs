//! The telemetry sidecar stage: drains the hot path's sample and opportunity rings into
//! latency histograms and the SQLite database, prints progress lines, and at the end of
//! the run writes the `.hgrm` files, the percentile table and the report figures.
//!
//! Runs on its own (cold) core, never on the hot path. It may allocate, within bounds:
//! histograms and the pending-row buffer are sized in [`TelemetryStage::new`]; each
//! `poll` drains at most [`SAMPLES_PER_POLL_MAX`] samples per ring and
//! [`RECORDS_PER_POLL_MAX`] opportunities, and the pending rows never exceed
//! `db_batch_rows * PENDING_BATCHES_MAX`. When the buffer is full (database refusing
//! writes) the sidecar stops draining the opportunity ring, so the edge stage drops and
//! counts the records instead of this thread growing without bound.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::CreationError;
use rtrb::Consumer;

use crate::edge::opportunity::BasisOpportunity;
use crate::runtime::clock::monotonic_now;
use crate::runtime::{Clock, RunReport, Stage, StageKind};
use crate::stats::PipelineStats;
use crate::telemetry::hgrm::write_hgrm_file;
use crate::telemetry::histograms::{LatencyHistograms, percentile_table};
use crate::telemetry::progress::Progress;
use crate::telemetry::sample::{LatencySample, Metric};
use crate::telemetry::sqlite::{DB_FILE_NAME, DbError, OpportunityDb, RowContext};
use crate::types::{InstrumentRegistry, Venue};

/// Samples drained per ring per `poll`: bounds one poll to ~100 µs of recording so
/// progress lines and commits stay on time, and no ring starves the others.
pub const SAMPLES_PER_POLL_MAX: usize = 4096;

/// Opportunity records drained per `poll` (each becomes a row).
pub const RECORDS_PER_POLL_MAX: usize = 1024;

/// Default `db_batch_rows`: one transaction per 512 rows amortises the fsync of a
/// commit while keeping a batch well under a millisecond to write.
pub const DB_BATCH_ROWS_DEFAULT: usize = 512;

/// Largest accepted `db_batch_rows`.
pub const DB_BATCH_ROWS_MAX: usize = 65_536;

/// Default `db_flush_interval`: rows reach the database within ~100 ms even when quiet.
pub const DB_FLUSH_INTERVAL_DEFAULT: Duration = Duration::from_millis(100);

/// Batches the pending buffer can hold while the database refuses writes.
pub const PENDING_BATCHES_MAX: usize = 8;

/// The sidecar's slice of the resolved configuration.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// Where `.hgrm` files and `opportunities.sqlite` go; created if missing.
    pub output_dir: PathBuf,
    /// One progress line per interval on stdout (`Some(1 s)` in the CLI); `None` prints
    /// none and never resets the interval histograms (tests).
    pub progress_interval: Option<Duration>,
    /// Commit when this many rows are pending (default [`DB_BATCH_ROWS_DEFAULT`],
    /// 1..=[`DB_BATCH_ROWS_MAX`]).
    pub db_batch_rows: usize,
    /// Or when the oldest pending row is this old (default
    /// [`DB_FLUSH_INTERVAL_DEFAULT`]); also the retry delay after a failed commit.
    pub db_flush_interval: Duration,
    /// The fixed interval the load is offered at, when it is (the end-to-end benchmark):
    /// ingress → decision is then corrected for coordinated omission. `None` by default.
    pub expected_interval: Option<Duration>,
    /// Venues watched for staleness: a venue whose mean venue-to-us delay over a
    /// progress interval exceeds its threshold is shown STALE and logged.
    pub stale_after: Vec<(Venue, Duration)>,
}

impl TelemetryConfig {
    /// Defaults for everything but the output directory; no progress lines.
    pub fn new(output_dir: PathBuf) -> Self {
        Self {
            output_dir,
            progress_interval: None,
            db_batch_rows: DB_BATCH_ROWS_DEFAULT,
            db_flush_interval: DB_FLUSH_INTERVAL_DEFAULT,
            expected_interval: None,
            stale_after: Vec::new(),
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
    /// Opening, configuring or migrating the SQLite database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The histogram bounds were refused (a programming error in the constants).
    #[error("allocating latency histograms: {0}")]
    Histogram(#[from] CreationError),
    /// `db_batch_rows` is out of range: fix the configuration.
    #[error("telemetry db_batch_rows = {value}: must be between 1 and {DB_BATCH_ROWS_MAX}")]
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
    db: OpportunityDb,
    pending: Vec<BasisOpportunity>,
    pending_since: Option<Instant>,
    retry_at: Option<Instant>,
    db_errors: u64,
    progress: Option<Progress>,
    stale: Vec<bool>,
}

impl TelemetryStage {
    /// Creates the output directory, opens (and migrates) the database and allocates
    /// the histograms and the pending-row buffer.
    pub fn new(config: TelemetryConfig, inputs: TelemetryInputs) -> Result<Self, TelemetryError> {
        if !(1..=DB_BATCH_ROWS_MAX).contains(&config.db_batch_rows) {
            return Err(TelemetryError::BatchRows {
                value: config.db_batch_rows,
            });
        }
        std::fs::create_dir_all(&config.output_dir).map_err(|source| {
            TelemetryError::CreateDir {
                path: config.output_dir.clone(),
                source,
            }
        })?;
        let db = OpportunityDb::open(&config.output_dir.join(DB_FILE_NAME))?;
        let progress = config
            .progress_interval
            .map(|every| Progress::new(every, monotonic_now(), &inputs.stats));
        Ok(Self {
            pending: Vec::with_capacity(config.db_batch_rows * PENDING_BATCHES_MAX),
            histograms: LatencyHistograms::with_expected_interval(config.expected_interval)?,
            stale: vec![false; config.stale_after.len()],
            config,
            samples: inputs.samples,
            opportunities: inputs.opportunities,
            stats: inputs.stats,
            registry: inputs.registry,
            clock: inputs.clock,
            db,
            pending_since: None,
            retry_at: None,
            db_errors: 0,
            progress,
        })
    }

    /// The latency histograms recorded so far.
    pub fn histograms(&self) -> &LatencyHistograms {
        &self.histograms
    }

    /// The opportunity database writer.
    pub fn db(&self) -> &OpportunityDb {
        &self.db
    }

    /// Records up to `limit` samples from each ring; returns how many.
    fn drain_samples(&mut self, limit: usize) -> usize {
        let mut drained = 0;
        for ring in &mut self.samples {
            let Ok(chunk) = ring.read_chunk(ring.slots().min(limit)) else {
                continue;
            };
            let (head, tail) = chunk.as_slices();
            for sample in head.iter().chain(tail) {
                self.histograms.record_sample(&self.clock, sample);
            }
            drained += chunk.len();
            chunk.commit_all();
        }
        drained
    }

    /// Moves up to `limit` records into the pending batch, within its capacity.
    fn drain_opportunities(&mut self, limit: usize, now: Instant) -> usize {
        let room = self.pending.capacity() - self.pending.len();
        let take = self.opportunities.slots().min(limit).min(room);
        let Ok(chunk) = self.opportunities.read_chunk(take) else {
            return 0;
        };
        let (head, tail) = chunk.as_slices();
        self.pending.extend_from_slice(head);
        self.pending.extend_from_slice(tail);
        chunk.commit_all();
        if take > 0 && self.pending_since.is_none() {
            self.pending_since = Some(now);
        }
        take
    }

    /// Commits the pending rows when the batch is full or its oldest row is old enough,
    /// unless a failed commit is waiting for its retry time.
    fn flush_if_due(&mut self, now: Instant) {
        if self.pending.is_empty() || self.retry_at.is_some_and(|at| now < at) {
            return;
        }
        let full = self.pending.len() >= self.config.db_batch_rows;
        let old = self
            .pending_since
            .is_some_and(|since| now.duration_since(since) >= self.config.db_flush_interval);
        if full || old {
            self.commit_pending(now);
        }
    }

    /// Writes every pending row in one transaction; on failure keeps them for a retry
    /// after `db_flush_interval`.
    fn commit_pending(&mut self, now: Instant) {
        let ctx = RowContext {
            registry: &self.registry,
            clock: &self.clock,
        };
        match self.db.insert_batch(&self.pending, &ctx) {
            Ok(_) => {
                self.pending.clear();
                self.pending_since = None;
                self.retry_at = None;
            }
            Err(err) => {
                self.db_errors += 1;
                self.retry_at = Some(now + self.config.db_flush_interval);
                log::warn!("{err}; keeping {} rows for a retry", self.pending.len());
            }
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
            }
            let flag = if stale { " STALE" } else { "" };
            out.push_str(&format!(" | {venue} {} ms{flag}", mean.as_millis()));
        }
        out
    }

    /// Drains both kinds of ring until empty (producers have stopped), committing full
    /// batches on the way.
    fn drain_all(&mut self) {
        loop {
            let now = monotonic_now();
            let drained =
                self.drain_samples(usize::MAX) + self.drain_opportunities(usize::MAX, now);
            if self.pending.len() >= self.config.db_batch_rows {
                self.commit_pending(now);
            }
            if drained == 0 {
                break;
            }
        }
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

impl Stage for TelemetryStage {
    fn kind(&self) -> StageKind {
        StageKind::Telemetry
    }

    fn poll(&mut self) -> usize {
        let now = monotonic_now();
        let handled = self.drain_samples(SAMPLES_PER_POLL_MAX)
            + self.drain_opportunities(RECORDS_PER_POLL_MAX, now);
        self.flush_if_due(now);
        self.progress_if_due(now);
        handled
    }

    fn finish(&mut self, report: &mut RunReport) {
        self.drain_all();
        if !self.pending.is_empty() {
            self.commit_pending(monotonic_now());
        }
        let unwritten = self.pending.len() + self.opportunities.slots();
        if unwritten > 0 {
            log::error!("telemetry: {unwritten} opportunity rows could not be written");
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
        report.set("telemetry.rows_written", self.db.rows());
        report.set("telemetry.rows_unwritten", unwritten as u64);
        report.set("telemetry.db_errors", self.db_errors);
        report.set("telemetry.hgrm_errors", hgrm_errors);
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
    use crate::telemetry::hgrm::parse_hgrm;
    use crate::telemetry::sqlite::fixtures::{opportunity, registry};

    struct Rig {
        stage: TelemetryStage,
        feed: Producer<LatencySample>,
        edge: Producer<LatencySample>,
        opps: Producer<BasisOpportunity>,
        clock: Clock,
    }

    fn rig(dir: &Path, db_batch_rows: usize, db_flush_interval: Duration) -> Rig {
        let (clock, _mock) = Clock::mock();
        let (feed, feed_rx) = RingBuffer::new(8192);
        let (edge, edge_rx) = RingBuffer::new(64);
        let (opps, opps_rx) = RingBuffer::new(64);
        let config = TelemetryConfig {
            db_batch_rows,
            db_flush_interval,
            ..TelemetryConfig::new(dir.join("out"))
        };
        let inputs = TelemetryInputs {
            samples: vec![feed_rx, edge_rx],
            opportunities: opps_rx,
            stats: Arc::new(PipelineStats::default()),
            registry: Arc::new(registry()),
            clock: clock.clone(),
        };
        let stage = TelemetryStage::new(config, inputs).unwrap();
        Rig {
            stage,
            feed,
            edge,
            opps,
            clock,
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
        let db = OpportunityDb::open(&out.join(DB_FILE_NAME)).unwrap();
        assert_eq!(db.schema_version().unwrap(), 1);
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
        assert_eq!(rig.stage.db().rows(), 4, "a full batch commits in poll");
        rig.opps
            .push(opportunity(50_000, 2.0, VolatilitySource::Spot, false))
            .unwrap();
        assert_eq!(rig.stage.poll(), 1);
        assert_eq!(rig.stage.db().rows(), 4, "a young partial batch waits");
        assert_eq!(rig.stage.poll(), 0);

        let mut report = RunReport::default();
        rig.stage.finish(&mut report);
        let out = dir.path().join("out");
        assert_eq!(report.counter("telemetry.rows_written"), 5);
        assert_eq!(report.counter("telemetry.rows_unwritten"), 0);
        assert_eq!(report.output_dir, out);
        assert!(report.counters.contains_key("feed.frames"));
        check_histograms(&report);
        check_hgrm_files(&out);
        check_rows(&out, &rig.clock);
    }

    #[test]
    fn test_telemetry_stage_flushes_old_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig(dir.path(), DB_BATCH_ROWS_DEFAULT, Duration::ZERO);
        rig.opps
            .push(opportunity(10_000, 5.0, VolatilitySource::Both, false))
            .unwrap();
        assert_eq!(rig.stage.poll(), 1);
        assert_eq!(rig.stage.db().rows(), 1);
    }

    #[test]
    fn test_telemetry_stage_poll_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut rig = rig(dir.path(), DB_BATCH_ROWS_DEFAULT, DB_FLUSH_INTERVAL_DEFAULT);
        for i in 0..5_000 {
            rig.feed.push(sample(Metric::Feed, 0, 100 + i)).unwrap();
        }
        assert_eq!(rig.stage.poll(), SAMPLES_PER_POLL_MAX);
        assert_eq!(rig.stage.poll(), 5_000 - SAMPLES_PER_POLL_MAX);
        assert_eq!(rig.stage.histograms().cumulative(Metric::Feed).len(), 5_000);
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
        };
        let zero = TelemetryConfig {
            db_batch_rows: 0,
            ..TelemetryConfig::new(dir.path().to_owned())
        };
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
