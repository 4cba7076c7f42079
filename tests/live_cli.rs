//! `run` trades live only with both opt-ins: `[live]` naming a venue and `--live`.
//! Either alone is refused with a message saying what is missing; both without keys in
//! the environment is refused naming the variable.

use std::process::Command;

fn run(args: &[&str], config: Option<&str>) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgeline"));
    cmd.arg("run")
        .args(args)
        .args(["--duration", "1", "--output"])
        .arg(dir.path());
    if let Some(text) = config {
        let path = dir.path().join("live.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    for var in [
        "EDGELINE_BINANCE_API_KEY",
        "EDGELINE_BINANCE_API_SECRET",
        "EDGELINE_BINANCE_ED25519_KEY_FILE",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const LIVE: &str = "[live]\nvenues = [\"binance\"]\n";

#[test]
fn test_live_cli_flag_without_config_refused() {
    let (ok, err) = run(&["--live"], None);
    assert!(!ok);
    assert!(
        err.contains("--live was given but the configuration names no venue live"),
        "{err}"
    );
}

#[test]
fn test_live_cli_config_without_flag_refused() {
    let (ok, err) = run(&[], Some(LIVE));
    assert!(!ok);
    assert!(err.contains("did not say --live"), "{err}");
}

#[test]
fn test_live_cli_both_without_keys_names_the_variable() {
    let (ok, err) = run(&["--live"], Some(LIVE));
    assert!(!ok);
    assert!(err.contains("EDGELINE_BINANCE_API_KEY is not set"), "{err}");
}
