//! The opening of a synthetic Binance BTCUSDT spot + perp recording, shared by the
//! backtest tests and the replay bench: the recording header (two connections, two
//! instruments) and each book's start, a one-level REST snapshot then the depth diff that
//! bridges it (a Binance book publishes its top only once synced).

use edgeline::record::tap::SNAPSHOT_CONNECTION;
use edgeline::record::{
    FrameKind, FrameRef, Header, RecordedConnection, RecordedInstrument, RecordingWriter,
};
use edgeline::types::{MarketKind, Venue};

/// Spot on connection 0 and instrument 0, perp on connection 1 and instrument 1.
pub fn header() -> Header {
    let market = |kind| RecordedConnection {
        venue: Venue::Binance,
        kind,
        url: "wss://stream.binance.com:9443/stream".into(),
        subscriptions: Vec::new(),
    };
    let instrument = |id, kind| RecordedInstrument {
        id,
        venue: Venue::Binance,
        kind,
        symbol: "BTCUSDT".into(),
    };
    Header {
        connections: vec![market(MarketKind::Spot), market(MarketKind::Perp)],
        instruments: vec![
            instrument(0, MarketKind::Spot),
            instrument(1, MarketKind::Perp),
        ],
    }
}

/// Appends both books' starts at `ts_ns`: snapshots with one level a side, the bid at
/// `bid` and the ask at `ask` (whole quote units), then the bridging diffs; returns how
/// many frames that is.
pub fn write_book_starts(writer: &mut RecordingWriter, ts_ns: u64, bid: u32, ask: u32) -> u64 {
    let snapshot = |zeros: &str| {
        format!(
            r#"{{"lastUpdateId":100,"bids":[["{bid}.{zeros}","1.0"]],"asks":[["{ask}.{zeros}","1.0"]]}}"#
        )
    };
    let frames = [
        (SNAPSHOT_CONNECTION, FrameKind::Snapshot, 0, snapshot("00")),
        (SNAPSHOT_CONNECTION, FrameKind::Snapshot, 1, snapshot("0")),
        (
            0,
            FrameKind::Data,
            0,
            r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161240000,"s":"BTCUSDT","U":100,"u":101,"b":[],"a":[]}}"#.to_owned(),
        ),
        (
            1,
            FrameKind::Data,
            0,
            r#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161240000,"T":1723161240000,"s":"BTCUSDT","U":100,"u":101,"pu":99,"b":[],"a":[]}}"#.to_owned(),
        ),
    ];
    let count = frames.len() as u64;
    for (connection, kind, instrument, payload) in frames {
        let frame = FrameRef {
            ts_ns,
            connection,
            kind,
            instrument,
            payload: payload.as_bytes(),
        };
        writer.append(&frame).expect("append a book start");
    }
    count
}
