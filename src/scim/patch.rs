//! SCIM PATCH (RFC 7644 §3.5.2) as Microsoft Entra ID sends it, with and without the
//! `aadOptscim062020` flag: parsing the envelope, splitting group-member changes off so the engine
//! can turn them into O(changed) backend calls, and applying the rest to a resource's JSON.
//!
//! Entra's quirks are absorbed here, once: `Operations`/`operations` and `op` in any case,
//! `"True"`/`"False"` strings for booleans, add/replace on a filtered path that creates the element
//! instead of answering `noTarget`, path-less value objects with dotted (`name.givenName`) and URN
//! keys, `remove members` with a value list that removes only those members, a manager given as a
//! bare id, role values that are JSON strings. The module does no I/O and never decides an HTTP
//! status: [`Error::scim_type`] says which RFC 7644 error type a failure is.

mod apply;
#[cfg(test)]
mod tests;

pub use apply::{ApplyOptions, ApplyReport, UnknownPolicy, apply};

use crate::scim::ScimType;
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::{self, AttrPath, PatchPath, eq_name};
use crate::scim::schema::SchemaRegistry;
use serde_json::Value;
use std::fmt;

/// The schema URN of a PATCH request body.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one PATCH may carry. Entra sends a handful (member changes travel as
/// several values of one operation); thousands are a hostile or broken client, refused before
/// any backend call instead of costing one walk of the resource per operation.
pub const MAX_OPERATIONS: usize = 1_000;

/// Why a PATCH request could not be parsed or applied. `op` is the 1-based index of the
/// operation in `Operations`, as an admin counts them in Entra's provisioning log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The body is not a JSON object.
    #[error("the PATCH body must be a JSON object with `schemas` and `Operations`")]
    NotAnObject,
    /// `schemas` is present but does not name the PatchOp schema.
    #[error("the PATCH body's `schemas` must contain `{PATCH_OP_SCHEMA}`, got {schemas}")]
    NotPatchOp {
        /// The `schemas` value sent.
        schemas: String,
    },
    /// There is no `Operations` array.
    #[error("the PATCH body has no `Operations` array; send at least one operation")]
    MissingOperations,
    /// More than [`MAX_OPERATIONS`] operations.
    #[error(
        "the PATCH body has {found} operations; at most {max} are accepted in one request, \
         split it into several"
    )]
    TooManyOperations {
        /// How many were sent.
        found: usize,
        /// [`MAX_OPERATIONS`].
        max: usize,
    },
    /// An element of `Operations` is not an object.
    #[error("PATCH operation {op}: must be an object with `op`, `path` and `value`, got {found}")]
    OperationNotAnObject {
        /// 1-based operation index.
        op: usize,
        /// A short rendering of what was sent.
        found: String,
    },
    /// `op` is missing or is not add, remove or replace.
    #[error("PATCH operation {op}: `op` must be `add`, `remove` or `replace`, got {found}")]
    UnknownOp {
        /// 1-based operation index.
        op: usize,
        /// What was sent as `op`.
        found: String,
    },
    /// `path` did not parse.
    #[error("PATCH operation {op}: path `{path}` is not a valid SCIM path: {reason}")]
    InvalidPath {
        /// 1-based operation index.
        op: usize,
        /// The path as sent.
        path: String,
        /// What the path parser objected to.
        reason: String,
    },
    /// `add`/`replace` without a `value`.
    #[error("PATCH operation {op}: `{kind}` needs a `value`")]
    MissingValue {
        /// 1-based operation index.
        op: usize,
        /// The operation kind.
        kind: OpKind,
    },
    /// A path-less `add`/`replace` whose value is not an object of attributes.
    #[error(
        "PATCH operation {op}: without a `path`, `value` must be an object of attributes such as \
         {{\"displayName\": \"…\"}}, got {found}"
    )]
    PathlessValueNotObject {
        /// 1-based operation index.
        op: usize,
        /// A short rendering of what was sent.
        found: String,
    },
    /// A `remove` without a `path` (RFC 7644 §3.5.2.2: `noTarget`).
    #[error("PATCH operation {op}: `remove` needs a `path` naming what to remove")]
    RemoveWithoutPath {
        /// 1-based operation index.
        op: usize,
    },
    /// The attribute is not in the resource type's schemas.
    #[error(
        "PATCH operation {op}: path `{path}`: `{attribute}` is not an attribute of {resource_type}; \
         check the attribute mapping or add it to a schema extension"
    )]
    UnknownAttribute {
        /// 1-based operation index.
        op: usize,
        /// The path (or path-less key) as understood.
        path: String,
        /// The unknown attribute name.
        attribute: String,
        /// The resource type patched.
        resource_type: String,
    },
    /// The sub-attribute is not one of the attribute's sub-attributes.
    #[error(
        "PATCH operation {op}: path `{path}`: `{sub}` is not a sub-attribute of {attribute} ({known})"
    )]
    UnknownSubAttribute {
        /// 1-based operation index.
        op: usize,
        /// The path (or path-less key) as understood.
        path: String,
        /// The unknown sub-attribute.
        sub: String,
        /// The attribute it was looked up in.
        attribute: String,
        /// The attribute's sub-attributes, comma-separated.
        known: String,
    },
    /// The operation writes a read-only attribute (`id`, `meta`, `groups`).
    #[error(
        "PATCH operation {op}: path `{path}`: `{attribute}` is read-only and cannot be changed"
    )]
    ReadOnly {
        /// 1-based operation index.
        op: usize,
        /// The path (or path-less key) as understood.
        path: String,
        /// The read-only attribute.
        attribute: String,
    },
    /// The value does not fit the attribute (wrong type, unparseable boolean…).
    #[error("PATCH operation {op}: path `{path}`: {reason}")]
    InvalidValue {
        /// 1-based operation index.
        op: usize,
        /// The path (or path-less key) as understood.
        path: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The path selects nothing that can be operated on.
    #[error("PATCH operation {op}: path `{path}`: {reason}")]
    NoTarget {
        /// 1-based operation index.
        op: usize,
        /// The path as understood.
        path: String,
        /// Why nothing could be targeted.
        reason: String,
    },
}

impl Error {
    /// The RFC 7644 Table 9 error type of this failure, for the lead's error mapping.
    pub fn scim_type(&self) -> ScimType {
        match self {
            Self::NotAnObject
            | Self::NotPatchOp { .. }
            | Self::MissingOperations
            | Self::OperationNotAnObject { .. }
            | Self::UnknownOp { .. } => ScimType::InvalidSyntax,
            Self::InvalidPath { .. }
            | Self::UnknownAttribute { .. }
            | Self::UnknownSubAttribute { .. } => ScimType::InvalidPath,
            Self::MissingValue { .. }
            | Self::PathlessValueNotObject { .. }
            | Self::InvalidValue { .. }
            | Self::TooManyOperations { .. } => ScimType::InvalidValue,
            Self::RemoveWithoutPath { .. } | Self::NoTarget { .. } => ScimType::NoTarget,
            Self::ReadOnly { .. } => ScimType::Mutability,
        }
    }
}

/// A parsed PATCH request: the operations in the order they must be applied.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, in request order.
    pub operations: Vec<PatchOperation>,
}

/// The kind of a PATCH operation (`op`, matched case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `add`: set a single value, append to a multi-valued one.
    Add,
    /// `remove`: remove the target.
    Remove,
    /// `replace`: replace the target.
    Replace,
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Replace => "replace",
        })
    }
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// What to do.
    pub op: OpKind,
    /// Where; `None` for a path-less add/replace whose value is an object of attributes.
    pub path: Option<PatchPath>,
    /// The value; `None` when absent (a `null` value is kept as `Some(Value::Null)`).
    pub value: Option<Value>,
}

/// A group-membership change taken out of a PATCH, so the engine can call the backend once per
/// changed member instead of rewriting the whole member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// Add these member ids.
    Add(Vec<String>),
    /// Remove these member ids (and only these).
    Remove(Vec<String>),
    /// Remove every member (`remove` on `members` without a value).
    RemoveAll,
    /// Make the member list exactly these ids.
    ReplaceAll(Vec<String>),
}

/// Looks a key up case-insensitively in a JSON object.
fn get_ci<'v>(object: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.iter().find(|(k, _)| eq_name(k, key)).map(|(_, v)| v)
}

/// A short rendering of a JSON value for error messages (never the whole body).
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

impl PatchRequest {
    /// Parses a PATCH body: `Operations` under any casing of the key, `op` in any case, `schemas`
    /// checked leniently (a missing or empty `schemas` is tolerated), paths parsed against the
    /// registry's URNs.
    pub fn parse(body: &Value, registry: &SchemaRegistry) -> Result<Self, Error> {
        let Value::Object(object) = body else {
            return Err(Error::NotAnObject);
        };
        if let Some(schemas) = get_ci(object, "schemas") {
            let listed = match schemas {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            let has_patch_op = listed.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| eq_name(s.trim(), PATCH_OP_SCHEMA))
            });
            if !listed.is_empty() && !has_patch_op {
                return Err(Error::NotPatchOp {
                    schemas: short(schemas),
                });
            }
        }
        // RFC 7644 §3.5.2: "Operations" holds one or more operations; an empty list would
        // still cost a backend read and answer 200 for a request that asked for nothing.
        let Some(Value::Array(raw_ops)) = get_ci(object, "operations") else {
            return Err(Error::MissingOperations);
        };
        if raw_ops.is_empty() {
            return Err(Error::MissingOperations);
        }
        if raw_ops.len() > MAX_OPERATIONS {
            return Err(Error::TooManyOperations {
                found: raw_ops.len(),
                max: MAX_OPERATIONS,
            });
        }
        let mut operations = Vec::with_capacity(raw_ops.len());
        for (i, raw) in raw_ops.iter().enumerate() {
            operations.push(parse_operation(i + 1, raw, registry)?);
        }
        Ok(Self { operations })
    }

    /// Removes every operation on the multi-valued attribute `attribute` (`members`) that can be
    /// expressed as a [`MemberChange`] and returns those changes in request order. Path-less
    /// values lose their `members` key. Operations it cannot express (a filter on `display`, a
    /// sub-attribute path) stay in the request for [`apply`].
    pub fn take_member_changes(&mut self, attribute: &str) -> Vec<MemberChange> {
        let mut changes = Vec::new();
        let mut kept = Vec::with_capacity(self.operations.len());
        for mut operation in std::mem::take(&mut self.operations) {
            match member_change(&mut operation, attribute) {
                Taken::Whole(change) => changes.extend(change),
                Taken::Part(change) => {
                    changes.push(change);
                    kept.push(operation);
                }
                Taken::Nothing => kept.push(operation),
            }
        }
        self.operations = kept;
        changes
    }
}

fn parse_operation(
    index: usize,
    raw: &Value,
    registry: &SchemaRegistry,
) -> Result<PatchOperation, Error> {
    let Value::Object(object) = raw else {
        return Err(Error::OperationNotAnObject {
            op: index,
            found: short(raw),
        });
    };
    let op = match get_ci(object, "op").and_then(Value::as_str).map(str::trim) {
        Some(op) if eq_name(op, "add") => OpKind::Add,
        Some(op) if eq_name(op, "remove") => OpKind::Remove,
        Some(op) if eq_name(op, "replace") => OpKind::Replace,
        _ => {
            let found = get_ci(object, "op").map_or_else(|| "nothing".to_owned(), short);
            return Err(Error::UnknownOp { op: index, found });
        }
    };
    let path = match get_ci(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(parse_path(index, text.trim(), registry)?),
        Some(other) => {
            return Err(Error::InvalidPath {
                op: index,
                path: short(other),
                reason: "`path` must be a string".to_owned(),
            });
        }
    };
    let value = get_ci(object, "value").cloned();
    match (op, &path, &value) {
        (OpKind::Remove, None, _) => Err(Error::RemoveWithoutPath { op: index }),
        (OpKind::Add | OpKind::Replace, _, None) => Err(Error::MissingValue {
            op: index,
            kind: op,
        }),
        (OpKind::Add | OpKind::Replace, None, Some(value)) if !value.is_object() => {
            Err(Error::PathlessValueNotObject {
                op: index,
                found: short(value),
            })
        }
        _ => Ok(PatchOperation { op, path, value }),
    }
}

/// Parses a PATCH path; a path that is only an extension URN becomes an attribute path named by
/// the URN, which [`apply`] treats as the whole extension object.
pub(crate) fn parse_path(
    index: usize,
    text: &str,
    registry: &SchemaRegistry,
) -> Result<PatchPath, Error> {
    match PatchPath::parse(text, registry.urns()) {
        Ok(path) => Ok(path),
        Err(path::Error::SchemaOnly { schema, .. }) => Ok(PatchPath {
            attr: AttrPath {
                schema: None,
                name: schema,
                sub_attr: None,
            },
            filter: None,
            sub_attr: None,
        }),
        Err(error) => Err(Error::InvalidPath {
            op: index,
            path: text.to_owned(),
            reason: error.to_string(),
        }),
    }
}

enum Taken {
    /// The whole operation became this change (`None`: it changed nothing and is dropped).
    Whole(Option<MemberChange>),
    /// Part of a path-less value became this change; the rest of the operation stays.
    Part(MemberChange),
    /// The operation stays as it is.
    Nothing,
}

/// Member ids from `[{"value": id}, …]`, `[id, …]`, `{"value": id}` or `id`; `None` when any
/// element has no string id.
fn member_ids(value: &Value) -> Option<Vec<String>> {
    let one = |element: &Value| -> Option<String> {
        match element {
            Value::String(id) => Some(id.clone()),
            Value::Object(object) => get_ci(object, "value")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        }
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|id| vec![id]),
    }
}

/// Ids named by `value eq "x"` terms joined with `or`; `None` for any other filter.
fn filter_ids(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, Value::String(id))
            if eq_name(&path.name, "value") && path.sub_attr.is_none() =>
        {
            Some(vec![id.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = filter_ids(a)?;
            ids.extend(filter_ids(b)?);
            Some(ids)
        }
        _ => None,
    }
}

fn is_attribute(path: &AttrPath, attribute: &str) -> bool {
    eq_name(&path.name, attribute) && path.sub_attr.is_none()
}

fn member_change(operation: &mut PatchOperation, attribute: &str) -> Taken {
    let ids = |value: &Option<Value>| value.as_ref().and_then(member_ids);
    match &operation.path {
        Some(path) if is_attribute(&path.attr, attribute) && path.sub_attr.is_none() => {
            match (&path.filter, operation.op) {
                (None, OpKind::Add) => match ids(&operation.value) {
                    Some(ids) if ids.is_empty() => Taken::Whole(None),
                    Some(ids) => Taken::Whole(Some(MemberChange::Add(ids))),
                    None if operation.value.as_ref().is_some_and(Value::is_null) => {
                        Taken::Whole(None)
                    }
                    None => Taken::Nothing,
                },
                (None, OpKind::Remove) => match &operation.value {
                    None | Some(Value::Null) => Taken::Whole(Some(MemberChange::RemoveAll)),
                    value => match ids(value) {
                        Some(ids) if ids.is_empty() => Taken::Whole(None),
                        Some(ids) => Taken::Whole(Some(MemberChange::Remove(ids))),
                        None => Taken::Nothing,
                    },
                },
                (None, OpKind::Replace) => match &operation.value {
                    Some(Value::Null) => Taken::Whole(Some(MemberChange::ReplaceAll(Vec::new()))),
                    value => ids(value).map_or(Taken::Nothing, |ids| {
                        Taken::Whole(Some(MemberChange::ReplaceAll(ids)))
                    }),
                },
                (Some(filter), OpKind::Remove) => filter_ids(filter)
                    .map_or(Taken::Nothing, |ids| {
                        Taken::Whole(Some(MemberChange::Remove(ids)))
                    }),
                (Some(_), OpKind::Add | OpKind::Replace) => Taken::Nothing,
            }
        }
        None => {
            let Some(Value::Object(object)) = &mut operation.value else {
                return Taken::Nothing;
            };
            let Some(key) = object.keys().find(|k| eq_name(k, attribute)).cloned() else {
                return Taken::Nothing;
            };
            let Some(ids) = object.get(&key).and_then(|v| {
                if v.is_null() {
                    Some(Vec::new())
                } else {
                    member_ids(v)
                }
            }) else {
                return Taken::Nothing;
            };
            object.remove(&key);
            let change = match operation.op {
                OpKind::Add => MemberChange::Add(ids),
                OpKind::Remove | OpKind::Replace => MemberChange::ReplaceAll(ids),
            };
            if object.is_empty() {
                Taken::Whole(Some(change))
            } else {
                Taken::Part(change)
            }
        }
        Some(_) => Taken::Nothing,
    }
}

/// Renders an attribute path for error messages (`urn:…:User:manager`, `name.givenName`).
pub(crate) fn attr_path_text(path: &AttrPath) -> String {
    let mut text = String::new();
    if let Some(schema) = &path.schema {
        text.push_str(schema);
        text.push(':');
    }
    text.push_str(&path.name);
    if let Some(sub) = &path.sub_attr {
        text.push('.');
        text.push_str(sub);
    }
    text
}

fn filter_text(filter: &Filter) -> String {
    let op_text = |op: &CompareOp| match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Lt => "lt",
        CompareOp::Ge => "ge",
        CompareOp::Le => "le",
    };
    match filter {
        Filter::And(a, b) => format!("{} and {}", filter_text(a), filter_text(b)),
        Filter::Or(a, b) => format!("({} or {})", filter_text(a), filter_text(b)),
        Filter::Not(inner) => format!("not ({})", filter_text(inner)),
        Filter::Compare(path, op, value) => {
            format!("{} {} {value}", attr_path_text(path), op_text(op))
        }
        Filter::Present(path) => format!("{} pr", attr_path_text(path)),
        Filter::ValuePath(path, inner) => {
            format!("{}[{}]", attr_path_text(path), filter_text(inner))
        }
    }
}

/// Renders a PATCH path for error messages (`emails[type eq "work"].value`).
pub(crate) fn patch_path_text(path: &PatchPath) -> String {
    let mut text = attr_path_text(&path.attr);
    if let Some(filter) = &path.filter {
        text.push('[');
        text.push_str(&filter_text(filter));
        text.push(']');
    }
    if let Some(sub) = &path.sub_attr {
        text.push('.');
        text.push_str(sub);
    }
    text
}
