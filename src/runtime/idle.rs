//! Idle policies: what a core does when none of its stages found work.
//!
//! - `Spin`: busy-poll forever. Lowest latency (no wake-up cost), burns the core. For
//!   isolated cores on a tuned box.
//! - `SpinThenYield`: spin for a number of empty polls, then `yield_now` between polls.
//!   Close to spin latency while busy; gives the core away to other threads when idle.
//!   For shared or virtual machines.
//! - `Park`: sleep a fixed time after each empty poll. Adds up to that time of latency;
//!   nearly no CPU. For laptops, CI and cold stages (telemetry).

use std::time::Duration;

use crate::runtime::clock;

/// Default empty polls before yielding, for `SpinThenYield`: about 10-50 µs of spinning.
pub const SPIN_BEFORE_YIELD_DEFAULT: u32 = 1_000;
/// Default sleep per empty poll, for `Park`.
pub const PARK_DEFAULT: Duration = Duration::from_micros(500);

/// What a core does after a poll round that found no work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdlePolicy {
    /// Busy-poll.
    Spin,
    /// Spin `spins` empty rounds, then yield the thread between rounds.
    SpinThenYield {
        /// Empty rounds before yielding.
        spins: u32,
    },
    /// Sleep after every empty round.
    Park {
        /// How long to sleep.
        sleep: Duration,
    },
}

impl IdlePolicy {
    /// Parses a configuration name with default parameters.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "spin" => Some(Self::Spin),
            "spin-then-yield" => Some(Self::SpinThenYield {
                spins: SPIN_BEFORE_YIELD_DEFAULT,
            }),
            "park" => Some(Self::Park {
                sleep: PARK_DEFAULT,
            }),
            _ => None,
        }
    }
}

/// Per-thread state of an idle policy.
#[derive(Debug)]
pub struct Idler {
    policy: IdlePolicy,
    empty_rounds: u32,
}

impl Idler {
    /// A fresh idler.
    pub fn new(policy: IdlePolicy) -> Self {
        Self {
            policy,
            empty_rounds: 0,
        }
    }

    /// Called after each poll round with the work it did.
    #[inline]
    pub fn after_round(&mut self, work: usize) {
        if work > 0 {
            self.empty_rounds = 0;
            return;
        }
        match self.policy {
            IdlePolicy::Spin => std::hint::spin_loop(),
            IdlePolicy::SpinThenYield { spins } => {
                if self.empty_rounds < spins {
                    self.empty_rounds += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            IdlePolicy::Park { sleep } => clock::sleep(sleep),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_idle_policy_names() {
        assert_eq!(IdlePolicy::from_name("spin"), Some(IdlePolicy::Spin));
        assert!(matches!(
            IdlePolicy::from_name("spin-then-yield"),
            Some(IdlePolicy::SpinThenYield { .. })
        ));
        assert!(matches!(
            IdlePolicy::from_name("park"),
            Some(IdlePolicy::Park { .. })
        ));
        assert_eq!(IdlePolicy::from_name("nap"), None);
    }

    #[test]
    fn test_idler_resets_on_work() {
        let mut idler = Idler::new(IdlePolicy::SpinThenYield { spins: 2 });
        idler.after_round(0);
        idler.after_round(0);
        assert_eq!(idler.empty_rounds, 2);
        idler.after_round(3);
        assert_eq!(idler.empty_rounds, 0);
    }
}
