//! The backend-neutral row: a table, the row's stable key (run id + sequence) and its
//! column values. Records of every kind become [`Row`]s in the sidecar; the writer
//! thread, the spool and both backends only ever see rows, so a new record kind needs
//! no change here.
//!
//! Cold path (sidecar and writer thread); a row owns its text values.

use std::sync::Arc;

use crate::telemetry::db::migrations::Dialect;

/// One column value, typed loosely enough for both backends.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// 64-bit integer (`INTEGER` in SQLite, `BIGINT` in PostgreSQL).
    Int(i64),
    /// Double (`REAL` / `DOUBLE PRECISION`).
    Real(f64),
    /// Boolean (`INTEGER` 0/1 in SQLite, `BOOLEAN` in PostgreSQL).
    Bool(bool),
    /// Text.
    Text(String),
    /// A wall-clock instant, unix nanoseconds (RFC 3339 text with milliseconds in
    /// SQLite, `TIMESTAMPTZ` in PostgreSQL).
    Time(i64),
}

/// A table that receives rows: its name, its one-byte code in the spool, and the
/// columns a row fills (besides `run_id` and `seq`, which every table has).
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    /// SQL name, the same in both backends.
    pub name: &'static str,
    /// Spool code: unique, never reused (spooled rows outlive a build).
    pub code: u8,
    /// Column names, in the order of [`Row::values`].
    pub columns: &'static [&'static str],
}

impl Table {
    /// `INSERT INTO <table> (run_id, seq, <columns>) VALUES (…), … ON CONFLICT (run_id,
    /// seq) DO NOTHING` for `rows` rows, with numbered parameters in row order (`?n` in
    /// SQLite, `$n` in PostgreSQL).
    pub fn insert_sql(&self, rows: usize, dialect: Dialect) -> String {
        let per_row = self.columns.len() + 2;
        let mark = match dialect {
            Dialect::Sqlite => '?',
            Dialect::Postgres => '$',
        };
        let tuples: Vec<String> = (0..rows)
            .map(|r| {
                let params: Vec<String> = (1..=per_row)
                    .map(|c| format!("{mark}{}", r * per_row + c))
                    .collect();
                format!("({})", params.join(", "))
            })
            .collect();
        format!(
            "INSERT INTO {} (run_id, seq, {}) VALUES {} ON CONFLICT (run_id, seq) DO NOTHING",
            self.name,
            self.columns.join(", "),
            tuples.join(", ")
        )
    }
}

/// One row for one table, with the key that makes writing it idempotent.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Where it goes.
    pub table: &'static Table,
    /// The run that produced it (see [`run_id`]).
    pub run_id: Arc<str>,
    /// Its sequence number within the run, from 0, over all tables.
    pub seq: i64,
    /// One value per [`Table::columns`] entry.
    pub values: Vec<Value>,
}

/// Hands out row keys: the run id of this process and the next sequence number.
#[derive(Debug, Clone)]
pub struct RowKeys {
    run_id: Arc<str>,
    next_seq: i64,
}

impl RowKeys {
    /// Keys for a run that started at `start_unix_ns` in process `pid`.
    pub fn new(start_unix_ns: u64, pid: u32) -> Self {
        Self {
            run_id: run_id(start_unix_ns, pid).into(),
            next_seq: 0,
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &Arc<str> {
        &self.run_id
    }

    /// Wraps `values` for `table` with the next key.
    pub fn row(&mut self, table: &'static Table, values: Vec<Value>) -> Row {
        debug_assert_eq!(values.len(), table.columns.len(), "{}", table.name);
        let seq = self.next_seq;
        self.next_seq += 1;
        Row {
            table,
            run_id: Arc::clone(&self.run_id),
            seq,
            values,
        }
    }
}

/// A run id: the start time in unix nanoseconds (hex) and the process id, unique across
/// restarts and, in practice, across boxes writing to one database.
pub fn run_id(start_unix_ns: u64, pid: u32) -> String {
    format!("{start_unix_ns:016x}-{pid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Table = Table {
        name: "t",
        code: 200,
        columns: &["a"],
    };

    #[test]
    fn test_row_keys_count_from_zero() {
        let mut keys = RowKeys::new(0x1234, 7);
        assert_eq!(&**keys.run_id(), "0000000000001234-7");
        let a = keys.row(&T, vec![Value::Int(1)]);
        let b = keys.row(&T, vec![Value::Null]);
        assert_eq!((a.seq, b.seq), (0, 1));
        assert_eq!(a.run_id, b.run_id);
    }

    #[test]
    fn test_table_insert_sql_numbers_parameters() {
        assert_eq!(
            T.insert_sql(2, Dialect::Postgres),
            "INSERT INTO t (run_id, seq, a) VALUES ($1, $2, $3), ($4, $5, $6) \
             ON CONFLICT (run_id, seq) DO NOTHING"
        );
        assert!(
            T.insert_sql(1, Dialect::Sqlite)
                .contains("VALUES (?1, ?2, ?3) ON")
        );
    }
}
