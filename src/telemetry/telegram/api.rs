//! The Bot API client: `getUpdates` (long polling) and `sendMessage` (HTML), over HTTPS
//! (rustls) or, for tests against a fake server on loopback, plain HTTP.
//!
//! Runs on the bot thread only (cold, blocking calls). The token is part of every request
//! path, so no error text from the HTTP layer leaves this module unredacted: every
//! message is passed through [`redact`] before it becomes an [`ApiError`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Largest answer body read, bytes (a `getUpdates` batch is at most 100 updates).
const BODY_MAX: u64 = 4 << 20;

/// What a Bot API call can fail with. Texts never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No answer: connection refused, DNS, TLS, timeout.
    #[error("Telegram {method}: request failed: {detail}")]
    Transport {
        /// API method.
        method: &'static str,
        /// What the HTTP layer said, redacted.
        detail: String,
    },
    /// The API answered `ok: false`.
    #[error("Telegram {method}: refused ({code}): {description}")]
    Refused {
        /// API method.
        method: &'static str,
        /// `error_code` (HTTP status).
        code: u16,
        /// `description`, redacted.
        description: String,
        /// `parameters.retry_after` (seconds) when rate limited.
        retry_after: Option<u64>,
    },
    /// The answer was not the JSON the API documents.
    #[error("Telegram {method}: unexpected answer: {detail}")]
    Decode {
        /// API method.
        method: &'static str,
        /// The parse error, redacted.
        detail: String,
    },
}

/// One text message received by the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The update's id (the next poll's offset is the largest seen + 1).
    pub update_id: i64,
    /// The chat it came from (`None` for updates that are not messages).
    pub chat_id: Option<i64>,
    /// Its text (`None` for stickers, photos, ...).
    pub text: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

/// What one `getUpdates` answer held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Polled {
    /// The updates that decoded.
    pub updates: Vec<Update>,
    /// Updates that did not decode (skipped, logged).
    pub malformed: u64,
    /// The next poll's offset: the largest `update_id` seen + 1, decoded or not, so an
    /// update the bot cannot read is never asked for again.
    pub next_offset: Option<i64>,
}

#[derive(Deserialize)]
struct RawUpdateId {
    update_id: i64,
}

#[derive(Deserialize)]
struct RawUpdate {
    update_id: i64,
    message: Option<RawMessage>,
}

#[derive(Deserialize)]
struct RawMessage {
    chat: RawChat,
    text: Option<String>,
}

#[derive(Deserialize)]
struct RawChat {
    id: i64,
}

#[derive(Serialize)]
struct SendMessage<'a> {
    chat_id: i64,
    text: &'a str,
    parse_mode: &'static str,
    disable_web_page_preview: bool,
}

/// A Bot API client for one bot.
pub struct BotApi {
    agent: ureq::Agent,
    method_base: String,
    token: String,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotApi").finish_non_exhaustive()
    }
}

impl BotApi {
    /// A client for `base_url` (`https://api.telegram.org` in production) with `token`;
    /// every call gives up after `long_poll + 10 s`.
    pub fn new(base_url: &str, token: &str, long_poll: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(long_poll + Duration::from_secs(10)))
            .http_status_as_error(false)
            .build();
        Self {
            agent: config.into(),
            method_base: format!("{}/bot{token}/", base_url.trim_end_matches('/')),
            token: token.to_owned(),
        }
    }

    /// Long-polls for updates after `offset`, waiting up to `timeout_secs` on the server.
    /// Each update is decoded on its own: one the bot cannot read is skipped and counted,
    /// never a reason to fail the whole answer (which would return it again forever).
    pub fn get_updates(&self, offset: i64, timeout_secs: u64) -> Result<Polled, ApiError> {
        const METHOD: &str = "getUpdates";
        let answer = self
            .agent
            .get(format!("{}{METHOD}", self.method_base))
            .query("offset", offset.to_string())
            .query("timeout", timeout_secs.to_string())
            .query("allowed_updates", "[\"message\"]")
            .call();
        let raw: Vec<sonic_rs::Value> = self.result(METHOD, answer)?;
        let mut polled = Polled::default();
        for value in &raw {
            let id = sonic_rs::from_value::<RawUpdateId>(value)
                .ok()
                .map(|u| u.update_id);
            if let Some(id) = id {
                polled.next_offset = Some(polled.next_offset.unwrap_or(i64::MIN).max(id + 1));
            }
            match sonic_rs::from_value::<RawUpdate>(value) {
                Ok(u) => polled.updates.push(Update {
                    update_id: u.update_id,
                    chat_id: u.message.as_ref().map(|m| m.chat.id),
                    text: u.message.and_then(|m| m.text),
                }),
                Err(e) => {
                    polled.malformed += 1;
                    log::warn!(
                        "Telegram {METHOD}: skipping an update it cannot decode (update_id {id:?}): {}",
                        redact(&e.to_string(), &self.token)
                    );
                }
            }
        }
        Ok(polled)
    }

    /// Sends `html` (Telegram HTML parse mode, already escaped) to `chat_id`.
    pub fn send_message(&self, chat_id: i64, html: &str) -> Result<(), ApiError> {
        const METHOD: &str = "sendMessage";
        let body = SendMessage {
            chat_id,
            text: html,
            parse_mode: "HTML",
            disable_web_page_preview: true,
        };
        let body = sonic_rs::to_string(&body).map_err(|e| ApiError::Decode {
            method: METHOD,
            detail: e.to_string(),
        })?;
        let answer = self
            .agent
            .post(format!("{}{METHOD}", self.method_base))
            .content_type("application/json")
            .send(body.as_str());
        self.result::<sonic_rs::Value>(METHOD, answer).map(drop)
    }

    fn result<T: for<'de> Deserialize<'de>>(
        &self,
        method: &'static str,
        answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ApiError> {
        let mut response = answer.map_err(|e| ApiError::Transport {
            method,
            detail: redact(&e.to_string(), &self.token),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(BODY_MAX)
            .read_to_string()
            .map_err(|e| ApiError::Transport {
                method,
                detail: redact(&e.to_string(), &self.token),
            })?;
        if !crate::feed::json::nesting_within(text.as_bytes(), crate::feed::json::NESTING_MAX) {
            return Err(ApiError::Decode {
                method,
                detail: format!("HTTP {status}: answer nested too deep"),
            });
        }
        let envelope: Envelope<T> = sonic_rs::from_str(&text).map_err(|e| ApiError::Decode {
            method,
            detail: format!("HTTP {status}: {}", redact(&e.to_string(), &self.token)),
        })?;
        match (envelope.ok, envelope.result) {
            (true, Some(result)) => Ok(result),
            _ => Err(ApiError::Refused {
                method,
                code: envelope.error_code.unwrap_or(status),
                description: redact(&envelope.description.unwrap_or_default(), &self.token),
                retry_after: envelope.parameters.and_then(|p| p.retry_after),
            }),
        }
    }
}

/// `text` with every occurrence of `secret` replaced by `<redacted>`.
pub fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    text.replace(secret, "<redacted>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_redact_removes_every_occurrence() {
        assert_eq!(
            redact("GET /bot123:ABC/getUpdates failed: 123:ABC", "123:ABC"),
            "GET /bot<redacted>/getUpdates failed: <redacted>"
        );
        assert_eq!(redact("x", ""), "x");
    }

    #[test]
    fn test_unreachable_server_error_has_no_token() {
        let api = BotApi::new("http://127.0.0.1:9", "999:SECRET", Duration::from_secs(1));
        let err = api.get_updates(0, 0).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(matches!(err, ApiError::Transport { .. }), "{text}");
    }
}
