//! `edgeline bench e2e`: the end-to-end latency benchmark. The built-in simulator offers
//! top-of-book and depth updates at a fixed rate through the real pipeline (the
//! configured placement, the telemetry database writing), ingress → decision is
//! corrected for coordinated omission, and every histogram is written to
//! `bench/results/` as `<scenario>_<rate>hz_<date>_<git revision>_<histogram>.hgrm`.
//!
//! Cold path: runs on the control thread around [`crate::pipeline::run`].

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use crate::config::Config;
use crate::pipeline::{self, PipelineError, RunOutcome};
use crate::runtime::{Clock, Shutdown};
use crate::telemetry::histograms::percentile_table;

/// Scenarios this build can run.
pub const SCENARIOS: [&str; 1] = ["one-market"];

/// What to run.
#[derive(Debug, Clone)]
pub struct E2eParams {
    /// Scenario name (see [`SCENARIOS`]).
    pub scenario: String,
    /// Offered rate: simulator steps per second (each step sends the perp top of book).
    pub rate_hz: u64,
    /// How long to run.
    pub duration: Duration,
    /// Where the `.hgrm` files go.
    pub results_dir: PathBuf,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum E2eError {
    /// The scenario is not one this build has.
    #[error(
        "unknown or unavailable scenario `{0}` (available: one-market; the multi-venue and burst scenarios need the multi-instrument simulator)"
    )]
    Scenario(String),
    /// The rate is outside what the simulator steps at (1 Hz to 100 kHz).
    #[error("rate {0} Hz is outside 1..=100000")]
    Rate(u64),
    /// The pipeline failed to start.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The results folder or a file in it could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The files written and the run's outcome.
#[derive(Debug)]
pub struct E2eOutcome {
    /// The pipeline run.
    pub run: RunOutcome,
    /// The `.hgrm` files written.
    pub files: Vec<PathBuf>,
    /// The percentile table (µs).
    pub table: String,
}

/// Runs one scenario with `config` as the base (its placement is kept).
pub fn run(
    mut config: Config,
    params: &E2eParams,
    shutdown: &Shutdown,
) -> Result<E2eOutcome, E2eError> {
    if !SCENARIOS.contains(&params.scenario.as_str()) {
        return Err(E2eError::Scenario(params.scenario.clone()));
    }
    if !(1..=100_000).contains(&params.rate_hz) {
        return Err(E2eError::Rate(params.rate_hz));
    }
    let step = Duration::from_nanos(1_000_000_000 / params.rate_hz);
    let stem = format!(
        "{}_{}hz_{}_{}",
        params.scenario,
        params.rate_hz,
        today(),
        git_revision()
    );
    let work = params.results_dir.join(format!(".run-{stem}"));
    if let Some(sim) = config.simulator.as_mut() {
        sim.step = step;
    }
    config.telemetry.expected_interval = Some(step);
    config.duration = params.duration;
    config.output_dir = work.clone();
    let run = pipeline::run(&config, shutdown)?;
    let files = collect_hgrm(&work, &params.results_dir, &stem)?;
    let table = percentile_table(&run.report.histograms);
    Ok(E2eOutcome { run, files, table })
}

/// Moves `<work>/<name>.hgrm` to `<results>/<stem>_<name>.hgrm` and removes `work`.
fn collect_hgrm(work: &Path, results: &Path, stem: &str) -> Result<Vec<PathBuf>, E2eError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| E2eError::Io { path, source }
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(work).map_err(io(work))? {
        let path = entry.map_err(io(work))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".hgrm") {
            let target = results.join(format!("{stem}_{name}"));
            std::fs::rename(&path, &target).map_err(io(&target))?;
            files.push(target);
        }
    }
    std::fs::remove_dir_all(work).map_err(io(work))?;
    files.sort();
    Ok(files)
}

/// Today's UTC date, `YYYY-MM-DD`.
fn today() -> String {
    let now = UNIX_EPOCH + Duration::from_millis(Clock::new().unix_ms_now());
    humantime::format_rfc3339_seconds(now).to_string()[..10].to_string()
}

/// The short git revision of the working tree, `unknown` outside a checkout.
fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_unknown_scenario_and_rate_refused() {
        let config = Config::defaults(2).unwrap();
        let mut params = E2eParams {
            scenario: "4x50".into(),
            rate_hz: 1000,
            duration: Duration::from_secs(1),
            results_dir: PathBuf::from("/nonexistent"),
        };
        let err = run(config.clone(), &params, &Shutdown::manual()).unwrap_err();
        assert!(matches!(err, E2eError::Scenario(_)), "{err}");
        params.scenario = "one-market".into();
        params.rate_hz = 0;
        let err = run(config, &params, &Shutdown::manual()).unwrap_err();
        assert!(matches!(err, E2eError::Rate(0)), "{err}");
    }

    #[test]
    fn test_today_is_a_date() {
        let d = today();
        assert_eq!((d.len(), &d[4..5], &d[7..8]), (10, "-", "-"));
    }
}
