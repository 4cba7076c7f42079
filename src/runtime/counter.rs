//! Single-writer counters: a stage increments its own counters without a locked
//! instruction, and other threads (telemetry, tests) read them at any time.
//!
//! Each [`Counter`] must have exactly one writing thread (its owning stage); readers
//! may be anywhere. Relaxed ordering: values are statistics, not synchronisation.

use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing statistic written by one thread.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Adds `n`. Only the owning stage's thread may call this (a plain load and store,
    /// no read-modify-write instruction).
    #[inline]
    pub fn add(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    /// Adds one (owning thread only).
    #[inline]
    pub fn incr(&self) {
        self.add(1);
    }

    /// Current value, from any thread.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_counter_adds() {
        let c = Counter::new();
        c.incr();
        c.add(41);
        assert_eq!(c.get(), 42);
    }
}
