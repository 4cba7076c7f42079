//! The portfolio: capital, open positions' cost, closed trades' results and the metrics
//! reported from them.
//!
//! Accounting (exact integers, raw 10^-8 quote units): an entry fill locks its value
//! plus its fee out of available capital into the open position value; closing a trade
//! releases what it locked plus the trade's PnL. So at every step
//! `available + open value == starting capital + realised PnL`, and realised PnL is the
//! sum of closed trades' PnL (leg-out losses are part of a trade's PnL).
//!
//! Margin: a leg's exposure (its notional and fee, what the caps count) and its cash
//! (what leaves available capital) are two ledgers. A spot leg, or a perp at leverage 1,
//! locks the same amount in both; a leveraged perp leg locks its initial margin and fee
//! in cash ([`crate::gateway::margin`]). The open value is the cash locked.
//!
//! Funding: a payment goes into available capital and realised PnL when it is settled
//! ([`Portfolio::fund`]); a payment larger than the free cash (available capital less
//! working orders' reservations) takes the rest from the paying leg's locked margin, so
//! neither cash nor free cash goes negative. A trade's PnL
//! includes its funding, so closing it books only the rest. Realised PnL is then the
//! closed trades' PnL plus the funding of trades still open.
//!
//! Reservations: an entry order that works (sent, not yet filled, cancelled or
//! rejected) reserves the most it may still lock (see `Gateway`'s reserve price), per
//! instrument, venue and in total, and the same amount of cash. Exposure as risk sees
//! it ([`Portfolio::exposure`]) is locked plus reserved, and the cash it may spend is
//! available minus reserved, so entries sent in the same instant, before any fill,
//! cannot together exceed a cap or spend cash twice. Reservations are a ledger beside
//! the capital: they never move available capital, so conservation holds unchanged.
//!
//! Owned by the gateway thread; allocation-free after [`Portfolio::new`]. Accounting is
//! integer; the per-trade return sums behind the Sharpe ratio and [`Portfolio::metrics`]
//! use `f64`: they are reports, never inputs to a decision.

use crate::gateway::config::{NS_PER_DAY, QUOTE_SCALE, VENUE_COUNT, venue_index};
use crate::gateway::risk::ExposureView;
use crate::types::{InstrumentId, Venue};

/// Variance below this share of the squared mean return is rounding noise.
const VARIANCE_NOISE: f64 = 1e-12;

/// Days per year for the realised APR.
const DAYS_PER_YEAR: f64 = 365.0;

/// A closed trade's result, as the portfolio books it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeResult {
    /// Cost the trade locked (entry values and fees).
    pub locked_raw: i128,
    /// Realised PnL, fees, leg-out losses and funding included.
    pub pnl_raw: i128,
    /// The part of it that was funding (already booked when paid).
    pub funding_raw: i128,
    /// Leg-outs the trade had.
    pub leg_outs: u32,
    /// Their total loss.
    pub leg_out_loss_raw: i128,
}

/// The portfolio at one instant, for telemetry (table `portfolio_snapshots`) and the
/// status board. Money in raw 10^-8 quote units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortfolioSnapshot {
    /// When, ns.
    pub ts_ns: u64,
    /// Realised equity: starting capital plus realised PnL.
    pub equity_raw: i128,
    /// Available capital.
    pub available_raw: i128,
    /// Cost locked in open positions.
    pub open_value_raw: i128,
    /// Open trades.
    pub open_positions: u64,
    /// Realised PnL.
    pub realised_raw: i128,
    /// Open trades marked at the touch, exit fees off.
    pub unrealised_raw: i128,
    /// Realised PnL since 00:00 UTC.
    pub daily_pnl_raw: i128,
    /// Highest realised equity so far.
    pub peak_equity_raw: i128,
    /// The daily loss breaker halted trading today.
    pub daily_halt: bool,
    /// The kill switch is engaged.
    pub killed: bool,
    /// Closed trades.
    pub closed_trades: u64,
    /// Winning closed trades.
    pub wins: u64,
    /// Leg-outs.
    pub leg_outs: u64,
    /// Their loss.
    pub leg_out_loss_raw: i128,
    /// Funding received (positive) or paid so far.
    pub funding_raw: i128,
    /// Initial margin the open perp legs posted (their locked cash) plus what working
    /// entries reserved for it.
    pub margin_used_raw: i128,
    /// Maintenance margin of the open perp legs at the marks.
    pub maintenance_raw: i128,
    /// Margin used / realised equity, bps.
    pub margin_utilisation_bps: i64,
    /// Perp legs liquidated.
    pub liquidations: u64,
}

/// The highest exposure and the lowest cash the portfolio reached, as risk checks them
/// (filled plus working), updated at every lock, reservation and close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExposurePeaks {
    /// Highest exposure of any one instrument.
    pub instrument_raw: i128,
    /// Highest exposure of any one venue.
    pub venue_raw: i128,
    /// Highest total exposure.
    pub total_raw: i128,
    /// Lowest available capital.
    pub cash_min_raw: i128,
    /// Lowest available capital less what working orders reserved.
    pub free_cash_min_raw: i128,
}

/// Reported figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Closed trades.
    pub trades: u64,
    /// Winning trades / closed trades.
    pub win_rate: f64,
    /// Mean PnL per closed trade, quote units.
    pub avg_profit: f64,
    /// Time-weighted open value / starting capital.
    pub capital_utilization: f64,
    /// Leg-outs per closed trade.
    pub leg_out_rate: f64,
    /// Leg-out loss / gross loss of losing trades (0 without losses).
    pub leg_out_loss_share: f64,
    /// Realised PnL / starting capital, annualised over the time covered.
    pub realised_apr: f64,
    /// Gross profit / gross loss (infinite without losses).
    pub profit_factor: f64,
    /// Mean / standard deviation of per-trade returns on locked cost, times the square
    /// root of trades per year.
    pub sharpe: f64,
    /// Largest fall of realised equity from a peak, quote units.
    pub max_drawdown: f64,
}

/// The portfolio.
#[derive(Debug, Clone)]
pub struct Portfolio {
    starting_raw: i128,
    available_raw: i128,
    open_value_raw: i128,
    realised_raw: i128,
    funding_raw: i128,
    exposure_open_raw: i128,
    reserved_cash_raw: i128,
    instrument_raw: Vec<i128>,
    venue_raw: [i128; VENUE_COUNT],
    reserved_raw: i128,
    reserved_instrument_raw: Vec<i128>,
    reserved_venue_raw: [i128; VENUE_COUNT],
    committed_instrument_raw: Vec<i128>,
    committed_venue_raw: [i128; VENUE_COUNT],
    peaks: ExposurePeaks,
    trades: u64,
    wins: u64,
    gross_profit_raw: i128,
    gross_loss_raw: i128,
    leg_outs: u64,
    leg_out_loss_raw: i128,
    returns_sum: f64,
    returns_sq_sum: f64,
    peak_raw: i128,
    max_drawdown_raw: i128,
    start_ns: Option<u64>,
    last_ns: u64,
    open_value_ns: i128,
}

impl Portfolio {
    /// A portfolio of `starting_raw` for `instruments` instruments.
    pub fn new(starting_raw: i128, instruments: usize) -> Self {
        Self {
            starting_raw,
            available_raw: starting_raw,
            open_value_raw: 0,
            realised_raw: 0,
            funding_raw: 0,
            exposure_open_raw: 0,
            reserved_cash_raw: 0,
            instrument_raw: vec![0; instruments],
            venue_raw: [0; VENUE_COUNT],
            reserved_raw: 0,
            reserved_instrument_raw: vec![0; instruments],
            reserved_venue_raw: [0; VENUE_COUNT],
            committed_instrument_raw: vec![0; instruments],
            committed_venue_raw: [0; VENUE_COUNT],
            peaks: ExposurePeaks {
                cash_min_raw: starting_raw,
                free_cash_min_raw: starting_raw,
                ..ExposurePeaks::default()
            },
            trades: 0,
            wins: 0,
            gross_profit_raw: 0,
            gross_loss_raw: 0,
            leg_outs: 0,
            leg_out_loss_raw: 0,
            returns_sum: 0.0,
            returns_sq_sum: 0.0,
            peak_raw: starting_raw,
            max_drawdown_raw: 0,
            start_ns: None,
            last_ns: 0,
            open_value_ns: 0,
        }
    }

    /// Starting capital.
    pub fn starting_raw(&self) -> i128 {
        self.starting_raw
    }

    /// Capital not locked in open positions.
    pub fn available_raw(&self) -> i128 {
        self.available_raw
    }

    /// Cost locked in open positions.
    pub fn open_value_raw(&self) -> i128 {
        self.open_value_raw
    }

    /// Cumulative realised PnL.
    pub fn realised_raw(&self) -> i128 {
        self.realised_raw
    }

    /// Starting capital + realised PnL.
    pub fn equity_raw(&self) -> i128 {
        self.starting_raw + self.realised_raw
    }

    /// Closed trades, winners among them.
    pub fn trade_counts(&self) -> (u64, u64) {
        (self.trades, self.wins)
    }

    /// Leg-outs and their total loss.
    pub fn leg_outs(&self) -> (u64, i128) {
        (self.leg_outs, self.leg_out_loss_raw)
    }

    /// The highest exposure and lowest cash so far.
    pub fn peaks(&self) -> ExposurePeaks {
        self.peaks
    }

    /// Folds the state after a change of `instrument` on `venue` into the peaks.
    fn track(&mut self, instrument: InstrumentId, venue: Venue) {
        let p = &mut self.peaks;
        let at = self.committed_instrument_raw.get(instrument.index());
        p.instrument_raw = p.instrument_raw.max(at.copied().unwrap_or(0));
        p.venue_raw = p
            .venue_raw
            .max(self.committed_venue_raw[venue_index(venue)]);
        p.total_raw = p.total_raw.max(self.exposure_open_raw + self.reserved_raw);
        self.track_cash();
    }

    fn track_cash(&mut self) {
        let p = &mut self.peaks;
        p.cash_min_raw = p.cash_min_raw.min(self.available_raw);
        p.free_cash_min_raw = p
            .free_cash_min_raw
            .min(self.available_raw - self.reserved_cash_raw);
    }

    /// Funding received (positive) or paid so far.
    pub fn funding_raw(&self) -> i128 {
        self.funding_raw
    }

    /// Reserved cash of working entry orders (their initial margin and fees).
    pub fn reserved_cash_raw(&self) -> i128 {
        self.reserved_cash_raw
    }

    /// Books a funding payment of one leg (`amount_raw` received, or paid when
    /// negative) into cash and realised PnL. Returns what a payment took from the leg's
    /// locked margin because the free cash could not cover it (zero otherwise):
    /// the caller lowers the leg's locked cash by as much.
    pub fn fund(&mut self, amount_raw: i128) -> i128 {
        self.funding_raw += amount_raw;
        self.realised_raw += amount_raw;
        let free = self.available_raw - self.reserved_cash_raw;
        let from_cash = amount_raw.max(-free.max(0));
        let from_margin = from_cash - amount_raw;
        self.available_raw += from_cash;
        self.open_value_raw -= from_margin;
        self.track_cash();
        from_margin
    }

    /// Reserved by working entry orders, in total (exposure and cash alike).
    pub fn reserved_raw(&self) -> i128 {
        self.reserved_raw
    }

    /// Locked cost of open legs per instrument id (filled only).
    pub fn locked_instrument_raw(&self) -> &[i128] {
        &self.instrument_raw
    }

    /// Locked cost of open legs per venue (filled only).
    pub fn locked_venue_raw(&self) -> &[i128; VENUE_COUNT] {
        &self.venue_raw
    }

    /// Reserved by working entry orders per instrument id.
    pub fn reserved_instrument_raw(&self) -> &[i128] {
        &self.reserved_instrument_raw
    }

    /// Reserved by working entry orders per venue.
    pub fn reserved_venue_raw(&self) -> &[i128; VENUE_COUNT] {
        &self.reserved_venue_raw
    }

    /// Exposure as risk checks it: filled plus working (locked plus reserved), and the
    /// cash entries may still spend (available minus reserved).
    pub fn exposure(&self) -> ExposureView<'_> {
        ExposureView {
            instrument_raw: &self.committed_instrument_raw,
            venue_raw: &self.committed_venue_raw,
            total_raw: self.exposure_open_raw + self.reserved_raw,
            available_raw: self.available_raw - self.reserved_cash_raw,
            equity_raw: self.equity_raw(),
        }
    }

    /// Changes one leg's reservation by `delta_raw` (positive when an entry order is
    /// sent, negative when it fills, ends or is no longer needed).
    pub fn reserve(&mut self, instrument: InstrumentId, venue: Venue, delta_raw: i128) {
        self.reserve_split(instrument, venue, delta_raw, delta_raw);
    }

    /// [`Portfolio::reserve`] with the cash apart: `delta_raw` of exposure and
    /// `cash_delta_raw` of cash (a perp leg's initial margin and fee).
    pub fn reserve_split(
        &mut self,
        instrument: InstrumentId,
        venue: Venue,
        delta_raw: i128,
        cash_delta_raw: i128,
    ) {
        self.reserved_cash_raw += cash_delta_raw;
        self.reserved_raw += delta_raw;
        let i = instrument.index();
        if let Some(slot) = self.reserved_instrument_raw.get_mut(i) {
            *slot += delta_raw;
        }
        if let Some(slot) = self.committed_instrument_raw.get_mut(i) {
            *slot += delta_raw;
        }
        self.reserved_venue_raw[venue_index(venue)] += delta_raw;
        self.committed_venue_raw[venue_index(venue)] += delta_raw;
        self.track(instrument, venue);
    }

    /// Advances the portfolio's clock (for utilisation and APR).
    pub fn advance(&mut self, now_ns: u64) {
        let start = *self.start_ns.get_or_insert(now_ns);
        if now_ns > self.last_ns && self.last_ns >= start {
            self.open_value_ns += self.open_value_raw * i128::from(now_ns - self.last_ns);
        }
        self.last_ns = self.last_ns.max(now_ns);
    }

    /// Locks `cost_raw` (an entry fill's value and fee) of one leg.
    pub fn lock(&mut self, instrument: InstrumentId, venue: Venue, cost_raw: i128) {
        self.lock_split(instrument, venue, cost_raw, cost_raw);
    }

    /// [`Portfolio::lock`] with the cash apart: `cost_raw` of exposure, `cash_raw` out
    /// of available capital (a perp leg's initial margin and fee).
    pub fn lock_split(
        &mut self,
        instrument: InstrumentId,
        venue: Venue,
        cost_raw: i128,
        cash_raw: i128,
    ) {
        self.available_raw -= cash_raw;
        self.open_value_raw += cash_raw;
        self.exposure_open_raw += cost_raw;
        if let Some(slot) = self.instrument_raw.get_mut(instrument.index()) {
            *slot += cost_raw;
        }
        if let Some(slot) = self.committed_instrument_raw.get_mut(instrument.index()) {
            *slot += cost_raw;
        }
        self.venue_raw[venue_index(venue)] += cost_raw;
        self.committed_venue_raw[venue_index(venue)] += cost_raw;
        self.track(instrument, venue);
    }

    /// Releases one leg's locked cost (part of closing a trade).
    pub fn release(&mut self, instrument: InstrumentId, venue: Venue, cost_raw: i128) {
        self.lock(instrument, venue, -cost_raw);
    }

    /// [`Portfolio::release`] with the cash apart.
    pub fn release_split(
        &mut self,
        instrument: InstrumentId,
        venue: Venue,
        cost_raw: i128,
        cash_raw: i128,
    ) {
        self.lock_split(instrument, venue, -cost_raw, -cash_raw);
    }

    /// Books a closed trade whose legs were released: its PnL, less the funding
    /// already booked, goes to available capital and realised PnL.
    pub fn close(&mut self, result: TradeResult) {
        let rest = result.pnl_raw - result.funding_raw;
        self.available_raw += rest;
        self.track_cash();
        self.realised_raw += rest;
        self.trades += 1;
        if result.pnl_raw > 0 {
            self.wins += 1;
            self.gross_profit_raw += result.pnl_raw;
        } else {
            self.gross_loss_raw -= result.pnl_raw;
        }
        self.leg_outs += u64::from(result.leg_outs);
        self.leg_out_loss_raw += result.leg_out_loss_raw;
        if result.locked_raw > 0 {
            let r = result.pnl_raw as f64 / result.locked_raw as f64;
            self.returns_sum += r;
            self.returns_sq_sum += r * r;
        }
        let equity = self.equity_raw();
        self.peak_raw = self.peak_raw.max(equity);
        self.max_drawdown_raw = self.max_drawdown_raw.max(self.peak_raw - equity);
    }

    /// The reported metrics.
    pub fn metrics(&self) -> Metrics {
        let quote = |raw: i128| raw as f64 / QUOTE_SCALE as f64;
        let n = self.trades as f64;
        let per_trade = |x: f64| if self.trades == 0 { 0.0 } else { x / n };
        let elapsed_ns = self.start_ns.map_or(0, |s| self.last_ns.saturating_sub(s)) as f64;
        let years = elapsed_ns / (NS_PER_DAY as f64 * DAYS_PER_YEAR);
        let start = quote(self.starting_raw);
        let mean = per_trade(self.returns_sum);
        let var = (per_trade(self.returns_sq_sum) - mean * mean).max(0.0);
        // E[r²] - mean² of equal returns leaves rounding noise, not variance.
        let var = if var <= mean * mean * VARIANCE_NOISE {
            0.0
        } else {
            var
        };
        Metrics {
            trades: self.trades,
            win_rate: per_trade(self.wins as f64),
            avg_profit: per_trade(quote(self.realised_raw)),
            capital_utilization: if elapsed_ns > 0.0 {
                self.open_value_ns as f64 / elapsed_ns / self.starting_raw as f64
            } else {
                0.0
            },
            leg_out_rate: per_trade(self.leg_outs as f64),
            leg_out_loss_share: if self.gross_loss_raw > 0 {
                quote(self.leg_out_loss_raw) / quote(self.gross_loss_raw)
            } else {
                0.0
            },
            realised_apr: if years > 0.0 {
                quote(self.realised_raw) / start / years
            } else {
                0.0
            },
            profit_factor: if self.gross_loss_raw > 0 {
                quote(self.gross_profit_raw) / quote(self.gross_loss_raw)
            } else if self.gross_profit_raw > 0 {
                f64::INFINITY
            } else {
                0.0
            },
            sharpe: if var > 0.0 && years > 0.0 {
                mean / var.sqrt() * (n / years).sqrt()
            } else {
                0.0
            },
            max_drawdown: quote(self.max_drawdown_raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::config::usd;

    const A: InstrumentId = InstrumentId(0);

    fn conserved(p: &Portfolio) -> bool {
        p.available_raw() + p.open_value_raw() == p.starting_raw() + p.realised_raw()
    }

    #[test]
    fn test_portfolio_lock_release_close_conserves_capital() {
        let mut p = Portfolio::new(usd(20_000), 2);
        p.advance(0);
        p.lock(A, Venue::Binance, usd(1_000));
        p.lock(InstrumentId(1), Venue::Okx, usd(1_000));
        assert!(conserved(&p));
        p.reserve(A, Venue::Binance, usd(500));
        p.reserve(A, Venue::Binance, -usd(500));
        assert_eq!(p.exposure().total_raw, usd(2_000));
        assert_eq!(p.exposure().venue_raw[2], usd(1_000));
        p.advance(NS_PER_DAY);
        p.release(A, Venue::Binance, usd(1_000));
        p.release(InstrumentId(1), Venue::Okx, usd(1_000));
        p.close(TradeResult {
            locked_raw: usd(2_000),
            pnl_raw: usd(20),
            funding_raw: 0,
            leg_outs: 0,
            leg_out_loss_raw: 0,
        });
        assert!(conserved(&p));
        assert_eq!(p.available_raw(), usd(20_020));
        assert_eq!(p.exposure().instrument_raw, &[0, 0]);
        let peaks = p.peaks();
        assert_eq!(
            (peaks.instrument_raw, peaks.venue_raw, peaks.total_raw),
            (usd(1_500), usd(1_500), usd(2_500))
        );
        assert_eq!(
            (peaks.cash_min_raw, peaks.free_cash_min_raw),
            (usd(18_000), usd(17_500))
        );
        let m = p.metrics();
        assert_eq!((m.trades, m.win_rate, m.avg_profit), (1, 1.0, 20.0));
        assert!((m.capital_utilization - 0.1).abs() < 1e-9);
        assert!((m.realised_apr - 0.001 * 365.0).abs() < 1e-9);
        assert!(m.profit_factor.is_infinite());
    }

    #[test]
    fn test_portfolio_margin_and_funding_by_hand() {
        let mut p = Portfolio::new(usd(10_000), 1);
        // 0.5 BTC short at 60,000 at 10x: 30,000 of exposure, 3,000 of margin plus a
        // 15.00 fee (5 bps) in cash.
        p.lock_split(A, Venue::Binance, usd(30_015), usd(3_015));
        assert_eq!(p.exposure().total_raw, usd(30_015));
        assert_eq!(p.available_raw(), usd(6_985));
        // Funding at 0.01%: the short receives 3.00.
        assert_eq!(p.fund(usd(3)), 0);
        assert_eq!((p.available_raw(), p.realised_raw()), (usd(6_988), usd(3)));
        assert!(conserved(&p));
        // A payment beyond the cash takes the rest from the locked margin.
        assert_eq!(p.fund(-usd(7_000)), usd(12));
        assert_eq!((p.available_raw(), p.open_value_raw()), (0, usd(3_003)));
        assert!(conserved(&p));
        p.release_split(A, Venue::Binance, usd(30_015), usd(3_003));
        // The trade's PnL -6,997 includes the -6,997 of funding: nothing more to book.
        p.close(TradeResult {
            locked_raw: usd(30_015),
            pnl_raw: -usd(6_997),
            funding_raw: -usd(6_997),
            leg_outs: 0,
            leg_out_loss_raw: 0,
        });
        assert_eq!(p.available_raw(), usd(3_003));
        assert_eq!(p.realised_raw(), -usd(6_997));
        assert!(conserved(&p));
        assert_eq!(p.peaks().cash_min_raw, 0);
    }

    #[test]
    fn test_portfolio_equal_returns_have_no_sharpe() {
        let mut p = Portfolio::new(usd(20_000), 1);
        p.advance(0);
        for _ in 0..60 {
            p.close(TradeResult {
                locked_raw: usd(247),
                pnl_raw: -usd(37) / 100,
                funding_raw: 0,
                leg_outs: 1,
                leg_out_loss_raw: 0,
            });
        }
        p.advance(NS_PER_DAY);
        assert_eq!(p.metrics().sharpe, 0.0);
    }

    #[test]
    fn test_portfolio_metrics_losses_leg_outs_drawdown() {
        let mut p = Portfolio::new(usd(20_000), 1);
        p.advance(0);
        for pnl in [30, -10, -20, 40] {
            p.close(TradeResult {
                locked_raw: usd(1_000),
                pnl_raw: usd(pnl),
                funding_raw: 0,
                leg_outs: u32::from(pnl == -20),
                leg_out_loss_raw: if pnl == -20 { usd(15) } else { 0 },
            });
        }
        p.advance(NS_PER_DAY * 365);
        let m = p.metrics();
        assert_eq!(m.win_rate, 0.5);
        assert_eq!(m.avg_profit, 10.0);
        assert_eq!(m.profit_factor, 70.0 / 30.0);
        assert_eq!(m.max_drawdown, 30.0);
        assert_eq!(m.leg_out_rate, 0.25);
        assert_eq!(m.leg_out_loss_share, 0.5);
        assert!(m.sharpe > 0.0);
        assert_eq!(p.leg_outs(), (1, usd(15)));
        assert!(conserved(&p));
    }
}
