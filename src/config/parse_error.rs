//! TOML parse errors as the operator sees them, without the configuration's text: the
//! parser's own rendering quotes the offending line, and a line such as `database.url`
//! carries a PostgreSQL password that would then reach stderr and, through `/reload`, a
//! Telegram chat. The message here names the line, the column and the key, and gives
//! the parser's reason; on a line whose key may hold a secret, anything quoted in the
//! reason is left out too.
//!
//! Cold path (start-up and reloads); allocates the message.

/// Words in a key name that mark its value as possibly secret (case-insensitive):
/// URLs may carry credentials (`postgres://user:password@host`).
const SECRET_KEY_WORDS: [&str; 5] = ["url", "password", "passwd", "token", "secret"];

/// What [`toml`] said about `text`, located and stripped of the text itself.
pub fn describe(err: &toml::de::Error, text: &str) -> String {
    let reason = err.message().trim();
    let Some(span) = err.span() else {
        return reason.to_owned();
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    match key_of(line) {
        Some(key) if may_hold_secret(key) => format!(
            "line {line_no}, column {column}, key `{key}` (its value is not shown: it may hold a secret): {}",
            without_quoted(reason)
        ),
        Some(key) => format!("line {line_no}, column {column}, key `{key}`: {reason}"),
        None => format!("line {line_no}, column {column}: {reason}"),
    }
}

/// The key a `key = value` line sets (`None` for table headers and other lines).
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let plain = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\''));
    (!key.is_empty() && plain).then_some(key)
}

/// Whether the value of `key` may be a secret.
fn may_hold_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEY_WORDS.iter().any(|w| key.contains(w))
}

/// `reason` with every `` `…` `` or `"…"` part replaced by `…`.
fn without_quoted(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut open: Option<char> = None;
    for c in reason.chars() {
        match open {
            Some(q) if c == q => open = None,
            Some(_) => {}
            None if c == '`' || c == '"' => {
                open = Some(c);
                out.push('…');
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        let err = toml::from_str::<toml::Table>(text).unwrap_err();
        describe(&err, text)
    }

    #[test]
    fn test_parse_error_names_line_and_key_without_the_text() {
        let text = "[database]\nbatch_rows = 5x\n";
        let msg = parse_err(text);
        assert!(
            msg.starts_with("line 2, column 14, key `batch_rows`: "),
            "{msg}"
        );
        assert!(!msg.contains("5x"), "{msg}");
    }

    #[test]
    fn test_parse_error_never_shows_a_secret_value() {
        for text in [
            "[database]\nurl = postgres://edge:hunter2@db/x\n",
            "[database]\nurl = \"postgres://edge:hunter2@db/x\n",
            "[database]\nurl = \"postgres://edge:hunter2@db/x\" junk\n",
            "[telegram]\ntoken = 'hunter2\n",
        ] {
            let msg = parse_err(text);
            assert!(!msg.contains("hunter2"), "{msg}");
            assert!(msg.contains("it may hold a secret"), "{msg}");
        }
    }

    #[test]
    fn test_parse_error_quoted_parts_are_left_out() {
        assert_eq!(
            without_quoted("invalid type: string \"pw\", expected `x`"),
            "invalid type: string …, expected …"
        );
    }
}
