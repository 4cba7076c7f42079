//! The SQLite backend behind the writer: a database that refuses writes (locked by
//! another process) delays rows into the spool and gets them all, in order, when it
//! takes writes again, also after a restart; replays never duplicate; a full spool
//! drops and counts.

#[path = "common/rows.rs"]
mod rows;

use std::path::Path;
use std::time::Duration;

use edgeline::runtime::clock::monotonic_now;
use edgeline::telemetry::db::spool::Spool;
use edgeline::telemetry::db::sqlite::SqliteDb;
use edgeline::telemetry::db::writer::DbWriter;
use rows::opportunity_rows;
use rusqlite::Connection;

fn writer(db: &Path, spool_dir: &Path, spool_max_bytes: u64) -> DbWriter {
    let (spool, _) = Spool::open(spool_dir, spool_max_bytes).unwrap();
    let backend = SqliteDb::open(db).unwrap();
    DbWriter::new(Box::new(backend), spool, 100, Duration::ZERO)
}

fn write_batches(writer: &mut DbWriter, run: &str, from: i64, to: i64) {
    for start in (from..to).step_by(50) {
        let batch = opportunity_rows(run, start..(start + 50).min(to));
        writer.write(&batch, monotonic_now());
        writer.replay_if_due(monotonic_now());
    }
}

/// `(run_id, seq)` of every row, in arrival order.
fn keys(db: &Path) -> Vec<(String, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT run_id, seq FROM opportunities ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn expected(run: &str, seqs: std::ops::Range<i64>) -> Vec<(String, i64)> {
    seqs.map(|s| (run.to_owned(), s)).collect()
}

/// Another connection holding the write lock: every write of the writer fails after
/// its busy timeout until this is dropped.
fn lock(db: &Path) -> Connection {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[test]
fn test_sqlite_locked_database_delays_rows_then_gets_them_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite");
    let mut writer = writer(&db, &dir.path().join("spool"), 64 << 20);
    write_batches(&mut writer, "r", 0, 200);
    let held = lock(&db);
    write_batches(&mut writer, "r", 200, 400);
    let during = writer.stats();
    assert_eq!((during.rows_written, during.rows_waiting), (200, 200));
    drop(held);
    write_batches(&mut writer, "r", 400, 450);
    let stats = writer.finish();
    assert_eq!(
        (stats.rows_written, stats.rows_waiting),
        (450, 0),
        "{stats:?}"
    );
    assert_eq!(stats.rows_dropped, 0);
    assert_eq!(keys(&db), expected("r", 0..450));
}

#[test]
fn test_sqlite_spool_is_replayed_after_restart_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (db, spool_dir) = (dir.path().join("t.sqlite"), dir.path().join("spool"));
    let mut first = writer(&db, &spool_dir, 64 << 20);
    write_batches(&mut first, "r1", 0, 100);
    let held = lock(&db);
    write_batches(&mut first, "r1", 100, 300);
    assert_eq!(
        first.finish().rows_waiting,
        200,
        "the lock outlives the run"
    );
    drop(first); // the first process exits: its spool lock goes with it
    drop(held);
    // A replay of rows the database already has, as after a crash between a commit and
    // the spool's bookkeeping.
    let (mut spool, _) = Spool::open(&spool_dir, 64 << 20).unwrap();
    assert_eq!(spool.append(&opportunity_rows("r1", 0..100)), 100);
    drop(spool);

    let mut second = writer(&db, &spool_dir, 64 << 20);
    write_batches(&mut second, "r2", 0, 50);
    let stats = second.finish();
    assert_eq!(
        (stats.rows_written, stats.rows_duplicate),
        (250, 100),
        "{stats:?}"
    );
    assert_eq!(stats.rows_waiting, 0);
    let all: Vec<_> = expected("r1", 0..300)
        .into_iter()
        .chain(expected("r2", 0..50))
        .collect();
    assert_eq!(keys(&db), all);
}

#[test]
fn test_sqlite_full_spool_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite");
    let mut writer = writer(&db, &dir.path().join("spool"), 64 << 10);
    let held = lock(&db);
    write_batches(&mut writer, "r", 0, 1000);
    drop(held);
    let stats = writer.finish();
    assert!(stats.rows_dropped > 0, "{stats:?}");
    assert_eq!(stats.rows_written + stats.rows_dropped, 1000, "{stats:?}");
    assert_eq!(stats.rows_waiting, 0);
    let stored = keys(&db);
    assert_eq!(
        stored,
        expected("r", 0..stored.len() as i64),
        "the oldest rows kept"
    );
}

#[test]
fn test_sqlite_unwritable_spool_dir_drops_counts_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (db, spool_dir) = (dir.path().join("t.sqlite"), dir.path().join("spool"));
    let mut writer = writer(&db, &spool_dir, 64 << 20);
    write_batches(&mut writer, "r", 0, 100);
    let held = lock(&db);
    // The spool's folder goes away under the writer (a disk pulled, a cleanup script)
    // while the database is locked: no segment can be created there.
    std::fs::rename(&spool_dir, dir.path().join("moved")).unwrap();
    std::fs::write(&spool_dir, b"not a folder").unwrap();
    write_batches(&mut writer, "r", 100, 200);
    let during = writer.stats();
    assert_eq!(during.rows_dropped, 100, "{during:?}");
    std::fs::remove_file(&spool_dir).unwrap();
    std::fs::rename(dir.path().join("moved"), &spool_dir).unwrap();
    write_batches(&mut writer, "r", 200, 300);
    drop(held);
    let stats = writer.finish();
    assert_eq!(
        (stats.rows_written, stats.rows_dropped, stats.rows_waiting),
        (200, 100, 0),
        "{stats:?}"
    );
    let kept: Vec<_> = expected("r", 0..100)
        .into_iter()
        .chain(expected("r", 200..300))
        .collect();
    assert_eq!(keys(&db), kept, "everything the spool took, in order");
}
