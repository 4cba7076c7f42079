//! `edgeline bench e2e`: the end-to-end latency benchmark. The built-in simulator offers
//! top-of-book and depth updates at a fixed rate through the real pipeline (the
//! configured placement, the telemetry database writing, the paper gateway trading),
//! ingress → decision is corrected for coordinated omission, and every histogram is
//! written to `bench/results/` as `<scenario>_<rate>hz_<date>_<git revision>_<histogram>.hgrm`.
//!
//! Scenarios ([`SCENARIOS`]): `one-market` (Binance BTCUSDT spot and perp); `four-venues-50`
//! (`examples/four-venues-50.toml`: 4 venues × 50 instruments); `burst` (one market, 10× the rate for 1 s in the middle of the run);
//! `db-writing` (one market, the tracker recording every tick, so the database writes at
//! the offered rate).
//!
//! Cold path: runs on the control thread around [`crate::pipeline::run`].

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use crate::config::Config;
use crate::gateway::config::TRADES_PER_HOUR_CAP;
use crate::pipeline::{self, PipelineError, RunOutcome};
use crate::runtime::{Clock, Shutdown};
use crate::telemetry::histograms::percentile_table;

/// Scenarios this build can run.
pub const SCENARIOS: [&str; 4] = ["one-market", "four-venues-50", "burst", "db-writing"];

/// The instruments and venues of the `four-venues-50` scenario.
const FOUR_VENUES_50: &str = include_str!("../examples/four-venues-50.toml");

/// Steps per normal step during the `burst` scenario's burst.
pub const BURST_FACTOR: u32 = 10;
/// How long the burst lasts.
pub const BURST_LENGTH: Duration = Duration::from_secs(1);

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
    #[error("unknown scenario `{0}` (available: one-market, four-venues-50, burst, db-writing)")]
    Scenario(String),
    /// The scenario needs a longer run.
    #[error("scenario `{0}` needs a run of at least 3 s")]
    TooShort(String),
    /// The scenario's configuration did not resolve.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The scenario needs the simulator, which the base configuration disables.
    #[error("the end-to-end benchmark needs the built-in simulator ([simulator] enabled)")]
    NoSimulator,
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
    config = scenario_config(config, params)?;
    let sim = config.simulator.as_mut().ok_or(E2eError::NoSimulator)?;
    sim.step = step;
    config.telemetry.expected_interval = Some(step);
    config.duration = params.duration;
    config.output_dir = work.clone();
    let run = pipeline::run(&config, shutdown)?;
    let files = collect_hgrm(&work, &params.results_dir, &stem)?;
    let table = percentile_table(&run.report.histograms);
    Ok(E2eOutcome { run, files, table })
}

/// The base configuration changed for the scenario: the base keeps its placement,
/// rings and database. Every scenario lets the paper gateway enter as often as its
/// rate limit can allow ([`TRADES_PER_HOUR_CAP`]), so ingress → order has samples.
fn scenario_config(base: Config, params: &E2eParams) -> Result<Config, E2eError> {
    let mut config = scenario_markets(base, params)?;
    if let Some(gateway) = config.gateway.as_mut() {
        gateway.config.risk.trades_per_hour_max =
            u32::try_from(TRADES_PER_HOUR_CAP).unwrap_or(u32::MAX);
    }
    Ok(config)
}

/// The markets, simulator and thresholds of the scenario.
fn scenario_markets(mut base: Config, params: &E2eParams) -> Result<Config, E2eError> {
    match params.scenario.as_str() {
        "four-venues-50" => {
            let mut config = Config::from_toml(
                FOUR_VENUES_50,
                Path::new("examples/four-venues-50.toml"),
                base.placement.cores.len(),
            )?;
            config.placement = base.placement;
            config.strict_placement = base.strict_placement;
            config.rings = base.rings;
            config.database = base.database;
            config.telemetry = base.telemetry;
            Ok(config)
        }
        "burst" => {
            if params.duration < Duration::from_secs(3) {
                return Err(E2eError::TooShort(params.scenario.clone()));
            }
            let sim = base.simulator.as_mut().ok_or(E2eError::NoSimulator)?;
            sim.burst = Some(crate::sim::SimBurst {
                after: (params.duration - BURST_LENGTH) / 2,
                length: BURST_LENGTH,
                factor: BURST_FACTOR,
            });
            Ok(base)
        }
        "db-writing" => {
            base.basis.tracker_threshold = crate::types::bps::Bps::from_num(-10_000);
            Ok(base)
        }
        _ => Ok(base),
    }
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
        params.scenario = "burst".into();
        let err = run(config.clone(), &params, &Shutdown::manual()).unwrap_err();
        assert!(matches!(err, E2eError::TooShort(_)), "{err}");
        params.scenario = "one-market".into();
        params.rate_hz = 0;
        let err = run(config, &params, &Shutdown::manual()).unwrap_err();
        assert!(matches!(err, E2eError::Rate(0)), "{err}");
    }

    #[test]
    fn test_scenarios_change_the_base_configuration() {
        let base = Config::defaults(2).unwrap();
        let params = |scenario: &str| E2eParams {
            scenario: scenario.into(),
            rate_hz: 1000,
            duration: Duration::from_secs(21),
            results_dir: PathBuf::from("/nonexistent"),
        };
        let wide = scenario_config(base.clone(), &params("four-venues-50")).unwrap();
        assert_eq!(wide.registry.len(), 200);
        assert_eq!(wide.placement, base.placement);
        let burst = scenario_config(base.clone(), &params("burst")).unwrap();
        let b = burst.simulator.unwrap().burst.unwrap();
        assert_eq!(
            (b.after, b.length, b.factor),
            (Duration::from_secs(10), BURST_LENGTH, 10)
        );
        let db = scenario_config(base.clone(), &params("db-writing")).unwrap();
        assert!(db.basis.tracker_threshold < crate::types::bps::Bps::ZERO);
        let one = scenario_config(base.clone(), &params("one-market")).unwrap();
        assert_eq!(one.registry.len(), base.registry.len());
        let risk = &one.gateway.unwrap().config.risk;
        assert_eq!(risk.trades_per_hour_max as usize, TRADES_PER_HOUR_CAP);
    }

    #[test]
    fn test_today_is_a_date() {
        let d = today();
        assert_eq!((d.len(), &d[4..5], &d[7..8]), (10, "-", "-"));
    }
}
