//! Small value helpers of attribute rules: case-insensitive keys, loose comparison with a
//! literal, list splitting, SCIM type names and coercion.
//!
//! Pure functions over `serde_json::Value`; they know nothing of rules.

use crate::scim::path::eq_name;
use crate::scim::schema::AttrType;
use serde_json::{Map, Value};

pub(crate) fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name)
        .or_else(|| map.iter().find(|(k, _)| eq_name(k, name)).map(|(_, v)| v))
}

pub(crate) fn loose_eq(value: &Value, literal: &str) -> bool {
    match value {
        Value::String(s) => s.eq_ignore_ascii_case(literal),
        Value::Bool(b) => b.to_string().eq_ignore_ascii_case(literal),
        Value::Number(n) => n.to_string() == literal,
        _ => false,
    }
}

pub(crate) fn non_null(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// Text of a scalar for comparisons and messages.
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The strings of a list given as a list, a list of `{"value": …}`, or an `"a, b"` string.
pub(super) fn list_items(value: &Value, sep: &str) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Object(o) => o.get("value").filter(|v| !v.is_null()).map(scalar_text),
                Value::Null => None,
                other => Some(scalar_text(other)),
            })
            .flat_map(|s| split_text(&s, sep))
            .collect(),
        Value::Null => Vec::new(),
        other => split_text(&scalar_text(other), sep),
    }
}

pub(super) fn split_text(s: &str, sep: &str) -> Vec<String> {
    s.split(sep)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How a SCIM type is named in error messages.
pub(super) fn type_name(t: AttrType) -> &'static str {
    match t {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime string",
        AttrType::Binary => "binary string",
        AttrType::Reference => "reference string",
        AttrType::Complex => "complex object",
    }
}

/// Converts a scalar to a SCIM type where it is unambiguous (`"True"` → `true`, `5` → `"5"`).
pub(crate) fn to_type(v: Value, t: AttrType) -> Value {
    match (t, &v) {
        (AttrType::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => v,
        },
        (AttrType::Integer, Value::String(s)) => s.trim().parse::<i64>().map_or(v, Value::from),
        (
            AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary,
            Value::Number(n),
        ) => Value::String(n.to_string()),
        (AttrType::String, Value::Bool(b)) => Value::String(b.to_string()),
        _ => v,
    }
}
