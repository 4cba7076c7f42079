//! Backtests on a synthetic recording whose trades are known from its construction:
//! Binance BTCUSDT spot and perp top of book, flat at zero basis, with two dislocations
//! of the perp (+40 bps, then -40 bps) that each revert. The configuration (1 bps taker
//! fees, basis trade threshold 20 bps, one trade at a time, touches of 0.05 BTC) makes
//! each dislocation one trade: IOC entries at the dislocated touches, then a profit-target
//! exit at the reverted touches, so every fill price and the PnL follow from the path.
//! The same recording under a 2x2 parameter sweep gives known in-sample and
//! out-of-sample figures for every grid point, and the ranking follows from them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use edgeline::backtest::sweep::{self, SweepSpec, run_sweep};
use edgeline::backtest::sweep_report::Metric;
use edgeline::backtest::{BacktestData, BacktestReport, grid};
use edgeline::config::Config;
use edgeline::record::{FrameKind, FrameRef, RecordSettings, RecordingWriter};
use edgeline::replay::{InputFile, ReplayOptions, ReplayOutcome, Window, replay};
use edgeline::runtime::{IdlePolicy, Shutdown, StopReason};
use edgeline::telemetry::db::analytics::Reader;

#[path = "support/binance_recording.rs"]
mod binance_recording;

/// First receive time of the recording (2024-08-08T23:54Z).
const START_NS: u64 = 1_723_161_240_000_000_000;
/// Recorded time between two frames (spot and perp alternate).
const FRAME_NS: u64 = 5_000_000;
/// Base quantity shown at every touch: the trades' size (the basis intent takes what
/// both touches show; the sizing cap and the risk limits are far above it).
const TOUCH_QTY: f64 = 0.05;
/// Taker fee of both markets, bps.
const TAKER_FEE_BPS: f64 = 1.0;

/// A top of book: spot bid/ask (0.01 ticks) and perp bid/ask (0.1 ticks), in cents.
#[derive(Debug, Clone, Copy)]
struct Tops {
    spot: (i64, i64),
    perp: (i64, i64),
}

/// Zero basis: spot 59,999.99 / 60,000.00, perp 60,000.0 / 60,000.1.
const FLAT: Tops = Tops {
    spot: (5_999_999, 6_000_000),
    perp: (6_000_000, 6_000_010),
};
/// The perp 40 bps rich: short perp / long spot edge (60,240.0 - 60,000.00) / mid.
const PERP_RICH: Tops = Tops {
    spot: FLAT.spot,
    perp: (6_024_000, 6_024_010),
};
/// The perp 40 bps cheap: long perp / short spot edge (59,999.99 - 59,760.1) / mid.
const PERP_CHEAP: Tops = Tops {
    spot: FLAT.spot,
    perp: (5_976_000, 5_976_010),
};

/// The path: (tops, frames, wiggle). The edge stage ticks only when a top changes, so
/// while `wiggle` is set the quantity shown alternates between [`TOUCH_QTY`] and
/// [`WIGGLE_QTY`] (prices fixed): the flat phases' ticks fill the tracker's 20-tick
/// baseline, while a dislocation is one tick (its first frame), hence one intent. Each
/// phase lasts far longer than the paper venue's 10 ms latency, so both legs of an
/// entry or an exit fill inside it.
const PATH: [(Tops, u64, bool); 5] = [
    (FLAT, 60, true),
    (PERP_RICH, 40, false),
    (FLAT, 60, true),
    (PERP_CHEAP, 40, false),
    (FLAT, 60, true),
];
/// The other quantity of a wiggling touch (more than a trade needs).
const WIGGLE_QTY: f64 = 0.06;

/// The configuration the expected trades are derived for, as TOML.
fn config_toml() -> String {
    format!(
        r#"
[[venues]]
name = "binance"
spot_maker_fee_bps = 0.0
spot_taker_fee_bps = {TAKER_FEE_BPS}
perp_maker_fee_bps = 0.0
perp_taker_fee_bps = {TAKER_FEE_BPS}
stale_after_ms = 3600000
[basis]
tracker_threshold_bps = 10.0
trade_threshold_bps = 20.0
cost_ioc_both_bps = 4.0
[scanner]
enabled = false
[telemetry]
progress_interval_ms = 0
[gateway.execution]
trades_max = 1
"#
    )
}

/// [`config_toml`] writing into `dir`, quietly.
fn config(dir: &Path) -> Config {
    let mut config = Config::from_toml(&config_toml(), Path::new("backtest.toml"), 2).unwrap();
    config.output_dir = dir.to_path_buf();
    for plan in &mut config.placement.cores {
        plan.core = None;
        plan.idle = IdlePolicy::SpinThenYield { spins: 100 };
    }
    config
}

/// `cents` as a decimal string with `decimals` (2 or 1) places.
fn price(cents: i64, decimals: u32) -> String {
    let scale = 10i64.pow(2 - decimals);
    let units = cents / scale;
    let places = 10i64.pow(decimals);
    format!(
        "{}.{:0width$}",
        units / places,
        units % places,
        width = decimals as usize
    )
}

/// Writes the recording of [`PATH`] into `dir`; returns the file.
fn synthesise(dir: &Path) -> PathBuf {
    let mut writer = RecordingWriter::new(
        RecordSettings::new(dir.to_path_buf()),
        &binance_recording::header(),
    )
    .unwrap();
    // Snapshots far from the touch, so no deeper level ever fills.
    binance_recording::write_book_starts(&mut writer, START_NS - 1_000_000, 50_000, 70_000);
    let mut i: u64 = 0;
    let mut text = String::new();
    for (tops, frames, wiggle) in PATH {
        for _ in 0..frames {
            let ts_ns = START_NS + i * FRAME_NS;
            let qty = if wiggle && (i / 2) % 2 == 1 {
                WIGGLE_QTY
            } else {
                TOUCH_QTY
            };
            let ms = ts_ns / 1_000_000;
            text.clear();
            let connection = if i.is_multiple_of(2) {
                let (bid, ask) = tops.spot;
                let _ = write!(
                    text,
                    r#"{{"stream":"btcusdt@bookTicker","data":{{"u":{},"s":"BTCUSDT","b":"{}","B":"{qty:.8}","a":"{}","A":"{qty:.8}"}}}}"#,
                    1_000 + i,
                    price(bid, 2),
                    price(ask, 2),
                );
                0
            } else {
                let (bid, ask) = tops.perp;
                let _ = write!(
                    text,
                    r#"{{"stream":"btcusdt@bookTicker","data":{{"e":"bookTicker","u":{},"s":"BTCUSDT","b":"{}","B":"{qty:.3}","a":"{}","A":"{qty:.3}","T":{ms},"E":{ms}}}}}"#,
                    1_000 + i,
                    price(bid, 1),
                    price(ask, 1),
                );
                1
            };
            let frame = FrameRef {
                ts_ns,
                connection,
                kind: FrameKind::Data,
                instrument: 0,
                payload: text.as_bytes(),
            };
            writer.append(&frame).unwrap();
            i += 1;
        }
    }
    writer.finish().unwrap().files[0].clone()
}

fn replay_file(config: &Config, file: &Path, window: Window) -> ReplayOutcome {
    let options = ReplayOptions {
        inputs: vec![InputFile {
            path: file.to_path_buf(),
            market: None,
        }],
        speed: None,
        window,
    };
    replay(config, &options, &Shutdown::manual()).unwrap()
}

/// One trade as the test derives it: entry and exit prices of the long and short legs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Expected {
    long_entry: f64,
    short_entry: f64,
    long_exit: f64,
    short_exit: f64,
}

impl Expected {
    /// Net PnL of `q` base units: both legs' price moves, less a taker fee on each of
    /// the four fills.
    fn pnl(&self, q: f64) -> f64 {
        let moves = (self.long_exit - self.long_entry + self.short_entry - self.short_exit) * q;
        let traded = (self.long_entry + self.short_entry + self.long_exit + self.short_exit) * q;
        moves - traded * TAKER_FEE_BPS / 10_000.0
    }
}

/// The two trades the path makes: short the rich perp against the spot ask, close at
/// the flat touches; then long the cheap perp against the spot bid, close likewise.
const EXPECTED: [Expected; 2] = [
    Expected {
        long_entry: 60_000.00, // spot ask
        short_entry: 60_240.0, // rich perp bid
        long_exit: 59_999.99,  // spot bid
        short_exit: 60_000.1,  // flat perp ask
    },
    Expected {
        long_entry: 59_760.1,   // cheap perp ask
        short_entry: 59_999.99, // spot bid
        long_exit: 60_000.0,    // flat perp bid
        short_exit: 60_000.00,  // spot ask
    },
];

/// Entry and exit prices of every trade, in exit order.
fn trade_prices(dir: &Path) -> Vec<Expected> {
    let db = rusqlite::Connection::open(dir.join("opportunities.sqlite")).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT entry_long_price, entry_short_price, exit_long_price, exit_short_price \
             FROM trades ORDER BY exit_at, id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Expected {
            long_entry: r.get(0)?,
            short_entry: r.get(1)?,
            long_exit: r.get(2)?,
            short_exit: r.get(3)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn test_backtest_of_a_known_path_makes_the_known_trades() {
    let dir = tempfile::tempdir().unwrap();
    let file = synthesise(&dir.path().join("rec"));
    let out = dir.path().join("out");
    let config = config(&out);
    let outcome = replay_file(&config, &file, Window::default());
    assert_eq!(outcome.stop, StopReason::EndOfInput);
    assert!(outcome.damage.is_empty(), "{:?}", outcome.damage);
    let mut reader = Reader::open(&config.database, &out).unwrap();
    let data = BacktestData::read(&mut reader).unwrap();
    let report = BacktestReport::new(&outcome, &data);
    let prices = trade_prices(&out);
    assert_eq!(prices.len(), EXPECTED.len(), "{prices:?}");
    for (got, want) in prices.iter().zip(EXPECTED) {
        for (g, w) in [
            (got.long_entry, want.long_entry),
            (got.short_entry, want.short_entry),
            (got.long_exit, want.long_exit),
            (got.short_exit, want.short_exit),
        ] {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }
    assert_eq!(report.trades, 2);
    assert_eq!(report.leg_outs, 0);
    assert!(data.trades.iter().all(|t| t.strategy == "BASIS"));
    // At reversion the unrealised PnL (~10.8) passes 90% of the projected profit
    // (3,000 x (39.9 - 4) bps = 10.8): the profit target closes both trades.
    assert!(data.trades.iter().all(|t| t.exit_reason == "TARGET"));
    for (t, want) in data.trades.iter().zip(EXPECTED) {
        assert!((t.qty - TOUCH_QTY).abs() < 1e-12, "{t}");
        let pnl = want.pnl(TOUCH_QTY);
        assert!((t.pnl_quote - pnl).abs() < 1e-4, "{t} vs {pnl}");
    }
    let total: f64 = EXPECTED.iter().map(|e| e.pnl(TOUCH_QTY)).sum();
    // 2 x (240 - 0.01 - 0.1) x 0.05 less 1 bps of ~12,000 each: about +21.59.
    assert!((total - 21.589).abs() < 1e-3, "{total}");
    assert!(
        (report.pnl_quote - total).abs() < 1e-4,
        "{}",
        report.pnl_quote
    );
    assert_eq!((report.win_rate, report.profit_factor), (1.0, None));
    assert_eq!(report.max_drawdown_quote, 0.0);
}

/// A replay cut in the middle of the first dislocation ends with its trade open: the
/// run closes it at the marks (spot bid, perp ask) with `END_OF_RUN`, and the report
/// counts it, with the entry's fill rate.
#[test]
fn test_backtest_cut_while_open_closes_at_the_marks_end_of_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = synthesise(&dir.path().join("rec"));
    let out = dir.path().join("out");
    let config = config(&out);
    let window = Window {
        from_ns: 0,
        to_ns: START_NS + 80 * FRAME_NS,
    };
    let outcome = replay_file(&config, &file, window);
    let mut reader = Reader::open(&config.database, &out).unwrap();
    let data = BacktestData::read(&mut reader).unwrap();
    let report = BacktestReport::new(&outcome, &data);
    assert_eq!((report.trades, report.end_of_run_trades), (1, 1));
    assert_eq!(data.trades[0].exit_reason, "END_OF_RUN");
    assert_eq!((report.entries_sent, report.entries_filled), (1, 1));
    assert_eq!((report.entries_abandoned, report.entries_hedged), (0, 0));
    assert_eq!(report.fill_rate, Some(1.0));
    let marked = Expected {
        long_exit: 59_999.99, // spot bid
        short_exit: 60_240.1, // rich perp ask
        ..EXPECTED[0]
    };
    let prices = trade_prices(&out);
    assert!(
        (prices[0].long_exit - marked.long_exit).abs() < 1e-6,
        "{prices:?}"
    );
    assert!(
        (prices[0].short_exit - marked.short_exit).abs() < 1e-6,
        "{prices:?}"
    );
    let pnl = marked.pnl(TOUCH_QTY);
    assert!(
        (report.pnl_quote - pnl).abs() < 1e-4,
        "{} vs {pnl}",
        report.pnl_quote
    );
}

/// A 2x2 grid, walk-forward at half the recorded time: the first dislocation (frames
/// 60-99, 0.30-0.50 s of 1.3 s) is in-sample, the second (0.80-1.00 s) out-of-sample.
/// A 50 bps threshold never trades the 40 bps dislocations; a 20 bps one trades each
/// once, at the touch's 0.05 BTC when the spread rule may use 50% of the 20,000 capital,
/// or at 2,000 / 60,240 = 0.0332, down to the perp's 0.001 lot = 0.033 BTC, when it may
/// use 10%.
#[test]
fn test_sweep_walk_forward_on_a_two_by_two_grid() {
    let dir = tempfile::tempdir().unwrap();
    let file = synthesise(&dir.path().join("rec"));
    let out = dir.path().join("sweep");
    let axes = [
        "basis.trade_threshold_bps=20,50",
        "gateway.sizing.spread_capital_share_bps=1000,5000",
    ]
    .map(|a| grid::Axis::parse(a).unwrap());
    let spec = SweepSpec {
        base: grid::base_table(&config_toml()).unwrap(),
        points: grid::points(&axes).unwrap(),
        inputs: vec![InputFile {
            path: file,
            market: None,
        }],
        window: Window::default(),
        in_sample_fraction: 0.5,
        metric: Metric::NetPnl,
        output_dir: out.clone(),
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let outcome = run_sweep(&spec, &Shutdown::manual()).unwrap();
    let report = &outcome.report;
    assert!(outcome.damage.is_empty());
    assert_eq!(report.rows.len(), 4);
    let qty = [0.033, TOUCH_QTY, 0.0, 0.0];
    for (row, q) in report.rows.iter().zip(qty) {
        let trades = u64::from(q > 0.0);
        let (is, oos) = (&row.in_sample, &row.out_of_sample);
        assert_eq!((is.trades, oos.trades), (trades, trades), "{}", row.point);
        assert!(
            (is.pnl_quote - trades as f64 * EXPECTED[0].pnl(q)).abs() < 1e-4,
            "{row:?}"
        );
        assert!(
            (oos.pnl_quote - trades as f64 * EXPECTED[1].pnl(q)).abs() < 1e-4,
            "{row:?}"
        );
    }
    assert_eq!(
        report.rows[1].point,
        "basis.trade_threshold_bps=20 gateway.sizing.spread_capital_share_bps=5000"
    );
    let ranks: Vec<usize> = report.rows.iter().map(|r| r.rank).collect();
    assert_eq!(
        ranks,
        [2, 1, 3, 4],
        "by in-sample PnL; ties keep grid order"
    );
    for a in &report.rows {
        for b in &report.rows {
            if a.rank < b.rank {
                assert!(a.in_sample.pnl_quote >= b.in_sample.pnl_quote);
            }
        }
    }
    assert_eq!(report.chosen, Some(1));
    let chosen = report.chosen_out_of_sample.unwrap();
    assert!((chosen.pnl_quote - EXPECTED[1].pnl(TOUCH_QTY)).abs() < 1e-4);
    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert_eq!(
        md.matches("| basis.trade_threshold_bps=").count(),
        4,
        "{md}"
    );
    let json = std::fs::read_to_string(out.join("sweep.json")).unwrap();
    assert!(json.contains("\"out_of_sample\""), "{json}");
    let runs = std::fs::read_dir(out.join(sweep::RUNS_DIR_NAME)).unwrap();
    let databases = runs
        .flatten()
        .filter(|run| run.path().join("opportunities.sqlite").exists())
        .count();
    assert_eq!(databases, 8, "every replay has its own folder and database");
}
