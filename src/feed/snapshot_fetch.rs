//! REST depth snapshots for venues whose book starts from one (Binance's depth, OKX's
//! order book), fetched off the hot path.
//!
//! The feed stage asks for an instrument's snapshot through an SPSC ring; the
//! `snapshot-fetch` thread (cold) sends the HTTP GET, retries failures with a capped
//! backoff per instrument (one failing market does not hold up the others' snapshots;
//! each market has its own REST base, e.g. Binance spot and USD-M hosts), and hands the
//! body back through a second ring. Bodies travel in buffers
//! allocated at start-up that the feed stage returns through a third ring, so the hot
//! path neither allocates nor frees. `http://` or `https://` (rustls, trusting the
//! same roots as the WebSocket transport: the bundled webpki roots plus the configured
//! extra ones).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::runtime::clock;
use crate::types::InstrumentId;

/// Largest snapshot body accepted (a 5000-level Binance snapshot is about 250 KB).
pub const BODY_BYTES_MAX: usize = 4 << 20;
/// Buffers in flight between the fetcher and the feed stage.
const BUFFERS: usize = 4;
/// Timeout of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait between two attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A fetched snapshot body.
#[derive(Debug)]
pub struct SnapshotBody {
    /// Whose snapshot.
    pub instrument: InstrumentId,
    /// The HTTP body (JSON).
    pub body: Vec<u8>,
}

/// Why a fetch failed (logged by the fetcher, which retries).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not `http[s]://host[:port]/path`.
    #[error("unsupported URL `{0}`")]
    Url(String),
    /// Connecting, writing or reading failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The response is not HTTP/1.x 200 with a body.
    #[error("HTTP: {0}")]
    Http(String),
}

/// The feed stage's end: requests out, bodies in, spent buffers back.
pub struct SnapshotClient {
    requests: rtrb::Producer<InstrumentId>,
    bodies: rtrb::Consumer<SnapshotBody>,
    spent: rtrb::Producer<Vec<u8>>,
}

impl SnapshotClient {
    /// Asks for an instrument's snapshot; false when too many requests are queued.
    pub fn request(&mut self, instrument: InstrumentId) -> bool {
        self.requests.push(instrument).is_ok()
    }

    /// A fetched body, if one arrived.
    pub fn poll(&mut self) -> Option<SnapshotBody> {
        self.bodies.pop().ok()
    }

    /// Gives a body's buffer back for reuse.
    pub fn recycle(&mut self, body: Vec<u8>) {
        // The ring holds every buffer there is, so it cannot be full.
        let _ = self.spent.push(body);
    }
}

/// The running fetcher thread.
pub struct SnapshotFetcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SnapshotFetcher {
    /// Starts the fetcher; `urls[i]` is the full snapshot URL of instrument `i` (`None`
    /// for instruments that need no REST snapshot); `https://` trusts the bundled roots
    /// and `extra_roots` (DER).
    pub fn start(
        urls: Vec<Option<String>>,
        extra_roots: &[Vec<u8>],
    ) -> std::io::Result<(Self, SnapshotClient)> {
        let (req_tx, req_rx) = rtrb::RingBuffer::new(urls.len().max(1) * 2);
        let (body_tx, body_rx) = rtrb::RingBuffer::new(BUFFERS);
        let (spent_tx, mut spent_rx) = rtrb::RingBuffer::new(BUFFERS);
        let mut spares = Vec::with_capacity(BUFFERS);
        for _ in 0..BUFFERS {
            spares.push(Vec::with_capacity(64 << 10));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let roots: Vec<_> = extra_roots
            .iter()
            .map(|der| CertificateDer::from(der.clone()))
            .collect();
        let worker = Worker {
            urls,
            tls: crate::feed::transport::client_config(&roots),
            requests: req_rx,
            bodies: body_tx,
            stop: Arc::clone(&stop),
        };
        let thread = std::thread::Builder::new()
            .name("snapshot-fetch".into())
            .spawn(move || worker.run(&mut spares, &mut spent_rx))?;
        Ok((
            Self {
                stop,
                thread: Some(thread),
            },
            SnapshotClient {
                requests: req_tx,
                bodies: body_rx,
                spent: spent_tx,
            },
        ))
    }

    /// Stops and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SnapshotFetcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker {
    urls: Vec<Option<String>>,
    tls: Arc<ClientConfig>,
    requests: rtrb::Consumer<InstrumentId>,
    bodies: rtrb::Producer<SnapshotBody>,
    stop: Arc<AtomicBool>,
}

/// One instrument waiting for its snapshot: when it may be tried again, and the wait
/// after its next failure.
#[derive(Debug, Clone, Copy)]
struct Pending {
    instrument: InstrumentId,
    due: Instant,
    backoff: Duration,
}

/// First wait after a failed attempt (doubled per failure, up to [`BACKOFF_MAX`]).
const BACKOFF_FIRST: Duration = Duration::from_millis(100);

impl Worker {
    /// Takes requests and fetches them one attempt at a time, oldest due first: a
    /// failing instrument waits out its own backoff while the others are fetched (a
    /// spot REST host that is down does not hold up the perp books).
    fn run(mut self, spares: &mut Vec<Vec<u8>>, spent: &mut rtrb::Consumer<Vec<u8>>) {
        let mut pending: Vec<Pending> = Vec::with_capacity(self.urls.len());
        while !self.stop.load(Ordering::Relaxed) {
            while let Ok(buf) = spent.pop() {
                spares.push(buf);
            }
            let now = clock::monotonic_now();
            while let Ok(instrument) = self.requests.pop() {
                let known = matches!(self.urls.get(instrument.index()), Some(Some(_)));
                if known && !pending.iter().any(|p| p.instrument == instrument) {
                    pending.push(Pending {
                        instrument,
                        due: now,
                        backoff: BACKOFF_FIRST,
                    });
                }
            }
            let due = pending
                .iter()
                .enumerate()
                .filter(|(_, p)| p.due <= now)
                .min_by_key(|(_, p)| p.due)
                .map(|(i, _)| i);
            let (Some(index), false) = (due, spares.is_empty()) else {
                // Nothing due, or every buffer is with the feed stage.
                clock::sleep(Duration::from_millis(2));
                continue;
            };
            let entry = pending[index];
            let Some(Some(url)) = self.urls.get(entry.instrument.index()) else {
                pending.swap_remove(index);
                continue;
            };
            let mut body = spares.pop().unwrap_or_default();
            match get(url, &mut body, &self.tls) {
                Ok(()) => {
                    pending.swap_remove(index);
                    let _ = self.bodies.push(SnapshotBody {
                        instrument: entry.instrument,
                        body,
                    });
                }
                Err(e) => {
                    log::warn!(
                        "snapshot: GET {url} failed ({e}); retrying in {:?}",
                        entry.backoff
                    );
                    spares.push(body);
                    pending[index] = Pending {
                        due: clock::monotonic_now() + entry.backoff,
                        backoff: (entry.backoff * 2).min(BACKOFF_MAX),
                        ..entry
                    };
                }
            }
        }
    }
}

/// `GET url` over HTTP/1.1 into `body` (replaced); `https://` checks the server against
/// `tls`'s roots.
pub fn get(url: &str, body: &mut Vec<u8>, tls: &Arc<ClientConfig>) -> Result<(), FetchError> {
    let bad_url = || FetchError::Url(url.to_owned());
    let (rest, secure) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        _ => return Err(bad_url()),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, port.parse::<u16>().map_err(|_| bad_url())?)
        }
        _ => (authority, if secure { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addr: SocketAddr = (host, port).to_socket_addrs()?.next().ok_or_else(bad_url)?;
    let stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    body.clear();
    if secure {
        let name = ServerName::try_from(host.to_owned()).map_err(|_| bad_url())?;
        let session =
            ClientConnection::new(Arc::clone(tls), name).map_err(std::io::Error::other)?;
        exchange(StreamOwned::new(session, stream), &request, body)?;
    } else {
        exchange(stream, &request, body)?;
    }
    if body.len() > BODY_BYTES_MAX {
        return Err(FetchError::Http(format!(
            "response larger than {BODY_BYTES_MAX} bytes"
        )));
    }
    strip_head(body)
}

/// Writes the request and reads the response until the server closes (at most one byte
/// past [`BODY_BYTES_MAX`]). A TLS server that closes without `close_notify` ends the
/// read too: the `Content-Length` check in [`strip_head`] tells a cut response.
fn exchange(
    mut stream: impl Read + Write,
    request: &str,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let limit = u64::try_from(BODY_BYTES_MAX).unwrap_or(u64::MAX) + 1;
    match stream.take(limit).read_to_end(out) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(()),
        Err(e) => Err(e),
    }
}

/// Checks the status line, removes the head and undoes chunked encoding, in place.
fn strip_head(response: &mut Vec<u8>) -> Result<(), FetchError> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| FetchError::Http("no end of headers".into()))?;
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let status = head.lines().next().unwrap_or_default().to_owned();
    let chunked = head.contains("transfer-encoding: chunked");
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    response.drain(..end + 4);
    if !status.starts_with("http/1.") || status.split(' ').nth(1) != Some("200") {
        let shown = String::from_utf8_lossy(&response[..response.len().min(200)]).into_owned();
        return Err(FetchError::Http(format!("{status}: {shown}")));
    }
    if chunked {
        return dechunk(response);
    }
    if let Some(length) = length {
        if response.len() < length {
            return Err(FetchError::Http(format!(
                "body cut at {} of {length} bytes",
                response.len()
            )));
        }
        response.truncate(length);
    }
    Ok(())
}

fn dechunk(data: &mut Vec<u8>) -> Result<(), FetchError> {
    let bad = || FetchError::Http("bad chunked encoding".into());
    let (mut read, mut write) = (0, 0);
    loop {
        let line_end = data[read..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(bad)?
            + read;
        let size_text = std::str::from_utf8(&data[read..line_end]).map_err(|_| bad())?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        read = line_end + 2;
        if size == 0 {
            data.truncate(write);
            return Ok(());
        }
        if read + size > data.len() {
            return Err(bad());
        }
        data.copy_within(read..read + size, write);
        write += size;
        read += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(response: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "request ended early");
                request.extend_from_slice(&buf[..n]);
            }
            s.write_all(response).unwrap();
        });
        format!("http://{addr}/api/v3/depth?symbol=BTCUSDT&limit=5")
    }

    fn roots() -> Arc<ClientConfig> {
        crate::feed::transport::client_config(&[])
    }

    #[test]
    fn test_get_plain_and_chunked_bodies() {
        let mut body = Vec::new();
        let url = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
        get(&url, &mut body, &roots()).unwrap();
        assert_eq!(body, b"{\"a\":1}");
        let url = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
        );
        get(&url, &mut body, &roots()).unwrap();
        assert_eq!(body, b"{\"a\":1}");
    }

    #[test]
    fn test_get_over_https_from_the_tls_simulator_trusting_its_certificate_only() {
        let sim = crate::sim::start(crate::sim::SimConfig {
            tls: true,
            ..crate::sim::SimConfig::default()
        })
        .unwrap();
        let url = format!("{}/api/v3/depth?symbol=BTCUSDT&limit=5", sim.rest_base());
        assert!(url.starts_with("https://127.0.0.1:"));
        let mut body = Vec::new();
        let e = get(&url, &mut body, &roots()).unwrap_err().to_string();
        assert!(e.contains("certificate"), "{e}");
        let cert = CertificateDer::from(sim.certificate_der().unwrap().to_vec());
        let trusting = crate::feed::transport::client_config(&[cert]);
        get(&url, &mut body, &trusting).unwrap();
        assert!(body.starts_with(b"{\"lastUpdateId\":"), "{body:?}");
    }

    #[test]
    fn test_get_reports_a_body_shorter_than_its_length() {
        let mut body = Vec::new();
        let url = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"a\":1}");
        let e = get(&url, &mut body, &roots()).unwrap_err().to_string();
        assert!(e.contains("cut at 7 of 9"), "{e}");
    }

    #[test]
    fn test_get_error_status_is_reported_with_body() {
        let mut body = Vec::new();
        let url = serve_once(
            b"HTTP/1.1 400 Bad Request\r\n\r\n{\"code\":-1121,\"msg\":\"Invalid symbol.\"}",
        );
        let e = get(&url, &mut body, &roots()).unwrap_err().to_string();
        assert!(e.contains("400") && e.contains("Invalid symbol"), "{e}");
        assert!(matches!(
            get("ftp://api.binance.com/x", &mut body, &roots()),
            Err(FetchError::Url(_))
        ));
    }

    #[test]
    fn test_fetcher_delivers_and_recycles() {
        let url =
            serve_once(b"HTTP/1.1 200 OK\r\n\r\n{\"lastUpdateId\":5,\"bids\":[],\"asks\":[]}");
        let (fetcher, mut client) = SnapshotFetcher::start(vec![None, Some(url)], &[]).unwrap();
        assert!(client.request(InstrumentId(1)));
        let deadline = clock::monotonic_now() + Duration::from_secs(10);
        let got = loop {
            if let Some(b) = client.poll() {
                break b;
            }
            assert!(clock::monotonic_now() < deadline, "no snapshot within 10 s");
            clock::sleep(Duration::from_millis(5));
        };
        assert_eq!(got.instrument, InstrumentId(1));
        assert!(got.body.starts_with(b"{\"lastUpdateId\":5"));
        client.recycle(got.body);
        fetcher.stop();
    }
}
