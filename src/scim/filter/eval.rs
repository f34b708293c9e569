//! Evaluates a [`Filter`] against a SCIM resource held as `serde_json::Value`.
//!
//! Attribute names match the resource's keys case-insensitively; schema-qualified attributes are
//! looked up under their URN key (core-schema URNs at the top level); multi-valued attributes match
//! when any element does; a complex attribute compared directly (`members eq "u1"`,
//! `manager eq "m"`) is compared on its `value` sub-attribute. Must not allocate per element beyond
//! what comparisons need, and never panics.

use super::{CompareOp, Filter};
use crate::scim::path::{AttrPath, eq_name};
use serde_json::Value;
use std::cmp::Ordering;

/// What the evaluator needs to know about an attribute; the schema registry implements it.
pub trait AttrInfo {
    /// Whether string values of `path` compare case-sensitively (RFC 7643 `caseExact`).
    fn case_exact(&self, path: &AttrPath) -> bool;
    /// Whether `path` is a boolean attribute, so that the strings `"True"`/`"false"` (any case)
    /// compare as booleans.
    fn is_boolean(&self, path: &AttrPath) -> bool;
}

/// RFC 7643 defaults without a registry: `id`, `externalId` and `$ref` are case-exact, `active`
/// and `primary` are boolean, everything else is a case-insensitive string. For tests and for
/// callers that have no schema at hand.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreDefaults;

impl AttrInfo for CoreDefaults {
    fn case_exact(&self, path: &AttrPath) -> bool {
        match &path.sub_attr {
            Some(sub) => eq_name(sub, "$ref"),
            None => eq_name(&path.name, "id") || eq_name(&path.name, "externalId"),
        }
    }

    fn is_boolean(&self, path: &AttrPath) -> bool {
        let leaf = path.sub_attr.as_deref().unwrap_or(&path.name);
        eq_name(leaf, "active") || eq_name(leaf, "primary")
    }
}

/// Looks `key` up in a JSON object: exact key first, then case-insensitively.
fn get<'v>(node: &'v Value, key: &str) -> Option<&'v Value> {
    let object = node.as_object()?;
    object
        .get(key)
        .or_else(|| object.iter().find(|(k, _)| eq_name(k, key)).map(|(_, v)| v))
}

/// The elements of a multi-valued attribute, or the value itself.
fn elements(value: &Value) -> impl Iterator<Item = &Value> {
    let slice = match value {
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    slice.iter()
}

/// The object an attribute of `path` lives in: the resource, its URN-keyed extension object, or
/// (inside a value filter) the element.
fn root<'v>(node: &'v Value, path: &AttrPath, in_element: bool) -> Option<&'v Value> {
    match &path.schema {
        Some(schema) if !in_element => get(node, schema).or_else(|| {
            let core = "urn:ietf:params:scim:schemas:core:";
            schema
                .get(..core.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(core))
                .then_some(node)
        }),
        _ => Some(node),
    }
}

/// The path as the schema registry sees it: inside `parent[...]`, `type` is `parent.type`.
fn qualified(path: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
    match parent {
        Some(parent) => AttrPath {
            schema: parent.schema.clone(),
            name: parent.name.clone(),
            sub_attr: Some(path.name.clone()),
        },
        None => path.clone(),
    }
}

/// Values of `path` without descending into complex values (for `pr` and value paths).
fn raw_values<'v>(node: &'v Value, path: &AttrPath, in_element: bool) -> Vec<&'v Value> {
    let Some(attr) = root(node, path, in_element).and_then(|r| get(r, &path.name)) else {
        return Vec::new();
    };
    match &path.sub_attr {
        None => elements(attr).collect(),
        Some(sub) => elements(attr)
            .filter_map(|e| get(e, sub))
            .flat_map(elements)
            .collect(),
    }
}

/// Whether a value counts as present (`pr`): not null, not an empty string, array or object.
fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Evaluates `filter` against `node`; `parent` is the value path's attribute when `node` is one
/// of its elements.
pub(super) fn matches(
    filter: &Filter,
    node: &Value,
    parent: Option<&AttrPath>,
    info: &dyn AttrInfo,
) -> bool {
    let in_element = parent.is_some();
    match filter {
        Filter::And(a, b) => matches(a, node, parent, info) && matches(b, node, parent, info),
        Filter::Or(a, b) => matches(a, node, parent, info) || matches(b, node, parent, info),
        Filter::Not(inner) => !matches(inner, node, parent, info),
        Filter::Present(path) => raw_values(node, path, in_element).into_iter().any(present),
        Filter::ValuePath(path, inner) => {
            let full = qualified(path, parent);
            raw_values(node, path, in_element).into_iter().any(|e| {
                if e.is_object() {
                    matches(inner, e, Some(&full), info)
                } else {
                    // A primitive multi-valued element acts as `{"value": element}`.
                    let wrapped = serde_json::json!({ "value": e });
                    matches(inner, &wrapped, Some(&full), info)
                }
            })
        }
        Filter::Compare(path, op, literal) => {
            let mut full = qualified(path, parent);
            let leaf = full.sub_attr.is_none();
            let mut candidates = Vec::new();
            for value in raw_values(node, path, in_element) {
                if value.is_object() && leaf {
                    // `members eq "u1"`: a complex value compares on its `value` sub-attribute.
                    candidates.extend(get(value, "value").into_iter().flat_map(elements));
                    full.sub_attr = Some("value".to_owned());
                } else {
                    candidates.push(value);
                }
            }
            let case_exact = info.case_exact(&full);
            let boolean = info.is_boolean(&full);
            let any = |op| {
                candidates
                    .iter()
                    .any(|c| compare(c, op, literal, case_exact, boolean))
            };
            match op {
                CompareOp::Ne => !any(CompareOp::Eq),
                _ => any(*op),
            }
        }
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

/// Compares one attribute value with the filter's literal.
fn compare(
    actual: &Value,
    op: CompareOp,
    expected: &Value,
    case_exact: bool,
    boolean: bool,
) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) => match (boolean, parse_bool(a), parse_bool(e)) {
            (true, Some(a), Some(e)) => compare_bool(a, op, e),
            _ => compare_str(a, op, e, case_exact),
        },
        (Value::Bool(a), Value::String(e)) => {
            parse_bool(e).is_some_and(|e| compare_bool(*a, op, e))
        }
        (Value::String(a), Value::Bool(e)) if boolean => {
            parse_bool(a).is_some_and(|a| compare_bool(a, op, *e))
        }
        (Value::Bool(a), Value::Bool(e)) => compare_bool(*a, op, *e),
        (Value::Number(a), Value::Number(e)) => compare_num(a, op, e),
        // Legacy unquoted `externalId eq 12345` against a string attribute.
        (Value::String(a), Value::Number(e)) => op == CompareOp::Eq && *a == e.to_string(),
        (Value::Null, Value::Null) => op == CompareOp::Eq,
        _ => false,
    }
}
