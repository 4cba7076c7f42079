//! One simulated client connection (plain or TLS, see `tls`): an HTTP request goes to
//! `rest`; otherwise the
//! WebSocket handshake (the path picks the market: `/{venue}/{spot|perp}` of a
//! configured venue, the Binance aliases `/ws/spot`, `/ws/perp`, and Binance USD-M's
//! endpoint groups `/binance/perp/{public|market}/ws`; see `Market::from_path`), then a loop that
//! answers requests (per venue, see `subscription`; any of the market's symbols) and
//! forwards the subscribed frames.
//!
//! Runs on its own thread (one per connection, cold path; at most
//! [`super::hub::CONNECTIONS_MAX`]). Allocates request replies and tungstenite's buffers;
//! bounded: at most [`WRITE_BATCH_MAX`] frames are written between flushes, no new frame
//! is taken while a flush is incomplete (so the socket's backlog stays in the bounded
//! queue, whose overflow closes the connection), and tungstenite's write buffer is capped
//! at [`WRITE_BUFFER_MAX`].
//!
//! After the handshake the socket is non-blocking. The loop reads every pending client
//! message (tungstenite answers pings with pongs while reading), then writes up to a
//! batch of queued frames and flushes once; when there was nothing to do it waits on the
//! frame queue for at most [`IDLE_WAIT`], so a frame is forwarded as soon as the model
//! queues it and a client request waits at most [`IDLE_WAIT`]. A Binance client that
//! sends more messages in a second than the venue allows (5 spot, 10 USD-M) is
//! disconnected, as the venue does.

use super::SimVenue;
use super::fault::{FaultState, Verdict};
use super::hub::{Link, Shared};
use super::market::{Listing, Market, StreamKind};
use super::rest;
use super::subscription::{RequestContext, handle_request};
use super::tls::{Identity, SimStream};
use crate::runtime::{Clock, clock};
use crate::types::Venue;
use crossbeam::channel::RecvTimeoutError;
use log::{info, warn};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::StatusCode;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error as WsError, Message, Utf8Bytes, WebSocket};

/// Longest a client may take to complete the handshake, and longest a blocked write may
/// wait during it.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the peer to take the close frame we send (after the frames buffered
/// before it) when we end a connection.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest idle wait on the frame queue before client messages are read again.
pub(crate) const IDLE_WAIT: Duration = Duration::from_millis(1);
/// Frames written between two flushes.
pub(crate) const WRITE_BATCH_MAX: usize = 256;
/// Client messages handled per loop turn, so a flooding client cannot starve writes.
pub(crate) const READ_BATCH_MAX: usize = 64;
/// Largest client message, bytes: a request naming every stream fits many times over.
pub(crate) const CLIENT_MESSAGE_MAX: usize = 64 << 10;
/// Cap of tungstenite's write buffer, bytes; overflow closes the connection.
pub(crate) const WRITE_BUFFER_MAX: usize = 16 << 20;

/// Why a connection loop ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionEnd {
    /// The client closed the connection: nothing to do.
    #[error("closed by the client")]
    ClientClosed,
    /// The simulator is stopping: the connection is closed with "going away".
    #[error("simulator stopping")]
    Stopping,
    /// The frame queue overflowed: the connection is closed with a policy error.
    #[error("slow consumer: frame queue full")]
    SlowConsumer,
    /// The socket or the WebSocket protocol failed: the connection is dropped.
    #[error("websocket error: {0}")]
    Ws(#[from] WsError),
    /// The fault plan drops the connection (no close frame).
    #[error("fault plan: connection dropped")]
    FaultClose,
    /// The client sent more messages in a second than the venue allows (Binance):
    /// the connection is closed with a policy error, as the venue disconnects it.
    #[error("too many incoming messages")]
    TooManyMessages,
}

/// Binance's limit of incoming messages (pings, pongs and requests alike) per second on
/// one connection: 5 on spot, 10 on USD-M; other venues' limits are not enforced.
fn incoming_per_second_max(market: Market) -> Option<u32> {
    match (market.venue, market.kind) {
        (Venue::Binance, crate::types::MarketKind::Spot) => Some(5),
        (Venue::Binance, crate::types::MarketKind::Perp) => Some(10),
        _ => None,
    }
}

/// Serves one accepted TCP stream until it closes or the simulator stops; with an
/// `identity`, over TLS (a client that refuses the certificate ends here, logged).
pub(crate) fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    routes: &Routes,
    identity: Option<&Identity>,
) {
    let mut stream = match prepare(&tcp).and_then(|()| SimStream::new(tcp, identity)) {
        Ok(stream) => stream,
        Err(e) => {
            info!("sim: refused {peer}: {e}");
            return;
        }
    };
    match rest::read_head(&mut stream) {
        Ok((_, true)) => {}
        Ok((len, false)) => {
            if let Err(e) = rest::serve(stream, len, routes, shared) {
                info!("sim: REST request from {peer} failed: {e}");
            }
            return;
        }
        Err(e) => {
            info!("sim: refused {peer}: {e}");
            return;
        }
    }
    let (mut ws, market, served) = match handshake(stream, routes, shared) {
        Ok(accepted) => accepted,
        Err(e) => {
            info!("sim: refused {peer}: {e}");
            return;
        }
    };
    info!("sim: {peer} connected to {market:?}");
    let symbols = routes.request_symbols(market);
    let link = shared.register(market, symbols.len());
    let conn_id = format!("sim{:012x}", link.id);
    let fault = shared.connection_fault(market, faultable(served));
    if let Some(f) = fault {
        info!(
            "sim: {peer} ({market:?}) gets fault {:?} after {} frames",
            f.action, f.after_frames
        );
    }
    let mut conn = Connection::new(&mut ws, &link, shared, market, &symbols, &conn_id);
    conn.served = served;
    conn.fault = FaultState::new(market.venue, fault);
    let end = conn.run();
    shared.unregister(link.id);
    close(&mut ws, &end);
    match end {
        ConnectionEnd::SlowConsumer | ConnectionEnd::TooManyMessages => {
            warn!("sim: closed {peer} ({market:?}): {end}");
        }
        _ => info!("sim: {peer} ({market:?}) ended: {end}"),
    }
}

/// One configured symbol.
#[derive(Clone, Debug)]
struct Route {
    listing: Listing,
    /// As the venue prints it in frames and REST (Binance: upper case).
    wire: String,
    /// As requests name it (Binance stream names: lower case).
    request: String,
}

/// The configured symbols, as connections need them.
#[derive(Clone, Debug)]
pub(crate) struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    /// The routes of every configured venue's symbols; a symbol's index counts its
    /// venue's symbols of its kind in configuration order.
    pub(crate) fn new(venues: &[SimVenue]) -> Self {
        let mut routes: Vec<Route> = Vec::new();
        for v in venues {
            for m in &v.markets {
                let market = Market {
                    venue: v.venue,
                    kind: m.kind,
                };
                let index = routes.iter().filter(|r| r.listing.market == market).count();
                let (wire, request) = match v.venue {
                    Venue::Binance => {
                        (m.symbol.to_ascii_uppercase(), m.symbol.to_ascii_lowercase())
                    }
                    _ => (m.symbol.clone(), m.symbol.clone()),
                };
                routes.push(Route {
                    listing: Listing { market, index },
                    wire,
                    request,
                });
            }
        }
        Self { routes }
    }

    fn has(&self, market: Market) -> bool {
        self.routes.iter().any(|r| r.listing.market == market)
    }

    /// Every configured symbol.
    pub(crate) fn listings(&self) -> Vec<Listing> {
        self.routes.iter().map(|r| r.listing).collect()
    }

    /// The symbol of `market` that the venue prints (or requests name) as `symbol`.
    pub(crate) fn listing(&self, market: Market, symbol: &str) -> Option<Listing> {
        self.routes
            .iter()
            .find(|r| r.listing.market == market && (r.wire == symbol || r.request == symbol))
            .map(|r| r.listing)
    }

    /// The symbols of a market as requests name them, in index order.
    fn request_symbols(&self, market: Market) -> Vec<String> {
        self.routes
            .iter()
            .filter(|r| r.listing.market == market)
            .map(|r| r.request.clone())
            .collect()
    }
}

/// Blocking mode with the handshake's timeouts, no Nagle.
fn prepare(stream: &TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT))
}

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
enum HandshakeFailure {
    /// Socket options could not be set.
    #[error("socket setup: {0}")]
    Io(#[from] io::Error),
    /// The client's handshake was invalid, too slow, or asked for an unknown path (404).
    #[error("handshake: {0}")]
    Handshake(String),
}

/// Whether the fault plan applies to a connection serving `served` streams: on a market
/// split over endpoint groups (Binance USD-M), only the connections of the book's group
/// count and get faults, so a plan hits the same connection whatever order a client
/// opens its groups in.
fn faultable(served: u8) -> bool {
    served & StreamKind::Depth.bit() != 0
}

/// Completes the server handshake; the request path selects a configured market (and
/// the streams it serves, see [`Market::from_path`]), any other path is answered 404.
fn handshake(
    stream: SimStream,
    routes: &Routes,
    shared: &Shared,
) -> Result<(WebSocket<SimStream>, Market, u8), HandshakeFailure> {
    let mut market = None;
    // The callback's signature (and its large error type) is tungstenite's.
    #[allow(clippy::result_large_err)]
    let route = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        market = Market::from_path(request.uri().path()).filter(|(m, _)| routes.has(*m));
        match market {
            Some((m, served)) if shared.refuse_handshake(m, faultable(served)) => {
                Err(unavailable())
            }
            Some(_) => Ok(response),
            None => Err(not_found()),
        }
    };
    let config = WebSocketConfig::default()
        .max_write_buffer_size(WRITE_BUFFER_MAX)
        .max_message_size(Some(CLIENT_MESSAGE_MAX))
        .max_frame_size(Some(CLIENT_MESSAGE_MAX));
    let ws = tungstenite::accept_hdr_with_config(stream, route, Some(config))
        .map_err(|e| HandshakeFailure::Handshake(e.to_string()))?;
    let (market, served) =
        market.ok_or_else(|| HandshakeFailure::Handshake("no path".to_owned()))?;
    ws.get_ref().tcp().set_nonblocking(true)?;
    Ok((ws, market, served))
}

fn unavailable() -> ErrorResponse {
    let mut response = ErrorResponse::new(Some("fault plan: handshake refused".to_owned()));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
}

fn not_found() -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(
        "unknown path: use /{venue}/spot or /{venue}/perp of a configured venue".to_owned(),
    ));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// Best-effort close frame for the ends we initiate.
fn close(ws: &mut WebSocket<SimStream>, end: &ConnectionEnd) {
    let (code, reason) = match end {
        ConnectionEnd::Stopping => (CloseCode::Away, "simulator stopping"),
        ConnectionEnd::SlowConsumer => (CloseCode::Policy, "slow consumer"),
        ConnectionEnd::TooManyMessages => (CloseCode::Policy, "too many requests"),
        ConnectionEnd::ClientClosed | ConnectionEnd::Ws(_) | ConnectionEnd::FaultClose => return,
    };
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // The close frame goes after everything already buffered: give the peer up to
    // CLOSE_TIMEOUT to take it. The peer may be gone: a failed close needs no action.
    let _ = ws.get_ref().tcp().set_nonblocking(false);
    let _ = ws.get_ref().tcp().set_write_timeout(Some(CLOSE_TIMEOUT));
    let _ = ws.close(Some(frame));
    let _ = ws.flush();
}

/// The loop state of one connection.
struct Connection<'a> {
    ws: &'a mut WebSocket<SimStream>,
    link: &'a Link,
    shared: &'a Shared,
    market: Market,
    /// The market's symbols as requests name them.
    symbols: Vec<&'a str>,
    conn_id: &'a str,
    /// Wall clock for the venue pongs that carry the time.
    clock: Clock,
    /// A frame taken from the queue while idle, written first on the next turn.
    held: Option<Utf8Bytes>,
    /// The last flush hit a full socket: retry it before taking more frames.
    flush_pending: bool,
    /// The fault plan's progress on this connection.
    fault: FaultState,
    /// The fault plan stalled the connection: nothing is sent any more.
    stalled: bool,
    /// The streams its path serves ([`Market::from_path`]); subscriptions to others
    /// are acknowledged and change nothing.
    served: u8,
    /// Start of the current second of incoming messages, and how many arrived in it.
    incoming: (std::time::Instant, u32),
}

impl<'a> Connection<'a> {
    fn new(
        ws: &'a mut WebSocket<SimStream>,
        link: &'a Link,
        shared: &'a Shared,
        market: Market,
        symbols: &'a [String],
        conn_id: &'a str,
    ) -> Self {
        Self {
            ws,
            link,
            shared,
            market,
            symbols: symbols.iter().map(String::as_str).collect(),
            conn_id,
            clock: Clock::new(),
            held: None,
            flush_pending: false,
            fault: FaultState::new(market.venue, None),
            stalled: false,
            served: super::market::ALL_STREAMS,
            incoming: (clock::monotonic_now(), 0),
        }
    }

    /// Runs until the connection ends; returns why.
    fn run(&mut self) -> ConnectionEnd {
        loop {
            if let Err(end) = self.turn() {
                return end;
            }
        }
    }

    /// One loop turn: stop checks, reads, writes, then an idle wait if nothing moved.
    fn turn(&mut self) -> Result<(), ConnectionEnd> {
        if self.shared.stopping() {
            return Err(ConnectionEnd::Stopping);
        }
        if self.stalled {
            return self.stalled_turn();
        }
        if self.link.slow.load(Ordering::Acquire) {
            return Err(ConnectionEnd::SlowConsumer);
        }
        let read = self.read_requests()?;
        let wrote = self.write_frames()?;
        if read || wrote {
            return Ok(());
        }
        if self.flush_pending {
            clock::sleep(IDLE_WAIT);
            return Ok(());
        }
        match self.link.rx.recv_timeout(IDLE_WAIT) {
            Ok(text) => self.held = Some(text),
            Err(RecvTimeoutError::Timeout) => {}
            // The model dropped our queue: only after flagging us slow.
            Err(RecvTimeoutError::Disconnected) => return Err(ConnectionEnd::SlowConsumer),
        }
        Ok(())
    }

    /// A stalled connection's turn: read and ignore the client until it closes.
    fn stalled_turn(&mut self) -> Result<(), ConnectionEnd> {
        loop {
            match self.ws.read() {
                Ok(_) => {}
                Err(WsError::Io(e)) if would_block(&e) => break,
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                    return Err(ConnectionEnd::ClientClosed);
                }
                Err(e) => return Err(e.into()),
            }
        }
        clock::sleep(IDLE_WAIT);
        Ok(())
    }

    /// Handles the client messages already received; returns whether there were any.
    fn read_requests(&mut self) -> Result<bool, ConnectionEnd> {
        let mut any = false;
        for _ in 0..READ_BATCH_MAX {
            let message = self.ws.read();
            if matches!(message, Ok(ref m) if !m.is_close()) {
                self.count_incoming()?;
            }
            match message {
                Ok(Message::Text(text)) => {
                    self.answer(&text)?;
                    any = true;
                }
                // Pings are answered by tungstenite; close frames end in ConnectionClosed.
                Ok(_) => any = true,
                Err(WsError::Io(e)) if would_block(&e) => return Ok(any),
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                    return Err(ConnectionEnd::ClientClosed);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(any)
    }

    /// Counts one incoming message against the venue's per-second limit.
    fn count_incoming(&mut self) -> Result<(), ConnectionEnd> {
        let Some(max) = incoming_per_second_max(self.market) else {
            return Ok(());
        };
        let now = clock::monotonic_now();
        if now.duration_since(self.incoming.0) >= Duration::from_secs(1) {
            self.incoming = (now, 0);
        }
        self.incoming.1 += 1;
        if self.incoming.1 > max {
            return Err(ConnectionEnd::TooManyMessages);
        }
        Ok(())
    }

    /// Applies a request to the subscription state and writes its replies (before any
    /// frame of a newly subscribed stream, which can only be queued after the state
    /// changes and is written after these).
    fn answer(&mut self, text: &str) -> Result<(), ConnectionEnd> {
        let ctx = RequestContext {
            market: self.market,
            symbols: &self.symbols,
            conn_id: self.conn_id,
            now_ms: self.clock.unix_ms_now(),
            okx_snapshot_push: self.shared.okx_snapshot_push(),
        };
        let outcome = handle_request(text, &ctx);
        for (index, change) in &outcome.changes {
            let change = change.served(self.served);
            if let Some(state) = self.link.states.get(*index) {
                let _ = state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                    Some(change.apply(s))
                });
            }
        }
        for reply in outcome.replies {
            self.write(Message::text(reply))?;
        }
        self.flush_pending = true;
        Ok(())
    }

    /// Writes up to a batch of queued frames and flushes; returns whether it progressed.
    fn write_frames(&mut self) -> Result<bool, ConnectionEnd> {
        if self.flush_pending && !self.flush()? {
            return Ok(false);
        }
        let mut written = 0u64;
        while written < WRITE_BATCH_MAX as u64 {
            let Some(text) = self.next_frame() else {
                break;
            };
            let texts = match self.fault.next(text) {
                Verdict::Write(texts) => texts,
                Verdict::Close => return Err(ConnectionEnd::FaultClose),
                Verdict::Stall => {
                    self.stalled = true;
                    self.shared.unregister(self.link.id);
                    return Ok(true);
                }
            };
            written += 1;
            let mut room = true;
            for text in texts {
                room &= self.write(Message::Text(text))?;
            }
            if !room {
                break;
            }
        }
        if written == 0 {
            return Ok(false);
        }
        self.shared
            .frames_sent
            .fetch_add(written, Ordering::Relaxed);
        self.flush()?;
        Ok(true)
    }

    /// The next frame to write: the held one, then the queue's, passed through the fault
    /// plan's delay if it has one.
    fn next_frame(&mut self) -> Option<Utf8Bytes> {
        let next = self.held.take().or_else(|| self.link.rx.try_recv().ok());
        let Some(delay) = self.fault.delay() else {
            return next;
        };
        let now = clock::monotonic_now();
        if let Some(text) = next {
            self.fault.hold(text, now, delay);
        }
        while let Ok(text) = self.link.rx.try_recv() {
            self.fault.hold(text, now, delay);
        }
        self.fault.release(now)
    }

    /// Queues a message; returns `false` when the socket is full (the message is kept in
    /// tungstenite's buffer and a flush is pending).
    fn write(&mut self, message: Message) -> Result<bool, ConnectionEnd> {
        match self.ws.write(message) {
            Ok(()) => Ok(true),
            Err(WsError::Io(e)) if would_block(&e) => {
                self.flush_pending = true;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Flushes; returns whether everything went out.
    fn flush(&mut self) -> Result<bool, ConnectionEnd> {
        match self.ws.flush() {
            Ok(()) => {
                self.flush_pending = false;
                Ok(true)
            }
            Err(WsError::Io(e)) if would_block(&e) => {
                self.flush_pending = true;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether an I/O error only means "not now" on a non-blocking or timed socket.
fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
