//! The main job's whole path against the simulator speaking all four venues' wire formats
//! at once (`examples/all-venues.toml`): every venue's spot and perp decode, their books
//! sync by each venue's own procedure (Binance REST snapshot, Bybit stream snapshots,
//! OKX's 2026 form: no snapshot push, so after the bounded wait the REST order book,
//! updates buffered meanwhile bridged by `seqId`, checksums 0 skipped; Hyperliquid
//! snapshots) with no gap or mismatch, and the
//! basis tracker records opportunities on every venue; the cross-venue scanner evaluates
//! BTC spot and perp across the four venues and writes its rows.

use std::path::{Path, PathBuf};

use edgeline::config::Config;
use edgeline::pipeline;
use edgeline::runtime::{IdlePolicy, Shutdown};

#[test]
fn test_all_four_venues_decode_book_and_scan() {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = tempfile::tempdir().unwrap();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/all-venues.toml");
    // NB: an unoptimised simulator stepping eight markets on a loaded two-core machine
    // falls behind the wall clock by a few hundred ms within seconds, which the default
    // `stale_after` (200 ms) rightly flags as stale (suppressing edges). This test is
    // about decoding and book sync, so staleness is set out of reach.
    let venues: String = ["binance", "bybit", "okx", "hyperliquid"]
        .iter()
        .map(|v| format!("[[venues]]\nname = \"{v}\"\nstale_after_ms = 60000\n"))
        .collect();
    let text = std::fs::read_to_string(example).unwrap().replace(
        "duration_secs = 30",
        &format!(
            "duration_secs = 6\noutput_dir = \"{}\"\n{venues}[simulator]\nseed = 5\ndislocation_mean_interval_ms = 700\n[telemetry]\nprogress_interval_ms = 0",
            dir.path().display()
        ),
    );
    let mut config = Config::from_toml(&text, Path::new("all-venues.toml"), 2).unwrap();
    assert_eq!(config.registry.len(), 8);
    assert_eq!(config.pairs.len(), 4);
    for plan in &mut config.placement.cores {
        plan.core = None;
        plan.idle = IdlePolicy::SpinThenYield { spins: 100 };
    }
    let outcome = pipeline::run(&config, &Shutdown::manual()).unwrap();
    let r = &outcome.report;
    for key in [
        "feed.malformed",
        "book.sequence_gaps",
        "book.checksum_mismatches",
        "book.resync_requests_dropped",
        "edge.suppressed_invalid",
    ] {
        assert_eq!(r.counter(key), 0, "{key}");
    }
    // Eight books: four REST snapshots (Binance, OKX), at least one stream snapshot each
    // for Bybit, and Hyperliquid's periodic ones.
    assert!(
        r.counter("book.snapshots") >= 8,
        "{}",
        r.counter("book.snapshots")
    );
    assert_eq!(
        r.counter("feed.snapshots"),
        4,
        "one REST snapshot per Binance and OKX book"
    );
    assert_eq!(
        r.counter("book.checksums_matched"),
        0,
        "OKX sends checksum 0"
    );
    assert!(r.counter("book.checksums_skipped") > 10);
    assert!(
        r.counter("book.diffs_buffered") > 0,
        "OKX updates buffered during the wait"
    );
    assert!(r.counter("book.diffs_applied") > 100);
    for venue in ["binance", "bybit", "okx", "hyperliquid"] {
        let summary = r.histogram(&format!("venue_delay_{venue}")).unwrap();
        assert!(summary.count > 10, "{venue}: {}", summary.count);
    }
    let db = rusqlite::Connection::open(dir.path().join("opportunities.sqlite")).unwrap();
    let mut stmt = db
        .prepare("SELECT venue, COUNT(*) FROM opportunities GROUP BY venue ORDER BY venue")
        .unwrap();
    let per_venue: Vec<(String, i64)> = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let venues: Vec<&str> = per_venue.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(
        venues,
        ["binance", "bybit", "hyperliquid", "okx"],
        "{per_venue:?}"
    );
    // BTC spot and BTC perp each on four venues.
    assert_eq!(r.counter("scanner.instruments"), 8);
    let accepted = r.counter("scanner.accepted");
    assert!(r.counter("scanner.candidates") >= accepted.max(1));
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM spread_opportunities", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(
        u64::try_from(rows).unwrap(),
        accepted,
        "every accepted one is a row"
    );
    assert_eq!(r.counter("edge.spread_records_dropped"), 0);
    assert!(
        !r.notes.is_empty() || accepted == 0,
        "the top N is reported"
    );
}
