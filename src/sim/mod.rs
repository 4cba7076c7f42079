//! The built-in venue simulator: a server on 127.0.0.1 that speaks the real wire formats
//! of Binance, Bybit v5, OKX v5 and Hyperliquid (spot and perp of one coin per venue)
//! over WebSocket, and Binance's REST depth snapshot over plain HTTP on the same port,
//! deterministic for a seed.
//!
//! It is the default venue the main job runs against (no network) and the venue tests
//! use. [`start`] binds the listener and spawns two threads, `sim-accept` (accepts
//! connections, one `sim-conn-*` thread each) and `sim-model` (steps the market model and
//! fans frames out through bounded queues); [`SimHandle`] exposes the URLs, the injected
//! dislocations and the frame count, and stops and joins everything.
//!
//! Endpoints: WebSocket `/{venue}/spot` and `/{venue}/perp` for each configured venue
//! (`binance`, `bybit`, `okx`, `hyperliquid`; [`SimHandle::url`]), `/ws/spot` and
//! `/ws/perp` as aliases of Binance's; REST `GET /api/v3/depth` and `GET /fapi/v1/depth`
//! ([`SimHandle::rest_base`]). Each venue answers its own subscribe, unsubscribe and ping
//! messages (see `subscription`).
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
//! thread), `server` (accept loop), `connection` (one client), `rest` (plain HTTP).
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

use crate::runtime::clock;

/// Simulator configuration. Every field has a default (see [`SimConfig::default`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Seed of every random draw. Default 7.
    pub seed: u64,
    /// The simulated venues, each with a spot and a perp market, at most one per venue.
    /// Default: Binance BTCUSDT only ([`SimVenue::btc`]).
    pub venues: Vec<SimVenue>,
    /// Initial fair price, common to every venue. Default 60000.
    pub start_price: Price,
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
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            venues: vec![SimVenue::btc(Venue::Binance)],
            start_price: Price::from_raw(60_000 * Price::SCALE),
            step: Duration::from_millis(1),
            dislocation_mean_interval: Duration::from_millis(1_500),
            dislocation_bps_min: 10,
            dislocation_bps_max: 40,
            dislocation_half_life: Duration::from_millis(150),
            port: 0,
            faults: Vec::new(),
        }
    }
}

/// One simulated venue: its spot and perp markets.
#[derive(Clone, Debug, PartialEq)]
pub struct SimVenue {
    /// The venue whose wire formats are spoken.
    pub venue: Venue,
    /// Spot symbol as the venue spells it (Binance `BTCUSDT`, Bybit `BTCUSDT`, OKX
    /// `BTC-USDT`, Hyperliquid `@142`).
    pub spot_symbol: String,
    /// Perp symbol (Binance `BTCUSDT`, Bybit `BTCUSDT`, OKX `BTC-USDT-SWAP`,
    /// Hyperliquid `BTC`).
    pub perp_symbol: String,
    /// Spot tick size.
    pub spot_tick: Price,
    /// Perp tick size.
    pub perp_tick: Price,
}

impl SimVenue {
    /// The venue's BTC markets with their real symbols and ticks: Binance BTCUSDT
    /// (0.01 / 0.1), Bybit BTCUSDT (0.1 / 0.1), OKX BTC-USDT / BTC-USDT-SWAP (0.1 / 0.1),
    /// Hyperliquid `@142` (UBTC/USDC) / BTC (1 / 1).
    pub fn btc(venue: Venue) -> Self {
        let price = |raw_per_one: i64| Price::from_raw(Price::SCALE / raw_per_one);
        let (spot, perp, spot_tick, perp_tick) = match venue {
            Venue::Binance => ("BTCUSDT", "BTCUSDT", price(100), price(10)),
            Venue::Bybit => ("BTCUSDT", "BTCUSDT", price(10), price(10)),
            Venue::Okx => ("BTC-USDT", "BTC-USDT-SWAP", price(10), price(10)),
            Venue::Hyperliquid => ("@142", "BTC", price(1), price(1)),
        };
        Self {
            venue,
            spot_symbol: spot.to_owned(),
            perp_symbol: perp.to_owned(),
            spot_tick,
            perp_tick,
        }
    }
}

/// Longest symbol accepted, bytes.
const SYMBOL_LEN_MAX: usize = 32;
/// Largest step: one second (the mark price cadence).
const STEP_MAX: Duration = Duration::from_secs(1);
/// Smallest ratio of the start price to a tick: keeps 20 levels far from zero.
const START_PRICE_TICKS_MIN: i64 = 1_000;
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
        let on_grid = |p: Price| p.raw() % (Price::SCALE / text::SCALE) == 0;
        if !on_grid(self.start_price) {
            return invalid("the start price must be a multiple of 0.00000001");
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
        let (spot, perp) = (venue.spot_tick, venue.perp_tick);
        if spot.raw() <= 0 || perp.raw() <= 0 {
            return invalid("ticks must be positive");
        }
        let on_grid = |p: Price| p.raw() % (Price::SCALE / text::SCALE) == 0;
        if !on_grid(spot) || !on_grid(perp) {
            return invalid("ticks must be multiples of 0.00000001");
        }
        if self.start_price.raw() / spot.raw().max(perp.raw()) < START_PRICE_TICKS_MIN {
            return invalid("start_price must be at least 1000 ticks");
        }
        let symbol_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= SYMBOL_LEN_MAX
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'@' || b == b'_')
        };
        if !symbol_ok(&venue.spot_symbol) || !symbol_ok(&venue.perp_symbol) {
            return invalid("symbols must be 1 to 32 ASCII letters, digits, '-', '@' or '_'");
        }
        Ok(())
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
}

/// Longest [`SimHandle::pause`] and [`SimHandle::book`] wait for the model.
pub const PAUSE_TIMEOUT: Duration = Duration::from_secs(5);
/// `Price` raw units per simulator raw unit (10^-8).
const PRICE_PER_RAW: i64 = Price::SCALE / 100_000_000;
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
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// The listening address (127.0.0.1 and the bound port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Binance's spot market URL: `ws://127.0.0.1:PORT/ws/spot`.
    pub fn spot_url(&self) -> String {
        format!("ws://{}/ws/spot", self.addr)
    }

    /// Binance's perp market URL: `ws://127.0.0.1:PORT/ws/perp`.
    pub fn perp_url(&self) -> String {
        format!("ws://{}/ws/perp", self.addr)
    }

    /// A market's WebSocket URL: `ws://127.0.0.1:PORT/{venue}/{spot|perp}` (connecting
    /// fails with a 404 if the venue is not configured).
    pub fn url(&self, venue: Venue, kind: MarketKind) -> String {
        format!("ws://{}/{}/{}", self.addr, venue.name(), kind.name())
    }

    /// The REST base URL, `http://127.0.0.1:PORT` (Binance's `/api/v3/depth` and
    /// `/fapi/v1/depth` live under it).
    pub fn rest_base(&self) -> String {
        format!("http://{}", self.addr)
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

    /// A market's current book in the model, best levels first (exactly what clients
    /// were sent while paused); `None` if the market is not simulated or the model did
    /// not answer within [`PAUSE_TIMEOUT`].
    pub fn book(&self, venue: Venue, kind: MarketKind) -> Option<SimBook> {
        let rx = self.shared.request_book(market::Market { venue, kind })?;
        let (bids, asks) = rx.recv_timeout(PAUSE_TIMEOUT).ok()??;
        let levels = |side: Vec<(i64, i64)>| {
            side.into_iter()
                .map(|(p, q)| (Price::from_raw(p * PRICE_PER_RAW), Qty::from_raw(q)))
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
    let shared = Arc::new(Shared::with_faults(config.faults.clone()));
    let mut handle = SimHandle {
        addr,
        shared: Arc::clone(&shared),
        threads: Vec::with_capacity(2),
    };
    let routes = Routes::new(&config.venues);
    let markets = routes.markets();
    let accept_shared = Arc::clone(&shared);
    handle.threads.push(spawn("sim-accept", move || {
        server::run_accept(&listener, &accept_shared, &routes);
    })?);
    handle.threads.push(spawn("sim-model", move || {
        runner::run_model(&config, &shared, &markets)
    })?);
    log::info!("sim: listening on {addr}");
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
