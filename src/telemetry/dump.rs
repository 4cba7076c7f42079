//! Latency dumps, periodic (`[telemetry] dump_interval_secs`) and at the end of the run:
//! when one is due, the sidecar copies the cumulative histogram of every metric that has
//! samples and hands the copies to a dump thread of its own, which writes the files
//! ([`crate::telemetry::dump_files`]) and sends back the summaries that become
//! `latency_snapshots` rows.
//!
//! The sidecar's share is the copy (a memset and a memcpy per histogram, into copies
//! allocated at start and handed back by the dump thread; measured as
//! [`DumpStats::snapshot_ns_max`]); the files and the plot never run on it, so ring
//! draining is not held up by disk or drawing. One dump at a time: a periodic dump that
//! comes due while the previous one is still being written is skipped and counted.
//! Metrics are taken from [`Metric::ALL`] by name, so a histogram added there is
//! dumped without a change here. May not touch the database: rows go back through the
//! sidecar's writer.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, Sender, TryRecvError, bounded};
use hdrhistogram::Histogram;

use crate::telemetry::dump_files::{DumpOutcome, DumpWriter, Snapshot};
use crate::telemetry::histograms::{
    LATENCY_HIGH_NS, LATENCY_LOW_NS, LATENCY_SIGFIG, LatencyHistograms, ns_to_us,
};
use crate::telemetry::sample::Metric;

/// What the dumps did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpStats {
    /// Dumps written (periodic and final).
    pub dumps: u64,
    /// Periodic dumps skipped because the previous one was still being written.
    pub skipped: u64,
    /// Files that could not be written.
    pub errors: u64,
    /// Longest the sidecar spent on one dump (copying the histograms), ns.
    pub snapshot_ns_max: u64,
    /// Longest the dump thread spent writing one dump, ns.
    pub write_ns_max: u64,
}

/// The dump schedule and the dump thread.
pub struct Dumper {
    every: Option<Duration>,
    next_due: Option<Instant>,
    jobs: Option<Sender<Snapshot>>,
    done: Receiver<DumpOutcome>,
    handle: Option<JoinHandle<()>>,
    in_flight: bool,
    last_snapshot_ns: u64,
    spare: Vec<Histogram<u64>>,
    stats: DumpStats,
}

impl Dumper {
    /// Starts the dump thread writing into `dir`; the first periodic dump is due
    /// `every` after `now` (`None`: only the final dump). Allocates the copies of two
    /// dumps (one being written, one being taken) now, so no dump allocates them.
    pub fn spawn(dir: PathBuf, every: Option<Duration>, now: Instant) -> std::io::Result<Self> {
        let (jobs, job_rx) = bounded::<Snapshot>(1);
        let (done_tx, done) = bounded(2);
        let mut writer = DumpWriter::new(dir);
        let handle = std::thread::Builder::new()
            .name("edgeline-dump".into())
            .spawn(move || {
                for snapshot in job_rx {
                    if done_tx.send(writer.write(snapshot)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Self {
            every,
            next_due: every.map(|every| now + every),
            jobs: Some(jobs),
            done,
            handle: Some(handle),
            in_flight: false,
            last_snapshot_ns: 0,
            spare: (0..2 * Metric::ALL.len())
                .filter_map(|_| {
                    Histogram::new_with_bounds(LATENCY_LOW_NS, LATENCY_HIGH_NS, LATENCY_SIGFIG).ok()
                })
                .collect(),
            stats: DumpStats::default(),
        })
    }

    /// Hands a snapshot of `histograms`, stamped with `taken_at_unix_ns()`, to the dump
    /// thread when a periodic dump is due; returns whether it did.
    pub fn start_if_due(
        &mut self,
        now: Instant,
        histograms: &LatencyHistograms,
        taken_at_unix_ns: impl FnOnce() -> u64,
    ) -> bool {
        let (Some(due), Some(every)) = (self.next_due, self.every) else {
            return false;
        };
        if now < due {
            return false;
        }
        self.next_due = Some(now + every);
        if self.in_flight {
            self.stats.skipped += 1;
            log::warn!(
                "latency dump skipped: the previous one is still being written ({} skipped)",
                self.stats.skipped
            );
            return false;
        }
        self.start(histograms, taken_at_unix_ns(), false)
    }

    /// Copies the histograms with samples (into spare ones the dump thread handed back,
    /// when it has) and queues them for the dump thread.
    fn start(&mut self, histograms: &LatencyHistograms, taken_at_unix_ns: u64, last: bool) -> bool {
        let started = Instant::now();
        let mut copies = Vec::with_capacity(Metric::ALL.len());
        for metric in Metric::ALL {
            let hist = histograms.cumulative(metric);
            if !hist.is_empty() {
                copies.push((metric.name(), self.copy_of(hist)));
            }
        }
        let snapshot = Snapshot {
            taken_at_unix_ns,
            last,
            histograms: copies,
        };
        let Some(jobs) = &self.jobs else {
            return false;
        };
        if jobs.try_send(snapshot).is_err() {
            log::error!("latency dumps stopped: the dump thread is gone");
            self.jobs = None;
            return false;
        }
        self.in_flight = true;
        let spent = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_snapshot_ns = spent;
        self.stats.snapshot_ns_max = self.stats.snapshot_ns_max.max(spent);
        true
    }

    /// `hist` copied into a spare histogram (same bounds: a memset and a memcpy), or
    /// cloned when there is none.
    fn copy_of(&mut self, hist: &Histogram<u64>) -> Histogram<u64> {
        if let Some(mut spare) = self.spare.pop()
            && spare.set_to(hist).is_ok()
        {
            return spare;
        }
        hist.clone()
    }

    /// A finished dump, if one is waiting (never blocks).
    pub fn try_done(&mut self) -> Option<DumpOutcome> {
        match self.done.try_recv() {
            Ok(outcome) => Some(self.count(outcome)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                if self.jobs.take().is_some() {
                    log::error!("latency dumps stopped: the dump thread ended");
                }
                self.in_flight = false;
                None
            }
        }
    }

    fn count(&mut self, mut outcome: DumpOutcome) -> DumpOutcome {
        self.in_flight = false;
        self.spare.append(&mut outcome.spare);
        self.stats.dumps += 1;
        self.stats.errors += outcome.errors;
        let spent = u64::try_from(outcome.elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.stats.write_ns_max = self.stats.write_ns_max.max(spent);
        log::info!(
            "latency dump: {} histograms copied in {:.1} µs on the sidecar, {} files in {:.1} ms on the dump thread",
            outcome.metrics.len(),
            ns_to_us(self.last_snapshot_ns),
            outcome.files.len(),
            outcome.elapsed.as_secs_f64() * 1e3
        );
        outcome
    }

    /// The final dump: waits for a dump in flight, dumps `histograms` and waits for it,
    /// then stops the thread. Returns the dumps that finished, oldest first.
    pub fn finish(
        &mut self,
        histograms: &LatencyHistograms,
        taken_at_unix_ns: u64,
    ) -> Vec<DumpOutcome> {
        let mut finished = Vec::new();
        if self.in_flight {
            finished.extend(self.wait());
        }
        if self.start(histograms, taken_at_unix_ns, true) {
            finished.extend(self.wait());
        }
        self.jobs = None;
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            log::error!("the latency dump thread panicked");
        }
        finished
    }

    fn wait(&mut self) -> Option<DumpOutcome> {
        match self.done.recv() {
            Ok(outcome) => Some(self.count(outcome)),
            Err(_) => {
                self.in_flight = false;
                log::error!("the latency dump thread ended before its dump");
                None
            }
        }
    }

    /// The figures so far.
    pub fn stats(&self) -> DumpStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::dump_files::DUMP_DIR_NAME;

    #[test]
    fn test_dumper_periodic_then_final_covers_every_metric_with_samples() {
        let dir = tempfile::tempdir().unwrap();
        let every = Duration::from_secs(60);
        let t0 = Instant::now();
        let mut dumper = Dumper::spawn(dir.path().join(DUMP_DIR_NAME), Some(every), t0).unwrap();
        let mut h = LatencyHistograms::new().unwrap();
        for (i, metric) in (1..).zip(Metric::ALL) {
            h.record(metric, i * 1_000);
        }
        assert!(
            !dumper.start_if_due(t0 + every / 2, &h, || 1),
            "not due yet"
        );
        assert!(dumper.start_if_due(t0 + every, &h, || 2));
        assert!(
            !dumper.start_if_due(t0 + every * 2, &h, || 3),
            "one dump in flight at most: skipped"
        );
        h.record(Metric::Feed, 5_000);
        let done = dumper.finish(&h, 4);
        assert_eq!(done.len(), 2, "the one in flight, then the final one");
        let last = &done[1];
        assert_eq!(last.taken_at_unix_ns, 4);
        let names: Vec<&str> = last
            .metrics
            .iter()
            .map(|m| m.cumulative.name.as_str())
            .collect();
        let all: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(
            names, all,
            "every histogram with samples, found by Metric::ALL"
        );
        let feed = &last.metrics[0];
        assert_eq!((feed.cumulative.count, feed.interval.count), (2, 1));
        assert_eq!(
            dumper.spare.len(),
            Metric::ALL.len(),
            "the periodic dump's copies come back once the final one replaces them"
        );
        let stats = dumper.stats();
        assert_eq!((stats.dumps, stats.skipped), (2, 1));
        assert_eq!(stats.errors, 0);
        assert!(stats.snapshot_ns_max > 0 && stats.write_ns_max > 0);
    }

    #[test]
    fn test_dumper_skips_empty_histograms_and_without_interval_only_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let mut dumper = Dumper::spawn(dir.path().join(DUMP_DIR_NAME), None, t0).unwrap();
        let mut h = LatencyHistograms::new().unwrap();
        h.record(Metric::Edge, 700);
        assert!(!dumper.start_if_due(t0 + Duration::from_secs(86_400), &h, || 1));
        let done = dumper.finish(&h, 2);
        assert_eq!(done.len(), 1);
        let names: Vec<&str> = done[0]
            .metrics
            .iter()
            .map(|m| m.cumulative.name.as_str())
            .collect();
        assert_eq!(names, ["edge"]);
        assert_eq!(done[0].files.len(), 2 + 2);
    }
}
