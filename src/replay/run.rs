//! `edgeline replay`: builds the pipeline of a configuration over the merged inputs and
//! drives every stage on the calling thread, in pipeline order, until the inputs are
//! used up and the stages idle; then finishes the stages as a live run does.
//!
//! One thread makes the replay deterministic: each stage sees the same items in the
//! same order at the same virtual time on every replay. The telemetry sidecar is polled
//! every [`TELEMETRY_EVERY_ROUNDS`] rounds (and whenever the hot stages idle); its
//! database writer keeps its own thread, which changes when rows are written, never
//! what they hold. Cold path: allocates at start-up like a live run.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::feed::health::FeedHealth;
use crate::feed::stage::FeedConnection;
use crate::feed::venues::VenueDecoder;
use crate::pipeline::{self, FeedInput};
use crate::replay::ReplayError;
use crate::replay::input::{Input, InputFile, Markets, Window};
use crate::replay::source::{ReplayFrames, ReplayStatus};
use crate::runtime::clock::{self, monotonic_now};
use crate::runtime::{Clock, Control, RunReport, Shutdown, Stage, StageKind, StopReason};
use crate::stats::PipelineStats;
use crate::telemetry::operator::OperatorInputs;
use crate::telemetry::status::StatusBoard;
use crate::types::{MarketKind, Venue};

/// Hot-stage rounds per telemetry poll: a round moves one frame, which leaves at most a
/// handful of latency samples and records in the rings (65,536 and 16,384 slots by
/// default), so 64 rounds never fill them, and the sidecar's per-poll cost (a clock
/// read, timers) is paid once per 64 frames.
pub const TELEMETRY_EVERY_ROUNDS: u64 = 64;
/// Rounds between two looks at the stop flag while the stages are busy.
const STOP_CHECK_ROUNDS: u64 = 1024;
/// Sleep of a paced replay waiting for its next frame.
const PACED_IDLE: Duration = Duration::from_micros(100);

/// What to replay and how.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Files, merged by receive time.
    pub inputs: Vec<InputFile>,
    /// `None`: as fast as possible; `Some(n)`: recorded speed times `n`.
    pub speed: Option<f64>,
    /// The receive-time window replayed.
    pub window: Window,
}

/// What a replay produced.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// Counters and histogram summaries, as a live run's (histograms measure virtual
    /// time: recorded gaps between frames, not processing cost).
    pub report: RunReport,
    /// Why it stopped: `EndOfInput` when the inputs were used up.
    pub stop: StopReason,
    /// Frames and snapshots replayed.
    pub frames: u64,
    /// Wall time from the first frame to the end of the last stage's drain.
    pub elapsed: Duration,
    /// Damage found in the inputs (each ended its input early; what came before it was
    /// replayed).
    pub damage: Vec<String>,
    /// Receive time of the first frame replayed, unix ns.
    pub first_ts_ns: u64,
    /// Receive time of the last frame replayed, unix ns.
    pub last_ts_ns: u64,
}

/// Replays `options.inputs` through the stages `config` describes.
pub fn replay(
    config: &Config,
    options: &ReplayOptions,
    shutdown: &Shutdown,
) -> Result<ReplayOutcome, ReplayError> {
    let mut config = config.clone();
    config.telemetry.lossless = true;
    let config = &config;
    let markets = market_list(config);
    let inputs = open_inputs(config, &markets, &options.inputs, options.window)?;
    let (clock, mock) = Clock::replayed();
    let source = ReplayFrames::new(inputs, markets.len(), mock, options.speed);
    let status = source.status();
    let first_ts_ns = clock.raw();
    let stats = Arc::new(PipelineStats::with_health(FeedHealth::new(
        &config.registry,
        &markets,
    )));
    let operator = OperatorInputs {
        board: Arc::new(StatusBoard::new(clock.unix_ms_now())),
        stats: Arc::clone(&stats),
        control: Arc::new(Control::default()),
        clock: clock.clone(),
    };
    let feed = FeedInput {
        source,
        connections: feed_connections(config),
        recorder: None,
        rotations: Vec::new(),
    };
    let mut stages = pipeline::build_stages(config, feed, None, &clock, &stats, &operator)?;
    stages.sort_by_key(|s| s.kind());
    let started = monotonic_now();
    let stop = drive(&mut stages, &status, shutdown, options.speed.is_some());
    let mut report = RunReport::default();
    for stage in &mut stages {
        stage.finish(&mut report);
    }
    let elapsed = started.elapsed();
    let damage = status.damage();
    report
        .notes
        .extend(damage.iter().map(|d| format!("replay: {d}")));
    report.set("replay.frames", status.frames());
    report.set("replay.inputs", options.inputs.len() as u64);
    Ok(ReplayOutcome {
        report,
        stop,
        frames: status.frames(),
        elapsed,
        damage,
        first_ts_ns,
        last_ts_ns: clock.raw(),
    })
}

/// The configuration's venue markets, in pipeline (connection) order.
fn market_list(config: &Config) -> Vec<(Venue, MarketKind)> {
    pipeline::markets_of(config)
        .into_iter()
        .map(|(settings, kind)| (settings.venue, kind))
        .collect()
}

/// Opens every input, positioned on its first frame in `window`.
fn open_inputs(
    config: &Config,
    markets: &[(Venue, MarketKind)],
    files: &[InputFile],
    window: Window,
) -> Result<Vec<Input>, ReplayError> {
    let targets = Markets {
        list: markets,
        registry: &config.registry,
    };
    files
        .iter()
        .map(|file| Input::open(file, &targets, window))
        .collect()
}

/// The first and last receive time of the frames `config` would replay from `files`
/// in `window` (`None` without any). Reads every frame once, without replaying it; a
/// damaged input ends at its damage, as in a replay.
pub fn recorded_span(
    config: &Config,
    files: &[InputFile],
    window: Window,
) -> Result<Option<(u64, u64)>, ReplayError> {
    let markets = market_list(config);
    let mut span: Option<(u64, u64)> = None;
    for mut input in open_inputs(config, &markets, files, window)? {
        while let Some((ts_ns, _, _)) = input.head() {
            span = Some(span.map_or((ts_ns, ts_ns), |(lo, hi)| (lo.min(ts_ns), hi.max(ts_ns))));
            if input.advance().is_err() {
                break;
            }
        }
    }
    Ok(span)
}

/// One connection per venue market, decoding like the live connections would: a
/// recording's several connections of one market (Binance USD-M's `/public` and
/// `/market`, shards) all replay onto it, in receive-time order.
fn feed_connections(config: &Config) -> Vec<FeedConnection> {
    pipeline::markets_of(config)
        .into_iter()
        .map(|(settings, kind)| {
            let (symbols, _) = pipeline::symbols_of(&config.registry, settings.venue, kind);
            let instruments = config
                .registry
                .iter()
                .filter(|i| i.venue == settings.venue && i.kind == kind)
                .map(|i| i.id)
                .collect();
            FeedConnection {
                venue: settings.venue,
                kind,
                decoder: VenueDecoder::new(settings.venue, kind, symbols),
                stale_after: settings.stale_after,
                silence: settings.silence,
                instruments,
                carries_book: true,
            }
        })
        .collect()
}

/// Polls the stages in pipeline order until the inputs are used up and every stage
/// idles, or a stop is requested.
fn drive(
    stages: &mut [Box<dyn Stage>],
    status: &ReplayStatus,
    shutdown: &Shutdown,
    paced: bool,
) -> StopReason {
    let split = stages
        .iter()
        .position(|s| s.kind() == StageKind::Telemetry)
        .unwrap_or(stages.len());
    let (hot, telemetry) = stages.split_at_mut(split);
    let mut round: u64 = 0;
    loop {
        let mut work = 0;
        for stage in hot.iter_mut() {
            work += stage.poll();
        }
        round += 1;
        if work == 0 || round.is_multiple_of(TELEMETRY_EVERY_ROUNDS) {
            for stage in telemetry.iter_mut() {
                work += stage.poll();
            }
        }
        let look = work == 0 || round.is_multiple_of(STOP_CHECK_ROUNDS);
        if look && let Some(reason) = shutdown.requested() {
            return reason;
        }
        if work == 0 {
            if status.finished() {
                return StopReason::EndOfInput;
            }
            if paced {
                clock::sleep(PACED_IDLE);
            }
        }
    }
}
