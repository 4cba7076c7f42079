//! The PostgreSQL backend against the real server (see `common/pg.rs`): migrations,
//! batch writes, idempotent replays, and outages (connections killed mid-run, the
//! server's port closed and reopened, edgeline restarted in between) that lose no row,
//! reorder none and duplicate none.

#[path = "common/pg.rs"]
mod pg;
#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/rows.rs"]
mod rows;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edgeline::runtime::clock::monotonic_now;
use edgeline::telemetry::db::migrations::SCHEMA_VERSION;
use edgeline::telemetry::db::postgres::{PgDb, PgTarget};
use edgeline::telemetry::db::spool::Spool;
use edgeline::telemetry::db::writer::DbWriter;
use edgeline::telemetry::db::{Backend, DatabaseSettings, DbTarget, Row};
use pg::Schema;
use proxy::Proxy;
use rows::opportunity_rows;

fn open(url: &str) -> PgDb {
    PgDb::open(PgTarget::from_url(url, None).unwrap()).unwrap()
}

/// A writer that retries at once (no sleeping in tests), 100 rows per replayed batch.
fn writer(url: &str, spool_dir: &Path) -> DbWriter {
    let (spool, _) = Spool::open(spool_dir, 64 << 20).unwrap();
    DbWriter::new(Box::new(open(url)), spool, 100, Duration::ZERO)
}

/// Writes rows `from..to` of run `run` in batches of 50.
fn write_batches(writer: &mut DbWriter, run: &str, from: i64, to: i64) {
    for start in (from..to).step_by(50) {
        let batch = opportunity_rows(run, start..(start + 50).min(to));
        writer.write(&batch, monotonic_now());
        writer.replay_if_due(monotonic_now());
    }
}

/// Replays the spool until no row waits, failing with `never` after about a minute.
fn drain_spool(writer: &mut DbWriter, never: &str) {
    let mut rounds = 0;
    while writer.stats().rows_waiting > 0 {
        writer.replay_if_due(monotonic_now());
        rounds += 1;
        assert!(rounds < 60_000, "{never}: {:?}", writer.stats());
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn test_pg_migrations_apply_once_and_create_every_table() {
    let Some(mut schema) = Schema::create("migrations") else {
        return;
    };
    drop(open(&schema.url()));
    drop(open(&schema.url()));
    let applied: Vec<(i64, String)> =
        schema.pairs("SELECT version, name FROM {s}.schema_migrations ORDER BY version");
    assert_eq!(applied.len() as i64, SCHEMA_VERSION, "{applied:?}");
    assert_eq!(applied[0], (1, "opportunities".to_owned()));
    for table in [
        "opportunities",
        "opportunity_summary_by_source",
        "spread_opportunities",
        "orders",
        "fills",
        "leg_out_events",
        "trades",
        "portfolio_snapshots",
        "latency_snapshots",
    ] {
        assert_eq!(schema.count(table), 0, "{table}");
    }
}

#[test]
fn test_pg_batch_write_stores_typed_rows_in_order() {
    let Some(mut schema) = Schema::create("batch") else {
        return;
    };
    let mut db = open(&schema.url());
    // More rows than one statement's parameter limit allows: the batch is chunked.
    let rows = opportunity_rows("run-a", 0..2500);
    assert_eq!(db.write(&rows).unwrap(), 2500);
    assert_eq!(schema.count("opportunities"), 2500);
    assert_eq!(schema.seqs("opportunities"), (0..2500).collect::<Vec<_>>());
    let sql = format!(
        "SELECT detected_at, would_trade_current, edge_bps, run_id, venue_ts_ms
         FROM {}.opportunities WHERE seq = 3",
        schema.name
    );
    let row = schema.admin.query_one(&sql, &[]).unwrap();
    let at: SystemTime = row.get(0);
    let at_ns = at.duration_since(UNIX_EPOCH).unwrap().as_nanos();
    assert_eq!(at_ns, 1_763_726_400_003_000_000);
    assert!(!row.get::<_, bool>(1));
    assert_eq!(row.get::<_, f64>(2), 3.0);
    assert_eq!(row.get::<_, String>(3), "run-a");
    assert_eq!(row.get::<_, i64>(4), 1_763_726_400_003);
    let summary: Vec<(String, i64)> = schema
        .pairs("SELECT volatility_source, count FROM {s}.opportunity_summary_by_source ORDER BY 1");
    assert_eq!(
        summary,
        [
            ("BOTH".into(), 833),
            ("PERP".into(), 834),
            ("SPOT".into(), 833)
        ]
    );
}

#[test]
fn test_pg_replayed_rows_do_not_duplicate() {
    let Some(mut schema) = Schema::create("idempotent") else {
        return;
    };
    let mut db = open(&schema.url());
    assert_eq!(db.write(&opportunity_rows("r", 0..100)).unwrap(), 100);
    assert_eq!(db.write(&opportunity_rows("r", 50..150)).unwrap(), 50);
    assert_eq!(db.write(&opportunity_rows("r", 0..150)).unwrap(), 0);
    assert_eq!(schema.count("opportunities"), 150);
    assert_eq!(db.write(&opportunity_rows("other", 0..10)).unwrap(), 10);
    assert_eq!(schema.count("opportunities"), 160);
}

#[test]
fn test_pg_killed_connections_lose_nothing() {
    let Some(mut schema) = Schema::create("killed") else {
        return;
    };
    let spool = tempfile::tempdir().unwrap();
    let mut writer = writer(&schema.url(), spool.path());
    write_batches(&mut writer, "run", 0, 400);
    assert!(schema.kill_writer_connections() >= 1);
    write_batches(&mut writer, "run", 400, 950);
    assert!(schema.kill_writer_connections() >= 1);
    write_batches(&mut writer, "run", 950, 1500);
    let stats = writer.finish();
    assert!(stats.db_errors >= 2, "{stats:?}");
    assert!(stats.rows_spooled >= 100, "{stats:?}");
    assert_eq!(
        (stats.rows_waiting, stats.rows_dropped),
        (0, 0),
        "{stats:?}"
    );
    assert_eq!(schema.count("opportunities"), 1500);
    assert_eq!(schema.seqs("opportunities"), (0..1500).collect::<Vec<_>>());
}

#[test]
fn test_pg_outage_across_restart_loses_nothing() {
    let Some(mut schema) = Schema::create("outage") else {
        return;
    };
    let mut proxy = Proxy::start("127.0.0.1:5432");
    let url = schema.url_at(&proxy.addr());
    let spool = tempfile::tempdir().unwrap();

    let mut first = writer(&url, spool.path());
    write_batches(&mut first, "run1", 0, 500);
    proxy.stop();
    write_batches(&mut first, "run1", 500, 1000);
    let stats = first.finish();
    drop(first); // the first process exits: its spool lock goes with it
    assert_eq!(stats.rows_written, 500, "{stats:?}");
    assert_eq!(stats.rows_waiting, 500, "{stats:?}");
    assert_eq!(schema.count("opportunities"), 500);

    // edgeline restarts while the server is still away, then it returns.
    let (spool_again, recovered) = Spool::open(spool.path(), 64 << 20).unwrap();
    assert_eq!(recovered.rows, 500);
    drop(spool_again);
    proxy.resume();
    let mut second = writer(&url, spool.path());
    write_batches(&mut second, "run2", 0, 300);
    let stats = second.finish();
    assert_eq!(
        (stats.rows_waiting, stats.rows_dropped),
        (0, 0),
        "{stats:?}"
    );
    assert_eq!(stats.rows_written, 800, "{stats:?}");
    assert_eq!(schema.count("opportunities"), 1300);
    let order: Vec<(String, i64)> =
        schema.pairs("SELECT run_id, seq FROM {s}.opportunities ORDER BY id");
    let expected: Vec<(String, i64)> = (0..1000)
        .map(|s| ("run1".to_owned(), s))
        .chain((0..300).map(|s| ("run2".to_owned(), s)))
        .collect();
    assert_eq!(
        order, expected,
        "spooled rows first, in order, then the new run"
    );
}

/// The server accepts the writer's connection but stops answering it: another session
/// holds an exclusive lock on the table (a stuck migration, a `VACUUM FULL`), so every
/// insert waits. Each call gets `write_timeout`, later ones fail at once while it is
/// unanswered, rows go to the spool (none dropped) and all arrive, in order, once the
/// lock goes; "rows written" counts what the database holds, the batch that timed out
/// and committed later included.
#[test]
fn test_pg_unanswering_server_spools_then_delivers_everything() {
    let Some(mut schema) = Schema::create("unanswering") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = DatabaseSettings {
        target: DbTarget::Postgres(Box::new(PgTarget::from_url(&schema.url(), None).unwrap())),
        write_timeout: Duration::from_millis(200),
        ..DatabaseSettings::default()
    };
    let backend = settings.open_backend(dir.path()).unwrap();
    let (spool, _) = Spool::open(&dir.path().join("spool"), 64 << 20).unwrap();
    let mut writer = DbWriter::new(backend, spool, 100, Duration::ZERO);
    write_batches(&mut writer, "run", 0, 200);
    // The backend connects and creates the tables on its own thread: on a busy server
    // that can take longer than the write timeout, and the first rows wait in the spool
    // meanwhile. Lock the table only once they are in (it exists then).
    drain_spool(&mut writer, "the first rows never arrived");
    let mut locker = pg::connect().unwrap();
    let lock = format!(
        "BEGIN; LOCK TABLE {}.opportunities IN ACCESS EXCLUSIVE MODE",
        schema.name
    );
    locker.batch_execute(&lock).unwrap();
    write_batches(&mut writer, "run", 200, 1200);
    let during = writer.stats();
    assert!(during.rows_spooled >= 1000, "{during:?}");
    assert_eq!(during.rows_dropped, 0, "{during:?}");
    locker.batch_execute("ROLLBACK").unwrap();
    // The call that waited returns once the lock goes; then the spool drains.
    drain_spool(&mut writer, "the spool never drained");
    write_batches(&mut writer, "run", 1200, 1300);
    let stats = writer.finish();
    assert_eq!(
        (stats.rows_waiting, stats.rows_dropped),
        (0, 0),
        "{stats:?}"
    );
    assert_eq!(schema.seqs("opportunities"), (0..1300).collect::<Vec<_>>());
    // The call that timed out committed once the lock went: its rows are written (what
    // the database holds), and their replay from the spool found them there.
    assert_eq!(stats.rows_written, 1300, "{stats:?}");
    assert!(stats.rows_duplicate >= 50, "{stats:?}");
}

#[test]
fn test_pg_pipeline_on_simulator_writes_every_opportunity() {
    let Some(mut schema) = Schema::create("pipeline") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "output_dir = \"{}\"\nduration_secs = 3\n[simulator]\nseed = 21\n\
         dislocation_mean_interval_ms = 500\n[telemetry]\nprogress_interval_ms = 0\n\
         [database]\nurl = \"{}\"\nbatch_rows = 64\nflush_interval_ms = 20\n",
        dir.path().display(),
        schema.url()
    );
    let mut config = edgeline::config::Config::from_toml(&text, Path::new("test.toml"), 2).unwrap();
    for plan in &mut config.placement.cores {
        plan.core = None;
        plan.idle = edgeline::runtime::IdlePolicy::SpinThenYield { spins: 100 };
    }
    let outcome = edgeline::pipeline::run(&config, &edgeline::runtime::Shutdown::manual()).unwrap();
    let report = &outcome.report;
    let opportunities = report.counter("edge.opportunities");
    assert!(opportunities > 0, "the simulator injects dislocations");
    assert_eq!(report.counter("edge.records_dropped"), 0);
    assert_eq!(schema.count("opportunities") as u64, opportunities);
    // The paper gateway's rows and the final latency dump's arrive through the same
    // writer.
    let gateway_tables = [
        "orders",
        "fills",
        "leg_out_events",
        "trades",
        "portfolio_snapshots",
    ];
    let gateway_rows: u64 = gateway_tables.iter().map(|t| schema.count(t) as u64).sum();
    let snapshots = schema.count("latency_snapshots") as u64;
    assert!(snapshots > 0, "the final latency dump's rows");
    // A write that outlived its deadline but committed is replayed from the spool and
    // counted as a duplicate: every row is in the database exactly once either way.
    assert_eq!(
        report.counter("telemetry.rows_written") + report.counter("telemetry.rows_duplicate"),
        opportunities + gateway_rows + snapshots
    );
    assert_eq!(report.counter("telemetry.rows_dropped"), 0);
    assert_eq!(report.counter("telemetry.rows_waiting_in_spool"), 0);
    assert!(
        schema.count("portfolio_snapshots") >= 1,
        "one at the end at least"
    );
    assert!(schema.count("orders") as u64 >= report.counter("gateway.orders"));
    assert_eq!(report.counter("gateway.records_dropped"), 0);
    assert!(
        !dir.path().join("opportunities.sqlite").exists(),
        "no SQLite file"
    );
}

#[test]
fn test_pg_analytics_latest_and_summary() {
    use edgeline::telemetry::db::analytics::Reader;
    use edgeline::telemetry::db::{DatabaseSettings, DbTarget};
    use edgeline::telemetry::tracker_stats::Recommendation;

    let Some(schema) = Schema::create("analytics") else {
        return;
    };
    let mut db = open(&schema.url());
    assert_eq!(db.write(&opportunity_rows("r", 0..600)).unwrap(), 600);
    let settings = DatabaseSettings {
        target: DbTarget::Postgres(Box::new(PgTarget::from_url(&schema.url(), None).unwrap())),
        ..DatabaseSettings::default()
    };
    let mut reader = Reader::open(&settings, Path::new("unused")).unwrap();
    let latest = reader.latest(3).unwrap();
    let seqs: Vec<i64> = latest.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, [599, 598, 597]);
    assert_eq!(latest[0].detected_at, "2025-11-21T12:00:00.599Z");
    assert_eq!((latest[0].edge_bps, latest[0].would_trade), (599.0, false));
    let summary = reader.summary().unwrap();
    assert_eq!(summary.total, 600);
    let counts: Vec<(&str, u64)> = summary
        .sources
        .iter()
        .map(|s| (s.source.as_str(), s.count))
        .collect();
    assert_eq!(counts, [("BOTH", 200), ("PERP", 200), ("SPOT", 200)]);
    assert_eq!(
        summary.recommendation,
        Recommendation::KeepIoc,
        "no hybrid advantage"
    );
    // Trades: exits at 09:00, 09:30 and 13:00 UTC.
    let trades = [
        (9 * 60, 12.0, 95),
        (9 * 60 + 30, -3.0, 55),
        (13 * 60, 1.5, 70),
    ];
    let rows: Vec<Row> = trades
        .iter()
        .enumerate()
        .map(|(seq, &(minute, pnl, confidence))| trade_row(seq as i64, minute, pnl, confidence))
        .collect();
    assert_eq!(db.write(&rows).unwrap(), 3);
    let stats = reader.trade_stats().unwrap();
    assert_eq!((stats.all.trades, stats.all.wins), (3, 2));
    assert!((stats.all.pnl_quote - 10.5).abs() < 1e-9);
    assert!((stats.max_drawdown_quote - 3.0).abs() < 1e-9);
    assert_eq!(stats.by_hour[9].trades, 2);
    assert_eq!(stats.by_hour[13].trades, 1);
    let confidence: Vec<u64> = stats.by_confidence.iter().map(|g| g.trades).collect();
    assert_eq!(confidence, [0, 1, 1, 1]);
    let latest = reader.latest_trades(2).unwrap();
    let exits: Vec<&str> = latest.iter().map(|t| t.exit_at.as_str()).collect();
    assert_eq!(
        exits,
        ["2025-11-21T13:00:00.000Z", "2025-11-21T09:30:00.000Z"]
    );
    assert_eq!(latest[0].long, "binance BTCUSDT");
    // The backtest report's reads run on PostgreSQL too.
    let edges = reader.opportunity_net_edges().unwrap();
    assert_eq!((edges.basis_bps.len(), edges.spread_bps.len()), (600, 0));
    let leg_outs = reader.leg_out_totals().unwrap();
    assert_eq!((leg_outs.events, leg_outs.loss_quote), (0, 0.0));
}

/// A closed trade row exiting `minute` minutes after 2025-11-21 00:00 UTC.
fn trade_row(seq: i64, minute: i64, pnl: f64, confidence: i64) -> Row {
    use edgeline::telemetry::db::gateway_rows::TRADES;
    use edgeline::telemetry::db::row::Value;
    const DAY_NS: i64 = 1_763_683_200_000_000_000;
    let values = TRADES
        .columns
        .iter()
        .map(|&column| match column {
            "intent_id" => Value::Int(seq),
            "confidence" => Value::Int(confidence),
            "pnl_quote" => Value::Real(pnl),
            "entry_at" | "exit_at" => Value::Time(DAY_NS + minute * 60_000_000_000),
            "long_venue" | "short_venue" => Value::Text("binance".into()),
            "long_symbol" | "short_symbol" => Value::Text("BTCUSDT".into()),
            c if c.ends_with("_price") || c.ends_with("_bps") || c.ends_with("_ms") => {
                Value::Real(1.0)
            }
            "qty" | "fees_quote" | "funding_quote" => Value::Real(0.5),
            _ => Value::Text(column.to_uppercase()),
        })
        .collect();
    Row {
        table: &TRADES,
        run_id: "trades".into(),
        seq,
        values,
    }
}
