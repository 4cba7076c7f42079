//! Binance on real recorded messages from `../shared/data/binance`, through the real
//! decoder and book engine (`edgeline::verify`): every message decodes; diffs are buffered
//! until the REST snapshot, stale ones dropped, the first bridges the snapshot, and every
//! later one links, with no false gap; every book ends valid and uncrossed. Counts are
//! the MANIFEST's. Skips (saying so) when the data is absent; fails under `CI=true`.

mod common;

use std::path::PathBuf;

use edgeline::types::{MarketKind, Venue};
use edgeline::verify::{VerifyReport, verify};

fn run(kind: MarketKind, prefixes: &[&str]) -> Option<VerifyReport> {
    let files: Option<Vec<PathBuf>> = prefixes
        .iter()
        .map(|p| common::data_file("binance", p))
        .collect();
    let report = verify(Venue::Binance, kind, &files?).unwrap();
    println!("{}", report.table());
    Some(report)
}

fn assert_sound(report: &VerifyReport) {
    assert!(!report.has_mismatch(), "{}", report.table());
    for i in &report.instruments {
        assert!(i.valid, "{} ends invalid", i.symbol);
        assert_eq!(i.book.snapshots, 1, "{}", i.symbol);
        assert!(i.book.updates > 0, "{}", i.symbol);
        assert_eq!(i.book.crossed, 0, "{}", i.symbol);
        let (bid, ask) = (i.best_bid.unwrap().0, i.best_ask.unwrap().0);
        assert!(bid < ask, "{}: {bid} >= {ask}", i.symbol);
    }
}

#[test]
fn test_binance_spot_hftbacktest_capture_books_link() {
    let Some(r) = run(MarketKind::Spot, &["spot_hftbacktest_"]) else {
        return;
    };
    assert_sound(&r);
    let i = &r.instruments[0];
    // MANIFEST: depth 3,451 + bookTicker 28,040 + trade 9,757 messages, 1 REST snapshot.
    assert_eq!(i.decoded, 3_451 + 28_040 + 9_757 + 1, "{}", r.table());
    assert_eq!(i.unknown, 0);
    assert_eq!(i.book.updates + i.book.stale, 3_451, "{}", r.table());
    assert!(i.book.stale > 0, "diffs before the snapshot are dropped");
}

#[test]
fn test_binance_usdm_hftbacktest_capture_books_link() {
    let Some(r) = run(MarketKind::Perp, &["usdm_hftbacktest_"]) else {
        return;
    };
    assert_sound(&r);
    let i = &r.instruments[0];
    // MANIFEST: depth 6,551 + bookTicker 66,089 + trade 21,313, 1 snapshot.
    assert_eq!(i.decoded, 6_551 + 66_089 + 21_313 + 1, "{}", r.table());
    assert_eq!(i.book.updates + i.book.stale, 6_551, "{}", r.table());
}

#[test]
fn test_binance_spot_cryptofeed_ws_and_rest_logs_link() {
    for date in ["2021-10-12", "2021-08-14"] {
        let Some(r) = run(
            MarketKind::Spot,
            &[
                &format!("spot_cryptofeed_{date}_depth"),
                &format!("spot_cryptofeed_{date}_rest"),
            ],
        ) else {
            return;
        };
        assert_eq!(r.instruments.len(), 4, "{}", r.table());
        assert_sound(&r);
        assert!(
            r.instruments.iter().all(|i| i.book.stale > 0),
            "{}",
            r.table()
        );
    }
}

#[test]
fn test_binance_usdm_cryptofeed_ws_and_rest_logs_link() {
    let Some(r) = run(
        MarketKind::Perp,
        &[
            "usdm_cryptofeed_2021-07-22_depth",
            "usdm_cryptofeed_2021-07-22_rest",
        ],
    ) else {
        return;
    };
    assert_eq!(r.instruments.len(), 4, "{}", r.table());
    assert_sound(&r);
}
