//! Wire symbol → instrument id, for one connection (one venue, one market kind).
//!
//! Built at start-up; lookups on the feed thread go over a short list (a connection
//! carries a handful of symbols), allocation-free: each entry keeps its symbol's length
//! and first eight bytes as one word, so a lookup compares two integers per entry and
//! the bytes beyond the eighth only where those agree.

use crate::types::InstrumentId;

/// One symbol: its length and first eight bytes (zero-padded, little-endian), the rest
/// of it, and its instrument.
#[derive(Debug, Clone)]
struct Entry {
    len: usize,
    head: u64,
    symbol: Box<str>,
    id: InstrumentId,
}

/// The symbols one connection carries.
#[derive(Debug, Clone, Default)]
pub struct SymbolMap {
    entries: Vec<Entry>,
}

/// The first eight bytes of `bytes` (fewer: zero-padded) as a little-endian word; a
/// shorter text from loads that overlap (their lanes agree where they do), no copy.
#[inline]
fn head(bytes: &[u8]) -> u64 {
    if let Some(first) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*first);
    }
    let len = bytes.len();
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        return u64::from(u32::from_le_bytes(*first))
            | (u64::from(u32::from_le_bytes(*last)) << (8 * (len - 4)));
    }
    match bytes {
        [] => 0,
        _ => {
            let at = |i: usize| u64::from(bytes[i]) << (8 * i);
            at(0) | at(len / 2) | at(len - 1)
        }
    }
}

impl SymbolMap {
    /// Adds a wire symbol (exactly as the venue prints it in messages).
    pub fn insert(&mut self, symbol: &str, id: InstrumentId) {
        self.entries.push(Entry {
            len: symbol.len(),
            head: head(symbol.as_bytes()),
            symbol: symbol.into(),
            id,
        });
    }

    /// The instrument of a wire symbol.
    #[inline]
    pub fn get(&self, symbol: &str) -> Option<InstrumentId> {
        self.get_bytes(symbol.as_bytes())
    }

    /// [`SymbolMap::get`] of a symbol's bytes (what a fast path has read; bytes that are
    /// not UTF-8 match no symbol).
    #[inline]
    pub fn get_bytes(&self, symbol: &[u8]) -> Option<InstrumentId> {
        let (len, head) = (symbol.len(), head(symbol));
        self.entries
            .iter()
            .find(|e| {
                e.len == len
                    && e.head == head
                    && (len <= 8 || e.symbol.as_bytes()[8..] == symbol[8..])
            })
            .map(|e| e.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_lookup_by_every_length_and_first_insert_wins() {
        let names = [
            "",
            "A",
            "AB",
            "ABC",
            "ABCD",
            "ABCDE",
            "ABCDEFG",
            "ABCDEFGH",
            "ABCDEFGHI",
        ];
        let mut map = SymbolMap::default();
        for (id, name) in (0..).zip(names) {
            map.insert(name, InstrumentId(id));
        }
        map.insert("ABC", InstrumentId(99));
        map.insert("BTC-USDT-SWAP", InstrumentId(100));
        map.insert("BTC-USDT-SWAQ", InstrumentId(101));
        for (id, name) in (0..).zip(names) {
            assert_eq!(map.get(name), Some(InstrumentId(id)), "{name}");
            assert_eq!(map.get_bytes(name.as_bytes()), Some(InstrumentId(id)));
        }
        assert_eq!(map.get("BTC-USDT-SWAQ"), Some(InstrumentId(101)));
        for absent in [
            "B",
            "AC",
            "ABD",
            "ABCE",
            "ABCDEFGHJ",
            "ABCDEFGH\0",
            "A\0",
            "BTC-USDT-SWA",
        ] {
            assert_eq!(map.get(absent), None, "{absent:?}");
        }
        assert_eq!(map.get_bytes(b"AB\xff"), None);
    }

    #[test]
    fn test_head_is_the_padded_prefix() {
        for len in 0..=12 {
            let text: Vec<u8> = (1..=len).collect();
            let mut padded = [0u8; 8];
            let n = text.len().min(8);
            padded[..n].copy_from_slice(&text[..n]);
            assert_eq!(head(&text), u64::from_le_bytes(padded), "{len}");
        }
    }
}
