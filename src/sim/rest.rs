//! The HTTP side of the simulator's port (plain or TLS): telling an HTTP request from a WebSocket
//! upgrade, Binance's REST depth snapshots (`GET /api/v3/depth?symbol=S&limit=N`
//! for spot, `GET /fapi/v1/depth?symbol=S&limit=N` for USD-M futures) and OKX's REST
//! order book (`GET /api/v5/market/books?instId=S&sz=N`, spot and swaps alike).
//!
//! [`super::RestFaults`] spoil the first answers for the client's tests: `429` with
//! `Retry-After: 1`, or `200` with half the body.
//!
//! Runs on a connection thread (cold path): reads at most [`REQUEST_HEAD_MAX`] bytes of
//! request head (put back in front of the stream, so a WebSocket handshake reads it
//! again), asks the model thread for the body through the hub (so the snapshot is
//! taken between two model steps, consistent with the diff stream), waits at most
//! [`MODEL_REPLY_TIMEOUT`], answers once and closes (`Connection: close`).
//!
//! Answers as Binance does: 200 with the snapshot; 400 with `{"code":-1121,
//! "msg":"Invalid symbol."}` for an unknown symbol, `-1102` when `symbol` is missing,
//! `-1100` for a bad `limit`; 404 for any other path. `limit` defaults to 100 and is
//! capped at 5000 (NB: the venue accepts only some values on futures); the simulated
//! books hold 20 levels a side, so larger limits return the whole book.
//!
//! Answers as OKX does: 200 with `{"code":"0",..,"data":[{..,"seqId":..}]}`; refusals
//! `{"code":..,"msg":..,"data":[]}`: `50014` without `instId`, `51001` for an unknown
//! one, `51000` for a bad `sz` (1 to 400, default 1), with status 400 (NB: the venue's
//! status for these is not documented; the client treats a non-200 status and a
//! `code` other than `"0"` alike).

use super::binance_format::rest_error;
use super::connection::{HANDSHAKE_TIMEOUT, Routes};
use super::hub::{RestFault, Shared};
use super::market::Market;
use super::okx_format as okx;
use super::tls::SimStream;
use crate::runtime::clock;
use crate::types::{MarketKind, Venue};
use std::io::{self, Read, Write};
use std::time::Duration;

/// Largest request head read, bytes.
pub(crate) const REQUEST_HEAD_MAX: usize = 8 << 10;
/// Longest wait for the model thread's answer.
pub(crate) const MODEL_REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default and largest `limit`.
const LIMIT_DEFAULT: usize = 100;
const LIMIT_MAX: usize = 5_000;
/// OKX's order book path, and its default and largest `sz`.
const OKX_BOOKS_PATH: &str = "/api/v5/market/books";
const OKX_SZ_DEFAULT: usize = 1;
const OKX_SZ_MAX: usize = 400;

/// Reads the request head and puts it back in front of the stream; returns its length
/// in bytes and whether it asks for a WebSocket upgrade. An incomplete head after
/// [`HANDSHAKE_TIMEOUT`], or one longer than [`REQUEST_HEAD_MAX`], is an error.
pub(crate) fn read_head(stream: &mut SimStream) -> io::Result<(usize, bool)> {
    let mut buf = vec![0u8; REQUEST_HEAD_MAX];
    let mut n = 0;
    let deadline = clock::monotonic_now() + HANDSHAKE_TIMEOUT;
    loop {
        let got = stream.read(&mut buf[n..])?;
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        n += got;
        if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let upgrade = head
                .lines()
                .any(|l| l.starts_with("upgrade:") && l.contains("websocket"));
            buf.truncate(n);
            stream.unread(buf);
            return Ok((end + 4, upgrade));
        }
        if n == buf.len() || clock::monotonic_now() >= deadline {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
}

/// Reads the `head_len` bytes of a plain HTTP request and answers it.
pub(crate) fn serve(
    mut stream: SimStream,
    head_len: usize,
    routes: &Routes,
    shared: &Shared,
) -> io::Result<()> {
    let mut head = vec![0u8; head_len];
    stream.read_exact(&mut head)?;
    let head = String::from_utf8_lossy(&head);
    let target = head
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("GET "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("");
    let (status, mut body) = answer(target, routes, shared);
    if status.starts_with("200") {
        match shared.next_rest_fault() {
            Some(RestFault::Throttle) => {
                return respond(
                    stream,
                    "429 Too Many Requests",
                    "Retry-After: 1\r\n",
                    &rest_error(
                        -1003,
                        "Too many requests; please use the websocket for live updates.",
                    ),
                );
            }
            Some(RestFault::Cut) => {
                let half = body.len() / 2;
                body.truncate(body.floor_char_boundary(half));
            }
            None => {}
        }
    }
    respond(stream, status, "", &body)
}

/// Writes one response (`extra`: further header lines, each ending in CRLF) and closes.
fn respond(mut stream: SimStream, status: &str, extra: &str, body: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json;charset=UTF-8\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()?;
    stream.finish()
}

/// The status line and body for a request target (`/path?query`).
fn answer(target: &str, routes: &Routes, shared: &Shared) -> (&'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == OKX_BOOKS_PATH {
        return okx_answer(query, routes, shared);
    }
    let kind = match path {
        "/api/v3/depth" => MarketKind::Spot,
        "/fapi/v1/depth" => MarketKind::Perp,
        _ => return ("404 Not Found", String::new()),
    };
    let market = Market {
        venue: Venue::Binance,
        kind,
    };
    let bad = |code, msg| ("400 Bad Request", rest_error(code, msg));
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    let Some(symbol) = param("symbol").filter(|s| !s.is_empty()) else {
        return bad(
            -1102,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
        );
    };
    let limit = match param("limit").map(str::parse::<usize>) {
        None => LIMIT_DEFAULT,
        Some(Ok(n)) if n > 0 => n.min(LIMIT_MAX),
        Some(_) => {
            return bad(
                -1100,
                "Illegal characters found in parameter 'limit'; legal range is '1-5000'.",
            );
        }
    };
    let Some(listing) = routes.listing(market, symbol) else {
        return bad(-1121, "Invalid symbol.");
    };
    let body = shared
        .request_rest(listing, limit)
        .and_then(|rx| rx.recv_timeout(MODEL_REPLY_TIMEOUT).ok())
        .flatten();
    match body {
        Some(body) => ("200 OK", body),
        None => (
            "503 Service Unavailable",
            rest_error(-1007, "Timeout waiting for response from backend server."),
        ),
    }
}

/// The value of `name` in a query string.
fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// OKX's order book of `instId`, at most `sz` levels a side.
fn okx_answer(query: &str, routes: &Routes, shared: &Shared) -> (&'static str, String) {
    let bad = |code, msg| ("400 Bad Request", okx::rest_error(code, msg));
    let Some(inst) = query_param(query, "instId").filter(|s| !s.is_empty()) else {
        return bad("50014", "Parameter instId can not be empty.");
    };
    let sz = match query_param(query, "sz").map(str::parse::<usize>) {
        None => OKX_SZ_DEFAULT,
        Some(Ok(n)) if (1..=OKX_SZ_MAX).contains(&n) => n,
        Some(_) => return bad("51000", "Parameter sz error"),
    };
    let market = |kind| Market {
        venue: Venue::Okx,
        kind,
    };
    let listing = routes
        .listing(market(MarketKind::Spot), inst)
        .or_else(|| routes.listing(market(MarketKind::Perp), inst));
    let Some(listing) = listing else {
        return bad("51001", "Instrument ID does not exist.");
    };
    let body = shared
        .request_rest(listing, sz)
        .and_then(|rx| rx.recv_timeout(MODEL_REPLY_TIMEOUT).ok())
        .flatten();
    match body {
        Some(body) => ("200 OK", body),
        None => (
            "503 Service Unavailable",
            okx::rest_error(
                "50001",
                "Service temporarily unavailable. Please try again later.",
            ),
        ),
    }
}
