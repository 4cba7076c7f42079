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
//!
//! Requests are paced per rate-limited scope ([`crate::feed::rest_budget`]): each target
//! names its budget and what one request costs there (Binance's request weight, OKX's
//! request count), and a venue's `429`/`418` with `Retry-After` closes that budget for
//! as long as the venue asks. A body the feed stage could not decode comes back as
//! [`SnapshotClient::retry`] and is fetched again after the instrument's own backoff
//! (doubled per bad body, reset by the next fresh request), so one malformed answer
//! never leaves a book waiting for good.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::feed::rest_budget::{Budget, Limit};
use crate::runtime::clock;
use crate::types::InstrumentId;
use std::sync::atomic::AtomicU64;

/// Largest snapshot body accepted (a 5000-level Binance snapshot is about 250 KB).
pub const BODY_BYTES_MAX: usize = 4 << 20;
/// Buffers in flight between the fetcher and the feed stage.
const BUFFERS: usize = 4;
/// Timeout of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait between two attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Wait after a `429` without `Retry-After`.
const THROTTLED_DEFAULT: Duration = Duration::from_secs(5);
/// Wait after a `418` (an IP ban) without `Retry-After`: Binance's shortest ban.
const BANNED_DEFAULT: Duration = Duration::from_secs(120);

/// Where one instrument's snapshot comes from and what a request costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotTarget {
    /// The full URL.
    pub url: String,
    /// Index of its budget in the `limits` given to [`SnapshotFetcher::start`].
    pub budget: usize,
    /// Units one request takes from that budget (request weight, or 1).
    pub cost: u32,
}

/// What the fetcher did, for the run report (written by the fetcher, read at the end).
#[derive(Debug, Default)]
pub struct FetchCounts {
    /// Requests sent.
    pub requests: AtomicU64,
    /// Answers that were `429` or `418`.
    pub throttled: AtomicU64,
    /// Snapshots fetched again because their body did not decode.
    pub bad_body_retries: AtomicU64,
}

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
    /// The venue counts us over its limit (`429`) or has banned the IP (`418`), and
    /// asks for this wait.
    #[error("HTTP {status}: rate limited, retry after {retry_after:?}")]
    Throttled {
        /// 429 or 418.
        status: u16,
        /// The venue's `Retry-After`, or the default for the status.
        retry_after: Duration,
    },
}

/// The feed stage's end: requests out, bodies in, spent buffers back.
pub struct SnapshotClient {
    requests: rtrb::Producer<Request>,
    bodies: rtrb::Consumer<SnapshotBody>,
    spent: rtrb::Producer<Vec<u8>>,
    counts: Arc<FetchCounts>,
}

/// A request through the ring: whose snapshot, and whether the last body was bad.
#[derive(Debug, Clone, Copy)]
struct Request {
    instrument: InstrumentId,
    retry: bool,
}

impl SnapshotClient {
    /// Asks for an instrument's snapshot; false when too many requests are queued.
    pub fn request(&mut self, instrument: InstrumentId) -> bool {
        self.requests
            .push(Request {
                instrument,
                retry: false,
            })
            .is_ok()
    }

    /// Asks again for a snapshot whose body did not decode, after that instrument's
    /// backoff; false when too many requests are queued.
    pub fn retry(&mut self, instrument: InstrumentId) -> bool {
        self.requests
            .push(Request {
                instrument,
                retry: true,
            })
            .is_ok()
    }

    /// What the fetcher has done so far.
    pub fn counts(&self) -> &FetchCounts {
        &self.counts
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
    /// Starts the fetcher; `targets[i]` is where instrument `i`'s snapshot comes from
    /// (`None` for instruments that need no REST snapshot), each charged to one of
    /// `limits` (a target naming no limit is refused as `InvalidInput`); `https://`
    /// trusts the bundled roots and `extra_roots` (DER).
    pub fn start(
        targets: Vec<Option<SnapshotTarget>>,
        limits: &[Limit],
        extra_roots: &[Vec<u8>],
    ) -> std::io::Result<(Self, SnapshotClient)> {
        if targets.iter().flatten().any(|t| t.budget >= limits.len()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "snapshot target names no rate limit",
            ));
        }
        let now = clock::monotonic_now();
        let n = targets.len();
        let (req_tx, req_rx) = rtrb::RingBuffer::new(n.max(1) * 2);
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
        let counts = Arc::new(FetchCounts::default());
        let worker = Worker {
            targets,
            budgets: limits.iter().map(|&l| Budget::new(l, now)).collect(),
            bad_body_backoff: vec![BACKOFF_FIRST; n],
            tls: crate::feed::transport::client_config(&roots),
            requests: req_rx,
            bodies: body_tx,
            stop: Arc::clone(&stop),
            counts: Arc::clone(&counts),
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
                counts,
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
    targets: Vec<Option<SnapshotTarget>>,
    budgets: Vec<Budget>,
    /// Per instrument: the wait before refetching after its next bad body.
    bad_body_backoff: Vec<Duration>,
    tls: Arc<ClientConfig>,
    requests: rtrb::Consumer<Request>,
    bodies: rtrb::Producer<SnapshotBody>,
    stop: Arc<AtomicBool>,
    counts: Arc<FetchCounts>,
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
    /// spot REST host that is down does not hold up the perp books), and a request its
    /// budget cannot pay yet is put back until it can.
    fn run(mut self, spares: &mut Vec<Vec<u8>>, spent: &mut rtrb::Consumer<Vec<u8>>) {
        let mut pending: Vec<Pending> = Vec::with_capacity(self.targets.len());
        while !self.stop.load(Ordering::Relaxed) {
            while let Ok(buf) = spent.pop() {
                spares.push(buf);
            }
            let now = clock::monotonic_now();
            while let Ok(request) = self.requests.pop() {
                self.enqueue(&mut pending, request, now);
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
            let Some(Some(target)) = self.targets.get(entry.instrument.index()) else {
                pending.swap_remove(index);
                continue;
            };
            let budget = &mut self.budgets[target.budget];
            let wait = budget.wait(target.cost, now);
            if !wait.is_zero() {
                pending[index].due = now + wait;
                continue;
            }
            budget.charge(target.cost, now);
            self.counts.requests.fetch_add(1, Ordering::Relaxed);
            let url = &target.url;
            let mut body = spares.pop().unwrap_or_default();
            match get(url, &mut body, &self.tls) {
                Ok(()) => {
                    pending.swap_remove(index);
                    let _ = self.bodies.push(SnapshotBody {
                        instrument: entry.instrument,
                        body,
                    });
                }
                Err(FetchError::Throttled {
                    status,
                    retry_after,
                }) => {
                    self.counts.throttled.fetch_add(1, Ordering::Relaxed);
                    if status == 418 {
                        log::error!(
                            "snapshot: GET {url}: HTTP 418, the venue has banned this IP; \
                             no snapshot from this host for {retry_after:?}"
                        );
                    } else {
                        log::warn!(
                            "snapshot: GET {url}: HTTP {status}, rate limited; \
                             this host waits {retry_after:?}"
                        );
                    }
                    spares.push(body);
                    let now = clock::monotonic_now();
                    self.budgets[target.budget].hold_off(retry_after, now);
                    pending[index].due = now + retry_after;
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

    /// Queues a request (once per instrument): a fresh one is due now and resets the
    /// instrument's bad-body backoff; a retry after a bad body waits that backoff,
    /// which doubles up to [`BACKOFF_MAX`].
    fn enqueue(&mut self, pending: &mut Vec<Pending>, request: Request, now: Instant) {
        let i = request.instrument.index();
        let known = matches!(self.targets.get(i), Some(Some(_)));
        if !known || pending.iter().any(|p| p.instrument == request.instrument) {
            return;
        }
        let due = if request.retry {
            self.counts.bad_body_retries.fetch_add(1, Ordering::Relaxed);
            let wait = self.bad_body_backoff[i];
            self.bad_body_backoff[i] = (wait * 2).min(BACKOFF_MAX);
            now + wait
        } else {
            self.bad_body_backoff[i] = BACKOFF_FIRST;
            now
        };
        pending.push(Pending {
            instrument: request.instrument,
            due,
            backoff: BACKOFF_FIRST,
        });
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
    let code = status.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok());
    if let Some(code @ (429 | 418)) = code {
        let retry_after = head
            .lines()
            .find_map(|l| l.strip_prefix("retry-after:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(if code == 418 {
                BANNED_DEFAULT
            } else {
                THROTTLED_DEFAULT
            });
        return Err(FetchError::Throttled {
            status: code,
            retry_after,
        });
    }
    if !status.starts_with("http/1.") || code != Some(200) {
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
        serve_in_turn(vec![response]).0
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

    /// Serves `responses` in order, one per connection, and records when each request
    /// arrived.
    fn serve_in_turn(
        responses: Vec<&'static [u8]>,
    ) -> (String, std::sync::mpsc::Receiver<Instant>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for response in responses {
                let (mut s, _) = listener.accept().unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).unwrap();
                    assert!(n > 0, "request ended early");
                    request.extend_from_slice(&buf[..n]);
                }
                let _ = tx.send(clock::monotonic_now());
                s.write_all(response).unwrap();
            }
        });
        (
            format!("http://{addr}/api/v3/depth?symbol=BTCUSDT&limit=5"),
            rx,
        )
    }

    const GENEROUS: Limit = Limit {
        limit: 6000,
        window: Duration::from_secs(60),
    };

    fn target(url: &str, cost: u32) -> Option<SnapshotTarget> {
        Some(SnapshotTarget {
            url: url.to_owned(),
            budget: 0,
            cost,
        })
    }

    fn next_body(client: &mut SnapshotClient) -> SnapshotBody {
        let deadline = clock::monotonic_now() + Duration::from_secs(10);
        loop {
            if let Some(b) = client.poll() {
                return b;
            }
            assert!(clock::monotonic_now() < deadline, "no snapshot within 10 s");
            clock::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn test_fetcher_delivers_and_recycles() {
        let url =
            serve_once(b"HTTP/1.1 200 OK\r\n\r\n{\"lastUpdateId\":5,\"bids\":[],\"asks\":[]}");
        let (fetcher, mut client) =
            SnapshotFetcher::start(vec![None, target(&url, 1)], &[GENEROUS], &[]).unwrap();
        assert!(client.request(InstrumentId(1)));
        let got = next_body(&mut client);
        assert_eq!(got.instrument, InstrumentId(1));
        assert!(got.body.starts_with(b"{\"lastUpdateId\":5"));
        client.recycle(got.body);
        assert_eq!(client.counts().requests.load(Ordering::Relaxed), 1);
        fetcher.stop();
    }

    #[test]
    fn test_a_target_without_its_rate_limit_is_refused() {
        let r = SnapshotFetcher::start(vec![target("http://127.0.0.1:1/x", 1)], &[], &[]);
        assert!(matches!(r, Err(e) if e.kind() == std::io::ErrorKind::InvalidInput));
    }

    #[test]
    fn test_429_and_418_carry_the_venues_retry_after_or_a_default() {
        let mut body = Vec::new();
        let url = serve_once(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n\r\n{}");
        let e = get(&url, &mut body, &roots()).unwrap_err();
        assert!(
            matches!(e, FetchError::Throttled { status: 429, retry_after } if retry_after == Duration::from_secs(7)),
            "{e}"
        );
        let url = serve_once(b"HTTP/1.1 418 I'm a teapot\r\n\r\n{\"code\":-1003}");
        let e = get(&url, &mut body, &roots()).unwrap_err();
        assert!(
            matches!(e, FetchError::Throttled { status: 418, retry_after } if retry_after == BANNED_DEFAULT),
            "{e}"
        );
    }

    #[test]
    fn test_a_bad_body_is_fetched_again_after_its_backoff() {
        let (url, arrivals) = serve_in_turn(vec![
            b"HTTP/1.1 200 OK\r\n\r\n{\"lastUpdateId\":",
            b"HTTP/1.1 200 OK\r\n\r\n{\"lastUpdateId\":6,\"bids\":[],\"asks\":[]}",
        ]);
        let (fetcher, mut client) =
            SnapshotFetcher::start(vec![target(&url, 1)], &[GENEROUS], &[]).unwrap();
        assert!(client.request(InstrumentId(0)));
        let first = next_body(&mut client);
        assert_eq!(first.body, b"{\"lastUpdateId\":");
        client.recycle(first.body);
        // The feed stage could not decode it: it asks again.
        assert!(client.retry(InstrumentId(0)));
        let second = next_body(&mut client);
        assert!(second.body.starts_with(b"{\"lastUpdateId\":6"));
        let (t1, t2) = (arrivals.recv().unwrap(), arrivals.recv().unwrap());
        assert!(t2 - t1 >= BACKOFF_FIRST, "refetched after {:?}", t2 - t1);
        let counts = client.counts();
        assert_eq!(counts.bad_body_retries.load(Ordering::Relaxed), 1);
        assert_eq!(counts.requests.load(Ordering::Relaxed), 2);
        fetcher.stop();
    }

    #[test]
    fn test_requests_sharing_a_budget_are_paced_and_a_429_holds_the_whole_host() {
        // Budget: 2 units per 500 ms at 80%, so one request per 500 ms; three instruments.
        let ok: &[u8] = b"HTTP/1.1 200 OK\r\n\r\n{\"lastUpdateId\":1,\"bids\":[],\"asks\":[]}";
        let (url, arrivals) = serve_in_turn(vec![
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n\r\n{}",
            ok,
            ok,
            ok,
        ]);
        let limit = Limit {
            limit: 2,
            window: Duration::from_millis(500),
        };
        let targets = vec![target(&url, 1), target(&url, 1), target(&url, 1)];
        let (fetcher, mut client) = SnapshotFetcher::start(targets, &[limit], &[]).unwrap();
        for i in 0..3 {
            assert!(client.request(InstrumentId(i)));
        }
        let mut got = Vec::new();
        for _ in 0..3 {
            let b = next_body(&mut client);
            got.push(b.instrument.0);
            client.recycle(b.body);
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
        let t: Vec<Instant> = (0..4).map(|_| arrivals.recv().unwrap()).collect();
        // The 429 closed the host for 1 s (then an empty bucket); one request per 500 ms.
        assert!(t[1] - t[0] >= Duration::from_secs(1), "{:?}", t[1] - t[0]);
        assert!(
            t[2] - t[1] >= Duration::from_millis(450),
            "{:?}",
            t[2] - t[1]
        );
        assert!(
            t[3] - t[2] >= Duration::from_millis(450),
            "{:?}",
            t[3] - t[2]
        );
        assert_eq!(client.counts().throttled.load(Ordering::Relaxed), 1);
        fetcher.stop();
    }
}
