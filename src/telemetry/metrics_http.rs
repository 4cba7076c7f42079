//! The Prometheus endpoint: `GET /metrics` in the text exposition format (version 0.0.4)
//! on a configurable address, off by default.
//!
//! One cold thread serves every connection, none of them blocking: it holds at most
//! [`CONNECTIONS_MAX`] open connections (a new one past that closes the oldest), reads
//! each without waiting, and gives each [`REQUEST_TIMEOUT`] in all to send its request
//! (not per read: a client sending a byte every second is closed at the deadline all
//! the same). So neither a slow client nor a crowd of idle ones delays a scrape by more
//! than one poll pause. It reads the pipeline counters (atomics), the status board and,
//! when the bot runs, its counters; it never touches the hot path. Every request gets
//! one answer and the connection is closed.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::runtime::clock::monotonic_now;
use crate::runtime::{Control, Counter};
use crate::stats::PipelineStats;
use crate::telemetry::process::ProcessUsage;
use crate::telemetry::status::{Status, StatusBoard};
use crate::telemetry::telegram::BotCounters;

/// Largest request head read, bytes.
const REQUEST_HEAD_MAX: usize = 8 << 10;
/// How long a client may take to send its whole request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections held at once; a new one beyond closes the oldest (a scraper is never
/// locked out by idle connections).
pub const CONNECTIONS_MAX: usize = 32;
/// How long writing the answer may take (an ~8 KiB body fits the socket buffer).
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause of the serving loop when nothing arrived: bounds a scrape's wait and the idle
/// CPU cost.
const POLL_PAUSE: Duration = Duration::from_millis(5);

/// What the endpoint reports.
#[derive(Clone)]
pub struct MetricsSources {
    /// Pipeline counters.
    pub stats: Arc<PipelineStats>,
    /// Stage latencies, venue health, portfolio.
    pub board: Arc<StatusBoard>,
    /// Kill switch.
    pub control: Arc<Control>,
    /// The Telegram bot's counters, when it runs.
    pub bot: Option<Arc<BotCounters>>,
}

/// A running endpoint.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `listen` (port 0 picks a free port) and serves until stopped.
    pub fn start(listen: SocketAddr, sources: MetricsSources) -> io::Result<Self> {
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve(&listener, &sources, &flag))?;
        log::info!("metrics: serving http://{addr}/metrics");
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A connection whose request is being read.
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    head: Vec<u8>,
    deadline: Instant,
}

/// What reading a connection came to.
enum Progress {
    /// Nothing more yet.
    Waiting,
    /// The request head is complete.
    Complete,
    /// Closed, malformed, oversized or an I/O error: drop it.
    Failed(io::Error),
}

impl Conn {
    /// Reads what has arrived, without waiting.
    fn read_available(&mut self) -> Progress {
        let mut buf = [0u8; 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Progress::Failed(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) if self.head.len() + n > REQUEST_HEAD_MAX => {
                    return Progress::Failed(io::ErrorKind::InvalidData.into());
                }
                Ok(n) => {
                    self.head.extend_from_slice(&buf[..n]);
                    if self.head.windows(4).any(|w| w == b"\r\n\r\n") {
                        return Progress::Complete;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Waiting,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Progress::Failed(e),
            }
        }
    }
}

fn serve(listener: &TcpListener, sources: &MetricsSources, stop: &AtomicBool) {
    let mut conns: Vec<Conn> = Vec::with_capacity(CONNECTIONS_MAX + 1);
    while !stop.load(Ordering::Acquire) {
        let now = monotonic_now();
        let accepted = accept_all(listener, &mut conns, now);
        let mut answered = 0;
        conns.retain_mut(|conn| match conn.read_available() {
            Progress::Waiting if now < conn.deadline => true,
            Progress::Waiting => {
                log::debug!(
                    "metrics: {} sent no request within {REQUEST_TIMEOUT:?}",
                    conn.peer
                );
                false
            }
            Progress::Complete => {
                answered += 1;
                if let Err(e) = answer(conn, sources) {
                    log::debug!("metrics: request from {}: {e}", conn.peer);
                }
                false
            }
            Progress::Failed(e) => {
                log::debug!("metrics: request from {}: {e}", conn.peer);
                false
            }
        });
        if accepted == 0 && answered == 0 {
            std::thread::sleep(POLL_PAUSE);
        }
    }
}

/// Takes every pending connection; past [`CONNECTIONS_MAX`] the oldest are closed.
fn accept_all(listener: &TcpListener, conns: &mut Vec<Conn>, now: Instant) -> usize {
    let mut accepted = 0;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(e) = stream.set_nonblocking(true) {
                    log::debug!("metrics: {peer}: {e}");
                    continue;
                }
                accepted += 1;
                conns.push(Conn {
                    stream,
                    peer,
                    head: Vec::with_capacity(512),
                    deadline: now + REQUEST_TIMEOUT,
                });
                if conns.len() > CONNECTIONS_MAX {
                    let oldest = conns.remove(0);
                    log::debug!("metrics: {} closed: too many connections", oldest.peer);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return accepted,
            Err(e) => {
                log::warn!("metrics: accept failed: {e}");
                return accepted;
            }
        }
    }
}

fn answer(conn: &mut Conn, sources: &MetricsSources) -> io::Result<()> {
    let stream = &mut conn.stream;
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let line = conn.head.split(|&b| b == b'\r').next().unwrap_or_default();
    let (status, content_type, body) = match line {
        l if l.starts_with(b"GET /metrics ") || l.starts_with(b"GET /metrics?") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            render(sources),
        ),
        l if l.starts_with(b"GET ") => ("404 Not Found", "text/plain", "not found\n".into()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET /metrics only\n".into(),
        ),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// The exposition text for the current state.
pub fn render(sources: &MetricsSources) -> String {
    let mut out = String::with_capacity(8 << 10);
    for (name, counter) in sources.stats.named() {
        counter_line(
            &mut out,
            &format!("edgeline_{}", name.replace('.', "_")),
            counter,
        );
    }
    if let Some(bot) = &sources.bot {
        let bot_counters = [
            ("commands", &bot.commands),
            ("unauthorized", &bot.unauthorized),
            ("sent", &bot.sent),
            ("send_errors", &bot.send_errors),
            ("poll_errors", &bot.poll_errors),
            ("alerts", &bot.alerts),
            ("dropped", &bot.dropped),
        ];
        for (name, counter) in bot_counters {
            counter_line(&mut out, &format!("edgeline_telegram_{name}"), counter);
        }
    }
    let health = &sources.stats.health;
    let silent: Vec<(String, f64)> = health
        .links()
        .iter()
        .enumerate()
        .map(|(i, link)| {
            #[allow(clippy::cast_precision_loss)] // gauges are f64 by definition
            let n = health.streams_silent(i) as f64;
            (
                format!(
                    "{{venue=\"{}\",market=\"{}\"}}",
                    link.venue,
                    link.kind.name()
                ),
                n,
            )
        })
        .collect();
    gauge(
        &mut out,
        "edgeline_feed_streams_silent",
        "Instruments whose stream is silent past its learned limit (stale).",
        &silent,
    );
    let status = sources.board.snapshot();
    gauges(&mut out, &status, sources.control.is_killed());
    latencies(&mut out, &status);
    out
}

fn counter_line(out: &mut String, name: &str, counter: &Counter) {
    let _ = writeln!(
        out,
        "# TYPE {name}_total counter\n{name}_total {}",
        counter.get()
    );
}

fn gauge(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn gauges(out: &mut String, status: &Status, killed: bool) {
    let process = ProcessUsage::read();
    #[allow(clippy::cast_precision_loss)] // gauges are f64 by definition
    let rss = process.rss_bytes.map_or(f64::NAN, |b| b as f64);
    gauge(
        out,
        "edgeline_resident_memory_bytes",
        "Resident set size.",
        &[(String::new(), rss)],
    );
    gauge(
        out,
        "edgeline_cpu_seconds",
        "User + system CPU time since start.",
        &[(String::new(), process.cpu_secs.unwrap_or(f64::NAN))],
    );
    gauge(
        out,
        "edgeline_kill_switch",
        "1 when the kill switch is tripped.",
        &[(String::new(), f64::from(u8::from(killed)))],
    );
    #[allow(clippy::cast_precision_loss)] // gauges are f64 by definition
    let rows: Vec<(String, f64)> = [
        ("written", status.database.rows_written),
        ("spooled", status.database.rows_spooled),
        ("waiting_in_spool", status.database.rows_waiting),
        ("dropped", status.database.rows_dropped),
    ]
    .iter()
    .map(|(state, n)| (format!("{{state=\"{state}\"}}"), *n as f64))
    .collect();
    gauge(
        out,
        "edgeline_db_rows",
        "Database rows by state (dropped: the spool was full or failing).",
        &rows,
    );
    if let Some(nats) = &status.nats {
        #[allow(clippy::cast_precision_loss)] // gauges are f64 by definition
        let rows: Vec<(String, f64)> = [
            ("published", nats.rows_written),
            ("duplicate", nats.rows_duplicate),
            ("pending", nats.rows_waiting),
            ("failed", nats.rows_dropped),
        ]
        .iter()
        .map(|(state, n)| (format!("{{state=\"{state}\"}}"), *n as f64))
        .collect();
        gauge(
            out,
            "edgeline_nats_rows",
            "Telemetry rows to NATS JetStream by state (pending: in the NATS spool; failed: lost).",
            &rows,
        );
    }
    let delays: Vec<(String, f64)> = status
        .venues
        .iter()
        .map(|v| {
            (
                format!("{{venue=\"{}\"}}", v.venue),
                v.mean_delay_ms.map_or(f64::NAN, |ms| ms / 1000.0),
            )
        })
        .collect();
    gauge(
        out,
        "edgeline_venue_delay_seconds",
        "Mean venue-to-us delay over the last interval.",
        &delays,
    );
    let stale: Vec<(String, f64)> = status
        .venues
        .iter()
        .map(|v| {
            (
                format!("{{venue=\"{}\"}}", v.venue),
                f64::from(u8::from(v.stale)),
            )
        })
        .collect();
    gauge(
        out,
        "edgeline_venue_stale",
        "1 when the venue is stale.",
        &stale,
    );
    if let Some(p) = &status.portfolio {
        #[allow(clippy::cast_precision_loss)] // gauges are f64 by definition
        let figures = [
            (
                "edgeline_pnl",
                "Realised plus unrealised PnL, quote units.",
                p.pnl,
            ),
            (
                "edgeline_open_positions",
                "Open positions.",
                p.open_positions as f64,
            ),
            (
                "edgeline_closed_trades",
                "Closed trades.",
                p.closed_trades as f64,
            ),
            (
                "edgeline_win_rate",
                "Winning share of closed trades.",
                p.win_rate,
            ),
            (
                "edgeline_trading_halted",
                "1 when trading is halted.",
                f64::from(u8::from(p.halted)),
            ),
        ];
        for (name, help, value) in figures {
            gauge(out, name, help, &[(String::new(), value)]);
        }
    }
}

fn latencies(out: &mut String, status: &Status) {
    const NAME: &str = "edgeline_stage_latency_seconds";
    const COUNT: &str = "edgeline_stage_latency_samples_total";
    let _ = writeln!(
        out,
        "# HELP {NAME} Stage latency quantiles since start (HDR histograms).\n# TYPE {NAME} gauge"
    );
    #[allow(clippy::cast_precision_loss)] // seconds for Prometheus
    for l in &status.stages {
        for (q, ns) in [("0.5", l.p50_ns), ("0.99", l.p99_ns)] {
            let _ = writeln!(
                out,
                "{NAME}{{stage=\"{}\",quantile=\"{q}\"}} {}",
                l.name,
                ns as f64 / 1e9
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP {COUNT} Latency samples recorded.\n# TYPE {COUNT} counter"
    );
    for l in &status.stages {
        let _ = writeln!(out, "{COUNT}{{stage=\"{}\"}} {}", l.name, l.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::status::{StageLatency, VenueStatus};
    use crate::types::Venue;

    fn sources() -> MetricsSources {
        let stats = Arc::new(PipelineStats::default());
        stats.feed_frames.add(42);
        let board = Arc::new(StatusBoard::new(0));
        board.update(|s| {
            s.stages.push(StageLatency {
                name: "feed",
                count: 10,
                p50_ns: 400,
                p99_ns: 2_000,
            });
            s.venues.push(VenueStatus {
                venue: Venue::Okx,
                mean_delay_ms: Some(250.0),
                stale: true,
                stale_since_unix_ms: Some(1),
            });
            s.database.rows_dropped = 7;
        });
        MetricsSources {
            stats,
            board,
            control: Arc::new(Control::default()),
            bot: None,
        }
    }

    /// Every sample line of the exposition text: (name with labels, value).
    fn samples(text: &str) -> Vec<(String, f64)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (name, value) = l.rsplit_once(' ').expect("name value");
                (name.to_owned(), value.parse().expect("a number"))
            })
            .collect()
    }

    #[test]
    fn test_render_counters_gauges_and_quantiles() {
        let text = render(&sources());
        let all = samples(&text);
        let get = |name: &str| all.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        assert_eq!(get("edgeline_feed_frames_total"), Some(42.0));
        assert_eq!(get("edgeline_book_sequence_gaps_total"), Some(0.0));
        assert_eq!(get("edgeline_venue_stale{venue=\"okx\"}"), Some(1.0));
        assert_eq!(
            get("edgeline_venue_delay_seconds{venue=\"okx\"}"),
            Some(0.25)
        );
        assert_eq!(
            get("edgeline_stage_latency_seconds{stage=\"feed\",quantile=\"0.99\"}"),
            Some(2e-6)
        );
        assert_eq!(
            get("edgeline_stage_latency_samples_total{stage=\"feed\"}"),
            Some(10.0)
        );
        assert_eq!(get("edgeline_kill_switch"), Some(0.0));
        assert_eq!(get("edgeline_db_rows{state=\"dropped\"}"), Some(7.0));
        // Every sample has a TYPE line for its metric family.
        for (name, _) in &all {
            let family = name.split('{').next().unwrap();
            assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
        }
    }

    #[test]
    fn test_scrape_over_http() {
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), sources()).unwrap();
        let get = |path: &str| {
            let mut stream = TcpStream::connect(server.addr()).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        };
        let answer = get("/metrics");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        assert!(
            samples(body)
                .iter()
                .any(|(n, v)| n == "edgeline_feed_frames_total" && *v == 42.0)
        );
        assert!(get("/other").starts_with("HTTP/1.1 404"));
    }

    /// A scrape's answer and how long it took.
    fn timed_scrape(addr: SocketAddr) -> (String, Duration) {
        let start = Instant::now();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        (answer, start.elapsed())
    }

    #[test]
    fn test_slow_client_does_not_block_scrapes() {
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), sources()).unwrap();
        let addr = server.addr();
        let slow = std::thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            // A byte every 1.5 s: each read alone is quick, the request never ends.
            for b in b"GET /metrics HTTP/1.1\r\n" {
                if stream.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(1_500));
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        for _ in 0..3 {
            let (answer, took) = timed_scrape(addr);
            assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
            assert!(took < Duration::from_secs(1), "a scrape took {took:?}");
        }
        drop(server);
        slow.join().unwrap();
    }

    #[test]
    fn test_idle_connections_do_not_delay_a_scrape() {
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), sources()).unwrap();
        let idle: Vec<TcpStream> = (0..CONNECTIONS_MAX + 20)
            .map(|_| TcpStream::connect(server.addr()).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        let (answer, took) = timed_scrape(server.addr());
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(took < Duration::from_secs(1), "the scrape took {took:?}");
        drop(idle);
    }
}
