//! `${NAME}` / `${NAME:-default}` substitution in a mapping file's text, before YAML parsing.
//!
//! Each value is escaped for the scalar it lands in (double-quoted, single-quoted or plain), so a
//! value can never add YAML structure; a value that cannot be placed safely is a problem. The
//! column shifts are kept so every reported position points into the file as written.

/// A `${…}` reference that could not be substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvProblem {
    pub(crate) line: u64,
    pub(crate) column: u64,
    pub(crate) message: String,
}

/// One substitution on a line, in characters: where it starts in the new text, and how much
/// longer the new text is than the `${…}` it replaced.
#[derive(Debug, Clone, Copy)]
struct Shift {
    new_start: u64,
    new_len: u64,
    old_len: u64,
}

/// The substituted text and how to map its columns back.
#[derive(Debug, Clone, Default)]
pub(crate) struct Substituted {
    pub(crate) text: String,
    shifts: Vec<Vec<Shift>>,
    pub(crate) problems: Vec<EnvProblem>,
}

impl Substituted {
    /// The column in the original file of a 1-based `(line, column)` in the substituted text.
    pub(crate) fn original_column(&self, line: u64, column: u64) -> u64 {
        let Some(shifts) = line
            .checked_sub(1)
            .and_then(|i| self.shifts.get(i as usize))
        else {
            return column;
        };
        let mut col = column;
        for s in shifts.iter().rev() {
            let new_col0 = column.saturating_sub(1);
            if new_col0 >= s.new_start + s.new_len {
                col = col + s.old_len - s.new_len;
            } else if new_col0 >= s.new_start {
                col = s.new_start + 1;
            }
        }
        col
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Substitutes every `${…}` outside comments using `env`.
pub(crate) fn substitute(contents: &str, env: &dyn Fn(&str) -> Option<String>) -> Substituted {
    let mut out = Substituted::default();
    for (index, line) in contents.split('\n').enumerate() {
        let line_no = index as u64 + 1;
        let chars: Vec<char> = line.chars().collect();
        let mut new_line = String::with_capacity(line.len());
        let mut shifts = Vec::new();
        let mut new_len_so_far: u64 = 0;
        let mut quote = Quote::None;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match (quote, c) {
                (Quote::None, '#') if i == 0 || chars[i - 1].is_whitespace() => {
                    // A comment: copy the rest untouched.
                    let rest: String = chars[i..].iter().collect();
                    new_line.push_str(&rest);
                    break;
                }
                (Quote::None, '"') => quote = Quote::Double,
                (Quote::None, '\'') => quote = Quote::Single,
                (Quote::Double, '\\') => {
                    new_line.push(c);
                    if let Some(next) = chars.get(i + 1) {
                        new_line.push(*next);
                        new_len_so_far += 1;
                    }
                    new_len_so_far += 1;
                    i += 2;
                    continue;
                }
                (Quote::Double, '"') | (Quote::Single, '\'') => quote = Quote::None,
                (_, '$') if chars.get(i + 1) == Some(&'{') => {
                    if let Some(end) = chars[i..].iter().position(|c| *c == '}') {
                        let inner: String = chars[i + 2..i + end].iter().collect();
                        let column = i as u64 + 1;
                        let value = resolve(&inner, env).unwrap_or_else(|message| {
                            out.problems.push(EnvProblem {
                                line: line_no,
                                column,
                                message,
                            });
                            String::new()
                        });
                        let escaped = escape(&value, quote).unwrap_or_else(|message| {
                            out.problems.push(EnvProblem {
                                line: line_no,
                                column,
                                message: format!("the value of `{inner}` {message} (write it in double quotes: \"${{{inner}}}\")"),
                            });
                            String::new()
                        });
                        let new_len = escaped.chars().count() as u64;
                        shifts.push(Shift {
                            new_start: new_len_so_far,
                            new_len,
                            old_len: end as u64 + 1,
                        });
                        new_line.push_str(&escaped);
                        new_len_so_far += new_len;
                        i += end + 1;
                        continue;
                    }
                }
                _ => {}
            }
            new_line.push(c);
            new_len_so_far += 1;
            i += 1;
        }
        if index > 0 {
            out.text.push('\n');
        }
        out.text.push_str(&new_line);
        out.shifts.push(shifts);
    }
    out
}

/// The value of `NAME`, `NAME:-default` or `NAME-default`.
fn resolve(inner: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "`${{{inner}}}` is not a variable reference (write `${{NAME}}` or `${{NAME:-default}}`)"
        ));
    }
    let default = if let Some(d) = rest.strip_prefix(":-") {
        Some(d)
    } else if let Some(d) = rest.strip_prefix('-') {
        Some(d)
    } else if rest.is_empty() {
        None
    } else {
        return Err(format!(
            "`${{{inner}}}` is not a variable reference (write `${{NAME}}` or `${{NAME:-default}}`)"
        ));
    };
    match (env(name), default) {
        (Some(v), Some(d)) if v.is_empty() && rest.starts_with(':') => Ok(d.to_owned()),
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.to_owned()),
        (None, None) => Err(format!(
            "environment variable `{name}` is not set (set it, or write `${{{name}:-default}}`)"
        )),
    }
}

/// The value escaped for the scalar style it lands in.
fn escape(value: &str, quote: Quote) -> Result<String, String> {
    match quote {
        Quote::Double => {
            let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
            Ok(json[1..json.len() - 1].to_owned())
        }
        Quote::Single if value.contains(['\n', '\r']) => Err("contains a line break".into()),
        Quote::Single => Ok(value.replace('\'', "''")),
        Quote::None => {
            let risky = value.contains(['\n', '\r', ',', '[', ']', '{', '}', '"', '\''])
                || value.contains(": ")
                || value.contains(" #")
                || value.ends_with(':')
                || value.starts_with([
                    '-', '?', ':', '#', '&', '*', '!', '|', '>', '%', '@', '`', ' ',
                ])
                || value.ends_with(' ');
            if risky {
                Err("holds characters YAML would read as structure".into())
            } else {
                Ok(value.to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "LONG" => Some("a-much-longer-value".into()),
            "EVIL" => Some("x\"\n  admin: true".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_values_and_defaults() {
        let s = substitute(
            "a: ${SET}\nb: \"${MISSING:-http://x:1}\"\nc: ${EMPTY:-d}\n# ${NOPE}\n",
            &env,
        );
        assert_eq!(s.text, "a: value\nb: \"http://x:1\"\nc: d\n# ${NOPE}\n");
        assert!(s.problems.is_empty());
    }

    #[test]
    fn unset_without_default_is_a_problem_at_its_position() {
        let s = substitute("a: 1\nb: x${MISSING}\n", &env);
        assert_eq!(s.problems.len(), 1);
        assert_eq!((s.problems[0].line, s.problems[0].column), (2, 5));
        assert!(s.problems[0].message.contains("`MISSING` is not set"));
    }

    #[test]
    fn values_cannot_inject_yaml() {
        let s = substitute("a: \"${EVIL}\"\n", &env);
        assert_eq!(s.text, "a: \"x\\\"\\n  admin: true\"\n");
        let s = substitute("a: ${EVIL}\n", &env);
        assert_eq!(s.problems.len(), 1);
    }

    #[test]
    fn columns_map_back_to_the_file_as_written() {
        let s = substitute("a: ${LONG} ${SET} x\n", &env);
        // `x` is at column 19 in the original, later in the substituted text.
        let new_col = s.text.find('x').unwrap() as u64 + 1;
        assert_eq!(s.original_column(1, new_col), 19);
        assert_eq!(s.original_column(1, 2), 2);
    }
}
