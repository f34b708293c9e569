//! Writable backend paths: the plain JSONPaths (`$.a.b`, `$.list[?(@.id==1)].value`) a rule can
//! write, parsed into [`Segment`]s, and reading or setting the value at one.
//!
//! Pure; no JSONPath evaluation beyond these plain steps (that is `jsonpath.rs`).

use super::scalar_text;
use serde_json::{Map, Value};

/// One step of a writable backend path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// An object member: `.name` or `['name']`.
    Field(String),
    /// The element of a list whose `key` equals `value`: `[?(@.id==1)]`. Writing creates the
    /// list and the element (`{key: value}`) when they are missing, so a backend's
    /// `custom_fields: [{id: 1, value: …}]` can be written from a scalar SCIM attribute.
    Element {
        /// The member that identifies the element (`id`).
        key: String,
        /// Its value (`1`, `"a"`).
        value: Value,
    },
}

impl Segment {
    /// The segment of an object member.
    pub(crate) fn field(name: &str) -> Self {
        Self::Field(name.to_owned())
    }
}

/// An element filter `[?(@.key==literal)]` at the start of `rest`: the segment and the rest.
fn element_segment(rest: &str) -> Option<(Segment, &str)> {
    let r = rest.strip_prefix("[?(@.")?;
    let end = r.find(")]")?;
    let (cond, after) = (&r[..end], &r[end + 2..]);
    let (key, literal) = cond.split_once("==")?;
    let key = key.trim();
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    let literal = literal.trim();
    let value = if let Some(text) = literal
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
        .or_else(|| literal.strip_prefix('"').and_then(|l| l.strip_suffix('"')))
    {
        Value::String(text.to_owned())
    } else {
        let number: serde_json::Number = literal.parse().ok()?;
        Value::Number(number)
    };
    Some((
        Segment::Element {
            key: key.to_owned(),
            value,
        },
        after,
    ))
}

/// A plain path as steps: `$.a.b`, `$['a'].b`, or list elements selected by one member
/// (`$.custom_fields[?(@.id==1)].value`); `.*` at the end marks a key family. `None` for
/// anything fancier.
pub(crate) fn plain_segments(path: &str) -> Option<(Vec<Segment>, bool)> {
    let mut rest = path.strip_prefix('$')?;
    let mut out = Vec::new();
    let mut family = false;
    while !rest.is_empty() {
        if family {
            return None;
        }
        if let Some(r) = rest.strip_prefix(".*") {
            family = true;
            rest = r;
        } else if let Some((segment, r)) = element_segment(rest) {
            if out.is_empty() {
                return None;
            }
            out.push(segment);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            out.push(Segment::field(&r[..end]));
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return None;
            }
            out.push(Segment::field(name));
            rest = &r[end..];
        } else {
            return None;
        }
    }
    // A path must end in a field: the element itself is not a value to write.
    if !matches!(out.last(), Some(Segment::Field(_))) {
        return None;
    }
    Some((out, family))
}

/// Whether a list element is the one a [`Segment::Element`] selects.
fn selects(element: &Value, key: &str, value: &Value) -> bool {
    element
        .get(key)
        .is_some_and(|v| v == value || scalar_text(v) == scalar_text(value))
}

/// The value at a plain path.
pub(crate) fn get_path<'a>(v: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    segments.iter().try_fold(v, |v, s| match s {
        Segment::Field(name) => v.get(name),
        Segment::Element { key, value } => v.as_array()?.iter().find(|e| selects(e, key, value)),
    })
}

/// Sets the value at a plain path, creating objects, lists and selected elements on the way.
pub(crate) fn set_path(v: &mut Value, segments: &[Segment], value: Value) {
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut node = v;
    for s in parents {
        node = match s {
            Segment::Field(name) => {
                if !node.is_object() {
                    *node = Value::Object(Map::new());
                }
                let Some(map) = node.as_object_mut() else {
                    return;
                };
                map.entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
            Segment::Element { key, value: wanted } => {
                if !node.is_array() {
                    *node = Value::Array(Vec::new());
                }
                let Some(items) = node.as_array_mut() else {
                    return;
                };
                let at = match items.iter().position(|e| selects(e, key, wanted)) {
                    Some(at) => at,
                    None => {
                        let mut element = Map::new();
                        element.insert(key.clone(), wanted.clone());
                        items.push(Value::Object(element));
                        items.len() - 1
                    }
                };
                &mut items[at]
            }
        };
    }
    let Segment::Field(last) = last else {
        return;
    };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Some(map) = node.as_object_mut() {
        map.insert(last.clone(), value);
    }
}
