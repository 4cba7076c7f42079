//! One connection's state machine: `Waiting` → `Connecting` → `Handshaking` (TLS then
//! WebSocket, for `wss://`) → `Open`, and back to `Waiting` (with a backoff delay) on
//! any failure or death.
//!
//! Owned by [`super::Transport`] on the feed thread. Every step is a non-blocking call:
//! the TCP connect completes in the background (mio), the handshake is resumed from
//! tungstenite's `MidHandshake` each tick until it stops returning `WouldBlock`. Reading
//! an open connection is hot and allocation-free in steady state (tungstenite reuses its
//! buffers; the last message is kept so the caller can borrow its payload). Set-up,
//! pings and failures are cold: they may allocate.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use tungstenite::client::client_with_config;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, Utf8Bytes, WebSocket};

use super::stream::{Stream, Tls};
use super::{Backoff, DownReason, Endpoint, LinkCounts, TransportConfig, duration_ns};
use crate::runtime::Clock;
use rustls::pki_types::ServerName;

/// Where a connection is.
pub(super) enum Link {
    /// Closed; the next attempt starts when `since_raw + wait` has passed.
    Waiting { since_raw: u64, wait: Duration },
    /// TCP connect in progress.
    Connecting { stream: TcpStream, since_raw: u64 },
    /// WebSocket handshake in progress.
    Handshaking {
        mid: Box<MidHandshake<ClientHandshake<Stream>>>,
        since_raw: u64,
    },
    /// Open and subscribed.
    Open(Box<WebSocket<Stream>>),
    /// Not connected and not trying: a standby kept for a planned replacement (see
    /// [`crate::feed::rotation`]); [`super::Transport::open`] starts it.
    Parked,
}

/// What a step did.
pub(super) enum Step {
    /// Nothing changed.
    Nothing,
    /// The handshake completed and the subscriptions were queued.
    Opened,
    /// A connect or handshake attempt failed (why).
    Failed(String),
    /// An open connection is dead.
    Dead(DownReason),
}

/// One connection.
pub(super) struct Connection {
    endpoint: Endpoint,
    addr: SocketAddr,
    /// The server name TLS checks (`wss://`), `None` for plain `ws://`.
    tls_host: Option<ServerName<'static>>,
    pub(super) link: Link,
    backoff: Backoff,
    /// May have data: a readiness event arrived and the socket was not drained since.
    pub(super) readable: bool,
    /// Something arrived since the last tick (turned into `last_rx_raw` there).
    rx_seen: bool,
    last_rx_raw: u64,
    last_ping_raw: u64,
    /// When the oldest unanswered ping was sent.
    pub(super) pong_wait_since: Option<u64>,
    /// The last data message read (its payload is what [`super::Frame::Data`] borrows).
    pub(super) last: Message,
    pub(super) counts: LinkCounts,
    pub(super) last_failure: Option<String>,
    /// When the current open began (its handshake completed).
    pub(super) opened_raw: u64,
}

impl Connection {
    /// A connection that attempts its first connect at once.
    pub(super) fn new(
        endpoint: Endpoint,
        (addr, tls_host): (SocketAddr, Option<ServerName<'static>>),
        backoff: Backoff,
        now: u64,
    ) -> Self {
        Self {
            endpoint,
            addr,
            tls_host,
            link: Link::Waiting {
                since_raw: now,
                wait: Duration::ZERO,
            },
            backoff,
            readable: false,
            rx_seen: false,
            last_rx_raw: now,
            last_ping_raw: now,
            pong_wait_since: None,
            last: Message::Pong(Default::default()),
            counts: LinkCounts::default(),
            last_failure: None,
            opened_raw: now,
        }
    }

    pub(super) fn url(&self) -> &str {
        &self.endpoint.url
    }

    pub(super) fn is_open(&self) -> bool {
        matches!(self.link, Link::Open(_))
    }

    pub(super) fn is_parked(&self) -> bool {
        matches!(self.link, Link::Parked)
    }

    /// Reads messages until a data one (`Ok(true)`, kept in `last`), nothing more to
    /// read now (`Ok(false)`), or the end of the connection.
    pub(super) fn read_message(&mut self) -> Result<bool, DownReason> {
        let Link::Open(ws) = &mut self.link else {
            self.readable = false;
            return Ok(false);
        };
        loop {
            match ws.read() {
                Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                    self.rx_seen = true;
                    self.last = msg;
                    return Ok(true);
                }
                Ok(Message::Close(_)) => return Err(DownReason::Closed),
                Ok(_) => self.rx_seen = true,
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(false);
                }
                Err(tungstenite::Error::Capacity(_)) => return Err(DownReason::TooLarge),
                Err(
                    tungstenite::Error::ConnectionClosed
                    | tungstenite::Error::AlreadyClosed
                    | tungstenite::Error::Protocol(
                        tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                    ),
                ) => return Err(DownReason::Closed),
                Err(_) => return Err(DownReason::Error),
            }
        }
    }

    /// Queues a text frame and flushes what the socket takes; `Err` when not open or
    /// the connection failed. A static `Utf8Bytes` (the venue pings) is sent without
    /// allocating.
    pub(super) fn send(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), ()> {
        let Link::Open(ws) = &mut self.link else {
            return Err(());
        };
        match ws.send(Message::Text(text.into())) {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(_) => Err(()),
        }
    }

    /// An open connection's timers: silence, the pong deadline, the venue's ping, and a
    /// flush of anything queued.
    pub(super) fn keep_alive(&mut self, clock: &Clock, config: &TransportConfig, now: u64) -> Step {
        if std::mem::take(&mut self.rx_seen) {
            self.last_rx_raw = now;
        }
        if clock.delta_ns(self.last_rx_raw, now) > duration_ns(config.silence_timeout) {
            return Step::Dead(DownReason::Silent);
        }
        if let Some(since) = self.pong_wait_since
            && clock.delta_ns(since, now) > duration_ns(config.pong_timeout)
        {
            return Step::Dead(DownReason::MissedPong);
        }
        if let Some(heartbeat) = self.endpoint.heartbeat {
            let interval = config.ping_interval.unwrap_or(heartbeat.interval);
            if clock.delta_ns(self.last_ping_raw, now) >= duration_ns(interval) {
                self.last_ping_raw = now;
                self.counts.pings += 1;
                self.pong_wait_since.get_or_insert(now);
                if self
                    .send(Utf8Bytes::from_static(heartbeat.message))
                    .is_err()
                {
                    return Step::Dead(DownReason::Error);
                }
            }
        }
        let Link::Open(ws) = &mut self.link else {
            return Step::Nothing;
        };
        match ws.flush() {
            Ok(()) => Step::Nothing,
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                Step::Nothing
            }
            Err(_) => Step::Dead(DownReason::Error),
        }
    }

    /// Moves a connection that is not open forward: start an attempt when its wait is
    /// over, finish the TCP connect, resume the handshake, subscribe.
    pub(super) fn advance(
        &mut self,
        clock: &Clock,
        (config, tls): (&TransportConfig, &Tls),
        registry: &Registry,
        token: Token,
        now: u64,
    ) -> Step {
        let timeout_ns = duration_ns(config.connect_timeout);
        let link = std::mem::replace(
            &mut self.link,
            Link::Waiting {
                since_raw: now,
                wait: Duration::ZERO,
            },
        );
        let (link, step) = match link {
            Link::Waiting { since_raw, wait }
                if clock.delta_ns(since_raw, now) < duration_ns(wait) =>
            {
                (Link::Waiting { since_raw, wait }, Step::Nothing)
            }
            Link::Waiting { .. } => self.start_connect(registry, token, now),
            Link::Connecting { stream, since_raw } => {
                if clock.delta_ns(since_raw, now) > timeout_ns {
                    let mut stream = stream;
                    let _ = registry.deregister(&mut stream);
                    (self.waiting(now), Step::Failed("connect timed out".into()))
                } else {
                    self.finish_connect(stream, since_raw, (config, tls), registry, now)
                }
            }
            Link::Handshaking { mut mid, since_raw } => {
                if clock.delta_ns(since_raw, now) > timeout_ns {
                    deregister_mid(registry, &mut mid);
                    (
                        self.waiting(now),
                        Step::Failed("handshake timed out".into()),
                    )
                } else {
                    self.resume_handshake(mid.handshake(), since_raw, now)
                }
            }
            open @ Link::Open(_) => (open, Step::Nothing),
            Link::Parked => (Link::Parked, Step::Nothing),
        };
        self.link = link;
        if matches!(step, Step::Failed(_)) {
            self.counts.failed_attempts += 1;
        }
        if matches!(step, Step::Opened) {
            self.opened(now)
        } else {
            step
        }
    }

    fn waiting(&self, now: u64) -> Link {
        Link::Waiting {
            since_raw: now,
            wait: Duration::ZERO,
        }
    }

    fn start_connect(&mut self, registry: &Registry, token: Token, now: u64) -> (Link, Step) {
        let attempt = TcpStream::connect(self.addr).and_then(|mut stream| {
            stream.set_nodelay(true)?;
            registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
            Ok(stream)
        });
        match attempt {
            Ok(stream) => (
                Link::Connecting {
                    stream,
                    since_raw: now,
                },
                Step::Nothing,
            ),
            Err(e) => (self.waiting(now), Step::Failed(format!("connect: {e}"))),
        }
    }

    fn finish_connect(
        &mut self,
        mut stream: TcpStream,
        since_raw: u64,
        (config, tls): (&TransportConfig, &Tls),
        registry: &Registry,
        now: u64,
    ) -> (Link, Step) {
        let failed = |e: io::Error, stream: &mut TcpStream| {
            let _ = registry.deregister(stream);
            Step::Failed(format!("connect: {e}"))
        };
        match stream.take_error() {
            Ok(Some(e)) | Err(e) => return (self.waiting(now), failed(e, &mut stream)),
            Ok(None) => {}
        }
        match stream.peer_addr() {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                return (Link::Connecting { stream, since_raw }, Step::Nothing);
            }
            Err(e) => return (self.waiting(now), failed(e, &mut stream)),
        }
        let stream = match &self.tls_host {
            None => Stream::Plain(stream),
            Some(host) => match tls.wrap(host, stream) {
                Ok(s) => s,
                Err(e) => return (self.waiting(now), Step::Failed(format!("TLS: {e}"))),
            },
        };
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(config.read_buffer_bytes)
            .max_message_size(Some(config.message_bytes_max))
            .max_frame_size(Some(config.message_bytes_max));
        let attempt = client_with_config(self.endpoint.url.as_str(), stream, Some(ws_config));
        self.resume_handshake(attempt, since_raw, now)
    }

    fn resume_handshake(
        &mut self,
        attempt: Result<
            (WebSocket<Stream>, tungstenite::handshake::client::Response),
            HandshakeError<ClientHandshake<Stream>>,
        >,
        since_raw: u64,
        now: u64,
    ) -> (Link, Step) {
        match attempt {
            Ok((ws, _response)) => (Link::Open(Box::new(ws)), Step::Opened),
            Err(HandshakeError::Interrupted(mid)) => (
                Link::Handshaking {
                    mid: Box::new(mid),
                    since_raw,
                },
                Step::Nothing,
            ),
            // The socket went with the failed handshake; closing it removed it from the
            // poller.
            Err(HandshakeError::Failure(e)) => {
                (self.waiting(now), Step::Failed(format!("handshake: {e}")))
            }
        }
    }

    /// A handshake just completed: subscribe, reset the timers and the backoff.
    fn opened(&mut self, now: u64) -> Step {
        self.counts.opened += 1;
        self.opened_raw = now;
        self.backoff.reset();
        self.readable = true;
        self.rx_seen = false;
        self.last_rx_raw = now;
        self.last_ping_raw = now;
        self.pong_wait_since = None;
        self.last_failure = None;
        for message in self.endpoint.subscribe.clone() {
            if self.send(message).is_err() {
                return Step::Dead(DownReason::Error);
            }
        }
        Step::Opened
    }

    /// Counts why an open connection ended.
    pub(super) fn count_drop(&mut self, reason: DownReason) {
        self.counts.dropped += 1;
        match reason {
            DownReason::Silent => self.counts.silent += 1,
            DownReason::MissedPong => self.counts.missed_pongs += 1,
            DownReason::TooLarge => self.counts.too_large += 1,
            DownReason::Closed | DownReason::Error => {}
        }
    }

    /// Closes whatever socket the connection holds and waits for the next attempt;
    /// returns the delay.
    pub(super) fn retry_later(&mut self, registry: &Registry, now: u64) -> Duration {
        let wait = self.backoff.next_delay();
        let old = std::mem::replace(
            &mut self.link,
            Link::Waiting {
                since_raw: now,
                wait,
            },
        );
        match old {
            Link::Open(mut ws) => {
                let _ = registry.deregister(ws.get_mut().tcp());
            }
            Link::Connecting { mut stream, .. } => {
                let _ = registry.deregister(&mut stream);
            }
            Link::Handshaking { mut mid, .. } => deregister_mid(registry, &mut mid),
            Link::Waiting { .. } => {}
            Link::Parked => self.link = Link::Parked,
        }
        self.readable = false;
        self.pong_wait_since = None;
        wait
    }

    /// Parks the connection: an open one is closed with a close frame (best effort, the
    /// socket is dropped right after), any attempt in progress abandoned.
    pub(super) fn park(&mut self, registry: &Registry) {
        match std::mem::replace(&mut self.link, Link::Parked) {
            Link::Open(mut ws) => {
                let _ = ws.close(None);
                let _ = ws.flush();
                let _ = registry.deregister(ws.get_mut().tcp());
            }
            Link::Connecting { mut stream, .. } => {
                let _ = registry.deregister(&mut stream);
            }
            Link::Handshaking { mut mid, .. } => deregister_mid(registry, &mut mid),
            Link::Waiting { .. } | Link::Parked => {}
        }
        self.readable = false;
        self.pong_wait_since = None;
    }

    /// Unparks: the first attempt starts at the next step.
    pub(super) fn unpark(&mut self, now: u64) {
        if self.is_parked() {
            self.backoff.reset();
            self.link = self.waiting(now);
        }
    }
}

/// Removes an abandoned handshake's socket from the poller (dropping it closes it).
fn deregister_mid(registry: &Registry, mid: &mut MidHandshake<ClientHandshake<Stream>>) {
    let _ = registry.deregister(mid.get_mut().get_mut().tcp());
}
