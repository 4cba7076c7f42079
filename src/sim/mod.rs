//! The built-in venue simulator: a WebSocket server on 127.0.0.1 that speaks Binance's
//! real wire formats (spot and USD-M futures) for one coin, deterministic for a seed.
//!
//! It is the default venue the main job runs against (no network) and the venue tests
//! use. [`start`] binds the listener and spawns two threads, `sim-accept` (accepts
//! connections, one `sim-conn-*` thread each) and `sim-model` (steps the market model and
//! fans frames out through bounded queues); [`SimHandle`] exposes the address, the
//! injected dislocations and the frame count, and stops and joins everything.
//!
//! Cold path throughout: it allocates, within the bounds named in each module
//! (connections, queue lengths, write batches, record sizes).
//!
//! Modules, one job each: `rng` (seeded PRNG), `price` (fair price, basis,
//! dislocations), `book` (synthetic L2 books and update ids), `market` (the steppable
//! model and its frames), `binance_format` (frame text), `subscription` (requests and
//! stream names), `hub` (state shared between threads, fan-out), `runner` (the model
//! thread), `server` (accept loop), `connection` (one client).
//!
//! Determinism: for a given seed and venue start time, each market's frame sequence is
//! byte-identical from run to run; the model counts steps and never reads the clock. The
//! model clock starts when both markets have a subscribed connection (see `runner`).

mod binance_format;
mod book;
mod connection;
mod hub;
mod market;
mod price;
mod rng;
mod runner;
mod server;
mod subscription;

use crate::types::Price;
use connection::Symbols;
use hub::{Shared, lock};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Simulator configuration. Every field has a default (see [`SimConfig::default`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Seed of every random draw. Default 7.
    pub seed: u64,
    /// Spot symbol, as the venue prints it in `"s"`. Default `"BTCUSDT"`.
    pub spot_symbol: String,
    /// Perp symbol. Default `"BTCUSDT"`.
    pub perp_symbol: String,
    /// Initial fair price. Default 60000.
    pub start_price: Price,
    /// Spot tick size. Default 0.01 (Binance BTCUSDT spot).
    pub spot_tick: Price,
    /// Perp tick size. Default 0.1 (Binance BTCUSDT USD-M).
    pub perp_tick: Price,
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
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            spot_symbol: "BTCUSDT".to_owned(),
            perp_symbol: "BTCUSDT".to_owned(),
            start_price: Price::from_raw(60_000 * Price::SCALE),
            spot_tick: Price::from_raw(Price::SCALE / 100),
            perp_tick: Price::from_raw(Price::SCALE / 10),
            step: Duration::from_millis(1),
            dislocation_mean_interval: Duration::from_millis(1_500),
            dislocation_bps_min: 10,
            dislocation_bps_max: 40,
            dislocation_half_life: Duration::from_millis(150),
            port: 0,
        }
    }
}

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
        let tick_max = self.spot_tick.raw().max(self.perp_tick.raw());
        if self.spot_tick.raw() <= 0 || self.perp_tick.raw() <= 0 {
            return invalid("ticks must be positive");
        }
        let on_grid = |p: Price| p.raw() % (Price::SCALE / binance_format::SCALE) == 0;
        if !on_grid(self.spot_tick) || !on_grid(self.perp_tick) || !on_grid(self.start_price) {
            return invalid("ticks and start price must be multiples of 0.00000001");
        }
        if self.start_price.raw() / tick_max < START_PRICE_TICKS_MIN {
            return invalid("start_price must be at least 1000 ticks");
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
        let symbol_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !symbol_ok(&self.spot_symbol) || !symbol_ok(&self.perp_symbol) {
            return invalid("symbols must be non-empty ASCII alphanumerics");
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

    /// The spot market's URL: `ws://127.0.0.1:PORT/ws/spot`.
    pub fn spot_url(&self) -> String {
        format!("ws://{}/ws/spot", self.addr)
    }

    /// The perp market's URL: `ws://127.0.0.1:PORT/ws/perp`.
    pub fn perp_url(&self) -> String {
        format!("ws://{}/ws/perp", self.addr)
    }

    /// Every dislocation injected so far, in order (the last may still be active).
    pub fn dislocations(&self) -> Vec<Dislocation> {
        lock(&self.shared.dislocations).clone()
    }

    /// Frames written to client sockets so far, all connections together.
    pub fn frames_sent(&self) -> u64 {
        self.shared.frames_sent.load(Ordering::Relaxed)
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
/// model clock starts once both markets have a subscribed connection.
pub fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    config.validate()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
    let listener = TcpListener::bind(addr).map_err(|source| SimError::Bind { addr, source })?;
    listener.set_nonblocking(true).map_err(SimError::Socket)?;
    let addr = listener.local_addr().map_err(SimError::Socket)?;
    let shared = Arc::new(Shared::default());
    let mut handle = SimHandle {
        addr,
        shared: Arc::clone(&shared),
        threads: Vec::with_capacity(2),
    };
    let symbols = Symbols {
        spot: config.spot_symbol.to_ascii_lowercase(),
        perp: config.perp_symbol.to_ascii_lowercase(),
    };
    let accept_shared = Arc::clone(&shared);
    handle.threads.push(spawn("sim-accept", move || {
        server::run_accept(&listener, &accept_shared, &symbols);
    })?);
    handle.threads.push(spawn("sim-model", move || {
        runner::run_model(&config, &shared)
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
mod tests {
    use super::*;
    use crate::runtime::clock;
    use sonic_rs::{JsonValueTrait, Value};
    use std::net::TcpStream;
    use tungstenite::handshake::HandshakeError;
    use tungstenite::{Message, WebSocket};

    type Client = WebSocket<TcpStream>;

    /// Connects a blocking client; a failed handshake gives tungstenite's error.
    fn connect(sim: &SimHandle, url: &str) -> Result<Client, tungstenite::Error> {
        let stream = TcpStream::connect(sim.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        match tungstenite::client(url, stream) {
            Ok((ws, _)) => Ok(ws),
            Err(HandshakeError::Failure(e)) => Err(e),
            Err(HandshakeError::Interrupted(_)) => panic!("handshake timed out"),
        }
    }

    fn next_text(ws: &mut Client) -> String {
        loop {
            match ws.read().unwrap() {
                Message::Text(t) => return t.to_string(),
                _ => continue,
            }
        }
    }

    fn subscribe(ws: &mut Client, streams: &[&str], id: u64) {
        let params = streams
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(",");
        let request = format!("{{\"method\":\"SUBSCRIBE\",\"params\":[{params}],\"id\":{id}}}");
        ws.send(Message::text(request)).unwrap();
    }

    #[test]
    fn test_server_loopback_subscribe_and_stream() {
        let sim = start(SimConfig::default()).unwrap();
        assert!(sim.perp_url().starts_with("ws://127.0.0.1:"));
        let mut perp = connect(&sim, &sim.perp_url()).unwrap();
        subscribe(&mut perp, &["btcusdt@bookTicker"], 1);
        assert_eq!(next_text(&mut perp), r#"{"result":null,"id":1}"#);
        let mut spot = connect(&sim, &sim.spot_url()).unwrap();
        subscribe(&mut spot, &["btcusdt@bookTicker", "btcusdt@depth@100ms"], 2);
        assert_eq!(next_text(&mut spot), r#"{"result":null,"id":2}"#);
        let mut last_e = 0;
        for _ in 0..50 {
            let frame: Value = sonic_rs::from_str(&next_text(&mut perp)).unwrap();
            assert_eq!(frame.get("e").and_then(|e| e.as_str()), Some("bookTicker"));
            let e = frame.get("E").and_then(|e| e.as_u64()).unwrap();
            assert!(e > last_e);
            last_e = e;
        }
        subscribe(&mut perp, &["btcusdt@trades"], 3);
        let invalid = r#"{"error":{"code":2,"msg":"Invalid request"},"id":3}"#;
        assert!((0..10_000).any(|_| next_text(&mut perp) == invalid));
        assert!(next_text(&mut spot).starts_with(r#"{"u":"#));
        assert!(sim.frames_sent() >= 51);
        sim.stop();
    }

    #[test]
    fn test_server_bad_path_refused_with_404() {
        let sim = start(SimConfig::default()).unwrap();
        let url = format!("ws://{}/ws/nope", sim.addr());
        match connect(&sim, &url) {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 404);
            }
            other => panic!("expected a 404, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn test_server_stop_closes_clients_and_drop_is_idempotent() {
        let sim = start(SimConfig::default()).unwrap();
        let mut perp = connect(&sim, &sim.perp_url()).unwrap();
        subscribe(&mut perp, &["btcusdt@markPrice@1s"], 1);
        assert_eq!(next_text(&mut perp), r#"{"result":null,"id":1}"#);
        sim.stop();
        let closed = (0..10).any(|_| matches!(perp.read(), Ok(Message::Close(_)) | Err(_)));
        assert!(closed);
        drop(start(SimConfig::default()).unwrap());
    }

    #[test]
    fn test_server_frames_match_model() {
        let sim = start(SimConfig::default()).unwrap();
        let mut perp = connect(&sim, &sim.perp_url()).unwrap();
        subscribe(&mut perp, &["btcusdt@bookTicker", "btcusdt@depth@100ms"], 1);
        next_text(&mut perp);
        let mut spot = connect(&sim, &sim.spot_url()).unwrap();
        subscribe(&mut spot, &["btcusdt@bookTicker"], 1);
        next_text(&mut spot);
        let received: Vec<String> = (0..300).map(|_| next_text(&mut perp)).collect();
        let first: Value = sonic_rs::from_str(&received[0]).unwrap();
        let start_ms = first.get("E").and_then(|e| e.as_u64()).unwrap();
        let mut model = market::Model::new(&SimConfig::default(), start_ms).unwrap();
        let mut expected = Vec::new();
        let mut frames = Vec::new();
        while expected.len() < received.len() {
            model.step(&mut frames);
            let perp_frames = frames.drain(..).filter(|f| {
                f.market == market::Market::Perp && f.stream != market::StreamKind::MarkPrice
            });
            expected.extend(perp_frames.map(|f| f.text));
        }
        expected.truncate(received.len());
        assert_eq!(received, expected);
    }

    #[test]
    fn test_server_slow_consumer_is_closed() {
        let config = SimConfig {
            step: Duration::from_micros(2),
            ..SimConfig::default()
        };
        let sim = start(config).unwrap();
        let mut spot = connect(&sim, &sim.spot_url()).unwrap();
        subscribe(&mut spot, &["btcusdt@depth@100ms"], 1);
        let mut perp = connect(&sim, &sim.perp_url()).unwrap();
        subscribe(&mut perp, &["btcusdt@bookTicker"], 1);
        let deadline = clock::monotonic_now() + Duration::from_secs(20);
        let wait_while = |busy: &dyn Fn() -> bool| {
            while busy() && clock::monotonic_now() < deadline {
                clock::sleep(Duration::from_millis(5));
            }
        };
        wait_while(&|| sim.shared.hub_len() < 2);
        wait_while(&|| sim.shared.hub_len() == 2);
        let mut close_code = None;
        for _ in 0..200_000 {
            match perp.read() {
                Ok(Message::Close(frame)) => {
                    close_code = frame.map(|f| f.code);
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let policy = tungstenite::protocol::frame::coding::CloseCode::Policy;
        assert_eq!(close_code, Some(policy));
    }

    #[test]
    fn test_config_validation_rejects_bad_fields() {
        let bad = [
            SimConfig {
                step: Duration::ZERO,
                ..SimConfig::default()
            },
            SimConfig {
                dislocation_bps_min: 50,
                ..SimConfig::default()
            },
            SimConfig {
                spot_tick: Price::ZERO,
                ..SimConfig::default()
            },
            SimConfig {
                spot_symbol: "BTC/USDT".to_owned(),
                ..SimConfig::default()
            },
        ];
        for config in bad {
            assert!(matches!(start(config), Err(SimError::InvalidConfig(_))));
        }
        assert!(SimConfig::default().validate().is_ok());
    }
}
