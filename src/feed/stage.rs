//! The feed stage: reads frames from the venue connections, decodes them into
//! `MarketEvent`s with each connection's venue decoder and pushes them to the book
//! stage's ring; carries out the book stage's resync requests (a REST snapshot for
//! Binance and OKX, the venue's resubscribe messages elsewhere) and decodes fetched
//! snapshots with their venue's REST decoder.
//!
//! Frames come from a [`FrameSource`]: the live transport, or a replay's merged
//! recordings ([`crate::replay`], which also carry the REST snapshots). With a
//! [`RecorderTap`], every frame and fetched snapshot is also copied to the recorder
//! (no allocation; a full recorder ring drops and counts).
//!
//! Runs on the hot-path thread. Per frame: one clock read (ingress), decode into the
//! preallocated [`EventBuf`], push to the ring, one latency sample. A frame is only read
//! when the ring has room for the largest possible frame, so backpressure delays frames
//! and never drops one. A malformed frame is counted and logged (rate-limited) and the
//! stage moves on; it never panics. Resyncs are rare and cold: they may allocate.
//!
//! A market may be spread over several connections (Binance: USD-M's `/public` and
//! `/market` endpoint groups, shards of many symbols); each [`FeedConnection`] names the
//! instruments it carries and whether it carries their books.
//!
//! Connection health: the transport reports each connection lost or back
//! ([`Notice`]); a lost connection's instruments get a [`FeedStatus::Reset`] event (if
//! it carries their books), so the book stage forgets their books until the venue's
//! resync procedure has run on the new connection. Connections the venue closes after a
//! lifetime (Binance, 24 h) are replaced make before break ([`crate::feed::rotation`]):
//! their parked standbys open when due, frames are routed per instrument while both
//! run, and a planned replacement resets nothing. Every frame with a venue time feeds the connection's rolling delay
//! window; above the venue's `stale_after` the instruments get [`FeedStatus::Stale`]
//! (then `Fresh`), which the book stage turns into invalid top-of-book updates, the path
//! the edge stage already uses to drop a leg. The same happens to an instrument whose
//! stream has been silent past the limit learned from its usual inter-arrival
//! ([`crate::feed::silence`]; checked every tick, so edges and paper fills stop within
//! a millisecond of the limit), until its next frame. Status events wait for ring room like
//! frames do, so none is lost, and no frame is read while one waits (so a reconnected
//! connection's snapshot never overtakes its books' reset). Health figures go to [`crate::feed::health`] once per
//! tick (1 ms) or second.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::feed::binance::BinanceDecoder;
use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::frame_source::{FrameSource, SourcedSnapshot};
use crate::feed::health::{DelayWindow, LinkState};
use crate::feed::okx;
use crate::feed::rotation::{Action, DownVerdict, RotationPair, Rotations};
use crate::feed::silence::{SilenceBounds, SilenceLimits, StreamWatch};
use crate::feed::snapshot_fetch::SnapshotClient;
use crate::feed::symbols::SymbolMap;
use crate::feed::transport::{Frame, LinkCounts, Notice, TICK, Transport, duration_ns};
use crate::feed::venues::{VenueDecoder, resync_messages};
use crate::record::RecorderTap;
use crate::runtime::{Clock, RunReport, Stage, StageKind};
use crate::stats::PipelineStats;
use crate::telemetry::sample::{Metric, SampleSink};
use crate::types::{
    EventBody, FeedStatus, InstrumentId, InstrumentRegistry, MarketEvent, MarketKind, Venue,
};

/// Frames read from one connection per poll. One: with the hot path fused on a core,
/// each frame then reaches the edge decision before the next frame is read, instead of
/// waiting behind a batch of decodes (measured: see LATENCY.md, change log).
pub const FRAMES_PER_POLL_MAX: usize = 1;
/// Malformed frames logged in full before logging only every 1000th.
const MALFORMED_LOGGED_MAX: u64 = 10;

/// One venue connection: which market it carries and its decoder.
#[derive(Clone)]
pub struct FeedConnection {
    /// Venue.
    pub venue: Venue,
    /// Market kind.
    pub kind: MarketKind,
    /// Decoder of its frames.
    pub decoder: VenueDecoder,
    /// Venue-to-us delay (rolling average) above which its instruments are stale.
    pub stale_after: Duration,
    /// The instruments whose streams it carries (a market may be spread over several
    /// connections: Binance's endpoint groups and shards).
    pub instruments: Vec<InstrumentId>,
    /// Whether it carries those instruments' books (depth): losing it resets them, and
    /// resync messages go to it.
    pub carries_book: bool,
    /// Bounds of each of its instruments' silence limit ([`crate::feed::silence`]).
    pub silence: SilenceBounds,
}

/// The feed stage's view of one connection's health.
#[derive(Debug, Default)]
struct LinkWatch {
    /// Instruments carried by the connection.
    instruments: Vec<InstrumentId>,
    /// Whether its loss resets their books.
    resets_books: bool,
    delays: DelayWindow,
    stale: bool,
    /// Data frames read so far.
    frames: u64,
    /// `frames` at the start of the current second.
    frames_at_second: u64,
    /// Whether the connection has been up before (a later `Up` is a reconnect).
    was_up: bool,
}

/// Status events owed to one instrument (sent when the ring has room).
#[derive(Debug, Clone, Copy, Default)]
struct StatusOwed {
    reset: bool,
    stale: Option<bool>,
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
    /// REST snapshots (Binance, OKX), if any instrument needs them.
    pub snapshots: Option<SnapshotClient>,
}

/// The feed stage, over the live transport or (replay) any other [`FrameSource`].
pub struct FeedStage<S: FrameSource = Transport> {
    transport: S,
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
    watches: Vec<LinkWatch>,
    /// Each connection's silence bounds in raw ticks.
    silence_limits: Vec<SilenceLimits>,
    /// Each instrument's stream (indexed by instrument).
    streams: Vec<StreamWatch>,
    /// Whether `Stale` is the last status sent for each instrument.
    stale_sent: Vec<bool>,
    /// Scratch of [`Self::watch_silence`]: each instrument's staleness this tick.
    stale_now: Vec<bool>,
    /// Per instrument: times its stream turned silent, and the unix ms of the last time
    /// (for the run report).
    silences: Vec<(u64, u64)>,
    owed: Vec<StatusOwed>,
    owed_count: usize,
    last_tick_raw: u64,
    second_started_raw: u64,
    recorder: Option<RecorderTap>,
    rotations: Rotations,
    /// Rotation steps to carry out (sized for every pair at once).
    rotation_actions: Vec<Action>,
}

impl<S: FrameSource> FeedStage<S> {
    /// A feed stage over connected transports; `connections[i]` describes connection
    /// `i`. `events_per_frame_max` sizes the event buffer (and the ring room a read
    /// needs).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        transport: S,
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
                    .position(|c| c.carries_book && c.instruments.contains(&inst.id))
                    .map(|connection| Route {
                        connection,
                        venue: inst.venue,
                        kind: inst.kind,
                        symbol: inst.symbol.clone(),
                    })
            })
            .collect();
        let watches = (0..connections.len())
            .map(|c| LinkWatch {
                was_up: transport.is_open(c),
                instruments: connections[c].instruments.clone(),
                resets_books: connections[c].carries_book,
                ..LinkWatch::default()
            })
            .collect();
        for (i, _) in connections.iter().enumerate() {
            let up = transport.is_open(i);
            if let Some(link) = stats.health.link(i) {
                link.set_state(if up { LinkState::Up } else { LinkState::Down });
            }
        }
        let now = clock.raw();
        let silence_limits = connections
            .iter()
            .map(|c| c.silence.limits(&clock))
            .collect();
        Self {
            watches,
            silence_limits,
            streams: vec![StreamWatch::default(); registry.len()],
            stale_sent: vec![false; registry.len()],
            stale_now: vec![false; registry.len()],
            silences: vec![(0, 0); registry.len()],
            owed: vec![StatusOwed::default(); registry.len()],
            owed_count: 0,
            last_tick_raw: now,
            second_started_raw: now,
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
            recorder: None,
            rotations: Rotations::default(),
            rotation_actions: Vec::new(),
        }
    }

    /// Replaces each pair's connection with its standby, make before break, when it is
    /// `lifetime` old (see [`crate::feed::rotation`]); the standbys are parked.
    #[must_use]
    pub fn with_rotations(mut self, pairs: Vec<RotationPair>, instruments: usize) -> Self {
        self.rotation_actions = Vec::with_capacity(pairs.len() * 2);
        for pair in &pairs {
            if let Some(link) = self.stats.health.link(pair.standby) {
                link.set_state(LinkState::Standby);
            }
        }
        self.rotations = Rotations::new(pairs, self.connections.len(), instruments);
        self
    }

    /// Records every frame and fetched snapshot through `tap` (see [`crate::record`]).
    #[must_use]
    pub fn with_recorder(mut self, tap: RecorderTap) -> Self {
        self.recorder = Some(tap);
        self
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
            let mut heartbeat = false;
            match self.connections[index]
                .decoder
                .decode(frame, ts_recv_raw, &mut self.buf)
            {
                Ok(Decoded::Events(_)) => {}
                Ok(Decoded::Heartbeat) => heartbeat = true,
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
                Err(e) => {
                    let c = &self.connections[index];
                    let origin = Origin {
                        venue: Some(c.venue),
                        kind: Some(c.kind),
                        symbol: None,
                    };
                    log_malformed(&self.stats, e, frame, origin);
                }
            }
            frames += 1;
            if !self.rotations.keep(index, self.buf.as_slice()) {
                // A duplicate of what the other connection of a rotation delivers.
                continue;
            }
            if let Some(tap) = self.recorder.as_mut() {
                tap.frame(index, ts_recv_raw, frame);
            }
            if heartbeat {
                self.transport.pong(index);
            }
            self.watches[index].frames += 1;
            // Silence is judged on the connection that carries the book (Binance USD-M
            // `/public`): trades and mark prices on `/market` must not hide a frozen book.
            if self.connections[index].carries_book
                && let Some(first) = self.buf.as_slice().first()
                && let Some(stream) = self.streams.get_mut(first.instrument.index())
            {
                stream.on_frame(ts_recv_raw, self.silence_limits[index]);
            }
            if let Some(first) = self.buf.as_slice().first()
                && first.ts_venue_ms > 0
            {
                let venue = self.connections[index].venue;
                self.samples
                    .record(Metric::VenueDelay(venue), first.ts_venue_ms, ts_recv_raw);
                let recv_ms = self.clock.unix_ns(ts_recv_raw) / 1_000_000;
                self.watches[index]
                    .delays
                    .add(recv_ms.saturating_sub(first.ts_venue_ms), recv_ms);
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

    /// Timers (at most once per [`TICK`]): the transport's, connection notices,
    /// staleness, health figures; then any status events owed.
    fn tick(&mut self) -> usize {
        let now = self.clock.raw();
        let mut work = 0;
        if self.clock.delta_ns(self.last_tick_raw, now) >= duration_ns(TICK) {
            self.last_tick_raw = now;
            self.transport.tick(now);
            while let Some(notice) = self.transport.next_notice() {
                self.notice(notice);
                work += 1;
            }
            work += self.rotate(now);
            self.watch_staleness(now);
            self.health_each_second(now);
        }
        if self.owed_count > 0 {
            work += self.pay_owed_statuses(now);
        }
        work
    }

    /// A connection went down (its books are reset) or came back.
    fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Down(index, _) => {
                self.stats.feed_disconnects.incr();
                let now = self.clock.raw();
                let verdict = self.rotations.down(index, now);
                match verdict {
                    DownVerdict::Reset => {}
                    DownVerdict::ParkStandby => {
                        self.transport.park(index);
                        if let Some(link) = self.stats.health.link(index) {
                            link.disconnects.incr();
                            link.set_state(LinkState::Standby);
                        }
                        return;
                    }
                    DownVerdict::ResetUnswitched(old) => self.transport.park(old),
                }
                let watch = &mut self.watches[index];
                watch.delays.clear();
                let was_stale = std::mem::replace(&mut watch.stale, false);
                for &id in &watch.instruments {
                    // The old connection of a rotation: its switched books are fed by the
                    // new one already.
                    if matches!(verdict, DownVerdict::ResetUnswitched(_))
                        && self.rotations.take_switched(id)
                    {
                        continue;
                    }
                    // A connection without the books (Binance USD-M `/market`) resets
                    // none; it only takes back the staleness it had flagged.
                    let owed_now = if watch.resets_books {
                        self.streams[id.index()].forget_last();
                        self.stale_sent[id.index()] = false;
                        self.stats.health.set_silent(id.index(), false);
                        StatusOwed {
                            reset: true,
                            stale: None,
                        }
                    } else if was_stale {
                        StatusOwed {
                            reset: self.owed[id.index()].reset,
                            stale: Some(false),
                        }
                    } else {
                        continue;
                    };
                    let owed = &mut self.owed[id.index()];
                    if !owed.reset && owed.stale.is_none() {
                        self.owed_count += 1;
                    }
                    *owed = owed_now;
                }
                if let Some(link) = self.stats.health.link(index) {
                    link.disconnects.incr();
                    link.set_state(LinkState::Down);
                    link.set_delays(None, None);
                }
            }
            Notice::Up(index) => {
                let watch = &mut self.watches[index];
                let planned = self.rotations.is_standby(index);
                if std::mem::replace(&mut watch.was_up, true) && !planned {
                    self.stats.feed_reconnects.incr();
                }
                if let Some(link) = self.stats.health.link(index) {
                    link.set_state(LinkState::Up);
                }
            }
        }
    }

    /// Steps the planned replacements: opens due standbys, parks replaced connections.
    fn rotate(&mut self, now: u64) -> usize {
        let transport = &self.transport;
        let clock = &self.clock;
        self.rotations.tick(
            now,
            |i| transport.opened_raw(i),
            |a, b| clock.delta_ns(a, b),
            &mut self.rotation_actions,
        );
        let steps = self.rotation_actions.len();
        for action in self.rotation_actions.drain(..) {
            match action {
                Action::Open(index) => self.transport.open(index),
                Action::Park(index) => {
                    self.transport.park(index);
                    let watch = &mut self.watches[index];
                    watch.delays.clear();
                    watch.stale = false;
                    if let Some(link) = self.stats.health.link(index) {
                        link.set_state(LinkState::Standby);
                        link.set_delays(None, None);
                    }
                }
            }
        }
        steps
    }

    /// Flags connections whose rolling venue delay crossed their `stale_after`.
    fn watch_staleness(&mut self, now: u64) {
        let now_ms = self.clock.unix_ns(now) / 1_000_000;
        for (index, watch) in self.watches.iter_mut().enumerate() {
            if !self.transport.is_open(index) || self.rotations.is_standby(index) {
                continue;
            }
            let average = watch.delays.average_ms(now_ms);
            let threshold = duration_ms(self.connections[index].stale_after);
            let stale = average.is_some_and(|ms| ms > threshold);
            if let Some(link) = self.stats.health.link(index) {
                link.set_delays(watch.delays.last_ms(), average);
            }
            if stale == watch.stale {
                continue;
            }
            watch.stale = stale;
            let c = &self.connections[index];
            if stale {
                self.stats.feed_stale.incr();
                log::warn!(
                    "feed: {} {} is stale: venue delay {} ms > {threshold} ms",
                    c.venue,
                    c.kind.name(),
                    average.unwrap_or(0)
                );
            } else {
                log::info!("feed: {} {} is fresh again", c.venue, c.kind.name());
            }
            if let Some(link) = self.stats.health.link(index) {
                link.set_state(if stale {
                    LinkState::Stale
                } else {
                    LinkState::Up
                });
            }
        }
        self.watch_silence(now);
    }

    /// Flags instruments whose stream has been silent past its learned limit, and owes
    /// each instrument whose staleness changed a `Stale` or `Fresh` status. An
    /// instrument is stale when any open connection carrying it is late (its venue
    /// delay) or the connection carrying its book has gone silent: one verdict per
    /// instrument, so the two connections of a Binance perp (`/public`, `/market`)
    /// cannot undo each other's flag.
    fn watch_silence(&mut self, now: u64) {
        self.stale_now.fill(false);
        for (index, watch) in self.watches.iter().enumerate() {
            if !self.transport.is_open(index) {
                continue;
            }
            let carries_book = self.connections[index].carries_book;
            let limits = self.silence_limits[index];
            for &id in &watch.instruments {
                let i = id.index();
                self.stale_now[i] |= watch.stale;
                if !carries_book {
                    continue;
                }
                let stream = &mut self.streams[i];
                let silent = stream.is_silent(now, limits);
                self.stale_now[i] |= silent;
                if silent != stream.silent {
                    stream.silent = silent;
                    self.stats.health.set_silent(i, silent);
                    let c = &self.connections[index];
                    let symbol = self.routes[i].as_ref().map_or("?", |r| r.symbol.as_str());
                    if silent {
                        self.stats.feed_silent.incr();
                        let at_ms = self.clock.unix_ns(now) / 1_000_000;
                        self.silences[i] = (self.silences[i].0 + 1, at_ms);
                        let limit = now.saturating_sub(stream.limit_raw(limits));
                        log::warn!(
                            "feed: {} {} {symbol} is stale: no frame for {} ms",
                            c.venue,
                            c.kind.name(),
                            self.clock.delta_ns(limit, now) / 1_000_000
                        );
                    } else {
                        log::info!("feed: {} {} {symbol} sends again", c.venue, c.kind.name());
                    }
                }
            }
        }
        for (i, &stale) in self.stale_now.iter().enumerate() {
            if stale == self.stale_sent[i] {
                continue;
            }
            self.stale_sent[i] = stale;
            let owed = &mut self.owed[i];
            if !owed.reset && owed.stale.is_none() {
                self.owed_count += 1;
            }
            owed.stale = Some(stale);
        }
    }

    /// Frames per second of each connection, once a second.
    fn health_each_second(&mut self, now: u64) {
        if self.clock.delta_ns(self.second_started_raw, now) < 1_000_000_000 {
            return;
        }
        self.second_started_raw = now;
        for (index, watch) in self.watches.iter_mut().enumerate() {
            if let Some(link) = self.stats.health.link(index) {
                link.set_frames_per_s(watch.frames - watch.frames_at_second);
            }
            watch.frames_at_second = watch.frames;
        }
    }

    /// Pushes owed status events, as far as the ring has room.
    fn pay_owed_statuses(&mut self, now: u64) -> usize {
        let mut pushed = 0;
        for index in 0..self.owed.len() {
            let owed = self.owed[index];
            if !owed.reset && owed.stale.is_none() {
                continue;
            }
            if self.ring.slots() < 2 {
                break;
            }
            let event = |status| MarketEvent {
                ts_recv_raw: now,
                ts_venue_ms: 0,
                instrument: InstrumentId(u32::try_from(index).unwrap_or(u32::MAX)),
                body: EventBody::Feed(status),
            };
            if owed.reset {
                let _ = self.ring.push(event(FeedStatus::Reset));
                pushed += 1;
            }
            match owed.stale {
                Some(true) => {
                    let _ = self.ring.push(event(FeedStatus::Stale));
                    pushed += 1;
                }
                Some(false) => {
                    let _ = self.ring.push(event(FeedStatus::Fresh));
                    pushed += 1;
                }
                None => {}
            }
            self.owed[index] = StatusOwed::default();
            self.owed_count -= 1;
        }
        pushed
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
            if matches!(route.venue, Venue::Binance | Venue::Okx) {
                let queued = S::SNAPSHOTS_SOURCED
                    || self
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

    /// Decodes a fetched (or sourced) REST snapshot into the book stage's ring.
    fn snapshot(&mut self) -> usize {
        if self.ring.slots() < self.events_per_frame_max {
            return 0;
        }
        if S::SNAPSHOTS_SOURCED {
            return self.sourced_snapshot();
        }
        let Some(client) = self.control.snapshots.as_mut() else {
            return 0;
        };
        let Some(fetched) = client.poll() else {
            return 0;
        };
        let ts_recv_raw = self.clock.raw();
        if let Some(tap) = self.recorder.as_mut() {
            tap.snapshot(fetched.instrument, ts_recv_raw, &fetched.body);
        }
        let sourced = SourcedSnapshot {
            instrument: fetched.instrument,
            body: &fetched.body,
        };
        let decoded = decode_snapshot(
            &self.snapshot_decoder,
            route_of(&self.routes, fetched.instrument),
            sourced,
            ts_recv_raw,
            &mut self.buf,
            &self.stats,
        );
        client.recycle(fetched.body);
        if !decoded && !client.retry(fetched.instrument) {
            log::error!(
                "feed: snapshot of instrument {} not asked again: request ring full",
                fetched.instrument.0
            );
        }
        self.push_events(ts_recv_raw);
        1
    }

    /// A snapshot the frame source carries (replay), when it is the next thing due.
    fn sourced_snapshot(&mut self) -> usize {
        let Some(sourced) = self.transport.next_snapshot() else {
            return 0;
        };
        let ts_recv_raw = self.clock.raw();
        // A recording cannot be asked again: its bad snapshot stays counted as malformed.
        let _ = decode_snapshot(
            &self.snapshot_decoder,
            route_of(&self.routes, sourced.instrument),
            sourced,
            ts_recv_raw,
            &mut self.buf,
            &self.stats,
        );
        self.push_events(ts_recv_raw);
        1
    }
}

/// The route of an instrument the feed carries.
fn route_of(routes: &[Option<Route>], instrument: InstrumentId) -> Option<&Route> {
    routes.get(instrument.index())?.as_ref()
}

/// Where a malformed frame came from, for its log line: `binance perp` (a WebSocket
/// frame) or `okx spot BTC-USDT REST snapshot`.
#[derive(Debug, Clone, Copy)]
struct Origin<'a> {
    venue: Option<Venue>,
    kind: Option<MarketKind>,
    symbol: Option<&'a str>,
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.venue {
            Some(venue) => write!(f, "{venue}")?,
            None => f.write_str("unknown venue")?,
        }
        if let Some(kind) = self.kind {
            write!(f, " {}", kind.name())?;
        }
        if let Some(symbol) = self.symbol {
            write!(f, " {symbol} REST snapshot")?;
        }
        Ok(())
    }
}

/// Decodes a REST snapshot of `venue` (OKX's book, or Binance's depth) into `buf`
/// (cleared first), counting it; false when the body did not decode (counted and
/// logged as malformed; the caller asks for it again).
fn decode_snapshot(
    decoder: &BinanceDecoder,
    route: Option<&Route>,
    snapshot: SourcedSnapshot<'_>,
    ts_recv_raw: u64,
    buf: &mut EventBuf,
    stats: &PipelineStats,
) -> bool {
    buf.clear();
    let (body, instrument) = (snapshot.body, snapshot.instrument);
    let venue = route.map(|r| r.venue);
    let decoded = match venue {
        Some(Venue::Okx) => okx::rest::decode_book(body, instrument, ts_recv_raw, buf),
        _ => decoder.decode_snapshot(body, instrument, ts_recv_raw, buf),
    };
    if let Err(e) = decoded {
        let origin = Origin {
            venue,
            kind: route.map(|r| r.kind),
            symbol: Some(route.map_or("?", |r| r.symbol.as_str())),
        };
        log_malformed(stats, e, body, origin);
    }
    stats.feed_snapshots.incr();
    decoded.is_ok()
}

/// A duration in milliseconds, saturated.
fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn log_malformed(stats: &PipelineStats, error: DecodeError, frame: &[u8], origin: Origin<'_>) {
    stats.count_malformed(error);
    let n = stats.feed_malformed.get();
    if n <= MALFORMED_LOGGED_MAX || n.is_multiple_of(1000) {
        let shown = &frame[..frame.len().min(200)];
        log::warn!(
            "feed: {origin}: malformed frame #{n} ({error}): {}",
            String::from_utf8_lossy(shown)
        );
    }
}

impl<S: FrameSource> Stage for FeedStage<S> {
    fn kind(&self) -> StageKind {
        StageKind::Feed
    }

    fn poll(&mut self) -> usize {
        let control = self.tick() + self.resyncs() + self.snapshot();
        if self.owed_count > 0 {
            // A reconnected connection's frames must not overtake its books' reset.
            return control;
        }
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
        let count = self.transport.connection_count();
        let open = (0..count).filter(|&i| self.transport.is_open(i)).count();
        report.set("feed.connections_open", open as u64);
        let mut total = LinkCounts::default();
        for i in 0..count {
            let c = self.transport.counts(i);
            total.silent += c.silent;
            total.missed_pongs += c.missed_pongs;
            total.too_large += c.too_large;
            total.failed_attempts += c.failed_attempts;
            total.pings += c.pings;
        }
        report.set("feed.dead_silent", total.silent);
        report.set("feed.dead_missed_pong", total.missed_pongs);
        report.set("feed.dead_too_large", total.too_large);
        report.set("feed.connect_failures", total.failed_attempts);
        report.set("feed.pings", total.pings);
        report.set("feed.rotations", self.rotations.completed());
        if let Some(snapshots) = &self.control.snapshots {
            let c = snapshots.counts();
            report.set("feed.snapshot_requests", c.requests.load(Ordering::Relaxed));
            report.set(
                "feed.snapshot_throttled",
                c.throttled.load(Ordering::Relaxed),
            );
            report.set(
                "feed.snapshot_bad_body_retries",
                c.bad_body_retries.load(Ordering::Relaxed),
            );
        }
        for (i, &(times, last_ms)) in self.silences.iter().enumerate() {
            if let (true, Some(route)) = (times > 0, &self.routes[i]) {
                report.notes.push(format!(
                    "feed: {} {} {} went silent (stale) {times} time(s), last at unix ms {last_ms}",
                    route.venue,
                    route.kind.name(),
                    route.symbol
                ));
            }
        }
        if let Some(tap) = self.recorder.take() {
            tap.finish(report);
        }
    }
}
