//! A small gzip capture that inflates to far more than any line (a gzip bomb, or a
//! capture damaged into one endless line) is read with bounded memory and fails naming
//! the line and the byte where reading stopped. This file holds one test only: it reads
//! the process's peak resident memory.

#[path = "support/gzip_bomb.rs"]
mod gzip_bomb;

use edgeline::capture::{CaptureError, LINE_BYTES_MAX, read_file};

#[test]
fn test_capture_gzip_bomb_is_read_with_bounded_memory_and_says_where_it_stopped() {
    const INFLATED: u64 = 512 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.txt.gz");
    gzip_bomb::write(&path, INFLATED);
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < 8 << 20, "{compressed} bytes");
    let before = gzip_bomb::peak_rss_bytes(libc::RUSAGE_SELF);
    let err = read_file(&path).unwrap_err();
    let grew = gzip_bomb::peak_rss_bytes(libc::RUSAGE_SELF).saturating_sub(before);
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
