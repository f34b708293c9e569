//! Small JSON helpers for applying PATCH: case-insensitive keys, `schemas` bookkeeping, complex
//! elements and list finishing. Part of [`super`]; knows nothing of operations.

use super::*;

pub(super) fn get_ci<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.iter().find(|(k, _)| eq_name(k, key)).map(|(_, v)| v)
}

/// Removes every key equal to `name` ignoring case, returning the first value.
pub(super) fn take_key(object: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let keys: Vec<String> = object
        .keys()
        .filter(|k| eq_name(k, name))
        .cloned()
        .collect();
    let mut first = None;
    for key in keys {
        let value = object.remove(&key);
        if first.is_none() {
            first = value;
        }
    }
    first
}

pub(super) fn add_schema(resource: &mut Map<String, Value>, urn: &str, core: Option<&str>) {
    let listed = |items: &Vec<Value>| {
        items
            .iter()
            .any(|s| s.as_str().is_some_and(|s| eq_name(s, urn)))
    };
    match resource.get_mut("schemas") {
        Some(Value::Array(items)) => {
            if !listed(items) {
                items.push(Value::String(urn.to_owned()));
            }
        }
        _ => {
            let mut items: Vec<Value> = core
                .map(|c| Value::String(c.to_owned()))
                .into_iter()
                .collect();
            items.push(Value::String(urn.to_owned()));
            resource.insert("schemas".to_owned(), Value::Array(items));
        }
    }
}

pub(super) fn remove_schema(resource: &mut Map<String, Value>, urn: &str) {
    if let Some(Value::Array(items)) = resource.get_mut("schemas") {
        items.retain(|s| !s.as_str().is_some_and(|s| eq_name(s, urn)));
    }
}

/// Whether a configured path names `attr` as the step's path qualifies it.
pub(super) fn names(configured: &AttrPath, attr: &Attribute, step_path: &AttrPath) -> bool {
    eq_name(&configured.name, &attr.name)
        && match (&configured.schema, &step_path.schema) {
            (Some(a), Some(b)) => eq_name(a, b),
            _ => true,
        }
}

/// The current value as one complex element (a bare string becomes `{"value": …}`).
pub(super) fn as_element(current: Option<Value>) -> Map<String, Value> {
    match current {
        Some(Value::Object(object)) => object,
        Some(Value::Array(items)) => items
            .into_iter()
            .find_map(|e| match e {
                Value::Object(object) => Some(object),
                _ => None,
            })
            .unwrap_or_default(),
        Some(Value::String(text)) if !text.is_empty() => {
            Map::from_iter([("value".to_owned(), Value::String(text))])
        }
        _ => Map::new(),
    }
}

/// The current value as complex elements (a single object or bare value becomes one element).
pub(super) fn as_elements(current: Option<Value>) -> Vec<Map<String, Value>> {
    let items = match current {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
    };
    items
        .into_iter()
        .filter_map(|item| match item {
            Value::Object(object) => Some(object),
            Value::Null => None,
            other => Some(Map::from_iter([("value".to_owned(), other)])),
        })
        .collect()
}

/// Two elements are the same when equal, or when they have the same `value` and no conflicting
/// `type` (so re-adding `{"value":"u1"}` does not duplicate `{"value":"u1","display":"A"}`).
pub(super) fn same_element(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return false;
    };
    match (get_ci(a, "value"), get_ci(b, "value")) {
        (Some(x), Some(y)) if x == y => match (get_ci(a, "type"), get_ci(b, "type")) {
            (Some(Value::String(x)), Some(Value::String(y))) => x.eq_ignore_ascii_case(y),
            _ => true,
        },
        _ => false,
    }
}

/// Ends a multi-valued complex update: at most one `primary: true`, the most recently written one
/// winning; an empty list removes the attribute.
pub(super) fn finish_list(
    attr: &Attribute,
    mut elements: Vec<Map<String, Value>>,
    touched: &[usize],
) -> Option<Value> {
    if elements.is_empty() {
        return None;
    }
    if attr.sub_attribute("primary").is_some() {
        let is_primary = |e: &Map<String, Value>| e.get("primary") == Some(&Value::Bool(true));
        let winner = touched
            .iter()
            .rev()
            .copied()
            .find(|&i| elements.get(i).is_some_and(is_primary))
            .or_else(|| {
                (0..elements.len())
                    .rev()
                    .find(|&i| elements.get(i).is_some_and(is_primary))
            });
        if let Some(winner) = winner {
            for (i, element) in elements.iter_mut().enumerate() {
                if i != winner && is_primary(element) {
                    element.insert("primary".to_owned(), Value::Bool(false));
                }
            }
        }
    }
    Some(Value::Array(
        elements.into_iter().map(Value::Object).collect(),
    ))
}
