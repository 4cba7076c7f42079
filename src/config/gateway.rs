//! The `[gateway]` section: paper trading's risk limits, sizing, paper venue model,
//! two-leg execution and exits, as written in TOML ([`RawGateway`]) and resolved into the
//! gateway's own [`GatewayConfig`] (whose `validate` names the offending key, reported
//! here with the `gateway.` prefix).
//!
//! Cold path, start-up only. Money is written in quote units (USD) and converted to the
//! gateway's raw 10^-8 units; per-venue values are tables keyed by venue name. Fees are
//! not set here: the paper venue charges each market's `[[venues]]` fees, the ones the
//! scanner assumed.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{ConfigError, VenueSettings};
use crate::gateway::config::{
    BreakerAction, GatewayConfig, InstrumentMargin, LatencyAction, NS_PER_MS, QUOTE_SCALE,
    SizingMethod, VENUE_COUNT, VenueFees, kind_index, venue_index,
};
use crate::types::bps::Bps;
use crate::types::{InstrumentRegistry, MarketKind, Venue};

/// `[gateway]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    /// Paper-trade the strategies' intents (default true). There is no live order
    /// entry in this build: the gateway only ever fills against the paper venue.
    pub enabled: Option<bool>,
    /// Paper capital, USD (default 20000).
    pub starting_capital: Option<f64>,
    /// Records (orders, fills, leg-outs, trades) buffered for telemetry (default 4096).
    pub records_max: Option<usize>,
    /// How often a portfolio snapshot goes to telemetry, ms (default 1000).
    pub snapshot_interval_ms: Option<u64>,
    /// Risk limits.
    pub risk: Option<RawRisk>,
    /// Position sizing.
    pub sizing: Option<RawSizing>,
    /// The paper venue's model.
    pub paper: Option<RawPaper>,
    /// Two-leg execution.
    pub execution: Option<RawExecution>,
    /// Exits.
    pub exits: Option<RawExits>,
    /// Margin of perp legs.
    pub margin: Option<RawMargin>,
}

/// `[gateway.margin]`: perp legs post initial margin and are liquidated at their
/// isolated-margin liquidation price (see `gateway::margin`); spot legs are fully funded.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMargin {
    /// Leverage of every perp, a whole number from 1 to `risk.max_leverage` (default 1:
    /// a perp leg locks its whole notional).
    pub leverage: Option<u32>,
    /// Maintenance margin rate per venue, bps (defaults binance 40, bybit 50, okx 40,
    /// hyperliquid 125).
    pub maintenance_margin_bps: Option<BTreeMap<String, i64>>,
    /// Per-instrument overrides keyed `venue:perp:SYMBOL`.
    pub instruments: Option<BTreeMap<String, RawInstrumentMargin>>,
}

/// `[gateway.margin.instruments."venue:perp:SYMBOL"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstrumentMargin {
    /// Leverage.
    pub leverage: Option<u32>,
    /// Initial margin rate, bps (default 10000 / leverage).
    pub initial_margin_bps: Option<i64>,
    /// Maintenance margin rate, bps (default the venue's).
    pub maintenance_margin_bps: Option<i64>,
}

/// `[gateway.risk]`; money in USD.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRisk {
    /// Open notional per instrument (default 10000).
    pub position_per_symbol_max: Option<f64>,
    /// Open notional per venue (default 15000).
    pub position_per_venue_max: Option<f64>,
    /// Open notional of all trades, both legs (default 30000).
    pub exposure_total_max: Option<f64>,
    /// Notional of one leg (default 5000).
    pub trade_notional_max: Option<f64>,
    /// Realised loss since 00:00 UTC that halts trading for the day (default 400).
    pub daily_loss_max: Option<f64>,
    /// `flatten` or `keep` open trades when the daily breaker trips (default flatten).
    pub daily_loss_action: Option<String>,
    /// Drawdown of realised equity from its peak that halts trading, bps (default 1000).
    pub drawdown_max_bps: Option<i64>,
    /// Available capital that must remain after an entry (default 1000).
    pub balance_min: Option<f64>,
    /// Entries in any trailing hour (default 60, at most 4096).
    pub trades_per_hour_max: Option<u32>,
    /// Instruments never entered, as `venue:kind:symbol` (`binance:perp:BTCUSDT`).
    pub blacklist: Option<Vec<String>>,
    /// Filled plus working exposure at most this many times the realised equity; also
    /// the highest `margin.leverage` (default 3).
    pub max_leverage: Option<u32>,
    /// Same-direction exposure weighted by the rolling correlation of returns, per
    /// instrument, USD (default 15000).
    pub correlated_exposure_max: Option<f64>,
    /// Bar of the correlation's return series, ms (default 60000).
    pub correlation_bar_ms: Option<u64>,
    /// Returns kept per instrument (default 60, at most 1024).
    pub correlation_window: Option<usize>,
    /// Returns needed before a correlation is trusted; until then every pair is one
    /// bet (default 20).
    pub correlation_min_bars: Option<usize>,
}

/// `[gateway.sizing]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSizing {
    /// `spread_design` (default), `fixed_fraction`, `half_kelly` or `volatility_scaled`.
    pub method: Option<String>,
    /// Equity risked per trade by fixed fraction, bps (default 100).
    pub risk_fraction_bps: Option<i64>,
    /// Stop distance fixed fraction divides by, bps (default 100).
    pub stop_distance_bps: Option<i64>,
    /// Cap of the half-Kelly fraction, bps (default 1000).
    pub kelly_cap_bps: Option<i64>,
    /// Floor of the half-Kelly fraction, bps (default 50).
    pub kelly_floor_bps: Option<i64>,
    /// Trailing trades the Kelly estimate uses (default 100, at most 512).
    pub kelly_window: Option<usize>,
    /// Trades needed before Kelly replaces the floor (default 20).
    pub kelly_min_trades: Option<usize>,
    /// ATR bar length, ms (default 60000).
    pub atr_bar_ms: Option<u64>,
    /// Bars of the current ATR (default 14).
    pub atr_fast_bars: Option<u32>,
    /// Bars of the baseline ATR (default 240).
    pub atr_slow_bars: Option<u32>,
    /// Share of available capital the spread rule may use, bps (default 5000).
    pub spread_capital_share_bps: Option<i64>,
    /// Net spread at which the spread rule uses its full share, bps (default 20).
    pub spread_full_size_bps: Option<i64>,
}

/// `[gateway.paper]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPaper {
    /// One-way order latency per venue, ms (defaults binance 10, bybit 15, okx 20,
    /// hyperliquid 50).
    pub latency_ms: Option<BTreeMap<String, u64>>,
    /// Share of the quantity ahead at entry that must trade before a resting order
    /// fills, bps (default 2000).
    pub queue_share_bps: Option<i64>,
    /// How far from the touch a market order may walk, bps (default 50).
    pub market_band_bps: Option<i64>,
    /// Levels per side of each paper book (default 400).
    pub book_depth: Option<usize>,
    /// Orders working at once (default 256).
    pub orders_max: Option<usize>,
}

/// `[gateway.execution]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExecution {
    /// How long a leg may work before it is cancelled or hedged, ms (default 500).
    pub leg_timeout_ms: Option<u64>,
    /// Difficulty rank per venue; the higher rank's leg goes first (defaults binance 1,
    /// bybit 2, okx 2, hyperliquid 3).
    pub venue_rank: Option<BTreeMap<String, u8>>,
    /// Venues slower than this block or downgrade a trade, ms (default 100).
    pub latency_limit_ms: Option<u64>,
    /// `block` (default) or `downgrade`.
    pub latency_action: Option<String>,
    /// Size kept by a downgrade, bps (default 5000).
    pub latency_downgrade_bps: Option<i64>,
    /// Trades open or executing at once (default 32).
    pub trades_max: Option<usize>,
}

/// `[gateway.exits]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExits {
    /// Funding delta per 8 h under which a perp/perp trade has converged, hundredths
    /// of a bp (default 50 = 0.005%).
    pub funding_converged_centi_bps: Option<i64>,
    /// Share of the projected profit that closes a trade, bps (default 9000).
    pub profit_target_bps: Option<i64>,
    /// Adverse widening of the entry spread that exits, bps (default 50).
    pub spread_exit_bps: Option<i64>,
    /// Adverse widening that stops out at market, bps (default 100).
    pub spread_stop_bps: Option<i64>,
    /// How far past the touch an exit IOC may fill, bps (default 10).
    pub limit_slippage_bps: Option<i64>,
    /// Hours per funding interval per venue (defaults 8, 8, 8, 1 for hyperliquid).
    pub funding_interval_h: Option<BTreeMap<String, u32>>,
    /// Longest an open trade is held before it closes (`TIMEOUT`), ms; 0: no limit
    /// (default).
    pub max_hold_ms: Option<u64>,
}

/// The resolved `[gateway]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Everything the gateway itself is built with.
    pub config: GatewayConfig,
    /// How often a portfolio snapshot goes to telemetry.
    pub snapshot_interval: Duration,
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// USD as raw 10^-8 quote units; refuses what is not a finite number of at most 10^12.
fn usd_raw(key: &str, value: f64) -> Result<i128, ConfigError> {
    if !value.is_finite() || value.abs() > 1e12 {
        return Err(invalid(
            key,
            format!("{value} is not an amount of USD up to 10^12"),
        ));
    }
    // Checked just above: at most 10^20 raw units, well inside i128.
    #[allow(clippy::cast_possible_truncation)]
    Ok((value * QUOTE_SCALE as f64).round() as i128)
}

/// A per-venue table over `defaults`: every key must name a venue.
fn per_venue<T: Copy>(
    key: &str,
    table: Option<&BTreeMap<String, T>>,
    mut defaults: [T; VENUE_COUNT],
) -> Result<[T; VENUE_COUNT], ConfigError> {
    for (name, &value) in table.into_iter().flatten() {
        let venue = Venue::from_name(name).ok_or_else(|| {
            invalid(
                format!("{key}.{name}"),
                "unknown venue (known: binance, bybit, okx, hyperliquid)",
            )
        })?;
        defaults[venue_index(venue)] = value;
    }
    Ok(defaults)
}

/// Centi-bps of a fee in bps (`0.045%` = 4.5 bps = 450).
fn centi_bps(fee: Bps) -> i64 {
    (fee * Bps::from_num(100)).round().to_num::<i64>()
}

/// Resolves `[gateway]`; `None` when paper trading is disabled.
pub fn resolve_gateway(
    raw: Option<RawGateway>,
    registry: &InstrumentRegistry,
    venues: &[VenueSettings],
) -> Result<Option<GatewaySettings>, ConfigError> {
    let raw = raw.unwrap_or_default();
    if raw.enabled == Some(false) {
        return Ok(None);
    }
    let mut cfg = GatewayConfig::default();
    if let Some(capital) = raw.starting_capital {
        cfg.starting_capital_raw = usd_raw("gateway.starting_capital", capital)?;
    }
    cfg.records_max = raw.records_max.unwrap_or(cfg.records_max);
    resolve_risk(raw.risk.unwrap_or_default(), registry, &mut cfg)?;
    resolve_sizing(raw.sizing.unwrap_or_default(), &mut cfg)?;
    resolve_paper(raw.paper.unwrap_or_default(), venues, &mut cfg)?;
    resolve_execution(raw.execution.unwrap_or_default(), &mut cfg)?;
    resolve_exits(raw.exits.unwrap_or_default(), &mut cfg)?;
    resolve_margin(raw.margin.unwrap_or_default(), registry, &mut cfg)?;
    cfg.validate(registry.len())
        .map_err(|e| invalid(format!("gateway.{}", e.key()), e.to_string()))?;
    let snapshot_ms = raw.snapshot_interval_ms.unwrap_or(1_000);
    if snapshot_ms == 0 {
        return Err(invalid(
            "gateway.snapshot_interval_ms",
            "must be at least 1",
        ));
    }
    Ok(Some(GatewaySettings {
        config: cfg,
        snapshot_interval: Duration::from_millis(snapshot_ms),
    }))
}

fn resolve_risk(
    raw: RawRisk,
    registry: &InstrumentRegistry,
    cfg: &mut GatewayConfig,
) -> Result<(), ConfigError> {
    let r = &mut cfg.risk;
    let money = [
        (
            "position_per_symbol_max",
            raw.position_per_symbol_max,
            &mut r.position_per_symbol_max_raw,
        ),
        (
            "position_per_venue_max",
            raw.position_per_venue_max,
            &mut r.position_per_venue_max_raw,
        ),
        (
            "exposure_total_max",
            raw.exposure_total_max,
            &mut r.exposure_total_max_raw,
        ),
        (
            "trade_notional_max",
            raw.trade_notional_max,
            &mut r.trade_notional_max_raw,
        ),
        (
            "daily_loss_max",
            raw.daily_loss_max,
            &mut r.daily_loss_max_raw,
        ),
        ("balance_min", raw.balance_min, &mut r.balance_min_raw),
        (
            "correlated_exposure_max",
            raw.correlated_exposure_max,
            &mut r.correlated_exposure_max_raw,
        ),
    ];
    for (name, value, slot) in money {
        if let Some(value) = value {
            *slot = usd_raw(&format!("gateway.risk.{name}"), value)?;
        }
    }
    r.daily_loss_action = match raw.daily_loss_action.as_deref() {
        None | Some("flatten") => BreakerAction::Flatten,
        Some("keep") => BreakerAction::Keep,
        Some(other) => {
            return Err(invalid(
                "gateway.risk.daily_loss_action",
                format!("`{other}` is not `flatten` or `keep`"),
            ));
        }
    };
    r.drawdown_max_bps = raw.drawdown_max_bps.unwrap_or(r.drawdown_max_bps);
    r.trades_per_hour_max = raw.trades_per_hour_max.unwrap_or(r.trades_per_hour_max);
    r.max_leverage = raw.max_leverage.unwrap_or(r.max_leverage);
    r.correlation_bar_ms = raw.correlation_bar_ms.unwrap_or(r.correlation_bar_ms);
    r.correlation_window = raw.correlation_window.unwrap_or(r.correlation_window);
    r.correlation_min_bars = raw.correlation_min_bars.unwrap_or(r.correlation_min_bars);
    for (i, entry) in raw.blacklist.iter().flatten().enumerate() {
        let key = format!("gateway.risk.blacklist[{i}]");
        r.blacklist.push(instrument(&key, entry, registry)?);
    }
    Ok(())
}

/// The instrument `venue:kind:symbol` names; the error names `key`.
fn instrument(
    key: &str,
    entry: &str,
    registry: &InstrumentRegistry,
) -> Result<crate::types::InstrumentId, ConfigError> {
    let mut parts = entry.splitn(3, ':');
    let (Some(venue), Some(kind), Some(symbol)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(
            key,
            format!("`{entry}` is not `venue:kind:symbol`"),
        ));
    };
    let venue =
        Venue::from_name(venue).ok_or_else(|| invalid(key, format!("unknown venue `{venue}`")))?;
    let kind = match kind {
        "spot" => MarketKind::Spot,
        "perp" => MarketKind::Perp,
        other => return Err(invalid(key, format!("`{other}` is not `spot` or `perp`"))),
    };
    registry
        .find(venue, kind, symbol)
        .ok_or_else(|| invalid(key, format!("`{entry}` is not a configured instrument")))
}

fn resolve_margin(
    raw: RawMargin,
    registry: &InstrumentRegistry,
    cfg: &mut GatewayConfig,
) -> Result<(), ConfigError> {
    let m = &mut cfg.margin;
    m.leverage = raw.leverage.unwrap_or(m.leverage);
    m.maintenance_bps = per_venue(
        "gateway.margin.maintenance_margin_bps",
        raw.maintenance_margin_bps.as_ref(),
        m.maintenance_bps,
    )?;
    for (name, o) in raw.instruments.into_iter().flatten() {
        let key = format!("gateway.margin.instruments.{name}");
        let id = instrument(&key, &name, registry)?;
        if registry.get(id).kind != MarketKind::Perp {
            return Err(invalid(
                key,
                "only perps are margined (spot is fully funded)",
            ));
        }
        m.instruments.push((
            id,
            InstrumentMargin {
                leverage: o.leverage,
                initial_bps: o.initial_margin_bps,
                maintenance_bps: o.maintenance_margin_bps,
            },
        ));
    }
    Ok(())
}

fn resolve_sizing(raw: RawSizing, cfg: &mut GatewayConfig) -> Result<(), ConfigError> {
    let s = &mut cfg.sizing;
    s.method = match raw.method.as_deref() {
        None | Some("spread_design") => SizingMethod::SpreadDesign,
        Some("fixed_fraction") => SizingMethod::FixedFraction,
        Some("half_kelly") => SizingMethod::HalfKelly,
        Some("volatility_scaled") => SizingMethod::VolatilityScaled,
        Some(other) => {
            return Err(invalid(
                "gateway.sizing.method",
                format!(
                    "`{other}` is not one of spread_design, fixed_fraction, half_kelly, volatility_scaled"
                ),
            ));
        }
    };
    s.risk_fraction_bps = raw.risk_fraction_bps.unwrap_or(s.risk_fraction_bps);
    s.stop_distance_bps = raw.stop_distance_bps.unwrap_or(s.stop_distance_bps);
    s.kelly_cap_bps = raw.kelly_cap_bps.unwrap_or(s.kelly_cap_bps);
    s.kelly_floor_bps = raw.kelly_floor_bps.unwrap_or(s.kelly_floor_bps);
    s.kelly_window = raw.kelly_window.unwrap_or(s.kelly_window);
    s.kelly_min_trades = raw.kelly_min_trades.unwrap_or(s.kelly_min_trades);
    s.atr_bar_ms = raw.atr_bar_ms.unwrap_or(s.atr_bar_ms);
    s.atr_fast_bars = raw.atr_fast_bars.unwrap_or(s.atr_fast_bars);
    s.atr_slow_bars = raw.atr_slow_bars.unwrap_or(s.atr_slow_bars);
    s.spread_capital_share_bps = raw
        .spread_capital_share_bps
        .unwrap_or(s.spread_capital_share_bps);
    s.spread_full_size_bps = raw.spread_full_size_bps.unwrap_or(s.spread_full_size_bps);
    Ok(())
}

fn resolve_paper(
    raw: RawPaper,
    venues: &[VenueSettings],
    cfg: &mut GatewayConfig,
) -> Result<(), ConfigError> {
    let p = &mut cfg.paper;
    let latency_ms = per_venue(
        "gateway.paper.latency_ms",
        raw.latency_ms.as_ref(),
        p.latency_ns.map(|ns| ns / NS_PER_MS),
    )?;
    p.latency_ns = latency_ms.map(|ms| ms.saturating_mul(NS_PER_MS));
    p.queue_share_bps = raw.queue_share_bps.unwrap_or(p.queue_share_bps);
    p.market_band_bps = raw.market_band_bps.unwrap_or(p.market_band_bps);
    p.book_depth = raw.book_depth.unwrap_or(p.book_depth);
    p.orders_max = raw.orders_max.unwrap_or(p.orders_max);
    for v in venues {
        let fees = &mut p.fees[venue_index(v.venue)];
        for (kind, pair) in [
            (MarketKind::Spot, v.spot_fees),
            (MarketKind::Perp, v.perp_fees),
        ] {
            fees[kind_index(kind)] = VenueFees {
                maker_centi_bps: centi_bps(pair.maker),
                taker_centi_bps: centi_bps(pair.taker),
            };
        }
    }
    Ok(())
}

fn resolve_execution(raw: RawExecution, cfg: &mut GatewayConfig) -> Result<(), ConfigError> {
    let e = &mut cfg.execution;
    if let Some(ms) = raw.leg_timeout_ms {
        e.leg_timeout_ns = ms.saturating_mul(NS_PER_MS);
    }
    e.venue_rank = per_venue(
        "gateway.execution.venue_rank",
        raw.venue_rank.as_ref(),
        e.venue_rank,
    )?;
    if let Some(ms) = raw.latency_limit_ms {
        e.latency_limit_ns = ms.saturating_mul(NS_PER_MS);
    }
    e.latency_action = match raw.latency_action.as_deref() {
        None | Some("block") => LatencyAction::Block,
        Some("downgrade") => LatencyAction::Downgrade,
        Some(other) => {
            return Err(invalid(
                "gateway.execution.latency_action",
                format!("`{other}` is not `block` or `downgrade`"),
            ));
        }
    };
    e.latency_downgrade_bps = raw.latency_downgrade_bps.unwrap_or(e.latency_downgrade_bps);
    e.trades_max = raw.trades_max.unwrap_or(e.trades_max);
    Ok(())
}

fn resolve_exits(raw: RawExits, cfg: &mut GatewayConfig) -> Result<(), ConfigError> {
    let x = &mut cfg.exits;
    x.funding_converged_centi_bps = raw
        .funding_converged_centi_bps
        .unwrap_or(x.funding_converged_centi_bps);
    x.profit_target_bps = raw.profit_target_bps.unwrap_or(x.profit_target_bps);
    x.spread_exit_bps = raw.spread_exit_bps.unwrap_or(x.spread_exit_bps);
    x.spread_stop_bps = raw.spread_stop_bps.unwrap_or(x.spread_stop_bps);
    x.limit_slippage_bps = raw.limit_slippage_bps.unwrap_or(x.limit_slippage_bps);
    if let Some(ms) = raw.max_hold_ms {
        x.max_hold_ns = ms.saturating_mul(NS_PER_MS);
    }
    x.funding_interval_h = per_venue(
        "gateway.exits.funding_interval_h",
        raw.funding_interval_h.as_ref(),
        x.funding_interval_h,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::gateway::config::usd;

    fn resolve(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("t.toml"), 2)
    }

    fn err(text: &str) -> String {
        resolve(text).unwrap_err().to_string()
    }

    #[test]
    fn test_gateway_is_on_by_default_with_the_issue_defaults() {
        let c = resolve("").unwrap();
        let g = c.gateway.unwrap();
        assert_eq!(g.config.starting_capital_raw, usd(20_000));
        assert_eq!(g.snapshot_interval, Duration::from_secs(1));
        assert_eq!(g.config.execution.leg_timeout_ns, 500 * NS_PER_MS);
        // Binance's default spot fees (10/10 bps) and perp fees (2/5 bps) reach the
        // paper venue.
        let binance = g.config.paper.fees[venue_index(Venue::Binance)];
        assert_eq!(binance[kind_index(MarketKind::Spot)].taker_centi_bps, 1_000);
        assert_eq!(binance[kind_index(MarketKind::Perp)].maker_centi_bps, 200);
        assert_eq!(binance[kind_index(MarketKind::Perp)].taker_centi_bps, 500);
        assert!(
            resolve("[gateway]\nenabled = false\n")
                .unwrap()
                .gateway
                .is_none()
        );
    }

    #[test]
    fn test_gateway_section_resolves_every_part() {
        let c = resolve(
            r#"
            [[venues]]
            name = "binance"
            perp_taker_fee_bps = 4.5
            [gateway]
            starting_capital = 50000
            snapshot_interval_ms = 250
            [gateway.risk]
            daily_loss_action = "keep"
            trade_notional_max = 2500.5
            blacklist = ["binance:perp:BTCUSDT"]
            [gateway.sizing]
            method = "half_kelly"
            kelly_cap_bps = 500
            [gateway.paper]
            queue_share_bps = 3000
            [gateway.paper.latency_ms]
            binance = 3
            [gateway.execution]
            latency_action = "downgrade"
            [gateway.execution.venue_rank]
            okx = 5
            [gateway.exits]
            profit_target_bps = 8000
            max_hold_ms = 600000
            [gateway.exits.funding_interval_h]
            bybit = 4
            [gateway.margin]
            leverage = 2
            [gateway.margin.maintenance_margin_bps]
            okx = 60
            [gateway.margin.instruments."binance:perp:BTCUSDT"]
            leverage = 3
            maintenance_margin_bps = 45
            "#,
        )
        .unwrap();
        let perp = c
            .registry
            .find(Venue::Binance, MarketKind::Perp, "BTCUSDT")
            .unwrap();
        let g = c.gateway.unwrap();
        let cfg = &g.config;
        assert_eq!(cfg.starting_capital_raw, usd(50_000));
        assert_eq!(g.snapshot_interval, Duration::from_millis(250));
        assert_eq!(cfg.risk.daily_loss_action, BreakerAction::Keep);
        assert_eq!(cfg.risk.trade_notional_max_raw, 250_050_000_000);
        assert_eq!(cfg.risk.blacklist, [perp]);
        assert_eq!(cfg.sizing.method, SizingMethod::HalfKelly);
        assert_eq!(cfg.sizing.kelly_cap_bps, 500);
        assert_eq!(cfg.paper.queue_share_bps, 3_000);
        assert_eq!(
            cfg.paper.latency_ns[venue_index(Venue::Binance)],
            3 * NS_PER_MS
        );
        assert_eq!(
            cfg.paper.latency_ns[venue_index(Venue::Okx)],
            20 * NS_PER_MS
        );
        let fees = cfg.paper.fees[venue_index(Venue::Binance)][kind_index(MarketKind::Perp)];
        assert_eq!(fees.taker_centi_bps, 450);
        assert_eq!(cfg.execution.latency_action, LatencyAction::Downgrade);
        assert_eq!(cfg.execution.venue_rank, [1, 2, 5, 3]);
        assert_eq!(cfg.exits.profit_target_bps, 8_000);
        assert_eq!(cfg.exits.funding_interval_h, [8, 4, 8, 1]);
        assert_eq!(cfg.exits.max_hold_ns, 600_000 * NS_PER_MS);
        assert_eq!(cfg.margin.leverage, 2);
        assert_eq!(cfg.margin.maintenance_bps, [40, 50, 60, 125]);
        assert_eq!(
            cfg.margin.instruments,
            [(
                perp,
                InstrumentMargin {
                    leverage: Some(3),
                    initial_bps: None,
                    maintenance_bps: Some(45),
                }
            )]
        );
    }

    #[test]
    fn test_gateway_errors_name_the_key() {
        let cases = [
            (
                "[gateway.risk]\ndaily_loss_action = \"pause\"\n",
                "gateway.risk.daily_loss_action",
            ),
            (
                "[gateway.risk]\nblacklist = [\"binance:perp\"]\n",
                "gateway.risk.blacklist[0]",
            ),
            (
                "[gateway.risk]\nblacklist = [\"okx:perp:BTC-USDT-SWAP\"]\n",
                "gateway.risk.blacklist[0]",
            ),
            (
                "[gateway.risk]\nbalance_min = -5\n",
                "gateway.risk.balance_min",
            ),
            (
                "[gateway]\nstarting_capital = inf\n",
                "gateway.starting_capital",
            ),
            (
                "[gateway.sizing]\nmethod = \"martingale\"\n",
                "gateway.sizing.method",
            ),
            (
                "[gateway.sizing]\nkelly_window = 100000\n",
                "gateway.sizing.kelly_window",
            ),
            (
                "[gateway.paper.latency_ms]\nkraken = 5\n",
                "gateway.paper.latency_ms.kraken",
            ),
            (
                "[gateway.execution]\nlatency_action = \"pray\"\n",
                "gateway.execution.latency_action",
            ),
            (
                "[gateway]\nsnapshot_interval_ms = 0\n",
                "gateway.snapshot_interval_ms",
            ),
            ("[gateway]\nlive = true\n", "unknown field `live`"),
            (
                "[gateway.margin]\nleverage = 10\n",
                "gateway.margin.leverage",
            ),
            (
                "[gateway.margin.instruments.\"binance:spot:BTCUSDT\"]\nleverage = 2\n",
                "gateway.margin.instruments.binance:spot:BTCUSDT",
            ),
            (
                "[gateway.risk]\ncorrelation_window = 1\n",
                "gateway.risk.correlation_window",
            ),
            (
                "[[placement]]\nstages = [\"feed\", \"book\", \"edge\", \"telemetry\"]\n",
                "stage `gateway` is not placed",
            ),
        ];
        for (text, key) in cases {
            let e = err(text);
            assert!(e.contains(key), "{text}: {e}");
        }
        let off = "[gateway]\nenabled = false\n[[placement]]\nstages = [\"feed\", \"book\", \"edge\", \"telemetry\"]\n";
        assert!(resolve(off).unwrap().gateway.is_none());
    }
}
