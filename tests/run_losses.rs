//! `edgeline run` as a user runs it, when rows are lost: the final "LOST" figure names
//! every cause and the run exits non-zero saying how many rows it lost. The database is
//! a closed loopback port (rows go to the spool), and the spool is already full with
//! rows an earlier run left (more than `spool_max_bytes`), so every row of this run is
//! lost to "spool full". (Records the hot path drops while the writer is behind are
//! counted into the same figure: `telemetry::sidecar` tests.)

#[path = "common/rows.rs"]
mod rows;

use std::path::Path;
use std::process::{Command, Output};

use edgeline::telemetry::db::spool::Spool;

fn run(config: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgeline"))
        .args(["run", "--duration", "2", "--config"])
        .arg(config)
        .arg("--output")
        .arg(out)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// The number just before `words` in `line` (`... (17 spool full, ...` → 17).
fn figure_before(line: &str, words: &str) -> u64 {
    let at = line
        .find(words)
        .unwrap_or_else(|| panic!("{words} in {line}"));
    line[..at]
        .split_whitespace()
        .last()
        .map(|n| n.trim_start_matches('('))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a figure before {words} in {line}"))
}

#[test]
fn test_run_that_lost_rows_to_a_full_spool_says_so_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    {
        let (mut spool, _) = Spool::open(&spool_dir, 8 << 20).unwrap();
        let mut stored = 0;
        for start in (0..).step_by(1_000) {
            stored += spool.append(&rows::opportunity_rows("earlier", start..start + 1_000));
            if spool.bytes() > 1 << 20 {
                break;
            }
        }
        assert!(stored > 0);
    }
    let config = dir.path().join("edgeline.toml");
    std::fs::write(
        &config,
        format!(
            "[telemetry]\nprogress_interval_ms = 0\n[database]\nurl = \"postgres://edgeline@127.0.0.1:1/none\"\nspool_dir = \"{}\"\nspool_max_bytes = 1048576\n",
            spool_dir.display()
        ),
    )
    .unwrap();
    let out = run(&config, &dir.path().join("out"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let database = stdout
        .lines()
        .find(|l| l.starts_with("database:"))
        .unwrap_or_else(|| panic!("no database line:\n{stdout}\n{stderr}"));
    let lost = figure_before(database, "LOST");
    let full = figure_before(database, "spool full");
    assert!(full > 0, "the final latency snapshots at least: {database}");
    assert_eq!(lost, full, "{database}");
    assert!(
        !out.status.success(),
        "a run that lost rows fails:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("edgeline: {lost} database rows LOST")),
        "{stderr}"
    );
}
