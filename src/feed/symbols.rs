//! Wire symbol → instrument id, for one connection (one venue, one market kind).
//!
//! Built at start-up; lookups on the feed thread compare bytes over a short list (a
//! connection carries a handful of symbols), allocation-free.

use crate::types::InstrumentId;

/// The symbols one connection carries.
#[derive(Debug, Clone, Default)]
pub struct SymbolMap {
    entries: Vec<(Box<str>, InstrumentId)>,
}

impl SymbolMap {
    /// Adds a wire symbol (exactly as the venue prints it in messages).
    pub fn insert(&mut self, symbol: &str, id: InstrumentId) {
        self.entries.push((symbol.into(), id));
    }

    /// The instrument of a wire symbol.
    #[inline]
    pub fn get(&self, symbol: &str) -> Option<InstrumentId> {
        self.entries
            .iter()
            .find(|(s, _)| &**s == symbol)
            .map(|&(_, id)| id)
    }

    /// [`SymbolMap::get`] of a symbol's bytes (what a fast path has read; bytes that are
    /// not UTF-8 match no symbol).
    #[inline]
    pub fn get_bytes(&self, symbol: &[u8]) -> Option<InstrumentId> {
        self.entries
            .iter()
            .find(|(s, _)| s.as_bytes() == symbol)
            .map(|&(_, id)| id)
    }
}
