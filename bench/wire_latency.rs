//! Wire-to-event latency over loopback: a server thread writes a Binance spot
//! `bookTicker` WebSocket frame carrying its own timestamp (the TSC reading taken just
//! before it formats and writes the frame, in the `u` field), the client [`Transport`]
//! (mio, tungstenite, non-blocking TCP) reads it and the Binance decoder turns it into a
//! `TopOfBook` event; one sample is the client's TSC reading just after the decode minus
//! the stamp decoded from the frame (one shared TSC clock, so the two threads' readings
//! compare). One frame is in flight at a time. Plain WebSocket and TLS (rustls, a
//! self-signed certificate made at start with rcgen).
//!
//! Two passes per mode: criterion ids `transport/wire_to_event/ws_loopback` and
//! `.../wss_loopback` (means), then a histogram pass recording every sample of
//! [`HDR_MESSAGES`] messages (after [`HDR_WARM_UP`]) in an HDR histogram, printed as
//! p50/p90/p99/p99.9/max (`EDGELINE_WIRE_MESSAGES` overrides the count).
//! Run: `cargo bench --bench wire_latency`. Figures go to LATENCY.md.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use criterion::Criterion;
use edgeline::feed::binance::BinanceDecoder;
use edgeline::feed::transport::{Endpoint, Frame, Transport, TransportConfig};
use edgeline::feed::{Decoded, EventBuf, SymbolMap};
use edgeline::runtime::Clock;
use edgeline::types::{EventBody, InstrumentId};
use hdrhistogram::Histogram;
use tungstenite::Message;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Messages recorded per mode in the histogram pass.
const HDR_MESSAGES: u64 = 100_000;
/// Messages sent before the histogram pass records (warm caches, settled TLS session).
const HDR_WARM_UP: u64 = 5_000;

/// The server side: sends one stamped frame per request.
struct Server {
    requests: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    url: String,
}

/// The server's TLS identity: its config and the certificate clients must trust.
struct Identity {
    config: Arc<rustls::ServerConfig>,
    cert_der: Vec<u8>,
}

fn identity() -> Identity {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    Identity {
        config: Arc::new(config),
        cert_der: cert.to_vec(),
    }
}

/// Serves stamped frames on request over `stream` until stopped.
fn serve<S: Read + Write>(stream: S, requests: &AtomicU64, stop: &AtomicBool, clock: &Clock) {
    let mut ws = tungstenite::accept(stream).unwrap();
    let mut served = 0;
    let mut text = String::with_capacity(128);
    while !stop.load(Ordering::Acquire) {
        if requests.load(Ordering::Acquire) == served {
            std::hint::spin_loop();
            continue;
        }
        served += 1;
        let stamp = clock.raw();
        text.clear();
        write!(
            text,
            r#"{{"u":{stamp},"s":"BTCUSDT","b":"60000.10","B":"1.5","a":"60000.20","A":"2.25"}}"#
        )
        .unwrap();
        ws.send(Message::text(text.as_str())).unwrap();
    }
}

impl Server {
    fn start(clock: &Clock, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let url = format!("{scheme}://{}/ws", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (req, halt, clock) = (Arc::clone(&requests), Arc::clone(&stop), clock.clone());
        let thread = std::thread::spawn(move || {
            let (stream, _): (TcpStream, _) = listener.accept().unwrap();
            stream.set_nodelay(true).unwrap();
            match tls {
                None => serve(stream, &req, &halt, &clock),
                Some(config) => {
                    let session = rustls::ServerConnection::new(config).unwrap();
                    let tls_stream = rustls::StreamOwned::new(session, stream);
                    serve(tls_stream, &req, &halt, &clock);
                }
            }
        });
        Self {
            requests,
            stop,
            thread: Some(thread),
            url,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A connected client and its server.
struct Rig {
    server: Server,
    transport: Transport,
    decoder: BinanceDecoder,
    buf: EventBuf,
    clock: Clock,
}

impl Rig {
    fn new(tls: Option<&Identity>) -> Self {
        let clock = Clock::new();
        let server = Server::start(&clock, tls.map(|i| Arc::clone(&i.config)));
        let mut transport = Transport::new(64, TransportConfig::default(), clock.clone()).unwrap();
        if let Some(identity) = tls {
            transport.trust_root(identity.cert_der.clone());
        }
        transport
            .add(Endpoint {
                url: server.url.clone(),
                subscribe: Vec::new(),
                heartbeat: None,
            })
            .unwrap();
        transport.open_all().unwrap();
        let mut symbols = SymbolMap::default();
        symbols.insert("BTCUSDT", InstrumentId(0));
        Self {
            server,
            transport,
            decoder: BinanceDecoder::new(symbols),
            buf: EventBuf::with_capacity(16),
            clock,
        }
    }

    /// Asks for one frame and returns its wire-to-event latency, ns.
    fn one(&mut self) -> u64 {
        self.server.requests.fetch_add(1, Ordering::AcqRel);
        loop {
            self.transport.poll_readiness().unwrap();
            if !self.transport.is_readable(0) {
                continue;
            }
            let bytes = match self.transport.read(0) {
                Frame::Data(bytes) => bytes,
                Frame::Idle => continue,
                Frame::Closed => panic!("the server closed the connection"),
            };
            self.buf.clear();
            let decoded = self
                .decoder
                .decode(bytes, self.clock.raw(), &mut self.buf)
                .unwrap();
            let done = self.clock.raw();
            assert_eq!(decoded, Decoded::Events(1));
            let EventBody::TopOfBook { update_id, .. } = self.buf.as_slice()[0].body else {
                panic!("not a top of book");
            };
            return self.clock.delta_ns(update_id, done);
        }
    }
}

/// Criterion's means, plain and TLS.
fn bench_wire_to_event(c: &mut Criterion, identity: &Identity) {
    for (name, tls) in [
        ("transport/wire_to_event/ws_loopback", None),
        ("transport/wire_to_event/wss_loopback", Some(identity)),
    ] {
        let mut rig = Rig::new(tls);
        c.bench_function(name, |b| {
            b.iter_custom(|iters| Duration::from_nanos((0..iters).map(|_| rig.one()).sum()))
        });
    }
}

/// The histogram pass: every sample of `messages` messages per mode.
fn histogram_pass(identity: &Identity, messages: u64) {
    println!("wire to event, {messages} messages per mode (after {HDR_WARM_UP} warm-up), µs:");
    println!("mode | p50 | p90 | p99 | p99.9 | max | mean");
    for (name, tls) in [("ws", None), ("wss", Some(identity))] {
        let mut rig = Rig::new(tls);
        for _ in 0..HDR_WARM_UP {
            rig.one();
        }
        let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for _ in 0..messages {
            hist.saturating_record(rig.one());
        }
        let us = |ns: u64| ns as f64 / 1_000.0;
        println!(
            "{name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1}",
            us(hist.value_at_quantile(0.50)),
            us(hist.value_at_quantile(0.90)),
            us(hist.value_at_quantile(0.99)),
            us(hist.value_at_quantile(0.999)),
            us(hist.max()),
            hist.mean() / 1_000.0
        );
    }
}

fn main() {
    let identity = identity();
    let mut c = Criterion::default().configure_from_args();
    bench_wire_to_event(&mut c, &identity);
    c.final_summary();
    // `cargo test --benches` runs benches without `--bench`: a short smoke pass there.
    let benching = std::env::args().any(|a| a == "--bench");
    let messages = std::env::var("EDGELINE_WIRE_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { HDR_MESSAGES } else { 100 });
    histogram_pass(&identity, messages);
}
