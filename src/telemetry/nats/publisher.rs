//! The NATS publisher: a [`Backend`] that publishes each row of a batch to JetStream
//! and waits for every ack, so the database writer's logic ([`DbWriter`]) and the
//! on-disk spool carry it through outages unchanged: a batch the broker does not ack
//! (unreachable, or slower than `publish_timeout`) goes to the NATS spool, and the
//! spool is replayed, oldest first, when the broker is back. Re-published rows carry
//! the same message id (`run_id:seq`), so the broker keeps one copy.
//!
//! Runs on its own writer thread (`edgeline-nats`, cold, unpinned), which owns a
//! one-worker tokio runtime for the client's connection task; the sidecar only hands
//! it batches over a bounded channel ([`WriterThread`]). Allocates per row.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::message::PublishMessage;
use tokio::runtime::Runtime;

use crate::telemetry::db::error::BoxError;
use crate::telemetry::db::row::Row;
use crate::telemetry::db::spool::{Spool, SpoolError, encode_message};
use crate::telemetry::db::writer::{DbWriter, WriterThread};
use crate::telemetry::db::{Backend, DbError};
use crate::telemetry::nats::{NatsSettings, message_id, subject};

/// Acks awaited at once per batch (the client's in-flight bound).
pub const ACKS_IN_FLIGHT_MAX: usize = 4096;

/// Why the publisher could not start.
#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    /// `[nats] enabled = true` without `site` (a programming error: config checks it).
    #[error("[nats] site is required to publish")]
    NoSite,
    /// The tokio runtime for the client could not be built.
    #[error("starting the NATS client runtime: {0}")]
    Runtime(std::io::Error),
    /// The URL was refused by the client.
    #[error("NATS {url}: {source}")]
    Connect {
        /// The broker URL (no credentials are ever in it).
        url: String,
        /// The client's error.
        source: async_nats::ConnectError,
    },
    /// The NATS spool could not be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The thread could not be started.
    #[error("starting the NATS writer thread: {0}")]
    Thread(std::io::Error),
}

/// Publishes batches of rows to the stream.
pub struct NatsBackend {
    runtime: Runtime,
    client: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    settings: NatsSettings,
    site: String,
    target: String,
    stream_ready: bool,
}

impl NatsBackend {
    /// Starts the client (its first connection is retried in the background, so an
    /// absent broker is not an error here).
    pub fn open(settings: &NatsSettings) -> Result<Self, PublisherError> {
        let site = settings.site.clone().ok_or(PublisherError::NoSite)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("edgeline-nats-io")
            .enable_all()
            .build()
            .map_err(PublisherError::Runtime)?;
        let client = runtime
            .block_on(settings.connect_options().connect(settings.url.as_str()))
            .map_err(|source| PublisherError::Connect {
                url: settings.url.clone(),
                source,
            })?;
        // The context spawns its ack task on the runtime.
        let _entered = runtime.enter();
        let jetstream = async_nats::jetstream::ContextBuilder::new()
            .timeout(settings.publish_timeout)
            .max_ack_inflight(ACKS_IN_FLIGHT_MAX)
            .backpressure_on_inflight(true)
            .build(client.clone());
        Ok(Self {
            target: format!("NATS {} stream {}", settings.url, settings.stream),
            runtime,
            client,
            jetstream,
            settings: settings.clone(),
            site,
            stream_ready: false,
        })
    }

    /// Creates the stream if missing (once per publisher).
    async fn ensure_stream(&mut self) -> Result<(), BoxError> {
        if !self.stream_ready {
            self.jetstream
                .get_or_create_stream(self.settings.stream_config())
                .await?;
            self.stream_ready = true;
        }
        Ok(())
    }

    /// Publishes every row, then awaits every ack; returns the rows the stream took as
    /// new (the rest it already had).
    async fn publish(&mut self, rows: &[Row]) -> Result<usize, BoxError> {
        if self.client.connection_state() != State::Connected {
            return Err("not connected".into());
        }
        self.ensure_stream().await?;
        let mut acks = Vec::with_capacity(rows.len());
        for row in rows {
            let subject = subject(&self.settings.subject_prefix, &self.site, row);
            let msg = PublishMessage::build()
                .payload(encode_message(row).into())
                .message_id(message_id(row));
            acks.push(self.jetstream.send_publish(subject, msg).await?);
        }
        let mut new = 0;
        for ack in acks {
            if !ack.await?.duplicate {
                new += 1;
            }
        }
        Ok(new)
    }
}

impl Backend for NatsBackend {
    fn write(&mut self, rows: &[Row]) -> Result<usize, DbError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let timeout = self.settings.publish_timeout;
        // NB: block_on from the writer thread (not a runtime thread); the runtime's
        // worker keeps the connection alive between batches.
        let handle = self.runtime.handle().clone();
        let outcome = handle.block_on(async {
            tokio::time::timeout(timeout + Duration::from_millis(100), self.publish(rows)).await
        });
        let source: BoxError = match outcome {
            Ok(Ok(new)) => return Ok(new),
            Ok(Err(err)) => err,
            Err(_) => format!("no ack within {timeout:?}").into(),
        };
        Err(DbError::Write {
            target: self.target.clone(),
            rows: rows.len(),
            source,
        })
    }

    fn target(&self) -> &str {
        &self.target
    }
}

/// Starts the NATS writer thread: a [`DbWriter`] over [`NatsBackend`] and the NATS
/// spool in `spool_dir`, retrying from `retry_base`.
pub fn spawn(
    settings: &NatsSettings,
    spool_dir: &std::path::Path,
    batch_rows: usize,
    retry_base: Duration,
) -> Result<WriterThread, PublisherError> {
    let backend = NatsBackend::open(settings)?;
    let (spool, _) = Spool::open(spool_dir, settings.spool_max_bytes)?;
    let writer = DbWriter::new(Box::new(backend), spool, batch_rows, retry_base);
    WriterThread::spawn_named(writer, retry_base, "edgeline-nats").map_err(PublisherError::Thread)
}
