//! The sidecar's gateway input: drains the gateway stage's record and snapshot rings
//! into database rows (orders, fills, leg-outs, trades, portfolio snapshots) and keeps
//! the status board's portfolio line current.
//!
//! Cold path, in the sidecar thread. It only takes as many records as the pending batch
//! has room for; what it leaves stays in the ring (the gateway keeps the rest in its
//! outbox), so a slow database delays gateway rows and never drops them.

use rtrb::Consumer;

use crate::gateway::config::QUOTE_SCALE;
use crate::gateway::portfolio::PortfolioSnapshot;
use crate::gateway::record::GatewayRecord;
use crate::telemetry::db::gateway_rows::{GatewayRows, PORTFOLIO_SNAPSHOTS, snapshot_values};
use crate::telemetry::db::row::{Row, RowKeys};
use crate::telemetry::status::{PortfolioStatus, StatusBoard};
use crate::types::InstrumentRegistry;

/// The gateway's rings as the sidecar holds them.
pub struct GatewaySink {
    records: Consumer<GatewayRecord>,
    snapshots: Consumer<PortfolioSnapshot>,
    rows: GatewayRows,
    latest: Option<PortfolioSnapshot>,
}

impl GatewaySink {
    /// Drains `records` and `snapshots`; trade rows carry `config_hash`.
    pub fn new(
        records: Consumer<GatewayRecord>,
        snapshots: Consumer<PortfolioSnapshot>,
        config_hash: String,
    ) -> Self {
        Self {
            records,
            snapshots,
            rows: GatewayRows::new(config_hash),
            latest: None,
        }
    }

    /// Turns up to `room` records and snapshots into rows appended to `pending`;
    /// returns how many ring items it took.
    pub fn drain(
        &mut self,
        room: usize,
        registry: &InstrumentRegistry,
        keys: &mut RowKeys,
        pending: &mut Vec<Row>,
    ) -> usize {
        let mut taken = 0;
        while taken < room {
            let Ok(record) = self.records.pop() else {
                break;
            };
            taken += 1;
            if let Some((table, values)) = self.rows.row(&record, registry) {
                pending.push(keys.row(table, values));
            }
        }
        while taken < room {
            let Ok(snapshot) = self.snapshots.pop() else {
                break;
            };
            taken += 1;
            pending.push(keys.row(&PORTFOLIO_SNAPSHOTS, snapshot_values(&snapshot)));
            self.latest = Some(snapshot);
        }
        taken
    }

    /// Items still in the rings.
    pub fn waiting(&self) -> usize {
        self.records.slots() + self.snapshots.slots()
    }

    /// Puts the latest snapshot on the status board (when one arrived).
    pub fn publish(&self, board: &StatusBoard) {
        let Some(s) = self.latest else {
            return;
        };
        board.update(|status| status.portfolio = Some(portfolio_status(&s)));
    }
}

/// The status board's view of a snapshot.
#[allow(clippy::cast_precision_loss)] // report values
fn portfolio_status(s: &PortfolioSnapshot) -> PortfolioStatus {
    PortfolioStatus {
        pnl: (s.realised_raw + s.unrealised_raw) as f64 / QUOTE_SCALE as f64,
        open_positions: s.open_positions,
        closed_trades: s.closed_trades,
        win_rate: if s.closed_trades == 0 {
            0.0
        } else {
            s.wins as f64 / s.closed_trades as f64
        },
        halted: s.daily_halt || s.killed,
        funding: s.funding_raw as f64 / QUOTE_SCALE as f64,
        margin_used: s.margin_used_raw as f64 / QUOTE_SCALE as f64,
        margin_utilisation_pct: s.margin_utilisation_bps as f64 / 100.0,
        liquidations: s.liquidations,
    }
}
