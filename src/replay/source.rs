//! The replay's [`FrameSource`]: the inputs merged by receive time (ties go to the
//! earlier input on the command line, then file order), handed to the feed stage one
//! frame per poll, exactly as the live transport would have, with the virtual clock set
//! to each frame's recorded receive time just before the feed stage reads it.
//!
//! As fast as possible by default; with a speed, a frame is due once the wall time
//! since the first frame, times the speed, reaches its recorded offset. Damage found
//! in an input (a truncated recording) ends that input, is logged and kept for the
//! report; the other inputs go on.
//!
//! Runs on the replay thread inside the feed stage; no allocation per frame (a
//! recording's next block reuses its buffers; the merge heap never grows).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::feed::frame_source::{FrameSource, SourcedSnapshot};
use crate::feed::transport::{Frame, LinkCounts, Notice};
use crate::replay::input::{Input, Target};
use crate::runtime::clock;

/// What the replay thread reads while the feed stage owns the source.
#[derive(Debug, Default)]
pub struct ReplayStatus {
    finished: AtomicBool,
    frames: AtomicU64,
    damage: Mutex<Vec<String>>,
}

impl ReplayStatus {
    /// Whether every input has ended and its last frame was taken.
    pub fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Frames and snapshots handed to the feed stage.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// The damage found in inputs (each ended an input early).
    pub fn damage(&self) -> Vec<String> {
        self.damage.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

/// Paced replay: recorded speed times `speed`.
#[derive(Debug, Clone, Copy)]
struct Pace {
    speed: f64,
    wall_start: Instant,
    first_ts_ns: u64,
}

/// The merged inputs as the feed stage's frame source.
pub struct ReplayFrames {
    inputs: Vec<Input>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    connections: usize,
    mock: Arc<quanta::Mock>,
    pace: Option<Pace>,
    /// The input whose head was handed out and must move on before the next read.
    taken: Option<usize>,
    /// The next frame (its input, receive time and target), kept from the last merge
    /// step so the feed stage's several looks per poll cost a compare each.
    next: Option<(usize, u64, Target)>,
    /// Frames handed out (published to `status` with a plain store).
    frames: u64,
    status: Arc<ReplayStatus>,
}

impl ReplayFrames {
    /// Merges `inputs` (each on its first frame) for `connections` connections; sets
    /// the virtual clock (`mock`, from [`crate::runtime::Clock::replayed`]) to the first
    /// frame's receive time. `speed`: `None` as fast as possible, else recorded speed
    /// times it.
    pub fn new(
        inputs: Vec<Input>,
        connections: usize,
        mock: Arc<quanta::Mock>,
        speed: Option<f64>,
    ) -> Self {
        let mut heap = BinaryHeap::with_capacity(inputs.len());
        for (index, input) in inputs.iter().enumerate() {
            if let Some((ts, _, _)) = input.head() {
                heap.push(Reverse((ts, index)));
            }
        }
        let first_ts_ns = heap.peek().map_or(0, |Reverse((ts, _))| *ts);
        let status = Arc::new(ReplayStatus::default());
        status.finished.store(heap.is_empty(), Ordering::Release);
        let mut this = Self {
            next: None,
            frames: 0,
            inputs,
            heap,
            connections,
            mock,
            pace: speed.map(|speed| Pace {
                speed,
                wall_start: clock::monotonic_now(),
                first_ts_ns,
            }),
            taken: None,
            status,
        };
        this.set_clock(first_ts_ns);
        this.next = this.peek();
        this
    }

    /// The status the replay thread watches.
    pub fn status(&self) -> Arc<ReplayStatus> {
        Arc::clone(&self.status)
    }

    /// The next frame when it is due: its input, receive time, target.
    #[inline]
    fn next(&self) -> Option<(usize, u64, Target)> {
        let next = self.next?;
        (self.taken.is_none() && self.due(next.1)).then_some(next)
    }

    /// The head of the merge.
    fn peek(&self) -> Option<(usize, u64, Target)> {
        let Reverse((ts, index)) = *self.heap.peek()?;
        let (_, target, _) = self.inputs[index].head()?;
        Some((index, ts, target))
    }

    #[inline]
    fn due(&self, ts_ns: u64) -> bool {
        let Some(pace) = self.pace else {
            return true;
        };
        let offset_ns = ts_ns.saturating_sub(pace.first_ts_ns) as f64;
        let wall_ns = pace.wall_start.elapsed().as_nanos() as f64;
        offset_ns <= wall_ns * pace.speed
    }

    /// Moves the input whose frame was taken (the head of the merge) on to its next
    /// frame, which takes its place in the merge in one sift.
    fn settle(&mut self) {
        let Some(index) = self.taken.take() else {
            return;
        };
        let next_ts = match self.inputs[index].advance() {
            Ok(()) => self.inputs[index].head().map(|(ts, _, _)| ts),
            Err(e) => {
                log::error!("replay: {e}");
                if let Ok(mut damage) = self.status.damage.lock() {
                    damage.push(e.to_string());
                }
                None
            }
        };
        match (next_ts, self.heap.peek_mut()) {
            (Some(ts), Some(mut head)) => *head = Reverse((ts, index)),
            (None, Some(head)) => {
                PeekMut::pop(head);
            }
            (_, None) => {}
        }
        self.next = self.peek();
        if self.heap.is_empty() {
            self.status.finished.store(true, Ordering::Release);
        }
    }

    /// Hands out the head of input `index`: the clock moves to its receive time.
    #[inline]
    fn take(&mut self, index: usize, ts_ns: u64) {
        self.set_clock(ts_ns);
        self.taken = Some(index);
        self.frames += 1;
        self.status.frames.store(self.frames, Ordering::Relaxed);
    }

    /// Moves the virtual clock forward to `ts_ns` (never back: a capture's times may
    /// step back a little across files).
    #[inline]
    fn set_clock(&self, ts_ns: u64) {
        let now = self.mock.value();
        if ts_ns > now {
            self.mock.increment(ts_ns - now);
        }
    }
}

impl FrameSource for ReplayFrames {
    const SNAPSHOTS_SOURCED: bool = true;

    fn connection_count(&self) -> usize {
        self.connections
    }

    fn is_open(&self, _index: usize) -> bool {
        true
    }

    #[inline]
    fn is_readable(&self, index: usize) -> bool {
        matches!(self.next(), Some((_, _, Target::Connection(c))) if c == index)
    }

    #[inline]
    fn read(&mut self, index: usize) -> Frame<'_> {
        let Some((input, ts, Target::Connection(c))) = self.next() else {
            return Frame::Idle;
        };
        if c != index {
            return Frame::Idle;
        }
        self.take(input, ts);
        match self.inputs[input].head() {
            Some((_, _, payload)) => Frame::Data(payload),
            None => Frame::Idle,
        }
    }

    fn poll_readiness(&mut self) -> io::Result<()> {
        self.settle();
        Ok(())
    }

    fn tick(&mut self, _now_raw: u64) {}

    fn next_notice(&mut self) -> Option<Notice> {
        None
    }

    fn pong(&mut self, _index: usize) {}

    fn send_text(&mut self, _index: usize, _text: &str) -> bool {
        false
    }

    fn counts(&self, _index: usize) -> LinkCounts {
        LinkCounts::default()
    }

    fn next_snapshot(&mut self) -> Option<SourcedSnapshot<'_>> {
        self.settle();
        let (input, ts, Target::Snapshot(instrument)) = self.next()? else {
            return None;
        };
        self.take(input, ts);
        let (_, _, body) = self.inputs[input].head()?;
        Some(SourcedSnapshot { instrument, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::replay::input::{InputFile, Markets, Window};
    use crate::runtime::Clock;
    use crate::types::{MarketKind, Venue};

    /// What the feed stage would see: (connection or snapshot, payload, clock).
    fn drain(source: &mut ReplayFrames, clock: &Clock) -> Vec<(String, String, u64)> {
        let mut seen = Vec::new();
        while !source.status().finished() {
            if let Some(s) = source.next_snapshot() {
                let body = String::from_utf8_lossy(s.body).into_owned();
                seen.push((format!("snapshot {}", s.instrument.0), body, clock.raw()));
            }
            source.poll_readiness().unwrap();
            for i in 0..source.connection_count() {
                if source.is_readable(i)
                    && let Frame::Data(bytes) = source.read(i)
                {
                    let text = String::from_utf8_lossy(bytes).into_owned();
                    seen.push((format!("connection {i}"), text, clock.raw()));
                }
            }
        }
        seen
    }

    #[test]
    fn test_inputs_merge_by_receive_time_with_ties_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let spot = dir.path().join("spot.txt");
        let perp = dir.path().join("perp.txt");
        std::fs::write(
            &spot,
            "10 {\"s\":1}\n30 {\"lastUpdateId\":7}\n30 {\"s\":3}\n50 {\"s\":5}\n",
        )
        .unwrap();
        std::fs::write(&perp, "20 {\"p\":2}\n30 {\"p\":3}\n40 {\"p\":4}\n").unwrap();
        let config = Config::defaults(2).unwrap();
        let list = [
            (Venue::Binance, MarketKind::Spot),
            (Venue::Binance, MarketKind::Perp),
        ];
        let markets = Markets {
            list: &list,
            registry: &config.registry,
        };
        let inputs = [
            format!("binance.spot={}", spot.display()),
            format!("binance.perp={}", perp.display()),
        ]
        .iter()
        .map(|text| {
            let file = InputFile::parse(text).unwrap();
            Input::open(&file, &markets, Window::default()).unwrap()
        })
        .collect();
        let (clock, mock) = Clock::replayed();
        let mut source = ReplayFrames::new(inputs, 2, mock, None);
        assert_eq!(clock.raw(), 10);
        let seen = drain(&mut source, &clock);
        let spot_id = config
            .registry
            .find(Venue::Binance, MarketKind::Spot, "BTCUSDT")
            .unwrap();
        let expected = [
            ("connection 0", "{\"s\":1}", 10),
            ("connection 1", "{\"p\":2}", 20),
            (
                &*format!("snapshot {}", spot_id.0),
                "{\"lastUpdateId\":7}",
                30,
            ),
            ("connection 0", "{\"s\":3}", 30),
            ("connection 1", "{\"p\":3}", 30),
            ("connection 1", "{\"p\":4}", 40),
            ("connection 0", "{\"s\":5}", 50),
        ];
        let seen: Vec<(&str, &str, u64)> = seen
            .iter()
            .map(|(t, p, c)| (t.as_str(), p.as_str(), *c))
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(source.status().frames(), 7);
    }
}
