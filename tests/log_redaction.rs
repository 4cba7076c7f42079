//! Secrets never reach the log, at any level: `edgeline run` with the Telegram bot on
//! (against a fake Bot API on loopback) at `RUST_LOG=trace`, where the HTTP client logs
//! every request's full URL, and the token is part of every Bot API path.

#[allow(dead_code)] // shared with tests/telegram_bot.rs, which uses all of it
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::process::Command;

use fake_telegram::FakeTelegram;

const TOKEN: &str = "987654:SECRET-token-never-logged";

#[test]
fn test_run_at_trace_level_never_logs_the_telegram_token() {
    let fake = FakeTelegram::start(TOKEN);
    fake.say(42, "/status");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("edgeline.toml");
    std::fs::write(
        &config,
        format!(
            "[telemetry]\nprogress_interval_ms = 0\n[telegram]\nenabled = true\nchat_ids = [42]\nbase_url = \"{}\"\npoll_timeout_secs = 1\n",
            fake.base_url()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edgeline"))
        .args(["run", "--duration", "2", "--config"])
        .arg(&config)
        .arg("--output")
        .arg(dir.path().join("out"))
        .env("RUST_LOG", "trace")
        .env("EDGELINE_TELEGRAM_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(fake.polls() > 0, "the bot polled the fake");
    assert!(
        stderr.contains("getUpdates"),
        "the HTTP client's request lines are logged (redacted)"
    );
    for secret in [TOKEN, "SECRET-token-never-logged"] {
        let leaks = stderr.matches(secret).count() + stdout.matches(secret).count();
        assert_eq!(leaks, 0, "the token appears {leaks} times in the output");
    }
}
