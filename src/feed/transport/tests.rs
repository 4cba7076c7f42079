//! The transport against small WebSocket servers on loopback: server pings are answered
//! and the pongs flushed, a silent connection is declared dead and reconnected, the venue
//! ping is sent on its interval and a missing pong ends the connection.

use std::net::TcpListener;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use tungstenite::{Message, Utf8Bytes};

use super::*;
use crate::runtime::clock;

/// Longest a test waits for something that takes milliseconds (a liveness bound).
const LIMIT: Duration = Duration::from_secs(10);

fn config() -> TransportConfig {
    TransportConfig {
        connect_timeout: Duration::from_secs(5),
        silence_timeout: Duration::from_millis(300),
        pong_timeout: Duration::from_millis(200),
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..TransportConfig::default()
    }
}

/// A server accepting `connections` WebSocket clients one after the other, each served
/// by `serve`; returns its URL.
fn server(
    connections: usize,
    serve: impl Fn(&mut tungstenite::WebSocket<std::net::TcpStream>) + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..connections {
            let (stream, _) = listener.accept().unwrap();
            let mut ws = tungstenite::accept(stream).unwrap();
            serve(&mut ws);
        }
    });
    url
}

fn transport(url: &str, heartbeat: Option<Heartbeat>) -> Transport {
    let mut t = Transport::new(16, config(), Clock::new()).unwrap();
    t.add(Endpoint {
        url: url.to_owned(),
        subscribe: vec!["hello".to_owned()],
        heartbeat,
    })
    .unwrap();
    t.open_all().unwrap();
    t
}

/// Runs the hot loop (ticks, readiness, reads) until `done` returns true for a notice
/// or a data frame. A `pong` frame is acknowledged as the feed stage does when its
/// decoder reports a heartbeat.
fn drive(t: &mut Transport, mut done: impl FnMut(Option<Notice>, Option<&[u8]>) -> bool) {
    let clock = Clock::new();
    let deadline = clock::monotonic_now() + LIMIT;
    loop {
        assert!(
            clock::monotonic_now() < deadline,
            "nothing within {LIMIT:?}"
        );
        t.tick(clock.raw());
        while let Some(notice) = t.next_notice() {
            if done(Some(notice), None) {
                return;
            }
        }
        t.poll_readiness().unwrap();
        while t.is_readable(0) {
            match t.read(0) {
                Frame::Data(bytes) => {
                    let is_pong = bytes == b"pong";
                    let stop = done(None, Some(bytes));
                    if is_pong {
                        t.pong(0);
                    }
                    if stop {
                        return;
                    }
                }
                Frame::Idle | Frame::Closed => break,
            }
        }
        clock::sleep(Duration::from_micros(200));
    }
}

#[test]
fn test_transport_answers_server_pings_and_flushes_the_pong() {
    let (got, pongs) = mpsc::channel();
    let url = server(1, move |ws| {
        assert_eq!(ws.read().unwrap(), Message::text("hello"));
        ws.send(Message::Ping(b"p1".to_vec().into())).unwrap();
        ws.send(Message::text("after ping")).unwrap();
        loop {
            match ws.read() {
                Ok(Message::Pong(payload)) => {
                    got.send(payload.to_vec()).unwrap();
                    ws.send(Message::text("bye")).unwrap();
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let mut t = transport(&url, None);
    drive(&mut t, |_, frame| frame == Some(b"bye".as_slice()));
    assert_eq!(pongs.recv_timeout(LIMIT).unwrap(), b"p1");
    assert_eq!(t.counts(0).dropped, 0);
}

#[test]
fn test_transport_reconnects_a_silent_connection_and_resubscribes() {
    let (subscribed, subscriptions) = mpsc::channel();
    let url = server(2, move |ws| {
        subscribed.send(ws.read().unwrap()).unwrap();
        // Silent: read (and drop) whatever comes until the client goes away.
        while ws.read().is_ok() {}
    });
    let mut t = transport(&url, None);
    let mut seen = Vec::new();
    drive(&mut t, |notice, _| {
        seen.extend(notice);
        notice.is_some_and(|n| matches!(n, Notice::Up(0)))
    });
    assert_eq!(seen, [Notice::Down(0, DownReason::Silent), Notice::Up(0)]);
    let counts = t.counts(0);
    assert_eq!((counts.opened, counts.dropped, counts.silent), (2, 1, 1));
    for _ in 0..2 {
        assert_eq!(
            subscriptions.recv_timeout(LIMIT).unwrap(),
            Message::text("hello")
        );
    }
}

#[test]
fn test_transport_sends_the_venue_ping_and_needs_its_pong() {
    let (pinged, pings) = mpsc::channel();
    let url = server(1, move |ws| {
        let mut answered = 0;
        while let Ok(msg) = ws.read() {
            if msg == Message::text("ping") {
                pinged.send(()).unwrap();
                // Answer the first ping only: the second goes unanswered.
                if answered == 0 {
                    ws.send(Message::Text(Utf8Bytes::from_static("pong")))
                        .unwrap();
                    answered += 1;
                }
            }
        }
    });
    let heartbeat = Heartbeat {
        message: "ping",
        interval: Duration::from_millis(100),
    };
    let mut t = Transport::new(
        16,
        TransportConfig {
            silence_timeout: Duration::from_secs(5),
            ..config()
        },
        Clock::new(),
    )
    .unwrap();
    t.add(Endpoint {
        url,
        subscribe: Vec::new(),
        heartbeat: Some(heartbeat),
    })
    .unwrap();
    t.open_all().unwrap();
    let mut pongs = 0;
    let mut seen = Vec::new();
    drive(&mut t, |notice, frame| {
        pongs += usize::from(frame == Some(b"pong".as_slice()));
        seen.extend(notice);
        notice.is_some()
    });
    assert_eq!(seen, [Notice::Down(0, DownReason::MissedPong)]);
    assert_eq!(pongs, 1);
    for _ in 0..2 {
        pings.recv_timeout(LIMIT).unwrap();
    }
    let counts = t.counts(0);
    assert_eq!((counts.missed_pongs, counts.dropped), (1, 1));
    assert!(counts.pings >= 2, "{counts:?}");
}

#[test]
fn test_transport_speaks_wss_to_a_self_signed_loopback_server() {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let server_config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://{}/ws", listener.local_addr().unwrap());
    let (got, requests) = mpsc::channel();
    std::thread::spawn(move || {
        loop {
            let (tcp, _) = listener.accept().unwrap();
            let session = rustls::ServerConnection::new(Arc::clone(&server_config)).unwrap();
            // Clients that do not trust the certificate fail here: wait for the next.
            let Ok(mut ws) = tungstenite::accept(rustls::StreamOwned::new(session, tcp)) else {
                continue;
            };
            got.send(ws.read().unwrap()).unwrap();
            ws.send(Message::text("over tls")).unwrap();
            while ws.read().is_ok() {}
            return;
        }
    });
    let impatient = TransportConfig {
        connect_timeout: Duration::from_millis(300),
        ..config()
    };
    let mut t = Transport::new(16, impatient, Clock::new()).unwrap();
    t.add(Endpoint {
        url: url.clone(),
        subscribe: vec!["hello".to_owned()],
        heartbeat: None,
    })
    .unwrap();
    // Without the server's certificate the handshake is refused.
    let refused = t.open_all().unwrap_err().to_string();
    assert!(refused.contains("certificate"), "{refused}");
    // Closed for sure: the one-at-a-time server must not be left reading the refused
    // connection while the trusting client handshakes.
    drop(t);
    let mut t = Transport::new(16, config(), Clock::new()).unwrap();
    t.trust_root(cert.to_vec());
    t.add(Endpoint {
        url,
        subscribe: vec!["hello".to_owned()],
        heartbeat: None,
    })
    .unwrap();
    t.open_all().unwrap();
    drive(&mut t, |_, frame| frame == Some(b"over tls".as_slice()));
    assert_eq!(
        requests.recv_timeout(LIMIT).unwrap(),
        Message::text("hello")
    );
}
