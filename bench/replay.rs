//! Replay throughput through the whole pipeline: a recording of Binance BTCUSDT spot and
//! perp `bookTicker` frames (synthesised: a random walk with the real messages' shape,
//! 10,000 frames/s of recorded time) replayed as fast as possible through the feed,
//! book, edge and telemetry stages into SQLite, exactly as `edgeline replay` does.
//! Criterion reports frames per second (`thrpt`). Run: `cargo bench --bench replay`.
//! Figures go to LATENCY.md.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgeline::config::Config;
use edgeline::record::settings::RecordSettings;
use edgeline::record::tap::SNAPSHOT_CONNECTION;
use edgeline::record::{
    FrameKind, FrameRef, Header, RecordedConnection, RecordedInstrument, RecordingWriter,
};
use edgeline::replay::{InputFile, ReplayOptions, replay};
use edgeline::runtime::Shutdown;
use edgeline::types::{MarketKind, Venue};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `bookTicker` frames per replay: 100 s of a busy top-of-book market pair.
const FRAMES: u64 = 1_000_000;
/// Frames replayed in all: the ticker frames and the books' starts.
const FRAMES_REPLAYED: u64 = FRAMES + BOOK_STARTS.len() as u64;
/// Recorded time between two frames.
const FRAME_INTERVAL_NS: u64 = 100_000;
/// First receive time (2024-08-08T23:54Z, the real captures' window).
const START_NS: u64 = 1_723_161_240_000_000_000;

/// A small deterministic generator (xorshift) for the random walk.
struct Walk(u64);

impl Walk {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn header() -> Header {
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

/// The start of each book: a REST snapshot, then the depth diff that bridges it (a
/// Binance book publishes its stream top only once synced).
const BOOK_STARTS: [(u16, FrameKind, u32, &str); 4] = [
    (
        SNAPSHOT_CONNECTION,
        FrameKind::Snapshot,
        0,
        r#"{"lastUpdateId":100,"bids":[["59990.00","1.0"]],"asks":[["60010.00","1.0"]]}"#,
    ),
    (
        SNAPSHOT_CONNECTION,
        FrameKind::Snapshot,
        1,
        r#"{"lastUpdateId":100,"bids":[["59990.0","1.0"]],"asks":[["60010.0","1.0"]]}"#,
    ),
    (
        0,
        FrameKind::Data,
        0,
        r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161240000,"s":"BTCUSDT","U":100,"u":101,"b":[],"a":[]}}"#,
    ),
    (
        1,
        FrameKind::Data,
        0,
        r#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161240000,"T":1723161240000,"s":"BTCUSDT","U":100,"u":101,"pu":99,"b":[],"a":[]}}"#,
    ),
];

/// Writes the recording: the books' starts, then spot and perp `bookTicker` frames
/// alternate; the perp mid walks by ticks and the spot mid follows it with an
/// occasional dislocation of a few bps.
fn synthesise(dir: &Path) -> PathBuf {
    let mut writer = RecordingWriter::new(RecordSettings::new(dir.to_path_buf()), &header())
        .expect("recording folder");
    for (connection, kind, instrument, payload) in BOOK_STARTS {
        let frame = FrameRef {
            ts_ns: START_NS - 1_000_000,
            connection,
            kind,
            instrument,
            payload: payload.as_bytes(),
        };
        writer.append(&frame).expect("append");
    }
    let mut walk = Walk(0x9e37_79b9_7f4a_7c15);
    let mut perp_ticks: i64 = 600_000; // 60,000.0 in 0.1 ticks
    let mut text = String::with_capacity(256);
    for i in 0..FRAMES {
        let ts_ns = START_NS + i * FRAME_INTERVAL_NS;
        let ms = ts_ns / 1_000_000;
        let r = walk.next();
        perp_ticks += (r % 3) as i64 - 1;
        text.clear();
        let connection = if i % 2 == 0 {
            let dislocation = if r.is_multiple_of(997) { 1_500 } else { 0 };
            let bid = perp_ticks * 10 - 40 - dislocation; // spot ticks of 0.01
            let _ = write!(
                text,
                r#"{{"stream":"btcusdt@bookTicker","data":{{"u":{},"s":"BTCUSDT","b":"{}.{:02}000000","B":"{}.50000000","a":"{}.{:02}000000","A":"1.25000000"}}}}"#,
                50_093_239_212 + i,
                bid / 100,
                bid % 100,
                1 + r % 4,
                (bid + 1) / 100,
                (bid + 1) % 100,
            );
            0
        } else {
            let _ = write!(
                text,
                r#"{{"stream":"btcusdt@bookTicker","data":{{"e":"bookTicker","u":{},"s":"BTCUSDT","b":"{}.{}0","B":"2.507","a":"{}.{}0","A":"{}.510","T":{ms},"E":{ms}}}}}"#,
                5_123_107_839_020 + i,
                perp_ticks / 10,
                perp_ticks % 10,
                (perp_ticks + 1) / 10,
                (perp_ticks + 1) % 10,
                1 + r % 5,
            );
            1
        };
        writer
            .append(&FrameRef {
                ts_ns,
                connection,
                kind: FrameKind::Data,
                instrument: 0,
                payload: text.as_bytes(),
            })
            .expect("append");
    }
    let summary = writer.finish().expect("finish");
    summary.files[0].clone()
}

/// Measures replaying the whole recording through the pipeline (set-up excluded: from
/// the first frame to the last stage's drain, as `ReplayOutcome::elapsed`).
fn bench_replay(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = synthesise(dir.path());
    let mut config = Config::defaults(2).expect("default config");
    config.telemetry.progress_interval = None;
    let options = ReplayOptions {
        inputs: vec![InputFile {
            path: file,
            market: None,
        }],
        ..ReplayOptions::default()
    };
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(FRAMES_REPLAYED));
    group.sample_size(10);
    let mut run = 0;
    group.bench_function("replay/pipeline/binance_top_of_book", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                run += 1;
                config.output_dir = dir.path().join(format!("out{run}"));
                let outcome = replay(&config, &options, &Shutdown::manual()).expect("replay");
                assert_eq!(outcome.frames, FRAMES_REPLAYED);
                assert!(outcome.report.counter("edge.ticks") > FRAMES / 4);
                total += outcome.elapsed;
                let _ = std::fs::remove_dir_all(&config.output_dir);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
