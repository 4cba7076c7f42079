//! A small gzip capture that inflates to far more than any line (one hftbacktest line,
//! then a single endless line of digits), and the peak resident memory `getrusage`
//! reports, for the tests that read such a capture with bounded memory.

use std::io::Write;
use std::path::Path;

/// Writes the bomb to `path`: about `inflated` bytes once decompressed.
pub fn write(path: &Path, inflated: u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    gz.write_all(b"1723161240000000000 {\"e\":\"bookTicker\"}\n")
        .unwrap();
    let chunk = vec![b'7'; 1 << 20];
    for _ in 0..inflated >> 20 {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap();
}

/// Peak resident memory, bytes, of `who` (`libc::RUSAGE_SELF`, or
/// `libc::RUSAGE_CHILDREN` for the largest child waited for).
pub fn peak_rss_bytes(who: libc::c_int) -> u64 {
    // SAFETY: `usage` is a plain struct the call fills in; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes for the duration of the call.
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    assert_eq!(rc, 0);
    u64::try_from(usage.ru_maxrss).unwrap() * 1024
}
