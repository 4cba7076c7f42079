//! The cross-venue spread scanner: the state around [`crate::edge::spread`]'s pure
//! arithmetic. It groups instruments of the same base and kind across venues at
//! start-up, keeps each scanned market's latest top of book (with its last valid prices
//! when the book turns invalid, so the rejection is counted) and mid volatility, each
//! venue's latest delay, counts rejections per reason and keeps the best opportunities
//! for status views.
//!
//! Owned by the edge stage's thread. Every buffer (markets, peer lists, the top N) is
//! allocated in [`Scanner::new`]; [`Scanner::on_update`] never allocates. It reads no
//! clock: venue delays come in with each update.

use std::time::Duration;

use crate::book::top::TopUpdate;
use crate::edge::spread::{LegView, MidVolatility, ScannerParams, evaluate};
use crate::edge::spread_opportunity::{RejectionCounts, SpreadOpportunity};
use crate::types::bps::Bps;
use crate::types::{Instrument, InstrumentId, InstrumentRegistry, MarketKind, Price, Venue};

/// What the scanner needs from the configuration for one market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketTerms {
    /// Taker fee, bps.
    pub taker_fee: Bps,
    /// Venue delay above which the venue is stale.
    pub stale_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Market {
    venue: usize,
    perp: bool,
    contract_raw: i128,
    min_notional: Price,
    terms: MarketTerms,
    stale_after_ms: u32,
    last: Option<TopUpdate>,
    valid: bool,
    volatility: MidVolatility,
}

/// Counters of the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScannerCounts {
    /// Candidates evaluated (gross spread above zero between two venues).
    pub candidates: u64,
    /// Candidates accepted.
    pub accepted: u64,
    /// Rejected candidates per reason.
    pub rejections: RejectionCounts,
}

/// The scanner.
#[derive(Debug)]
pub struct Scanner {
    params: ScannerParams,
    markets: Vec<Market>,
    peers: Vec<Vec<InstrumentId>>,
    venue_delay_ms: [u32; Venue::ALL.len()],
    top: Vec<SpreadOpportunity>,
    counts: ScannerCounts,
}

fn venue_index(venue: Venue) -> usize {
    Venue::ALL.iter().position(|&v| v == venue).unwrap_or(0)
}

impl Scanner {
    /// A scanner over every group of two or more instruments with the same base and
    /// kind on different venues; `terms` gives each market's fee and stale limit.
    pub fn new(
        registry: &InstrumentRegistry,
        params: ScannerParams,
        terms: impl Fn(&Instrument) -> MarketTerms,
    ) -> Self {
        let markets = registry
            .iter()
            .map(|spec| {
                let terms = terms(spec);
                Market {
                    venue: venue_index(spec.venue),
                    perp: spec.kind == MarketKind::Perp,
                    contract_raw: spec.contract_size.raw(),
                    min_notional: spec.min_notional,
                    terms,
                    stale_after_ms: u32::try_from(terms.stale_after.as_millis())
                        .unwrap_or(u32::MAX),
                    last: None,
                    valid: false,
                    volatility: MidVolatility::default(),
                }
            })
            .collect();
        let peers = registry
            .iter()
            .map(|a| {
                registry
                    .iter()
                    .filter(|b| {
                        params.enabled && b.venue != a.venue && b.kind == a.kind && b.base == a.base
                    })
                    .map(|b| b.id)
                    .collect()
            })
            .collect();
        Self {
            top: Vec::with_capacity(params.top_n),
            params,
            markets,
            peers,
            venue_delay_ms: [0; Venue::ALL.len()],
            counts: ScannerCounts::default(),
        }
    }

    /// The configuration.
    pub fn params(&self) -> &ScannerParams {
        &self.params
    }

    /// Counters so far.
    pub fn counts(&self) -> &ScannerCounts {
        &self.counts
    }

    /// Whether `id` is quoted on another venue (the scanner reads its ladder).
    pub fn scans(&self, id: InstrumentId) -> bool {
        self.peers.get(id.index()).is_some_and(|p| !p.is_empty())
    }

    /// Instruments quoted on at least one other venue (the scanned ones).
    pub fn scanned(&self) -> usize {
        self.peers.iter().filter(|p| !p.is_empty()).count()
    }

    /// The best opportunities kept (one per buy/sell direction), best first. Cold path:
    /// sorts a copy.
    pub fn top(&self) -> Vec<SpreadOpportunity> {
        let mut top = self.top.clone();
        top.sort_by_key(|o| std::cmp::Reverse(o.best_size().expected_profit_raw));
        top
    }

    /// Takes one update (`delay_ms`: the venue's delay measured on it, when it carried
    /// a venue time) and evaluates every pair it touches; `accepted` is called with
    /// each accepted opportunity (its ingress time set; the caller sets the decision
    /// time and expiry in place, before it is kept for the top N).
    pub fn on_update(
        &mut self,
        update: &TopUpdate,
        delay_ms: Option<u32>,
        mut accepted: impl FnMut(&mut SpreadOpportunity),
    ) {
        let index = update.instrument.index();
        let Some(market) = self.markets.get_mut(index) else {
            return;
        };
        if let Some(delay) = delay_ms {
            self.venue_delay_ms[market.venue] = delay;
        }
        if self.peers[index].is_empty() {
            // No other venue quotes it: no pair ever reads its top.
            return;
        }
        if !update.valid {
            // Keep the last valid prices: a peer's update then counts the rejection.
            market.valid = false;
            if let Some(last) = market.last.as_mut() {
                last.perp = update.perp;
            }
            return;
        }
        market.valid = true;
        market.volatility.update(update.bid, update.ask);
        market.last = Some(*update);
        for k in 0..self.peers[index].len() {
            let peer = self.peers[index][k].index();
            for (buy, sell) in [(index, peer), (peer, index)] {
                self.evaluate_pair(buy, sell, update.ts_recv_raw, &mut accepted);
            }
        }
    }

    fn evaluate_pair(
        &mut self,
        buy: usize,
        sell: usize,
        ts_recv_raw: u64,
        accepted: &mut impl FnMut(&mut SpreadOpportunity),
    ) {
        let (Some(buy_view), Some(sell_view)) = (self.view(buy), self.view(sell)) else {
            return;
        };
        let Some(result) = evaluate(&buy_view, &sell_view, &self.params) else {
            return;
        };
        self.counts.candidates += 1;
        match result {
            Ok(mut opp) => {
                opp.ts_recv_raw = ts_recv_raw;
                self.counts.accepted += 1;
                accepted(&mut opp);
                self.keep_top(&opp);
            }
            Err(reason) => self.counts.rejections.add(reason),
        }
    }

    fn view(&self, index: usize) -> Option<LegView<'_>> {
        let m = &self.markets[index];
        Some(LegView {
            top: m.last.as_ref()?,
            valid: m.valid,
            contract_raw: m.contract_raw,
            min_notional: m.min_notional,
            taker_fee: m.terms.taker_fee,
            delay_ms: self.venue_delay_ms[m.venue],
            stale_after_ms: m.stale_after_ms,
            volatility: m.volatility.get(),
            perp: m.perp,
        })
    }

    /// Keeps the best opportunity per direction, at most `top_n` directions (the least
    /// profitable one makes room).
    fn keep_top(&mut self, opp: &SpreadOpportunity) {
        let profit = |o: &SpreadOpportunity| o.best_size().expected_profit_raw;
        if let Some(same) = self
            .top
            .iter_mut()
            .find(|o| o.buy == opp.buy && o.sell == opp.sell)
        {
            if profit(opp) > profit(same) {
                *same = *opp;
            }
            return;
        }
        if self.top.len() < self.params.top_n {
            self.top.push(*opp);
            return;
        }
        if let Some(worst) = self.top.iter_mut().min_by_key(|o| profit(o))
            && profit(opp) > profit(worst)
        {
            *worst = *opp;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::book::top::{Ladder, PerpInfo};
    use crate::edge::spread_opportunity::RejectReason;
    use crate::types::{InstrumentSpec, Qty};

    /// BTC spot on `venues.len()` venues (ids 0..), then a BTC perp on the first venue.
    pub(crate) fn registry(venues: &[Venue]) -> InstrumentRegistry {
        let mut r = InstrumentRegistry::default();
        let spec = |venue, kind| InstrumentSpec {
            venue,
            kind,
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            tick_size: Price::from_raw(1),
            lot_size: Qty::from_raw(1),
            min_notional: Price::from_raw(100 * Price::SCALE),
            contract_size: Qty::from_raw(Qty::SCALE),
        };
        for &venue in venues {
            r.insert(spec(venue, MarketKind::Spot)).unwrap();
        }
        r.insert(spec(venues[0], MarketKind::Perp)).unwrap();
        r
    }

    pub(crate) fn terms(_: &Instrument) -> MarketTerms {
        MarketTerms {
            taker_fee: Bps::ONE,
            stale_after: Duration::from_millis(200),
        }
    }

    pub(crate) fn update(id: u32, bid: i64, ask: i64) -> TopUpdate {
        let px = |cents: i64| Price::from_raw(i128::from(cents) * Price::SCALE / 100);
        TopUpdate {
            instrument: InstrumentId(id),
            bid: px(bid),
            bid_qty: Qty::from_raw(10 * Qty::SCALE),
            ask: px(ask),
            ask_qty: Qty::from_raw(10 * Qty::SCALE),
            bid_depth_quote: 1_000_000 * 100_000_000,
            ask_depth_quote: 1_000_000 * 100_000_000,
            ladder: Ladder::default(),
            perp: PerpInfo::default(),
            valid: true,
            ts_recv_raw: 7,
            ts_venue_ms: 0,
        }
    }

    fn scanner(venues: &[Venue]) -> Scanner {
        Scanner::new(&registry(venues), ScannerParams::default(), terms)
    }

    #[test]
    fn test_groups_are_same_base_and_kind_across_venues() {
        let s = scanner(&[Venue::Binance, Venue::Okx, Venue::Bybit]);
        assert_eq!(s.scanned(), 3, "the lone perp is not scanned");
        let off = Scanner::new(
            &registry(&[Venue::Binance, Venue::Okx]),
            ScannerParams {
                enabled: false,
                ..ScannerParams::default()
            },
            terms,
        );
        assert_eq!(off.scanned(), 0);
    }

    #[test]
    fn test_one_side_missing_makes_no_candidate() {
        let mut s = scanner(&[Venue::Binance, Venue::Okx]);
        let mut seen = 0;
        s.on_update(&update(0, 9990, 10000), None, |_| seen += 1);
        assert_eq!((seen, s.counts().candidates), (0, 0));
        s.on_update(&update(1, 10030, 10040), None, |o| {
            assert_eq!((o.buy, o.sell), (InstrumentId(0), InstrumentId(1)));
            assert_eq!(o.ts_recv_raw, 7);
            seen += 1;
        });
        assert_eq!(
            (seen, s.counts().candidates, s.counts().accepted),
            (1, 1, 1)
        );
        assert_eq!(s.top().len(), 1);
    }

    #[test]
    fn test_invalid_book_and_stale_venue_are_counted_rejections() {
        let mut s = scanner(&[Venue::Binance, Venue::Okx]);
        s.on_update(&update(0, 9990, 10000), None, |_| {});
        let mut invalid = update(0, 0, 0);
        invalid.valid = false;
        s.on_update(&invalid, None, |_| {
            panic!("an invalid update evaluates nothing")
        });
        s.on_update(&update(1, 10030, 10040), None, |_| panic!("book invalid"));
        assert_eq!(s.counts().rejections.get(RejectReason::BookInvalid), 1);
        s.on_update(&update(0, 9990, 10000), None, |_| {});
        s.on_update(&update(1, 10030, 10040), Some(250), |_| panic!("stale"));
        assert_eq!(s.counts().rejections.get(RejectReason::VenueStale), 1);
        s.on_update(&update(1, 10030, 10040), Some(20), |_| {});
        assert_eq!(s.counts().accepted, 2);
        assert_eq!(s.counts().candidates, 4);
    }

    #[test]
    fn test_a_market_no_other_venue_quotes_still_reports_its_venue_delay() {
        let mut s = scanner(&[Venue::Binance, Venue::Okx]);
        s.on_update(&update(0, 9990, 10000), None, |_| {});
        s.on_update(&update(2, 9990, 10000), Some(250), |_| {
            panic!("the lone perp has no pair")
        });
        assert_eq!(s.counts().candidates, 0);
        s.on_update(&update(1, 10030, 10040), None, |_| {
            panic!("Binance is stale")
        });
        assert_eq!(s.counts().rejections.get(RejectReason::VenueStale), 1);
    }

    #[test]
    fn test_top_keeps_the_best_per_direction_within_n() {
        let mut s = Scanner::new(
            &registry(&[Venue::Binance, Venue::Okx, Venue::Bybit]),
            ScannerParams {
                top_n: 1,
                ..ScannerParams::default()
            },
            terms,
        );
        s.on_update(&update(0, 9990, 10000), None, |_| {});
        s.on_update(&update(1, 10030, 10040), None, |_| {});
        s.on_update(&update(1, 10020, 10040), None, |_| {});
        let top = s.top();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].sell_bid, Price::from_raw(10030 * Price::SCALE / 100));
        s.on_update(&update(2, 10050, 10060), None, |_| {});
        assert_eq!(s.top()[0].sell, InstrumentId(2));
    }
}
