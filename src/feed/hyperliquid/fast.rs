//! The Hyperliquid fast path: a schema-specific scanner for the hot channels, `l2Book`,
//! `bbo` and `trades`, and for `activeAssetCtx` on a perpetuals connection, writing
//! fixed-point events straight into the caller's [`EventBuf`].
//!
//! Accepts only what it fully understands and declines everything else (`None`), so the
//! generic decoder in [`super::decode`] stays the judge of every other message and of
//! every error: `{"channel":..,"data":..}` with `channel` first; `data` of `l2Book` with
//! `coin`, `time`, `levels` (two arrays of `{"px","sz","n"}` levels), of `bbo` with
//! `coin`, `time`, `bbo` (up to two levels or `null`), of `trades` an array of trades with
//! `coin`, `side`, `px`, `sz`, `time`, `tid` and the skipped `hash` and `users`, of
//! `activeAssetCtx` `coin` and `ctx` (`funding`, `openInterest`, `oraclePx`, `markPx`,
//! every other member a plain string, `null` or array of strings, skipped); keys in any
//! order, each at most once, under the strict reading of [`crate::feed::scan`] (`bbo`
//! and `activeAssetCtx` data, trades and levels are read first in the key orders the
//! venue sends, as one literal sequence, then member by member when that fails; book
//! levels are written with their final stamp, the venue time read ahead from the
//! frame's end when it comes last). What it accepts decodes to exactly the generic
//! decoder's events (`tests/fast_paths.rs`, on every real Hyperliquid message in
//! `../shared/data`). Runs on the feed thread; no allocation.

use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::hyperliquid::decode::FUNDING_FIELDS;
use crate::feed::json::{self, placeholder};
use crate::feed::scan::{Cursor, Stamp, first_time, is_plain, keep_if_accepted, push_level};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, InstrumentId, MarketEvent, MarketKind, Price, Qty, Rate, Side};

/// Decodes `frame`, received on a `kind` connection, if it is an `l2Book`, `bbo`,
/// `trades` or (perpetuals only) `activeAssetCtx` message this scanner fully
/// understands; `None` (with `out` as it was) otherwise.
#[inline]
pub fn decode(
    kind: MarketKind,
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
) -> Option<Decoded> {
    keep_if_accepted(out, |out, start| {
        scan(kind, symbols, frame, ts_recv_raw, out, start)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    L2Book,
    Bbo,
    Trades,
    AssetCtx,
}

fn scan(
    kind: MarketKind,
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    // `channel` first, then `data`: the only order read, so the envelope is two literals.
    let mut c = Cursor::new(frame);
    c.lit(b"{\"channel\":")?;
    let channel = match c.string()? {
        b"l2Book" => Channel::L2Book,
        b"bbo" => Channel::Bbo,
        b"trades" => Channel::Trades,
        b"activeAssetCtx" if kind == MarketKind::Perp => Channel::AssetCtx,
        _ => return None,
    };
    c.lit(b",\"data\":")?;
    let sink = Sink {
        symbols,
        ts_recv_raw,
    };
    match channel {
        Channel::L2Book => sink.book(&mut c, false, out)?,
        Channel::Bbo => sink.bbo(&mut c, out)?,
        Channel::Trades => c.items(|c| sink.trade(c, out))?,
        Channel::AssetCtx => sink.asset_ctx(&mut c, out)?,
    }
    c.lit(b"}")?;
    c.end()?;
    Some(Decoded::Events(out.len() - start))
}

/// How coins resolve and what every event is stamped with.
#[derive(Clone, Copy)]
struct Sink<'a> {
    symbols: &'a SymbolMap,
    ts_recv_raw: u64,
}

impl Sink<'_> {
    fn coin(self, c: &mut Cursor<'_>) -> Option<InstrumentId> {
        self.symbols.get_bytes(c.string()?)
    }

    /// The `data` of `l2Book` (a snapshot header then its levels, bids then asks) or, with
    /// `bbo` set, of `bbo` (a top of book when both sides are there, else nothing). The
    /// levels are written with their final stamp when `coin` came before them and the
    /// time is known: read before them, or else the `"time":<digits>}}` the frame ends
    /// with (every `l2Book` recording ends so), then checked against the `time` read in
    /// order; otherwise they are stamped once the whole object is read.
    fn book(self, c: &mut Cursor<'_>, bbo: bool, out: &mut EventBuf) -> Option<()> {
        let at = out.len();
        if !bbo {
            out.push(placeholder(self.ts_recv_raw)).ok()?;
        }
        let (mut seen, mut instrument, mut time_ms, mut levels, mut top) =
            (0u32, None, None, None, None);
        // The venue time the levels were written with, if they were stamped.
        let mut levels_time = None;
        c.members(|c, key| {
            match key {
                b"coin" => {
                    first_time(&mut seen, 1)?;
                    instrument = Some(self.coin(c)?);
                }
                b"time" => {
                    first_time(&mut seen, 1 << 1)?;
                    time_ms = Some(c.uint()?);
                }
                b"levels" if !bbo => {
                    first_time(&mut seen, 1 << 2)?;
                    let stamp = match (instrument, time_ms.or_else(|| trailing_time(c.frame()))) {
                        (Some(instrument), Some(ts_venue_ms)) => {
                            levels_time = Some(ts_venue_ms);
                            Stamp {
                                ts_recv_raw: self.ts_recv_raw,
                                ts_venue_ms,
                                instrument,
                            }
                        }
                        _ => Stamp::default(),
                    };
                    levels = Some(book_levels(c, stamp, out)?);
                }
                b"bbo" if bbo => {
                    first_time(&mut seen, 1 << 3)?;
                    top = Some(best_levels(c)?);
                }
                _ => return None,
            }
            Some(())
        })?;
        let stamp = Stamp {
            ts_recv_raw: self.ts_recv_raw,
            ts_venue_ms: time_ms?,
            instrument: instrument?,
        };
        if bbo {
            if let Some(event) = top_of_book(stamp, top?) {
                out.push(event).ok()?;
            }
            return Some(());
        }
        out.tail_mut(at)[0] = stamp.event(EventBody::DepthBegin {
            first_update_id: stamp.ts_venue_ms,
            last_update_id: stamp.ts_venue_ms,
            prev_update_id: 0,
            levels: u16::try_from(levels?).ok()?,
            snapshot: true,
            checksum: None,
        });
        if levels_time != Some(stamp.ts_venue_ms) {
            json::stamp(
                out,
                at + 1,
                stamp.ts_recv_raw,
                stamp.ts_venue_ms,
                stamp.instrument,
            );
        }
        Some(())
    }

    /// The `data` of `bbo`: `{"coin":..,"time":..,"bbo":..}` (the venue's order) read as
    /// one literal sequence, else [`Sink::book`] member by member.
    fn bbo(self, c: &mut Cursor<'_>, out: &mut EventBuf) -> Option<()> {
        let saved = *c;
        let event = match self.bbo_in_order(c) {
            Some(event) => event,
            None => {
                *c = saved;
                return self.book(c, true, out);
            }
        };
        if let Some(event) = event {
            out.push(event).ok()?;
        }
        Some(())
    }

    /// [`Sink::bbo`] in the venue's key order, exactly: the top of book, if both sides
    /// are there; `None` for anything else.
    #[inline]
    fn bbo_in_order(self, c: &mut Cursor<'_>) -> Option<Option<MarketEvent>> {
        c.lit(b"{\"coin\":")?;
        let instrument = self.coin(c)?;
        c.lit(b",\"time\":")?;
        let ts_venue_ms = c.uint()?;
        c.lit(b",\"bbo\":")?;
        let top = best_levels(c)?;
        c.lit(b"}")?;
        let stamp = Stamp {
            ts_recv_raw: self.ts_recv_raw,
            ts_venue_ms,
            instrument,
        };
        Some(top_of_book(stamp, top))
    }

    /// One trade of `trades`, pushed stamped with its own `coin` and `time`: in one of
    /// the venue's two key orders read as one literal sequence ([`Sink::trade_in_order`]),
    /// else member by member in any order.
    fn trade(self, c: &mut Cursor<'_>, out: &mut EventBuf) -> Option<()> {
        let saved = *c;
        let (stamp, body) = match self.trade_in_order(c) {
            Some(trade) => trade,
            None => {
                *c = saved;
                self.trade_any_order(c)?
            }
        };
        out.push(stamp.event(body)).ok()
    }

    /// [`Sink::trade`] in the venue's key orders, exactly: `coin`, `hash`, `px`, `side`,
    /// `sz`, `tid`, `time` (sorted, the node's recordings) or `coin`, `side`, `px`, `sz`,
    /// `time`, `hash`, `tid` (the API's), either followed by `users` or not; `None` for
    /// anything else.
    #[inline]
    fn trade_in_order(self, c: &mut Cursor<'_>) -> Option<(Stamp, EventBody)> {
        c.lit(b"{\"coin\":")?;
        let instrument = self.coin(c)?;
        let (aggressor, price, qty, time_ms, trade_id);
        if c.lit(b",\"hash\":").is_some() {
            c.string()?;
            c.lit(b",\"px\":")?;
            price = c.decimal::<Price>()?;
            c.lit(b",\"side\":")?;
            aggressor = side(c)?;
            c.lit(b",\"sz\":")?;
            qty = c.decimal::<Qty>()?;
            c.lit(b",\"tid\":")?;
            trade_id = c.uint()?;
            c.lit(b",\"time\":")?;
            time_ms = c.uint()?;
        } else {
            c.lit(b",\"side\":")?;
            aggressor = side(c)?;
            c.lit(b",\"px\":")?;
            price = c.decimal::<Price>()?;
            c.lit(b",\"sz\":")?;
            qty = c.decimal::<Qty>()?;
            c.lit(b",\"time\":")?;
            time_ms = c.uint()?;
            c.lit(b",\"hash\":")?;
            c.string()?;
            c.lit(b",\"tid\":")?;
            trade_id = c.uint()?;
        }
        if c.lit(b",\"users\":").is_some() {
            c.strings()?;
        }
        c.lit(b"}")?;
        Some(self.trade_event(instrument, time_ms, price, qty, aggressor, trade_id))
    }

    /// [`Sink::trade`] member by member: the keys of [`Sink::trade_in_order`] in any
    /// order, each at most once, `users` optional.
    fn trade_any_order(self, c: &mut Cursor<'_>) -> Option<(Stamp, EventBody)> {
        let mut seen = 0u32;
        let (mut instrument, mut aggressor, mut price, mut qty, mut time_ms, mut trade_id) =
            (None, None, None, None, None, None);
        c.members(|c, key| {
            match key {
                b"coin" => {
                    first_time(&mut seen, 1)?;
                    instrument = Some(self.coin(c)?);
                }
                b"side" => {
                    first_time(&mut seen, 1 << 1)?;
                    aggressor = Some(side(c)?);
                }
                b"px" => {
                    first_time(&mut seen, 1 << 2)?;
                    price = Some(c.decimal::<Price>()?);
                }
                b"sz" => {
                    first_time(&mut seen, 1 << 3)?;
                    qty = Some(c.decimal::<Qty>()?);
                }
                b"time" => {
                    first_time(&mut seen, 1 << 4)?;
                    time_ms = Some(c.uint()?);
                }
                b"tid" => {
                    first_time(&mut seen, 1 << 5)?;
                    trade_id = Some(c.uint()?);
                }
                b"hash" => {
                    first_time(&mut seen, 1 << 6)?;
                    c.string()?;
                }
                b"users" => {
                    first_time(&mut seen, 1 << 7)?;
                    c.strings()?;
                }
                _ => return None,
            }
            Some(())
        })?;
        Some(self.trade_event(instrument?, time_ms?, price?, qty?, aggressor?, trade_id?))
    }

    /// A trade's stamp (its own coin and time) and body.
    fn trade_event(
        self,
        instrument: InstrumentId,
        ts_venue_ms: u64,
        price: Price,
        qty: Qty,
        aggressor: Side,
        trade_id: u64,
    ) -> (Stamp, EventBody) {
        let stamp = Stamp {
            ts_recv_raw: self.ts_recv_raw,
            ts_venue_ms,
            instrument,
        };
        let body = EventBody::Trade {
            price,
            qty,
            aggressor,
            trade_id,
        };
        (stamp, body)
    }

    /// The `data` of `activeAssetCtx`, `{"coin":..,"ctx":{..}}`: its `Funding` and
    /// `OpenInterest` events, stamped with the coin and venue time 0 (the message has
    /// none). In the venue's key order read as one literal sequence
    /// ([`asset_ctx_in_order`]), else member by member in any order.
    fn asset_ctx(self, c: &mut Cursor<'_>, out: &mut EventBuf) -> Option<()> {
        let saved = *c;
        let (instrument, ctx) = match self.asset_ctx_in_order(c) {
            Some(read) => read,
            None => {
                *c = saved;
                self.asset_ctx_any_order(c)?
            }
        };
        let funding = EventBody::Funding {
            mark: ctx.mark,
            index: ctx.oracle,
            rate: ctx.funding,
            next_funding_ms: 0,
            fields: FUNDING_FIELDS,
        };
        let open_interest = EventBody::OpenInterest {
            qty: ctx.open_interest,
        };
        for body in [funding, open_interest] {
            out.push(MarketEvent {
                ts_recv_raw: self.ts_recv_raw,
                ts_venue_ms: 0,
                instrument,
                body,
            })
            .ok()?;
        }
        Some(())
    }

    /// [`Sink::asset_ctx`] in the venue's key order, exactly: `coin`, then `ctx` with
    /// [`asset_ctx_in_order`]; `None` for anything else.
    #[inline]
    fn asset_ctx_in_order(self, c: &mut Cursor<'_>) -> Option<(InstrumentId, AssetCtx)> {
        c.lit(b"{\"coin\":")?;
        let instrument = self.coin(c)?;
        c.lit(b",\"ctx\":")?;
        let ctx = asset_ctx_in_order(c)?;
        c.lit(b"}")?;
        Some((instrument, ctx))
    }

    /// [`Sink::asset_ctx`] member by member: `coin` and `ctx` in any order, each once.
    fn asset_ctx_any_order(self, c: &mut Cursor<'_>) -> Option<(InstrumentId, AssetCtx)> {
        let (mut seen, mut instrument, mut ctx) = (0u32, None, None);
        c.members(|c, key| {
            match key {
                b"coin" => {
                    first_time(&mut seen, 1)?;
                    instrument = Some(self.coin(c)?);
                }
                b"ctx" => {
                    first_time(&mut seen, 1 << 1)?;
                    ctx = Some(asset_ctx(c)?);
                }
                _ => return None,
            }
            Some(())
        })?;
        Some((instrument?, ctx?))
    }
}

/// The fields of `activeAssetCtx`'s `ctx` the generic decoder reads.
struct AssetCtx {
    mark: Price,
    oracle: Price,
    funding: Rate,
    open_interest: Qty,
}

/// `ctx` of `activeAssetCtx` in the venue's key order, exactly: `funding`,
/// `openInterest`, `prevDayPx`, `dayNtlVlm`, `premium`, `oraclePx`, `markPx`, `midPx`,
/// `impactPxs`, then `dayBaseVlm` or not, the members not read skipped as [`asset_ctx`]
/// skips them; `None` for anything else.
#[inline]
fn asset_ctx_in_order(c: &mut Cursor<'_>) -> Option<AssetCtx> {
    c.lit(b"{\"funding\":")?;
    let funding = c.decimal::<Rate>()?;
    c.lit(b",\"openInterest\":")?;
    let open_interest = c.decimal::<Qty>()?;
    c.lit(b",\"prevDayPx\":")?;
    skipped(c)?;
    c.lit(b",\"dayNtlVlm\":")?;
    skipped(c)?;
    c.lit(b",\"premium\":")?;
    skipped(c)?;
    c.lit(b",\"oraclePx\":")?;
    let oracle = c.decimal::<Price>()?;
    c.lit(b",\"markPx\":")?;
    let mark = c.decimal::<Price>()?;
    c.lit(b",\"midPx\":")?;
    skipped(c)?;
    c.lit(b",\"impactPxs\":")?;
    skipped(c)?;
    if c.lit(b",\"dayBaseVlm\":").is_some() {
        skipped(c)?;
    }
    c.lit(b"}")?;
    Some(AssetCtx {
        mark,
        oracle,
        funding,
        open_interest,
    })
}

/// `ctx` of `activeAssetCtx` member by member: `markPx`, `oraclePx`, `funding` and
/// `openInterest`, each required; every other member (`prevDayPx`, `premium`,
/// `impactPxs`, ..) under a plain key, skipped ([`skipped`]).
fn asset_ctx(c: &mut Cursor<'_>) -> Option<AssetCtx> {
    let (mut seen, mut mark, mut oracle, mut funding, mut open_interest) =
        (0u32, None, None, None, None);
    c.members(|c, key| {
        match key {
            b"markPx" => {
                first_time(&mut seen, 1)?;
                mark = Some(c.decimal::<Price>()?);
            }
            b"oraclePx" => {
                first_time(&mut seen, 1 << 1)?;
                oracle = Some(c.decimal::<Price>()?);
            }
            b"funding" => {
                first_time(&mut seen, 1 << 2)?;
                funding = Some(c.decimal::<Rate>()?);
            }
            b"openInterest" => {
                first_time(&mut seen, 1 << 3)?;
                open_interest = Some(c.decimal::<Qty>()?);
            }
            other if is_plain(other) => skipped(c)?,
            _ => return None,
        }
        Some(())
    })?;
    Some(AssetCtx {
        mark: mark?,
        oracle: oracle?,
        funding: funding?,
        open_interest: open_interest?,
    })
}

/// A `ctx` member's value that is not read: a plain string, `null` or an array of
/// strings.
fn skipped(c: &mut Cursor<'_>) -> Option<()> {
    match c.peek()? {
        b'"' => c.string().map(|_| ()),
        b'[' => c.strings(),
        _ => c.null(),
    }
}

/// The `TopOfBook` of a `bbo` with both sides there, stamped; `None` otherwise (a side
/// missing or `null`).
fn top_of_book(stamp: Stamp, top: [Option<(Price, Qty)>; 2]) -> Option<MarketEvent> {
    let [Some((bid, bid_qty)), Some((ask, ask_qty))] = top else {
        return None;
    };
    Some(stamp.event(EventBody::TopOfBook {
        bid,
        bid_qty,
        ask,
        ask_qty,
        update_id: stamp.ts_venue_ms,
    }))
}

/// A trade's `side`: `"B"` (the buyer took) or `"A"`.
fn side(c: &mut Cursor<'_>) -> Option<Side> {
    match c.string()? {
        b"B" => Some(Side::Bid),
        b"A" => Some(Side::Ask),
        _ => None,
    }
}

/// `levels`: `[[bids],[asks]]`, each level pushed as sent, stamped with `stamp`; the
/// number of levels.
fn book_levels(c: &mut Cursor<'_>, stamp: Stamp, out: &mut EventBuf) -> Option<usize> {
    let mut count = 0;
    c.lit(b"[")?;
    for (side, close) in [(Side::Bid, b","), (Side::Ask, b"]")] {
        c.items(|c| {
            let (price, qty) = level(c)?;
            push_level(out, stamp, side, price, qty)?;
            count += 1;
            Some(())
        })?;
        c.lit(close)?;
    }
    Some(count)
}

/// The venue time an `l2Book` frame ends with, `"time":<digits>}}` (its last member,
/// `data` closing with the frame); `None` when it ends otherwise. Read ahead of the
/// levels, so only trusted once the `time` read in order agrees.
fn trailing_time(frame: &[u8]) -> Option<u64> {
    let body = frame.strip_suffix(b"}}")?;
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let at = body.len() - digits;
    body[..at].ends_with(b"\"time\":").then_some(())?;
    let mut c = Cursor::new(&body[at..]);
    let time = c.uint()?;
    c.end()?;
    Some(time)
}

/// `bbo`: `[bid, ask]`, each a level or `null`; a shorter array leaves the missing side
/// absent, as the generic decoder reads it.
fn best_levels(c: &mut Cursor<'_>) -> Option<[Option<(Price, Qty)>; 2]> {
    let mut sides = [None, None];
    let mut index = 0;
    c.items(|c| {
        let side = sides.get_mut(index)?;
        index += 1;
        if c.null().is_none() {
            *side = Some(level(c)?);
        }
        Some(())
    })?;
    Some(sides)
}

/// One `{"px":..,"sz":..,"n":..}` level (`n`, the order count, is not kept): in one of
/// the two key orders the venue sends (`n`, `px`, `sz` or `px`, `sz`, `n`) read as one
/// literal sequence, else member by member in any order.
fn level(c: &mut Cursor<'_>) -> Option<(Price, Qty)> {
    let saved = *c;
    if let Some(level) = level_in_order(c) {
        return Some(level);
    }
    *c = saved;
    let (mut seen, mut price, mut qty) = (0u32, None, None);
    c.members(|c, key| {
        match key {
            b"px" => {
                first_time(&mut seen, 1)?;
                price = Some(c.decimal::<Price>()?);
            }
            b"sz" => {
                first_time(&mut seen, 1 << 1)?;
                qty = Some(c.decimal::<Qty>()?);
            }
            b"n" => {
                first_time(&mut seen, 1 << 2)?;
                c.uint()?;
            }
            _ => return None,
        }
        Some(())
    })?;
    Some((price?, qty?))
}

/// [`level`] in the venue's key orders: `{"n":..,"px":..,"sz":..}` or
/// `{"px":..,"sz":..,"n":..}`, exactly; `None` for anything else.
#[inline]
fn level_in_order(c: &mut Cursor<'_>) -> Option<(Price, Qty)> {
    let n_first = c.lit(b"{\"n\":").is_some();
    if n_first {
        c.uint()?;
        c.lit(b",\"px\":")?;
    } else {
        c.lit(b"{\"px\":")?;
    }
    let price = c.decimal::<Price>()?;
    c.lit(b",\"sz\":")?;
    let qty = c.decimal::<Qty>()?;
    if !n_first {
        c.lit(b",\"n\":")?;
        c.uint()?;
    }
    c.lit(b"}")?;
    Some((price, qty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::scan::{px, qty, run_fast};

    const BTC: InstrumentId = InstrumentId(1);

    fn run(frame: &str) -> Option<Vec<MarketEvent>> {
        run_fast(
            |s, f, t, o| decode(MarketKind::Perp, s, f, t, o),
            "BTC",
            BTC,
            frame,
        )
    }

    #[test]
    fn test_l2book_in_sorted_key_order() {
        let events = run(r#"{"channel":"l2Book","data":{"coin":"BTC","levels":[[{"n":5,"px":"105055.0","sz":"3.03622"},{"n":1,"px":"105054.0","sz":"0.1428"}],[{"n":13,"px":"105056.0","sz":"6.34472"}]],"time":1737918843542}}"#).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(
            events[0].body,
            EventBody::DepthBegin {
                first_update_id: 1737918843542,
                last_update_id: 1737918843542,
                prev_update_id: 0,
                levels: 3,
                snapshot: true,
                checksum: None,
            }
        );
        assert_eq!(
            events[3].body,
            EventBody::DepthLevel {
                side: Side::Ask,
                price: px("105056"),
                qty: qty("6.34472")
            }
        );
        assert!(
            events.iter().all(|e| e.instrument == BTC
                && e.ts_venue_ms == 1737918843542
                && e.ts_recv_raw == 4)
        );
    }

    #[test]
    fn test_bbo_both_sides_one_side_and_trades() {
        let events = run(r#"{"channel":"bbo","data":{"coin":"BTC","time":1750948919838,"bbo":[{"px":"107575.0","sz":"3.87947","n":17},{"px":"107576.0","sz":"1.5","n":2}]}}"#).unwrap();
        assert_eq!(
            events[0].body,
            EventBody::TopOfBook {
                bid: px("107575"),
                bid_qty: qty("3.87947"),
                ask: px("107576"),
                ask_qty: qty("1.5"),
                update_id: 1750948919838,
            }
        );
        for one_sided in [
            r#"{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[{"px":"1","sz":"1","n":1}]}}"#,
            r#"{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[null,{"px":"1","sz":"1","n":1}]}}"#,
        ] {
            assert_eq!(run(one_sided), Some(Vec::new()), "{one_sided}");
        }
        let events = run(r#"{"channel":"trades","data":[{"coin":"BTC","side":"A","px":"69997.0","sz":"0.38111","time":1730160006192,"hash":"0x40d1","tid":1016375172059570,"users":["0xe9","0x68"]}]}"#).unwrap();
        assert_eq!(
            events[0].body,
            EventBody::Trade {
                price: px("69997"),
                qty: qty("0.38111"),
                aggressor: Side::Ask,
                trade_id: 1016375172059570
            }
        );
        assert_eq!(events[0].ts_venue_ms, 1730160006192);
    }

    #[test]
    fn test_active_asset_ctx_on_perpetuals_only() {
        let frame = r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.00004863","openInterest":"18617460.0","prevDayPx":"0.20296","dayNtlVlm":"7665220.55613","premium":"0.00008521","oraclePx":"0.1995","markPx":"0.19963","midPx":null,"impactPxs":["0.199517","0.199725"]}}}"#;
        let events = run(frame).unwrap();
        assert_eq!(
            events[0].body,
            EventBody::Funding {
                mark: px("0.19963"),
                index: px("0.1995"),
                rate: Rate::from_decimal_str("0.00004863").unwrap(),
                next_funding_ms: 0,
                fields: FUNDING_FIELDS,
            }
        );
        assert_eq!(
            events[1].body,
            EventBody::OpenInterest {
                qty: qty("18617460")
            }
        );
        assert!(
            events
                .iter()
                .all(|e| e.instrument == BTC && e.ts_venue_ms == 0 && e.ts_recv_raw == 4)
        );
        let mut symbols = SymbolMap::default();
        symbols.insert("BTC", BTC);
        let mut out = EventBuf::with_capacity(4);
        let spot = decode(MarketKind::Spot, &symbols, frame.as_bytes(), 4, &mut out);
        assert_eq!((spot, out.len()), (None, 0));
    }

    #[test]
    fn test_active_asset_ctx_in_any_key_order() {
        let in_order = r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0000125","openInterest":"605822.25579999","prevDayPx":"2094.6","dayNtlVlm":"591989409.9392402172","premium":null,"oraclePx":"2124.6","markPx":"2123.7","midPx":"2123.95","impactPxs":["2123.65","2124.0"],"dayBaseVlm":"281686.8234999999"}}}"#;
        let want = run(in_order).unwrap();
        assert_eq!(
            want[0].body,
            EventBody::Funding {
                mark: px("2123.7"),
                index: px("2124.6"),
                rate: Rate::from_decimal_str("0.0000125").unwrap(),
                next_funding_ms: 0,
                fields: FUNDING_FIELDS,
            }
        );
        assert_eq!(want.len(), 2);
        for frame in [
            r#"{"channel":"activeAssetCtx","data":{"ctx":{"funding":"0.0000125","openInterest":"605822.25579999","prevDayPx":"2094.6","dayNtlVlm":"591989409.9392402172","premium":null,"oraclePx":"2124.6","markPx":"2123.7","midPx":"2123.95","impactPxs":["2123.65","2124.0"],"dayBaseVlm":"281686.8234999999"},"coin":"BTC"}}"#,
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"markPx":"2123.7","dayNtlVlm":"591989409.9392402172","oraclePx":"2124.6","funding":"0.0000125","openInterest":"605822.25579999"}}}"#,
        ] {
            assert_eq!(run(frame).as_deref(), Some(&want[..]), "{frame}");
        }
    }

    #[test]
    fn test_declines_what_it_does_not_fully_understand() {
        for frame in [
            r#"{"data":{"coin":"BTC","time":1,"levels":[[],[]]},"channel":"l2Book"}"#,
            r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[],[],[]]}}"#,
            r#"{"channel":"l2Book","data":{"coin":"BTC","levels":[[],[]]}}"#,
            r#"{"channel":"l2Book","data":{"coin":"ETH","time":1,"levels":[[],[]]}}"#,
            r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"px":"1","n":1}],[]]}}"#,
            r#"{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[null,null,null]}}"#,
            r#"{"channel":"trades","data":[{"coin":"BTC","side":"X","px":"1","sz":"1","time":1,"tid":1}]}"#,
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{}}}"#,
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0001","oraclePx":"1","markPx":"1"}}}"#,
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0001","openInterest":"1","oraclePx":"1","markPx":"1","mark\u0050x":"2"}}}"#,
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0001","openInterest":"1","oraclePx":"1","markPx":"1","premium":0.5}}}"#,
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","time":1,"ctx":{"funding":"0.0001","openInterest":"1","oraclePx":"1","markPx":"1"}}}"#,
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0001","openInterest":"1","prevDayPx":"1","dayNtlVlm":"1","premium":null,"oraclePx":"1","markPx":"1","midPx":null,"impactPxs":null,"dayBaseVlm":1}}}"#,
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0001","openInterest":"1","prevDayPx":"1","dayNtlVlm":"1","premium":null,"oraclePx":"1","markPx":"1","midPx":null,"impactPxs":null,"markPx":"2"}}}"#,
            r#"{"channel":"pong"}"#,
            "Websocket connection established.",
        ] {
            assert_eq!(run(frame), None, "{frame}");
        }
    }
}
