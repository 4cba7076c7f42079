//! Latency histograms of the telemetry sidecar: one cumulative and one interval
//! [`Histogram`] per [`Metric`], in nanoseconds.
//!
//! Owned by the telemetry thread only. Every histogram is allocated once in
//! [`LatencyHistograms::new`] with fixed bounds (1 ns .. 60 s, 3 significant digits) and
//! never resizes: recording does not allocate, and a value above the bound saturates to
//! it instead of failing. Summaries and the percentile table allocate (cold path).

use std::fmt::Write as _;

use hdrhistogram::{CreationError, Histogram};

use crate::runtime::{Clock, HistogramSummary};
use crate::telemetry::sample::{LatencySample, Metric};
use crate::types::Venue;

/// Lowest discernible value: 1 ns.
pub const LATENCY_LOW_NS: u64 = 1;
/// Highest trackable value: 60 s. Anything slower is a stall, recorded as 60 s.
pub const LATENCY_HIGH_NS: u64 = 60_000_000_000;
/// Significant decimal digits: 0.1 % value resolution, ~200 KiB per histogram.
pub const LATENCY_SIGFIG: u8 = 3;

/// Number of metrics, i.e. histograms of each kind.
const METRIC_COUNT: usize = Metric::ALL.len();

/// Nanoseconds per microsecond, for display.
pub const NS_PER_US: f64 = 1_000.0;

/// Position of a metric in the histogram arrays (the order of [`Metric::ALL`]).
const fn slot(metric: Metric) -> usize {
    match metric {
        Metric::Feed => 0,
        Metric::Book => 1,
        Metric::Edge => 2,
        Metric::IngressToDecision => 3,
        Metric::Gateway => 4,
        Metric::IngressToOrder => 5,
        Metric::VenueDelay(Venue::Binance) => 6,
        Metric::VenueDelay(Venue::Bybit) => 7,
        Metric::VenueDelay(Venue::Okx) => 8,
        Metric::VenueDelay(Venue::Hyperliquid) => 9,
    }
}

/// The slot of the one metric whose samples may be corrected for coordinated omission.
const INGRESS_TO_DECISION: usize = slot(Metric::IngressToDecision);

// Every slot is in range and the order matches `Metric::ALL`.
const _: () = {
    let mut i = 0;
    while i < METRIC_COUNT {
        assert!(slot(Metric::ALL[i]) == i);
        i += 1;
    }
};

/// The cumulative (whole run) and interval (since the last progress line) latency
/// histograms of every metric.
#[derive(Debug)]
pub struct LatencyHistograms {
    cumulative: [Histogram<u64>; METRIC_COUNT],
    interval: [Histogram<u64>; METRIC_COUNT],
    expected_interval_ns: Option<u64>,
}

impl LatencyHistograms {
    /// Allocates all histograms (start-up only).
    pub fn new() -> Result<Self, CreationError> {
        Self::with_expected_interval(None)
    }

    /// Like [`Self::new`], with coordinated-omission correction of ingress → decision:
    /// when the load is offered at a fixed interval, a sample longer than it stands for
    /// the samples a stall kept from being taken, and HdrHistogram's `record_correct`
    /// adds them (value - interval, value - 2 × interval, ... while at least one interval).
    pub fn with_expected_interval(
        interval: Option<std::time::Duration>,
    ) -> Result<Self, CreationError> {
        Ok(Self {
            cumulative: new_set()?,
            interval: new_set()?,
            expected_interval_ns: interval
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)),
        })
    }

    /// Records one latency in nanoseconds into both histograms of `metric`. Never
    /// allocates; values above [`LATENCY_HIGH_NS`] saturate.
    #[inline]
    pub fn record(&mut self, metric: Metric, ns: u64) {
        self.record_n(slot(metric), ns, 1);
    }

    /// Records `count` equal latencies into both histograms of the metric in `slot`.
    #[inline]
    fn record_n(&mut self, slot: usize, ns: u64, count: u64) {
        // NB: 0 ns (mock clocks, reordered reads) is below the lowest discernible value
        // but still lands in the first bucket: hdrhistogram counts it as 0.
        match self.expected_interval_ns {
            Some(expected) if slot == INGRESS_TO_DECISION => {
                let ns = ns.min(LATENCY_HIGH_NS);
                // Cannot fail: the value is within the histogram's bounds.
                let _ = self.cumulative[slot].record_n_correct(ns, count, expected);
                let _ = self.interval[slot].record_n_correct(ns, count, expected);
            }
            _ => {
                self.cumulative[slot].saturating_record_n(ns, count);
                self.interval[slot].saturating_record_n(ns, count);
            }
        }
    }

    /// Converts each sample's raw ticks to nanoseconds with `clock` and records them;
    /// a run of equal latencies of one metric is recorded once with its count, exactly
    /// as recording them one by one would (a replay's stage latencies are mostly equal:
    /// its clock stands still while a frame crosses the stages).
    pub fn record_samples<'a>(
        &mut self,
        clock: &Clock,
        samples: impl IntoIterator<Item = &'a LatencySample>,
    ) {
        let mut runs = [(0u64, 0u64); METRIC_COUNT];
        for sample in samples {
            let ns = match sample.metric {
                Metric::VenueDelay(_) => clock
                    .unix_ns(sample.end_raw)
                    .saturating_sub(sample.start_raw.saturating_mul(1_000_000)),
                _ => clock.delta_ns(sample.start_raw, sample.end_raw),
            };
            let slot = slot(sample.metric);
            let (run_ns, count) = runs[slot];
            if count > 0 && run_ns == ns {
                runs[slot].1 += 1;
                continue;
            }
            if count > 0 {
                self.record_n(slot, run_ns, count);
            }
            runs[slot] = (ns, 1);
        }
        for (slot, (ns, count)) in runs.into_iter().enumerate() {
            if count > 0 {
                self.record_n(slot, ns, count);
            }
        }
    }

    /// The whole-run histogram of `metric`.
    pub fn cumulative(&self, metric: Metric) -> &Histogram<u64> {
        &self.cumulative[slot(metric)]
    }

    /// The histogram of `metric` since the last [`Self::reset_interval`].
    pub fn interval(&self, metric: Metric) -> &Histogram<u64> {
        &self.interval[slot(metric)]
    }

    /// Empties every interval histogram (at each progress line). Keeps the allocation.
    pub fn reset_interval(&mut self) {
        for hist in &mut self.interval {
            hist.reset();
        }
    }

    /// Percentiles of the whole-run histogram of `metric`.
    pub fn summary(&self, metric: Metric) -> HistogramSummary {
        summarize(metric.name(), self.cumulative(metric))
    }

    /// One summary per metric, in [`Metric::ALL`] order.
    pub fn summaries(&self) -> Vec<HistogramSummary> {
        Metric::ALL.iter().map(|&m| self.summary(m)).collect()
    }
}

fn new_set() -> Result<[Histogram<u64>; METRIC_COUNT], CreationError> {
    let one = Histogram::new_with_bounds(LATENCY_LOW_NS, LATENCY_HIGH_NS, LATENCY_SIGFIG)?;
    Ok(std::array::from_fn(|_| one.clone()))
}

/// Percentiles of `hist` under `name`; all zero for an empty histogram.
pub fn summarize(name: &str, hist: &Histogram<u64>) -> HistogramSummary {
    let at = |q: f64| {
        if hist.is_empty() {
            0
        } else {
            hist.value_at_quantile(q)
        }
    };
    HistogramSummary {
        name: name.to_owned(),
        count: hist.len(),
        p50_ns: at(0.50),
        p90_ns: at(0.90),
        p99_ns: at(0.99),
        p999_ns: at(0.999),
        p9999_ns: at(0.9999),
        max_ns: if hist.is_empty() { 0 } else { hist.max() },
    }
}

/// A histogram with the sidecar's bounds holding `values` (tests).
#[cfg(test)]
pub(crate) fn histogram_of(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
    let mut hist = Histogram::new_with_bounds(LATENCY_LOW_NS, LATENCY_HIGH_NS, LATENCY_SIGFIG)
        .expect("valid bounds");
    for v in values {
        hist.saturating_record(v);
    }
    hist
}

/// The end-of-run percentile table, in microseconds: a header and one line per summary.
pub fn percentile_table(summaries: &[HistogramSummary]) -> String {
    let mut out = format!(
        "{:<20} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
        "stage", "count", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "p99.99 µs", "max µs"
    );
    for s in summaries {
        let us = |ns: u64| ns_to_us(ns);
        // NB: writing into a String cannot fail.
        let _ = writeln!(
            out,
            "{:<20} {:>10} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
            s.name,
            s.count,
            us(s.p50_ns),
            us(s.p90_ns),
            us(s.p99_ns),
            us(s.p999_ns),
            us(s.p9999_ns),
            us(s.max_ns)
        );
    }
    out
}

/// Nanoseconds as (lossy) microseconds, for display.
#[allow(clippy::cast_precision_loss)] // display only; exact below 2^53 ns (104 days)
pub fn ns_to_us(ns: u64) -> f64 {
    ns as f64 / NS_PER_US
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_histograms_correct_coordinated_omission() {
        let interval = std::time::Duration::from_micros(100);
        let mut h = LatencyHistograms::with_expected_interval(Some(interval)).unwrap();
        h.record(Metric::IngressToDecision, 350_000);
        h.record(Metric::Feed, 350_000);
        // 350 µs at a 100 µs interval stands for 350, 250 and 150 µs (HdrHistogram adds
        // back-filled values while they are at least one interval).
        assert_eq!(h.cumulative(Metric::IngressToDecision).len(), 3);
        assert_eq!(h.cumulative(Metric::Feed).len(), 1);
    }

    #[test]
    fn test_venue_delay_is_receive_wall_time_minus_venue_time() {
        let (clock, mock) = Clock::mock();
        mock.increment(5_000_000);
        let received = clock.raw();
        let venue_ms = clock.unix_ns(received) / 1_000_000 - 42;
        let mut h = LatencyHistograms::new().unwrap();
        let sample = LatencySample {
            metric: Metric::VenueDelay(Venue::Okx),
            start_raw: venue_ms,
            end_raw: received,
        };
        h.record_samples(&clock, [&sample]);
        let s = h.summary(Metric::VenueDelay(Venue::Okx));
        assert_eq!(s.name, "venue_delay_okx");
        let ms = s.max_ns / 1_000_000;
        assert!((42..=43).contains(&ms), "{ms} ms");
        assert_eq!(h.summary(Metric::VenueDelay(Venue::Bybit)).count, 0);
    }

    #[test]
    fn test_histograms_record_sample_with_mock_clock() {
        let (clock, _mock) = Clock::mock();
        let mut h = LatencyHistograms::new().unwrap();
        for (start, end) in [(100, 1_100), (200, 2_200), (0, 1_500)] {
            let sample = LatencySample {
                metric: Metric::Edge,
                start_raw: start,
                end_raw: end,
            };
            h.record_samples(&clock, [&sample]);
        }
        let s = h.summary(Metric::Edge);
        assert_eq!((s.name.as_str(), s.count), ("edge", 3));
        assert_eq!((s.p50_ns, s.max_ns), (1_500, 2_000));
        assert_eq!(h.summary(Metric::Feed).count, 0);
    }

    proptest::proptest! {
        /// Runs of equal latencies recorded with their count give exactly the
        /// histograms that recording the samples one by one gives.
        #[test]
        fn prop_batched_samples_record_as_one_by_one(
            picks in proptest::collection::vec((0..METRIC_COUNT, 0u64..4, 0u64..4), 0..200)
        ) {
            let (clock, mock) = Clock::mock();
            mock.increment(1_000_000_000);
            let samples: Vec<LatencySample> = picks
                .iter()
                .map(|&(metric, start, gap)| LatencySample {
                    metric: Metric::ALL[metric],
                    start_raw: start * 100,
                    end_raw: start * 100 + gap * 150,
                })
                .collect();
            let interval = Some(std::time::Duration::from_nanos(100));
            let mut batched = LatencyHistograms::with_expected_interval(interval).unwrap();
            let mut one_by_one = LatencyHistograms::with_expected_interval(interval).unwrap();
            batched.record_samples(&clock, &samples);
            for sample in &samples {
                one_by_one.record_samples(&clock, [sample]);
            }
            for metric in Metric::ALL {
                proptest::prop_assert!(batched.cumulative(metric) == one_by_one.cumulative(metric));
                proptest::prop_assert!(batched.interval(metric) == one_by_one.interval(metric));
            }
        }
    }

    #[test]
    fn test_histograms_interval_resets_cumulative_keeps() {
        let mut h = LatencyHistograms::new().unwrap();
        h.record(Metric::Book, 700);
        h.reset_interval();
        h.record(Metric::Book, 900);
        assert_eq!(h.interval(Metric::Book).len(), 1);
        assert_eq!(h.interval(Metric::Book).max(), 900);
        assert_eq!(h.cumulative(Metric::Book).len(), 2);
    }

    #[test]
    fn test_histograms_saturate_above_bound() {
        let mut h = LatencyHistograms::new().unwrap();
        h.record(Metric::Feed, u64::MAX);
        let hist = h.cumulative(Metric::Feed);
        assert_eq!(hist.len(), 1);
        assert!(hist.equivalent(hist.max(), LATENCY_HIGH_NS));
    }

    #[test]
    fn test_histograms_empty_summary_is_zero() {
        let h = LatencyHistograms::new().unwrap();
        let s = h.summary(Metric::IngressToDecision);
        assert_eq!(
            (s.count, s.p50_ns, s.p999_ns, s.max_ns),
            (0, 0, 0, 0),
            "{s:?}"
        );
        assert_eq!(h.summaries().len(), Metric::ALL.len());
    }

    #[test]
    fn test_histograms_percentile_table_in_micros() {
        let mut h = LatencyHistograms::new().unwrap();
        h.record(Metric::Feed, 1_250);
        let table = percentile_table(&h.summaries());
        let feed = table.lines().find(|l| l.starts_with("feed")).unwrap();
        assert!(feed.contains(" 1 ") && feed.contains("1.250"), "{feed}");
        assert_eq!(table.lines().count(), 1 + Metric::ALL.len());
    }
}
