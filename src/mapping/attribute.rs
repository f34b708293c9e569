//! One compiled attribute rule: where the value lives in a SCIM resource (`Target`), where it
//! lives in the backend object (`BackendField`), and the transforms between the two.
//!
//! Pure value plumbing over `serde_json::Value`; which rules run when is `resource.rs`'s job.
//!
//! Files: this one holds the rule and its transforms; `path` the writable backend paths
//! ([`Segment`], read and write at a path); `value` small value helpers (case-insensitive
//! keys, loose comparison, list splitting, SCIM type coercion).

mod path;
#[cfg(test)]
mod tests;
mod value;

pub(crate) use path::{Segment, get_path, plain_segments, set_path};
pub(crate) use value::{get_ci, loose_eq, non_null, scalar_text, to_type};
use value::{list_items, split_text, type_name};

use crate::mapping::error::Error;
use crate::mapping::jsonpath::JsonPath;
use crate::mapping::spec::{AsType, ReturnedFile};
use crate::scim::schema::AttrType;
use serde_json::{Map, Value};

/// Where a value lives in a SCIM resource: `name`, `name.sub`, `name[sel eq "lit"].sub`,
/// `urn:…:name`, or a whole key family `urn:…:Metadata:*`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Target {
    /// The extension URN the attribute lives under (None: core schema or common attribute).
    pub(crate) urn: Option<String>,
    pub(crate) name: String,
    pub(crate) select: Option<(String, String)>,
    pub(crate) sub: Option<String>,
    pub(crate) family: bool,
}

impl Target {
    /// Parses a mapping key; `urn` splitting is left to the caller (`split_urn`).
    pub(crate) fn parse(rest: &str, urn: Option<String>) -> Result<Self, String> {
        if rest == "*" {
            return Ok(Self {
                urn,
                name: "*".into(),
                select: None,
                sub: None,
                family: true,
            });
        }
        let (head, sub) = match rest.find('[') {
            Some(open) => {
                let close = rest[open..]
                    .find(']')
                    .map(|i| open + i)
                    .ok_or("`[` without `]`")?;
                let inner = &rest[open + 1..close];
                let tail = &rest[close + 1..];
                let sub = match tail.strip_prefix('.') {
                    Some(s) => Some(s.to_owned()),
                    None if tail.is_empty() => None,
                    None => return Err(format!("unexpected `{tail}` after `]`")),
                };
                let mut words = inner.splitn(3, ' ');
                let (Some(attr), Some(op), Some(lit)) = (words.next(), words.next(), words.next())
                else {
                    return Err(format!("`[{inner}]` must be `[subAttribute eq \"value\"]`"));
                };
                if !op.eq_ignore_ascii_case("eq") {
                    return Err(format!("`[{inner}]` must use `eq`"));
                }
                let lit = lit.trim().trim_matches('"').to_owned();
                let name = rest[..open].to_owned();
                return Ok(Self {
                    urn,
                    name,
                    select: Some((attr.to_owned(), lit)),
                    sub,
                    family: false,
                });
            }
            None => match rest.split_once('.') {
                Some((name, sub)) => (name.to_owned(), Some(sub.to_owned())),
                None => (rest.to_owned(), None),
            },
        };
        if head.is_empty()
            || !head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
        {
            return Err(format!("`{rest}` is not a SCIM attribute name"));
        }
        Ok(Self {
            urn,
            name: head,
            select: None,
            sub,
            family: false,
        })
    }

    /// The attribute as SCIM spells it in errors: `emails[type eq "work"].value`.
    pub(crate) fn display(&self) -> String {
        let mut out = String::new();
        if let Some(urn) = &self.urn {
            out.push_str(urn);
            out.push(':');
        }
        out.push_str(&self.name);
        if let Some((a, l)) = &self.select {
            out.push_str(&format!("[{a} eq \"{l}\"]"));
        }
        if let Some(sub) = &self.sub {
            out.push('.');
            out.push_str(sub);
        }
        out
    }
}

/// Where the value lives in the backend object.
#[derive(Debug, Clone)]
pub(crate) struct BackendField {
    pub(crate) query: JsonPath,
    /// Steps from the root, when the JSONPath is a plain path (writable).
    pub(crate) segments: Option<Vec<Segment>>,
    /// `$.metadata.*`: one backend key per SCIM attribute of a key family.
    pub(crate) family: bool,
}

/// One compiled attribute rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// The key as written in the mapping (also the key in the gateway's store).
    pub(crate) key: String,
    pub(crate) target: Target,
    pub(crate) backend: Option<BackendField>,
    pub(crate) store: bool,
    pub(crate) trim: bool,
    pub(crate) lowercase: bool,
    pub(crate) split: Option<String>,
    pub(crate) join: Option<String>,
    pub(crate) allowed: Vec<String>,
    pub(crate) map: Vec<(String, Value)>,
    pub(crate) default: Option<Value>,
    /// The SCIM value read for a backend value `map` does not know.
    pub(crate) read_default: Option<Value>,
    pub(crate) constant: Option<Value>,
    pub(crate) as_type: Option<AsType>,
    pub(crate) read_only: bool,
    pub(crate) write_only: bool,
    pub(crate) returned: Option<ReturnedFile>,
    pub(crate) case_exact: bool,
    pub(crate) required: bool,
    pub(crate) primary: bool,
    pub(crate) add_replaces: bool,
    /// The top SCIM attribute is multi-valued.
    pub(crate) multi_valued: bool,
    /// The SCIM type of the value this rule carries.
    pub(crate) scim_type: AttrType,
    /// The SCIM type of the select attribute (`primary` is Boolean).
    pub(crate) select_boolean: bool,
    /// The value may hold line breaks (CR, LF): only `addresses.formatted`, which RFC 7643
    /// §4.1.2 says "MAY contain newlines" (a mailing label).
    pub(crate) multiline: bool,
    /// A `[primary eq "True"].sub` rule beside a rule that carries the whole list
    /// (`roles.value`): the backend keeps every element and, separately, which is primary.
    /// Several elements without a primary (Entra's AppRoleAssignmentsComplex) are then fine:
    /// the primary stays what it was when still listed, else it is the first element.
    pub(crate) with_list: bool,
    /// `items:`: each SCIM element is one backend object with these fields.
    pub(crate) items: crate::mapping::items::ItemFields,
}

impl Rule {
    /// The SCIM value this rule carries in `resource`, if any.
    pub(crate) fn scim_value(&self, resource: &Value) -> Option<Value> {
        let root = resource.as_object()?;
        let container = match &self.target.urn {
            Some(urn) => non_null(get_ci(root, urn))?.as_object()?,
            None => root,
        };
        if self.target.family {
            return Some(Value::Object(container.clone()));
        }
        let top = non_null(get_ci(container, &self.target.name))?;
        if let Some((attr, lit)) = &self.target.select {
            let items = top.as_array()?;
            let found = items
                .iter()
                .find(|item| {
                    item.as_object()
                        .and_then(|o| get_ci(o, attr))
                        .is_some_and(|v| loose_eq(v, lit))
                })
                .or_else(|| {
                    // Only one element and no marker: it is the one meant (Entra sends a lone
                    // role). For a `primary` select, a lone element marked `primary: false` is
                    // meant too: Entra's AppRoleAssignmentsComplex and Assertive… expressions
                    // mark every role `primary: false`, and a single-valued backend field holds
                    // the user's one role.
                    let lone = items.len() == 1
                        && items[0]
                            .as_object()
                            .is_some_and(|o| get_ci(o, attr).is_none() || self.select_boolean);
                    // Beside a whole-list rule, several roles and none primary: the first.
                    (lone || (self.with_list && self.select_boolean))
                        .then(|| items.first())
                        .flatten()
                })?;
            return match &self.target.sub {
                Some(sub) => non_null(found.as_object().and_then(|o| get_ci(o, sub))).cloned(),
                None => Some(found.clone()),
            };
        }
        match (&self.target.sub, top) {
            (Some(sub), Value::Array(items)) => {
                let mut values: Vec<Value> = Vec::new();
                for item in items {
                    // One backend entry per value: a primary rule renamed the primary element
                    // to a value the list already had.
                    if let Some(v) = non_null(item.as_object().and_then(|o| get_ci(o, sub)))
                        && !values.contains(v)
                    {
                        values.push(v.clone());
                    }
                }
                Some(Value::Array(values))
            }
            (Some(sub), Value::Object(o)) => non_null(get_ci(o, sub)).cloned(),
            (Some(_), _) => None,
            (None, v) => Some(v.clone()),
        }
    }

    /// Whether `resource` carries this rule's top attribute at all, `null` included (a PUT
    /// that leaves an attribute out does not assert it; one that sends `null` clears it).
    pub(crate) fn mentioned(&self, resource: &Value) -> bool {
        let Some(root) = resource.as_object() else {
            return false;
        };
        match &self.target.urn {
            Some(urn) => match get_ci(root, urn) {
                None => false,
                Some(Value::Object(container)) => {
                    self.target.family || get_ci(container, &self.target.name).is_some()
                }
                Some(_) => true,
            },
            None => get_ci(root, &self.target.name).is_some(),
        }
    }

    /// Puts a SCIM value into `resource` where this rule's target says.
    pub(crate) fn set_scim(&self, resource: &mut Map<String, Value>, value: Value) {
        let container = match &self.target.urn {
            Some(urn) => {
                let entry = resource
                    .entry(urn.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                match entry.as_object_mut() {
                    Some(map) => map,
                    None => return,
                }
            }
            None => resource,
        };
        if self.target.family {
            if let Value::Object(map) = value {
                container.extend(map);
            }
            return;
        }
        let name = self.target.name.clone();
        if let Some((attr, lit)) = &self.target.select {
            let items = container
                .entry(name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !items.is_array() {
                *items = Value::Array(Vec::new());
            }
            let Some(items) = items.as_array_mut() else {
                return;
            };
            let mut pos = items
                .iter()
                .position(|item| item.get(attr).is_some_and(|v| loose_eq(v, lit)));
            if pos.is_none()
                && self.select_boolean
                && let Some(sub) = &self.target.sub
            {
                // The whole list is there already (`roles.value`): mark its element primary
                // instead of adding the same value a second time.
                pos = items
                    .iter()
                    .position(|item| item.get(sub) == Some(&value) && item.get(attr).is_none());
                if let Some(Value::Object(item)) = pos.and_then(|p| items.get_mut(p)) {
                    item.insert(attr.clone(), Value::Bool(lit.eq_ignore_ascii_case("true")));
                }
            }
            let pos = pos.unwrap_or_else(|| {
                let marker = if self.select_boolean {
                    Value::Bool(lit.eq_ignore_ascii_case("true"))
                } else {
                    Value::String(lit.clone())
                };
                items.push(Value::Object(Map::from_iter([(attr.clone(), marker)])));
                items.len() - 1
            });
            if let Some(Value::Object(item)) = items.get_mut(pos) {
                match &self.target.sub {
                    Some(sub) => {
                        item.insert(sub.clone(), value);
                    }
                    None => {
                        if let Value::Object(v) = value {
                            item.extend(v);
                        }
                    }
                }
                if self.primary {
                    item.insert("primary".into(), Value::Bool(true));
                }
            }
            return;
        }
        match &self.target.sub {
            Some(sub) if self.multi_valued => {
                let values = match value {
                    Value::Array(values) => values,
                    other => vec![other],
                };
                let items = values
                    .into_iter()
                    .map(|v| Value::Object(Map::from_iter([(sub.clone(), v)])))
                    .collect();
                container.insert(name, Value::Array(items));
            }
            Some(sub) => {
                let obj = container
                    .entry(name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(obj) = obj {
                    obj.insert(sub.clone(), value);
                }
            }
            None => {
                container.insert(name, value);
            }
        }
    }

    /// Reads this rule's SCIM value out of a backend object.
    pub(crate) fn read_backend(&self, backend: &Value) -> Option<Value> {
        let field = self.backend.as_ref()?;
        if !self.items.is_empty() {
            let list = field.query.first(backend)?;
            return crate::mapping::items::read(&self.items, list);
        }
        if field.family {
            let obj = field
                .segments
                .as_ref()
                .and_then(|s| get_path(backend, s))?
                .as_object()?;
            let out = obj
                .iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(k, v)| Some((k.clone(), self.to_scim_scalar(v)?)))
                .collect();
            return Some(Value::Object(out));
        }
        let mut found: Vec<&Value> = field.query.select(backend);
        found.retain(|v| !v.is_null());
        let first = *found.first()?;
        let wants_list = self.multi_valued && self.target.select.is_none();
        if wants_list {
            let items: Vec<Value> = match (first, &self.split) {
                (Value::String(s), Some(sep)) => {
                    split_text(s, sep).into_iter().map(Value::String).collect()
                }
                (Value::Array(items), _) if found.len() == 1 => items.clone(),
                _ => found.into_iter().cloned().collect(),
            };
            let items: Vec<Value> = items
                .iter()
                .filter_map(|v| self.to_scim_scalar(v))
                .collect();
            if items.is_empty() {
                return None;
            }
            return Some(Value::Array(items));
        }
        let value = match (first, &self.join) {
            (Value::Array(items), Some(sep)) => {
                Value::String(items.iter().map(scalar_text).collect::<Vec<_>>().join(sep))
            }
            (v, _) => v.clone(),
        };
        self.to_scim_scalar(&value)
    }

    /// Backend scalar → SCIM scalar: reverse `map`, lowercase/trim, the SCIM type. `None`
    /// when the value cannot be read honestly: a value the `map` table does not know (without
    /// a `read_default`), or a text that is no boolean for a Boolean attribute.
    fn to_scim_scalar(&self, value: &Value) -> Option<Value> {
        let hit = self
            .map
            .iter()
            .find(|(_, backend)| backend == value || scalar_text(backend) == scalar_text(value));
        let mut v = match (hit, &self.read_default) {
            (Some((scim, _)), _) => Value::String(scim.clone()),
            (None, _) if self.map.is_empty() => value.clone(),
            (None, Some(fallback)) => {
                tracing::debug!(attribute = %self.key, value = %scalar_text(value), "Backend value not in `map`; read as `read_default`.");
                fallback.clone()
            }
            (None, None) => {
                tracing::warn!(
                    attribute = %self.key,
                    "A backend value is not in this attribute's `map` table; the attribute is left out (add the value to `map`, or declare `read_default`)."
                );
                tracing::debug!(attribute = %self.key, value = %scalar_text(value), "Unmapped backend value.");
                return None;
            }
        };
        if let Value::String(s) = &v {
            let mut s = s.clone();
            if self.trim {
                s = s.trim().to_owned();
            }
            if self.lowercase {
                s = s.to_lowercase();
            }
            v = Value::String(s);
        }
        let typed = to_type(v, self.scim_type);
        if self.scim_type == AttrType::Boolean && !typed.is_boolean() {
            tracing::warn!(
                attribute = %self.key,
                "A backend value does not read as a boolean; the attribute is left out (map it with `map`)."
            );
            return None;
        }
        Some(typed)
    }

    /// A SCIM value → the backend value, checking `allowed` and applying transforms.
    pub(crate) fn to_backend(&self, value: &Value) -> Result<Value, Error> {
        if !self.items.is_empty() {
            use crate::mapping::items::WriteError;
            // `allowed` applies to each element's `value` as written (any spelling of the
            // key, a list or one object); the allowed spelling is what the backend gets.
            let check = |sub: &str, v: &Value| {
                if self.allowed.is_empty() || !sub.eq_ignore_ascii_case("value") {
                    return Ok(v.clone());
                }
                self.check_allowed(scalar_text(v)).map(Value::String)
            };
            return crate::mapping::items::write(&self.items, value, check).map_err(|e| match e {
                WriteError::Shape => self.wrong_type(value, "a list of objects"),
                WriteError::SeveralPrimary(primaries) => Error::SeveralPrimary {
                    attribute: self.key.clone(),
                    primaries,
                },
                WriteError::Value(error) => error,
            });
        }
        if self.target.family {
            let Value::Object(map) = value else {
                return Err(self.wrong_type(value, "object"));
            };
            let mut out = Map::new();
            for (k, v) in map {
                if !v.is_null() {
                    out.insert(k.clone(), self.backend_scalar(v)?);
                }
            }
            return Ok(Value::Object(out));
        }
        if let Some(sep) = self.split.as_ref().or(self.join.as_ref()) {
            let items = list_items(value, sep);
            let items: Vec<String> = items
                .into_iter()
                .map(|s| self.text_transform(s))
                .map(|s| self.check_allowed(s))
                .collect::<Result<_, _>>()?;
            return Ok(Value::String(items.join(sep)));
        }
        if let Value::Array(items) = value {
            if !self.multi_valued {
                return Err(self.wrong_type(value, type_name(self.scim_type)));
            }
            return Ok(Value::Array(
                items
                    .iter()
                    .map(|v| self.backend_scalar(v))
                    .collect::<Result<_, _>>()?,
            ));
        }
        self.backend_scalar(value)
    }

    fn backend_scalar(&self, value: &Value) -> Result<Value, Error> {
        let mut v = self.typed(value)?;
        if let Value::String(s) = &v {
            let s = self.check_allowed(self.text_transform(s.clone()))?;
            v = Value::String(s);
        } else if !self.allowed.is_empty() {
            self.check_allowed(scalar_text(&v))?;
        }
        if !self.map.is_empty() {
            let text = scalar_text(&v);
            let hit = self.map.iter().find(|(k, _)| {
                if self.case_exact {
                    *k == text
                } else {
                    k.eq_ignore_ascii_case(&text)
                }
            });
            v = match hit {
                Some((_, backend)) => backend.clone(),
                None => {
                    return Err(Error::NotAllowed {
                        attribute: self.key.clone(),
                        value: text,
                        allowed: self
                            .map
                            .iter()
                            .map(|(k, _)| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            };
        }
        match self.as_type {
            Some(AsType::String) => Ok(Value::String(scalar_text(&v))),
            Some(AsType::Integer) => match &v {
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v),
                other => scalar_text(other)
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| self.wrong_type(other, "integer")),
            },
            Some(AsType::Boolean) => match &v {
                Value::Bool(_) => Ok(v),
                other => match scalar_text(other).trim().to_ascii_lowercase().as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => Err(self.wrong_type(other, "boolean")),
                },
            },
            None => Ok(v),
        }
    }

    /// A SCIM value checked against the attribute's SCIM type before it goes anywhere near the
    /// backend: objects and arrays never pass for a simple attribute, booleans and integers must
    /// read as such (Entra's `"True"` included), numbers and booleans for a string read as text
    /// (as the read side does), and strings must not hold control characters (CR, LF, NUL, ...),
    /// which no identity value has and which could only smuggle something into a backend; the
    /// one exception is the line breaks of a `multiline` attribute (a formatted address).
    fn typed(&self, value: &Value) -> Result<Value, Error> {
        let text_type = matches!(
            self.scim_type,
            AttrType::String | AttrType::DateTime | AttrType::Binary | AttrType::Reference
        );
        let fits = match (self.scim_type, value) {
            (_, Value::Null)
            | (AttrType::Complex, _)
            | (AttrType::Boolean, Value::Bool(_))
            | (AttrType::Decimal, Value::Number(_)) => true,
            (AttrType::Boolean, Value::String(s)) => {
                s.trim().eq_ignore_ascii_case("true") || s.trim().eq_ignore_ascii_case("false")
            }
            (AttrType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (AttrType::Integer, Value::String(s)) => s.trim().parse::<i64>().is_ok(),
            (AttrType::Decimal, Value::String(s)) => s.trim().parse::<f64>().is_ok(),
            (_, Value::String(_) | Value::Number(_) | Value::Bool(_)) => text_type,
            (_, Value::Object(_) | Value::Array(_)) => false,
        };
        if !fits {
            return Err(self.wrong_type(value, type_name(self.scim_type)));
        }
        if let Value::String(s) = value
            && s.chars().any(|c| {
                c.is_control() && c != '\t' && !(self.multiline && matches!(c, '\n' | '\r'))
            })
        {
            return Err(self.wrong_type(value, "string without control characters"));
        }
        Ok(match (self.scim_type, value) {
            (AttrType::Boolean, Value::String(s)) => {
                Value::Bool(s.trim().eq_ignore_ascii_case("true"))
            }
            (_, Value::Number(_) | Value::Bool(_)) if text_type => {
                Value::String(scalar_text(value))
            }
            _ => value.clone(),
        })
    }

    fn wrong_type(&self, value: &Value, expected: &str) -> Error {
        Error::WrongType {
            attribute: self.key.clone(),
            value: scalar_text(value),
            expected: expected.to_owned(),
        }
    }

    fn text_transform(&self, mut s: String) -> String {
        if self.trim {
            s = s.trim().to_owned();
        }
        if self.lowercase {
            s = s.to_lowercase();
        }
        s
    }

    /// Checks the value against `allowed`, returning the allowed spelling.
    pub(crate) fn check_allowed(&self, s: String) -> Result<String, Error> {
        if self.allowed.is_empty() {
            return Ok(s);
        }
        let hit = self.allowed.iter().find(|a| {
            if self.case_exact {
                **a == s
            } else {
                a.eq_ignore_ascii_case(&s)
            }
        });
        match hit {
            Some(a) => Ok(a.clone()),
            None => Err(Error::NotAllowed {
                attribute: self.key.clone(),
                value: s,
                allowed: self.allowed.join(", "),
            }),
        }
    }

    /// Whether the rule writes to the backend.
    pub(crate) fn writes_backend(&self) -> bool {
        !self.store
            && !self.read_only
            && self.backend.as_ref().is_some_and(|b| b.segments.is_some())
    }
}
