//! Reading recorded venue traffic: every capture format listed in
//! `../shared/data/MANIFEST.md` (and users' own recordings in the same formats) as one
//! stream of [`CapturedMessage`]s in file order.
//!
//! Formats, told apart by content (gzip and zstd by their magic bytes, so `.gz`, `.zst`
//! or any name):
//! - hftbacktest `<receive_ns> <payload>` lines (HBT), the REST snapshot inlined;
//! - cryptofeed `.ws.log` (`URL <-> TS` opened, `URL <- TS: JSON` sent, `TS: PAYLOAD`
//!   received) and `.http.log` (`URL -> TS: BODY`); the `configuration: {...}` header
//!   line cryptofeed's raw data collection writes first is skipped;
//! - cryptofeed v3 JSON lines (`{"t":"recv","conn":..,"ts":..,"data":"<payload>"}`),
//!   plain or zstd-compressed (`.jsonl.zst`, as cryptofeed writes them);
//! - plain JSON lines (one payload per line), and one pretty-printed JSON document.
//!
//! Files are streamed ([`CaptureReader`]): decompressed and split into lines as they are
//! read, each line at most [`LINE_BYTES_MAX`] bytes, so a small file that inflates to
//! gigabytes (a gzip bomb, or a capture damaged into one endless line) costs at most one
//! line of memory, and the error says at which line and byte it stopped.
//!
//! Cold path (verification, tests, replay): allocates per message; never touches the hot
//! path.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// How a message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A WebSocket frame the venue sent us.
    Received,
    /// A WebSocket frame we sent (subscriptions).
    Sent,
    /// A REST response (depth snapshots).
    Http,
}

/// One recorded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    /// Local receive time, unix nanoseconds (0 where the format has none).
    pub ts_ns: u64,
    /// The connection: its URL or the recorder's connection id ("" where unknown).
    pub source: String,
    /// Received, sent, or a REST response.
    pub direction: Direction,
    /// The payload exactly as recorded.
    pub payload: String,
}

/// Why a capture cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The (decompressed) text could not be read on: a damaged or cut compressed
    /// stream, or a line longer than [`LINE_BYTES_MAX`]. Everything before was read.
    #[error("{path}:{line}: reading stopped at byte {byte} of the decompressed text: {reason}")]
    Stopped {
        /// The file.
        path: PathBuf,
        /// The line being read, from 1.
        line: usize,
        /// Bytes of decompressed text read before it stopped.
        byte: u64,
        /// Why.
        reason: String,
    },
    /// A line does not follow the file's format.
    #[error("{path}:{line}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// The first bytes of a gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The first bytes of a zstd frame (0xFD2FB528, little-endian).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The header line cryptofeed's raw data collection (`AsyncFileCallback`) writes before
/// a connection's messages: the feed's configuration, no market data.
const CRYPTOFEED_HEADER: &str = "configuration: ";

/// Longest line, or pretty-printed document, read from a capture: a venue frame is at
/// most `[transport] message_bytes_max` (4 MiB by default) and a REST depth snapshot a
/// few MiB, so 16 MiB holds every real one with room to spare.
pub const LINE_BYTES_MAX: usize = 16 << 20;

/// Reads a whole capture file (streamed: see [`CaptureReader`]).
pub fn read_file(path: &Path) -> Result<Vec<CapturedMessage>, CaptureError> {
    CaptureReader::open(path)?.collect()
}

/// A capture file's messages, one at a time, in file order.
pub struct CaptureReader {
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    line: Vec<u8>,
    line_no: usize,
    byte: u64,
    url: String,
    addresses: Vec<(String, String)>,
    started: bool,
    done: bool,
}

impl CaptureReader {
    /// Opens `path`, decompressing gzip or zstd (told by their magic bytes) on the fly.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let io = |source| CaptureError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = BufReader::new(File::open(path).map_err(io)?);
        let head = file.fill_buf().map_err(io)?;
        let input: Box<dyn BufRead + Send> = if head.starts_with(&GZIP_MAGIC) {
            Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(file)))
        } else if head.starts_with(&ZSTD_MAGIC) {
            // The stream decoder reads every frame of the file, not just the first.
            Box::new(BufReader::new(
                zstd::stream::read::Decoder::with_buffer(file).map_err(io)?,
            ))
        } else {
            Box::new(file)
        };
        Ok(Self {
            path: path.to_path_buf(),
            input,
            line: Vec::new(),
            line_no: 0,
            byte: 0,
            url: String::new(),
            addresses: Vec::new(),
            started: false,
            done: false,
        })
    }

    fn stopped(&self, reason: String) -> CaptureError {
        CaptureError::Stopped {
            path: self.path.clone(),
            line: self.line_no,
            byte: self.byte,
            reason,
        }
    }

    /// Reads the next line (without its end) into `self.line`, at most
    /// [`LINE_BYTES_MAX`] bytes; `Ok(false)` at the end of the text.
    fn read_line(&mut self) -> Result<bool, CaptureError> {
        self.line.clear();
        self.line_no += 1;
        let limit = LINE_BYTES_MAX as u64 + 1;
        let n = (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut self.line)
            .map_err(|e| self.stopped(e.to_string()))?;
        self.byte += n as u64;
        if n == 0 {
            return Ok(false);
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
        } else if self.line.len() > LINE_BYTES_MAX {
            return Err(self.stopped(format!("a line longer than {LINE_BYTES_MAX} bytes")));
        }
        Ok(true)
    }

    /// The rest of the text after a first line `{` or `[`: one pretty-printed document,
    /// at most [`LINE_BYTES_MAX`] bytes in all.
    fn read_document(&mut self) -> Result<CapturedMessage, CaptureError> {
        let mut doc = std::mem::take(&mut self.line);
        doc.push(b'\n');
        let room = (LINE_BYTES_MAX + 1).saturating_sub(doc.len()) as u64;
        let n = (&mut self.input)
            .take(room)
            .read_to_end(&mut doc)
            .map_err(|e| self.stopped(e.to_string()))?;
        self.byte += n as u64;
        if doc.len() > LINE_BYTES_MAX {
            return Err(self.stopped(format!(
                "a JSON document longer than {LINE_BYTES_MAX} bytes"
            )));
        }
        let payload = String::from_utf8(doc).map_err(|e| self.stopped(e.to_string()))?;
        Ok(CapturedMessage {
            ts_ns: 0,
            source: String::new(),
            direction: Direction::Received,
            payload,
        })
    }

    fn next_message(&mut self) -> Result<Option<CapturedMessage>, CaptureError> {
        while self.read_line()? {
            let line = std::str::from_utf8(&self.line).map_err(|e| CaptureError::Format {
                path: self.path.clone(),
                line: self.line_no,
                reason: format!("not UTF-8: {e}"),
            })?;
            if line.trim().is_empty() {
                continue;
            }
            if !self.started {
                self.started = true;
                if line.trim() == "{" || line.trim() == "[" {
                    self.done = true;
                    return self.read_document().map(Some);
                }
            }
            if line.starts_with(CRYPTOFEED_HEADER) {
                continue;
            }
            let parsed =
                parse_line(line, &mut self.url, &mut self.addresses).map_err(|reason| {
                    CaptureError::Format {
                        path: self.path.clone(),
                        line: self.line_no,
                        reason,
                    }
                })?;
            if parsed.is_some() {
                return Ok(parsed);
            }
        }
        Ok(None)
    }
}

impl Iterator for CaptureReader {
    type Item = Result<CapturedMessage, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_message();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// Parses the text of a capture; on failure returns the line number and the reason.
pub fn parse(text: &str) -> Result<Vec<CapturedMessage>, (usize, String)> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.trim() == "{" || first.trim() == "[" {
        return Ok(vec![CapturedMessage {
            ts_ns: 0,
            source: String::new(),
            direction: Direction::Received,
            payload: text.to_owned(),
        }]);
    }
    let mut out = Vec::new();
    let mut url = String::new();
    let mut addresses: Vec<(String, String)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with(CRYPTOFEED_HEADER) {
            continue;
        }
        let parsed =
            parse_line(line, &mut url, &mut addresses).map_err(|reason| (index + 1, reason))?;
        out.extend(parsed);
    }
    Ok(out)
}

fn parse_line(
    line: &str,
    url: &mut String,
    addresses: &mut Vec<(String, String)>,
) -> Result<Option<CapturedMessage>, String> {
    let message = |ts_ns, source: &str, direction, payload: &str| {
        Ok(Some(CapturedMessage {
            ts_ns,
            source: source.to_owned(),
            direction,
            payload: payload.to_owned(),
        }))
    };
    if line.starts_with('{') {
        return if line.starts_with(r#"{"t":"#) {
            cryptofeed_v3(line, addresses)
        } else {
            message(0, "", Direction::Received, line)
        };
    }
    if let Some((head, payload)) = split_url_line(line, " <- ") {
        let (u, ts) = head;
        return message(seconds_to_ns(ts)?, u, Direction::Sent, payload);
    }
    if let Some((head, payload)) = split_url_line(line, " -> ") {
        let (u, ts) = head;
        return message(seconds_to_ns(ts)?, u, Direction::Http, payload);
    }
    if let Some((u, _)) = line.split_once(" <-> ") {
        u.clone_into(url);
        return Ok(None);
    }
    let (ts, payload) = line
        .split_once(' ')
        .ok_or_else(|| "expected `<time> <payload>`".to_owned())?;
    if let Some(ts) = ts.strip_suffix(':') {
        return message(seconds_to_ns(ts)?, url, Direction::Received, payload);
    }
    let ns = ts
        .parse::<u64>()
        .map_err(|_| format!("bad receive time `{ts}`"))?;
    let direction = if payload.starts_with(r#"{"lastUpdateId":"#) {
        Direction::Http
    } else {
        Direction::Received
    };
    message(ns, "", direction, payload)
}

/// `URL <sep> TS: PAYLOAD` → ((URL, TS), PAYLOAD).
fn split_url_line<'a>(line: &'a str, sep: &str) -> Option<((&'a str, &'a str), &'a str)> {
    if !(line.starts_with("ws") || line.starts_with("http")) {
        return None;
    }
    let (url, rest) = line.split_once(sep)?;
    let (ts, payload) = rest.split_once(": ")?;
    Some(((url, ts), payload))
}

/// Exact conversion of `secs[.frac]` to nanoseconds.
fn seconds_to_ns(text: &str) -> Result<u64, String> {
    let bad = || format!("bad timestamp `{text}`");
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: u64 = secs.parse().map_err(|_| bad())?;
    let mut nanos: u64 = 0;
    for (i, c) in frac.bytes().take(9).enumerate() {
        let digit = c.checked_sub(b'0').filter(|d| *d <= 9).ok_or_else(bad)?;
        nanos += u64::from(digit) * 10u64.pow(8 - u32::try_from(i).unwrap_or(8));
    }
    secs.checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(nanos))
        .ok_or_else(bad)
}

/// A cryptofeed v3 line; `connect` lines map the recorder's connection ids to their
/// URLs, which then name the messages' source.
fn cryptofeed_v3(
    line: &str,
    addresses: &mut Vec<(String, String)>,
) -> Result<Option<CapturedMessage>, String> {
    use sonic_rs::JsonValueTrait;
    if !crate::feed::json::nesting_within(line.as_bytes(), crate::feed::json::NESTING_MAX) {
        return Err("cryptofeed v3 line nested too deep".to_owned());
    }
    let v: sonic_rs::Value = sonic_rs::from_str(line).map_err(|e| e.to_string())?;
    let conn = v.get("conn").and_then(|c| c.as_str()).unwrap_or("");
    let direction = match v.get("t").and_then(|t| t.as_str()) {
        Some("recv") => Direction::Received,
        Some("send") => Direction::Sent,
        Some("http") => Direction::Http,
        Some("connect") => {
            if let Some(addr) = v.get("addr").and_then(|a| a.as_str()) {
                addresses.push((conn.to_owned(), addr.to_owned()));
            }
            return Ok(None);
        }
        _ => return Ok(None),
    };
    let ts = v.get("ts").and_then(|t| t.as_f64()).unwrap_or(0.0);
    let ts_ns = seconds_to_ns(&format!("{ts:.6}"))?;
    let source = addresses
        .iter()
        .find(|(c, _)| c == conn)
        .map_or(conn, |(_, addr)| addr.as_str());
    let payload = v
        .get("data")
        .and_then(|d| d.as_str())
        .ok_or_else(|| "cryptofeed v3 line without a `data` string".to_owned())?;
    Ok(Some(CapturedMessage {
        ts_ns,
        source: source.to_owned(),
        direction,
        payload: payload.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_hftbacktest_lines_and_inlined_snapshot() {
        let text =
            "1723161256000000000 {\"u\":1}\n1723161256000000001 {\"lastUpdateId\":5,\"bids\":[]}\n";
        let m = parse(text).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].ts_ns, 1_723_161_256_000_000_000);
        assert_eq!(m[0].direction, Direction::Received);
        assert_eq!(m[1].direction, Direction::Http);
    }

    #[test]
    fn test_parse_cryptofeed_ws_and_http_logs() {
        let text = "wss://x/ws <-> 1626992740.179554\n\
                    wss://x/ws <- 1626992740.2: {\"op\":\"subscribe\"}\n\
                    1626992741.06217: {\"a\": 1}\n\
                    https://x/depth?s=A -> 1626992741.301402: {\"lastUpdateId\":6}\n\n";
        let m = parse(text).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].direction, Direction::Sent);
        assert_eq!(m[1].source, "wss://x/ws");
        assert_eq!(m[1].ts_ns, 1_626_992_741_062_170_000);
        assert_eq!(m[1].payload, "{\"a\": 1}");
        assert_eq!(m[2].direction, Direction::Http);
        assert_eq!(m[2].source, "https://x/depth?s=A");
    }

    #[test]
    fn test_parse_cryptofeed_v3_and_plain_json_lines() {
        let text = "{\"t\":\"header\",\"format\":2}\n\
                    {\"t\":\"connect\",\"conn\":\"B.ws.2\",\"ts\":1.5,\"addr\":\"wss://b\"}\n\
                    {\"t\":\"recv\",\"conn\":\"B.ws.2\",\"ts\":1786310818.25,\"data\":\"{\\\"topic\\\":1}\"}\n";
        let m = parse(text).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].payload, "{\"topic\":1}");
        assert_eq!(m[0].source, "wss://b");
        assert_eq!(m[0].ts_ns, 1_786_310_818_250_000_000);
        let m = parse("{\"a\":1}\n{\"b\":2}\n").unwrap();
        assert_eq!(m.len(), 2);
        let m = parse("{\n  \"channel\": \"x\"\n}\n").unwrap();
        assert_eq!(m.len(), 1);
    }

    /// A `.ws.log` as cryptofeed's raw data collection writes it: the configuration
    /// header first, then the connection.
    const WS_LOG_WITH_HEADER: &str = "configuration: {'log': {'filename': 'demo.log'}, 'uvloop': True}\n\
        wss://x/ws <-> 1626992740.179554\n\
        wss://x/ws <- 1626992740.2: {\"op\":\"subscribe\"}\n\
        1626992741.06217: {\"a\": 1}\n\
        1626992741.5: {\"b\": 2}\n\n";

    #[test]
    fn test_read_file_cryptofeed_ws_log_with_configuration_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("BYBIT.ws.1.0");
        std::fs::write(&path, WS_LOG_WITH_HEADER).unwrap();
        let m = read_file(&path).unwrap();
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m[0].direction, Direction::Sent);
        assert_eq!(m[1].payload, "{\"a\": 1}");
        assert_eq!(m[2].source, "wss://x/ws");
        assert_eq!(m[2].ts_ns, 1_626_992_741_500_000_000);
    }

    #[test]
    fn test_read_file_zstd_equals_plain() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("BYBIT.jsonl");
        let packed = dir.path().join("BYBIT.jsonl.zst");
        let text = "{\"t\":\"header\",\"format\":2}\n\
                    {\"t\":\"recv\",\"conn\":\"B.ws.2\",\"ts\":1.25,\"data\":\"{\\\"x\\\":1}\"}\n";
        std::fs::write(&plain, text).unwrap();
        // Two frames, as a recorder that flushes in blocks writes them.
        let (head, tail) = text.split_at(text.len() / 2);
        let mut bytes = zstd::stream::encode_all(head.as_bytes(), 3).unwrap();
        bytes.extend(zstd::stream::encode_all(tail.as_bytes(), 3).unwrap());
        std::fs::write(&packed, bytes).unwrap();
        let want = read_file(&plain).unwrap();
        assert_eq!(want.len(), 1);
        assert_eq!(read_file(&packed).unwrap(), want);
    }

    #[test]
    fn test_parse_bad_line_names_line_and_reason() {
        let (line, reason) = parse("{\"a\":1}\nnot a capture line\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(reason.contains("bad receive time"), "{reason}");
    }
}
