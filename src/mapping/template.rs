//! Request templates: `/api/v1/users/{id}`, query and header values, JSON body templates.
//!
//! Parsing happens once at load; rendering percent-encodes every value placed into a path or
//! query so no value can change the host, add a path segment or inject a query parameter. This
//! module does no I/O and knows nothing about attributes.

use crate::mapping::error::Error;
use crate::mapping::spec::AsType;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use std::collections::BTreeMap;

/// Everything except RFC 3986 unreserved characters is encoded (`/`, `?`, `#`, `&`, `=`, `%`).
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The prefix of a connection variable's placeholder: `{conn.workspace_id}`.
pub(crate) const CONN_PREFIX: &str = "conn.";

/// The connection variables named in `placeholders` (`conn.NAME` → `NAME`).
pub(crate) fn connection_variables<'a>(
    placeholders: impl Iterator<Item = &'a str>,
) -> impl Iterator<Item = &'a str> {
    placeholders.filter_map(|name| name.strip_prefix(CONN_PREFIX))
}

/// A string with `{name}` / `{name:integer}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String, Option<AsType>),
}

impl Template {
    /// Parses a template; the error says what is wrong in operator words. `{{` and `}}` stand
    /// for literal braces, so a value can carry JSON (RT's `query=[{{"field":"Name",…}}]`).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(['{', '}']) {
            lit.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if rest[at..].starts_with("{{") || rest[at..].starts_with("}}") {
                lit.push_str(&rest[at..at + 1]);
                rest = &after[1..];
                continue;
            }
            if rest[at..].starts_with('}') {
                return Err(
                    "`}` without a matching `{` (write `}}` for a literal brace)".to_owned(),
                );
            }
            let Some(close) = after.find('}') else {
                return Err(format!(
                    "`{{` at column {} is never closed (write `{{{{` for a literal brace)",
                    text.len() - rest.len() + at + 1
                ));
            };
            let inner = &after[..close];
            let (name, as_type) = match inner.split_once(':') {
                Some((name, "string")) => (name, Some(AsType::String)),
                Some((name, "integer")) => (name, Some(AsType::Integer)),
                Some((name, "boolean")) => (name, Some(AsType::Boolean)),
                Some((_, other)) => {
                    return Err(format!(
                        "unknown type `{other}` in `{{{inner}}}` (allowed: string, integer, boolean)"
                    ));
                }
                None => (inner, None),
            };
            // `{conn.NAME}`: a variable of the connection the request came through.
            let bare = name.strip_prefix(CONN_PREFIX).unwrap_or(name);
            if bare.is_empty() || !bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`{{{inner}}}` is not a placeholder name"));
            }
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var(name.to_owned(), as_type));
            rest = &after[close + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Self { parts })
    }

    /// The placeholder names used.
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(name, _) => Some(name.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Fills in the placeholders without encoding; unknown placeholders become empty.
    pub(crate) fn render_raw(&self, vars: &Vars) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Lit(l) => l.clone(),
                Part::Var(name, _) => vars.values.get(name).cloned().unwrap_or_default(),
            })
            .collect()
    }

    /// Whether the template is one placeholder and nothing else.
    fn sole_var(&self) -> Option<(&str, Option<AsType>)> {
        match self.parts.as_slice() {
            [Part::Var(name, as_type)] => Some((name, *as_type)),
            _ => None,
        }
    }

    /// Fills in the placeholders, passing each value through `encode`. `Ok(None)` when a
    /// placeholder has no value.
    fn fill(
        &self,
        vars: &Vars,
        encode: &dyn Fn(&str, &str) -> Result<String, Error>,
    ) -> Result<Option<String>, Error> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(lit) => out.push_str(lit),
                Part::Var(name, _) => match vars.values.get(name) {
                    Some(value) => out.push_str(&encode(name, value)?),
                    None => return Ok(None),
                },
            }
        }
        Ok(Some(out))
    }
}

/// The values a request template is filled with: `{id}`, `{member}`, `{offset}`, `{count}`,
/// `{page}`, `{cursor}`, `{v}`, plus the mapped backend object for `"$object"` and extra query
/// parameters from a translated filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vars {
    values: BTreeMap<String, String>,
    object: Option<Value>,
    extra_query: Vec<(String, String)>,
}

impl Vars {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a placeholder value (raw; rendering encodes it).
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.values.insert(name.to_owned(), value.into());
        self
    }

    /// Sets the mapped backend object (the body of writes, `"$object"` in body templates).
    #[must_use]
    pub fn with_object(mut self, object: Value) -> Self {
        self.object = Some(object);
        self
    }

    /// Adds a connection's variables as `{conn.NAME}` values (raw; rendering encodes them).
    #[must_use]
    pub fn with_connection(mut self, variables: &BTreeMap<String, String>) -> Self {
        for (name, value) in variables {
            self.values
                .insert(format!("{CONN_PREFIX}{name}"), value.clone());
        }
        self
    }

    /// Adds query parameters (raw; rendering encodes them), e.g. from a translated filter.
    #[must_use]
    pub fn with_query(mut self, params: &[(String, String)]) -> Self {
        self.extra_query.extend_from_slice(params);
        self
    }
}

/// A backend request ready for the HTTP client (relative to the backend's `base_url`).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedRequest {
    /// HTTP method (parsed when the mapping compiled).
    pub method: http::Method,
    /// The path as written in the mapping (`/api/v1/users/{id}`), for logs and metrics: it holds
    /// no personal data.
    pub path_template: String,
    /// The encoded path and query (`/api/v1/users/17?x=a%40b`).
    pub path_and_query: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

/// One compiled backend call.
#[derive(Debug, Clone)]
pub(crate) struct RequestTemplate {
    pub(crate) name: String,
    pub(crate) method: http::Method,
    pub(crate) path_text: String,
    pub(crate) path: Template,
    pub(crate) query: Vec<(String, Template)>,
    pub(crate) headers: Vec<(String, Template)>,
    pub(crate) body: Option<Value>,
    pub(crate) reread: bool,
    /// Where the resource is in the answer (`$.user`); `None`: the whole answer.
    pub(crate) answer: Option<super::jsonpath::JsonPath>,
}

fn encode_path_value(name: &str, value: &str) -> Result<String, Error> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(Error::UnsafePathValue {
            placeholder: name.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(utf8_percent_encode(value, STRICT).to_string())
}

fn encode_query_value(_: &str, value: &str) -> Result<String, Error> {
    Ok(utf8_percent_encode(value, STRICT).to_string())
}

impl RequestTemplate {
    /// Renders the request with these values.
    pub(crate) fn render(&self, vars: &Vars) -> Result<RenderedRequest, Error> {
        let missing = |t: &Template| Error::MissingValue {
            operation: self.name.clone(),
            placeholder: t
                .placeholders()
                .find(|p| !vars.values.contains_key(*p))
                .unwrap_or("")
                .to_owned(),
        };
        let mut out = self
            .path
            .fill(vars, &encode_path_value)?
            .ok_or_else(|| missing(&self.path))?;
        let mut params = Vec::new();
        for (name, value) in &self.query {
            // A parameter whose value is not known (the cursor of the first page) is left out.
            if let Some(v) = value.fill(vars, &encode_query_value)? {
                params.push(format!("{}={v}", utf8_percent_encode(name, STRICT)));
            }
        }
        for (name, value) in &vars.extra_query {
            params.push(format!(
                "{}={}",
                utf8_percent_encode(name, STRICT),
                utf8_percent_encode(value, STRICT)
            ));
        }
        if !params.is_empty() {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(&params.join("&"));
        }
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let v = value
                .fill(vars, &|_, v| Ok(v.to_owned()))?
                .ok_or_else(|| missing(value))?;
            if v.contains(['\r', '\n']) {
                return Err(Error::UnsafeHeaderValue {
                    header: name.clone(),
                });
            }
            headers.push((name.clone(), v));
        }
        let body = match &self.body {
            Some(template) => Some(render_body(template, vars, &self.name)?),
            None => vars.object.clone(),
        };
        Ok(RenderedRequest {
            method: self.method.clone(),
            path_template: self.path_text.clone(),
            path_and_query: out,
            headers,
            body,
        })
    }
}

/// Placeholders used anywhere in a JSON body template.
pub(crate) fn body_placeholders(body: &Value, out: &mut Vec<String>) -> Result<(), String> {
    match body {
        Value::String(s) if s == "$object" => Ok(()),
        Value::String(s) => {
            out.extend(Template::parse(s)?.placeholders().map(str::to_owned));
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|v| body_placeholders(v, out)),
        Value::Object(map) => map.values().try_for_each(|v| body_placeholders(v, out)),
        _ => Ok(()),
    }
}

/// A `constant` with its `{conn.NAME}` placeholders filled from `connection`; strings with
/// other braces are literal and stay as written.
pub(crate) fn fill_connection(
    value: &Value,
    connection: &BTreeMap<String, String>,
) -> Result<Value, Error> {
    Ok(match value {
        Value::String(s) if s.contains("{conn.") => match Template::parse(s) {
            Ok(t) if t.placeholders().all(|p| p.starts_with(CONN_PREFIX)) => {
                render_body(value, &Vars::new().with_connection(connection), "constants")?
            }
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill_connection(v, connection))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill_connection(v, connection)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => other.clone(),
    })
}

fn render_body(template: &Value, vars: &Vars, operation: &str) -> Result<Value, Error> {
    Ok(match template {
        Value::String(s) if s == "$object" => vars
            .object
            .clone()
            .unwrap_or(Value::Object(Default::default())),
        Value::String(s) => {
            let Ok(t) = Template::parse(s) else {
                return Ok(template.clone());
            };
            let missing = || Error::MissingValue {
                operation: operation.to_owned(),
                placeholder: t
                    .placeholders()
                    .find(|p| !vars.values.contains_key(*p))
                    .unwrap_or("")
                    .to_owned(),
            };
            if let Some((name, as_type)) = t.sole_var() {
                let raw = vars.values.get(name).ok_or_else(missing)?;
                typed(raw, as_type).ok_or_else(|| Error::WrongType {
                    attribute: format!("{{{name}}}"),
                    value: raw.clone(),
                    expected: format!("{:?}", as_type.unwrap_or(AsType::String)).to_lowercase(),
                })?
            } else {
                Value::String(
                    t.fill(vars, &|_, v| Ok(v.to_owned()))?
                        .ok_or_else(missing)?,
                )
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_body(v, vars, operation))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_body(v, vars, operation)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => other.clone(),
    })
}

fn typed(raw: &str, as_type: Option<AsType>) -> Option<Value> {
    match as_type {
        None | Some(AsType::String) => Some(Value::String(raw.to_owned())),
        Some(AsType::Integer) => raw.trim().parse::<i64>().ok().map(Value::from),
        Some(AsType::Boolean) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(path: &str, query: &[(&str, &str)], body: Option<Value>) -> RequestTemplate {
        RequestTemplate {
            name: "get".into(),
            method: http::Method::GET,
            path_text: path.into(),
            path: Template::parse(path).unwrap(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Template::parse(v).unwrap()))
                .collect(),
            headers: Vec::new(),
            body,
            reread: false,
            answer: None,
        }
    }

    #[test]
    fn path_values_cannot_add_segments_or_change_the_host() {
        let t = op("/api/users/{id}", &[], None);
        let r = t
            .render(&Vars::new().with("id", "../admin/x?y=1#@evil.com"))
            .unwrap();
        assert_eq!(
            r.path_and_query,
            "/api/users/..%2Fadmin%2Fx%3Fy%3D1%23%40evil.com"
        );
        assert!(matches!(
            t.render(&Vars::new().with("id", "..")),
            Err(Error::UnsafePathValue { .. })
        ));
        assert!(matches!(
            t.render(&Vars::new().with("id", "")),
            Err(Error::UnsafePathValue { .. })
        ));
        assert!(matches!(
            t.render(&Vars::new()),
            Err(Error::MissingValue { .. })
        ));
    }

    #[test]
    fn doubled_braces_are_literal_so_a_query_value_can_be_json() {
        // As a filter rule's query value (rendered raw, then encoded whole as a parameter).
        let t = Template::parse(r#"[{{"field":"Name","value":"{v}"}}]"#).unwrap();
        assert_eq!(
            t.render_raw(&Vars::new().with("v", "a@b.c")),
            r#"[{"field":"Name","value":"a@b.c"}]"#
        );
        assert!(Template::parse("a}b").is_err());
        assert!(Template::parse("{v").is_err());
        assert_eq!(
            Template::parse("{{}}").map(|t| t.render_raw(&Vars::new())),
            Ok("{}".to_owned())
        );
    }

    #[test]
    fn query_values_cannot_inject_parameters_and_unknown_ones_are_left_out() {
        let t = op("/u", &[("email", "{v}"), ("cursor", "{cursor}")], None);
        let r = t.render(&Vars::new().with("v", "a@b.c&admin=1")).unwrap();
        assert_eq!(r.path_and_query, "/u?email=a%40b.c%26admin%3D1");
    }

    #[test]
    fn typed_body_placeholders() {
        let t = op(
            "/g/{id}/m",
            &[],
            Some(json!({"user_id": "{member:integer}", "o": "$object", "s": "x-{member}"})),
        );
        let r = t
            .render(
                &Vars::new()
                    .with("id", "1")
                    .with("member", "5")
                    .with_object(json!({"a": 1})),
            )
            .unwrap();
        assert_eq!(
            r.body,
            Some(json!({"user_id": 5, "o": {"a": 1}, "s": "x-5"}))
        );
        let err = t
            .render(&Vars::new().with("id", "1").with("member", "x"))
            .unwrap_err();
        assert!(matches!(err, Error::WrongType { .. }));
    }

    #[test]
    fn template_syntax_errors() {
        assert!(Template::parse("/a/{id").is_err());
        assert!(Template::parse("/a/{conn.}").is_err());
        assert!(Template::parse("/a/{conn.a.b}").is_err());
        assert!(Template::parse("/a/{id:float}").is_err());
        assert!(Template::parse("/a/{}").is_err());
        assert!(Template::parse("/a/}").is_err());
    }
}

#[cfg(test)]
mod connection_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn connection_variables_are_percent_encoded_in_paths_and_queries_and_fill_bodies() {
        let t = RequestTemplate {
            name: "users.list".into(),
            method: http::Method::GET,
            path_text: "/ws/{conn.workspace_id}/users".into(),
            path: Template::parse("/ws/{conn.workspace_id}/users").unwrap(),
            query: vec![("tag".into(), Template::parse("{conn.idp}").unwrap())],
            headers: vec![(
                "X-Ws".into(),
                Template::parse("{conn.workspace_id}").unwrap(),
            )],
            body: Some(json!({"idp": "{conn.idp}", "n": "{conn.n:integer}"})),
            reread: false,
            answer: None,
        };
        let mut conn = BTreeMap::new();
        conn.insert("workspace_id".to_owned(), "4/2?x".to_owned());
        conn.insert("idp".to_owned(), "entra&a=b".to_owned());
        conn.insert("n".to_owned(), "7".to_owned());
        let r = t.render(&Vars::new().with_connection(&conn)).unwrap();
        assert_eq!(r.path_and_query, "/ws/4%2F2%3Fx/users?tag=entra%26a%3Db");
        assert_eq!(r.headers, vec![("X-Ws".to_owned(), "4/2?x".to_owned())]);
        assert_eq!(r.body, Some(json!({"idp": "entra&a=b", "n": 7})));
        let missing = t.render(&Vars::new()).unwrap_err();
        assert!(matches!(missing, Error::MissingValue { .. }), "{missing:?}");
        let names: Vec<&str> =
            connection_variables(t.path.placeholders().chain(["id", "conn.x"])).collect();
        assert_eq!(names, ["workspace_id", "x"]);
    }
}
