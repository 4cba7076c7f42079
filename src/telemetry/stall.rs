//! The telemetry loop's stall detector: how long each iteration of the sidecar's loop
//! took (from one `poll` to the next, so the thread's idle sleep and any time it was not
//! running count too), the longest one, how many were longer than [`STALL_AFTER`], and
//! the longest time spent in each part of a poll, so a stall says where it was: in the
//! rings and batches, in the progress line (a write to stdout, which blocks while
//! nobody reads a full pipe), in the status board, in the latency dumps, or between
//! polls (the thread parked, or not scheduled on its core).
//!
//! Owned by the telemetry sidecar ([`crate::telemetry::TelemetryStage`]) on its own
//! thread; plain fields, no atomics; it may not touch the hot path. Its figures reach
//! the status board (metrics) once a second and the run report at the end.

use std::time::{Duration, Instant};

/// An iteration longer than this is a stall: counted and logged, naming its part.
pub const STALL_AFTER: Duration = Duration::from_secs(1);

/// The parts of one telemetry loop iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Draining the sample and record rings into histograms and batches, handing batches
    /// to the database writer.
    Drain,
    /// The progress line (stdout) and venue staleness.
    Progress,
    /// Publishing the status board.
    Status,
    /// Starting latency dumps and queueing their rows.
    Dump,
    /// From the end of one poll to the start of the next: the idle sleep, or the thread
    /// not running.
    Between,
}

impl Part {
    /// Every part, in report order.
    pub const ALL: [Part; 5] = [
        Part::Drain,
        Part::Progress,
        Part::Status,
        Part::Dump,
        Part::Between,
    ];

    /// The report name.
    pub const fn name(self) -> &'static str {
        match self {
            Part::Drain => "drain",
            Part::Progress => "progress",
            Part::Status => "status",
            Part::Dump => "dump",
            Part::Between => "between_polls",
        }
    }

    /// The run report's key of the part's longest time, µs.
    pub const fn report_key(self) -> &'static str {
        match self {
            Part::Drain => "telemetry.loop_part_max_us.drain",
            Part::Progress => "telemetry.loop_part_max_us.progress",
            Part::Status => "telemetry.loop_part_max_us.status",
            Part::Dump => "telemetry.loop_part_max_us.dump",
            Part::Between => "telemetry.loop_part_max_us.between_polls",
        }
    }

    /// The position in [`Part::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Run report keys: the longest iteration (µs), its main part ([`Part::index`] + 1; 0
/// before any iteration), the stalls.
pub const LONGEST_KEY: &str = "telemetry.loop_longest_us";
/// See [`LONGEST_KEY`].
pub const LONGEST_PART_KEY: &str = "telemetry.loop_longest_part";
/// See [`LONGEST_KEY`].
pub const STALLS_KEY: &str = "telemetry.loop_stalls";

impl StallFigures {
    /// Writes the figures into the run report.
    pub fn report(&self, report: &mut crate::runtime::RunReport) {
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        report.set(LONGEST_KEY, us(self.longest));
        report.set(
            LONGEST_PART_KEY,
            self.longest_part.map_or(0, |p| p.index() as u64 + 1),
        );
        report.set(STALLS_KEY, self.stalls);
        for (part, &max) in Part::ALL.iter().zip(&self.part_max) {
            report.set(part.report_key(), us(max));
        }
    }
}

/// What the detector has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StallFigures {
    /// Iterations measured.
    pub iterations: u64,
    /// The longest iteration.
    pub longest: Duration,
    /// The part that took most of the longest iteration.
    pub longest_part: Option<Part>,
    /// Iterations longer than [`STALL_AFTER`].
    pub stalls: u64,
    /// The longest time in each part, in [`Part::ALL`] order.
    pub part_max: [Duration; 5],
}

/// The detector: call [`StallWatch::poll_started`] at the top of each poll,
/// [`StallWatch::part_done`] after each part, [`StallWatch::poll_ended`] at its end.
#[derive(Debug, Default)]
pub struct StallWatch {
    figures: StallFigures,
    /// Start of the current poll (`None` before the first).
    started: Option<Instant>,
    /// End of the last part (or the poll's start).
    mark: Option<Instant>,
    /// End of the last poll.
    ended: Option<Instant>,
    /// The parts of the poll under way.
    parts: [Duration; 5],
}

impl StallWatch {
    /// A poll starts at `now`: the iteration since the previous poll's start is complete.
    pub fn poll_started(&mut self, now: Instant) {
        if let (Some(started), Some(ended)) = (self.started, self.ended) {
            self.parts[Part::Between.index()] = now.saturating_duration_since(ended);
            self.iteration_done(now.saturating_duration_since(started));
        }
        self.parts = [Duration::ZERO; 5];
        self.started = Some(now);
        self.mark = Some(now);
    }

    /// `part` of the current poll ended at `now`.
    pub fn part_done(&mut self, part: Part, now: Instant) {
        if let Some(mark) = self.mark {
            self.parts[part.index()] += now.saturating_duration_since(mark);
        }
        self.mark = Some(now);
    }

    /// The current poll ended at `now`.
    pub fn poll_ended(&mut self, now: Instant) {
        self.ended = Some(now);
    }

    /// The figures so far.
    pub fn figures(&self) -> StallFigures {
        self.figures
    }

    fn iteration_done(&mut self, took: Duration) {
        let f = &mut self.figures;
        f.iterations += 1;
        for (max, &part) in f.part_max.iter_mut().zip(&self.parts) {
            *max = (*max).max(part);
        }
        let (main, main_took) = Part::ALL
            .into_iter()
            .zip(self.parts)
            .max_by_key(|&(_, d)| d)
            .unwrap_or((Part::Between, took));
        if took > f.longest {
            f.longest = took;
            f.longest_part = Some(main);
        }
        if took > STALL_AFTER {
            f.stalls += 1;
            log::warn!(
                "telemetry stalled {took:?} (stall {}): {main_took:?} of it in {}",
                f.stalls,
                main.name()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// One poll from `t` whose parts take `drain`, `progress` ms, then `idle` ms asleep.
    fn poll(w: &mut StallWatch, t: Instant, drain: u64, progress: u64, idle: u64) -> Instant {
        w.poll_started(t);
        w.part_done(Part::Drain, t + ms(drain));
        w.part_done(Part::Progress, t + ms(drain + progress));
        w.part_done(Part::Status, t + ms(drain + progress));
        w.part_done(Part::Dump, t + ms(drain + progress));
        w.poll_ended(t + ms(drain + progress));
        t + ms(drain + progress + idle)
    }

    #[test]
    fn test_a_blocked_part_is_the_longest_iteration_and_a_stall() {
        let mut w = StallWatch::default();
        let mut t = Instant::now();
        for _ in 0..3 {
            t = poll(&mut w, t, 1, 0, 1);
        }
        // The progress line blocks 2.5 s (stdout a full pipe), then all is quick again.
        t = poll(&mut w, t, 1, 2500, 1);
        t = poll(&mut w, t, 1, 0, 1);
        w.poll_started(t);
        let f = w.figures();
        assert_eq!(f.iterations, 5);
        assert_eq!(f.longest, ms(2502));
        assert_eq!(f.longest_part, Some(Part::Progress));
        assert_eq!(f.stalls, 1);
        assert_eq!(f.part_max[Part::Progress.index()], ms(2500));
        assert_eq!(f.part_max[Part::Drain.index()], ms(1));
        assert_eq!(f.part_max[Part::Between.index()], ms(1));
    }

    #[test]
    fn test_a_thread_that_does_not_run_stalls_between_polls() {
        let mut w = StallWatch::default();
        let mut t = Instant::now();
        t = poll(&mut w, t, 1, 0, 1);
        t = poll(&mut w, t, 1, 0, 1500);
        w.poll_started(t);
        let f = w.figures();
        assert_eq!(f.longest, ms(1501));
        assert_eq!(f.longest_part, Some(Part::Between));
        assert_eq!(f.stalls, 1);
    }

    #[test]
    fn test_quick_iterations_are_no_stall() {
        let mut w = StallWatch::default();
        let mut t = Instant::now();
        for _ in 0..100 {
            t = poll(&mut w, t, 2, 1, 5);
        }
        w.poll_started(t);
        let f = w.figures();
        assert_eq!(f.iterations, 100);
        assert_eq!(f.stalls, 0);
        assert_eq!(f.longest, ms(8));
    }
}
