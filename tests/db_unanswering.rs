//! A PostgreSQL server that accepts connections and then never answers (a stopped
//! process, a wedged proxy): the writer must not hang on it. Each connect or batch gets
//! `write_timeout`, after which its rows go to the spool; none is dropped. No real
//! server is needed: the "server" is a loopback listener that reads and stays silent.

#[path = "common/rows.rs"]
mod rows;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgeline::runtime::clock::monotonic_now;
use edgeline::telemetry::db::postgres::PgTarget;
use edgeline::telemetry::db::spool::Spool;
use edgeline::telemetry::db::writer::{DbWriter, WriterThread};
use edgeline::telemetry::db::{DatabaseSettings, DbTarget};
use rows::opportunity_rows;

/// Accepts every connection on a loopback port, reads whatever comes, answers nothing.
/// Connections are kept (never closed) until the test ends.
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            held.lock().unwrap().push(conn.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

/// A writer to the silent server at `addr`, 100 ms per call, spooling in `dir`.
fn writer(addr: &str, dir: &Path) -> DbWriter {
    let url = format!("postgres://edgeline@{addr}/test");
    let settings = DatabaseSettings {
        target: DbTarget::Postgres(Box::new(PgTarget::from_url(&url, None).unwrap())),
        write_timeout: Duration::from_millis(100),
        ..DatabaseSettings::default()
    };
    let backend = settings.open_backend(dir).unwrap();
    let (spool, _) = Spool::open(&dir.join("spool"), 64 << 20).unwrap();
    DbWriter::new(backend, spool, 100, Duration::ZERO)
}

#[test]
fn test_unanswering_server_rows_go_to_the_spool() {
    let addr = silent_server();
    let dir = tempfile::tempdir().unwrap();
    let mut writer = writer(&addr, dir.path());
    for start in (0..2_000).step_by(100) {
        writer.write(&opportunity_rows("r", start..start + 100), monotonic_now());
        writer.replay_if_due(monotonic_now());
    }
    let stats = writer.finish();
    assert_eq!(
        (stats.rows_spooled, stats.rows_waiting, stats.rows_dropped),
        (2_000, 2_000, 0),
        "{stats:?}"
    );
    assert_eq!(stats.rows_written, 0);
    drop(writer); // the process exits: its spool lock goes with it
    let (_, recovered) = Spool::open(&dir.path().join("spool"), 64 << 20).unwrap();
    assert_eq!(recovered.rows, 2_000, "kept for the next start");
}

#[test]
fn test_unanswering_server_does_not_block_the_writer_queue() {
    let addr = silent_server();
    let dir = tempfile::tempdir().unwrap();
    let thread = WriterThread::spawn(writer(&addr, dir.path()), Duration::from_millis(1)).unwrap();
    // Far more batches than the queue holds: each is taken (and spooled) rather than
    // the queue staying full behind a call that never returns.
    let mut refused = 0;
    for start in (0..5_000).step_by(50) {
        let mut batch = opportunity_rows("r", start..start + 50);
        while let Err(back) = thread.try_send(batch) {
            batch = back;
            refused += 1;
            std::thread::yield_now();
        }
    }
    let stats = thread.finish();
    assert_eq!(
        (stats.rows_spooled, stats.rows_dropped),
        (5_000, 0),
        "{stats:?} ({refused} sends waited for room)"
    );
}
