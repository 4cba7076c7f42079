//! The status board: the latest view of a run that the Telegram bot and the metrics
//! endpoint answer from (stage latencies, venue health, the database writer, the
//! portfolio when trading).
//!
//! Written by the telemetry sidecar about once a second, read by the bot and metrics
//! threads. All of them are cold threads, so a short `Mutex` is fine here; the hot path
//! never touches the board (it publishes through its rings and atomic counters).

use std::sync::{Mutex, MutexGuard};

use crate::telemetry::db::writer::WriterStats;
use crate::types::Venue;

/// One stage's latency percentiles since the start of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageLatency {
    /// Histogram name (`feed`, `book`, `edge`, `ingress_to_decision`, ...).
    pub name: &'static str,
    /// Samples recorded.
    pub count: u64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
}

/// One venue's freshness over the last progress interval.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueStatus {
    /// The venue.
    pub venue: Venue,
    /// Mean venue-to-us delay over the interval, ms (`None`: no venue times seen).
    pub mean_delay_ms: Option<f64>,
    /// Above the venue's stale threshold.
    pub stale: bool,
    /// Since when it is stale, unix ms (`None` when fresh).
    pub stale_since_unix_ms: Option<u64>,
}

/// The portfolio figures shown by `/status` (filled by the gateway's records).
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioStatus {
    /// Realised plus unrealised PnL, quote units.
    pub pnl: f64,
    /// Open positions.
    pub open_positions: u64,
    /// Closed trades.
    pub closed_trades: u64,
    /// Winning share of closed trades, 0..=1.
    pub win_rate: f64,
    /// Whether the circuit breaker or the kill switch halted trading.
    pub halted: bool,
    /// Funding received (positive) or paid so far, quote units.
    pub funding: f64,
    /// Initial margin posted by open perp legs and reserved by working entries, quote
    /// units.
    pub margin_used: f64,
    /// Margin used / realised equity, percent.
    pub margin_utilisation_pct: f64,
    /// Perp legs liquidated.
    pub liquidations: u64,
}

/// Everything the board holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// When the run started, unix ms.
    pub started_unix_ms: u64,
    /// When the sidecar last wrote the board, unix ms (0: never).
    pub updated_unix_ms: u64,
    /// Per-stage latency, in `Metric::ALL` order (empty histograms left out).
    pub stages: Vec<StageLatency>,
    /// Watched venues.
    pub venues: Vec<VenueStatus>,
    /// `None` until a gateway reports.
    pub portfolio: Option<PortfolioStatus>,
    /// The database writer: rows written, spooled, waiting in the spool, dropped.
    pub database: WriterStats,
    /// The NATS publisher, when `[nats]` is on: rows published, pending in its spool,
    /// failed.
    pub nats: Option<WriterStats>,
}

/// The shared board (`Arc<StatusBoard>`).
#[derive(Debug, Default)]
pub struct StatusBoard {
    status: Mutex<Status>,
}

impl StatusBoard {
    /// A board for a run that started at `started_unix_ms`.
    pub fn new(started_unix_ms: u64) -> Self {
        Self {
            status: Mutex::new(Status {
                started_unix_ms,
                ..Status::default()
            }),
        }
    }

    /// A copy of the current status.
    pub fn snapshot(&self) -> Status {
        self.lock().clone()
    }

    /// Changes the status in place.
    pub fn update(&self, change: impl FnOnce(&mut Status)) {
        change(&mut self.lock());
    }

    /// A poisoned lock only means a reader panicked mid-copy; the data is still whole.
    fn lock(&self) -> MutexGuard<'_, Status> {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_update_is_seen_by_snapshot() {
        let board = StatusBoard::new(1_000);
        board.update(|s| {
            s.updated_unix_ms = 2_000;
            s.stages.push(StageLatency {
                name: "feed",
                count: 3,
                p50_ns: 400,
                p99_ns: 900,
            });
        });
        let status = board.snapshot();
        assert_eq!(status.started_unix_ms, 1_000);
        assert_eq!(status.updated_unix_ms, 2_000);
        assert_eq!(status.stages[0].p99_ns, 900);
        assert!(status.portfolio.is_none());
    }
}
