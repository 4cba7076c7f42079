//! Gateway configuration: risk limits, sizing, the paper venue's latency and fee model,
//! two-leg execution and exits, and the starting capital, as plain structs with the
//! defaults of issue 7.
//!
//! Cold path only: built and validated once at start-up ([`GatewayConfig::validate`]
//! names the offending key), then copied into the gateway's parts. Money is raw 10^-8
//! quote units (`i128`, the unit of `Price::notional_raw`); ratios are integer basis
//! points; times are nanoseconds of the gateway's simulated or converted clock.

use crate::types::{InstrumentId, MarketKind, Venue};

/// Raw 10^-8 quote units per whole quote unit (USD).
pub const QUOTE_SCALE: i128 = 100_000_000;
/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;
/// Nanoseconds per hour.
pub const NS_PER_HOUR: u64 = 3_600 * 1_000 * NS_PER_MS;
/// Nanoseconds per (UTC) day: the daily loss breaker resets at multiples of it.
pub const NS_PER_DAY: u64 = 24 * NS_PER_HOUR;
/// Basis points in one.
pub const BPS_ONE: i64 = 10_000;
/// Venues the per-venue arrays cover, indexed like [`Venue::ALL`].
pub const VENUE_COUNT: usize = Venue::ALL.len();
/// Capacity of the trades-per-hour timestamp ring: `risk.trades_per_hour_max` may not
/// exceed it (it is allocated once, so the limit is a compile-time size).
pub const TRADES_PER_HOUR_CAP: usize = 4_096;
/// Trailing trades the half-Kelly estimate looks at, at most.
pub const KELLY_WINDOW_CAP: usize = 512;

/// Whole quote units as raw 10^-8 units.
pub const fn usd(units: i64) -> i128 {
    units as i128 * QUOTE_SCALE
}

/// The array index of a venue in per-venue arrays.
pub const fn venue_index(venue: Venue) -> usize {
    match venue {
        Venue::Binance => 0,
        Venue::Bybit => 1,
        Venue::Okx => 2,
        Venue::Hyperliquid => 3,
    }
}

/// The array index of a market kind in per-kind arrays (spot 0, perp 1).
pub const fn kind_index(kind: MarketKind) -> usize {
    match kind {
        MarketKind::Spot => 0,
        MarketKind::Perp => 1,
    }
}

/// What the daily loss breaker does with open positions when it trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerAction {
    /// Close every open trade at market.
    Flatten,
    /// Keep open trades (their exits still run); only new entries stop.
    Keep,
}

/// Hard risk limits, checked before every entry order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskConfig {
    /// `risk.position_per_symbol_max`: open notional per instrument (default 10,000 USD).
    pub position_per_symbol_max_raw: i128,
    /// `risk.position_per_venue_max`: open notional per venue (default 15,000 USD).
    pub position_per_venue_max_raw: i128,
    /// `risk.exposure_total_max`: open notional over all trades (default 30,000 USD:
    /// both legs of a trade count).
    pub exposure_total_max_raw: i128,
    /// `risk.trade_notional_max`: notional of one leg (default 5,000 USD).
    pub trade_notional_max_raw: i128,
    /// `risk.daily_loss_max`: realised loss since 00:00 UTC that halts trading for the
    /// day (default 400 USD, 2% of the default capital).
    pub daily_loss_max_raw: i128,
    /// `risk.daily_loss_action`: flatten or keep open trades when the breaker trips
    /// (default flatten).
    pub daily_loss_action: BreakerAction,
    /// `risk.drawdown_max_bps`: drawdown of realised equity from its peak that halts
    /// trading until re-armed (default 1,000 bps = 10%).
    pub drawdown_max_bps: i64,
    /// `risk.balance_min`: available capital that must remain after an entry (default
    /// 1,000 USD).
    pub balance_min_raw: i128,
    /// `risk.trades_per_hour_max`: entries accepted in any trailing hour (default 60, at
    /// most [`TRADES_PER_HOUR_CAP`]).
    pub trades_per_hour_max: u32,
    /// `risk.blacklist`: instruments never entered (resolved from symbols; default
    /// none). More can be added at run time through the risk engine.
    pub blacklist: Vec<InstrumentId>,
    /// `risk.max_leverage`: filled plus working exposure at most this many times the
    /// realised equity, and no instrument's `margin.leverage` above it (default 3).
    pub max_leverage: u32,
    /// `risk.correlated_exposure_max`: same-direction exposure weighted by the rolling
    /// correlation of returns, per instrument (see [`crate::gateway::correlation`];
    /// default 15,000 USD).
    pub correlated_exposure_max_raw: i128,
    /// `risk.correlation_bar_ms`: bar of the return series (default 60,000 ms).
    pub correlation_bar_ms: u64,
    /// `risk.correlation_window`: returns kept per instrument (default 60, at most
    /// [`crate::gateway::correlation::CORRELATION_WINDOW_CAP`]).
    pub correlation_window: usize,
    /// `risk.correlation_min_bars`: returns needed before a correlation is trusted;
    /// until then every pair counts as one bet (default 20).
    pub correlation_min_bars: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            position_per_symbol_max_raw: usd(10_000),
            position_per_venue_max_raw: usd(15_000),
            exposure_total_max_raw: usd(30_000),
            trade_notional_max_raw: usd(5_000),
            daily_loss_max_raw: usd(400),
            daily_loss_action: BreakerAction::Flatten,
            drawdown_max_bps: 1_000,
            balance_min_raw: usd(1_000),
            trades_per_hour_max: 60,
            blacklist: Vec::new(),
            max_leverage: 3,
            correlated_exposure_max_raw: usd(15_000),
            correlation_bar_ms: 60_000,
            correlation_window: 60,
            correlation_min_bars: 20,
        }
    }
}

/// How the size of an entry is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizingMethod {
    /// Risk amount / stop distance, scaled by the confidence bucket.
    FixedFraction,
    /// Fixed fraction of equity from the capped half-Kelly of the trailing trades.
    HalfKelly,
    /// Fixed fraction scaled by baseline ATR / current ATR.
    VolatilityScaled,
    /// From the net spread, at most a share of available capital, at least the venue
    /// minimum.
    SpreadDesign,
}

/// Position sizing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizingConfig {
    /// `sizing.method` (default spread design, the rule for spread arbitrage).
    pub method: SizingMethod,
    /// `sizing.risk_fraction_bps`: equity risked per trade by fixed fraction (default
    /// 100 bps = 1%).
    pub risk_fraction_bps: i64,
    /// `sizing.stop_distance_bps`: the stop distance fixed fraction divides by (default
    /// 100 bps, the exits' stop).
    pub stop_distance_bps: i64,
    /// `sizing.kelly_cap_bps`: cap of the half-Kelly fraction (default 1,000 bps = 10%).
    pub kelly_cap_bps: i64,
    /// `sizing.kelly_floor_bps`: floor of the half-Kelly fraction, also used until
    /// `kelly_min_trades` trades are known (default 50 bps = 0.5%).
    pub kelly_floor_bps: i64,
    /// `sizing.kelly_window`: trailing trades the estimate uses (default 100, at most
    /// [`KELLY_WINDOW_CAP`]).
    pub kelly_window: usize,
    /// `sizing.kelly_min_trades`: trades needed before Kelly replaces the floor
    /// (default 20).
    pub kelly_min_trades: usize,
    /// `sizing.atr_bar_ms`: bar length of the ATR estimate (default 60,000 ms).
    pub atr_bar_ms: u64,
    /// `sizing.atr_fast_bars`: bars of the current ATR average (default 14).
    pub atr_fast_bars: u32,
    /// `sizing.atr_slow_bars`: bars of the baseline ATR average (default 240).
    pub atr_slow_bars: u32,
    /// `sizing.spread_capital_share_bps`: share of available capital the spread rule
    /// may use (default 5,000 bps = 50%).
    pub spread_capital_share_bps: i64,
    /// `sizing.spread_full_size_bps`: net spread at which the spread rule uses its full
    /// share; smaller spreads size proportionally (default 20 bps).
    pub spread_full_size_bps: i64,
}

impl Default for SizingConfig {
    fn default() -> Self {
        Self {
            method: SizingMethod::SpreadDesign,
            risk_fraction_bps: 100,
            stop_distance_bps: 100,
            kelly_cap_bps: 1_000,
            kelly_floor_bps: 50,
            kelly_window: 100,
            kelly_min_trades: 20,
            atr_bar_ms: 60_000,
            atr_fast_bars: 14,
            atr_slow_bars: 240,
            spread_capital_share_bps: 5_000,
            spread_full_size_bps: 20,
        }
    }
}

/// Fees of one venue, in hundredths of a basis point (so 0.02% is 200; a negative
/// maker fee is a rebate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueFees {
    /// Maker fee.
    pub maker_centi_bps: i64,
    /// Taker fee.
    pub taker_centi_bps: i64,
}

/// The paper venue's model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperConfig {
    /// `paper.latency_ms.<venue>`: one-way order latency per venue, in [`Venue::ALL`]
    /// order (defaults 10, 15, 20, 50 ms).
    pub latency_ns: [u64; VENUE_COUNT],
    /// Maker/taker fees per venue and market kind (`[venue][kind_index]`). The
    /// pipeline takes them from `[[venues]] spot_fees / perp_fees`, so the paper venue
    /// charges what the scanner assumed; the defaults here (both kinds: Binance 2/5 bps,
    /// Bybit 2/5.5, OKX 2/5, Hyperliquid 1.5/4.5) serve tests and benches.
    pub fees: [[VenueFees; 2]; VENUE_COUNT],
    /// `paper.queue_share_bps`: share of the quantity ahead at entry that must trade at
    /// our price before a resting order fills (default 2,000 bps = 20%).
    pub queue_share_bps: i64,
    /// `paper.market_band_bps`: a market order walks at most this far from the touch
    /// at arrival, like a venue's price band; the rest is unfilled (default 50 bps).
    pub market_band_bps: i64,
    /// `paper.book_depth`: levels per side of each paper book (default 400).
    pub book_depth: usize,
    /// `paper.orders_max`: orders in flight or resting at once (default 256).
    pub orders_max: usize,
}

impl Default for PaperConfig {
    fn default() -> Self {
        let fees = |maker, taker| VenueFees {
            maker_centi_bps: maker,
            taker_centi_bps: taker,
        };
        Self {
            latency_ns: [
                10 * NS_PER_MS,
                15 * NS_PER_MS,
                20 * NS_PER_MS,
                50 * NS_PER_MS,
            ],
            fees: [
                [fees(200, 500); 2],
                [fees(200, 550); 2],
                [fees(200, 500); 2],
                [fees(150, 450); 2],
            ],
            queue_share_bps: 2_000,
            market_band_bps: 50,
            book_depth: 400,
            orders_max: 256,
        }
    }
}

/// What happens to a trade touching a venue slower than the latency limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyAction {
    /// Refuse the intent.
    Block,
    /// Trade at `latency_downgrade_bps` of the size, both legs IOC (nothing rests on a
    /// slow venue).
    Downgrade,
}

/// Two-leg execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionConfig {
    /// `execution.leg_timeout_ms`: how long a leg may work before it is cancelled (the
    /// hard leg) or hedged at market (the easy leg) (default 500 ms).
    pub leg_timeout_ns: u64,
    /// `execution.venue_rank.<venue>`: difficulty rank per venue; the leg on the higher
    /// rank goes first (defaults: Binance 1, Bybit 2, OKX 2, Hyperliquid 3).
    pub venue_rank: [u8; VENUE_COUNT],
    /// `execution.latency_limit_ms`: venues slower than this block or downgrade a trade
    /// (default 100 ms).
    pub latency_limit_ns: u64,
    /// `execution.latency_action` (default block).
    pub latency_action: LatencyAction,
    /// `execution.latency_downgrade_bps`: size kept by a downgrade (default 5,000 = 50%).
    pub latency_downgrade_bps: i64,
    /// `execution.trades_max`: trades open or executing at once (default 32).
    pub trades_max: usize,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        Self {
            leg_timeout_ns: 500 * NS_PER_MS,
            venue_rank: [1, 2, 2, 3],
            latency_limit_ns: 100 * NS_PER_MS,
            latency_action: LatencyAction::Block,
            latency_downgrade_bps: 5_000,
            trades_max: 32,
        }
    }
}

/// When an open trade is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitConfig {
    /// `exits.funding_converged_centi_bps`: both legs perps and their funding delta per
    /// 8 h below this (default 50 = 0.005%).
    pub funding_converged_centi_bps: i64,
    /// `exits.profit_target_bps`: share of the projected profit that closes the trade
    /// (default 9,000 = 90%).
    pub profit_target_bps: i64,
    /// `exits.spread_exit_bps`: adverse widening of the entry spread that exits
    /// (default 50 bps).
    pub spread_exit_bps: i64,
    /// `exits.spread_stop_bps`: adverse widening that stops out at market (default 100).
    pub spread_stop_bps: i64,
    /// `exits.limit_slippage_bps`: how far past the touch an exit IOC may fill (default
    /// 10 bps).
    pub limit_slippage_bps: i64,
    /// `exits.funding_interval_h.<venue>`: hours per funding interval, to normalise
    /// rates to 8 h (defaults 8, 8, 8, 1).
    pub funding_interval_h: [u32; VENUE_COUNT],
    /// `exits.max_hold_ms` in ns: an open trade held this long since its first entry
    /// fill closes (exit reason `TIMEOUT`, by IOC like the other exits); 0 holds
    /// without limit (default).
    pub max_hold_ns: u64,
}

impl Default for ExitConfig {
    fn default() -> Self {
        Self {
            funding_converged_centi_bps: 50,
            profit_target_bps: 9_000,
            spread_exit_bps: 50,
            spread_stop_bps: 100,
            limit_slippage_bps: 10,
            funding_interval_h: [8, 8, 8, 1],
            max_hold_ns: 0,
        }
    }
}

/// Margin of one instrument, where it differs from the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstrumentMargin {
    /// Leverage.
    pub leverage: Option<u32>,
    /// Initial margin rate, bps of notional (default `10^4 / leverage`).
    pub initial_bps: Option<i64>,
    /// Maintenance margin rate, bps of notional.
    pub maintenance_bps: Option<i64>,
}

/// Margin of perp legs (see [`crate::gateway::margin`]); spot legs are fully funded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginConfig {
    /// `margin.leverage`: leverage of every perp (default 1: fully funded).
    pub leverage: u32,
    /// `margin.maintenance_margin_bps.<venue>`: maintenance margin rate per venue, bps
    /// (defaults Binance 40, Bybit 50, OKX 40, Hyperliquid 125: each venue's first BTC
    /// tier).
    pub maintenance_bps: [i64; VENUE_COUNT],
    /// `margin.instruments."venue:perp:SYMBOL"`: per-instrument overrides.
    pub instruments: Vec<(InstrumentId, InstrumentMargin)>,
}

impl Default for MarginConfig {
    fn default() -> Self {
        Self {
            leverage: 1,
            maintenance_bps: [40, 50, 40, 125],
            instruments: Vec::new(),
        }
    }
}

/// Everything the gateway is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// `gateway.starting_capital`: paper capital (default 20,000 USD).
    pub starting_capital_raw: i128,
    /// Risk limits.
    pub risk: RiskConfig,
    /// Sizing.
    pub sizing: SizingConfig,
    /// Paper venue.
    pub paper: PaperConfig,
    /// Two-leg execution.
    pub execution: ExecutionConfig,
    /// Exits.
    pub exits: ExitConfig,
    /// Margin.
    pub margin: MarginConfig,
    /// `gateway.records_max`: records (orders, fills, leg-outs, trades) buffered for
    /// telemetry; beyond it they are dropped and counted (default 4,096).
    pub records_max: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            starting_capital_raw: usd(20_000),
            risk: RiskConfig::default(),
            sizing: SizingConfig::default(),
            paper: PaperConfig::default(),
            execution: ExecutionConfig::default(),
            exits: ExitConfig::default(),
            margin: MarginConfig::default(),
            records_max: 4_096,
        }
    }
}

/// A configuration value the gateway cannot run with; `key` is the TOML key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayConfigError {
    /// The value must be greater than zero.
    #[error("{key}: must be greater than zero")]
    NotPositive {
        /// Offending key.
        key: &'static str,
    },
    /// The value is outside its allowed range.
    #[error("{key}: {value} is outside {min}..={max}")]
    OutOfRange {
        /// Offending key.
        key: &'static str,
        /// Value given.
        value: i128,
        /// Smallest allowed.
        min: i128,
        /// Largest allowed.
        max: i128,
    },
    /// Two values contradict each other.
    #[error("{key}: {reason}")]
    Inconsistent {
        /// Offending key.
        key: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl GatewayConfigError {
    /// The offending key, relative to `[gateway]` (`risk.balance_min`).
    pub fn key(&self) -> &'static str {
        match self {
            GatewayConfigError::NotPositive { key }
            | GatewayConfigError::OutOfRange { key, .. }
            | GatewayConfigError::Inconsistent { key, .. } => key,
        }
    }
}

fn positive(key: &'static str, value: i128) -> Result<(), GatewayConfigError> {
    if value > 0 {
        Ok(())
    } else {
        Err(GatewayConfigError::NotPositive { key })
    }
}

fn within(key: &'static str, value: i128, min: i128, max: i128) -> Result<(), GatewayConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(GatewayConfigError::OutOfRange {
            key,
            value,
            min,
            max,
        })
    }
}

impl GatewayConfig {
    /// Checks every value against a registry of `instruments` instruments; the error
    /// names the first offending key.
    pub fn validate(&self, instruments: usize) -> Result<(), GatewayConfigError> {
        if let Some(id) = self
            .risk
            .blacklist
            .iter()
            .find(|id| id.index() >= instruments)
        {
            return Err(GatewayConfigError::OutOfRange {
                key: "risk.blacklist",
                value: id.index() as i128,
                min: 0,
                max: instruments as i128 - 1,
            });
        }
        positive("gateway.starting_capital", self.starting_capital_raw)?;
        positive("gateway.records_max", self.records_max as i128)?;
        self.validate_risk()?;
        self.validate_sizing()?;
        self.validate_paper()?;
        self.validate_execution()?;
        self.validate_exits()?;
        self.validate_margin(instruments)
    }

    fn validate_margin(&self, instruments: usize) -> Result<(), GatewayConfigError> {
        let m = &self.margin;
        let max = i128::from(self.risk.max_leverage);
        within("margin.leverage", m.leverage.into(), 1, max)?;
        for bps in m.maintenance_bps {
            within("margin.maintenance_margin_bps", bps.into(), 0, 5_000)?;
        }
        for (id, o) in &m.instruments {
            within(
                "margin.instruments",
                id.index() as i128,
                0,
                instruments as i128 - 1,
            )?;
            let leverage = o.leverage.unwrap_or(m.leverage);
            within("margin.instruments.leverage", leverage.into(), 1, max)?;
            let maintenance = o.maintenance_bps.unwrap_or(0);
            within(
                "margin.instruments.maintenance_margin_bps",
                maintenance.into(),
                0,
                5_000,
            )?;
            if let Some(initial) = o.initial_bps {
                within(
                    "margin.instruments.initial_margin_bps",
                    initial.into(),
                    (maintenance + 1).into(),
                    BPS_ONE.into(),
                )?;
            }
        }
        Ok(())
    }

    fn validate_risk(&self) -> Result<(), GatewayConfigError> {
        let r = &self.risk;
        positive(
            "risk.position_per_symbol_max",
            r.position_per_symbol_max_raw,
        )?;
        positive("risk.position_per_venue_max", r.position_per_venue_max_raw)?;
        positive("risk.exposure_total_max", r.exposure_total_max_raw)?;
        positive("risk.trade_notional_max", r.trade_notional_max_raw)?;
        positive("risk.daily_loss_max", r.daily_loss_max_raw)?;
        within(
            "risk.drawdown_max_bps",
            r.drawdown_max_bps.into(),
            1,
            BPS_ONE.into(),
        )?;
        within(
            "risk.balance_min",
            r.balance_min_raw,
            0,
            self.starting_capital_raw,
        )?;
        let cap = TRADES_PER_HOUR_CAP as i128;
        within(
            "risk.trades_per_hour_max",
            r.trades_per_hour_max.into(),
            1,
            cap,
        )?;
        within("risk.max_leverage", r.max_leverage.into(), 1, 125)?;
        positive(
            "risk.correlated_exposure_max",
            r.correlated_exposure_max_raw,
        )?;
        positive("risk.correlation_bar_ms", r.correlation_bar_ms.into())?;
        let window = crate::gateway::correlation::CORRELATION_WINDOW_CAP as i128;
        within(
            "risk.correlation_window",
            r.correlation_window as i128,
            2,
            window,
        )?;
        within(
            "risk.correlation_min_bars",
            r.correlation_min_bars as i128,
            2,
            r.correlation_window as i128,
        )
    }

    fn validate_sizing(&self) -> Result<(), GatewayConfigError> {
        let s = &self.sizing;
        let one = i128::from(BPS_ONE);
        within(
            "sizing.risk_fraction_bps",
            s.risk_fraction_bps.into(),
            1,
            one,
        )?;
        within(
            "sizing.stop_distance_bps",
            s.stop_distance_bps.into(),
            1,
            one,
        )?;
        within("sizing.kelly_cap_bps", s.kelly_cap_bps.into(), 1, one)?;
        within(
            "sizing.kelly_floor_bps",
            s.kelly_floor_bps.into(),
            0,
            s.kelly_cap_bps.into(),
        )?;
        within(
            "sizing.kelly_window",
            s.kelly_window as i128,
            1,
            KELLY_WINDOW_CAP as i128,
        )?;
        within(
            "sizing.kelly_min_trades",
            s.kelly_min_trades as i128,
            1,
            s.kelly_window as i128,
        )?;
        positive("sizing.atr_bar_ms", s.atr_bar_ms.into())?;
        positive("sizing.atr_fast_bars", s.atr_fast_bars.into())?;
        within(
            "sizing.atr_slow_bars",
            s.atr_slow_bars.into(),
            s.atr_fast_bars.into(),
            100_000,
        )?;
        within(
            "sizing.spread_capital_share_bps",
            s.spread_capital_share_bps.into(),
            1,
            one,
        )?;
        positive("sizing.spread_full_size_bps", s.spread_full_size_bps.into())
    }

    fn validate_paper(&self) -> Result<(), GatewayConfigError> {
        let p = &self.paper;
        for fees in p.fees.iter().flatten() {
            within(
                "paper.fees.maker",
                fees.maker_centi_bps.into(),
                -10_000,
                10_000,
            )?;
            within("paper.fees.taker", fees.taker_centi_bps.into(), 0, 10_000)?;
        }
        within(
            "paper.queue_share_bps",
            p.queue_share_bps.into(),
            0,
            BPS_ONE.into(),
        )?;
        within(
            "paper.market_band_bps",
            p.market_band_bps.into(),
            1,
            BPS_ONE.into(),
        )?;
        positive("paper.book_depth", p.book_depth as i128)?;
        positive("paper.orders_max", p.orders_max as i128)
    }

    fn validate_execution(&self) -> Result<(), GatewayConfigError> {
        let e = &self.execution;
        positive("execution.leg_timeout_ms", e.leg_timeout_ns.into())?;
        positive("execution.latency_limit_ms", e.latency_limit_ns.into())?;
        within(
            "execution.latency_downgrade_bps",
            e.latency_downgrade_bps.into(),
            1,
            BPS_ONE.into(),
        )?;
        positive("execution.trades_max", e.trades_max as i128)?;
        if e.trades_max * 4 > self.paper.orders_max {
            return Err(GatewayConfigError::Inconsistent {
                key: "execution.trades_max",
                reason: "each trade may hold 4 orders: paper.orders_max must be at least 4x",
            });
        }
        Ok(())
    }

    fn validate_exits(&self) -> Result<(), GatewayConfigError> {
        let x = &self.exits;
        positive(
            "exits.funding_converged_centi_bps",
            x.funding_converged_centi_bps.into(),
        )?;
        within(
            "exits.profit_target_bps",
            x.profit_target_bps.into(),
            1,
            BPS_ONE.into(),
        )?;
        positive("exits.spread_exit_bps", x.spread_exit_bps.into())?;
        if x.spread_stop_bps < x.spread_exit_bps {
            return Err(GatewayConfigError::Inconsistent {
                key: "exits.spread_stop_bps",
                reason: "must be at least exits.spread_exit_bps",
            });
        }
        within(
            "exits.limit_slippage_bps",
            x.limit_slippage_bps.into(),
            0,
            BPS_ONE.into(),
        )?;
        for hours in x.funding_interval_h {
            within("exits.funding_interval_h", hours.into(), 1, 24)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_config_defaults_are_valid() {
        let c = GatewayConfig::default();
        assert_eq!(c.validate(4), Ok(()));
        assert_eq!(c.starting_capital_raw, 2_000_000_000_000);
        assert_eq!(c.execution.leg_timeout_ns, 500_000_000);
        assert_eq!(c.paper.queue_share_bps, 2_000);
    }

    #[test]
    fn test_config_errors_name_the_key() {
        let mut c = GatewayConfig::default();
        c.risk.trades_per_hour_max = 0;
        let err = c.validate(4).unwrap_err();
        assert!(
            err.to_string().starts_with("risk.trades_per_hour_max:"),
            "{err}"
        );
        let mut c = GatewayConfig::default();
        c.exits.spread_stop_bps = 10;
        assert!(matches!(
            c.validate(4),
            Err(GatewayConfigError::Inconsistent {
                key: "exits.spread_stop_bps",
                ..
            })
        ));
        let mut c = GatewayConfig::default();
        c.sizing.kelly_floor_bps = 2_000;
        assert!(matches!(
            c.validate(4),
            Err(GatewayConfigError::OutOfRange {
                key: "sizing.kelly_floor_bps",
                ..
            })
        ));
        let mut c = GatewayConfig::default();
        c.risk.blacklist.push(InstrumentId(4));
        assert!(matches!(
            c.validate(4),
            Err(GatewayConfigError::OutOfRange {
                key: "risk.blacklist",
                value: 4,
                ..
            })
        ));
        let mut c = GatewayConfig::default();
        c.paper.orders_max = 8;
        assert!(matches!(
            c.validate(4),
            Err(GatewayConfigError::Inconsistent {
                key: "execution.trades_max",
                ..
            })
        ));
    }

    #[test]
    fn test_venue_index_matches_all_order() {
        for (i, venue) in Venue::ALL.into_iter().enumerate() {
            assert_eq!(venue_index(venue), i);
        }
    }
}
