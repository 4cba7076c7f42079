//! The feed stage: reads frames from the venue connections, decodes them into
//! `MarketEvent`s with each connection's venue decoder and pushes them to the book
//! stage's ring; carries out the book stage's resync requests (a REST snapshot for
//! Binance, the venue's resubscribe messages elsewhere) and decodes fetched snapshots.
//!
//! Runs on the hot-path thread. Per frame: one clock read (ingress), decode into the
//! preallocated [`EventBuf`], push to the ring, one latency sample. A frame is only read
//! when the ring has room for the largest possible frame, so backpressure delays frames
//! and never drops one. A malformed frame is counted and logged (rate-limited) and the
//! stage moves on; it never panics. Resyncs are rare and cold: they may allocate.

use std::sync::Arc;

use crate::feed::binance::BinanceDecoder;
use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::snapshot_fetch::SnapshotClient;
use crate::feed::symbols::SymbolMap;
use crate::feed::transport::{Frame, Transport};
use crate::feed::venues::{VenueDecoder, resync_messages};
use crate::runtime::{Clock, RunReport, Stage, StageKind};
use crate::stats::PipelineStats;
use crate::telemetry::sample::{Metric, SampleSink};
use crate::types::{InstrumentId, InstrumentRegistry, MarketEvent, MarketKind, Venue};

/// Frames read from one connection per poll. One: with the hot path fused on a core,
/// each frame then reaches the edge decision before the next frame is read, instead of
/// waiting behind a batch of decodes (measured: see LATENCY.md, change log).
pub const FRAMES_PER_POLL_MAX: usize = 1;
/// Malformed frames logged in full before logging only every 1000th.
const MALFORMED_LOGGED_MAX: u64 = 10;

/// One venue connection: which market it carries and its decoder.
pub struct FeedConnection {
    /// Venue.
    pub venue: Venue,
    /// Market kind.
    pub kind: MarketKind,
    /// Decoder of its frames.
    pub decoder: VenueDecoder,
}

/// Where an instrument's resync goes.
#[derive(Debug, Clone)]
struct Route {
    connection: usize,
    venue: Venue,
    kind: MarketKind,
    symbol: String,
}

/// The control side of the feed stage: resync requests from the book stage, and the
/// REST snapshot client (when a venue needs one).
pub struct FeedControl {
    /// Instruments whose book needs a resync (from the book stage).
    pub resync: rtrb::Consumer<InstrumentId>,
    /// REST snapshots (Binance), if any instrument needs them.
    pub snapshots: Option<SnapshotClient>,
}

/// The feed stage.
pub struct FeedStage {
    transport: Transport,
    connections: Vec<FeedConnection>,
    routes: Vec<Option<Route>>,
    control: FeedControl,
    snapshot_decoder: BinanceDecoder,
    buf: EventBuf,
    events_per_frame_max: usize,
    ring: rtrb::Producer<MarketEvent>,
    samples: SampleSink,
    stats: Arc<PipelineStats>,
    clock: Clock,
}

impl FeedStage {
    /// A feed stage over connected transports; `connections[i]` describes connection
    /// `i`. `events_per_frame_max` sizes the event buffer (and the ring room a read
    /// needs).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        transport: Transport,
        connections: Vec<FeedConnection>,
        registry: &InstrumentRegistry,
        control: FeedControl,
        events_per_frame_max: usize,
        ring: rtrb::Producer<MarketEvent>,
        samples: SampleSink,
        stats: Arc<PipelineStats>,
        clock: Clock,
    ) -> Self {
        assert_eq!(
            transport.connection_count(),
            connections.len(),
            "one decoder per connection"
        );
        let routes = registry
            .iter()
            .map(|inst| {
                connections
                    .iter()
                    .position(|c| c.venue == inst.venue && c.kind == inst.kind)
                    .map(|connection| Route {
                        connection,
                        venue: inst.venue,
                        kind: inst.kind,
                        symbol: inst.symbol.clone(),
                    })
            })
            .collect();
        Self {
            transport,
            connections,
            routes,
            control,
            snapshot_decoder: BinanceDecoder::new(SymbolMap::default()),
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
            match self.connections[index]
                .decoder
                .decode(frame, ts_recv_raw, &mut self.buf)
            {
                Ok(Decoded::Events(_) | Decoded::Heartbeat) => {}
                Ok(outcome @ (Decoded::Ack | Decoded::Unknown)) => {
                    if outcome == Decoded::Unknown {
                        self.stats.feed_unknown.incr();
                    }
                    let c = &self.connections[index];
                    log::debug!(
                        "feed: {} {}: {outcome:?}: {}",
                        c.venue,
                        c.kind.name(),
                        String::from_utf8_lossy(&frame[..frame.len().min(200)])
                    );
                }
                Err(e) => log_malformed(&self.stats, e, frame),
            }
            frames += 1;
            if let Some(first) = self.buf.as_slice().first()
                && first.ts_venue_ms > 0
            {
                let venue = self.connections[index].venue;
                self.samples
                    .record(Metric::VenueDelay(venue), first.ts_venue_ms, ts_recv_raw);
            }
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

    /// Carries out the book stage's resync requests.
    fn resyncs(&mut self) -> usize {
        let mut handled = 0;
        while let Ok(instrument) = self.control.resync.pop() {
            handled += 1;
            let Some(route) = self.routes.get(instrument.index()).cloned().flatten() else {
                continue;
            };
            self.stats.feed_resyncs.incr();
            if route.venue == Venue::Binance {
                let queued = self
                    .control
                    .snapshots
                    .as_mut()
                    .is_some_and(|s| s.request(instrument));
                if !queued {
                    log::error!(
                        "feed: no REST snapshot possible for {} {}",
                        route.venue,
                        route.symbol
                    );
                }
                continue;
            }
            for message in resync_messages(route.venue, route.kind, &route.symbol) {
                self.transport.send_text(route.connection, &message);
            }
        }
        handled
    }

    /// Decodes a fetched REST snapshot into the book stage's ring.
    fn snapshot(&mut self) -> usize {
        if self.ring.slots() < self.events_per_frame_max {
            return 0;
        }
        let Some(client) = self.control.snapshots.as_mut() else {
            return 0;
        };
        let Some(fetched) = client.poll() else {
            return 0;
        };
        let ts_recv_raw = self.clock.raw();
        self.buf.clear();
        if let Err(e) = self.snapshot_decoder.decode_snapshot(
            &fetched.body,
            fetched.instrument,
            ts_recv_raw,
            &mut self.buf,
        ) {
            log_malformed(&self.stats, e, &fetched.body);
        }
        client.recycle(fetched.body);
        self.stats.feed_snapshots.incr();
        self.push_events(ts_recv_raw);
        1
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
        let control = self.resyncs() + self.snapshot();
        let pending = (0..self.transport.connection_count()).any(|i| self.transport.is_readable(i));
        if !pending && let Err(e) = self.transport.poll_readiness() {
            log::error!("feed: event loop poll failed: {e}");
            return control;
        }
        control
            + (0..self.transport.connection_count())
                .map(|i| self.read_connection(i))
                .sum::<usize>()
    }

    fn finish(&mut self, report: &mut RunReport) {
        let open = (0..self.transport.connection_count())
            .filter(|&i| self.transport.is_open(i))
            .count();
        report.set("feed.connections_open", open as u64);
    }
}
