//! Throughput of the telemetry path end to end: rows handed to the NATS writer (the
//! publisher and its spool, as an engine runs them) → JetStream on 127.0.0.1:4222 →
//! `collect` (a durable pull consumer) → the central PostgreSQL on 127.0.0.1:5432,
//! with publisher and collector running at once. Prints rows per second for the
//! publish side alone and end to end (first row handed over → last row committed).
//!
//! `cargo run --example nats_throughput -- [ROWS]` (default 100000). Uses its own
//! stream, subject prefix and PostgreSQL schema, and removes them at the end.

#[path = "../tests/common/rows.rs"]
mod rows;

use std::time::{Duration, Instant};

use edgeline::runtime::Shutdown;
use edgeline::telemetry::db::postgres::PgTarget;
use edgeline::telemetry::nats::collect::{self, CollectSettings};
use edgeline::telemetry::nats::{NatsSettings, publisher};

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";
const BATCH: usize = 512;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: i64 = std::env::args().nth(1).map_or(Ok(100_000), |a| a.parse())?;
    let id = std::process::id();
    let schema = format!("edgeline_nats_bench_{id}");
    let mut admin = postgres::Client::connect(PG, postgres::NoTls)?;
    admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
    let nats = NatsSettings {
        enabled: true,
        site: Some("bench".into()),
        stream: format!("EDGELINE_BENCH_{id}"),
        subject_prefix: format!("edgeline_bench.b{id}"),
        ..NatsSettings::default()
    };
    let url = format!("{PG}?options=-c%20search_path%3D{schema}");
    let settings = CollectSettings {
        nats: nats.clone(),
        database: PgTarget::from_url(&url, None)?,
        durable: "bench".into(),
        batch: collect::BATCH_DEFAULT,
        ack_wait: collect::ACK_WAIT_DEFAULT,
        duration: None,
    };
    let shutdown = Shutdown::manual();
    let stop = shutdown.clone();
    let collector = std::thread::spawn(move || collect::run(&settings, &shutdown));
    let spool = tempfile::tempdir()?;
    let writer = publisher::spawn(&nats, spool.path(), BATCH, Duration::from_millis(100))?;
    let all = rows::opportunity_rows("bench-run", 0..total);
    let start = Instant::now();
    for batch in all.chunks(BATCH) {
        writer
            .send(batch.to_vec())
            .map_err(|_| "the NATS writer stopped")?;
    }
    let stats = writer.finish();
    let published = start.elapsed();
    let count_sql = format!("SELECT COUNT(*) FROM {schema}.opportunities");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let ready: bool = admin
            .query_one(
                &format!("SELECT to_regclass('{schema}.opportunities') IS NOT NULL"),
                &[],
            )?
            .get(0);
        let n: i64 = if ready {
            admin.query_one(&count_sql, &[])?.get(0)
        } else {
            0
        };
        if n >= total || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let end_to_end = start.elapsed();
    stop.request_stop();
    let collected = collector.join().map_err(|_| "collector panicked")??;
    let stored: i64 = admin.query_one(&count_sql, &[])?.get(0);
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
    delete_stream(&nats.stream)?;
    #[allow(clippy::cast_precision_loss)] // a rate for people
    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    println!(
        "{total} rows: published (acked) in {published:.2?} = {:.0} rows/s; in PostgreSQL after {end_to_end:.2?} = {:.0} rows/s end to end; {stored} stored, publisher {stats:?}, collector {collected:?}",
        rate(published),
        rate(end_to_end)
    );
    Ok(())
}

fn delete_stream(name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = async_nats::connect("127.0.0.1:4222").await?;
        async_nats::jetstream::new(client)
            .delete_stream(name)
            .await?;
        Ok(())
    })
}
