//! Proves the hot path allocates nothing after warm-up: Binance-format frames are pushed
//! through decode → book (L2 included) → edge (the same decoder, rings and stages the pipeline uses),
//! with a counting global allocator watching this thread; the edge stage with the
//! cross-venue scanner and intents on four venues; the OKX and Hyperliquid decoders alone
//! on every real message of `../shared/data/{okx,hyperliquid}`; the gateway through
//! intents, fills, exits and kill-switch flattens; and the recorder's feed-thread tap.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use edgeline::book::TopUpdate;
use edgeline::book::engine::TopSource;
use edgeline::book::top::{Ladder, LadderLevel, LadderSide, PerpInfo};
use edgeline::book::{BookIo, BookParams, BookStage};
use edgeline::capture::{self, Direction};
use edgeline::edge::{
    BasisPair, BasisParams, EdgeIo, EdgeStage, MarketTerms, Scanner, ScannerParams,
};
use edgeline::feed::binance::BinanceDecoder;
use edgeline::feed::hyperliquid::HyperliquidDecoder;
use edgeline::feed::okx::OkxDecoder;
use edgeline::feed::{EventBuf, SymbolMap};
use edgeline::gateway::config::GatewayConfig;
use edgeline::gateway::engine::{Gateway, Now};
use edgeline::gateway::risk::KillSwitch;
use edgeline::runtime::{Clock, Stage};
use edgeline::stats::PipelineStats;
use edgeline::telemetry::sample::SampleSink;
use edgeline::types::bps::Bps;
use edgeline::types::{
    EventBody, ExecStyle, InstrumentId, InstrumentRegistry, InstrumentSpec, IntentLeg, MarketEvent,
    MarketKind, OrderIntent, OrderSide, Price, Qty, Side, Strategy, Venue,
};

struct CountingAlloc;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers every call to `System`, which upholds the `GlobalAlloc` contract; the
// bookkeeping only touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged from our caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note_allocation() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn registry() -> InstrumentRegistry {
    let mut reg = InstrumentRegistry::default();
    for (kind, tick) in [(MarketKind::Spot, "0.01"), (MarketKind::Perp, "0.1")] {
        reg.insert(InstrumentSpec {
            venue: Venue::Binance,
            kind,
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            tick_size: Price::from_decimal_str(tick).unwrap(),
            lot_size: Qty::from_decimal_str("0.001").unwrap(),
            min_notional: Price::from_decimal_str("5").unwrap(),
            contract_size: Qty::from_raw(Qty::SCALE),
        })
        .unwrap();
    }
    reg
}

/// Frames in Binance's formats: spot and perp tops that drift apart every 50 ticks (so
/// opportunities are recorded) and depth diffs that link.
fn frames(count: usize) -> Vec<(usize, String)> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let n = i as u64;
        let spot = 60_000.0 + (i % 7) as f64 * 0.01;
        let bump = if i % 50 < 5 { 0.003 } else { 0.0001 };
        let perp = spot * (1.0 + bump);
        out.push(match i % 4 {
            0 => (0, format!(
                r#"{{"u":{n},"s":"BTCUSDT","b":"{:.8}","B":"1.50000000","a":"{:.8}","A":"2.00000000"}}"#,
                spot, spot + 0.01
            )),
            1 => (1, format!(
                r#"{{"e":"bookTicker","u":{n},"E":{},"T":{},"s":"BTCUSDT","b":"{:.1}","B":"3.1","a":"{:.1}","A":"4.2"}}"#,
                1_700_000_000_000 + n, 1_700_000_000_000 + n, perp, perp + 0.1
            )),
            2 => (0, format!(
                r#"{{"e":"depthUpdate","E":{},"s":"BTCUSDT","U":{},"u":{},"b":[["{:.8}","1.25000000"],["{:.8}","0.00000000"]],"a":[["{:.8}","0.50000000"]]}}"#,
                1_700_000_000_000 + n, n, n + 3, spot - 0.05, spot - 0.06, spot + 0.05
            )),
            _ => (1, format!(
                r#"{{"e":"depthUpdate","E":{},"T":{},"s":"BTCUSDT","U":{},"u":{},"pu":{},"b":[["{:.1}","7.000"]],"a":[["{:.1}","0.000"]]}}"#,
                1_700_000_000_000 + n, 1_700_000_000_000 + n, n, n + 3, n - 1, perp - 0.5, perp + 0.5
            )),
        });
    }
    out
}

#[test]
fn test_hot_path_allocates_nothing_after_warm_up() {
    let registry = registry();
    let clock = Clock::new();
    let stats = Arc::new(PipelineStats::default());
    let decoders: Vec<BinanceDecoder> = [MarketKind::Spot, MarketKind::Perp]
        .iter()
        .map(|&kind| {
            let mut symbols = SymbolMap::default();
            symbols.insert(
                "BTCUSDT",
                registry.find(Venue::Binance, kind, "BTCUSDT").unwrap(),
            );
            BinanceDecoder::new(symbols)
        })
        .collect();
    let (mut event_tx, event_rx) = rtrb::RingBuffer::new(4096);
    let (top_tx, top_rx) = rtrb::RingBuffer::new(1024);
    let (opp_tx, mut opp_rx) = rtrb::RingBuffer::new(1024);
    let mut sample_rings = Vec::new();
    let mut sink = |pick: fn(&PipelineStats) -> &edgeline::runtime::Counter| {
        let (tx, rx) = rtrb::RingBuffer::new(4096);
        sample_rings.push(rx);
        SampleSink::new(tx, Arc::clone(&stats), pick)
    };
    let book_sink = sink(|s| &s.book_samples_dropped);
    let edge_sink = sink(|s| &s.edge_samples_dropped);
    let io = BookIo {
        input: event_rx,
        output: top_tx,
        samples: book_sink,
        stats: Arc::clone(&stats),
        clock: clock.clone(),
    };
    let (resync_tx, mut resync_rx) = rtrb::RingBuffer::new(16);
    let mut book = BookStage::new(
        &registry,
        BookParams::default(),
        TopSource::default_for,
        resync_tx,
        io,
    );
    let pair = BasisPair {
        spot: registry
            .find(Venue::Binance, MarketKind::Spot, "BTCUSDT")
            .unwrap(),
        perp: registry
            .find(Venue::Binance, MarketKind::Perp, "BTCUSDT")
            .unwrap(),
    };
    let io = EdgeIo {
        input: top_rx,
        output: opp_tx,
        samples: edge_sink,
        stats: Arc::clone(&stats),
        clock: clock.clone(),
    };
    let mut edge = EdgeStage::new(&registry, &[pair], BasisParams::default(), io);
    let mut buf = EventBuf::with_capacity(64);
    let input = frames(20_000);
    let (warm, measured) = input.split_at(2_000);

    // The REST snapshots the first diffs bridge to (spot U <= id+1 <= u, futures
    // U <= id <= u); the perp's ask is above every bid its diffs add (up to about
    // 60180), so its book never crosses (a crossed book is invalid and resyncs).
    for (conn, id, ask) in [(0, 1, "60010.00"), (1, 3, "60500.00")] {
        let kind = [MarketKind::Spot, MarketKind::Perp][conn];
        let instrument = registry.find(Venue::Binance, kind, "BTCUSDT").unwrap();
        let body = format!(
            r#"{{"lastUpdateId":{id},"bids":[["59990.00","1.0"]],"asks":[["{ask}","1.0"]]}}"#
        );
        buf.clear();
        decoders[conn]
            .decode_snapshot(body.as_bytes(), instrument, clock.raw(), &mut buf)
            .unwrap();
        for event in buf.as_slice() {
            event_tx.push(*event).unwrap();
        }
    }
    let mut run = |frames: &[(usize, String)]| {
        for (conn, frame) in frames {
            buf.clear();
            decoders[*conn]
                .decode(frame.as_bytes(), clock.raw(), &mut buf)
                .unwrap();
            for event in buf.as_slice() {
                event_tx.push(*event).unwrap();
            }
            while book.poll() + edge.poll() > 0 {}
            while opp_rx.pop().is_ok() {}
            for ring in &mut sample_rings {
                while ring.pop().is_ok() {}
            }
        }
    };
    run(warm);
    assert!(resync_rx.pop().is_err(), "no resync requested once synced");
    let opportunities_before = stats.edge_opportunities.get();
    COUNTING.with(|c| c.set(true));
    run(measured);
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.with(|n| n.get());

    assert!(
        stats.edge_opportunities.get() > opportunities_before,
        "the record path ran"
    );
    assert!(
        stats.book_updates.get() > 5_000,
        "tops flowed: {}",
        stats.book_updates.get()
    );
    assert_eq!(stats.book_sequence_gaps.get(), 0);
    assert_eq!(allocations, 0, "allocations on the hot path after warm-up");
}

/// Frames the recordings lack: `data` before `arg` (the second pass), the swap channels,
/// control messages.
const OKX_FRAMES: [&str; 6] = [
    r#"{"data":[{"tradeId":"1","px":"1.5","sz":"2","side":"buy","ts":"1"}],"arg":{"channel":"trades","instId":"BTC-USDT"}}"#,
    r#"{"arg":{"channel":"mark-price","instId":"BTC-USDT"},"data":[{"markPx":"42310.6","ts":"1630049139746"}]}"#,
    r#"{"arg":{"channel":"open-interest","instId":"BTC-USDT"},"data":[{"oi":"4092973","oiCcy":"13840.04","ts":"1654348683853"}]}"#,
    r#"{"arg":{"channel":"funding-rate","instId":"BTC-USDT"},"data":[{"fundingRate":"0.0001","fundingTime":"1646323200000"}]}"#,
    r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#,
    "pong",
];

#[test]
fn test_okx_decoder_allocates_nothing_after_warm_up() {
    let mut frames: Vec<Vec<u8>> = OKX_FRAMES.iter().map(|f| f.as_bytes().to_vec()).collect();
    for prefix in ["cryptofeed_2021", "cryptofeed_2022", "crypto-msg-parser_"] {
        let Some(path) = common::data_file("okx", prefix) else {
            continue;
        };
        let messages = capture::read_file(&path).unwrap();
        frames.extend(
            messages
                .into_iter()
                .filter(|m| m.direction == Direction::Received)
                .map(|m| m.payload.into_bytes()),
        );
    }
    let mut symbols = SymbolMap::default();
    for (i, frame) in frames.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_slice(frame).unwrap_or_default();
        if let Some(inst) = v["arg"]["instId"].as_str() {
            symbols.insert(
                inst,
                edgeline::types::InstrumentId(u32::try_from(i).unwrap()),
            );
        }
    }
    let mut decoder = OkxDecoder::new(MarketKind::Perp, symbols);
    let mut buf = EventBuf::with_capacity(4096);
    // Warm-up. NB: error paths allocate (sonic-rs builds its error with a formatted
    // message, about 34 allocations), so only frames that decode are measured; the
    // recordings' errors are the two 16-decimal funding rates `Rate` cannot hold.
    frames.retain(|frame| {
        buf.clear();
        decoder.decode(frame, 1, &mut buf).is_ok()
    });
    let mut events = 0;
    COUNTING.with(|c| c.set(true));
    for frame in &frames {
        buf.clear();
        decoder.decode(frame, 1, &mut buf).unwrap();
        events += buf.len();
    }
    COUNTING.with(|c| c.set(false));
    assert!(events > 10_000, "{events} events");
    assert_eq!(
        ALLOCATIONS.with(|n| n.get()),
        0,
        "allocations while decoding OKX frames"
    );
}

#[test]
fn test_hyperliquid_decode_allocates_nothing_per_message() {
    let frames: Vec<String> = [
        "perp_hftbacktest_",
        "perp_spot_tardis-node_",
        "perp_nautilus_",
    ]
    .into_iter()
    .filter_map(|prefix| common::data_file("hyperliquid", prefix))
    .flat_map(|path| capture::read_file(&path).unwrap())
    .map(|m| m.payload)
    .collect();
    if frames.is_empty() {
        return;
    }
    let mut symbols = SymbolMap::default();
    for (i, coin) in ["BTC", "FXS", "SHIA", "BANANA", "MOODENG", "@2", "@162"]
        .into_iter()
        .enumerate()
    {
        symbols.insert(coin, InstrumentId(u32::try_from(i).unwrap()));
    }
    let mut decoder = HyperliquidDecoder::new(MarketKind::Perp, symbols);
    let mut buf = EventBuf::with_capacity(256);
    let mut decode_all = |buf: &mut EventBuf| {
        let mut ok = 0;
        for frame in &frames {
            buf.clear();
            ok += usize::from(decoder.decode(frame.as_bytes(), 1, buf).is_ok());
        }
        ok
    };
    let warm = decode_all(&mut buf);
    COUNTING.with(|on| on.set(true));
    let again = decode_all(&mut buf);
    COUNTING.with(|on| on.set(false));
    assert_eq!((warm, again), (frames.len(), frames.len()));
    assert_eq!(ALLOCATIONS.with(Cell::get), 0);
}

/// One gateway cycle at minute `minute`: wide books, an intent, both legs fill, the
/// books converge and the profit target closes the trade (every third cycle the kill
/// switch flattens it instead).
fn gateway_cycle(gw: &mut Gateway, kill: &KillSwitch, minute: u64, records: &mut u64) {
    let t0 = minute * 60_000_000_000;
    let at = |ms: u64| Now {
        raw: t0 + ms * 1_000_000,
        ns: t0 + ms * 1_000_000,
    };
    let p = |units: i64| Price::from_raw(i128::from(units) * Price::SCALE);
    let book = |gw: &mut Gateway, ms: u64, id: u32, bid: i64| {
        let begin = EventBody::DepthBegin {
            first_update_id: 0,
            last_update_id: 0,
            prev_update_id: 0,
            levels: 2,
            snapshot: true,
            checksum: None,
        };
        let bodies = [
            begin,
            EventBody::DepthLevel {
                side: Side::Bid,
                price: p(bid),
                qty: Qty::from_raw(Qty::SCALE),
            },
            EventBody::DepthLevel {
                side: Side::Ask,
                price: p(bid + 1),
                qty: Qty::from_raw(Qty::SCALE),
            },
        ];
        for body in bodies {
            gw.on_market(
                at(ms),
                &MarketEvent {
                    ts_recv_raw: 0,
                    ts_venue_ms: 0,
                    instrument: InstrumentId(id),
                    body,
                },
            );
        }
    };
    book(gw, 0, 0, 60_000);
    book(gw, 0, 1, 60_200);
    let leg = IntentLeg {
        instrument: InstrumentId(0),
        side: OrderSide::Buy,
        limit: p(60_010),
        style: ExecStyle::Ioc,
    };
    let intent = OrderIntent {
        id: minute,
        strategy: Strategy::Basis,
        legs: [
            leg,
            IntentLeg {
                instrument: InstrumentId(1),
                side: OrderSide::Sell,
                limit: p(60_100),
                style: ExecStyle::Ioc,
            },
        ],
        qty: Qty::from_raw(Qty::SCALE / 100),
        edge_bps: Bps::from_num(33),
        expected_profit_bps: Bps::from_num(10),
        confidence: 90,
        ts_recv_raw: t0,
        ts_decision_raw: t0,
        expires_raw: t0 + 1_000_000,
    };
    gw.on_intent(at(0), &intent).expect("intent accepted");
    for ms in (10..=100).step_by(10) {
        gw.poll(at(ms));
    }
    if minute.is_multiple_of(3) {
        kill.engage();
    } else {
        book(gw, 110, 1, 60_000);
    }
    for ms in (120..=300).step_by(10) {
        gw.poll(at(ms));
    }
    kill.rearm();
    gw.poll(at(310));
    gw.drain_records(|_| *records += 1);
}

#[test]
fn test_gateway_allocates_nothing_after_warm_up() {
    let kill = KillSwitch::default();
    let mut gw = Gateway::new(GatewayConfig::default(), &registry(), kill.clone()).unwrap();
    let mut records = 0;
    for minute in 0..6 {
        gateway_cycle(&mut gw, &kill, minute * 2, &mut records);
    }
    let closed = gw.counters().closed;
    COUNTING.with(|on| on.set(true));
    for minute in 6..60 {
        gateway_cycle(&mut gw, &kill, minute * 2, &mut records);
    }
    COUNTING.with(|on| on.set(false));
    assert_eq!(
        gw.counters().closed - closed,
        54,
        "every cycle closes its trade"
    );
    assert!(gw.portfolio().trade_counts().1 > 0);
    assert!(records > 54 * 6);
    assert_eq!(ALLOCATIONS.with(Cell::get), 0, "allocations in the gateway");
}

/// A top of book of instrument `id` around `mid_cents`, with a ladder behind the touch.
fn scan_update(id: u32, bid_cents: i64, ask_cents: i64, venue_ms: u64) -> TopUpdate {
    let px = |cents: i64| Price::from_raw(i128::from(cents) * Price::SCALE / 100);
    let qty = Qty::from_raw(Qty::SCALE);
    let side = |first: i64, step: i64| {
        LadderSide::from_levels((0..8).map(|k| LadderLevel {
            price: px(first + step * k),
            qty,
        }))
    };
    TopUpdate {
        instrument: InstrumentId(id),
        bid: px(bid_cents),
        bid_qty: qty,
        ask: px(ask_cents),
        ask_qty: qty,
        bid_depth_quote: 50_000 * 100_000_000,
        ask_depth_quote: 40_000 * 100_000_000,
        ladder: Ladder {
            bids: side(bid_cents, -1),
            asks: side(ask_cents, 1),
        },
        perp: PerpInfo::default(),
        valid: true,
        ts_recv_raw: 1,
        ts_venue_ms: venue_ms,
    }
}

#[test]
fn test_edge_scanner_allocates_nothing_after_warm_up() {
    let mut registry = InstrumentRegistry::default();
    for venue in Venue::ALL {
        registry
            .insert(InstrumentSpec {
                venue,
                kind: MarketKind::Spot,
                symbol: "BTCUSDT".into(),
                base: "BTC".into(),
                tick_size: Price::from_decimal_str("0.01").unwrap(),
                lot_size: Qty::from_decimal_str("0.001").unwrap(),
                min_notional: Price::from_decimal_str("10").unwrap(),
                contract_size: Qty::from_raw(Qty::SCALE),
            })
            .unwrap();
    }
    let (clock, mock) = Clock::mock();
    let stats = Arc::new(PipelineStats::default());
    let (mut top_tx, top_rx) = rtrb::RingBuffer::new(64);
    let (opp_tx, _opp_rx) = rtrb::RingBuffer::new(64);
    let (sample_tx, mut sample_rx) = rtrb::RingBuffer::new(64);
    let (spread_tx, mut spread_rx) = rtrb::RingBuffer::new(64);
    let (intent_tx, mut intent_rx) = rtrb::RingBuffer::new(64);
    let io = EdgeIo {
        input: top_rx,
        output: opp_tx,
        samples: SampleSink::new(sample_tx, Arc::clone(&stats), |s| &s.edge_samples_dropped),
        stats: Arc::clone(&stats),
        clock: clock.clone(),
    };
    let scanner = Scanner::new(&registry, ScannerParams::default(), |_| MarketTerms {
        taker_fee: edgeline::types::bps::Bps::ONE,
        stale_after: std::time::Duration::from_millis(200),
    });
    let mut edge = EdgeStage::new(&registry, &[], BasisParams::default(), io)
        .with_scanner(scanner, spread_tx)
        .with_intents(intent_tx, std::time::Duration::from_secs(2));
    let mut run = |rounds: i64| {
        for i in 0..rounds {
            // Venue 3 sits 0..40 bps above the rest: candidates accepted and rejected.
            // (6 USD, 600 cents, is 1 bps of 60000 USD); every 7th round is 500 ms late.
            let lift = (i % 9) * 5;
            let now_ms = clock.unix_ns(clock.raw()) / 1_000_000;
            let venue_ms = if i % 7 == 0 { now_ms - 500 } else { now_ms - 5 };
            for id in 0..4u32 {
                let base = 6_000_000 + if id == 3 { lift * 600 } else { i % 3 };
                top_tx
                    .push(scan_update(id, base, base + 1, venue_ms))
                    .unwrap();
            }
            mock.increment(std::time::Duration::from_millis(300));
            while edge.poll() > 0 {}
            while spread_rx.pop().is_ok() {}
            while intent_rx.pop().is_ok() {}
            while sample_rx.pop().is_ok() {}
        }
    };
    run(200);
    let accepted = stats.edge_spread_accepted.get();
    COUNTING.with(|c| c.set(true));
    run(2_000);
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.with(|n| n.get());
    assert!(
        stats.edge_spread_accepted.get() > accepted,
        "accepted path ran"
    );
    assert!(stats.edge_intents.get() > 0, "intent path ran");
    let counts = edge.scanner().unwrap().counts();
    assert!(counts.rejections.total() > 0, "rejection path ran");
    assert_eq!(
        allocations, 0,
        "allocations in the edge stage after warm-up"
    );
}

/// The recorder's feed-thread end copies frames into its ring without allocating,
/// including when the ring is full and frames are dropped.
#[test]
fn test_recorder_tap_allocates_nothing_per_frame() {
    use edgeline::record::{Header, RecordSettings, RecorderTap};
    let dir = tempfile::tempdir().unwrap();
    let settings = RecordSettings {
        ring_bytes: 1 << 20,
        ..RecordSettings::new(dir.path().to_path_buf())
    };
    let clock = Clock::new();
    let mut tap = RecorderTap::start(settings, &Header::default(), clock.clone()).unwrap();
    let frames = frames(20_000);
    tap.frame(0, clock.raw(), frames[0].1.as_bytes());
    COUNTING.with(|c| c.set(true));
    for (connection, text) in &frames {
        tap.frame(*connection, clock.raw(), text.as_bytes());
    }
    tap.snapshot(InstrumentId(0), clock.raw(), b"{\"lastUpdateId\":1}");
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.with(|n| n.get());
    let dropped = tap.dropped();
    let mut report = edgeline::runtime::RunReport::default();
    tap.finish(&mut report);
    assert_eq!(allocations, 0, "allocations in the recorder tap");
    assert_eq!(
        report.counter("record.frames") + dropped,
        frames.len() as u64 + 2
    );
}
