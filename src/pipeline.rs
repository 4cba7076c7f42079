//! The pipeline assembly: builds the rings, the stages and (when configured) the built-in
//! simulator from a resolved [`Config`], runs them under the placement until the duration
//! ends or a signal arrives, then finishes every stage in pipeline order.
//!
//! Cold path: runs on the control (main) thread; everything it allocates is allocated
//! before the stage threads start.

use std::sync::Arc;

use crate::book::{BookIo, BookStage};
use crate::config::{Config, VenueEndpoints};
use crate::edge::{EdgeIo, EdgeStage};
use crate::feed::binance::BinanceDecoder;
use crate::feed::binance::subscribe::{streams, subscribe_message};
use crate::feed::transport::{Transport, TransportError, TransportLimits};
use crate::feed::{FeedStage, SymbolMap};
use crate::runtime::{
    Clock, Counter, HostTopology, RunReport, Shutdown, Stage, StopReason, check_placement,
    start_placed,
};
use crate::sim::{self, Dislocation, SimConfig, SimError, SimHandle, SimVenue};
use crate::stats::PipelineStats;
use crate::telemetry::sample::SampleSink;
use crate::telemetry::{TelemetryConfig, TelemetryError, TelemetryInputs, TelemetryStage};
use crate::types::{InstrumentRegistry, MarketKind};

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The simulator could not start (port taken?).
    #[error("starting the venue simulator: {0}")]
    Simulator(#[from] SimError),
    /// A venue connection could not be set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The telemetry sidecar could not start (output folder, database).
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    /// A stage thread could not be spawned (thread or memory limits).
    #[error("spawning a stage thread: {0}")]
    Spawn(std::io::Error),
    /// The placement does not fit the host and `strict_placement` is set.
    #[error("placement refused (strict_placement = true): {0}")]
    Placement(String),
    /// A market has no endpoint (no URL and no simulator).
    #[error("no endpoint for {venue} {kind}")]
    NoEndpoint {
        /// Venue name.
        venue: &'static str,
        /// Market kind name.
        kind: &'static str,
    },
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// Counters and histogram summaries.
    pub report: RunReport,
    /// Why it stopped.
    pub stop: StopReason,
    /// The dislocations the simulator injected (empty without the simulator).
    pub dislocations: Vec<Dislocation>,
}

/// Runs the whole pipeline for `config.duration` (or until a signal).
pub fn run(config: &Config, shutdown: &Shutdown) -> Result<RunOutcome, PipelineError> {
    check_host_placement(config, &HostTopology::read())?;
    let sim = match &config.simulator {
        Some(settings) => Some(sim::start(sim_config(config, settings))?),
        None => None,
    };
    let clock = Clock::new();
    let stats = Arc::new(PipelineStats::default());
    let stages = build_stages(config, sim.as_ref(), &clock, &stats)?;
    let running =
        start_placed(stages, &config.placement, shutdown.flag()).map_err(PipelineError::Spawn)?;
    let stop = shutdown.wait(config.duration);
    let mut stages = running.join();
    let mut report = RunReport::default();
    for stage in &mut stages {
        stage.finish(&mut report);
    }
    Ok(RunOutcome {
        report,
        stop,
        dislocations: sim.map(SimHandle::stop).unwrap_or_default(),
    })
}

/// Logs the layout and every way it falls short of the host; refuses under
/// `strict_placement`.
fn check_host_placement(config: &Config, host: &HostTopology) -> Result<(), PipelineError> {
    log::info!("placement: {}", config.placement.describe());
    let issues = check_placement(&config.placement, host);
    for issue in &issues {
        log::warn!("placement: {issue}");
    }
    if config.strict_placement && !issues.is_empty() {
        let all: Vec<String> = issues.iter().map(ToString::to_string).collect();
        return Err(PipelineError::Placement(all.join("; ")));
    }
    Ok(())
}

fn sim_config(config: &Config, settings: &crate::config::SimSettings) -> SimConfig {
    let mut sim = SimConfig {
        seed: settings.seed,
        port: settings.port,
        dislocation_mean_interval: settings.dislocation_mean_interval,
        step: settings.step,
        venues: Vec::new(),
        ..SimConfig::default()
    };
    for inst in config.registry.iter() {
        let index = match sim.venues.iter().position(|v| v.venue == inst.venue) {
            Some(index) => index,
            None => {
                sim.venues.push(SimVenue::btc(inst.venue));
                sim.venues.len() - 1
            }
        };
        let venue = &mut sim.venues[index];
        match inst.kind {
            MarketKind::Spot => {
                venue.spot_symbol = inst.symbol.clone();
                venue.spot_tick = inst.tick_size;
            }
            MarketKind::Perp => {
                venue.perp_symbol = inst.symbol.clone();
                venue.perp_tick = inst.tick_size;
            }
        }
    }
    if sim.venues.is_empty() {
        sim.venues = SimConfig::default().venues;
    }
    sim
}

fn build_stages(
    config: &Config,
    sim: Option<&SimHandle>,
    clock: &Clock,
    stats: &Arc<PipelineStats>,
) -> Result<Vec<Box<dyn Stage>>, PipelineError> {
    let rings = config.rings;
    let (event_tx, event_rx) = rtrb::RingBuffer::new(rings.market_events);
    let (top_tx, top_rx) = rtrb::RingBuffer::new(rings.book_updates);
    let (opp_tx, opp_rx) = rtrb::RingBuffer::new(rings.opportunities);
    let mut sample_rx = Vec::new();
    let mut sink = |dropped: fn(&PipelineStats) -> &Counter| {
        let (tx, rx) = rtrb::RingBuffer::new(rings.latency_samples);
        sample_rx.push(rx);
        SampleSink::new(tx, Arc::clone(stats), dropped)
    };
    let feed_samples = sink(|s| &s.feed_samples_dropped);
    let book_samples = sink(|s| &s.book_samples_dropped);
    let edge_samples = sink(|s| &s.edge_samples_dropped);
    let registry = Arc::new(config.registry.clone());
    let telemetry = TelemetryStage::new(
        telemetry_config(config),
        TelemetryInputs {
            samples: sample_rx,
            opportunities: opp_rx,
            stats: Arc::clone(stats),
            registry: Arc::clone(&registry),
            clock: clock.clone(),
        },
    )?;
    let (transport, decoders) = connect(config, sim)?;
    let feed = FeedStage::new(
        transport,
        decoders,
        rings.events_per_frame_max,
        event_tx,
        feed_samples,
        Arc::clone(stats),
        clock.clone(),
    );
    let book = BookStage::new(
        &registry,
        config.book,
        BookIo {
            input: event_rx,
            output: top_tx,
            samples: book_samples,
            stats: Arc::clone(stats),
            clock: clock.clone(),
        },
    );
    let edge = EdgeStage::new(
        &registry,
        &config.pairs,
        config.basis,
        EdgeIo {
            input: top_rx,
            output: opp_tx,
            samples: edge_samples,
            stats: Arc::clone(stats),
            clock: clock.clone(),
        },
    );
    Ok(vec![
        Box::new(feed),
        Box::new(book),
        Box::new(edge),
        Box::new(telemetry),
    ])
}

fn telemetry_config(config: &Config) -> TelemetryConfig {
    TelemetryConfig {
        output_dir: config.output_dir.clone(),
        progress_interval: config.telemetry.progress_interval,
        db_batch_rows: config.telemetry.db_batch_rows,
        db_flush_interval: config.telemetry.db_flush_interval,
        expected_interval: config.telemetry.expected_interval,
    }
}

/// Opens one connection per venue and market kind that has instruments.
fn connect(
    config: &Config,
    sim: Option<&SimHandle>,
) -> Result<(Transport, Vec<BinanceDecoder>), PipelineError> {
    let mut transport = Transport::new(1024)?;
    let mut decoders = Vec::new();
    for endpoints in &config.venues {
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let (symbols, subscription) = subscription(&config.registry, endpoints, kind);
            if subscription.is_empty() {
                continue;
            }
            let url = endpoint(endpoints, kind, sim)?;
            let message = subscribe_message(&subscription, 1);
            transport.connect(&url, &message, TransportLimits::default())?;
            decoders.push(BinanceDecoder::new(symbols));
        }
    }
    Ok((transport, decoders))
}

fn subscription(
    registry: &InstrumentRegistry,
    endpoints: &VenueEndpoints,
    kind: MarketKind,
) -> (SymbolMap, Vec<String>) {
    let mut symbols = SymbolMap::default();
    let mut names = Vec::new();
    for inst in registry
        .iter()
        .filter(|i| i.venue == endpoints.venue && i.kind == kind)
    {
        symbols.insert(&inst.symbol, inst.id);
        names.extend(streams(kind, &inst.symbol));
    }
    (symbols, names)
}

fn endpoint(
    endpoints: &VenueEndpoints,
    kind: MarketKind,
    sim: Option<&SimHandle>,
) -> Result<String, PipelineError> {
    let configured = match kind {
        MarketKind::Spot => endpoints.spot_url.clone(),
        MarketKind::Perp => endpoints.perp_url.clone(),
    };
    let simulated = sim.map(|s| match kind {
        MarketKind::Spot => s.spot_url(),
        MarketKind::Perp => s.perp_url(),
    });
    configured.or(simulated).ok_or(PipelineError::NoEndpoint {
        venue: endpoints.venue.name(),
        kind: kind.name(),
    })
}
