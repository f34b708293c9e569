//! The recursive-descent parser shared by filters and attribute/PATCH paths.
//!
//! It works on bytes of a `&str` (every delimiter is ASCII, so every slice is on a char boundary)
//! and never panics: every failure is an [`Error`] with the byte offset. Recursion is bounded by
//! [`MAX_NESTING`], AST depth by [`MAX_OPERATORS`].

use super::{CompareOp, Error, ErrorKind, Filter, MAX_NESTING, MAX_OPERATORS};
use crate::scim::path::{AttrPath, PatchPath};
use serde_json::Value;

/// An attribute path token: either a path, or only a known schema URN.
#[derive(Debug)]
pub(crate) enum PathToken {
    /// `attr`, `attr.sub`, `urn:…:attr(.sub)`.
    Attr(AttrPath),
    /// Exactly a known schema URN, with no attribute after it.
    SchemaOnly(String),
}

/// Where a sub-expression ends, which decides the error message when it does not.
#[derive(Clone, Copy)]
enum Closer {
    Paren,
    Bracket,
}

/// Parser state over one input.
pub(crate) struct Parser<'a> {
    input: &'a str,
    pos: usize,
    known_urns: &'a [String],
    nesting: usize,
    operators: usize,
    in_value_filter: bool,
}

/// Characters that end an attribute path token.
fn ends_token(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'[' | b']' | b'(' | b')' | b'"')
}

/// Characters allowed in an attribute name (RFC 7643 §2.1 `nameChar`, plus `$` for `$ref`).
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$')
}

impl<'a> Parser<'a> {
    /// A parser at the start of `input`.
    pub(crate) fn new(input: &'a str, known_urns: &'a [String]) -> Self {
        Self {
            input,
            pos: 0,
            known_urns,
            nesting: 0,
            operators: 0,
            in_value_filter: false,
        }
    }

    fn err(&self, offset: usize, kind: ErrorKind) -> Error {
        Error {
            offset,
            kind,
            input: self.input.to_owned(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// The maximal run of ASCII letters and digits starting at `at`.
    fn word_at(&self, at: usize) -> &'a str {
        let bytes = self.input.as_bytes();
        let mut end = at;
        while bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            end += 1;
        }
        self.input.get(at..end).unwrap_or("")
    }

    /// Consumes `keyword` (case-insensitive, after optional whitespace) when it stands alone.
    fn keyword(&mut self, keyword: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        let word = self.word_at(self.pos);
        let after = self.input.as_bytes().get(self.pos + word.len()).copied();
        let boundary = after.is_none_or(|b| !is_name_char(b) && !matches!(b, b'.' | b':'));
        if word.eq_ignore_ascii_case(keyword) && boundary {
            self.pos += word.len();
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        if self.nesting >= MAX_NESTING {
            return Err(self.err(self.pos, ErrorKind::TooDeep));
        }
        self.nesting += 1;
        Ok(())
    }

    fn count_operator(&mut self, at: usize) -> Result<(), Error> {
        if self.operators >= MAX_OPERATORS {
            return Err(self.err(at, ErrorKind::TooManyOperators));
        }
        self.operators += 1;
        Ok(())
    }

    /// Parses the whole input as a filter.
    pub(crate) fn filter(mut self) -> Result<Filter, Error> {
        let f = self.or()?;
        self.skip_ws();
        if self.at_end() {
            Ok(f)
        } else {
            Err(self.err(self.pos, ErrorKind::ExpectedLogicalOrEnd))
        }
    }

    /// Parses the whole input as one attribute path (no filter, nothing after it).
    pub(crate) fn attr_path(mut self) -> Result<PathToken, Error> {
        self.skip_ws();
        let token = self.path_token()?;
        self.skip_ws();
        if self.at_end() {
            Ok(token)
        } else {
            Err(self.err(self.pos, ErrorKind::ExpectedPathEnd))
        }
    }

    /// Parses the whole input as a PATCH path; `Ok(Err(urn))` means "only a schema URN" (returned
    /// as written).
    pub(crate) fn patch_path(mut self) -> Result<Result<PatchPath, String>, Error> {
        self.skip_ws();
        let attr = match self.path_token()? {
            PathToken::Attr(attr) => attr,
            PathToken::SchemaOnly(schema) => return Ok(Err(schema)),
        };
        let mut filter = None;
        let mut sub_attr = None;
        if self.peek() == Some(b'[') {
            if attr.sub_attr.is_some() {
                return Err(self.err(self.pos, ErrorKind::ValueFilterOnSubAttribute));
            }
            filter = Some(self.value_filter()?);
            if self.peek() == Some(b'.') {
                self.pos += 1;
                sub_attr = Some(self.name()?.to_owned());
            }
        }
        self.skip_ws();
        if !self.at_end() {
            return Err(self.err(self.pos, ErrorKind::ExpectedPathEnd));
        }
        Ok(Ok(PatchPath {
            attr,
            filter,
            sub_attr,
        }))
    }

    fn expected_closer(closer: Closer) -> ErrorKind {
        match closer {
            Closer::Paren => ErrorKind::ExpectedLogicalOrParen,
            Closer::Bracket => ErrorKind::ExpectedLogicalOrBracket,
        }
    }

    fn or(&mut self) -> Result<Filter, Error> {
        let mut left = self.and()?;
        loop {
            let at = self.pos;
            if !self.keyword("or") {
                return Ok(left);
            }
            self.count_operator(at)?;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
    }

    fn and(&mut self) -> Result<Filter, Error> {
        let mut left = self.unary()?;
        loop {
            let at = self.pos;
            if !self.keyword("and") {
                return Ok(left);
            }
            self.count_operator(at)?;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Filter, Error> {
        self.skip_ws();
        let start = self.pos;
        let word = self.word_at(start);
        if word.eq_ignore_ascii_case("not") {
            let mut look = start + word.len();
            while self
                .input
                .as_bytes()
                .get(look)
                .is_some_and(u8::is_ascii_whitespace)
            {
                look += 1;
            }
            if self.input.as_bytes().get(look) == Some(&b'(') {
                self.pos = look;
                let inner = self.group()?;
                return Ok(Filter::Not(Box::new(inner)));
            }
        }
        if self.peek() == Some(b'(') {
            return self.group();
        }
        self.attr_expr()
    }

    /// `( filter )`, with `self.pos` at the `(`.
    fn group(&mut self) -> Result<Filter, Error> {
        self.enter()?;
        self.pos += 1;
        let inner = self.or()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.err(self.pos, Self::expected_closer(Closer::Paren)));
        }
        self.pos += 1;
        self.nesting -= 1;
        Ok(inner)
    }

    /// `[ filter ]`, with `self.pos` at the `[`.
    fn value_filter(&mut self) -> Result<Filter, Error> {
        if self.in_value_filter {
            return Err(self.err(self.pos, ErrorKind::NestedValuePath));
        }
        self.enter()?;
        self.in_value_filter = true;
        self.pos += 1;
        let inner = self.or()?;
        self.skip_ws();
        if self.peek() != Some(b']') {
            return Err(self.err(self.pos, Self::expected_closer(Closer::Bracket)));
        }
        self.pos += 1;
        self.in_value_filter = false;
        self.nesting -= 1;
        Ok(inner)
    }

    /// `attr op value`, `attr pr`, `attr[filter]` or Entra's `attr[filter].sub op value`.
    fn attr_expr(&mut self) -> Result<Filter, Error> {
        let path = match self.path_token()? {
            PathToken::Attr(path) => path,
            PathToken::SchemaOnly(schema) => {
                return Err(self.err(
                    self.pos - schema.len(),
                    ErrorKind::ExpectedAttributeAfterSchema,
                ));
            }
        };
        if self.peek() == Some(b'[') {
            let inner = self.value_filter()?;
            if self.peek() == Some(b'.') {
                self.pos += 1;
                let sub = AttrPath {
                    schema: None,
                    name: self.name()?.to_owned(),
                    sub_attr: None,
                };
                let compare = self.operator_and_value(sub)?;
                let both = Filter::And(Box::new(inner), Box::new(compare));
                return Ok(Filter::ValuePath(path, Box::new(both)));
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.operator_and_value(path)
    }

    fn operator_and_value(&mut self, path: AttrPath) -> Result<Filter, Error> {
        self.skip_ws();
        let at = self.pos;
        let word = self.word_at(at);
        let op = match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "lt" => CompareOp::Lt,
            "ge" => CompareOp::Ge,
            "le" => CompareOp::Le,
            "pr" => {
                self.pos += word.len();
                return Ok(Filter::Present(path));
            }
            _ => return Err(self.err(at, ErrorKind::ExpectedOperator)),
        };
        self.pos += word.len();
        self.skip_ws();
        let value = self.value()?;
        Ok(Filter::Compare(path, op, value))
    }

    /// A JSON literal, or Entra's legacy unquoted word (read as a string).
    fn value(&mut self) -> Result<Value, Error> {
        let start = self.pos;
        let bytes = self.input.as_bytes();
        if self.peek() == Some(b'"') {
            let mut i = start + 1;
            loop {
                match bytes.get(i) {
                    None => return Err(self.err(start, ErrorKind::UnterminatedString)),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break,
                    Some(_) => i += 1,
                }
            }
            let literal = self.input.get(start..=i).unwrap_or("");
            return match serde_json::from_str::<String>(literal) {
                Ok(s) => {
                    self.pos = i + 1;
                    Ok(Value::String(s))
                }
                Err(e) => {
                    // serde_json counts columns in bytes from the opening quote; report the
                    // offset in the whole input and keep only its description.
                    let at = (start + e.column().saturating_sub(1)).min(i);
                    let message = e.to_string();
                    let detail = message
                        .rsplit_once(" at line ")
                        .map_or(message.as_str(), |(what, _)| what)
                        .to_owned();
                    Err(self.err(at, ErrorKind::InvalidString { detail }))
                }
            };
        }
        let mut end = start;
        while bytes
            .get(end)
            .is_some_and(|&b| !b.is_ascii_whitespace() && b != b')' && b != b']')
        {
            end += 1;
        }
        let token = self.input.get(start..end).unwrap_or("");
        if token.is_empty() {
            return Err(self.err(start, ErrorKind::ExpectedValue));
        }
        self.pos = end;
        Ok(match token {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            _ if token.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                match serde_json::from_str::<serde_json::Number>(token) {
                    // serde_json's default float parsing is fast but not correctly rounded; std's
                    // is, so a printed filter reads back to the same number.
                    Ok(n) if n.is_f64() => Value::Number(
                        token
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .unwrap_or(n),
                    ),
                    Ok(n) => Value::Number(n),
                    Err(_) => Value::String(token.to_owned()),
                }
            }
            _ => Value::String(token.to_owned()),
        })
    }

    /// One attribute name (no dots, no colons), validated.
    fn name(&mut self) -> Result<&'a str, Error> {
        let start = self.pos;
        let bytes = self.input.as_bytes();
        let mut end = start;
        while bytes.get(end).is_some_and(|&b| !ends_token(b)) {
            end += 1;
        }
        let name = self.input.get(start..end).unwrap_or("");
        self.check_name(name, start)?;
        self.pos = end;
        Ok(name)
    }

    fn check_name(&self, name: &str, at: usize) -> Result<(), Error> {
        let Some(first) = name.chars().next() else {
            return Err(self.err(at, ErrorKind::ExpectedAttribute));
        };
        if first.is_ascii_digit() || first == '-' {
            return Err(self.err(at, ErrorKind::InvalidNameChar { found: first }));
        }
        match name
            .char_indices()
            .find(|&(_, c)| !c.is_ascii() || !is_name_char(c as u8))
        {
            Some((i, '.')) => Err(self.err(at + i, ErrorKind::TooManySubAttributes)),
            Some((i, found)) => Err(self.err(at + i, ErrorKind::InvalidNameChar { found })),
            None => Ok(()),
        }
    }

    /// Reads an attribute path token at `self.pos` and splits it into schema, name and sub.
    pub(crate) fn path_token(&mut self) -> Result<PathToken, Error> {
        let start = self.pos;
        let bytes = self.input.as_bytes();
        let mut end = start;
        while bytes.get(end).is_some_and(|&b| !ends_token(b)) {
            end += 1;
        }
        let token = self.input.get(start..end).unwrap_or("");
        if token.is_empty() {
            return Err(self.err(start, ErrorKind::ExpectedAttribute));
        }
        let tb = token.as_bytes();
        let mut split: Option<(usize, usize)> = None; // (schema end, attribute start) in token
        if tb.len() >= 4 && tb[..4].eq_ignore_ascii_case(b"urn:") {
            for urn in self.known_urns {
                let ub = urn.as_bytes();
                if tb.len() < ub.len() || !tb[..ub.len()].eq_ignore_ascii_case(ub) {
                    continue;
                }
                if tb.len() == ub.len() {
                    self.pos = end;
                    return Ok(PathToken::SchemaOnly(token.to_owned()));
                }
                if tb[ub.len()] == b':' {
                    split = Some((ub.len(), ub.len() + 1));
                    break;
                }
            }
        }
        if split.is_none() {
            split = token.rfind(':').map(|c| (c, c + 1));
        }
        let (schema, rest_at) = match split {
            Some((0, _)) => return Err(self.err(start, ErrorKind::ExpectedAttribute)),
            Some((schema_end, rest_at)) => (token.get(..schema_end), rest_at),
            None => (None, 0),
        };
        let rest = token.get(rest_at..).unwrap_or("");
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some((sub, rest_at + name.len() + 1))),
            None => (rest, None),
        };
        if schema.is_some() && rest.is_empty() {
            return Err(self.err(start + rest_at, ErrorKind::ExpectedAttributeAfterSchema));
        }
        self.check_name(name, start + rest_at)?;
        if let Some((sub, sub_at)) = sub {
            self.check_name(sub, start + sub_at)?;
        }
        self.pos = end;
        Ok(PathToken::Attr(AttrPath {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub.map(|(s, _)| s.to_owned()),
        }))
    }
}
