//! Client order ids: unique per run and deterministic, so a retry after a timeout can
//! first ask the venue whether the order exists under the same id, and never create a
//! second one.
//!
//! `el<run>-<order>`: the run id in hex (from the run's start, chosen once at start-up)
//! and the gateway's order id in decimal. Binance accepts `^[\.A-Z\:/a-z0-9_-]{1,36}$`
//! for `newClientOrderId` (spot) and `^[\.A-Z\:/a-z0-9_-]{1,36}$` (USD-M), so the id is
//! at most 36 ASCII bytes: 2 + 16 + 1 + 17 (a `u64` order id stays under that for any
//! realistic run). Built in a fixed array: no allocation.

use crate::gateway::order::OrderId;

/// Longest client order id Binance accepts.
pub const CLID_MAX: usize = 36;

/// A client order id, ASCII, at most [`CLID_MAX`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientOrderId {
    bytes: [u8; CLID_MAX],
    len: u8,
}

impl ClientOrderId {
    /// The id of gateway order `order` in run `run_id`.
    pub fn new(run_id: u64, order: OrderId) -> Self {
        let mut bytes = [0u8; CLID_MAX];
        bytes[0] = b'e';
        bytes[1] = b'l';
        let mut len = 2;
        for shift in (0..16).rev() {
            let nibble = (run_id >> (shift * 4)) & 0xf;
            bytes[len] = b"0123456789abcdef"[nibble as usize];
            len += 1;
        }
        bytes[len] = b'-';
        len += 1;
        let mut digits = [0u8; 20];
        let mut n = order.0;
        let mut d = 0;
        loop {
            digits[d] = b'0' + (n % 10) as u8;
            d += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let d = d.min(CLID_MAX - len);
        for i in 0..d {
            bytes[len + i] = digits[d - 1 - i];
        }
        len += d;
        Self {
            bytes,
            len: u8::try_from(len).unwrap_or(0),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// The gateway order id of a client id of run `run_id` (`None`: not ours, or
    /// another run's: reconciliation treats those as unknown orders).
    pub fn parse(run_id: u64, text: &str) -> Option<OrderId> {
        let rest = text.strip_prefix("el")?;
        let (run, order) = rest.split_once('-')?;
        (u64::from_str_radix(run, 16).ok()? == run_id).then_some(())?;
        order.parse().ok().map(OrderId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_clid_deterministic_unique_and_parsed_back() {
        let a = ClientOrderId::new(0x1234, OrderId(7));
        assert_eq!(a.as_str(), "el0000000000001234-7");
        assert_eq!(a, ClientOrderId::new(0x1234, OrderId(7)));
        assert_ne!(a, ClientOrderId::new(0x1234, OrderId(8)));
        assert_ne!(a, ClientOrderId::new(0x1235, OrderId(7)));
        assert_eq!(ClientOrderId::parse(0x1234, a.as_str()), Some(OrderId(7)));
        assert_eq!(ClientOrderId::parse(0x1235, a.as_str()), None);
        assert_eq!(ClientOrderId::parse(0x1234, "web_abc"), None);
        let big = ClientOrderId::new(u64::MAX, OrderId(u64::MAX));
        assert!(big.as_str().len() <= CLID_MAX);
        assert!(
            big.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        );
    }
}
