//! Configuration in two phases: [`raw`] (the TOML as written, unknown keys rejected) and
//! [`resolve`] (validated, interned, sized). Stages receive their slice of [`Config`] and
//! never read globals. Cold path.

pub mod database;
pub mod gateway;
pub mod nats;
pub mod parse_error;
pub mod raw;
pub mod record;
pub mod resolve;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::book::BookParams;
use crate::book::engine::TopSource;
use crate::edge::{BasisPair, BasisParams, ScannerParams};
use crate::feed::transport::TransportConfig;
use crate::runtime::Placement;
use crate::telemetry::db::DatabaseSettings;
use crate::types::bps::Bps;
use crate::types::{InstrumentRegistry, MarketKind, Venue};

/// A configuration that cannot be used. Each variant names where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read: check the path.
    #[error("reading config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema; the message names the line, column
    /// and key, never the file's text (a value may be a secret: [`parse_error`]).
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said (key, line, reason).
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("config key `{key}`: {reason}")]
    Invalid {
        /// Dotted path of the key, e.g. `instruments[1].tick_size`.
        key: String,
        /// Why it was refused.
        reason: String,
    },
}

/// The Telegram bot's settings (the token is read from the environment at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramSettings {
    /// Bot API base URL.
    pub base_url: String,
    /// Chats allowed to command the bot.
    pub chat_ids: Vec<i64>,
    /// Long-poll timeout.
    pub poll_timeout: Duration,
    /// A venue stale this long raises an alert.
    pub stale_alert_after: Duration,
}

/// The built-in simulator's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSettings {
    /// Seed of the simulated market.
    pub seed: u64,
    /// Port on 127.0.0.1 (0: any).
    pub port: u16,
    /// Mean time between dislocations.
    pub dislocation_mean_interval: Duration,
    /// Model step: one perp top of book per step, so 1/step is the offered rate.
    pub step: Duration,
    /// The fault plan.
    pub faults: Vec<crate::sim::SimFault>,
    /// Serve over TLS (`wss://`, `https://`) with a self-signed certificate.
    pub tls: bool,
    /// Start price per base (others start at the simulator's default).
    pub start_prices: Vec<(String, crate::types::Price)>,
    /// A burst of steps: set by the end-to-end benchmark's burst scenario, not by the
    /// configuration file.
    pub burst: Option<crate::sim::SimBurst>,
    /// OKX `books` pushes its snapshot on subscribe (OKX's form before 2026).
    pub okx_snapshot_push: bool,
    /// OKX `books` carry real checksums (OKX's form before June 2026), not 0.
    pub okx_checksums: bool,
}

/// Maker and taker fees of one market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePair {
    /// Maker fee, bps.
    pub maker: Bps,
    /// Taker fee, bps.
    pub taker: Bps,
}

/// One venue: where its markets are reached (`None`: the simulator's endpoint), how its
/// top of book is sourced, its fees and its staleness threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueSettings {
    /// The venue.
    pub venue: Venue,
    /// Spot WebSocket URL.
    pub spot_url: Option<String>,
    /// Perp WebSocket URL (Binance: the USD-M root the endpoint groups hang off).
    pub perp_url: Option<String>,
    /// Spot REST base URL (depth snapshots).
    pub spot_rest_url: Option<String>,
    /// Perp REST base URL (depth snapshots).
    pub perp_rest_url: Option<String>,
    /// Where the top of book comes from.
    pub top_source: TopSource,
    /// Spot fees.
    pub spot_fees: FeePair,
    /// Perp fees.
    pub perp_fees: FeePair,
    /// Venue-to-us delay above which the venue is flagged stale.
    pub stale_after: Duration,
    /// Age at which a connection is replaced, make before break (Binance; `None`:
    /// never, the other venues).
    pub connection_lifetime: Option<Duration>,
    /// Bounds of each stream's learned silence limit ([`crate::feed::silence`]).
    pub silence: crate::feed::silence::SilenceBounds,
}

impl VenueSettings {
    /// The REST base URL of a market's depth snapshots, if configured.
    pub fn rest_url(&self, kind: MarketKind) -> Option<&str> {
        match kind {
            MarketKind::Spot => self.spot_rest_url.as_deref(),
            MarketKind::Perp => self.perp_rest_url.as_deref(),
        }
    }
}

/// Slots of every ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSizes {
    /// feed → book.
    pub market_events: usize,
    /// book → edge.
    pub book_updates: usize,
    /// edge → telemetry (basis records).
    pub opportunities: usize,
    /// edge → telemetry (spread scanner records).
    pub spread_records: usize,
    /// each stage → telemetry.
    pub latency_samples: usize,
    /// Events one frame may decode into.
    pub events_per_frame_max: usize,
    /// edge → gateway.
    pub intents: usize,
    /// gateway → telemetry.
    pub gateway_records: usize,
}

/// Telemetry sidecar settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// Progress line interval (`None`: no progress lines).
    pub progress_interval: Option<Duration>,
    /// Latency dump interval (`None`: only the final dump at exit).
    pub dump_interval: Option<Duration>,
    /// Fixed interval the load is offered at, for coordinated-omission correction
    /// (set by the end-to-end benchmark, not by the file).
    pub expected_interval: Option<Duration>,
    /// Block on a full database queue instead of dropping records (set by replays,
    /// not by the file).
    pub lossless: bool,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Output folder.
    pub output_dir: PathBuf,
    /// Run length.
    pub duration: Duration,
    /// The simulator, when enabled.
    pub simulator: Option<SimSettings>,
    /// Venues in use.
    pub venues: Vec<VenueSettings>,
    /// Interned instruments.
    pub registry: InstrumentRegistry,
    /// Perp/spot pairs for the basis tracker.
    pub pairs: Vec<BasisPair>,
    /// Order book sizing.
    pub book: BookParams,
    /// Basis tracker parameters.
    pub basis: BasisParams,
    /// Cross-venue spread scanner parameters.
    pub scanner: ScannerParams,
    /// Ring sizes.
    pub rings: RingSizes,
    /// Stage placement.
    pub placement: Placement,
    /// Refuse to start on placement issues instead of warning.
    pub strict_placement: bool,
    /// Telemetry settings.
    pub telemetry: TelemetrySettings,
    /// The Telegram bot, when enabled.
    pub telegram: Option<TelegramSettings>,
    /// The metrics endpoint's address, when enabled.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The file this configuration was read from (`/reload` re-reads it).
    pub source: Option<PathBuf>,
    /// The database.
    pub database: DatabaseSettings,
    /// Venue connection settings.
    pub transport: TransportConfig,
    /// Paper trading (`None`: `[gateway] enabled = false`).
    pub gateway: Option<gateway::GatewaySettings>,
    /// Root certificates (DER) trusted for `wss://` and `https://` besides the bundled
    /// webpki roots (`transport.extra_root_cert`).
    pub extra_root_certs: Vec<Vec<u8>>,
    /// Recording of every received frame, when on.
    pub record: Option<crate::record::RecordSettings>,
    /// `[nats]`: telemetry over NATS JetStream (published when `enabled`; the collector
    /// reads it either way).
    pub nats: crate::telemetry::nats::NatsSettings,
}

impl Config {
    /// The configuration used when no file is given: the simulator, Binance BTCUSDT.
    pub fn defaults(core_count: usize) -> Result<Self, ConfigError> {
        resolve::resolve(raw::RawConfig::default(), core_count)
    }

    /// Reads and validates a TOML file.
    pub fn from_file(path: &Path, core_count: usize) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::from_toml(&text, path, core_count)?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses and validates TOML text (`path` only names it in errors).
    pub fn from_toml(text: &str, path: &Path, core_count: usize) -> Result<Self, ConfigError> {
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: parse_error::describe(&e, text),
        })?;
        resolve::resolve(raw, core_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_toml(text, Path::new("test.toml"), 2)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn test_negative_thresholds_and_unsupported_sslmode_are_refused_naming_the_key() {
        for (text, key) in [
            (
                "[basis]\ntracker_threshold_bps = -5.0\n",
                "basis.tracker_threshold_bps",
            ),
            (
                "[basis]\ntracker_threshold_bps = -5.0\ntrade_threshold_bps = -1.0\n",
                "basis.tracker_threshold_bps",
            ),
            (
                "[scanner]\nrecord_threshold_bps = -0.5\n",
                "scanner.record_threshold_bps",
            ),
            (
                "[scanner]\nrecord_threshold_bps = -3.0\ntrade_threshold_bps = -1.0\n",
                "scanner.record_threshold_bps",
            ),
            (
                "[database]\nurl = \"postgres://u@db/x?sslmode=require\"\n",
                "database.url",
            ),
        ] {
            let e = err(text);
            assert!(e.contains(&format!("`{key}`")), "{text}: {e}");
        }
        assert!(
            err("[database]\nurl = \"postgres://u@db/x?sslmode=require\"\n").contains("sslmode")
        );
        let ok = "[database]\nurl = \"postgres://u@db/x?sslmode=disable\"\n";
        assert!(Config::from_toml(ok, Path::new("t.toml"), 2).is_ok());
    }

    #[test]
    fn test_extra_root_cert_and_simulator_tls_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let path = dir.path().join("root.pem");
        std::fs::write(&path, cert.cert.pem()).unwrap();
        let text = format!(
            "[simulator]\ntls = true\n[transport]\nextra_root_cert = \"{}\"\n",
            path.display()
        );
        let c = Config::from_toml(&text, Path::new("test.toml"), 2).unwrap();
        assert_eq!(c.extra_root_certs, vec![cert.cert.der().to_vec()]);
        assert!(c.simulator.unwrap().tls);
        assert!(Config::defaults(2).unwrap().extra_root_certs.is_empty());
    }

    #[test]
    fn test_simulator_start_prices_and_what_it_can_serve() {
        let inst = |symbol: &str, base: &str, tick: &str| {
            format!(
                "[[instruments]]\nvenue = \"okx\"\nkind = \"spot\"\nsymbol = \"{symbol}\"\nbase = \"{base}\"\ntick_size = \"{tick}\"\nlot_size = \"1\"\n"
            )
        };
        let prices = "[simulator.start_prices]\nDOGE = \"0.15\"\n";
        let two = format!(
            "{prices}{}{}",
            inst("BTC-USDT", "BTC", "0.1"),
            inst("DOGE-USDT", "DOGE", "0.00001")
        );
        let c = Config::from_toml(&two, Path::new("test.toml"), 2).unwrap();
        assert_eq!(c.registry.len(), 2);
        let sim = c.simulator.unwrap();
        assert_eq!(
            sim.start_prices,
            vec![(
                "DOGE".to_owned(),
                crate::types::Price::from_decimal_str("0.15").unwrap()
            )]
        );
        let coarse = format!("{prices}{}", inst("DOGE-USDT", "DOGE", "0.001"));
        let e = err(&coarse);
        assert!(
            e.contains("instruments[0].tick_size") && e.contains("start_prices.DOGE"),
            "{e}"
        );
        let twins = format!(
            "{}{}",
            inst("BTC-USDT", "BTC", "0.1"),
            inst("BTC-USDC", "BTC", "0.1")
        );
        let e = err(&twins);
        assert!(
            e.contains("instruments[1]") && e.contains("two of BTC"),
            "{e}"
        );
        let e = err("[simulator.start_prices]\nETH = \"-1\"\n");
        assert!(e.contains("simulator.start_prices.ETH"), "{e}");
    }

    #[test]
    fn test_defaults_resolve_to_one_binance_pair() {
        let c = Config::defaults(2).unwrap();
        assert_eq!(c.registry.len(), 2);
        assert_eq!(c.pairs.len(), 1);
        assert!(c.simulator.is_some());
        assert_eq!(c.duration, Duration::from_secs(30));
    }

    #[test]
    fn test_unknown_key_is_named() {
        let e = err("duration_secs = 5\nthreshold = 3\n");
        assert!(e.contains("threshold"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn test_wrong_type_is_named() {
        let e = err("[basis]\nbaseline_ticks = \"twenty\"\n");
        assert!(e.contains("baseline_ticks"), "{e}");
    }

    #[test]
    fn test_binance_rest_bases_per_market_and_legacy_key() {
        let config = |venue: &str| {
            Config::from_toml(
                &format!("[[venues]]\nname = \"binance\"\n{venue}"),
                Path::new("t.toml"),
                2,
            )
            .unwrap()
        };
        let binance = |c: &Config| {
            c.venues
                .iter()
                .find(|v| v.venue == Venue::Binance)
                .cloned()
                .unwrap()
        };
        let old = binance(&config("rest_url = \"http://a\"\n"));
        assert_eq!(old.rest_url(MarketKind::Spot), Some("http://a"));
        assert_eq!(old.rest_url(MarketKind::Perp), Some("http://a"));
        let split = binance(&config(
            "rest_url = \"http://a\"\nspot_rest_url = \"https://api.binance.com\"\nperp_rest_url = \"https://fapi.binance.com\"\n",
        ));
        assert_eq!(
            split.rest_url(MarketKind::Spot),
            Some("https://api.binance.com")
        );
        assert_eq!(
            split.rest_url(MarketKind::Perp),
            Some("https://fapi.binance.com")
        );
        let one = binance(&config("perp_rest_url = \"https://fapi.binance.com\"\n"));
        assert_eq!(one.rest_url(MarketKind::Spot), None);
        let e = err("[[venues]]\nname = \"binance\"\nperp_rest_url = \"fapi.binance.com\"\n");
        assert!(e.contains("venues[0].perp_rest_url"), "{e}");
    }

    #[test]
    fn test_binance_legacy_usdm_ws_url_is_refused_with_the_fix() {
        for url in [
            "wss://fstream.binance.com/ws",
            "wss://fstream.binance.com/public/ws/",
        ] {
            let e = err(&format!(
                "[[venues]]\nname = \"binance\"\nperp_url = \"{url}\"\n"
            ));
            assert!(
                e.contains("venues[0].perp_url")
                    && e.contains("/public/ws")
                    && e.contains("2026-04-23"),
                "{e}"
            );
        }
        let root = "[[venues]]\nname = \"binance\"\nperp_url = \"wss://fstream.binance.com\"\n";
        assert!(Config::from_toml(root, Path::new("t.toml"), 2).is_ok());
    }

    #[test]
    fn test_bad_values_name_key_and_reason() {
        let inst = "[[instruments]]\nvenue = \"binance\"\nkind = \"spot\"\nsymbol = \"BTCUSDT\"\nbase = \"BTC\"\nlot_size = \"0.001\"\n";
        let e = err(&format!("{inst}tick_size = \"0.0x\"\n"));
        assert!(
            e.contains("instruments[0].tick_size") && e.contains("0.0x"),
            "{e}"
        );
        let e = err(&format!("{inst}tick_size = \"0\"\n"));
        assert!(e.contains("tick_size must be greater than zero"), "{e}");
        let e = err("[[placement]]\ncore = 0\nstages = [\"feed\", \"book\", \"edge\"]\n");
        assert!(e.contains("`placement`") && e.contains("telemetry"), "{e}");
        let e = err(
            "[[placement]]\nstages = [\"feed\", \"book\", \"edge\", \"telemetry\"]\nidle = \"nap\"\n",
        );
        assert!(e.contains("placement[0].idle") && e.contains("nap"), "{e}");
        let e = err("[basis]\ntracker_threshold_bps = 30.0\n");
        assert!(e.contains("basis.trade_threshold_bps"), "{e}");
        let e = err("[rings]\nmarket_events = 4\n");
        assert!(e.contains("rings.market_events"), "{e}");
        let e = err(
            "[[venues]]\nname = \"binance\"\nspot_url = \"https://stream.binance.com:9443/ws\"\n",
        );
        assert!(
            e.contains("venues[0].spot_url") && e.contains("ws://"),
            "{e}"
        );
        let e = err("[[venues]]\nname = \"okx\"\nsilence_floor_ms = 0\n");
        assert!(e.contains("venues[0].silence_floor_ms"), "{e}");
        let e =
            err("[[venues]]\nname = \"okx\"\nsilence_floor_ms = 900\nsilence_ceiling_ms = 800\n");
        assert!(e.contains("venues[0].silence_ceiling_ms"), "{e}");
        let c = Config::from_toml(
            "[[venues]]\nname = \"okx\"\nsilence_floor_ms = 300\n",
            Path::new("t.toml"),
            2,
        )
        .unwrap();
        let okx = c.venues.iter().find(|v| v.venue == Venue::Okx).unwrap();
        assert_eq!(okx.silence.floor, Duration::from_millis(300));
        assert_eq!(okx.silence.ceiling, crate::feed::silence::CEILING_DEFAULT);
        let e = err("[[venues]]\nname = \"kraken\"\n");
        assert!(
            e.contains("venues[0].name") && e.contains("hyperliquid"),
            "{e}"
        );
        let e = err("[[venues]]\nname = \"okx\"\ntop_of_book = \"ticker\"\n");
        assert!(
            e.contains("venues[0].top_of_book") && e.contains("ticker"),
            "{e}"
        );
        let e = err("[[venues]]\nname = \"okx\"\nperp_taker_fee_bps = -1.0\n");
        assert!(e.contains("venues[0].perp_taker_fee_bps"), "{e}");
        let e = err("[book]\nlevels_max = 0\n");
        assert!(e.contains("book.levels_max"), "{e}");
        let e = err("[transport]\npong_timeout_ms = 0\n");
        assert!(e.contains("transport.pong_timeout_ms"), "{e}");
        let e = err("[transport]\nbackoff_base_ms = 500\nbackoff_max_ms = 100\n");
        assert!(
            e.contains("transport.backoff_max_ms") && e.contains("backoff_base_ms"),
            "{e}"
        );
        let e = err("[transport]\nreceive_buffer_bytes = 10\n");
        assert!(e.contains("transport.receive_buffer_bytes"), "{e}");
        let e = err(
            "[transport]\nsilence_timeout_ms = 100\npong_timeout_ms = 300\nping_interval_ms = 100\n",
        );
        assert!(e.contains("transport.silence_timeout_ms"), "{e}");
        let e = err("[transport]\nextra_root_cert = \"/nonexistent/roots.pem\"\n");
        assert!(
            e.contains("transport.extra_root_cert") && e.contains("/nonexistent/roots.pem"),
            "{e}"
        );
        let e = err("[transport]\nextra_root_cert = \"Cargo.toml\"\n");
        assert!(
            e.contains("transport.extra_root_cert") && e.contains("no PEM certificate"),
            "{e}"
        );
        let fault = "[simulator]\n[[simulator.faults]]\nvenue = \"okx\"\nkind = \"spot\"\n";
        let e = err(&format!("{fault}action = \"explode\"\n"));
        assert!(
            e.contains("simulator.faults[0].action") && e.contains("explode"),
            "{e}"
        );
        let e = err(&format!("{fault}action = \"delay\"\n"));
        assert!(e.contains("simulator.faults[0].delay_ms"), "{e}");
        let e = err(&format!("{fault}action = \"close\"\nconnections = 0\n"));
        assert!(e.contains("simulator.faults[0]"), "{e}");
        let e = err("duration_secs = 0\n");
        assert!(e.contains("duration_secs"), "{e}");
        for (text, key) in [
            ("size_multiples = []", "scanner.size_multiples"),
            ("size_multiples = [1, 0]", "scanner.size_multiples"),
            ("slippage_cap_bps = 1.0", "scanner.slippage_cap_bps"),
            ("slippage_base_bps = -1.0", "scanner.slippage_base_bps"),
            ("expiry_ms = 0", "scanner.expiry_ms"),
            ("top_n = 0", "scanner.top_n"),
            ("trade_threshold_bps = 0.1", "scanner.trade_threshold_bps"),
            ("confidence_min = 101", "scanner.confidence_min"),
            ("soft_delay_ms = 0", "scanner.soft_delay_ms"),
            (
                "weights = { volatility = 5000 }",
                "scanner.weights.volatility",
            ),
        ] {
            let e = err(&format!("[scanner]\n{text}\n"));
            assert!(e.contains(key), "{text}: {e}");
        }
        let e = err("[scanner]\nweight = 3\n");
        assert!(e.contains("weight"), "{e}");
        let e = err("[basis]\nintent_expiry_ms = 0\n");
        assert!(e.contains("basis.intent_expiry_ms"), "{e}");
    }

    #[test]
    fn test_telegram_and_metrics_keys() {
        let c = Config::defaults(2).unwrap();
        assert_eq!(c.telegram, None);
        assert_eq!(c.metrics_listen, None);
        let e = err("[telegram]\nenabled = true\n");
        assert!(e.contains("telegram.chat_ids"), "{e}");
        let e = err("[telegram]\nenabled = true\nchat_ids = [1]\nbase_url = \"ftp://x\"\n");
        assert!(
            e.contains("telegram.base_url") && e.contains("ftp://x"),
            "{e}"
        );
        let e = err("[telegram]\nenabled = true\nchat_ids = [1]\npoll_timeout_secs = 90\n");
        assert!(e.contains("telegram.poll_timeout_secs"), "{e}");
        let e = err("[metrics]\nenabled = true\nlisten = \"localhost\"\n");
        assert!(
            e.contains("metrics.listen") && e.contains("localhost"),
            "{e}"
        );
        let text = "[telegram]\nenabled = true\nchat_ids = [42, -100]\n[metrics]\nenabled = true\n";
        let c = Config::from_toml(text, Path::new("t.toml"), 2).unwrap();
        let t = c.telegram.unwrap();
        assert_eq!(t.chat_ids, vec![42, -100]);
        assert_eq!(t.base_url, "https://api.telegram.org");
        assert_eq!(t.poll_timeout, Duration::from_secs(25));
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9108".parse().unwrap()));
    }

    #[test]
    fn test_full_file_resolves() {
        let text = r#"
            output_dir = "out"
            duration_secs = 3
            [simulator]
            seed = 11
            [[simulator.faults]]
            venue = "okx"
            kind = "perp"
            action = "delay"
            delay_ms = 30
            connections = 2
            [basis]
            baseline_ticks = 10
            tracker_threshold_bps = 8.5
            [scanner]
            size_multiples = [1, 3]
            expiry_ms = 500
            top_n = 3
            [scanner.weights]
            volatility = 0
            [rings]
            market_events = 4096
            [[placement]]
            stages = ["feed", "book", "edge", "gateway", "telemetry"]
            idle = "park"
            [telemetry]
            progress_interval_ms = 0
            [transport]
            silence_timeout_ms = 2000
            ping_interval_ms = 500
            pong_timeout_ms = 500
            backoff_base_ms = 10
        "#;
        let c = Config::from_toml(text, Path::new("t.toml"), 1).unwrap();
        assert_eq!(c.output_dir, PathBuf::from("out"));
        assert_eq!(c.basis.baseline_ticks, 10);
        assert_eq!(
            c.basis.tracker_threshold,
            crate::types::bps::Bps::from_num(8.5)
        );
        assert_eq!(c.placement.cores.len(), 1);
        assert_eq!(c.telemetry.progress_interval, None);
        let sim = c.simulator.unwrap();
        assert_eq!(sim.seed, 11);
        assert_eq!(
            sim.faults,
            [crate::sim::SimFault {
                connections: 2,
                ..crate::sim::SimFault::new(
                    Venue::Okx,
                    crate::types::MarketKind::Perp,
                    crate::sim::FaultAction::Delay(Duration::from_millis(30)),
                    1000,
                )
            }]
        );
        assert_eq!(c.transport.silence_timeout, Duration::from_secs(2));
        assert_eq!(c.transport.ping_interval, Some(Duration::from_millis(500)));
        assert_eq!(c.transport.backoff_base, Duration::from_millis(10));
        assert_eq!(c.transport.backoff_max, Duration::from_secs(30));
        assert_eq!(c.scanner.sizes_len, 2);
        assert_eq!(c.scanner.size_multiples[..2], [1, 3]);
        assert_eq!(c.scanner.expiry_ns, 500_000_000);
        assert_eq!(c.scanner.top_n, 3);
        assert_eq!(c.scanner.weights.0, [9, 8, 7, 6, 0, 5]);
    }

    #[test]
    fn test_okx_book_wait_simulator_forms_and_bad_checksum_fault() {
        let d = Config::from_toml("", Path::new("t.toml"), 2).unwrap();
        assert_eq!(d.book.stream_snapshot_wait, Duration::from_secs(1));
        let sim = d.simulator.unwrap();
        assert!(
            !sim.okx_snapshot_push && !sim.okx_checksums,
            "the 2026 form"
        );
        let text = r#"
            [book]
            stream_snapshot_wait_ms = 0
            [simulator]
            okx_snapshot_push = true
            okx_checksums = true
            [[simulator.faults]]
            venue = "okx"
            kind = "spot"
            action = "bad_checksum"
        "#;
        let c = Config::from_toml(text, Path::new("t.toml"), 2).unwrap();
        assert_eq!(c.book.stream_snapshot_wait, Duration::ZERO);
        let sim = c.simulator.unwrap();
        assert!(sim.okx_snapshot_push && sim.okx_checksums);
        assert_eq!(sim.faults[0].action, crate::sim::FaultAction::BadChecksum);
        for (text, key) in [
            (
                "[book]\nstream_snapshot_wait_ms = 60001\n",
                "book.stream_snapshot_wait_ms",
            ),
            (
                "[[simulator.faults]]\nvenue = \"bybit\"\nkind = \"spot\"\naction = \"bad_checksum\"\n",
                "simulator.faults[0]",
            ),
        ] {
            let e = Config::from_toml(text, Path::new("t.toml"), 2).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn test_dump_interval_default_zero_and_bound() {
        let c = Config::from_toml("", Path::new("t.toml"), 1).unwrap();
        assert_eq!(c.telemetry.dump_interval, Some(Duration::from_secs(60)));
        let only_final = "[telemetry]\ndump_interval_secs = 0\n";
        let c = Config::from_toml(only_final, Path::new("t.toml"), 1).unwrap();
        assert_eq!(c.telemetry.dump_interval, None);
        let e = err("[telemetry]\ndump_interval_secs = 86401\n");
        assert!(
            e.contains("telemetry.dump_interval_secs") && e.contains("86401"),
            "{e}"
        );
    }
}
