//! `edgeline collect`: drains the telemetry stream of any number of engines into one
//! PostgreSQL database ([`CentralDb`]) through a durable pull consumer.
//!
//! Each fetched batch is decoded (the site from the subject, the row from the
//! payload), written in one transaction, and acknowledged only after that commit; a
//! database that refuses the batch is retried (backing off to [`DB_RETRY_MAX`]) with
//! the messages unacknowledged. A collector killed before its acks has the batch
//! delivered again (after the consumer's ack wait) to whichever collector asks next,
//! and the `(site, run_id, seq)` key makes that delivery insert nothing. Several
//! collectors on the same durable consumer share the messages. A message that does not
//! decode is counted, logged and terminated (never delivered again).
//!
//! Runs on the collector process's main thread, with a one-worker tokio runtime for the
//! client's connection; no engine stage runs here.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::{AckKind, Message};
use futures_util::StreamExt;

use crate::runtime::Shutdown;
use crate::telemetry::db::DbError;
use crate::telemetry::db::postgres::PgTarget;
use crate::telemetry::db::spool::decode_message;
use crate::telemetry::nats::central::{CentralDb, SiteRow};
use crate::telemetry::nats::{NatsSettings, site_of_subject};

/// Default durable consumer name.
pub const DURABLE_DEFAULT: &str = "edgeline-collect";
/// Default messages per fetch (and per transaction).
pub const BATCH_DEFAULT: usize = 512;
/// Default ack wait: a batch fetched by a collector that died is delivered again after
/// this.
pub const ACK_WAIT_DEFAULT: Duration = Duration::from_secs(10);
/// How long one fetch waits for messages before the loop looks at the stop flag.
pub const FETCH_EXPIRES: Duration = Duration::from_millis(500);
/// Longest wait between two attempts at a database that refuses a batch.
pub const DB_RETRY_MAX: Duration = Duration::from_secs(5);
/// Messages a consumer may have delivered and unacknowledged.
pub const MAX_ACK_PENDING: i64 = 20_000;

/// What to collect, from where, into what.
#[derive(Debug, Clone)]
pub struct CollectSettings {
    /// The broker, stream and subject prefix (`site` is not used).
    pub nats: NatsSettings,
    /// The central database.
    pub database: PgTarget,
    /// The durable consumer's name (collectors sharing it share the work).
    pub durable: String,
    /// Messages per fetch and transaction.
    pub batch: usize,
    /// The consumer's ack wait (when it creates the consumer).
    pub ack_wait: Duration,
    /// Stop after this long (`None`: until a signal).
    pub duration: Option<Duration>,
}

/// What a collector did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectStats {
    /// Messages fetched.
    pub messages: u64,
    /// Rows inserted.
    pub rows_inserted: u64,
    /// Rows the database had already (deliveries again, re-publishes).
    pub rows_duplicate: u64,
    /// Messages that did not decode (terminated, not stored).
    pub malformed: u64,
    /// Failed database writes (retried).
    pub db_errors: u64,
    /// Acks the broker did not take (the batch comes again; harmless).
    pub ack_errors: u64,
}

/// Why the collector could not run.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The runtime for the client could not be built.
    #[error("starting the NATS client runtime: {0}")]
    Runtime(std::io::Error),
    /// The client refused the URL.
    #[error("NATS {url}: {source}")]
    Connect {
        /// The broker URL.
        url: String,
        /// The client's error.
        source: async_nats::ConnectError,
    },
    /// The central database could not be opened or migrated.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The durable consumer could not be created or bound.
    #[error("consumer {durable} on stream {stream}: {source}")]
    Consumer {
        /// Its name.
        durable: String,
        /// The stream.
        stream: String,
        /// The client's error.
        source: async_nats::jetstream::stream::ConsumerError,
    },
}

/// Runs the collector until `shutdown` or the configured duration; returns its figures.
pub fn run(settings: &CollectSettings, shutdown: &Shutdown) -> Result<CollectStats, CollectError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("edgeline-nats-io")
        .enable_all()
        .build()
        .map_err(CollectError::Runtime)?;
    let mut db = CentralDb::open(settings.database.clone())?;
    log::info!(
        "collecting stream {} ({}) into {} as durable {}",
        settings.nats.stream,
        settings.nats.stream_subjects(),
        db.target(),
        settings.durable
    );
    // NB: the NATS steps run in `block_on`, the database writes outside it (the
    // synchronous PostgreSQL client runs a runtime of its own).
    let nats = &settings.nats;
    let client = runtime
        .block_on(nats.connect_options().connect(nats.url.as_str()))
        .map_err(|source| CollectError::Connect {
            url: nats.url.clone(),
            source,
        })?;
    let jetstream = {
        let _entered = runtime.enter();
        async_nats::jetstream::new(client)
    };
    let end = settings.duration.map(|d| Instant::now() + d);
    let stopping = || shutdown.requested().is_some() || end.is_some_and(|e| Instant::now() >= e);
    let mut stats = CollectStats::default();
    let Some(consumer) = runtime.block_on(bind(settings, &jetstream, &stopping))? else {
        return Ok(stats);
    };
    while !stopping() {
        let fetched = runtime.block_on(fetch(&consumer, settings.batch));
        if fetched.is_empty() {
            continue;
        }
        stats.messages += fetched.len() as u64;
        let (rows, good, bad) = decode(nats, fetched);
        stats.malformed += bad.len() as u64;
        let Some(inserted) = write(&mut db, &rows, &mut stats, &stopping) else {
            break;
        };
        stats.rows_inserted += inserted as u64;
        stats.rows_duplicate += (rows.len() - inserted.min(rows.len())) as u64;
        runtime.block_on(acknowledge(&good, &bad, &mut stats));
    }
    Ok(stats)
}

/// Acks the stored messages (all at once) and terminates the malformed ones.
async fn acknowledge(good: &[Message], bad: &[Message], stats: &mut CollectStats) {
    let acks = futures_util::future::join_all(good.iter().map(|msg| msg.ack())).await;
    for err in acks.into_iter().filter_map(Result::err) {
        log::warn!("ack: {err} (the message comes again and inserts nothing)");
        stats.ack_errors += 1;
    }
    for msg in bad {
        if let Err(err) = msg.ack_with(AckKind::Term).await {
            log::warn!("terminating a malformed message: {err}");
            stats.ack_errors += 1;
        }
    }
}

/// Ensures the stream and the durable consumer, retrying while the broker is away;
/// `None` when asked to stop first.
async fn bind(
    settings: &CollectSettings,
    jetstream: &async_nats::jetstream::Context,
    stopping: &impl Fn() -> bool,
) -> Result<Option<PullConsumer>, CollectError> {
    let nats = &settings.nats;
    let stream = loop {
        match jetstream.get_or_create_stream(nats.stream_config()).await {
            Ok(stream) => break stream,
            Err(err) => {
                log::warn!("stream {} at {}: {err}; retrying", nats.stream, nats.url);
                if stopping() {
                    return Ok(None);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    let config = pull::Config {
        durable_name: Some(settings.durable.clone()),
        ack_policy: AckPolicy::Explicit,
        deliver_policy: DeliverPolicy::All,
        ack_wait: settings.ack_wait,
        max_ack_pending: MAX_ACK_PENDING,
        filter_subject: nats.stream_subjects(),
        ..pull::Config::default()
    };
    stream
        .get_or_create_consumer(&settings.durable, config)
        .await
        .map(Some)
        .map_err(|source| CollectError::Consumer {
            durable: settings.durable.clone(),
            stream: nats.stream.clone(),
            source,
        })
}

/// Up to `batch` messages, waiting at most [`FETCH_EXPIRES`] for them.
async fn fetch(consumer: &PullConsumer, batch: usize) -> Vec<Message> {
    let request = consumer
        .fetch()
        .max_messages(batch)
        .expires(FETCH_EXPIRES)
        .messages()
        .await;
    let mut messages = match request {
        Ok(messages) => messages,
        Err(err) => {
            log::warn!("fetch: {err}; retrying");
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(batch);
    while let Some(next) = messages.next().await {
        match next {
            Ok(msg) => out.push(msg),
            Err(err) => {
                log::warn!("fetch: {err}");
                break;
            }
        }
    }
    out
}

/// The rows of `messages`, the messages they came from, and the ones that did not
/// decode.
fn decode(
    nats: &NatsSettings,
    messages: Vec<Message>,
) -> (Vec<SiteRow>, Vec<Message>, Vec<Message>) {
    let (mut rows, mut good, mut bad) = (Vec::new(), Vec::new(), Vec::new());
    for msg in messages {
        let site = site_of_subject(&nats.subject_prefix, msg.subject.as_str());
        match (site, decode_message(&msg.payload)) {
            (Some(site), Some(row)) if msg.subject.ends_with(&format!(".{}", row.table.name)) => {
                rows.push(SiteRow {
                    site: site.to_owned(),
                    row,
                });
                good.push(msg);
            }
            _ => {
                log::error!(
                    "malformed telemetry message on {} ({} bytes): not stored",
                    msg.subject,
                    msg.payload.len()
                );
                bad.push(msg);
            }
        }
    }
    (rows, good, bad)
}

/// Writes `rows` (one transaction), retrying until it commits; `None` when asked to
/// stop first (the batch stays unacknowledged and comes again).
fn write(
    db: &mut CentralDb,
    rows: &[SiteRow],
    stats: &mut CollectStats,
    stopping: &impl Fn() -> bool,
) -> Option<usize> {
    let mut delay = Duration::from_millis(100);
    loop {
        match db.write(rows) {
            Ok(inserted) => return Some(inserted),
            Err(err) => {
                stats.db_errors += 1;
                log::warn!("{err}; retrying in {delay:?} (the batch is not acknowledged)");
                if stopping() {
                    return None;
                }
                std::thread::sleep(delay);
                delay = (delay * 2).min(DB_RETRY_MAX);
            }
        }
    }
}
