//! Live order entry on Binance spot and USD-M futures, behind the gateway's venue seam
//! ([`crate::gateway::venue::LiveOrders`]).
//!
//! Two threads per live venue, joined by two SPSC rings (rtrb) sized at start-up:
//!
//! ```text
//!  gateway thread ── Command ring ──► live-binance I/O thread ──► REST (signed)
//!   (LiveVenue)   ◄── Report ring ───        (client::Client)  ◄── answers
//! ```
//!
//! [`LiveVenue`] is the gateway thread's side: it never blocks, locks or allocates
//! after [`spawn`] (orders live in a slab of `orders_max` slots; a full ring or slab
//! refuses the order); it keeps each order's state machine from the reports (a fill
//! before the acknowledgement acks first) and enforces the per-run notional limit and
//! readiness (no entry until reconciliation agreed). The I/O thread
//! ([`client::Client`]) does every network call, signing ([`sign`]), filters
//! ([`filters`]), rate limits, retries and reconciliation.
//!
//! Modules: [`command`] (ring types), [`clid`] (client order ids), [`sign`]
//! (HMAC-SHA256, Ed25519, `session.logon`), [`keys`] (credentials from the
//! environment), [`filters`] (`exchangeInfo` filters), [`rest`] (request bytes),
//! [`client`] (the I/O thread). Venue docs read for all of it: `docs/venues.md`.

pub mod clid;
pub mod client;
pub mod command;
pub mod filters;
pub mod keys;
pub mod rest;
pub mod sign;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::gateway::order::{Fill, Order, OrderId, OrderState, OrderStyle};
use crate::gateway::paper::VenueEvent;
use crate::gateway::venue::{LiveOrders, LiveRefusal};
use crate::types::{Price, Qty};

pub use client::{AccountView, ClientConfig, ClientCounters, LiveSymbol};
use command::{Command, Place, Report};

/// Limits of one live venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveLimits {
    /// Working orders at once (`gateway.paper.orders_max`).
    pub orders_max: usize,
    /// Slots of each ring (default 256).
    pub ring_slots: usize,
    /// Total notional the run may send, raw 10^-8 quote units (`live.run_notional_max`,
    /// on top of the risk caps; default 1,000 USD for first live runs).
    pub run_notional_max_raw: i128,
}

/// Counters of the gateway side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveVenueCounters {
    /// Orders handed to the I/O thread.
    pub submitted: u64,
    /// Orders refused before the ring (not ready, halted, notional limit, full).
    pub refused: u64,
    /// Fills that arrived before the order's acknowledgement.
    pub fills_before_ack: u64,
    /// Reports for orders no longer working (ignored).
    pub unknown_reports: u64,
    /// Positions nobody owned, sent to be flattened.
    pub orphans_flattened: u64,
}

/// The gateway thread's side of a live venue.
pub struct LiveVenue {
    commands: rtrb::Producer<Command>,
    reports: rtrb::Consumer<Report>,
    working: Vec<Order>,
    orders_max: usize,
    ready: bool,
    halted: bool,
    notional_used_raw: i128,
    limits: LiveLimits,
    counters: LiveVenueCounters,
    last_panic: Option<(u32, u32)>,
    view: Arc<Mutex<AccountView>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LiveVenue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveVenue")
            .field("working", &self.working.len())
            .field("ready", &self.ready)
            .field("halted", &self.halted)
            .finish_non_exhaustive()
    }
}

/// Starts a live venue's I/O thread (`live-binance`) and returns the gateway's side.
pub fn spawn(
    cfg: ClientConfig,
    creds: keys::Credentials,
    symbols: Vec<LiveSymbol>,
    limits: LiveLimits,
) -> std::io::Result<LiveVenue> {
    let (cmd_tx, cmd_rx) = rtrb::RingBuffer::new(limits.ring_slots);
    let (rep_tx, rep_rx) = rtrb::RingBuffer::new(limits.ring_slots);
    let view = Arc::new(Mutex::new(AccountView::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let parts = client::ClientParts {
        cfg,
        creds,
        symbols,
        view: Arc::clone(&view),
    };
    let client = client::Client::new(parts, cmd_rx, rep_tx);
    let thread_stop = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("live-binance".into())
        .spawn(move || client.run(&thread_stop))?;
    Ok(LiveVenue {
        commands: cmd_tx,
        reports: rep_rx,
        working: Vec::with_capacity(limits.orders_max),
        orders_max: limits.orders_max,
        ready: false,
        halted: false,
        notional_used_raw: 0,
        limits,
        counters: LiveVenueCounters::default(),
        last_panic: None,
        view,
        stop,
        thread: Some(thread),
    })
}

impl LiveVenue {
    /// The I/O thread's account view (cold: takes its lock; never on the hot path).
    pub fn account(&self) -> AccountView {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Orders working, as the gateway sees them.
    pub fn working(&self) -> &[Order] {
        &self.working
    }

    /// Counters.
    pub fn counters(&self) -> LiveVenueCounters {
        self.counters
    }

    /// Halted (418 or a panic).
    pub fn halted(&self) -> bool {
        self.halted
    }

    /// What the last panic cancelled and flattened.
    pub fn last_panic(&self) -> Option<(u32, u32)> {
        self.last_panic
    }

    /// Notional sent so far, raw 10^-8 quote units.
    pub fn notional_used_raw(&self) -> i128 {
        self.notional_used_raw
    }

    fn on_report(&mut self, r: Report, now_ns: u64, sink: &mut dyn FnMut(VenueEvent)) {
        let slot = |w: &Vec<Order>, id: OrderId| w.iter().position(|o| o.id == id);
        match r {
            Report::Ready(ready) => self.ready = ready,
            Report::Halted => self.halted = true,
            Report::Panicked {
                cancelled,
                flattened,
            } => self.last_panic = Some((cancelled, flattened)),
            Report::Ack(id) => match slot(&self.working, id) {
                Some(i) => {
                    let _ = self.working[i].ack();
                }
                None => self.counters.unknown_reports += 1,
            },
            Report::Fill(mut fill) => {
                let Some(i) = slot(&self.working, fill.order) else {
                    self.counters.unknown_reports += 1;
                    return;
                };
                let o = &mut self.working[i];
                if o.state == OrderState::New {
                    self.counters.fills_before_ack += 1;
                    let _ = o.ack();
                }
                fill.ts_ns = now_ns;
                if o.apply_fill(fill.qty, fill.notional_raw, fill.fee_raw)
                    .is_ok()
                {
                    sink(VenueEvent::Fill(fill));
                }
            }
            Report::Done { id, state, reject } => {
                let Some(i) = slot(&self.working, id) else {
                    self.counters.unknown_reports += 1;
                    return;
                };
                let mut o = self.working.swap_remove(i);
                let _ = match (state, reject) {
                    (OrderState::Rejected, Some(reason)) if o.state == OrderState::New => {
                        o.reject(reason)
                    }
                    (OrderState::Filled, _) if o.state == OrderState::Filled => Ok(()),
                    _ => o.cancel(),
                };
                o.ts_done_ns = now_ns;
                sink(VenueEvent::Done(o));
            }
        }
    }
}

impl LiveOrders for LiveVenue {
    fn submit(&mut self, order: &Order, reference: Price) -> Result<(), LiveRefusal> {
        let refusal = if self.halted {
            Some(LiveRefusal::Halted)
        } else if !self.ready {
            Some(LiveRefusal::NotReady)
        } else if self.working.len() >= self.orders_max || self.commands.is_full() {
            Some(LiveRefusal::Full)
        } else {
            None
        };
        let price = if order.style == OrderStyle::Market || order.limit.is_zero() {
            reference
        } else {
            order.limit
        };
        let notional = price.notional_raw(order.qty);
        let over = self.notional_used_raw + notional > self.limits.run_notional_max_raw;
        let refusal = refusal.or(over.then_some(LiveRefusal::NotionalLimit));
        if let Some(r) = refusal {
            self.counters.refused += 1;
            return Err(r);
        }
        let place = Place {
            id: order.id,
            instrument: order.instrument,
            side: order.side,
            style: order.style,
            limit: order.limit,
            qty: order.qty,
            reference,
        };
        self.commands
            .push(Command::Place(place))
            .map_err(|_| LiveRefusal::Full)?;
        self.notional_used_raw += notional;
        self.working.push(*order);
        self.counters.submitted += 1;
        Ok(())
    }

    fn cancel(&mut self, id: OrderId) -> bool {
        self.working.iter().any(|o| o.id == id) && self.commands.push(Command::Cancel(id)).is_ok()
    }

    fn poll(&mut self, now_ns: u64, max: usize, sink: &mut dyn FnMut(VenueEvent)) {
        let mut n = 0;
        while n < max {
            let Ok(r) = self.reports.pop() else { break };
            n += usize::from(matches!(r, Report::Fill(_) | Report::Done { .. }));
            self.on_report(r, now_ns, sink);
        }
    }

    fn intent_of(&self, id: OrderId) -> Option<u64> {
        self.working
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.intent_id)
    }

    fn flatten_orphan(&mut self, fill: &Fill) {
        let cmd = Command::Flatten {
            instrument: fill.instrument,
            side: fill.side.opposite(),
            qty: Qty::from_raw(fill.qty.raw()),
        };
        if self.commands.push(cmd).is_ok() {
            self.counters.orphans_flattened += 1;
        }
    }

    fn panic(&mut self) {
        let _ = self.commands.push(Command::Panic);
    }

    fn ready(&self) -> bool {
        self.ready && !self.halted
    }
}

impl Drop for LiveVenue {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::order::{Liquidity, OrderLeg};
    use crate::types::{InstrumentId, OrderSide, Venue};

    #[test]
    fn test_live_venue_fill_before_ack_and_unknown_reports() {
        let (cmd_tx, _cmd_rx) = rtrb::RingBuffer::new(8);
        let (mut rep_tx, rep_rx) = rtrb::RingBuffer::new(8);
        let mut v = LiveVenue {
            commands: cmd_tx,
            reports: rep_rx,
            working: Vec::with_capacity(4),
            orders_max: 4,
            ready: true,
            halted: false,
            notional_used_raw: 0,
            limits: LiveLimits {
                orders_max: 4,
                ring_slots: 8,
                run_notional_max_raw: i128::MAX,
            },
            counters: LiveVenueCounters::default(),
            last_panic: None,
            view: Arc::new(Mutex::new(AccountView::default())),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        let leg = OrderLeg {
            instrument: InstrumentId(0),
            venue: Venue::Binance,
            side: OrderSide::Buy,
            limit: Price::from_raw(Price::SCALE),
        };
        let order = Order::new(OrderId(5), leg, OrderStyle::Ioc, Qty::from_raw(10), 0);
        v.submit(&order, Price::ZERO).unwrap();
        let fill = Fill {
            order: OrderId(5),
            instrument: InstrumentId(0),
            side: OrderSide::Buy,
            price: leg.limit,
            qty: Qty::from_raw(10),
            notional_raw: 10,
            fee_raw: 0,
            liquidity: Liquidity::Taker,
            touch: leg.limit,
            ts_ns: 0,
        };
        for r in [
            Report::Fill(fill),
            Report::Ack(OrderId(5)),
            Report::Done {
                id: OrderId(5),
                state: OrderState::Filled,
                reject: None,
            },
            Report::Fill(Fill {
                order: OrderId(9),
                ..fill
            }),
        ] {
            rep_tx.push(r).unwrap();
        }
        let mut events = Vec::new();
        v.poll(7, 16, &mut |e| events.push(e));
        assert!(
            matches!(events[..], [VenueEvent::Fill(f), VenueEvent::Done(o)]
            if f.ts_ns == 7 && o.state == OrderState::Filled && o.filled == Qty::from_raw(10))
        );
        let c = v.counters();
        assert_eq!(
            (c.fills_before_ack, c.unknown_reports),
            (1, 1),
            "the late ack is ignored, the stray fill counted"
        );
        assert!(v.working().is_empty());
    }
}
