//! The Binance live venue against the fake exchange on 127.0.0.1, one test per fault:
//! afterwards the live venue's orders, balances and positions equal the exchange's, no
//! order was ever created twice (every client id the gateway used maps to at most one
//! exchange order, and the exchange holds no order the gateway did not send), and the
//! kill switch leaves no open order and flat positions.

use std::time::{Duration, Instant};

use edgeline::gateway::GatewayConfig;
use edgeline::gateway::live::keys::{Credentials, Signing};
use edgeline::gateway::live::sign::HmacSigner;
use edgeline::gateway::live::{self, ClientConfig, LiveLimits, LiveSymbol, LiveVenue};
use edgeline::gateway::order::{Order, OrderId, OrderLeg, OrderState, OrderStyle, VenueReject};
use edgeline::gateway::paper::VenueEvent;
use edgeline::gateway::venue::{LiveOrders, LiveRefusal};
use edgeline::gateway::{Gateway, KillSwitch, Now};
use edgeline::sim::exchange::{ExchangeSnapshot, FakeConfig, FakeExchange, Fault};
use edgeline::types::{
    EventBody, ExecStyle, InstrumentId, InstrumentRegistry, InstrumentSpec, IntentLeg, MarketEvent,
    MarketKind, OrderIntent, OrderSide, Price, Qty, Side, Strategy, Venue,
};

const KEY: &str = "fake-api-key-0123";
const SECRET: &str = "fake-secret-4567-do-not-print";
const RUN: u64 = 0xfeed;
const SPOT: InstrumentId = InstrumentId(0);
const PERP: InstrumentId = InstrumentId(1);
const WAIT: Duration = Duration::from_secs(10);

fn p(s: &str) -> Price {
    Price::from_decimal_str(s).unwrap()
}

fn q(s: &str) -> Qty {
    Qty::from_decimal_str(s).unwrap()
}

fn fake(edit: impl FnOnce(&mut FakeConfig)) -> FakeExchange {
    let mut cfg = FakeConfig::btcusdt(KEY, SECRET);
    edit(&mut cfg);
    FakeExchange::start(cfg).unwrap()
}

fn venue(fake: &FakeExchange) -> LiveVenue {
    let base = fake.base_url();
    let mut cfg = ClientConfig::new(&base, &base, RUN);
    cfg.poll_interval = Duration::from_millis(30);
    cfg.timeout = Duration::from_millis(500);
    let creds = Credentials::new(KEY, Signing::Hmac(HmacSigner::new(SECRET.as_bytes())));
    let fees = edgeline::gateway::config::VenueFees {
        maker_centi_bps: 200,
        taker_centi_bps: 500,
    };
    let sym = |instrument, kind| LiveSymbol {
        instrument,
        symbol: "BTCUSDT".into(),
        kind,
        base: "BTC".into(),
        quote: "USDT".into(),
        fees,
    };
    let limits = LiveLimits {
        orders_max: 64,
        ring_slots: 256,
        run_notional_max_raw: 10_000_000 * 100_000_000,
    };
    live::spawn(
        cfg,
        creds,
        vec![sym(SPOT, MarketKind::Spot), sym(PERP, MarketKind::Perp)],
        limits,
    )
    .unwrap()
}

fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn ready(fake: &FakeExchange) -> LiveVenue {
    let mut v = venue(fake);
    until("ready", || {
        v.poll(0, 64, &mut |_| {});
        v.ready()
    });
    v
}

fn order(
    id: u64,
    instrument: InstrumentId,
    side: OrderSide,
    style: OrderStyle,
    limit: &str,
    qty: &str,
) -> Order {
    let leg = OrderLeg {
        instrument,
        venue: Venue::Binance,
        side,
        limit: p(limit),
    };
    Order::new(OrderId(id), leg, style, q(qty), 0)
}

/// Polls until order `id` is done; every event seen.
fn done(v: &mut LiveVenue, id: u64) -> (Order, Vec<VenueEvent>) {
    let mut events = Vec::new();
    let mut out = None;
    until("the order's end", || {
        v.poll(1, 64, &mut |e| {
            if let VenueEvent::Done(o) = e
                && o.id == OrderId(id)
            {
                out = Some(o);
            }
            events.push(e);
        });
        out.is_some()
    });
    (out.unwrap(), events)
}

/// The venue's view settles on the exchange's (the I/O thread publishes it after each
/// command and poll), and no order exists twice.
fn agree(fake: &FakeExchange, v: &LiveVenue) -> ExchangeSnapshot {
    agree_with(fake, v, &[])
}

/// [`agree`], where `foreign` orders were put at the exchange by someone else.
fn agree_with(fake: &FakeExchange, v: &LiveVenue, foreign: &[&str]) -> ExchangeSnapshot {
    let mut last = None;
    let start = Instant::now();
    loop {
        let ours = v.account();
        let theirs = fake.snapshot();
        let mine = ExchangeSnapshot {
            open_orders: ours.open_orders.clone(),
            balances: ours.balances.clone(),
            positions: ours.positions.clone(),
        };
        if mine == theirs {
            break;
        }
        last = Some((mine, theirs));
        assert!(start.elapsed() < WAIT, "views differ: {last:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let st = fake.state();
    let mut ids: Vec<&str> = st
        .engine
        .orders
        .iter()
        .map(|o| o.client_id.as_str())
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "an order was created twice");
    let ours = |c: &&str| c.starts_with("el000000000000feed-") || foreign.contains(c);
    assert!(ids.iter().all(ours), "{ids:?}");
    drop(st);
    let _ = last;
    fake.snapshot()
}

#[test]
fn test_live_ioc_fills_and_views_agree() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    v.submit(
        &order(1, SPOT, OrderSide::Buy, OrderStyle::Ioc, "50000.01", "0.5"),
        p("50000"),
    )
    .unwrap();
    let (o, events) = done(&mut v, 1);
    assert_eq!((o.state, o.filled), (OrderState::Filled, q("0.5")));
    assert_eq!(o.avg_price(), p("50000"));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, VenueEvent::Fill(_)))
            .count(),
        1
    );
    let snap = agree(&fake, &v);
    assert!(snap.balances.contains(&("BTC".into(), q("10.5"))));
    // The poll loop asked again after the fill: nothing new, nothing booked twice.
    assert_eq!(fake.state().engine.orders.len(), 1);
}

#[test]
fn test_live_no_reply_after_accept_is_adopted_not_duplicated() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    fake.inject(Fault::NoReplyAfterAccept);
    v.submit(
        &order(1, PERP, OrderSide::Sell, OrderStyle::Ioc, "50010.0", "0.02"),
        p("50010"),
    )
    .unwrap();
    let (o, _) = done(&mut v, 1);
    assert_eq!((o.state, o.filled), (OrderState::Filled, q("0.02")));
    let c = v.account().counters;
    assert_eq!((c.unknown_outcomes, c.adopted, c.resent), (1, 1, 0));
    let snap = agree(&fake, &v);
    assert_eq!(snap.positions, vec![("BTCUSDT".into(), q("-0.02"))]);
}

#[test]
fn test_live_5xx_unprocessed_is_sent_again_under_the_same_id() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    fake.inject(Fault::ServerError { processed: false });
    v.submit(
        &order(1, SPOT, OrderSide::Sell, OrderStyle::Ioc, "49999.99", "0.1"),
        p("49999.99"),
    )
    .unwrap();
    let (o, _) = done(&mut v, 1);
    assert_eq!(o.state, OrderState::Filled);
    let c = v.account().counters;
    assert_eq!((c.unknown_outcomes, c.resent), (1, 1));
    assert_eq!(fake.state().order_requests, 2, "one send, one resend");
    agree(&fake, &v);
}

#[test]
fn test_live_5xx_processed_is_found_by_its_client_id() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    fake.inject(Fault::ServerError { processed: true });
    v.submit(
        &order(1, SPOT, OrderSide::Buy, OrderStyle::Ioc, "50000.00", "0.1"),
        p("50000"),
    )
    .unwrap();
    let (o, _) = done(&mut v, 1);
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(v.account().counters.adopted, 1);
    assert_eq!(fake.state().order_requests, 1, "never sent twice");
    agree(&fake, &v);
}

#[test]
fn test_live_429_backs_off_then_reconciles_and_trades_again() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    fake.inject(Fault::TooManyRequests { retry_after_s: 1 });
    let t0 = Instant::now();
    v.submit(
        &order(1, SPOT, OrderSide::Buy, OrderStyle::Ioc, "50000.00", "0.1"),
        p("50000"),
    )
    .unwrap();
    let (o, _) = done(&mut v, 1);
    assert_eq!(
        (o.state, o.reject),
        (OrderState::Rejected, Some(VenueReject::NotSent))
    );
    assert!(!v.ready(), "no entries during the back-off");
    assert_eq!(
        v.submit(
            &order(2, SPOT, OrderSide::Buy, OrderStyle::Ioc, "50000.00", "0.1"),
            p("50000")
        ),
        Err(LiveRefusal::NotReady)
    );
    until("ready after Retry-After", || {
        v.poll(2, 64, &mut |_| {});
        v.ready()
    });
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "waited as asked"
    );
    v.submit(
        &order(3, SPOT, OrderSide::Buy, OrderStyle::Ioc, "50000.00", "0.1"),
        p("50000"),
    )
    .unwrap();
    assert_eq!(done(&mut v, 3).0.state, OrderState::Filled);
    assert_eq!(fake.state().rate_limited, 1, "never pushed into a ban");
    agree(&fake, &v);
}

#[test]
fn test_live_request_weight_limit_is_respected() {
    // 100 weight a second: start-up (time and exchangeInfo twice, account, positions,
    // open orders twice: 99) spends nearly all of it, so the next orders meet a 429;
    // the client must wait out each one and never be banned (one violation bans here).
    let fake = fake(|c| {
        c.weight_limit = 100;
        c.weight_window_ms = 1_000;
        c.violations_to_ban = 1;
    });
    let mut v = ready(&fake);
    // Orders until the limit is met, then three more after the back-off.
    let mut after = 0;
    for id in 1..=400 {
        until("ready", || {
            v.poll(0, 64, &mut |_| {});
            v.ready()
        });
        let o = order(
            id,
            SPOT,
            OrderSide::Buy,
            OrderStyle::Ioc,
            "50000.00",
            "0.01",
        );
        v.submit(&o, p("50000")).unwrap();
        done(&mut v, id);
        after += u32::from(fake.state().rate_limited > 0);
        if after > 3 {
            break;
        }
    }
    assert!(!v.halted(), "a client that backs off is never banned");
    assert!(fake.state().rate_limited >= 1, "the limit was met");
    agree(&fake, &v);
}

#[test]
fn test_live_418_halts_the_venue() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    fake.inject(Fault::Banned { ms: 60_000 });
    v.submit(
        &order(1, SPOT, OrderSide::Buy, OrderStyle::Ioc, "50000.00", "0.1"),
        p("50000"),
    )
    .unwrap();
    let (o, _) = done(&mut v, 1);
    assert_eq!(o.state, OrderState::Rejected);
    until("halted", || {
        v.poll(1, 64, &mut |_| {});
        v.halted()
    });
    let before = fake.state().order_requests;
    assert_eq!(
        v.submit(
            &order(2, SPOT, OrderSide::Buy, OrderStyle::Ioc, "50000.00", "0.1"),
            p("50000")
        ),
        Err(LiveRefusal::Halted)
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(fake.state().order_requests, before, "nothing more is sent");
    assert!(v.account().halted);
}

#[test]
fn test_live_restart_forgets_sessions_resting_order_fills_after() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    v.submit(
        &order(
            1,
            PERP,
            OrderSide::Buy,
            OrderStyle::PostOnly,
            "50000.0",
            "0.01",
        ),
        p("50010"),
    )
    .unwrap();
    until("acked", || {
        v.poll(1, 64, &mut |_| {});
        v.working()
            .first()
            .is_some_and(|o| o.state == OrderState::Acked)
    });
    fake.restart();
    fake.trade_through("BTCUSDT", MarketKind::Perp, p("49999.9"), q("5"));
    let (o, events) = done(&mut v, 1);
    assert_eq!((o.state, o.filled), (OrderState::Filled, q("0.01")));
    let fill = events.iter().find_map(|e| match e {
        VenueEvent::Fill(f) => Some(*f),
        _ => None,
    });
    assert_eq!(
        fill.unwrap().liquidity,
        edgeline::gateway::order::Liquidity::Maker
    );
    let snap = agree(&fake, &v);
    assert_eq!(snap.positions, vec![("BTCUSDT".into(), q("0.01"))]);
}

#[test]
fn test_live_post_only_that_would_cross_and_filters_refused_before_sending() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    v.submit(
        &order(
            1,
            SPOT,
            OrderSide::Buy,
            OrderStyle::PostOnly,
            "50000.00",
            "0.1",
        ),
        p("50000"),
    )
    .unwrap();
    assert_eq!(
        done(&mut v, 1).0.reject,
        Some(VenueReject::PostOnlyWouldCross)
    );
    let sent = fake.state().order_requests;
    v.submit(
        &order(2, SPOT, OrderSide::Buy, OrderStyle::Ioc, "50000.005", "0.1"),
        p("50000"),
    )
    .unwrap();
    assert_eq!(done(&mut v, 2).0.reject, Some(VenueReject::Filter));
    v.submit(
        &order(3, PERP, OrderSide::Buy, OrderStyle::Ioc, "50010.1", "0.001"),
        p("50010"),
    )
    .unwrap();
    assert_eq!(
        done(&mut v, 3).0.reject,
        Some(VenueReject::Filter),
        "under the 100 USDT minimum"
    );
    assert_eq!(
        fake.state().order_requests,
        sent,
        "filters refuse before sending"
    );
    agree(&fake, &v);
}

#[test]
fn test_live_start_reconciliation_cancels_unknown_orders_before_any_entry() {
    let fake = fake(|_| {});
    let stray = edgeline::sim::exchange::NewOrder {
        symbol: "BTCUSDT",
        side: OrderSide::Buy,
        order_type: "LIMIT_MAKER",
        tif: "",
        price: p("49000.00"),
        qty: q("0.01"),
        client_id: "web_manual_1",
        reduce_only: false,
    };
    fake.state().engine.place(MarketKind::Spot, &stray).unwrap();
    let v = ready(&fake);
    let view = v.account();
    assert!(
        view.differences.iter().any(|d| d.contains("web_manual_1")),
        "{:?}",
        view.differences
    );
    assert!(fake.snapshot().open_orders.is_empty());
    agree_with(&fake, &v, &["web_manual_1"]);
}

#[test]
fn test_live_run_notional_limit_refuses_before_the_ring() {
    let fake = fake(|_| {});
    let mut v = ready(&fake);
    // 10,000,000 USD allowed: 150 BTC at 50,000 is 7.5 M, a second 150 passes it.
    v.submit(
        &order(
            1,
            SPOT,
            OrderSide::Buy,
            OrderStyle::PostOnly,
            "40000.00",
            "150",
        ),
        p("50000"),
    )
    .unwrap();
    assert_eq!(
        v.submit(
            &order(
                2,
                SPOT,
                OrderSide::Buy,
                OrderStyle::PostOnly,
                "40000.00",
                "150"
            ),
            p("50000")
        ),
        Err(LiveRefusal::NotionalLimit)
    );
    v.cancel(OrderId(1));
    assert_eq!(done(&mut v, 1).0.state, OrderState::Cancelled);
    agree(&fake, &v);
}

fn registry() -> InstrumentRegistry {
    let mut reg = InstrumentRegistry::default();
    for (kind, tick, lot, min) in [
        (MarketKind::Spot, "0.01", "0.00001", "5"),
        (MarketKind::Perp, "0.1", "0.001", "100"),
    ] {
        reg.insert(InstrumentSpec {
            venue: Venue::Binance,
            kind,
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            tick_size: p(tick),
            lot_size: q(lot),
            min_notional: p(min),
            contract_size: q("1"),
        })
        .unwrap();
    }
    reg
}

fn now() -> Now {
    let ns = 1_000_000_000 + u64::try_from(START.elapsed().as_nanos()).unwrap_or(u64::MAX);
    Now { raw: ns, ns }
}

static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

fn book(gw: &mut Gateway, id: InstrumentId, bid: &str, ask: &str) {
    let begin = EventBody::DepthBegin {
        first_update_id: 0,
        last_update_id: 0,
        prev_update_id: 0,
        levels: 0,
        snapshot: true,
        checksum: None,
    };
    let levels = [(Side::Bid, bid), (Side::Ask, ask)].map(|(side, price)| EventBody::DepthLevel {
        side,
        price: p(price),
        qty: q("1"),
    });
    for body in std::iter::once(begin).chain(levels) {
        let event = MarketEvent {
            ts_recv_raw: 0,
            ts_venue_ms: 0,
            instrument: id,
            body,
        };
        gw.on_market(now(), &event);
    }
}

/// The whole gateway on a live Binance: a basis trade (buy spot, sell the perp) opens
/// through the fake exchange, rows are live, and the kill switch leaves nothing open
/// and both legs flat.
#[test]
fn test_live_gateway_trade_then_kill_switch_cancels_and_flattens() {
    let fake = fake(|_| {});
    let kill = KillSwitch::default();
    let mut cfg = GatewayConfig::default();
    cfg.execution.leg_timeout_ns = 5_000_000_000;
    let mut gw = Gateway::new(cfg, &registry(), kill.clone()).unwrap();
    gw.set_live(Venue::Binance, Box::new(venue(&fake)));
    book(&mut gw, SPOT, "49999.99", "50000.00");
    book(&mut gw, PERP, "50010.0", "50010.1");
    until("ready", || {
        gw.poll(now());
        gw.live().ready(Venue::Binance)
    });
    let leg = |instrument, side, limit: &str| IntentLeg {
        instrument,
        side,
        limit: p(limit),
        style: ExecStyle::Ioc,
    };
    let intent = OrderIntent {
        id: 1,
        strategy: Strategy::Basis,
        legs: [
            leg(SPOT, OrderSide::Buy, "50000.00"),
            leg(PERP, OrderSide::Sell, "50010.0"),
        ],
        qty: q("0.01"),
        edge_bps: Default::default(),
        expected_profit_bps: edgeline::types::bps::Bps::from_num(20),
        confidence: 90,
        ts_recv_raw: 0,
        ts_decision_raw: 0,
        expires_raw: u64::MAX,
    };
    gw.on_intent(now(), &intent).unwrap();
    until("both legs on", || {
        gw.poll(now());
        gw.trades()
            .first()
            .is_some_and(|t| t.phase == edgeline::gateway::execution::Phase::Open)
    });
    // A resting order the kill switch must cancel (sent straight to the venue).
    let snap = fake.snapshot();
    assert_eq!(snap.positions.len(), 1, "the perp leg is short");
    kill.engage();
    until("flat and closed", || {
        gw.poll(now());
        gw.trades().is_empty()
    });
    until("the panic's reply", || {
        gw.poll(now());
        !gw.live().ready(Venue::Binance)
    });
    let snap = fake.snapshot();
    assert!(snap.open_orders.is_empty() && snap.positions.is_empty());
    assert!(
        snap.balances.contains(&("BTC".into(), q("10"))),
        "spot back to its start: {snap:?}"
    );
    let mut records = Vec::new();
    gw.drain_records(|r| records.push(r));
    assert!(
        records
            .iter()
            .any(|r| matches!(r, edgeline::gateway::record::GatewayRecord::Closed(_)))
    );
    assert!(!gw.live().ready(Venue::Binance), "halted after the panic");
}
