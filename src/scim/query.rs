//! List query parameters (RFC 7644 §3.4.2, §3.4.3): `filter`, `startIndex`, `count`,
//! `attributes`, `excludedAttributes`, `sortBy`, `sortOrder`, from a query string or from a
//! `POST /.search` body, into one validated [`ListQuery`].
//!
//! Parameter names are case-insensitive and unknown ones (Entra's `aadOptscim062020`) are ignored.
//! Paging is normalised as RFC 7644 §3.4.2.4 says: `startIndex` below 1 is 1, a negative `count`
//! is 0, and `count` is capped by the configured maximum. No I/O and no HTTP types.

use crate::scim::ScimType;
use crate::scim::filter::{self, Filter};
use crate::scim::path::{self, AttrPath, PatchPath, eq_name};
use crate::scim::schema::SchemaRegistry;
use serde_json::Value;

/// Why the query parameters were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `startIndex` or `count` is not an integer.
    #[error("query parameter `{parameter}` must be an integer, got `{value}`")]
    NotAnInteger {
        /// The parameter name as the RFC spells it.
        parameter: &'static str,
        /// The value sent.
        value: String,
    },
    /// The `filter` does not parse.
    #[error("invalid filter: {0}")]
    Filter(#[from] filter::Error),
    /// An attribute list or `sortBy` names a path that does not parse.
    #[error("query parameter `{parameter}`: {source}")]
    Path {
        /// The parameter name.
        parameter: &'static str,
        /// The parser's error.
        source: path::Error,
    },
    /// `sortOrder` is neither `ascending` nor `descending`.
    #[error("query parameter `sortOrder` must be `ascending` or `descending`, got `{0}`")]
    SortOrder(String),
    /// A `/.search` body is not an object, or a key has the wrong JSON type.
    #[error("search request: {0}")]
    Body(String),
}

impl Error {
    /// The RFC 7644 Table 9 error type of this failure.
    pub fn scim_type(&self) -> ScimType {
        match self {
            Self::Filter(_) => ScimType::InvalidFilter,
            Self::Path { .. } => ScimType::InvalidPath,
            Self::NotAnInteger { .. } | Self::SortOrder(_) => ScimType::InvalidValue,
            Self::Body(_) => ScimType::InvalidSyntax,
        }
    }
}

/// `sortOrder` (sorting is not advertised, but the parameter is parsed so it can be honoured
/// later and so a bad value gets a clear error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// `ascending` (the default).
    #[default]
    Ascending,
    /// `descending`.
    Descending,
}

/// Paging limits from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// `count` when the client sends none.
    pub default_count: usize,
    /// The largest `count` honoured (also advertised as `filter.maxResults`).
    pub max_count: usize,
}

/// A validated list query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// The parsed filter, if any.
    pub filter: Option<Filter>,
    /// 1-based index of the first result; at least 1.
    pub start_index: usize,
    /// How many results to return; 0 asks only for `totalResults`.
    pub count: usize,
    /// `attributes`: return only these (plus `returned: always` ones).
    pub attributes: Vec<AttrPath>,
    /// `excludedAttributes`: return all default attributes but these.
    pub excluded_attributes: Vec<AttrPath>,
    /// Value filters given in `attributes` / `excludedAttributes` (`emails[type eq "work"]`),
    /// which narrow a multi-valued attribute to (or by) its matching values.
    pub value_filters: Vec<ValueSelection>,
    /// `sortBy`, if any.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder`.
    pub sort_order: SortOrder,
}

/// A value filter in an attribute list, `emails[type eq "work"]` or `emails[type eq
/// "work"].value`: a lenient extension of RFC 7644 §3.10, whose attribute notation has no value
/// filter (Microsoft's SCIMReferenceCode collection sends it). In `attributes` it keeps only the
/// matching values of the attribute (and, with `.sub`, only that sub-attribute of them); in
/// `excludedAttributes` it removes the matching values (with `.sub`, that sub-attribute of them).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSelection {
    /// The multi-valued attribute (never has a `sub_attr`).
    pub attr: AttrPath,
    /// The filter each value is tested with; its names are relative to the value.
    pub filter: Filter,
    /// The sub-attribute after the brackets, if any.
    pub sub_attr: Option<String>,
    /// Given in `excludedAttributes` (removes matches) rather than `attributes` (keeps them).
    pub excluded: bool,
}

/// The raw parameters before validation, whichever way they arrived.
#[derive(Default)]
struct Raw {
    filter: Option<String>,
    start_index: Option<i128>,
    count: Option<i128>,
    attributes: Vec<String>,
    excluded_attributes: Vec<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

/// Parses an integer parameter; digits beyond `i128` saturate rather than fail.
fn integer(parameter: &'static str, text: &str) -> Result<i128, Error> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    match trimmed.parse::<i128>() {
        Ok(n) => Ok(n),
        Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(if trimmed.starts_with('-') {
                i128::MIN
            } else {
                i128::MAX
            })
        }
        Err(_) => Err(Error::NotAnInteger {
            parameter,
            value: text.to_owned(),
        }),
    }
}

/// Splits a comma-separated attribute list; commas inside `[…]` or a quoted string belong to a
/// value filter (`emails[value eq "a,b"]`).
fn split_list(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The paths of one attribute list, and its value filters (see [`ValueSelection`]).
fn attribute_list(
    parameter: &'static str,
    texts: &[String],
    urns: &[String],
) -> Result<(Vec<AttrPath>, Vec<ValueSelection>), Error> {
    let mut paths = Vec::new();
    let mut selections = Vec::new();
    for text in texts {
        if text.contains('[') {
            let parsed =
                PatchPath::parse(text, urns).map_err(|source| Error::Path { parameter, source })?;
            if let Some(filter) = parsed.filter {
                let excluded = parameter == "excludedAttributes";
                if !excluded {
                    // Projection keeps the attribute (or its sub-attribute); narrowing picks
                    // the values.
                    paths.push(AttrPath {
                        sub_attr: parsed.sub_attr.clone(),
                        ..parsed.attr.clone()
                    });
                }
                selections.push(ValueSelection {
                    attr: parsed.attr,
                    filter,
                    sub_attr: parsed.sub_attr,
                    excluded,
                });
                continue;
            }
        }
        // `attributes=urn:…:enterprise:2.0:User` names a whole extension: kept as a path whose
        // name is the URN, which projection understands.
        paths.push(match AttrPath::parse(text, urns) {
            Ok(path) => path,
            Err(path::Error::SchemaOnly { schema, .. }) => AttrPath {
                schema: None,
                name: schema,
                sub_attr: None,
            },
            Err(source) => return Err(Error::Path { parameter, source }),
        });
    }
    Ok((paths, selections))
}

impl ListQuery {
    /// Builds a query from decoded query-string pairs (`?filter=…&startIndex=…`).
    pub fn from_query_pairs(
        pairs: &[(String, String)],
        registry: &SchemaRegistry,
        resource_type: &str,
        limits: QueryLimits,
    ) -> Result<Self, Error> {
        let mut raw = Raw::default();
        for (name, value) in pairs {
            let name = name.trim();
            if eq_name(name, "filter") {
                raw.filter = Some(value.clone());
            } else if eq_name(name, "startIndex") {
                raw.start_index = Some(integer("startIndex", value)?);
            } else if eq_name(name, "count") {
                raw.count = Some(integer("count", value)?);
            } else if eq_name(name, "attributes") {
                raw.attributes.extend(split_list(value));
            } else if eq_name(name, "excludedAttributes") {
                raw.excluded_attributes.extend(split_list(value));
            } else if eq_name(name, "sortBy") {
                raw.sort_by = Some(value.clone());
            } else if eq_name(name, "sortOrder") {
                raw.sort_order = Some(value.clone());
            }
        }
        Self::validate(&raw, registry, resource_type, limits)
    }

    /// Builds a query from a `POST /.search` body (RFC 7644 §3.4.3): the same keys as JSON, any
    /// key casing, `startIndex`/`count` as numbers (numeric strings are accepted too), attribute
    /// lists as arrays of strings or comma-separated strings.
    pub fn from_search_body(
        body: &Value,
        registry: &SchemaRegistry,
        resource_type: &str,
        limits: QueryLimits,
    ) -> Result<Self, Error> {
        let Value::Object(object) = body else {
            return Err(Error::Body("the body must be a JSON object".to_owned()));
        };
        let text = |key: &str, value: &Value| -> Result<Option<String>, Error> {
            match value {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                other => Err(Error::Body(format!(
                    "`{key}` must be a string, got {other}"
                ))),
            }
        };
        let number = |parameter: &'static str, value: &Value| -> Result<Option<i128>, Error> {
            match value {
                Value::Null => Ok(None),
                Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                    (Some(i), _) => Ok(Some(i128::from(i))),
                    (None, Some(u)) => Ok(Some(i128::from(u))),
                    _ => Err(Error::NotAnInteger {
                        parameter,
                        value: n.to_string(),
                    }),
                },
                Value::String(s) => integer(parameter, s).map(Some),
                other => Err(Error::NotAnInteger {
                    parameter,
                    value: other.to_string(),
                }),
            }
        };
        let list = |key: &str, value: &Value| -> Result<Vec<String>, Error> {
            match value {
                Value::Null => Ok(Vec::new()),
                Value::String(s) => Ok(split_list(s).collect()),
                Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s.trim().to_owned()),
                        other => Err(Error::Body(format!(
                            "`{key}` must list strings, got {other}"
                        ))),
                    })
                    .collect(),
                other => Err(Error::Body(format!(
                    "`{key}` must be an array of strings, got {other}"
                ))),
            }
        };
        let mut raw = Raw::default();
        for (key, value) in object {
            if eq_name(key, "filter") {
                raw.filter = text("filter", value)?;
            } else if eq_name(key, "startIndex") {
                raw.start_index = number("startIndex", value)?;
            } else if eq_name(key, "count") {
                raw.count = number("count", value)?;
            } else if eq_name(key, "attributes") {
                raw.attributes = list("attributes", value)?;
            } else if eq_name(key, "excludedAttributes") {
                raw.excluded_attributes = list("excludedAttributes", value)?;
            } else if eq_name(key, "sortBy") {
                raw.sort_by = text("sortBy", value)?;
            } else if eq_name(key, "sortOrder") {
                raw.sort_order = text("sortOrder", value)?;
            }
        }
        Self::validate(&raw, registry, resource_type, limits)
    }

    fn validate(
        raw: &Raw,
        registry: &SchemaRegistry,
        resource_type: &str,
        limits: QueryLimits,
    ) -> Result<Self, Error> {
        let urns = registry.urns();
        let filter = match raw.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let mut filter = Filter::parse(text, urns)?;
                qualify(&mut filter, registry, resource_type);
                Some(filter)
            }
        };
        let (attributes, mut value_filters) = attribute_list("attributes", &raw.attributes, urns)?;
        let (excluded_attributes, excluded_filters) =
            attribute_list("excludedAttributes", &raw.excluded_attributes, urns)?;
        // `attributes=emails,emails[type eq "work"]`: the attribute named plainly is kept whole.
        value_filters.retain(|selection| {
            !raw.attributes.iter().any(|text| {
                !text.contains('[')
                    && AttrPath::parse(text, urns).is_ok_and(|p| {
                        p.sub_attr.is_none()
                            && eq_name(&p.name, &selection.attr.name)
                            && p.schema.as_deref().is_none_or(|s| {
                                selection
                                    .attr
                                    .schema
                                    .as_deref()
                                    .is_none_or(|t| eq_name(s, t))
                            })
                    })
            })
        });
        value_filters.extend(excluded_filters);
        let sort_by = match raw.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(AttrPath::parse(text, urns).map_err(|source| Error::Path {
                parameter: "sortBy",
                source,
            })?),
        };
        let sort_order = match raw.sort_order.as_deref().map(str::trim) {
            None | Some("") => SortOrder::Ascending,
            Some(text) if eq_name(text, "ascending") => SortOrder::Ascending,
            Some(text) if eq_name(text, "descending") => SortOrder::Descending,
            Some(text) => return Err(Error::SortOrder(text.to_owned())),
        };
        let start_index =
            usize::try_from(raw.start_index.unwrap_or(1).max(1)).unwrap_or(usize::MAX);
        let count = match raw.count {
            None => limits.default_count,
            Some(n) => usize::try_from(n.max(0)).unwrap_or(usize::MAX),
        }
        .min(limits.max_count);
        Ok(Self {
            filter,
            start_index,
            count,
            attributes,
            excluded_attributes,
            value_filters,
            sort_by,
            sort_order,
        })
    }
}

/// Gives an unqualified attribute that only an extension of `resource_type` defines its URN, as
/// the registry resolves it (`manager` is the enterprise `manager`): Entra's legacy reference
/// check `id eq "…" and manager eq "…"` names it so, and the evaluator and the mapping's filter
/// rules compare qualified paths. Paths inside `attr[…]` are relative to `attr` and stay as
/// they are.
fn qualify(filter: &mut Filter, registry: &SchemaRegistry, resource_type: &str) {
    let path = match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            qualify(a, registry, resource_type);
            qualify(b, registry, resource_type);
            return;
        }
        Filter::Not(inner) => {
            qualify(inner, registry, resource_type);
            return;
        }
        Filter::Compare(path, _, _) | Filter::Present(path) | Filter::ValuePath(path, _) => path,
    };
    if path.schema.is_some() {
        return;
    }
    let core = registry
        .resource_type(resource_type)
        .map(|rt| rt.schema.as_str());
    if let Some((Some(schema), _)) = registry.top_attribute(resource_type, path)
        && core.is_some_and(|core| !eq_name(core, &schema.id))
    {
        path.schema = Some(schema.id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: QueryLimits = QueryLimits {
        default_count: 100,
        max_count: 200,
    };

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn query(list: &[(&str, &str)]) -> Result<ListQuery, Error> {
        ListQuery::from_query_pairs(&pairs(list), &SchemaRegistry::core(), "User", LIMITS)
    }

    #[test]
    fn defaults_without_parameters() -> anyhow::Result<()> {
        let q = query(&[("aadOptscim062020", "")])?;
        assert_eq!(
            q,
            ListQuery {
                filter: None,
                start_index: 1,
                count: 100,
                attributes: Vec::new(),
                excluded_attributes: Vec::new(),
                value_filters: Vec::new(),
                sort_by: None,
                sort_order: SortOrder::Ascending,
            }
        );
        Ok(())
    }

    /// §5 case 22: Entra's legacy `manager eq` names the enterprise manager without its URN.
    #[test]
    fn extension_attributes_named_without_urn_are_qualified() -> anyhow::Result<()> {
        const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let q = query(&[("filter", r#"id eq "7" and manager eq "5""#)])?;
        let Some(Filter::And(id, manager)) = q.filter else {
            panic!("not an and: {:?}", q.filter);
        };
        let Filter::Compare(id, _, _) = *id else {
            panic!("{id:?}")
        };
        assert_eq!(id.schema, None, "common attributes stay unqualified");
        let Filter::Compare(manager, _, _) = *manager else {
            panic!("{manager:?}")
        };
        assert_eq!(manager.schema.as_deref(), Some(ENTERPRISE));
        assert_eq!(manager.name, "manager");
        // The qualified filter finds the enterprise manager.
        let user = json!({"id": "7", ENTERPRISE: {"manager": {"value": "5"}}});
        let filter = query(&[("filter", r#"id eq "7" and manager eq "5""#)])?
            .filter
            .expect("filter");
        assert!(filter.matches(&user, &filter::CoreDefaults));
        let other = query(&[("filter", r#"id eq "7" and manager eq "6""#)])?
            .filter
            .expect("filter");
        assert!(!other.matches(&user, &filter::CoreDefaults));
        // Core attributes, already qualified ones and value-filter insides are left alone.
        let q = query(&[("filter", r#"userName eq "a" and emails[type eq "work"]"#)])?;
        let text = q.filter.expect("filter").to_string();
        assert!(!text.contains("urn:"), "{text}");
        Ok(())
    }

    #[test]
    fn paging_is_normalised() -> anyhow::Result<()> {
        assert_eq!(
            query(&[("startIndex", "0"), ("count", "-5")])?.start_index,
            1
        );
        assert_eq!(query(&[("count", "-5")])?.count, 0);
        assert_eq!(query(&[("count", "5000")])?.count, 200);
        assert_eq!(query(&[("COUNT", "2"), ("startindex", "6")])?.count, 2);
        assert_eq!(query(&[("startIndex", "6")])?.start_index, 6);
        assert_eq!(
            query(&[("count", "99999999999999999999999999999999999999999")])?.count,
            200
        );
        Ok(())
    }

    #[test]
    fn non_integer_paging_names_the_parameter() {
        let error = query(&[("count", "ten")]).err();
        assert_eq!(
            error,
            Some(Error::NotAnInteger {
                parameter: "count",
                value: "ten".to_owned()
            })
        );
        let message = query(&[("startIndex", "1.5")]).err().map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("query parameter `startIndex` must be an integer, got `1.5`")
        );
    }

    #[test]
    fn filter_and_attribute_lists() -> anyhow::Result<()> {
        let q = query(&[
            ("filter", "userName eq \"bjensen\""),
            ("excludedAttributes", "members, emails.value"),
            (
                "attributes",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            ),
            ("sortBy", "name.familyName"),
            ("sortOrder", "Descending"),
        ])?;
        assert!(q.filter.is_some());
        assert_eq!(q.excluded_attributes.len(), 2);
        assert_eq!(q.excluded_attributes[1].sub_attr.as_deref(), Some("value"));
        assert_eq!(
            q.attributes[0].schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(q.attributes[0].name, "manager");
        assert_eq!(q.sort_by.map(|p| p.name), Some("name".to_owned()));
        assert_eq!(q.sort_order, SortOrder::Descending);
        let bad = query(&[("filter", "userName eq")]).err();
        assert_eq!(bad.map(|e| e.scim_type()), Some(ScimType::InvalidFilter));
        Ok(())
    }

    #[test]
    fn search_body_uses_the_same_rules() -> anyhow::Result<()> {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "Filter": "displayName eq \"Sales\"",
            "startIndex": -3,
            "count": 10,
            "excludedAttributes": ["members"],
            "attributes": "id,displayName",
        });
        let q = ListQuery::from_search_body(&body, &SchemaRegistry::core(), "Group", LIMITS)?;
        assert!(q.filter.is_some());
        assert_eq!((q.start_index, q.count), (1, 10));
        assert_eq!(q.excluded_attributes.len(), 1);
        assert_eq!(q.attributes.len(), 2);
        let bad = ListQuery::from_search_body(
            &json!({"count": "x"}),
            &SchemaRegistry::core(),
            "Group",
            LIMITS,
        );
        assert_eq!(
            bad.err(),
            Some(Error::NotAnInteger {
                parameter: "count",
                value: "x".to_owned()
            })
        );
        let bad = ListQuery::from_search_body(&json!([]), &SchemaRegistry::core(), "Group", LIMITS);
        assert!(matches!(bad, Err(Error::Body(_))));
        Ok(())
    }
}
