//! A malformed frame's log line names where it came from: `edgeline run` against the
//! simulator with a garbage frame injected on Binance's perpetual connection.

use std::process::Command;

#[test]
fn test_malformed_frame_log_line_names_venue_and_market() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("edgeline.toml");
    std::fs::write(
        &config,
        "[telemetry]\nprogress_interval_ms = 0\n[[simulator.faults]]\nvenue = \"binance\"\nkind = \"perp\"\naction = \"garbage\"\nafter_frames = 5\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edgeline"))
        .args(["run", "--duration", "2", "--config"])
        .arg(&config)
        .arg("--output")
        .arg(dir.path().join("out"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("malformed frame #1 "))
        .unwrap_or_else(|| panic!("no malformed-frame line:\n{stderr}"));
    assert!(
        line.contains("feed: binance perp: malformed frame #1 "),
        "{line}"
    );
}
