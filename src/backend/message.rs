//! Extracts a short, safe error text from a backend error body.
//!
//! Backends spell errors many ways (`{"error": ..}`, `{"errors": [..]}`, `{"message": ..}`,
//! plain text, HTML). This module finds the human text, strips control characters and
//! truncates it, so it can go into a SCIM error detail and a log line. It does no I/O.

use serde_json::Value;

/// Longest message kept, in characters.
pub(crate) const MAX_MESSAGE_CHARS: usize = 300;

/// Keys whose string value is the error text, most specific first.
const TEXT_KEYS: &[&str] = &[
    "message",
    "detail",
    "error_description",
    "description",
    "error_message",
    "msg",
    "title",
    "reason",
];

/// The error text of a backend body: from JSON when it parses, else the raw text; the status's
/// reason phrase when the body says nothing.
pub(crate) fn extract(body: Option<&Value>, raw: &[u8], fallback: &str) -> String {
    let text = match body {
        Some(value) => from_json(value).unwrap_or_else(|| value.to_string()),
        None => String::from_utf8_lossy(raw).into_owned(),
    };
    let clean = sanitise(&text);
    if clean.is_empty() {
        fallback.to_owned()
    } else {
        clean
    }
}

fn from_json(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(from_json).collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        Value::Object(map) => {
            if let Some(error) = map.get("error") {
                let head = from_json(error);
                // OAuth style: {"error": "invalid_client", "error_description": "..."}
                let tail = map.get("error_description").and_then(from_json);
                return match (head, tail) {
                    (Some(head), Some(tail)) => Some(format!("{head}: {tail}")),
                    (head, tail) => head.or(tail),
                };
            }
            if let Some(text) = map.get("errors").and_then(from_json) {
                return Some(text);
            }
            TEXT_KEYS
                .iter()
                .find_map(|key| map.get(*key).and_then(|v| v.as_str().map(str::to_owned)))
        }
        _ => None,
    }
}

/// Replaces control characters by spaces, collapses whitespace and truncates.
pub(crate) fn sanitise(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        if chars >= MAX_MESSAGE_CHARS {
            out.push('…');
            return out;
        }
        out.push(c);
        chars += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn common_json_shapes() {
        let cases = [
            (json!({"error": "email taken"}), "email taken"),
            (json!({"error": {"message": "bad plan"}}), "bad plan"),
            (
                json!({"error": "invalid_client", "error_description": "no"}),
                "invalid_client: no",
            ),
            (json!({"errors": ["a", "b"]}), "a; b"),
            (
                json!({"errors": [{"message": "x"}, {"detail": "y"}]}),
                "x; y",
            ),
            (json!({"message": "nope"}), "nope"),
            (json!({"detail": "gone"}), "gone"),
            (json!({"code": 7}), "{\"code\":7}"),
        ];
        for (body, expected) in cases {
            assert_eq!(extract(Some(&body), b"", "Bad"), expected, "{body}");
        }
    }

    #[test]
    fn raw_text_is_cleaned_and_truncated() {
        assert_eq!(
            extract(None, b"line1\r\nline2\x07 end", "x"),
            "line1 line2 end"
        );
        assert_eq!(extract(None, b"  ", "Not Found"), "Not Found");
        let long = "é".repeat(1000);
        let message = extract(None, long.as_bytes(), "x");
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }
}
