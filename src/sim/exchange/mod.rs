//! The fake exchange: Binance's spot (`/api/v3`) and USD-M (`/fapi/v1`, `/fapi/v2`)
//! order API over REST on 127.0.0.1, with a matching engine against its own books
//! (`engine`), signatures checked exactly as Binance documents them (HMAC-SHA256 hex
//! or Ed25519 base64 over the query string then the body), `timestamp` / `recvWindow`,
//! symbol filters and a request-weight limit (429 with `Retry-After`, then 418 for a
//! client that does not back off), and injectable [`Fault`]s.
//!
//! So a live-mode session runs on loopback with no network: the live venue client
//! (`gateway::live`) is pointed at [`FakeExchange::base_url`]. Tests compare the
//! client's orders, balances and positions with [`FakeExchange::snapshot`].
//!
//! Endpoints: `GET time`, `GET exchangeInfo`, `POST/DELETE/GET order`, `DELETE
//! openOrders` (spot) / `allOpenOrders` (USD-M), `GET openOrders`, `GET /api/v3/account`,
//! `GET /fapi/v2/positionRisk`. Not served: the WebSocket API and the user data stream
//! (order state comes from order responses and queries; see `docs/venues.md`).
//!
//! Cold path (simulator). Threads: `fake-accept` and one `fake-conn` per connection,
//! sharing [`Shared`] under one mutex; everything stops and joins on drop.

mod engine;
mod server;

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use engine::{ApiError, Engine, FakeOrder, FakeSymbol, NewOrder};

use crate::gateway::live::sign::HmacSigner;
use crate::types::{MarketKind, Price, Qty};

/// A fault applied to the next order placement (`POST order`), in queue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The order is accepted and matched, then the connection closes with no reply.
    NoReplyAfterAccept,
    /// HTTP 503: `processed` says whether the order went through anyway (Binance:
    /// a 5xx means the execution status is UNKNOWN).
    ServerError {
        /// Whether the order was executed.
        processed: bool,
    },
    /// HTTP 429 with `Retry-After`; the order is not executed.
    TooManyRequests {
        /// Seconds the client is asked to wait.
        retry_after_s: u64,
    },
    /// HTTP 418: the IP is banned for `ms`.
    Banned {
        /// Ban length.
        ms: u64,
    },
}

/// How the fake exchange authenticates.
pub enum FakeAuth {
    /// HMAC-SHA256 with this secret.
    Hmac(HmacSigner),
    /// Ed25519 with this public key.
    Ed25519([u8; 32]),
}

/// The fake exchange's settings.
pub struct FakeConfig {
    /// The one API key it knows.
    pub api_key: String,
    /// Its signature check.
    pub auth: FakeAuth,
    /// Listed symbols.
    pub symbols: Vec<FakeSymbol>,
    /// Starting spot balances.
    pub balances: Vec<(String, Qty)>,
    /// Request weight allowed per window (Binance spot: 6,000 a minute).
    pub weight_limit: u32,
    /// The weight window, ms (60,000 on the venue; tests shorten it).
    pub weight_window_ms: u64,
    /// Requests sent while throttled before the IP is banned.
    pub violations_to_ban: u32,
    /// Ban length after too many violations.
    pub ban_ms: u64,
    /// Server clock minus the machine's, ms (the client must measure and apply it).
    pub clock_skew_ms: i64,
}

impl FakeConfig {
    /// BTCUSDT spot and USD-M around 50,000 (tick 0.01 / 0.1, step 0.00001 / 0.001,
    /// minimum notional 5 / 100), 10 levels of 1 BTC a side, 10 BTC and 1,000,000
    /// USDT, HMAC key `secret`.
    pub fn btcusdt(api_key: &str, secret: &str) -> Self {
        let p = |s: &str| Price::from_decimal_str(s).unwrap_or(Price::ZERO);
        let q = |s: &str| Qty::from_decimal_str(s).unwrap_or(Qty::ZERO);
        let sym = |kind, tick: &str, step: &str, min: &str, bid: &str, ask: &str| FakeSymbol {
            symbol: "BTCUSDT".into(),
            kind,
            base: "BTC".into(),
            quote: "USDT".into(),
            bid: p(bid),
            ask: p(ask),
            tick: p(tick),
            step: q(step),
            min_notional: p(min),
            levels: 10,
            level_qty: q("1"),
        };
        Self {
            api_key: api_key.to_owned(),
            auth: FakeAuth::Hmac(HmacSigner::new(secret.as_bytes())),
            symbols: vec![
                sym(
                    MarketKind::Spot,
                    "0.01",
                    "0.00001",
                    "5",
                    "49999.99",
                    "50000.00",
                ),
                sym(
                    MarketKind::Perp,
                    "0.1",
                    "0.001",
                    "100",
                    "50010.0",
                    "50010.1",
                ),
            ],
            balances: vec![("BTC".into(), q("10")), ("USDT".into(), q("1000000"))],
            weight_limit: 6_000,
            weight_window_ms: 60_000,
            violations_to_ban: 2,
            ban_ms: 120_000,
            clock_skew_ms: 0,
        }
    }
}

/// What the fake exchange's threads share.
pub(crate) struct Shared {
    cfg: FakeConfig,
    state: Mutex<State>,
    stop: AtomicBool,
    generation: AtomicU64,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        now.saturating_add_signed(self.cfg.clock_skew_ms)
    }
}

/// The exchange's state and its counters.
pub struct State {
    /// Books, orders, balances, positions.
    pub engine: Engine,
    /// Faults still to apply.
    pub faults: VecDeque<Fault>,
    /// Requests received.
    pub requests: u64,
    /// Order placements received (refused ones included).
    pub order_requests: u64,
    /// Placements refused as a duplicate client order id.
    pub duplicates_refused: u64,
    /// Requests refused for their signature.
    pub bad_signatures: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    window_start_ms: u64,
    weight_used: u32,
    throttled_until_ms: u64,
    violations: u32,
    banned_until_ms: Option<u64>,
}

/// A running fake exchange; stops and joins its threads on drop.
pub struct FakeExchange {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

/// What the exchange holds, to compare with a client's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSnapshot {
    /// Client ids of open orders, sorted.
    pub open_orders: Vec<String>,
    /// Spot balances, sorted by asset.
    pub balances: Vec<(String, Qty)>,
    /// USD-M positions, sorted by symbol (zero ones left out).
    pub positions: Vec<(String, Qty)>,
}

impl FakeExchange {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub fn start(cfg: FakeConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let balances: Vec<(&str, Qty)> =
            cfg.balances.iter().map(|(a, q)| (a.as_str(), *q)).collect();
        let engine = Engine::new(cfg.symbols.clone(), &balances);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                engine,
                faults: VecDeque::new(),
                requests: 0,
                order_requests: 0,
                duplicates_refused: 0,
                bad_signatures: 0,
                rate_limited: 0,
                window_start_ms: 0,
                weight_used: 0,
                throttled_until_ms: 0,
                violations: 0,
                banned_until_ms: None,
            }),
            cfg,
            stop: AtomicBool::new(false),
            generation: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("fake-accept".into())
            .spawn(move || accept_loop(&listener, &s))?;
        Ok(Self {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:<port>`: the REST base of both markets.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a fault for the next order placement.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push_back(fault);
    }

    /// A restart that forgets every session: open connections are dropped (the client
    /// must reconnect) and the rate-limit window starts again. Orders and accounts
    /// persist, as the venue's matching engine does.
    pub fn restart(&self) {
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        let mut st = self.state();
        (st.weight_used, st.throttled_until_ms, st.violations) = (0, 0, 0);
    }

    /// A trade prints at `price` for `qty` (fills resting orders at or through it).
    pub fn trade_through(&self, symbol: &str, kind: MarketKind, price: Price, qty: Qty) {
        self.state().engine.trade_through(symbol, kind, price, qty);
    }

    /// The state, locked (tests read counters and the engine).
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Open orders, balances and positions.
    pub fn snapshot(&self) -> ExchangeSnapshot {
        let st = self.state();
        let mut open_orders: Vec<String> = st
            .engine
            .open_orders(None)
            .into_iter()
            .map(|o| o.client_id)
            .collect();
        open_orders.sort();
        let mut balances: Vec<(String, Qty)> = st
            .engine
            .balances
            .iter()
            .map(|(a, q)| (a.clone(), Qty::from_raw(*q)))
            .collect();
        balances.sort();
        let mut positions: Vec<(String, Qty)> = st
            .engine
            .positions
            .iter()
            .filter(|(_, q)| **q != 0)
            .map(|(s, q)| (s.clone(), Qty::from_raw(*q)))
            .collect();
        positions.sort();
        ExchangeSnapshot {
            open_orders,
            balances,
            positions,
        }
    }
}

impl Drop for FakeExchange {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// How long the accept loop sleeps when no connection is pending.
const ACCEPT_IDLE: Duration = Duration::from_millis(2);

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let s = Arc::clone(shared);
                if let Ok(h) = std::thread::Builder::new()
                    .name("fake-conn".into())
                    .spawn(move || server::serve(stream, s))
                {
                    conns.push(h);
                }
            }
            Err(_) => std::thread::sleep(ACCEPT_IDLE),
        }
        conns.retain(|h| !h.is_finished());
    }
    for h in conns {
        let _ = h.join();
    }
}
