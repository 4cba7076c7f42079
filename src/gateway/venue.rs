//! The seam between the gateway and a venue's order entry: every order goes either
//! to the paper venue (replay, backtest, and `run` for venues the configuration does
//! not name live) or to a [`LiveOrders`] implementation registered for its venue.
//! Bybit, OKX and Hyperliquid live venues implement the same trait.
//!
//! Owned by the gateway thread. The trait's calls must not block or allocate: a live
//! venue hands commands to its own I/O thread over an SPSC ring and drains reports from
//! another (see `gateway::live`). Routes are boxed once at start-up.

use crate::gateway::config::{VENUE_COUNT, venue_index};
use crate::gateway::order::{Fill, Order, OrderId};
use crate::gateway::paper::VenueEvent;
use crate::types::{Price, Venue};

/// Whether a venue trades on paper or live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VenueMode {
    /// The paper venue (the default).
    #[default]
    Paper,
    /// Real orders through the venue's API.
    Live,
}

impl VenueMode {
    /// `PAPER` or `LIVE`, as written to every row.
    pub const fn as_str(self) -> &'static str {
        match self {
            VenueMode::Paper => "PAPER",
            VenueMode::Live => "LIVE",
        }
    }
}

/// Why a live venue did not take an order (nothing was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LiveRefusal {
    /// Reconciliation has not agreed yet, or a 429 back-off runs.
    #[error("venue not ready")]
    NotReady,
    /// The venue is halted (418 or a panic).
    #[error("venue halted")]
    Halted,
    /// The run's notional limit would be passed.
    #[error("run notional limit reached")]
    NotionalLimit,
    /// Every order slot or the command ring is full.
    #[error("venue full")]
    Full,
}

/// A live venue, as the gateway thread sees it.
pub trait LiveOrders: Send {
    /// Sends an order (the gateway's copy starts `New`); `reference` is the book's
    /// opposite touch (the filters' reference for a market order).
    fn submit(&mut self, order: &Order, reference: Price) -> Result<(), LiveRefusal>;
    /// Asks for a cancel; true when the order is this venue's and still working (its
    /// `Done` follows, after any fill that raced the cancel).
    fn cancel(&mut self, id: OrderId) -> bool;
    /// Drains reports into `sink` (at most `max` events), stamping them `now_ns`.
    fn poll(&mut self, now_ns: u64, max: usize, sink: &mut dyn FnMut(VenueEvent));
    /// The intent that sent a working order (late fills after a cancel find their
    /// trade through it).
    fn intent_of(&self, id: OrderId) -> Option<u64>;
    /// Closes a fill nobody owns any more with a market order of the venue's own.
    fn flatten_orphan(&mut self, fill: &Fill);
    /// Kill switch / `/panic`: cancel everything, flatten every position, halt.
    fn panic(&mut self);
    /// Whether new entries may be sent.
    fn ready(&self) -> bool;
}

/// The live venues by [`Venue`], empty for paper ones.
#[derive(Default)]
pub struct LiveRoutes {
    routes: [Option<Box<dyn LiveOrders>>; VENUE_COUNT],
}

impl std::fmt::Debug for LiveRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live: Vec<bool> = self.routes.iter().map(Option::is_some).collect();
        f.debug_struct("LiveRoutes").field("live", &live).finish()
    }
}

impl LiveRoutes {
    /// Routes `venue`'s orders to `live`.
    pub fn set(&mut self, venue: Venue, live: Box<dyn LiveOrders>) {
        self.routes[venue_index(venue)] = Some(live);
    }

    /// The mode of a venue.
    pub fn mode(&self, venue: Venue) -> VenueMode {
        if self.routes[venue_index(venue)].is_some() {
            VenueMode::Live
        } else {
            VenueMode::Paper
        }
    }

    /// The live venue of `venue`, if it trades live.
    pub fn get_mut(&mut self, venue: Venue) -> Option<&mut (dyn LiveOrders + 'static)> {
        self.routes[venue_index(venue)].as_deref_mut()
    }

    /// Whether `venue` may take a new entry (paper venues always may).
    pub fn ready(&self, venue: Venue) -> bool {
        self.routes[venue_index(venue)]
            .as_ref()
            .is_none_or(|l| l.ready())
    }

    /// Cancels on whichever live venue works `id`; false when none does.
    pub fn cancel(&mut self, id: OrderId) -> bool {
        self.routes.iter_mut().flatten().any(|l| l.cancel(id))
    }

    /// The intent of a live working order.
    pub fn intent_of(&self, id: OrderId) -> Option<u64> {
        self.routes.iter().flatten().find_map(|l| l.intent_of(id))
    }

    /// Drains every live venue's reports, at most `max` events in all.
    pub fn poll(&mut self, now_ns: u64, max: usize, sink: &mut dyn FnMut(VenueEvent)) {
        let mut left = max;
        for live in self.routes.iter_mut().flatten() {
            let mut n = 0;
            live.poll(now_ns, left, &mut |e| {
                n += 1;
                sink(e);
            });
            left = left.saturating_sub(n);
        }
    }

    /// Panics every live venue.
    pub fn panic_all(&mut self) {
        for live in self.routes.iter_mut().flatten() {
            live.panic();
        }
    }

    /// Whether any venue trades live.
    pub fn any(&self) -> bool {
        self.routes.iter().any(Option::is_some)
    }
}
