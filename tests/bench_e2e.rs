//! `edgeline bench e2e` end to end, short: the simulator at a fixed rate through the real
//! pipeline, `.hgrm` files named with scenario, rate, date and revision, the work folder
//! removed.

use std::path::Path;
use std::time::Duration;

use edgeline::bench_e2e::{self, E2eParams};
use edgeline::config::Config;
use edgeline::runtime::Shutdown;

#[test]
fn test_bench_e2e_one_market_writes_named_hgrm_files() {
    let results = tempfile::tempdir().unwrap();
    let mut config = Config::from_toml(
        "[telemetry]\nprogress_interval_ms = 0\n",
        Path::new("t.toml"),
        2,
    )
    .unwrap();
    for plan in &mut config.placement.cores {
        plan.core = None;
    }
    let params = E2eParams {
        scenario: "one-market".into(),
        rate_hz: 2000,
        duration: Duration::from_secs(3),
        results_dir: results.path().to_path_buf(),
    };
    let outcome = bench_e2e::run(config, &params, &Shutdown::manual()).unwrap();
    // feed, book, edge, ingress_to_decision, gateway, ingress_to_order,
    // venue_delay_binance.
    assert_eq!(outcome.files.len(), 7, "{:?}", outcome.files);
    for file in &outcome.files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with("one-market_2000hz_20"), "{name}");
        assert!(name.ends_with(".hgrm"));
        assert!(
            std::fs::read_to_string(file)
                .unwrap()
                .contains("Percentile")
        );
    }
    let e2e = outcome.run.report.histogram("ingress_to_decision").unwrap();
    // At 2 kHz for 3 s, thousands of ticks reached a decision.
    assert!(e2e.count > 2_000, "{e2e:?}");
    assert!(outcome.table.contains("p99.99"));
    let leftovers: Vec<_> = std::fs::read_dir(results.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .collect();
    assert!(leftovers.is_empty(), "work folder removed");
}
