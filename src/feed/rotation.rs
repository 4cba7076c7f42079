//! Make-before-break replacement of connections the venue closes after a fixed lifetime
//! (Binance: 24 h, "expect to be disconnected at the 24 hour mark"). Without it the
//! venue's close costs each book a reset and a REST resync once a day.
//!
//! Each rotating connection has a parked standby with the same endpoint and
//! subscriptions ([`RotationPair`]). When the active one is `lifetime` old, the standby
//! opens; while both are up ("warming"), frames are routed per instrument: the old
//! connection keeps feeding a book until the new one has caught up with it, then the
//! instrument switches over. Binance's diff ids are the venue's, the same on every
//! connection, so catching up needs no snapshot: an instrument switches when the newest
//! diff seen on one connection is no newer than the newest the book has from the other
//! (then the next diff of the new connection links: spot `U <= id + 1`, futures `pu ==
//! id`), and the new connection's diffs the book already holds are dropped. On a
//! connection without depth (USD-M `/market`) an instrument switches at its first frame
//! on the new connection (a trade around the switch may be seen twice or missed). When
//! every instrument has switched the old connection is closed and parked: it is the next
//! standby. A planned rotation never invalidates a book.
//!
//! If the warming does not complete within [`WARMING_MAX`], the standby is parked again
//! and the rotation retried [`RETRY_AFTER`] later (the old connection still has the
//! hour before the venue's cut). If the old connection drops while warming, every
//! instrument not yet switched is reset as on any loss and switches at once; if the new
//! one drops, the rotation is abandoned and retried.
//!
//! Runs on the feed thread. [`Rotations::keep`] is on the hot path: array lookups and
//! compares, no allocation; the state machine steps in [`Rotations::tick`] (cold,
//! rare). Frames a rotation drops as duplicates are not recorded, so a recording replays
//! exactly what the books received.

use std::time::Duration;

use crate::types::{EventBody, InstrumentId, MarketEvent};

/// Longest the two connections of a rotation may run side by side before it is
/// abandoned (the new connection must deliver a diff of every instrument in that time).
pub const WARMING_MAX: Duration = Duration::from_secs(30);
/// Wait before an abandoned rotation is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// A rotating connection and its standby, by connection index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPair {
    /// The connection open at start.
    pub primary: usize,
    /// Its parked standby.
    pub standby: usize,
    /// Age at which the active one is replaced.
    pub lifetime: Duration,
    /// The instruments both carry.
    pub instruments: Vec<InstrumentId>,
    /// Whether they carry depth (the switch follows diff ids) or not (first frame).
    pub carries_book: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The active connection alone; the standby is parked (for [`RETRY_AFTER`] after
    /// `abandoned_raw`, when a rotation was abandoned).
    Steady { abandoned_raw: Option<u64> },
    /// Both up since `since_raw`: instruments switch one by one.
    Warming { since_raw: u64 },
}

#[derive(Debug)]
struct Pair {
    spec: RotationPair,
    active: usize,
    standby: usize,
    lifetime_ns: u64,
    phase: Phase,
}

/// What the feed stage does after a rotation step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open this parked connection (a rotation starts).
    Open(usize),
    /// Close and park this connection (a rotation completed, or was abandoned).
    Park(usize),
}

/// Why a connection went down, as the rotation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownVerdict {
    /// Not part of a rotation, or the active one outside a rotation: reset its books.
    Reset,
    /// The old connection of a rotation: reset only the instruments not yet switched
    /// (they switch now), and park the connection so it does not reconnect.
    ResetUnswitched(usize),
    /// A standby (warming): nothing to reset; park it again (the rotation is retried).
    ParkStandby,
}

/// Every rotation of a feed stage, and the per-instrument state they share.
#[derive(Debug, Default)]
pub struct Rotations {
    pairs: Vec<Pair>,
    /// Pair index per connection index.
    pair_of: Vec<Option<usize>>,
    /// Per instrument: last diff id (Binance `u`) the book was given.
    last_given: Vec<u64>,
    /// Per instrument: last diff id seen on the new connection while warming (0: none).
    newest_new: Vec<u64>,
    /// Per instrument: switched to the new connection in the current rotation.
    switched: Vec<bool>,
    /// Rotations completed.
    completed: u64,
}

impl Rotations {
    /// The rotations of `pairs` over `connections` connections and `instruments`
    /// instruments (all buffers sized here).
    pub fn new(pairs: Vec<RotationPair>, connections: usize, instruments: usize) -> Self {
        let mut pair_of = vec![None; connections];
        for (i, p) in pairs.iter().enumerate() {
            pair_of[p.primary] = Some(i);
            pair_of[p.standby] = Some(i);
        }
        Self {
            pairs: pairs
                .into_iter()
                .map(|spec| Pair {
                    active: spec.primary,
                    standby: spec.standby,
                    lifetime_ns: u64::try_from(spec.lifetime.as_nanos()).unwrap_or(u64::MAX),
                    phase: Phase::Steady {
                        abandoned_raw: None,
                    },
                    spec,
                })
                .collect(),
            pair_of,
            last_given: vec![0; instruments],
            newest_new: vec![0; instruments],
            switched: vec![false; instruments],
            completed: 0,
        }
    }

    /// Rotations completed so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// Whether connection `index` is a standby (parked, or warming up): its state is
    /// not the books' (no reconnect count, no staleness, no resets).
    pub fn is_standby(&self, index: usize) -> bool {
        self.pair(index).is_some_and(|p| p.standby == index)
    }

    fn pair(&self, index: usize) -> Option<&Pair> {
        self.pair_of
            .get(index)
            .copied()
            .flatten()
            .map(|i| &self.pairs[i])
    }

    /// Whether the frame decoded into `events` from connection `index` goes to the
    /// books (hot path). Binance frames carry one message of one instrument.
    #[inline]
    pub fn keep(&mut self, index: usize, events: &[MarketEvent]) -> bool {
        let Some(pair) = self.pair_of.get(index).copied().flatten() else {
            return true;
        };
        let Some(first) = events.first() else {
            return true;
        };
        let i = first.instrument.index();
        let diff = match first.body {
            EventBody::DepthBegin {
                last_update_id,
                snapshot: false,
                ..
            } => Some(last_update_id),
            _ => None,
        };
        let pair = &self.pairs[pair];
        let warming = matches!(pair.phase, Phase::Warming { .. });
        let from_active = index == pair.active;
        let carries_book = pair.spec.carries_book;
        let (Some(switched), Some(given), Some(newest)) = (
            self.switched.get_mut(i),
            self.last_given.get_mut(i),
            self.newest_new.get_mut(i),
        ) else {
            return true;
        };
        if !warming {
            // Diffs the book already has (from the other connection, before an
            // abandoned rotation) are dropped; the next one links.
            return match diff {
                _ if !from_active => false,
                Some(u) if u <= *given => false,
                Some(u) => {
                    *given = u;
                    true
                }
                None => true,
            };
        }
        if from_active {
            if *switched {
                return false;
            }
            if let Some(u) = diff {
                *given = u;
                if *newest != 0 && u >= *newest {
                    *switched = true;
                }
            }
            return true;
        }
        if *switched {
            return match diff {
                Some(u) if u <= *given => false,
                Some(u) => {
                    *given = u;
                    true
                }
                None => true,
            };
        }
        match diff {
            Some(u) => {
                *newest = u;
                if *given != 0 && u <= *given {
                    *switched = true;
                }
                false
            }
            None if !carries_book => {
                *switched = true;
                true
            }
            None => false,
        }
    }

    /// Steps every rotation (cold, from the feed stage's tick): starts the due ones,
    /// completes or abandons warming ones. `opened_raw(i)` is when connection `i`'s
    /// current open began (`None`: not open); `delta_ns(a, b)` is clock time between
    /// raw readings.
    pub fn tick(
        &mut self,
        now_raw: u64,
        opened_raw: impl Fn(usize) -> Option<u64>,
        delta_ns: impl Fn(u64, u64) -> u64,
        actions: &mut Vec<Action>,
    ) {
        for pair in &mut self.pairs {
            match pair.phase {
                Phase::Steady { abandoned_raw } => {
                    let Some(opened) = opened_raw(pair.active) else {
                        continue;
                    };
                    let due = delta_ns(opened, now_raw) >= pair.lifetime_ns
                        && abandoned_raw
                            .is_none_or(|t| delta_ns(t, now_raw) >= duration_ns(RETRY_AFTER));
                    if due {
                        for id in &pair.spec.instruments {
                            self.switched[id.index()] = false;
                            self.newest_new[id.index()] = 0;
                        }
                        pair.phase = Phase::Warming { since_raw: now_raw };
                        log::info!(
                            "feed: connection {} is {} s old: opening its replacement",
                            pair.active,
                            delta_ns(opened, now_raw) / 1_000_000_000
                        );
                        actions.push(Action::Open(pair.standby));
                    }
                }
                Phase::Warming { since_raw } => {
                    let done = pair
                        .spec
                        .instruments
                        .iter()
                        .all(|id| self.switched[id.index()]);
                    if done {
                        actions.push(Action::Park(pair.active));
                        std::mem::swap(&mut pair.active, &mut pair.standby);
                        pair.phase = Phase::Steady {
                            abandoned_raw: None,
                        };
                        self.completed += 1;
                        log::info!(
                            "feed: connection {} replaced by {} with every book kept",
                            pair.standby,
                            pair.active
                        );
                    } else if delta_ns(since_raw, now_raw) > duration_ns(WARMING_MAX) {
                        log::warn!(
                            "feed: replacement {} did not catch up within {WARMING_MAX:?}; \
                             retrying in {RETRY_AFTER:?}",
                            pair.standby
                        );
                        Self::abandon(pair, &mut self.switched, now_raw, Some(&mut *actions));
                    }
                }
            }
        }
    }

    /// A connection went down: what to reset (see [`DownVerdict`]).
    pub fn down(&mut self, index: usize, now_raw: u64) -> DownVerdict {
        let Some(p) = self.pair_of.get(index).copied().flatten() else {
            return DownVerdict::Reset;
        };
        let pair = &mut self.pairs[p];
        match pair.phase {
            Phase::Steady { .. } if index == pair.active => DownVerdict::Reset,
            Phase::Steady { .. } => DownVerdict::ParkStandby,
            Phase::Warming { .. } if index == pair.standby => {
                log::warn!(
                    "feed: replacement {index} lost while warming; retrying in {RETRY_AFTER:?}"
                );
                Self::abandon(pair, &mut self.switched, now_raw, None);
                DownVerdict::ParkStandby
            }
            Phase::Warming { .. } => {
                std::mem::swap(&mut pair.active, &mut pair.standby);
                pair.phase = Phase::Steady {
                    abandoned_raw: None,
                };
                DownVerdict::ResetUnswitched(pair.standby)
            }
        }
    }

    /// Whether instrument `id` had switched to the new connection when its old one
    /// dropped (then its book needs no reset); clears the flag either way.
    pub fn take_switched(&mut self, id: InstrumentId) -> bool {
        self.switched
            .get_mut(id.index())
            .is_some_and(std::mem::take)
    }

    /// Back to the active connection alone (the standby is parked by the caller, or
    /// through `actions`), retried after [`RETRY_AFTER`].
    fn abandon(
        pair: &mut Pair,
        switched: &mut [bool],
        now_raw: u64,
        actions: Option<&mut Vec<Action>>,
    ) {
        for id in &pair.spec.instruments {
            switched[id.index()] = false;
        }
        pair.phase = Phase::Steady {
            abandoned_raw: Some(now_raw),
        };
        if let Some(actions) = actions {
            actions.push(Action::Park(pair.standby));
        }
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Price, Qty, Side};

    const ID: InstrumentId = InstrumentId(0);

    fn diff(u: u64) -> [MarketEvent; 1] {
        [MarketEvent {
            ts_recv_raw: 0,
            ts_venue_ms: 0,
            instrument: ID,
            body: EventBody::DepthBegin {
                first_update_id: u,
                last_update_id: u,
                prev_update_id: u - 1,
                levels: 0,
                snapshot: false,
                checksum: None,
            },
        }]
    }

    fn trade() -> [MarketEvent; 1] {
        [MarketEvent {
            ts_recv_raw: 0,
            ts_venue_ms: 0,
            instrument: ID,
            body: EventBody::Trade {
                price: Price::from_raw(1),
                qty: Qty::from_raw(1),
                aggressor: Side::Bid,
                trade_id: 1,
            },
        }]
    }

    /// Connection 0 active, 1 its standby; warming once ticked at `now` ≥ lifetime.
    fn warming(carries_book: bool) -> Rotations {
        let pair = RotationPair {
            primary: 0,
            standby: 1,
            lifetime: Duration::from_nanos(10),
            instruments: vec![ID],
            carries_book,
        };
        let mut r = Rotations::new(vec![pair], 2, 1);
        let mut actions = Vec::new();
        r.tick(5, |_| Some(0), |a, b| b.saturating_sub(a), &mut actions);
        assert!(actions.is_empty(), "not due yet");
        assert!(r.keep(0, &diff(100)));
        r.tick(20, |_| Some(0), |a, b| b.saturating_sub(a), &mut actions);
        assert_eq!(actions, [Action::Open(1)]);
        r
    }

    fn step(r: &mut Rotations, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        r.tick(now, |_| Some(0), |a, b| b.saturating_sub(a), &mut actions);
        actions
    }

    #[test]
    fn test_rotation_switches_when_the_new_connection_is_behind_the_book() {
        let mut r = warming(true);
        assert!(r.keep(0, &diff(101)));
        assert!(r.keep(0, &diff(102)));
        // The new connection starts at 101: the book has it, the switch happens.
        assert!(!r.keep(1, &diff(101)));
        assert!(
            !r.keep(0, &diff(103)),
            "the old connection is no longer read"
        );
        assert!(!r.keep(1, &diff(102)), "already applied");
        assert!(r.keep(1, &diff(103)));
        assert!(r.keep(1, &diff(104)));
        assert_eq!(step(&mut r, 30), [Action::Park(0)]);
        assert_eq!(r.completed(), 1);
        assert!(r.is_standby(0) && !r.is_standby(1));
        assert!(r.keep(1, &diff(105)));
    }

    #[test]
    fn test_rotation_switches_when_the_old_connection_catches_up_with_the_new() {
        let mut r = warming(true);
        // The new connection is ahead: its diffs wait until the old one has delivered
        // as far.
        assert!(!r.keep(1, &diff(102)));
        assert!(r.keep(0, &diff(101)));
        assert!(step(&mut r, 25).is_empty(), "not switched yet");
        assert!(r.keep(0, &diff(102)));
        assert!(r.keep(1, &diff(103)), "links after 102");
        assert!(!r.keep(0, &diff(103)));
        assert_eq!(step(&mut r, 30), [Action::Park(0)]);
    }

    #[test]
    fn test_rotation_without_depth_switches_at_the_first_frame() {
        let mut r = warming(false);
        assert!(
            r.keep(0, &trade()),
            "the old connection feeds until the switch"
        );
        assert!(
            r.keep(1, &trade()),
            "the first frame on the new one switches"
        );
        assert!(!r.keep(0, &trade()));
        assert_eq!(step(&mut r, 30), [Action::Park(0)]);
    }

    #[test]
    fn test_rotation_abandoned_when_the_new_connection_never_catches_up() {
        let mut r = warming(true);
        let late = duration_ns(WARMING_MAX) + 100;
        assert_eq!(step(&mut r, late), [Action::Park(1)]);
        assert!(r.keep(0, &diff(101)));
        assert!(!r.keep(0, &diff(101)), "a duplicate");
        assert!(step(&mut r, late + 10).is_empty(), "waits before retrying");
        let retry = late + duration_ns(RETRY_AFTER) + 1;
        assert_eq!(step(&mut r, retry), [Action::Open(1)]);
    }

    #[test]
    fn test_rotation_old_connection_lost_while_warming_resets_only_unswitched() {
        let mut r = warming(true);
        assert_eq!(r.down(0, 25), DownVerdict::ResetUnswitched(0));
        assert!(!r.take_switched(ID), "not switched: its book resets");
        assert!(r.keep(1, &diff(150)), "the new connection feeds it now");
        assert!(r.is_standby(0));
        let mut r = warming(true);
        assert_eq!(r.down(1, 25), DownVerdict::ParkStandby);
        assert!(r.keep(0, &diff(101)));
    }
}
