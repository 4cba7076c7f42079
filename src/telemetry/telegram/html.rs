//! Escaping for Telegram's HTML parse mode: every dynamic string (symbols, error texts,
//! anything a venue or a user sent) goes through [`escape`] before it is put between our
//! own tags. Pure functions.

/// Escapes `&`, `<`, `>` and `"` as Telegram's HTML mode requires.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` escaped inside `<pre>` (monospace block: tables and aligned figures).
pub fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_escape_specials() {
        assert_eq!(escape("a<b & c>\"d\""), "a&lt;b &amp; c&gt;&quot;d&quot;");
        assert_eq!(escape("BTC/USDT"), "BTC/USDT");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn test_pre_wraps_escaped() {
        assert_eq!(pre("x<y"), "<pre>x&lt;y</pre>");
    }
}
