//! The transport against the simulator's fault plan, on loopback: for each fault the
//! client notices it (within the small timeouts configured here), counts it, reconnects
//! or resyncs by the venue's own procedure, and afterwards every book it holds equals
//! the simulator's, level for level. The same over TLS (the simulator's TLS mode, its
//! certificate trusted through `[transport] extra_root_cert`), with many instruments per
//! venue (`examples/four-venues-50.toml`), and a certificate the client does not trust is
//! counted and retried. The feed and book stages are polled by
//! hand on the test thread, so the books can be read directly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use edgeline::config::Config;
use edgeline::feed::health::LinkState;
use edgeline::feed::transport::{Endpoint, Transport, TransportConfig};
use edgeline::pipeline::{FeedAndBook, build_feed_and_book, sim_config};
use edgeline::runtime::{Clock, RunReport, Stage, clock};
use edgeline::sim::{self, FaultAction, RestFaults, SimConfig, SimFault, SimHandle, SimVenue};
use edgeline::types::{InstrumentId, MarketKind, Side, Venue};

/// Timeouts small enough for a short test, large enough for a loaded CI machine.
const TRANSPORT: &str = r#"
[transport]
connect_timeout_ms = 3000
silence_timeout_ms = 1500
pong_timeout_ms = 700
ping_interval_ms = 300
backoff_base_ms = 20
backoff_max_ms = 300
message_bytes_max = 65536
"#;
/// Longest any phase of a test may take before it fails (a liveness bound, not a speed
/// assertion: every phase normally takes well under a second).
const PHASE_LIMIT: Duration = Duration::from_secs(20);
/// Quiet time after which the paused simulator's frames have all been read.
const QUIET: Duration = Duration::from_millis(400);

struct Rig {
    sim: SimHandle,
    hot: FeedAndBook,
    config: Config,
    /// Validity of the last top-of-book update per instrument.
    top_valid: Vec<Option<bool>>,
    /// Holds the simulator's certificate file in TLS mode.
    _cert_dir: Option<tempfile::TempDir>,
}

/// The instruments of `venues` from the all-venues example.
fn instruments(venues: &[Venue]) -> String {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/all-venues.toml");
    let text = std::fs::read_to_string(example).unwrap();
    text.split("[[instruments]]")
        .skip(1)
        .filter(|block| {
            venues
                .iter()
                .any(|v| block.contains(&format!("venue = \"{}\"", v.name())))
        })
        .map(|block| format!("[[instruments]]{block}"))
        .collect()
}

fn rig(venues: &[Venue], faults: Vec<SimFault>, extra: &str) -> Rig {
    rig_with(venues, faults, extra, false)
}

/// A rig whose simulator runs in TLS mode (`tls`); the client trusts its certificate
/// only through the `extra_root_cert` file (the simulator handle is not passed on).
fn rig_with(venues: &[Venue], faults: Vec<SimFault>, extra: &str, tls: bool) -> Rig {
    let sim = SimConfig {
        faults,
        tls,
        ..sim_of(venues)
    };
    rig_on(sim, venues, extra)
}

/// The simulator of `venues`' BTC markets the rigs start from.
fn sim_of(venues: &[Venue]) -> SimConfig {
    SimConfig {
        seed: 3,
        venues: venues.iter().map(|&v| SimVenue::btc(v)).collect(),
        ..SimConfig::default()
    }
}

/// A rig for `venues` on a simulator started from `sim`.
fn rig_on(sim: SimConfig, venues: &[Venue], extra: &str) -> Rig {
    let _ = env_logger::builder().is_test(true).try_init();
    let sim = sim::start(sim).unwrap();
    // Tests about books, not staleness: an unoptimised simulator on a loaded machine falls
    // behind the wall clock, which the default `stale_after` rightly flags.
    let extra = if extra.is_empty() {
        "stale_after_ms = 60000"
    } else {
        extra
    };
    let mut text = format!("duration_secs = 5\n[simulator]\nenabled = false\n{TRANSPORT}");
    let cert_dir = sim.certificate_pem().map(|pem| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.pem");
        std::fs::write(&path, pem).unwrap();
        text.push_str(&format!("extra_root_cert = \"{}\"\n", path.display()));
        dir
    });
    for v in venues {
        text.push_str(&format!(
            "[[venues]]\nname = \"{}\"\nspot_url = \"{}\"\nperp_url = \"{}\"\nrest_url = \"{}\"\n{extra}\n",
            v.name(),
            sim.url(*v, MarketKind::Spot),
            sim.url(*v, MarketKind::Perp),
            sim.rest_base()
        ));
    }
    text.push_str(&instruments(venues));
    let config = Config::from_toml(&text, Path::new("faults.toml"), 2).unwrap();
    let hot = build_feed_and_book(&config, None).unwrap();
    let top_valid = vec![None; config.registry.len()];
    Rig {
        sim,
        hot,
        config,
        top_valid,
        _cert_dir: cert_dir,
    }
}

/// A rig for the instruments of the first `bases` bases of the 4 x 50 example, on a
/// simulator started from the configuration as the main job starts it.
fn rig_many(bases: usize) -> Rig {
    let _ = env_logger::builder().is_test(true).try_init();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/four-venues-50.toml");
    let text = std::fs::read_to_string(example).unwrap();
    let mut blocks = text.split("[[instruments]]");
    let head = blocks.next().unwrap();
    let wanted: Vec<String> = head
        .lines()
        .skip_while(|l| !l.starts_with("[simulator.start_prices]"))
        .skip(1)
        .take(bases)
        .map(|l| format!("base = \"{}\"", l.split(' ').next().unwrap()))
        .collect();
    // Tests about books, not staleness (see `rig_with`).
    let mut text = head
        .replacen("[[venues]]", &format!("{TRANSPORT}\n[[venues]]"), 1)
        .replace("name = \"", "stale_after_ms = 60000\nname = \"");
    for block in blocks.filter(|b| wanted.iter().any(|w| b.contains(&format!("{w}\n")))) {
        text.push_str("[[instruments]]");
        text.push_str(block);
    }
    let config = Config::from_toml(&text, Path::new("many.toml"), 2).unwrap();
    let sim = sim::start(sim_config(&config, config.simulator.as_ref().unwrap())).unwrap();
    let hot = build_feed_and_book(&config, Some(&sim)).unwrap();
    Rig {
        top_valid: vec![None; config.registry.len()],
        sim,
        hot,
        config,
        _cert_dir: None,
    }
}

impl Rig {
    /// One round of the hot path; returns the work done.
    fn poll(&mut self) -> usize {
        let work = self.hot.feed.poll() + self.hot.book.poll();
        while let Ok(top) = self.hot.tops.pop() {
            self.top_valid[top.instrument.index()] = Some(top.valid);
        }
        if work == 0 {
            clock::sleep(Duration::from_micros(200));
        }
        work
    }

    /// Polls until `done` holds; panics after [`PHASE_LIMIT`] naming `what`.
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

    /// Polls for `d`.
    fn run_for(&mut self, d: Duration) {
        let end = clock::monotonic_now() + d;
        while clock::monotonic_now() < end {
            self.poll();
        }
    }

    fn counter(&self, name: &str) -> u64 {
        self.report().counter(name)
    }

    fn report(&self) -> RunReport {
        let mut report = RunReport::default();
        self.hot.stats.fill_report(&mut report);
        report
    }

    fn all_valid(&self) -> bool {
        self.ids().all(|id| self.hot.book.engine().is_valid(id))
    }

    fn ids(&self) -> impl Iterator<Item = InstrumentId> + use<> {
        let ids: Vec<_> = self.config.registry.iter().map(|i| i.id).collect();
        ids.into_iter()
    }

    /// Waits for every book to be valid, pauses the simulator at a point where it sent
    /// every book change, reads until quiet, and compares every book.
    fn assert_books_equal_sim(&mut self) {
        self.until("every book valid", Rig::all_valid);
        self.run_for(Duration::from_millis(300));
        assert!(self.sim.pause(), "the simulator did not pause");
        self.until_quiet();
        for id in self.ids() {
            let inst = self.config.registry.get(id);
            let name = format!("{} {} {}", inst.venue, inst.kind.name(), inst.symbol);
            let valid = self.hot.book.engine().is_valid(id);
            assert!(valid, "{name}: book invalid; report: {:?}", self.report());
            let expected = self.sim.book(inst.venue, inst.kind, &inst.symbol).unwrap();
            let l2 = self.hot.book.engine().l2(id);
            let side = |s| -> Vec<_> { l2.side(s).iter().map(|l| (l.price, l.qty)).collect() };
            assert_eq!(side(Side::Bid), expected.bids, "{name}: bids");
            assert_eq!(side(Side::Ask), expected.asks, "{name}: asks");
            assert_eq!(self.top_valid[id.index()], Some(true), "{name}: last top");
        }
        self.sim.resume();
    }

    /// Polls until no market event arrived for [`QUIET`] (pongs do not count).
    fn until_quiet(&mut self) {
        let deadline = clock::monotonic_now() + PHASE_LIMIT;
        let mut quiet_since = clock::monotonic_now();
        let mut events = self.counter("feed.events");
        while clock::monotonic_now() - quiet_since < QUIET {
            assert!(clock::monotonic_now() < deadline, "never quiet");
            self.poll();
            let now = self.counter("feed.events");
            if now != events {
                events = now;
                quiet_since = clock::monotonic_now();
            }
        }
    }

    fn finish(mut self) -> RunReport {
        let mut report = self.report();
        self.hot.feed.finish(&mut report);
        report
    }
}

fn fault(venue: Venue, kind: MarketKind, action: FaultAction, after: u64) -> SimFault {
    SimFault::new(venue, kind, action, after)
}

#[test]
fn test_fault_close_reconnects_and_binance_resyncs_from_rest() {
    let f = fault(Venue::Binance, MarketKind::Spot, FaultAction::Close, 300);
    let mut rig = rig(&[Venue::Binance], vec![f], "");
    rig.until("reconnect", |r| r.counter("feed.reconnects") >= 1);
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("feed.disconnects"), 1);
    assert_eq!(report.counter("book.resets"), 1, "one spot book reset");
    assert!(
        report.counter("feed.snapshots") >= 3,
        "a third REST snapshot"
    );
    assert_eq!(
        report.counter("feed.connections_open"),
        3,
        "spot, USD-M /public and /market"
    );
}

/// The REST side fights back: the first snapshot answer is a `429` (the whole host waits
/// out its `Retry-After`), the next two are cut in half. Before 2026-12-08 a cut body left
/// its book waiting for a snapshot for good; now each is counted malformed and fetched
/// again, and every book (Binance spot and USD-M, OKX spot and swap) ends equal to the
/// simulator's.
#[test]
fn test_rest_throttle_and_cut_bodies_are_waited_out_and_fetched_again() {
    let venues = [Venue::Binance, Venue::Okx];
    let sim = SimConfig {
        rest_faults: RestFaults {
            throttled: 1,
            cut: 2,
        },
        ..sim_of(&venues)
    };
    let mut rig = rig_on(sim, &venues, "");
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("feed.snapshot_throttled"), 1);
    assert_eq!(report.counter("feed.snapshot_bad_body_retries"), 2);
    assert!(report.counter("feed.malformed") >= 2, "{report:?}");
    assert!(
        report.counter("feed.snapshot_requests") >= 7,
        "4 books, 3 spoilt answers"
    );
}

#[test]
fn test_fault_stall_is_noticed_by_the_missing_pong() {
    let f = fault(Venue::Okx, MarketKind::Spot, FaultAction::Stall, 300);
    let mut rig = rig(&[Venue::Okx], vec![f], "");
    rig.until("reconnect", |r| r.counter("feed.reconnects") >= 1);
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(
        report.counter("feed.dead_missed_pong") + report.counter("feed.dead_silent"),
        1
    );
    assert!(report.counter("feed.pings") >= 2);
    assert_eq!(report.counter("book.resets"), 1);
}

#[test]
fn test_fault_garbage_frame_is_counted_and_nothing_is_lost() {
    let f = fault(Venue::Bybit, MarketKind::Perp, FaultAction::Garbage, 200);
    let mut rig = rig(&[Venue::Bybit], vec![f], "");
    rig.until("malformed frame", |r| r.counter("feed.malformed") >= 1);
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("feed.malformed"), 1);
    assert_eq!(report.counter("feed.disconnects"), 0);
    assert_eq!(report.counter("book.sequence_gaps"), 0);
}

/// Frames after which an OKX fault hits a synced book: at most about 1,000 frames a
/// second reach an OKX connection, and its books sync from the REST book after
/// `book.stream_snapshot_wait_ms` (1 s); a hole made while they wait is bridged over.
const OKX_SYNCED_AFTER_FRAMES: u64 = 3_000;

#[test]
fn test_fault_truncated_depth_update_resyncs_okx() {
    let f = fault(
        Venue::Okx,
        MarketKind::Perp,
        FaultAction::Truncate,
        OKX_SYNCED_AFTER_FRAMES,
    );
    let mut rig = rig(&[Venue::Okx], vec![f], "");
    rig.until("gap after the truncated update", |r| {
        r.counter("book.sequence_gaps") >= 1
    });
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("feed.malformed"), 1);
    assert!(report.counter("feed.resyncs") >= 1);
    assert_eq!(report.counter("feed.disconnects"), 0);
}

/// The book counters of every instrument of the rig, summed.
fn book_totals(rig: &Rig) -> edgeline::book::engine::BookCounters {
    let mut t = edgeline::book::engine::BookCounters::default();
    for id in rig.ids() {
        let c = rig.hot.book.engine().counters(id);
        t.snapshots += c.snapshots;
        t.buffered += c.buffered;
        t.stale += c.stale;
        t.gaps += c.gaps;
        t.checksums_matched += c.checksums_matched;
        t.checksums_mismatched += c.checksums_mismatched;
        t.checksums_skipped += c.checksums_skipped;
    }
    t
}

#[test]
fn test_okx_2026_books_start_from_the_rest_book_and_zero_checksums_keep_them_valid() {
    let mut rig = rig(&[Venue::Okx], Vec::new(), "");
    rig.assert_books_equal_sim();
    rig.run_for(Duration::from_millis(500));
    assert!(rig.all_valid(), "checksum 0 never invalidates");
    let books = book_totals(&rig);
    assert_eq!(
        (books.snapshots, books.gaps, books.checksums_matched),
        (2, 0, 0),
        "{books:?}"
    );
    assert!(
        books.buffered > 0,
        "updates buffered during the wait: {books:?}"
    );
    assert!(books.checksums_skipped > 5, "{books:?}");
    let report = rig.finish();
    assert_eq!(report.counter("feed.snapshots"), 2, "one REST book each");
    assert_eq!(report.counter("feed.resyncs"), 2);
    assert_eq!(report.counter("book.checksum_mismatches"), 0);
}

#[test]
fn test_okx_snapshot_push_and_real_checksums_still_sync_without_rest() {
    let sim = SimConfig {
        okx_snapshot_push: true,
        okx_checksums: true,
        ..sim_of(&[Venue::Okx])
    };
    let mut rig = rig_on(sim, &[Venue::Okx], "stale_after_ms = 60000");
    rig.assert_books_equal_sim();
    let books = book_totals(&rig);
    assert_eq!(
        (books.snapshots, books.gaps, books.checksums_skipped),
        (2, 0, 0)
    );
    assert!(books.checksums_matched > 5, "{books:?}");
    let report = rig.finish();
    assert_eq!(
        report.counter("feed.snapshots"),
        0,
        "the pushed snapshots suffice"
    );
}

#[test]
fn test_fault_skipped_sequence_invalidates_okx_and_resyncs_from_rest() {
    let f = fault(
        Venue::Okx,
        MarketKind::Spot,
        FaultAction::SkipSequence,
        OKX_SYNCED_AFTER_FRAMES,
    );
    let mut rig = rig(&[Venue::Okx], vec![f], "");
    rig.until("prevSeqId gap", |r| r.counter("book.sequence_gaps") >= 1);
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("book.sequence_gaps"), 1);
    assert_eq!(report.counter("feed.snapshots"), 3, "a third REST book");
    assert_eq!(report.counter("feed.disconnects"), 0);
}

#[test]
fn test_fault_bad_nonzero_checksum_invalidates_okx_and_resyncs_from_rest() {
    let f = fault(
        Venue::Okx,
        MarketKind::Perp,
        FaultAction::BadChecksum,
        OKX_SYNCED_AFTER_FRAMES,
    );
    let mut rig = rig(&[Venue::Okx], vec![f], "");
    rig.until("checksum mismatch", |r| {
        r.counter("book.checksum_mismatches") >= 1
    });
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("book.checksum_mismatches"), 1);
    assert_eq!(report.counter("book.sequence_gaps"), 0);
    assert_eq!(report.counter("feed.snapshots"), 3, "a third REST book");
}

#[test]
fn test_fault_oversized_frame_ends_the_connection() {
    let big = FaultAction::Oversize { bytes: 200_000 };
    let f = fault(Venue::Hyperliquid, MarketKind::Perp, big, 200);
    let mut rig = rig(&[Venue::Hyperliquid], vec![f], "");
    rig.until("reconnect", |r| r.counter("feed.reconnects") >= 1);
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("feed.dead_too_large"), 1);
    assert_eq!(report.counter("feed.malformed"), 0);
}

#[test]
fn test_fault_skipped_sequence_resyncs_binance_futures_from_rest() {
    let f = fault(
        Venue::Binance,
        MarketKind::Perp,
        FaultAction::SkipSequence,
        300,
    );
    let mut rig = rig(&[Venue::Binance], vec![f], "");
    rig.until("gap", |r| r.counter("book.sequence_gaps") >= 1);
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("book.sequence_gaps"), 1);
    assert!(report.counter("feed.snapshots") >= 3);
    assert_eq!(report.counter("feed.disconnects"), 0);
}

#[test]
fn test_fault_delay_marks_the_feed_stale_and_suppresses_its_tops() {
    let delay = FaultAction::Delay(Duration::from_millis(150));
    let f = fault(Venue::Bybit, MarketKind::Spot, delay, 0);
    let mut rig = rig(&[Venue::Bybit], vec![f], "stale_after_ms = 60");
    rig.until("stale", |r| r.counter("feed.stale") >= 1);
    let spot = rig.hot.stats.health.link(0).unwrap();
    assert_eq!((spot.venue, spot.kind), (Venue::Bybit, MarketKind::Spot));
    assert_eq!(spot.state(), LinkState::Stale);
    assert!(spot.delay_avg_ms().unwrap() > 60);
    rig.until("the stale spot top published invalid", |r| {
        r.top_valid[0] == Some(false) && r.all_valid()
    });
    let perp = rig.hot.stats.health.link(1).unwrap();
    assert_eq!(perp.state(), LinkState::Up);
    // The books stay correct while stale; only the spot top is suppressed.
    rig.until("every book valid", Rig::all_valid);
    assert!(rig.sim.pause());
    rig.until_quiet();
    for id in rig.ids() {
        let inst = rig.config.registry.get(id);
        let expected = rig.sim.book(inst.venue, inst.kind, &inst.symbol).unwrap();
        let l2 = rig.hot.book.engine().l2(id);
        let bids: Vec<_> = l2
            .side(Side::Bid)
            .iter()
            .map(|l| (l.price, l.qty))
            .collect();
        assert_eq!(bids, expected.bids, "{}", inst.symbol);
    }
    assert_eq!(rig.top_valid[0], Some(false), "spot suppressed");
    assert_eq!(rig.top_valid[1], Some(true), "perp untouched");
    let report = rig.finish();
    assert_eq!(report.counter("feed.disconnects"), 0);
}

#[test]
fn test_fault_refused_handshakes_are_retried_with_backoff() {
    let f = SimFault {
        connections: 2,
        ..fault(
            Venue::Hyperliquid,
            MarketKind::Spot,
            FaultAction::RefuseHandshake,
            0,
        )
    };
    let mut rig = rig(&[Venue::Hyperliquid], vec![f], "");
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("feed.connect_failures"), 2);
    assert_eq!(report.counter("feed.connections_open"), 2);
}

#[test]
fn test_tls_books_equal_the_simulators_over_wss_and_https() {
    let mut rig = rig_with(&[Venue::Binance, Venue::Okx], Vec::new(), "", true);
    assert!(
        rig.sim
            .url(Venue::Okx, MarketKind::Spot)
            .starts_with("wss://")
    );
    assert!(rig.sim.rest_base().starts_with("https://"));
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(
        report.counter("feed.snapshots"),
        4,
        "both Binance and both OKX snapshots over https"
    );
    assert_eq!(
        report.counter("feed.connections_open"),
        5,
        "OKX spot and swap, Binance spot, USD-M /public and /market"
    );
    assert_eq!(report.counter("feed.connect_failures"), 0);
}

#[test]
fn test_the_four_venues_50_example_resolves_and_its_simulator_starts() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/four-venues-50.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    let config = Config::from_toml(&text, &example, 2).unwrap();
    assert_eq!(config.registry.len(), 200);
    for venue in Venue::ALL {
        let count = config.registry.iter().filter(|i| i.venue == venue).count();
        assert_eq!(count, 50, "{venue}");
    }
    let sim = sim::start(sim_config(&config, config.simulator.as_ref().unwrap())).unwrap();
    sim.stop();
}

#[test]
fn test_many_instruments_per_venue_books_equal_the_simulators() {
    let mut rig = rig_many(3);
    assert_eq!(
        rig.config.registry.len(),
        24,
        "3 bases x spot, perp x 4 venues"
    );
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(
        report.counter("feed.snapshots"),
        12,
        "one per Binance and OKX book"
    );
    for key in [
        "feed.malformed",
        "book.sequence_gaps",
        "book.checksum_mismatches",
    ] {
        assert_eq!(report.counter(key), 0, "{key}");
    }
    assert_eq!(
        report.counter("feed.connections_open"),
        9,
        "one per market, Binance USD-M two (/public, /market)"
    );
}

#[test]
fn test_tls_untrusted_certificate_is_counted_and_retried_until_trusted() {
    let _ = env_logger::builder().is_test(true).try_init();
    let sim = sim::start(SimConfig {
        venues: vec![SimVenue::btc(Venue::Okx)],
        tls: true,
        ..SimConfig::default()
    })
    .unwrap();
    let config = TransportConfig {
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..TransportConfig::default()
    };
    let clock = Clock::new();
    let mut transport = Transport::new(16, config, clock.clone()).unwrap();
    transport
        .add(Endpoint {
            url: sim.url(Venue::Okx, MarketKind::Spot),
            subscribe: Vec::new(),
            heartbeat: None,
        })
        .unwrap();
    let deadline = clock::monotonic_now() + PHASE_LIMIT;
    while transport.counts(0).failed_attempts < 3 {
        assert!(clock::monotonic_now() < deadline, "no retries");
        transport.tick(clock.raw());
        transport.poll_readiness().unwrap();
        clock::sleep(Duration::from_millis(1));
    }
    assert!(!transport.is_open(0));
    assert_eq!(transport.counts(0).opened, 0);
    transport.trust_root(sim.certificate_der().unwrap().to_vec());
    while !transport.is_open(0) {
        assert!(clock::monotonic_now() < deadline, "not open once trusted");
        transport.tick(clock.raw());
        transport.poll_readiness().unwrap();
        clock::sleep(Duration::from_millis(1));
    }
    assert_eq!(transport.counts(0).opened, 1);
}

/// One SplitMix64 step: the soak plan's deterministic randomness.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn test_soak_random_faults_on_every_venue_end_with_books_equal() {
    let mut state = 0x50a4;
    let mut faults = Vec::new();
    for venue in Venue::ALL {
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            // Two connections end by a random fault, the third gets a random damaged
            // stream, the fourth is healthy; the second handshake attempt is refused.
            for connection in 0..3u32 {
                let r = next_random(&mut state);
                let action = match (connection, r % 3) {
                    (0 | 1, 0) => FaultAction::Close,
                    (0 | 1, 1) => FaultAction::Stall,
                    (0 | 1, _) => FaultAction::Oversize { bytes: 100_000 },
                    (_, 0) => FaultAction::Garbage,
                    (_, 1) => FaultAction::Truncate,
                    _ => FaultAction::SkipSequence,
                };
                faults.push(SimFault {
                    first_connection: connection,
                    ..fault(venue, kind, action, 50 + (r >> 8) % 300)
                });
            }
            faults.push(SimFault {
                first_connection: 1,
                ..fault(venue, kind, FaultAction::RefuseHandshake, 0)
            });
        }
    }
    let mut rig = rig(&Venue::ALL, faults, "stale_after_ms = 60000");
    let markets = rig.config.registry.len() as u64;
    rig.until("two reconnects per market", |r| {
        r.counter("feed.reconnects") >= 2 * markets
    });
    rig.run_for(Duration::from_millis(1_500));
    rig.assert_books_equal_sim();
    let report = rig.finish();
    assert_eq!(report.counter("feed.disconnects"), 2 * markets);
    assert_eq!(report.counter("feed.connect_failures"), markets);
    // One per market, Binance USD-M two: the faults hit its /public connections (the
    // book's), the /market one stays up.
    assert_eq!(report.counter("feed.connections_open"), markets + 1);
}
