//! The feed stage: reads frames from the venue connections, decodes them into
//! `MarketEvent`s and pushes them to the book stage's ring.
//!
//! Runs on the hot-path thread. Per frame: one clock read (ingress), decode into the
//! preallocated [`EventBuf`], push to the ring, one latency sample. A frame is only read
//! when the ring has room for the largest possible frame, so backpressure delays frames
//! and never drops one. A malformed frame is counted and logged (rate-limited) and the
//! stage moves on; it never panics.

use std::sync::Arc;

use crate::feed::binance::{BinanceDecoder, DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::transport::{Frame, Transport};
use crate::runtime::{Clock, RunReport, Stage, StageKind};
use crate::stats::PipelineStats;
use crate::telemetry::sample::{Metric, SampleSink};
use crate::types::MarketEvent;

/// Frames read from one connection per poll. One: with the hot path fused on a core,
/// each frame then reaches the edge decision before the next frame is read, instead of
/// waiting behind a batch of decodes (measured: see LATENCY.md, change log).
pub const FRAMES_PER_POLL_MAX: usize = 1;
/// Malformed frames logged in full before logging only every 1000th.
const MALFORMED_LOGGED_MAX: u64 = 10;

/// The feed stage.
pub struct FeedStage {
    transport: Transport,
    decoders: Vec<BinanceDecoder>,
    buf: EventBuf,
    events_per_frame_max: usize,
    ring: rtrb::Producer<MarketEvent>,
    samples: SampleSink,
    stats: Arc<PipelineStats>,
    clock: Clock,
}

impl FeedStage {
    /// A feed stage over connected transports; `decoders[i]` decodes connection `i`.
    /// `events_per_frame_max` sizes the event buffer (and the ring room a read needs).
    pub fn new(
        transport: Transport,
        decoders: Vec<BinanceDecoder>,
        events_per_frame_max: usize,
        ring: rtrb::Producer<MarketEvent>,
        samples: SampleSink,
        stats: Arc<PipelineStats>,
        clock: Clock,
    ) -> Self {
        assert_eq!(
            transport.connection_count(),
            decoders.len(),
            "one decoder per connection"
        );
        Self {
            transport,
            decoders,
            buf: EventBuf::with_capacity(events_per_frame_max),
            events_per_frame_max,
            ring,
            samples,
            stats,
            clock,
        }
    }

    fn read_connection(&mut self, index: usize) -> usize {
        let mut frames = 0;
        while frames < FRAMES_PER_POLL_MAX && self.transport.is_readable(index) {
            if self.ring.slots() < self.events_per_frame_max {
                self.stats.feed_ring_full.incr();
                break;
            }
            let frame = match self.transport.read(index) {
                Frame::Data(bytes) => bytes,
                Frame::Idle | Frame::Closed => break,
            };
            let ts_recv_raw = self.clock.raw();
            self.stats.feed_frames.incr();
            self.buf.clear();
            match self.decoders[index].decode(frame, ts_recv_raw, &mut self.buf) {
                Ok(Decoded::Events(_) | Decoded::Ack | Decoded::Heartbeat) => {}
                Ok(Decoded::Unknown) => self.stats.feed_unknown.incr(),
                Err(e) => log_malformed(&self.stats, e, frame),
            }
            frames += 1;
            self.push_events(ts_recv_raw);
        }
        frames
    }

    fn push_events(&mut self, ts_recv_raw: u64) {
        for event in self.buf.as_slice() {
            // Room for a whole frame was checked before the read, so this cannot fail.
            if self.ring.push(*event).is_err() {
                self.stats.feed_ring_full.incr();
            }
        }
        self.stats.feed_events.add(self.buf.len() as u64);
        self.samples
            .record(Metric::Feed, ts_recv_raw, self.clock.raw());
    }
}

fn log_malformed(stats: &PipelineStats, error: DecodeError, frame: &[u8]) {
    stats.feed_malformed.incr();
    let n = stats.feed_malformed.get();
    if n <= MALFORMED_LOGGED_MAX || n.is_multiple_of(1000) {
        let shown = &frame[..frame.len().min(200)];
        log::warn!(
            "feed: malformed frame #{n} ({error}): {}",
            String::from_utf8_lossy(shown)
        );
    }
}

impl Stage for FeedStage {
    fn kind(&self) -> StageKind {
        StageKind::Feed
    }

    fn poll(&mut self) -> usize {
        let pending = (0..self.transport.connection_count()).any(|i| self.transport.is_readable(i));
        if !pending && let Err(e) = self.transport.poll_readiness() {
            log::error!("feed: event loop poll failed: {e}");
            return 0;
        }
        (0..self.transport.connection_count())
            .map(|i| self.read_connection(i))
            .sum()
    }

    fn finish(&mut self, report: &mut RunReport) {
        let open = (0..self.transport.connection_count())
            .filter(|&i| self.transport.is_open(i))
            .count();
        report.set("feed.connections_open", open as u64);
    }
}
