//! A small gzip capture that inflates to far more than any line (a gzip bomb, or a
//! capture damaged into one endless line) is read with bounded memory and fails naming
//! the line and the byte where reading stopped. This file holds one test only: it reads
//! the process's peak resident memory.

use std::io::Write;

use edgeline::capture::{CaptureError, LINE_BYTES_MAX, read_file};

/// Peak resident memory of this process, bytes.
fn peak_rss_bytes() -> u64 {
    // SAFETY: `usage` is a plain struct the call fills in; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0);
    u64::try_from(usage.ru_maxrss).unwrap() * 1024
}

#[test]
fn test_capture_gzip_bomb_is_read_with_bounded_memory_and_says_where_it_stopped() {
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
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < 8 << 20, "{compressed} bytes");
    let before = peak_rss_bytes();
    let err = read_file(&path).unwrap_err();
    let grew = peak_rss_bytes().saturating_sub(before);
    let text = err.to_string();
    match err {
        CaptureError::Stopped { line, byte, .. } => {
            assert_eq!(line, 2, "{text}");
            assert!(byte <= 2 * LINE_BYTES_MAX as u64, "{text}");
        }
        other => panic!("{other}"),
    }
    assert!(
        text.contains("bomb.txt.gz:2") && text.contains("longer than"),
        "{text}"
    );
    assert!(
        grew < 4 * LINE_BYTES_MAX as u64,
        "reading took {grew} more bytes of memory for a {INFLATED}-byte text"
    );
}
