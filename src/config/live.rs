//! Resolves `[live]` into [`LiveSettings`]: which venues trade real orders, against
//! which endpoints (testnet by default), with which `recvWindow` and per-run notional
//! limit. Naming a venue here is one of the two opt-ins live trading needs; the other
//! is `run --live` on the command line (checked in `main.rs`). Credentials are never
//! configured: they come from the environment only (`gateway::live::keys`).
//!
//! Cold path, start-up only.

use crate::config::ConfigError;
use crate::config::resolve::invalid;
use crate::types::{Price, Venue};

/// Binance spot REST, production.
pub const BINANCE_SPOT: &str = "https://api.binance.com";
/// Binance USD-M REST, production.
pub const BINANCE_FUTURES: &str = "https://fapi.binance.com";
/// Binance spot REST, testnet.
pub const BINANCE_SPOT_TESTNET: &str = "https://testnet.binance.vision";
/// Binance USD-M REST, testnet.
pub const BINANCE_FUTURES_TESTNET: &str = "https://testnet.binancefuture.com";
/// Largest `recvWindow` Binance accepts, ms.
pub const RECV_WINDOW_MAX_MS: u64 = 60_000;

/// `[live]`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLive {
    /// Venues that trade live (only `binance` so far; default none).
    #[serde(default)]
    pub venues: Vec<String>,
    /// Testnet endpoints (default true: production needs `testnet = false`).
    pub testnet: Option<bool>,
    /// Spot REST base override (the fake exchange, a proxy).
    pub spot_base: Option<String>,
    /// USD-M REST base override.
    pub futures_base: Option<String>,
    /// `recvWindow`, ms (default 5,000, at most 60,000).
    pub recv_window_ms: Option<u64>,
    /// Total notional the run may send, USD (default 1,000).
    pub run_notional_max: Option<String>,
}

/// Resolved `[live]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSettings {
    /// Venues trading live.
    pub venues: Vec<Venue>,
    /// Spot REST base.
    pub spot_base: String,
    /// USD-M REST base.
    pub futures_base: String,
    /// `recvWindow`, ms.
    pub recv_window_ms: u64,
    /// Run notional limit, raw 10^-8 USD.
    pub run_notional_max_raw: i128,
}

/// Validates `[live]`; `None` when it names no venue.
pub fn resolve_live(raw: Option<RawLive>) -> Result<Option<LiveSettings>, ConfigError> {
    let Some(raw) = raw.filter(|r| !r.venues.is_empty()) else {
        return Ok(None);
    };
    let mut venues = Vec::new();
    for (i, name) in raw.venues.iter().enumerate() {
        match Venue::from_name(name) {
            Some(Venue::Binance) => venues.push(Venue::Binance),
            _ => {
                return Err(invalid(
                    format!("live.venues[{i}]"),
                    "only binance trades live so far",
                ));
            }
        }
    }
    let testnet = raw.testnet.unwrap_or(true);
    let (spot, futures) = if testnet {
        (BINANCE_SPOT_TESTNET, BINANCE_FUTURES_TESTNET)
    } else {
        (BINANCE_SPOT, BINANCE_FUTURES)
    };
    let recv_window_ms = raw.recv_window_ms.unwrap_or(5_000);
    if !(1..=RECV_WINDOW_MAX_MS).contains(&recv_window_ms) {
        return Err(invalid("live.recv_window_ms", "must be 1 to 60000"));
    }
    let notional = raw.run_notional_max.as_deref().unwrap_or("1000");
    let notional = Price::from_decimal_str(notional)
        .ok()
        .filter(|p| p.raw() > 0)
        .ok_or_else(|| invalid("live.run_notional_max", "must be a positive decimal (USD)"))?;
    Ok(Some(LiveSettings {
        venues,
        spot_base: raw.spot_base.unwrap_or_else(|| spot.to_owned()),
        futures_base: raw.futures_base.unwrap_or_else(|| futures.to_owned()),
        recv_window_ms,
        run_notional_max_raw: notional
            .notional_raw(crate::types::Qty::from_raw(crate::types::Qty::SCALE)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_live_config_testnet_by_default_and_keys_named() {
        assert_eq!(resolve_live(None).unwrap(), None);
        let raw = RawLive {
            venues: vec!["binance".into()],
            ..RawLive::default()
        };
        let s = resolve_live(Some(raw)).unwrap().unwrap();
        assert_eq!(
            (s.spot_base.as_str(), s.futures_base.as_str()),
            (BINANCE_SPOT_TESTNET, BINANCE_FUTURES_TESTNET)
        );
        assert_eq!(s.run_notional_max_raw, 1_000 * 100_000_000);
        let raw = RawLive {
            venues: vec!["okx".into()],
            ..RawLive::default()
        };
        assert!(
            resolve_live(Some(raw))
                .unwrap_err()
                .to_string()
                .contains("live.venues[0]")
        );
        let raw = RawLive {
            venues: vec!["binance".into()],
            recv_window_ms: Some(70_000),
            ..RawLive::default()
        };
        assert!(
            resolve_live(Some(raw))
                .unwrap_err()
                .to_string()
                .contains("live.recv_window_ms")
        );
    }
}
