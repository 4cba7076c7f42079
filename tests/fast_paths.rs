//! The venue fast paths against their generic decoders on every real message in
//! `../shared/data`: every message a fast path accepts decodes to exactly the generic
//! decoder's events, and every hot message of the recordings takes it (Binance
//! `bookTicker` and `depthUpdate` diffs, Bybit order book messages), so the speed measured
//! in `bench/decode_<venue>.rs` is the speed of the real streams.

mod common;

use edgeline::capture::{self, Direction};
use edgeline::feed::binance::{BinanceDecoder, Decoded};
use edgeline::feed::bybit::BybitDecoder;
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{EventBody, InstrumentId, MarketKind};

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
        let Some(path) = common::data_file("binance", prefix) else {
            continue;
        };
        let messages: Vec<_> = capture::read_file(&path)
            .unwrap()
            .into_iter()
            .filter(|m| m.direction == Direction::Received)
            .collect();
        let symbols = symbols_of(messages.iter().map(|m| m.payload.as_str()));
        let decoder = BinanceDecoder::new(symbols.clone());
        let (mut fast, mut generic) =
            (EventBuf::with_capacity(8192), EventBuf::with_capacity(8192));
        let (mut accepted, mut hot) = (0, 0);
        let mut missed = Vec::new();
        for m in &messages {
            let frame = m.payload.as_bytes();
            fast.clear();
            generic.clear();
            let took_fast =
                edgeline::feed::binance::fast::decode(&symbols, frame, 7, &mut fast).is_some();
            fast.clear();
            let a = decoder.decode(frame, 7, &mut fast);
            let b = decoder.decode_generic(frame, 7, &mut generic);
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "{prefix}: {}",
                m.payload
            );
            assert_eq!(
                fast.as_slice(),
                generic.as_slice(),
                "{prefix}: {}",
                m.payload
            );
            let is_hot = matches!(b, Ok(Decoded::Events(_)))
                && matches!(
                    generic.as_slice()[0].body,
                    EventBody::TopOfBook { .. }
                        | EventBody::DepthBegin {
                            snapshot: false,
                            ..
                        }
                );
            if is_hot {
                hot += 1;
                if took_fast {
                    accepted += 1;
                } else if missed.len() < 5 {
                    missed.push(m.payload.chars().take(200).collect::<String>());
                }
            }
        }
        eprintln!(
            "{prefix}: {accepted} of {hot} bookTicker/depthUpdate messages took the fast path"
        );
        assert_eq!(
            accepted, hot,
            "{prefix}: hot messages declined: {missed:#?}"
        );
        fast_total += accepted;
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
        let Some(path) = common::data_file("bybit", prefix) else {
            continue;
        };
        let messages: Vec<_> = capture::read_file(&path)
            .unwrap()
            .into_iter()
            .filter(|m| m.direction == Direction::Received)
            .collect();
        let symbols = symbols_of(messages.iter().map(|m| m.payload.as_str()));
        let (mut accepted, mut hot) = (0, 0);
        let mut missed = Vec::new();
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let mut decoder = BybitDecoder::new(kind, symbols.clone());
            let (mut fast, mut generic) =
                (EventBuf::with_capacity(8192), EventBuf::with_capacity(8192));
            for m in &messages {
                let frame = m.payload.as_bytes();
                fast.clear();
                generic.clear();
                let took_fast =
                    edgeline::feed::bybit::fast::decode(&symbols, frame, 7, &mut fast).is_some();
                fast.clear();
                let a = decoder.decode(frame, 7, &mut fast);
                let b = decoder.decode_generic(frame, 7, &mut generic);
                assert_eq!(
                    format!("{a:?}"),
                    format!("{b:?}"),
                    "{prefix}: {}",
                    m.payload
                );
                assert_eq!(
                    fast.as_slice(),
                    generic.as_slice(),
                    "{prefix}: {}",
                    m.payload
                );
                let is_book = matches!(b, Ok(Decoded::Events(n)) if n > 0)
                    && matches!(generic.as_slice()[0].body, EventBody::DepthBegin { .. });
                if is_book && kind == MarketKind::Perp {
                    hot += 1;
                    if took_fast {
                        accepted += 1;
                    } else if missed.len() < 5 {
                        missed.push(m.payload.chars().take(200).collect::<String>());
                    }
                }
            }
        }
        eprintln!("{prefix}: {accepted} of {hot} order book messages took the fast path");
        assert_eq!(
            accepted, hot,
            "{prefix}: book messages declined: {missed:#?}"
        );
        fast_total += accepted;
    }
    if fast_total == 0 {
        eprintln!("SKIPPED: no Bybit order book recordings found");
    }
}
