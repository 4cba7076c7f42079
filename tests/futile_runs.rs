//! Outcomes that do not lie (issue 26): a replay, backtest or verify that did nothing
//! useful exits non-zero with the reason (an empty capture, `--from` after `--to`,
//! `--from` past the data, books that never became valid: the README's own replay
//! example), and an interrupted replay says so in its report and exits 130 (as does one
//! a second signal forced to exit). `verify` already refused an empty capture. The real-data cases read `../shared/data` (they
//! say so when it is absent and fail under `CI=true`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SPOT: &str = "spot_hftbacktest_2024-08-08T2354_BTCUSDT";
const PERP: &str = "usdm_hftbacktest_2024-08-08T2354_BTCUSDT";

fn edgeline(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgeline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn replay_args(command: &str, out: &Path, inputs: &[(&str, &Path)], extra: &[&str]) -> Vec<String> {
    let mut args = strings(&[command, "--output"]);
    args.push(out.display().to_string());
    args.extend(strings(extra));
    args.extend(
        inputs
            .iter()
            .map(|(market, path)| format!("{market}={}", path.display())),
    );
    args
}

/// Fails unless the command exited non-zero with `reason` in its error.
fn assert_fails_with(out: &Output, reason: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit 0; stderr: {stderr}");
    assert!(stderr.contains(reason), "`{reason}` not in: {stderr}");
}

fn real_pair() -> Option<(PathBuf, PathBuf)> {
    Some((
        common::data_file("binance", SPOT)?,
        common::data_file("binance", PERP)?,
    ))
}

#[test]
fn test_replay_and_backtest_of_an_empty_capture_fail() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    for command in ["replay", "backtest"] {
        let out = edgeline(&replay_args(
            command,
            &dir.path().join(command),
            &[("binance.spot", &empty)],
            &[],
        ));
        assert_fails_with(&out, "no frames: nothing was replayed");
    }
}

#[test]
fn test_from_after_to_fails_before_replaying() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let out = edgeline(&replay_args(
        "replay",
        &dir.path().join("out"),
        &[("binance.spot", &empty)],
        &[
            "--from",
            "2024-08-09T00:00:00Z",
            "--to",
            "2024-08-08T00:00:00Z",
        ],
    ));
    assert_fails_with(&out, "empty window: --from");
}

#[test]
fn test_verify_of_an_empty_capture_fails() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let mut args = strings(&["verify", "--venue", "binance", "--market", "spot"]);
    args.push(empty.display().to_string());
    assert_fails_with(&edgeline(&args), "no binance spot market data found");
}

#[test]
fn test_replay_from_past_the_data_fails() {
    let Some((spot, perp)) = real_pair() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = edgeline(&replay_args(
        "replay",
        &dir.path().join("out"),
        &[("binance.spot", &spot), ("binance.perp", &perp)],
        &["--from", "2030-01-01T00:00:00Z"],
    ));
    assert_fails_with(&out, "no frames: nothing was replayed");
}

#[test]
fn test_readme_replay_from_after_the_snapshot_fails_naming_the_invalid_books() {
    let Some((spot, perp)) = real_pair() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        ("binance.spot", spot.as_path()),
        ("binance.perp", perp.as_path()),
    ];
    let from = ["--from", "2024-08-08T23:55:00Z"];
    for command in ["replay", "backtest"] {
        let out = edgeline(&replay_args(
            command,
            &dir.path().join(command),
            &inputs,
            &from,
        ));
        assert_fails_with(&out, "no book became valid");
    }
    // The whole capture (the snapshot included) builds the books and succeeds.
    let out = edgeline(&replay_args(
        "replay",
        &dir.path().join("all"),
        &inputs,
        &[],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts a replay paced at real speed (minutes long), waits for it to be under way,
/// sends `signals` SIGINTs, and returns its output.
fn interrupted_replay(signals: usize) -> Option<Output> {
    let (spot, perp) = real_pair()?;
    let dir = tempfile::tempdir().unwrap();
    let args = replay_args(
        "replay",
        &dir.path().join("out"),
        &[("binance.spot", &spot), ("binance.perp", &perp)],
        &["--speed", "1"],
    );
    let child = Command::new(env!("CARGO_BIN_EXE_edgeline"))
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The database is created when the pipeline starts: the handlers are in place.
    let db = dir.path().join("out/opportunities.sqlite");
    let start = Instant::now();
    while !db.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    for _ in 0..signals {
        // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
    Some(child.wait_with_output().unwrap())
}

#[test]
fn test_interrupted_replay_says_so_and_exits_130() {
    let Some(out) = interrupted_replay(1) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stdout.contains("INTERRUPTED after"), "{stdout}");
    assert!(stderr.contains("interrupted by a signal"), "{stderr}");
}

/// Two signals back to back: the second forces the exit if it lands while the clean
/// stop is under way, or coalesces with the first; either way the status is 130 (the
/// test cannot tell which path ran).
#[test]
fn test_two_signals_exit_130() {
    let Some(out) = interrupted_replay(2) else {
        return;
    };
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
