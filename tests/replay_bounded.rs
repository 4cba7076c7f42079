//! `edgeline replay` of a small gzip capture that inflates to far more than any line:
//! the replay streams the capture, stops at the endless line with bounded memory, and
//! exits non-zero naming the file, the line and the byte where reading stopped.

#[path = "support/gzip_bomb.rs"]
mod gzip_bomb;

use std::process::Command;

#[test]
fn test_replay_of_a_gzip_bomb_stops_with_bounded_memory_naming_where() {
    const INFLATED: u64 = 512 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.txt.gz");
    gzip_bomb::write(&path, INFLATED);
    let out = Command::new(env!("CARGO_BIN_EXE_edgeline"))
        .arg("replay")
        .arg(format!("binance.spot={}", path.display()))
        .arg("--output")
        .arg(dir.path().join("out"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("bomb.txt.gz:2: reading stopped at byte"),
        "{stderr}"
    );
    let peak = gzip_bomb::peak_rss_bytes(libc::RUSAGE_CHILDREN);
    assert!(
        peak < INFLATED / 2,
        "the replay's peak memory was {peak} bytes for a {INFLATED}-byte text"
    );
}
