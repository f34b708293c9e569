//! The JSON shape of a whole SCIM resource against its schemas: a multi-valued attribute is an
//! array, a complex one an object, a simple one a scalar, `schemas` a list of strings. Only the
//! shape: value types, `allowed` lists and mutability belong to the mapping and PATCH.
//!
//! Tolerant where real clients are: Entra sends a single-valued complex attribute with a `value`
//! sub-attribute (`manager`) as a bare id string, a multi-valued string list as one delimited
//! string (`Split()` left out), and `null` for absent attributes. Unknown
//! attributes are not this module's business (the mapping ignores or refuses them).

use serde_json::Value;

use super::{AttrType, Attribute, SchemaRegistry};
use crate::scim::path::eq_name;

/// One attribute whose JSON shape does not fit its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeProblem {
    /// The attribute as a path (`name`, `emails`, `urn:…:User:manager`).
    pub attribute: String,
    /// What the schema wants there (`array`, `object`, ...).
    pub expected: &'static str,
    /// The JSON kind that was there (`string`, `number`, ...), never the value itself.
    pub found: &'static str,
}

impl SchemaRegistry {
    /// Checks every known attribute of `resource` (core and extension objects) against the
    /// schemas of `resource_type`; returns the first misfit. A resource that is not an object is
    /// the caller's concern.
    pub fn check_shape(&self, resource_type: &str, resource: &Value) -> Result<(), ShapeProblem> {
        let Some(root) = resource.as_object() else {
            return Ok(());
        };
        if let Some(schemas) = root.get("schemas")
            && !schemas.is_null()
            && !schemas
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string))
        {
            return Err(problem("schemas", "array of strings", schemas));
        }
        let schemas = self.schemas_of(resource_type);
        for (index, schema) in schemas.iter().enumerate() {
            // The core schema's attributes sit at the top, an extension's under its URN.
            let container = if index == 0 {
                Some(root)
            } else {
                match root.iter().find(|(key, _)| eq_name(key, &schema.id)) {
                    None | Some((_, Value::Null)) => None,
                    Some((_, Value::Object(map))) => Some(map),
                    Some((_, other)) => return Err(problem(&schema.id, "object", other)),
                }
            };
            let Some(container) = container else { continue };
            for attr in &schema.attributes {
                let Some((_, value)) = container.iter().find(|(key, _)| eq_name(key, &attr.name))
                else {
                    continue;
                };
                let name = if index == 0 {
                    attr.name.clone()
                } else {
                    format!("{}:{}", schema.id, attr.name)
                };
                check(attr, value, &name)?;
            }
        }
        Ok(())
    }
}

fn problem(attribute: &str, expected: &'static str, found: &Value) -> ShapeProblem {
    ShapeProblem {
        attribute: attribute.to_owned(),
        expected,
        found: match found {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        },
    }
}

fn check(attr: &Attribute, value: &Value, name: &str) -> Result<(), ShapeProblem> {
    if value.is_null() {
        return Ok(());
    }
    if attr.multi_valued {
        return match value {
            Value::Array(items) => items.iter().try_for_each(|item| match item {
                // A list of simple values may come as `[{"value": "Sales"}]` (Entra's
                // `Split()` on an extension attribute; the README's `split:` shape).
                Value::Object(map) if attr.attr_type != AttrType::Complex => {
                    wrapped_value(map, name)
                        .unwrap_or_else(|| Err(problem(name, "array of values", item)))
                }
                _ => check_single(attr, item, name),
            }),
            // A list of strings may come as one delimited string (mappings with `split`).
            Value::String(_) if attr.attr_type != AttrType::Complex => Ok(()),
            _ => Err(problem(name, "array", value)),
        };
    }
    check_single(attr, value, name)
}

/// `Some(Ok)` when a list element of a simple attribute is `{"value": scalar}` (other keys
/// such as `display` or `primary` allowed); `None` when it is some other object.
fn wrapped_value(
    map: &serde_json::Map<String, Value>,
    name: &str,
) -> Option<Result<(), ShapeProblem>> {
    let (_, value) = map.iter().find(|(key, _)| eq_name(key, "value"))?;
    Some(match value {
        Value::Object(_) | Value::Array(_) => {
            Err(problem(&format!("{name}.value"), "single value", value))
        }
        _ => Ok(()),
    })
}

fn check_single(attr: &Attribute, value: &Value, name: &str) -> Result<(), ShapeProblem> {
    match (attr.attr_type, value) {
        (_, Value::Null) => Ok(()),
        (AttrType::Complex, Value::Object(map)) => {
            for sub in &attr.sub_attributes {
                if let Some((_, v)) = map.iter().find(|(key, _)| eq_name(key, &sub.name)) {
                    let sub_name = format!("{name}.{}", sub.name);
                    let misfit = match v {
                        Value::Object(_) => sub.attr_type != AttrType::Complex,
                        Value::Array(_) => !sub.multi_valued,
                        _ => false,
                    };
                    if misfit {
                        return Err(problem(&sub_name, "single value", v));
                    }
                }
            }
            Ok(())
        }
        // Entra's bare manager id: a string standing for the `value` sub-attribute.
        (AttrType::Complex, Value::String(_))
            if !attr.multi_valued && attr.sub_attribute("value").is_some() =>
        {
            Ok(())
        }
        (AttrType::Complex, _) => Err(problem(name, "object", value)),
        (_, Value::Object(_) | Value::Array(_)) => Err(problem(name, "single value", value)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    /// Issue 8 (hostile corpus): shapes no SCIM client may send reached the backend or were
    /// silently dropped (`name` as a string, `emails` as a number, `members` as a string).
    #[test]
    fn issue_8_misshapen_attributes_are_named() {
        let registry = SchemaRegistry::core();
        let misfit = |resource_type: &str, body: Value| {
            registry
                .check_shape(resource_type, &body)
                .err()
                .map(|p| p.attribute)
        };
        assert_eq!(
            misfit("User", json!({"name": "B J"})).as_deref(),
            Some("name")
        );
        assert_eq!(
            misfit("User", json!({"emails": 5})).as_deref(),
            Some("emails")
        );
        assert_eq!(
            misfit("User", json!({"emails": [[1]]})).as_deref(),
            Some("emails")
        );
        assert_eq!(
            misfit("User", json!({"emails": [{"value": {"x": 1}}]})).as_deref(),
            Some("emails.value")
        );
        assert_eq!(
            misfit("User", json!({"roles": "Admin"})).as_deref(),
            Some("roles")
        );
        assert_eq!(
            misfit("User", json!({"schemas": "urn:x"})).as_deref(),
            Some("schemas")
        );
        assert_eq!(
            misfit("User", json!({"schemas": [1]})).as_deref(),
            Some("schemas")
        );
        assert_eq!(
            misfit("User", json!({"userName": {"a": 1}})).as_deref(),
            Some("userName")
        );
        assert_eq!(
            misfit("Group", json!({"members": "1"})).as_deref(),
            Some("members")
        );
        assert_eq!(
            misfit("Group", json!({"members": [1]})).as_deref(),
            Some("members")
        );
        assert_eq!(
            misfit("User", json!({ENTERPRISE: "x"})).as_deref(),
            Some(ENTERPRISE)
        );
        assert_eq!(
            misfit("User", json!({ENTERPRISE: {"manager": [1]}})),
            Some(format!("{ENTERPRISE}:manager"))
        );
    }

    /// Issue 12: a multi-valued simple attribute (a `split:` field such as the demo's
    /// `folders`) given as `[{"value": "Sales"}]` is the README's shape, not a misfit; an
    /// element that is some other object, or whose `value` is not a scalar, still is.
    #[test]
    fn issue_12_value_objects_fit_a_list_of_simple_values() {
        let folders = Attribute::new("folders", AttrType::String).multi();
        for fits in [
            json!([{"value": "Sales"}, {"value": " Travel"}]),
            json!(["Sales", "Travel"]),
            json!("Sales, Travel"),
            json!([{"value": "Sales", "display": "Sales"}]),
        ] {
            assert_eq!(check(&folders, &fits, "folders"), Ok(()), "{fits}");
        }
        for (misfit, at) in [
            (json!([{"name": "Sales"}]), "folders"),
            (json!([{"value": {"x": 1}}]), "folders.value"),
            (json!([{"value": [1]}]), "folders.value"),
        ] {
            assert_eq!(
                check(&folders, &misfit, "folders").map_err(|p| p.attribute),
                Err(at.to_owned()),
                "{misfit}"
            );
        }
    }

    #[test]
    fn entra_shapes_pass() {
        let registry = SchemaRegistry::core();
        for body in [
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                   "userName": "a@b", "active": "True", "roles": [], "name": {"givenName": "A"},
                   "emails": [{"primary": true, "type": "work", "value": "a@b"}],
                   "addresses": null, "title": null, "meta": {"resourceType": "User"}}),
            json!({ENTERPRISE: {"manager": "271", "department": "Sales"}}),
            json!({ENTERPRISE: {"manager": {"value": "271"}}}),
            json!({"unknownThing": {"x": [1]}}),
        ] {
            assert_eq!(registry.check_shape("User", &body), Ok(()), "{body}");
        }
        let group = json!({"displayName": "G", "members": [{"value": "1", "display": "x"}]});
        assert_eq!(registry.check_shape("Group", &group), Ok(()));
    }
}
