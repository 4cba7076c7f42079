//! The database schema as versioned migrations, shared by both backends.
//!
//! Each backend records the versions it applied in a `schema_migrations` table
//! (`version`, `name`, `applied_at`) and applies each missing one once, in its own
//! transaction together with its `schema_migrations` row. Append only: never edit a
//! released migration; a change is a new one. Most migrations are written once as a
//! template whose type placeholders ([`Dialect::render`]) become each backend's types.
//!
//! Every table that receives rows has `run_id` and `seq` (the row key, unique
//! together): writes are `INSERT … ON CONFLICT (run_id, seq) DO NOTHING`, so a row
//! replayed from the spool never duplicates. `id` orders rows by arrival.
//!
//! The record tables beyond `opportunities` are created ahead of their writers (the
//! cross-venue scanner and the gateway); their columns are documented in the SQL below.

/// SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.
    Sqlite,
    /// PostgreSQL 12 or newer.
    Postgres,
}

impl Dialect {
    /// `template` with its type placeholders replaced: `{id}` (an auto-increasing
    /// primary key), `{time}` (a wall-clock instant), `{real}`, `{bool}` and `{int}`
    /// (64-bit integer).
    pub fn render(self, template: &str) -> String {
        let types: [(&str, &str); 5] = match self {
            Dialect::Sqlite => [
                ("{id}", "INTEGER PRIMARY KEY"),
                ("{time}", "TEXT"),
                ("{real}", "REAL"),
                ("{bool}", "INTEGER"),
                ("{int}", "INTEGER"),
            ],
            Dialect::Postgres => [
                ("{id}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
                ("{time}", "TIMESTAMPTZ"),
                ("{real}", "DOUBLE PRECISION"),
                ("{bool}", "BOOLEAN"),
                ("{int}", "BIGINT"),
            ],
        };
        types
            .iter()
            .fold(template.to_owned(), |sql, (from, to)| sql.replace(from, to))
    }
}

/// The SQL of one migration.
#[derive(Debug, Clone, Copy)]
pub enum MigrationSql {
    /// One template for both dialects (see [`Dialect::render`]).
    Shared(&'static str),
    /// Literal SQL per dialect.
    PerDialect {
        /// SQLite.
        sqlite: &'static str,
        /// PostgreSQL.
        postgres: &'static str,
    },
}

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its version: 1, 2, … in order.
    pub version: i64,
    /// A short name, stored in `schema_migrations`.
    pub name: &'static str,
    /// What it runs.
    pub sql: MigrationSql,
}

impl Migration {
    /// The SQL to run on `dialect`.
    pub fn sql(&self, dialect: Dialect) -> String {
        match (self.sql, dialect) {
            (MigrationSql::Shared(template), _) => dialect.render(template),
            (MigrationSql::PerDialect { sqlite, .. }, Dialect::Sqlite) => sqlite.to_owned(),
            (MigrationSql::PerDialect { postgres, .. }, Dialect::Postgres) => postgres.to_owned(),
        }
    }
}

/// Every migration, in version order.
pub const MIGRATIONS: [Migration; 4] = [
    Migration {
        version: 1,
        name: "opportunities",
        sql: MigrationSql::PerDialect {
            sqlite: OPPORTUNITIES_SQLITE,
            postgres: OPPORTUNITIES_POSTGRES,
        },
    },
    Migration {
        version: 2,
        name: "row keys",
        sql: MigrationSql::Shared(ROW_KEYS),
    },
    Migration {
        version: 3,
        name: "spread, gateway and latency records",
        sql: MigrationSql::Shared(RECORD_TABLES),
    },
    Migration {
        version: 4,
        name: "funding and margin",
        sql: MigrationSql::Shared(FUNDING_MARGIN),
    },
];

/// The schema version this build writes: the last migration's.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const _: () = {
    let mut i = 0;
    while i < MIGRATIONS.len() {
        assert!(
            MIGRATIONS[i].version == i as i64 + 1,
            "versions are 1, 2, …"
        );
        i += 1;
    }
};

/// `schema_migrations` itself (rendered per dialect; created before any migration).
pub const SCHEMA_MIGRATIONS_TABLE: &str = "
CREATE TABLE IF NOT EXISTS schema_migrations (
    version {int} PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at {time} NOT NULL DEFAULT CURRENT_TIMESTAMP
)";

/// The summary view of migration 1, the same in both dialects.
macro_rules! summary_view {
    () => {
        "CREATE VIEW opportunity_summary_by_source AS
SELECT volatility_source,
       COUNT(*) AS count,
       AVG(edge_bps) AS avg_edge_bps,
       AVG(perp_movement_bps) AS avg_perp_movement_bps,
       AVG(spot_movement_bps) AS avg_spot_movement_bps,
       AVG(expected_profit_hybrid - expected_profit_ioc) AS avg_hybrid_advantage_bps
FROM opportunities
GROUP BY volatility_source;
"
    };
}

/// Migration 1 as released for SQLite (then tracked in `PRAGMA user_version`).
const OPPORTUNITIES_SQLITE: &str = concat!(
    "
CREATE TABLE opportunities (
    id INTEGER PRIMARY KEY,
    detected_at TEXT NOT NULL,
    detection_latency_ms REAL NOT NULL,
    edge_bps REAL NOT NULL,
    perp_bid REAL NOT NULL,
    perp_ask REAL NOT NULL,
    spot_bid REAL NOT NULL,
    spot_ask REAL NOT NULL,
    mid_ref REAL NOT NULL,
    baseline_perp_bid REAL NOT NULL,
    baseline_perp_ask REAL NOT NULL,
    baseline_spot_bid REAL NOT NULL,
    baseline_spot_ask REAL NOT NULL,
    perp_bid_deviation_bps REAL NOT NULL,
    perp_ask_deviation_bps REAL NOT NULL,
    spot_bid_deviation_bps REAL NOT NULL,
    spot_ask_deviation_bps REAL NOT NULL,
    perp_movement_bps REAL NOT NULL,
    spot_movement_bps REAL NOT NULL,
    volatility_source TEXT NOT NULL CHECK (volatility_source IN ('PERP', 'SPOT', 'BOTH')),
    volatility_ratio REAL NOT NULL,
    would_trade_current INTEGER NOT NULL CHECK (would_trade_current IN (0, 1)),
    cost_ioc_both REAL NOT NULL,
    cost_ioc_perp_alo_spot REAL NOT NULL,
    cost_alo_both REAL NOT NULL,
    expected_profit_ioc REAL NOT NULL,
    expected_profit_hybrid REAL NOT NULL,
    analysis_duration_ms REAL NOT NULL,
    venue TEXT NOT NULL,
    spot_symbol TEXT NOT NULL,
    perp_symbol TEXT NOT NULL,
    direction TEXT NOT NULL,
    venue_ts_ms INTEGER NOT NULL
);
CREATE INDEX idx_opportunities_detected_at ON opportunities (detected_at);
CREATE INDEX idx_opportunities_volatility_source ON opportunities (volatility_source);
CREATE INDEX idx_opportunities_edge_bps ON opportunities (edge_bps);
CREATE INDEX idx_opportunities_would_trade_current ON opportunities (would_trade_current);
",
    summary_view!()
);

/// Migration 1 for PostgreSQL: the same table with native types.
const OPPORTUNITIES_POSTGRES: &str = concat!(
    "
CREATE TABLE opportunities (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    detected_at TIMESTAMPTZ NOT NULL,
    detection_latency_ms DOUBLE PRECISION NOT NULL,
    edge_bps DOUBLE PRECISION NOT NULL,
    perp_bid DOUBLE PRECISION NOT NULL,
    perp_ask DOUBLE PRECISION NOT NULL,
    spot_bid DOUBLE PRECISION NOT NULL,
    spot_ask DOUBLE PRECISION NOT NULL,
    mid_ref DOUBLE PRECISION NOT NULL,
    baseline_perp_bid DOUBLE PRECISION NOT NULL,
    baseline_perp_ask DOUBLE PRECISION NOT NULL,
    baseline_spot_bid DOUBLE PRECISION NOT NULL,
    baseline_spot_ask DOUBLE PRECISION NOT NULL,
    perp_bid_deviation_bps DOUBLE PRECISION NOT NULL,
    perp_ask_deviation_bps DOUBLE PRECISION NOT NULL,
    spot_bid_deviation_bps DOUBLE PRECISION NOT NULL,
    spot_ask_deviation_bps DOUBLE PRECISION NOT NULL,
    perp_movement_bps DOUBLE PRECISION NOT NULL,
    spot_movement_bps DOUBLE PRECISION NOT NULL,
    volatility_source TEXT NOT NULL CHECK (volatility_source IN ('PERP', 'SPOT', 'BOTH')),
    volatility_ratio DOUBLE PRECISION NOT NULL,
    would_trade_current BOOLEAN NOT NULL,
    cost_ioc_both DOUBLE PRECISION NOT NULL,
    cost_ioc_perp_alo_spot DOUBLE PRECISION NOT NULL,
    cost_alo_both DOUBLE PRECISION NOT NULL,
    expected_profit_ioc DOUBLE PRECISION NOT NULL,
    expected_profit_hybrid DOUBLE PRECISION NOT NULL,
    analysis_duration_ms DOUBLE PRECISION NOT NULL,
    venue TEXT NOT NULL,
    spot_symbol TEXT NOT NULL,
    perp_symbol TEXT NOT NULL,
    direction TEXT NOT NULL,
    venue_ts_ms BIGINT NOT NULL
);
CREATE INDEX idx_opportunities_detected_at ON opportunities (detected_at);
CREATE INDEX idx_opportunities_volatility_source ON opportunities (volatility_source);
CREATE INDEX idx_opportunities_edge_bps ON opportunities (edge_bps);
CREATE INDEX idx_opportunities_would_trade_current ON opportunities (would_trade_current);
",
    summary_view!()
);

/// Migration 2: the row key of `opportunities` (rows written before it keep NULLs,
/// which a unique index allows any number of).
const ROW_KEYS: &str = "
ALTER TABLE opportunities ADD COLUMN run_id TEXT;
ALTER TABLE opportunities ADD COLUMN seq {int};
CREATE UNIQUE INDEX idx_opportunities_row_key ON opportunities (run_id, seq);
";

/// Migration 3: the tables of the other record kinds. Prices and quantities are in the
/// instrument's quote and base units; `*_bps` are basis points of notional; times are
/// wall-clock instants; `side` is `BUY` or `SELL`; `market` is `spot` or `perp`.
const RECORD_TABLES: &str = "
-- Cross-venue spread opportunities accepted by the scanner: best bid on one venue
-- against best ask on another, net of both taker fees, the depth-based slippage model
-- and the funding difference; the best size in columns, every size evaluated (and the
-- soft confidence metrics, null where not available) as JSON text.
CREATE TABLE spread_opportunities (
    id {id},
    run_id TEXT NOT NULL,
    seq {int} NOT NULL,
    detected_at {time} NOT NULL,
    detection_latency_ms {real} NOT NULL,
    expires_at {time} NOT NULL,          -- the signal's expiry
    base TEXT NOT NULL,                  -- coin, e.g. BTC
    kind TEXT NOT NULL,                  -- spot or perp (both legs)
    buy_venue TEXT NOT NULL,             -- where we would buy (lift the ask)
    buy_symbol TEXT NOT NULL,
    sell_venue TEXT NOT NULL,            -- where we would sell (hit the bid)
    sell_symbol TEXT NOT NULL,
    buy_ask {real} NOT NULL,
    sell_bid {real} NOT NULL,
    gross_bps {real} NOT NULL,
    fees_bps {real} NOT NULL,            -- both taker fees
    funding_delta_bps {real} NOT NULL,   -- 0 unless both legs are perps
    buy_venue_delay_ms {int} NOT NULL,
    sell_venue_delay_ms {int} NOT NULL,
    stale_penalty {int} NOT NULL,        -- confidence points lost to a slow venue
    notional {real} NOT NULL,            -- best size, quote units
    qty {real} NOT NULL,
    vwap_buy {real} NOT NULL,
    vwap_sell {real} NOT NULL,
    slippage_bps {real} NOT NULL,
    net_bps {real} NOT NULL,
    expected_profit {real} NOT NULL,     -- quote units at the best size
    confidence {int} NOT NULL,           -- 0..=100
    metrics TEXT NOT NULL,               -- JSON: soft metric scores
    sizes TEXT NOT NULL,                 -- JSON: every size evaluated
    UNIQUE (run_id, seq)
);
CREATE INDEX idx_spread_opportunities_detected_at ON spread_opportunities (detected_at);
CREATE INDEX idx_spread_opportunities_base ON spread_opportunities (base);
CREATE INDEX idx_spread_opportunities_net_bps ON spread_opportunities (net_bps);

-- Rejected scanner candidates, counted per reason at each flush (not a row each).
CREATE TABLE spread_rejections (
    id {id},
    run_id TEXT NOT NULL,
    seq {int} NOT NULL,
    flushed_at {time} NOT NULL,
    reason TEXT NOT NULL,
    count {int} NOT NULL,
    UNIQUE (run_id, seq)
);
CREATE INDEX idx_spread_rejections_flushed_at ON spread_rejections (flushed_at);

-- Orders: one row per order event (sent, acknowledged, partially filled, filled,
-- cancelled, rejected, expired); an order's state is its latest row.
CREATE TABLE orders (
    id {id},
    run_id TEXT NOT NULL,
    seq {int} NOT NULL,
    event_at {time} NOT NULL,
    order_id TEXT NOT NULL,              -- our client order id
    venue_order_id TEXT,                 -- the venue's, once acknowledged
    intent_id {int} NOT NULL,            -- the OrderIntent it executes
    leg TEXT NOT NULL,                   -- FIRST, SECOND or HEDGE
    mode TEXT NOT NULL,                  -- PAPER or LIVE
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    market TEXT NOT NULL,
    side TEXT NOT NULL,
    style TEXT NOT NULL,                 -- IOC, POST_ONLY or MARKET
    limit_price {real},                  -- NULL for a market order
    qty {real} NOT NULL,
    status TEXT NOT NULL,                -- NEW, ACKED, PARTIALLY_FILLED, FILLED, CANCELLED, REJECTED, EXPIRED
    filled_qty {real} NOT NULL,
    avg_fill_price {real},
    reject_reason TEXT,
    UNIQUE (run_id, seq)
);
CREATE INDEX idx_orders_order_id ON orders (order_id);
CREATE INDEX idx_orders_event_at ON orders (event_at);

-- Fills: one row per execution.
CREATE TABLE fills (
    id {id},
    run_id TEXT NOT NULL,
    seq {int} NOT NULL,
    filled_at {time} NOT NULL,
    order_id TEXT NOT NULL,
    trade_id TEXT,                       -- the venue's execution id
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    market TEXT NOT NULL,
    side TEXT NOT NULL,
    price {real} NOT NULL,
    qty {real} NOT NULL,
    fee {real} NOT NULL,                 -- in fee_asset; negative for a maker rebate
    fee_asset TEXT NOT NULL,
    liquidity TEXT NOT NULL,             -- MAKER or TAKER
    latency_ms {real} NOT NULL,          -- order sent to fill received
    UNIQUE (run_id, seq)
);
CREATE INDEX idx_fills_order_id ON fills (order_id);
CREATE INDEX idx_fills_filled_at ON fills (filled_at);

-- Leg-outs: the first leg filled, the second did not within its timeout, and the
-- first was hedged at market.
CREATE TABLE leg_out_events (
    id {id},
    run_id TEXT NOT NULL,
    seq {int} NOT NULL,
    occurred_at {time} NOT NULL,
    intent_id {int} NOT NULL,
    filled_venue TEXT NOT NULL,
    filled_symbol TEXT NOT NULL,
    filled_side TEXT NOT NULL,
    filled_qty {real} NOT NULL,
    filled_price {real} NOT NULL,
    missed_venue TEXT NOT NULL,
    missed_symbol TEXT NOT NULL,
    timeout_ms {real} NOT NULL,
    hedge_order_id TEXT,
    hedge_price {real},
    hedge_qty {real},
    cost_quote {real},                   -- loss of the hedge against the intended edge
    UNIQUE (run_id, seq)
);
CREATE INDEX idx_leg_out_events_occurred_at ON leg_out_events (occurred_at);

-- Trades: one closed round trip (entry and exit of both legs).
CREATE TABLE trades (
    id {id},
    run_id TEXT NOT NULL,
    seq {int} NOT NULL,
    trade_id TEXT NOT NULL,
    intent_id {int} NOT NULL,
    strategy TEXT NOT NULL,              -- BASIS or CROSS_VENUE
    strategy_version TEXT NOT NULL,
    config_hash TEXT NOT NULL,           -- hash of the resolved configuration
    mode TEXT NOT NULL,                  -- PAPER or LIVE
    long_venue TEXT NOT NULL,
    long_symbol TEXT NOT NULL,
    short_venue TEXT NOT NULL,
    short_symbol TEXT NOT NULL,
    qty {real} NOT NULL,                 -- base units per leg
    entry_at {time} NOT NULL,
    exit_at {time} NOT NULL,
    entry_long_price {real} NOT NULL,
    entry_short_price {real} NOT NULL,
    exit_long_price {real} NOT NULL,
    exit_short_price {real} NOT NULL,
    entry_edge_bps {real} NOT NULL,
    exit_edge_bps {real} NOT NULL,
    pnl_quote {real} NOT NULL,           -- net of fees
    pnl_bps {real} NOT NULL,
    fees_quote {real} NOT NULL,
    slippage_bps {real} NOT NULL,        -- realised against the decision prices
    latency_ms {real} NOT NULL,          -- decision to last entry fill
    confidence {int} NOT NULL,
    exit_reason TEXT NOT NULL,           -- TARGET, STOP, TIMEOUT, LEG_OUT, KILL_SWITCH, END_OF_RUN
    UNIQUE (run_id, seq)
);
CREATE INDEX idx_trades_exit_at ON trades (exit_at);
CREATE INDEX idx_trades_strategy ON trades (strategy);

-- Portfolio snapshots: periodic and after every trade.
CREATE TABLE portfolio_snapshots (
    id {id},
    run_id TEXT NOT NULL,
    seq {int} NOT NULL,
    taken_at {time} NOT NULL,
    equity_quote {real} NOT NULL,
    cash_quote {real} NOT NULL,
    exposure_quote {real} NOT NULL,      -- gross notional of open positions
    open_positions {int} NOT NULL,
    realized_pnl_quote {real} NOT NULL,
    unrealized_pnl_quote {real} NOT NULL,
    daily_pnl_quote {real} NOT NULL,
    drawdown_pct {real} NOT NULL,        -- from the equity peak
    circuit_breaker {bool} NOT NULL,     -- the daily loss breaker has tripped
    UNIQUE (run_id, seq)
);
CREATE INDEX idx_portfolio_snapshots_taken_at ON portfolio_snapshots (taken_at);

-- Latency snapshots: one row per metric per dump (interval or cumulative histogram).
CREATE TABLE latency_snapshots (
    id {id},
    run_id TEXT NOT NULL,
    seq {int} NOT NULL,
    taken_at {time} NOT NULL,
    metric TEXT NOT NULL,                -- feed, book, edge, ingress_to_decision, venue_delay_<venue>, …
    scope TEXT NOT NULL,                 -- INTERVAL or CUMULATIVE
    count {int} NOT NULL,
    p50_ns {int} NOT NULL,
    p90_ns {int} NOT NULL,
    p99_ns {int} NOT NULL,
    p999_ns {int} NOT NULL,
    max_ns {int} NOT NULL,
    UNIQUE (run_id, seq)
);
CREATE INDEX idx_latency_snapshots_taken_at ON latency_snapshots (taken_at);
";

/// Version 4: perpetuals as they cost money. `trades.exit_reason` gains `LIQUIDATION`
/// (a perp leg's mark crossed its liquidation price; the paper venue closed it there and
/// flattened the other leg) beside FUNDING_CONVERGED, TARGET, SPREAD_EXIT, STOP,
/// KILL_SWITCH, DAILY_LOSS, TIMEOUT and END_OF_RUN.
const FUNDING_MARGIN: &str = "
-- Funding the trade's perp legs received (positive) or paid; part of pnl_quote.
ALTER TABLE trades ADD COLUMN funding_quote {real} NOT NULL DEFAULT 0;
-- Initial margin posted by open perp legs plus what working entries reserved for it.
ALTER TABLE portfolio_snapshots ADD COLUMN margin_used_quote {real} NOT NULL DEFAULT 0;
-- margin_used_quote / realised equity, percent.
ALTER TABLE portfolio_snapshots ADD COLUMN margin_utilisation_pct {real} NOT NULL DEFAULT 0;
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_migrations_render_every_placeholder() {
        for m in MIGRATIONS {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                let sql = m.sql(dialect);
                assert!(!sql.contains('{'), "v{} {dialect:?}", m.version);
            }
        }
        assert_eq!(SCHEMA_VERSION, 4);
        let pg = Dialect::Postgres.render(SCHEMA_MIGRATIONS_TABLE);
        assert!(pg.contains("version BIGINT PRIMARY KEY"), "{pg}");
    }
}
