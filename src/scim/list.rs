//! List responses (RFC 7644 §3.4.2) and attribute projection (`attributes`,
//! `excludedAttributes`, RFC 7644 §3.4.2.5) over SCIM JSON.
//!
//! Projection follows each attribute's `returned` characteristic from the schema registry:
//! `always` attributes (`id`, plus `schemas` and `meta.resourceType`) survive every projection,
//! `never` attributes (`password`) never leave, `request` attributes only when named. It does not
//! filter, sort or page: the engine does that before projecting.
//!
//! Choice: `schemas` is left as it is even when an extension's object is projected away
//! entirely; the resource still has that extension, the client merely did not ask for it.

use crate::scim::path::{AttrPath, eq_name};
use crate::scim::schema::{Attribute, Returned, SchemaRegistry};
use serde_json::{Map, Value};

/// The schema URN of a list response.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// One page of a query result, as every list endpoint and `/.search` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse {
    /// Matches in the whole result set, not just this page.
    pub total_results: usize,
    /// The 1-based index of the first resource of this page, echoed from the request.
    pub start_index: usize,
    /// The resources of this page, already projected.
    pub resources: Vec<Value>,
}

impl ListResponse {
    /// The JSON body: `schemas`, `totalResults`, `startIndex`, `itemsPerPage` (the number of
    /// resources on this page) and exactly `Resources` (capital R, as Entra requires).
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// [`ListResponse::to_json`], moving the resources instead of copying them (`json!` with a
    /// `Vec<Value>` serialises every resource into a new `Value`).
    pub fn into_json(self) -> Value {
        let mut body = Map::new();
        body.insert("schemas".into(), serde_json::json!([LIST_RESPONSE_SCHEMA]));
        body.insert("totalResults".into(), self.total_results.into());
        body.insert("startIndex".into(), self.start_index.into());
        body.insert("itemsPerPage".into(), self.resources.len().into());
        body.insert("Resources".into(), Value::Array(self.resources));
        Value::Object(body)
    }
}

/// What a projection keeps of one attribute.
enum Keep {
    /// Drop the attribute.
    Nothing,
    /// Keep it whole.
    Whole,
    /// Keep only these sub-attributes (plus `returned: always` ones).
    Subs(Vec<String>),
    /// Keep it but drop these sub-attributes.
    AllBut(Vec<String>),
}

/// Projects `resource` for a response: with `attributes` non-empty only the named attributes (and
/// `always` ones) are kept; otherwise `excluded` attributes are removed. Sub-attribute paths
/// (`name.givenName`, `emails.value`) keep or remove parts of complex attributes. Extension
/// attributes live under their URN key and are named qualified or unqualified; naming an
/// extension URN alone selects its whole object. Names compare case-insensitively.
pub fn project(
    resource: &Value,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
    registry: &SchemaRegistry,
    resource_type: &str,
) -> Value {
    let Value::Object(object) = resource else {
        return resource.clone();
    };
    let core_urn = registry
        .resource_type(resource_type)
        .map(|rt| rt.schema.clone());
    let mut out = Map::new();
    for (key, value) in object {
        if eq_name(key, "schemas") {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let extension = registry
            .schemas_of(resource_type)
            .into_iter()
            .find(|schema| eq_name(&schema.id, key) && core_urn.as_deref() != Some(&schema.id));
        if let (Some(schema), Value::Object(inner)) = (extension, value) {
            let whole = attributes.iter().any(|path| names_urn(path, &schema.id));
            let mut projected = Map::new();
            for (name, inner_value) in inner {
                let path = AttrPath {
                    schema: Some(schema.id.clone()),
                    name: name.clone(),
                    sub_attr: None,
                };
                let attr = registry.attribute(resource_type, &path);
                let keep = if whole && attr.as_ref().is_none_or(|a| a.returned != Returned::Never) {
                    Keep::Whole
                } else {
                    decide(
                        attr.as_deref(),
                        name,
                        Some(&schema.id),
                        attributes,
                        excluded,
                    )
                };
                if let Some(kept) = apply_keep(&keep, inner_value, attr.as_deref()) {
                    projected.insert(name.clone(), kept);
                }
            }
            if !projected.is_empty() {
                out.insert(key.clone(), Value::Object(projected));
            }
            continue;
        }
        let path = AttrPath {
            schema: None,
            name: key.clone(),
            sub_attr: None,
        };
        let attr = registry.attribute(resource_type, &path);
        let keep = decide(
            attr.as_deref(),
            key,
            core_urn.as_deref(),
            attributes,
            excluded,
        );
        match apply_keep(&keep, value, attr.as_deref()) {
            Some(kept) => {
                out.insert(key.clone(), kept);
            }
            None if eq_name(key, "meta") => {
                // `meta.resourceType` is always returned, so a client can tell what it got.
                if let Some(rt) = value.get("resourceType") {
                    out.insert(key.clone(), serde_json::json!({ "resourceType": rt }));
                }
            }
            None => {}
        }
    }
    Value::Object(out)
}

/// Whether `path` names the extension `urn` itself rather than one of its attributes.
fn names_urn(path: &AttrPath, urn: &str) -> bool {
    if path.sub_attr.is_some() {
        return false;
    }
    match &path.schema {
        None => eq_name(&path.name, urn),
        Some(schema) => eq_name(&format!("{schema}:{}", path.name), urn),
    }
}

/// Whether `path` names the attribute `name` of schema `urn` (unqualified paths match any schema).
fn names_attr(path: &AttrPath, name: &str, urn: Option<&str>) -> bool {
    eq_name(&path.name, name)
        && path
            .schema
            .as_deref()
            .is_none_or(|schema| urn.is_some_and(|urn| eq_name(schema, urn)))
}

fn decide(
    attr: Option<&Attribute>,
    name: &str,
    urn: Option<&str>,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> Keep {
    let returned = attr.map_or(Returned::Default, |a| a.returned);
    match returned {
        Returned::Never => return Keep::Nothing,
        Returned::Always => return Keep::Whole,
        Returned::Default | Returned::Request => {}
    }
    if !attributes.is_empty() {
        let named: Vec<&AttrPath> = attributes
            .iter()
            .filter(|path| names_attr(path, name, urn))
            .collect();
        if named.is_empty() {
            return Keep::Nothing;
        }
        if named.iter().any(|path| path.sub_attr.is_none()) {
            return Keep::Whole;
        }
        return Keep::Subs(
            named
                .iter()
                .filter_map(|path| path.sub_attr.clone())
                .collect(),
        );
    }
    if returned == Returned::Request {
        return Keep::Nothing;
    }
    let named: Vec<&AttrPath> = excluded
        .iter()
        .filter(|path| names_attr(path, name, urn))
        .collect();
    if named.iter().any(|path| path.sub_attr.is_none()) {
        return Keep::Nothing;
    }
    if named.is_empty() {
        return Keep::Whole;
    }
    Keep::AllBut(
        named
            .iter()
            .filter_map(|path| path.sub_attr.clone())
            .collect(),
    )
}

fn apply_keep(keep: &Keep, value: &Value, attr: Option<&Attribute>) -> Option<Value> {
    let (subs, keep_listed) = match keep {
        Keep::Nothing => return None,
        Keep::Whole => return Some(strip_never(value, attr)),
        Keep::Subs(subs) => (subs, true),
        Keep::AllBut(subs) => (subs, false),
    };
    let project_object = |object: &Map<String, Value>| -> Map<String, Value> {
        object
            .iter()
            .filter(|(key, _)| {
                let sub = attr.and_then(|a| a.sub_attribute(key));
                match sub.map(|s| s.returned) {
                    Some(Returned::Never) => false,
                    Some(Returned::Always) => true,
                    _ => subs.iter().any(|s| eq_name(s, key)) == keep_listed,
                }
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    };
    match value {
        Value::Object(object) => {
            let projected = project_object(object);
            (!projected.is_empty()).then_some(Value::Object(projected))
        }
        Value::Array(elements) => {
            let projected: Vec<Value> = elements
                .iter()
                .filter_map(|element| match element {
                    Value::Object(object) => {
                        let projected = project_object(object);
                        (!projected.is_empty()).then_some(Value::Object(projected))
                    }
                    // A simple value has no sub-attributes to select.
                    other => (!keep_listed).then(|| other.clone()),
                })
                .collect();
            (!projected.is_empty()).then_some(Value::Array(projected))
        }
        // Selecting a sub-attribute of a simple value selects nothing; excluding one keeps it.
        other => (!keep_listed).then(|| other.clone()),
    }
}

/// Removes `returned: never` sub-attributes from a kept complex value.
fn strip_never(value: &Value, attr: Option<&Attribute>) -> Value {
    let Some(attr) = attr.filter(|a| {
        a.sub_attributes
            .iter()
            .any(|s| s.returned == Returned::Never)
    }) else {
        return value.clone();
    };
    let strip = |object: &Map<String, Value>| -> Value {
        Value::Object(
            object
                .iter()
                .filter(|(key, _)| {
                    attr.sub_attribute(key)
                        .is_none_or(|sub| sub.returned != Returned::Never)
                })
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        )
    };
    match value {
        Value::Object(object) => strip(object),
        Value::Array(elements) => Value::Array(
            elements
                .iter()
                .map(|element| match element {
                    Value::Object(object) => strip(object),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn path(text: &str) -> AttrPath {
        // Test helper: `urn:…:User:manager` style paths are split at the last colon.
        let (schema, rest) = match text.rfind(':') {
            Some(i) if text.starts_with("urn:") => (Some(text[..i].to_owned()), &text[i + 1..]),
            _ => (None, text),
        };
        let (name, sub_attr) = match rest.split_once('.') {
            Some((name, sub)) => (name.to_owned(), Some(sub.to_owned())),
            None => (rest.to_owned(), None),
        };
        AttrPath {
            schema,
            name,
            sub_attr,
        }
    }

    fn paths(texts: &[&str]) -> Vec<AttrPath> {
        texts.iter().map(|t| path(t)).collect()
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
            "id": "42",
            "userName": "alice@contoso.com",
            "password": "hunter2",
            "name": {"givenName": "Alice", "familyName": "Smith"},
            "emails": [{"type": "work", "value": "alice@contoso.com", "primary": true}],
            "active": true,
            "meta": {"resourceType": "User", "location": "https://x/Users/42"},
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "7"}},
        })
    }

    #[test]
    fn list_response_json_uses_capital_resources_and_counts_the_page() {
        let list = ListResponse {
            total_results: 5,
            start_index: 3,
            resources: vec![json!({"id": "1"})],
        };
        assert_eq!(
            list.to_json(),
            json!({
                "schemas": [LIST_RESPONSE_SCHEMA],
                "totalResults": 5,
                "startIndex": 3,
                "itemsPerPage": 1,
                "Resources": [{"id": "1"}],
            })
        );
    }

    #[test]
    fn default_projection_drops_password_only() {
        let registry = SchemaRegistry::core();
        let mut expected = user();
        expected.as_object_mut().map(|o| o.remove("password"));
        assert_eq!(project(&user(), &[], &[], &registry, "User"), expected);
    }

    #[test]
    fn attributes_id_keeps_always_attributes() {
        let registry = SchemaRegistry::core();
        let projected = project(&user(), &paths(&["id"]), &[], &registry, "User");
        assert_eq!(
            projected,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
                "id": "42",
                "meta": {"resourceType": "User"},
            })
        );
    }

    #[test]
    fn sub_attribute_and_extension_selection() {
        let registry = SchemaRegistry::core();
        let projected = project(
            &user(),
            &paths(&[
                "NAME.givenName",
                "emails.value",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            ]),
            &[],
            &registry,
            "User",
        );
        assert_eq!(
            projected,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
                "id": "42",
                "name": {"givenName": "Alice"},
                "emails": [{"value": "alice@contoso.com"}],
                "meta": {"resourceType": "User"},
                ENTERPRISE_USER_SCHEMA: {"manager": {"value": "7"}},
            })
        );
        let whole = project(
            &user(),
            &[path(ENTERPRISE_USER_SCHEMA)],
            &[],
            &registry,
            "User",
        );
        assert_eq!(
            whole[ENTERPRISE_USER_SCHEMA],
            json!({"department": "Sales", "manager": {"value": "7"}})
        );
    }

    #[test]
    fn excluded_members_and_sub_attributes() {
        let registry = SchemaRegistry::core();
        let group =
            json!({"schemas": [], "id": "g", "displayName": "Sales", "members": [{"value": "1"}]});
        assert_eq!(
            project(&group, &[], &paths(&["members"]), &registry, "Group"),
            json!({"schemas": [], "id": "g", "displayName": "Sales"})
        );
        let projected = project(
            &user(),
            &[],
            &paths(&["emails.primary", "id", "department", "meta"]),
            &registry,
            "User",
        );
        assert_eq!(
            projected["emails"],
            json!([{"type": "work", "value": "alice@contoso.com"}])
        );
        assert_eq!(projected["id"], json!("42"), "id is returned always");
        assert_eq!(
            projected[ENTERPRISE_USER_SCHEMA],
            json!({"manager": {"value": "7"}})
        );
        assert_eq!(projected["meta"], json!({"resourceType": "User"}));
    }
}
