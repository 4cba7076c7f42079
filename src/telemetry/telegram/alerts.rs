//! Alert rules: compares what the run looks like now with what it looked like at the
//! previous check and says what the operator must hear about: telemetry drops, a venue
//! stale for longer than a limit, the circuit breaker or kill switch tripping, leg-outs,
//! the database spooling (and rows lost when even the spool is full).
//!
//! Pure state machine over values passed in (no clock, no I/O), so each rule is tested
//! with hand-made inputs; the bot thread runs it about once a second.

use std::time::Duration;

use super::html::escape;
use crate::telemetry::status::Status;

/// What an alert check reads besides the status board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertInputs {
    /// `PipelineStats::drops()`.
    pub drops: u64,
    /// Whether the kill switch is tripped.
    pub killed: bool,
    /// Gateway leg-outs so far (`gateway.leg_outs`).
    pub leg_outs: u64,
    /// Now, unix ms.
    pub now_unix_ms: u64,
}

/// The alert state of a run.
#[derive(Debug, Clone)]
pub struct AlertWatch {
    stale_after: Duration,
    last: Option<AlertInputs>,
    stale_alerted: Vec<crate::types::Venue>,
    halted: bool,
    spooling: bool,
    rows_dropped: u64,
}

impl AlertWatch {
    /// Alerts on a venue once it has been stale for `stale_after`.
    pub fn new(stale_after: Duration) -> Self {
        Self {
            stale_after,
            last: None,
            stale_alerted: Vec::new(),
            halted: false,
            spooling: false,
            rows_dropped: 0,
        }
    }

    /// The alerts (HTML) due given `status` and `inputs`; each condition alerts once
    /// when it starts (and, for staleness, once when it ends).
    pub fn check(&mut self, status: &Status, inputs: AlertInputs) -> Vec<String> {
        let mut alerts = Vec::new();
        let before = self.last.unwrap_or(AlertInputs {
            drops: 0,
            killed: false,
            leg_outs: 0,
            ..inputs
        });
        if inputs.drops > before.drops {
            alerts.push(format!(
                "⚠️ Telemetry drops: +{} ({} in all). The sidecar is not keeping up.",
                inputs.drops - before.drops,
                inputs.drops
            ));
        }
        if inputs.leg_outs > before.leg_outs {
            alerts.push(format!(
                "⚠️ Leg-out: +{} ({} in all). A leg did not fill in time and was hedged at \
                 market; see leg_out_events.",
                inputs.leg_outs - before.leg_outs,
                inputs.leg_outs
            ));
        }
        if inputs.killed && !before.killed {
            alerts.push("🛑 Kill switch tripped: trading stopped.".to_owned());
        }
        let halted = status.portfolio.as_ref().is_some_and(|p| p.halted);
        if halted && !self.halted {
            alerts.push("🛑 Circuit breaker tripped: trading halted.".to_owned());
        }
        self.halted = halted;
        self.database(status, &mut alerts);
        for v in &status.venues {
            let stale_for = v
                .stale_since_unix_ms
                .map(|since| Duration::from_millis(inputs.now_unix_ms.saturating_sub(since)));
            let alerted = self.stale_alerted.contains(&v.venue);
            match stale_for {
                Some(d) if d >= self.stale_after && !alerted => {
                    alerts.push(format!(
                        "⚠️ {} stale for {} s (venue delay {}).",
                        escape(&v.venue.to_string()),
                        d.as_secs(),
                        v.mean_delay_ms
                            .map_or_else(|| "unknown".to_owned(), |ms| format!("{ms:.0} ms"))
                    ));
                    self.stale_alerted.push(v.venue);
                }
                None if alerted => {
                    alerts.push(format!("✅ {} fresh again.", escape(&v.venue.to_string())));
                    self.stale_alerted.retain(|&x| x != v.venue);
                }
                _ => {}
            }
        }
        self.last = Some(inputs);
        alerts
    }

    /// Spooling starts and ends; rows lost (the spool was full) grow.
    fn database(&mut self, status: &Status, alerts: &mut Vec<String>) {
        let db = &status.database;
        let spooling = db.rows_waiting > 0;
        if spooling && !self.spooling {
            alerts.push(format!(
                "⚠️ Database away: {} rows waiting in the spool (written in order when it \
                 returns).",
                db.rows_waiting
            ));
        } else if !spooling && self.spooling {
            alerts.push("✅ Database back: the spool is written.".to_owned());
        }
        self.spooling = spooling;
        if db.rows_dropped > self.rows_dropped {
            alerts.push(format!(
                "🛑 Rows LOST: +{} ({} in all): the spool is full.",
                db.rows_dropped - self.rows_dropped,
                db.rows_dropped
            ));
        }
        self.rows_dropped = db.rows_dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::status::{PortfolioStatus, VenueStatus};
    use crate::types::Venue;

    fn inputs(drops: u64, killed: bool, now_unix_ms: u64) -> AlertInputs {
        AlertInputs {
            drops,
            killed,
            leg_outs: 0,
            now_unix_ms,
        }
    }

    #[test]
    fn test_database_spooling_and_lost_rows_alert_on_change() {
        let mut watch = AlertWatch::new(Duration::from_secs(30));
        let mut status = Status::default();
        assert!(watch.check(&status, inputs(0, false, 0)).is_empty());
        status.database.rows_waiting = 40;
        let alerts = watch.check(&status, inputs(0, false, 1));
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].contains("40 rows waiting"), "{alerts:?}");
        status.database.rows_waiting = 90;
        assert!(watch.check(&status, inputs(0, false, 2)).is_empty());
        status.database.rows_dropped = 3;
        let alerts = watch.check(&status, inputs(0, false, 3));
        assert_eq!(alerts, ["🛑 Rows LOST: +3 (3 in all): the spool is full."]);
        status.database.rows_waiting = 0;
        let alerts = watch.check(&status, inputs(0, false, 4));
        assert_eq!(alerts, ["✅ Database back: the spool is written."]);
    }

    #[test]
    fn test_leg_out_alerts_on_each_new_one() {
        let mut watch = AlertWatch::new(Duration::from_secs(30));
        let status = Status::default();
        let at = |leg_outs, now| AlertInputs {
            leg_outs,
            ..inputs(0, false, now)
        };
        assert!(watch.check(&status, at(0, 0)).is_empty());
        let alerts = watch.check(&status, at(2, 1));
        assert_eq!(alerts.len(), 1);
        assert!(
            alerts[0].starts_with("⚠️ Leg-out: +2 (2 in all)"),
            "{alerts:?}"
        );
        assert!(watch.check(&status, at(2, 2)).is_empty());
    }

    #[test]
    fn test_drops_alert_on_growth_only() {
        let mut watch = AlertWatch::new(Duration::from_secs(30));
        let status = Status::default();
        assert!(watch.check(&status, inputs(0, false, 0)).is_empty());
        let alerts = watch.check(&status, inputs(5, false, 1));
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].contains("+5"), "{alerts:?}");
        assert!(watch.check(&status, inputs(5, false, 2)).is_empty());
    }

    #[test]
    fn test_kill_and_circuit_breaker_alert_once() {
        let mut watch = AlertWatch::new(Duration::from_secs(30));
        let mut status = Status::default();
        assert_eq!(watch.check(&status, inputs(0, true, 0)).len(), 1);
        assert!(watch.check(&status, inputs(0, true, 1)).is_empty());
        status.portfolio = Some(PortfolioStatus {
            pnl: -500.0,
            open_positions: 0,
            closed_trades: 3,
            win_rate: 0.0,
            halted: true,
            funding: 0.0,
            margin_used: 0.0,
            margin_utilisation_pct: 0.0,
            liquidations: 0,
        });
        let alerts = watch.check(&status, inputs(0, true, 2));
        assert_eq!(alerts, vec!["🛑 Circuit breaker tripped: trading halted."]);
        assert!(watch.check(&status, inputs(0, true, 3)).is_empty());
    }

    #[test]
    fn test_stale_venue_alerts_after_the_limit_and_on_recovery() {
        let mut watch = AlertWatch::new(Duration::from_secs(30));
        let mut status = Status {
            venues: vec![VenueStatus {
                venue: Venue::Okx,
                mean_delay_ms: Some(350.0),
                stale: true,
                stale_since_unix_ms: Some(1_000),
            }],
            ..Status::default()
        };
        assert!(watch.check(&status, inputs(0, false, 30_999)).is_empty());
        let alerts = watch.check(&status, inputs(0, false, 31_000));
        assert_eq!(alerts, vec!["⚠️ okx stale for 30 s (venue delay 350 ms)."]);
        assert!(watch.check(&status, inputs(0, false, 40_000)).is_empty());
        status.venues[0].stale = false;
        status.venues[0].stale_since_unix_ms = None;
        assert_eq!(
            watch.check(&status, inputs(0, false, 41_000)),
            vec!["✅ okx fresh again."]
        );
    }
}
