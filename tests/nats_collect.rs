//! Two engines (two sites) on the simulator publish their telemetry to the real NATS
//! JetStream server on 127.0.0.1:4222 and one `edgeline collect` drains it into the
//! real PostgreSQL: the central database holds exactly the union of both engines' own
//! rows (every table, keyed by site, run id and sequence), also when the collector is
//! killed and restarted mid-run, and when the engines lose the broker for ten seconds
//! (a loopback proxy between them and the broker is stopped; the shared server is never
//! touched). Each test has its own stream, subject prefix and PostgreSQL schema, and
//! deletes its stream at the end. Without NATS or PostgreSQL a test prints SKIPPED;
//! under `CI=true` it fails instead.

#[path = "common/pg.rs"]
#[allow(dead_code)] // the helpers other tests use
mod pg;
#[path = "common/proxy.rs"]
mod proxy;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use edgeline::telemetry::nats::central::row_tables;
use pg::Schema;
use proxy::Proxy;

const NATS_ADDR: &str = "127.0.0.1:4222";

/// One test at a time: each runs three processes on a small shared machine.
static SERIAL: Mutex<()> = Mutex::new(());

/// (table, site, run id, seq).
type Key = (String, String, String, i64);

/// Whether the test NATS server answers (SKIPPED, or a failure under `CI=true`).
fn nats_available() -> bool {
    let addr: SocketAddr = NATS_ADDR.parse().unwrap();
    match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(_) => true,
        Err(err) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but NATS at {NATS_ADDR} cannot be reached: {err}"
            );
            eprintln!("SKIPPED: NATS at {NATS_ADDR} cannot be reached ({err})");
            false
        }
    }
}

/// A stream and subject prefix of one test; the stream is deleted when dropped.
struct Names {
    stream: String,
    prefix: String,
}

impl Names {
    fn new(test: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "{test}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Self {
            stream: format!("EDGELINE_TEST_{id}"),
            prefix: format!("edgeline_test.{id}"),
        }
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let stream = self.stream.clone();
        let deleted = rt.block_on(async move {
            let client = async_nats::connect(NATS_ADDR).await?;
            async_nats::jetstream::new(client)
                .delete_stream(&stream)
                .await
                .map_err(async_nats::Error::from)
        });
        if let Err(err) = deleted {
            eprintln!("deleting stream {}: {err}", self.stream);
        }
    }
}

fn nats_section(names: &Names, url: &str, site: Option<&str>) -> String {
    let site = site.map_or(String::new(), |s| format!("site = \"{s}\"\n"));
    format!(
        "[nats]\nenabled = {}\nurl = \"nats://{url}\"\n{site}stream = \"{}\"\nsubject_prefix = \"{}\"\nduplicate_window_secs = 120\n",
        !site.is_empty(),
        names.stream,
        names.prefix
    )
}

/// An engine on the simulator, unpinned, publishing as `site` to `url`.
fn engine(dir: &Path, names: &Names, site: &str, url: &str, secs: u64) -> (Child, PathBuf) {
    let out = dir.join(site);
    let config = dir.join(format!("{site}.toml"));
    std::fs::write(
        &config,
        format!(
            "[[placement]]\nstages = [\"feed\", \"book\", \"edge\", \"gateway\"]\nidle = \"spin-then-yield\"\n\
             [[placement]]\nstages = [\"telemetry\"]\nidle = \"park\"\n\
             [telemetry]\nprogress_interval_ms = 0\ndump_interval_secs = 1\n{}",
            nats_section(names, url, Some(site))
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_edgeline"))
        .args(["run", "--duration", &secs.to_string(), "--config"])
        .arg(&config)
        .arg("--output")
        .arg(&out)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child, out)
}

/// The collector's configuration: the stream and the schema's URL.
fn collector_config(dir: &Path, names: &Names, schema: &Schema) -> PathBuf {
    let path = dir.join("collect.toml");
    std::fs::write(
        &path,
        format!(
            "{}[database]\nurl = \"{}\"\n",
            nats_section(names, NATS_ADDR, None),
            schema.url()
        ),
    )
    .unwrap();
    path
}

fn collector(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_edgeline"))
        .args(["collect", "--ack-wait-ms", "2000", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// SIGTERM, then the collector's output; it must exit 0.
fn stop_collector(child: Child) -> Output {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "collector: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Waits for an engine; it must exit 0 with nothing pending or failed to NATS. Returns
/// its `nats:` summary line.
fn finish_engine(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "engine:\n{stdout}\n{stderr}");
    let nats = stdout
        .lines()
        .find(|l| l.starts_with("nats:"))
        .unwrap_or_else(|| panic!("no nats line:\n{stdout}"));
    assert!(
        nats.contains(" 0 pending") && nats.contains(" 0 failed"),
        "{nats}"
    );
    nats.to_owned()
}

/// Every row key of an engine's own SQLite database, with its site.
fn engine_keys(out: &Path, site: &str) -> BTreeSet<Key> {
    let db = rusqlite::Connection::open(out.join("opportunities.sqlite")).unwrap();
    let mut keys = BTreeSet::new();
    for table in row_tables() {
        let mut stmt = db
            .prepare(&format!("SELECT run_id, seq FROM {}", table.name))
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .unwrap();
        for row in rows {
            let (run, seq) = row.unwrap();
            keys.insert((table.name.to_owned(), site.to_owned(), run, seq));
        }
    }
    keys
}

/// Every row key of the central database, and the number of rows (duplicates would
/// make it larger than the set).
fn central_keys(schema: &mut Schema) -> (BTreeSet<Key>, usize) {
    let mut keys = BTreeSet::new();
    let mut count = 0;
    for table in row_tables() {
        let exists: bool = schema
            .admin
            .query_one(
                &format!(
                    "SELECT to_regclass('{}.{}') IS NOT NULL",
                    schema.name, table.name
                ),
                &[],
            )
            .unwrap()
            .get(0);
        if !exists {
            continue;
        }
        let sql = format!(
            "SELECT site, run_id, seq FROM {}.{}",
            schema.name, table.name
        );
        for row in schema.admin.query(&sql, &[]).unwrap() {
            count += 1;
            keys.insert((table.name.to_owned(), row.get(0), row.get(1), row.get(2)));
        }
    }
    (keys, count)
}

/// Polls the central database until it holds `expected` (at most 40 s), then checks it
/// holds exactly that, each row once.
fn assert_central_is_union(schema: &mut Schema, expected: &BTreeSet<Key>) {
    let deadline = Instant::now() + Duration::from_secs(40);
    let (keys, count) = loop {
        let (keys, count) = central_keys(schema);
        if keys.len() >= expected.len() || Instant::now() > deadline {
            break (keys, count);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let missing: Vec<_> = expected.difference(&keys).take(5).collect();
    let extra: Vec<_> = keys.difference(expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} expected, {} central; missing {missing:?}, extra {extra:?}",
        expected.len(),
        keys.len()
    );
    assert_eq!(count, keys.len(), "no row twice");
    for site in ["tokyo", "frankfurt"] {
        let rows = expected.iter().filter(|k| k.1 == site).count();
        assert!(rows > 10, "{site} wrote only {rows} rows");
    }
    let tables: BTreeSet<&str> = expected.iter().map(|k| k.0.as_str()).collect();
    assert!(tables.contains("latency_snapshots"), "{tables:?}");
}

/// `collector_gap`: kill the collector this far into the run, restart it after a
/// second. `broker_loss`: the engines reach the broker through a proxy stopped this far
/// into the run, for ten seconds.
fn two_sites(
    test: &str,
    secs: u64,
    collector_gap: Option<Duration>,
    broker_loss: Option<Duration>,
) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !nats_available() {
        return;
    }
    let Some(mut schema) = Schema::create(test) else {
        return;
    };
    let names = Names::new(test);
    let dir = tempfile::tempdir().unwrap();
    let mut proxy = broker_loss.map(|_| Proxy::start(NATS_ADDR));
    let url = proxy.as_ref().map_or(NATS_ADDR.to_owned(), Proxy::addr);
    let config = collector_config(dir.path(), &names, &schema);
    let mut collect = Some(collector(&config));
    let started = Instant::now();
    let (tokyo, tokyo_out) = engine(dir.path(), &names, "tokyo", &url, secs);
    let (frankfurt, frankfurt_out) = engine(dir.path(), &names, "frankfurt", &url, secs);
    if let Some(at) = collector_gap {
        std::thread::sleep(at.saturating_sub(started.elapsed()));
        let mut killed = collect.take().unwrap();
        killed.kill().unwrap();
        killed.wait().unwrap();
        std::thread::sleep(Duration::from_secs(1));
        collect = Some(collector(&config));
    }
    if let (Some(at), Some(proxy)) = (broker_loss, proxy.as_mut()) {
        std::thread::sleep(at.saturating_sub(started.elapsed()));
        proxy.stop();
        std::thread::sleep(Duration::from_secs(10));
        proxy.resume();
    }
    let lines = [finish_engine(tokyo), finish_engine(frankfurt)];
    let mut expected = engine_keys(&tokyo_out, "tokyo");
    expected.extend(engine_keys(&frankfurt_out, "frankfurt"));
    assert_central_is_union(&mut schema, &expected);
    for nats in lines {
        let spooled = !nats.contains(" 0 spooled during outages");
        // With the broker away the outage must go through the spool; with it present,
        // rows are spooled only after a publish that failed (a timeout on a loaded
        // machine), never silently.
        let publish_errors = !nats.contains("(0 publish errors)");
        if broker_loss.is_some() {
            assert!(spooled, "the outage went through the spool: {nats}");
        } else {
            assert!(
                !spooled || publish_errors,
                "spooled without a failed publish: {nats}"
            );
        }
    }
    let out = stop_collector(collect.take().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(" 0 malformed"), "{stdout}");
}

#[test]
fn test_two_sites_one_collector_hold_the_union() {
    two_sites("union", 6, None, None);
}

#[test]
fn test_collector_killed_and_restarted_mid_run_loses_and_duplicates_nothing() {
    two_sites("restart", 8, Some(Duration::from_secs(4)), None);
}

#[test]
fn test_engines_losing_the_broker_for_ten_seconds_lose_and_duplicate_nothing() {
    two_sites("broker_loss", 20, None, Some(Duration::from_secs(3)));
}
