//! The bot's threads: a poller that long-polls `getUpdates` and hands updates over a
//! channel, and the bot thread that answers commands from configured chats, runs the
//! alert rules about once a second and sends everything through the paced [`Outbox`].
//!
//! Both threads are cold and off the hot path; they may block and allocate. Stopping
//! joins the bot thread (which sends what is still queued for up to [`STOP_FLUSH`]); the
//! poller may be inside a long poll and ends by itself when that returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, bounded};

use super::alerts::{AlertInputs, AlertWatch};
use super::api::{ApiError, BotApi, Update};
use super::commands::{Responder, parse};
use super::rate_limit::Outbox;
use crate::runtime::{Clock, Control, Counter, RunReport};
use crate::stats::PipelineStats;
use crate::telemetry::status::StatusBoard;

/// Environment variable holding the bot token.
pub const TOKEN_ENV: &str = "EDGELINE_TELEGRAM_TOKEN";
/// Telegram's production Bot API.
pub const BASE_URL_DEFAULT: &str = "https://api.telegram.org";
/// How long stopping waits for queued messages to go out.
pub const STOP_FLUSH: Duration = Duration::from_secs(2);
/// Updates waiting between the poller and the bot thread.
const UPDATES_QUEUED_MAX: usize = 1024;
/// Longest pause after failed polls.
const POLL_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Longest `retry_after` honoured: a larger one (a misbehaving server) is cut to this.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(300);

/// Slice of a poll wait between two looks at the stop flag, so a long `retry_after`
/// never delays shutdown.
const STOP_CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// How often the alert rules run.
const ALERT_INTERVAL: Duration = Duration::from_secs(1);

/// The bot's configuration. `Debug` never shows the token.
#[derive(Clone)]
pub struct TelegramConfig {
    /// Bot API base URL (a fake server on loopback in tests).
    pub base_url: String,
    /// The bot token (from [`TOKEN_ENV`]).
    pub token: String,
    /// Chats allowed to command the bot; alerts go to all of them.
    pub chat_ids: Vec<i64>,
    /// Long-poll timeout asked of the server.
    pub poll_timeout: Duration,
    /// A venue stale this long raises an alert.
    pub stale_alert_after: Duration,
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("chat_ids", &self.chat_ids)
            .field("poll_timeout", &self.poll_timeout)
            .field("stale_alert_after", &self.stale_alert_after)
            .finish()
    }
}

/// What the bot counts (read by the run report and the metrics endpoint).
#[derive(Debug, Default)]
pub struct BotCounters {
    /// Commands answered.
    pub commands: Counter,
    /// Messages from chats not allowed to command the bot (ignored).
    pub unauthorized: Counter,
    /// Messages sent.
    pub sent: Counter,
    /// `sendMessage` failures (the message is retried).
    pub send_errors: Counter,
    /// `getUpdates` failures.
    pub poll_errors: Counter,
    /// Updates that did not decode (skipped: polling goes on past them).
    pub updates_malformed: Counter,
    /// Alerts raised.
    pub alerts: Counter,
    /// Messages dropped because the outgoing queue was full.
    pub dropped: Counter,
}

/// What the bot reads besides its commands' sources.
pub struct BotInputs {
    /// Answers commands.
    pub responder: Responder,
    /// For alerts.
    pub board: Arc<StatusBoard>,
    /// For alerts (drops).
    pub stats: Arc<PipelineStats>,
    /// For alerts (kill switch).
    pub control: Arc<Control>,
    /// Wall time for answers and alerts.
    pub clock: Clock,
}

/// A running bot.
pub struct TelegramBot {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<BotCounters>,
}

impl TelegramBot {
    /// Starts the poller and the bot thread.
    pub fn start(config: TelegramConfig, inputs: BotInputs) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(BotCounters::default());
        let (tx, rx) = bounded(UPDATES_QUEUED_MAX);
        let poller = Poller {
            api: BotApi::new(&config.base_url, &config.token, config.poll_timeout),
            timeout_secs: config.poll_timeout.as_secs(),
            stop: Arc::clone(&stop),
            counters: Arc::clone(&counters),
        };
        std::thread::Builder::new()
            .name("telegram-poll".into())
            .spawn(move || poller.run(&tx))?;
        let worker = Worker {
            api: BotApi::new(&config.base_url, &config.token, config.poll_timeout),
            watch: AlertWatch::new(config.stale_alert_after),
            config,
            inputs,
            outbox: Outbox::default(),
            counters: Arc::clone(&counters),
            stop: Arc::clone(&stop),
        };
        let thread = std::thread::Builder::new()
            .name("telegram".into())
            .spawn(move || worker.run(&rx))?;
        log::info!("telegram: bot started");
        Ok(Self {
            stop,
            thread: Some(thread),
            counters,
        })
    }

    /// The bot's counters (shared with the metrics endpoint).
    pub fn counters(&self) -> Arc<BotCounters> {
        Arc::clone(&self.counters)
    }

    /// Stops the bot (sending what is queued for up to [`STOP_FLUSH`]) and puts its
    /// counters in the report.
    pub fn stop(mut self, report: &mut RunReport) {
        self.shutdown();
        let c = &self.counters;
        report.set("telegram.commands", c.commands.get());
        report.set("telegram.unauthorized", c.unauthorized.get());
        report.set("telegram.sent", c.sent.get());
        report.set("telegram.send_errors", c.send_errors.get());
        report.set("telegram.poll_errors", c.poll_errors.get());
        report.set("telegram.updates_malformed", c.updates_malformed.get());
        report.set("telegram.alerts", c.alerts.get());
        report.set("telegram.dropped", c.dropped.get());
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("telegram: bot thread panicked");
        }
    }
}

impl Drop for TelegramBot {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// How long to wait after a failed poll: the API's `retry_after` when it gave one
/// (capped at [`RETRY_AFTER_MAX`]), else the backoff.
fn poll_wait(err: &ApiError, backoff: Duration) -> Duration {
    match err {
        ApiError::Refused {
            retry_after: Some(secs),
            ..
        } => Duration::from_secs(*secs).min(RETRY_AFTER_MAX).max(backoff),
        _ => backoff,
    }
}

struct Poller {
    api: BotApi,
    timeout_secs: u64,
    stop: Arc<AtomicBool>,
    counters: Arc<BotCounters>,
}

impl Poller {
    /// Sleeps `wait`, or less when the bot is stopped meanwhile.
    fn sleep_unless_stopped(&self, wait: Duration) {
        let until = Instant::now() + wait;
        while !self.stop.load(Ordering::Acquire) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(STOP_CHECK_INTERVAL));
        }
    }

    fn run(self, tx: &Sender<Update>) {
        let mut offset = 0;
        let mut backoff = Duration::from_millis(500);
        while !self.stop.load(Ordering::Acquire) {
            match self.api.get_updates(offset, self.timeout_secs) {
                Ok(polled) => {
                    backoff = Duration::from_millis(500);
                    self.counters.updates_malformed.add(polled.malformed);
                    offset = offset.max(polled.next_offset.unwrap_or(offset));
                    for update in polled.updates {
                        if tx.send(update).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    self.counters.poll_errors.incr();
                    let wait = poll_wait(&e, backoff);
                    log::warn!("{e}; polling again in {wait:?}");
                    self.sleep_unless_stopped(wait);
                    backoff = (backoff * 2).min(POLL_BACKOFF_MAX);
                }
            }
        }
    }
}

struct Worker {
    api: BotApi,
    config: TelegramConfig,
    inputs: BotInputs,
    watch: AlertWatch,
    outbox: Outbox,
    counters: Arc<BotCounters>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self, rx: &Receiver<Update>) {
        let mut next_alert_check = Instant::now();
        while !self.stop.load(Ordering::Acquire) {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(update) => self.on_update(update),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            if now >= next_alert_check {
                self.alerts();
                next_alert_check = now + ALERT_INTERVAL;
            }
            self.send_due();
        }
        self.alerts();
        let deadline = Instant::now() + STOP_FLUSH;
        while !self.outbox.is_empty() && Instant::now() < deadline {
            self.send_due();
            std::thread::sleep(Duration::from_millis(20));
        }
        if !self.outbox.is_empty() {
            log::warn!(
                "telegram: {} messages not sent at shutdown",
                self.outbox.len()
            );
        }
    }

    fn on_update(&mut self, update: Update) {
        let (Some(chat_id), Some(text)) = (update.chat_id, update.text) else {
            return;
        };
        if !self.config.chat_ids.contains(&chat_id) {
            self.counters.unauthorized.incr();
            log::warn!("telegram: ignored a message from chat {chat_id} (not configured)");
            return;
        }
        let Some(command) = parse(&text) else {
            return;
        };
        self.counters.commands.incr();
        let now_unix_ms = self.inputs.clock.unix_ms_now();
        let answer = self
            .inputs
            .responder
            .answer(chat_id, command, Instant::now(), now_unix_ms);
        self.queue(chat_id, answer);
    }

    fn alerts(&mut self) {
        let inputs = AlertInputs {
            drops: self.inputs.stats.drops(),
            killed: self.inputs.control.is_killed(),
            leg_outs: self.inputs.stats.gateway_leg_outs.get(),
            now_unix_ms: self.inputs.clock.unix_ms_now(),
        };
        let status = self.inputs.board.snapshot();
        for alert in self.watch.check(&status, inputs) {
            self.counters.alerts.incr();
            log::warn!("telegram alert: {alert}");
            for chat in self.config.chat_ids.clone() {
                self.queue(chat, alert.clone());
            }
        }
    }

    fn queue(&mut self, chat_id: i64, html: String) {
        let before = self.outbox.dropped();
        self.outbox.push(chat_id, html);
        self.counters.dropped.add(self.outbox.dropped() - before);
    }

    fn send_due(&mut self) {
        let now = Instant::now();
        while let Some(message) = self.outbox.next_due(now) {
            match self.api.send_message(message.chat_id, &message.html) {
                Ok(()) => self.counters.sent.incr(),
                Err(e) => {
                    self.counters.send_errors.incr();
                    let wait = match &e {
                        ApiError::Refused {
                            retry_after: Some(secs),
                            ..
                        } => Duration::from_secs(*secs),
                        ApiError::Refused { code: 400, .. } => {
                            log::error!("{e}; message dropped (the API refuses it)");
                            continue;
                        }
                        _ => Duration::from_secs(1),
                    };
                    log::warn!("{e}; retrying in {wait:?}");
                    self.outbox.retry_later(message, now + wait);
                    return;
                }
            }
        }
    }
}
