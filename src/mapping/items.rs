//! `items:` on a multi-valued complex attribute (`roles`, `emails`): each SCIM element is one
//! object in a backend list, with its sub-attributes under the backend's own field names
//! (`roles: [{name: Admin, primary: true}]`). A `primary` entry makes the list hold exactly one
//! primary element on every write: the one marked, else the first.
//!
//! Pure: value shapes only; the attribute rule calls it from its read and write.

use crate::mapping::attribute::{Segment, get_path, set_path};
use serde_json::{Map, Value};

/// SCIM sub-attribute → field path within one backend element.
pub(crate) type ItemFields = Vec<(String, Vec<Segment>)>;

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true") || s == "1",
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// The SCIM elements of a backend list; `None` when it is no list or has no elements.
pub(crate) fn read(fields: &ItemFields, backend: &Value) -> Option<Value> {
    let items = backend.as_array()?;
    let out: Vec<Value> = items
        .iter()
        .filter_map(|item| {
            let mut element = Map::new();
            for (sub, segments) in fields {
                let Some(v) = get_path(item, segments).filter(|v| !v.is_null()) else {
                    continue;
                };
                if !sub.eq_ignore_ascii_case("primary") {
                    element.insert(sub.clone(), v.clone());
                } else if truthy(v) {
                    element.insert(sub.clone(), Value::Bool(true));
                }
            }
            (!element.is_empty()).then_some(Value::Object(element))
        })
        .collect();
    (!out.is_empty()).then_some(Value::Array(out))
}

/// Why [`write`] refused SCIM elements.
#[derive(Debug, PartialEq)]
pub(crate) enum WriteError<E> {
    /// The value is not a list of objects (nor one object).
    Shape,
    /// More than one element is marked `primary` (RFC 7643 §2.4 allows at most one).
    SeveralPrimary(usize),
    /// A sub-attribute value the caller's check refused (`allowed`).
    Value(E),
}

/// The backend list for SCIM elements (a list of objects, or one object). Every
/// sub-attribute value written passes through `check` (sub-attribute name as the mapping
/// spells it, value), which returns the value to write (the canonical `allowed` spelling).
pub(crate) fn write<E>(
    fields: &ItemFields,
    scim: &Value,
    mut check: impl FnMut(&str, &Value) -> Result<Value, E>,
) -> Result<Value, WriteError<E>> {
    let elements: Vec<&Map<String, Value>> = match scim {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_object().ok_or(WriteError::Shape))
            .collect::<Result<_, _>>()?,
        Value::Object(one) => vec![one],
        _ => return Err(WriteError::Shape),
    };
    let has_primary = fields
        .iter()
        .any(|(sub, _)| sub.eq_ignore_ascii_case("primary"));
    let marked: Vec<usize> = elements
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("primary") && truthy(v))
        })
        .map(|(i, _)| i)
        .collect();
    if marked.len() > 1 {
        return Err(WriteError::SeveralPrimary(marked.len()));
    }
    let primary = marked
        .first()
        .copied()
        .or((!elements.is_empty()).then_some(0));
    let mut out = Vec::new();
    for (i, element) in elements.iter().enumerate() {
        let mut item = Value::Object(Map::new());
        for (sub, segments) in fields {
            if sub.eq_ignore_ascii_case("primary") {
                continue;
            }
            let value = element
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(sub))
                .map(|(_, v)| v);
            if let Some(v) = value.filter(|v| !v.is_null()) {
                let v = check(sub, v).map_err(WriteError::Value)?;
                set_path(&mut item, segments, v);
            }
        }
        if has_primary
            && let Some((_, segments)) = fields
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case("primary"))
        {
            set_path(&mut item, segments, Value::Bool(primary == Some(i)));
        }
        out.push(item);
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::attribute::plain_segments;
    use serde_json::json;

    fn keep(_: &str, v: &Value) -> Result<Value, ()> {
        Ok(v.clone())
    }

    fn fields() -> ItemFields {
        [
            ("value", "$.name"),
            ("display", "$.label"),
            ("primary", "$.main"),
        ]
        .iter()
        .map(|(s, p)| {
            (
                (*s).to_owned(),
                plain_segments(p).map(|x| x.0).unwrap_or_default(),
            )
        })
        .collect()
    }

    #[test]
    fn backend_elements_read_as_scim_with_one_primary() {
        let backend =
            json!([{"name": "User", "main": false, "id": 7}, {"name": "Admin", "main": "true"}]);
        assert_eq!(
            read(&fields(), &backend),
            Some(json!([{"value": "User"}, {"value": "Admin", "primary": true}]))
        );
        assert_eq!(read(&fields(), &json!([])), None);
    }

    #[test]
    fn writes_mark_exactly_one_primary_the_marked_one_else_the_first() {
        let none = json!([{"value": "Admin", "primary": false, "type": "WindowsAzureActiveDirectoryRole"},
                          {"value": "User", "primary": false}]);
        assert_eq!(
            write(&fields(), &none, keep),
            Ok(json!([{"name": "Admin", "main": true}, {"name": "User", "main": false}]))
        );
        let marked =
            json!([{"value": "Admin"}, {"value": "User", "primary": "True", "display": "U"}]);
        assert_eq!(
            write(&fields(), &marked, keep),
            Ok(
                json!([{"name": "Admin", "main": false}, {"name": "User", "label": "U", "main": true}])
            )
        );
        assert_eq!(
            write(&fields(), &json!(["Admin"]), keep),
            Err(WriteError::Shape)
        );
    }

    #[test]
    fn primary_is_matched_case_insensitively_and_at_most_one_is_marked() {
        let upper = json!([{"value": "Admin"}, {"Value": "User", "Primary": true}]);
        assert_eq!(
            write(&fields(), &upper, keep),
            Ok(json!([{"name": "Admin", "main": false}, {"name": "User", "main": true}]))
        );
        let two =
            json!([{"value": "Admin", "primary": true}, {"value": "User", "PRIMARY": "True"}]);
        assert_eq!(
            write(&fields(), &two, keep),
            Err(WriteError::SeveralPrimary(2))
        );
    }

    #[test]
    fn every_written_value_passes_the_check_array_or_single_object() {
        let refuse = |sub: &str, v: &Value| {
            if sub == "value" && v == "Owner" {
                Err(())
            } else {
                Ok(v.clone())
            }
        };
        assert_eq!(
            write(&fields(), &json!([{"Value": "Owner"}]), refuse),
            Err(WriteError::Value(()))
        );
        assert_eq!(
            write(&fields(), &json!({"value": "Owner"}), refuse),
            Err(WriteError::Value(()))
        );
    }
}
