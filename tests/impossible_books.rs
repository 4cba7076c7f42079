//! Issue 21: impossible books. Per venue, synthetic frames in the venue's own form carry
//! a negative quantity, a zero quantity where zero cannot be (snapshot level, top of book,
//! trade), a price at or below zero, or a crossed top of book or snapshot. Through the
//! decoder the feed stage runs ([`VenueDecoder`]) and the REST snapshot decoders each is
//! malformed by kind (`BadLevel`, `Crossed`) and leaves nothing in the buffer; the same
//! frames with sane values decode (so the test is about the values, not the shapes).

use edgeline::feed::binance::BinanceDecoder;
use edgeline::feed::okx;
use edgeline::feed::venues::VenueDecoder;
use edgeline::feed::{DecodeError, Decoded, EventBuf, SymbolMap};
use edgeline::types::{InstrumentId, MarketKind, Venue};

fn decoder(venue: Venue, kind: MarketKind, symbol: &str) -> VenueDecoder {
    let mut symbols = SymbolMap::default();
    symbols.insert(symbol, InstrumentId(0));
    VenueDecoder::new(venue, kind, symbols)
}

/// Decodes `frame`, checking that a refusal leaves the buffer as it was.
fn decode(d: &mut VenueDecoder, frame: &str) -> Result<Decoded, DecodeError> {
    let mut out = EventBuf::with_capacity(64);
    let r = d.decode(frame.as_bytes(), 1, &mut out);
    if r.is_err() {
        assert!(out.is_empty(), "{r:?} left events");
    }
    r
}

/// Each `(template, good, bad, error)`: `template` with `{}` replaced by `good` decodes
/// into events, by `bad` fails with `error`.
fn check(d: &mut VenueDecoder, cases: &[(&str, &str, &str, DecodeError)]) {
    for &(template, good, bad, error) in cases {
        let ok = decode(d, &template.replace("{}", good));
        assert!(
            matches!(ok, Ok(Decoded::Events(_))),
            "{good}: {ok:?}: {template}"
        );
        assert_eq!(
            decode(d, &template.replace("{}", bad)),
            Err(error),
            "{bad}: {template}"
        );
    }
}

#[test]
fn test_binance_impossible_values_are_malformed() {
    let mut d = decoder(Venue::Binance, MarketKind::Perp, "BTCUSDT");
    let diff =
        r#"{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":1,"u":2,"pu":0,"b":[[{}]],"a":[]}"#;
    let ticker = r#"{"e":"bookTicker","u":1,"E":1,"T":1,"s":"BTCUSDT",{}}"#;
    let trade = r#"{"e":"trade","E":1,"s":"BTCUSDT","t":1,{},"T":1,"m":true}"#;
    check(
        &mut d,
        &[
            (
                diff,
                r#""61800","0""#,
                r#""61800","-5""#,
                DecodeError::BadLevel,
            ),
            (diff, r#""61800","5""#, r#""0","5""#, DecodeError::BadLevel),
            (
                diff,
                r#""61800","5""#,
                r#""-61800","5""#,
                DecodeError::BadLevel,
            ),
            (
                ticker,
                r#""b":"61800","B":"1","a":"61801","A":"2""#,
                r#""b":"61800","B":"0","a":"61801","A":"2""#,
                DecodeError::BadLevel,
            ),
            (
                ticker,
                r#""b":"61800","B":"1","a":"61801","A":"2""#,
                r#""b":"61802","B":"1","a":"61801","A":"2""#,
                DecodeError::Crossed,
            ),
            (
                trade,
                r#""p":"61800","q":"1""#,
                r#""p":"61800","q":"-1""#,
                DecodeError::BadLevel,
            ),
        ],
    );
    let rest = BinanceDecoder::new(SymbolMap::default());
    let snapshot = |bids: &str, asks: &str| {
        let body = format!(r#"{{"lastUpdateId":5,"E":1,"T":1,"bids":[{bids}],"asks":[{asks}]}}"#);
        let mut out = EventBuf::with_capacity(16);
        let r = rest.decode_snapshot(body.as_bytes(), InstrumentId(0), 1, &mut out);
        (r, out.len())
    };
    assert_eq!(
        snapshot(r#"["61800","1"]"#, r#"["61801","1"]"#).0,
        Ok(Decoded::Events(3))
    );
    assert_eq!(
        snapshot(r#"["61800","0"]"#, r#"["61801","1"]"#),
        (Err(DecodeError::BadLevel), 0)
    );
    assert_eq!(
        snapshot(r#"["61802","1"]"#, r#"["61801","1"]"#),
        (Err(DecodeError::Crossed), 0)
    );
}

#[test]
fn test_bybit_impossible_values_are_malformed() {
    let mut d = decoder(Venue::Bybit, MarketKind::Perp, "BTCUSDT");
    let book = |kind: &str| {
        format!(
            r#"{{"topic":"orderbook.50.BTCUSDT","type":"{kind}","ts":1,"data":{{"s":"BTCUSDT",{{}},"u":2,"seq":2}},"cts":1}}"#
        )
    };
    let (snapshot, delta) = (book("snapshot"), book("delta"));
    check(
        &mut d,
        &[
            (
                &snapshot,
                r#""b":[["61800","5"]],"a":[["61801","1"]]"#,
                r#""b":[["61800","0"]],"a":[["61801","1"]]"#,
                DecodeError::BadLevel,
            ),
            (
                &snapshot,
                r#""b":[["61800","5"]],"a":[["61801","1"]]"#,
                r#""b":[["61802","5"]],"a":[["61801","1"]]"#,
                DecodeError::Crossed,
            ),
            (
                &delta,
                r#""b":[["61800","0"]],"a":[]"#,
                r#""b":[["61800","-5"]],"a":[]"#,
                DecodeError::BadLevel,
            ),
            (
                &delta,
                r#""b":[["61800","1"]],"a":[]"#,
                r#""b":[["0","1"]],"a":[]"#,
                DecodeError::BadLevel,
            ),
        ],
    );
}

#[test]
fn test_okx_impossible_values_are_malformed() {
    let mut d = decoder(Venue::Okx, MarketKind::Spot, "BTC-USDT");
    let books = |action: &str| {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{{{}},"ts":"1","checksum":0,"prevSeqId":1,"seqId":2}}]}}"#
        )
    };
    let (snapshot, update) = (books("snapshot"), books("update"));
    let bbo = r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{{},"ts":"1"}]}"#;
    check(
        &mut d,
        &[
            (
                &snapshot,
                r#""asks":[["61801","1","0","1"]],"bids":[["61800","5","0","1"]]"#,
                r#""asks":[["61801","1","0","1"]],"bids":[["61800","0","0","1"]]"#,
                DecodeError::BadLevel,
            ),
            (
                &snapshot,
                r#""asks":[["61801","1","0","1"]],"bids":[["61800","5","0","1"]]"#,
                r#""asks":[["61801","1","0","1"]],"bids":[["61801","5","0","1"]]"#,
                DecodeError::Crossed,
            ),
            (
                &update,
                r#""asks":[],"bids":[["61800","0","0","0"]]"#,
                r#""asks":[],"bids":[["61800","-5","0","1"]]"#,
                DecodeError::BadLevel,
            ),
            (
                bbo,
                r#""asks":[["61801","1","0","1"]],"bids":[["61800","5","0","1"]]"#,
                r#""asks":[["61800","1","0","1"]],"bids":[["61801","5","0","1"]]"#,
                DecodeError::Crossed,
            ),
        ],
    );
    let rest = |bids: &str| {
        let body = format!(
            r#"{{"code":"0","msg":"","data":[{{"asks":[["61801","1","0","1"]],"bids":[{bids}],"ts":"1","seqId":7}}]}}"#
        );
        let mut out = EventBuf::with_capacity(16);
        let r = okx::rest::decode_book(body.as_bytes(), InstrumentId(0), 1, &mut out);
        (r, out.len())
    };
    assert_eq!(rest(r#"["61800","5","0","1"]"#).0, Ok(Decoded::Events(3)));
    assert_eq!(
        rest(r#"["61800","-5","0","1"]"#),
        (Err(DecodeError::BadLevel), 0)
    );
    assert_eq!(
        rest(r#"["61802","5","0","1"]"#),
        (Err(DecodeError::Crossed), 0)
    );
}

#[test]
fn test_hyperliquid_impossible_values_are_malformed() {
    let mut d = decoder(Venue::Hyperliquid, MarketKind::Perp, "BTC");
    let l2 = r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[{}]}}"#;
    let bbo = r#"{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[{}]}}"#;
    check(
        &mut d,
        &[
            (
                l2,
                r#"[{"px":"61800","sz":"5","n":1}],[{"px":"61801","sz":"1","n":1}]"#,
                r#"[{"px":"61800","sz":"-5","n":1}],[{"px":"61801","sz":"1","n":1}]"#,
                DecodeError::BadLevel,
            ),
            (
                l2,
                r#"[{"px":"61800","sz":"5","n":1}],[{"px":"61801","sz":"1","n":1}]"#,
                r#"[{"px":"61802","sz":"5","n":1}],[{"px":"61801","sz":"1","n":1}]"#,
                DecodeError::Crossed,
            ),
            (
                bbo,
                r#"{"px":"61800","sz":"5","n":1},{"px":"61801","sz":"1","n":1}"#,
                r#"{"px":"61800","sz":"0","n":1},{"px":"61801","sz":"1","n":1}"#,
                DecodeError::BadLevel,
            ),
        ],
    );
}
