//! The instrument registry: every tradable market the engine knows, interned to a dense
//! integer [`InstrumentId`] at start-up.
//!
//! Built once from the resolved configuration on the start-up thread, then shared
//! read-only (`Arc`) by every stage. The hot path only ever holds `InstrumentId`s and
//! indexes arrays with them; lookups by name happen at start-up and in cold code.

use std::fmt;

use crate::types::decimal::{Price, Qty};

/// A trading venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Venue {
    /// Binance (spot and USD-M futures).
    Binance,
    /// Bybit v5 (spot and linear perpetuals).
    Bybit,
    /// OKX v5 (spot and USDT swaps).
    Okx,
    /// Hyperliquid (perpetuals and spot).
    Hyperliquid,
}

impl Venue {
    /// Every venue, in a fixed order.
    pub const ALL: [Venue; 4] = [Venue::Binance, Venue::Bybit, Venue::Okx, Venue::Hyperliquid];

    /// The lower-case name used in configuration, logs and database rows.
    pub const fn name(self) -> &'static str {
        match self {
            Venue::Binance => "binance",
            Venue::Bybit => "bybit",
            Venue::Okx => "okx",
            Venue::Hyperliquid => "hyperliquid",
        }
    }

    /// Parses the configuration name of a venue.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Spot or perpetual: separate markets even on one venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MarketKind {
    /// Spot market.
    Spot,
    /// Perpetual futures (USD-margined linear).
    Perp,
}

impl MarketKind {
    /// The lower-case name used in configuration, logs and database rows.
    pub const fn name(self) -> &'static str {
        match self {
            MarketKind::Spot => "spot",
            MarketKind::Perp => "perp",
        }
    }

    /// Parses [`MarketKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [MarketKind::Spot, MarketKind::Perp]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// Dense interned id of an instrument: an index into the registry and into every
/// per-instrument array of the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct InstrumentId(pub u32);

impl InstrumentId {
    /// The id as an array index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Static description of one market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// Interned id (its index in the registry).
    pub id: InstrumentId,
    /// Venue the market lives on.
    pub venue: Venue,
    /// Spot or perpetual.
    pub kind: MarketKind,
    /// The venue's own symbol, exactly as it appears on the wire (`BTCUSDT`).
    pub symbol: String,
    /// The coin the market prices (base asset), used to pair spot with perp.
    pub base: String,
    /// Minimum price increment.
    pub tick_size: Price,
    /// Minimum quantity increment.
    pub lot_size: Qty,
    /// Minimum order value in quote currency.
    pub min_notional: Price,
    /// Base units one contract (the venue's quantity unit) stands for: 1 where
    /// quantities are in the base asset.
    pub contract_size: Qty,
}

/// What [`InstrumentRegistry::insert`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The same venue, kind and symbol were registered twice.
    #[error("instrument {venue} {kind} {symbol} is listed twice")]
    Duplicate {
        /// Venue name.
        venue: &'static str,
        /// Market kind name.
        kind: &'static str,
        /// Symbol.
        symbol: String,
    },
    /// Tick or lot size is not strictly positive.
    #[error("instrument {symbol}: {field} must be greater than zero")]
    NonPositive {
        /// Symbol.
        symbol: String,
        /// Offending field.
        field: &'static str,
    },
}

/// All instruments, indexed by [`InstrumentId`].
#[derive(Debug, Clone, Default)]
pub struct InstrumentRegistry {
    instruments: Vec<Instrument>,
}

/// Fields of a new instrument, before it gets its id.
#[derive(Debug, Clone)]
pub struct InstrumentSpec {
    /// Venue.
    pub venue: Venue,
    /// Spot or perp.
    pub kind: MarketKind,
    /// Wire symbol.
    pub symbol: String,
    /// Base asset.
    pub base: String,
    /// Tick size.
    pub tick_size: Price,
    /// Lot size.
    pub lot_size: Qty,
    /// Minimum notional.
    pub min_notional: Price,
    /// Base units per contract (1 where quantities are in the base asset).
    pub contract_size: Qty,
}

impl InstrumentRegistry {
    /// Registers an instrument and returns its new id.
    pub fn insert(&mut self, spec: InstrumentSpec) -> Result<InstrumentId, RegistryError> {
        if self.find(spec.venue, spec.kind, &spec.symbol).is_some() {
            return Err(RegistryError::Duplicate {
                venue: spec.venue.name(),
                kind: spec.kind.name(),
                symbol: spec.symbol,
            });
        }
        for (field, raw) in [
            ("tick_size", spec.tick_size.raw()),
            ("lot_size", spec.lot_size.raw()),
            ("contract_size", spec.contract_size.raw()),
        ] {
            if raw <= 0 {
                return Err(RegistryError::NonPositive {
                    symbol: spec.symbol,
                    field,
                });
            }
        }
        let id = InstrumentId(u32::try_from(self.instruments.len()).expect("fewer than 2^32"));
        self.instruments.push(Instrument {
            id,
            venue: spec.venue,
            kind: spec.kind,
            symbol: spec.symbol,
            base: spec.base,
            tick_size: spec.tick_size,
            lot_size: spec.lot_size,
            min_notional: spec.min_notional,
            contract_size: spec.contract_size,
        });
        Ok(id)
    }

    /// Finds an instrument by venue, kind and wire symbol (cold path).
    pub fn find(&self, venue: Venue, kind: MarketKind, symbol: &str) -> Option<InstrumentId> {
        self.instruments
            .iter()
            .find(|i| i.venue == venue && i.kind == kind && i.symbol == symbol)
            .map(|i| i.id)
    }

    /// The instrument with this id. Ids come from this registry, so this cannot fail for
    /// an id it handed out.
    pub fn get(&self, id: InstrumentId) -> &Instrument {
        &self.instruments[id.index()]
    }

    /// Number of instruments.
    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }

    /// All instruments in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Instrument> {
        self.instruments.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: MarketKind) -> InstrumentSpec {
        InstrumentSpec {
            venue: Venue::Binance,
            kind,
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            tick_size: Price::from_decimal_str("0.01").unwrap(),
            lot_size: Qty::from_decimal_str("0.00001").unwrap(),
            min_notional: Price::from_decimal_str("5").unwrap(),
            contract_size: Qty::from_raw(Qty::SCALE),
        }
    }

    #[test]
    fn test_registry_interns_dense_ids() {
        let mut reg = InstrumentRegistry::default();
        let spot = reg.insert(spec(MarketKind::Spot)).unwrap();
        let perp = reg.insert(spec(MarketKind::Perp)).unwrap();
        assert_eq!((spot.0, perp.0), (0, 1));
        assert_eq!(
            reg.find(Venue::Binance, MarketKind::Perp, "BTCUSDT"),
            Some(perp)
        );
        assert_eq!(reg.get(spot).kind, MarketKind::Spot);
    }

    #[test]
    fn test_registry_rejects_duplicates_and_zero_tick() {
        let mut reg = InstrumentRegistry::default();
        reg.insert(spec(MarketKind::Spot)).unwrap();
        assert!(matches!(
            reg.insert(spec(MarketKind::Spot)),
            Err(RegistryError::Duplicate { .. })
        ));
        let mut zero = spec(MarketKind::Perp);
        zero.tick_size = Price::ZERO;
        assert!(matches!(
            reg.insert(zero),
            Err(RegistryError::NonPositive {
                field: "tick_size",
                ..
            })
        ));
    }
}
