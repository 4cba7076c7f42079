//! Opportunity rows made by hand for the database tests: row `seq` has edge `seq` bps.

use std::sync::Arc;

use edgeline::telemetry::db::Row;
use edgeline::telemetry::db::record::OPPORTUNITIES;
use edgeline::telemetry::db::row::Value;

/// Rows `seqs` of run `run_id`, every column filled.
pub fn opportunity_rows(run_id: &str, seqs: std::ops::Range<i64>) -> Vec<Row> {
    let run_id: Arc<str> = run_id.into();
    seqs.map(|seq| Row {
        table: &OPPORTUNITIES,
        run_id: Arc::clone(&run_id),
        seq,
        values: OPPORTUNITIES
            .columns
            .iter()
            .map(|column| value(column, seq))
            .collect(),
    })
    .collect()
}

fn value(column: &str, seq: i64) -> Value {
    match column {
        "detected_at" => Value::Time(1_763_726_400_000_000_000 + seq * 1_000_000),
        "would_trade_current" => Value::Bool(seq % 2 == 0),
        "volatility_source" => Value::Text(["PERP", "SPOT", "BOTH"][(seq % 3) as usize].into()),
        "venue" => Value::Text("binance".into()),
        "spot_symbol" | "perp_symbol" => Value::Text("BTCUSDT".into()),
        "direction" => Value::Text("SHORT_PERP_LONG_SPOT".into()),
        "venue_ts_ms" => Value::Int(1_763_726_400_000 + seq),
        "edge_bps" => Value::Real(seq as f64),
        _ => Value::Real(1.5),
    }
}
