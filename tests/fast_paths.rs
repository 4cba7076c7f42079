//! The venue fast paths against their generic decoders on every real message in
//! `../shared/data`: every message a fast path accepts decodes to exactly the generic
//! decoder's events, and every hot message of the recordings takes it (Binance
//! `bookTicker` and `depthUpdate` diffs, Bybit order book messages), so the speed measured
//! in `bench/decode_<venue>.rs` is the speed of the real streams.

mod common;

use edgeline::capture::{self, Direction};
use edgeline::feed::binance::{BinanceDecoder, DecodeError, Decoded};
use edgeline::feed::bybit::BybitDecoder;
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{EventBody, InstrumentId, MarketEvent, MarketKind};

/// Every `"s":"<symbol>"` value in the messages.
fn symbols_of<'a>(payloads: impl Iterator<Item = &'a str>) -> SymbolMap {
    let mut names: Vec<String> = Vec::new();
    for payload in payloads {
        let mut rest = payload;
        while let Some(at) = rest.find("\"s\":\"") {
            rest = &rest[at + 5..];
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
/// symbols they name; `None` (said) when the file is absent.
fn received(venue: &str, prefix: &str) -> Option<(Vec<String>, SymbolMap)> {
    let path = common::data_file(venue, prefix)?;
    let messages: Vec<String> = capture::read_file(&path)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Received)
        .map(|m| m.payload)
        .collect();
    let symbols = symbols_of(messages.iter().map(String::as_str));
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
        let Some((messages, symbols)) = received("binance", prefix) else {
            continue;
        };
        let decoder = BinanceDecoder::new(symbols.clone());
        let (mut fast, mut generic) =
            (EventBuf::with_capacity(8192), EventBuf::with_capacity(8192));
        let mut tally = Tally::default();
        for payload in &messages {
            let frame = payload.as_bytes();
            fast.clear();
            generic.clear();
            let took_fast =
                edgeline::feed::binance::fast::decode(&symbols, frame, 7, &mut fast).is_some();
            fast.clear();
            let a = decoder.decode(frame, 7, &mut fast);
            let b = decoder.decode_generic(frame, 7, &mut generic);
            let hot = matches!(b, Ok(Decoded::Events(_)))
                && matches!(
                    generic.as_slice()[0].body,
                    EventBody::TopOfBook { .. }
                        | EventBody::DepthBegin {
                            snapshot: false,
                            ..
                        }
                );
            tally.check(
                payload,
                took_fast,
                (a, fast.as_slice()),
                (b, generic.as_slice()),
                hot,
            );
        }
        fast_total += tally.finish(prefix, "bookTicker/depthUpdate messages");
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
        let Some((messages, symbols)) = received("bybit", prefix) else {
            continue;
        };
        let mut tally = Tally::default();
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let mut decoder = BybitDecoder::new(kind, symbols.clone());
            let (mut fast, mut generic) =
                (EventBuf::with_capacity(8192), EventBuf::with_capacity(8192));
            for payload in &messages {
                let frame = payload.as_bytes();
                fast.clear();
                generic.clear();
                let took_fast =
                    edgeline::feed::bybit::fast::decode(&symbols, frame, 7, &mut fast).is_some();
                fast.clear();
                let a = decoder.decode(frame, 7, &mut fast);
                let b = decoder.decode_generic(frame, 7, &mut generic);
                // Each book message counts once (on the linear decoder).
                let hot = kind == MarketKind::Perp
                    && matches!(b, Ok(Decoded::Events(n)) if n > 0)
                    && matches!(generic.as_slice()[0].body, EventBody::DepthBegin { .. });
                tally.check(
                    payload,
                    took_fast,
                    (a, fast.as_slice()),
                    (b, generic.as_slice()),
                    hot,
                );
            }
        }
        fast_total += tally.finish(prefix, "order book messages");
    }
    if fast_total == 0 {
        eprintln!("SKIPPED: no Bybit order book recordings found");
    }
}
