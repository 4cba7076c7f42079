//! The spool on a full disk, without filling the real one: a child process (this test
//! binary again) lowers its own file size limit (`RLIMIT_FSIZE`, with `SIGXFSZ`
//! ignored, so a write past it fails with `EFBIG` as a full disk fails with `ENOSPC`),
//! appends, raises the limit again ("space again"), and appends more. Rows the disk
//! refused are counted as refused by the disk (not "spool full"), and once there is room
//! every later row is stored and read back: no leftover file blocks new segments.

#[path = "common/rows.rs"]
mod rows;

use std::path::Path;
use std::process::Command;

use edgeline::telemetry::db::spool::{MAGIC, Spool};
use rows::opportunity_rows;

/// Set in the child: the spool directory it works in.
const CHILD_ENV: &str = "EDGELINE_TEST_SPOOL_DISK_FULL_DIR";
/// Printed by the child once its checks passed.
const CHILD_DONE: &str = "spool disk-full child: done";

/// Sets this process's soft file size limit (the hard one stays unlimited).
fn set_file_size_limit(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `limit` is a valid rlimit for the duration of the call; only this (child)
    // process's own limit changes.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Every waiting row's seq, oldest first, consuming them.
fn drain(spool: &mut Spool) -> Vec<i64> {
    let mut out = Vec::new();
    loop {
        let batch: Vec<i64> = spool.peek(100).unwrap().iter().map(|r| r.seq).collect();
        if batch.is_empty() {
            return out;
        }
        spool.consume(batch.len()).unwrap();
        out.extend(batch);
    }
}

fn child(dir: &Path) {
    // SAFETY: ignoring SIGXFSZ installs no handler code; writes past the limit then fail
    // with EFBIG instead of killing the process.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let (mut spool, _) = Spool::open(dir, 1 << 20).unwrap();

    // A disk with room for a segment file but not for its header.
    set_file_size_limit(MAGIC.len() as u64 / 2);
    assert_eq!(spool.append(&opportunity_rows("r", 0..5)), 0);
    assert_eq!(spool.append(&opportunity_rows("r", 5..10)), 0);
    assert_eq!((spool.dropped_failed(), spool.dropped_full()), (10, 0));
    set_file_size_limit(libc::RLIM_INFINITY);
    assert_eq!(
        spool.append(&opportunity_rows("r", 10..15)),
        5,
        "space again: stored"
    );

    // A disk that fills in the middle of a segment.
    let one_row = {
        let probe = tempfile::tempdir().unwrap();
        let (mut p, _) = Spool::open(probe.path(), 1 << 20).unwrap();
        p.append(&opportunity_rows("r", 0..1));
        p.bytes() - MAGIC.len() as u64
    };
    let largest = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .max()
        .unwrap();
    set_file_size_limit(largest + one_row / 2);
    assert_eq!(spool.append(&opportunity_rows("r", 15..20)), 0);
    set_file_size_limit(libc::RLIM_INFINITY);
    assert_eq!(spool.append(&opportunity_rows("r", 20..25)), 5);
    assert_eq!((spool.dropped_failed(), spool.dropped_full()), (15, 0));
    assert_eq!(spool.torn_bytes(), 0, "a failed write is cut back");

    let expect: Vec<i64> = (10..15).chain(20..25).collect();
    assert_eq!(drain(&mut spool), expect);
    println!("{CHILD_DONE}");
}

#[test]
fn test_spool_disk_full_counts_the_cause_and_recovers_when_space_returns() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "test_spool_disk_full_counts_the_cause_and_recovers_when_space_returns",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(CHILD_DONE),
        "child failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
