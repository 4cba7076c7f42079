//! Criterion benchmarks of the telemetry sidecar's database path (cold, off the hot
//! path, whose only cost is one ring push per record): what one row costs the sidecar
//! in a burst, and what the writer thread pays per row in SQLite and in the spool.
//! Ids are `telemetry/op/variant`. Run: `cargo bench --bench telemetry_db`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgeline::config::Config;
use edgeline::edge::opportunity::{
    BasisOpportunity, CostModel, Direction, Quad, QuadBps, VolatilitySource,
};
use edgeline::runtime::{Clock, RunReport, Stage};
use edgeline::stats::PipelineStats;
use edgeline::telemetry::db::Backend;
use edgeline::telemetry::db::record::{Record, RowContext};
use edgeline::telemetry::db::row::{Row, RowKeys};
use edgeline::telemetry::db::spool::Spool;
use edgeline::telemetry::db::sqlite::SqliteDb;
use edgeline::telemetry::status::StatusBoard;
use edgeline::telemetry::{TelemetryConfig, TelemetryInputs, TelemetryStage};
use edgeline::types::Price;
use edgeline::types::bps::Bps;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Records per burst: the sidecar's ring drained in one go.
const BURST: usize = 4096;

fn opportunity(config: &Config, i: u64) -> BasisOpportunity {
    let pair = config.pairs[0];
    let p = |raw: i128| Price::from_raw(raw);
    let quad = Quad {
        perp_bid: p(5_001_050_000_000),
        perp_ask: p(5_001_100_000_000),
        spot_bid: p(5_000_000_000_000),
        spot_ask: p(5_000_025_000_000),
    };
    let b = Bps::from_num;
    BasisOpportunity {
        spot: pair.spot,
        perp: pair.perp,
        ts_recv_raw: 1_000 + i,
        analysis_start_raw: 2_000 + i,
        ts_decision_raw: 3_000 + i,
        ts_venue_ms: 1_700_000_000_000 + i,
        prices: quad,
        mid_ref: p(5_000_500_000_000),
        baseline: quad,
        deviation: QuadBps {
            perp_bid: b(1.0),
            perp_ask: b(1.0),
            spot_bid: b(0.0),
            spot_ask: b(0.0),
        },
        perp_movement_bps: b(1.0),
        spot_movement_bps: b(0.0),
        volatility_source: VolatilitySource::Perp,
        volatility_ratio: b(10.0),
        direction: Direction::ShortPerpLongSpot,
        edge_bps: b(21.0),
        would_trade_current: true,
        costs: CostModel {
            ioc_both: b(18.2),
            ioc_perp_alo_spot: b(14.0),
            alo_both: b(11.0),
        },
        expected_profit_ioc: b(2.8),
        expected_profit_hybrid: b(7.0),
    }
}

fn rows(config: &Config, n: usize) -> Vec<Row> {
    let clock = Clock::new();
    let ctx = RowContext {
        registry: &config.registry,
        clock: &clock,
    };
    let mut keys = RowKeys::new(1, 1);
    (0..n as u64)
        .map(|i| Record::Opportunity(&opportunity(config, i)).to_row(&mut keys, &ctx))
        .collect()
}

/// Measures turning one opportunity record into its row (names, wall time, values).
fn bench_row(c: &mut Criterion) {
    let config = Config::defaults(2).unwrap();
    let clock = Clock::new();
    let ctx = RowContext {
        registry: &config.registry,
        clock: &clock,
    };
    let mut keys = RowKeys::new(1, 1);
    let opportunity = opportunity(&config, 0);
    let record = Record::Opportunity(&opportunity);
    c.bench_function("telemetry/row/opportunity", |b| {
        b.iter(|| {
            let row = record.to_row(&mut keys, &ctx);
            assert_eq!(row.values.len(), 32);
            black_box(row)
        })
    });
}

/// Measures the sidecar draining a burst of 4096 records from its ring into batches for
/// the writer thread (which writes SQLite meanwhile on its own thread); per element.
fn bench_sidecar_burst(c: &mut Criterion) {
    let config = Config::defaults(2).unwrap();
    let burst: Vec<BasisOpportunity> = (0..BURST as u64).map(|i| opportunity(&config, i)).collect();
    let mut group = c.benchmark_group("telemetry/sidecar");
    group.throughput(Throughput::Elements(BURST as u64));
    group.bench_function("burst_4096", |b| {
        let dir = tempfile::tempdir().unwrap();
        let (mut tx, rx) = rtrb::RingBuffer::new(BURST);
        let inputs = TelemetryInputs {
            samples: Vec::new(),
            opportunities: rx,
            stats: Arc::new(PipelineStats::default()),
            registry: Arc::new(config.registry.clone()),
            clock: Clock::new(),
            status: Arc::new(StatusBoard::default()),
        };
        let mut stage =
            TelemetryStage::new(TelemetryConfig::new(dir.path().into()), inputs).unwrap();
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                for opp in &burst {
                    tx.push(*opp).unwrap();
                }
                let start = Instant::now();
                let mut drained = 0;
                while drained < BURST {
                    drained += stage.poll();
                }
                spent += start.elapsed();
            }
            spent
        });
        let mut report = RunReport::default();
        stage.finish(&mut report);
        assert_eq!(report.counter("telemetry.rows_dropped"), 0);
    });
    group.finish();
}

/// Measures the writer thread's SQLite transaction of 512 rows; per row.
fn bench_sqlite_batch(c: &mut Criterion) {
    let config = Config::defaults(2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut db = SqliteDb::open(&dir.path().join("bench.sqlite")).unwrap();
    let mut batch = rows(&config, 512);
    let mut group = c.benchmark_group("telemetry/sqlite");
    group.throughput(Throughput::Elements(512));
    group.bench_function("write_512", |b| {
        b.iter(|| {
            assert_eq!(db.write(&batch).unwrap(), 512);
            for row in &mut batch {
                row.seq += 512;
            }
        })
    });
    group.finish();
}

/// Measures appending (and fsyncing) 512 rows to the spool, as during an outage; per
/// row.
fn bench_spool_append(c: &mut Criterion) {
    let config = Config::defaults(2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 1 << 40).unwrap();
    let batch = rows(&config, 512);
    let mut group = c.benchmark_group("telemetry/spool");
    group.throughput(Throughput::Elements(512));
    group.bench_function("append_512", |b| {
        b.iter(|| assert_eq!(spool.append(&batch), 512))
    });
    group.finish();
}

criterion_group! {
    name = telemetry_db;
    config = Criterion::default();
    targets = bench_row, bench_sidecar_burst, bench_sqlite_batch, bench_spool_append
}
criterion_main!(telemetry_db);
