//! The simulated venues as a plain steppable struct: one fair price path per base
//! (common to every venue), one [`VenueModel`] per configured venue and base (its spot
//! and perp symbols of that base), the dislocation record, and the frames each step
//! produces.
//!
//! Owned by the model thread (`runner`), or by a test that steps it by hand: no thread,
//! no socket, no clock. Allocates frame strings (cold path; a step makes at most a few
//! frames per market) and one record per dislocation. Deterministic: the frames of every
//! step are a pure function of the configuration (seed included) and the venue start
//! time. A base's fair price draws from its own generator (seeded from the seed and the
//! base); each venue's base draws from its own (seeded from the seed, the venue and the
//! base), so a symbol's frames do not depend on which other venues or bases are
//! configured.
//!
//! Every book is built at construction (step "-1"), so the first depth message of a
//! market carries only the changes of its first interval, as on the real venues: clients
//! get the initial book from a snapshot (Binance's and OKX's REST books, Bybit's snapshot
//! on subscribe, OKX's too with `okx_snapshot_push`, Hyperliquid's periodic snapshots). What each venue sends per
//! step is described in `venue`.

use super::book::Levels;
use super::price::{DislocationChange, FairPrice};
use super::rng::SimRng;
use super::venue::VenueModel;
use super::{Dislocation, SimConfig, SimError, SimMarket, SimVenue};
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
    /// The market a WebSocket path serves, and which of its streams (a mask of
    /// [`StreamKind`] bits): `/{venue}/{spot|perp}`, or the Binance aliases `/ws/spot`
    /// and `/ws/perp`, serve every stream, except on Binance USD-M, whose streams are
    /// split by endpoint group as on the venue since 2026-04-23: `/binance/perp/public/ws`
    /// (alias `/public/ws`) serves `bookTicker` and `depth`, `/binance/perp/market/ws`
    /// (alias `/market/ws`) `markPrice` and `trade`, and an unrouted USD-M path
    /// (`/binance/perp`, `/ws/perp`) only the public ones, as the venue's unrouted `/ws`
    /// does. A stream subscribed on a path that does not serve it is acknowledged and
    /// never sent.
    pub(crate) fn from_path(path: &str) -> Option<(Self, u8)> {
        let binance_perp = Self {
            venue: Venue::Binance,
            kind: MarketKind::Perp,
        };
        let group = |name: &str| match name {
            "public" | "public/ws" => Some(PUBLIC_STREAMS),
            "market" | "market/ws" => Some(MARKET_STREAMS),
            _ => None,
        };
        let path = path.strip_prefix('/')?;
        if let Some(rest) = path.strip_prefix("binance/perp/") {
            return Some((binance_perp, group(rest)?));
        }
        if let Some(name) = path.strip_suffix("/ws") {
            return Some((binance_perp, group(name)?));
        }
        let (venue, kind) = path.split_once('/')?;
        let venue = match venue {
            "ws" => Venue::Binance,
            name => Venue::from_name(name)?,
        };
        let kind = match kind {
            "spot" => MarketKind::Spot,
            "perp" => MarketKind::Perp,
            _ => return None,
        };
        let market = Self { venue, kind };
        let served = if market == binance_perp {
            PUBLIC_STREAMS
        } else {
            ALL_STREAMS
        };
        Some((market, served))
    }
}

/// Every stream kind.
pub(crate) const ALL_STREAMS: u8 = StreamKind::BookTicker as u8
    | StreamKind::Depth as u8
    | StreamKind::Funding as u8
    | StreamKind::Trade as u8;
/// Binance USD-M `/public`: book ticker and depth.
pub(crate) const PUBLIC_STREAMS: u8 = StreamKind::BookTicker as u8 | StreamKind::Depth as u8;
/// Binance USD-M `/market`: mark price (funding) and trades.
pub(crate) const MARKET_STREAMS: u8 = StreamKind::Funding as u8 | StreamKind::Trade as u8;

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

/// One symbol of a market: its index among the market's symbols, in configuration
/// order (the order of `Routes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Listing {
    /// The venue and kind (the connection's endpoint).
    pub(crate) market: Market,
    /// The symbol's index in that market.
    pub(crate) index: usize,
}

/// One frame for the subscribers of `(listing, stream)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) listing: Listing,
    pub(crate) stream: StreamKind,
    pub(crate) text: String,
}

/// Venue time of steps: `start + k * step`, in µs (the start moves back during a burst,
/// so venue time keeps to the wall clock while steps come faster).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepClock {
    start_us: u64,
    step_us: u64,
}

impl StepClock {
    /// Venue time of step `k`, unix ms.
    pub(crate) fn venue_ms(self, k: u64) -> u64 {
        (self.start_us + k.saturating_mul(self.step_us)) / 1_000
    }

    /// Whether step `k` is the first one of a new `interval` of sim time (step 0 is).
    pub(crate) fn is_first_of(self, k: u64, interval: Duration) -> bool {
        let interval_us = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX);
        let slot = |k: u64| k.saturating_mul(self.step_us) / interval_us;
        k == 0 || slot(k) != slot(k - 1)
    }
}

/// Salt mixed into the seed for a generator of `venue` (`None`: the fair price path) and
/// `base`. BTC keeps the salts of the single-base simulator, so its frames are as before.
fn seed_for(seed: u64, venue: Option<Venue>, base: &str) -> u64 {
    let venue_salt = venue.map_or(0, |venue| {
        let index = Venue::ALL.iter().position(|v| *v == venue).unwrap_or(0);
        (0x9E37_79B9_7F4A_7C15u64).wrapping_mul(u64::try_from(index).unwrap_or(0) + 1)
    });
    let base_salt = if base == "BTC" {
        0
    } else {
        // FNV-1a of the base name.
        base.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        })
    };
    seed ^ venue_salt ^ base_salt
}

/// One base's fair price path.
#[derive(Clone, Debug)]
struct FairPath {
    base: String,
    rng: SimRng,
    fair: FairPrice,
}

/// Every configured venue and base, stepped by hand.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    paths: Vec<FairPath>,
    /// One per venue and base, in configuration order.
    venues: Vec<VenueModel>,
    /// Per venue model, its fair path.
    path_of: Vec<usize>,
    step_index: u64,
    clock: StepClock,
    record: Vec<Dislocation>,
    /// Per venue model, the record index of its dislocation in progress.
    active: Vec<Option<usize>>,
    /// Smallest record index changed since [`Model::take_dislocation_changes`].
    changed_from: usize,
    /// Fair prices of this step, per path.
    fairs: Vec<f64>,
}

impl Model {
    /// A model at step 0 whose venue time starts at `start_ms` (unix ms), every book
    /// already built.
    pub(crate) fn new(config: &SimConfig, start_ms: u64) -> Result<Self, SimError> {
        config.validate()?;
        let mut paths: Vec<FairPath> = Vec::new();
        let mut venues = Vec::new();
        let mut path_of = Vec::new();
        for venue in &config.venues {
            for (base, legs) in group_by_base(venue) {
                let path = match paths.iter().position(|p| p.base == base) {
                    Some(i) => i,
                    None => {
                        paths.push(FairPath {
                            rng: SimRng::new(seed_for(config.seed, None, base)),
                            fair: FairPrice::new(config.base_price(base)),
                            base: base.to_owned(),
                        });
                        paths.len() - 1
                    }
                };
                let rng = SimRng::new(seed_for(config.seed, Some(venue.venue), base));
                venues.push(VenueModel::new(config, venue.venue, base, legs, rng));
                path_of.push(path);
            }
        }
        Ok(Self {
            fairs: vec![0.0; paths.len()],
            paths,
            active: vec![None; venues.len()],
            venues,
            path_of,
            step_index: 0,
            clock: StepClock {
                start_us: start_ms.saturating_mul(1_000),
                step_us: config.step_us()?,
            },
            record: Vec::new(),
            changed_from: 0,
        })
    }

    /// Moves venue time so that the next step is at `start_ms` (the model clock starts).
    pub(crate) fn set_start_ms(&mut self, start_ms: u64) {
        self.clock.start_us = start_ms.saturating_mul(1_000);
    }

    /// Moves venue time on by `pause` (the model was paused that long).
    pub(crate) fn shift_start(&mut self, pause: Duration) {
        let us = u64::try_from(pause.as_micros()).unwrap_or(u64::MAX);
        self.clock.start_us = self.clock.start_us.saturating_add(us);
    }

    /// Holds venue time back by `held` (a burst: steps come faster than one per step of
    /// wall time, and venue time advances only by the wall time between them).
    pub(crate) fn hold_back(&mut self, held: Duration) {
        let us = u64::try_from(held.as_micros()).unwrap_or(u64::MAX);
        self.clock.start_us = self.clock.start_us.saturating_sub(us);
    }

    /// Runs one step, appending its frames to `frames`; returns whether the dislocation
    /// record changed (one started or ended).
    pub(crate) fn step(&mut self, frames: &mut Vec<Frame>) -> bool {
        let k = self.step_index;
        for (fair, path) in self.fairs.iter_mut().zip(&mut self.paths) {
            *fair = path.fair.step(&mut path.rng);
        }
        let mut changed = false;
        for i in 0..self.venues.len() {
            let fair = self.fairs[self.path_of[i]];
            let venue = &mut self.venues[i];
            let Some(change) = venue.step(fair, k, self.clock, frames) else {
                continue;
            };
            let (venue, base) = (venue.venue(), venue.base().to_owned());
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
                        base,
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

    fn venue_model(&self, listing: Listing) -> Option<&VenueModel> {
        self.venues
            .iter()
            .find(|v| v.venue() == listing.market.venue && v.has(listing))
    }

    /// The snapshot a new subscriber of `(listing, stream)` gets, if that stream starts
    /// with one and the last step was one of its emission steps (so the snapshot links
    /// exactly with the updates that follow).
    pub(crate) fn snapshot(&self, listing: Listing, stream: StreamKind) -> Option<String> {
        let k = self.step_index.checked_sub(1)?;
        self.venue_model(listing)?
            .snapshot(listing.market.kind, stream, self.clock.venue_ms(k))
    }

    /// The body of Binance's REST depth snapshot or OKX's REST order book of `listing`
    /// with at most `limit` levels a side, from the current book; `None` for the other
    /// venues.
    pub(crate) fn rest_depth(&self, listing: Listing, limit: usize) -> Option<String> {
        if !matches!(listing.market.venue, Venue::Binance | Venue::Okx) {
            return None;
        }
        let ms = self.clock.venue_ms(self.step_index);
        self.venue_model(listing)?
            .rest_depth(listing.market.kind, limit, ms)
    }

    /// Whether the last step sent every market's depth message, so no book change is
    /// waiting for the next one (false before the first step).
    pub(crate) fn depth_flushed(&self) -> bool {
        self.step_index > 0 && self.venues.iter().all(VenueModel::depth_flushed)
    }

    /// A symbol's current levels `(bids, asks)`, best first, raw.
    pub(crate) fn book_levels(&self, listing: Listing) -> Option<(Levels, Levels)> {
        self.venue_model(listing)?.levels(listing.market.kind)
    }

    /// The venue models, in configuration order.
    #[cfg(test)]
    pub(crate) fn venues(&self) -> &[VenueModel] {
        &self.venues
    }
}

/// One symbol's configuration, with its index in its market.
pub(crate) type Leg<'a> = Option<(&'a SimMarket, usize)>;

/// A venue's symbols grouped by base, in order of first appearance: per base, its spot
/// and perp (each with its index among the venue's symbols of that kind).
fn group_by_base(venue: &SimVenue) -> Vec<(&str, [Leg<'_>; 2])> {
    let mut groups: Vec<(&str, [Leg<'_>; 2])> = Vec::new();
    let mut counts = [0usize; 2];
    for market in &venue.markets {
        let side = usize::from(market.kind == MarketKind::Perp);
        let leg = Some((market, counts[side]));
        counts[side] += 1;
        match groups.iter_mut().find(|(b, _)| *b == market.base) {
            Some((_, legs)) => legs[side] = leg,
            None => {
                let mut legs = [None, None];
                legs[side] = leg;
                groups.push((&market.base, legs));
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests;
