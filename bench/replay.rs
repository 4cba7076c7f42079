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
use edgeline::record::{FrameKind, FrameRef, RecordingWriter};
use edgeline::replay::{InputFile, ReplayOptions, replay};
use edgeline::runtime::Shutdown;

#[path = "../tests/support/binance_recording.rs"]
mod binance_recording;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `bookTicker` frames per replay: 100 s of a busy top-of-book market pair.
const FRAMES: u64 = 1_000_000;
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

/// Writes the recording: the books' starts, then spot and perp `bookTicker` frames
/// alternate; the perp mid walks by ticks and the spot mid follows it with an
/// occasional dislocation of a few bps.
fn synthesise(dir: &Path) -> (PathBuf, u64) {
    let mut writer = RecordingWriter::new(
        RecordSettings::new(dir.to_path_buf()),
        &binance_recording::header(),
    )
    .expect("recording folder");
    let starts =
        binance_recording::write_book_starts(&mut writer, START_NS - 1_000_000, 59_990, 60_010);
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
    (summary.files[0].clone(), starts + FRAMES)
}

/// Measures replaying the whole recording through the pipeline (set-up excluded: from
/// the first frame to the last stage's drain, as `ReplayOutcome::elapsed`).
fn bench_replay(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, frames_replayed) = synthesise(dir.path());
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
    group.throughput(Throughput::Elements(frames_replayed));
    group.sample_size(10);
    let mut run = 0;
    group.bench_function("replay/pipeline/binance_top_of_book", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                run += 1;
                config.output_dir = dir.path().join(format!("out{run}"));
                let outcome = replay(&config, &options, &Shutdown::manual()).expect("replay");
                assert_eq!(outcome.frames, frames_replayed);
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
