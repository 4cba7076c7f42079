//! The API key and secret never reach a log line, an error, a status view or a row:
//! a live session against the fake exchange goes through refusals, unknown outcomes,
//! a reconciliation difference and a 418 with every log record captured, and none of
//! it contains either credential.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use edgeline::gateway::live::keys::{Credentials, Signing};
use edgeline::gateway::live::sign::HmacSigner;
use edgeline::gateway::live::{self, ClientConfig, LiveLimits, LiveSymbol};
use edgeline::gateway::order::{Order, OrderId, OrderLeg, OrderStyle};
use edgeline::gateway::paper::VenueEvent;
use edgeline::gateway::venue::LiveOrders;
use edgeline::sim::exchange::{FakeConfig, FakeExchange, Fault, NewOrder};
use edgeline::types::{InstrumentId, MarketKind, OrderSide, Price, Qty, Venue};

const KEY: &str = "LIVEKEY-7f3a9c2e5b8d";
const SECRET: &str = "LIVESECRET-1b4e7a0d3c6f";

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        LINES
            .lock()
            .unwrap()
            .push(format!("{} {}", record.target(), record.args()));
    }
    fn flush(&self) {}
}

fn p(s: &str) -> Price {
    Price::from_decimal_str(s).unwrap()
}

fn q(s: &str) -> Qty {
    Qty::from_decimal_str(s).unwrap()
}

#[test]
fn test_live_credentials_never_logged_or_shown() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let fake = FakeExchange::start(FakeConfig::btcusdt(KEY, SECRET)).unwrap();
    let stray = NewOrder {
        symbol: "BTCUSDT",
        side: OrderSide::Buy,
        order_type: "LIMIT_MAKER",
        tif: "",
        price: p("49000.00"),
        qty: q("0.01"),
        client_id: "manual",
        reduce_only: false,
    };
    fake.state().engine.place(MarketKind::Spot, &stray).unwrap();
    let base = fake.base_url();
    let mut cfg = ClientConfig::new(&base, &base, 1);
    cfg.poll_interval = Duration::from_millis(20);
    let creds = Credentials::new(KEY, Signing::Hmac(HmacSigner::new(SECRET.as_bytes())));
    let mut shown = vec![format!("{creds:?}")];
    let fees = edgeline::gateway::config::VenueFees {
        maker_centi_bps: 0,
        taker_centi_bps: 0,
    };
    let symbols = vec![LiveSymbol {
        instrument: InstrumentId(0),
        symbol: "BTCUSDT".into(),
        kind: MarketKind::Spot,
        base: "BTC".into(),
        quote: "USDT".into(),
        fees,
    }];
    let limits = LiveLimits {
        orders_max: 8,
        ring_slots: 64,
        run_notional_max_raw: i128::MAX,
    };
    let mut v = live::spawn(cfg, creds, symbols, limits).unwrap();
    let start = Instant::now();
    while !v.ready() {
        v.poll(0, 16, &mut |_| {});
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(5));
    }
    let leg = |limit: &str| OrderLeg {
        instrument: InstrumentId(0),
        venue: Venue::Binance,
        side: OrderSide::Buy,
        limit: p(limit),
    };
    let send = |v: &mut live::LiveVenue, id, limit: &str| {
        v.submit(
            &Order::new(OrderId(id), leg(limit), OrderStyle::Ioc, q("0.01"), 0),
            p("50000"),
        )
        .map_err(|e| e.to_string())
    };
    let mut results = vec![send(&mut v, 1, "50000.001")];
    fake.inject(Fault::NoReplyAfterAccept);
    results.push(send(&mut v, 2, "50000.00"));
    fake.inject(Fault::Banned { ms: 60_000 });
    results.push(send(&mut v, 3, "50000.00"));
    let mut done = 0;
    while done < 3 && start.elapsed() < Duration::from_secs(10) {
        v.poll(1, 16, &mut |e| {
            done += usize::from(matches!(e, VenueEvent::Done(_)))
        });
        std::thread::sleep(Duration::from_millis(5));
    }
    results.push(send(&mut v, 4, "50000.00"));
    shown.push(format!("{v:?}"));
    shown.push(format!("{:?}", v.account()));
    shown.push(format!("{results:?}"));
    drop(v);
    let lines = LINES.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("418")),
        "the scenario logged: {lines:?}"
    );
    for text in lines.iter().chain(&shown) {
        assert!(
            !text.contains(KEY) && !text.contains(SECRET),
            "credential in: {text}"
        );
    }
}
