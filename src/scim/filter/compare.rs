//! The one comparison of RFC 7644 §3.4.2.2: an attribute's values against a filter literal.
//!
//! Both the filter evaluator (`filter/eval.rs`, "does this resource match") and PATCH value paths
//! (`patch/select.rs`, "which elements of this attribute match") call [`attribute`] and
//! [`present`], so `emails[value ne "x"]` in a PATCH path and `emails[value ne "x"]` in a
//! `GET ?filter=` agree. This module decides only the meaning of an operator on values; finding
//! the values (case-insensitive keys, extension objects, value paths) stays with the callers, and
//! it must not look at schemas itself: the caller says what it knows in [`Traits`].
//!
//! The meaning chosen, where the two copies once differed:
//! - `ne` is `not eq`: a multi-valued attribute is "not equal" when no value is equal (as
//!   `not (emails eq "x")`), and an unassigned attribute is not equal to any value.
//! - `null`: RFC 7643 §2.5 makes an unassigned attribute, `null` and an empty array the same
//!   state, so `attr eq null` holds exactly when `attr pr` does not, and `attr ne null` is `pr`.
//! - strings compare case-insensitively unless the attribute is `caseExact`; dateTime strings
//!   compare chronologically; integers exactly, other numbers as `f64`; booleans as booleans
//!   (the strings `"True"`/`"false"` in any case count on a Boolean attribute, and a Boolean
//!   value against a string literal); `co`/`sw`/`ew`/`gt`/… on booleans never match.
//! - legacy `externalId eq 12345` (an unquoted number) matches the string `"12345"`.

use super::CompareOp;
use serde_json::Value;
use std::cmp::Ordering;

/// What a caller knows about the attribute being compared (RFC 7643 characteristics); the filter
/// evaluator asks [`super::AttrInfo`], PATCH asks the sub-attribute's schema definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Traits {
    /// `caseExact`: string values compare case-sensitively.
    pub case_exact: bool,
    /// The attribute is of type Boolean, so `"True"`/`"false"` strings compare as booleans.
    pub boolean: bool,
}

/// Whether an attribute whose values are `values` (empty when unassigned; each element of a
/// multi-valued attribute) matches `op literal`.
pub(crate) fn attribute<'v, I>(values: I, op: CompareOp, literal: &Value, traits: Traits) -> bool
where
    I: IntoIterator<Item = &'v Value>,
{
    let mut values = values.into_iter();
    match (op, literal) {
        (CompareOp::Eq, Value::Null) => !values.any(present),
        (CompareOp::Ne, Value::Null) => values.any(present),
        (CompareOp::Ne, _) => !values.any(|v| one(v, CompareOp::Eq, literal, traits)),
        (_, Value::Null) => false,
        _ => values.any(|v| one(v, op, literal, traits)),
    }
}

/// Whether a value counts as present (`pr`): not null, not an empty string, array or object.
pub(crate) fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// `"True"`, `"false"` … as a boolean.
fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn ordered(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// An RFC 3339 timestamp (xsd:dateTime as SCIM writes it), for chronological comparison.
fn instant(text: &str) -> Option<time::OffsetDateTime> {
    // Only what looks like a timestamp is tried (`2015-10-10T…`), so plain strings stay cheap.
    let looks = text.len() >= 20
        && text
            .as_bytes()
            .get(10)
            .is_some_and(|b| *b == b'T' || *b == b't');
    looks
        .then(|| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
        })
        .flatten()
}

fn compare_str(actual: &str, op: CompareOp, expected: &str, case_exact: bool) -> bool {
    // RFC 7644 §3.4.2.2: dateTime values compare chronologically (an offset and any number of
    // fractional digits are the same instant written differently).
    if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
        && let (Some(a), Some(e)) = (instant(actual), instant(expected))
    {
        return ordered(a.cmp(&e), op);
    }
    let (a, e) = if case_exact {
        (actual.to_owned(), expected.to_owned())
    } else {
        (actual.to_lowercase(), expected.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&e),
        CompareOp::Sw => a.starts_with(&e),
        CompareOp::Ew => a.ends_with(&e),
        _ => ordered(a.cmp(&e), op),
    }
}

fn compare_bool(actual: bool, op: CompareOp, expected: bool) -> bool {
    match op {
        CompareOp::Eq => actual == expected,
        CompareOp::Ne => actual != expected,
        _ => false,
    }
}

fn compare_num(actual: &serde_json::Number, op: CompareOp, expected: &serde_json::Number) -> bool {
    let ordering = match (actual.as_i64(), expected.as_i64()) {
        (Some(a), Some(e)) => Some(a.cmp(&e)),
        _ => match (actual.as_f64(), expected.as_f64()) {
            (Some(a), Some(e)) => a.partial_cmp(&e),
            _ => None,
        },
    };
    ordering.is_some_and(|o| ordered(o, op))
}

/// Compares one (non-null literal) value with the filter's literal.
fn one(actual: &Value, op: CompareOp, expected: &Value, traits: Traits) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            match (traits.boolean, parse_bool(a), parse_bool(e)) {
                (true, Some(a), Some(e)) => compare_bool(a, op, e),
                _ => compare_str(a, op, e, traits.case_exact),
            }
        }
        (Value::Bool(a), Value::String(e)) => {
            parse_bool(e).is_some_and(|e| compare_bool(*a, op, e))
        }
        (Value::String(a), Value::Bool(e)) if traits.boolean => {
            parse_bool(a).is_some_and(|a| compare_bool(a, op, *e))
        }
        (Value::Bool(a), Value::Bool(e)) => compare_bool(*a, op, *e),
        (Value::Number(a), Value::Number(e)) => compare_num(a, op, e),
        // Legacy unquoted `externalId eq 12345` against a string attribute.
        (Value::String(a), Value::Number(e)) => op == CompareOp::Eq && *a == e.to_string(),
        _ => false,
    }
}
