//! Per-venue depth sequencing: whether a depth message may be applied to a book, given
//! what was applied before. One [`Sequencer`] per instrument, owned by the book engine
//! (hot path, book thread: no allocation, no lock); it only judges update ids and never
//! touches levels.
//!
//! Rules, as each venue documents them:
//! - Binance spot, quoted from "How to manage a local order book correctly"
//!   (<https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly>,
//!   the text of binance/binance-spot-api-docs `web-socket-streams.md` as of 2026-07-21,
//!   followed on 2026-12-07):
//!   > 5. In the buffered events, discard any event where `u` is <= `lastUpdateId` of the
//!   >    snapshot. The first buffered event should now have `lastUpdateId` within its
//!   >    `[U;u]` range.
//!   >
//!   > To apply an event to your local order book, follow this update procedure:
//!   > 1. Decide whether the update event can be applied:
//!   >    * If the event last update ID (`u`) is less than the update ID of your local
//!   >      order book, ignore the event.
//!   >    * If the event first update ID (`U`) is greater than the update ID of your local
//!   >      order book + 1, you have missed some events. Discard your local order book and
//!   >      restart the process from the beginning.
//!   >    * Normally, `U` of the next event is equal to `u + 1` of the previous event.
//!
//!   So `U == id + 1` is only the normal case: an event that overlaps the book
//!   (`U <= id < u`) or ends at its id (`u == id`, quantities as of `id`) applies, one
//!   re-sent from before (`u < id`) is stale, and only `U > id + 1` is missed data.
//!   NB: before 2026-12 edgeline demanded `U == id + 1` and resynced on every overlap.
//!   The bridge after the snapshot keeps step 5's `u <= lastUpdateId` (the update
//!   procedure's own `u < id` would also apply `u == lastUpdateId`, which changes
//!   nothing).
//! - Binance USD-M futures, quoted from "How to manage a local order book correctly"
//!   (<https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly>,
//!   followed on 2026-12-07):
//!   > 4. Drop any event where `u` is < `lastUpdateId` in the snapshot.
//!   > 5. The first processed event should have `U <= lastUpdateId` AND
//!   >    `u >= lastUpdateId`
//!   > 6. While listening to the stream, each new event's `pu` should be equal to the
//!   >    previous event's `u`, otherwise initialize the process from step 3.
//!
//!   Differences from spot: the bridge is `U <= lastUpdateId <= u` (not `+ 1`), and after
//!   it the chain is checked on `pu` alone, so a re-sent or overlapping event is a gap
//!   there, as the venue says.
//! - Bybit v5: a snapshot (with any `u`, including 1 after a venue restart) resets the
//!   book; each delta has `u == previous u + 1`.
//! - OKX v5 (`books`, `books-l2-tbt`, `books50-l2-tbt`; the channel page's "Sequence
//!   ID" section and the 2026 changelog, see `docs/venues.md`): updates are buffered
//!   until a snapshot. A stream snapshot (`prevSeqId` -1, while OKX still pushes one)
//!   resets the book and the updates buffered before it are dropped; a REST snapshot
//!   (`GET /api/v5/market/books`, with its `seqId`) resets it and the buffered updates
//!   are bridged: an update with `prevSeqId == snapshot seqId` links (whatever its
//!   `seqId`), else one with `seqId <= snapshot seqId` is stale, else the first applied
//!   has `prevSeqId <= snapshot seqId < seqId`, else the snapshot is too old (a gap:
//!   fetch another). Then each update has `prevSeqId == previous seqId`, which also
//!   covers OKX's two documented exceptions: a no-change update (empty `asks`/`bids`,
//!   sent after about 60 s without a change) has `seqId == prevSeqId`, and after
//!   maintenance an update may carry a `seqId` smaller than its `prevSeqId` (the
//!   sequence was reset; later updates link to the new value). Recordings older than
//!   `seqId` carry none (all ids 0): their updates link to a snapshot of id 0 and the
//!   checksum alone checks them.
//! - Hyperliquid: every `l2Book` message is a snapshot; one older than the book held is
//!   stale.

use crate::types::{MarketKind, Venue};

/// Which rule a book follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceRule {
    /// Binance spot (REST snapshot; `u < id` stale, `U > id + 1` a gap).
    BinanceSpot,
    /// Binance USD-M futures (REST snapshot, `pu == u`).
    BinanceFutures,
    /// Bybit v5 (stream snapshot, `u == u + 1`).
    Bybit,
    /// OKX v5 (stream or REST snapshot, `prevSeqId == seqId`).
    Okx,
    /// Snapshots only (Hyperliquid).
    Snapshots,
}

impl SequenceRule {
    /// The rule of a venue's market.
    pub const fn of(venue: Venue, kind: MarketKind) -> Self {
        match (venue, kind) {
            (Venue::Binance, MarketKind::Spot) => SequenceRule::BinanceSpot,
            (Venue::Binance, MarketKind::Perp) => SequenceRule::BinanceFutures,
            (Venue::Bybit, _) => SequenceRule::Bybit,
            (Venue::Okx, _) => SequenceRule::Okx,
            (Venue::Hyperliquid, _) => SequenceRule::Snapshots,
        }
    }

    /// Whether the snapshot comes from a REST request, so diffs that arrive before it
    /// must be buffered (Binance).
    pub const fn snapshot_by_request(self) -> bool {
        matches!(
            self,
            SequenceRule::BinanceSpot | SequenceRule::BinanceFutures
        )
    }

    /// Whether diffs that arrive before the snapshot are buffered, to be bridged to a
    /// REST snapshot: Binance, and OKX (whose stream snapshot, while the venue still
    /// sends one, supersedes them instead).
    pub const fn buffers_diffs(self) -> bool {
        self.snapshot_by_request() || matches!(self, SequenceRule::Okx)
    }

    /// Whether the stream may still send the first snapshot, so the book waits a
    /// bounded time for it before asking for the REST one (OKX, until it delists its
    /// initial snapshot push).
    pub const fn awaits_stream_snapshot(self) -> bool {
        matches!(self, SequenceRule::Okx)
    }
}

/// The ids of one depth message, as decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthIds {
    /// First update id (Binance `U`; the only id elsewhere).
    pub first: u64,
    /// Last update id.
    pub last: u64,
    /// Previous message's last id, where sent (0 otherwise).
    pub prev: u64,
    /// A full snapshot.
    pub snapshot: bool,
}

/// What to do with a depth message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Apply the levels as changes.
    Apply,
    /// Replace the book with the levels.
    Reset,
    /// Keep the message until the snapshot arrives (Binance).
    Buffer,
    /// Older than the book: drop it.
    Stale,
    /// Waiting for a snapshot that the stream will send: drop it.
    AwaitingSnapshot,
    /// The message does not link: the book is no longer valid.
    Gap {
        /// The last id the book holds.
        expected_after: u64,
        /// The id the message claims to follow or start at.
        got: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No snapshot yet (or the book was invalidated).
    Unsynced,
    /// Snapshot applied; the next diff must bracket its id (Binance).
    Bridging { snapshot_id: u64 },
    /// Linked up to this id.
    Synced { last: u64 },
}

/// The sequencing state of one book.
#[derive(Debug, Clone, Copy)]
pub struct Sequencer {
    rule: SequenceRule,
    state: State,
}

impl Sequencer {
    /// A sequencer waiting for its first snapshot.
    pub const fn new(rule: SequenceRule) -> Self {
        Self {
            rule,
            state: State::Unsynced,
        }
    }

    /// The rule it follows.
    pub const fn rule(&self) -> SequenceRule {
        self.rule
    }

    /// Whether the book is linked to the venue's (a snapshot applied, no gap since).
    pub const fn is_synced(&self) -> bool {
        !matches!(self.state, State::Unsynced)
    }

    /// The last update id the book is linked to: the last applied message's, or the REST
    /// snapshot's while its bridging diff is awaited (Binance); `None` when not synced.
    pub const fn last_id(&self) -> Option<u64> {
        match self.state {
            State::Unsynced => None,
            State::Bridging { snapshot_id } => Some(snapshot_id),
            State::Synced { last } => Some(last),
        }
    }

    /// Forgets the book: the next snapshot starts it again (after a gap, a checksum
    /// mismatch, or a reconnect).
    pub fn invalidate(&mut self) {
        self.state = State::Unsynced;
    }

    /// Judges one depth message and advances the state as if it is acted on.
    pub fn check(&mut self, ids: DepthIds) -> Verdict {
        if ids.snapshot {
            return self.snapshot(ids);
        }
        match (self.state, self.rule) {
            (State::Unsynced, rule) if rule.buffers_diffs() => Verdict::Buffer,
            (State::Unsynced, _) => Verdict::AwaitingSnapshot,
            (State::Bridging { snapshot_id }, SequenceRule::Okx) => {
                self.bridge_okx(snapshot_id, ids)
            }
            (State::Bridging { snapshot_id }, rule) => self.bridge(snapshot_id, rule, ids),
            (State::Synced { last }, rule) => self.link(last, rule, ids),
        }
    }

    fn snapshot(&mut self, ids: DepthIds) -> Verdict {
        match (self.state, self.rule) {
            (State::Synced { last }, SequenceRule::Snapshots) if ids.last < last => Verdict::Stale,
            (_, rule) if rule.snapshot_by_request() => {
                self.state = State::Bridging {
                    snapshot_id: ids.last,
                };
                Verdict::Reset
            }
            _ => {
                self.state = State::Synced { last: ids.last };
                Verdict::Reset
            }
        }
    }

    /// Resets to a snapshot fetched by REST request (OKX `GET /api/v5/market/books`): the
    /// diffs buffered before it, and those that follow, are bridged to its `id`.
    pub fn requested_snapshot(&mut self, id: u64) -> Verdict {
        self.state = State::Bridging { snapshot_id: id };
        Verdict::Reset
    }

    /// The first OKX update after a REST snapshot (see the module docs for the order of
    /// the tests).
    fn bridge_okx(&mut self, snapshot_id: u64, ids: DepthIds) -> Verdict {
        if ids.prev == snapshot_id || (ids.prev < snapshot_id && snapshot_id < ids.last) {
            self.state = State::Synced { last: ids.last };
            return Verdict::Apply;
        }
        if ids.last <= snapshot_id {
            return Verdict::Stale;
        }
        self.state = State::Unsynced;
        Verdict::Gap {
            expected_after: snapshot_id,
            got: ids.prev,
        }
    }

    fn bridge(&mut self, snapshot_id: u64, rule: SequenceRule, ids: DepthIds) -> Verdict {
        // Spot drops `u <= lastUpdateId`; futures only `u < lastUpdateId` (a diff ending
        // at the snapshot's id is the bridge).
        let stale = match rule {
            SequenceRule::BinanceFutures => ids.last < snapshot_id,
            _ => ids.last <= snapshot_id,
        };
        if stale {
            return Verdict::Stale;
        }
        let first_ok = match rule {
            SequenceRule::BinanceFutures => ids.first <= snapshot_id,
            _ => ids.first <= snapshot_id + 1,
        };
        if first_ok {
            self.state = State::Synced { last: ids.last };
            Verdict::Apply
        } else {
            self.state = State::Unsynced;
            Verdict::Gap {
                expected_after: snapshot_id,
                got: ids.first,
            }
        }
    }

    fn link(&mut self, last: u64, rule: SequenceRule, ids: DepthIds) -> Verdict {
        let (linked, got) = match rule {
            SequenceRule::BinanceSpot if ids.last < last => return Verdict::Stale,
            SequenceRule::BinanceSpot => (ids.first <= last + 1, ids.first),
            SequenceRule::BinanceFutures => (ids.prev == last, ids.prev),
            SequenceRule::Bybit => (ids.last == last + 1, ids.last),
            // No-change updates (`seqId == prevSeqId`) and resets (`seqId < prevSeqId`)
            // link the same way.
            SequenceRule::Okx => (ids.prev == last, ids.prev),
            SequenceRule::Snapshots => (true, ids.last),
        };
        if linked {
            self.state = State::Synced { last: ids.last };
            Verdict::Apply
        } else {
            self.state = State::Unsynced;
            Verdict::Gap {
                expected_after: last,
                got,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(first: u64, last: u64, prev: u64) -> DepthIds {
        DepthIds {
            first,
            last,
            prev,
            snapshot: false,
        }
    }

    fn snap(id: u64) -> DepthIds {
        DepthIds {
            first: id,
            last: id,
            prev: 0,
            snapshot: true,
        }
    }

    #[test]
    fn test_binance_spot_buffers_bridges_and_links() {
        let mut s = Sequencer::new(SequenceRule::BinanceSpot);
        assert_eq!(s.check(diff(90, 100, 0)), Verdict::Buffer);
        assert_eq!(s.check(snap(105)), Verdict::Reset);
        assert_eq!(s.check(diff(90, 100, 0)), Verdict::Stale);
        assert_eq!(s.check(diff(101, 105, 0)), Verdict::Stale);
        assert_eq!(s.check(diff(106, 110, 0)), Verdict::Apply);
        assert_eq!(s.check(diff(111, 111, 0)), Verdict::Apply);
        assert_eq!(
            s.check(diff(113, 115, 0)),
            Verdict::Gap {
                expected_after: 111,
                got: 113
            }
        );
        assert!(!s.is_synced());
        assert_eq!(s.check(diff(116, 117, 0)), Verdict::Buffer);
    }

    #[test]
    fn test_binance_spot_overlapping_event_applies() {
        let mut s = Sequencer::new(SequenceRule::BinanceSpot);
        assert_eq!(s.check(snap(100)), Verdict::Reset);
        assert_eq!(s.check(diff(95, 104, 0)), Verdict::Apply);
        // Starts inside what the book holds (U <= id), ends past it.
        assert_eq!(s.check(diff(103, 108, 0)), Verdict::Apply);
        // Ends exactly at the book's id: its quantities are those the book has.
        assert_eq!(s.check(diff(106, 108, 0)), Verdict::Apply);
        assert_eq!(s.check(diff(109, 110, 0)), Verdict::Apply);
        assert!(s.is_synced());
    }

    #[test]
    fn test_binance_spot_resent_event_is_stale_not_a_gap() {
        let mut s = Sequencer::new(SequenceRule::BinanceSpot);
        assert_eq!(s.check(snap(100)), Verdict::Reset);
        assert_eq!(s.check(diff(101, 105, 0)), Verdict::Apply);
        assert_eq!(s.check(diff(106, 110, 0)), Verdict::Apply);
        assert_eq!(s.check(diff(101, 105, 0)), Verdict::Stale);
        assert_eq!(s.check(diff(104, 109, 0)), Verdict::Stale);
        assert!(s.is_synced());
        assert_eq!(s.check(diff(111, 112, 0)), Verdict::Apply);
    }

    #[test]
    fn test_binance_spot_real_gap_is_a_gap() {
        let mut s = Sequencer::new(SequenceRule::BinanceSpot);
        assert_eq!(s.check(snap(100)), Verdict::Reset);
        assert_eq!(s.check(diff(101, 105, 0)), Verdict::Apply);
        assert_eq!(
            s.check(diff(107, 110, 0)),
            Verdict::Gap {
                expected_after: 105,
                got: 107
            }
        );
        assert!(!s.is_synced());
    }

    #[test]
    fn test_binance_futures_resent_and_overlapping_events_are_gaps() {
        let mut s = Sequencer::new(SequenceRule::BinanceFutures);
        assert_eq!(s.check(snap(100)), Verdict::Reset);
        assert_eq!(s.check(diff(98, 104, 97)), Verdict::Apply);
        assert_eq!(s.check(diff(105, 108, 104)), Verdict::Apply);
        // The venue's rule is `pu == previous u` and nothing else.
        assert_eq!(
            s.check(diff(105, 108, 104)),
            Verdict::Gap {
                expected_after: 108,
                got: 104
            }
        );
        assert_eq!(s.check(snap(120)), Verdict::Reset);
        assert_eq!(s.check(diff(110, 119, 109)), Verdict::Stale);
        assert_eq!(s.check(diff(118, 120, 117)), Verdict::Apply);
        assert_eq!(s.check(diff(121, 125, 120)), Verdict::Apply);
    }

    #[test]
    fn test_binance_spot_snapshot_too_old_for_first_diff_is_a_gap() {
        let mut s = Sequencer::new(SequenceRule::BinanceSpot);
        assert_eq!(s.check(snap(100)), Verdict::Reset);
        assert_eq!(
            s.check(diff(102, 110, 0)),
            Verdict::Gap {
                expected_after: 100,
                got: 102
            }
        );
    }

    #[test]
    fn test_binance_futures_bridges_on_u_le_id_and_links_on_pu() {
        let mut s = Sequencer::new(SequenceRule::BinanceFutures);
        assert_eq!(s.check(snap(105)), Verdict::Reset);
        assert_eq!(s.check(diff(100, 104, 99)), Verdict::Stale);
        assert_eq!(s.check(diff(104, 108, 103)), Verdict::Apply);
        let mut edge = Sequencer::new(SequenceRule::BinanceFutures);
        assert_eq!(edge.check(snap(105)), Verdict::Reset);
        assert_eq!(edge.check(diff(101, 105, 100)), Verdict::Apply);
        assert_eq!(s.check(diff(109, 112, 108)), Verdict::Apply);
        assert_eq!(
            s.check(diff(113, 115, 111)),
            Verdict::Gap {
                expected_after: 112,
                got: 111
            }
        );
    }

    #[test]
    fn test_bybit_snapshot_resets_even_at_u_one() {
        let mut s = Sequencer::new(SequenceRule::Bybit);
        assert_eq!(s.check(diff(5, 5, 0)), Verdict::AwaitingSnapshot);
        assert_eq!(s.check(snap(40)), Verdict::Reset);
        assert_eq!(s.check(diff(41, 41, 0)), Verdict::Apply);
        assert_eq!(s.check(snap(1)), Verdict::Reset);
        assert_eq!(s.check(diff(2, 2, 0)), Verdict::Apply);
        assert_eq!(
            s.check(diff(4, 4, 0)),
            Verdict::Gap {
                expected_after: 2,
                got: 4
            }
        );
    }

    #[test]
    fn test_okx_links_on_prev_seq_id_with_the_documented_exceptions() {
        // The channel page's example: snapshot 10, update 10 -> 15, no change 15 -> 15,
        // reset 15 -> 3, update 3 -> 5.
        let mut s = Sequencer::new(SequenceRule::Okx);
        assert_eq!(s.check(snap(10)), Verdict::Reset);
        assert_eq!(s.check(diff(15, 15, 10)), Verdict::Apply);
        assert_eq!(s.check(diff(15, 15, 15)), Verdict::Apply);
        assert_eq!(s.check(diff(3, 3, 15)), Verdict::Apply);
        assert_eq!(s.check(diff(5, 5, 3)), Verdict::Apply);
        assert_eq!(
            s.check(diff(9, 9, 6)),
            Verdict::Gap {
                expected_after: 5,
                got: 6
            }
        );
        assert_eq!(
            s.check(diff(10, 10, 9)),
            Verdict::Buffer,
            "buffered once invalid"
        );
    }

    #[test]
    fn test_okx_feed_without_seq_ids_links_only_to_a_snapshot_without_one() {
        let mut old = Sequencer::new(SequenceRule::Okx);
        assert_eq!(old.check(snap(0)), Verdict::Reset);
        assert_eq!(old.check(diff(0, 0, 0)), Verdict::Apply);
        assert_eq!(old.check(diff(0, 0, 0)), Verdict::Apply);
        let mut new = Sequencer::new(SequenceRule::Okx);
        assert_eq!(new.check(snap(10)), Verdict::Reset);
        assert!(
            matches!(new.check(diff(0, 0, 0)), Verdict::Gap { .. }),
            "an update without ids on a sequenced feed does not link"
        );
    }

    #[test]
    fn test_okx_rest_snapshot_bridges_buffered_updates() {
        let mut s = Sequencer::new(SequenceRule::Okx);
        assert_eq!(s.check(diff(100, 100, 90)), Verdict::Buffer);
        assert_eq!(s.requested_snapshot(105), Verdict::Reset);
        assert_eq!(
            s.check(diff(100, 100, 90)),
            Verdict::Stale,
            "seqId <= snapshot"
        );
        assert_eq!(
            s.check(diff(105, 105, 100)),
            Verdict::Stale,
            "seqId == snapshot"
        );
        assert_eq!(
            s.check(diff(110, 110, 105)),
            Verdict::Apply,
            "prevSeqId == snapshot"
        );
        assert_eq!(s.check(diff(111, 111, 110)), Verdict::Apply);
        let mut straddle = Sequencer::new(SequenceRule::Okx);
        assert_eq!(straddle.requested_snapshot(103), Verdict::Reset);
        assert_eq!(
            straddle.check(diff(105, 105, 100)),
            Verdict::Apply,
            "prevSeqId <= snapshot < seqId"
        );
        let mut reset = Sequencer::new(SequenceRule::Okx);
        assert_eq!(reset.requested_snapshot(105), Verdict::Reset);
        assert_eq!(
            reset.check(diff(3, 3, 105)),
            Verdict::Apply,
            "a sequence reset right after the snapshot still links"
        );
        let mut quiet = Sequencer::new(SequenceRule::Okx);
        assert_eq!(quiet.requested_snapshot(105), Verdict::Reset);
        assert_eq!(
            quiet.check(diff(105, 105, 105)),
            Verdict::Apply,
            "no change"
        );
    }

    #[test]
    fn test_okx_rest_snapshot_older_than_the_buffer_is_a_gap() {
        let mut s = Sequencer::new(SequenceRule::Okx);
        assert_eq!(s.requested_snapshot(100), Verdict::Reset);
        assert_eq!(
            s.check(diff(110, 110, 105)),
            Verdict::Gap {
                expected_after: 100,
                got: 105
            }
        );
        assert!(!s.is_synced());
    }

    #[test]
    fn test_snapshots_only_drops_older_snapshot() {
        let mut s = Sequencer::new(SequenceRule::Snapshots);
        assert_eq!(s.check(snap(1_000)), Verdict::Reset);
        assert_eq!(s.check(snap(999)), Verdict::Stale);
        assert_eq!(s.check(snap(1_001)), Verdict::Reset);
    }
}
