//! Wire-to-event latency over loopback: a server thread writes a Binance `bookTicker`
//! WebSocket frame, the client [`Transport`] (mio, tungstenite, non-blocking TCP) reads
//! it and the Binance decoder turns it into a `TopOfBook` event. Each sample runs from
//! the server's clock reading just before its write to the client's just after the
//! decode (one shared TSC clock, so the two threads' readings compare). Ids:
//! `transport/wire_to_event/ws_loopback` (plain) and `.../wss_loopback` (rustls, a
//! self-signed certificate made at start with rcgen).
//! Run: `cargo bench --bench wire_latency`. Figures go to LATENCY.md.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use edgeline::feed::binance::BinanceDecoder;
use edgeline::feed::transport::{Endpoint, Frame, Transport, TransportConfig};
use edgeline::feed::{Decoded, EventBuf, SymbolMap};
use edgeline::runtime::Clock;
use edgeline::types::{EventBody, InstrumentId};
use tungstenite::{Message, Utf8Bytes};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FRAME: &str =
    r#"{"u":400900217,"s":"BTCUSDT","b":"60000.10","B":"1.5","a":"60000.20","A":"2.25"}"#;

/// The server side: sends one frame per request, stamping the send time.
struct Server {
    requests: Arc<AtomicU64>,
    sent_raw: Arc<AtomicU64>,
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

/// Serves frames on request over `stream` until stopped.
fn serve<S: Read + Write>(
    stream: S,
    requests: &AtomicU64,
    sent_raw: &AtomicU64,
    stop: &AtomicBool,
    clock: &Clock,
) {
    let mut ws = tungstenite::accept(stream).unwrap();
    let mut served = 0;
    while !stop.load(Ordering::Acquire) {
        if requests.load(Ordering::Acquire) == served {
            std::hint::spin_loop();
            continue;
        }
        served += 1;
        sent_raw.store(clock.raw(), Ordering::Release);
        ws.send(Message::Text(Utf8Bytes::from_static(FRAME)))
            .unwrap();
    }
}

impl Server {
    fn start(clock: &Clock, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let url = format!("{scheme}://{}/ws", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicU64::new(0));
        let sent_raw = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (req, sent, halt, clock) = (
            Arc::clone(&requests),
            Arc::clone(&sent_raw),
            Arc::clone(&stop),
            clock.clone(),
        );
        let thread = std::thread::spawn(move || {
            let (stream, _): (TcpStream, _) = listener.accept().unwrap();
            stream.set_nodelay(true).unwrap();
            match tls {
                None => serve(stream, &req, &sent, &halt, &clock),
                Some(config) => {
                    let session = rustls::ServerConnection::new(config).unwrap();
                    let tls_stream = rustls::StreamOwned::new(session, stream);
                    serve(tls_stream, &req, &sent, &halt, &clock);
                }
            }
        });
        Self {
            requests,
            sent_raw,
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

/// Measures one frame from the server's write to the decoded top-of-book event, over
/// plain WebSocket and over TLS.
fn bench_wire_to_event(c: &mut Criterion) {
    wire_to_event(c, "transport/wire_to_event/ws_loopback", None);
    let id = identity();
    wire_to_event(c, "transport/wire_to_event/wss_loopback", Some(id));
}

fn wire_to_event(c: &mut Criterion, name: &str, tls: Option<Identity>) {
    let clock = Clock::new();
    let server = Server::start(&clock, tls.as_ref().map(|i| Arc::clone(&i.config)));
    let mut transport = Transport::new(64, TransportConfig::default(), clock.clone()).unwrap();
    if let Some(identity) = &tls {
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
    let decoder = BinanceDecoder::new(symbols);
    let mut buf = EventBuf::with_capacity(16);
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total_ns = 0;
            for _ in 0..iters {
                server.requests.fetch_add(1, Ordering::AcqRel);
                loop {
                    transport.poll_readiness().unwrap();
                    if !transport.is_readable(0) {
                        continue;
                    }
                    let bytes = match transport.read(0) {
                        Frame::Data(bytes) => bytes,
                        Frame::Idle => continue,
                        Frame::Closed => panic!("the server closed the connection"),
                    };
                    buf.clear();
                    let decoded = decoder.decode(bytes, clock.raw(), &mut buf).unwrap();
                    let done = clock.raw();
                    assert_eq!(decoded, Decoded::Events(1));
                    assert!(matches!(
                        buf.as_slice()[0].body,
                        EventBody::TopOfBook { .. }
                    ));
                    total_ns += clock.delta_ns(server.sent_raw.load(Ordering::Acquire), done);
                    break;
                }
            }
            Duration::from_nanos(total_ns)
        })
    });
}

criterion_group!(benches, bench_wire_to_event);
criterion_main!(benches);
