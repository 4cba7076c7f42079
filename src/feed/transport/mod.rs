//! WebSocket connections over non-blocking TCP, driven by a mio event loop on the feed
//! thread: connect, handshake, subscribe, read frames, keep each connection alive with
//! the venue's heartbeat, notice dead connections and reconnect them with backoff.
//!
//! Every connection is a state machine ([`link`]) stepped by [`Transport::tick`] on the
//! feed thread itself: `Waiting` (backoff) → `Connecting` (non-blocking TCP connect) →
//! `Handshaking` (tungstenite's `MidHandshake`, resumed until it stops returning
//! `WouldBlock`) → `Open`. NB: a helper thread handing connected sockets back through a
//! ring was the alternative; the state machine was chosen because it needs no thread, no
//! socket hand-over and no second poller, every step is a non-blocking syscall (so the hot
//! loop never waits on a peer), and reconnects stay on the thread that owns the decoders,
//! which then learns of every transition in order through [`Notice`]s. The one blocking
//! call left is DNS, done once per connection at start-up (the address is kept). A
//! connection may also be `Parked` (a standby for a planned replacement, see
//! [`crate::feed::rotation`]): closed and not retrying until [`Transport::open`];
//! [`Transport::park`] closes one on purpose, without a `Down` notice.
//!
//! Hot: [`Transport::poll_readiness`] asks mio (zero timeout) which sockets became
//! readable, [`Transport::read`] reads them frame by frame until the socket would block.
//! tungstenite keeps its own read buffer (sized by `read_buffer_bytes`) and caps frame and
//! message sizes, so a hostile peer cannot make us allocate without bound: a larger frame
//! ends the connection. Every frame (data or control) marks the connection alive; server
//! pings are answered by tungstenite and the pong flushed by the next read or tick.
//!
//! Warm ([`Transport::tick`], at most once per [`TICK`]): silence and pong deadlines,
//! the venue's own ping on its interval, flushing queued writes, and connection set-up.
//! Cold (may allocate): connect, TLS and WebSocket handshakes, subscribe, close, the log
//! lines. `wss://` runs rustls over the same non-blocking socket ([`stream`]), trusting
//! the bundled webpki roots and any root added with [`Transport::trust_root`].

mod backoff;
mod link;
mod stream;
#[cfg(test)]
mod tests;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use mio::{Events, Poll, Token};

pub use backoff::Backoff;
use link::{Connection, Link};
use rustls::pki_types::{CertificateDer, ServerName};
use stream::Tls;
pub(crate) use stream::client_config;

use crate::runtime::Clock;

/// Finest granularity of the transport's timers: timeouts, pings and reconnects are
/// checked at most this often.
pub const TICK: Duration = Duration::from_millis(1);
/// Poll timeout while [`Transport::open_all`] waits for the start-up connections.
const START_POLL: Duration = Duration::from_millis(1);

/// Connection settings shared by every connection (the `[transport]` config section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportConfig {
    /// tungstenite's read buffer, bytes (default 128 KiB: a few hundred depth messages).
    pub read_buffer_bytes: usize,
    /// Largest accepted frame and message, bytes (default 4 MiB: a 5000-level Binance
    /// snapshot is about 250 KiB). A larger one ends the connection.
    pub message_bytes_max: usize,
    /// Longest a TCP connect plus WebSocket handshake may take (default 10 s).
    pub connect_timeout: Duration,
    /// A connection that received nothing for this long is dead (default 40 s: above the
    /// longest venue ping interval, 25 s, plus `pong_timeout`, so a quiet but healthy
    /// connection always hears a pong in time).
    pub silence_timeout: Duration,
    /// A venue ping unanswered for this long means a dead connection (default 10 s).
    pub pong_timeout: Duration,
    /// Overrides every venue's own ping interval (default `None`: the venue's).
    pub ping_interval: Option<Duration>,
    /// First reconnect delay (default 250 ms), doubled per failed attempt, with jitter.
    pub backoff_base: Duration,
    /// Longest reconnect delay (default 30 s).
    pub backoff_max: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            read_buffer_bytes: 128 * 1024,
            message_bytes_max: 4 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            silence_timeout: Duration::from_secs(40),
            pong_timeout: Duration::from_secs(10),
            ping_interval: None,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// A venue's application-level ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// The text frame sent (OKX `ping`, Bybit `{"op":"ping"}`, ...).
    pub message: &'static str,
    /// How often it is sent.
    pub interval: Duration,
}

/// Where one connection goes and what it sends after each (re)connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `ws://host:port/path`.
    pub url: String,
    /// Text frames sent after every handshake (the subscriptions).
    pub subscribe: Vec<String>,
    /// The venue's ping, if it has one.
    pub heartbeat: Option<Heartbeat>,
}

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL is not a `ws://host:port/path` URL this transport can reach: fix the
    /// configuration.
    #[error("unsupported URL `{url}`: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// A start-up connection did not open in time: is the venue (or simulator) up?
    #[error("connecting to {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// The last failure.
        reason: String,
    },
    /// The event loop could not be created or polled: an OS limit (file descriptors).
    #[error("event loop: {0}")]
    Poll(#[from] io::Error),
}

/// Why a connection ended (counted per connection, see [`LinkCounts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownReason {
    /// The peer sent a close frame or closed the socket.
    Closed,
    /// Nothing was received for `silence_timeout`.
    Silent,
    /// A ping went unanswered for `pong_timeout`.
    MissedPong,
    /// A frame or message above `message_bytes_max`.
    TooLarge,
    /// A socket or WebSocket protocol error.
    Error,
}

impl DownReason {
    /// A short name for logs and reports.
    pub const fn name(self) -> &'static str {
        match self {
            DownReason::Closed => "closed by peer",
            DownReason::Silent => "silent",
            DownReason::MissedPong => "missed pong",
            DownReason::TooLarge => "frame too large",
            DownReason::Error => "read error",
        }
    }
}

/// A connection's transition, for the feed stage (in the order they happened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Connection `index` is open and subscribed again.
    Up(usize),
    /// Connection `index` ended; it reconnects after its backoff.
    Down(usize, DownReason),
}

/// What happened to one connection so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Handshakes completed (the first connect included).
    pub opened: u64,
    /// Open connections lost, any reason.
    pub dropped: u64,
    /// ... of which: nothing received for `silence_timeout`.
    pub silent: u64,
    /// ... of which: a ping went unanswered.
    pub missed_pongs: u64,
    /// ... of which: a frame above the size limit.
    pub too_large: u64,
    /// Connect or handshake attempts that failed (refused, timed out, HTTP error).
    pub failed_attempts: u64,
    /// Venue pings sent.
    pub pings: u64,
}

/// One received data frame.
pub enum Frame<'a> {
    /// A text or binary payload.
    Data(&'a [u8]),
    /// Nothing to read now.
    Idle,
    /// The connection ended (close frame, EOF or error); it reconnects on its own.
    Closed,
}

/// The feed thread's sockets and their event loop.
pub struct Transport {
    poll: Poll,
    events: Events,
    conns: Vec<Connection>,
    config: TransportConfig,
    clock: Clock,
    last_tick_raw: u64,
    notices: Vec<Notice>,
    tls: Tls,
}

/// Notices a connection can queue between two drains (down, up, down, up).
const NOTICES_PER_CONNECTION: usize = 4;

impl Transport {
    /// An empty transport with room for `events_max` readiness events per poll.
    pub fn new(
        events_max: usize,
        config: TransportConfig,
        clock: Clock,
    ) -> Result<Self, TransportError> {
        Ok(Self {
            poll: Poll::new()?,
            events: Events::with_capacity(events_max),
            conns: Vec::new(),
            config,
            last_tick_raw: clock.raw(),
            clock,
            notices: Vec::new(),
            tls: Tls::new(),
        })
    }

    /// Trusts one more root certificate (DER) for `wss://` connections, besides the
    /// bundled webpki roots (a private venue gateway, the simulator's TLS mode). Cold.
    pub fn trust_root(&mut self, cert_der: Vec<u8>) {
        self.tls = self.tls.trusting(CertificateDer::from(cert_der));
    }

    /// Adds a connection (resolving its address now) and returns its index; it connects
    /// at the next [`Transport::tick`] or in [`Transport::open_all`].
    pub fn add(&mut self, endpoint: Endpoint) -> Result<usize, TransportError> {
        let addr = resolve(&endpoint.url)?;
        let index = self.conns.len();
        let seed = self.clock.raw() ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
        let backoff = Backoff::new(self.config.backoff_base, self.config.backoff_max, seed);
        self.conns
            .push(Connection::new(endpoint, addr, backoff, self.clock.raw()));
        self.notices = Vec::with_capacity(self.conns.len() * NOTICES_PER_CONNECTION);
        Ok(index)
    }

    /// Adds a parked connection (a standby for a planned replacement): it stays closed
    /// until [`Transport::open`]; returns its index.
    pub fn add_parked(&mut self, endpoint: Endpoint) -> Result<usize, TransportError> {
        let index = self.add(endpoint)?;
        self.conns[index].park(self.poll.registry());
        Ok(index)
    }

    /// Starts connecting a parked connection (no effect on others). Its `Up` notice
    /// follows when it is open and subscribed. Cold.
    pub fn open(&mut self, index: usize) {
        let now = self.clock.raw();
        self.conns[index].unpark(now);
    }

    /// Closes connection `index` on purpose and parks it: no `Down` notice, not counted
    /// as a drop, no reconnect. Cold.
    pub fn park(&mut self, index: usize) {
        if self.conns[index].is_open() {
            log::info!("feed: closing {} (replaced)", self.conns[index].url());
        }
        self.conns[index].park(self.poll.registry());
    }

    /// Whether connection `index` is parked.
    pub fn is_parked(&self, index: usize) -> bool {
        self.conns[index].is_parked()
    }

    /// When connection `index`'s current open began (clock raw), if it is open.
    pub fn opened_raw(&self, index: usize) -> Option<u64> {
        let conn = &self.conns[index];
        conn.is_open().then_some(conn.opened_raw)
    }

    /// Start-up: steps every connection until all are open (parked ones stay parked),
    /// or fails naming the first one still closed after `connect_timeout` (retrying with
    /// backoff meanwhile).
    pub fn open_all(&mut self) -> Result<(), TransportError> {
        let start = self.clock.raw();
        let timeout_ns = duration_ns(self.config.connect_timeout);
        loop {
            let now = self.clock.raw();
            self.step_all(now);
            if self.conns.iter().all(|c| c.is_open() || c.is_parked()) {
                self.notices.clear();
                return Ok(());
            }
            if self.clock.delta_ns(start, now) > timeout_ns {
                let conn = self.conns.iter().find(|c| !c.is_open() && !c.is_parked());
                return Err(TransportError::Connect {
                    url: conn.map(|c| c.url().to_owned()).unwrap_or_default(),
                    reason: conn
                        .and_then(|c| c.last_failure.clone())
                        .unwrap_or_else(|| "timed out".to_owned()),
                });
            }
            self.poll.poll(&mut self.events, Some(START_POLL))?;
            self.mark_readable();
        }
    }

    /// Number of connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Whether connection `index` is open.
    pub fn is_open(&self, index: usize) -> bool {
        self.conns[index].is_open()
    }

    /// What happened to connection `index` so far.
    pub fn counts(&self, index: usize) -> LinkCounts {
        self.conns[index].counts
    }

    /// The URL of connection `index`.
    pub fn url(&self, index: usize) -> &str {
        self.conns[index].url()
    }

    /// The next transition since the last call, oldest first.
    pub fn next_notice(&mut self) -> Option<Notice> {
        if self.notices.is_empty() {
            None
        } else {
            Some(self.notices.remove(0))
        }
    }

    /// The venue answered our ping on connection `index` (the decoder saw a pong).
    pub fn pong(&mut self, index: usize) {
        self.conns[index].pong_wait_since = None;
    }

    /// Queues a text frame on connection `index` and flushes what the socket takes now;
    /// the rest goes out with the next reads or ticks. Cold path (resyncs): it allocates.
    /// False when the connection is not open (a reconnect resubscribes anyway).
    pub fn send_text(&mut self, index: usize, text: &str) -> bool {
        let now = self.clock.raw();
        let conn = &mut self.conns[index];
        if conn.send(text.to_owned()).is_ok() {
            return true;
        }
        if conn.is_open() {
            let reason = DownReason::Error;
            self.close(index, reason, "write error", now);
        }
        false
    }

    /// Timers and set-up work, at most once per [`TICK`]: call every poll with a fresh
    /// clock reading.
    pub fn tick(&mut self, now_raw: u64) {
        if self.clock.delta_ns(self.last_tick_raw, now_raw) < duration_ns(TICK) {
            return;
        }
        self.last_tick_raw = now_raw;
        self.step_all(now_raw);
    }

    /// Polls the event loop without blocking and marks readable connections.
    pub fn poll_readiness(&mut self) -> io::Result<()> {
        self.poll.poll(&mut self.events, Some(Duration::ZERO))?;
        self.mark_readable();
        Ok(())
    }

    fn mark_readable(&mut self) {
        for event in &self.events {
            if let Some(conn) = self.conns.get_mut(event.token().0)
                && event.is_readable()
            {
                conn.readable = true;
            }
        }
    }

    /// Whether connection `index` may have data (open, readable and not yet drained).
    pub fn is_readable(&self, index: usize) -> bool {
        let conn = &self.conns[index];
        conn.readable && conn.is_open()
    }

    /// Reads the next data frame of connection `index`. Control frames are handled here
    /// (tungstenite queues the pong for a ping and flushes it while reading) and reported
    /// as `Idle` only when the socket has nothing more.
    pub fn read(&mut self, index: usize) -> Frame<'_> {
        match self.conns[index].read_message() {
            Ok(true) => match &self.conns[index].last {
                tungstenite::Message::Text(t) => Frame::Data(t.as_bytes()),
                tungstenite::Message::Binary(b) => Frame::Data(b),
                _ => Frame::Idle,
            },
            Ok(false) => Frame::Idle,
            Err(reason) => {
                let now = self.clock.raw();
                self.close(index, reason, reason.name(), now);
                Frame::Closed
            }
        }
    }

    fn step_all(&mut self, now: u64) {
        for index in 0..self.conns.len() {
            self.step(index, now);
        }
    }

    /// Advances connection `index`'s state machine by what is possible now.
    fn step(&mut self, index: usize, now: u64) {
        let clock = &self.clock;
        let config = &self.config;
        let conn = &mut self.conns[index];
        let outcome = match &conn.link {
            Link::Open(_) => conn.keep_alive(clock, config, now),
            _ => conn.advance(
                clock,
                (config, &self.tls),
                self.poll.registry(),
                Token(index),
                now,
            ),
        };
        match outcome {
            link::Step::Nothing => {}
            link::Step::Opened => {
                self.push_notice(Notice::Up(index));
                log::info!("feed: connected to {}", self.conns[index].url());
            }
            link::Step::Failed(why) => {
                let conn = &mut self.conns[index];
                let delay = conn.retry_later(self.poll.registry(), now);
                log::warn!(
                    "feed: connecting to {} failed ({why}); retrying in {delay:?}",
                    conn.url()
                );
                conn.last_failure = Some(why);
            }
            link::Step::Dead(reason) => self.close(index, reason, reason.name(), now),
        }
    }

    /// Ends an open connection: notice, counts, log, and a reconnect after the backoff.
    fn close(&mut self, index: usize, reason: DownReason, why: &str, now: u64) {
        let conn = &mut self.conns[index];
        if !conn.is_open() {
            return;
        }
        conn.count_drop(reason);
        let delay = conn.retry_later(self.poll.registry(), now);
        log::warn!(
            "feed: connection {} lost ({why}); reconnecting in {delay:?}",
            conn.url()
        );
        self.push_notice(Notice::Down(index, reason));
    }

    fn push_notice(&mut self, notice: Notice) {
        if self.notices.len() < self.notices.capacity() {
            self.notices.push(notice);
        }
    }
}

/// A duration in nanoseconds, saturated.
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The address of a `ws://` or `wss://` URL, and the server name TLS checks (`wss://`).
fn resolve(url: &str) -> Result<(SocketAddr, Option<ServerName<'static>>), TransportError> {
    let err = |reason| TransportError::Url {
        url: url.to_string(),
        reason,
    };
    let (rest, tls, default_port) = match (url.strip_prefix("ws://"), url.strip_prefix("wss://")) {
        (Some(rest), _) => (rest, false, 80),
        (_, Some(rest)) => (rest, true, 443),
        _ => return Err(err("the URL must start with ws:// or wss://")),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, port.parse::<u16>().map_err(|_| err("bad port"))?)
        }
        _ => (authority, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|_| err("host:port does not resolve"))?
        .next()
        .ok_or_else(|| err("host:port does not resolve"))?;
    let name = if tls {
        Some(ServerName::try_from(host.to_owned()).map_err(|_| err("bad TLS server name"))?)
    } else {
        None
    };
    Ok((addr, name))
}
