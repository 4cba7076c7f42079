//! The configuration file as written: TOML deserialised with serde, unknown keys
//! rejected, every field optional with its default documented here. Cold path only.
//! [`crate::config::resolve`] turns this into the validated [`crate::config::Config`].

use serde::Deserialize;

/// Top level of the TOML file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Folder for the database, `.hgrm` files and reports (default `edgeline-out`).
    pub output_dir: Option<String>,
    /// Run length in seconds (default 30; `--duration` overrides).
    pub duration_secs: Option<u64>,
    /// The built-in venue simulator.
    pub simulator: Option<RawSimulator>,
    /// Venue endpoints.
    #[serde(default)]
    pub venues: Vec<RawVenue>,
    /// Instruments (default: Binance BTCUSDT spot and perp).
    #[serde(default)]
    pub instruments: Vec<RawInstrument>,
    /// Order book sizing.
    pub book: Option<RawBook>,
    /// Basis tracker thresholds and costs.
    pub basis: Option<RawBasis>,
    /// Cross-venue spread scanner.
    pub scanner: Option<RawScanner>,
    /// Ring sizes.
    pub rings: Option<RawRings>,
    /// Which core runs which stages (default: hot path on core 0, telemetry on core 1).
    #[serde(default)]
    pub placement: Vec<RawCorePlan>,
    /// Refuse to start when a stage core is missing, not isolated, or shares an SMT
    /// sibling with another stage (default false: warn and run).
    pub strict_placement: Option<bool>,
    /// Telemetry sidecar.
    pub telemetry: Option<RawTelemetry>,
    /// Telegram bot (token from the environment).
    pub telegram: Option<RawTelegram>,
    /// Prometheus metrics endpoint.
    pub metrics: Option<RawMetrics>,
    /// The database (SQLite or PostgreSQL) and its spool.
    pub database: Option<RawDatabase>,
    /// Venue connections: timeouts, heartbeats, reconnect backoff, buffers.
    pub transport: Option<RawTransport>,
    /// Paper trading: risk limits, sizing, the paper venue, execution, exits.
    pub gateway: Option<crate::config::gateway::RawGateway>,
    /// Recording of every received frame.
    pub record: Option<RawRecord>,
    /// Telemetry over NATS JetStream.
    pub nats: Option<crate::config::nats::RawNats>,
}

/// `[record]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecord {
    /// Record every frame (default false; `run --record` turns it on).
    pub enabled: Option<bool>,
    /// Folder of the recordings (default `recordings`).
    pub dir: Option<String>,
    /// File size that starts a new file, bytes (default 1 GiB).
    pub rotate_bytes: Option<u64>,
    /// Receive time a file spans before a new one starts, seconds (default 3600).
    pub rotate_secs: Option<u64>,
    /// Uncompressed bytes per block (default 262144).
    pub block_bytes: Option<usize>,
    /// Longest a frame waits before its block is written, ms (default 1000).
    pub flush_interval_ms: Option<u64>,
    /// Bytes of the ring between the feed thread and the recorder (default 64 MiB).
    pub ring_bytes: Option<usize>,
}

/// `[transport]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTransport {
    /// Longest a TCP connect plus WebSocket handshake may take, ms (default 10000).
    pub connect_timeout_ms: Option<u64>,
    /// A connection that received nothing for this long is dead, ms (default 40000).
    pub silence_timeout_ms: Option<u64>,
    /// A venue ping unanswered for this long is a dead connection, ms (default 10000).
    pub pong_timeout_ms: Option<u64>,
    /// Overrides every venue's own ping interval, ms (default: OKX and Bybit 20000,
    /// Hyperliquid 25000; Binance pings us instead).
    pub ping_interval_ms: Option<u64>,
    /// First reconnect delay, ms (default 250), doubled per failed attempt, with jitter.
    pub backoff_base_ms: Option<u64>,
    /// Longest reconnect delay, ms (default 30000).
    pub backoff_max_ms: Option<u64>,
    /// WebSocket read buffer per connection, bytes (default 131072).
    pub receive_buffer_bytes: Option<usize>,
    /// Largest frame or message accepted, bytes (default 4194304); a larger one ends the
    /// connection.
    pub message_bytes_max: Option<usize>,
    /// A PEM file of root certificates trusted for `wss://` and `https://` besides the
    /// bundled webpki roots (a private gateway; default none). Relative to the working
    /// directory.
    pub extra_root_cert: Option<String>,
}

/// `[simulator]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimulator {
    /// Run the built-in simulator and point every venue without a URL at it (default true).
    pub enabled: Option<bool>,
    /// Seed of the simulated market (default 7).
    pub seed: Option<u64>,
    /// Port on 127.0.0.1 (default 0: any free port).
    pub port: Option<u16>,
    /// Mean time between basis dislocations, ms (default 1500).
    pub dislocation_mean_interval_ms: Option<u64>,
    /// Model step in µs (default 1000): one perp top of book per step, a spot one when
    /// the spot touch moved, depth every 100 ms.
    pub step_us: Option<u64>,
    /// Faults injected on the simulator's connections (default none).
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// Serve every endpoint over TLS with a self-signed certificate made at start, which
    /// the client then trusts (default false).
    pub tls: Option<bool>,
    /// OKX `books` pushes its snapshot to each new subscriber, as before OKX delisted it
    /// (default false: OKX's 2026 form, books start from the REST order book).
    pub okx_snapshot_push: Option<bool>,
    /// OKX `books` carry real CRC32 checksums, as before OKX deprecated them in June 2026
    /// (default false: `checksum` 0).
    pub okx_checksums: Option<bool>,
    /// Start price per base, a decimal string (`{ ETH = "3000" }`); other bases start at
    /// 60000.
    #[serde(default)]
    pub start_prices: std::collections::BTreeMap<String, String>,
}

/// `[[simulator.faults]]`: one fault of the simulator's fault plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// Venue name.
    pub venue: String,
    /// `spot` or `perp`.
    pub kind: String,
    /// `close`, `stall`, `garbage`, `truncate`, `oversize`, `skip_sequence`,
    /// `bad_checksum` (OKX), `delay` or `refuse_handshake`.
    pub action: String,
    /// Data frames sent on the connection before the fault (default 1000).
    pub after_frames: Option<u64>,
    /// Connections to the market it hits (default 1).
    pub connections: Option<u32>,
    /// The first connection it hits, counting from 0 (default 0).
    pub first_connection: Option<u32>,
    /// `delay`: ms added to every frame.
    pub delay_ms: Option<u64>,
    /// `oversize`: the frame's size in bytes.
    pub bytes: Option<usize>,
}

/// `[[venues]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVenue {
    /// Venue name: `binance`, `bybit`, `okx` or `hyperliquid`.
    pub name: String,
    /// Spot WebSocket URL (default: the simulator's).
    pub spot_url: Option<String>,
    /// Perp WebSocket URL (default: the simulator's). Binance: the USD-M root
    /// (`wss://fstream.binance.com`), under which the `/public/ws` and `/market/ws`
    /// connections are opened.
    pub perp_url: Option<String>,
    /// REST base URL for both markets' depth snapshots (Binance's depth, OKX's order book;
    /// default: the simulator's, or for OKX reached live `https://www.okx.com`; Binance:
    /// the older key, the per-market keys below win where set).
    pub rest_url: Option<String>,
    /// REST base URL for spot depth snapshots (Binance `/api/v3/depth`; default:
    /// `rest_url`, else the simulator's).
    pub spot_rest_url: Option<String>,
    /// REST base URL for perp depth snapshots (Binance `/fapi/v1/depth`; default:
    /// `rest_url`, else the simulator's).
    pub perp_rest_url: Option<String>,
    /// Where the top of book comes from: `stream` (the venue's top-of-book channel) or
    /// `book` (the best levels after each depth message). Default: `stream` where the
    /// venue has one (Binance, OKX, Hyperliquid), `book` for Bybit.
    pub top_of_book: Option<String>,
    /// Fees in bps (defaults: each venue's public base tier, see README).
    pub spot_maker_fee_bps: Option<f64>,
    /// Spot taker fee, bps.
    pub spot_taker_fee_bps: Option<f64>,
    /// Perp maker fee, bps.
    pub perp_maker_fee_bps: Option<f64>,
    /// Perp taker fee, bps.
    pub perp_taker_fee_bps: Option<f64>,
    /// A venue whose events arrive more than this many ms after their venue time is
    /// flagged stale (default 200).
    pub stale_after_ms: Option<u64>,
    /// Binance: a connection is replaced, make before break, this long after it opened
    /// (default 82800000, 23 h: the venue closes connections at 24 h; 0: never).
    pub connection_lifetime_ms: Option<u64>,
    /// An instrument's stream silent for longer than 20 of its usual gaps is stale;
    /// that limit is never below this many ms (default 500).
    pub silence_floor_ms: Option<u64>,
    /// ... and never above this many ms (default 10000).
    pub silence_ceiling_ms: Option<u64>,
}

/// `[[instruments]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstrument {
    /// Venue name.
    pub venue: String,
    /// `spot` or `perp`.
    pub kind: String,
    /// Wire symbol (`BTCUSDT`).
    pub symbol: String,
    /// Base asset (`BTC`): spot and perp of the same base on a venue form a basis pair.
    pub base: String,
    /// Tick size as a decimal string.
    pub tick_size: String,
    /// Lot size as a decimal string.
    pub lot_size: String,
    /// Minimum notional as a decimal string (default "0").
    pub min_notional: Option<String>,
    /// Base units per contract, as a decimal string (default "1": quantities in base).
    pub contract_size: Option<String>,
}

/// `[book]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBook {
    /// Levels per side of each L2 book (default 5000: Binance's deepest snapshot; about
    /// 160 KiB per instrument).
    pub levels_max: Option<usize>,
    /// Depth published to the edge stage: quote value within this many bps of the touch
    /// (default 10).
    pub tracked_depth_bps: Option<f64>,
    /// Events a Binance or OKX book buffers while it waits for its snapshot (default
    /// 16384).
    pub resync_buffer_events: Option<usize>,
    /// How long an OKX book waits for the venue's snapshot push before it asks for the
    /// REST book, ms (default 1000; 0: at once).
    pub stream_snapshot_wait_ms: Option<u64>,
}

/// `[basis]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBasis {
    /// Ticks in the rolling baseline (default 20).
    pub baseline_ticks: Option<usize>,
    /// Record edges at or above this, bps (default 10).
    pub tracker_threshold_bps: Option<f64>,
    /// Trading threshold, bps (default 20).
    pub trade_threshold_bps: Option<f64>,
    /// Cost of IOC on both legs, bps (default 18.2).
    pub cost_ioc_both_bps: Option<f64>,
    /// Cost of IOC perp + post-only spot, bps (default 14.0).
    pub cost_ioc_perp_alo_spot_bps: Option<f64>,
    /// Cost of post-only on both legs, bps (default 11.0).
    pub cost_alo_both_bps: Option<f64>,
    /// Lifetime of a basis order intent, ms (default 2000).
    pub intent_expiry_ms: Option<u64>,
}

/// `[scanner]`: the cross-venue spread scanner.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScanner {
    /// Run the scanner (default true).
    pub enabled: Option<bool>,
    /// Order sizes as multiples of the larger minimum notional of the two venues
    /// (default [1, 2, 5, 10]; 1 to 8 entries, each at least 1).
    pub size_multiples: Option<Vec<u32>>,
    /// Slippage per leg at zero size, bps (default 2).
    pub slippage_base_bps: Option<f64>,
    /// Slippage added per unit of size / tracked depth, bps (default 3).
    pub slippage_per_depth_bps: Option<f64>,
    /// Slippage cap per leg, bps (default 5).
    pub slippage_cap_bps: Option<f64>,
    /// Confidence weights.
    pub weights: Option<RawWeights>,
    /// Lifetime of a signal, ms (default 2000).
    pub expiry_ms: Option<u64>,
    /// Lowest funding delta of a perp pair, bps per interval (default -2).
    pub funding_delta_min_bps: Option<f64>,
    /// Best opportunities kept for status views (default 10).
    pub top_n: Option<usize>,
    /// Record a size at or above this net edge, bps (default 0.5).
    pub record_threshold_bps: Option<f64>,
    /// Trade at or above this net edge, bps (default 5).
    pub trade_threshold_bps: Option<f64>,
    /// Trade at or above this confidence, 0..=100 (default 50).
    pub confidence_min: Option<u8>,
    /// Venue delay above which confidence is reduced, ms (default 200).
    pub soft_delay_ms: Option<u32>,
    /// Confidence points taken per venue between the soft and the stale limit
    /// (default 30).
    pub stale_penalty_points: Option<u8>,
}

/// `[scanner.weights]`: weight of each soft metric in the confidence score.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeights {
    /// Funding delta (default 9).
    pub funding_delta: Option<u16>,
    /// Book imbalance (default 8).
    pub book_imbalance: Option<u16>,
    /// Open interest (default 7).
    pub open_interest: Option<u16>,
    /// VWAP deviation (default 6).
    pub vwap_deviation: Option<u16>,
    /// Volatility (default 5).
    pub volatility: Option<u16>,
    /// Liquidation distance (default 5).
    pub liquidation_distance: Option<u16>,
}

/// `[rings]`: slots of each SPSC ring (rounded by nothing: exactly this many).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRings {
    /// feed → book (default 16384 events: ~1 MiB).
    pub market_events: Option<usize>,
    /// book → edge (default 4096 updates).
    pub book_updates: Option<usize>,
    /// edge → telemetry opportunity records (default 16384).
    pub opportunities: Option<usize>,
    /// edge → telemetry spread scanner records (default 4096: ~4 MiB, a record holds
    /// every size of an opportunity).
    pub spread_records: Option<usize>,
    /// each stage → telemetry latency samples (default 65536: ~1.5 MiB per stage).
    pub latency_samples: Option<usize>,
    /// Largest number of events one frame may decode into (default 2048).
    pub events_per_frame_max: Option<usize>,
    /// edge → gateway order intents (default 1024).
    pub intents: Option<usize>,
    /// gateway → telemetry orders, fills, leg-outs and trades (default 16384).
    pub gateway_records: Option<usize>,
}

/// `[[placement]]`: one thread.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorePlan {
    /// Core to pin to (omit to leave the thread unpinned).
    pub core: Option<usize>,
    /// Stage names: `feed`, `book`, `edge`, `telemetry`.
    pub stages: Vec<String>,
    /// `spin`, `spin-then-yield` or `park` (default spin-then-yield).
    pub idle: Option<String>,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// Progress line interval, ms (default 1000; 0 disables).
    pub progress_interval_ms: Option<u64>,
    /// Latency dump interval, s (default 60; 0: only the final dump at exit).
    pub dump_interval_secs: Option<u64>,
    /// Old name of `database.batch_rows` (still accepted).
    pub db_batch_rows: Option<usize>,
    /// Old name of `database.flush_interval_ms` (still accepted).
    pub db_flush_interval_ms: Option<u64>,
}

/// `[telegram]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelegram {
    /// Run the bot (default false). The token comes from `EDGELINE_TELEGRAM_TOKEN`.
    pub enabled: Option<bool>,
    /// Bot API base URL (default `https://api.telegram.org`).
    pub base_url: Option<String>,
    /// Chats allowed to command the bot; alerts go to all of them.
    #[serde(default)]
    pub chat_ids: Vec<i64>,
    /// Long-poll timeout, seconds (default 25).
    pub poll_timeout_secs: Option<u64>,
    /// Alert when a venue has been stale this many seconds (default 60).
    pub stale_alert_secs: Option<u64>,
}

/// `[metrics]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// Serve `GET /metrics` (default false).
    pub enabled: Option<bool>,
    /// Listen address (default `127.0.0.1:9108`).
    pub listen: Option<String>,
}

/// `[database]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// `postgres://user@host:port/dbname` (password from `EDGELINE_PG_PASSWORD`, or the
    /// URL's own), or a SQLite file path (default: `opportunities.sqlite` in the output
    /// folder).
    pub url: Option<String>,
    /// Rows per transaction (default 512, at most 65536).
    pub batch_rows: Option<usize>,
    /// Longest a row waits before its batch is written, ms (default 100; also the first
    /// retry delay while the database is away).
    pub flush_interval_ms: Option<u64>,
    /// Where rows wait while the database is away (default: `spool/` in the output
    /// folder).
    pub spool_dir: Option<String>,
    /// Spool bound in bytes (default 1 GiB, at least 1 MiB); rows beyond it are dropped
    /// and counted.
    pub spool_max_bytes: Option<u64>,
    /// Longest a PostgreSQL connect or batch may go unanswered before its rows are
    /// spooled, ms (default 2000).
    pub write_timeout_ms: Option<u64>,
}
