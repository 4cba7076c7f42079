//! The recording file format, bytes only (no I/O): the file header, the block header and
//! the frame layout inside a block. Everything is little-endian.
//!
//! ```text
//! file   := MAGIC u32:header_len header_text u32:crc32(header_text) block*
//! block  := BLOCK_MAGIC u32:compressed_len u32:raw_len u32:frames
//!           u64:first_ts_ns u64:last_ts_ns u32:crc32(compressed) compressed
//! raw    := zstd-decompressed block = frame*
//! frame  := u64:ts_ns u16:connection u8:kind u8:0 u32:instrument u32:len payload
//! ```
//!
//! The header text names the connections (`connection <index> <venue> <kind> <url>`,
//! then `subscribe <index> <message>` per subscription sent) and the instruments
//! (`instrument <id> <venue> <kind> <symbol>`) so a replay with another configuration
//! maps them by name. A block is written whole or not at all: a crash leaves
//! at most a torn last block, which the reader reports and stops at.
//!
//! Cold path (the recorder thread and replays); allocates only in the header codec.

use std::fmt::Write as _;

use crate::record::RecordError;
use crate::types::{MarketKind, Venue};

/// First bytes of every recording (the last byte is the format version).
pub const MAGIC: [u8; 8] = *b"EDGEREC\x01";
/// First bytes of every block.
pub const BLOCK_MAGIC: [u8; 4] = *b"BLK\x01";
/// Bytes of a block header.
pub const BLOCK_HEADER_BYTES: usize = 36;
/// Bytes of a frame header inside a block.
pub const FRAME_HEADER_BYTES: usize = 20;
/// Largest header text accepted (a header lists connections and instruments only).
pub const HEADER_TEXT_BYTES_MAX: u32 = 1 << 20;
/// Largest block accepted by the reader, compressed or not (guards against a corrupt
/// length asking for gigabytes).
pub const BLOCK_BYTES_MAX: u32 = 256 << 20;

/// What a recorded frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A WebSocket data frame the venue sent.
    Data = 0,
    /// A REST depth snapshot body (for the frame's instrument).
    Snapshot = 1,
}

impl FrameKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Data),
            1 => Some(Self::Snapshot),
            _ => None,
        }
    }
}

/// One connection of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedConnection {
    /// Venue.
    pub venue: Venue,
    /// Market kind.
    pub kind: MarketKind,
    /// The URL it was opened on.
    pub url: String,
    /// The subscription messages sent on it, one line each.
    pub subscriptions: Vec<String>,
}

/// One instrument of a recording (snapshot frames name it by `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedInstrument {
    /// The recorder's instrument id.
    pub id: u32,
    /// Venue.
    pub venue: Venue,
    /// Market kind.
    pub kind: MarketKind,
    /// The venue's symbol.
    pub symbol: String,
}

/// The file header: what was recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// Connections, by index.
    pub connections: Vec<RecordedConnection>,
    /// Instruments.
    pub instruments: Vec<RecordedInstrument>,
}

impl Header {
    /// The header as text.
    pub fn to_text(&self) -> String {
        let mut out = String::from("edgeline recording v1\n");
        for (i, c) in self.connections.iter().enumerate() {
            let _ = writeln!(
                out,
                "connection {i} {} {} {}",
                c.venue,
                c.kind.name(),
                c.url
            );
            for message in &c.subscriptions {
                let _ = writeln!(out, "subscribe {i} {}", message.replace('\n', " "));
            }
        }
        for inst in &self.instruments {
            let (venue, kind) = (inst.venue, inst.kind.name());
            let _ = writeln!(out, "instrument {} {venue} {kind} {}", inst.id, inst.symbol);
        }
        out
    }

    /// Parses header text; the reason names the bad line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut header = Self::default();
        for (n, line) in text.lines().enumerate().skip(1) {
            let bad = |what: &str| format!("header line {}: {what}: `{line}`", n + 1);
            if let Some(rest) = line.strip_prefix("subscribe ") {
                let (index, message) = rest.split_once(' ').ok_or_else(|| bad("no message"))?;
                let index: usize = index.parse().map_err(|_| bad("bad number"))?;
                let connection = header
                    .connections
                    .get_mut(index)
                    .ok_or_else(|| bad("unknown connection"))?;
                connection.subscriptions.push(message.to_owned());
                continue;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            let [tag, number, venue, kind, name] = fields[..] else {
                return Err(bad("expected 5 fields"));
            };
            let venue = Venue::from_name(venue).ok_or_else(|| bad("unknown venue"))?;
            let kind = MarketKind::from_name(kind).ok_or_else(|| bad("unknown market"))?;
            let number: u32 = number.parse().map_err(|_| bad("bad number"))?;
            match tag {
                "connection" if number as usize == header.connections.len() => {
                    header.connections.push(RecordedConnection {
                        venue,
                        kind,
                        url: name.to_owned(),
                        subscriptions: Vec::new(),
                    });
                }
                "instrument" => header.instruments.push(RecordedInstrument {
                    id: number,
                    venue,
                    kind,
                    symbol: name.to_owned(),
                }),
                _ => return Err(bad("unexpected line")),
            }
        }
        Ok(header)
    }

    /// The encoded file preamble: magic, length, text, checksum.
    pub fn encode(&self) -> Vec<u8> {
        let text = self.to_text();
        let mut out = Vec::with_capacity(text.len() + 16);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(&crc32fast::hash(text.as_bytes()).to_le_bytes());
        out
    }
}

/// A block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// Bytes of the compressed payload that follows.
    pub compressed_len: u32,
    /// Bytes once decompressed.
    pub raw_len: u32,
    /// Frames in the block.
    pub frames: u32,
    /// Receive time of the first frame, unix ns.
    pub first_ts_ns: u64,
    /// Receive time of the last frame, unix ns.
    pub last_ts_ns: u64,
    /// CRC32 of the compressed payload.
    pub crc32: u32,
}

impl BlockHeader {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; BLOCK_HEADER_BYTES] {
        let mut out = [0u8; BLOCK_HEADER_BYTES];
        out[0..4].copy_from_slice(&BLOCK_MAGIC);
        out[4..8].copy_from_slice(&self.compressed_len.to_le_bytes());
        out[8..12].copy_from_slice(&self.raw_len.to_le_bytes());
        out[12..16].copy_from_slice(&self.frames.to_le_bytes());
        out[16..24].copy_from_slice(&self.first_ts_ns.to_le_bytes());
        out[24..32].copy_from_slice(&self.last_ts_ns.to_le_bytes());
        out[32..36].copy_from_slice(&self.crc32.to_le_bytes());
        out
    }

    /// Parses a block header (magic and length limits checked).
    pub fn decode(bytes: &[u8; BLOCK_HEADER_BYTES]) -> Result<Self, RecordError> {
        if bytes[0..4] != BLOCK_MAGIC {
            return Err(RecordError::Corrupt("block magic missing".into()));
        }
        let header = Self {
            compressed_len: u32_at(bytes, 4),
            raw_len: u32_at(bytes, 8),
            frames: u32_at(bytes, 12),
            first_ts_ns: u64_at(bytes, 16),
            last_ts_ns: u64_at(bytes, 24),
            crc32: u32_at(bytes, 32),
        };
        if header.compressed_len > BLOCK_BYTES_MAX || header.raw_len > BLOCK_BYTES_MAX {
            return Err(RecordError::Corrupt(format!(
                "block of {} / {} bytes exceeds the {BLOCK_BYTES_MAX}-byte limit",
                header.compressed_len, header.raw_len
            )));
        }
        Ok(header)
    }
}

/// One frame inside a decompressed block, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    /// Receive time, unix ns.
    pub ts_ns: u64,
    /// Connection index (in the header).
    pub connection: u16,
    /// Data frame or snapshot.
    pub kind: FrameKind,
    /// The recorder's instrument id (snapshots; 0 for data frames).
    pub instrument: u32,
    /// The payload as received.
    pub payload: &'a [u8],
}

/// A frame's header bytes (its payload follows them).
#[inline]
pub fn frame_header(frame: &FrameRef<'_>) -> [u8; FRAME_HEADER_BYTES] {
    let mut out = [0u8; FRAME_HEADER_BYTES];
    out[0..8].copy_from_slice(&frame.ts_ns.to_le_bytes());
    out[8..10].copy_from_slice(&frame.connection.to_le_bytes());
    out[10] = frame.kind as u8;
    out[12..16].copy_from_slice(&frame.instrument.to_le_bytes());
    let len = u32::try_from(frame.payload.len()).unwrap_or(u32::MAX);
    out[16..20].copy_from_slice(&len.to_le_bytes());
    out
}

/// Appends a frame to a raw block.
pub fn put_frame(out: &mut Vec<u8>, frame: &FrameRef<'_>) {
    out.extend_from_slice(&frame_header(frame));
    out.extend_from_slice(frame.payload);
}

/// Reads the frame at `*at` of a raw block and moves `*at` past it; `None` at the end.
pub fn next_frame<'a>(raw: &'a [u8], at: &mut usize) -> Result<Option<FrameRef<'a>>, RecordError> {
    let rest = &raw[*at..];
    if rest.is_empty() {
        return Ok(None);
    }
    let short = || RecordError::Corrupt("frame runs past its block".into());
    let head: &[u8; FRAME_HEADER_BYTES] = rest
        .get(..FRAME_HEADER_BYTES)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(short)?;
    let len = u32_at(head, 16) as usize;
    let payload = rest
        .get(FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + len)
        .ok_or_else(short)?;
    let kind = FrameKind::from_byte(head[10])
        .ok_or_else(|| RecordError::Corrupt(format!("unknown frame kind {}", head[10])))?;
    *at += FRAME_HEADER_BYTES + len;
    Ok(Some(FrameRef {
        ts_ns: u64_at(head, 0),
        connection: u16::from_le_bytes([head[8], head[9]]),
        kind,
        instrument: u32_at(head, 12),
        payload,
    }))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_header_round_trips_through_text() {
        let header = Header {
            connections: vec![RecordedConnection {
                venue: Venue::Okx,
                kind: MarketKind::Perp,
                url: "wss://ws.okx.com:8443/ws/v5/public".into(),
                subscriptions: vec![r#"{"op":"subscribe","args":[{"channel":"bbo-tbt"}]}"#.into()],
            }],
            instruments: vec![RecordedInstrument {
                id: 3,
                venue: Venue::Okx,
                kind: MarketKind::Perp,
                symbol: "BTC-USDT-SWAP".into(),
            }],
        };
        assert_eq!(Header::parse(&header.to_text()).unwrap(), header);
        let err = Header::parse("edgeline recording v1\nconnection 0 nasdaq spot x\n");
        assert!(err.unwrap_err().contains("unknown venue"));
    }

    #[test]
    fn test_frames_round_trip_and_a_short_frame_is_corrupt() {
        let mut raw = Vec::new();
        let a = FrameRef {
            ts_ns: 7,
            connection: 1,
            kind: FrameKind::Data,
            instrument: 0,
            payload: b"{\"a\":1}",
        };
        let b = FrameRef {
            kind: FrameKind::Snapshot,
            instrument: 4,
            ts_ns: 9,
            ..a
        };
        put_frame(&mut raw, &a);
        put_frame(&mut raw, &b);
        let mut at = 0;
        assert_eq!(next_frame(&raw, &mut at).unwrap(), Some(a));
        assert_eq!(next_frame(&raw, &mut at).unwrap(), Some(b));
        assert_eq!(next_frame(&raw, &mut at).unwrap(), None);
        let mut at = 0;
        assert!(next_frame(&raw[..raw.len() - 1 - b.payload.len()], &mut at).is_ok());
        assert!(next_frame(&raw[..raw.len() - 1 - b.payload.len()], &mut at).is_err());
    }

    #[test]
    fn test_block_header_round_trips_and_rejects_huge_lengths() {
        let h = BlockHeader {
            compressed_len: 10,
            raw_len: 20,
            frames: 2,
            first_ts_ns: 5,
            last_ts_ns: 6,
            crc32: 0xdead_beef,
        };
        assert_eq!(BlockHeader::decode(&h.encode()).unwrap(), h);
        let huge = BlockHeader {
            raw_len: u32::MAX,
            ..h
        };
        assert!(BlockHeader::decode(&huge.encode()).is_err());
    }
}
