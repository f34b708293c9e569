//! README.md split into fenced blocks, console blocks into commands and their output, and the
//! output comparison with `...` wildcards.

use std::collections::HashSet;

use super::walk::Failure;

/// One fenced block: the line of its opening fence (1-based), its language, its body with the
/// fence's indentation removed.
#[derive(Debug, Clone)]
pub(super) struct Block {
    pub(super) line: usize,
    pub(super) lang: String,
    pub(super) body: Vec<String>,
}

impl Block {
    /// The body as a shell script (one trailing newline).
    pub(super) fn text(&self) -> String {
        let mut text = self.body.join("\n");
        text.push('\n');
        text
    }
}

/// An opening fence `(indent)(```+)(lang)`, trailing whitespace allowed: (indent, ticks, lang).
fn opening_fence(line: &str) -> Option<(usize, usize, &str)> {
    let rest = line.trim_start();
    let indent = line.chars().count() - rest.chars().count();
    let ticks = rest.chars().take_while(|&c| c == '`').count();
    if ticks < 3 {
        return None;
    }
    let after = &rest[ticks..];
    let lang_len = after.find(char::is_whitespace).unwrap_or(after.len());
    let (lang, tail) = after.split_at(lang_len);
    tail.trim().is_empty().then_some((indent, ticks, lang))
}

/// A closing fence: exactly `ticks` backticks, whitespace around.
fn closing_fence(line: &str, ticks: usize) -> bool {
    let t = line.trim();
    t.len() == ticks && t.chars().all(|c| c == '`')
}

/// `line` without its first `indent` characters when they are whitespace, else without its
/// leading whitespace (a body line indented less than its fence).
fn dedent(line: &str, indent: usize) -> String {
    let split = line
        .char_indices()
        .nth(indent)
        .map_or(line.len(), |(i, _)| i);
    let (head, tail) = line.split_at(split);
    if head.trim().is_empty() {
        tail.to_string()
    } else {
        line.trim_start().to_string()
    }
}

/// Every fenced block of `readme`, in order.
pub(super) fn parse_blocks(readme: &str) -> Result<Vec<Block>, Failure> {
    let lines: Vec<&str> = readme.split('\n').collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, ticks, lang)) = opening_fence(lines[i]) else {
            i += 1;
            continue;
        };
        let line = i + 1;
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && !closing_fence(lines[i], ticks) {
            body.push(dedent(lines[i], indent));
            i += 1;
        }
        if i >= lines.len() {
            return Err(Failure::new(line, "unterminated code fence"));
        }
        i += 1;
        blocks.push(Block {
            line,
            lang: lang.to_string(),
            body,
        });
    }
    Ok(blocks)
}

/// One `$ ` command of a console block (continuation lines joined with `\n`) and the output the
/// README shows for it.
#[derive(Debug, Clone)]
pub(super) struct ConsoleCommand {
    pub(super) command: String,
    pub(super) expected: Vec<String>,
}

impl ConsoleCommand {
    /// The command's first line, to name it in messages.
    pub(super) fn first_line(&self) -> &str {
        self.command.split('\n').next().unwrap_or_default()
    }
}

/// The commands of a console block: a `$ ` line starts one (unless the previous command ends in
/// `\`, then it continues it, as do the lines after it), the lines up to the next are its output.
pub(super) fn console_commands(block: &Block) -> Result<Vec<ConsoleCommand>, Failure> {
    let mut commands: Vec<ConsoleCommand> = Vec::new();
    for line in &block.body {
        let continues = commands.last().is_some_and(|c| c.command.ends_with('\\'));
        if let Some(command) = line.strip_prefix("$ ").filter(|_| !continues) {
            commands.push(ConsoleCommand {
                command: command.to_string(),
                expected: Vec::new(),
            });
        } else if let Some(last) = commands
            .last_mut()
            .filter(|c| continues && c.expected.is_empty())
        {
            last.command.push('\n');
            last.command.push_str(line);
        } else if let Some(last) = commands.last_mut() {
            last.expected.push(line.clone());
        } else if !line.trim().is_empty() {
            return Err(Failure::new(
                block.line,
                "console block text before its first `$ ` command",
            ));
        }
    }
    for command in &mut commands {
        while command.expected.last().is_some_and(String::is_empty) {
            command.expected.pop();
        }
        if command.expected.iter().all(|l| l.trim().is_empty()) {
            command.expected.clear();
        }
    }
    Ok(commands)
}

/// A line of expected output: `...` alone matches any number of lines; otherwise the line's
/// pieces between `...` must appear in order, the actual line may have trailing blanks.
enum Want<'a> {
    AnyLines,
    Line(Vec<&'a str>),
}

fn glob(parts: &[&str], line: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return line.is_empty();
    };
    let Some((last, middle)) = rest.split_last() else {
        return line == *first;
    };
    let Some(mut pos) = line.strip_prefix(first).map(|_| first.len()) else {
        return false;
    };
    for part in middle {
        match line[pos..].find(part) {
            Some(at) => pos += at + part.len(),
            None => return false,
        }
    }
    line.len() >= pos + last.len() && line.ends_with(last)
}

fn line_matches(parts: &[&str], line: &str) -> bool {
    // As `piece.*piece[ \t]*`: the glob may stop before any run of trailing blanks.
    let mut end = line.len();
    loop {
        if glob(parts, &line[..end]) {
            return true;
        }
        match line[..end].chars().next_back() {
            Some(c @ (' ' | '\t')) => end -= c.len_utf8(),
            _ => return false,
        }
    }
}

fn matches(want: &[Want<'_>], got: &[&str]) -> bool {
    fn go(
        want: &[Want<'_>],
        got: &[&str],
        w: usize,
        g: usize,
        dead: &mut HashSet<(usize, usize)>,
    ) -> bool {
        if dead.contains(&(w, g)) {
            return false;
        }
        let ok = match want.get(w) {
            None => g == got.len(),
            Some(Want::AnyLines) => (g..=got.len()).any(|k| go(want, got, w + 1, k, dead)),
            Some(Want::Line(parts)) => {
                g < got.len() && line_matches(parts, got[g]) && go(want, got, w + 1, g + 1, dead)
            }
        };
        if !ok {
            dead.insert((w, g));
        }
        ok
    }
    go(want, got, 0, 0, &mut HashSet::new())
}

/// `None` when `actual` matches `expected`, else where it differs and the actual output.
pub(super) fn output_differs(expected: &[String], actual: &str) -> Option<String> {
    let want: Vec<Want<'_>> = expected
        .iter()
        .map(|l| {
            if l.trim() == "..." {
                Want::AnyLines
            } else {
                Want::Line(l.split("...").collect())
            }
        })
        .collect();
    let trimmed = actual.trim_end_matches('\n');
    let got: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('\n').collect()
    };
    if matches(&want, &got) {
        return None;
    }
    // Say where: the longest expected prefix that still matches a prefix of the output.
    let k = (0..=want.len())
        .rev()
        .find(|&k| (0..=got.len()).any(|g| matches(&want[..k], &got[..g])))
        .unwrap_or(0);
    let at = expected
        .get(k)
        .map_or("(end)".to_string(), |l| format!("{l:?}"));
    let mut report = format!(
        "output differs at expected line {}: {at}\n    actual output:",
        k + 1
    );
    for line in got.iter().take(40) {
        report.push_str("\n    | ");
        report.push_str(line);
    }
    Some(report)
}
