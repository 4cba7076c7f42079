//! `edgeline verify`: replays captures of raw venue messages through the real decoders
//! and the book engine, and reports per instrument what a trading engineer checks before
//! trusting a feed: messages decoded, unknown and malformed, snapshots and updates, gaps,
//! checksums matched and mismatched, resyncs, and the final best bid and ask.
//!
//! Symbols are discovered from the messages themselves (the venue's symbol field, or the
//! `symbol=` of a REST snapshot URL), so users can run it on their own recordings without
//! a config. Cold path: allocates freely; shares no state with a running pipeline.

use std::fmt::Write as _;
use std::path::PathBuf;

use sonic_rs::JsonValueTrait;

use crate::book::engine::{Applied, BookCounters, BookEngine};
use crate::book::stage::BookParams;
use crate::capture::{self, CaptureError, CapturedMessage, Direction};
use crate::feed::binance::BinanceDecoder;
use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::symbols::SymbolMap;
use crate::feed::venues::VenueDecoder;
use crate::types::{InstrumentRegistry, InstrumentSpec, MarketKind, Price, Qty, Venue};

/// Events one message may decode into (a 5000-level snapshot of both sides).
const EVENTS_MAX: usize = 10_016;

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
    /// The book engine's counts.
    pub book: BookCounters,
    /// Whether the book ended valid.
    pub valid: bool,
    /// Final best bid (price, quantity).
    pub best_bid: Option<(Price, Qty)>,
    /// Final best ask.
    pub best_ask: Option<(Price, Qty)>,
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

    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>7} {:>9} {:>9} {:>8} {:>5} {:>9} {:>9} {:>7} {:>6}  best bid / best ask",
            "instrument",
            "decoded",
            "unknown",
            "malformed",
            "snapshots",
            "updates",
            "gaps",
            "cksum ok",
            "cksum bad",
            "resyncs",
            "valid"
        );
        for i in &self.instruments {
            let side =
                |s: Option<(Price, Qty)>| s.map_or("-".to_owned(), |(p, q)| format!("{p} x {q}"));
            let _ = writeln!(
                out,
                "{:<16} {:>8} {:>7} {:>9} {:>9} {:>8} {:>5} {:>9} {:>9} {:>7} {:>6}  {} / {}",
                i.symbol,
                i.decoded,
                i.unknown,
                i.malformed,
                i.book.snapshots,
                i.book.updates,
                i.book.gaps,
                i.book.checksums_matched,
                i.book.checksums_mismatched,
                i.book.resyncs,
                if i.valid { "yes" } else { "no" },
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
}

/// Verifies captures of one venue's market; files are merged by receive time.
pub fn verify(
    venue: Venue,
    kind: MarketKind,
    files: &[PathBuf],
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
    Ok(replay(venue, kind, &registry, &messages, &symbols))
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

fn replay(
    venue: Venue,
    kind: MarketKind,
    registry: &InstrumentRegistry,
    messages: &[CapturedMessage],
    symbols: &[Option<String>],
) -> VerifyReport {
    let mut map = SymbolMap::default();
    for inst in registry.iter() {
        map.insert(&inst.symbol, inst.id);
    }
    let mut decoder = VenueDecoder::new(venue, kind, map.clone());
    let rest = BinanceDecoder::new(map);
    let params = BookParams {
        resync_buffer_events: 1 << 20,
        ..BookParams::default()
    };
    let mut engine = BookEngine::new(registry, params);
    let mut buf = EventBuf::with_capacity(EVENTS_MAX);
    let mut report = VerifyReport::default();
    let mut tallies = vec![(0u64, 0u64, 0u64); registry.len()];
    for (message, symbol) in messages.iter().zip(symbols) {
        let instrument = symbol
            .as_deref()
            .and_then(|s| registry.find(venue, kind, s));
        buf.clear();
        let result = match (message.direction, instrument) {
            (Direction::Http, Some(id)) => {
                rest.decode_snapshot(message.payload.as_bytes(), id, 0, &mut buf)
            }
            (Direction::Http, None) => continue,
            _ => decoder.decode(message.payload.as_bytes(), 0, &mut buf),
        };
        let tally = instrument.map(|id| &mut tallies[id.index()]);
        match (result, tally) {
            (Ok(Decoded::Events(_)), Some(t)) => t.0 += 1,
            (Ok(Decoded::Unknown), Some(t)) => t.1 += 1,
            (Err(_), Some(t)) => t.2 += 1,
            (Err(_), None) => report.unattributed_malformed += 1,
            (Ok(_), _) => report.unattributed += 1,
        }
        for event in buf.as_slice() {
            if let Applied::Invalidated(why) = engine.apply(event) {
                log::warn!(
                    "verify: {} book invalid at {} ns: {why:?}",
                    registry.get(event.instrument).symbol,
                    message.ts_ns
                );
            }
        }
    }
    for inst in registry.iter() {
        let (decoded, unknown, malformed) = tallies[inst.id.index()];
        let l2 = engine.l2(inst.id);
        report.instruments.push(InstrumentReport {
            symbol: inst.symbol.clone(),
            decoded,
            unknown,
            malformed,
            book: engine.counters(inst.id),
            valid: engine.is_valid(inst.id),
            best_bid: l2.best_bid().map(|l| (l.price, l.qty)),
            best_ask: l2.best_ask().map(|l| (l.price, l.qty)),
        });
    }
    report
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
/// message generically). REST snapshots name it in their URL, or in hftbacktest files
/// not at all (the file's one symbol is used).
fn symbol_of(venue: Venue, message: &CapturedMessage) -> Option<String> {
    if message.direction == Direction::Http {
        let from_url = message
            .source
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("symbol="))
            .map(str::to_owned);
        return from_url.or_else(|| Some(String::new()));
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
