//! The Telegram bot against a fake Bot API on loopback: every command, an unauthorised
//! chat, the `/panic` confirmation, escaping, `retry_after` and per-chat pacing, a wrong
//! token.

#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use edgeline::runtime::{Clock, Control, RunReport};
use edgeline::stats::PipelineStats;
use edgeline::telemetry::analytics::DbAnalytics;
use edgeline::telemetry::db::DatabaseSettings;
use edgeline::telemetry::db::sqlite::{DB_FILE_NAME, SqliteDb};
use edgeline::telemetry::status::StatusBoard;
use edgeline::telemetry::telegram::commands::{Responder, Sources};
use edgeline::telemetry::telegram::{BotInputs, TelegramBot, TelegramConfig};
use edgeline::types::bps::Bps;
use fake_telegram::{FakeTelegram, Sent};

const TOKEN: &str = "123456:TEST-TOKEN";

struct Rig {
    fake: FakeTelegram,
    bot: Option<TelegramBot>,
    control: Arc<Control>,
    dir: tempfile::TempDir,
}

/// A bot allowed to talk to `chats`, reading an empty opportunities file; `/reload`
/// reads `config_text` when given.
fn start(chats: &[i64], config_text: Option<&str>, token: &str) -> Rig {
    let fake = FakeTelegram::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE_NAME);
    SqliteDb::open(&db_path).unwrap();
    let config_path = dir.path().join("edgeline.toml");
    if let Some(text) = config_text {
        std::fs::write(&config_path, text).unwrap();
    }
    let clock = Clock::new();
    let board = Arc::new(StatusBoard::new(clock.unix_ms_now()));
    let stats = Arc::new(PipelineStats::default());
    let control = Arc::new(Control::default());
    let reload_path = config_path.clone();
    let responder = Responder::new(Sources {
        board: Arc::clone(&board),
        stats: Arc::clone(&stats),
        control: Arc::clone(&control),
        analytics: Box::new(DbAnalytics::new(DatabaseSettings::default(), dir.path())),
        reload: Box::new(move || {
            let config = edgeline::config::Config::from_file(Path::new(&reload_path), 2)
                .map_err(|e| e.to_string())?;
            Ok(edgeline::runtime::Thresholds {
                tracker: config.basis.tracker_threshold,
                trade: config.basis.trade_threshold,
            })
        }),
    });
    let bot = TelegramBot::start(
        TelegramConfig {
            base_url: fake.base_url(),
            token: token.to_owned(),
            chat_ids: chats.to_vec(),
            poll_timeout: Duration::from_secs(1),
            stale_alert_after: Duration::from_secs(60),
        },
        BotInputs {
            responder,
            board,
            stats,
            control: Arc::clone(&control),
            clock,
        },
    )
    .unwrap();
    Rig {
        fake,
        bot: Some(bot),
        control,
        dir,
    }
}

impl Rig {
    /// Sends `text` from `chat` and returns the next accepted answer to that chat.
    fn ask(&self, chat: i64, text: &str) -> String {
        let before = self.answers_to(chat).len();
        self.fake.say(chat, text);
        let sent = self.fake.wait_for(text, |s| {
            s.iter().filter(|m| m.chat_id == chat).count() > before
        });
        sent.iter()
            .filter(|m| m.chat_id == chat)
            .nth(before)
            .unwrap()
            .text
            .clone()
    }

    fn answers_to(&self, chat: i64) -> Vec<Sent> {
        self.fake
            .sent()
            .into_iter()
            .filter(|m| m.chat_id == chat && !m.refused)
            .collect()
    }

    fn stop(&mut self) -> RunReport {
        let mut report = RunReport::default();
        self.bot.take().unwrap().stop(&mut report);
        report
    }
}

#[test]
fn test_every_command_is_answered_for_allowed_chats_only() {
    let commands = [
        "/status",
        "/stats",
        "/latest",
        "/summary",
        "/trades",
        "/health",
        "/help",
        "/nonsense",
        "/latest@edgeline_bot 3",
    ];
    let chats: Vec<i64> = (1..=commands.len() as i64).collect();
    let mut rig = start(&chats, None, TOKEN);
    rig.fake.say(999, "/status");
    for (chat, command) in chats.iter().zip(commands) {
        rig.fake.say(*chat, command);
    }
    let sent = rig
        .fake
        .wait_for("an answer per command", |s| s.len() >= commands.len());
    let answer = |chat: i64| {
        sent.iter()
            .find(|m| m.chat_id == chat)
            .map(|m| m.text.clone())
            .unwrap()
    };
    assert!(sent.iter().all(|m| m.parse_mode == "HTML"));
    assert!(answer(1).contains("<b>edgeline</b> up"), "{}", answer(1));
    assert!(
        answer(1).contains("No trading in this run"),
        "{}",
        answer(1)
    );
    assert!(answer(2).contains("Opportunity tracker") && answer(2).contains("total 0"));
    assert_eq!(answer(3), "No opportunities recorded yet.");
    assert!(answer(4).contains("Recommendation:") && answer(4).contains("collect more"));
    assert!(
        answer(5).contains("gateway is not running"),
        "{}",
        answer(5)
    );
    assert!(answer(6).contains("<b>Health</b>") && answer(6).contains("CPU"));
    assert!(answer(6).contains("drops 0"), "{}", answer(6));
    assert!(answer(6).contains("db rows: written 0"), "{}", answer(6));
    assert!(answer(7).contains("/status") && answer(7).contains("/panic"));
    assert!(answer(8).starts_with("Unknown command."), "{}", answer(8));
    assert_eq!(answer(9), "No opportunities recorded yet.");
    let report = rig.stop();
    assert!(rig.fake.sent().iter().all(|m| m.chat_id != 999));
    assert_eq!(report.counter("telegram.unauthorized"), 1);
    assert_eq!(report.counter("telegram.commands"), commands.len() as u64);
    assert!(rig.fake.polls() > 0);
}

/// Writes a closed trade row the way the gateway's telemetry does (every column).
fn insert_trade(db: &rusqlite::Connection, seq: i64, exit_at: &str, pnl: f64, confidence: i64) {
    db.execute(
        "INSERT INTO trades (run_id, seq, trade_id, intent_id, strategy, strategy_version,
         config_hash, mode, long_venue, long_symbol, short_venue, short_symbol, qty, entry_at,
         exit_at, entry_long_price, entry_short_price, exit_long_price, exit_short_price,
         entry_edge_bps, exit_edge_bps, pnl_quote, pnl_bps, fees_quote, slippage_bps,
         latency_ms, confidence, exit_reason)
         VALUES ('r', ?1, 'T1', 1, 'CROSS_VENUE', '0.1.0', 'abc', 'PAPER', 'binance',
         'BTCUSDT', 'okx', 'BTC-USDT-SWAP', 0.01, ?2, ?2, 1, 1, 1, 1, 5, 0, ?3, 1, 0.25, 0,
         12, ?4, 'TARGET')",
        rusqlite::params![seq, exit_at, pnl, confidence],
    )
    .unwrap();
}

#[test]
fn test_trades_lists_the_latest_and_the_statistics_from_the_database() {
    let rig = start(&[42], None, TOKEN);
    let db = rusqlite::Connection::open(rig.dir.path().join(DB_FILE_NAME)).unwrap();
    insert_trade(&db, 1, "2026-11-21T09:15:00.000Z", 12.5, 95);
    insert_trade(&db, 2, "2026-11-21T10:30:00.000Z", -2.5, 60);
    insert_trade(&db, 3, "2026-11-21T11:45:00.000Z", 4.0, 75);
    let answer = rig.ask(42, "/trades 2");
    assert!(answer.starts_with("<b>Trades</b> 3 closed"), "{answer}");
    assert!(answer.contains("win rate 67%"), "{answer}");
    assert!(
        answer.contains("PnL +14.00") && answer.contains("fees 0.75"),
        "{answer}"
    );
    assert!(
        answer.contains("11:45:00") && answer.contains("10:30:00"),
        "{answer}"
    );
    assert!(!answer.contains("09:15:00"), "only the latest 2: {answer}");
    assert!(
        answer.contains("-2.50") && answer.contains("c60"),
        "{answer}"
    );
}

#[test]
fn test_panic_needs_confirmation_and_resume_rearms() {
    let mut rig = start(&[42], None, TOKEN);
    assert_eq!(
        rig.ask(42, "/confirm"),
        "Nothing to confirm: send /panic first."
    );
    assert!(!rig.control.is_killed());
    assert!(rig.ask(42, "/panic").contains("/confirm within 30 s"));
    assert!(!rig.control.is_killed(), "/panic alone must not trip it");
    assert!(rig.ask(42, "/confirm").contains("Kill switch tripped"));
    assert!(rig.control.is_killed());
    // The alert rule sees the switch and tells every chat.
    rig.fake.wait_for("the kill alert", |s| {
        s.iter().any(|m| {
            m.text
                .starts_with("🛑 Kill switch tripped: trading stopped.")
        })
    });
    assert!(rig.ask(42, "/resume").contains("re-armed"));
    assert!(!rig.control.is_killed());
    assert_eq!(rig.stop().counter("telegram.alerts"), 1);
}

#[test]
fn test_reload_publishes_thresholds_and_escapes_errors() {
    let good = "[basis]\ntracker_threshold_bps = 12.0\ntrade_threshold_bps = 25.0\n";
    let mut rig = start(&[42], Some(good), TOKEN);
    let answer = rig.ask(42, "/reload");
    assert_eq!(
        answer,
        "Thresholds reloaded (#1): tracker 12 bps, trade 25 bps."
    );
    let t = rig.control.thresholds().unwrap();
    assert_eq!((t.tracker, t.trade), (Bps::from_num(12), Bps::from_num(25)));
    rig.stop();

    let bad = "[basis]\ntracker_threshold_bps = \"<b>&\"\n";
    let mut rig = start(&[42], Some(bad), TOKEN);
    let answer = rig.ask(42, "/reload");
    assert!(answer.starts_with("Reload refused: "), "{answer}");
    assert!(answer.contains("&lt;b&gt;&amp;"), "{answer}");
    assert!(!answer.contains("<b>&"), "{answer}");
    assert_eq!(rig.control.thresholds(), None);
    rig.stop();
}

#[test]
fn test_retry_after_and_one_message_per_chat_per_second() {
    let mut rig = start(&[42], None, TOKEN);
    rig.fake.refuse_next_sends(1);
    for _ in 0..3 {
        rig.fake.say(42, "/help");
    }
    let accepted = rig.fake.wait_for("three answers", |s| s.len() >= 3);
    let all = rig.fake.sent();
    assert!(all[0].refused, "{all:#?}");
    assert!(
        accepted[0].at.duration_since(all[0].at) >= Duration::from_millis(900),
        "the retry waited for retry_after"
    );
    for pair in accepted.windows(2) {
        assert!(
            pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(900),
            "one message per second to a chat: {accepted:#?}"
        );
    }
    let report = rig.stop();
    assert_eq!(report.counter("telegram.send_errors"), 1);
    assert_eq!(report.counter("telegram.sent"), 3);
}

#[test]
fn test_wrong_token_is_counted_as_poll_errors() {
    let mut rig = start(&[42], None, "999:WRONG");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rig.bot.as_ref().unwrap().counters().poll_errors.get() == 0 {
        assert!(std::time::Instant::now() < deadline, "no poll error seen");
        std::thread::sleep(Duration::from_millis(20));
    }
    rig.fake.say(42, "/status");
    std::thread::sleep(Duration::from_millis(300));
    assert!(rig.fake.sent().is_empty());
    assert!(rig.stop().counter("telegram.poll_errors") >= 1);
}

/// An update the bot cannot decode (a chat id that is not a number, a text that is not
/// a string) is skipped and counted: the messages after it are still answered.
#[test]
fn test_undecodable_update_does_not_block_polling() {
    let mut rig = start(&[42], None, TOKEN);
    rig.fake.push_raw_update(
        r#"{"update_id":{id},"message":{"message_id":1,"chat":{"id":"forty-two"},"text":5}}"#,
    );
    rig.fake
        .push_raw_update(r#"{"update_id":{id},"message":[1,2]}"#);
    let answer = rig.ask(42, "/status");
    assert!(!answer.is_empty());
    let report = rig.stop();
    assert_eq!(report.counter("telegram.updates_malformed"), 2);
}

/// A poll refused with 429 waits the `retry_after` the API asked for, not the shorter
/// backoff.
#[test]
fn test_poll_backoff_honours_retry_after() {
    let mut rig = start(&[42], None, TOKEN);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rig.fake.polls() == 0 {
        assert!(std::time::Instant::now() < deadline, "no poll");
        std::thread::sleep(Duration::from_millis(5));
    }
    rig.fake.refuse_next_polls(1, 2);
    while rig.bot.as_ref().unwrap().counters().poll_errors.get() == 0 {
        assert!(std::time::Instant::now() < deadline, "no refused poll");
        std::thread::sleep(Duration::from_millis(5));
    }
    let refused_at = rig.fake.polls();
    std::thread::sleep(Duration::from_millis(1_700));
    assert_eq!(
        rig.fake.polls(),
        refused_at,
        "polled again before retry_after"
    );
    let answer = rig.ask(42, "/status");
    assert!(!answer.is_empty(), "polling resumes after retry_after");
    rig.stop();
}

/// A configuration error on `/reload` names the line and key but never a value that may
/// be a secret: the PostgreSQL password of a `database.url` line stays out of the chat.
#[test]
fn test_reload_error_never_quotes_the_database_password() {
    let bad = "[database]\nurl = postgres://edgeline:hunter2-secret@db/x\n";
    let mut rig = start(&[42], Some(bad), TOKEN);
    let answer = rig.ask(42, "/reload");
    assert!(answer.contains("line 2"), "{answer}");
    assert!(!answer.contains("hunter2"), "{answer}");
    rig.stop();
}
