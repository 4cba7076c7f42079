//! The book engine: every instrument's L2 book, top of book and sequencing, driven one
//! `MarketEvent` at a time. It applies snapshots and diffs by each venue's rules
//! ([`crate::book::sequence`]), buffers Binance and OKX diffs until their snapshot,
//! checks OKX checksums where they are not 0, marks a book invalid on any gap or
//! mismatch (and says so, so the caller can suppress edges and ask for a resync), and
//! derives the top of book from the book where the venue has no top-of-book stream.
//!
//! OKX: every `books` push carries a `checksum` field, 0 since OKX deprecated it (June
//! 2026: "always return 0 and must no longer be used"), so a checksum of 0 is skipped
//! and counted, any other is verified (recordings from before hold real ones). The
//! REST book (`GET /api/v5/market/books`) has no checksum field: an OKX snapshot without
//! one is a requested snapshot, to which the buffered updates are bridged by `seqId`; a
//! stream snapshot (with the field) supersedes the updates buffered before it.
//!
//! Shared by the book stage (hot path) and `edgeline verify` (cold). It owns the books;
//! it never touches rings, sockets or clocks. Allocation-free after construction: books
//! and resync buffers are sized from [`BookParams`] at start-up.

use crate::book::l2::{Crossing, L2Book};
use crate::book::sequence::{DepthIds, SequenceRule, Sequencer, Verdict};
use crate::book::stage::BookParams;
use crate::book::top::{Ladder, LadderLevel, LadderSide};
use crate::types::{
    EventBody, InstrumentId, InstrumentRegistry, MarketEvent, Price, Qty, Side, Venue,
};

/// Where an instrument's top of book comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopSource {
    /// The venue's dedicated top-of-book stream (Binance `bookTicker`, OKX `bbo-tbt`,
    /// Hyperliquid `bbo`).
    Stream,
    /// The best levels of the L2 book after each depth message (Bybit).
    Book,
}

impl TopSource {
    /// The default for a venue: its top-of-book stream where it has one.
    pub const fn default_for(venue: Venue) -> Self {
        match venue {
            Venue::Bybit => TopSource::Book,
            Venue::Binance | Venue::Okx | Venue::Hyperliquid => TopSource::Stream,
        }
    }
}

/// Per-instrument counts, for telemetry and `verify`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BookCounters {
    /// Snapshots applied.
    pub snapshots: u64,
    /// Diffs applied.
    pub updates: u64,
    /// Diffs that did not link (each invalidated the book).
    pub gaps: u64,
    /// Diffs or snapshots older than the book, dropped.
    pub stale: u64,
    /// Diffs dropped while waiting for a stream snapshot.
    pub awaiting_snapshot: u64,
    /// Diffs buffered while waiting for a REST snapshot.
    pub buffered: u64,
    /// Buffered diffs thrown away because the resync buffer was full.
    pub buffer_overflows: u64,
    /// Venue checksums that matched the book.
    pub checksums_matched: u64,
    /// Venue checksums that did not (each invalidated the book).
    pub checksums_mismatched: u64,
    /// Venue checksums of 0, not checked (OKX since its June 2026 deprecation).
    pub checksums_skipped: u64,
    /// Times the book was invalidated and needed a resync.
    pub resyncs: u64,
    /// Book or top-of-book updates found crossed (bid at or above ask).
    pub crossed: u64,
    /// Top-of-book stream messages applied.
    pub tops: u64,
    /// Books forgotten because their connection was lost.
    pub resets: u64,
}

/// Why a book was invalidated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// A depth message did not link to the last one applied.
    Gap {
        /// The last id the book held.
        expected_after: u64,
        /// What the message claimed to follow or start at.
        got: u64,
    },
    /// The venue's checksum did not match the book.
    Checksum {
        /// The venue's checksum.
        venue: i32,
        /// The book's.
        book: i32,
    },
    /// After a depth message the best bid was at or above the best ask: no venue's book
    /// can be, so this one no longer follows the venue's.
    Crossed {
        /// The best bid.
        bid: Price,
        /// The best ask.
        ask: Price,
    },
}

/// What one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Nothing visible changed (a level of a message still in progress, a stale or
    /// buffered message, a non-book event).
    Nothing,
    /// The instrument's top or tracked depth may have changed: read [`BookEngine::view`].
    Changed,
    /// The instrument's book is no longer valid: suppress it and resync.
    Invalidated(Invalidation),
    /// A diff was buffered for a book that waits for its snapshot: fetch the REST one
    /// (the caller asks once per wait; for OKX, whose stream may still send one, after
    /// a bounded wait for it).
    SnapshotNeeded,
}

/// A valid book's top and tracked depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookView {
    /// Best bid.
    pub bid: Price,
    /// Quantity at the best bid.
    pub bid_qty: Qty,
    /// Best ask.
    pub ask: Price,
    /// Quantity at the best ask.
    pub ask_qty: Qty,
    /// Quote value within the tracked distance of the best bid (raw 10^-8, saturated).
    pub bid_depth_quote: i64,
    /// The same on the ask side.
    pub ask_depth_quote: i64,
    /// The best levels of the L2 book.
    pub ladder: Ladder,
}

type Top = (Price, Qty, Price, Qty);

struct Book {
    seq: Sequencer,
    l2: L2Book,
    top_source: TopSource,
    top: Option<Top>,
    top_update_id: u64,
    depth_quote: (i64, i64),
    pending: Vec<MarketEvent>,
    spare: Vec<MarketEvent>,
    counters: BookCounters,
    /// Whether views carry the ladder (someone reads it: the cross-venue scanner).
    ladder: bool,
}

/// How the levels of the message in progress are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LevelAction {
    Apply,
    Snapshot,
    Buffer,
    Drop,
}

#[derive(Debug, Clone, Copy)]
struct InProgress {
    instrument: InstrumentId,
    levels_left: u16,
    action: LevelAction,
    checksum: Option<i32>,
    last_id: u64,
    invalidation: Option<Invalidation>,
}

/// Every instrument's book.
pub struct BookEngine {
    books: Vec<Book>,
    params: BookParams,
    current: Option<InProgress>,
}

impl BookEngine {
    /// One book per registered instrument, each allocated now, with the venue's
    /// default top-of-book source.
    pub fn new(registry: &InstrumentRegistry, params: BookParams) -> Self {
        Self::with_top_sources(registry, params, TopSource::default_for)
    }

    /// Like [`BookEngine::new`], with the top-of-book source chosen per venue.
    pub fn with_top_sources(
        registry: &InstrumentRegistry,
        params: BookParams,
        top_source: impl Fn(Venue) -> TopSource,
    ) -> Self {
        let books = registry
            .iter()
            .map(|i| {
                let rule = SequenceRule::of(i.venue, i.kind);
                let buffer = if rule.buffers_diffs() {
                    params.resync_buffer_events
                } else {
                    0
                };
                Book {
                    seq: Sequencer::new(rule),
                    l2: L2Book::with_depth(params.levels_max),
                    top_source: top_source(i.venue),
                    top: None,
                    top_update_id: 0,
                    depth_quote: (0, 0),
                    pending: Vec::with_capacity(buffer),
                    spare: Vec::with_capacity(buffer),
                    counters: BookCounters::default(),
                    ladder: true,
                }
            })
            .collect();
        Self {
            books,
            params,
            current: None,
        }
    }

    /// Keeps the ladder out of `id`'s views (an empty [`Ladder`]) when nothing reads it:
    /// copying the best levels costs on every published update.
    pub fn set_ladder(&mut self, id: InstrumentId, wanted: bool) {
        if let Some(book) = self.books.get_mut(id.index()) {
            book.ladder = wanted;
        }
    }

    /// Number of books.
    pub fn len(&self) -> usize {
        self.books.len()
    }

    /// Whether there are no books.
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }

    /// An instrument's L2 book.
    pub fn l2(&self, id: InstrumentId) -> &L2Book {
        &self.books[id.index()].l2
    }

    /// An instrument's counts.
    pub fn counters(&self, id: InstrumentId) -> BookCounters {
        self.books[id.index()].counters
    }

    /// Whether an instrument's book is linked to the venue's.
    pub fn is_valid(&self, id: InstrumentId) -> bool {
        self.books[id.index()].seq.is_synced()
    }

    /// The last update id an instrument's book is linked to (see
    /// [`Sequencer::last_id`]); `None` when it is not synced.
    pub fn last_update_id(&self, id: InstrumentId) -> Option<u64> {
        self.books[id.index()].seq.last_id()
    }

    /// The top and tracked depth of a valid book with a known top; `None` otherwise.
    pub fn view(&self, id: InstrumentId) -> Option<BookView> {
        let book = self.books.get(id.index())?;
        if !book.seq.is_synced() {
            return None;
        }
        let (bid, bid_qty, ask, ask_qty) = book.top?;
        Some(BookView {
            bid,
            bid_qty,
            ask,
            ask_qty,
            bid_depth_quote: book.depth_quote.0,
            ask_depth_quote: book.depth_quote.1,
            ladder: if book.ladder {
                ladder_of(&book.l2)
            } else {
                Ladder::default()
            },
        })
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &MarketEvent) -> Applied {
        let index = event.instrument.index();
        if index >= self.books.len() {
            return Applied::Nothing;
        }
        match event.body {
            EventBody::TopOfBook {
                bid,
                bid_qty,
                ask,
                ask_qty,
                update_id,
            } => self.apply_top(index, (bid, bid_qty, ask, ask_qty), update_id),
            EventBody::DepthBegin {
                first_update_id,
                last_update_id,
                prev_update_id,
                levels,
                snapshot,
                checksum,
            } => {
                let ids = DepthIds {
                    first: first_update_id,
                    last: last_update_id,
                    prev: prev_update_id,
                    snapshot,
                };
                self.begin_depth(event, ids, levels, checksum)
            }
            EventBody::DepthLevel { side, price, qty } => self.level(event, side, price, qty),
            EventBody::Trade { .. }
            | EventBody::Funding { .. }
            | EventBody::OpenInterest { .. }
            | EventBody::Feed(_) => Applied::Nothing,
        }
    }

    /// Forgets an instrument's book after its connection was lost: no levels, no top, no
    /// buffered diffs, waiting for the venue's snapshot (Binance and OKX: buffering diffs
    /// until a snapshot, the REST one asked for by the first). Allocation-free.
    pub fn reset(&mut self, id: InstrumentId) {
        let Some(book) = self.books.get_mut(id.index()) else {
            return;
        };
        book.seq.invalidate();
        book.l2.clear();
        book.pending.clear();
        book.top = None;
        book.top_update_id = 0;
        book.depth_quote = (0, 0);
        book.counters.resets += 1;
        if self.current.is_some_and(|c| c.instrument == id) {
            self.current = None;
        }
    }

    fn apply_top(&mut self, index: usize, top: Top, update_id: u64) -> Applied {
        let book = &mut self.books[index];
        if book.top_source != TopSource::Stream {
            return Applied::Nothing;
        }
        if top.0 >= top.2 {
            book.counters.crossed += 1;
            return Applied::Nothing;
        }
        if update_id < book.top_update_id || book.top == Some(top) {
            return Applied::Nothing;
        }
        book.top = Some(top);
        book.top_update_id = update_id;
        book.counters.tops += 1;
        if book.seq.is_synced() {
            Applied::Changed
        } else {
            Applied::Nothing
        }
    }

    fn begin_depth(
        &mut self,
        event: &MarketEvent,
        ids: DepthIds,
        levels: u16,
        checksum: Option<i32>,
    ) -> Applied {
        let book = &mut self.books[event.instrument.index()];
        let okx = book.seq.rule() == SequenceRule::Okx;
        let verdict = if okx && ids.snapshot && checksum.is_none() {
            book.seq.requested_snapshot(ids.last)
        } else {
            book.seq.check(ids)
        };
        let mut invalidation = None;
        let action = match verdict {
            Verdict::Apply => LevelAction::Apply,
            Verdict::Reset => {
                if okx && checksum.is_some() {
                    // A stream snapshot: what was buffered before it is superseded.
                    book.pending.clear();
                }
                book.l2.begin_snapshot();
                LevelAction::Snapshot
            }
            Verdict::Buffer => LevelAction::Buffer,
            Verdict::Stale => {
                book.counters.stale += 1;
                LevelAction::Drop
            }
            Verdict::AwaitingSnapshot => {
                book.counters.awaiting_snapshot += 1;
                LevelAction::Drop
            }
            Verdict::Gap {
                expected_after,
                got,
            } => {
                book.counters.gaps += 1;
                book.counters.resyncs += 1;
                book.pending.clear();
                invalidation = Some(Invalidation::Gap {
                    expected_after,
                    got,
                });
                if book.seq.rule().buffers_diffs() {
                    LevelAction::Buffer
                } else {
                    LevelAction::Drop
                }
            }
        };
        if action == LevelAction::Buffer {
            Self::buffer(book, event, levels);
        }
        let needs_snapshot = verdict == Verdict::Buffer;
        self.current = Some(InProgress {
            instrument: event.instrument,
            levels_left: levels,
            action,
            checksum,
            last_id: ids.last,
            invalidation,
        });
        match self.end_if_done() {
            Applied::Nothing if needs_snapshot => Applied::SnapshotNeeded,
            other => other,
        }
    }

    /// Keeps a Binance or OKX diff (its header now, its levels as they come) until the
    /// snapshot; when the whole message does not fit, the buffer is emptied and counted,
    /// and the bridge check after the snapshot catches the hole.
    fn buffer(book: &mut Book, event: &MarketEvent, levels: u16) {
        let room = book.pending.capacity() - book.pending.len();
        if room <= usize::from(levels) {
            book.pending.clear();
            book.counters.buffer_overflows += 1;
            if book.pending.capacity() <= usize::from(levels) {
                return;
            }
        }
        book.pending.push(*event);
        book.counters.buffered += 1;
    }

    fn level(&mut self, event: &MarketEvent, side: Side, price: Price, qty: Qty) -> Applied {
        let Some(current) = self.current.as_mut() else {
            return Applied::Nothing;
        };
        if current.instrument != event.instrument || current.levels_left == 0 {
            return Applied::Nothing;
        }
        current.levels_left -= 1;
        let book = &mut self.books[event.instrument.index()];
        match current.action {
            LevelAction::Apply => {
                book.l2.apply(side, price, qty);
            }
            LevelAction::Snapshot => book.l2.snapshot_level(side, price, qty),
            LevelAction::Buffer => {
                if book.pending.len() < book.pending.capacity() && book.pending.last().is_some() {
                    book.pending.push(*event);
                }
            }
            LevelAction::Drop => {}
        }
        self.end_if_done()
    }

    /// After the last level of a message: finish a snapshot, check the checksum, derive
    /// the top, replay buffered diffs, and say what changed.
    fn end_if_done(&mut self) -> Applied {
        let Some(current) = self.current else {
            return Applied::Nothing;
        };
        if current.levels_left > 0 {
            return Applied::Nothing;
        }
        self.current = None;
        let index = current.instrument.index();
        let book = &mut self.books[index];
        match current.action {
            LevelAction::Snapshot => {
                book.l2.end_snapshot();
                book.counters.snapshots += 1;
            }
            LevelAction::Apply => book.counters.updates += 1,
            LevelAction::Buffer | LevelAction::Drop => {
                return current
                    .invalidation
                    .map_or(Applied::Nothing, Applied::Invalidated);
            }
        }
        if current.checksum == Some(0) {
            book.counters.checksums_skipped += 1;
        } else if let Some(venue) = current.checksum {
            let own = book.l2.okx_checksum();
            if own == venue {
                book.counters.checksums_matched += 1;
            } else {
                book.counters.checksums_mismatched += 1;
                book.counters.resyncs += 1;
                book.seq.invalidate();
                return Applied::Invalidated(Invalidation::Checksum { venue, book: own });
            }
        }
        if let Some(crossed) = self.after_depth(index, current.last_id) {
            let book = &mut self.books[index];
            book.counters.resyncs += 1;
            book.seq.invalidate();
            return Applied::Invalidated(crossed);
        }
        if current.action == LevelAction::Snapshot
            && !self.books[index].pending.is_empty()
            && let Some(invalidation) = self.replay_pending(index)
        {
            return Applied::Invalidated(invalidation);
        }
        Applied::Changed
    }

    /// Tracked depth, the crossing check and (for book-sourced tops) the top; a crossed
    /// or locked book is counted and returned as its invalidation.
    fn after_depth(&mut self, index: usize, last_id: u64) -> Option<Invalidation> {
        let bps = self.params.tracked_depth_bps;
        let book = &mut self.books[index];
        let crossing = book.l2.crossing();
        if crossing != Crossing::Normal {
            book.counters.crossed += 1;
            let price = |l: Option<crate::book::side::Level>| l.map_or(Price::ZERO, |l| l.price);
            return Some(Invalidation::Crossed {
                bid: price(book.l2.best_bid()),
                ask: price(book.l2.best_ask()),
            });
        }
        let depth = |side| {
            let raw = book.l2.depth_within_bps(side, bps).notional_raw;
            i64::try_from(raw).unwrap_or(i64::MAX)
        };
        book.depth_quote = (depth(Side::Bid), depth(Side::Ask));
        if book.top_source == TopSource::Book
            && let (Some(bid), Some(ask)) = (book.l2.best_bid(), book.l2.best_ask())
        {
            book.top = Some((bid.price, bid.qty, ask.price, ask.qty));
            book.top_update_id = last_id;
        }
        None
    }

    /// Runs the diffs buffered before a REST snapshot through the rules (Binance's, or
    /// OKX's bridge by `seqId`): stale ones are dropped, the bridging one and its
    /// successors applied. Returns the invalidation if
    /// one of them did not link.
    fn replay_pending(&mut self, index: usize) -> Option<Invalidation> {
        let book = &mut self.books[index];
        let pending = std::mem::replace(&mut book.pending, std::mem::take(&mut book.spare));
        let mut invalidation = None;
        for event in &pending {
            if let Applied::Invalidated(i) = self.apply(event) {
                invalidation = Some(i);
            }
        }
        let book = &mut self.books[index];
        let mut spent = pending;
        spent.clear();
        book.spare = spent;
        invalidation
    }
}

/// The best [`crate::book::top::LADDER_LEVELS`] levels of each side.
fn ladder_of(l2: &L2Book) -> Ladder {
    let side = |side| {
        LadderSide::from_levels(l2.side(side).iter().map(|l| LadderLevel {
            price: l.price,
            qty: l.qty,
        }))
    };
    Ladder {
        bids: side(Side::Bid),
        asks: side(Side::Ask),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{InstrumentSpec, MarketKind, Qty};

    fn registry(venue: Venue) -> InstrumentRegistry {
        let mut r = InstrumentRegistry::default();
        r.insert(InstrumentSpec {
            venue,
            kind: MarketKind::Spot,
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            tick_size: Price::from_raw(1),
            lot_size: Qty::from_raw(1),
            min_notional: Price::ZERO,
            contract_size: Qty::from_raw(Qty::SCALE),
        })
        .unwrap();
        r
    }

    const ID: InstrumentId = InstrumentId(0);

    fn ev(body: EventBody) -> MarketEvent {
        MarketEvent {
            ts_recv_raw: 0,
            ts_venue_ms: 0,
            instrument: ID,
            body,
        }
    }

    fn px(v: i64) -> Price {
        Price::from_raw(i128::from(v) * Price::SCALE)
    }

    fn qty(v: i64) -> Qty {
        Qty::from_raw(i128::from(v) * Qty::SCALE)
    }

    /// Applies a depth message; returns the last thing one of its events did.
    fn depth(
        e: &mut BookEngine,
        ids: (u64, u64, u64),
        snapshot: bool,
        checksum: Option<i32>,
        levels: &[(Side, i64, i64)],
    ) -> Applied {
        let mut last = e.apply(&ev(EventBody::DepthBegin {
            first_update_id: ids.0,
            last_update_id: ids.1,
            prev_update_id: ids.2,
            levels: u16::try_from(levels.len()).unwrap(),
            snapshot,
            checksum,
        }));
        for &(side, p, q) in levels {
            let applied = e.apply(&ev(EventBody::DepthLevel {
                side,
                price: px(p),
                qty: qty(q),
            }));
            if applied != Applied::Nothing {
                last = applied;
            }
        }
        last
    }

    const BOOK: &[(Side, i64, i64)] = &[(Side::Bid, 100, 1), (Side::Ask, 101, 2)];

    #[test]
    fn test_bybit_top_comes_from_the_book_and_a_gap_invalidates() {
        let mut e = BookEngine::new(&registry(Venue::Bybit), BookParams::default());
        assert_eq!(
            depth(&mut e, (7, 7, 0), false, None, BOOK),
            Applied::Nothing
        );
        assert_eq!(e.counters(ID).awaiting_snapshot, 1);
        assert_eq!(
            depth(&mut e, (10, 10, 0), true, None, BOOK),
            Applied::Changed
        );
        let v = e.view(ID).unwrap();
        assert_eq!((v.bid, v.ask, v.ask_qty), (px(100), px(101), qty(2)));
        assert_eq!(v.ladder.asks.as_slice().len(), 1);
        assert_eq!(v.ladder.bids.as_slice()[0].price, px(100));
        e.set_ladder(ID, false);
        let bare = e.view(ID).unwrap();
        assert_eq!(
            bare.ladder,
            Ladder::default(),
            "no ladder when nothing reads it"
        );
        assert_eq!((bare.bid, bare.ask), (v.bid, v.ask));
        e.set_ladder(ID, true);
        let up = [(Side::Bid, 100, 0), (Side::Bid, 99, 3)];
        assert_eq!(
            depth(&mut e, (11, 11, 0), false, None, &up),
            Applied::Changed
        );
        assert_eq!(e.view(ID).unwrap().bid, px(99));
        let gap = depth(&mut e, (13, 13, 0), false, None, &up);
        assert_eq!(
            gap,
            Applied::Invalidated(Invalidation::Gap {
                expected_after: 11,
                got: 13
            })
        );
        assert!(e.view(ID).is_none());
        assert_eq!(
            depth(&mut e, (14, 14, 0), false, None, &up),
            Applied::Nothing
        );
        assert_eq!(
            depth(&mut e, (20, 20, 0), true, None, BOOK),
            Applied::Changed
        );
        assert!(e.is_valid(ID));
        let c = e.counters(ID);
        assert_eq!((c.gaps, c.resyncs, c.snapshots, c.updates), (1, 1, 2, 1));
    }

    #[test]
    fn test_crossed_book_is_invalid_until_the_venue_resyncs_it() {
        let mut e = BookEngine::new(&registry(Venue::Bybit), BookParams::default());
        assert_eq!(
            depth(&mut e, (10, 10, 0), true, None, BOOK),
            Applied::Changed
        );
        let cross = [(Side::Bid, 102, 1)];
        assert_eq!(
            depth(&mut e, (11, 11, 0), false, None, &cross),
            Applied::Invalidated(Invalidation::Crossed {
                bid: px(102),
                ask: px(101)
            })
        );
        assert!(!e.is_valid(ID));
        assert!(e.view(ID).is_none());
        let lock = [(Side::Bid, 101, 1)];
        assert_eq!(
            depth(&mut e, (20, 20, 0), true, None, BOOK),
            Applied::Changed,
            "the venue's snapshot resyncs it"
        );
        assert_eq!(
            depth(&mut e, (21, 21, 0), false, None, &lock),
            Applied::Invalidated(Invalidation::Crossed {
                bid: px(101),
                ask: px(101)
            }),
            "a locked book is no venue's either"
        );
        let c = e.counters(ID);
        assert_eq!((c.crossed, c.resyncs), (2, 2));
    }

    #[test]
    fn test_binance_buffers_until_rest_snapshot_then_replays() {
        let mut e = BookEngine::new(&registry(Venue::Binance), BookParams::default());
        let first = depth(&mut e, (90, 100, 0), false, None, &[(Side::Bid, 98, 1)]);
        assert_eq!(first, Applied::SnapshotNeeded);
        depth(&mut e, (101, 104, 0), false, None, &[(Side::Bid, 99, 5)]);
        depth(&mut e, (105, 106, 0), false, None, &[(Side::Ask, 101, 7)]);
        let top = EventBody::TopOfBook {
            bid: px(99),
            bid_qty: qty(5),
            ask: px(101),
            ask_qty: qty(7),
            update_id: 106,
        };
        assert_eq!(e.apply(&ev(top)), Applied::Nothing, "no edge before sync");
        assert_eq!(
            depth(&mut e, (102, 102, 0), true, None, BOOK),
            Applied::Changed
        );
        let c = e.counters(ID);
        assert_eq!((c.stale, c.updates, c.gaps), (1, 2, 0));
        assert_eq!(e.l2(ID).qty_at(Side::Bid, px(99)), qty(5));
        assert_eq!(e.l2(ID).qty_at(Side::Ask, px(101)), qty(7));
        assert_eq!(e.view(ID).unwrap().bid, px(99));
    }

    #[test]
    fn test_binance_buffer_overflow_is_counted_and_caught_by_the_bridge() {
        let params = BookParams {
            resync_buffer_events: 4,
            ..BookParams::default()
        };
        let mut e = BookEngine::new(&registry(Venue::Binance), params);
        depth(&mut e, (101, 102, 0), false, None, &[(Side::Bid, 99, 1)]);
        depth(&mut e, (103, 104, 0), false, None, &[(Side::Bid, 98, 1)]);
        depth(&mut e, (105, 106, 0), false, None, &[(Side::Bid, 97, 1)]);
        assert_eq!(e.counters(ID).buffer_overflows, 1);
        let r = depth(&mut e, (100, 100, 0), true, None, BOOK);
        assert!(
            matches!(r, Applied::Invalidated(Invalidation::Gap { .. })),
            "{r:?}"
        );
    }

    fn okx_book() -> L2Book {
        let mut want = L2Book::with_depth(8);
        want.apply(Side::Bid, px(100), qty(1));
        want.apply(Side::Ask, px(101), qty(2));
        want
    }

    #[test]
    fn test_okx_zero_checksum_is_skipped_and_keeps_the_book_valid() {
        let mut e = BookEngine::new(&registry(Venue::Okx), BookParams::default());
        assert_eq!(
            depth(&mut e, (5, 5, 0), true, Some(0), BOOK),
            Applied::Changed
        );
        let up = [(Side::Bid, 99, 4)];
        assert_eq!(
            depth(&mut e, (8, 8, 5), false, Some(0), &up),
            Applied::Changed
        );
        assert_eq!(
            depth(&mut e, (8, 8, 8), false, Some(0), &[]),
            Applied::Changed
        );
        assert!(e.is_valid(ID));
        let c = e.counters(ID);
        assert_eq!(
            (
                c.checksums_skipped,
                c.checksums_matched,
                c.checksums_mismatched
            ),
            (3, 0, 0)
        );
        assert_eq!(e.l2(ID).qty_at(Side::Bid, px(99)), qty(4));
    }

    #[test]
    fn test_okx_rest_snapshot_bridges_the_updates_buffered_before_it() {
        let mut e = BookEngine::new(&registry(Venue::Okx), BookParams::default());
        let first = depth(
            &mut e,
            (100, 100, 90),
            false,
            Some(0),
            &[(Side::Bid, 98, 1)],
        );
        assert_eq!(first, Applied::SnapshotNeeded);
        depth(
            &mut e,
            (104, 104, 100),
            false,
            Some(0),
            &[(Side::Bid, 99, 5)],
        );
        depth(
            &mut e,
            (106, 106, 104),
            false,
            Some(0),
            &[(Side::Ask, 101, 7)],
        );
        assert!(!e.is_valid(ID));
        assert_eq!(e.counters(ID).buffered, 3);
        // The REST book at seqId 102 (no checksum field): 100 is stale, 104 bridges.
        assert_eq!(
            depth(&mut e, (102, 102, 0), true, None, BOOK),
            Applied::Changed
        );
        assert!(e.is_valid(ID));
        let c = e.counters(ID);
        assert_eq!((c.stale, c.updates, c.gaps), (1, 2, 0));
        assert_eq!(e.l2(ID).qty_at(Side::Bid, px(98)), Qty::ZERO);
        assert_eq!(e.l2(ID).qty_at(Side::Bid, px(99)), qty(5));
        assert_eq!(e.l2(ID).qty_at(Side::Ask, px(101)), qty(7));
        let next = depth(
            &mut e,
            (107, 107, 106),
            false,
            Some(0),
            &[(Side::Bid, 97, 1)],
        );
        assert_eq!(next, Applied::Changed);
    }

    #[test]
    fn test_okx_rest_snapshot_too_old_is_a_gap_and_the_updates_stay_buffered() {
        let mut e = BookEngine::new(&registry(Venue::Okx), BookParams::default());
        depth(
            &mut e,
            (104, 104, 100),
            false,
            Some(0),
            &[(Side::Bid, 99, 5)],
        );
        depth(
            &mut e,
            (106, 106, 104),
            false,
            Some(0),
            &[(Side::Ask, 101, 7)],
        );
        let old = depth(&mut e, (90, 90, 0), true, None, BOOK);
        assert_eq!(
            old,
            Applied::Invalidated(Invalidation::Gap {
                expected_after: 90,
                got: 100
            })
        );
        assert!(!e.is_valid(ID));
        assert_eq!(
            depth(&mut e, (101, 101, 0), true, None, BOOK),
            Applied::Changed
        );
        assert!(
            e.is_valid(ID),
            "a newer REST book bridges what is still buffered"
        );
        assert_eq!(e.l2(ID).qty_at(Side::Ask, px(101)), qty(7));
    }

    #[test]
    fn test_okx_stream_snapshot_supersedes_the_updates_buffered_before_it() {
        let mut e = BookEngine::new(&registry(Venue::Okx), BookParams::default());
        depth(&mut e, (0, 0, 0), false, Some(77), &[(Side::Bid, 98, 1)]);
        let good = Some(okx_book().okx_checksum());
        assert_eq!(depth(&mut e, (0, 0, 0), true, good, BOOK), Applied::Changed);
        assert_eq!(e.l2(ID).qty_at(Side::Bid, px(98)), Qty::ZERO);
        let c = e.counters(ID);
        assert_eq!((c.checksums_matched, c.updates, c.gaps), (1, 0, 0));
    }

    #[test]
    fn test_okx_gap_invalidates_and_buffers_until_the_rest_book() {
        let mut e = BookEngine::new(&registry(Venue::Okx), BookParams::default());
        assert_eq!(
            depth(&mut e, (5, 5, 0), true, Some(0), BOOK),
            Applied::Changed
        );
        let gap = depth(&mut e, (9, 9, 7), false, Some(0), &[(Side::Bid, 99, 2)]);
        assert_eq!(
            gap,
            Applied::Invalidated(Invalidation::Gap {
                expected_after: 5,
                got: 7
            })
        );
        let after = depth(&mut e, (12, 12, 9), false, Some(0), &[(Side::Bid, 98, 3)]);
        assert_eq!(after, Applied::SnapshotNeeded);
        assert_eq!(depth(&mut e, (8, 8, 0), true, None, BOOK), Applied::Changed);
        assert_eq!(e.l2(ID).qty_at(Side::Bid, px(99)), qty(2));
        assert_eq!(e.l2(ID).qty_at(Side::Bid, px(98)), qty(3));
        let c = e.counters(ID);
        assert_eq!((c.gaps, c.resyncs, c.snapshots), (1, 1, 2));
    }

    #[test]
    fn test_okx_checksum_mismatch_invalidates() {
        let mut e = BookEngine::new(&registry(Venue::Okx), BookParams::default());
        let good = Some(okx_book().okx_checksum());
        assert_eq!(depth(&mut e, (5, 5, 0), true, good, BOOK), Applied::Changed);
        assert_eq!(e.counters(ID).checksums_matched, 1);
        let bad = depth(&mut e, (6, 6, 5), false, Some(1), &[(Side::Bid, 99, 1)]);
        assert!(matches!(
            bad,
            Applied::Invalidated(Invalidation::Checksum { venue: 1, .. })
        ));
        assert!(!e.is_valid(ID));
    }
}
