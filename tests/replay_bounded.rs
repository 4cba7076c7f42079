//! `edgeline replay` of a small gzip capture that inflates to far more than any line:
//! the replay streams the capture, stops at the endless line with bounded memory, and
//! exits non-zero naming the file, the line and the byte where reading stopped.

use std::io::Write;
use std::process::Command;

/// Peak resident memory of the largest child waited for, bytes.
fn children_peak_rss_bytes() -> u64 {
    // SAFETY: `usage` is a plain struct the call fills in; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0);
    u64::try_from(usage.ru_maxrss).unwrap() * 1024
}

#[test]
fn test_replay_of_a_gzip_bomb_stops_with_bounded_memory_naming_where() {
    const INFLATED: u64 = 512 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.txt.gz");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all(b"1723161240000000000 {\"e\":\"bookTicker\"}\n")
            .unwrap();
        let chunk = vec![b'7'; 1 << 20];
        for _ in 0..INFLATED >> 20 {
            gz.write_all(&chunk).unwrap();
        }
        gz.finish().unwrap();
    }
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
    let peak = children_peak_rss_bytes();
    assert!(
        peak < INFLATED / 2,
        "the replay's peak memory was {peak} bytes for a {INFLATED}-byte text"
    );
}
