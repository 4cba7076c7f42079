//! `latency_snapshots` rows: one per histogram and scope (cumulative, interval) at each
//! latency dump, and the spool's lookup of every table it can hold.
//!
//! Cold path (sidecar, at a dump; allocates the text values). Owns the table's spool
//! code and column order; the table itself is created by migration v3
//! ([`crate::telemetry::db::migrations`]). It may not touch the record kinds of
//! [`crate::telemetry::db::record`].

use crate::runtime::HistogramSummary;
use crate::telemetry::db::record;
use crate::telemetry::db::row::{Row, RowKeys, Table, Value};

/// `latency_snapshots`. The spool code stays clear of the record tables' small codes
/// (a test checks they never collide).
pub const LATENCY_SNAPSHOTS: Table = Table {
    name: "latency_snapshots",
    code: 64,
    columns: &[
        "taken_at", "metric", "scope", "count", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns",
    ],
};

/// Which histogram of a metric a snapshot summarises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole run so far.
    Cumulative,
    /// Since the previous dump.
    Interval,
}

impl Scope {
    /// The `scope` column's text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Cumulative => "CUMULATIVE",
            Scope::Interval => "INTERVAL",
        }
    }
}

/// The row for `summary` (its `name` is the metric) taken at `taken_at_unix_ns`.
pub fn snapshot_row(
    keys: &mut RowKeys,
    taken_at_unix_ns: u64,
    scope: Scope,
    summary: &HistogramSummary,
) -> Row {
    let int = |v: u64| Value::Int(i64::try_from(v).unwrap_or(i64::MAX));
    let values = vec![
        Value::Time(i64::try_from(taken_at_unix_ns).unwrap_or(i64::MAX)),
        Value::Text(summary.name.clone()),
        Value::Text(scope.as_str().to_owned()),
        int(summary.count),
        int(summary.p50_ns),
        int(summary.p90_ns),
        int(summary.p99_ns),
        int(summary.p999_ns),
        int(summary.max_ns),
    ];
    keys.row(&LATENCY_SNAPSHOTS, values)
}

/// The table with spool code `code`: a record table or `latency_snapshots`.
pub fn table_by_code(code: u8) -> Option<&'static Table> {
    record::table_by_code(code)
        .or_else(|| (code == LATENCY_SNAPSHOTS.code).then_some(&LATENCY_SNAPSHOTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_latency_snapshot_code_is_unique() {
        assert!(
            record::TABLES
                .iter()
                .all(|t| t.code != LATENCY_SNAPSHOTS.code && t.name != LATENCY_SNAPSHOTS.name)
        );
        assert_eq!(
            table_by_code(LATENCY_SNAPSHOTS.code),
            Some(&LATENCY_SNAPSHOTS)
        );
        for table in record::TABLES {
            assert_eq!(table_by_code(table.code), Some(table));
        }
    }

    #[test]
    fn test_latency_snapshot_row_fills_every_column() {
        let summary = HistogramSummary {
            name: "feed".into(),
            count: 3,
            p50_ns: 10,
            p90_ns: 20,
            p99_ns: 30,
            p999_ns: 40,
            p9999_ns: 45,
            max_ns: 50,
        };
        let row = snapshot_row(&mut RowKeys::new(1, 2), 7, Scope::Interval, &summary);
        assert_eq!(row.values.len(), LATENCY_SNAPSHOTS.columns.len());
        assert_eq!(row.values[1], Value::Text("feed".into()));
        assert_eq!(row.values[2], Value::Text("INTERVAL".into()));
        assert_eq!(row.values[3..], [3, 10, 20, 30, 40, 50].map(Value::Int));
    }
}
