//! Funding as money: when each perpetual settles funding, at which rate and mark, and
//! what one open position pays or receives then.
//!
//! Schedule: a venue's next settlement time comes from its feed where the feed carries
//! it (Binance `markPriceUpdate` `T`, Bybit tickers `nextFundingTime`, OKX funding-rate
//! `fundingTime`); where it does not (Hyperliquid's asset contexts, a feed that sent only
//! a rate), it is the next multiple of the venue's interval (`exits.funding_interval_h`,
//! defaults 8 h, and 1 h for Hyperliquid) on the UTC clock. After a settlement the next
//! one is one interval later until the feed says otherwise. A replay or backtest reads
//! the same recorded events and so settles the same payments.
//!
//! Amount (exact integers): a leg of `q` venue units at mark `M` with rate `r` has the
//! notional `N = M × q` (raw 10^-8 quote units, [`Price::notional_raw`]) and receives
//! `N × r` when short and pays it when long: a positive rate means longs pay shorts, a
//! negative one the reverse. The product is truncated toward zero at 10^-8 quote. The
//! rate is the last one seen before the settlement, the mark the last mark price (the
//! book mid where the feed sends none).
//!
//! Owned by the gateway thread; sized once in [`FundingBook::new`], allocation-free
//! afterwards. It only keeps rates and times: the gateway books the payments into the
//! trades and the portfolio.

use crate::gateway::config::NS_PER_HOUR;
use crate::types::decimal::mul_div;
use crate::types::{FundingFields, MarketKind, OrderSide, Price, Qty, Rate};

/// Nanoseconds per millisecond.
const NS_PER_MS: u64 = 1_000_000;

/// Funding state of one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FundingState {
    /// The last rate seen (per interval), if any.
    pub rate: Option<Rate>,
    /// The last mark price seen (zero: none yet).
    pub mark: Price,
    /// The next settlement, ns (zero: not known yet).
    pub next_ns: u64,
    /// Hours per funding interval of its venue.
    interval_h: u32,
    perp: bool,
}

/// The funding state of every instrument.
#[derive(Debug, Clone)]
pub struct FundingBook {
    states: Vec<FundingState>,
}

/// The next multiple of `interval_h` hours strictly after `now_ns` (UTC-aligned).
pub fn next_boundary_ns(now_ns: u64, interval_h: u32) -> u64 {
    let step = u64::from(interval_h.max(1)) * NS_PER_HOUR;
    (now_ns / step + 1) * step
}

/// What a leg of `qty` venue units on `side` receives (positive) or pays (negative) at a
/// settlement at `mark` with `rate`: `-(±1) × mark × qty × rate`, truncated toward zero.
pub fn payment_raw(side: OrderSide, qty: Qty, mark: Price, rate: Rate) -> i128 {
    let notional = mark.notional_raw(qty);
    let amount = mul_div(notional, i128::from(rate.raw()), i128::from(Rate::SCALE));
    match side {
        OrderSide::Buy => -amount,
        OrderSide::Sell => amount,
    }
}

impl FundingBook {
    /// A book for instruments of these kinds, each with its venue's interval in hours.
    pub fn new(markets: impl Iterator<Item = (MarketKind, u32)>) -> Self {
        Self {
            states: markets
                .map(|(kind, interval_h)| FundingState {
                    interval_h,
                    perp: kind == MarketKind::Perp,
                    ..FundingState::default()
                })
                .collect(),
        }
    }

    /// Instrument `id`'s state.
    pub fn get(&self, id: usize) -> Option<&FundingState> {
        self.states.get(id)
    }

    /// The last rate per instrument (for the funding-delta exits).
    pub fn rate(&self, id: usize) -> Option<Rate> {
        self.states.get(id)?.rate
    }

    /// Takes a funding event's fields for instrument `id` at `now_ns`. The caller settles
    /// what was due before (an event may already name the settlement after).
    pub fn on_event(
        &mut self,
        id: usize,
        now_ns: u64,
        fields: FundingFields,
        (rate, mark, next_funding_ms): (Rate, Price, u64),
    ) {
        let Some(s) = self.states.get_mut(id).filter(|s| s.perp) else {
            return;
        };
        if fields.contains(FundingFields::RATE) {
            s.rate = Some(rate);
        }
        if fields.contains(FundingFields::MARK) && mark > Price::ZERO {
            s.mark = mark;
        }
        let feed_next = next_funding_ms.saturating_mul(NS_PER_MS);
        if fields.contains(FundingFields::NEXT_FUNDING) && feed_next > now_ns {
            s.next_ns = feed_next;
        } else if s.next_ns == 0 && s.rate.is_some() {
            s.next_ns = next_boundary_ns(now_ns, s.interval_h);
        }
    }

    /// The earliest settlement due at or before `now_ns`: the instrument, its state as
    /// of the settlement; the schedule moves on one interval. `None` when nothing is due.
    pub fn take_due(&mut self, now_ns: u64) -> Option<(usize, FundingState)> {
        let (id, s) = self
            .states
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.next_ns != 0 && s.next_ns <= now_ns)
            .min_by_key(|(_, s)| s.next_ns)?;
        let settled = *s;
        s.next_ns = next_boundary_ns(s.next_ns, s.interval_h);
        Some((id, settled))
    }

    /// The next settlement of any instrument, ns.
    pub fn next_due_ns(&self) -> Option<u64> {
        self.states
            .iter()
            .filter(|s| s.next_ns != 0)
            .map(|s| s.next_ns)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::config::usd;

    fn p(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn q(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    fn r(s: &str) -> Rate {
        Rate::from_decimal_str(s).unwrap()
    }

    #[test]
    fn test_funding_payment_by_hand() {
        // 0.5 BTC at 60,000 is 30,000; 0.01% of it is 3.00: the short receives it.
        let short = payment_raw(OrderSide::Sell, q("0.5"), p("60000"), r("0.0001"));
        assert_eq!(short, usd(3));
        assert_eq!(
            payment_raw(OrderSide::Buy, q("0.5"), p("60000"), r("0.0001")),
            -usd(3),
            "a positive rate: longs pay"
        );
        // A negative rate: 0.2 ETH long at 3,000 (600) at -0.0375% receives 0.225.
        let long = payment_raw(OrderSide::Buy, q("0.2"), p("3000"), r("-0.000375"));
        assert_eq!(long, usd(225) / 1_000);
    }

    #[test]
    fn test_funding_schedule_from_the_feed_or_the_interval() {
        let h = NS_PER_HOUR;
        let mut book = FundingBook::new([(MarketKind::Perp, 8), (MarketKind::Perp, 1)].into_iter());
        // Binance names its next settlement (08:00); Hyperliquid sends a rate only.
        let at = 5 * h + 17;
        let fields = FundingFields::RATE
            .with(FundingFields::MARK)
            .with(FundingFields::NEXT_FUNDING);
        let ms = 8 * h / NS_PER_MS;
        book.on_event(0, at, fields, (r("0.0001"), p("60000"), ms));
        book.on_event(1, at, FundingFields::RATE, (r("0.00002"), Price::ZERO, 0));
        assert_eq!(book.get(0).unwrap().next_ns, 8 * h);
        assert_eq!(book.get(1).unwrap().next_ns, 6 * h, "hourly, on the hour");
        assert_eq!(book.next_due_ns(), Some(6 * h));
        assert_eq!(book.take_due(6 * h - 1), None);
        let (id, s) = book.take_due(8 * h).unwrap();
        assert_eq!((id, s.next_ns), (1, 6 * h));
        let (id, s) = book.take_due(8 * h).unwrap();
        assert_eq!(
            (id, s.next_ns),
            (1, 7 * h),
            "the 07:00 settlement before 08:00"
        );
        let (id, s) = book.take_due(8 * h).unwrap();
        assert_eq!((id, s.rate, s.mark), (0, Some(r("0.0001")), p("60000")));
        let (id, _) = book.take_due(8 * h).unwrap();
        assert_eq!(id, 1);
        assert_eq!(book.take_due(8 * h), None);
        assert_eq!(book.get(0).unwrap().next_ns, 16 * h);
        assert_eq!(next_boundary_ns(16 * h, 8), 24 * h);
    }

    #[test]
    fn test_funding_spot_has_no_schedule() {
        let mut book = FundingBook::new([(MarketKind::Spot, 8)].into_iter());
        book.on_event(0, 1, FundingFields::ALL, (r("0.001"), p("1"), 10));
        assert_eq!(book.next_due_ns(), None);
        assert_eq!(book.rate(0), None);
    }
}
