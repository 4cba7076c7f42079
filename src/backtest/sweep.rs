//! `edgeline backtest --sweep`: every point of a parameter grid backtested on the same
//! recordings, in parallel, with a walk-forward split.
//!
//! The recorded time (receive times of the frames the configuration replays) is split
//! at `in_sample_fraction`. Each point runs two independent replays: the in-sample one
//! over the replay [`Window`] that ends at the split (it never sees a frame after it),
//! and one over the whole recording whose trades entered after the split (to the
//! millisecond) are the out-of-sample figures. The out-of-sample part is not replayed
//! from the split alone on purpose: books and baselines start warm, as a live run's
//! would, and a replay starting mid-recording would miss the venues' depth snapshots
//! and never sync its books.
//!
//! Replays are single-threaded and deterministic, so the jobs run on a pool of
//! `threads` scoped threads taking jobs from an atomic counter; each replay writes its
//! own SQLite database in its own folder under `sweep-runs/` of the output folder
//! (whatever database the base configuration names, so parallel runs never collide).
//! Cold path: allocates freely.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::backtest::grid::{GridError, Point, point_config};
use crate::backtest::sweep_report::{Metric, SweepReport};
use crate::config::Config;
use crate::replay::{InputFile, ReplayError, ReplayOptions, Window, recorded_span, replay};
use crate::runtime::{Shutdown, StopReason};
use crate::telemetry::db::analytics::Reader;
use crate::telemetry::db::record::rfc3339_millis;
use crate::telemetry::db::trade_analytics::TradeLine;
use crate::telemetry::db::{DbError, DbTarget};

/// The runs' folder in the output folder.
pub const RUNS_DIR_NAME: &str = "sweep-runs";

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The grid or a point's configuration is refused.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// `--in-sample` must leave time on both sides of the split.
    #[error("--in-sample: {0} is not strictly between 0 and 1")]
    Fraction(f64),
    /// The inputs hold no frame the configuration replays.
    #[error("the inputs hold no frame for the configured markets in the window")]
    NoFrames,
    /// A replay could not start.
    #[error("sweep point {point}: {source}")]
    Replay {
        /// The point.
        point: String,
        /// Why.
        source: ReplayError,
    },
    /// A replay was stopped before the end of its inputs (a signal).
    #[error("sweep point {point}: the replay stopped early ({reason:?})")]
    Stopped {
        /// The point.
        point: String,
        /// Why it stopped.
        reason: StopReason,
    },
    /// Writing `sweep.md` or `sweep.json` failed: check the output folder.
    #[error("writing the sweep report: {0}")]
    Io(#[from] std::io::Error),
    /// A run's database could not be read back.
    #[error("sweep point {point}: {source}")]
    Db {
        /// The point.
        point: String,
        /// Why.
        source: DbError,
    },
}

/// What to sweep.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// The base configuration's TOML.
    pub base: toml::Table,
    /// The grid.
    pub points: Vec<Point>,
    /// Recordings and captures, merged by receive time.
    pub inputs: Vec<InputFile>,
    /// The receive-time window the sweep covers.
    pub window: Window,
    /// Share of the recorded time that is in-sample (the default is 0.7).
    pub in_sample_fraction: f64,
    /// What the best in-sample point is chosen by.
    pub metric: Metric,
    /// Where the runs and the report go.
    pub output_dir: PathBuf,
    /// Replays at once (at least 1).
    pub threads: usize,
}

/// One replay of the sweep.
#[derive(Debug, Clone, Copy)]
struct Job {
    point: usize,
    in_sample: bool,
}

/// What a sweep produced.
#[derive(Debug)]
pub struct SweepOutcome {
    /// The report (also written as `sweep.md` and `sweep.json`).
    pub report: SweepReport,
    /// The files written.
    pub files: [PathBuf; 2],
    /// Damage found in the inputs (every replay stopped reading there).
    pub damage: Vec<String>,
}

/// Runs the sweep and writes its report into `spec.output_dir`.
pub fn run_sweep(spec: &SweepSpec, shutdown: &Shutdown) -> Result<SweepOutcome, SweepError> {
    let fraction = spec.in_sample_fraction;
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(SweepError::Fraction(fraction));
    }
    let configs = spec
        .points
        .iter()
        .map(|p| point_config(&spec.base, p, spec.threads.max(1)))
        .collect::<Result<Vec<_>, _>>()?;
    let split_ns = split_time(spec, &configs)?;
    let split_at = rfc3339_millis(i64::try_from(split_ns).unwrap_or(i64::MAX));
    let mut results = run_replays(spec, &configs, split_ns, shutdown)?.into_iter();
    let mut points = Vec::with_capacity(spec.points.len());
    let mut damage = Vec::new();
    for point in &spec.points {
        let (Some(is), Some(full)) = (results.next(), results.next()) else {
            break;
        };
        let oos = full
            .trades
            .into_iter()
            .filter(|t| t.entry_at > split_at)
            .collect();
        points.push((point.clone(), is.trades, oos));
        damage = full.damage;
    }
    let report = SweepReport::new(fraction, split_at, spec.metric, &points);
    std::fs::create_dir_all(&spec.output_dir)?;
    let files = report.write(&spec.output_dir)?;
    Ok(SweepOutcome {
        report,
        files,
        damage,
    })
}

/// The last in-sample receive time: `in_sample_fraction` of the way through the
/// recorded time the first point's configuration replays (every point replays the
/// same markets unless the grid changes instruments).
fn split_time(spec: &SweepSpec, configs: &[Config]) -> Result<u64, SweepError> {
    let first = configs.first().ok_or(SweepError::NoFrames)?;
    let (from_ns, to_ns) = recorded_span(first, &spec.inputs, spec.window)
        .map_err(|source| SweepError::Replay {
            point: spec.points[0].to_string(),
            source,
        })?
        .ok_or(SweepError::NoFrames)?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0 < fraction < 1
    let offset = ((to_ns - from_ns) as f64 * spec.in_sample_fraction) as u64;
    Ok(from_ns + offset)
}

/// Every point's two replays (in-sample, then whole), in parallel; their trades and
/// damage in that order.
fn run_replays(
    spec: &SweepSpec,
    configs: &[Config],
    split_ns: u64,
    shutdown: &Shutdown,
) -> Result<Vec<RunResult>, SweepError> {
    let jobs: Vec<Job> = (0..configs.len())
        .flat_map(|point| [true, false].map(|in_sample| Job { point, in_sample }))
        .collect();
    let runs = spec.output_dir.join(RUNS_DIR_NAME);
    run_jobs(jobs.len(), spec.threads, |i| {
        let job = jobs[i];
        let (window, part) = if job.in_sample {
            let to_ns = split_ns;
            (
                Window {
                    to_ns,
                    ..spec.window
                },
                "is",
            )
        } else {
            (spec.window, "full")
        };
        let dir = runs.join(format!("p{:03}-{part}", job.point));
        backtest_trades(&configs[job.point], &spec.inputs, window, &dir, shutdown)
            .map_err(|e| e.at(&spec.points[job.point]))
    })
    .into_iter()
    .collect()
}

/// What one replay of the sweep left.
struct RunResult {
    /// Trades closed, in exit order.
    trades: Vec<TradeLine>,
    /// Damage met in the inputs.
    damage: Vec<String>,
}

/// A job's failure before the point is known.
enum JobError {
    Replay(ReplayError),
    Stopped(StopReason),
    Db(DbError),
}

impl JobError {
    fn at(self, point: &Point) -> SweepError {
        let point = point.to_string();
        match self {
            JobError::Replay(source) => SweepError::Replay { point, source },
            JobError::Stopped(reason) => SweepError::Stopped { point, reason },
            JobError::Db(source) => SweepError::Db { point, source },
        }
    }
}

/// Replays `inputs` in `window` with `config` into `dir` (SQLite).
fn backtest_trades(
    config: &Config,
    inputs: &[InputFile],
    window: Window,
    dir: &Path,
    shutdown: &Shutdown,
) -> Result<RunResult, JobError> {
    let mut config = config.clone();
    config.output_dir = dir.to_path_buf();
    config.database.target = DbTarget::Sqlite(None);
    config.telemetry.progress_interval = None;
    let options = ReplayOptions {
        inputs: inputs.to_vec(),
        speed: None,
        window,
    };
    let outcome = replay(&config, &options, shutdown).map_err(JobError::Replay)?;
    if outcome.stop != StopReason::EndOfInput {
        return Err(JobError::Stopped(outcome.stop));
    }
    let trades = Reader::open(&config.database, dir)
        .and_then(|mut r| r.trades())
        .map_err(JobError::Db)?;
    Ok(RunResult {
        trades,
        damage: outcome.damage,
    })
}

/// Runs `work(0..jobs)` on `threads` scoped threads taking the next job from a shared
/// counter; returns the results in job order. A panicking job panics the caller.
fn run_jobs<T: Send>(jobs: usize, threads: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<T>> = (0..jobs).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, jobs.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= jobs {
                            return done;
                        }
                        done.push((i, work(i)));
                    }
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => {
                    for (i, result) in done {
                        results[i] = Some(result);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_job_pool_runs_every_job_once_in_order() {
        let ran = AtomicUsize::new(0);
        let results = run_jobs(7, 3, |i| {
            ran.fetch_add(1, Ordering::Relaxed);
            i * 10
        });
        assert_eq!(results, [0, 10, 20, 30, 40, 50, 60]);
        assert_eq!(ran.load(Ordering::Relaxed), 7);
        assert!(run_jobs(0, 4, |i| i).is_empty());
        assert_eq!(run_jobs(2, 0, |i| i + 1), [1, 2]);
    }
}
