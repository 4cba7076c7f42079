//! The operator-facing services of a run, started and stopped together: the Telegram bot
//! and the Prometheus endpoint, both reading the status board, the counters and the
//! control block. Each is off unless configured.
//!
//! Cold path: built on the control thread before the stages start, stopped after they
//! finish. The bot token is read from the environment here and nowhere else.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::runtime::{Clock, Control, RunReport, Thresholds};
use crate::stats::PipelineStats;
use crate::telemetry::analytics::DbAnalytics;
use crate::telemetry::metrics_http::{MetricsServer, MetricsSources};
use crate::telemetry::status::StatusBoard;
use crate::telemetry::telegram::bot::TOKEN_ENV;
use crate::telemetry::telegram::commands::{Reloader, Responder, Sources};
use crate::telemetry::telegram::{BotInputs, TelegramBot, TelegramConfig};

/// Why an operator service could not start.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The bot is enabled but has no token.
    #[error("telegram.enabled = true but the bot token is not in the environment ({TOKEN_ENV})")]
    MissingToken,
    /// A service thread or socket could not be set up.
    #[error("starting the {service}: {source}")]
    Start {
        /// `metrics endpoint` or `Telegram bot`.
        service: &'static str,
        /// The OS error (address in use, thread limits).
        source: std::io::Error,
    },
}

/// What the services share with the pipeline.
pub struct OperatorInputs {
    /// The status board the sidecar writes.
    pub board: Arc<StatusBoard>,
    /// Pipeline counters.
    pub stats: Arc<PipelineStats>,
    /// Kill switch and thresholds.
    pub control: Arc<Control>,
    /// Wall time.
    pub clock: Clock,
}

/// The running services.
pub struct OperatorServices {
    bot: Option<TelegramBot>,
    metrics: Option<MetricsServer>,
}

impl OperatorServices {
    /// Starts whatever `config` enables; the token is read from [`TOKEN_ENV`].
    pub fn start(config: &Config, inputs: &OperatorInputs) -> Result<Self, OperatorError> {
        let token = std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty());
        Self::start_with_token(config, inputs, token)
    }

    /// As [`OperatorServices::start`], with the token given.
    pub fn start_with_token(
        config: &Config,
        inputs: &OperatorInputs,
        token: Option<String>,
    ) -> Result<Self, OperatorError> {
        let bot = match &config.telegram {
            None => None,
            Some(settings) => {
                let token = token.ok_or(OperatorError::MissingToken)?;
                let responder = Responder::new(Sources {
                    board: Arc::clone(&inputs.board),
                    stats: Arc::clone(&inputs.stats),
                    control: Arc::clone(&inputs.control),
                    analytics: Box::new(DbAnalytics::new(
                        config.database.clone(),
                        &config.output_dir,
                    )),
                    reload: reloader(config.source.clone()),
                });
                let bot_config = TelegramConfig {
                    base_url: settings.base_url.clone(),
                    token,
                    chat_ids: settings.chat_ids.clone(),
                    poll_timeout: settings.poll_timeout,
                    stale_alert_after: settings.stale_alert_after,
                };
                let bot_inputs = BotInputs {
                    responder,
                    board: Arc::clone(&inputs.board),
                    stats: Arc::clone(&inputs.stats),
                    control: Arc::clone(&inputs.control),
                    clock: inputs.clock.clone(),
                };
                Some(
                    TelegramBot::start(bot_config, bot_inputs).map_err(|source| {
                        OperatorError::Start {
                            service: "Telegram bot",
                            source,
                        }
                    })?,
                )
            }
        };
        let metrics = match config.metrics_listen {
            None => None,
            Some(listen) => {
                let sources = MetricsSources {
                    stats: Arc::clone(&inputs.stats),
                    board: Arc::clone(&inputs.board),
                    control: Arc::clone(&inputs.control),
                    bot: bot.as_ref().map(TelegramBot::counters),
                };
                Some(MetricsServer::start(listen, sources).map_err(|source| {
                    OperatorError::Start {
                        service: "metrics endpoint",
                        source,
                    }
                })?)
            }
        };
        Ok(Self { bot, metrics })
    }

    /// The metrics endpoint's bound address, when it runs.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::addr)
    }

    /// Stops every service; the bot's counters go into the report.
    pub fn stop(self, report: &mut RunReport) {
        if let Some(bot) = self.bot {
            bot.stop(report);
        }
        drop(self.metrics);
    }
}

/// `/reload`: re-reads the thresholds from the file the run started with.
fn reloader(source: Option<PathBuf>) -> Reloader {
    Box::new(move || {
        let path = source
            .as_deref()
            .ok_or("this run has no configuration file (defaults in use)")?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let config = Config::from_file(path, cores).map_err(|e| e.to_string())?;
        Ok(Thresholds {
            tracker: config.basis.tracker_threshold,
            trade: config.basis.trade_threshold,
        })
    })
}
