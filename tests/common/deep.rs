//! Deep-nesting inputs shared by the decoder fuzz tests (`tests/fuzz_*.rs`): real
//! messages with a deeply nested member, the hostile frame of issue 21 (30,000 arrays
//! deep), and a thread with a small stack to decode them on, so that a recursion as deep
//! as the input overflows it (aborting the test binary) instead of passing unnoticed.

/// `message` with a member `"x":[[..1..]]` nested `depth` arrays deep put first in its
/// outer object (the whole message wrapped that deep when it is not an object).
pub fn nested(message: &[u8], depth: usize) -> Vec<u8> {
    let member = format!(r#""x":{}1{}"#, "[".repeat(depth), "]".repeat(depth));
    let mut out = Vec::with_capacity(message.len() + member.len() + 2);
    match message.split_first() {
        Some((b'{', rest)) => {
            out.push(b'{');
            out.extend_from_slice(member.as_bytes());
            if rest.first() != Some(&b'}') {
                out.push(b',');
            }
            out.extend_from_slice(rest);
        }
        _ => {
            out.extend_from_slice("[".repeat(depth).as_bytes());
            out.extend_from_slice(message);
            out.extend_from_slice("]".repeat(depth).as_bytes());
        }
    }
    out
}

/// The hostile frame of issue 21: about 60 KB, 30,000 arrays deep, after `head` (such as
/// `{"e":"bookTicker",`).
pub fn hostile_deep(head: &str) -> Vec<u8> {
    format!(
        r#"{head}"x":{}{}}}"#,
        "[".repeat(30_000),
        "]".repeat(30_000)
    )
    .into_bytes()
}

/// Stack of [`on_small_stack`]'s thread: enough for a decoder on bounded input, far too
/// little for a recursion 30,000 deep (which then aborts the test binary).
pub const SMALL_STACK_BYTES: usize = 256 << 10;

/// Runs `f` on a thread with a [`SMALL_STACK_BYTES`] stack and returns what it returns.
pub fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(SMALL_STACK_BYTES)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    })
}
