//! The real PostgreSQL server for integration tests: 127.0.0.1:5432, user `postgres`,
//! trust auth, database `test`. Each test works in a schema of its own (dropped at the
//! end), so tests run in parallel. Without a reachable server a test prints SKIPPED;
//! under `CI=true` it fails instead.

use std::sync::atomic::{AtomicU32, Ordering};

use postgres::types::FromSql;
use postgres::{Client, NoTls};

/// The test server.
pub const URL: &str = "postgres://postgres@127.0.0.1:5432/test?connect_timeout=5";

/// A connection to the test server, or `None` (after printing SKIPPED) when it cannot be
/// reached; panics instead under `CI=true`.
pub fn connect() -> Option<Client> {
    match Client::connect(URL, NoTls) {
        Ok(client) => Some(client),
        Err(err) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but PostgreSQL at {URL} cannot be reached: {err}"
            );
            eprintln!("SKIPPED: PostgreSQL at {URL} cannot be reached ({err})");
            None
        }
    }
}

/// A schema of one test; dropped with everything in it when this is dropped.
pub struct Schema {
    /// Its name, also the `application_name` of the writer's connections.
    pub name: String,
    /// An administrative connection (not in the schema's search path).
    pub admin: Client,
}

impl Schema {
    /// Creates a fresh schema for `test`, or `None` (SKIPPED) without a server.
    pub fn create(test: &str) -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let mut admin = connect()?;
        let name = format!(
            "edgeline_{test}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        Some(Self { name, admin })
    }

    /// A URL whose connections work in this schema and are named after it.
    pub fn url(&self) -> String {
        self.url_at("127.0.0.1:5432")
    }

    /// [`Schema::url`] through another address (a proxy).
    pub fn url_at(&self, addr: &str) -> String {
        format!(
            "postgres://postgres@{addr}/test?options=-c%20search_path%3D{0}&application_name={0}",
            self.name
        )
    }

    /// Rows in `table` of this schema.
    pub fn count(&mut self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {}.{table}", self.name);
        self.admin.query_one(&sql, &[]).unwrap().get(0)
    }

    /// The two columns of every row of `sql`, where `{s}` stands for this schema.
    pub fn pairs<A, B>(&mut self, sql: &str) -> Vec<(A, B)>
    where
        A: for<'a> FromSql<'a>,
        B: for<'a> FromSql<'a>,
    {
        let sql = sql.replace("{s}", &self.name);
        let rows = self.admin.query(&sql, &[]).unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    /// The `seq` column of `table`, in `id` (arrival) order.
    pub fn seqs(&mut self, table: &str) -> Vec<i64> {
        let sql = format!("SELECT seq FROM {}.{table} ORDER BY id", self.name);
        let rows = self.admin.query(&sql, &[]).unwrap();
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// Terminates every server connection of the writer; returns how many.
    pub fn kill_writer_connections(&mut self) -> usize {
        let rows = self
            .admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&self.name],
            )
            .unwrap();
        rows.len()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if let Err(err) = self.admin.batch_execute(&sql) {
            eprintln!("dropping schema {}: {err}", self.name);
        }
    }
}
