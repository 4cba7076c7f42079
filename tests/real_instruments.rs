//! Instruments at the ends of what the venues list, through the real decoders and books:
//! OKX `ELON-USDT` (11-decimal prices, sizes to 6·10^12) with its checksum, a Binance
//! meme coin in 10^12-unit sizes, a coin priced in the billions of a fiat currency with
//! 10^-8 lots, and values beyond the documented bounds refused as bad decimals (the
//! decoders count them), never rounded or wrapped.
//!
//! The messages are written here in each venue's own format, with the values the venues
//! list (no recording in `../shared/data` holds these instruments).

use edgeline::book::{L2Book, TakerSide};
use edgeline::feed::binance::BinanceDecoder;
use edgeline::feed::okx::{DecodeError, Decoded, OkxDecoder};
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::types::{
    DecimalErrorKind, EventBody, InstrumentId, MarketEvent, MarketKind, Price, Qty, Side,
};

fn px(s: &str) -> Price {
    Price::from_decimal_str(s).unwrap()
}

fn qty(s: &str) -> Qty {
    Qty::from_decimal_str(s).unwrap()
}

/// OKX's checksum over the levels as printed (`bidPx:bidSz:askPx:askSz`, best first).
fn okx_checksum(bids: &[(&str, &str)], asks: &[(&str, &str)]) -> i32 {
    let mut parts = Vec::new();
    for i in 0..bids.len().max(asks.len()) {
        for side in [bids, asks] {
            if let Some((p, q)) = side.get(i) {
                parts.push(format!("{p}:{q}"));
            }
        }
    }
    i32::from_ne_bytes(crc32fast::hash(parts.join(":").as_bytes()).to_ne_bytes())
}

fn okx_book(inst: &str, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> String {
    let side = |levels: &[(&str, &str)]| {
        levels
            .iter()
            .map(|(p, q)| format!("[\"{p}\",\"{q}\",\"0\",\"3\"]"))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        "{{\"arg\":{{\"channel\":\"books\",\"instId\":\"{inst}\"}},\"action\":\"snapshot\",\
         \"data\":[{{\"asks\":[{}],\"bids\":[{}],\"ts\":\"1765152000000\",\"checksum\":{},\
         \"prevSeqId\":-1,\"seqId\":1000}}]}}",
        side(asks),
        side(bids),
        okx_checksum(bids, asks)
    )
}

fn apply(book: &mut L2Book, events: &[MarketEvent]) {
    let levels: Vec<_> = events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::DepthLevel { side, price, qty } => Some((side, price, qty)),
            _ => None,
        })
        .collect();
    for (side, price, qty) in levels {
        book.apply(side, price, qty);
    }
}

fn okx_decoder(inst: &str) -> OkxDecoder {
    let mut symbols = SymbolMap::default();
    symbols.insert(inst, InstrumentId(0));
    OkxDecoder::new(MarketKind::Spot, symbols)
}

#[test]
fn test_okx_elon_usdt_book_exact_with_its_checksum() {
    let bids = [
        ("0.00000012344", "6000000000000"),
        ("0.00000012343", "1250000000000.5"),
        ("0.00000012", "42"),
    ];
    let asks = [("0.00000012345", "5999999999999"), ("0.00000012346", "3")];
    let frame = okx_book("ELON-USDT", &bids, &asks);
    let mut decoder = okx_decoder("ELON-USDT");
    let mut buf = EventBuf::with_capacity(64);
    let got = decoder.decode(frame.as_bytes(), 1, &mut buf);
    assert_eq!(got, Ok(Decoded::Events(6)), "{frame}");
    let mut book = L2Book::with_depth(100);
    apply(&mut book, buf.as_slice());
    let best_bid = book.best_bid().unwrap();
    assert_eq!(
        (best_bid.price, best_bid.qty),
        (px("0.00000012344"), qty("6000000000000"))
    );
    assert_eq!(best_bid.price.raw(), 123_440);
    assert_eq!(best_bid.qty.raw(), 600_000_000_000_000_000_000);
    assert_eq!(book.best_ask().unwrap().price, px("0.00000012345"));
    let expected = match buf.as_slice()[0].body {
        EventBody::DepthBegin { checksum, .. } => checksum,
        ref other => panic!("{other:?}"),
    };
    assert_eq!(Some(book.okx_checksum()), expected);
    // Selling the whole best bid: 6e12 ELON at 1.2344e-7 = 740,640 USDT, to 10^-8.
    let e = book
        .execute_qty(TakerSide::Sell, qty("6000000000000"))
        .unwrap();
    assert_eq!(e.notional_raw, 740_640 * 100_000_000);
    assert_eq!(e.vwap, px("0.00000012344"));
}

#[test]
fn test_okx_values_beyond_the_bounds_are_bad_decimals() {
    let mut decoder = okx_decoder("ELON-USDT");
    let mut buf = EventBuf::with_capacity(64);
    for (price, size, kind) in [
        // 10^17 units: above the 10^16 quantity bound.
        (
            "0.0000001",
            "100000000000000000",
            DecimalErrorKind::OutOfRange,
        ),
        // 13 decimals: below the 10^-12 price unit.
        ("0.0000000000001", "1", DecimalErrorKind::TooPrecise),
        // 10^13 quote per unit: above the 10^12 price bound.
        ("10000000000000", "1", DecimalErrorKind::OutOfRange),
    ] {
        let frame = okx_book("ELON-USDT", &[(price, size)], &[]);
        buf.clear();
        match decoder.decode(frame.as_bytes(), 1, &mut buf) {
            Err(DecodeError::Decimal(e)) => assert_eq!(e.kind, kind, "{price} {size}"),
            other => panic!("{price} x {size}: {other:?}"),
        }
    }
}

#[test]
fn test_binance_meme_sizes_and_fiat_prices_exact() {
    let mut symbols = SymbolMap::default();
    symbols.insert("1000SATSUSDT", InstrumentId(0));
    symbols.insert("BTCIDR", InstrumentId(1));
    let decoder = BinanceDecoder::new(symbols);
    let mut buf = EventBuf::with_capacity(64);
    let sats = r#"{"e":"depthUpdate","E":1765152000000,"s":"1000SATSUSDT","U":10,"u":11,"b":[["0.0000271","9200000000000.5"]],"a":[["0.0000272","12000000000000"]]}"#;
    assert_eq!(
        decoder.decode(sats.as_bytes(), 1, &mut buf),
        Ok(edgeline::feed::Decoded::Events(3))
    );
    let mut book = L2Book::with_depth(10);
    apply(&mut book, buf.as_slice());
    let ask = book.best_ask().unwrap();
    assert_eq!(
        (ask.price, ask.qty),
        (px("0.0000272"), qty("12000000000000"))
    );
    assert_eq!(ask.price.notional_raw(ask.qty), 326_400_000 * 100_000_000);
    buf.clear();
    let idr = r#"{"u":400900217,"s":"BTCIDR","b":"1650000000.00","B":"0.00000001","a":"1650012345.50","A":"3.12345678"}"#;
    assert_eq!(
        decoder.decode(idr.as_bytes(), 1, &mut buf),
        Ok(edgeline::feed::Decoded::Events(1))
    );
    match buf.as_slice()[0].body {
        EventBody::TopOfBook {
            bid, bid_qty, ask, ..
        } => {
            assert_eq!(bid, px("1650000000"));
            assert_eq!(bid_qty, qty("0.00000001"));
            assert_eq!(ask.to_string(), "1650012345.5");
            // One satoshi of BTC at 1.65e9 IDR: 16.5 IDR.
            assert_eq!(bid.notional_raw(bid_qty), 1_650_000_000);
        }
        ref other => panic!("{other:?}"),
    }
    assert_eq!(
        book.qty_at(Side::Bid, px("0.0000271")),
        qty("9200000000000.5")
    );
}
