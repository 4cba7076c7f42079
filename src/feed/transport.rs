//! WebSocket connections over non-blocking TCP: connect, handshake, subscribe at start-up,
//! then frame reads driven by a mio event loop on the feed thread.
//!
//! Start-up (cold): TCP connect with retries, `TCP_NODELAY`, the WebSocket handshake
//! completed over the non-blocking socket, the subscription sent. Hot: [`Transport::poll`]
//! asks mio (zero timeout) which sockets became readable; readable connections are read
//! frame by frame until the socket would block. tungstenite keeps its own read buffer
//! (sized by `read_buffer_size`) and caps frame and message sizes, so a hostile peer cannot
//! make us allocate without bound. Plain `ws://` only for now: TLS, heartbeats and
//! reconnects belong to the transport issue.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use crate::runtime::clock;

/// Limits of one connection.
#[derive(Debug, Clone, Copy)]
pub struct TransportLimits {
    /// tungstenite's read buffer, bytes (default 128 KiB: a few hundred depth messages).
    pub read_buffer_bytes: usize,
    /// Largest accepted message, bytes (default 4 MiB: a 5000-level Binance snapshot
    /// is about 250 KiB).
    pub message_bytes_max: usize,
    /// How long start-up keeps retrying the TCP connect and the handshake.
    pub connect_timeout: Duration,
}

impl Default for TransportLimits {
    fn default() -> Self {
        Self {
            read_buffer_bytes: 128 * 1024,
            message_bytes_max: 4 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a connection could not be set up or was lost.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL is not a `ws://host:port/path` URL this transport can reach.
    #[error("unsupported URL `{url}`: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// TCP connect failed until the timeout.
    #[error("connecting to {url}: {source}")]
    Connect {
        /// The URL.
        url: String,
        /// Last error.
        source: io::Error,
    },
    /// The WebSocket handshake failed.
    #[error("WebSocket handshake with {url}: {source}")]
    Handshake {
        /// The URL.
        url: String,
        /// What tungstenite said.
        source: Box<tungstenite::Error>,
    },
    /// Registering with the event loop failed.
    #[error("event loop: {0}")]
    Poll(#[from] io::Error),
}

/// One received data frame.
pub enum Frame<'a> {
    /// A text or binary payload.
    Data(&'a [u8]),
    /// Nothing to read now.
    Idle,
    /// The connection ended (close frame, EOF or protocol error).
    Closed,
}

struct Connection {
    url: String,
    ws: WebSocket<TcpStream>,
    readable: bool,
    open: bool,
    last: Message,
}

/// The feed thread's sockets and their event loop.
pub struct Transport {
    poll: Poll,
    events: Events,
    conns: Vec<Connection>,
}

impl Transport {
    /// An empty transport with room for `events_max` readiness events per poll.
    pub fn new(events_max: usize) -> Result<Self, TransportError> {
        Ok(Self {
            poll: Poll::new()?,
            events: Events::with_capacity(events_max),
            conns: Vec::new(),
        })
    }

    /// Connects, handshakes and sends the `subscribe` frames; returns the connection's
    /// index.
    pub fn connect(
        &mut self,
        url: &str,
        subscribe: &[String],
        limits: TransportLimits,
    ) -> Result<usize, TransportError> {
        let addr = resolve(url)?;
        let stream = connect_tcp(url, addr, limits.connect_timeout)?;
        let mut ws = handshake(url, stream, limits)?;
        let index = self.conns.len();
        self.poll
            .registry()
            .register(ws.get_mut(), Token(index), Interest::READABLE)?;
        for message in subscribe {
            send_blocking(
                &mut ws,
                Message::text(message.as_str()),
                limits.connect_timeout,
            )
            .map_err(|source| TransportError::Handshake {
                url: url.to_string(),
                source: Box::new(source),
            })?;
        }
        self.conns.push(Connection {
            url: url.to_string(),
            ws,
            readable: true,
            open: true,
            last: Message::Pong(Default::default()),
        });
        Ok(index)
    }

    /// Number of connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Whether connection `index` is still open.
    pub fn is_open(&self, index: usize) -> bool {
        self.conns[index].open
    }

    /// Queues a text frame on connection `index` and flushes what the socket takes now;
    /// the rest goes out with the next reads. Cold path (resyncs): it allocates.
    pub fn send_text(&mut self, index: usize, text: &str) -> bool {
        let conn = &mut self.conns[index];
        if !conn.open {
            return false;
        }
        match conn.ws.send(Message::text(text)) {
            Ok(()) => true,
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(_) => {
                conn.close("write error");
                false
            }
        }
    }

    /// Polls the event loop without blocking and marks readable connections.
    pub fn poll_readiness(&mut self) -> io::Result<()> {
        self.poll.poll(&mut self.events, Some(Duration::ZERO))?;
        for event in &self.events {
            if let Some(conn) = self.conns.get_mut(event.token().0) {
                conn.readable = true;
            }
        }
        Ok(())
    }

    /// Whether connection `index` may have data (readable and not yet drained).
    pub fn is_readable(&self, index: usize) -> bool {
        let conn = &self.conns[index];
        conn.open && conn.readable
    }

    /// Reads the next data frame of connection `index`. Control frames are handled here
    /// (tungstenite queues the pong for a ping; we flush it) and reported as `Idle` only
    /// when the socket has nothing more.
    pub fn read(&mut self, index: usize) -> Frame<'_> {
        let conn = &mut self.conns[index];
        loop {
            match conn.ws.read() {
                Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                    conn.last = msg;
                    return match &conn.last {
                        Message::Text(t) => Frame::Data(t.as_bytes()),
                        Message::Binary(b) => Frame::Data(b),
                        _ => Frame::Idle,
                    };
                }
                Ok(Message::Close(_)) => return conn.close("close frame"),
                Ok(_) => {
                    let _ = conn.ws.flush();
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.readable = false;
                    return Frame::Idle;
                }
                Err(_) => return conn.close("read error"),
            }
        }
    }
}

impl Connection {
    fn close(&mut self, why: &str) -> Frame<'static> {
        if self.open {
            log::warn!("feed: connection {} ended ({why})", self.url);
        }
        self.open = false;
        Frame::Closed
    }
}

fn resolve(url: &str) -> Result<SocketAddr, TransportError> {
    let err = |reason| TransportError::Url {
        url: url.to_string(),
        reason,
    };
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| err("only plain ws:// is supported until the TLS transport lands"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    authority
        .to_socket_addrs()
        .map_err(|_| err("host:port does not resolve"))?
        .next()
        .ok_or_else(|| err("host:port does not resolve"))
}

fn connect_tcp(
    url: &str,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, TransportError> {
    let deadline = clock::monotonic_now() + timeout;
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(stream) => {
                let setup = stream
                    .set_nodelay(true)
                    .and_then(|()| stream.set_nonblocking(true));
                return setup
                    .map(|()| TcpStream::from_std(stream))
                    .map_err(|source| TransportError::Connect {
                        url: url.to_string(),
                        source,
                    });
            }
            Err(source) if clock::monotonic_now() >= deadline => {
                return Err(TransportError::Connect {
                    url: url.to_string(),
                    source,
                });
            }
            Err(_) => clock::sleep(Duration::from_millis(50)),
        }
    }
}

fn handshake(
    url: &str,
    stream: TcpStream,
    limits: TransportLimits,
) -> Result<WebSocket<TcpStream>, TransportError> {
    let config = WebSocketConfig::default()
        .read_buffer_size(limits.read_buffer_bytes)
        .max_message_size(Some(limits.message_bytes_max))
        .max_frame_size(Some(limits.message_bytes_max));
    let deadline = clock::monotonic_now() + limits.connect_timeout;
    let failed = |source: tungstenite::Error| TransportError::Handshake {
        url: url.to_string(),
        source: Box::new(source),
    };
    let mut attempt = tungstenite::client::client_with_config(url, stream, Some(config));
    loop {
        match attempt {
            Ok((ws, _response)) => return Ok(ws),
            Err(HandshakeError::Failure(e)) => return Err(failed(e)),
            Err(HandshakeError::Interrupted(mid)) => {
                if clock::monotonic_now() >= deadline {
                    return Err(failed(tungstenite::Error::Io(
                        io::ErrorKind::TimedOut.into(),
                    )));
                }
                clock::sleep(Duration::from_millis(1));
                attempt = mid.handshake();
            }
        }
    }
}

fn send_blocking(
    ws: &mut WebSocket<TcpStream>,
    msg: Message,
    timeout: Duration,
) -> Result<(), tungstenite::Error> {
    let deadline = clock::monotonic_now() + timeout;
    let mut result = ws.send(msg);
    loop {
        match result {
            Err(tungstenite::Error::Io(e))
                if e.kind() == io::ErrorKind::WouldBlock && clock::monotonic_now() < deadline =>
            {
                clock::sleep(Duration::from_millis(1));
                result = ws.flush();
            }
            other => return other,
        }
    }
}
