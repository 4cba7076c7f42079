//! Bot commands: parsing a chat message into a [`Command`], and the [`Responder`] that
//! answers it in Telegram HTML from the status board, the pipeline counters, the run's
//! database and the control block.
//!
//! Runs on the bot thread (cold; allocates). Every dynamic string in an answer is escaped
//! ([`super::html`]). `/panic` only arms a confirmation: the kill switch trips on
//! `/confirm` from the same chat within [`PANIC_CONFIRM_WINDOW`].

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::html::{escape, pre};
use crate::runtime::{Control, Thresholds};
use crate::stats::PipelineStats;
use crate::telemetry::analytics::Analytics;
use crate::telemetry::histograms::ns_to_us;
use crate::telemetry::status::{Status, StatusBoard};

/// How long a `/panic` waits for its `/confirm`.
pub const PANIC_CONFIRM_WINDOW: Duration = Duration::from_secs(30);
/// Rows shown by `/latest` and `/trades` without an argument, and at most.
pub const LIST_DEFAULT: usize = 5;
/// Largest list asked for.
pub const LIST_MAX: usize = 20;

/// A command the bot understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// PnL, open positions, uptime, win rate, feed health, p99 latency.
    Status,
    /// The opportunity tracker's statistics.
    Stats,
    /// The latest N opportunities.
    Latest(usize),
    /// The tracker summary with the recommendation rule.
    Summary,
    /// The latest N trades.
    Trades(usize),
    /// CPU, memory, per-stage p50/p99, drops, resyncs.
    Health,
    /// Asks to trip the kill switch (needs `/confirm`).
    Panic,
    /// Confirms a `/panic`.
    Confirm,
    /// Re-arms trading after a kill.
    Resume,
    /// Re-reads the thresholds from the configuration file.
    Reload,
    /// The list of commands (`/help`, `/start`).
    Help,
    /// A command the bot does not know.
    Unknown,
}

/// Parses a message; `None` when it is not a command (no leading `/`).
/// Accepts `/cmd@BotName` and an optional count: `/latest 10`.
pub fn parse(text: &str) -> Option<Command> {
    let mut words = text.split_whitespace();
    let head = words.next()?.strip_prefix('/')?;
    let name = head.split('@').next().unwrap_or(head).to_ascii_lowercase();
    let count = words
        .next()
        .and_then(|w| w.parse::<usize>().ok())
        .unwrap_or(LIST_DEFAULT)
        .clamp(1, LIST_MAX);
    Some(match name.as_str() {
        "status" => Command::Status,
        "stats" => Command::Stats,
        "latest" => Command::Latest(count),
        "summary" => Command::Summary,
        "trades" => Command::Trades(count),
        "health" => Command::Health,
        "panic" => Command::Panic,
        "confirm" => Command::Confirm,
        "resume" => Command::Resume,
        "reload" => Command::Reload,
        "help" | "start" => Command::Help,
        _ => Command::Unknown,
    })
}

/// Re-reads the thresholds (from the configuration file the run started with).
pub type Reloader = Box<dyn FnMut() -> Result<Thresholds, String> + Send>;

/// What the responder reads and acts on.
pub struct Sources {
    /// The status board.
    pub board: Arc<StatusBoard>,
    /// The pipeline counters.
    pub stats: Arc<PipelineStats>,
    /// Kill switch and thresholds.
    pub control: Arc<Control>,
    /// The run's database.
    pub analytics: Box<dyn Analytics>,
    /// Threshold reloads.
    pub reload: Reloader,
}

/// Answers commands.
pub struct Responder {
    sources: Sources,
    panic_armed: Vec<(i64, Instant)>,
}

impl Responder {
    /// A responder over `sources`.
    pub fn new(sources: Sources) -> Self {
        Self {
            sources,
            panic_armed: Vec::new(),
        }
    }

    /// The HTML answer to `command` from `chat_id` at `now` (`now_unix_ms` for the
    /// uptime).
    pub fn answer(
        &mut self,
        chat_id: i64,
        command: Command,
        now: Instant,
        now_unix_ms: u64,
    ) -> String {
        match command {
            Command::Status => status(&self.sources, now_unix_ms),
            Command::Stats => match self.sources.analytics.summary() {
                Ok(summary) => format!("<b>Opportunity tracker</b>\n{}", pre(&summary.to_string())),
                Err(e) => failed(&e),
            },
            Command::Latest(n) => self.latest(n),
            Command::Summary => match self.sources.analytics.summary() {
                Ok(s) => {
                    let share = |name: &str| {
                        s.sources
                            .iter()
                            .find(|l| l.source == name)
                            .map_or(0, |l| l.count)
                    };
                    format!(
                        "<b>Summary</b>\n{} opportunities: PERP {}, SPOT {}, BOTH {}.\n\
                         <b>Recommendation:</b> {}",
                        s.total,
                        share("PERP"),
                        share("SPOT"),
                        share("BOTH"),
                        escape(&s.recommendation.to_string())
                    )
                }
                Err(e) => failed(&e),
            },
            Command::Trades(n) => self.trades(n),
            Command::Health => health(&self.sources),
            Command::Panic => {
                self.panic_armed.retain(|&(chat, _)| chat != chat_id);
                self.panic_armed.push((chat_id, now + PANIC_CONFIRM_WINDOW));
                format!(
                    "⚠️ Send /confirm within {} s to trip the kill switch: cancel every \
                     order, flatten, stop trading until /resume.",
                    PANIC_CONFIRM_WINDOW.as_secs()
                )
            }
            Command::Confirm => {
                let armed = self
                    .panic_armed
                    .iter()
                    .any(|&(chat, until)| chat == chat_id && now <= until);
                self.panic_armed.retain(|&(chat, _)| chat != chat_id);
                if armed {
                    self.sources.control.kill();
                    log::error!("telegram: kill switch tripped from chat {chat_id}");
                    "🛑 <b>Kill switch tripped.</b> Trading stopped; /resume re-arms it.".to_owned()
                } else {
                    "Nothing to confirm: send /panic first.".to_owned()
                }
            }
            Command::Resume => {
                self.sources.control.rearm();
                log::warn!("telegram: trading re-armed from chat {chat_id}");
                "✅ Trading re-armed.".to_owned()
            }
            Command::Reload => match (self.sources.reload)() {
                Ok(t) => {
                    let generation = self.sources.control.publish_thresholds(t);
                    format!(
                        "Thresholds reloaded (#{generation}): tracker {} bps, trade {} bps.",
                        t.tracker, t.trade
                    )
                }
                Err(e) => format!("Reload refused: {}", escape(&e)),
            },
            Command::Help => HELP.to_owned(),
            Command::Unknown => format!("Unknown command.\n{HELP}"),
        }
    }

    /// The trade statistics and the `n` latest trades, from the database.
    fn trades(&mut self, n: usize) -> String {
        let stats = match self.sources.analytics.trade_stats() {
            Ok(stats) => stats,
            Err(e) => return failed(&e),
        };
        if stats.all.trades == 0 {
            return match self.sources.board.snapshot().portfolio {
                None => "No trades: the gateway is not running in this run.".to_owned(),
                Some(p) => format!("No closed trades yet ({} open).", p.open_positions),
            };
        }
        let rows = match self.sources.analytics.trades(n) {
            Ok(rows) => rows,
            Err(e) => return failed(&e),
        };
        let mut table = String::new();
        for t in rows {
            let _ = writeln!(
                table,
                "{} {} {:>+9.2} {:>+7.1}bps c{} {}",
                t.exit_at.get(11..19).unwrap_or(&t.exit_at),
                if t.strategy == "BASIS" { "B" } else { "X" },
                t.pnl_quote,
                t.pnl_bps,
                t.confidence,
                t.exit_reason
            );
        }
        let a = &stats.all;
        format!(
            "<b>Trades</b> {} closed, win rate {:.0}%, PnL {:+.2}, fees {:.2}, PF {:.2},              max DD {:.2}
{}",
            a.trades,
            a.win_rate() * 100.0,
            a.pnl_quote,
            stats.fees_quote,
            stats.profit_factor,
            stats.max_drawdown_quote,
            pre(table.trim_end())
        )
    }

    fn latest(&mut self, n: usize) -> String {
        match self.sources.analytics.latest(n) {
            Ok(rows) if rows.is_empty() => "No opportunities recorded yet.".to_owned(),
            Ok(rows) => {
                let mut table = String::new();
                for r in rows {
                    let _ = writeln!(
                        table,
                        "{} {} {} {:>7.2} bps {}{}",
                        r.detected_at.get(11..23).unwrap_or(&r.detected_at),
                        r.venue,
                        r.perp_symbol,
                        r.edge_bps,
                        r.volatility_source,
                        if r.would_trade { " TRADE" } else { "" }
                    );
                }
                format!("<b>Latest opportunities</b>\n{}", pre(table.trim_end()))
            }
            Err(e) => failed(&e),
        }
    }
}

const HELP: &str = "/status /stats /latest [n] /summary /trades [n] /health \
                    /panic /resume /reload";

fn failed(error: &dyn std::error::Error) -> String {
    format!(
        "Could not read the database: {}",
        escape(&error.to_string())
    )
}

fn status(sources: &Sources, now_unix_ms: u64) -> String {
    let s = sources.board.snapshot();
    let uptime = Duration::from_secs(now_unix_ms.saturating_sub(s.started_unix_ms) / 1000);
    let mut out = format!(
        "<b>edgeline</b> up {}\n",
        humantime::format_duration(uptime)
    );
    match &s.portfolio {
        Some(p) => {
            let _ = writeln!(
                out,
                "PnL {:+.2} | open {} | closed {} | win rate {:.0}%{}",
                p.pnl,
                p.open_positions,
                p.closed_trades,
                p.win_rate * 100.0,
                if p.halted { " | HALTED" } else { "" }
            );
            let _ = writeln!(
                out,
                "funding {:+.2} | margin {:.2} ({:.1}% of equity) | liquidations {}",
                p.funding, p.margin_used, p.margin_utilisation_pct, p.liquidations
            );
        }
        None => out.push_str("No trading in this run (tracker only).\n"),
    }
    if sources.control.is_killed() {
        out.push_str("🛑 kill switch tripped\n");
    }
    out.push_str(&feeds(&s));
    let silent = sources.stats.health.silent_line();
    if !silent.is_empty() {
        let _ = write!(out, "\n{}", escape(&silent));
    }
    for (name, label) in [
        ("ingress_to_decision", "ingress→decision"),
        ("ingress_to_order", "ingress→order"),
    ] {
        if let Some(l) = s.stages.iter().find(|l| l.name == name) {
            let _ = write!(out, "\n{label} p99 {:.1} µs", ns_to_us(l.p99_ns));
        }
    }
    out
}

fn feeds(s: &Status) -> String {
    if s.venues.is_empty() {
        return "feeds: no venue times yet".to_owned();
    }
    let parts: Vec<String> = s
        .venues
        .iter()
        .map(|v| {
            let delay = v
                .mean_delay_ms
                .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.0} ms"));
            format!("{} {delay}{}", v.venue, if v.stale { " STALE" } else { "" })
        })
        .collect();
    format!("feeds: {}", escape(&parts.join(", ")))
}

fn health(sources: &Sources) -> String {
    let s = sources.board.snapshot();
    let stats = &sources.stats;
    let mut table = String::new();
    for l in &s.stages {
        let _ = writeln!(
            table,
            "{:<22} p50 {:>8.2} µs  p99 {:>8.2} µs",
            l.name,
            ns_to_us(l.p50_ns),
            ns_to_us(l.p99_ns)
        );
    }
    let _ = write!(
        table,
        "drops {} | malformed {} | gaps {} | resyncs {}",
        stats.drops(),
        stats.feed_malformed.get(),
        stats.book_sequence_gaps.get(),
        stats.feed_resyncs.get()
    );
    let db = &s.database;
    let _ = write!(
        table,
        "\ndb rows: written {} | spooled {} | waiting {} | LOST {}",
        db.rows_written, db.rows_spooled, db.rows_waiting, db.rows_dropped
    );
    let process = crate::telemetry::process::ProcessUsage::read();
    format!(
        "<b>Health</b>\n{}\n{}",
        escape(&process.to_string()),
        pre(&table)
    )
}
