//! Binance's 2026 endpoints end to end against the simulator on loopback: the default
//! configuration (BTCUSDT spot and perp) opens spot, USD-M `/public` and USD-M `/market`
//! connections, so the perp gets both its book (public: depth, book ticker) and its
//! funding (market: mark price); each market's REST snapshot comes from its own base
//! (`spot_rest_url`, `perp_rest_url`); with `connection_lifetime_ms` shortened, every
//! connection is replaced make before break again and again without a book ever going
//! invalid. The feed and book stages are polled by hand on the test thread.

use std::path::Path;
use std::time::Duration;

use edgeline::config::Config;
use edgeline::feed::health::LinkState;
use edgeline::pipeline::{FeedAndBook, build_feed_and_book, sim_config};
use edgeline::runtime::{RunReport, Stage, clock};
use edgeline::sim::{self, SimHandle};
use edgeline::types::{InstrumentId, MarketKind, Side, Venue};

/// Longest a phase may take (a liveness bound: normally well under a second).
const PHASE_LIMIT: Duration = Duration::from_secs(20);

struct Rig {
    _sim: SimHandle,
    hot: FeedAndBook,
    config: Config,
    /// Last top-of-book validity and whether a funding rate was seen, per instrument.
    tops: Vec<(Option<bool>, bool)>,
}

impl Rig {
    /// The simulator started from `config` as the main job starts it; the feed connects
    /// to it through the configured URLs or, without them, its own.
    fn new(text: &str) -> Self {
        let _ = env_logger::builder().is_test(true).try_init();
        let config = Config::from_toml(text, Path::new("binance.toml"), 2).unwrap();
        let sim = sim::start(sim_config(&config, config.simulator.as_ref().unwrap())).unwrap();
        Self::on(sim, config)
    }

    fn on(sim: SimHandle, config: Config) -> Self {
        let hot = build_feed_and_book(&config, Some(&sim)).unwrap();
        let tops = vec![(None, false); config.registry.len()];
        Self {
            _sim: sim,
            hot,
            config,
            tops,
        }
    }

    fn poll(&mut self) {
        let work = self.hot.feed.poll() + self.hot.book.poll();
        while let Ok(top) = self.hot.tops.pop() {
            let entry = &mut self.tops[top.instrument.index()];
            entry.0 = Some(top.valid);
            entry.1 |= top.perp.funding_rate.is_some();
        }
        if work == 0 {
            clock::sleep(Duration::from_micros(200));
        }
    }

    fn until(&mut self, what: &str, done: impl Fn(&Rig) -> bool) {
        let deadline = clock::monotonic_now() + PHASE_LIMIT;
        while !done(self) {
            assert!(
                clock::monotonic_now() < deadline,
                "{what}: not within {PHASE_LIMIT:?}; report: {:?}",
                self.report()
            );
            self.poll();
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = clock::monotonic_now() + d;
        while clock::monotonic_now() < end {
            self.poll();
        }
    }

    fn id(&self, kind: MarketKind) -> InstrumentId {
        self.config
            .registry
            .find(Venue::Binance, kind, "BTCUSDT")
            .unwrap()
    }

    fn report(&self) -> RunReport {
        let mut report = RunReport::default();
        self.hot.stats.fill_report(&mut report);
        report
    }

    fn finish(mut self) -> RunReport {
        let mut report = self.report();
        self.hot.feed.finish(&mut report);
        report
    }
}

/// Tests about endpoints, not staleness: an unoptimised simulator on a loaded machine
/// falls behind the wall clock, and a scheduling pause of half a second would flag its
/// streams silent (stale, tops published invalid).
const QUIET_STALENESS: &str = "[[venues]]\nname = \"binance\"\nstale_after_ms = 60000\n\
                               silence_floor_ms = 5000\nsilence_ceiling_ms = 10000\n";

#[test]
fn test_binance_default_job_gets_perp_book_from_public_and_funding_from_market() {
    let mut rig = Rig::new(QUIET_STALENESS);
    let links = rig.hot.stats.health.links();
    let markets: Vec<_> = links.iter().map(|l| (l.venue, l.kind)).collect();
    assert_eq!(
        markets,
        [
            (Venue::Binance, MarketKind::Spot),
            (Venue::Binance, MarketKind::Perp),
            (Venue::Binance, MarketKind::Perp),
            (Venue::Binance, MarketKind::Spot),
            (Venue::Binance, MarketKind::Perp),
            (Venue::Binance, MarketKind::Perp),
        ],
        "spot, then USD-M /public and /market, then their standbys"
    );
    assert!(links[3..].iter().all(|l| l.state() == LinkState::Standby));
    let (spot, perp) = (rig.id(MarketKind::Spot), rig.id(MarketKind::Perp));
    rig.until("both books valid and the perp's funding known", |r| {
        r.hot.book.engine().is_valid(spot)
            && r.hot.book.engine().is_valid(perp)
            && r.tops[perp.index()] == (Some(true), true)
    });
    rig.run_for(Duration::from_millis(300));
    let report = rig.finish();
    assert_eq!(report.counter("feed.connections_open"), 3);
    assert_eq!(
        report.counter("feed.snapshots"),
        2,
        "one REST snapshot a book"
    );
    for key in ["book.sequence_gaps", "feed.malformed", "feed.disconnects"] {
        assert_eq!(report.counter(key), 0, "{key}");
    }
}

#[test]
fn test_binance_each_market_fetches_its_snapshot_from_its_own_rest_base() {
    let probe = Rig::new(QUIET_STALENESS);
    let sim = probe._sim;
    let base = sim.rest_base();
    // The perp's base is wrong on purpose (a path the simulator does not serve): only
    // the spot book, whose base is right, may sync.
    let text = format!(
        "{QUIET_STALENESS}spot_rest_url = \"{base}\"\nperp_rest_url = \"{base}/nowhere\"\n"
    );
    let config = Config::from_toml(&text, Path::new("binance.toml"), 2).unwrap();
    drop(probe.hot);
    let mut rig = Rig::on(sim, config);
    let (spot, perp) = (rig.id(MarketKind::Spot), rig.id(MarketKind::Perp));
    rig.until("the spot book valid", |r| {
        r.hot.book.engine().is_valid(spot)
    });
    rig.run_for(Duration::from_millis(500));
    assert!(
        !rig.hot.book.engine().is_valid(perp),
        "perp synced off a wrong base"
    );
    let text = format!(
        "{QUIET_STALENESS}spot_rest_url = \"{base}/nowhere\"\nperp_rest_url = \"{base}\"\n"
    );
    let config = Config::from_toml(&text, Path::new("binance.toml"), 2).unwrap();
    let sim = rig._sim;
    drop(rig.hot);
    let mut rig = Rig::on(sim, config);
    rig.until("the perp book valid", |r| {
        r.hot.book.engine().is_valid(perp)
    });
    rig.run_for(Duration::from_millis(500));
    assert!(
        !rig.hot.book.engine().is_valid(spot),
        "spot synced off a wrong base"
    );
}

#[test]
fn test_binance_rotation_replaces_every_connection_without_an_invalid_book() {
    let mut rig = Rig::new(&format!("{QUIET_STALENESS}connection_lifetime_ms = 1500\n"));
    let links = rig.hot.stats.health.links();
    assert_eq!(links.len(), 6, "three connections and their standbys");
    assert!(links[3..].iter().all(|l| l.state() == LinkState::Standby));
    let (spot, perp) = (rig.id(MarketKind::Spot), rig.id(MarketKind::Perp));
    let both_valid =
        |r: &Rig| r.hot.book.engine().is_valid(spot) && r.hot.book.engine().is_valid(perp);
    rig.until("both books valid", both_valid);
    // From here on, through every replacement, neither book is ever invalid and no top
    // of book goes out invalid.
    let end = clock::monotonic_now() + Duration::from_secs(7);
    let mut polls = 0u64;
    while clock::monotonic_now() < end {
        rig.poll();
        polls += 1;
        assert!(
            both_valid(&rig),
            "a book went invalid; report: {:?}",
            rig.report()
        );
        for id in [spot, perp] {
            assert_ne!(rig.tops[id.index()].0, Some(false), "an invalid top");
        }
    }
    assert!(polls > 1_000);
    assert!(rig._sim.pause(), "the simulator did not pause");
    rig.run_for(Duration::from_millis(500));
    for (id, kind) in [(spot, MarketKind::Spot), (perp, MarketKind::Perp)] {
        let expected = rig._sim.book(Venue::Binance, kind, "BTCUSDT").unwrap();
        let l2 = rig.hot.book.engine().l2(id);
        let side = |s| -> Vec<_> { l2.side(s).iter().map(|l| (l.price, l.qty)).collect() };
        assert_eq!(side(Side::Bid), expected.bids, "{kind:?} bids");
        assert_eq!(side(Side::Ask), expected.asks, "{kind:?} asks");
    }
    let report = rig.finish();
    assert!(
        report.counter("feed.rotations") >= 6,
        "every connection replaced at least twice: {}",
        report.counter("feed.rotations")
    );
    for key in [
        "book.sequence_gaps",
        "book.resets",
        "feed.disconnects",
        "feed.reconnects",
        "feed.malformed",
    ] {
        assert_eq!(report.counter(key), 0, "{key}");
    }
    assert_eq!(
        report.counter("feed.snapshots"),
        2,
        "no snapshot after the first"
    );
}
