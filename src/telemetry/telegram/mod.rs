//! The Telegram bot: long-polls the Bot API (base URL configurable, so tests point it at
//! a fake server on loopback), answers commands from configured chats only, raises
//! alerts, and paces its messages within the API's limits.
//!
//! Cold threads only; the hot path never waits on it. The token comes from the
//! environment ([`bot::TOKEN_ENV`]) and never appears in logs or errors.

pub mod alerts;
pub mod api;
pub mod bot;
pub mod commands;
pub mod html;
pub mod rate_limit;

pub use bot::{BotCounters, BotInputs, TelegramBot, TelegramConfig};
