//! Criterion benchmarks of live order entry; ids are `live/op/variant`. Run:
//! `cargo bench --bench live_order`. Measures intent → order bytes on the REST path:
//! an `Order` from the gateway becomes the ring's `Place`, the signed parameter string
//! (`RestEncoder::place`, HMAC-SHA256 or Ed25519) and, in the `write` variant, the
//! whole HTTP/1.1 request written to a loopback socket (a reader thread drains it).
//! After the criterion runs it prints a p50/p99 table over 100,000 single timings
//! (quanta), the figures LATENCY.md quotes. The WebSocket API path is not built yet;
//! `live/ws_logon/ed25519` measures the one `session.logon` signature it would pay
//! per connection.

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use criterion::{Criterion, criterion_group, criterion_main};
use edgeline::gateway::live::clid::ClientOrderId;
use edgeline::gateway::live::command::Place;
use edgeline::gateway::live::keys::Signing;
use edgeline::gateway::live::rest::RestEncoder;
use edgeline::gateway::live::sign::{Ed25519Signer, HmacSigner, session_logon_request};
use edgeline::gateway::order::{Order, OrderId, OrderLeg, OrderStyle};
use edgeline::types::{InstrumentId, MarketKind, OrderSide, Price, Qty, Venue};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn order(id: u64) -> Order {
    let leg = OrderLeg {
        instrument: InstrumentId(0),
        venue: Venue::Binance,
        side: OrderSide::Buy,
        limit: Price::from_decimal_str("50000.01").unwrap(),
    };
    Order::new(
        OrderId(id),
        leg,
        OrderStyle::Ioc,
        Qty::from_decimal_str("0.00123").unwrap(),
        0,
    )
}

fn place(o: &Order) -> Place {
    Place {
        id: o.id,
        instrument: o.instrument,
        side: o.side,
        style: o.style,
        limit: o.limit,
        qty: o.qty,
        reference: o.limit,
    }
}

/// One order: `Order` → `Place` → signed parameters; returns their length.
fn encode(enc: &mut RestEncoder, signing: &Signing, id: u64) -> usize {
    let o = order(id);
    let p = place(&o);
    let clid = ClientOrderId::new(0xfeed, o.id);
    let params = enc.place(
        MarketKind::Spot,
        "BTCUSDT",
        &p,
        &clid,
        false,
        1_700_000_000_000 + id,
        signing,
    );
    assert!(params.len() > 200);
    params.len()
}

/// [`encode`], then the HTTP request written to `sock` from a buffer reused across calls.
fn encode_write(
    enc: &mut RestEncoder,
    signing: &Signing,
    out: &mut Vec<u8>,
    sock: &mut TcpStream,
    id: u64,
) {
    let o = order(id);
    let p = place(&o);
    let clid = ClientOrderId::new(0xfeed, o.id);
    let params = enc.place(
        MarketKind::Spot,
        "BTCUSDT",
        &p,
        &clid,
        false,
        1_700_000_000_000 + id,
        signing,
    );
    out.clear();
    out.extend_from_slice(b"POST /api/v3/order HTTP/1.1\r\nHost: 127.0.0.1\r\nX-MBX-APIKEY: k\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ");
    let _ = write!(out, "{}\r\n\r\n", params.len());
    out.extend_from_slice(params.as_bytes());
    sock.write_all(out).unwrap();
}

fn sink() -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 65536];
        while s.read(&mut buf).is_ok_and(|n| n > 0) {}
    });
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

fn signings() -> [(&'static str, Signing); 2] {
    [
        ("hmac", Signing::Hmac(HmacSigner::new(SECRET.as_bytes()))),
        (
            "ed25519",
            Signing::Ed25519(Ed25519Signer::from_seed(&[7; 32])),
        ),
    ]
}

/// Measures the REST path's intent → bytes, signed each way, with and without the write.
fn bench_rest(c: &mut Criterion) {
    for (name, signing) in signings() {
        let mut enc = RestEncoder::new(5_000);
        let mut id = 0;
        c.bench_function(&format!("live/rest_place/{name}"), |b| {
            b.iter(|| {
                id += 1;
                black_box(encode(&mut enc, &signing, id))
            })
        });
        let (mut sock, mut out) = (sink(), Vec::with_capacity(2048));
        c.bench_function(&format!("live/rest_place_write/{name}"), |b| {
            b.iter(|| {
                id += 1;
                encode_write(&mut enc, &signing, &mut out, &mut sock, id);
            })
        });
    }
    let signer = Ed25519Signer::from_seed(&[7; 32]);
    c.bench_function("live/ws_logon/ed25519", |b| {
        b.iter(|| black_box(session_logon_request("1", "KEY", 1_700_000_000_000, &signer).len()))
    });
    percentiles();
}

/// p50 / p99 over single timings, printed for LATENCY.md.
fn percentiles() {
    const N: u64 = 100_000;
    let clock = quanta::Clock::new();
    println!("live intent -> order bytes, {N} single timings (ns)");
    println!("variant | p50 | p99 | p99.9 | max");
    for (name, signing) in signings() {
        let mut enc = RestEncoder::new(5_000);
        let (mut sock, mut out) = (sink(), Vec::with_capacity(2048));
        for write in [false, true] {
            let mut hist =
                hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 3).unwrap();
            for id in 0..N {
                let t0 = clock.raw();
                if write {
                    encode_write(&mut enc, &signing, &mut out, &mut sock, id);
                } else {
                    black_box(encode(&mut enc, &signing, id));
                }
                let ns = clock.delta_as_nanos(t0, clock.raw());
                hist.record(ns.max(1)).unwrap();
            }
            let v = |q: f64| hist.value_at_quantile(q);
            let variant = if write {
                "rest_place_write"
            } else {
                "rest_place"
            };
            println!(
                "{variant}/{name} | {} | {} | {} | {}",
                v(0.5),
                v(0.99),
                v(0.999),
                hist.max()
            );
        }
    }
}

criterion_group!(benches, bench_rest);
criterion_main!(benches);
