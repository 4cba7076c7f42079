//! Hard risk limits, checked before every entry order: kill switch, daily loss breaker,
//! drawdown halt, intent expiry, blacklist, trade rate, notional per trade, per-symbol,
//! per-venue and total exposure, and minimum balance. Every rejection is counted by
//! reason in a fixed array. Exposure and cash are checked against filled plus working:
//! what open legs locked and what entry orders in flight reserved
//! ([`crate::gateway::portfolio::Portfolio::exposure`]), so a burst of intents before
//! any fill cannot pass a cap together.
//!
//! Owned by the gateway thread; allocation-free after [`RiskEngine::new`] (the blacklist
//! bitset and the trade-rate ring are sized there). The kill switch is the one shared
//! piece: an atomic flag any thread (telemetry, the Telegram `/panic` command) may
//! engage. Exits, hedges and flattens are never checked here: they reduce risk.

use std::sync::Arc;

use crate::gateway::config::{
    BPS_ONE, BreakerAction, NS_PER_DAY, NS_PER_HOUR, RiskConfig, VENUE_COUNT, venue_index,
};
use crate::runtime::Control;
use crate::types::{InstrumentId, Venue};

/// Why an entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The kill switch is engaged.
    KillSwitch,
    /// The daily loss breaker tripped today.
    DailyLossHalt,
    /// Realised equity fell too far from its peak; halted until re-armed.
    DrawdownHalt,
    /// The intent's deadline passed before the gateway saw it.
    Expired,
    /// An instrument of the intent is blacklisted.
    Blacklisted,
    /// Too many entries in the trailing hour.
    TradeRate,
    /// One leg's notional is above the per-trade maximum.
    TradeNotional,
    /// An instrument's open notional would exceed its limit.
    SymbolPosition,
    /// A venue's open notional would exceed its limit.
    VenuePosition,
    /// Total open notional would exceed its limit.
    TotalExposure,
    /// Available capital would fall below the minimum balance.
    MinBalance,
    /// A leg's venue is slower than the latency limit (action: block).
    VenueTooSlow,
    /// Sizing gave nothing tradable (below lot, minimum notional or precision).
    Size,
    /// The intent is malformed (unknown instrument, both legs on one instrument or on
    /// one side).
    InvalidIntent,
    /// Every trade slot is in use.
    TradeSlots,
    /// The method's size was under a venue minimum; raised to the minimum, it would
    /// pass a cap (notional per trade, exposure or minimum balance).
    MinSizeOverCaps,
    /// Free margin (available capital less working orders' reservations) would not
    /// cover the entry's initial margin.
    Margin,
    /// Filled plus working exposure would pass `risk.max_leverage` times equity.
    Leverage,
    /// Same-direction exposure weighted by correlation would pass
    /// `risk.correlated_exposure_max`.
    Correlation,
}

/// Number of [`RejectReason`]s.
pub const REJECT_REASON_COUNT: usize = 19;

impl RejectReason {
    /// Every reason, in counter order.
    pub const ALL: [RejectReason; REJECT_REASON_COUNT] = [
        RejectReason::KillSwitch,
        RejectReason::DailyLossHalt,
        RejectReason::DrawdownHalt,
        RejectReason::Expired,
        RejectReason::Blacklisted,
        RejectReason::TradeRate,
        RejectReason::TradeNotional,
        RejectReason::SymbolPosition,
        RejectReason::VenuePosition,
        RejectReason::TotalExposure,
        RejectReason::MinBalance,
        RejectReason::VenueTooSlow,
        RejectReason::Size,
        RejectReason::InvalidIntent,
        RejectReason::TradeSlots,
        RejectReason::MinSizeOverCaps,
        RejectReason::Margin,
        RejectReason::Leverage,
        RejectReason::Correlation,
    ];

    /// Index into the counter array.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Counter and report name (`gateway.rejected.<name>`).
    pub const fn report_key(self) -> &'static str {
        match self {
            RejectReason::KillSwitch => "gateway.rejected.kill_switch",
            RejectReason::DailyLossHalt => "gateway.rejected.daily_loss_halt",
            RejectReason::DrawdownHalt => "gateway.rejected.drawdown_halt",
            RejectReason::Expired => "gateway.rejected.expired",
            RejectReason::Blacklisted => "gateway.rejected.blacklisted",
            RejectReason::TradeRate => "gateway.rejected.trade_rate",
            RejectReason::TradeNotional => "gateway.rejected.trade_notional",
            RejectReason::SymbolPosition => "gateway.rejected.symbol_position",
            RejectReason::VenuePosition => "gateway.rejected.venue_position",
            RejectReason::TotalExposure => "gateway.rejected.total_exposure",
            RejectReason::MinBalance => "gateway.rejected.min_balance",
            RejectReason::VenueTooSlow => "gateway.rejected.venue_too_slow",
            RejectReason::Size => "gateway.rejected.size",
            RejectReason::InvalidIntent => "gateway.rejected.invalid_intent",
            RejectReason::TradeSlots => "gateway.rejected.trade_slots",
            RejectReason::MinSizeOverCaps => "gateway.rejected.min_size_over_caps",
            RejectReason::Margin => "gateway.rejected.margin",
            RejectReason::Leverage => "gateway.rejected.leverage",
            RejectReason::Correlation => "gateway.rejected.correlation",
        }
    }

    /// Name for logs, metrics and database rows.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::KillSwitch => "kill_switch",
            RejectReason::DailyLossHalt => "daily_loss_halt",
            RejectReason::DrawdownHalt => "drawdown_halt",
            RejectReason::Expired => "expired",
            RejectReason::Blacklisted => "blacklisted",
            RejectReason::TradeRate => "trade_rate",
            RejectReason::TradeNotional => "trade_notional",
            RejectReason::SymbolPosition => "symbol_position",
            RejectReason::VenuePosition => "venue_position",
            RejectReason::TotalExposure => "total_exposure",
            RejectReason::MinBalance => "min_balance",
            RejectReason::VenueTooSlow => "venue_too_slow",
            RejectReason::Size => "size",
            RejectReason::InvalidIntent => "invalid_intent",
            RejectReason::TradeSlots => "trade_slots",
            RejectReason::MinSizeOverCaps => "min_size_over_caps",
            RejectReason::Margin => "margin",
            RejectReason::Leverage => "leverage",
            RejectReason::Correlation => "correlation",
        }
    }
}

/// Rejections counted by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RejectCounts([u64; REJECT_REASON_COUNT]);

impl RejectCounts {
    /// Counts one rejection.
    pub fn count(&mut self, reason: RejectReason) {
        self.0[reason.index()] += 1;
    }

    /// Rejections for `reason`.
    pub fn get(&self, reason: RejectReason) -> u64 {
        self.0[reason.index()]
    }

    /// All rejections.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// The kill switch: a view of the pipeline's [`Control`] block, engaged from any thread
/// (Telegram `/panic`, a signal) and polled by the gateway. While engaged the gateway
/// cancels everything, flattens, and accepts no entry; [`KillSwitch::rearm`] lets it
/// trade again.
#[derive(Debug, Clone, Default)]
pub struct KillSwitch(Arc<Control>);

impl KillSwitch {
    /// The kill switch of a shared control block.
    pub fn new(control: Arc<Control>) -> Self {
        Self(control)
    }

    /// Engages the switch.
    pub fn engage(&self) {
        self.0.kill();
    }

    /// Re-arms: trading may resume.
    pub fn rearm(&self) {
        self.0.rearm();
    }

    /// Whether it is engaged.
    pub fn is_engaged(&self) -> bool {
        self.0.is_killed()
    }
}

/// A set of instruments as a bitset over their dense ids.
#[derive(Debug, Clone)]
pub struct Blacklist {
    words: Vec<u64>,
}

impl Blacklist {
    /// An empty set able to hold ids below `instruments`.
    pub fn new(instruments: usize) -> Self {
        Self {
            words: vec![0; instruments.div_ceil(64).max(1)],
        }
    }

    /// Adds an instrument; false when its id is beyond the set's size.
    pub fn insert(&mut self, id: InstrumentId) -> bool {
        let Some(word) = self.words.get_mut(id.index() / 64) else {
            return false;
        };
        *word |= 1 << (id.index() % 64);
        true
    }

    /// Removes an instrument.
    pub fn remove(&mut self, id: InstrumentId) {
        if let Some(word) = self.words.get_mut(id.index() / 64) {
            *word &= !(1 << (id.index() % 64));
        }
    }

    /// Whether the instrument is listed.
    pub fn contains(&self, id: InstrumentId) -> bool {
        self.words
            .get(id.index() / 64)
            .is_some_and(|w| w & (1 << (id.index() % 64)) != 0)
    }
}

/// Entry timestamps of the trailing hour, in a ring of exactly the limit's size: the
/// limit is hit when the ring is full and its oldest entry is less than an hour old.
#[derive(Debug, Clone)]
pub struct TradeRate {
    ring: Vec<u64>,
    head: usize,
    cap: usize,
}

impl TradeRate {
    /// A window allowing `per_hour` entries per trailing hour.
    pub fn new(per_hour: usize) -> Self {
        let cap = per_hour.max(1);
        Self {
            ring: Vec::with_capacity(cap),
            head: 0,
            cap,
        }
    }

    /// Whether one more entry at `now_ns` stays within the limit.
    pub fn allows(&self, now_ns: u64) -> bool {
        self.ring.len() < self.cap || now_ns.saturating_sub(self.ring[self.head]) >= NS_PER_HOUR
    }

    /// Records an entry at `now_ns`.
    pub fn record(&mut self, now_ns: u64) {
        if self.ring.len() < self.cap {
            self.ring.push(now_ns);
        } else {
            self.ring[self.head] = now_ns;
            self.head = (self.head + 1) % self.cap;
        }
    }
}

/// One leg of a sized entry, as risk sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegExposure {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Its venue.
    pub venue: Venue,
    /// The order's notional at its limit, raw 10^-8 quote units (the per-trade cap).
    pub notional_raw: i128,
    /// What the leg reserves while it works and may lock when it fills: its notional
    /// at the reserve price plus the taker fee (the exposure caps).
    pub reserve_raw: i128,
    /// The cash it reserves: the initial margin of that notional (all of it for spot
    /// or leverage 1) plus the fee (the margin and cash checks).
    pub reserve_cash_raw: i128,
}

/// The portfolio's exposure and capital, as risk needs them: filled (locked) plus
/// working (reserved by entry orders in flight).
#[derive(Debug, Clone, Copy)]
pub struct ExposureView<'a> {
    /// Filled plus working notional per instrument id.
    pub instrument_raw: &'a [i128],
    /// Filled plus working notional per venue.
    pub venue_raw: &'a [i128; VENUE_COUNT],
    /// Filled plus working notional in total.
    pub total_raw: i128,
    /// Available capital less what working orders reserved.
    pub available_raw: i128,
    /// Realised equity (the leverage limit's base).
    pub equity_raw: i128,
}

/// What [`RiskEngine::update_equity`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerEvent {
    /// Nothing new.
    None,
    /// The daily loss breaker tripped now; flatten per config.
    DailyLoss(BreakerAction),
    /// The drawdown halt tripped now.
    Drawdown,
}

/// The risk engine.
#[derive(Debug)]
pub struct RiskEngine {
    cfg: RiskConfig,
    blacklist: Blacklist,
    rate: TradeRate,
    kill: KillSwitch,
    counts: RejectCounts,
    day: u64,
    day_start_equity_raw: i128,
    halted_day: Option<u64>,
    drawdown_halted: bool,
    peak_equity_raw: i128,
}

impl RiskEngine {
    /// A risk engine for `instruments` instruments starting with `equity_raw`, with the
    /// configured blacklist.
    pub fn new(cfg: &RiskConfig, instruments: usize, equity_raw: i128, kill: KillSwitch) -> Self {
        let mut blacklist = Blacklist::new(instruments);
        for &id in &cfg.blacklist {
            blacklist.insert(id);
        }
        Self {
            rate: TradeRate::new(cfg.trades_per_hour_max as usize),
            cfg: cfg.clone(),
            blacklist,
            kill,
            counts: RejectCounts::default(),
            day: 0,
            day_start_equity_raw: equity_raw,
            halted_day: None,
            drawdown_halted: false,
            peak_equity_raw: equity_raw,
        }
    }

    /// The blacklist, to edit.
    pub fn blacklist_mut(&mut self) -> &mut Blacklist {
        &mut self.blacklist
    }

    /// The kill switch.
    pub fn kill_switch(&self) -> &KillSwitch {
        &self.kill
    }

    /// Rejections so far, by reason.
    pub fn counts(&self) -> &RejectCounts {
        &self.counts
    }

    /// Counts a rejection decided elsewhere (sizing, latency, slots) and returns it.
    pub fn reject(&mut self, reason: RejectReason) -> RejectReason {
        self.counts.count(reason);
        reason
    }

    /// Realised equity at the start of the current day.
    pub fn day_start_equity_raw(&self) -> i128 {
        self.day_start_equity_raw
    }

    /// Highest realised equity seen.
    pub fn peak_equity_raw(&self) -> i128 {
        self.peak_equity_raw
    }

    /// Whether the daily loss breaker halted the day of `now_ns`.
    pub fn daily_halted(&self, now_ns: u64) -> bool {
        self.halted_day == Some(now_ns / NS_PER_DAY)
    }

    /// Whether the drawdown breaker halted trading (until re-armed).
    pub fn drawdown_halted(&self) -> bool {
        self.drawdown_halted
    }

    /// Lifts the drawdown halt (an operator decision).
    pub fn rearm_drawdown(&mut self, equity_raw: i128) {
        self.drawdown_halted = false;
        self.peak_equity_raw = equity_raw;
    }

    /// Feeds the realised equity at `now_ns`: rolls the day, tracks the peak and trips
    /// the breakers. Call after every trade close and on every poll.
    pub fn update_equity(&mut self, now_ns: u64, equity_raw: i128) -> BreakerEvent {
        let day = now_ns / NS_PER_DAY;
        if day != self.day {
            self.day = day;
            self.day_start_equity_raw = equity_raw;
        }
        self.peak_equity_raw = self.peak_equity_raw.max(equity_raw);
        let loss_today = self.day_start_equity_raw - equity_raw;
        if loss_today >= self.cfg.daily_loss_max_raw && self.halted_day != Some(day) {
            self.halted_day = Some(day);
            return BreakerEvent::DailyLoss(self.cfg.daily_loss_action);
        }
        let drawdown = self.peak_equity_raw - equity_raw;
        // The limit (a 128-bit division) only matters below the peak.
        if !self.drawdown_halted && drawdown > 0 {
            let limit =
                self.peak_equity_raw * i128::from(self.cfg.drawdown_max_bps) / i128::from(BPS_ONE);
            if drawdown >= limit {
                self.drawdown_halted = true;
                return BreakerEvent::Drawdown;
            }
        }
        BreakerEvent::None
    }

    /// Checks made before sizing: switches, halts, expiry, blacklist, rate.
    pub fn check_pre(
        &mut self,
        now_ns: u64,
        now_raw: u64,
        expires_raw: u64,
        instruments: [InstrumentId; 2],
    ) -> Result<(), RejectReason> {
        let verdict = self.pre_verdict(now_ns, now_raw, expires_raw, instruments);
        verdict.map_err(|r| self.reject(r))
    }

    fn pre_verdict(
        &self,
        now_ns: u64,
        now_raw: u64,
        expires_raw: u64,
        instruments: [InstrumentId; 2],
    ) -> Result<(), RejectReason> {
        if self.kill.is_engaged() {
            return Err(RejectReason::KillSwitch);
        }
        if self.halted_day == Some(now_ns / NS_PER_DAY) {
            return Err(RejectReason::DailyLossHalt);
        }
        if self.drawdown_halted {
            return Err(RejectReason::DrawdownHalt);
        }
        if now_raw > expires_raw {
            return Err(RejectReason::Expired);
        }
        if instruments.iter().any(|&i| self.blacklist.contains(i)) {
            return Err(RejectReason::Blacklisted);
        }
        if !self.rate.allows(now_ns) {
            return Err(RejectReason::TradeRate);
        }
        Ok(())
    }

    /// Checks of the sized legs against notional, exposure and balance limits: each
    /// leg's reservation added to what is filled and working must stay within every
    /// cap, and the cash left after all reservations at or above the minimum balance.
    /// A size `rounded_up` to a venue minimum that fails is refused as
    /// [`RejectReason::MinSizeOverCaps`].
    pub fn check_sized(
        &mut self,
        legs: &[LegExposure; 2],
        view: &ExposureView<'_>,
        rounded_up: bool,
    ) -> Result<(), RejectReason> {
        let verdict = self.sized_verdict(legs, view);
        verdict.map_err(|r| {
            self.reject(if rounded_up {
                RejectReason::MinSizeOverCaps
            } else {
                r
            })
        })
    }

    fn sized_verdict(
        &self,
        legs: &[LegExposure; 2],
        view: &ExposureView<'_>,
    ) -> Result<(), RejectReason> {
        let c = &self.cfg;
        if legs
            .iter()
            .any(|l| l.notional_raw > c.trade_notional_max_raw)
        {
            return Err(RejectReason::TradeNotional);
        }
        for leg in legs {
            let same = |other: &LegExposure| other.instrument == leg.instrument;
            let added: i128 = legs.iter().filter(|l| same(l)).map(|l| l.reserve_raw).sum();
            let open = view
                .instrument_raw
                .get(leg.instrument.index())
                .copied()
                .unwrap_or(0);
            if open + added > c.position_per_symbol_max_raw {
                return Err(RejectReason::SymbolPosition);
            }
            let venue_added: i128 = legs
                .iter()
                .filter(|l| l.venue == leg.venue)
                .map(|l| l.reserve_raw)
                .sum();
            if view.venue_raw[venue_index(leg.venue)] + venue_added > c.position_per_venue_max_raw {
                return Err(RejectReason::VenuePosition);
            }
        }
        let added: i128 = legs.iter().map(|l| l.reserve_raw).sum();
        if view.total_raw + added > c.exposure_total_max_raw {
            return Err(RejectReason::TotalExposure);
        }
        if view.total_raw + added > i128::from(c.max_leverage) * view.equity_raw {
            return Err(RejectReason::Leverage);
        }
        let cash: i128 = legs.iter().map(|l| l.reserve_cash_raw).sum();
        if view.available_raw < cash {
            return Err(RejectReason::Margin);
        }
        if view.available_raw - cash < c.balance_min_raw {
            return Err(RejectReason::MinBalance);
        }
        Ok(())
    }

    /// Records an accepted entry for the trade-rate limit.
    pub fn record_entry(&mut self, now_ns: u64) {
        self.rate.record(now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::config::usd;

    const A: InstrumentId = InstrumentId(0);
    const B: InstrumentId = InstrumentId(1);

    fn engine(cfg: RiskConfig) -> RiskEngine {
        RiskEngine::new(&cfg, 4, usd(20_000), KillSwitch::default())
    }

    fn legs(notional: i64) -> [LegExposure; 2] {
        [
            LegExposure {
                instrument: A,
                venue: Venue::Binance,
                notional_raw: usd(notional),
                reserve_raw: usd(notional),
                reserve_cash_raw: usd(notional),
            },
            LegExposure {
                instrument: B,
                venue: Venue::Okx,
                notional_raw: usd(notional),
                reserve_raw: usd(notional),
                reserve_cash_raw: usd(notional),
            },
        ]
    }

    fn check(
        r: &mut RiskEngine,
        notional: i64,
        open: [i128; 4],
        total: i128,
        available: i128,
    ) -> Result<(), RejectReason> {
        let venues = [open[0], 0, open[1], 0];
        let view = ExposureView {
            instrument_raw: &open,
            venue_raw: &venues,
            total_raw: total,
            available_raw: available,
            equity_raw: usd(20_000),
        };
        r.check_sized(&legs(notional), &view, false)
    }

    #[test]
    fn test_risk_sized_limits_each_reject_and_count() {
        let mut r = engine(RiskConfig::default());
        assert_eq!(check(&mut r, 1_000, [0; 4], 0, usd(20_000)), Ok(()));
        assert_eq!(
            check(&mut r, 6_000, [0; 4], 0, usd(20_000)),
            Err(RejectReason::TradeNotional)
        );
        assert_eq!(
            check(&mut r, 1_000, [usd(9_500), 0, 0, 0], 0, usd(20_000)),
            Err(RejectReason::SymbolPosition)
        );
        let cfg = RiskConfig {
            position_per_venue_max_raw: usd(1_500),
            ..RiskConfig::default()
        };
        let mut v = engine(cfg);
        assert_eq!(
            check(&mut v, 1_000, [usd(600), 0, 0, 0], 0, usd(20_000)),
            Err(RejectReason::VenuePosition)
        );
        assert_eq!(
            check(&mut r, 1_000, [0; 4], usd(29_000), usd(20_000)),
            Err(RejectReason::TotalExposure)
        );
        assert_eq!(
            check(&mut r, 1_000, [0; 4], 0, usd(2_500)),
            Err(RejectReason::MinBalance)
        );
        let view = ExposureView {
            instrument_raw: &[0; 4],
            venue_raw: &[0; 4],
            total_raw: 0,
            available_raw: usd(20_000),
            equity_raw: usd(20_000),
        };
        assert_eq!(
            r.check_sized(&legs(6_000), &view, true),
            Err(RejectReason::MinSizeOverCaps)
        );
        // Leveraged legs: 2 x 4,000 of exposure, 2 x 800 of margin (5x).
        let mut lev = legs(4_000);
        for l in &mut lev {
            l.reserve_cash_raw = usd(800);
        }
        let view = |available: i128, total: i128| ExposureView {
            instrument_raw: &[0; 4],
            venue_raw: &[0; 4],
            total_raw: total,
            available_raw: available,
            equity_raw: usd(20_000),
        };
        assert_eq!(r.check_sized(&lev, &view(usd(2_600), 0), false), Ok(()));
        assert_eq!(
            r.check_sized(&lev, &view(usd(1_599), 0), false),
            Err(RejectReason::Margin),
            "free margin under the two legs' 1,600"
        );
        assert_eq!(
            r.check_sized(&lev, &view(usd(2_599), 0), false),
            Err(RejectReason::MinBalance)
        );
        let cfg = RiskConfig {
            max_leverage: 1,
            exposure_total_max_raw: usd(100_000),
            ..RiskConfig::default()
        };
        let mut one = engine(cfg);
        assert_eq!(
            one.check_sized(&lev, &view(usd(20_000), usd(12_001)), false),
            Err(RejectReason::Leverage),
            "20,001 of exposure on 20,000 of equity at 1x"
        );
        assert_eq!(r.counts().total(), 7);
        assert_eq!(v.counts().get(RejectReason::VenuePosition), 1);
        assert_eq!(r.counts().get(RejectReason::MinBalance), 2);
        assert_eq!(r.counts().get(RejectReason::Margin), 1);
    }

    #[test]
    fn test_risk_pre_checks_kill_expiry_blacklist() {
        let mut r = engine(RiskConfig::default());
        assert_eq!(r.check_pre(0, 10, 10, [A, B]), Ok(()));
        assert_eq!(r.check_pre(0, 11, 10, [A, B]), Err(RejectReason::Expired));
        assert!(r.blacklist_mut().insert(B));
        assert_eq!(
            r.check_pre(0, 0, 10, [A, B]),
            Err(RejectReason::Blacklisted)
        );
        r.blacklist_mut().remove(B);
        r.kill_switch().engage();
        assert_eq!(r.check_pre(0, 0, 10, [A, B]), Err(RejectReason::KillSwitch));
        r.kill_switch().rearm();
        assert_eq!(r.check_pre(0, 0, 10, [A, B]), Ok(()));
        assert_eq!(r.counts().get(RejectReason::Expired), 1);
        assert!(!r.blacklist_mut().insert(InstrumentId(64)));
    }

    #[test]
    fn test_risk_configured_blacklist() {
        let cfg = RiskConfig {
            blacklist: vec![B],
            ..RiskConfig::default()
        };
        let mut r = engine(cfg);
        assert_eq!(r.check_pre(0, 0, 0, [A, B]), Err(RejectReason::Blacklisted));
        assert_eq!(r.check_pre(0, 0, 0, [A, InstrumentId(2)]), Ok(()));
    }

    #[test]
    fn test_risk_trade_rate_ring() {
        let cfg = RiskConfig {
            trades_per_hour_max: 3,
            ..RiskConfig::default()
        };
        let mut r = engine(cfg);
        for t in [0, 10, 20] {
            assert_eq!(r.check_pre(t, 0, 0, [A, B]), Ok(()));
            r.record_entry(t);
        }
        assert_eq!(r.check_pre(30, 0, 0, [A, B]), Err(RejectReason::TradeRate));
        assert_eq!(r.check_pre(NS_PER_HOUR, 0, 0, [A, B]), Ok(()));
        r.record_entry(NS_PER_HOUR);
        assert_eq!(
            r.check_pre(NS_PER_HOUR + 5, 0, 0, [A, B]),
            Err(RejectReason::TradeRate)
        );
        assert_eq!(r.check_pre(NS_PER_HOUR + 10, 0, 0, [A, B]), Ok(()));
    }

    #[test]
    fn test_risk_daily_loss_halts_for_the_day_only() {
        let mut r = engine(RiskConfig::default());
        let day = NS_PER_DAY;
        assert_eq!(r.update_equity(day, usd(20_000)), BreakerEvent::None);
        assert_eq!(r.update_equity(day + 1, usd(19_700)), BreakerEvent::None);
        assert_eq!(
            r.update_equity(day + 2, usd(19_600)),
            BreakerEvent::DailyLoss(BreakerAction::Flatten)
        );
        assert_eq!(r.update_equity(day + 3, usd(19_500)), BreakerEvent::None);
        assert_eq!(
            r.check_pre(day + 4, 0, 0, [A, B]),
            Err(RejectReason::DailyLossHalt)
        );
        assert_eq!(r.update_equity(2 * day, usd(19_500)), BreakerEvent::None);
        assert_eq!(r.check_pre(2 * day, 0, 0, [A, B]), Ok(()));
    }

    #[test]
    fn test_risk_drawdown_halts_until_rearmed() {
        let cfg = RiskConfig {
            daily_loss_max_raw: usd(1_000_000),
            ..RiskConfig::default()
        };
        let mut r = engine(cfg);
        assert_eq!(r.update_equity(0, usd(30_000)), BreakerEvent::None);
        assert_eq!(r.update_equity(1, usd(27_001)), BreakerEvent::None);
        assert_eq!(r.update_equity(2, usd(27_000)), BreakerEvent::Drawdown);
        assert_eq!(
            r.check_pre(3, 0, 0, [A, B]),
            Err(RejectReason::DrawdownHalt)
        );
        r.rearm_drawdown(usd(27_000));
        assert_eq!(r.check_pre(4, 0, 0, [A, B]), Ok(()));
    }

    #[test]
    fn test_reject_reason_table_is_dense() {
        for (i, reason) in RejectReason::ALL.into_iter().enumerate() {
            assert_eq!(reason.index(), i);
            assert!(!reason.as_str().is_empty());
        }
    }
}
