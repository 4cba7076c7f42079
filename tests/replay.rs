//! Record and replay through the same pipeline: a run against the simulator records
//! every frame; replaying the recording twice gives identical database rows; a
//! truncated recording replays everything before the damage and says where; a time
//! window replays only its frames; a real capture from `../shared/data` replays
//! through the same stages (skipped, saying so, when the data is absent; fails under
//! `CI=true`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use edgeline::config::Config;
use edgeline::pipeline;
use edgeline::record::RecordSettings;
use edgeline::record::reader::read_all;
use edgeline::replay::{InputFile, ReplayOptions, ReplayOutcome, Window, replay};
use edgeline::runtime::{IdlePolicy, Shutdown, StopReason};

/// The four-venue example configuration writing into `dir`, quietly.
fn config(dir: &Path) -> Config {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/all-venues.toml");
    let mut config = Config::from_file(&example, 2).unwrap();
    config.output_dir = dir.to_path_buf();
    config.telemetry.progress_interval = None;
    // The recording run shares a loaded machine: no venue may turn stale on our delays.
    for venue in &mut config.venues {
        venue.stale_after = Duration::from_secs(3600);
    }
    for plan in &mut config.placement.cores {
        plan.core = None;
        plan.idle = IdlePolicy::SpinThenYield { spins: 100 };
    }
    config
}

/// The one recording the tests share (made by the first test that asks).
fn recording() -> &'static [PathBuf] {
    static RECORDING: OnceLock<(tempfile::TempDir, Vec<PathBuf>)> = OnceLock::new();
    let (_, files) = RECORDING.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let files = record(dir.path());
        (dir, files)
    });
    files
}

/// Records 3 s of the simulator (seed 5); returns the recording files.
fn record(dir: &Path) -> Vec<PathBuf> {
    let _ = env_logger::builder().is_test(true).try_init();
    let mut config = config(&dir.join("live"));
    config.duration = Duration::from_secs(3);
    if let Some(sim) = config.simulator.as_mut() {
        sim.seed = 5;
        sim.dislocation_mean_interval = Duration::from_millis(500);
    }
    config.record = Some(RecordSettings::new(dir.join("rec")));
    let outcome = pipeline::run(&config, &Shutdown::manual()).unwrap();
    let r = &outcome.report;
    assert!(r.counter("record.frames") > 1000, "{r:?}");
    assert_eq!(r.counter("record.frames_dropped"), 0);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("rec"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "edrec"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 1);
    files
}

/// Every table a run writes rows to.
const TABLES: [&str; 9] = [
    "opportunities",
    "spread_opportunities",
    "spread_rejections",
    "orders",
    "fills",
    "leg_out_events",
    "trades",
    "portfolio_snapshots",
    "latency_snapshots",
];

fn replay_into(dir: &Path, files: &[PathBuf], window: Window) -> ReplayOutcome {
    let options = ReplayOptions {
        inputs: files
            .iter()
            .map(|p| InputFile {
                path: p.clone(),
                market: None,
            })
            .collect(),
        speed: None,
        window,
    };
    replay(&config(dir), &options, &Shutdown::manual()).unwrap()
}

/// Every row of `table` in `seq` order, every column but `run_id`, as text.
fn rows(dir: &Path, table: &str) -> Vec<Vec<String>> {
    let db = rusqlite::Connection::open(dir.join("opportunities.sqlite")).unwrap();
    let mut stmt = db
        .prepare(&format!("SELECT * FROM {table} ORDER BY seq"))
        .unwrap();
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    stmt.query_map([], |r| {
        let mut row = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if name != "run_id" {
                let v: rusqlite::types::Value = r.get(i)?;
                row.push(format!("{name}={v:?}"));
            }
        }
        Ok(row)
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn test_replay_of_a_recording_is_deterministic_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let files = recording();
    let recorded = read_all(&files[0]).unwrap().len() as u64;
    // Both replays write to the same folder (one configuration, so one config hash),
    // the first one's rows read before the second starts afresh.
    let a = replay_into(&out, files, Window::default());
    let first: Vec<_> = TABLES.iter().map(|t| rows(&out, t)).collect();
    std::fs::remove_dir_all(&out).unwrap();
    let b = replay_into(&out, files, Window::default());
    let second: Vec<_> = TABLES.iter().map(|t| rows(&out, t)).collect();
    assert_eq!(a.stop, StopReason::EndOfInput);
    assert!(a.damage.is_empty(), "{:?}", a.damage);
    assert_eq!(a.frames, recorded);
    assert_eq!(b.frames, recorded);
    assert_eq!(a.report.counter("feed.malformed"), 0);
    assert_eq!(a.report.counter("edge.records_dropped"), 0);
    for ((table, ra), rb) in TABLES.iter().zip(&first).zip(&second) {
        assert_eq!(ra.len(), rb.len(), "{table}: row counts differ");
        for (x, y) in ra.iter().zip(rb) {
            let diff: Vec<_> = x.iter().zip(y).filter(|(p, q)| p != q).collect();
            assert!(
                diff.is_empty(),
                "{table} differs between two replays: {diff:?}"
            );
        }
    }
    for table in ["opportunities", "orders", "fills"] {
        let at = TABLES.iter().position(|t| *t == table).unwrap();
        assert!(
            !first[at].is_empty(),
            "the replays made no {table} to compare"
        );
    }
}

#[test]
fn test_truncated_recording_replays_everything_before_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![dir.path().join("cut.edrec")];
    let bytes = std::fs::read(&recording()[0]).unwrap();
    std::fs::write(&files[0], &bytes[..bytes.len() - 100]).unwrap();
    let before = {
        let mut reader = edgeline::record::RecordingReader::open(&files[0]).unwrap();
        let mut n = 0u64;
        while let Ok(true) = reader.advance() {
            n += 1;
        }
        n
    };
    assert!(before > 0);
    let outcome = replay_into(&dir.path().join("cut"), &files, Window::default());
    assert_eq!(outcome.frames, before);
    assert_eq!(outcome.damage.len(), 1);
    assert!(
        outcome.damage[0].contains("truncated at byte"),
        "{:?}",
        outcome.damage
    );
    assert!(outcome.damage[0].contains(&files[0].display().to_string()));
}

#[test]
fn test_replay_window_seeks_by_receive_time() {
    let dir = tempfile::tempdir().unwrap();
    let files = recording();
    let frames = read_all(&files[0]).unwrap();
    let from_ns = frames[frames.len() / 2].ts_ns;
    let to_ns = frames[frames.len() * 3 / 4].ts_ns;
    let expected = frames
        .iter()
        .filter(|f| f.ts_ns >= from_ns && f.ts_ns <= to_ns)
        .count() as u64;
    let outcome = replay_into(&dir.path().join("w"), files, Window { from_ns, to_ns });
    assert_eq!(outcome.frames, expected);
}

#[test]
fn test_replay_of_real_binance_captures_through_the_pipeline() {
    let (Some(spot), Some(perp)) = (
        common::data_file("binance", "spot_hftbacktest_"),
        common::data_file("binance", "usdm_hftbacktest_"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cores = 2;
    let mut config = Config::defaults(cores).unwrap();
    config.output_dir = dir.path().to_path_buf();
    config.telemetry.progress_interval = None;
    let options = ReplayOptions {
        inputs: vec![
            InputFile::parse(&format!("binance.spot={}", spot.display())).unwrap(),
            InputFile::parse(&format!("binance.perp={}", perp.display())).unwrap(),
        ],
        ..ReplayOptions::default()
    };
    let outcome = replay(&config, &options, &Shutdown::manual()).unwrap();
    let r = &outcome.report;
    println!("{r:?}");
    assert!(outcome.damage.is_empty());
    assert!(outcome.frames > 100_000, "{}", outcome.frames);
    assert_eq!(r.counter("feed.malformed"), 0);
    assert_eq!(r.counter("feed.snapshots"), 2);
    assert_eq!(r.counter("book.sequence_gaps"), 0);
    assert!(
        r.counter("edge.ticks") > 10_000,
        "{}",
        r.counter("edge.ticks")
    );
}

#[test]
fn test_backtest_report_counts_the_replayed_trades() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt");
    let outcome = replay_into(&out, recording(), Window::default());
    let config = config(&out);
    let mut reader =
        edgeline::telemetry::db::analytics::Reader::open(&config.database, &out).unwrap();
    let data = edgeline::backtest::BacktestData::read(&mut reader).unwrap();
    let report = edgeline::backtest::BacktestReport::new(&outcome, &data);
    assert_eq!(report.trades, rows(&out, "trades").len() as u64);
    assert_eq!(report.frames, outcome.frames);
    assert_eq!(
        report.basis_opportunities,
        rows(&out, "opportunities").len() as u64
    );
    assert!(report.recorded_hours > 0.0);
    assert_eq!(report.leg_outs, rows(&out, "leg_out_events").len() as u64);
    let sourced: u64 = report.by_source.iter().map(|s| s.count).sum();
    assert_eq!(sourced, report.basis_opportunities);
    if report.trades > 0 {
        assert!(report.mean_hold_secs.unwrap() >= 0.0);
    }
    let mut report = report;
    let files =
        edgeline::backtest::write_backtest(&out, &mut report, &data, &outcome.report.histograms)
            .unwrap();
    let md = std::fs::read_to_string(out.join(edgeline::backtest::MARKDOWN_FILE)).unwrap();
    assert!(md.contains("| trades |"));
    let json = std::fs::read_to_string(out.join(edgeline::backtest::JSON_FILE)).unwrap();
    assert!(json.contains("\"profit_factor\""));
    for plot in edgeline::backtest::plot::PLOTS {
        assert!(md.contains(&format!("]({})", plot.file)), "{md}");
        let (width, height) = png_size(&out.join(plot.file));
        assert!(
            width >= 800 && height >= 400,
            "{}: {width}x{height}",
            plot.file
        );
        assert!(files.contains(&out.join(plot.file)));
    }
}

/// Width and height from a PNG's signature and IHDR chunk (panics on anything else).
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() > 10_000,
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}
