//! Binance REST requests as bytes: the parameter string of each call, signed.
//!
//! Spot `POST /api/v3/order` and USD-M `POST /fapi/v1/order` (read 2026-12-08): IOC is
//! `type=LIMIT&timeInForce=IOC`, post-only is spot `type=LIMIT_MAKER` / USD-M
//! `type=LIMIT&timeInForce=GTX`, market is `type=MARKET`; `newClientOrderId` carries the
//! deterministic id; `recvWindow` and `timestamp` (ms, server time: the local clock
//! plus the measured offset) come last before `signature`, which signs everything
//! before it.
//!
//! Owned by the live venue's I/O thread. [`RestEncoder::place`] writes into a buffer
//! reserved at start-up and decimal text is written on the stack, so the intent →
//! signed bytes path does not allocate (`bench/live_order.rs` measures it).

use std::fmt::Write as _;

use crate::gateway::live::clid::ClientOrderId;
use crate::gateway::live::command::Place;
use crate::gateway::live::keys::Signing;
use crate::gateway::live::sign::HMAC_HEX_LEN;
use crate::gateway::order::OrderStyle;
use crate::types::decimal::{DECIMAL_TEXT_MAX, write_decimal};
use crate::types::{MarketKind, OrderSide, Price, Qty};

/// Bytes reserved for one request's parameter string (a signed order is ~250).
pub const PARAMS_CAPACITY: usize = 1024;

/// Builds and signs parameter strings into one reused buffer.
#[derive(Debug)]
pub struct RestEncoder {
    buf: String,
    recv_window_ms: u64,
}

/// Percent-encodes base64's `+`, `/` and `=` (Ed25519 signatures in a query string).
fn push_urlencoded(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '+' => out.push_str("%2B"),
            '/' => out.push_str("%2F"),
            '=' => out.push_str("%3D"),
            c => out.push(c),
        }
    }
}

fn push_price(out: &mut String, p: Price) {
    let mut text = [0u8; DECIMAL_TEXT_MAX];
    let n = write_decimal(p.raw(), Price::DIGITS, &mut text);
    out.push_str(std::str::from_utf8(&text[..n]).unwrap_or("0"));
}

fn push_qty(out: &mut String, q: Qty) {
    let mut text = [0u8; DECIMAL_TEXT_MAX];
    let n = write_decimal(q.raw(), Qty::DIGITS, &mut text);
    out.push_str(std::str::from_utf8(&text[..n]).unwrap_or("0"));
}

impl RestEncoder {
    /// An encoder sending `recvWindow=recv_window_ms`.
    pub fn new(recv_window_ms: u64) -> Self {
        Self {
            buf: String::with_capacity(PARAMS_CAPACITY),
            recv_window_ms,
        }
    }

    /// The signed parameters of a new order.
    // Every argument is a separate part of the request; a struct of them would be one
    // more copy per order on the path the bench measures.
    #[allow(clippy::too_many_arguments)]
    pub fn place(
        &mut self,
        kind: MarketKind,
        symbol: &str,
        p: &Place,
        clid: &ClientOrderId,
        reduce_only: bool,
        timestamp_ms: u64,
        signing: &Signing,
    ) -> &str {
        self.buf.clear();
        let b = &mut self.buf;
        b.push_str("symbol=");
        b.push_str(symbol);
        b.push_str(if p.side == OrderSide::Buy {
            "&side=BUY"
        } else {
            "&side=SELL"
        });
        match (p.style, kind) {
            (OrderStyle::Market, _) => b.push_str("&type=MARKET"),
            (OrderStyle::Ioc, _) => b.push_str("&type=LIMIT&timeInForce=IOC"),
            (OrderStyle::PostOnly, MarketKind::Spot) => b.push_str("&type=LIMIT_MAKER"),
            (OrderStyle::PostOnly, MarketKind::Perp) => b.push_str("&type=LIMIT&timeInForce=GTX"),
        }
        b.push_str("&quantity=");
        push_qty(b, p.qty);
        if p.style != OrderStyle::Market {
            b.push_str("&price=");
            push_price(b, p.limit);
        }
        if reduce_only && kind == MarketKind::Perp {
            b.push_str("&reduceOnly=true");
        }
        b.push_str("&newClientOrderId=");
        b.push_str(clid.as_str());
        b.push_str("&newOrderRespType=RESULT");
        self.finish(timestamp_ms, signing)
    }

    /// The signed parameters of a call on one order (query or cancel) by client id.
    pub fn by_client_id(
        &mut self,
        symbol: &str,
        clid: &str,
        timestamp_ms: u64,
        signing: &Signing,
    ) -> &str {
        self.buf.clear();
        self.buf.push_str("symbol=");
        self.buf.push_str(symbol);
        self.buf.push_str("&origClientOrderId=");
        self.buf.push_str(clid);
        self.finish(timestamp_ms, signing)
    }

    /// The signed parameters of a call with only `symbol` (empty: none).
    pub fn symbol_only(&mut self, symbol: &str, timestamp_ms: u64, signing: &Signing) -> &str {
        self.buf.clear();
        if !symbol.is_empty() {
            self.buf.push_str("symbol=");
            self.buf.push_str(symbol);
            self.buf.push('&');
        }
        self.finish_open(timestamp_ms, signing)
    }

    fn finish(&mut self, timestamp_ms: u64, signing: &Signing) -> &str {
        self.buf.push('&');
        self.finish_open(timestamp_ms, signing)
    }

    fn finish_open(&mut self, timestamp_ms: u64, signing: &Signing) -> &str {
        let _ = write!(
            self.buf,
            "recvWindow={}&timestamp={timestamp_ms}",
            self.recv_window_ms
        );
        match signing {
            Signing::Hmac(signer) => {
                let mut sig = [0u8; HMAC_HEX_LEN];
                signer.sign_hex(self.buf.as_bytes(), &mut sig);
                self.buf.push_str("&signature=");
                self.buf.push_str(std::str::from_utf8(&sig).unwrap_or(""));
            }
            Signing::Ed25519(signer) => {
                let sig = signer.sign_base64(self.buf.as_bytes());
                self.buf.push_str("&signature=");
                push_urlencoded(&mut self.buf, &sig);
            }
        }
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::live::sign::HmacSigner;
    use crate::gateway::order::OrderId;
    use crate::types::InstrumentId;

    #[test]
    fn test_rest_place_params_per_style_and_market() {
        let signing = Signing::Hmac(HmacSigner::new(b"s"));
        let mut enc = RestEncoder::new(5_000);
        let place = |style| Place {
            id: OrderId(3),
            instrument: InstrumentId(0),
            side: OrderSide::Buy,
            style,
            limit: Price::from_decimal_str("50000.5").unwrap(),
            qty: Qty::from_decimal_str("0.001").unwrap(),
            reference: Price::ZERO,
        };
        let clid = ClientOrderId::new(1, OrderId(3));
        let s = enc
            .place(
                MarketKind::Spot,
                "BTCUSDT",
                &place(OrderStyle::PostOnly),
                &clid,
                false,
                7,
                &signing,
            )
            .to_owned();
        assert!(s.starts_with("symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.001&price=50000.5&newClientOrderId=el0000000000000001-3&newOrderRespType=RESULT&recvWindow=5000&timestamp=7&signature="), "{s}");
        let (payload, sig) = s.rsplit_once("&signature=").unwrap();
        assert!(HmacSigner::new(b"s").verify_hex(payload.as_bytes(), sig.as_bytes()));
        let f = enc.place(
            MarketKind::Perp,
            "BTCUSDT",
            &place(OrderStyle::PostOnly),
            &clid,
            false,
            7,
            &signing,
        );
        assert!(f.contains("&type=LIMIT&timeInForce=GTX&"));
        let m = enc.place(
            MarketKind::Perp,
            "BTCUSDT",
            &place(OrderStyle::Market),
            &clid,
            true,
            7,
            &signing,
        );
        assert!(
            m.contains("&type=MARKET&quantity=0.001&reduceOnly=true&") && !m.contains("price=")
        );
        let i = enc.place(
            MarketKind::Spot,
            "BTCUSDT",
            &place(OrderStyle::Ioc),
            &clid,
            false,
            7,
            &signing,
        );
        assert!(i.contains("&type=LIMIT&timeInForce=IOC&"));
    }
}
