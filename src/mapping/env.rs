//! `${NAME}` / `${NAME:-default}` references: which names a file uses, their values from the
//! injected lookup, and where unset ones without a default are.
//!
//! The substitution itself is done by serde-saphyr inside each scalar (so positions stay exact
//! and a value can never inject YAML); this module only prepares the property map.

use std::collections::HashMap;

/// An environment variable referenced without a default and not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unset {
    pub(crate) name: String,
    pub(crate) line: u64,
    pub(crate) column: u64,
}

/// The values of every `${NAME…}` the file uses, plus the unset ones that have no default
/// (given an empty value so parsing can go on and find more problems).
pub(crate) fn properties(
    contents: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (HashMap<String, String>, Vec<Unset>) {
    let mut map = HashMap::new();
    let mut unset = Vec::new();
    for (index, line) in contents.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut from = 0;
        while let Some(pos) = line[from..].find("${") {
            let start = from + pos;
            let after = &line[start + 2..];
            let name_len = after
                .char_indices()
                .find(|(i, c)| {
                    !(c.is_ascii_alphanumeric() || *c == '_') || (*i == 0 && c.is_ascii_digit())
                })
                .map_or(after.len(), |(i, _)| i);
            let name = &after[..name_len];
            from = start + 2 + name_len;
            if name.is_empty() {
                continue;
            }
            let has_default = matches!(after[name_len..].chars().next(), Some('-' | ':'));
            match env(name) {
                Some(value) => {
                    map.insert(name.to_owned(), value);
                }
                None if has_default => {}
                None => {
                    map.insert(name.to_owned(), String::new());
                    let column = line[..start].chars().count() as u64 + 1;
                    unset.push(Unset {
                        name: name.to_owned(),
                        line: index as u64 + 1,
                        column,
                    });
                }
            }
        }
    }
    (map, unset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_defaults_and_unset_names() {
        let text = "a: ${SET}\nb: \"${UNSET:-x}\"\n# c: ${IN_COMMENT}\nd: x${MISSING}\n";
        let env = |name: &str| (name == "SET").then(|| "v".to_owned());
        let (map, unset) = properties(text, &env);
        assert_eq!(map.get("SET").map(String::as_str), Some("v"));
        assert!(!map.contains_key("UNSET"));
        assert_eq!(
            unset,
            vec![Unset {
                name: "MISSING".into(),
                line: 4,
                column: 5
            }]
        );
    }
}
