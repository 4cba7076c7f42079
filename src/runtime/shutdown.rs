//! Shutdown: Ctrl-C, SIGTERM or the end of `--duration` set one flag that every stage
//! thread checks between poll rounds. Cold path; runs on the control thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::runtime::clock;

/// Exit status of a process a second signal forced to stop (128 + SIGINT).
pub const FORCED_EXIT_STATUS: i32 = 130;

/// Why the run is ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The configured duration elapsed.
    Duration,
    /// SIGINT or SIGTERM arrived.
    Signal,
    /// [`Shutdown::request_stop`] was called (embedding, tests).
    Requested,
    /// A replay used up its inputs.
    EndOfInput,
}

/// The stop flag and the signal handlers that set it.
#[derive(Debug, Clone)]
pub struct Shutdown {
    stop: Arc<AtomicBool>,
    signalled: Arc<AtomicBool>,
}

impl Shutdown {
    /// A shutdown flag with SIGINT and SIGTERM handlers registered: the first signal
    /// asks for a clean stop (the report and files are still written); a second one,
    /// while that stop is under way, exits the process at once with
    /// [`FORCED_EXIT_STATUS`].
    pub fn with_signals() -> std::io::Result<Self> {
        let this = Self::manual();
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                FORCED_EXIT_STATUS,
                Arc::clone(&this.signalled),
            )?;
            signal_hook::flag::register(signal, Arc::clone(&this.signalled))?;
        }
        Ok(this)
    }

    /// A shutdown flag without signal handlers (tests, embedding).
    pub fn manual() -> Self {
        Self {
            stop: Arc::new(AtomicBool::new(false)),
            signalled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The flag stage threads poll.
    pub fn flag(&self) -> &Arc<AtomicBool> {
        &self.stop
    }

    /// Asks every stage to stop.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether a signal arrived or a stop was requested (without waiting or setting the
    /// stop flag): for a thread that drives stages itself (replays).
    pub fn requested(&self) -> Option<StopReason> {
        if self.signalled.load(Ordering::Relaxed) {
            Some(StopReason::Signal)
        } else if self.stop.load(Ordering::Relaxed) {
            Some(StopReason::Requested)
        } else {
            None
        }
    }

    /// Blocks the control thread until `duration` elapsed, a signal arrived or a stop was
    /// requested, then sets the stop flag.
    pub fn wait(&self, duration: Duration) -> StopReason {
        let deadline = clock::monotonic_now() + duration;
        let reason = loop {
            if self.signalled.load(Ordering::Relaxed) {
                break StopReason::Signal;
            }
            if self.stop.load(Ordering::Relaxed) {
                break StopReason::Requested;
            }
            let now = clock::monotonic_now();
            if now >= deadline {
                break StopReason::Duration;
            }
            clock::sleep((deadline - now).min(Duration::from_millis(20)));
        };
        self.request_stop();
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_wait_stops_after_duration() {
        let s = Shutdown::manual();
        assert_eq!(s.wait(Duration::from_millis(10)), StopReason::Duration);
        assert!(s.flag().load(Ordering::Relaxed));
    }
}
