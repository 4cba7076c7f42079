//! Trade analytics over the `trades` table: the latest N closed trades, and statistics
//! (win rate, PnL, fees, profit factor, drawdown of the cumulative PnL) overall, by hour
//! of day (UTC, of the exit) and by confidence bucket.
//!
//! Read-only, cold path: `edgeline trades` and the Telegram bot's `/trades` ask it
//! through the database layer's [`Reader`]. The statistics read every row once in exit
//! order and compute every figure here, so SQLite and PostgreSQL answer the same; the
//! latest N are read with a `LIMIT`.

use std::fmt;

use rusqlite::Connection;

use crate::telemetry::db::DbError;
use crate::telemetry::db::analytics::Reader;
use crate::telemetry::db::error::BoxError;

/// One closed trade as the analytics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeLine {
    /// First entry fill, RFC 3339 UTC with milliseconds.
    pub entry_at: String,
    /// Exit time, RFC 3339 UTC.
    pub exit_at: String,
    /// Hour of day of the exit, UTC.
    pub hour: u8,
    /// `BASIS` or `CROSS_VENUE`.
    pub strategy: String,
    /// Long leg, `venue symbol`.
    pub long: String,
    /// Short leg, `venue symbol`.
    pub short: String,
    /// Base quantity per leg.
    pub qty: f64,
    /// PnL net of fees, quote.
    pub pnl_quote: f64,
    /// PnL on the locked cost, bps.
    pub pnl_bps: f64,
    /// Fees, quote.
    pub fees_quote: f64,
    /// The intent's confidence, 0..=100.
    pub confidence: i64,
    /// Why it closed.
    pub exit_reason: String,
    /// Entry slippage against the decision prices, mean of both legs, bps (positive:
    /// worse).
    pub slippage_bps: f64,
    /// Entry notional of both legs together, quote.
    pub notional_quote: f64,
    /// First entry fill to close, ms.
    pub hold_ms: f64,
}

/// Counts and PnL of a group of trades.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Group {
    /// Trades.
    pub trades: u64,
    /// Trades with a positive PnL.
    pub wins: u64,
    /// Sum of PnL, quote.
    pub pnl_quote: f64,
}

impl Group {
    fn add(&mut self, pnl: f64) {
        self.trades += 1;
        self.wins += u64::from(pnl > 0.0);
        self.pnl_quote += pnl;
    }

    /// Winning share, 0..=1 (0 without trades).
    pub fn win_rate(&self) -> f64 {
        if self.trades == 0 {
            0.0
        } else {
            self.wins as f64 / self.trades as f64
        }
    }
}

/// Confidence buckets: lower bounds, in order.
pub const CONFIDENCE_BUCKETS: [i64; 4] = [0, 50, 70, 90];

/// Statistics over every closed trade.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TradeStats {
    /// All trades.
    pub all: Group,
    /// Fees, quote.
    pub fees_quote: f64,
    /// Gross profit / gross loss (infinite without losses, 0 without trades).
    pub profit_factor: f64,
    /// Largest fall of the cumulative PnL from a peak, quote.
    pub max_drawdown_quote: f64,
    /// By hour of day of the exit (UTC), index = hour.
    pub by_hour: [Group; 24],
    /// By confidence bucket ([`CONFIDENCE_BUCKETS`]).
    pub by_confidence: [Group; CONFIDENCE_BUCKETS.len()],
}

impl TradeStats {
    /// The statistics of `trades`, in exit order.
    pub fn from_trades(trades: &[TradeLine]) -> Self {
        let mut s = TradeStats::default();
        let (mut gross_profit, mut gross_loss) = (0.0, 0.0);
        let (mut cumulative, mut peak) = (0.0_f64, 0.0_f64);
        for t in trades {
            s.all.add(t.pnl_quote);
            s.fees_quote += t.fees_quote;
            if t.pnl_quote > 0.0 {
                gross_profit += t.pnl_quote;
            } else {
                gross_loss -= t.pnl_quote;
            }
            cumulative += t.pnl_quote;
            peak = peak.max(cumulative);
            s.max_drawdown_quote = s.max_drawdown_quote.max(peak - cumulative);
            s.by_hour[usize::from(t.hour % 24)].add(t.pnl_quote);
            let bucket = CONFIDENCE_BUCKETS
                .iter()
                .rposition(|&low| t.confidence >= low)
                .unwrap_or(0);
            s.by_confidence[bucket].add(t.pnl_quote);
        }
        s.profit_factor = if gross_loss > 0.0 {
            gross_profit / gross_loss
        } else if gross_profit > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        s
    }
}

impl fmt::Display for TradeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.all;
        writeln!(
            f,
            "trades: {} closed, win rate {:.1}%, PnL {:+.2} (fees {:.2}), profit factor {}, max drawdown {:.2}",
            a.trades,
            a.win_rate() * 100.0,
            a.pnl_quote,
            self.fees_quote,
            crate::gateway::figures::profit_factor(self.profit_factor, a.trades),
            self.max_drawdown_quote
        )?;
        let line = |f: &mut fmt::Formatter<'_>, label: String, g: &Group| {
            writeln!(
                f,
                "  {label:<10} {:>6} trades  win {:>5.1}%  PnL {:>+12.2}",
                g.trades,
                g.win_rate() * 100.0,
                g.pnl_quote
            )
        };
        writeln!(f, "by hour of exit (UTC):")?;
        for (hour, g) in self.by_hour.iter().enumerate() {
            if g.trades > 0 {
                line(f, format!("{hour:02}:00"), g)?;
            }
        }
        writeln!(f, "by confidence:")?;
        for (i, g) in self.by_confidence.iter().enumerate() {
            let high = CONFIDENCE_BUCKETS.get(i + 1).map_or(100, |h| h - 1);
            line(f, format!("{}-{high}", CONFIDENCE_BUCKETS[i]), g)?;
        }
        Ok(())
    }
}

impl fmt::Display for TradeLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} long {} / short {} qty {} PnL {:+.4} ({:+.2} bps) conf {} {}",
            self.exit_at,
            self.strategy,
            self.long,
            self.short,
            self.qty,
            self.pnl_quote,
            self.pnl_bps,
            self.confidence,
            self.exit_reason
        )
    }
}

const COLUMNS: &str = "strategy, long_venue || ' ' || long_symbol, \
    short_venue || ' ' || short_symbol, qty, pnl_quote, pnl_bps, fees_quote, confidence, \
    exit_reason, slippage_bps, qty * (entry_long_price + entry_short_price)";

/// Hold time in ms, SQLite (times are RFC 3339 text; `julianday` keeps ~0.05 ms).
const HOLD_MS_SQLITE: &str = "(julianday(exit_at) - julianday(entry_at)) * 86400000.0";
/// Hold time in ms, PostgreSQL.
const HOLD_MS_POSTGRES: &str =
    "(EXTRACT(EPOCH FROM (exit_at - entry_at)) * 1000.0)::DOUBLE PRECISION";

impl Reader {
    /// Every closed trade, in exit order.
    pub fn trades(&mut self) -> Result<Vec<TradeLine>, DbError> {
        self.read_trades("ORDER BY exit_at, id", None)
    }

    /// The `n` latest closed trades, newest first.
    pub fn latest_trades(&mut self, n: usize) -> Result<Vec<TradeLine>, DbError> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.read_trades("ORDER BY exit_at DESC, id DESC", Some(n))
    }

    /// Trades in `order`, at most `limit` of them.
    fn read_trades(&mut self, order: &str, limit: Option<i64>) -> Result<Vec<TradeLine>, DbError> {
        let result = match self {
            Reader::Sqlite(conn) => trades_sqlite(conn, order, limit).map_err(BoxError::from),
            Reader::Postgres(client) => {
                trades_postgres(client, order, limit).map_err(BoxError::from)
            }
        };
        result.map_err(|e| self.read_err(e))
    }

    /// Statistics over every closed trade.
    pub fn trade_stats(&mut self) -> Result<TradeStats, DbError> {
        Ok(TradeStats::from_trades(&self.trades()?))
    }
}

/// ` LIMIT n`, or nothing.
fn limit_sql(limit: Option<i64>) -> String {
    limit.map_or_else(String::new, |n| format!(" LIMIT {n}"))
}

fn trades_sqlite(
    conn: &Connection,
    order: &str,
    limit: Option<i64>,
) -> rusqlite::Result<Vec<TradeLine>> {
    let sql = format!(
        "SELECT exit_at, CAST(strftime('%H', exit_at) AS INTEGER), {COLUMNS}, \
         {HOLD_MS_SQLITE}, entry_at FROM trades {order}{}",
        limit_sql(limit)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        Ok(TradeLine {
            exit_at: r.get(0)?,
            hour: u8::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            strategy: r.get(2)?,
            long: r.get(3)?,
            short: r.get(4)?,
            qty: r.get(5)?,
            pnl_quote: r.get(6)?,
            pnl_bps: r.get(7)?,
            fees_quote: r.get(8)?,
            confidence: r.get(9)?,
            exit_reason: r.get(10)?,
            slippage_bps: r.get(11)?,
            notional_quote: r.get(12)?,
            hold_ms: r.get(13)?,
            entry_at: r.get(14)?,
        })
    })?;
    rows.collect()
}

fn trades_postgres(
    client: &mut postgres::Client,
    order: &str,
    limit: Option<i64>,
) -> Result<Vec<TradeLine>, postgres::Error> {
    let sql = format!(
        "SELECT to_char(exit_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
         EXTRACT(HOUR FROM exit_at AT TIME ZONE 'UTC')::INTEGER, {COLUMNS}, \
         {HOLD_MS_POSTGRES}, \
         to_char(entry_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') \
         FROM trades {order}{}",
        limit_sql(limit)
    );
    let rows = client.query(&sql, &[])?;
    Ok(rows
        .iter()
        .map(|r| TradeLine {
            exit_at: r.get(0),
            hour: u8::try_from(r.get::<_, i32>(1)).unwrap_or(0),
            strategy: r.get(2),
            long: r.get(3),
            short: r.get(4),
            qty: r.get(5),
            pnl_quote: r.get(6),
            pnl_bps: r.get(7),
            fees_quote: r.get(8),
            confidence: r.get(9),
            exit_reason: r.get(10),
            slippage_bps: r.get(11),
            notional_quote: r.get(12),
            hold_ms: r.get(13),
            entry_at: r.get(14),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(hour: u8, pnl: f64, confidence: i64) -> TradeLine {
        TradeLine {
            entry_at: format!("2026-11-21T{hour:02}:00:00.000Z"),
            exit_at: format!("2026-11-21T{hour:02}:00:00.000Z"),
            hour,
            strategy: "CROSS_VENUE".into(),
            long: "binance BTCUSDT".into(),
            short: "okx BTC-USDT-SWAP".into(),
            qty: 0.01,
            pnl_quote: pnl,
            pnl_bps: pnl,
            fees_quote: 0.5,
            confidence,
            exit_reason: "TARGET".into(),
            slippage_bps: 0.0,
            notional_quote: 100.0,
            hold_ms: 1_000.0,
        }
    }

    #[test]
    fn test_trade_stats_by_hour_confidence_and_drawdown() {
        let trades = [
            trade(9, 10.0, 95),
            trade(9, -4.0, 55),
            trade(10, -6.0, 72),
            trade(23, 5.0, 10),
        ];
        let s = TradeStats::from_trades(&trades);
        assert_eq!(s.all.trades, 4);
        assert_eq!(s.all.wins, 2);
        assert!((s.all.pnl_quote - 5.0).abs() < 1e-9);
        assert!((s.fees_quote - 2.0).abs() < 1e-9);
        assert!((s.profit_factor - 1.5).abs() < 1e-9, "15 / 10");
        assert!(
            (s.max_drawdown_quote - 10.0).abs() < 1e-9,
            "peak 10, trough 0"
        );
        assert_eq!(s.by_hour[9].trades, 2);
        assert_eq!(s.by_hour[10].wins, 0);
        assert_eq!(s.by_hour[23].wins, 1);
        let buckets: Vec<u64> = s.by_confidence.iter().map(|g| g.trades).collect();
        assert_eq!(buckets, [1, 1, 1, 1]);
        assert!((s.by_confidence[3].pnl_quote - 10.0).abs() < 1e-9);
        let text = s.to_string();
        assert!(text.contains("09:00") && !text.contains("11:00"), "{text}");
        assert!(text.contains("90-100"), "{text}");
        let empty = TradeStats::from_trades(&[]);
        assert_eq!((empty.all.trades, empty.profit_factor), (0, 0.0));
    }

    #[test]
    fn test_sqlite_trades_read_hold_time_notional_and_slippage() {
        use crate::telemetry::db::DatabaseSettings;
        use crate::telemetry::db::sqlite::{DB_FILE_NAME, SqliteDb};
        let dir = tempfile::tempdir().unwrap();
        SqliteDb::open(&dir.path().join(DB_FILE_NAME)).unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        conn.execute(
            "INSERT INTO trades (run_id, seq, trade_id, intent_id, strategy, \
             strategy_version, config_hash, mode, long_venue, long_symbol, short_venue, \
             short_symbol, qty, entry_at, exit_at, entry_long_price, entry_short_price, \
             exit_long_price, exit_short_price, entry_edge_bps, exit_edge_bps, pnl_quote, \
             pnl_bps, fees_quote, slippage_bps, latency_ms, confidence, exit_reason) \
             VALUES ('r', 1, 'T1', 1, 'BASIS', '0', 'h', 'PAPER', 'binance', 'BTCUSDT', \
             'binance', 'BTCUSDT', 0.5, '2026-11-21T09:59:58.500Z', \
             '2026-11-21T10:00:00.000Z', 100.0, 102.0, 101.0, 101.0, 200.0, 0.0, 0.4, \
             39.6, 0.1, 1.5, 10.0, 100, 'TARGET')",
            [],
        )
        .unwrap();
        let mut reader = Reader::open(&DatabaseSettings::default(), dir.path()).unwrap();
        let trades = reader.trades().unwrap();
        assert_eq!(trades.len(), 1);
        let t = &trades[0];
        assert_eq!((t.hour, t.slippage_bps), (10, 1.5));
        assert!((t.notional_quote - 101.0).abs() < 1e-9, "0.5 x (100 + 102)");
        assert!((t.hold_ms - 1_500.0).abs() < 0.1, "{}", t.hold_ms);
        assert_eq!(t.entry_at, "2026-11-21T09:59:58.500Z");
    }
}
