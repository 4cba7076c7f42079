//! Issue 21: a feed that stops sending while its connection stays open. The whole
//! pipeline runs against the built-in simulator whose fault plan stalls the Binance perp
//! connection (nothing sent, the socket kept open, so the transport's 40 s
//! `silence_timeout` does not fire within the run). The perp's stream must turn stale
//! once it has been silent past the limit learned from its usual rhythm: after that
//! moment (in the run report) no opportunity uses the perp and the paper venue fills
//! nothing on it.

use std::path::Path;

use edgeline::config::Config;
use edgeline::pipeline::{self, RunOutcome};
use edgeline::runtime::{IdlePolicy, Shutdown};

/// Time for what was already past the edge stage when the stream turned stale (records
/// are stamped on other threads), ms.
const IN_FLIGHT_MS: i64 = 50;

fn run(dir: &Path) -> RunOutcome {
    let _ = env_logger::builder().is_test(true).try_init();
    let text = format!(
        r#"
        output_dir = "{}"
        duration_secs = 6
        [simulator]
        seed = 21
        dislocation_mean_interval_ms = 400
        [[simulator.faults]]
        venue = "binance"
        kind = "perp"
        action = "stall"
        after_frames = 1500
        [telemetry]
        progress_interval_ms = 0
        "#,
        dir.display()
    );
    let mut config = Config::from_toml(&text, Path::new("stall.toml"), 2).unwrap();
    for plan in &mut config.placement.cores {
        plan.core = None;
        plan.idle = IdlePolicy::SpinThenYield { spins: 100 };
    }
    pipeline::run(&config, &Shutdown::manual()).unwrap()
}

/// Unix ms of an RFC 3339 text column, computed by SQLite.
fn unix_ms(column: &str) -> String {
    format!("CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)")
}

#[test]
fn test_pipeline_stalled_feed_stops_edges_and_fills_at_the_silence_limit() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(dir.path());
    let report = &outcome.report;
    assert_eq!(
        report.counter("feed.disconnects"),
        0,
        "the stall keeps the socket open"
    );
    assert!(report.counter("feed.silent") >= 1);
    let note = report
        .notes
        .iter()
        .find(|n| n.starts_with("feed: binance perp BTCUSDT went silent (stale) 1 time(s)"))
        .unwrap_or_else(|| panic!("no silence note: {:#?}", report.notes));
    let stale_at: i64 = note.rsplit(' ').next().unwrap().parse().unwrap();

    let db = rusqlite::Connection::open(dir.path().join("opportunities.sqlite")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    let before = count(&format!(
        "SELECT COUNT(*) FROM opportunities WHERE {} <= {stale_at}",
        unix_ms("detected_at")
    ));
    assert!(before > 0, "opportunities before the stall");
    let late = format!("{stale_at} + {IN_FLIGHT_MS}");
    let after = count(&format!(
        "SELECT COUNT(*) FROM opportunities WHERE {} > {late}",
        unix_ms("detected_at")
    ));
    assert_eq!(
        after, 0,
        "opportunities on the frozen perp after it went stale"
    );
    let fills_after = count(&format!(
        "SELECT COUNT(*) FROM fills WHERE venue = 'binance' AND market = 'perp' AND {} > {late}",
        unix_ms("filled_at")
    ));
    assert_eq!(
        fills_after, 0,
        "paper fills on the frozen perp after it went stale"
    );
    // The stall began at most the learned limit's floor before it was flagged (the perp
    // sends every few ms): the last perp quote any opportunity used is that recent.
    let last_venue_ms = count("SELECT COALESCE(MAX(venue_ts_ms), 0) FROM opportunities");
    assert!(
        stale_at - last_venue_ms < 2_000,
        "flagged {} ms after the last perp quote used",
        stale_at - last_venue_ms
    );
}
