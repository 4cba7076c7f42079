//! `edgeline verify`: replays captures of raw venue messages through the real decoders
//! and the book engine, and reports per instrument what a trading engineer checks before
//! trusting a feed: messages decoded, unknown and malformed, book messages, snapshots and
//! updates, gaps, checksums matched and mismatched, resyncs, the state each book ends in
//! (valid, invalid, never synced, or no book) and the final best bid and ask; it can
//! print the top levels of a book after given book messages ([`DumpRequest`]).
//!
//! A **book message** of an instrument is a message that decodes into a depth snapshot or
//! diff of it (a REST depth snapshot included; trades, tickers and top-of-book streams
//! are not); they are numbered from 1 in the order `verify` reads them: the captures
//! merged by receive time, file order kept among equal times, sent frames and other
//! markets' connections left out.
//!
//! Symbols are discovered from the messages themselves (the venue's symbol field, or the
//! `symbol=` (Binance) or `instId=` (OKX) of a REST book URL), so users can run it on
//! their own recordings without a config. Cold path, run on the caller's thread (the
//! `edgeline verify` command's): allocates freely; shares no state with a running
//! pipeline.

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::str::FromStr;

use sonic_rs::JsonValueTrait;

use crate::book::engine::{Applied, BookCounters, BookEngine, Invalidation};
use crate::book::side::Level;
use crate::book::stage::BookParams;
use crate::capture::{self, CaptureError, CapturedMessage, Direction};
use crate::feed::binance::BinanceDecoder;
use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{NESTING_MAX, nesting_within};
use crate::feed::okx;
use crate::feed::symbols::SymbolMap;
use crate::feed::venues::VenueDecoder;
use crate::types::{
    EventBody, InstrumentId, InstrumentRegistry, InstrumentSpec, MarketKind, Price, Qty, Side,
    Venue,
};

/// Events one message may decode into (a 5000-level snapshot of both sides).
const EVENTS_MAX: usize = 10_016;

/// The state of an instrument's book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookState {
    /// No book message named the instrument (only trades, tickers or top-of-book
    /// messages): there is no book to check.
    NoBook,
    /// Book messages came, but none synced the book (no snapshot, or Binance diffs whose
    /// REST snapshot never came).
    NeverSynced,
    /// The book synced once and is invalid now (a gap or checksum mismatch not followed
    /// by a resync).
    Invalid,
    /// The book is linked to the venue's.
    Valid,
}

impl BookState {
    /// The word the table and dumps print.
    pub const fn name(self) -> &'static str {
        match self {
            BookState::NoBook => "no book",
            BookState::NeverSynced => "never synced",
            BookState::Invalid => "invalid",
            BookState::Valid => "valid",
        }
    }
}

/// What `verify` found for one instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentReport {
    /// The venue's symbol.
    pub symbol: String,
    /// Messages that decoded into events.
    pub decoded: u64,
    /// Well-formed messages of a type not handled.
    pub unknown: u64,
    /// Messages that failed to decode.
    pub malformed: u64,
    /// Book messages (depth snapshots and diffs, REST snapshots included).
    pub book_messages: u64,
    /// The book engine's counts.
    pub book: BookCounters,
    /// Whether the book ended valid (`state == BookState::Valid`).
    pub valid: bool,
    /// The state the book ended in.
    pub state: BookState,
    /// The last update id the book was linked to (kept after an invalidation: the id of
    /// the levels it still holds); `None` before any sync.
    pub last_update_id: Option<u64>,
    /// The last invalidation and the number of the book message that caused it.
    pub invalidation: Option<(u64, Invalidation)>,
    /// Final best bid (price, quantity).
    pub best_bid: Option<(Price, Qty)>,
    /// Final best ask.
    pub best_ask: Option<(Price, Qty)>,
}

/// When a book is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpAt {
    /// After the instrument's book message with this number (from 1).
    Message(u64),
    /// After the last message of the captures.
    End,
}

impl FromStr for DumpAt {
    type Err = String;

    /// `end`, or a book message number from 1.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "end" {
            return Ok(DumpAt::End);
        }
        match s.trim().parse::<u64>() {
            Ok(k) if k >= 1 => Ok(DumpAt::Message(k)),
            _ => Err(format!(
                "`{s}` is not a book message number (1, 2, ...) or `end`"
            )),
        }
    }
}

/// Which book to print, how deep, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRequest {
    /// The venue's symbol, as the table names it.
    pub symbol: String,
    /// Levels per side.
    pub depth: usize,
    /// When; each is printed once, in message order.
    pub at: Vec<DumpAt>,
}

/// What `verify` does besides the checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// A book to print.
    pub dump: Option<DumpRequest>,
}

/// One printed book: the best levels of both sides after a book message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookDump {
    /// The venue's symbol.
    pub symbol: String,
    /// What was asked.
    pub at: DumpAt,
    /// Book messages applied so far (the number asked, or all of them at the end).
    pub message: u64,
    /// The instrument's book messages in the whole capture.
    pub of: u64,
    /// Receive time of that book message, unix ns (0 where the format has none, or at
    /// the end of a capture with no book message).
    pub ts_ns: u64,
    /// The book's last update id (as [`InstrumentReport::last_update_id`]).
    pub last_update_id: Option<u64>,
    /// The book's state then.
    pub state: BookState,
    /// Best bids, best first.
    pub bids: Vec<Level>,
    /// Best asks, best first.
    pub asks: Vec<Level>,
}

impl fmt::Display for BookDump {
    /// A header line, then one line per level: `level bid_qty bid_px | ask_px ask_qty`,
    /// exact decimals (trailing zeros trimmed), `-` where a side has fewer levels.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match self.at {
            DumpAt::Message(_) => "after book message",
            DumpAt::End => "at the end, after book message",
        };
        let id = self
            .last_update_id
            .map_or_else(|| "-".to_owned(), |i| i.to_string());
        let received = if self.ts_ns == 0 {
            "no receive time".to_owned()
        } else {
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(self.ts_ns);
            format!(
                "received {} ns, {}",
                self.ts_ns,
                humantime::format_rfc3339_nanos(time)
            )
        };
        writeln!(
            f,
            "book {} {at} {} of {} ({received}): last update id {id}, {}",
            self.symbol,
            self.message,
            self.of,
            self.state.name()
        )?;
        writeln!(
            f,
            "{:>5} {:>20} {:>20} | {:<20} ask qty",
            "level", "bid qty", "bid price", "ask price"
        )?;
        let cell = |l: Option<&Level>, price: bool| {
            l.map_or_else(
                || "-".to_owned(),
                |l| {
                    if price {
                        l.price.to_string()
                    } else {
                        l.qty.to_string()
                    }
                },
            )
        };
        for i in 0..self.bids.len().max(self.asks.len()) {
            let (bid, ask) = (self.bids.get(i), self.asks.get(i));
            writeln!(
                f,
                "{:>5} {:>20} {:>20} | {:<20} {}",
                i + 1,
                cell(bid, false),
                cell(bid, true),
                cell(ask, true),
                cell(ask, false)
            )?;
        }
        Ok(())
    }
}

/// The whole verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Per instrument, in order of first appearance.
    pub instruments: Vec<InstrumentReport>,
    /// Messages naming no symbol (acks, pongs, other channels): decoded or unknown.
    pub unattributed: u64,
    /// Messages naming no symbol that failed to decode.
    pub unattributed_malformed: u64,
    /// The books printed, in message order.
    pub dumps: Vec<BookDump>,
}

impl VerifyReport {
    /// Whether anything is wrong: a malformed message, a gap or a checksum mismatch.
    pub fn has_mismatch(&self) -> bool {
        self.unattributed_malformed > 0
            || self
                .instruments
                .iter()
                .any(|i| i.malformed > 0 || i.book.gaps > 0 || i.book.checksums_mismatched > 0)
    }

    /// Everything that makes the captures untrustworthy, one line each naming the
    /// instrument: malformed messages, gaps, checksum mismatches, a book that never
    /// synced or ends invalid. An instrument with no book message is not a failure
    /// unless `require_book`.
    pub fn failures(&self, require_book: bool) -> Vec<String> {
        let mut out = Vec::new();
        if self.unattributed_malformed > 0 {
            out.push(format!(
                "{} malformed messages naming no symbol",
                self.unattributed_malformed
            ));
        }
        for i in &self.instruments {
            let s = &i.symbol;
            if i.malformed > 0 {
                out.push(format!("{s}: {} malformed messages", i.malformed));
            }
            if i.book.gaps > 0 {
                out.push(format!("{s}: {} gaps", i.book.gaps));
            }
            if i.book.checksums_mismatched > 0 {
                out.push(format!(
                    "{s}: {} checksum mismatches",
                    i.book.checksums_mismatched
                ));
            }
            let why = i.invalidation.map_or_else(String::new, |(k, why)| {
                format!(" since book message {k}: {}", describe(why))
            });
            match i.state {
                BookState::NeverSynced => out.push(format!(
                    "{s}: book never synced ({} book messages, {} dropped waiting for a \
                     snapshot, {} buffered waiting for a REST snapshot){why}",
                    i.book_messages, i.book.awaiting_snapshot, i.book.buffered
                )),
                BookState::Invalid => out.push(format!("{s}: book ends invalid{why}")),
                BookState::NoBook if require_book => {
                    out.push(format!("{s}: no book message in the captures"));
                }
                BookState::NoBook | BookState::Valid => {}
            }
        }
        out
    }

    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>7} {:>9} {:>8} {:>9} {:>8} {:>5} {:>9} {:>9} {:>7} {:>12}  best bid / best ask",
            "instrument",
            "decoded",
            "unknown",
            "malformed",
            "book msg",
            "snapshots",
            "updates",
            "gaps",
            "cksum ok",
            "cksum bad",
            "resyncs",
            "book"
        );
        for i in &self.instruments {
            let side =
                |s: Option<(Price, Qty)>| s.map_or("-".to_owned(), |(p, q)| format!("{p} x {q}"));
            let _ = writeln!(
                out,
                "{:<16} {:>8} {:>7} {:>9} {:>8} {:>9} {:>8} {:>5} {:>9} {:>9} {:>7} {:>12}  {} / {}",
                i.symbol,
                i.decoded,
                i.unknown,
                i.malformed,
                i.book_messages,
                i.book.snapshots,
                i.book.updates,
                i.book.gaps,
                i.book.checksums_matched,
                i.book.checksums_mismatched,
                i.book.resyncs,
                i.state.name(),
                side(i.best_bid),
                side(i.best_ask),
            );
        }
        let _ = writeln!(
            out,
            "messages naming no symbol: {} ({} malformed)",
            self.unattributed, self.unattributed_malformed
        );
        out
    }
}

/// An invalidation in words.
fn describe(why: Invalidation) -> String {
    match why {
        Invalidation::Gap {
            expected_after,
            got,
        } => {
            format!("gap, the book held update id {expected_after} and the message linked to {got}")
        }
        Invalidation::Checksum { venue, book } => {
            format!("checksum mismatch, venue {venue}, book {book}")
        }
        Invalidation::Crossed { bid, ask } => {
            format!("crossed, best bid {bid} at or above best ask {ask}")
        }
    }
}

/// Why verification could not run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A capture could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Nothing in the captures names a symbol of this venue.
    #[error("no {venue} {kind} market data found in the captures")]
    NoSymbols {
        /// Venue name.
        venue: &'static str,
        /// Market kind name.
        kind: &'static str,
    },
    /// The book to print is not among the captures' instruments.
    #[error("--dump-book: no instrument `{symbol}` in the captures (found: {found})")]
    UnknownInstrument {
        /// What was asked.
        symbol: String,
        /// The instruments found, comma-separated.
        found: String,
    },
    /// A book message number past the instrument's last.
    #[error("--at {at}: {symbol} has only {count} book messages")]
    PastTheEnd {
        /// The instrument.
        symbol: String,
        /// The number asked.
        at: u64,
        /// Its book messages.
        count: u64,
    },
    /// A dump of no levels.
    #[error("--depth must be at least 1")]
    NoDepth,
}

/// Verifies captures of one venue's market; files are merged by receive time.
pub fn verify(
    venue: Venue,
    kind: MarketKind,
    files: &[PathBuf],
) -> Result<VerifyReport, VerifyError> {
    verify_with(venue, kind, files, &VerifyOptions::default())
}

/// [`verify`], printing the books `options` asks for into [`VerifyReport::dumps`].
pub fn verify_with(
    venue: Venue,
    kind: MarketKind,
    files: &[PathBuf],
    options: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    let mut messages: Vec<CapturedMessage> = Vec::new();
    for file in files {
        messages.extend(
            capture::read_file(file)?
                .into_iter()
                .filter(|m| m.direction != Direction::Sent)
                .filter(|m| market_of_source(venue, &m.source).is_none_or(|k| k == kind)),
        );
    }
    messages.sort_by_key(|m| m.ts_ns);
    let mut symbols: Vec<Option<String>> = messages.iter().map(|m| symbol_of(venue, m)).collect();
    resolve_unnamed(&mut symbols);
    let registry = registry_of(venue, kind, &symbols);
    if registry.is_empty() {
        return Err(VerifyError::NoSymbols {
            venue: venue.name(),
            kind: kind.name(),
        });
    }
    let dump = match &options.dump {
        Some(request) => Some(DumpPlan::new(request, venue, kind, &registry)?),
        None => None,
    };
    let mut report = Replay::new(venue, kind, &registry, dump).run(&messages, &symbols);
    if let Some(request) = &options.dump {
        let count = report
            .instruments
            .iter()
            .find(|i| i.symbol == request.symbol)
            .map_or(0, |i| i.book_messages);
        let past = request.at.iter().find_map(|a| match a {
            DumpAt::Message(k) if *k > count => Some(*k),
            _ => None,
        });
        if let Some(at) = past {
            return Err(VerifyError::PastTheEnd {
                symbol: request.symbol.clone(),
                at,
                count,
            });
        }
        for d in &mut report.dumps {
            d.of = count;
        }
    }
    Ok(report)
}

fn registry_of(venue: Venue, kind: MarketKind, symbols: &[Option<String>]) -> InstrumentRegistry {
    let mut registry = InstrumentRegistry::default();
    for symbol in symbols.iter().flatten() {
        if registry.find(venue, kind, symbol).is_some() {
            continue;
        }
        let one = Qty::from_raw(Qty::SCALE);
        let _ = registry.insert(InstrumentSpec {
            venue,
            kind,
            symbol: symbol.clone(),
            base: symbol.clone(),
            tick_size: Price::from_raw(1),
            lot_size: Qty::from_raw(1),
            min_notional: Price::ZERO,
            contract_size: one,
        });
    }
    registry
}

/// The book to print, resolved against the registry; `at` sorted, `End` last.
struct DumpPlan {
    instrument: InstrumentId,
    depth: usize,
    at: Vec<DumpAt>,
}

impl DumpPlan {
    fn new(
        request: &DumpRequest,
        venue: Venue,
        kind: MarketKind,
        registry: &InstrumentRegistry,
    ) -> Result<Self, VerifyError> {
        if request.depth == 0 {
            return Err(VerifyError::NoDepth);
        }
        let instrument = registry.find(venue, kind, &request.symbol).ok_or_else(|| {
            VerifyError::UnknownInstrument {
                symbol: request.symbol.clone(),
                found: registry
                    .iter()
                    .map(|i| i.symbol.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })?;
        let mut at = if request.at.is_empty() {
            vec![DumpAt::End]
        } else {
            request.at.clone()
        };
        let key = |a: &DumpAt| match a {
            DumpAt::Message(k) => *k,
            DumpAt::End => u64::MAX,
        };
        at.sort_by_key(key);
        at.dedup();
        Ok(Self {
            instrument,
            depth: request.depth,
            at,
        })
    }
}

/// Per instrument, what the replay tracks besides the engine's counters.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    decoded: u64,
    unknown: u64,
    malformed: u64,
    book_messages: u64,
    ever_synced: bool,
    last_update_id: Option<u64>,
    invalidation: Option<(u64, Invalidation)>,
    last_book_ts_ns: u64,
}

impl Tally {
    fn state(&self, valid: bool) -> BookState {
        match (self.book_messages, valid, self.ever_synced) {
            (0, _, _) => BookState::NoBook,
            (_, true, _) => BookState::Valid,
            (_, false, true) => BookState::Invalid,
            (_, false, false) => BookState::NeverSynced,
        }
    }
}

/// One pass over the messages through the decoders and the engine.
struct Replay<'a> {
    venue: Venue,
    kind: MarketKind,
    registry: &'a InstrumentRegistry,
    decoder: VenueDecoder,
    rest: BinanceDecoder,
    engine: BookEngine,
    buf: EventBuf,
    tallies: Vec<Tally>,
    dump: Option<DumpPlan>,
    report: VerifyReport,
}

impl<'a> Replay<'a> {
    fn new(
        venue: Venue,
        kind: MarketKind,
        registry: &'a InstrumentRegistry,
        dump: Option<DumpPlan>,
    ) -> Self {
        let mut map = SymbolMap::default();
        for inst in registry.iter() {
            map.insert(&inst.symbol, inst.id);
        }
        let params = BookParams {
            resync_buffer_events: 1 << 20,
            ..BookParams::default()
        };
        Self {
            venue,
            kind,
            registry,
            decoder: VenueDecoder::new(venue, kind, map.clone()),
            rest: BinanceDecoder::new(map),
            engine: BookEngine::new(registry, params),
            buf: EventBuf::with_capacity(EVENTS_MAX),
            tallies: vec![Tally::default(); registry.len()],
            dump,
            report: VerifyReport::default(),
        }
    }

    fn run(mut self, messages: &[CapturedMessage], symbols: &[Option<String>]) -> VerifyReport {
        for (message, symbol) in messages.iter().zip(symbols) {
            self.message(message, symbol.as_deref());
        }
        if let Some(plan) = &self.dump
            && plan.at.last() == Some(&DumpAt::End)
        {
            let tally = self.tallies[plan.instrument.index()];
            self.dump_book(DumpAt::End, tally.last_book_ts_ns);
        }
        for inst in self.registry.iter() {
            let t = self.tallies[inst.id.index()];
            let l2 = self.engine.l2(inst.id);
            let state = t.state(self.engine.is_valid(inst.id));
            self.report.instruments.push(InstrumentReport {
                symbol: inst.symbol.clone(),
                decoded: t.decoded,
                unknown: t.unknown,
                malformed: t.malformed,
                book_messages: t.book_messages,
                book: self.engine.counters(inst.id),
                valid: state == BookState::Valid,
                state,
                last_update_id: t.last_update_id,
                invalidation: t.invalidation,
                best_bid: l2.best_bid().map(|l| (l.price, l.qty)),
                best_ask: l2.best_ask().map(|l| (l.price, l.qty)),
            });
        }
        self.report
    }

    fn message(&mut self, message: &CapturedMessage, symbol: Option<&str>) {
        let instrument = symbol.and_then(|s| self.registry.find(self.venue, self.kind, s));
        self.buf.clear();
        let result = match (message.direction, instrument) {
            // OKX books start from its REST order book since 2026 (`okx::rest`).
            (Direction::Http, Some(id)) if self.venue == Venue::Okx => {
                okx::rest::decode_book(message.payload.as_bytes(), id, 0, &mut self.buf)
            }
            (Direction::Http, Some(id)) => {
                self.rest
                    .decode_snapshot(message.payload.as_bytes(), id, 0, &mut self.buf)
            }
            (Direction::Http, None) => return,
            _ => self
                .decoder
                .decode(message.payload.as_bytes(), 0, &mut self.buf),
        };
        match (result, instrument.map(|id| &mut self.tallies[id.index()])) {
            (Ok(Decoded::Events(_)), Some(t)) => t.decoded += 1,
            (Ok(Decoded::Unknown), Some(t)) => t.unknown += 1,
            (Err(_), Some(t)) => t.malformed += 1,
            (Err(_), None) => self.report.unattributed_malformed += 1,
            (Ok(_), _) => self.report.unattributed += 1,
        }
        let mut book_of = None;
        for event in self.buf.as_slice() {
            if matches!(event.body, EventBody::DepthBegin { .. }) {
                book_of = Some(event.instrument);
            }
            if let Applied::Invalidated(why) = self.engine.apply(event) {
                let t = &mut self.tallies[event.instrument.index()];
                t.invalidation = Some((t.book_messages + 1, why));
                log::warn!(
                    "verify: {} book invalid at {} ns: {why:?}",
                    self.registry.get(event.instrument).symbol,
                    message.ts_ns
                );
            }
        }
        let Some(id) = book_of else {
            return;
        };
        let valid = self.engine.is_valid(id);
        let linked = self.engine.last_update_id(id);
        let t = &mut self.tallies[id.index()];
        t.book_messages += 1;
        t.last_book_ts_ns = message.ts_ns;
        t.ever_synced |= valid;
        if linked.is_some() {
            t.last_update_id = linked;
        }
        let number = t.book_messages;
        if let Some(plan) = &self.dump
            && plan.instrument == id
            && plan.at.contains(&DumpAt::Message(number))
        {
            self.dump_book(DumpAt::Message(number), message.ts_ns);
        }
    }

    fn dump_book(&mut self, at: DumpAt, ts_ns: u64) {
        let Some(plan) = &self.dump else {
            return;
        };
        let id = plan.instrument;
        let t = self.tallies[id.index()];
        let l2 = self.engine.l2(id);
        let levels = |side| l2.side(side).iter().take(plan.depth).copied().collect();
        self.report.dumps.push(BookDump {
            symbol: self.registry.get(id).symbol.clone(),
            at,
            message: t.book_messages,
            of: 0,
            ts_ns,
            last_update_id: t.last_update_id,
            state: t.state(self.engine.is_valid(id)),
            bids: levels(Side::Bid),
            asks: levels(Side::Ask),
        });
    }
}

/// The market a connection URL carries, where the venue has one endpoint per market
/// (a capture of both markets of one symbol must not mix them).
fn market_of_source(venue: Venue, source: &str) -> Option<MarketKind> {
    match venue {
        Venue::Bybit if source.contains("/v5/public/spot") => Some(MarketKind::Spot),
        Venue::Bybit if source.contains("/v5/public/linear") => Some(MarketKind::Perp),
        Venue::Binance if source.contains("fstream.") || source.contains("fapi.") => {
            Some(MarketKind::Perp)
        }
        Venue::Binance
            if source.contains("://stream.binance.com")
                || source.contains("://api.binance.com") =>
        {
            Some(MarketKind::Spot)
        }
        _ => None,
    }
}

/// The symbol a message is about, read the way each venue names it (cold: parses the
/// message generically, once its nesting is known to be bounded; a deeper message names
/// none, and its decoder counts it malformed). REST snapshots name it in their URL, or in hftbacktest files
/// not at all (the file's one symbol is used).
fn symbol_of(venue: Venue, message: &CapturedMessage) -> Option<String> {
    if message.direction == Direction::Http {
        let from_url = message
            .source
            .split(['?', '&'])
            .find_map(|p| {
                p.strip_prefix("symbol=")
                    .or_else(|| p.strip_prefix("instId="))
            })
            .map(str::to_owned);
        return from_url.or_else(|| Some(String::new()));
    }
    if !nesting_within(message.payload.as_bytes(), NESTING_MAX) {
        return None;
    }
    let value: sonic_rs::Value = sonic_rs::from_str(&message.payload).ok()?;
    let text = |v: Option<&sonic_rs::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    match venue {
        Venue::Binance => {
            let data = value.get("data").unwrap_or(&value);
            text(data.get("s"))
        }
        Venue::Bybit => {
            let data = value.get("data")?;
            text(data.get("s"))
                .or_else(|| text(data.get("symbol")))
                .or_else(|| data.get(0).and_then(|t| text(t.get("s"))))
        }
        Venue::Okx => text(value.get("arg").and_then(|a| a.get("instId"))),
        Venue::Hyperliquid => {
            let data = value.get("data")?;
            text(data.get("coin")).or_else(|| data.get(0).and_then(|t| text(t.get("coin"))))
        }
    }
}

/// REST snapshots of hftbacktest files name no symbol: they belong to the file's only
/// instrument.
fn resolve_unnamed(symbols: &mut [Option<String>]) {
    let named: Vec<&String> = symbols.iter().flatten().filter(|s| !s.is_empty()).collect();
    let only = named
        .first()
        .filter(|first| named.iter().all(|s| s == *first));
    let only = only.map(|s| (*s).clone());
    for s in symbols.iter_mut() {
        if s.as_deref() == Some("") {
            *s = only.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(direction: Direction, source: &str, payload: &str) -> CapturedMessage {
        CapturedMessage {
            ts_ns: 0,
            source: source.into(),
            direction,
            payload: payload.into(),
        }
    }

    #[test]
    fn test_symbols_are_found_per_venue() {
        let cases = [
            (
                Venue::Binance,
                r#"{"stream":"x","data":{"e":"depthUpdate","s":"BTCUSDT"}}"#,
                "BTCUSDT",
            ),
            (
                Venue::Bybit,
                r#"{"topic":"orderbook.50.ETHUSDT","data":{"s":"ETHUSDT"}}"#,
                "ETHUSDT",
            ),
            (
                Venue::Bybit,
                r#"{"topic":"publicTrade.SOLUSDT","data":[{"s":"SOLUSDT"}]}"#,
                "SOLUSDT",
            ),
            (
                Venue::Okx,
                r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"data":[]}"#,
                "BTC-USDT",
            ),
            (
                Venue::Hyperliquid,
                r#"{"channel":"l2Book","data":{"coin":"@107"}}"#,
                "@107",
            ),
        ];
        for (venue, payload, want) in cases {
            let got = symbol_of(venue, &msg(Direction::Received, "", payload));
            assert_eq!(got.as_deref(), Some(want), "{payload}");
        }
        let rest = msg(
            Direction::Http,
            "https://x/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000",
            "{}",
        );
        assert_eq!(
            symbol_of(Venue::Binance, &rest).as_deref(),
            Some("SUSHIUSDT")
        );
        let mut unnamed = vec![Some("BTCUSDT".to_owned()), Some(String::new()), None];
        resolve_unnamed(&mut unnamed);
        assert_eq!(unnamed[1].as_deref(), Some("BTCUSDT"));
    }
}
