//! The built-in venue simulator: a server on 127.0.0.1 that speaks the real wire formats
//! of Binance, Bybit v5, OKX v5 and Hyperliquid (any number of spot and perp symbols per
//! venue, each its own book and price path) over WebSocket, and Binance's REST depth snapshot over HTTP on the same port,
//! deterministic for a seed; in TLS mode ([`SimConfig::tls`]) both are served over TLS
//! with a self-signed certificate made at start.
//!
//! It is the default venue the main job runs against (no network) and the venue tests
//! use. [`start`] binds the listener and spawns two threads, `sim-accept` (accepts
//! connections, one `sim-conn-*` thread each) and `sim-model` (steps the market model and
//! fans frames out through bounded queues); [`SimHandle`] exposes the URLs, the injected
//! dislocations and the frame count, and stops and joins everything.
//!
//! Endpoints: WebSocket `/{venue}/spot` and `/{venue}/perp` for each configured venue
//! (`binance`, `bybit`, `okx`, `hyperliquid`; [`SimHandle::url`]), `/ws/spot` and
//! `/ws/perp` as aliases of Binance's. Binance USD-M speaks the 2026 endpoint groups
//! (the venue's since 2026-04-23): `/binance/perp` is the root, `/binance/perp/public/ws`
//! serves `bookTicker` and `depth`, `/binance/perp/market/ws` serves `markPrice` and
//! `trade` ([`SimHandle::binance_perp_url`]), and the unrouted `/binance/perp` and
//! `/ws/perp` serve only the public streams, as the venue's unrouted `/ws` does; a
//! stream subscribed on a group that does not carry it is acknowledged and never sent.
//! REST `GET /api/v3/depth` and `GET /fapi/v1/depth` (Binance) and
//! `GET /api/v5/market/books` (OKX) on one base ([`SimHandle::rest_base`], which serves
//! as every market's REST base). OKX speaks its 2026 form by default: `books` checksums
//! 0 and no snapshot push, so its books start from the REST order book
//! ([`SimConfig::okx_snapshot_push`], [`SimConfig::okx_checksums`] bring back the older
//! forms). Each venue answers its own subscribe, unsubscribe and ping messages (see
//! `subscription`). The fault plan counts, on Binance USD-M, only the `/public`
//! connections (the book's). A Binance client over the venue's incoming message rate (5
//! a second on spot, 10 on USD-M) is disconnected, as on the venue.
//!
//! Cold path throughout: it allocates, within the bounds named in each module
//! (connections, queue lengths, write batches, record sizes).
//!
//! Modules, one job each: `rng` (seeded PRNG), `price` (common fair price, per-venue
//! offset, basis, dislocations), `book` (synthetic L2 books and update ids), `market`
//! (the steppable model of every venue), `venue` (one venue's markets and which frames
//! it sends), `text` (decimal printing), `binance_format`, `bybit_format`, `okx_format`,
//! `hyperliquid_format` (frame text, one per venue), `subscription` (requests per
//! venue), `hub` (state shared between threads, fan-out, snapshots), `runner` (the model
//! thread), `server` (accept loop), `connection` (one client), `rest` (HTTP), `tls`
//! (the TLS mode's certificate and each connection's byte stream).
//!
//! Determinism: for a given seed and venue start time, each market's frame sequence is
//! byte-identical from run to run, and a venue's does not depend on which other venues
//! are configured; the model counts steps and never reads the clock. The model clock
//! starts when every configured market has a subscribed connection (see `runner`).

mod binance_format;
mod book;
mod bybit_format;
mod connection;
mod fault;
mod hub;
mod hyperliquid_format;
mod market;
mod okx_format;
mod price;
mod rest;
mod rng;
mod runner;
mod server;
mod subscription;
mod text;
mod tls;
mod venue;

pub use fault::{FaultAction, SimFault};

use crate::types::{MarketKind, Price, Qty, Venue};
use connection::Routes;
use hub::{Shared, lock};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::Duration;
use tls::Identity;

use crate::runtime::clock;

/// Simulator configuration. Every field has a default (see [`SimConfig::default`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Seed of every random draw. Default 7.
    pub seed: u64,
    /// The simulated venues, at most one entry per venue. Default: Binance BTCUSDT spot
    /// and perp only ([`SimVenue::btc`]).
    pub venues: Vec<SimVenue>,
    /// Initial fair price of every base not in `start_prices`. Default 60000.
    pub start_price: Price,
    /// Initial fair price per base (`("ETH", 3000)`). Default none.
    pub start_prices: Vec<(String, Price)>,
    /// Model step: venue time advances by exactly one step per step. Default 1 ms;
    /// between 1 µs and 1 s.
    pub step: Duration,
    /// Mean sim time from the end of a dislocation to the start of the next, never less
    /// than 600 ms (600 ms plus an exponential gap). Default 1.5 s.
    pub dislocation_mean_interval: Duration,
    /// Smallest dislocation peak, bps. Default 10.
    pub dislocation_bps_min: u32,
    /// Largest dislocation peak, bps. Default 40.
    pub dislocation_bps_max: u32,
    /// Half-life of a dislocation's exponential decay. Default 150 ms.
    pub dislocation_half_life: Duration,
    /// TCP port on 127.0.0.1; 0 picks an ephemeral one. Default 0.
    pub port: u16,
    /// Faults injected on connections (see [`SimFault`]). Default none.
    pub faults: Vec<SimFault>,
    /// TLS mode: every endpoint (WebSocket and REST) speaks TLS with a self-signed
    /// certificate made at start ([`SimHandle::certificate_der`]). Default false.
    pub tls: bool,
    /// A burst of steps (the end-to-end benchmark's burst scenario). Default none.
    pub burst: Option<SimBurst>,
    /// OKX `books` pushes its snapshot to each new subscriber, as OKX did until it
    /// delisted the push (2026). Default false: books start from the REST order book.
    pub okx_snapshot_push: bool,
    /// OKX `books` messages carry their real CRC32 checksum, as before OKX deprecated it
    /// (June 2026). Default false: `checksum` is 0.
    pub okx_checksums: bool,
    /// Faults of the REST snapshot answers (Binance depth, OKX books), all markets
    /// together. Default none.
    pub rest_faults: RestFaults,
}

/// What goes wrong with the first REST answers: first `throttled` answers are `429`
/// with `Retry-After: 1`, then `cut` answers are `200` with half the body (invalid
/// JSON); every answer after them is the real snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestFaults {
    /// Answers refused as rate limited.
    pub throttled: u32,
    /// Answers whose body is cut in half.
    pub cut: u32,
}

/// A burst: from `after` (wall time since the model clock started) for `length`, steps
/// come `factor` times as often. Venue time still follows the wall clock (each step of
/// the burst advances it by `step / factor`), so venue delays stay meaningful.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimBurst {
    /// When it starts.
    pub after: Duration,
    /// How long it lasts.
    pub length: Duration,
    /// Steps per normal step during the burst (at least 1).
    pub factor: u32,
}

impl SimBurst {
    /// The wall time to the next step at `elapsed` since the model clock started, and
    /// how much venue time that step must be held back by.
    pub(crate) fn pace(self, elapsed: Duration, step: Duration) -> (Duration, Duration) {
        if elapsed < self.after || elapsed >= self.after + self.length {
            return (step, Duration::ZERO);
        }
        let fast = step / self.factor.max(1);
        (fast, step - fast)
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            venues: vec![SimVenue::btc(Venue::Binance)],
            start_price: Price::from_raw(60_000 * Price::SCALE),
            start_prices: Vec::new(),
            step: Duration::from_millis(1),
            dislocation_mean_interval: Duration::from_millis(1_500),
            dislocation_bps_min: 10,
            dislocation_bps_max: 40,
            dislocation_half_life: Duration::from_millis(150),
            port: 0,
            faults: Vec::new(),
            tls: false,
            burst: None,
            okx_snapshot_push: false,
            okx_checksums: false,
            rest_faults: RestFaults::default(),
        }
    }
}

/// One simulated venue: its markets, any number of symbols of each kind.
#[derive(Clone, Debug, PartialEq)]
pub struct SimVenue {
    /// The venue whose wire formats are spoken.
    pub venue: Venue,
    /// Its symbols, spot and perp, at most one of each kind per base, each with its own
    /// book and price path.
    pub markets: Vec<SimMarket>,
}

/// One simulated symbol of a venue.
#[derive(Clone, Debug, PartialEq)]
pub struct SimMarket {
    /// Spot or perp.
    pub kind: MarketKind,
    /// The symbol as the venue spells it (Binance `BTCUSDT`, Bybit `BTCUSDT`, OKX
    /// `BTC-USDT` / `BTC-USDT-SWAP`, Hyperliquid `@142` / `BTC`).
    pub symbol: String,
    /// The base asset: a venue's spot and perp of one base share its price model (basis,
    /// dislocations), and every venue's markets of one base follow one fair price path.
    pub base: String,
    /// Tick size.
    pub tick: Price,
}

impl SimVenue {
    /// The venue's BTC markets with their real symbols and ticks: Binance BTCUSDT
    /// (0.01 / 0.1), Bybit BTCUSDT (0.1 / 0.1), OKX BTC-USDT / BTC-USDT-SWAP (0.1 / 0.1),
    /// Hyperliquid `@142` (UBTC/USDC) / BTC (1 / 1).
    pub fn btc(venue: Venue) -> Self {
        let price = |raw_per_one: i128| Price::from_raw(Price::SCALE / raw_per_one);
        let (spot, perp, spot_tick, perp_tick) = match venue {
            Venue::Binance => ("BTCUSDT", "BTCUSDT", price(100), price(10)),
            Venue::Bybit => ("BTCUSDT", "BTCUSDT", price(10), price(10)),
            Venue::Okx => ("BTC-USDT", "BTC-USDT-SWAP", price(10), price(10)),
            Venue::Hyperliquid => ("@142", "BTC", price(1), price(1)),
        };
        let market = |kind, symbol: &str, tick| SimMarket {
            kind,
            symbol: symbol.to_owned(),
            base: "BTC".to_owned(),
            tick,
        };
        Self {
            venue,
            markets: vec![
                market(MarketKind::Spot, spot, spot_tick),
                market(MarketKind::Perp, perp, perp_tick),
            ],
        }
    }
}

/// Longest symbol accepted, bytes.
const SYMBOL_LEN_MAX: usize = 32;
/// Largest step: one second (the mark price cadence).
const STEP_MAX: Duration = Duration::from_secs(1);
/// Smallest ratio of the start price to a tick: keeps 20 levels far from zero.
const START_PRICE_TICKS_MIN: i64 = 1_000;
/// Most symbols of one kind on one venue (each connection keeps a state per symbol).
pub const SYMBOLS_PER_MARKET_MAX: usize = 512;
/// Largest dislocation peak accepted, bps (beyond, "dislocation" means a crash).
const DISLOCATION_BPS_LIMIT: u32 = 5_000;

impl SimConfig {
    /// Checks every field's range.
    pub(crate) fn validate(&self) -> Result<(), SimError> {
        let invalid = |why| Err(SimError::InvalidConfig(why));
        if self.venues.is_empty() {
            return invalid("at least one venue is needed");
        }
        for (i, venue) in self.venues.iter().enumerate() {
            if self.venues[..i].iter().any(|v| v.venue == venue.venue) {
                return invalid("each venue may be listed once");
            }
            self.validate_venue(venue)?;
        }
        let on_grid = |p: Price| p.raw() % PRICE_PER_RAW == 0;
        let prices = self.start_prices.iter().map(|(_, p)| *p);
        if std::iter::once(self.start_price)
            .chain(prices)
            .any(|p| p.raw() <= 0 || !on_grid(p))
        {
            return invalid("start prices must be positive multiples of 0.00000001");
        }
        if self.step.is_zero() || self.step > STEP_MAX || self.step.as_micros() == 0 {
            return invalid("step must be between 1 µs and 1 s");
        }
        if self.dislocation_bps_min > self.dislocation_bps_max
            || self.dislocation_bps_max > DISLOCATION_BPS_LIMIT
        {
            return invalid("need dislocation_bps_min <= dislocation_bps_max <= 5000");
        }
        if self.dislocation_half_life.is_zero() {
            return invalid("dislocation_half_life must be positive");
        }
        for fault in &self.faults {
            fault.check().map_err(SimError::InvalidConfig)?;
        }
        Ok(())
    }

    fn validate_venue(&self, venue: &SimVenue) -> Result<(), SimError> {
        let invalid = |why| Err(SimError::InvalidConfig(why));
        if venue.markets.is_empty() {
            return invalid("a venue needs at least one market");
        }
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let count = venue.markets.iter().filter(|m| m.kind == kind).count();
            if count > SYMBOLS_PER_MARKET_MAX {
                return invalid("at most 512 symbols of a kind per venue");
            }
        }
        let on_grid = |p: Price| p.raw() % PRICE_PER_RAW == 0;
        let symbol_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= SYMBOL_LEN_MAX
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'@' || b == b'_')
        };
        for (i, market) in venue.markets.iter().enumerate() {
            let earlier = &venue.markets[..i];
            if earlier.iter().any(|m| {
                m.kind == market.kind && (m.symbol == market.symbol || m.base == market.base)
            }) {
                return invalid(
                    "each symbol, and each base per kind, may be listed once per venue",
                );
            }
            if market.tick.raw() <= 0 || !on_grid(market.tick) {
                return invalid("ticks must be positive multiples of 0.00000001");
            }
            if self.base_price(&market.base).raw() / market.tick.raw()
                < i128::from(START_PRICE_TICKS_MIN)
            {
                return invalid("a base's start price must be at least 1000 ticks");
            }
            if !symbol_ok(&market.symbol) || !symbol_ok(&market.base) {
                return invalid(
                    "symbols and bases must be 1 to 32 ASCII letters, digits, '-', '@' or '_'",
                );
            }
        }
        Ok(())
    }

    /// The start price of `base`: its entry in `start_prices`, else `start_price`.
    pub(crate) fn base_price(&self, base: &str) -> Price {
        self.start_prices
            .iter()
            .find(|(b, _)| b == base)
            .map_or(self.start_price, |(_, p)| *p)
    }

    /// The step in whole microseconds.
    pub(crate) fn step_us(&self) -> Result<u64, SimError> {
        u64::try_from(self.step.as_micros())
            .map_err(|_| SimError::InvalidConfig("step must be between 1 µs and 1 s"))
    }
}

/// Which leg of the basis a dislocation moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimLeg {
    /// The perp price jumped; spot stayed on the fair price.
    Perp,
    /// The spot price jumped; the perp stayed on its normal basis.
    Spot,
}

/// One injected dislocation, as recorded by the simulator.
#[derive(Clone, Debug, PartialEq)]
pub struct Dislocation {
    /// Venue time (the `E` value) of the first step with the dislocation, unix ms.
    pub start_ms: u64,
    /// Venue time when its excess over the normal basis fell below 1 bps, or when the
    /// simulator stopped if it was still active; equal to `start_ms` while active.
    pub end_ms: u64,
    /// The perp premium over spot (mid to mid) at its first step, bps, signed:
    /// positive means perp rich vs spot (`perp_bid - spot_ask` grows), negative perp
    /// cheap (`spot_bid - perp_ask` grows). Its magnitude is within
    /// `[dislocation_bps_min, dislocation_bps_max]`.
    pub peak_bps: f64,
    /// The leg that moved.
    pub leg: SimLeg,
    /// The venue whose spot and perp were dislocated (the others stayed on the fair
    /// price).
    pub venue: Venue,
    /// The base whose spot and perp were dislocated on that venue.
    pub base: String,
}

/// Why the simulator could not start. Each variant says what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A [`SimConfig`] field is out of range: fix the configuration.
    #[error("invalid simulator configuration: {0}")]
    InvalidConfig(&'static str),
    /// The port could not be bound (in use?): pick another port, or 0.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The bound socket could not be configured: an OS problem, retry or report.
    #[error("simulator socket setup failed: {0}")]
    Socket(io::Error),
    /// A simulator thread could not be spawned (thread or memory limits reached).
    #[error("cannot spawn simulator thread: {0}")]
    Spawn(io::Error),
    /// The TLS mode's certificate could not be made: a crypto provider problem, report it.
    #[error("simulator TLS certificate: {0}")]
    Tls(String),
}

/// Longest [`SimHandle::pause`] and [`SimHandle::book`] wait for the model.
pub const PAUSE_TIMEOUT: Duration = Duration::from_secs(5);
/// `Price` raw units per simulator raw unit (10^-8).
const PRICE_PER_RAW: i128 = Price::SCALE / 100_000_000;
const _: () = assert!(
    Qty::SCALE == 100_000_000,
    "simulator quantities are raw 10^-8"
);

/// One market's book in the simulator's model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimBook {
    /// Bids, best (highest) first.
    pub bids: Vec<(Price, Qty)>,
    /// Asks, best (lowest) first.
    pub asks: Vec<(Price, Qty)>,
}

/// A running simulator. Dropping it stops it, like [`SimHandle::stop`].
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    identity: Option<Identity>,
    routes: Routes,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// The listening address (127.0.0.1 and the bound port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws` or `wss` (TLS mode).
    fn ws_scheme(&self) -> &'static str {
        if self.identity.is_some() { "wss" } else { "ws" }
    }

    /// Binance's spot market URL: `ws://127.0.0.1:PORT/ws/spot` (`wss://` in TLS mode).
    pub fn spot_url(&self) -> String {
        format!("{}://{}/ws/spot", self.ws_scheme(), self.addr)
    }

    /// Binance's legacy unrouted perp URL: `ws://127.0.0.1:PORT/ws/perp` (`wss://` in
    /// TLS mode), which serves only the `/public` streams, like the venue's `/ws`.
    pub fn perp_url(&self) -> String {
        format!("{}://{}/ws/perp", self.ws_scheme(), self.addr)
    }

    /// Binance USD-M's endpoint of one group (`"public"` or `"market"`):
    /// `ws://127.0.0.1:PORT/binance/perp/{group}/ws`.
    pub fn binance_perp_url(&self, group: &str) -> String {
        format!("{}/{group}/ws", self.url(Venue::Binance, MarketKind::Perp))
    }

    /// A market's WebSocket URL: `ws://127.0.0.1:PORT/{venue}/{spot|perp}` (`wss://` in
    /// TLS mode; connecting fails with a 404 if the venue is not configured). For
    /// Binance perp it is the USD-M root: the pipeline appends each group's path.
    pub fn url(&self, venue: Venue, kind: MarketKind) -> String {
        let (scheme, addr) = (self.ws_scheme(), self.addr);
        format!("{scheme}://{addr}/{}/{}", venue.name(), kind.name())
    }

    /// The REST base URL, `http://127.0.0.1:PORT` (`https://` in TLS mode; Binance's
    /// `/api/v3/depth` and `/fapi/v1/depth` live under it).
    pub fn rest_base(&self) -> String {
        let scheme = if self.identity.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// TLS mode: the self-signed certificate every endpoint presents (DER), for clients
    /// to trust (`Transport::trust_root`); `None` without TLS.
    pub fn certificate_der(&self) -> Option<&[u8]> {
        self.identity.as_ref().map(|i| i.cert_der.as_slice())
    }

    /// TLS mode: the same certificate, PEM (for `[transport] extra_root_cert`).
    pub fn certificate_pem(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.cert_pem.as_str())
    }

    /// Every dislocation injected so far, in order (the last may still be active).
    pub fn dislocations(&self) -> Vec<Dislocation> {
        lock(&self.shared.dislocations).clone()
    }

    /// Frames written to client sockets so far, all connections together.
    pub fn frames_sent(&self) -> u64 {
        self.shared.frames_sent.load(Ordering::Relaxed)
    }

    /// Stops the model at the next step after which every market's depth message went
    /// out (so the books clients hold can equal the model's), and waits until it has;
    /// `false` if that took over [`PAUSE_TIMEOUT`] (the model may not have started: it
    /// waits for a subscriber on every market). Frames already queued still go out.
    pub fn pause(&self) -> bool {
        self.shared.pause_requested.store(true, Ordering::Release);
        let deadline = clock::monotonic_now() + PAUSE_TIMEOUT;
        while !self.shared.paused.load(Ordering::Acquire) {
            if clock::monotonic_now() >= deadline {
                return false;
            }
            clock::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Lets the model step again after [`SimHandle::pause`].
    pub fn resume(&self) {
        self.shared.pause_requested.store(false, Ordering::Release);
    }

    /// A symbol's current book in the model, best levels first (exactly what clients
    /// were sent while paused); `None` if the symbol is not simulated (`symbol` as
    /// configured or as the venue prints it) or the model did not answer within
    /// [`PAUSE_TIMEOUT`].
    pub fn book(&self, venue: Venue, kind: MarketKind, symbol: &str) -> Option<SimBook> {
        let listing = self
            .routes
            .listing(market::Market { venue, kind }, symbol)?;
        let rx = self.shared.request_book(listing)?;
        let (bids, asks) = rx.recv_timeout(PAUSE_TIMEOUT).ok()??;
        let levels = |side: Vec<(i64, i64)>| {
            side.into_iter()
                .map(|(p, q)| {
                    (
                        Price::from_raw(i128::from(p) * PRICE_PER_RAW),
                        Qty::from_raw(i128::from(q)),
                    )
                })
                .collect()
        };
        Some(SimBook {
            bids: levels(bids),
            asks: levels(asks),
        })
    }

    /// Stops every simulator thread and joins them (connections get a close frame);
    /// returns every dislocation injected, the last one closed at the final step.
    pub fn stop(mut self) -> Vec<Dislocation> {
        self.shutdown();
        self.dislocations()
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for handle in self.threads.drain(..) {
            if handle.join().is_err() {
                log::warn!("sim: a simulator thread panicked");
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the simulator: binds `127.0.0.1:config.port` and spawns its threads. The
/// model clock starts once every configured market has a subscribed connection.
pub fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    config.validate()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
    let listener = TcpListener::bind(addr).map_err(|source| SimError::Bind { addr, source })?;
    listener.set_nonblocking(true).map_err(SimError::Socket)?;
    let addr = listener.local_addr().map_err(SimError::Socket)?;
    let tls = config.tls;
    let identity = if tls {
        Some(Identity::generate()?)
    } else {
        None
    };
    let shared = Arc::new(
        Shared::with_faults(config.faults.clone())
            .with_okx_snapshot_push(config.okx_snapshot_push)
            .with_rest_faults(config.rest_faults),
    );
    let routes = Routes::new(&config.venues);
    let mut handle = SimHandle {
        addr,
        identity: identity.clone(),
        routes: routes.clone(),
        shared: Arc::clone(&shared),
        threads: Vec::with_capacity(2),
    };
    let listings = routes.listings();
    let accept_shared = Arc::clone(&shared);
    handle.threads.push(spawn("sim-accept", move || {
        server::run_accept(&listener, &accept_shared, &routes, identity.as_ref());
    })?);
    handle.threads.push(spawn("sim-model", move || {
        runner::run_model(&config, &shared, &listings)
    })?);
    log::info!(
        "sim: listening on {addr}{}",
        if tls { " (TLS)" } else { "" }
    );
    Ok(handle)
}

/// Spawns a named simulator thread (on error the handle being built stops the others).
fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, SimError> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .map_err(SimError::Spawn)
}

#[cfg(test)]
mod tests;
