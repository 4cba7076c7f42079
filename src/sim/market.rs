//! The simulated venues as a plain steppable struct: the common fair price, one
//! [`VenueModel`] per configured venue (its spot and perp markets), the dislocation
//! record, and the frames each step produces.
//!
//! Owned by the model thread (`runner`), or by a test that steps it by hand: no thread,
//! no socket, no clock. Allocates frame strings (cold path; a step makes at most a few
//! frames per market) and one record per dislocation. Deterministic: the frames of every
//! step are a pure function of the configuration (seed included) and the venue start
//! time. The fair price draws from the common generator (seeded from the seed); each
//! venue draws from its own generator (seeded from the seed and the venue), so a venue's
//! frames do not depend on which other venues are configured.
//!
//! Every book is built at construction (step "-1"), so the first depth message of a
//! market carries only the changes of its first interval, as on the real venues: clients
//! get the initial book from a snapshot (Binance's REST depth, Bybit's and OKX's
//! snapshot on subscribe, Hyperliquid's periodic snapshots). What each venue sends per
//! step is described in `venue`.

use super::book::Levels;
use super::price::{DislocationChange, FairPrice};
use super::rng::SimRng;
use super::venue::VenueModel;
use super::{Dislocation, SimConfig, SimError};
use crate::types::{MarketKind, Venue};
use std::time::Duration;

/// One simulated market: a venue's spot or perp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Market {
    /// The venue.
    pub(crate) venue: Venue,
    /// Spot or perp.
    pub(crate) kind: MarketKind,
}

impl Market {
    /// The market a WebSocket path serves, if any: `/{venue}/{spot|perp}`, or the
    /// Binance aliases `/ws/spot` and `/ws/perp`.
    pub(crate) fn from_path(path: &str) -> Option<Self> {
        let (venue, kind) = path.strip_prefix('/')?.split_once('/')?;
        let venue = match venue {
            "ws" => Venue::Binance,
            name => Venue::from_name(name)?,
        };
        let kind = match kind {
            "spot" => MarketKind::Spot,
            "perp" => MarketKind::Perp,
            _ => return None,
        };
        Some(Self { venue, kind })
    }
}

/// A stream kind a connection can subscribe to, as a bit of its subscription mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum StreamKind {
    /// Top of book: Binance `bookTicker`, OKX `bbo-tbt`, Hyperliquid `bbo`.
    BookTicker = 1,
    /// The book: Binance `depth`, Bybit `orderbook.50`, OKX `books`, Hyperliquid `l2Book`.
    Depth = 2,
    /// Funding, mark and index (perp): Binance `markPrice`, Bybit `tickers`, OKX
    /// `funding-rate`, Hyperliquid `activeAssetCtx`.
    Funding = 4,
    /// Public trades: Binance `trade`, Bybit `publicTrade`, OKX `trades`, Hyperliquid
    /// `trades`.
    Trade = 8,
}

impl StreamKind {
    /// The kind's bit in a subscription mask.
    pub(crate) fn bit(self) -> u8 {
        self as u8
    }
}

/// One frame for the subscribers of `(market, stream)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) market: Market,
    pub(crate) stream: StreamKind,
    pub(crate) text: String,
}

/// Venue time of steps: `start_ms + k * step`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepClock {
    start_ms: u64,
    step_us: u64,
}

impl StepClock {
    /// Venue time of step `k`, unix ms.
    pub(crate) fn venue_ms(self, k: u64) -> u64 {
        self.start_ms + k.saturating_mul(self.step_us) / 1_000
    }

    /// Whether step `k` is the first one of a new `interval` of sim time (step 0 is).
    pub(crate) fn is_first_of(self, k: u64, interval: Duration) -> bool {
        let interval_us = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX);
        let slot = |k: u64| k.saturating_mul(self.step_us) / interval_us;
        k == 0 || slot(k) != slot(k - 1)
    }
}

/// Salt mixed into the seed for a venue's own generator.
fn venue_seed(seed: u64, venue: Venue) -> u64 {
    let index = Venue::ALL.iter().position(|v| *v == venue).unwrap_or(0);
    seed ^ (0x9E37_79B9_7F4A_7C15u64).wrapping_mul(u64::try_from(index).unwrap_or(0) + 1)
}

/// Every configured venue, stepped by hand.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    rng: SimRng,
    fair: FairPrice,
    venues: Vec<VenueModel>,
    step_index: u64,
    clock: StepClock,
    record: Vec<Dislocation>,
    /// Per venue, the record index of its dislocation in progress.
    active: Vec<Option<usize>>,
    /// Smallest record index changed since [`Model::take_dislocation_changes`].
    changed_from: usize,
}

impl Model {
    /// A model at step 0 whose venue time starts at `start_ms` (unix ms), every book
    /// already built.
    pub(crate) fn new(config: &SimConfig, start_ms: u64) -> Result<Self, SimError> {
        config.validate()?;
        let rng = SimRng::new(config.seed);
        let fair = FairPrice::new(config);
        let mut venues = Vec::with_capacity(config.venues.len());
        for venue in &config.venues {
            let rng = SimRng::new(venue_seed(config.seed, venue.venue));
            venues.push(VenueModel::new(config, venue, rng));
        }
        Ok(Self {
            rng,
            fair,
            active: vec![None; venues.len()],
            venues,
            step_index: 0,
            clock: StepClock {
                start_ms,
                step_us: config.step_us()?,
            },
            record: Vec::new(),
            changed_from: 0,
        })
    }

    /// Moves venue time so that the next step is at `start_ms` (the model clock starts).
    pub(crate) fn set_start_ms(&mut self, start_ms: u64) {
        self.clock.start_ms = start_ms;
    }

    /// Moves venue time on by `pause` (the model was paused that long).
    pub(crate) fn shift_start(&mut self, pause: Duration) {
        let ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
        self.clock.start_ms = self.clock.start_ms.saturating_add(ms);
    }

    /// Runs one step, appending its frames to `frames`; returns whether the dislocation
    /// record changed (one started or ended).
    pub(crate) fn step(&mut self, frames: &mut Vec<Frame>) -> bool {
        let k = self.step_index;
        let fair = self.fair.step(&mut self.rng);
        let mut changed = false;
        for i in 0..self.venues.len() {
            let venue = &mut self.venues[i];
            let Some(change) = venue.step(fair, k, self.clock, frames) else {
                continue;
            };
            let venue = venue.venue();
            changed = true;
            let ms = self.clock.venue_ms(k);
            match change {
                DislocationChange::Started { peak_bps, leg } => {
                    self.changed_from = self.changed_from.min(self.record.len());
                    self.active[i] = Some(self.record.len());
                    self.record.push(Dislocation {
                        start_ms: ms,
                        end_ms: ms,
                        peak_bps,
                        leg,
                        venue,
                    });
                }
                DislocationChange::Ended => self.close(i, ms),
            }
        }
        self.step_index += 1;
        changed
    }

    fn close(&mut self, venue_index: usize, ms: u64) {
        if let Some(index) = self.active[venue_index].take() {
            self.record[index].end_ms = ms;
            self.changed_from = self.changed_from.min(index);
        }
    }

    /// Every dislocation injected so far, all venues, in start order.
    #[cfg(test)]
    pub(crate) fn dislocations(&self) -> &[Dislocation] {
        &self.record
    }

    /// The smallest record index changed since the last call, and the whole record.
    pub(crate) fn take_dislocation_changes(&mut self) -> (usize, &[Dislocation]) {
        let from = self.changed_from;
        self.changed_from = self.record.len();
        (from, &self.record)
    }

    /// Closes every dislocation still in progress at the last step's venue time.
    pub(crate) fn finish(&mut self) {
        let last_ms = self.clock.venue_ms(self.step_index.saturating_sub(1));
        for i in 0..self.venues.len() {
            if self.venues[i].finish() {
                self.close(i, last_ms);
            }
        }
    }

    fn venue_model(&self, market: Market) -> Option<&VenueModel> {
        self.venues.iter().find(|v| v.venue() == market.venue)
    }

    /// The snapshot a new subscriber of `(market, stream)` gets, if that stream starts
    /// with one and the last step was one of its emission steps (so the snapshot links
    /// exactly with the updates that follow).
    pub(crate) fn snapshot(&self, market: Market, stream: StreamKind) -> Option<String> {
        let k = self.step_index.checked_sub(1)?;
        self.venue_model(market)?
            .snapshot(market.kind, stream, self.clock.venue_ms(k))
    }

    /// The body of Binance's REST depth snapshot of `market` with at most `limit` levels
    /// a side, from the current book; `None` if the market is not a Binance one.
    pub(crate) fn rest_depth(&self, market: Market, limit: usize) -> Option<String> {
        if market.venue != Venue::Binance {
            return None;
        }
        let ms = self.clock.venue_ms(self.step_index);
        self.venue_model(market)?.rest_depth(market.kind, limit, ms)
    }

    /// Whether the last step sent every market's depth message, so no book change is
    /// waiting for the next one (false before the first step).
    pub(crate) fn depth_flushed(&self) -> bool {
        self.step_index > 0 && self.venues.iter().all(VenueModel::depth_flushed)
    }

    /// A market's current levels `(bids, asks)`, best first, raw.
    pub(crate) fn book_levels(&self, market: Market) -> Option<(Levels, Levels)> {
        Some(self.venue_model(market)?.levels(market.kind))
    }

    /// The venue models, in configuration order.
    #[cfg(test)]
    pub(crate) fn venues(&self) -> &[VenueModel] {
        &self.venues
    }
}

#[cfg(test)]
mod tests;
