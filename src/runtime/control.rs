//! Operator control of a running pipeline: the kill switch and threshold reloads, set by
//! cold threads (the Telegram bot, signals) and read by hot stages.
//!
//! Lock-free by design: hot stages read one atomic per poll (`Relaxed` loads of a flag or
//! a generation number) and only read the published values when the generation moved.
//! The writer is a single cold thread (the bot); values are published before their
//! generation (`Release`), and read after it (`Acquire`).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use crate::types::bps::Bps;

/// Trading thresholds that can be reloaded while running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// The opportunity tracker's recording threshold, bps.
    pub tracker: Bps,
    /// The trading threshold, bps.
    pub trade: Bps,
}

/// The shared control block (`Arc<Control>`).
#[derive(Debug, Default)]
pub struct Control {
    killed: AtomicBool,
    tracker_bits: AtomicI64,
    trade_bits: AtomicI64,
    thresholds_generation: AtomicU64,
}

impl Control {
    /// Trips the kill switch: the gateway cancels everything, flattens and stops trading
    /// until [`Control::rearm`].
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
    }

    /// Re-arms trading after a kill.
    pub fn rearm(&self) {
        self.killed.store(false, Ordering::Release);
    }

    /// Whether the kill switch is tripped.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Publishes new thresholds; returns their generation (1 for the first reload).
    pub fn publish_thresholds(&self, thresholds: Thresholds) -> u64 {
        self.tracker_bits
            .store(thresholds.tracker.to_bits(), Ordering::Relaxed);
        self.trade_bits
            .store(thresholds.trade.to_bits(), Ordering::Relaxed);
        self.thresholds_generation.fetch_add(1, Ordering::Release) + 1
    }

    /// The generation of the latest published thresholds (0: none published).
    pub fn thresholds_generation(&self) -> u64 {
        self.thresholds_generation.load(Ordering::Acquire)
    }

    /// The latest published thresholds, `None` before the first reload.
    pub fn thresholds(&self) -> Option<Thresholds> {
        (self.thresholds_generation() > 0).then(|| Thresholds {
            tracker: Bps::from_bits(self.tracker_bits.load(Ordering::Relaxed)),
            trade: Bps::from_bits(self.trade_bits.load(Ordering::Relaxed)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_kill_and_rearm() {
        let control = Control::default();
        assert!(!control.is_killed());
        control.kill();
        assert!(control.is_killed());
        control.rearm();
        assert!(!control.is_killed());
    }

    #[test]
    fn test_thresholds_generation_moves_on_publish() {
        let control = Control::default();
        assert_eq!(control.thresholds(), None);
        let t = Thresholds {
            tracker: Bps::from_num(12),
            trade: Bps::from_num(25),
        };
        assert_eq!(control.publish_thresholds(t), 1);
        assert_eq!(control.thresholds(), Some(t));
        assert_eq!(control.thresholds_generation(), 1);
    }
}
