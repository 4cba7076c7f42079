//! What one latency dump writes, in the `latency/` folder of the output folder, every
//! name stamped with the dump's UTC time (`20261121T144301.123Z`):
//! `<histogram>_<stamp>.hgrm` (cumulative) and `<histogram>_interval_<stamp>.hgrm`
//! (since the previous dump) per histogram, `summary_<stamp>.json` and
//! `percentiles_<stamp>.png`.
//!
//! Runs on the dump thread ([`crate::telemetry::dump`]), never on the sidecar: it owns
//! the previous dump's cumulative histograms (to subtract them into the interval ones)
//! and allocates freely. It may not touch the sidecar's live histograms: it is handed
//! copies. Histograms are taken as they come, by name, so a new one needs no change
//! here.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::runtime::HistogramSummary;
use crate::telemetry::hgrm::write_hgrm_file;
use crate::telemetry::histograms::summarize;
use crate::telemetry::plot::write_percentile_plot;

/// The dumps' folder in the output folder.
pub const DUMP_DIR_NAME: &str = "latency";

/// Copies of the cumulative histograms at one instant, as the sidecar hands them over.
#[derive(Debug)]
pub struct Snapshot {
    /// When it was taken (wall clock).
    pub taken_at_unix_ns: u64,
    /// The end-of-run dump.
    pub last: bool,
    /// Every histogram with samples, by name.
    pub histograms: Vec<(&'static str, Histogram<u64>)>,
}

/// The summaries of one histogram in a dump (`name` is the histogram's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDump {
    /// The whole run so far.
    pub cumulative: HistogramSummary,
    /// Since the previous dump.
    pub interval: HistogramSummary,
}

/// What a dump did.
#[derive(Debug, Clone)]
pub struct DumpOutcome {
    /// When its snapshot was taken.
    pub taken_at_unix_ns: u64,
    /// One entry per histogram, in snapshot order.
    pub metrics: Vec<MetricDump>,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Files that could not be written (logged).
    pub errors: u64,
    /// Time spent on the dump thread.
    pub elapsed: Duration,
    /// The previous dump's histograms, no longer needed: the sidecar copies into them
    /// next time instead of allocating.
    pub spare: Vec<Histogram<u64>>,
}

/// Writes dumps into one folder, remembering the previous one.
#[derive(Debug)]
pub struct DumpWriter {
    dir: PathBuf,
    previous: Vec<(&'static str, Histogram<u64>)>,
    previous_at_unix_ns: Option<u64>,
    previous_stamp: String,
    same_stamp: u32,
}

/// The figures of one histogram in `summary_<stamp>.json`, in nanoseconds.
#[derive(Debug, Serialize)]
struct JsonStats {
    count: u64,
    min_ns: u64,
    mean_ns: f64,
    p50_ns: u64,
    p90_ns: u64,
    p99_ns: u64,
    p999_ns: u64,
    p9999_ns: u64,
    max_ns: u64,
}

#[derive(Debug, Serialize)]
struct JsonHistogram<'a> {
    name: &'a str,
    cumulative: JsonStats,
    interval: JsonStats,
}

#[derive(Debug, Serialize)]
struct JsonSummary<'a> {
    taken_at: String,
    interval_start: Option<String>,
    last: bool,
    histograms: Vec<JsonHistogram<'a>>,
}

impl DumpWriter {
    /// Dumps into `dir` (created at the first dump).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            previous: Vec::new(),
            previous_at_unix_ns: None,
            previous_stamp: String::new(),
            same_stamp: 0,
        }
    }

    /// The dumps' folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes every file of `snapshot`; failures are logged and counted, never fatal.
    pub fn write(&mut self, snapshot: Snapshot) -> DumpOutcome {
        let started = Instant::now();
        let stamp = self.unique_stamp(snapshot.taken_at_unix_ns);
        let mut outcome = DumpOutcome {
            taken_at_unix_ns: snapshot.taken_at_unix_ns,
            metrics: Vec::with_capacity(snapshot.histograms.len()),
            files: Vec::new(),
            errors: 0,
            elapsed: Duration::ZERO,
            spare: Vec::new(),
        };
        if let Err(err) = std::fs::create_dir_all(&self.dir) {
            log::error!("latency dump folder {}: {err}", self.dir.display());
            outcome.errors += 1;
        }
        let mut json = Vec::with_capacity(snapshot.histograms.len());
        for (name, cumulative) in &snapshot.histograms {
            let interval = self.interval_of(name, cumulative);
            self.hgrm(&mut outcome, &format!("{name}_{stamp}.hgrm"), cumulative);
            self.hgrm(
                &mut outcome,
                &format!("{name}_interval_{stamp}.hgrm"),
                &interval,
            );
            json.push(JsonHistogram {
                name,
                cumulative: json_stats(cumulative),
                interval: json_stats(&interval),
            });
            outcome.metrics.push(MetricDump {
                cumulative: summarize(name, cumulative),
                interval: summarize(name, &interval),
            });
        }
        let summary = JsonSummary {
            taken_at: rfc3339(snapshot.taken_at_unix_ns),
            interval_start: self.previous_at_unix_ns.map(rfc3339),
            last: snapshot.last,
            histograms: json,
        };
        self.json(&mut outcome, &format!("summary_{stamp}.json"), &summary);
        self.png(&mut outcome, &stamp, &snapshot);
        let previous = std::mem::replace(&mut self.previous, snapshot.histograms);
        outcome.spare = previous.into_iter().map(|(_, hist)| hist).collect();
        self.previous_at_unix_ns = Some(snapshot.taken_at_unix_ns);
        outcome.elapsed = started.elapsed();
        outcome
    }

    /// [`file_stamp`], with `-2`, `-3` … after a dump taken in the same millisecond as
    /// the previous one (so no file is overwritten).
    fn unique_stamp(&mut self, unix_ns: u64) -> String {
        let stamp = file_stamp(unix_ns);
        if stamp == self.previous_stamp {
            self.same_stamp += 1;
            return format!("{stamp}-{}", self.same_stamp + 1);
        }
        self.previous_stamp.clone_from(&stamp);
        self.same_stamp = 0;
        stamp
    }

    /// `cumulative` less what the previous dump of `name` had (all of it at the first).
    fn interval_of(&self, name: &str, cumulative: &Histogram<u64>) -> Histogram<u64> {
        let mut interval = cumulative.clone();
        let previous = self.previous.iter().find(|(n, _)| *n == name);
        if let Some((_, previous)) = previous
            && let Err(err) = interval.subtract(previous)
        {
            log::error!("latency dump: interval of {name}: {err}; using the cumulative one");
            return cumulative.clone();
        }
        interval
    }

    fn hgrm(&self, outcome: &mut DumpOutcome, file: &str, hist: &Histogram<u64>) {
        let path = self.dir.join(file);
        let written = write_hgrm_file(&path, hist).map_err(|e| e.to_string());
        record(outcome, path, written);
    }

    fn json(&self, outcome: &mut DumpOutcome, file: &str, summary: &JsonSummary<'_>) {
        let path = self.dir.join(file);
        let written = sonic_rs::to_string_pretty(summary)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(&path, text).map_err(|e| e.to_string()));
        record(outcome, path, written);
    }

    fn png(&self, outcome: &mut DumpOutcome, stamp: &str, snapshot: &Snapshot) {
        let path = self.dir.join(format!("percentiles_{stamp}.png"));
        let series: Vec<_> = snapshot.histograms.iter().map(|(n, h)| (*n, h)).collect();
        let kind = if snapshot.last { "final" } else { "periodic" };
        let title = format!(
            "edgeline latency, cumulative ({kind} dump {})",
            rfc3339(snapshot.taken_at_unix_ns)
        );
        let written = write_percentile_plot(&path, &title, &series).map_err(|e| e.to_string());
        record(outcome, path, written);
    }
}

/// Counts a written file or logs and counts its failure.
fn record(outcome: &mut DumpOutcome, path: PathBuf, written: Result<(), String>) {
    match written {
        Ok(()) => outcome.files.push(path),
        Err(err) => {
            log::error!("latency dump: writing {}: {err}", path.display());
            outcome.errors += 1;
        }
    }
}

fn json_stats(hist: &Histogram<u64>) -> JsonStats {
    let s = summarize("", hist);
    let empty = hist.is_empty();
    JsonStats {
        count: s.count,
        min_ns: if empty { 0 } else { hist.min() },
        mean_ns: if empty { 0.0 } else { hist.mean() },
        p50_ns: s.p50_ns,
        p90_ns: s.p90_ns,
        p99_ns: s.p99_ns,
        p999_ns: s.p999_ns,
        p9999_ns: s.p9999_ns,
        max_ns: s.max_ns,
    }
}

/// RFC 3339 with milliseconds, UTC.
fn rfc3339(unix_ns: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(unix_ns)).to_string()
}

/// The stamp in file names: RFC 3339 without `-` and `:` (`20261121T144301.123Z`).
pub fn file_stamp(unix_ns: u64) -> String {
    rfc3339(unix_ns)
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::hgrm::parse_hgrm;
    use crate::telemetry::histograms::histogram_of as histogram;
    use crate::telemetry::plot::{PLOT_SIZE, decode_png};

    const T0: u64 = 1_795_000_000_123_000_000;

    #[test]
    fn test_dump_stamp_is_utc_and_file_safe() {
        assert_eq!(file_stamp(T0), "20261118T110640.123Z");
        assert!(!file_stamp(0).contains(':'));
    }

    #[test]
    fn test_dump_writes_cumulative_and_interval_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = DumpWriter::new(dir.path().join(DUMP_DIR_NAME));
        let first = Snapshot {
            taken_at_unix_ns: T0,
            last: false,
            histograms: vec![("feed", histogram([1_000, 2_000]))],
        };
        let outcome = writer.write(first);
        assert_eq!(outcome.errors, 0);
        assert_eq!(outcome.files.len(), 4, "{:?}", outcome.files);
        assert_eq!(outcome.metrics[0].interval, outcome.metrics[0].cumulative);
        let second = Snapshot {
            taken_at_unix_ns: T0 + 60_000_000_000,
            last: true,
            histograms: vec![
                ("feed", histogram([1_000, 2_000, 9_000])),
                ("edge", histogram([500])),
            ],
        };
        let outcome = writer.write(second);
        assert_eq!((outcome.errors, outcome.files.len()), (0, 6));
        let feed = &outcome.metrics[0];
        assert_eq!((feed.cumulative.count, feed.interval.count), (3, 1));
        assert!((9_000..=9_010).contains(&feed.interval.p50_ns), "{feed:?}");
        let stamp = file_stamp(T0 + 60_000_000_000);
        let read = |name: String| std::fs::read_to_string(writer.dir().join(name)).unwrap();
        let interval = parse_hgrm(&read(format!("feed_interval_{stamp}.hgrm"))).unwrap();
        let cumulative = parse_hgrm(&read(format!("feed_{stamp}.hgrm"))).unwrap();
        assert_eq!((interval.total_count, cumulative.total_count), (1, 3));
        let json: serde_json::Value =
            serde_json::from_str(&read(format!("summary_{stamp}.json"))).unwrap();
        assert_eq!(json["last"], true);
        assert!(json["interval_start"].as_str().unwrap().ends_with('Z'));
        let edge = &json["histograms"][1];
        assert_eq!(edge["name"], "edge");
        for scope in ["cumulative", "interval"] {
            let mut keys: Vec<&str> = edge[scope]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, _)| k.as_str())
                .collect();
            keys.sort_unstable();
            let mut expected = [
                "count", "min_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns",
                "max_ns",
            ];
            expected.sort_unstable();
            assert_eq!(keys, expected);
            assert_eq!(edge[scope]["min_ns"], 500);
            assert_eq!(edge[scope]["mean_ns"], 500.0);
        }
        let (size, inked) = decode_png(&writer.dir().join(format!("percentiles_{stamp}.png")));
        assert_eq!(size, PLOT_SIZE);
        assert!(inked > 0);
    }

    #[test]
    fn test_dump_in_the_same_millisecond_gets_its_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = DumpWriter::new(dir.path().to_owned());
        for _ in 0..3 {
            let outcome = writer.write(Snapshot {
                taken_at_unix_ns: T0,
                last: false,
                histograms: vec![("feed", histogram([1_000]))],
            });
            assert_eq!(outcome.files.len(), 4);
        }
        let stamp = file_stamp(T0);
        for suffix in ["", "-2", "-3"] {
            let path = dir.path().join(format!("summary_{stamp}{suffix}.json"));
            assert!(path.exists(), "{}", path.display());
        }
    }

    #[test]
    fn test_dump_into_unwritable_folder_counts_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let mut writer = DumpWriter::new(file.join(DUMP_DIR_NAME));
        let outcome = writer.write(Snapshot {
            taken_at_unix_ns: T0,
            last: true,
            histograms: vec![("feed", histogram([1_000]))],
        });
        assert_eq!(outcome.errors, 1 + 4, "the folder and every file");
        assert!(outcome.files.is_empty());
        assert_eq!(
            outcome.metrics.len(),
            1,
            "the summaries still go to the database"
        );
    }
}
