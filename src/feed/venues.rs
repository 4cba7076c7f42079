//! Per-venue dispatch: the decoder of a connection ([`VenueDecoder`], an enum so the hot
//! path calls it without a vtable), and the venue's subscription and resync messages.
//!
//! Owns nothing but the decoders; the venue modules own their formats.

use crate::feed::binance::{self, BinanceDecoder};
use crate::feed::bybit::{self, BybitDecoder};
use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::hyperliquid::{self, HyperliquidDecoder};
use crate::feed::okx::{self, OkxDecoder};
use crate::feed::sanity::check_events;
use std::time::Duration;

use crate::feed::symbols::SymbolMap;
use crate::feed::transport::Heartbeat;
use crate::types::{MarketKind, Venue};

/// The decoder of one connection.
#[derive(Debug, Clone)]
pub enum VenueDecoder {
    /// Binance spot or USD-M futures.
    Binance(BinanceDecoder),
    /// Bybit v5 spot or linear.
    Bybit(BybitDecoder),
    /// OKX v5 spot or swaps.
    Okx(OkxDecoder),
    /// Hyperliquid perps or spot.
    Hyperliquid(HyperliquidDecoder),
}

impl VenueDecoder {
    /// The decoder for a venue's market, resolving the connection's symbols.
    pub fn new(venue: Venue, kind: MarketKind, symbols: SymbolMap) -> Self {
        match venue {
            Venue::Hyperliquid => VenueDecoder::Hyperliquid(HyperliquidDecoder::new(kind, symbols)),
            Venue::Bybit => VenueDecoder::Bybit(BybitDecoder::new(kind, symbols)),
            Venue::Okx => VenueDecoder::Okx(OkxDecoder::new(kind, symbols)),
            Venue::Binance => VenueDecoder::Binance(BinanceDecoder::new(symbols)),
        }
    }

    /// Decodes one frame into `out` (see the venue modules); a frame longer than the
    /// venue's [`frame_bytes_max`] is refused unread (`TooLarge`), one whose values no
    /// venue sends after decoding ([`crate::feed::sanity`]), leaving nothing in `out`.
    #[inline]
    pub fn decode(
        &mut self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        if frame.len() > frame_bytes_max(self.venue()) {
            return Err(DecodeError::TooLarge);
        }
        let start = out.len();
        let decoded = match self {
            VenueDecoder::Binance(d) => d.decode(frame, ts_recv_raw, out),
            VenueDecoder::Bybit(d) => d.decode(frame, ts_recv_raw, out),
            VenueDecoder::Okx(d) => d.decode(frame, ts_recv_raw, out),
            VenueDecoder::Hyperliquid(d) => d.decode(frame, ts_recv_raw, out),
        }?;
        if let Err(e) = check_events(&out.as_slice()[start..]) {
            out.truncate(start);
            return Err(e);
        }
        Ok(decoded)
    }
}

impl VenueDecoder {
    /// The venue this decoder reads.
    pub const fn venue(&self) -> Venue {
        match self {
            VenueDecoder::Binance(_) => Venue::Binance,
            VenueDecoder::Bybit(_) => Venue::Bybit,
            VenueDecoder::Okx(_) => Venue::Okx,
            VenueDecoder::Hyperliquid(_) => Venue::Hyperliquid,
        }
    }
}

/// The longest stream frame of `venue` its decoder reads, well above the largest the
/// venue sends (a few times the biggest seen in `../shared/data`: Binance diff depth
/// about 64 KB, Bybit's `orderbook.1000` snapshot, OKX's 400-level `books` snapshot,
/// Hyperliquid's 20-level `l2Book` about 8 KB) and below the transport's
/// `message_bytes_max`. REST bodies have their own bound
/// ([`crate::feed::snapshot_fetch::BODY_BYTES_MAX`]).
pub const fn frame_bytes_max(venue: Venue) -> usize {
    match venue {
        Venue::Binance => 1 << 20,
        Venue::Bybit | Venue::Okx => 512 << 10,
        Venue::Hyperliquid => 256 << 10,
    }
}

/// Text frames subscribing a connection to every stream edgeline uses for `symbols`.
pub fn subscribe_messages(venue: Venue, kind: MarketKind, symbols: &[&str]) -> Vec<String> {
    match venue {
        Venue::Hyperliquid => hyperliquid::subscribe::subscribe_messages(kind, symbols),
        Venue::Bybit => bybit::subscribe::subscribe_messages(kind, symbols),
        Venue::Okx => okx::subscribe::subscribe_messages(kind, symbols),
        Venue::Binance => binance::subscribe::subscribe_messages(kind, symbols),
    }
}

/// The venue's application-level ping and how often edgeline sends it: OKX every 20 s
/// (it drops a connection silent for 30 s), Bybit every 20 s (its recommendation),
/// Hyperliquid every 25 s (it drops a connection we sent nothing on for 60 s). Binance
/// has none: it pings us, and tungstenite answers.
pub fn heartbeat(venue: Venue) -> Option<Heartbeat> {
    let every = |message, secs| {
        Some(Heartbeat {
            message,
            interval: Duration::from_secs(secs),
        })
    };
    match venue {
        Venue::Okx => every(okx::subscribe::PING, 20),
        Venue::Bybit => every(bybit::subscribe::PING, 20),
        Venue::Hyperliquid => every(hyperliquid::subscribe::PING, 25),
        Venue::Binance => binance::subscribe::PING.and_then(|ping| every(ping, 20)),
    }
}

/// Text frames that make the venue send a fresh book snapshot of one symbol on the
/// connection; empty where the snapshot comes from REST (Binance, OKX).
pub fn resync_messages(venue: Venue, kind: MarketKind, symbol: &str) -> Vec<String> {
    match venue {
        Venue::Hyperliquid => hyperliquid::subscribe::resync_messages(kind, symbol),
        Venue::Bybit => bybit::subscribe::resync_messages(kind, symbol),
        Venue::Binance | Venue::Okx => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_each_venue_gets_its_own_decoder_and_messages() {
        for venue in Venue::ALL {
            let decoder = VenueDecoder::new(venue, MarketKind::Perp, SymbolMap::default());
            let matched = matches!(
                (venue, &decoder),
                (Venue::Binance, VenueDecoder::Binance(_))
                    | (Venue::Bybit, VenueDecoder::Bybit(_))
                    | (Venue::Okx, VenueDecoder::Okx(_))
                    | (Venue::Hyperliquid, VenueDecoder::Hyperliquid(_))
            );
            assert!(matched, "{venue}: {decoder:?}");
            assert_eq!(decoder.venue(), venue);
            let first = &subscribe_messages(venue, MarketKind::Perp, &["X"])[0];
            let marker = match venue {
                Venue::Binance => r#""method":"SUBSCRIBE""#,
                Venue::Bybit => r#""op":"subscribe""#,
                Venue::Okx => r#""channel":"books""#,
                Venue::Hyperliquid => r#""method":"subscribe""#,
            };
            assert!(first.contains(marker), "{venue}: {first}");
            let resync = resync_messages(venue, MarketKind::Perp, "X");
            let by_rest = matches!(venue, Venue::Binance | Venue::Okx);
            assert_eq!(resync.is_empty(), by_rest, "{venue}");
            assert_eq!(
                heartbeat(venue).is_none(),
                venue == Venue::Binance,
                "{venue}"
            );
        }
    }

    #[test]
    fn test_decode_refuses_a_frame_above_the_venue_bound() {
        for venue in Venue::ALL {
            let mut decoder = VenueDecoder::new(venue, MarketKind::Perp, SymbolMap::default());
            let mut out = EventBuf::with_capacity(4);
            let long = vec![b' '; frame_bytes_max(venue) + 1];
            assert_eq!(
                decoder.decode(&long, 0, &mut out),
                Err(DecodeError::TooLarge),
                "{venue}"
            );
            let short = &long[..frame_bytes_max(venue)];
            assert_ne!(
                decoder.decode(short, 0, &mut out),
                Err(DecodeError::TooLarge)
            );
        }
    }
}
