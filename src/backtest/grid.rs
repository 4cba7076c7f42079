//! The parameter grid of a sweep: axes written `KEY=V1,V2,…` where `KEY` is a dotted
//! configuration key (`basis.trade_threshold_bps`, `gateway.sizing.spread_capital_share_bps`),
//! the grid's points (every combination, the first axis varying slowest), and each
//! point's configuration: the base TOML with the point's values set, resolved by the
//! same code as a configuration file, so a bad key or value is refused with its name.
//!
//! Cold path, before the sweep's replays start.

use std::fmt;

use toml::{Table, Value};

use crate::config::{Config, ConfigError, raw::RawConfig, resolve};

/// Largest grid accepted: each point is two replays.
pub const GRID_POINTS_MAX: usize = 1_024;

/// Why a grid cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    /// An axis is not written `KEY=V1,V2,…` with numbers: fix the `--sweep` argument.
    #[error("--sweep `{axis}`: {reason}")]
    Axis {
        /// The argument.
        axis: String,
        /// What is wrong.
        reason: String,
    },
    /// The base configuration is not valid TOML.
    #[error("sweep base configuration: {0}")]
    Base(String),
    /// A point's configuration is refused (unknown key, value out of range).
    #[error("sweep point {point}: {source}")]
    Config {
        /// The point, as `key=value` pairs.
        point: String,
        /// What the configuration said.
        source: ConfigError,
    },
    /// The grid has more than [`GRID_POINTS_MAX`] points.
    #[error("the grid has {0} points; at most {GRID_POINTS_MAX}")]
    TooLarge(usize),
}

/// One axis: a key and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Dotted key, relative to the top of the configuration file.
    pub key: String,
    /// Values, integers or floats as written.
    pub values: Vec<Value>,
}

impl Axis {
    /// Parses `KEY=V1,V2,…` (integers stay integers, so integer keys accept them).
    pub fn parse(text: &str) -> Result<Self, GridError> {
        let bad = |reason: &str| GridError::Axis {
            axis: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (key, list) = text
            .split_once('=')
            .ok_or_else(|| bad("expected KEY=V1,V2,…"))?;
        let key = key.trim();
        let valid = |part: &str| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !key.split('.').all(valid) {
            return Err(bad("the key must be a dotted configuration key"));
        }
        let values = list
            .split(',')
            .map(|v| {
                let v = v.trim();
                v.parse::<i64>()
                    .map(Value::Integer)
                    .or_else(|_| v.parse::<f64>().map(Value::Float))
                    .ok()
                    .filter(|x| !matches!(x, Value::Float(f) if !f.is_finite()))
                    .ok_or_else(|| bad(&format!("`{v}` is not a number")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            key: key.to_owned(),
            values,
        })
    }
}

/// One point of the grid: a value per axis, in axis order.
#[derive(Debug, Clone, PartialEq)]
pub struct Point(pub Vec<(String, Value)>);

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{key}={value}")?;
        }
        Ok(())
    }
}

/// Every combination of the axes' values, the first axis varying slowest.
pub fn points(axes: &[Axis]) -> Result<Vec<Point>, GridError> {
    let count = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .unwrap_or(usize::MAX);
    if count > GRID_POINTS_MAX {
        return Err(GridError::TooLarge(count));
    }
    let mut points = vec![Point(Vec::new())];
    for axis in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut next = p.0.clone();
                    next.push((axis.key.clone(), v.clone()));
                    Point(next)
                })
            })
            .collect();
    }
    Ok(points)
}

/// Parses the base configuration's TOML text.
pub fn base_table(text: &str) -> Result<Table, GridError> {
    text.parse::<Table>()
        .map_err(|e| GridError::Base(e.to_string()))
}

/// The configuration of `point`: `base` with the point's values set, resolved for
/// `core_count` cores.
pub fn point_config(base: &Table, point: &Point, core_count: usize) -> Result<Config, GridError> {
    let refused = |source| GridError::Config {
        point: point.to_string(),
        source,
    };
    let mut table = base.clone();
    for (key, value) in &point.0 {
        set(&mut table, key, value.clone()).map_err(refused)?;
    }
    let raw: RawConfig = Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| {
            refused(ConfigError::Parse {
                path: "--sweep".into(),
                message: e.message().to_owned(),
            })
        })?;
    resolve::resolve(raw, core_count).map_err(refused)
}

/// Sets the dotted `key` in `table`, creating the tables on its way.
fn set(table: &mut Table, key: &str, value: Value) -> Result<(), ConfigError> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut at = table;
    for part in parts {
        let next = at
            .entry(part.to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        at = next.as_table_mut().ok_or_else(|| ConfigError::Invalid {
            key: key.to_owned(),
            reason: format!("`{part}` is not a table"),
        })?;
    }
    at.insert(last.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::bps::Bps;

    #[test]
    fn test_axes_parse_and_grid_combines_them() {
        let a = Axis::parse("basis.trade_threshold_bps=15, 22.5").unwrap();
        assert_eq!(a.values, [Value::Integer(15), Value::Float(22.5)]);
        let b = Axis::parse("gateway.sizing.spread_capital_share_bps=2500,5000,7500").unwrap();
        let grid = points(&[a, b]).unwrap();
        assert_eq!(grid.len(), 6);
        assert_eq!(
            grid[1].to_string(),
            "basis.trade_threshold_bps=15 gateway.sizing.spread_capital_share_bps=5000"
        );
        assert_eq!(grid[3].0[0].1, Value::Float(22.5));
        assert_eq!(points(&[]).unwrap(), [Point(Vec::new())]);
        for bad in ["nokey", "=1", "basis.x=", "basis.x=1,abc", "a b=1", "x=inf"] {
            assert!(Axis::parse(bad).is_err(), "{bad}");
        }
        let wide = Axis::parse(&format!("a={}", vec!["1"; 40].join(","))).unwrap();
        assert!(matches!(
            points(&[wide.clone(), wide]),
            Err(GridError::TooLarge(1600))
        ));
    }

    #[test]
    fn test_point_config_sets_keys_through_the_configuration() {
        let base = base_table("[basis]\ntracker_threshold_bps = 5.0\n").unwrap();
        let grid = points(&[
            Axis::parse("basis.trade_threshold_bps=12").unwrap(),
            Axis::parse("gateway.sizing.spread_capital_share_bps=2500").unwrap(),
        ])
        .unwrap();
        let config = point_config(&base, &grid[0], 2).unwrap();
        assert_eq!(config.basis.trade_threshold, Bps::from_num(12));
        assert_eq!(config.basis.tracker_threshold, Bps::from_num(5));
        let gateway = config.gateway.unwrap().config;
        assert_eq!(gateway.sizing.spread_capital_share_bps, 2_500);
        let typo = points(&[Axis::parse("basis.trade_treshold_bps=12").unwrap()]).unwrap();
        let err = point_config(&base, &typo[0], 2).unwrap_err().to_string();
        assert!(err.contains("trade_treshold_bps"), "{err}");
        let below = points(&[Axis::parse("basis.trade_threshold_bps=1").unwrap()]).unwrap();
        let err = point_config(&base, &below[0], 2).unwrap_err().to_string();
        assert!(err.contains("basis.trade_threshold_bps"), "{err}");
    }
}
