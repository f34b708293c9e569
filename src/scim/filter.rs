//! SCIM filters (RFC 7644 §3.4.2.2): parser, canonical `Display`, and an evaluator over
//! `serde_json::Value`.
//!
//! This module owns the filter grammar and its meaning; it must not decide HTTP statuses (the lead
//! maps [`Error`] to `400 invalidFilter`) nor know about mappings or backends. Attribute
//! characteristics (caseExact, boolean type) come in through [`AttrInfo`], implemented by the
//! schema registry.
//!
//! - [`Filter::parse`] (in `filter/parse.rs`) accepts the whole RFC grammar plus Entra's leniencies:
//!   case-insensitive keywords, `not (` with or without a space (RFC errata 7319), the legacy
//!   unquoted value `externalId eq jyoung`, and `emails[type eq "work"].value eq "x"` (which Entra
//!   documents as a matching query; it is read as `emails[type eq "work" and value eq "x"]`).
//!   Errors carry the byte offset and say what was expected.
//! - `Display` (in `filter/display.rs`) prints the canonical form: lower-case keywords, JSON
//!   literals, minimal parentheses; `Filter::parse(&f.to_string()) == f`.
//! - [`Filter::matches`] (in `filter/eval.rs`) evaluates a filter against a SCIM resource; the
//!   meaning of each operator on values is `filter/compare.rs`, which PATCH value paths share.
//!
//! # Verdict on existing crates (checked 2026-11-23)
//!
//! **Neither `scim_v2` 1.0.0 (feature `filter`) nor `scim-filter` 0.2.3 is adopted**: each fails
//! cases Entra sends. Evidence: both crates' sources (`~/.cargo/registry`, after `cargo info`) and
//! a throwaway program that fed both the cases below.
//!
//! - `scim_v2` (lalrpop grammar, good RFC coverage, depth/term limits, n-ary `and`/`or`):
//!   rejects the legacy unquoted value `externalId eq jyoung` (`UnrecognizedToken` at 14:
//!   `CompValue` is JSON only); rejects `not(userName eq "x")` (its `not` token requires trailing
//!   whitespace); rejects Entra's documented matching query
//!   `emails[type eq "work"].value eq "alice@contoso.com"` (`UnrecognizedToken` at 22, `.`).
//!   Errors are lalrpop's `ParseError` (positioned for syntax, but URN/name/escape errors
//!   (`FilterActionError`) carry no offset, and there is no "expected …" message for an admin).
//!   It has no evaluator (its docs tell the caller to write one), so caseExact and `"True"` vs
//!   `true` would be ours anyway. It would add `lalrpop-util` and `fluent-uri`.
//! - `scim-filter` (nom 7): no JSON escapes (`"o\"brien@x.com"` fails), no empty string `""`,
//!   no negative or exponent numbers, no unquoted value; wrong precedence (`a pr and b pr or c pr`
//!   is read as `a and (b or c)`: 0 matches for `{"c":1}`); string comparison is always
//!   case-sensitive (`userName eq "Alice@Contoso.com"` misses `alice@contoso.com`) and
//!   `primary eq "True"` misses `true`; errors are nom's `error Char at: <whole input>` with no
//!   offset. It would add `chrono`, `rust_decimal`, `nom` 7 and `thiserror` 1.
//!
//! Own code (parser, display, evaluator, paths: ~1,100 lines with docs) does what Entra needs,
//! with positioned errors and no new dependency.

pub(crate) mod compare;
mod display;
mod dnf;
mod eval;
mod parse;
#[cfg(test)]
mod tests;

pub use dnf::TooManyAlternatives;
pub use eval::{AttrInfo, CoreDefaults};
pub(crate) use parse::{Parser, PathToken};

use crate::scim::path::AttrPath;
use serde_json::Value;

/// A comparison operator of RFC 7644 §3.4.2.2 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal.
    Ge,
    /// `le`: less than or equal.
    Le,
}

/// A parsed SCIM filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `a and b`.
    And(Box<Self>, Box<Self>),
    /// `a or b`.
    Or(Box<Self>, Box<Self>),
    /// `not (a)`.
    Not(Box<Self>),
    /// `attr op value`; the value is a JSON literal (string, number, boolean or null).
    Compare(AttrPath, CompareOp, Value),
    /// `attr pr`.
    Present(AttrPath),
    /// `attr[filter]`: the inner filter is evaluated against each element of `attr`, and its
    /// attribute names are relative to the element. Entra's `attr[filter].sub op value` (not RFC
    /// grammar) is parsed into this variant as `attr[filter and sub op value]`.
    ValuePath(AttrPath, Box<Self>),
}

/// A filter (or attribute path) that does not parse: where, what was expected, and the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset} in `{input}`")]
pub struct Error {
    /// Byte offset into `input` where the problem starts.
    pub offset: usize,
    /// What was expected there.
    pub kind: ErrorKind,
    /// The whole filter or path as received.
    pub input: String,
}

/// What the parser expected and did not find; the `Display` text is the first half of the
/// message an administrator sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// An attribute path was expected (start of an expression, or after a `.`).
    #[error("expected an attribute name")]
    ExpectedAttribute,
    /// An attribute name contains a character names cannot have.
    #[error("expected an attribute name (letters, digits, `-`, `_`), found `{found}`")]
    InvalidNameChar {
        /// The offending character.
        found: char,
    },
    /// `a.b.c`: SCIM paths have at most one sub-attribute.
    #[error("expected at most one `.sub-attribute` in an attribute path")]
    TooManySubAttributes,
    /// The path names a known schema URN but no attribute after it.
    #[error("expected an attribute after the schema URN (`urn:…:attribute`)")]
    ExpectedAttributeAfterSchema,
    /// After an attribute path, no comparison operator.
    #[error("expected a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr)")]
    ExpectedOperator,
    /// After an operator, no value.
    #[error("expected a value (a \"quoted string\", a number, true, false or null)")]
    ExpectedValue,
    /// A string literal has no closing quote.
    #[error("expected a closing `\"` for the string starting")]
    UnterminatedString,
    /// A string literal is not valid JSON (bad escape, raw control character).
    #[error("expected a valid JSON string ({detail})")]
    InvalidString {
        /// serde_json's description of the problem.
        detail: String,
    },
    /// A complete expression is followed by something that is not `and`/`or`.
    #[error("expected `and`, `or` or the end of the filter")]
    ExpectedLogicalOrEnd,
    /// A group is not closed.
    #[error("expected `and`, `or` or `)`")]
    ExpectedLogicalOrParen,
    /// A value filter is not closed.
    #[error("expected `and`, `or` or `]`")]
    ExpectedLogicalOrBracket,
    /// A value filter inside a value filter: RFC 7644 does not allow nesting them.
    #[error("expected no `[` inside a value filter (value filters do not nest)")]
    NestedValuePath,
    /// More nested groups than [`MAX_NESTING`].
    #[error("expected at most {MAX_NESTING} nested groups")]
    TooDeep,
    /// More `and`/`or` operators than [`MAX_OPERATORS`].
    #[error("expected at most {MAX_OPERATORS} `and`/`or` operators")]
    TooManyOperators,
    /// An attribute path is followed by something else.
    #[error("expected the end of the attribute path")]
    ExpectedPathEnd,
    /// `emails.value[…]`: a value filter must follow the attribute itself.
    #[error("expected `[` only right after an attribute, not after a sub-attribute")]
    ValueFilterOnSubAttribute,
}

/// How many groups (`(`, `not (`, `[`) may nest before parsing fails instead of recursing.
pub const MAX_NESTING: usize = 64;

/// How many `and`/`or` operators one filter may contain; bounds the depth of the AST so that
/// printing, evaluating and dropping it never exhausts the stack.
pub const MAX_OPERATORS: usize = 1000;

impl Filter {
    /// Parses a filter; `known_urns` are the registry's schema URNs, longest first, used to split
    /// schema-qualified attribute paths.
    pub fn parse(input: &str, known_urns: &[String]) -> Result<Self, Error> {
        Parser::new(input, known_urns).filter()
    }

    /// Whether `resource` (a SCIM resource as JSON) satisfies the filter; `info` says which
    /// attributes compare case-exactly and which are boolean.
    pub fn matches(&self, resource: &Value, info: &dyn AttrInfo) -> bool {
        eval::matches(self, resource, None, info)
    }
}
