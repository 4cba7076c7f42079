//! The simulator's TLS mode: a self-signed certificate made at start (rcgen, for
//! `127.0.0.1` and `localhost`), and the byte stream of one accepted connection, plain or
//! TLS (rustls with ring), with the bytes already read to tell REST from WebSocket put
//! back in front.
//!
//! The identity is made once by `start` (cold; the key never leaves the process); each
//! connection thread owns its [`SimStream`]. It may not touch the hub or the model. The
//! TLS handshake runs inside the first read, in the blocking mode and timeouts the
//! connection set before; afterwards the socket may be non-blocking, and a full socket
//! surfaces as `WouldBlock` from `write`/`flush` as it does on plain TCP.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::SimError;

/// The names the certificate is valid for (the simulator listens on 127.0.0.1).
const SUBJECT_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// The simulator's TLS identity.
#[derive(Clone)]
pub(crate) struct Identity {
    /// Server settings with the certificate and its key.
    pub(crate) config: Arc<ServerConfig>,
    /// The certificate, DER.
    pub(crate) cert_der: Vec<u8>,
    /// The certificate, PEM.
    pub(crate) cert_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("cert_der_bytes", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A fresh self-signed certificate and key.
    pub(crate) fn generate() -> Result<Self, SimError> {
        let names: Vec<String> = SUBJECT_NAMES.iter().map(|n| (*n).to_owned()).collect();
        let certified =
            rcgen::generate_simple_self_signed(names).map_err(|e| SimError::Tls(e.to_string()))?;
        let cert: CertificateDer<'static> = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        // NB: `builder()` takes the crate's one enabled provider (ring, see Cargo.toml).
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .map_err(|e| SimError::Tls(e.to_string()))?;
        Ok(Self {
            config: Arc::new(config),
            cert_der: cert.to_vec(),
            cert_pem: certified.cert.pem(),
        })
    }
}

/// One accepted connection's bytes.
pub(crate) struct SimStream {
    inner: Inner,
    /// Bytes read ahead (the request head), returned by `read` before the socket's.
    prefix: Vec<u8>,
    /// How much of `prefix` was returned.
    at: usize,
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl SimStream {
    /// Wraps an accepted socket: TLS when the simulator has an identity.
    pub(crate) fn new(tcp: TcpStream, identity: Option<&Identity>) -> io::Result<Self> {
        let inner = match identity {
            None => Inner::Plain(tcp),
            Some(identity) => {
                let session = ServerConnection::new(Arc::clone(&identity.config))
                    .map_err(io::Error::other)?;
                Inner::Tls(Box::new(StreamOwned::new(session, tcp)))
            }
        };
        Ok(Self {
            inner,
            prefix: Vec::new(),
            at: 0,
        })
    }

    /// The TCP socket (options, blocking mode).
    pub(crate) fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Plain(s) => s,
            Inner::Tls(s) => &s.sock,
        }
    }

    /// Puts bytes already read back in front of the stream (once, before any read).
    pub(crate) fn unread(&mut self, bytes: Vec<u8>) {
        self.prefix = bytes;
        self.at = 0;
    }

    /// Ends a TLS session cleanly (close_notify, so the client sees a complete
    /// response); nothing on plain TCP.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if let Inner::Tls(s) = &mut self.inner {
            s.conn.send_close_notify();
            s.flush()?;
        }
        Ok(())
    }
}

impl Read for SimStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.at);
            buf[..n].copy_from_slice(&self.prefix[self.at..self.at + n]);
            self.at += n;
            if self.at == self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
            return Ok(n);
        }
        match &mut self.inner {
            Inner::Plain(s) => s.read(buf),
            Inner::Tls(s) => s.read(buf),
        }
    }
}

impl Write for SimStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(s) => s.write(buf),
            Inner::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(s) => s.flush(),
            Inner::Tls(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn test_unread_bytes_come_first_then_the_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (tcp, _) = listener.accept().unwrap();
        let mut stream = SimStream::new(tcp, None).unwrap();
        stream.unread(b"head".to_vec());
        client.write_all(b"-tail").unwrap();
        let mut got = [0u8; 9];
        stream.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"head-tail");
    }

    #[test]
    fn test_identity_is_a_parseable_self_signed_certificate() {
        let identity = Identity::generate().unwrap();
        assert!(identity.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(identity.cert_der.clone()))
            .unwrap();
        assert_eq!(roots.len(), 1);
    }
}
