//! Evaluates a [`Filter`] against a SCIM resource held as `serde_json::Value`.
//!
//! Attribute names match the resource's keys case-insensitively; schema-qualified attributes are
//! looked up under their URN key (core-schema URNs at the top level); multi-valued attributes match
//! when any element does; a complex attribute compared directly (`members eq "u1"`,
//! `manager eq "m"`) is compared on its `value` sub-attribute. What an operator means on the values
//! found is decided by `filter/compare.rs`, shared with PATCH; this file only finds the values.
//! Must not allocate per element beyond
//! what comparisons need, and never panics.

use super::Filter;
use super::compare::{self, Traits, present};
use crate::scim::path::{AttrPath, eq_name};
use serde_json::Value;

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
            let traits = Traits {
                case_exact: info.case_exact(&full),
                boolean: info.is_boolean(&full),
            };
            compare::attribute(candidates, *op, literal, traits)
        }
    }
}
