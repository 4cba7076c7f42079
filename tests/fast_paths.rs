//! The venue fast paths against their generic decoders on every real message in
//! `../shared/data`: every message a fast path accepts decodes to exactly the generic
//! decoder's events, and every hot message of the recordings takes it (Binance
//! `bookTicker`, `depthUpdate` diffs, trades and mark prices; Bybit order book, trade and
//! ticker messages, on spot and linear connections; OKX book, `bbo-tbt` and `trades`
//! pushes; Hyperliquid `l2Book`, `bbo`, `trades` and `activeAssetCtx`), so
//! the speed measured in `bench/decode_<venue>.rs` is the speed of the real streams. The
//! OKX and Hyperliquid paths are also compared on mutated real messages (Binance and
//! Bybit: in their `tests/fuzz_<venue>.rs`).

mod common;
#[path = "common/fuzz.rs"]
mod fuzz;

use std::sync::OnceLock;

use edgeline::capture::{self, Direction};
use edgeline::feed::binance::{BinanceDecoder, DecodeError, Decoded};
use edgeline::feed::bybit::BybitDecoder;
use edgeline::feed::hyperliquid::HyperliquidDecoder;
use edgeline::feed::okx::OkxDecoder;
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{EventBody, InstrumentId, MarketEvent, MarketKind};
use proptest::prelude::*;

/// Every `"<key>":"<symbol>"` value in the messages (`key` is `s`, `symbol`, `instId`,
/// `coin`).
fn symbols_of<'a>(payloads: impl Iterator<Item = &'a str> + Clone, keys: &[&str]) -> SymbolMap {
    let mut names: Vec<String> = Vec::new();
    for (key, payload) in keys
        .iter()
        .flat_map(|key| payloads.clone().map(move |p| (key, p)))
    {
        let pattern = format!("\"{key}\":\"");
        let mut rest = payload;
        while let Some(at) = rest.find(&pattern) {
            rest = &rest[at + pattern.len()..];
            if let Some(end) = rest.find('"') {
                let name = &rest[..end];
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
        }
    }
    let mut map = SymbolMap::default();
    for (id, name) in (0..).zip(&names) {
        map.insert(name, InstrumentId(id));
    }
    map
}

/// The received messages of the first `../shared/data/<venue>/<prefix>*` file and the
/// symbols they name under `keys`; `None` (said) when the file is absent.
fn received(venue: &str, prefix: &str, keys: &[&str]) -> Option<(Vec<String>, SymbolMap)> {
    let path = common::data_file(venue, prefix)?;
    let messages: Vec<String> = capture::read_file(&path)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Received)
        .map(|m| m.payload)
        .collect();
    let symbols = symbols_of(messages.iter().map(String::as_str), keys);
    Some((messages, symbols))
}

/// How many hot messages took the fast path, of how many.
#[derive(Default)]
struct Tally {
    accepted: usize,
    hot: usize,
    missed: Vec<String>,
}

/// One decoding of a frame: the outcome and the events.
type Outcome<'a> = (Result<Decoded, DecodeError>, &'a [MarketEvent]);

impl Tally {
    /// Decodes every message of `messages` three ways, the fast path alone (`fast`), the
    /// decoder (fast path first: `decode`) and the generic path alone (`generic`); asserts
    /// that the last two agree, and counts the messages that the generic path decodes
    /// without error and that are `hot` (by their payload and generic events).
    fn check_all(
        &mut self,
        messages: &[String],
        fast: impl Fn(&[u8], &mut EventBuf) -> Option<Decoded>,
        mut decode: impl FnMut(&[u8], &mut EventBuf) -> Result<Decoded, DecodeError>,
        generic: impl Fn(&[u8], &mut EventBuf) -> Result<Decoded, DecodeError>,
        hot: impl Fn(&str, &[MarketEvent]) -> bool,
    ) {
        let (mut a, mut b) = (EventBuf::with_capacity(8192), EventBuf::with_capacity(8192));
        for payload in messages {
            let frame = payload.as_bytes();
            a.clear();
            let took_fast = fast(frame, &mut a).is_some();
            a.clear();
            b.clear();
            let with_fast = decode(frame, &mut a);
            let alone = generic(frame, &mut b);
            let is_hot = alone.is_ok() && hot(payload, b.as_slice());
            self.check(
                payload,
                took_fast,
                (with_fast, a.as_slice()),
                (alone, b.as_slice()),
                is_hot,
            );
        }
    }

    /// Asserts that the decoder with its fast path (`with_fast`) and the generic path
    /// alone agree on `payload`, and counts it when the generic events are `hot`.
    fn check(
        &mut self,
        payload: &str,
        took_fast: bool,
        with_fast: Outcome<'_>,
        generic: Outcome<'_>,
        hot: bool,
    ) {
        assert_eq!(
            format!("{:?}", with_fast.0),
            format!("{:?}", generic.0),
            "{payload}"
        );
        assert_eq!(with_fast.1, generic.1, "{payload}");
        if !hot {
            return;
        }
        self.hot += 1;
        if took_fast {
            self.accepted += 1;
        } else if self.missed.len() < 5 {
            self.missed.push(payload.chars().take(200).collect());
        }
    }

    /// Every hot message of the file took the fast path; returns how many.
    fn finish(self, prefix: &str, what: &str) -> usize {
        eprintln!(
            "{prefix}: {} of {} {what} took the fast path",
            self.accepted, self.hot
        );
        assert_eq!(
            self.accepted, self.hot,
            "{prefix}: {what} declined: {:#?}",
            self.missed
        );
        self.accepted
    }
}

/// Binance: a top of book, a depth diff (snapshots come from REST), a trade or a mark
/// price.
fn binance_hot(events: &[MarketEvent]) -> bool {
    matches!(
        events.first().map(|e| e.body),
        Some(
            EventBody::TopOfBook { .. }
                | EventBody::DepthBegin {
                    snapshot: false,
                    ..
                }
                | EventBody::Trade { .. }
                | EventBody::Funding { .. }
        )
    )
}

/// Order books, tops of book and trades.
fn book_or_trade(events: &[MarketEvent]) -> bool {
    matches!(
        events.first().map(|e| e.body),
        Some(EventBody::TopOfBook { .. } | EventBody::DepthBegin { .. } | EventBody::Trade { .. })
    )
}

#[test]
fn test_binance_fast_path_agrees_with_generic_on_real_data() {
    let prefixes = [
        "spot_hftbacktest_",
        "usdm_hftbacktest_",
        "coinm_hftbacktest_",
        "spot_cryptofeed_2021-08-14_depth",
        "spot_cryptofeed_2021-10-12_depth",
        "usdm_cryptofeed_2021-07-22_depth",
        "coinm_cryptofeed_2021-07-22_depth",
        "crypto-msg-parser_",
        "usdm_tardis-node_",
        "coinm_tardis-node_",
    ];
    let mut fast_total = 0;
    for prefix in prefixes {
        let Some((messages, symbols)) = received("binance", prefix, &["s"]) else {
            continue;
        };
        let decoder = BinanceDecoder::new(symbols.clone());
        let mut tally = Tally::default();
        tally.check_all(
            &messages,
            |f, out| edgeline::feed::binance::fast::decode(&symbols, f, 7, out),
            |f, out| decoder.decode(f, 7, out),
            |f, out| decoder.decode_generic(f, 7, out),
            |_, events| binance_hot(events),
        );
        fast_total += tally.finish(prefix, "bookTicker/depthUpdate/trade/markPrice messages");
    }
    if fast_total == 0 {
        eprintln!("SKIPPED: no Binance recordings found");
    }
}

#[test]
fn test_bybit_fast_path_agrees_with_generic_on_real_data() {
    let prefixes = [
        "v5_spot_linear_cryptofeed_",
        "linear_bybit-history-archive_",
        "derivs_v2-v5_tardis-node_",
        "spot_v1-v5_tardis-node_",
        "crypto-msg-parser_",
    ];
    let mut fast_total = 0;
    for prefix in prefixes {
        let Some((messages, symbols)) = received("bybit", prefix, &["s", "symbol"]) else {
            continue;
        };
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let mut decoder = BybitDecoder::new(kind, symbols.clone());
            let generic = decoder.clone();
            let mut tally = Tally::default();
            tally.check_all(
                &messages,
                |f, out| edgeline::feed::bybit::fast::decode(kind, &symbols, f, 7, out),
                |f, out| decoder.decode(f, 7, out),
                |f, out| generic.decode_generic(f, 7, out),
                |payload, _| bybit_hot(payload),
            );
            fast_total += tally.finish(
                &format!("{prefix} ({kind:?})"),
                "orderbook/publicTrade/tickers messages",
            );
        }
    }
    if fast_total == 0 {
        eprintln!("SKIPPED: no Bybit recordings found");
    }
}

/// Bybit v5 order book, trade and ticker messages (every recording sends `topic` first);
/// on a spot connection tickers are hot too, read by the fast path as `Unknown`.
fn bybit_hot(payload: &str) -> bool {
    payload.strip_prefix(r#"{"topic":""#).is_some_and(|rest| {
        ["orderbook.", "publicTrade.", "tickers."]
            .iter()
            .any(|topic| rest.starts_with(topic))
    })
}

#[test]
fn test_okx_fast_path_agrees_with_generic_on_real_data() {
    let prefixes = [
        "cryptofeed_2021-07-22_books-l2-tbt",
        "cryptofeed_2022-05-13_books",
        "crypto-msg-parser_",
    ];
    let mut fast_total = 0;
    for prefix in prefixes {
        let Some((messages, symbols)) = received("okx", prefix, &["instId"]) else {
            continue;
        };
        let mut decoder = OkxDecoder::new(MarketKind::Perp, symbols.clone());
        let generic = decoder.clone();
        let mut tally = Tally::default();
        tally.check_all(
            &messages,
            |f, out| edgeline::feed::okx::fast::decode(&symbols, f, 7, out),
            |f, out| decoder.decode(f, 7, out),
            |f, out| generic.decode_generic(f, 7, out),
            |_, events| book_or_trade(events),
        );
        fast_total += tally.finish(prefix, "book/bbo-tbt/trades pushes");
    }
    if fast_total == 0 {
        eprintln!("SKIPPED: no OKX recordings found");
    }
}

#[test]
fn test_hyperliquid_fast_path_agrees_with_generic_on_real_data() {
    let prefixes = [
        "perp_hftbacktest_",
        "perp_spot_tardis-node_",
        "perp_nautilus_",
    ];
    let mut fast_total = 0;
    for prefix in prefixes {
        let Some((messages, symbols)) = received("hyperliquid", prefix, &["coin"]) else {
            continue;
        };
        let mut tally = Tally::default();
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let mut decoder = HyperliquidDecoder::new(kind, symbols.clone());
            let generic = decoder.clone();
            // Each message counts once (on the perpetuals decoder).
            tally.check_all(
                &messages,
                |f, out| edgeline::feed::hyperliquid::fast::decode(kind, &symbols, f, 7, out),
                |f, out| decoder.decode(f, 7, out),
                |f, out| generic.decode_generic(f, 7, out),
                |_, events| {
                    kind == MarketKind::Perp
                        && (book_or_trade(events)
                            || matches!(
                                events.first().map(|e| e.body),
                                Some(EventBody::Funding { .. })
                            ))
                },
            );
        }
        fast_total += tally.finish(prefix, "l2Book/bbo/trades/activeAssetCtx messages");
    }
    if fast_total == 0 {
        eprintln!("SKIPPED: no Hyperliquid recordings found");
    }
}

/// Real OKX and Hyperliquid messages, with their symbols, for the mutation tests (empty
/// when the data is absent).
fn mutation_corpus(venue: &str) -> &'static (Vec<String>, SymbolMap) {
    static OKX: OnceLock<(Vec<String>, SymbolMap)> = OnceLock::new();
    static HYPERLIQUID: OnceLock<(Vec<String>, SymbolMap)> = OnceLock::new();
    let (cell, prefixes, key): (_, &[&str], _) = match venue {
        "okx" => (
            &OKX,
            &["cryptofeed_2022-05-13_books", "crypto-msg-parser_"],
            "instId",
        ),
        _ => (
            &HYPERLIQUID,
            &["perp_hftbacktest_", "perp_spot_tardis-node_"],
            "coin",
        ),
    };
    cell.get_or_init(|| {
        let messages: Vec<String> = prefixes
            .iter()
            .filter_map(|prefix| received(venue, prefix, &[key]))
            .flat_map(|(messages, _)| messages)
            .collect();
        let symbols = symbols_of(messages.iter().map(String::as_str), &[key]);
        (messages, symbols)
    })
}

/// `decode` (fast path first) and `generic` agree on `frame`, and the decoder keeps the
/// fuzzing invariants.
fn same_as_generic(
    frame: &[u8],
    mut decode: impl FnMut(&[u8], &mut EventBuf) -> Result<Decoded, DecodeError>,
    generic: impl Fn(&[u8], &mut EventBuf) -> Result<Decoded, DecodeError>,
) -> Result<(), TestCaseError> {
    fuzz::check(frame, &mut |f, buf: &mut EventBuf| decode(f, buf))?;
    let (mut a, mut b) = (
        EventBuf::with_capacity(fuzz::CAPACITY),
        EventBuf::with_capacity(fuzz::CAPACITY),
    );
    let with_fast = decode(frame, &mut a);
    let alone = generic(frame, &mut b);
    prop_assert_eq!(format!("{with_fast:?}"), format!("{alone:?}"));
    prop_assert_eq!(a.as_slice(), b.as_slice());
    Ok(())
}

/// A real message of `venue` (picked by `pick`) changed by `m`, and the venue's symbols;
/// `None` when the data is absent.
fn mutated(
    venue: &str,
    pick: usize,
    other: usize,
    m: &fuzz::Mutation,
) -> Option<(Vec<u8>, &'static SymbolMap)> {
    let (messages, symbols) = mutation_corpus(venue);
    let at = |i: usize| messages.get(i % messages.len().max(1));
    let frame = fuzz::mutate(at(pick)?.as_bytes(), at(other)?.as_bytes(), m);
    Some((frame, symbols))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn prop_okx_fast_path_agrees_on_mutated_messages(
        pick in any::<usize>(),
        other in any::<usize>(),
        m in fuzz::mutation(),
    ) {
        let Some((frame, symbols)) = mutated("okx", pick, other, &m) else {
            return Ok(());
        };
        let mut decoder = OkxDecoder::new(MarketKind::Perp, symbols.clone());
        let generic = decoder.clone();
        same_as_generic(&frame, |f, out| decoder.decode(f, 5, out), |f, out| {
            generic.decode_generic(f, 5, out)
        })?;
    }

    #[test]
    fn prop_hyperliquid_fast_path_agrees_on_mutated_messages(
        pick in any::<usize>(),
        other in any::<usize>(),
        m in fuzz::mutation(),
    ) {
        let Some((frame, symbols)) = mutated("hyperliquid", pick, other, &m) else {
            return Ok(());
        };
        let mut decoder = HyperliquidDecoder::new(MarketKind::Perp, symbols.clone());
        let generic = decoder.clone();
        same_as_generic(&frame, |f, out| decoder.decode(f, 5, out), |f, out| {
            generic.decode_generic(f, 5, out)
        })?;
    }
}
