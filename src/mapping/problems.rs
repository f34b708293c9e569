//! Problems found while loading a mapping file, each with file, line, column and key path.
//!
//! Loading collects every problem instead of stopping at the first, so an operator fixes a file
//! in one round. This module only formats; it finds nothing itself.

use std::fmt;

/// One problem in a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file name as given to [`load`](super::load).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// Dotted key path (`users.attributes."name.givenName".path`), empty when unknown.
    pub key_path: String,
    /// What is wrong, and in parentheses what is allowed.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem of one mapping file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// The problems, one per line, as `check` prints them.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for p in &self.0 {
            out.push_str(&p.to_string());
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// Formats a key path from its parts, quoting parts that hold dots, colons, brackets or spaces.
pub(crate) fn join_key_path(parts: &[String]) -> String {
    let mut out = String::new();
    for part in parts {
        if !out.is_empty() && !part.starts_with('[') {
            out.push('.');
        }
        let plain = part.starts_with('[')
            || part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if plain {
            out.push_str(part);
        } else {
            out.push('"');
            out.push_str(&part.replace('"', "\\\""));
            out.push('"');
        }
    }
    out
}
