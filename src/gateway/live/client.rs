//! The live venue's I/O thread (`live-binance`): every network call of one Binance
//! account, so the gateway thread never waits on the network. It pops [`Command`]s
//! from the gateway's ring, talks REST (signed, `timestamp` from the local clock plus
//! the measured server offset), tracks every order by its client id and pushes
//! [`Report`]s back.
//!
//! Order state comes from the venue's own cumulative figures (`executedQty`,
//! `cummulativeQuoteQty` / `cumQuote`, `status`) in every order response and query:
//! a fill is the increase since the last figure seen, so a duplicated or stale
//! (out-of-order) answer adds nothing, a fill seen before the acknowledgement acks the
//! order first, and `Done` is sent only once the cumulative quantity it carries has
//! been reported as fills.
//!
//! Faults (see `README.md`, "Live trading"):
//! - no reply, a timeout or a 5xx: the outcome is unknown, so the order is queried by
//!   its client id first; found, its state is adopted; "does not exist" (-2013), it is
//!   sent again under the same id (the venue refuses a second order under an id, and
//!   the answer to that is queried too), so no order is ever created twice;
//! - 429: no new order until `Retry-After` has passed (new orders meanwhile are refused
//!   unsent); 418: the venue halts for the run, every new order is refused, and an
//!   error is logged for the operator;
//! - a restart or a dropped connection: the next call reconnects, and reconciliation
//!   runs at once.
//!
//! Reconciliation (start, every `reconcile_interval`, after a reconnect): the venue's
//! open orders, spot balances and USD-M positions against this thread's. Policy: an
//! open order the run does not know is cancelled; an order this thread thinks open and
//! the venue does not is queried and its final state adopted; a balance or position
//! that differs is adopted from the venue (logged as a difference). New entries are
//! refused until a pass finds no difference.
//!
//! Cold path: allocates freely (request text, JSON, the order map), bounded by the
//! gateway's `orders_max` working orders.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonic_rs::{JsonContainerTrait as _, JsonValueTrait as _};

use crate::gateway::config::VenueFees;
use crate::gateway::live::clid::ClientOrderId;
use crate::gateway::live::command::{Command, Place, Report};
use crate::gateway::live::filters::{FilterError, SymbolFilters};
use crate::gateway::live::keys::Credentials;
use crate::gateway::live::rest::RestEncoder;
use crate::gateway::order::{Fill, Liquidity, OrderId, OrderState, OrderStyle, VenueReject};
use crate::gateway::paper::fee_raw;
use crate::types::decimal::mul_div;
use crate::types::{InstrumentId, MarketKind, OrderSide, Price, Qty};

/// One instrument traded live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSymbol {
    /// The gateway's instrument.
    pub instrument: InstrumentId,
    /// Venue symbol.
    pub symbol: String,
    /// Spot or USD-M.
    pub kind: MarketKind,
    /// Base asset (spot balances).
    pub base: String,
    /// Quote asset.
    pub quote: String,
    /// Fees booked on fills (the configured rates).
    pub fees: VenueFees,
}

/// The I/O thread's settings (`[gateway.live]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Spot REST base (`https://api.binance.com`; testnet `https://testnet.binance.vision`).
    pub spot_base: String,
    /// USD-M REST base (`https://fapi.binance.com`; testnet `https://testnet.binancefuture.com`).
    pub futures_base: String,
    /// `recvWindow`, ms (default 5,000; the venue allows at most 60,000).
    pub recv_window_ms: u64,
    /// Per-request timeout (default 2 s): past it the outcome is unknown.
    pub timeout: Duration,
    /// How often working orders are queried (default 500 ms).
    pub poll_interval: Duration,
    /// How often a reconciliation runs (default 60 s).
    pub reconcile_interval: Duration,
    /// Queries made to resolve one unknown outcome before the order is left to the
    /// poll loop (default 5).
    pub query_retries: u32,
    /// The run's id (client order ids).
    pub run_id: u64,
}

impl ClientConfig {
    /// Defaults against `spot_base` and `futures_base`.
    pub fn new(spot_base: &str, futures_base: &str, run_id: u64) -> Self {
        Self {
            spot_base: spot_base.trim_end_matches('/').to_owned(),
            futures_base: futures_base.trim_end_matches('/').to_owned(),
            recv_window_ms: 5_000,
            timeout: Duration::from_secs(2),
            poll_interval: Duration::from_millis(500),
            reconcile_interval: Duration::from_secs(60),
            query_retries: 5,
            run_id,
        }
    }
}

/// Counters of the I/O thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientCounters {
    /// HTTP requests sent.
    pub requests: u64,
    /// Order placements sent (first sends and resends).
    pub placements: u64,
    /// Outcomes that were unknown (no reply, timeout, 5xx).
    pub unknown_outcomes: u64,
    /// Unknown outcomes resolved by finding the order.
    pub adopted: u64,
    /// Orders sent again under the same id after the venue said it did not exist.
    pub resent: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Orders refused before sending (filters, back-off, halt).
    pub refused_unsent: u64,
    /// Answers that carried nothing new (duplicates, stale, out of order).
    pub stale_answers: u64,
    /// Reconciliation passes.
    pub reconciliations: u64,
    /// Differences found by them.
    pub differences: u64,
}

/// What the I/O thread believes the account holds; published after every command for
/// tests, status and the operator (never read by the gateway thread).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountView {
    /// Client ids of orders believed open, sorted.
    pub open_orders: Vec<String>,
    /// Spot balances of the traded assets, sorted.
    pub balances: Vec<(String, Qty)>,
    /// USD-M positions, sorted (zero ones left out).
    pub positions: Vec<(String, Qty)>,
    /// Whether new entries are allowed.
    pub ready: bool,
    /// Halted (418 or a panic).
    pub halted: bool,
    /// The last panic: orders cancelled and positions flattened.
    pub last_panic: Option<(u32, u32)>,
    /// The differences reconciliation found, in words (never a credential).
    pub differences: Vec<String>,
    /// Counters.
    pub counters: ClientCounters,
}

#[derive(Debug, Clone)]
struct Tracked {
    id: OrderId,
    sym: usize,
    side: OrderSide,
    style: OrderStyle,
    qty: Qty,
    executed: Qty,
    quote_raw: i128,
    acked: bool,
    done: bool,
    internal: bool,
}

/// An order's figures as the venue gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VenueOrder {
    clid: String,
    status: String,
    executed: Qty,
    quote_raw: i128,
}

enum Answer {
    /// HTTP status and body.
    Http(u16, String),
    /// Nothing usable came back (timeout, reset, no reply).
    Unknown,
}

/// First id of the orders this thread sends on its own (flattens), far above any id
/// the gateway hands out.
const INTERNAL_ID_BASE: u64 = 1 << 62;
/// Idle sleep of the loop when nothing is due (a cold thread: no spinning).
const IDLE: Duration = Duration::from_millis(1);
/// Pause between the queries resolving an unknown outcome.
const QUERY_PAUSE: Duration = Duration::from_millis(20);
/// Start-up attempts (each waits out a 429's `Retry-After` first).
const START_ATTEMPTS: u32 = 10;
/// Pause between start-up attempts.
const START_PAUSE: Duration = Duration::from_millis(200);
/// Longest answer read.
const BODY_MAX: u64 = 4 << 20;

/// The I/O thread's state.
pub struct Client {
    cfg: ClientConfig,
    creds: Credentials,
    symbols: Vec<LiveSymbol>,
    filters: Vec<SymbolFilters>,
    agent: ureq::Agent,
    encoder: RestEncoder,
    commands: rtrb::Consumer<Command>,
    reports: rtrb::Producer<Report>,
    orders: HashMap<String, Tracked>,
    balances: HashMap<String, i128>,
    baseline: HashMap<String, i128>,
    positions: Vec<i128>,
    offset_ms: i64,
    backoff_until: Option<Instant>,
    halted: bool,
    ready: bool,
    next_internal: u64,
    view: Arc<Mutex<AccountView>>,
    counters: ClientCounters,
    differences: Vec<String>,
    last_panic: Option<(u32, u32)>,
}

/// What `Client::new` needs besides its rings.
pub struct ClientParts {
    /// Settings.
    pub cfg: ClientConfig,
    /// Key and signer.
    pub creds: Credentials,
    /// Traded instruments.
    pub symbols: Vec<LiveSymbol>,
    /// Where the account view is published.
    pub view: Arc<Mutex<AccountView>>,
}

impl Client {
    /// A client over its two rings.
    pub fn new(
        parts: ClientParts,
        commands: rtrb::Consumer<Command>,
        reports: rtrb::Producer<Report>,
    ) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(parts.cfg.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let n = parts.symbols.len();
        Self {
            encoder: RestEncoder::new(parts.cfg.recv_window_ms),
            cfg: parts.cfg,
            creds: parts.creds,
            symbols: parts.symbols,
            filters: vec![SymbolFilters::default(); n],
            agent,
            commands,
            reports,
            orders: HashMap::new(),
            balances: HashMap::new(),
            baseline: HashMap::new(),
            positions: vec![0; n],
            offset_ms: 0,
            backoff_until: None,
            halted: false,
            ready: false,
            next_internal: INTERNAL_ID_BASE,
            view: parts.view,
            counters: ClientCounters::default(),
            differences: Vec::new(),
            last_panic: None,
        }
    }

    /// Runs until `stop`: start-up (time, filters, baseline, reconciliation), then
    /// commands, polls and periodic reconciliations.
    pub fn run(mut self, stop: &AtomicBool) {
        let mut started = Err("not tried");
        for _ in 0..START_ATTEMPTS {
            started = self.start();
            if started.is_ok() || self.halted || stop.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(START_PAUSE);
        }
        if let Err(what) = started {
            log::error!("live binance: start-up failed ({what}); the venue stays halted");
            self.halt();
        }
        let mut next_poll = Instant::now() + self.cfg.poll_interval;
        let mut next_reconcile = Instant::now() + self.cfg.reconcile_interval;
        while !stop.load(Ordering::Acquire) {
            let mut busy = false;
            while let Ok(cmd) = self.commands.pop() {
                busy = true;
                self.on_command(cmd);
                self.publish();
            }
            let now = Instant::now();
            if self.backoff_until.is_some_and(|u| now >= u) {
                self.backoff_until = None;
                self.reconcile();
            }
            if now >= next_poll {
                next_poll = now + self.cfg.poll_interval;
                self.poll_working();
            }
            if now >= next_reconcile && !self.halted {
                next_reconcile = now + self.cfg.reconcile_interval;
                self.reconcile();
            }
            self.publish();
            if !busy {
                std::thread::sleep(IDLE);
            }
        }
    }

    fn start(&mut self) -> Result<(), &'static str> {
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            if !self.symbols.iter().any(|s| s.kind == kind) {
                continue;
            }
            self.sync_time(kind)?;
            let Answer::Http(200, body) = self.call("GET", kind, "exchangeInfo", "", false) else {
                return Err("exchangeInfo unavailable");
            };
            for i in 0..self.symbols.len() {
                if self.symbols[i].kind == kind {
                    self.filters[i] =
                        SymbolFilters::from_exchange_info(&body, &self.symbols[i].symbol)
                            .map_err(|_| "a live symbol is not listed in exchangeInfo")?;
                }
            }
        }
        self.load_accounts(true)?;
        self.reconcile();
        Ok(())
    }

    fn sync_time(&mut self, kind: MarketKind) -> Result<(), &'static str> {
        let before = local_ms();
        let Answer::Http(200, body) = self.call("GET", kind, "time", "", false) else {
            return Err("server time unavailable");
        };
        let after = local_ms();
        let v: sonic_rs::Value = sonic_rs::from_str(&body).map_err(|_| "bad server time")?;
        let server = v["serverTime"].as_u64().ok_or("bad server time")?;
        self.offset_ms = server as i64 - (before + after) as i64 / 2;
        Ok(())
    }

    fn timestamp(&self) -> u64 {
        local_ms().saturating_add_signed(self.offset_ms)
    }

    fn path(kind: MarketKind, endpoint: &str) -> String {
        match (kind, endpoint) {
            (MarketKind::Spot, e) => format!("/api/v3/{e}"),
            (MarketKind::Perp, "positionRisk") => "/fapi/v2/positionRisk".to_owned(),
            (MarketKind::Perp, "openOrders/all") => "/fapi/v1/allOpenOrders".to_owned(),
            (MarketKind::Perp, e) => format!("/fapi/v1/{e}"),
        }
    }

    /// A signed request whose only parameter is `symbol` (none when empty), stamped now.
    fn signed_call(
        &mut self,
        method: &str,
        kind: MarketKind,
        endpoint: &str,
        symbol: &str,
    ) -> Answer {
        let ts = self.timestamp();
        let params = self
            .encoder
            .symbol_only(symbol, ts, &self.creds.signing)
            .to_owned();
        self.call(method, kind, endpoint, &params, true)
    }

    /// One HTTP call; 429 and 418 are handled here (back-off, halt).
    fn call(
        &mut self,
        method: &str,
        kind: MarketKind,
        endpoint: &str,
        params: &str,
        keyed: bool,
    ) -> Answer {
        let base = if kind == MarketKind::Spot {
            &self.cfg.spot_base
        } else {
            &self.cfg.futures_base
        };
        let endpoint = if endpoint == "openOrders/all" && kind == MarketKind::Spot {
            "openOrders"
        } else {
            endpoint
        };
        let url = format!("{base}{}", Self::path(kind, endpoint));
        // Nothing is sent while a 429's `Retry-After` runs: sending on would be a
        // violation, and violations end in a ban.
        if let Some(wait) = self
            .backoff_until
            .and_then(|u| u.checked_duration_since(Instant::now()))
        {
            std::thread::sleep(wait);
        }
        self.counters.requests += 1;
        let key = self.creds.api_key().to_owned();
        let result = match method {
            "POST" => {
                let req = self.agent.post(&url).header("X-MBX-APIKEY", &key);
                req.content_type("application/x-www-form-urlencoded")
                    .send(params.as_bytes())
            }
            m => {
                let url = if params.is_empty() {
                    url
                } else {
                    format!("{url}?{params}")
                };
                let req = match m {
                    "DELETE" => self.agent.delete(&url),
                    _ => self.agent.get(&url),
                };
                let req = if keyed {
                    req.header("X-MBX-APIKEY", &key)
                } else {
                    req
                };
                req.call()
            }
        };
        let Ok(mut resp) = result else {
            return Answer::Unknown;
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let Ok(body) = resp
            .body_mut()
            .with_config()
            .limit(BODY_MAX)
            .read_to_string()
        else {
            return Answer::Unknown;
        };
        match status {
            429 => {
                self.counters.rate_limited += 1;
                let wait = Duration::from_secs(retry_after.unwrap_or(1));
                self.backoff_until = Some(Instant::now() + wait);
                self.set_ready(false);
                log::warn!(
                    "live binance: HTTP 429, backing off {} s as asked",
                    wait.as_secs()
                );
            }
            418 => {
                log::error!(
                    "live binance: HTTP 418 (IP banned); trading on this venue is halted for the run"
                );
                self.halt();
            }
            _ => {}
        }
        Answer::Http(status, body)
    }

    fn halt(&mut self) {
        if !self.halted {
            self.halted = true;
            let _ = self.reports.push(Report::Halted);
        }
        self.set_ready(false);
    }

    fn set_ready(&mut self, ready: bool) {
        let backing_off = self.backoff_until.is_some_and(|u| Instant::now() < u);
        let ready = ready && !self.halted && !backing_off;
        if ready != self.ready {
            self.ready = ready;
            let _ = self.reports.push(Report::Ready(ready));
        }
    }

    fn report(&mut self, r: Report) {
        if self.reports.push(r).is_err() {
            log::error!("live binance: report ring full; a report was lost (ring too small)");
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Place(p) => self.place(p, false),
            Command::Cancel(id) => self.cancel(id),
            Command::Flatten {
                instrument,
                side,
                qty,
            } => {
                let id = OrderId(self.next_internal);
                self.next_internal += 1;
                let place = Place {
                    id,
                    instrument,
                    side,
                    style: OrderStyle::Market,
                    limit: Price::ZERO,
                    qty,
                    reference: Price::ZERO,
                };
                self.place(place, true);
            }
            Command::Panic => self.panic(),
        }
    }

    fn sym_of(&self, instrument: InstrumentId) -> Option<usize> {
        self.symbols.iter().position(|s| s.instrument == instrument)
    }

    fn refuse(&mut self, id: OrderId, reject: VenueReject, internal: bool) {
        self.counters.refused_unsent += 1;
        if !internal {
            self.report(Report::Done {
                id,
                state: OrderState::Rejected,
                reject: Some(reject),
            });
        }
    }

    fn place(&mut self, p: Place, internal: bool) {
        let Some(sym) = self.sym_of(p.instrument) else {
            return self.refuse(p.id, VenueReject::NotSent, internal);
        };
        let backing_off = self.backoff_until.is_some_and(|u| Instant::now() < u);
        if self.halted || backing_off {
            return self.refuse(p.id, VenueReject::NotSent, internal);
        }
        let reference = if p.reference.is_zero() {
            p.limit
        } else {
            p.reference
        };
        if let Err(e) = self.filters[sym].check(p.style, p.limit, p.qty, reference) {
            log::warn!("live binance: order {} refused before sending: {e}", p.id.0);
            let reject = if e == FilterError::UnknownSymbol {
                VenueReject::NotSent
            } else {
                VenueReject::Filter
            };
            return self.refuse(p.id, reject, internal);
        }
        let clid = ClientOrderId::new(self.cfg.run_id, p.id);
        let tracked = Tracked {
            id: p.id,
            sym,
            side: p.side,
            style: p.style,
            qty: p.qty,
            executed: Qty::ZERO,
            quote_raw: 0,
            acked: false,
            done: false,
            internal,
        };
        self.orders.insert(clid.as_str().to_owned(), tracked);
        let answer = self.send_place(sym, &p, &clid, internal);
        self.on_place_answer(sym, &p, &clid, answer, false);
    }

    fn send_place(
        &mut self,
        sym: usize,
        p: &Place,
        clid: &ClientOrderId,
        reduce_only: bool,
    ) -> Answer {
        let (kind, ts) = (self.symbols[sym].kind, self.timestamp());
        let symbol = self.symbols[sym].symbol.clone();
        let params = self
            .encoder
            .place(kind, &symbol, p, clid, reduce_only, ts, &self.creds.signing)
            .to_owned();
        self.counters.placements += 1;
        self.call("POST", kind, "order", &params, true)
    }

    fn on_place_answer(
        &mut self,
        sym: usize,
        p: &Place,
        clid: &ClientOrderId,
        answer: Answer,
        resent: bool,
    ) {
        match answer {
            Answer::Http(200, body) => self.apply_body(&body),
            Answer::Http(429 | 418, _) => self.close_unsent(clid.as_str(), VenueReject::NotSent),
            Answer::Http(400, body) => {
                let (code, msg) = error_of(&body);
                if code == -2010 && msg.starts_with("Duplicate") {
                    self.resolve_unknown(sym, p, clid, true);
                } else {
                    let reject = match code {
                        -2010 if msg.contains("immediately match") => {
                            VenueReject::PostOnlyWouldCross
                        }
                        -1013 => VenueReject::Filter,
                        _ => VenueReject::VenueRefused,
                    };
                    log::warn!(
                        "live binance: order {} refused by the venue ({code})",
                        p.id.0
                    );
                    self.close_unsent(clid.as_str(), reject);
                }
            }
            Answer::Http(s, _) if s < 500 => {
                self.close_unsent(clid.as_str(), VenueReject::VenueRefused)
            }
            _ => {
                self.counters.unknown_outcomes += 1;
                self.resolve_unknown(sym, p, clid, resent);
            }
        }
    }

    /// The outcome of a placement is unknown: ask for the order under its client id;
    /// adopt it if found, send it once more under the same id if it does not exist.
    fn resolve_unknown(&mut self, sym: usize, p: &Place, clid: &ClientOrderId, mut resent: bool) {
        for _ in 0..self.cfg.query_retries {
            std::thread::sleep(QUERY_PAUSE);
            match self.query(sym, clid.as_str()) {
                Answer::Http(200, body) => {
                    self.counters.adopted += 1;
                    return self.apply_body(&body);
                }
                Answer::Http(400, body)
                    if error_of(&body).0 == -2013 && !resent && !self.halted =>
                {
                    resent = true;
                    self.counters.resent += 1;
                    let answer = self.send_place(
                        sym,
                        p,
                        clid,
                        self.orders.get(clid.as_str()).is_some_and(|t| t.internal),
                    );
                    if let Answer::Http(200, body) = answer {
                        return self.apply_body(&body);
                    }
                    if let Answer::Http(400, body) = &answer {
                        let (code, _) = error_of(body);
                        if code != -2010 {
                            return self.close_unsent(clid.as_str(), VenueReject::VenueRefused);
                        }
                    }
                }
                Answer::Http(400, body) if error_of(&body).0 == -2013 => {
                    // Sent twice and still unknown to the venue: it never took it.
                    return self.close_unsent(clid.as_str(), VenueReject::NotSent);
                }
                _ => {}
            }
        }
        log::warn!(
            "live binance: order {} still unknown; the poll loop keeps asking",
            p.id.0
        );
    }

    fn query(&mut self, sym: usize, clid: &str) -> Answer {
        let (kind, ts) = (self.symbols[sym].kind, self.timestamp());
        let symbol = self.symbols[sym].symbol.clone();
        let params = self
            .encoder
            .by_client_id(&symbol, clid, ts, &self.creds.signing)
            .to_owned();
        self.call("GET", kind, "order", &params, true)
    }

    fn close_unsent(&mut self, clid: &str, reject: VenueReject) {
        let Some(t) = self.orders.get_mut(clid).filter(|t| !t.done) else {
            return;
        };
        t.done = true;
        let (id, internal, executed) = (t.id, t.internal, t.executed);
        if internal {
            return;
        }
        let (state, reject) = if executed.is_zero() {
            (OrderState::Rejected, Some(reject))
        } else {
            (OrderState::Cancelled, None)
        };
        self.report(Report::Done { id, state, reject });
    }

    fn cancel(&mut self, id: OrderId) {
        let Some((clid, sym)) = self
            .orders
            .iter()
            .find(|(_, t)| t.id == id && !t.done)
            .map(|(c, t)| (c.clone(), t.sym))
        else {
            return;
        };
        let (kind, ts) = (self.symbols[sym].kind, self.timestamp());
        let symbol = self.symbols[sym].symbol.clone();
        let params = self
            .encoder
            .by_client_id(&symbol, &clid, ts, &self.creds.signing)
            .to_owned();
        match self.call("DELETE", kind, "order", &params, true) {
            Answer::Http(200, body) => self.apply_body(&body),
            _ => self.refresh(sym, &clid),
        }
    }

    /// Queries one order and applies what the venue says; an order the venue never
    /// had is closed (nothing of it exists).
    fn refresh(&mut self, sym: usize, clid: &str) {
        match self.query(sym, clid) {
            Answer::Http(200, body) => self.apply_body(&body),
            Answer::Http(400, body) if error_of(&body).0 == -2013 => {
                self.close_unsent(clid, VenueReject::NotSent)
            }
            _ => {}
        }
    }

    fn poll_working(&mut self) {
        let working: Vec<(String, usize)> = self
            .orders
            .iter()
            .filter(|(_, t)| !t.done)
            .map(|(c, t)| (c.clone(), t.sym))
            .collect();
        for (clid, sym) in working {
            self.refresh(sym, &clid);
        }
    }

    fn apply_body(&mut self, body: &str) {
        match parse_order(body) {
            Some(o) => self.apply(&o),
            None => log::warn!("live binance: an order answer could not be read"),
        }
    }

    /// Applies the venue's figures for one order: only what is new counts.
    fn apply(&mut self, o: &VenueOrder) {
        let Some(t) = self.orders.get_mut(&o.clid) else {
            return;
        };
        if t.done {
            self.counters.stale_answers += 1;
            return;
        }
        let mut reports: [Option<Report>; 3] = [None; 3];
        let terminal = matches!(
            o.status.as_str(),
            "FILLED" | "CANCELED" | "EXPIRED" | "EXPIRED_IN_MATCH" | "REJECTED"
        );
        if !t.acked && o.status != "REJECTED" {
            t.acked = true;
            reports[0] = Some(Report::Ack(t.id));
        }
        let fresh = o.executed > t.executed;
        if fresh {
            let qty = Qty::from_raw(o.executed.raw() - t.executed.raw());
            let value = o.quote_raw - t.quote_raw;
            (t.executed, t.quote_raw) = (o.executed, o.quote_raw);
            let s = &self.symbols[t.sym];
            let (maker, liquidity) = match t.style {
                OrderStyle::PostOnly => (true, Liquidity::Maker),
                _ => (false, Liquidity::Taker),
            };
            let rate = if maker {
                s.fees.maker_centi_bps
            } else {
                s.fees.taker_centi_bps
            };
            let price = Price::from_raw(mul_div(value, Price::SCALE, qty.raw().max(1)));
            reports[1] = Some(Report::Fill(Fill {
                order: t.id,
                instrument: s.instrument,
                side: t.side,
                price,
                qty,
                notional_raw: value,
                fee_raw: fee_raw(value, rate),
                liquidity,
                touch: price,
                ts_ns: 0,
            }));
        } else if !terminal || o.executed < t.executed {
            self.counters.stale_answers += u64::from(t.acked && reports[0].is_none());
        }
        if terminal && o.executed >= t.executed {
            t.done = true;
            let state = match o.status.as_str() {
                "FILLED" => OrderState::Filled,
                "REJECTED" => OrderState::Rejected,
                _ if t.executed == t.qty => OrderState::Filled,
                _ => OrderState::Cancelled,
            };
            let reject = (state == OrderState::Rejected).then_some(VenueReject::VenueRefused);
            reports[2] = Some(Report::Done {
                id: t.id,
                state,
                reject,
            });
        }
        let (internal, sym, side) = (t.internal, t.sym, t.side);
        if let Some(Report::Fill(f)) = reports[1] {
            self.book_fill(sym, side, f.qty, f.notional_raw);
        }
        if !internal {
            for r in reports.into_iter().flatten() {
                self.report(r);
            }
        }
    }

    fn book_fill(&mut self, sym: usize, side: OrderSide, qty: Qty, value: i128) {
        let sign = if side == OrderSide::Buy { 1 } else { -1 };
        let s = &self.symbols[sym];
        match s.kind {
            MarketKind::Perp => self.positions[sym] += sign * qty.raw(),
            MarketKind::Spot => {
                *self.balances.entry(s.base.clone()).or_insert(0) += sign * qty.raw();
                *self.balances.entry(s.quote.clone()).or_insert(0) -= sign * value;
            }
        }
    }

    /// Spot balances and USD-M positions from the venue; at start they are also the
    /// baseline a flatten returns to.
    fn load_accounts(&mut self, baseline: bool) -> Result<u32, &'static str> {
        let mut diffs = 0;
        if self.symbols.iter().any(|s| s.kind == MarketKind::Spot) {
            let Answer::Http(200, body) = self.signed_call("GET", MarketKind::Spot, "account", "")
            else {
                return Err("spot account unavailable");
            };
            let v: sonic_rs::Value = sonic_rs::from_str(&body).map_err(|_| "bad spot account")?;
            let traded: Vec<String> = self
                .symbols
                .iter()
                .filter(|s| s.kind == MarketKind::Spot)
                .flat_map(|s| [s.base.clone(), s.quote.clone()])
                .collect();
            for b in v["balances"].as_array().ok_or("bad spot account")?.iter() {
                let asset = b["asset"].as_str().unwrap_or("");
                if !traded.iter().any(|a| a == asset) {
                    continue;
                }
                let free = Qty::from_decimal_str(b["free"].as_str().unwrap_or("0"))
                    .unwrap_or(Qty::ZERO)
                    .raw();
                let locked = Qty::from_decimal_str(b["locked"].as_str().unwrap_or("0"))
                    .unwrap_or(Qty::ZERO)
                    .raw();
                let venue = free + locked;
                let ours = self.balances.get(asset).copied().unwrap_or(0);
                if !baseline && ours != venue {
                    diffs += 1;
                    self.differences.push(format!(
                        "balance {asset}: ours {} venue {}",
                        Qty::from_raw(ours),
                        Qty::from_raw(venue)
                    ));
                }
                self.balances.insert(asset.to_owned(), venue);
                if baseline {
                    self.baseline.insert(asset.to_owned(), venue);
                }
            }
        }
        if self.symbols.iter().any(|s| s.kind == MarketKind::Perp) {
            let Answer::Http(200, body) =
                self.signed_call("GET", MarketKind::Perp, "positionRisk", "")
            else {
                return Err("USD-M positions unavailable");
            };
            let v: sonic_rs::Value =
                sonic_rs::from_str(&body).map_err(|_| "bad USD-M positions")?;
            for row in v.as_array().ok_or("bad USD-M positions")?.iter() {
                let symbol = row["symbol"].as_str().unwrap_or("");
                let Some(i) = self
                    .symbols
                    .iter()
                    .position(|s| s.kind == MarketKind::Perp && s.symbol == symbol)
                else {
                    continue;
                };
                let venue = Qty::from_decimal_str(row["positionAmt"].as_str().unwrap_or("0"))
                    .unwrap_or(Qty::ZERO)
                    .raw();
                if !baseline && self.positions[i] != venue {
                    diffs += 1;
                    self.differences.push(format!(
                        "position {symbol}: ours {} venue {}",
                        Qty::from_raw(self.positions[i]),
                        Qty::from_raw(venue)
                    ));
                }
                self.positions[i] = venue;
            }
        }
        Ok(diffs)
    }

    /// One reconciliation (two passes at most: the second must agree).
    fn reconcile(&mut self) {
        if self.halted {
            return;
        }
        self.set_ready(false);
        for _pass in 0..2 {
            self.counters.reconciliations += 1;
            let diffs = self.reconcile_orders() + self.load_accounts(false).unwrap_or(1);
            self.counters.differences += u64::from(diffs);
            if diffs == 0 {
                self.set_ready(true);
                return;
            }
            log::warn!(
                "live binance: reconciliation found {diffs} difference(s); resolved by policy, checking again"
            );
        }
    }

    fn open_at_venue(&mut self, sym: usize) -> Option<Vec<VenueOrder>> {
        let kind = self.symbols[sym].kind;
        let symbol = self.symbols[sym].symbol.clone();
        let Answer::Http(200, body) = self.signed_call("GET", kind, "openOrders", &symbol) else {
            return None;
        };
        let v: sonic_rs::Value = sonic_rs::from_str(&body).ok()?;
        Some(
            v.as_array()?
                .iter()
                .filter_map(|o| parse_order(&o.to_string()))
                .collect(),
        )
    }

    fn reconcile_orders(&mut self) -> u32 {
        let mut diffs = 0;
        for sym in 0..self.symbols.len() {
            let Some(open) = self.open_at_venue(sym) else {
                diffs += 1;
                continue;
            };
            for o in &open {
                match self.orders.get(&o.clid) {
                    Some(t) if !t.done => self.apply(o),
                    _ => {
                        diffs += 1;
                        self.differences
                            .push(format!("unknown open order {} cancelled", o.clid));
                        self.cancel_unknown(sym, &o.clid);
                    }
                }
            }
            let ours: Vec<String> = self
                .orders
                .iter()
                .filter(|(c, t)| t.sym == sym && !t.done && !open.iter().any(|o| &o.clid == *c))
                .map(|(c, _)| c.clone())
                .collect();
            for clid in ours {
                diffs += 1;
                self.differences.push(format!(
                    "order {clid} not open at the venue: its final state adopted"
                ));
                self.refresh(sym, &clid);
            }
        }
        diffs
    }

    fn cancel_unknown(&mut self, sym: usize, clid: &str) {
        let (kind, ts) = (self.symbols[sym].kind, self.timestamp());
        let symbol = self.symbols[sym].symbol.clone();
        let params = self
            .encoder
            .by_client_id(&symbol, clid, ts, &self.creds.signing)
            .to_owned();
        let _ = self.call("DELETE", kind, "order", &params, true);
    }

    /// Cancels every open order of every live symbol, flattens every position back to
    /// the start baseline with market orders, then halts.
    fn panic(&mut self) {
        let mut cancelled = 0u32;
        for sym in 0..self.symbols.len() {
            let kind = self.symbols[sym].kind;
            let symbol = self.symbols[sym].symbol.clone();
            if let Answer::Http(200, body) =
                self.signed_call("DELETE", kind, "openOrders/all", &symbol)
            {
                let v: Option<sonic_rs::Value> = sonic_rs::from_str(&body).ok();
                cancelled += v
                    .as_ref()
                    .and_then(|v| v.as_array())
                    .map_or(0, |a| u32::try_from(a.len()).unwrap_or(u32::MAX));
            }
        }
        self.poll_working();
        let mut flattened = 0u32;
        for sym in 0..self.symbols.len() {
            let s = &self.symbols[sym];
            let open = match s.kind {
                MarketKind::Perp => self.positions[sym],
                MarketKind::Spot => {
                    self.balances.get(&s.base).copied().unwrap_or(0)
                        - self.baseline.get(&s.base).copied().unwrap_or(0)
                }
            };
            let step = self.filters[sym].step.raw().max(1);
            let qty = open.abs() / step * step;
            if qty == 0 {
                continue;
            }
            let side = if open > 0 {
                OrderSide::Sell
            } else {
                OrderSide::Buy
            };
            let id = OrderId(self.next_internal);
            self.next_internal += 1;
            let place = Place {
                id,
                instrument: s.instrument,
                side,
                style: OrderStyle::Market,
                limit: Price::ZERO,
                qty: Qty::from_raw(qty),
                reference: Price::ZERO,
            };
            self.place(place, true);
            flattened += 1;
        }
        log::warn!(
            "live binance: panic: {cancelled} order(s) cancelled, {flattened} position(s) flattened; halted"
        );
        self.last_panic = Some((cancelled, flattened));
        self.report(Report::Panicked {
            cancelled,
            flattened,
        });
        self.halt();
    }

    fn publish(&mut self) {
        let mut open_orders: Vec<String> = self
            .orders
            .iter()
            .filter(|(_, t)| !t.done)
            .map(|(c, _)| c.clone())
            .collect();
        open_orders.sort();
        let mut balances: Vec<(String, Qty)> = self
            .balances
            .iter()
            .map(|(a, q)| (a.clone(), Qty::from_raw(*q)))
            .collect();
        balances.sort();
        let mut positions: Vec<(String, Qty)> = self
            .symbols
            .iter()
            .zip(&self.positions)
            .filter(|(s, p)| s.kind == MarketKind::Perp && **p != 0)
            .map(|(s, p)| (s.symbol.clone(), Qty::from_raw(*p)))
            .collect();
        positions.sort();
        let view = AccountView {
            open_orders,
            balances,
            positions,
            ready: self.ready,
            halted: self.halted,
            last_panic: self.last_panic,
            differences: self.differences.clone(),
            counters: self.counters,
        };
        *self.view.lock().unwrap_or_else(|p| p.into_inner()) = view;
    }
}

fn local_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn error_of(body: &str) -> (i64, String) {
    let v: Option<sonic_rs::Value> = sonic_rs::from_str(body).ok();
    let code = v.as_ref().and_then(|v| v["code"].as_i64()).unwrap_or(0);
    let msg = v
        .as_ref()
        .and_then(|v| v["msg"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (code, msg)
}

fn parse_order(body: &str) -> Option<VenueOrder> {
    let v: sonic_rs::Value = sonic_rs::from_str(body).ok()?;
    let quote = v["cummulativeQuoteQty"]
        .as_str()
        .or_else(|| v["cumQuote"].as_str())
        .unwrap_or("0");
    Some(VenueOrder {
        clid: v["clientOrderId"].as_str()?.to_owned(),
        status: v["status"].as_str()?.to_owned(),
        executed: Qty::from_decimal_str(v["executedQty"].as_str()?).ok()?,
        quote_raw: Qty::from_decimal_str(quote).ok()?.raw(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::live::keys::Signing;
    use crate::gateway::live::sign::HmacSigner;

    fn client() -> (Client, rtrb::Consumer<Report>) {
        let (_cmd_tx, cmd_rx) = rtrb::RingBuffer::new(8);
        let (rep_tx, rep_rx) = rtrb::RingBuffer::new(64);
        let sym = LiveSymbol {
            instrument: InstrumentId(0),
            symbol: "BTCUSDT".into(),
            kind: MarketKind::Perp,
            base: "BTC".into(),
            quote: "USDT".into(),
            fees: VenueFees {
                maker_centi_bps: 0,
                taker_centi_bps: 0,
            },
        };
        let parts = ClientParts {
            cfg: ClientConfig::new("http://127.0.0.1:9", "http://127.0.0.1:9", 1),
            creds: Credentials::new("k", Signing::Hmac(HmacSigner::new(b"s"))),
            symbols: vec![sym],
            view: Arc::new(Mutex::new(AccountView::default())),
        };
        let mut c = Client::new(parts, cmd_rx, rep_tx);
        c.orders.insert(
            "c1".into(),
            Tracked {
                id: OrderId(1),
                sym: 0,
                side: OrderSide::Buy,
                style: OrderStyle::PostOnly,
                qty: Qty::from_decimal_str("3").unwrap(),
                executed: Qty::ZERO,
                quote_raw: 0,
                acked: false,
                done: false,
                internal: false,
            },
        );
        (c, rep_rx)
    }

    fn answer(status: &str, executed: &str, quote: &str) -> VenueOrder {
        VenueOrder {
            clid: "c1".into(),
            status: status.into(),
            executed: Qty::from_decimal_str(executed).unwrap(),
            quote_raw: Qty::from_decimal_str(quote).unwrap().raw(),
        }
    }

    fn drain(rx: &mut rtrb::Consumer<Report>) -> Vec<Report> {
        std::iter::from_fn(|| rx.pop().ok()).collect()
    }

    #[test]
    fn test_client_duplicates_and_stale_answers_add_nothing() {
        let (mut c, mut rx) = client();
        c.apply(&answer("PARTIALLY_FILLED", "1", "100"));
        let first = drain(&mut rx);
        assert!(
            matches!(first[..], [Report::Ack(_), Report::Fill(f)] if f.qty == Qty::from_decimal_str("1").unwrap())
        );
        // The same answer again, then an older one (out of order): nothing new.
        c.apply(&answer("PARTIALLY_FILLED", "1", "100"));
        c.apply(&answer("NEW", "0", "0"));
        assert!(drain(&mut rx).is_empty());
        assert_eq!(c.positions[0], Qty::from_decimal_str("1").unwrap().raw());
        // The terminal answer carries the rest: one fill of the difference, then Done.
        c.apply(&answer("FILLED", "3", "310"));
        let last = drain(&mut rx);
        assert!(
            matches!(last[..], [Report::Fill(f), Report::Done { state: OrderState::Filled, .. }]
            if f.qty == Qty::from_decimal_str("2").unwrap() && f.notional_raw == Qty::from_decimal_str("210").unwrap().raw())
        );
        c.apply(&answer("FILLED", "3", "310"));
        assert!(drain(&mut rx).is_empty(), "done is final");
        assert_eq!(c.positions[0], Qty::from_decimal_str("3").unwrap().raw());
        assert_eq!(c.counters.stale_answers, 3);
    }

    #[test]
    fn test_client_terminal_answer_first_still_reports_every_fill() {
        let (mut c, mut rx) = client();
        c.apply(&answer("CANCELED", "2", "200"));
        let r = drain(&mut rx);
        assert!(
            matches!(r[..], [Report::Ack(_), Report::Fill(f), Report::Done { state: OrderState::Cancelled, .. }]
            if f.qty == Qty::from_decimal_str("2").unwrap())
        );
    }
}
