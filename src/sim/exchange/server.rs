//! The fake exchange's HTTP/1.1 server: one thread per connection (keep-alive), each
//! request parsed (request line, headers, `Content-Length` body, each bounded), checked
//! (API key, signature exactly as Binance documents it, `timestamp` within
//! `recvWindow`, request weight) and routed to the engine. Faults queued on the shared
//! state are applied to the next order placement.
//!
//! Cold path (simulator). Bounds: a request head of at most [`HEAD_MAX`] bytes and a
//! body of at most [`BODY_MAX`]; a connection is closed on anything larger or malformed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::engine::{ApiError, FakeOrder, NewOrder};
use super::{Fault, Shared};
use crate::types::{MarketKind, OrderSide, Price, Qty};

/// Largest request head accepted.
pub const HEAD_MAX: usize = 16 * 1024;
/// Largest request body accepted.
pub const BODY_MAX: usize = 64 * 1024;

struct Request {
    method: String,
    path: String,
    query: String,
    body: String,
    api_key: Option<String>,
}

/// Serves one connection until it closes, a restart, or shutdown.
pub(super) fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let generation = shared.generation.load(Ordering::Acquire);
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(200)));
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        if shared.stop.load(Ordering::Acquire)
            || shared.generation.load(Ordering::Acquire) != generation
        {
            return;
        }
        let req = match read_request(&mut reader) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(()) => return,
        };
        match handle(&shared, &req) {
            Some((status, headers, body)) => {
                let head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n",
                    reason(status),
                    body.len()
                );
                // One write: a head and a body written apart meet Nagle and the
                // client's delayed ACK (40 ms a request).
                let reply = [head.as_bytes(), body.as_bytes()].concat();
                if writer.write_all(&reply).is_err() {
                    return;
                }
            }
            None => return,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        _ => "Service Unavailable",
    }
}

/// `Ok(None)`: nothing arrived yet (read timeout, to look at the stop flags).
fn read_request(reader: &mut BufReader<TcpStream>) -> Result<Option<Request>, ()> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => return Err(()),
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            return if line.is_empty() { Ok(None) } else { Err(()) };
        }
        Err(_) => return Err(()),
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().ok_or(())?.to_owned(), parts.next().ok_or(())?);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (path, query) = (path.to_owned(), query.to_owned());
    let (mut len, mut api_key, mut head) = (0usize, None, line.len());
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).map_err(|_| ())? == 0 {
            return Err(());
        }
        head += h.len();
        if head > HEAD_MAX {
            return Err(());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').ok_or(())?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            len = value.parse().map_err(|_| ())?;
        } else if name.eq_ignore_ascii_case("x-mbx-apikey") {
            api_key = Some(value.to_owned());
        }
    }
    if len > BODY_MAX {
        return Err(());
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).map_err(|_| ())?;
    Ok(Some(Request {
        method,
        path,
        query,
        body: String::from_utf8(body).map_err(|_| ())?,
        api_key,
    }))
}

type Reply = Option<(u16, String, String)>;

fn error_reply(e: &ApiError, headers: String) -> Reply {
    let msg = e.msg.replace('"', "'");
    Some((
        e.http,
        headers,
        format!("{{\"code\":{},\"msg\":\"{msg}\"}}", e.code),
    ))
}

fn handle(shared: &Shared, req: &Request) -> Reply {
    let now = shared.now_ms();
    let weight = weight(&req.method, &req.path);
    let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    st.requests += 1;
    if let Some(until) = st.banned_until_ms.filter(|&u| now < u) {
        let secs = (until - now).div_ceil(1000);
        let e = ApiError {
            http: 418,
            code: -1003,
            msg: format!("Way too much request weight used; IP banned until {until}."),
        };
        return error_reply(&e, format!("Retry-After: {secs}\r\n"));
    }
    if now >= st.window_start_ms + shared.cfg.weight_window_ms {
        st.window_start_ms = now - (now - st.window_start_ms) % shared.cfg.weight_window_ms;
        st.weight_used = 0;
    }
    if now < st.throttled_until_ms {
        // Sent while told to wait: a violation; enough of them and the IP is banned.
        st.violations += 1;
        if st.violations >= shared.cfg.violations_to_ban {
            st.banned_until_ms = Some(now + shared.cfg.ban_ms);
        }
        st.rate_limited += 1;
        let secs = (st.throttled_until_ms - now).div_ceil(1000);
        let e = ApiError {
            http: 429,
            code: -1003,
            msg: "Too much request weight used.".into(),
        };
        return error_reply(&e, format!("Retry-After: {secs}\r\n"));
    }
    if st.weight_used + weight > shared.cfg.weight_limit {
        let window_end = st.window_start_ms + shared.cfg.weight_window_ms;
        st.throttled_until_ms = window_end;
        st.rate_limited += 1;
        let secs = (window_end - now).div_ceil(1000).max(1);
        let e = ApiError {
            http: 429,
            code: -1003,
            msg: "Too much request weight used.".into(),
        };
        return error_reply(&e, format!("Retry-After: {secs}\r\n"));
    }
    st.weight_used += weight;
    let headers = format!("X-MBX-USED-WEIGHT-1M: {}\r\n", st.weight_used);
    let is_place =
        req.method == "POST" && (req.path == "/api/v3/order" || req.path == "/fapi/v1/order");
    st.order_requests += u64::from(is_place);
    let fault = if is_place {
        st.faults.pop_front()
    } else {
        None
    };
    match fault {
        Some(Fault::TooManyRequests { retry_after_s }) => {
            st.throttled_until_ms = now + retry_after_s * 1000;
            st.rate_limited += 1;
            let e = ApiError {
                http: 429,
                code: -1003,
                msg: "Too many requests.".into(),
            };
            return error_reply(&e, format!("Retry-After: {retry_after_s}\r\n"));
        }
        Some(Fault::Banned { ms }) => {
            st.banned_until_ms = Some(now + ms);
            let e = ApiError {
                http: 418,
                code: -1003,
                msg: "IP banned.".into(),
            };
            return error_reply(&e, format!("Retry-After: {}\r\n", ms.div_ceil(1000)));
        }
        Some(Fault::ServerError { processed: false }) => {
            let e = ApiError {
                http: 503,
                code: -1008,
                msg: "Service Unavailable.".into(),
            };
            return error_reply(&e, headers);
        }
        _ => {}
    }
    drop(st);
    let reply = route(shared, req, now, headers.clone());
    match fault {
        Some(Fault::NoReplyAfterAccept) => None,
        Some(Fault::ServerError { processed: true }) => {
            let e = ApiError {
                http: 503,
                code: -1006,
                msg: "Unknown error, please check your request or try again later.".into(),
            };
            error_reply(&e, headers)
        }
        _ => reply,
    }
}

fn weight(method: &str, path: &str) -> u32 {
    match (method, path) {
        ("GET", p) if p.ends_with("/order") => 4,
        ("GET", p) if p.ends_with("/openOrders") => 6,
        ("GET", p) if p.ends_with("/account") || p.ends_with("/exchangeInfo") => 20,
        ("GET", p) if p.ends_with("/positionRisk") => 5,
        _ => 1,
    }
}

fn params(req: &Request) -> Vec<(String, String)> {
    req.query
        .split('&')
        .chain(req.body.split('&'))
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect()
}

fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(&v[i + 1..i + 3], 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The signed payload: query string then body, without the `signature` parameter.
fn signed_payload(req: &Request) -> String {
    let strip = |s: &str| -> String {
        s.split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("signature="))
            .collect::<Vec<_>>()
            .join("&")
    };
    format!("{}{}", strip(&req.query), strip(&req.body))
}

fn authenticate(
    shared: &Shared,
    req: &Request,
    p: &[(String, String)],
    now: u64,
) -> Result<(), ApiError> {
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if req.api_key.as_deref() != Some(shared.cfg.api_key.as_str()) {
        return Err(ApiError {
            http: 401,
            code: -2015,
            msg: "Invalid API-key, IP, or permissions for action.".into(),
        });
    }
    let sig = get("signature").ok_or_else(|| ApiError {
        http: 400,
        code: -1102,
        msg: "Mandatory parameter 'signature' was not sent.".into(),
    })?;
    let payload = signed_payload(req);
    let valid = match &shared.cfg.auth {
        super::FakeAuth::Hmac(signer) => signer.verify_hex(payload.as_bytes(), sig.as_bytes()),
        super::FakeAuth::Ed25519(public) => {
            crate::gateway::live::sign::ed25519_verify_base64(public, payload.as_bytes(), sig)
        }
    };
    if !valid {
        shared
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .bad_signatures += 1;
        return Err(ApiError {
            http: 400,
            code: -1022,
            msg: "Signature for this request is not valid.".into(),
        });
    }
    let ts: u64 = get("timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
    let window: u64 = get("recvWindow")
        .and_then(|t| t.parse().ok())
        .unwrap_or(5_000);
    if ts > now + 1_000 || now.saturating_sub(ts) > window {
        return Err(ApiError {
            http: 400,
            code: -1021,
            msg: "Timestamp for this request is outside of the recvWindow.".into(),
        });
    }
    Ok(())
}

fn route(shared: &Shared, req: &Request, now: u64, headers: String) -> Reply {
    let kind = if req.path.starts_with("/fapi/") {
        MarketKind::Perp
    } else {
        MarketKind::Spot
    };
    let tail = req
        .path
        .trim_start_matches("/api/v3")
        .trim_start_matches("/fapi/v1")
        .trim_start_matches("/fapi/v2");
    let ok = |body: String| Some((200, headers.clone(), body));
    match (req.method.as_str(), tail) {
        ("GET", "/time") => return ok(format!("{{\"serverTime\":{now}}}")),
        ("GET", "/exchangeInfo") => return ok(exchange_info(shared, kind)),
        _ => {}
    }
    let p = params(req);
    if let Err(e) = authenticate(shared, req, &p, now) {
        return error_reply(&e, headers);
    }
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let symbol = get("symbol").unwrap_or("");
    let clid = get("origClientOrderId");
    let oid = get("orderId").and_then(|v| v.parse().ok());
    let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    let result = match (req.method.as_str(), tail) {
        ("POST", "/order") => {
            let dec = |k: &str| get(k).unwrap_or("0");
            let new = NewOrder {
                symbol,
                side: if get("side") == Some("SELL") {
                    OrderSide::Sell
                } else {
                    OrderSide::Buy
                },
                order_type: get("type").unwrap_or(""),
                tif: get("timeInForce").unwrap_or(""),
                price: Price::from_decimal_str(dec("price")).unwrap_or(Price::ZERO),
                qty: Qty::from_decimal_str(dec("quantity")).unwrap_or(Qty::ZERO),
                client_id: get("newClientOrderId").unwrap_or(""),
                reduce_only: get("reduceOnly") == Some("true"),
            };
            let r = st.engine.place(kind, &new);
            if r.as_ref().is_err_and(|e| e.msg.starts_with("Duplicate")) {
                st.duplicates_refused += 1;
            }
            r.map(|o| order_json(&o, kind))
        }
        ("DELETE", "/order") => st
            .engine
            .cancel(kind, symbol, clid, oid)
            .map(|o| order_json(&o, kind)),
        ("GET", "/order") => st
            .engine
            .query(kind, symbol, clid, oid)
            .map(|o| order_json(&o, kind)),
        ("DELETE", "/openOrders") | ("DELETE", "/allOpenOrders") => {
            let cancelled = st.engine.cancel_all(kind, symbol);
            Ok(format!(
                "[{}]",
                cancelled
                    .iter()
                    .map(|o| order_json(o, kind))
                    .collect::<Vec<_>>()
                    .join(",")
            ))
        }
        ("GET", "/openOrders") => {
            let open = st.engine.open_orders(Some((kind, symbol)));
            let open: Vec<String> = open.iter().map(|o| order_json(o, kind)).collect();
            Ok(format!("[{}]", open.join(",")))
        }
        ("GET", "/account") => {
            let mut b: Vec<_> = st.engine.balances.iter().collect();
            b.sort();
            let b: Vec<String> = b
                .iter()
                .map(|(a, q)| {
                    format!(
                        "{{\"asset\":\"{a}\",\"free\":\"{}\",\"locked\":\"0\"}}",
                        Qty::from_raw(**q)
                    )
                })
                .collect();
            Ok(format!("{{\"balances\":[{}]}}", b.join(",")))
        }
        ("GET", "/positionRisk") => {
            let rows: Vec<String> = st
                .engine
                .symbols
                .iter()
                .filter(|s| s.kind == MarketKind::Perp)
                .map(|s| {
                    let amt = st.engine.positions.get(&s.symbol).copied().unwrap_or(0);
                    format!(
                        "{{\"symbol\":\"{}\",\"positionAmt\":\"{}\"}}",
                        s.symbol,
                        Qty::from_raw(amt)
                    )
                })
                .collect();
            Ok(format!("[{}]", rows.join(",")))
        }
        _ => Err(ApiError {
            http: 404,
            code: -1000,
            msg: "Unknown endpoint.".into(),
        }),
    };
    drop(st);
    match result {
        Ok(body) => ok(body),
        Err(e) => error_reply(&e, headers),
    }
}

fn order_json(o: &FakeOrder, kind: MarketKind) -> String {
    let side = if o.side == OrderSide::Buy {
        "BUY"
    } else {
        "SELL"
    };
    let quote = Qty::from_raw(o.cum_quote_raw);
    let quote_key = if kind == MarketKind::Spot {
        "cummulativeQuoteQty"
    } else {
        "cumQuote"
    };
    format!(
        "{{\"symbol\":\"{}\",\"orderId\":{},\"clientOrderId\":\"{}\",\"price\":\"{}\",\"origQty\":\"{}\",\"executedQty\":\"{}\",\"{quote_key}\":\"{quote}\",\"status\":\"{}\",\"timeInForce\":\"{}\",\"type\":\"{}\",\"side\":\"{side}\"}}",
        o.symbol,
        o.order_id,
        o.client_id,
        o.price,
        o.qty,
        o.executed,
        o.status,
        o.tif,
        o.order_type
    )
}

fn exchange_info(shared: &Shared, kind: MarketKind) -> String {
    let st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    let notional = if kind == MarketKind::Spot {
        "NOTIONAL\",\"minNotional"
    } else {
        "MIN_NOTIONAL\",\"notional"
    };
    let symbols: Vec<String> = st
        .engine
        .symbols
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| {
            format!(
                "{{\"symbol\":\"{}\",\"status\":\"TRADING\",\"baseAsset\":\"{}\",\"quoteAsset\":\"{}\",\"filters\":[{{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"{}\",\"maxPrice\":\"1000000\",\"tickSize\":\"{}\"}},{{\"filterType\":\"LOT_SIZE\",\"minQty\":\"{}\",\"maxQty\":\"9000\",\"stepSize\":\"{}\"}},{{\"filterType\":\"{notional}\":\"{}\"}}]}}",
                s.symbol, s.base, s.quote, s.tick, s.tick, s.step, s.step, s.min_notional
            )
        })
        .collect();
    let limit = shared.cfg.weight_limit;
    format!(
        "{{\"timezone\":\"UTC\",\"rateLimits\":[{{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":{limit}}}],\"symbols\":[{}]}}",
        symbols.join(",")
    )
}
