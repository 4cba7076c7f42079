//! A fake Telegram Bot API on 127.0.0.1 for the bot's integration tests: serves
//! `getUpdates` from a queue the test fills, records every `sendMessage`, answers 401 for
//! a wrong token and, on request, 429 with `retry_after` for the next sends or polls;
//! raw updates (malformed ones too) can be queued as given.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One `sendMessage` the fake received.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Target chat.
    pub chat_id: i64,
    /// Text as sent (HTML).
    pub text: String,
    /// `parse_mode`.
    pub parse_mode: String,
    /// When it arrived.
    pub at: Instant,
    /// Whether the fake refused it with 429.
    pub refused: bool,
}

#[derive(Default)]
struct State {
    updates: Vec<String>,
    next_update_id: i64,
    sent: Vec<Sent>,
    refuse_next: u32,
    refuse_polls: u32,
    poll_retry_after_secs: u64,
    polls: u64,
}

/// The running fake.
pub struct FakeTelegram {
    addr: SocketAddr,
    token: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FakeTelegram {
    /// Starts the fake for a bot with `token`.
    pub fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let fake = Self {
            addr: listener.local_addr().unwrap(),
            token: token.to_owned(),
            state: Arc::new(Mutex::new(State {
                next_update_id: 1,
                ..State::default()
            })),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (state, stop, token) = (
            Arc::clone(&fake.state),
            Arc::clone(&fake.stop),
            fake.token.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (state, token) = (Arc::clone(&state), token.clone());
                        std::thread::spawn(move || serve(stream, &state, &token));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        fake
    }

    /// The base URL to give the bot.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a text message from `chat_id`.
    pub fn say(&self, chat_id: i64, text: &str) {
        let mut s = self.state.lock().unwrap();
        let id = s.next_update_id;
        s.next_update_id += 1;
        let text = serde_json::to_string(text).unwrap();
        s.updates.push(format!(
            r#"{{"update_id":{id},"message":{{"message_id":{id},"date":0,"chat":{{"id":{chat_id},"type":"private"}},"text":{text}}}}}"#
        ));
    }

    /// Queues an update as given: `{id}` in `json` becomes its update id.
    pub fn push_raw_update(&self, json: &str) {
        let mut s = self.state.lock().unwrap();
        let id = s.next_update_id;
        s.next_update_id += 1;
        s.updates.push(json.replace("{id}", &id.to_string()));
    }

    /// Answers the next `n` polls with 429 and `retry_after: secs`.
    pub fn refuse_next_polls(&self, n: u32, secs: u64) {
        let mut s = self.state.lock().unwrap();
        s.refuse_polls = n;
        s.poll_retry_after_secs = secs;
    }

    /// Answers the next `n` sends with 429 and `retry_after: 1`.
    pub fn refuse_next_sends(&self, n: u32) {
        self.state.lock().unwrap().refuse_next = n;
    }

    /// Every send received so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.state.lock().unwrap().sent.clone()
    }

    /// `getUpdates` calls received so far.
    pub fn polls(&self) -> u64 {
        self.state.lock().unwrap().polls
    }

    /// Waits (up to 10 s) until `pred` holds for the accepted sends; returns them.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&[Sent]) -> bool) -> Vec<Sent> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let accepted: Vec<Sent> = self.sent().into_iter().filter(|s| !s.refused).collect();
            if pred(&accepted) {
                return accepted;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {accepted:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, token: &str) {
    stream.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).unwrap();
        let target = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let (status, answer) = route(&target, &body, state, token);
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn route(target: &str, body: &[u8], state: &Mutex<State>, token: &str) -> (&'static str, String) {
    let prefix = format!("/bot{token}/");
    let Some(method) = target.strip_prefix(&prefix) else {
        return (
            "401 Unauthorized",
            r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#.into(),
        );
    };
    let (method, query) = method.split_once('?').unwrap_or((method, ""));
    match method {
        "getUpdates" => {
            let offset: i64 = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "offset")
                .map_or(0, |(_, v)| v.parse().unwrap());
            {
                let mut s = state.lock().unwrap();
                if s.refuse_polls > 0 {
                    s.refuse_polls -= 1;
                    s.polls += 1;
                    let secs = s.poll_retry_after_secs;
                    return (
                        "429 Too Many Requests",
                        format!(
                            r#"{{"ok":false,"error_code":429,"description":"Too Many Requests: retry after {secs}","parameters":{{"retry_after":{secs}}}}}"#
                        ),
                    );
                }
            }
            // A short long-poll: wait up to 100 ms for something to deliver.
            let deadline = Instant::now() + Duration::from_millis(100);
            loop {
                let mut s = state.lock().unwrap();
                s.polls += 1;
                let first_id = s.next_update_id - s.updates.len() as i64;
                let skip = usize::try_from((offset - first_id).max(0)).unwrap();
                let pending: Vec<String> = s.updates.iter().skip(skip).cloned().collect();
                if !pending.is_empty() || Instant::now() >= deadline {
                    return (
                        "200 OK",
                        format!(r#"{{"ok":true,"result":[{}]}}"#, pending.join(",")),
                    );
                }
                drop(s);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        "sendMessage" => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            let mut s = state.lock().unwrap();
            let refused = s.refuse_next > 0;
            s.sent.push(Sent {
                chat_id: v["chat_id"].as_i64().unwrap(),
                text: v["text"].as_str().unwrap().to_owned(),
                parse_mode: v["parse_mode"].as_str().unwrap_or("").to_owned(),
                at: Instant::now(),
                refused,
            });
            if refused {
                s.refuse_next -= 1;
                return (
                    "429 Too Many Requests",
                    r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#.into(),
                );
            }
            ("200 OK", r#"{"ok":true,"result":{"message_id":1}}"#.into())
        }
        _ => (
            "404 Not Found",
            r#"{"ok":false,"error_code":404,"description":"Not Found"}"#.into(),
        ),
    }
}
