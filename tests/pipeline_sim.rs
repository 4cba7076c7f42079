//! The whole pipeline in-process against the built-in simulator on loopback: messages
//! flow through every stage, every stage's histogram has samples, and the opportunities
//! in SQLite match the dislocations the simulator injected.

use std::path::Path;
use std::time::Duration;

use edgeline::config::Config;
use edgeline::pipeline::{self, RunOutcome};
use edgeline::runtime::{IdlePolicy, Shutdown};
use edgeline::sim::{Dislocation, SimLeg};

struct Row {
    venue_ts_ms: u64,
    edge_bps: f64,
    source: String,
    direction: String,
    would_trade: bool,
}

fn run_pipeline(dir: &Path) -> RunOutcome {
    let _ = env_logger::builder().is_test(true).try_init();
    let text = format!(
        r#"
        output_dir = "{}"
        duration_secs = 6
        [simulator]
        seed = 21
        dislocation_mean_interval_ms = 800
        [telemetry]
        progress_interval_ms = 0
        "#,
        dir.display()
    );
    let mut config = Config::from_toml(&text, Path::new("test.toml"), 2).unwrap();
    for plan in &mut config.placement.cores {
        plan.core = None;
        plan.idle = IdlePolicy::SpinThenYield { spins: 100 };
    }
    pipeline::run(&config, &Shutdown::manual()).unwrap()
}

fn rows(dir: &Path) -> Vec<Row> {
    let db = rusqlite::Connection::open(dir.join("opportunities.sqlite")).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT venue_ts_ms, edge_bps, volatility_source, direction, would_trade_current
             FROM opportunities ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            venue_ts_ms: r.get::<_, i64>(0)? as u64,
            edge_bps: r.get(1)?,
            source: r.get(2)?,
            direction: r.get(3)?,
            would_trade: r.get::<_, i64>(4)? != 0,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Slack around a dislocation's window, ms. An opportunity is stamped with the perp's
/// latest venue time; spot and perp arrive on separate connections, and on a loaded
/// machine one can run tens of ms behind the other. Dislocations are at least 600 ms
/// apart, so this slack still attributes every opportunity to one of them.
const SKEW_SLACK_MS: u64 = 200;

fn within(row: &Row, d: &Dislocation) -> bool {
    row.venue_ts_ms + SKEW_SLACK_MS >= d.start_ms && row.venue_ts_ms <= d.end_ms + SKEW_SLACK_MS
}

#[test]
fn test_pipeline_on_simulator_records_the_injected_dislocations() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_pipeline(dir.path());
    let report = &outcome.report;

    for counter in [
        "feed.frames",
        "feed.events",
        "book.events",
        "book.updates",
        "edge.ticks",
    ] {
        assert!(
            report.counter(counter) > 1_000,
            "{counter} = {}",
            report.counter(counter)
        );
    }
    assert_eq!(report.counter("feed.malformed"), 0);
    assert_eq!(report.counter("book.sequence_gaps"), 0);
    assert_eq!(
        report.counter("book.crossed"),
        0,
        "L2 books built from the diffs never cross"
    );
    assert_eq!(report.counter("book.levels_dropped_far"), 0);
    for name in ["feed", "book", "edge", "ingress_to_decision"] {
        let h = report
            .histogram(name)
            .unwrap_or_else(|| panic!("no histogram {name}"));
        assert!(h.count > 1_000, "histogram {name} has {} samples", h.count);
        assert!(
            dir.path().join(format!("{name}.hgrm")).exists(),
            "{name}.hgrm"
        );
    }

    let rows = rows(dir.path());
    assert_eq!(rows.len() as u64, report.counter("edge.opportunities"));
    assert_eq!(report.counter("edge.records_dropped"), 0);
    let last_seen = rows.iter().map(|r| r.venue_ts_ms).max().unwrap_or(0);
    let injected: Vec<&Dislocation> = outcome
        .dislocations
        .iter()
        .filter(|d| d.end_ms < last_seen)
        .collect();
    assert!(
        injected.len() >= 3,
        "the simulator injected {} dislocations",
        injected.len()
    );

    for row in &rows {
        assert!(
            row.edge_bps >= 10.0,
            "recorded below the tracker threshold: {}",
            row.edge_bps
        );
        assert_eq!(row.would_trade, row.edge_bps >= 20.0);
        assert!(
            outcome.dislocations.iter().any(|d| within(row, d)),
            "opportunity at {} ms ({} bps) outside every dislocation",
            row.venue_ts_ms,
            row.edge_bps
        );
    }
    let mut sources_matched = 0;
    let large: Vec<&&Dislocation> = injected
        .iter()
        .filter(|d| d.peak_bps.abs() >= 12.0)
        .collect();
    for d in &large {
        let hits: Vec<&Row> = rows.iter().filter(|r| within(r, d)).collect();
        assert!(!hits.is_empty(), "no opportunity for dislocation {d:?}");
        let want_direction = if d.peak_bps > 0.0 {
            "SHORT_PERP_LONG_SPOT"
        } else {
            "LONG_PERP_SHORT_SPOT"
        };
        assert!(
            hits.iter().all(|r| r.direction == want_direction),
            "direction for {d:?}"
        );
        let want_source = match d.leg {
            SimLeg::Perp => "PERP",
            SimLeg::Spot => "SPOT",
        };
        sources_matched += usize::from(hits[0].source == want_source);
    }
    assert!(
        sources_matched * 4 >= large.len() * 3,
        "volatility source matched the moved leg for {sources_matched} of {}",
        large.len()
    );
    check_paper_trading(dir.path(), &outcome);
}

/// The gateway paper-traded the intents: every intent reached it, what it sent and
/// filled is in the database, and the last portfolio snapshot balances.
fn check_paper_trading(dir: &Path, outcome: &RunOutcome) {
    let report = &outcome.report;
    assert_eq!(report.counter("edge.intents_dropped"), 0);
    assert_eq!(
        report.counter("gateway.intents"),
        report.counter("edge.intents")
    );
    assert!(
        report.counter("gateway.accepted") > 0,
        "no intent was traded"
    );
    assert_eq!(report.counter("gateway.records_dropped"), 0);
    let db = rusqlite::Connection::open(dir.join("opportunities.sqlite")).unwrap();
    let count =
        |sql: &str| -> u64 { db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64 };
    assert_eq!(
        count("SELECT COUNT(*) FROM orders WHERE leg = 'FIRST' AND status = 'NEW'"),
        report.counter("gateway.accepted"),
        "one first-leg order per accepted intent"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM orders WHERE status = 'NEW'"),
        report.counter("gateway.orders")
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM fills"),
        report.counter("gateway.fills")
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM trades"),
        report.counter("gateway.trades_closed")
    );
    assert!(count("SELECT COUNT(*) FROM portfolio_snapshots") >= 5);
    let (equity, unrealised, realised): (f64, f64, f64) = db
        .query_row(
            "SELECT equity_quote, unrealized_pnl_quote, realized_pnl_quote
             FROM portfolio_snapshots ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let closed_pnl: f64 = db
        .query_row("SELECT COALESCE(SUM(pnl_quote), 0) FROM trades", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        (realised - closed_pnl).abs() < 1e-6,
        "realised {realised} = sum of closed trades {closed_pnl}"
    );
    assert!(
        (equity - unrealised - 20_000.0 - realised).abs() < 1e-6,
        "equity {equity} = capital + realised {realised} + unrealised {unrealised}"
    );
    assert!(
        report.notes.iter().any(|n| n.starts_with("portfolio:")),
        "the portfolio summary is in the report"
    );
}

#[test]
fn test_pipeline_stops_on_request_before_duration() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "output_dir = \"{}\"\nduration_secs = 600\n[telemetry]\nprogress_interval_ms = 0\n",
        dir.path().display()
    );
    let mut config = Config::from_toml(&text, Path::new("t.toml"), 2).unwrap();
    for plan in &mut config.placement.cores {
        plan.core = None;
    }
    let shutdown = Shutdown::manual();
    let stopper = shutdown.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        stopper.request_stop();
    });
    let outcome = pipeline::run(&config, &shutdown).unwrap();
    t.join().unwrap();
    assert_eq!(outcome.stop, edgeline::runtime::StopReason::Requested);
    assert!(dir.path().join("opportunities.sqlite").exists());
}

#[test]
fn test_strict_placement_refuses_a_missing_core() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "output_dir = \"{}\"\nstrict_placement = true\n[[placement]]\ncore = 4095\nstages = [\"feed\", \"book\", \"edge\", \"gateway\", \"telemetry\"]\n",
        dir.path().display()
    );
    let config = Config::from_toml(&text, Path::new("t.toml"), 2).unwrap();
    let err = pipeline::run(&config, &Shutdown::manual())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("strict_placement") && err.contains("core 4095"),
        "{err}"
    );
}

/// The default demo (issue 26): `edgeline run` with no configuration but the output
/// folder and a short duration (the built-in Binance simulator on loopback, paper
/// trading) shows the whole loop: intents whose entries fill, closed trades with their
/// PnL, one intent per opportunity, and the end-of-run summary of what traded.
#[test]
fn test_default_demo_enters_fills_and_closes_trades() {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "output_dir = \"{}\"\nduration_secs = 6\n[telemetry]\nprogress_interval_ms = 0\n",
        dir.path().display()
    );
    let mut config = Config::from_toml(&text, Path::new("t.toml"), 2).unwrap();
    for plan in &mut config.placement.cores {
        plan.core = None;
    }
    let outcome = pipeline::run(&config, &Shutdown::manual()).unwrap();
    let report = &outcome.report;
    assert!(
        report.counter("gateway.fills") > 0,
        "no fill: {:?}",
        report.notes
    );
    assert!(
        report.counter("gateway.entries_filled") > 0,
        "no entry filled: {:?}",
        report.notes
    );
    assert!(
        report.counter("edge.intents_repeated") > 0,
        "an opportunity lasts several ticks, proposed once"
    );
    assert!(
        report.counter("edge.intents") < report.counter("edge.would_trade"),
        "one intent per opportunity, not per tick"
    );
    let db = rusqlite::Connection::open(dir.path().join("opportunities.sqlite")).unwrap();
    let (closed, with_pnl): (i64, i64) = db
        .query_row("SELECT COUNT(*), COUNT(pnl_quote) FROM trades", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(closed >= 1, "no closed trade: {:?}", report.notes);
    assert_eq!(closed, with_pnl, "every closed trade has its PnL");
    let summary = report
        .notes
        .iter()
        .find(|n| n.starts_with("trading: "))
        .expect("the trading summary is in the report");
    assert!(summary.contains(" closed: "), "{summary}");
}
