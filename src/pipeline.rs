//! The pipeline assembly: builds the rings, the stages and (when configured) the built-in
//! simulator from a resolved [`Config`], runs them under the placement until the duration
//! ends or a signal arrives, then finishes every stage in pipeline order.
//!
//! Cold path: runs on the control (main) thread; everything it allocates is allocated
//! before the stage threads start.

use std::sync::Arc;

use crate::book::engine::TopSource;
use crate::book::top::TopUpdate;
use crate::book::{BookIo, BookStage};
use crate::config::{Config, VenueSettings};
use crate::edge::{EdgeIo, EdgeStage, MarketTerms, Scanner};
use crate::feed::binance::subscribe::{rest_weight_limit, snapshot_path, snapshot_weight};
use crate::feed::frame_source::FrameSource;
use crate::feed::health::FeedHealth;
use crate::feed::okx::rest::{
    BOOK_DEPTH as OKX_BOOK_DEPTH, BOOK_LIMIT as OKX_BOOK_LIMIT, book_path as okx_book_path,
};
use crate::feed::okx::urls as okx_urls;
use crate::feed::rotation::RotationPair;
use crate::feed::snapshot_fetch::{SnapshotClient, SnapshotFetcher, SnapshotTarget};
use crate::feed::stage::{FeedConnection, FeedControl};
use crate::feed::transport::{Endpoint, Transport, TransportError};
use crate::feed::venues::{MarketConnection, VenueDecoder, heartbeat, market_connections};
use crate::feed::{FeedStage, SymbolMap};
use crate::gateway::stage::{GatewayIo, GatewayStage};
use crate::gateway::{Gateway, KillSwitch};
use crate::record::{Header, RecordError, RecordedConnection, RecordedInstrument, RecorderTap};
use crate::runtime::{
    Clock, Control, Counter, HostTopology, RunReport, Shutdown, Stage, StageKind, StopReason,
    check_placement, start_placed,
};
use crate::sim::{self, Dislocation, SimConfig, SimError, SimHandle, SimMarket, SimVenue};
use crate::stats::PipelineStats;
use crate::telemetry::gateway_sink::GatewaySink;
use crate::telemetry::operator::{OperatorError, OperatorInputs, OperatorServices};
use crate::telemetry::sample::SampleSink;
use crate::telemetry::status::StatusBoard;
use crate::telemetry::{TelemetryConfig, TelemetryError, TelemetryInputs, TelemetryStage};
use crate::types::{InstrumentRegistry, MarketEvent, MarketKind, Venue};

/// Levels per side asked of a REST depth snapshot (Binance futures' largest that fits the
/// default event buffer of 2048 events per frame).
pub const SNAPSHOT_LIMIT: u32 = 1000;

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
    /// The Telegram bot or the metrics endpoint could not start.
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// The recorder could not start (its folder, or its thread).
    #[error("starting the recorder: {0}")]
    Record(#[from] RecordError),
    /// A stage thread could not be spawned (thread or memory limits).
    #[error("spawning a stage thread: {0}")]
    Spawn(std::io::Error),
    /// The placement does not fit the host and `strict_placement` is set.
    #[error("placement refused (strict_placement = true): {0}")]
    Placement(String),
    /// The gateway refused its configuration.
    #[error("gateway: {0}")]
    Gateway(String),
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
    let stats = Arc::new(PipelineStats::with_health(health_of(config)));
    let operator_inputs = OperatorInputs {
        board: Arc::new(StatusBoard::new(clock.unix_ms_now())),
        stats: Arc::clone(&stats),
        control: Arc::new(Control::default()),
        clock: clock.clone(),
    };
    let (fetcher, snapshots) = start_snapshot_fetcher(config, sim.as_ref())?;
    let feed = live_feed(config, sim.as_ref(), &clock)?;
    let stages = build_stages(config, feed, snapshots, &clock, &stats, &operator_inputs)?;
    let operator = OperatorServices::start(config, &operator_inputs)?;
    let running =
        start_placed(stages, &config.placement, shutdown.flag()).map_err(PipelineError::Spawn)?;
    let stop = shutdown.wait(config.duration);
    let mut stages = running.join();
    if let Some(fetcher) = fetcher {
        fetcher.stop();
    }
    let mut report = RunReport::default();
    for stage in &mut stages {
        stage.finish(&mut report);
    }
    operator.stop(&mut report);
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

/// The simulator serving every instrument of the registry (each its own book and price
/// path; a venue's spot and perp of one base share a basis).
pub fn sim_config(config: &Config, settings: &crate::config::SimSettings) -> SimConfig {
    let mut sim = SimConfig {
        seed: settings.seed,
        port: settings.port,
        dislocation_mean_interval: settings.dislocation_mean_interval,
        step: settings.step,
        faults: settings.faults.clone(),
        tls: settings.tls,
        burst: settings.burst,
        okx_snapshot_push: settings.okx_snapshot_push,
        okx_checksums: settings.okx_checksums,
        start_prices: settings.start_prices.clone(),
        venues: Vec::new(),
        ..SimConfig::default()
    };
    for inst in config.registry.iter() {
        let market = SimMarket {
            kind: inst.kind,
            symbol: inst.symbol.clone(),
            base: inst.base.clone(),
            tick: inst.tick_size,
        };
        match sim.venues.iter_mut().find(|v| v.venue == inst.venue) {
            Some(venue) => venue.markets.push(market),
            None => sim.venues.push(SimVenue {
                venue: inst.venue,
                markets: vec![market],
            }),
        }
    }
    if sim.venues.is_empty() {
        sim.venues = SimConfig::default().venues;
    }
    sim
}

/// Starts the REST snapshot fetcher when an instrument needs one (Binance's depth,
/// OKX's order book). The base is the market's REST base (`spot_rest_url` /
/// `perp_rest_url`, both defaulting to the venue's `rest_url`); without one, OKX's live REST
/// base when its market is reached live (a REST book must come from the venue whose
/// stream it bridges), else the simulator's. Requests are paced by the venue's documented
/// limits: one budget per Binance host (spot, USD-M request weight) and one for OKX's
/// order-book endpoint (its count is per IP, spot and swaps together).
fn start_snapshot_fetcher(
    config: &Config,
    sim: Option<&SimHandle>,
) -> Result<(Option<SnapshotFetcher>, Option<SnapshotClient>), PipelineError> {
    const BINANCE_SPOT: usize = 0;
    const BINANCE_PERP: usize = 1;
    const OKX: usize = 2;
    let limits = [
        rest_weight_limit(MarketKind::Spot),
        rest_weight_limit(MarketKind::Perp),
        OKX_BOOK_LIMIT,
    ];
    let mut any = false;
    let mut targets = Vec::with_capacity(config.registry.len());
    for inst in config.registry.iter() {
        let (path, budget, cost) = match (inst.venue, inst.kind) {
            (Venue::Binance, kind) => (
                snapshot_path(kind, &inst.symbol, SNAPSHOT_LIMIT),
                if kind == MarketKind::Spot {
                    BINANCE_SPOT
                } else {
                    BINANCE_PERP
                },
                snapshot_weight(kind, SNAPSHOT_LIMIT),
            ),
            (Venue::Okx, _) => (okx_book_path(&inst.symbol, OKX_BOOK_DEPTH), OKX, 1),
            (Venue::Bybit | Venue::Hyperliquid, _) => {
                targets.push(None);
                continue;
            }
        };
        let settings = config.venues.iter().find(|v| v.venue == inst.venue);
        let live = settings.is_some_and(|v| match inst.kind {
            MarketKind::Spot => v.spot_url.is_some(),
            MarketKind::Perp => v.perp_url.is_some(),
        });
        let base = settings
            .and_then(|v| v.rest_url(inst.kind).map(str::to_owned))
            .or_else(|| (live && inst.venue == Venue::Okx).then(|| okx_urls::REST.to_owned()))
            .or_else(|| sim.map(SimHandle::rest_base))
            .ok_or(PipelineError::NoEndpoint {
                venue: inst.venue.name(),
                kind: inst.kind.name(),
            })?;
        any = true;
        targets.push(Some(SnapshotTarget {
            url: format!("{base}{path}"),
            budget,
            cost,
        }));
    }
    if !any {
        return Ok((None, None));
    }
    let (fetcher, client) = SnapshotFetcher::start(targets, &limits, &trusted_roots(config, sim))
        .map_err(PipelineError::Spawn)?;
    Ok((Some(fetcher), Some(client)))
}

/// The pipeline's stages over `feed` (the live transport, or a replay's source).
pub(crate) fn build_stages<S: FrameSource + 'static>(
    config: &Config,
    feed: FeedInput<S>,
    snapshots: Option<SnapshotClient>,
    clock: &Clock,
    stats: &Arc<PipelineStats>,
    operator: &OperatorInputs,
) -> Result<Vec<Box<dyn Stage>>, PipelineError> {
    let (status, control) = (&operator.board, &operator.control);
    let rings = config.rings;
    let (event_tx, event_rx) = rtrb::RingBuffer::new(rings.market_events);
    let (top_tx, top_rx) = rtrb::RingBuffer::new(rings.book_updates);
    let (opp_tx, opp_rx) = rtrb::RingBuffer::new(rings.opportunities);
    let (spread_tx, spread_rx) = rtrb::RingBuffer::new(rings.spread_records);
    let mut sample_rx = Vec::new();
    let mut sink = |dropped: fn(&PipelineStats) -> &Counter| {
        let (tx, rx) = rtrb::RingBuffer::new(rings.latency_samples);
        sample_rx.push(rx);
        SampleSink::new(tx, Arc::clone(stats), dropped)
    };
    let feed_samples = sink(|s| &s.feed_samples_dropped);
    let book_samples = sink(|s| &s.book_samples_dropped);
    let edge_samples = sink(|s| &s.edge_samples_dropped);
    let gateway_samples = sink(|s| &s.gateway_samples_dropped);
    let registry = Arc::new(config.registry.clone());
    let telemetry = TelemetryStage::new(
        telemetry_config(config),
        TelemetryInputs {
            samples: sample_rx,
            opportunities: opp_rx,
            stats: Arc::clone(stats),
            registry: Arc::clone(&registry),
            clock: clock.clone(),
            status: Arc::clone(status),
        },
    )?
    .with_spread_records(spread_rx);
    let (feed, mut book) = feed_and_book(
        config,
        feed,
        HotRings {
            snapshots,
            events: (event_tx, event_rx),
            tops: top_tx,
            samples: (feed_samples, book_samples),
        },
        clock,
        stats,
    )?;
    let scanner = scanner(config);
    for inst in config.registry.iter() {
        book.engine_mut()
            .set_ladder(inst.id, scanner.scans(inst.id));
    }
    let mut edge = EdgeStage::new(
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
    )
    .with_scanner(scanner, spread_tx)
    .with_control(Arc::clone(control));
    let mut stages: Vec<Box<dyn Stage>> = Vec::with_capacity(StageKind::ALL.len());
    let mut telemetry = telemetry;
    if let Some(settings) = &config.gateway {
        let (intent_tx, intent_rx) = rtrb::RingBuffer::new(rings.intents);
        let (market_tx, market_rx) = rtrb::RingBuffer::new(rings.market_events);
        let (record_tx, record_rx) = rtrb::RingBuffer::new(rings.gateway_records);
        let (snapshot_tx, snapshot_rx) = rtrb::RingBuffer::new(SNAPSHOT_RING);
        edge = edge.with_intents(
            intent_tx,
            std::time::Duration::from_millis(config.basis.intent_expiry_ms),
        );
        book = book.with_gateway(market_tx);
        let gateway = Gateway::new(
            settings.config.clone(),
            &config.registry,
            KillSwitch::new(Arc::clone(control)),
        )
        .map_err(|e| PipelineError::Gateway(e.to_string()))?;
        let gateway = GatewayStage::new(
            gateway,
            GatewayIo {
                market: market_rx,
                intents: intent_rx,
                records: record_tx,
                snapshots: snapshot_tx,
                samples: gateway_samples,
                stats: Arc::clone(stats),
                clock: clock.clone(),
            },
            settings.snapshot_interval,
        );
        telemetry = telemetry.with_gateway(GatewaySink::new(
            record_rx,
            snapshot_rx,
            config_hash(config),
        ));
        stages.push(Box::new(gateway));
    }
    stages.push(Box::new(feed));
    stages.push(Box::new(book));
    stages.push(Box::new(edge));
    stages.push(Box::new(telemetry));
    stages.sort_by_key(|s| s.kind());
    Ok(stages)
}

/// Slots of the gateway → telemetry portfolio snapshot ring (one a second by default).
const SNAPSHOT_RING: usize = 64;

/// A short hash of the resolved configuration (trade rows carry it, so results can be
/// told apart by the settings that produced them); where it was read from and where the
/// run writes do not count.
pub fn config_hash(config: &Config) -> String {
    let mut settings = config.clone();
    settings.source = None;
    settings.output_dir = std::path::PathBuf::new();
    format!(
        "{:08x}",
        crc32fast::hash(format!("{settings:?}").as_bytes())
    )
}

/// The cross-venue scanner over the registry, with each market's taker fee and its
/// venue's stale limit.
fn scanner(config: &Config) -> Scanner {
    Scanner::new(&config.registry, config.scanner, |inst| {
        let venue = config.venues.iter().find(|v| v.venue == inst.venue);
        let fees = venue.map(|v| match inst.kind {
            MarketKind::Spot => v.spot_fees,
            MarketKind::Perp => v.perp_fees,
        });
        MarketTerms {
            taker_fee: fees.map_or(crate::types::bps::Bps::ZERO, |f| f.taker),
            stale_after: venue.map_or(crate::config::resolve::STALE_AFTER_DEFAULT, |v| {
                v.stale_after
            }),
        }
    })
}

/// What the feed and book stages are built on besides the configuration.
struct HotRings {
    snapshots: Option<SnapshotClient>,
    events: (rtrb::Producer<MarketEvent>, rtrb::Consumer<MarketEvent>),
    tops: rtrb::Producer<TopUpdate>,
    samples: (SampleSink, SampleSink),
}

/// What the feed stage reads: the connections' frame source, their decoders, and the
/// recorder when the run records.
pub(crate) struct FeedInput<S> {
    /// The live transport or a replay's source.
    pub source: S,
    /// One per connection of `source`.
    pub connections: Vec<FeedConnection>,
    /// Records every frame when set.
    pub recorder: Option<RecorderTap>,
    /// Connections replaced after a lifetime, with their standbys (none in a replay).
    pub rotations: Vec<RotationPair>,
}

/// Connects the venues, and starts the recorder when `[record]` is on.
fn live_feed(
    config: &Config,
    sim: Option<&SimHandle>,
    clock: &Clock,
) -> Result<FeedInput<Transport>, PipelineError> {
    let Connected {
        transport,
        connections,
        subscriptions,
        rotations,
    } = connect(config, sim, clock)?;
    let recorder = match &config.record {
        Some(settings) => {
            let header = recording_header(config, &transport, &connections, subscriptions);
            Some(RecorderTap::start(
                settings.clone(),
                &header,
                clock.clone(),
            )?)
        }
        None => None,
    };
    Ok(FeedInput {
        source: transport,
        connections,
        recorder,
        rotations,
    })
}

/// What a recording says about the run's connections and instruments.
fn recording_header(
    config: &Config,
    transport: &Transport,
    connections: &[FeedConnection],
    subscriptions: Vec<Vec<String>>,
) -> Header {
    Header {
        connections: connections
            .iter()
            .zip(subscriptions)
            .enumerate()
            .map(|(i, (c, subscriptions))| RecordedConnection {
                venue: c.venue,
                kind: c.kind,
                url: transport.url(i).to_owned(),
                subscriptions,
            })
            .collect(),
        instruments: config
            .registry
            .iter()
            .map(|i| RecordedInstrument {
                id: i.id.0,
                venue: i.venue,
                kind: i.kind,
                symbol: i.symbol.clone(),
            })
            .collect(),
    }
}

/// Builds the feed and book stages over `feed` and the given rings (with the resync
/// ring between them).
fn feed_and_book<S: FrameSource>(
    config: &Config,
    feed: FeedInput<S>,
    rings: HotRings,
    clock: &Clock,
    stats: &Arc<PipelineStats>,
) -> Result<(FeedStage<S>, BookStage), PipelineError> {
    let (resync_tx, resync_rx) = rtrb::RingBuffer::new(config.registry.len().max(1) * 2);
    let FeedInput {
        source: transport,
        connections,
        recorder,
        rotations,
    } = feed;
    let (event_tx, event_rx) = rings.events;
    let (feed_samples, book_samples) = rings.samples;
    let feed = FeedStage::new(
        transport,
        connections,
        &config.registry,
        FeedControl {
            resync: resync_rx,
            snapshots: rings.snapshots,
        },
        config.rings.events_per_frame_max,
        event_tx,
        feed_samples,
        Arc::clone(stats),
        clock.clone(),
    );
    let feed = feed.with_rotations(rotations, config.registry.len());
    let feed = match recorder {
        Some(tap) => feed.with_recorder(tap),
        None => feed,
    };
    let venues = config.venues.clone();
    let book = BookStage::new(
        &config.registry,
        config.book,
        move |venue| {
            venues
                .iter()
                .find(|v| v.venue == venue)
                .map_or(TopSource::default_for(venue), |v| v.top_source)
        },
        resync_tx,
        BookIo {
            input: event_rx,
            output: rings.tops,
            samples: book_samples,
            stats: Arc::clone(stats),
            clock: clock.clone(),
        },
    );
    Ok((feed, book))
}

/// The feed and book stages alone, for tests that poll them by hand on one thread and
/// read the books (transport fault tests). Latency samples are recorded into rings
/// nobody reads (they fill up and count drops).
pub struct FeedAndBook {
    /// The feed stage.
    pub feed: FeedStage,
    /// The book stage.
    pub book: BookStage,
    /// Top-of-book updates the book stage publishes (the edge stage's input).
    pub tops: rtrb::Consumer<TopUpdate>,
    /// The counters and health both stages write.
    pub stats: Arc<PipelineStats>,
    /// The REST snapshot thread, stopped on drop.
    pub fetcher: Option<SnapshotFetcher>,
}

/// Builds [`FeedAndBook`] for `config` against `sim` (or the configured endpoints).
pub fn build_feed_and_book(
    config: &Config,
    sim: Option<&SimHandle>,
) -> Result<FeedAndBook, PipelineError> {
    let clock = Clock::new();
    let stats = Arc::new(PipelineStats::with_health(health_of(config)));
    let (fetcher, snapshots) = start_snapshot_fetcher(config, sim)?;
    let sink = |dropped: fn(&PipelineStats) -> &Counter| {
        let (tx, _rx) = rtrb::RingBuffer::new(config.rings.latency_samples);
        SampleSink::new(tx, Arc::clone(&stats), dropped)
    };
    let (top_tx, tops) = rtrb::RingBuffer::new(config.rings.book_updates);
    let rings = HotRings {
        snapshots,
        events: rtrb::RingBuffer::new(config.rings.market_events),
        tops: top_tx,
        samples: (
            sink(|s| &s.feed_samples_dropped),
            sink(|s| &s.book_samples_dropped),
        ),
    };
    let feed = live_feed(config, sim, &clock)?;
    let (feed, book) = feed_and_book(config, feed, rings, &clock, &stats)?;
    Ok(FeedAndBook {
        feed,
        book,
        tops,
        stats,
        fetcher,
    })
}

fn telemetry_config(config: &Config) -> TelemetryConfig {
    TelemetryConfig {
        output_dir: config.output_dir.clone(),
        progress_interval: config.telemetry.progress_interval,
        dump_interval: config.telemetry.dump_interval,
        database: config.database.clone(),
        expected_interval: config.telemetry.expected_interval,
        lossless: config.telemetry.lossless,
        nats: config.nats.enabled.then(|| config.nats.clone()),
        stale_after: config
            .venues
            .iter()
            .map(|v| (v.venue, v.stale_after))
            .collect(),
    }
}

/// The venue markets that get a connection, in connection order: every venue's spot
/// then perp, where it has instruments.
pub(crate) fn markets_of(config: &Config) -> Vec<(&VenueSettings, MarketKind)> {
    let mut markets = Vec::new();
    for settings in &config.venues {
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let used = config
                .registry
                .iter()
                .any(|i| i.venue == settings.venue && i.kind == kind);
            if used {
                markets.push((settings, kind));
            }
        }
    }
    markets
}

/// One live connection of the configuration: its market, and its share of the
/// market's symbols and streams.
pub(crate) struct PlannedLink<'a> {
    /// The venue's settings.
    pub settings: &'a VenueSettings,
    /// The market kind.
    pub kind: MarketKind,
    /// Where under the market's URL it goes, its symbols and subscriptions.
    pub plan: MarketConnection,
    /// The symbol names of the whole market (`plan.symbols` index them).
    pub names: Vec<String>,
}

/// Every live connection, in connection order: each market of [`markets_of`] spread
/// over the connections its venue needs ([`market_connections`]: Binance USD-M per
/// endpoint group, Binance per shard of symbols beyond a connection's limits).
pub(crate) fn links_of(config: &Config) -> Vec<PlannedLink<'_>> {
    let mut links = Vec::new();
    for (settings, kind) in markets_of(config) {
        let (_, names) = symbols_of(&config.registry, settings.venue, kind);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        for plan in market_connections(settings.venue, kind, &refs) {
            links.push(PlannedLink {
                settings,
                kind,
                plan,
                names: names.clone(),
            });
        }
    }
    links
}

/// Health tracking for every live connection and instrument of the configuration:
/// the links of [`links_of`], then the standby of each one that is replaced after a
/// lifetime (in the order [`connect`] adds them).
pub fn health_of(config: &Config) -> FeedHealth {
    let planned = links_of(config);
    let primaries = planned.iter().map(|link| (link.settings.venue, link.kind));
    let standbys = planned
        .iter()
        .filter(|link| link.settings.connection_lifetime.is_some())
        .map(|link| (link.settings.venue, link.kind));
    let links: Vec<_> = primaries.chain(standbys).collect();
    FeedHealth::new(&config.registry, &links)
}

/// The subscriptions of each connection, in connection order.
type Subscriptions = Vec<Vec<String>>;

/// What [`connect`] sets up.
struct Connected {
    transport: Transport,
    connections: Vec<FeedConnection>,
    subscriptions: Subscriptions,
    rotations: Vec<RotationPair>,
}

/// Opens every live connection ([`links_of`]), waiting up to the connect timeout for
/// all of them, and adds a parked standby after them for each one its venue replaces
/// after a lifetime (Binance: `connection_lifetime_ms`).
fn connect(
    config: &Config,
    sim: Option<&SimHandle>,
    clock: &Clock,
) -> Result<Connected, PipelineError> {
    let mut transport = Transport::new(1024, config.transport, clock.clone())?;
    for root in trusted_roots(config, sim) {
        transport.trust_root(root);
    }
    let mut connections = Vec::new();
    let mut subscriptions = Vec::new();
    let mut standbys = Vec::new();
    for link in links_of(config) {
        let (venue, kind) = (link.settings.venue, link.kind);
        let mut symbols = SymbolMap::default();
        let mut instruments = Vec::with_capacity(link.plan.symbols.len());
        for &i in &link.plan.symbols {
            if let Some(id) = config.registry.find(venue, kind, &link.names[i]) {
                symbols.insert(&link.names[i], id);
                instruments.push(id);
            }
        }
        let url = format!("{}{}", endpoint(link.settings, kind, sim)?, link.plan.path);
        log::info!(
            "feed: {venue} {} ({}, {} symbols) on {url}",
            kind.name(),
            link.plan.group,
            instruments.len()
        );
        let endpoint = Endpoint {
            url,
            subscribe: link.plan.subscribe.clone(),
            heartbeat: heartbeat(venue),
        };
        let primary = transport.add(endpoint.clone())?;
        let connection = FeedConnection {
            venue,
            kind,
            decoder: VenueDecoder::new(venue, kind, symbols),
            stale_after: link.settings.stale_after,
            silence: link.settings.silence,
            instruments,
            carries_book: link.plan.carries_book,
        };
        if let Some(lifetime) = link.settings.connection_lifetime {
            standbys.push((primary, lifetime, endpoint, connection.clone()));
        }
        subscriptions.push(link.plan.subscribe);
        connections.push(connection);
    }
    let mut rotations = Vec::with_capacity(standbys.len());
    for (primary, lifetime, endpoint, connection) in standbys {
        subscriptions.push(endpoint.subscribe.clone());
        let standby = transport.add_parked(endpoint)?;
        rotations.push(RotationPair {
            primary,
            standby,
            lifetime,
            instruments: connection.instruments.clone(),
            carries_book: connection.carries_book,
        });
        connections.push(connection);
    }
    transport.open_all()?;
    Ok(Connected {
        transport,
        connections,
        subscriptions,
        rotations,
    })
}

/// The root certificates (DER) trusted besides the bundled ones: the configured extra
/// roots, and the simulator's certificate in its TLS mode.
fn trusted_roots(config: &Config, sim: Option<&SimHandle>) -> Vec<Vec<u8>> {
    let mut roots = config.extra_root_certs.clone();
    roots.extend(sim.and_then(SimHandle::certificate_der).map(<[u8]>::to_vec));
    roots
}

pub(crate) fn symbols_of(
    registry: &InstrumentRegistry,
    venue: Venue,
    kind: MarketKind,
) -> (SymbolMap, Vec<String>) {
    let mut symbols = SymbolMap::default();
    let mut names = Vec::new();
    for inst in registry
        .iter()
        .filter(|i| i.venue == venue && i.kind == kind)
    {
        symbols.insert(&inst.symbol, inst.id);
        names.push(inst.symbol.clone());
    }
    (symbols, names)
}

fn endpoint(
    settings: &VenueSettings,
    kind: MarketKind,
    sim: Option<&SimHandle>,
) -> Result<String, PipelineError> {
    let configured = match kind {
        MarketKind::Spot => settings.spot_url.clone(),
        MarketKind::Perp => settings.perp_url.clone(),
    };
    let simulated = sim.map(|s| s.url(settings.venue, kind));
    configured.or(simulated).ok_or(PipelineError::NoEndpoint {
        venue: settings.venue.name(),
        kind: kind.name(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A configuration of `spot` Binance spot and `perp` Binance perp symbols, against
    /// real endpoints (no simulator).
    fn binance(spot: usize, perp: usize) -> Config {
        let mut text = String::from(
            "[simulator]\nenabled = false\n[[venues]]\nname = \"binance\"\n\
             spot_url = \"wss://stream.binance.com:9443/ws\"\n\
             perp_url = \"wss://fstream.binance.com\"\n",
        );
        for (kind, count) in [("spot", spot), ("perp", perp)] {
            for i in 0..count {
                text.push_str(&format!(
                    "[[instruments]]\nvenue = \"binance\"\nkind = \"{kind}\"\n\
                     symbol = \"S{i}USDT\"\nbase = \"S{i}\"\ntick_size = \"0.01\"\n\
                     lot_size = \"0.001\"\n"
                ));
            }
        }
        Config::from_toml(&text, Path::new("shards.toml"), 2).unwrap()
    }

    #[test]
    fn test_links_of_shards_binance_markets_per_group_within_the_limits() {
        let config = binance(300, 600);
        let links = links_of(&config);
        let shape: Vec<_> = links
            .iter()
            .map(|l| (l.kind, l.plan.path, l.plan.symbols.len()))
            .collect();
        assert_eq!(
            shape,
            [
                (MarketKind::Spot, "", 266),
                (MarketKind::Spot, "", 34),
                (MarketKind::Perp, "/public/ws", 512),
                (MarketKind::Perp, "/public/ws", 88),
                (MarketKind::Perp, "/market/ws", 512),
                (MarketKind::Perp, "/market/ws", 88),
            ]
        );
        for link in &links {
            let streams: usize = link
                .plan
                .subscribe
                .iter()
                .map(|m| m.matches("usdt@").count())
                .sum();
            assert!(streams <= 1024, "{streams} streams");
            let limit = if link.kind == MarketKind::Spot { 5 } else { 10 };
            assert!(link.plan.subscribe.len() < limit);
        }
        // Every instrument's book is carried by exactly one connection.
        let books: usize = links
            .iter()
            .filter(|l| l.plan.carries_book)
            .map(|l| l.plan.symbols.len())
            .sum();
        assert_eq!(books, config.registry.len());
        assert_eq!(
            health_of(&config).links().len(),
            12,
            "six and their standbys"
        );
    }
}
