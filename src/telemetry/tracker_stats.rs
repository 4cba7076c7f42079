//! Opportunity tracker statistics, as the telemetry summary, the `stats` command and
//! (later) Telegram show them: totals, last hour, counts per volatility source, average
//! edge, movements and hybrid advantage, and the recommendation rule.
//!
//! Cold path: SQL over the `opportunities` table, run on the control thread or the
//! sidecar; allocates freely. The rule itself ([`recommend`]) is a pure function.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::Connection;

/// Fewer opportunities than this and the rule only says to collect more.
pub const RECOMMENDATION_MIN_OPPORTUNITIES: u64 = 500;
/// PERP share (percent) from which hybrid can be favoured.
const HYBRID_PERP_SHARE_MIN: f64 = 70.0;
/// Hybrid advantage (bps) from which hybrid can be favoured.
const HYBRID_ADVANTAGE_MIN_BPS: f64 = 2.0;
/// SPOT share (percent) from which IOC stays.
const IOC_SPOT_SHARE_MIN: f64 = 60.0;
/// Below this hybrid advantage (bps) IOC stays.
const IOC_ADVANTAGE_MAX_BPS: f64 = 1.0;

/// What the tracker's history says about execution style.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recommendation {
    /// Fewer than [`RECOMMENDATION_MIN_OPPORTUNITIES`]: not enough to say.
    CollectMore {
        /// Opportunities so far.
        have: u64,
    },
    /// Mostly perp-driven and the maker spot leg pays: IOC perp + post-only spot.
    Hybrid,
    /// Mostly spot-driven, or the maker leg does not pay: IOC both legs.
    KeepIoc,
    /// Neither rule applies: no change suggested.
    Undecided,
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recommendation::CollectMore { have } => write!(
                f,
                "collect more data ({have} of {RECOMMENDATION_MIN_OPPORTUNITIES} opportunities)"
            ),
            Recommendation::Hybrid => f.write_str("hybrid favoured: IOC perp + post-only spot"),
            Recommendation::KeepIoc => f.write_str("keep IOC on both legs"),
            Recommendation::Undecided => f.write_str("no clear preference: keep the current style"),
        }
    }
}

/// The rule: under 500 opportunities, collect more; PERP-driven at least 70% and hybrid
/// advantage at least +2 bps, hybrid; SPOT at least 60% or advantage under +1 bps, IOC.
pub fn recommend(total: u64, perp_pct: f64, spot_pct: f64, advantage_bps: f64) -> Recommendation {
    if total < RECOMMENDATION_MIN_OPPORTUNITIES {
        Recommendation::CollectMore { have: total }
    } else if perp_pct >= HYBRID_PERP_SHARE_MIN && advantage_bps >= HYBRID_ADVANTAGE_MIN_BPS {
        Recommendation::Hybrid
    } else if spot_pct >= IOC_SPOT_SHARE_MIN || advantage_bps < IOC_ADVANTAGE_MAX_BPS {
        Recommendation::KeepIoc
    } else {
        Recommendation::Undecided
    }
}

/// Counts of one volatility source.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SourceCount {
    /// Opportunities.
    pub count: u64,
    /// Share of all opportunities, percent.
    pub pct: f64,
}

/// The tracker's statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerStats {
    /// All opportunities.
    pub total: u64,
    /// Opportunities detected in the hour before `now`.
    pub last_hour: u64,
    /// Opportunities that met the trading threshold.
    pub would_trade: u64,
    /// PERP-driven.
    pub perp: SourceCount,
    /// SPOT-driven.
    pub spot: SourceCount,
    /// BOTH.
    pub both: SourceCount,
    /// Mean edge, bps.
    pub avg_edge_bps: f64,
    /// Mean perp movement, bps.
    pub avg_perp_movement_bps: f64,
    /// Mean spot movement, bps.
    pub avg_spot_movement_bps: f64,
    /// Mean of expected_profit_hybrid - expected_profit_ioc, bps.
    pub avg_hybrid_advantage_bps: f64,
    /// The rule's verdict.
    pub recommendation: Recommendation,
}

/// Computes the statistics; `now_unix_ms` anchors "last hour" (from the clock module).
pub fn tracker_stats(conn: &Connection, now_unix_ms: u64) -> rusqlite::Result<TrackerStats> {
    let cutoff = UNIX_EPOCH + Duration::from_millis(now_unix_ms.saturating_sub(3_600_000));
    let cutoff = humantime::format_rfc3339_millis(cutoff).to_string();
    let (total, last_hour, would_trade, edge, perp_mv, spot_mv, advantage) = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(detected_at >= ?1), 0), COALESCE(SUM(would_trade_current), 0),
                COALESCE(AVG(edge_bps), 0), COALESCE(AVG(perp_movement_bps), 0),
                COALESCE(AVG(spot_movement_bps), 0),
                COALESCE(AVG(expected_profit_hybrid - expected_profit_ioc), 0)
         FROM opportunities",
        [&cutoff],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
    )?;
    let total = u64::try_from(total).unwrap_or(0);
    let count = |source: &str| -> rusqlite::Result<SourceCount> {
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM opportunities WHERE volatility_source = ?1",
            [source],
            |r| r.get(0),
        )?;
        let n = u64::try_from(n).unwrap_or(0);
        let pct = if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        };
        Ok(SourceCount { count: n, pct })
    };
    let (perp, spot, both) = (count("PERP")?, count("SPOT")?, count("BOTH")?);
    Ok(TrackerStats {
        total,
        last_hour: u64::try_from(last_hour).unwrap_or(0),
        would_trade: u64::try_from(would_trade).unwrap_or(0),
        perp,
        spot,
        both,
        avg_edge_bps: edge,
        avg_perp_movement_bps: perp_mv,
        avg_spot_movement_bps: spot_mv,
        avg_hybrid_advantage_bps: advantage,
        recommendation: recommend(total, perp.pct, spot.pct, advantage),
    })
}

impl fmt::Display for TrackerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "opportunities: {} total, {} in the last hour, {} would trade",
            self.total, self.last_hour, self.would_trade
        )?;
        writeln!(
            f,
            "by source: PERP {} ({:.1}%), SPOT {} ({:.1}%), BOTH {} ({:.1}%)",
            self.perp.count,
            self.perp.pct,
            self.spot.count,
            self.spot.pct,
            self.both.count,
            self.both.pct
        )?;
        writeln!(
            f,
            "averages: edge {:.2} bps, perp movement {:.2} bps, spot movement {:.2} bps, hybrid advantage {:+.2} bps",
            self.avg_edge_bps,
            self.avg_perp_movement_bps,
            self.avg_spot_movement_bps,
            self.avg_hybrid_advantage_bps
        )?;
        write!(f, "recommendation: {}", self.recommendation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_recommend_rule_hand_cases() {
        assert_eq!(
            recommend(499, 90.0, 5.0, 5.0),
            Recommendation::CollectMore { have: 499 }
        );
        assert_eq!(recommend(500, 70.0, 10.0, 2.0), Recommendation::Hybrid);
        assert_eq!(recommend(500, 69.9, 10.0, 2.0), Recommendation::Undecided);
        assert_eq!(recommend(500, 70.0, 20.0, 1.99), Recommendation::Undecided);
        assert_eq!(recommend(500, 30.0, 60.0, 5.0), Recommendation::KeepIoc);
        assert_eq!(recommend(500, 80.0, 10.0, 0.5), Recommendation::KeepIoc);
        assert_eq!(recommend(900, 50.0, 40.0, 1.5), Recommendation::Undecided);
    }

    fn db_with(rows: &[(&str, &str, f64, f64)]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE opportunities (detected_at TEXT, volatility_source TEXT, edge_bps REAL,
             perp_movement_bps REAL, spot_movement_bps REAL, would_trade_current INTEGER,
             expected_profit_ioc REAL, expected_profit_hybrid REAL)",
        )
        .unwrap();
        for (at, source, edge, perp_mv) in rows {
            conn.execute(
                "INSERT INTO opportunities VALUES (?1, ?2, ?3, ?4, 1.0, ?5, ?3 - 18.2, ?3 - 14.0)",
                rusqlite::params![at, source, edge, perp_mv, i64::from(*edge >= 20.0)],
            )
            .unwrap();
        }
        conn
    }

    #[test]
    fn test_tracker_stats_hand_values() {
        let conn = db_with(&[
            ("2026-11-21T09:00:00.000Z", "PERP", 12.0, 4.0),
            ("2026-11-21T11:30:00.000Z", "PERP", 24.0, 6.0),
            ("2026-11-21T11:59:00.000Z", "SPOT", 15.0, 0.5),
            ("2026-11-21T11:59:30.000Z", "BOTH", 9.0, 2.5),
        ]);
        let now = humantime::parse_rfc3339("2026-11-21T12:00:00Z").unwrap();
        let now_ms = u64::try_from(now.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
        let s = tracker_stats(&conn, now_ms).unwrap();
        assert_eq!((s.total, s.last_hour, s.would_trade), (4, 3, 1));
        assert_eq!((s.perp.count, s.spot.count, s.both.count), (2, 1, 1));
        assert!((s.perp.pct - 50.0).abs() < 1e-9);
        assert!((s.avg_edge_bps - 15.0).abs() < 1e-9);
        assert!((s.avg_perp_movement_bps - 3.25).abs() < 1e-9);
        assert!((s.avg_hybrid_advantage_bps - 4.2).abs() < 1e-9);
        assert_eq!(s.recommendation, Recommendation::CollectMore { have: 4 });
        assert!(s.to_string().contains("PERP 2 (50.0%)"));
    }

    #[test]
    fn test_tracker_stats_empty_table() {
        let s = tracker_stats(&db_with(&[]), 0).unwrap();
        assert_eq!((s.total, s.perp.pct, s.avg_edge_bps), (0, 0.0, 0.0));
    }
}
