//! The byte stream under a WebSocket: plain TCP (`ws://`) or TLS over TCP (`wss://`,
//! rustls with the bundled webpki roots plus any root the caller trusts), both on the
//! same non-blocking mio socket.
//!
//! Owned by one transport connection on the feed thread. rustls works over the
//! non-blocking socket as tungstenite expects: its handshake and record I/O happen
//! inside `read`/`write` and surface `WouldBlock` like the socket does, so the WebSocket
//! handshake state machine drives the TLS handshake too. NB: rustls hands out buffered
//! plaintext before it touches the socket, so a `WouldBlock` from a read still means
//! "nothing left" and the edge-triggered readiness model holds. Allocates only while
//! connecting (the TLS session); steady-state reads reuse rustls' buffers.

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// A connection's socket, with or without TLS.
pub(super) enum Stream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// The TCP socket (for the poller).
    pub(super) fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &mut s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// rustls client settings trusting the bundled webpki roots plus `extra_roots` (DER;
/// roots that do not parse are skipped): what every `wss://` connection and the REST
/// snapshot fetcher's `https://` use. Cold.
pub(crate) fn client_config(extra_roots: &[CertificateDer<'static>]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let (_added, _ignored) = roots.add_parsable_certificates(extra_roots.iter().cloned());
    // NB: `builder()` takes the crate's one enabled provider (ring, see Cargo.toml).
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The TLS client settings every `wss://` connection uses.
#[derive(Clone)]
pub(super) struct Tls {
    config: Arc<ClientConfig>,
    extra_roots: Vec<CertificateDer<'static>>,
}

impl Tls {
    /// The bundled webpki roots only.
    pub(super) fn new() -> Self {
        Self::with_roots(Vec::new())
    }

    /// The bundled roots plus `extra_roots` (DER); roots that do not parse are skipped.
    pub(super) fn with_roots(extra_roots: Vec<CertificateDer<'static>>) -> Self {
        Self {
            config: client_config(&extra_roots),
            extra_roots,
        }
    }

    /// These settings with one more trusted root.
    pub(super) fn trusting(&self, root: CertificateDer<'static>) -> Self {
        let mut roots = self.extra_roots.clone();
        roots.push(root);
        Self::with_roots(roots)
    }

    /// Wraps a connected socket in a TLS session for `host`.
    pub(super) fn wrap(&self, host: &ServerName<'static>, tcp: TcpStream) -> io::Result<Stream> {
        let session = ClientConnection::new(Arc::clone(&self.config), host.clone())
            .map_err(io::Error::other)?;
        Ok(Stream::Tls(Box::new(StreamOwned::new(session, tcp))))
    }
}
