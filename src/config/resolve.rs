//! Resolution: the raw TOML ([`RawConfig`]) → the validated [`Config`] every stage gets
//! its slice of. Instruments are interned, basis pairs found, rings sized and the
//! placement checked here; a bad value is a [`ConfigError::Invalid`] naming the key and
//! the reason. Cold path, start-up only.

use std::path::PathBuf;
use std::time::Duration;

use crate::book::BookParams;
use crate::book::engine::TopSource;
use crate::config::database::resolve_database;
use crate::config::gateway::resolve_gateway;
use crate::config::raw::{
    RawBasis, RawBook, RawConfig, RawCorePlan, RawInstrument, RawMetrics, RawRings, RawScanner,
    RawTelegram, RawTelemetry, RawTransport,
};
use crate::config::raw::{RawFault, RawVenue};
use crate::config::record::resolve_record;
use crate::config::{
    Config, ConfigError, FeePair, RingSizes, SimSettings, TelegramSettings, TelemetrySettings,
    VenueSettings,
};
use crate::edge::opportunity::CostModel;
use crate::edge::spread::{SlippageModel, Weights};
use crate::edge::spread_opportunity::SIZES_MAX;
use crate::edge::{BasisPair, BasisParams, ScannerParams};
use crate::feed::transport::TransportConfig;
use crate::runtime::{CorePlan, IdlePolicy, Placement, StageKind};
use crate::sim::{FaultAction, SimFault};
use crate::types::bps::{Bps, bps_from_config};
use crate::types::{InstrumentRegistry, InstrumentSpec, MarketKind, Price, Qty, Venue};

/// Default run length.
pub const DURATION_DEFAULT: Duration = Duration::from_secs(30);
/// Default output folder.
pub const OUTPUT_DIR_DEFAULT: &str = "edgeline-out";

pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Validates a raw configuration; `core_count` is the host's core count for the default
/// placement (whether named cores exist is checked at start against the host:
/// [`crate::runtime::check_placement`]).
pub fn resolve(raw: RawConfig, core_count: usize) -> Result<Config, ConfigError> {
    let simulator = resolve_simulator(&raw)?;
    let registry = resolve_instruments(&raw.instruments)?;
    let venues = resolve_venues(&raw, &registry, simulator.is_some())?;
    let pairs = find_pairs(&registry);
    if let Some(sim) = &simulator {
        check_simulator_instruments(&registry, sim)?;
    }
    let telemetry = raw.telemetry.clone().unwrap_or_default();
    let gateway = resolve_gateway(raw.gateway.clone(), &registry, &venues)?;
    let placement = resolve_placement(&raw.placement, core_count)?;
    if gateway.is_some() && !placement.places(StageKind::Gateway) {
        return Err(invalid(
            "placement",
            "stage `gateway` is not placed on any core (place it, or set [gateway] enabled = false)",
        ));
    }
    let duration_secs = raw.duration_secs.unwrap_or(DURATION_DEFAULT.as_secs());
    if duration_secs == 0 {
        return Err(invalid("duration_secs", "must be at least 1"));
    }
    Ok(Config {
        output_dir: PathBuf::from(raw.output_dir.as_deref().unwrap_or(OUTPUT_DIR_DEFAULT)),
        duration: Duration::from_secs(duration_secs),
        simulator,
        venues,
        registry,
        pairs,
        book: resolve_book(raw.book.unwrap_or_default())?,
        basis: resolve_basis(raw.basis.unwrap_or_default())?,
        scanner: resolve_scanner(raw.scanner.unwrap_or_default())?,
        rings: resolve_rings(raw.rings.unwrap_or_default())?,
        placement,
        strict_placement: raw.strict_placement.unwrap_or(false),
        database: resolve_database(raw.database.unwrap_or_default(), &telemetry)?,
        telemetry: resolve_telemetry(&telemetry)?,
        extra_root_certs: read_root_certs(
            raw.transport
                .as_ref()
                .and_then(|t| t.extra_root_cert.as_deref()),
        )?,
        transport: resolve_transport(raw.transport.unwrap_or_default())?,
        telegram: resolve_telegram(raw.telegram.unwrap_or_default())?,
        metrics_listen: resolve_metrics(raw.metrics.unwrap_or_default())?,
        gateway,
        record: resolve_record(raw.record.unwrap_or_default())?,
        nats: crate::config::nats::resolve_nats(raw.nats.unwrap_or_default())?,
        source: None,
    })
}

fn resolve_telegram(raw: RawTelegram) -> Result<Option<TelegramSettings>, ConfigError> {
    if !raw.enabled.unwrap_or(false) {
        return Ok(None);
    }
    if raw.chat_ids.is_empty() {
        return Err(invalid(
            "telegram.chat_ids",
            "the bot is enabled but no chat may command it: list at least one chat id",
        ));
    }
    let base_url = raw
        .base_url
        .unwrap_or_else(|| crate::telemetry::telegram::bot::BASE_URL_DEFAULT.to_owned());
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(invalid(
            "telegram.base_url",
            format!("`{base_url}` is not an http:// or https:// URL"),
        ));
    }
    let poll_timeout_secs = raw.poll_timeout_secs.unwrap_or(25);
    if poll_timeout_secs > 50 {
        return Err(invalid(
            "telegram.poll_timeout_secs",
            format!("{poll_timeout_secs} is above 50 (the Bot API holds a long poll at most 50 s)"),
        ));
    }
    Ok(Some(TelegramSettings {
        base_url,
        chat_ids: raw.chat_ids,
        poll_timeout: Duration::from_secs(poll_timeout_secs),
        stale_alert_after: Duration::from_secs(raw.stale_alert_secs.unwrap_or(60)),
    }))
}

fn resolve_metrics(raw: RawMetrics) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    if !raw.enabled.unwrap_or(false) {
        return Ok(None);
    }
    let listen = raw.listen.as_deref().unwrap_or("127.0.0.1:9108");
    listen.parse().map(Some).map_err(|_| {
        invalid(
            "metrics.listen",
            format!("`{listen}` is not an address like 127.0.0.1:9108"),
        )
    })
}

/// Smallest receive buffer accepted: one TCP segment's worth.
const RECEIVE_BUFFER_BYTES_MIN: usize = 4096;
/// Longest `book.stream_snapshot_wait_ms`: a book buffers its updates all that time.
const STREAM_SNAPSHOT_WAIT_MS_MAX: u64 = 60_000;

fn resolve_transport(raw: RawTransport) -> Result<TransportConfig, ConfigError> {
    let defaults = TransportConfig::default();
    let ms = |field: &str, value: Option<u64>, default: Duration| match value {
        None => Ok(default),
        Some(0) => Err(invalid(format!("transport.{field}"), "must be at least 1")),
        Some(v) => Ok(Duration::from_millis(v)),
    };
    let ping_interval = match raw.ping_interval_ms {
        None => None,
        Some(v) => Some(ms("ping_interval_ms", Some(v), Duration::ZERO)?),
    };
    let config = TransportConfig {
        connect_timeout: ms(
            "connect_timeout_ms",
            raw.connect_timeout_ms,
            defaults.connect_timeout,
        )?,
        silence_timeout: ms(
            "silence_timeout_ms",
            raw.silence_timeout_ms,
            defaults.silence_timeout,
        )?,
        pong_timeout: ms(
            "pong_timeout_ms",
            raw.pong_timeout_ms,
            defaults.pong_timeout,
        )?,
        ping_interval,
        backoff_base: ms(
            "backoff_base_ms",
            raw.backoff_base_ms,
            defaults.backoff_base,
        )?,
        backoff_max: ms("backoff_max_ms", raw.backoff_max_ms, defaults.backoff_max)?,
        read_buffer_bytes: raw
            .receive_buffer_bytes
            .unwrap_or(defaults.read_buffer_bytes),
        message_bytes_max: raw.message_bytes_max.unwrap_or(defaults.message_bytes_max),
    };
    if config.backoff_max < config.backoff_base {
        return Err(invalid(
            "transport.backoff_max_ms",
            "must be at least backoff_base_ms",
        ));
    }
    if config.read_buffer_bytes < RECEIVE_BUFFER_BYTES_MIN {
        return Err(invalid(
            "transport.receive_buffer_bytes",
            format!("must be at least {RECEIVE_BUFFER_BYTES_MIN}"),
        ));
    }
    if config.message_bytes_max < RECEIVE_BUFFER_BYTES_MIN {
        return Err(invalid(
            "transport.message_bytes_max",
            format!("must be at least {RECEIVE_BUFFER_BYTES_MIN}"),
        ));
    }
    if let Some(ping) = config.ping_interval
        && config.silence_timeout <= ping + config.pong_timeout
    {
        return Err(invalid(
            "transport.silence_timeout_ms",
            "must exceed ping_interval_ms + pong_timeout_ms, or a quiet but healthy connection is declared dead",
        ));
    }
    Ok(config)
}

/// The certificates of `transport.extra_root_cert` (a PEM file), DER.
fn read_root_certs(path: Option<&str>) -> Result<Vec<Vec<u8>>, ConfigError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let key = "transport.extra_root_cert";
    let pem = std::fs::read(path).map_err(|e| invalid(key, format!("`{path}`: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(key, format!("`{path}`: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(key, format!("`{path}` holds no PEM certificate")));
    }
    Ok(certs)
}

fn resolve_simulator(raw: &RawConfig) -> Result<Option<SimSettings>, ConfigError> {
    let sim = raw.simulator.clone().unwrap_or_default();
    if !sim.enabled.unwrap_or(true) {
        return Ok(None);
    }
    let step_us = sim.step_us.unwrap_or(1000);
    if !(10..=1_000_000).contains(&step_us) {
        return Err(invalid(
            "simulator.step_us",
            format!("{step_us} is outside 10..=1000000"),
        ));
    }
    let faults = sim
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| resolve_fault(i, f))
        .collect::<Result<_, _>>()?;
    let mut start_prices = Vec::with_capacity(sim.start_prices.len());
    for (base, text) in &sim.start_prices {
        let key = format!("simulator.start_prices.{base}");
        let price = Price::from_decimal_str(text).map_err(|e| invalid(&key, e.to_string()))?;
        if price.raw() <= 0 {
            return Err(invalid(key, "must be positive"));
        }
        start_prices.push((base.clone(), price));
    }
    Ok(Some(SimSettings {
        faults,
        start_prices,
        tls: sim.tls.unwrap_or(false),
        burst: None,
        okx_snapshot_push: sim.okx_snapshot_push.unwrap_or(false),
        okx_checksums: sim.okx_checksums.unwrap_or(false),
        seed: sim.seed.unwrap_or(7),
        port: sim.port.unwrap_or(0),
        dislocation_mean_interval: Duration::from_millis(
            sim.dislocation_mean_interval_ms.unwrap_or(1500),
        ),
        step: Duration::from_micros(step_us),
    }))
}

fn resolve_fault(i: usize, raw: &RawFault) -> Result<SimFault, ConfigError> {
    let key = |field: &str| format!("simulator.faults[{i}].{field}");
    let venue = parse_venue(&raw.venue, key("venue"))?;
    let kind = parse_kind(&raw.kind, key("kind"))?;
    let needs = |field: &str| invalid(key(field), format!("`{}` needs it", raw.action));
    let action = match raw.action.as_str() {
        "close" => FaultAction::Close,
        "stall" => FaultAction::Stall,
        "garbage" => FaultAction::Garbage,
        "truncate" => FaultAction::Truncate,
        "skip_sequence" => FaultAction::SkipSequence,
        "bad_checksum" => FaultAction::BadChecksum,
        "refuse_handshake" => FaultAction::RefuseHandshake,
        "delay" => FaultAction::Delay(Duration::from_millis(
            raw.delay_ms.ok_or_else(|| needs("delay_ms"))?,
        )),
        "oversize" => FaultAction::Oversize {
            bytes: raw.bytes.ok_or_else(|| needs("bytes"))?,
        },
        other => {
            return Err(invalid(
                key("action"),
                format!(
                    "`{other}` is not one of close, stall, garbage, truncate, oversize, skip_sequence, bad_checksum, delay, refuse_handshake"
                ),
            ));
        }
    };
    let fault = SimFault {
        connections: raw.connections.unwrap_or(1),
        first_connection: raw.first_connection.unwrap_or(0),
        ..SimFault::new(venue, kind, action, raw.after_frames.unwrap_or(1000))
    };
    fault
        .check()
        .map_err(|reason| invalid(format!("simulator.faults[{i}]"), reason))?;
    Ok(fault)
}

fn default_instruments() -> Vec<RawInstrument> {
    let make = |kind: &str, tick: &str, lot: &str, min: &str| RawInstrument {
        venue: "binance".into(),
        kind: kind.into(),
        symbol: "BTCUSDT".into(),
        base: "BTC".into(),
        tick_size: tick.into(),
        lot_size: lot.into(),
        min_notional: Some(min.into()),
        contract_size: None,
    };
    vec![
        make("spot", "0.01", "0.00001", "5"),
        make("perp", "0.1", "0.001", "100"),
    ]
}

fn resolve_instruments(raw: &[RawInstrument]) -> Result<InstrumentRegistry, ConfigError> {
    let defaults = default_instruments();
    let list = if raw.is_empty() { &defaults[..] } else { raw };
    let mut registry = InstrumentRegistry::default();
    for (i, inst) in list.iter().enumerate() {
        let key = |field: &str| format!("instruments[{i}].{field}");
        let venue = parse_venue(&inst.venue, key("venue"))?;
        let kind = parse_kind(&inst.kind, key("kind"))?;
        let price = |field: &str, s: &str| {
            Price::from_decimal_str(s).map_err(|e| invalid(key(field), e.to_string()))
        };
        let spec = InstrumentSpec {
            venue,
            kind,
            symbol: inst.symbol.clone(),
            base: inst.base.clone(),
            tick_size: price("tick_size", &inst.tick_size)?,
            lot_size: Qty::from_decimal_str(&inst.lot_size)
                .map_err(|e| invalid(key("lot_size"), e.to_string()))?,
            min_notional: price("min_notional", inst.min_notional.as_deref().unwrap_or("0"))?,
            contract_size: Qty::from_decimal_str(inst.contract_size.as_deref().unwrap_or("1"))
                .map_err(|e| invalid(key("contract_size"), e.to_string()))?,
        };
        registry
            .insert(spec)
            .map_err(|e| invalid(format!("instruments[{i}]"), e.to_string()))?;
    }
    Ok(registry)
}

/// A venue name, or an error for `key`.
fn parse_venue(name: &str, key: String) -> Result<Venue, ConfigError> {
    Venue::from_name(name)
        .ok_or_else(|| invalid(key, format!("unknown venue `{name}` ({KNOWN_VENUES})")))
}

/// `spot` or `perp`, or an error for `key`.
fn parse_kind(kind: &str, key: String) -> Result<MarketKind, ConfigError> {
    match kind {
        "spot" => Ok(MarketKind::Spot),
        "perp" => Ok(MarketKind::Perp),
        other => Err(invalid(key, format!("`{other}` is not `spot` or `perp`"))),
    }
}

/// What an unknown venue name is told.
const KNOWN_VENUES: &str = "known: binance, bybit, okx, hyperliquid";

/// Each venue's public base-tier fees in bps: (spot maker, spot taker, perp maker, perp
/// taker), as published by the venues in 2025.
const fn default_fees(venue: Venue) -> [&'static str; 4] {
    match venue {
        Venue::Binance => ["10", "10", "2", "5"],
        Venue::Bybit => ["10", "10", "2", "5.5"],
        Venue::Okx => ["8", "10", "2", "5"],
        Venue::Hyperliquid => ["4", "7", "1.5", "4.5"],
    }
}

/// Default venue-to-us delay above which a venue is stale.
pub const STALE_AFTER_DEFAULT: Duration = Duration::from_millis(200);

fn resolve_venues(
    raw: &RawConfig,
    registry: &InstrumentRegistry,
    simulated: bool,
) -> Result<Vec<VenueSettings>, ConfigError> {
    let mut venues: Vec<VenueSettings> = Vec::new();
    for (i, v) in raw.venues.iter().enumerate() {
        let settings = resolve_venue(i, v)?;
        if venues.iter().any(|known| known.venue == settings.venue) {
            return Err(invalid(
                format!("venues[{i}].name"),
                format!("venue `{}` is listed twice", v.name),
            ));
        }
        venues.push(settings);
    }
    for inst in registry.iter() {
        if venues.iter().any(|v| v.venue == inst.venue) {
            continue;
        }
        if !simulated {
            return Err(invalid(
                "venues",
                format!(
                    "venue `{}` has instruments but no endpoints, and the simulator is disabled",
                    inst.venue
                ),
            ));
        }
        venues.push(venue_defaults(inst.venue));
    }
    Ok(venues)
}

fn venue_defaults(venue: Venue) -> VenueSettings {
    let [spot_maker, spot_taker, perp_maker, perp_taker] = default_fees(venue).map(Bps::lit);
    VenueSettings {
        venue,
        spot_url: None,
        perp_url: None,
        spot_rest_url: None,
        perp_rest_url: None,
        top_source: TopSource::default_for(venue),
        spot_fees: FeePair {
            maker: spot_maker,
            taker: spot_taker,
        },
        perp_fees: FeePair {
            maker: perp_maker,
            taker: perp_taker,
        },
        stale_after: STALE_AFTER_DEFAULT,
        connection_lifetime: (venue == Venue::Binance).then_some(BINANCE_LIFETIME_DEFAULT),
        silence: crate::feed::silence::SilenceBounds::default(),
    }
}

fn resolve_venue(i: usize, v: &RawVenue) -> Result<VenueSettings, ConfigError> {
    let key = |field: &str| format!("venues[{i}].{field}");
    let venue = parse_venue(&v.name, key("name"))?;
    for (field, url) in [("spot_url", &v.spot_url), ("perp_url", &v.perp_url)] {
        if let Some(url) = url
            && !url.starts_with("ws://")
            && !url.starts_with("wss://")
        {
            return Err(invalid(
                key(field),
                format!("`{url}`: a WebSocket endpoint starts with ws:// or wss://"),
            ));
        }
    }
    for (field, url) in [
        ("rest_url", &v.rest_url),
        ("spot_rest_url", &v.spot_rest_url),
        ("perp_rest_url", &v.perp_rest_url),
    ] {
        if let Some(url) = url
            && !url.starts_with("http://")
            && !url.starts_with("https://")
        {
            return Err(invalid(
                key(field),
                format!("`{url}`: a REST endpoint starts with http:// or https://"),
            ));
        }
    }
    if venue == Venue::Binance
        && let Some(url) = &v.perp_url
        && url.trim_end_matches('/').ends_with("/ws")
    {
        return Err(invalid(
            key("perp_url"),
            format!(
                "`{url}`: Binance USD-M retired its unrouted `/ws` endpoint on 2026-04-23; \
                 give the root (`wss://fstream.binance.com`): edgeline opens \
                 `/public/ws` and `/market/ws` under it"
            ),
        ));
    }
    let mut settings = venue_defaults(venue);
    settings.spot_url.clone_from(&v.spot_url);
    settings.perp_url.clone_from(&v.perp_url);
    settings.spot_rest_url = v.spot_rest_url.clone().or_else(|| v.rest_url.clone());
    settings.perp_rest_url = v.perp_rest_url.clone().or_else(|| v.rest_url.clone());
    settings.top_source = match v.top_of_book.as_deref() {
        None => settings.top_source,
        Some("stream") => TopSource::Stream,
        Some("book") => TopSource::Book,
        Some(other) => {
            return Err(invalid(
                key("top_of_book"),
                format!("`{other}` is not `stream` or `book`"),
            ));
        }
    };
    let fee = |field: &str, value: Option<f64>, default: Bps| match value {
        None => Ok(default),
        Some(v) if (0.0..=1000.0).contains(&v) => bps_from_config(v)
            .ok_or_else(|| invalid(key(field), format!("{v} is not a finite number of bps"))),
        Some(v) => Err(invalid(key(field), format!("{v} is outside 0..=1000 bps"))),
    };
    settings.spot_fees = FeePair {
        maker: fee(
            "spot_maker_fee_bps",
            v.spot_maker_fee_bps,
            settings.spot_fees.maker,
        )?,
        taker: fee(
            "spot_taker_fee_bps",
            v.spot_taker_fee_bps,
            settings.spot_fees.taker,
        )?,
    };
    settings.perp_fees = FeePair {
        maker: fee(
            "perp_maker_fee_bps",
            v.perp_maker_fee_bps,
            settings.perp_fees.maker,
        )?,
        taker: fee(
            "perp_taker_fee_bps",
            v.perp_taker_fee_bps,
            settings.perp_fees.taker,
        )?,
    };
    if let Some(ms) = v.stale_after_ms {
        if ms == 0 {
            return Err(invalid(key("stale_after_ms"), "must be at least 1"));
        }
        settings.stale_after = Duration::from_millis(ms);
    }
    match v.connection_lifetime_ms {
        None => {}
        Some(0) => settings.connection_lifetime = None,
        Some(_) if venue != Venue::Binance => {
            return Err(invalid(
                key("connection_lifetime_ms"),
                "planned replacement is implemented for binance only (its book ids let a \
                 new connection take over without a snapshot)",
            ));
        }
        Some(ms) if ms < LIFETIME_MIN_MS => {
            return Err(invalid(
                key("connection_lifetime_ms"),
                "must be 0 (never) or at least 1000",
            ));
        }
        Some(ms) => settings.connection_lifetime = Some(Duration::from_millis(ms)),
    }
    let silence = &mut settings.silence;
    if let Some(ms) = v.silence_floor_ms {
        silence.floor = Duration::from_millis(ms);
    }
    if let Some(ms) = v.silence_ceiling_ms {
        silence.ceiling = Duration::from_millis(ms);
    }
    if silence.floor.is_zero() {
        return Err(invalid(key("silence_floor_ms"), "must be at least 1"));
    }
    if silence.ceiling < silence.floor {
        return Err(invalid(
            key("silence_ceiling_ms"),
            "must be at least silence_floor_ms",
        ));
    }
    Ok(settings)
}

/// Binance's connection lifetime before its planned replacement: an hour under the
/// venue's 24 h limit, so a replacement that fails to sync has time to try again.
pub const BINANCE_LIFETIME_DEFAULT: Duration = Duration::from_secs(23 * 3600);
/// Shortest configurable lifetime, ms (a replacement takes a few depth messages).
const LIFETIME_MIN_MS: u64 = 1_000;

/// What the built-in simulator can serve: one spot and one perp symbol per base and
/// venue, each tick at most a thousandth of its base's start price.
fn check_simulator_instruments(
    registry: &InstrumentRegistry,
    sim: &SimSettings,
) -> Result<(), ConfigError> {
    let default_price = crate::sim::SimConfig::default().start_price;
    for (i, inst) in registry.iter().enumerate() {
        let twin = registry
            .iter()
            .take(i)
            .any(|o| o.venue == inst.venue && o.kind == inst.kind && o.base == inst.base);
        if twin {
            return Err(invalid(
                format!("instruments[{i}]"),
                format!(
                    "the built-in simulator serves one {} symbol per base and venue; {} has two of {} on {}",
                    inst.kind.name(),
                    inst.kind.name(),
                    inst.base,
                    inst.venue
                ),
            ));
        }
        let start = sim
            .start_prices
            .iter()
            .find(|(b, _)| *b == inst.base)
            .map_or(default_price, |(_, p)| *p);
        if start.raw() / inst.tick_size.raw().max(1) < 1_000 {
            return Err(invalid(
                format!("instruments[{i}].tick_size"),
                format!(
                    "the simulator needs a tick of at most 1/1000 of {}'s start price {start} (set simulator.start_prices.{})",
                    inst.base, inst.base
                ),
            ));
        }
    }
    Ok(())
}

/// Every spot and perp market of the same base on the same venue form a basis pair.
fn find_pairs(registry: &InstrumentRegistry) -> Vec<BasisPair> {
    let mut pairs = Vec::new();
    for spot in registry.iter().filter(|i| i.kind == MarketKind::Spot) {
        for perp in registry.iter().filter(|i| i.kind == MarketKind::Perp) {
            if perp.base == spot.base && perp.venue == spot.venue {
                pairs.push(BasisPair {
                    spot: spot.id,
                    perp: perp.id,
                });
            }
        }
    }
    pairs
}

fn resolve_book(raw: RawBook) -> Result<BookParams, ConfigError> {
    let d = BookParams::default();
    let levels_max = raw.levels_max.unwrap_or(d.levels_max);
    if !(1..=100_000).contains(&levels_max) {
        return Err(invalid(
            "book.levels_max",
            format!("{levels_max} is outside 1..=100000"),
        ));
    }
    let tracked_depth_bps = match raw.tracked_depth_bps {
        None => d.tracked_depth_bps,
        Some(v) if v >= 0.0 => bps_from_config(v).ok_or_else(|| {
            invalid(
                "book.tracked_depth_bps",
                format!("{v} is not a finite number of bps"),
            )
        })?,
        Some(v) => {
            return Err(invalid(
                "book.tracked_depth_bps",
                format!("{v} is negative"),
            ));
        }
    };
    let resync_buffer_events = raw.resync_buffer_events.unwrap_or(d.resync_buffer_events);
    if !(16..=10_000_000).contains(&resync_buffer_events) {
        return Err(invalid(
            "book.resync_buffer_events",
            format!("{resync_buffer_events} is outside 16..=10000000"),
        ));
    }
    let wait_ms = raw
        .stream_snapshot_wait_ms
        .unwrap_or(u64::try_from(d.stream_snapshot_wait.as_millis()).unwrap_or(u64::MAX));
    if wait_ms > STREAM_SNAPSHOT_WAIT_MS_MAX {
        return Err(invalid(
            "book.stream_snapshot_wait_ms",
            format!("{wait_ms} is above {STREAM_SNAPSHOT_WAIT_MS_MAX}"),
        ));
    }
    Ok(BookParams {
        levels_max,
        tracked_depth_bps,
        resync_buffer_events,
        stream_snapshot_wait: Duration::from_millis(wait_ms),
    })
}

fn resolve_basis(raw: RawBasis) -> Result<BasisParams, ConfigError> {
    let d = BasisParams::default();
    let bps = |key: &str, value: Option<f64>, default: Bps| match value {
        None => Ok(default),
        Some(v) => bps_from_config(v).ok_or_else(|| {
            invalid(
                format!("basis.{key}"),
                format!("{v} is not a finite number of bps"),
            )
        }),
    };
    let threshold = |key: &str, value: Option<f64>, default: Bps| {
        if let Some(v) = value.filter(|v| *v < 0.0) {
            return Err(invalid(
                format!("basis.{key}"),
                format!("{v} is negative (a threshold is an edge size, 0 or more bps)"),
            ));
        }
        bps(key, value, default)
    };
    let ticks = raw.baseline_ticks.unwrap_or(d.baseline_ticks);
    if !(1..=100_000).contains(&ticks) {
        return Err(invalid(
            "basis.baseline_ticks",
            "must be between 1 and 100000",
        ));
    }
    let params = BasisParams {
        baseline_ticks: ticks,
        tracker_threshold: threshold(
            "tracker_threshold_bps",
            raw.tracker_threshold_bps,
            d.tracker_threshold,
        )?,
        trade_threshold: threshold(
            "trade_threshold_bps",
            raw.trade_threshold_bps,
            d.trade_threshold,
        )?,
        costs: CostModel {
            ioc_both: bps("cost_ioc_both_bps", raw.cost_ioc_both_bps, d.costs.ioc_both)?,
            ioc_perp_alo_spot: bps(
                "cost_ioc_perp_alo_spot_bps",
                raw.cost_ioc_perp_alo_spot_bps,
                d.costs.ioc_perp_alo_spot,
            )?,
            alo_both: bps("cost_alo_both_bps", raw.cost_alo_both_bps, d.costs.alo_both)?,
        },
        intent_expiry_ms: raw.intent_expiry_ms.unwrap_or(d.intent_expiry_ms),
    };
    if !(1..=60_000).contains(&params.intent_expiry_ms) {
        return Err(invalid(
            "basis.intent_expiry_ms",
            format!("{} is outside 1..=60000", params.intent_expiry_ms),
        ));
    }
    if params.trade_threshold < params.tracker_threshold {
        return Err(invalid(
            "basis.trade_threshold_bps",
            "must not be below basis.tracker_threshold_bps (the tracker records a superset of trades)",
        ));
    }
    Ok(params)
}

/// A bps value of `[scanner]` within `range`.
fn scanner_bps(
    key: &str,
    value: Option<f64>,
    default: Bps,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Bps, ConfigError> {
    let Some(v) = value else {
        return Ok(default);
    };
    if !range.contains(&v) {
        return Err(invalid(
            format!("scanner.{key}"),
            format!("{v} is outside {}..={} bps", range.start(), range.end()),
        ));
    }
    bps_from_config(v).ok_or_else(|| {
        invalid(
            format!("scanner.{key}"),
            format!("{v} is not a finite number of bps"),
        )
    })
}

fn resolve_scanner(raw: RawScanner) -> Result<ScannerParams, ConfigError> {
    let d = ScannerParams::default();
    let mut p = ScannerParams {
        enabled: raw.enabled.unwrap_or(d.enabled),
        ..d
    };
    if let Some(multiples) = &raw.size_multiples {
        if multiples.is_empty() || multiples.len() > SIZES_MAX {
            return Err(invalid(
                "scanner.size_multiples",
                format!("{} entries: give 1 to {SIZES_MAX}", multiples.len()),
            ));
        }
        if let Some(bad) = multiples.iter().find(|&&m| !(1..=1_000_000).contains(&m)) {
            return Err(invalid(
                "scanner.size_multiples",
                format!("{bad} is outside 1..=1000000"),
            ));
        }
        p.size_multiples = [0; SIZES_MAX];
        p.size_multiples[..multiples.len()].copy_from_slice(multiples);
        p.sizes_len = multiples.len();
    }
    let s = d.slippage;
    p.slippage = SlippageModel {
        base_bps: scanner_bps(
            "slippage_base_bps",
            raw.slippage_base_bps,
            s.base_bps,
            0.0..=1000.0,
        )?,
        per_depth_bps: scanner_bps(
            "slippage_per_depth_bps",
            raw.slippage_per_depth_bps,
            s.per_depth_bps,
            0.0..=1000.0,
        )?,
        cap_bps: scanner_bps(
            "slippage_cap_bps",
            raw.slippage_cap_bps,
            s.cap_bps,
            0.0..=1000.0,
        )?,
    };
    if p.slippage.cap_bps < p.slippage.base_bps {
        return Err(invalid(
            "scanner.slippage_cap_bps",
            "must not be below scanner.slippage_base_bps",
        ));
    }
    p.weights = resolve_weights(raw.weights.unwrap_or_default())?;
    let expiry_ms = raw.expiry_ms.unwrap_or(d.expiry_ns / 1_000_000);
    if !(1..=60_000).contains(&expiry_ms) {
        return Err(invalid(
            "scanner.expiry_ms",
            format!("{expiry_ms} is outside 1..=60000"),
        ));
    }
    p.expiry_ns = expiry_ms * 1_000_000;
    p.funding_delta_min_bps = scanner_bps(
        "funding_delta_min_bps",
        raw.funding_delta_min_bps,
        d.funding_delta_min_bps,
        -10_000.0..=10_000.0,
    )?;
    p.top_n = raw.top_n.unwrap_or(d.top_n);
    if !(1..=1000).contains(&p.top_n) {
        return Err(invalid(
            "scanner.top_n",
            format!("{} is outside 1..=1000", p.top_n),
        ));
    }
    // NB: thresholds are net edges a size must reach: a negative one would record and
    // trade sizes that lose money after costs.
    let range = 0.0..=10_000.0;
    p.record_threshold_bps = scanner_bps(
        "record_threshold_bps",
        raw.record_threshold_bps,
        d.record_threshold_bps,
        range.clone(),
    )?;
    p.trade_threshold_bps = scanner_bps(
        "trade_threshold_bps",
        raw.trade_threshold_bps,
        d.trade_threshold_bps,
        range,
    )?;
    if p.trade_threshold_bps < p.record_threshold_bps {
        return Err(invalid(
            "scanner.trade_threshold_bps",
            "must not be below scanner.record_threshold_bps (only recorded sizes trade)",
        ));
    }
    p.confidence_min = raw.confidence_min.unwrap_or(d.confidence_min);
    if p.confidence_min > 100 {
        return Err(invalid(
            "scanner.confidence_min",
            format!("{} is above 100", p.confidence_min),
        ));
    }
    p.soft_delay_ms = raw.soft_delay_ms.unwrap_or(d.soft_delay_ms);
    if p.soft_delay_ms == 0 {
        return Err(invalid("scanner.soft_delay_ms", "must be at least 1"));
    }
    p.stale_penalty_points = raw.stale_penalty_points.unwrap_or(d.stale_penalty_points);
    if p.stale_penalty_points > 100 {
        return Err(invalid(
            "scanner.stale_penalty_points",
            format!("{} is above 100", p.stale_penalty_points),
        ));
    }
    Ok(p)
}

fn resolve_weights(raw: crate::config::raw::RawWeights) -> Result<Weights, ConfigError> {
    let d = Weights::default().0;
    let named = [
        ("funding_delta", raw.funding_delta),
        ("book_imbalance", raw.book_imbalance),
        ("open_interest", raw.open_interest),
        ("vwap_deviation", raw.vwap_deviation),
        ("volatility", raw.volatility),
        ("liquidation_distance", raw.liquidation_distance),
    ];
    let mut weights = d;
    for (i, (name, value)) in named.into_iter().enumerate() {
        let w = value.unwrap_or(d[i]);
        if w > 1000 {
            return Err(invalid(
                format!("scanner.weights.{name}"),
                format!("{w} is above 1000"),
            ));
        }
        weights[i] = w;
    }
    Ok(Weights(weights))
}

fn resolve_rings(raw: RawRings) -> Result<RingSizes, ConfigError> {
    let size = |key: &str, value: Option<usize>, default: usize, min: usize| {
        let v = value.unwrap_or(default);
        if v < min || v > (1 << 24) {
            return Err(invalid(
                format!("rings.{key}"),
                format!("{v} is outside {min}..=16777216"),
            ));
        }
        Ok(v)
    };
    let events_per_frame_max = size("events_per_frame_max", raw.events_per_frame_max, 2048, 16)?;
    let market_events = size("market_events", raw.market_events, 16384, 16)?;
    if market_events < events_per_frame_max {
        return Err(invalid(
            "rings.market_events",
            format!(
                "{market_events} slots cannot hold one frame of rings.events_per_frame_max = {events_per_frame_max}"
            ),
        ));
    }
    Ok(RingSizes {
        market_events,
        book_updates: size("book_updates", raw.book_updates, 4096, 16)?,
        opportunities: size("opportunities", raw.opportunities, 16384, 16)?,
        spread_records: size("spread_records", raw.spread_records, 4096, 16)?,
        latency_samples: size("latency_samples", raw.latency_samples, 65536, 16)?,
        events_per_frame_max,
        intents: size("intents", raw.intents, 1024, 16)?,
        gateway_records: size("gateway_records", raw.gateway_records, 16384, 16)?,
    })
}

fn resolve_placement(raw: &[RawCorePlan], core_count: usize) -> Result<Placement, ConfigError> {
    if raw.is_empty() {
        return Ok(Placement::default_for(core_count));
    }
    let mut cores = Vec::with_capacity(raw.len());
    for (i, plan) in raw.iter().enumerate() {
        let stages = plan
            .stages
            .iter()
            .map(|name| {
                StageKind::from_name(name).ok_or_else(|| {
                    invalid(
                        format!("placement[{i}].stages"),
                        format!(
                            "unknown stage `{name}` (known: feed, book, edge, gateway, telemetry)"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let idle_name = plan.idle.as_deref().unwrap_or("spin-then-yield");
        let idle = IdlePolicy::from_name(idle_name).ok_or_else(|| {
            invalid(
                format!("placement[{i}].idle"),
                format!("unknown idle policy `{idle_name}` (known: spin, spin-then-yield, park)"),
            )
        })?;
        cores.push(CorePlan {
            core: plan.core,
            stages,
            idle,
        });
    }
    let placement = Placement { cores };
    placement
        .validate()
        .map_err(|e| invalid("placement", e.to_string()))?;
    Ok(placement)
}

/// Default latency dump interval: interval histograms cover the last minute.
pub const DUMP_INTERVAL_SECS_DEFAULT: u64 = 60;
/// Longest latency dump interval (a day).
pub const DUMP_INTERVAL_SECS_MAX: u64 = 86_400;

fn resolve_telemetry(raw: &RawTelemetry) -> Result<TelemetrySettings, ConfigError> {
    let progress_ms = raw.progress_interval_ms.unwrap_or(1000);
    let dump_secs = raw.dump_interval_secs.unwrap_or(DUMP_INTERVAL_SECS_DEFAULT);
    if dump_secs > DUMP_INTERVAL_SECS_MAX {
        return Err(invalid(
            "telemetry.dump_interval_secs",
            format!(
                "{dump_secs} is over the maximum of {DUMP_INTERVAL_SECS_MAX} (a day); 0 dumps only at exit"
            ),
        ));
    }
    Ok(TelemetrySettings {
        progress_interval: (progress_ms > 0).then(|| Duration::from_millis(progress_ms)),
        dump_interval: (dump_secs > 0).then(|| Duration::from_secs(dump_secs)),
        expected_interval: None,
        lossless: false,
    })
}
