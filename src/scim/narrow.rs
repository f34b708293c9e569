//! Value filters in attribute lists (`attributes=emails[type eq "work"]`): the values of a
//! multi-valued attribute a response keeps or drops, before projection (see
//! [`ValueSelection`]; a lenient extension of RFC 7644 §3.10).
//!
//! Pure, over SCIM JSON; attribute names compare case-insensitively, and string comparisons
//! follow the schema's `caseExact` as filters do.

use serde_json::{Map, Value};

use crate::scim::filter::Filter;
use crate::scim::list::project;
use crate::scim::path::{AttrPath, eq_name};
use crate::scim::query::{ListQuery, ValueSelection};
use crate::scim::schema::{ResourceAttrs, SchemaRegistry};

/// `resource` as the query's attribute lists ask for it: value filters first (they may test
/// sub-attributes that projection then leaves out), then `attributes` / `excludedAttributes`.
pub fn project_query(
    resource: &Value,
    query: &ListQuery,
    registry: &SchemaRegistry,
    resource_type: &str,
) -> Value {
    if query.attributes.is_empty()
        && query.excluded_attributes.is_empty()
        && query.value_filters.is_empty()
    {
        return resource.clone();
    }
    let narrowed;
    let resource = if query.value_filters.is_empty() {
        resource
    } else {
        narrowed = narrow(resource, &query.value_filters, registry, resource_type);
        &narrowed
    };
    project(
        resource,
        &query.attributes,
        &query.excluded_attributes,
        registry,
        resource_type,
    )
}

/// Applies value filters: an `attributes` one keeps only the matching values of its attribute
/// (several for one attribute: values matching any), an `excludedAttributes` one removes the
/// matching values (with a sub-attribute: only that sub-attribute of them). An attribute left
/// without values is left out.
pub fn narrow(
    resource: &Value,
    selections: &[ValueSelection],
    registry: &SchemaRegistry,
    resource_type: &str,
) -> Value {
    let mut out = resource.clone();
    let attrs = ResourceAttrs {
        registry,
        resource_type,
    };
    let core = registry
        .resource_type(resource_type)
        .map(|rt| rt.schema.clone());
    for (i, first) in selections.iter().enumerate() {
        // Each attribute once, with every selection that names it.
        if selections[..i]
            .iter()
            .any(|s| same_attr(&s.attr, &first.attr))
        {
            continue;
        }
        let mine: Vec<&ValueSelection> = selections
            .iter()
            .filter(|s| same_attr(&s.attr, &first.attr))
            .collect();
        let Some(container) = container_of(&mut out, &first.attr, core.as_deref()) else {
            continue;
        };
        let Some(key) = container
            .keys()
            .find(|k| eq_name(k, &first.attr.name))
            .cloned()
        else {
            continue;
        };
        let matches = |selection: &ValueSelection, element: &Value| {
            let name = AttrPath {
                schema: first.attr.schema.clone(),
                ..AttrPath::simple(&first.attr.name)
            };
            let wrapped = match element {
                Value::Object(_) => element.clone(),
                // A primitive multi-valued element acts as `{"value": element}`.
                other => serde_json::json!({ "value": other }),
            };
            let mut holder = Map::new();
            holder.insert(first.attr.name.clone(), Value::Array(vec![wrapped]));
            let path = AttrPath {
                schema: None,
                ..name
            };
            Filter::ValuePath(path, Box::new(selection.filter.clone()))
                .matches(&Value::Object(holder), &attrs)
        };
        let keeps: Vec<&&ValueSelection> = mine.iter().filter(|s| !s.excluded).collect();
        let drops: Vec<&&ValueSelection> = mine.iter().filter(|s| s.excluded).collect();
        let Some(value) = container.get_mut(&key) else {
            continue;
        };
        let elements = match value {
            Value::Array(elements) => std::mem::take(elements),
            other => vec![std::mem::take(other)],
        };
        let mut kept = Vec::with_capacity(elements.len());
        for mut element in elements {
            if !keeps.is_empty() && !keeps.iter().any(|s| matches(s, &element)) {
                continue;
            }
            let mut gone = false;
            let hits: Vec<&&&ValueSelection> =
                drops.iter().filter(|s| matches(s, &element)).collect();
            for drop in hits {
                match (&drop.sub_attr, element.as_object_mut()) {
                    (Some(sub), Some(object)) => object.retain(|k, _| !eq_name(k, sub)),
                    _ => gone = true,
                }
            }
            if !gone && element.as_object().is_none_or(|o| !o.is_empty()) {
                kept.push(element);
            }
        }
        if kept.is_empty() {
            container.remove(&key);
        } else if container.get(&key).is_some_and(Value::is_array) {
            container.insert(key, Value::Array(kept));
        } else if let Some(only) = kept.pop() {
            container.insert(key, only);
        }
    }
    out
}

/// Whether two paths name the same attribute (an unqualified name matches any schema).
fn same_attr(a: &AttrPath, b: &AttrPath) -> bool {
    eq_name(&a.name, &b.name)
        && match (&a.schema, &b.schema) {
            (Some(x), Some(y)) => eq_name(x, y),
            _ => true,
        }
}

/// The object holding `attr`: the resource itself for core attributes, else the extension's
/// URN-keyed object.
fn container_of<'v>(
    resource: &'v mut Value,
    attr: &AttrPath,
    core: Option<&str>,
) -> Option<&'v mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    match &attr.schema {
        Some(urn) if core.is_none_or(|c| !eq_name(c, urn)) => {
            let key = root.keys().find(|k| eq_name(k, urn)).cloned()?;
            root.get_mut(&key)?.as_object_mut()
        }
        _ => Some(root),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::query::QueryLimits;
    use serde_json::json;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ListQuery::from_query_pairs(
            &pairs,
            &SchemaRegistry::core(),
            "User",
            QueryLimits {
                default_count: 100,
                max_count: 100,
            },
        )
        .unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "7",
            "userName": "UserName111",
            "emails": [
                {"type": "work", "value": "emailName357", "primary": true},
                {"type": "home", "value": "testinghome@bob.com"},
                {"type": "Work", "value": "second@bob.com"}
            ],
            "meta": {"resourceType": "User"}
        })
    }

    fn shown(pairs: &[(&str, &str)]) -> Value {
        project_query(&user(), &query(pairs), &SchemaRegistry::core(), "User")
    }

    #[test]
    fn attributes_with_a_value_filter_keep_only_matching_values() {
        let out = shown(&[("attributes", "emails[type eq \"work\"]")]);
        assert_eq!(
            out["emails"],
            json!([
                {"type": "work", "value": "emailName357", "primary": true},
                {"type": "Work", "value": "second@bob.com"}
            ]),
            "type is not caseExact: `Work` matches"
        );
        assert_eq!(out["id"], "7");
        assert!(
            out.get("userName").is_none(),
            "the rest of `attributes` holds"
        );
        let out = shown(&[("attributes", "emails[value eq \"emailName357\"]")]);
        assert_eq!(
            out["emails"],
            json!([{"type": "work", "value": "emailName357", "primary": true}])
        );
    }

    #[test]
    fn a_sub_attribute_after_the_filter_keeps_only_it_of_the_matches() {
        let out = shown(&[("attributes", "userName,emails[type eq \"home\"].value")]);
        assert_eq!(out["emails"], json!([{"value": "testinghome@bob.com"}]));
        assert_eq!(out["userName"], "UserName111");
    }

    #[test]
    fn no_match_leaves_the_attribute_out_and_a_plain_name_keeps_it_whole() {
        let out = shown(&[("attributes", "emails[type eq \"other\"]")]);
        assert!(out.get("emails").is_none(), "{out}");
        let out = shown(&[("attributes", "emails,emails[type eq \"home\"]")]);
        assert_eq!(out["emails"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn excluded_attributes_with_a_value_filter_remove_the_matches() {
        let out = shown(&[("excludedAttributes", "emails[type eq \"work\"]")]);
        assert_eq!(
            out["emails"],
            json!([{"type": "home", "value": "testinghome@bob.com"}])
        );
        assert_eq!(out["userName"], "UserName111");
        let out = shown(&[("excludedAttributes", "emails[type eq \"home\"].value")]);
        assert_eq!(out["emails"][1], json!({"type": "home"}), "{out}");
        assert_eq!(out["emails"][0]["value"], "emailName357");
    }

    #[test]
    fn commas_inside_a_value_filter_do_not_split_the_list() {
        let q = query(&[(
            "attributes",
            "userName,emails[value eq \"a,b\" or type eq \"x\"]",
        )]);
        assert_eq!(q.attributes.len(), 2);
        assert_eq!(q.value_filters.len(), 1);
        assert_eq!(q.value_filters[0].attr.name, "emails");
    }

    #[test]
    fn a_malformed_value_filter_is_invalid_path() {
        let pairs = [("attributes".to_owned(), "emails[type eq]".to_owned())];
        let err = ListQuery::from_query_pairs(
            &pairs,
            &SchemaRegistry::core(),
            "User",
            QueryLimits {
                default_count: 1,
                max_count: 1,
            },
        );
        assert!(
            matches!(
                err,
                Err(crate::scim::query::Error::Path {
                    parameter: "attributes",
                    ..
                })
            ),
            "{err:?}"
        );
    }
}
