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

/// One connection a market needs: where under the market's URL it goes, which of the
/// market's symbols it carries, and what it subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketConnection {
    /// Appended to the market's configured URL (Binance USD-M: `/public/ws`,
    /// `/market/ws`; empty elsewhere).
    pub path: &'static str,
    /// A short name of what it carries, for logs (`spot`, `public`, `market`, or the
    /// market kind).
    pub group: &'static str,
    /// Indexes of its symbols in the market's symbol list.
    pub symbols: Vec<usize>,
    /// Text frames subscribing it to every stream edgeline uses for those symbols.
    pub subscribe: Vec<String>,
    /// Whether it carries the books of its symbols (their depth): its loss resets them.
    pub carries_book: bool,
}

/// The connections a market's `symbols` are spread over: one per market for Bybit, OKX
/// and Hyperliquid; Binance per endpoint group and shard (see
/// [`binance::subscribe::plan`]).
pub fn market_connections(
    venue: Venue,
    kind: MarketKind,
    symbols: &[&str],
) -> Vec<MarketConnection> {
    let single = |subscribe| {
        vec![MarketConnection {
            path: "",
            group: kind.name(),
            symbols: (0..symbols.len()).collect(),
            subscribe,
            carries_book: true,
        }]
    };
    match venue {
        Venue::Hyperliquid => single(hyperliquid::subscribe::subscribe_messages(kind, symbols)),
        Venue::Bybit => single(bybit::subscribe::subscribe_messages(kind, symbols)),
        Venue::Okx => single(okx::subscribe::subscribe_messages(kind, symbols)),
        Venue::Binance => binance::subscribe::plan(kind, symbols.len())
            .into_iter()
            .map(|planned| {
                let names: Vec<&str> = planned.symbols.iter().map(|&i| symbols[i]).collect();
                MarketConnection {
                    path: planned.group.path(),
                    group: planned.group.name(),
                    subscribe: binance::subscribe::subscribe_messages(planned.group, &names),
                    carries_book: planned.group.carries_book(),
                    symbols: planned.symbols,
                }
            })
            .collect(),
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
            let planned = market_connections(venue, MarketKind::Perp, &["X"]);
            assert!(planned[0].carries_book, "{venue}");
            assert_eq!(planned.len(), if venue == Venue::Binance { 2 } else { 1 });
            let first = &planned[0].subscribe[0];
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
