//! The write side of a resource mapping: a SCIM create, PUT or PATCH becomes the backend
//! body to send ([`Write`]), with two attributes that write one backend field with different
//! values refused.
//!
//! Pure: it builds bodies; rendering and sending stay with the caller.

use super::{OpName, ResourceMapping, Write};
use crate::mapping::attribute::{Rule, Segment, get_path, scalar_text, set_path};
use crate::mapping::error::Error;
use crate::mapping::template::fill_connection;
use serde_json::{Map, Value};

impl ResourceMapping {
    /// The backend create body for a SCIM resource: mapped fields, `default`s, `constant`s, and
    /// the `store: true` attributes kept aside.
    pub fn to_backend_create(&self, scim: &Value) -> Result<Write, Error> {
        self.to_backend_create_in(scim, &std::collections::BTreeMap::new())
    }

    /// Like [`ResourceMapping::to_backend_create`] for a request through a connection: its
    /// variables fill the `{conn.NAME}` placeholders of `constant`s and `constants`.
    pub fn to_backend_create_in(
        &self,
        scim: &Value,
        connection: &std::collections::BTreeMap<String, String>,
    ) -> Result<Write, Error> {
        self.create_write(scim, Some(connection))
    }

    /// The create write; without a connection (validation only) `constants` stay unfilled.
    pub(super) fn create_write(
        &self,
        scim: &Value,
        connection: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<Write, Error> {
        let constant = |value: &Value| match connection {
            Some(connection) => fill_connection(value, connection),
            None => Ok(value.clone()),
        };
        if let Some(error) = self
            .rules
            .iter()
            .filter(|rule| rule.writes_backend() || rule.store)
            .find_map(|rule| rule.ambiguous_primary(scim))
        {
            return Err(error);
        }
        let scim = self.with_defaults(scim)?;
        self.check_domains_in(&scim, connection)?;
        let mut body = Value::Object(Map::new());
        let mut stored = Map::new();
        let mut written = Written::default();
        for rule in &self.rules {
            let value = rule.scim_value(&scim);
            if rule.store {
                if let Some(v) = value {
                    stored.insert(rule.key.clone(), v);
                }
                continue;
            }
            let Some(segments) = rule.backend.as_ref().and_then(|b| b.segments.as_ref()) else {
                continue;
            };
            if let Some(value) = &rule.constant {
                set_path(&mut body, segments, constant(value)?);
                continue;
            }
            if rule.read_only {
                continue;
            }
            if let Some(v) = value {
                let backend = rule.to_backend(&v)?;
                if written.check(rule, segments, &backend)? {
                    set_path(&mut body, segments, backend);
                }
            } else if rule.required {
                return Err(Error::Required {
                    attribute: rule.key.clone(),
                });
            }
        }
        for (segments, value) in &self.constants {
            set_path(&mut body, segments, constant(value)?);
        }
        Ok(Write {
            op: OpName::Create,
            body,
            stored,
            backend_changed: true,
        })
    }

    /// The backend write for a SCIM PATCH, after the engine applied the operations to
    /// `old_scim`: the attributes whose value changed are written. With a `replace` operation:
    /// the existing backend object with the mapped fields changed (unmapped fields survive).
    /// Otherwise (`update`): only the changed fields.
    pub fn to_backend_update(
        &self,
        existing_backend: &Value,
        old_scim: &Value,
        new_scim: &Value,
    ) -> Result<Write, Error> {
        self.update_write(existing_backend, old_scim, new_scim, Mode::Patch(None))
    }

    /// [`to_backend_update`](Self::to_backend_update) for the PATCH `request` that made
    /// `new_scim`: an attribute an operation addresses is asserted even when its value did not
    /// change, so `userName` B with the work email (both one backend field) kept at A is a
    /// conflict, not a silent B.
    pub fn to_backend_patch(
        &self,
        existing_backend: &Value,
        old_scim: &Value,
        new_scim: &Value,
        request: &crate::scim::patch::PatchRequest,
    ) -> Result<Write, Error> {
        let touched = self.touched(request);
        self.update_write(
            existing_backend,
            old_scim,
            new_scim,
            Mode::Patch(Some(&touched)),
        )
    }

    /// A skeleton resource holding, as `null`, every attribute a PATCH operation addresses.
    fn touched(&self, request: &crate::scim::patch::PatchRequest) -> Value {
        let mut out = Map::new();
        let mut mark = |urn: Option<&str>, name: &str| {
            let name = name.split('.').next().unwrap_or(name).to_owned();
            match urn.filter(|u| !u.eq_ignore_ascii_case(&self.core_urn)) {
                Some(urn) => {
                    let entry = out
                        .entry(urn.to_owned())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(container) = entry {
                        container.insert(name, Value::Null);
                    }
                }
                None => {
                    out.insert(name, Value::Null);
                }
            }
        };
        for operation in &request.operations {
            match (&operation.path, &operation.value) {
                (Some(path), _) => mark(path.attr.schema.as_deref(), &path.attr.name),
                (None, Some(Value::Object(values))) => {
                    for (key, value) in values {
                        match value {
                            Value::Object(inner) if key.starts_with("urn:") => {
                                for name in inner.keys() {
                                    mark(Some(key), name);
                                }
                            }
                            _ => mark(None, key),
                        }
                    }
                }
                (None, _) => {}
            }
        }
        Value::Object(out)
    }

    /// The backend write for a SCIM PUT whose body is `new_scim`. Every attribute the body
    /// carries is asserted (`null` or `[]` clears it). An attribute the body leaves out is not
    /// asserted (RFC 7644 §3.5.1 lets a service provider read an omitted attribute so): its
    /// backend field keeps its value, so a PUT without `emails` never clears the email the
    /// product needs, and a stored attribute (`externalId`) left out stays.
    pub fn to_backend_replace(
        &self,
        existing_backend: &Value,
        old_scim: &Value,
        new_scim: &Value,
    ) -> Result<Write, Error> {
        self.update_write(existing_backend, old_scim, new_scim, Mode::Put)
    }

    fn update_write(
        &self,
        existing_backend: &Value,
        old_scim: &Value,
        new_scim: &Value,
        mode: Mode<'_>,
    ) -> Result<Write, Error> {
        let put = mode == Mode::Put;
        self.check_domains(new_scim)?;
        let full = self.op(OpName::Replace).is_some();
        let mut body = if full {
            existing_backend.clone()
        } else {
            Value::Object(Map::new())
        };
        let mut stored = Map::new();
        // Per backend field, in rule order: what the asserted attributes write there.
        let mut fields: Vec<(&[Segment], Vec<Assertion<'_>>)> = Vec::new();
        for rule in &self.rules {
            // A PUT's body is the whole resource: a required attribute it leaves out (or
            // clears) is refused, as on a create, before anything is written.
            if put && rule.required && rule.scim_value(new_scim).is_none() {
                return Err(Error::Required {
                    attribute: rule.key.clone(),
                });
            }
            if put && !rule.mentioned(new_scim) {
                if rule.store {
                    stored.insert(
                        rule.key.clone(),
                        rule.scim_value(old_scim).unwrap_or(Value::Null),
                    );
                }
                continue;
            }
            if let Some(error) = rule.ambiguous_primary(new_scim) {
                return Err(error);
            }
            let new = rule
                .primary_kept(old_scim, new_scim)
                .or_else(|| rule.scim_value(new_scim));
            if rule.store {
                stored.insert(rule.key.clone(), new.unwrap_or(Value::Null));
                continue;
            }
            if !rule.writes_backend() || rule.constant.is_some() {
                continue;
            }
            let Some(segments) = rule.backend.as_ref().and_then(|b| b.segments.as_ref()) else {
                continue;
            };
            let old = rule.scim_value(old_scim);
            let touched = matches!(mode, Mode::Patch(Some(t)) if rule.mentioned(t));
            // A value the request gives, or a clear of a value there was. An attribute with
            // nothing before and nothing now (a PUT's `emails` without a home entry) asserts
            // nothing, so no `null` appears in a field the backend never had.
            let asserted = if old != new {
                true
            } else if !put && let Some(added) = rule.newest_added(old_scim, new_scim) {
                fields_entry(&mut fields, segments).push(Assertion {
                    rule,
                    value: Some(rule.to_backend(&added)?),
                    asserted: true,
                });
                continue;
            } else {
                (put || touched) && new.is_some()
            };
            let value = match &new {
                Some(v) => Some(rule.to_backend(v)?),
                None => None,
            };
            fields_entry(&mut fields, segments).push(Assertion {
                rule,
                value,
                asserted,
            });
        }
        let mut changed = false;
        for (segments, assertions) in fields {
            let mut written = Written::default();
            let mut value = None;
            for a in assertions.iter().filter(|a| a.asserted) {
                if let Some(v) = &a.value
                    && written.check(a.rule, segments, v)?
                {
                    value = Some(v.clone());
                }
            }
            let value = match value {
                Some(value) => value,
                // Only clears were asserted. Another attribute that writes this field and
                // still has a value keeps it (demo: `userName` and the work email are one
                // field; removing the work email must not empty the login).
                None if assertions.iter().any(|a| a.asserted)
                    && !assertions.iter().any(|a| a.value.is_some()) =>
                {
                    Value::Null
                }
                None => continue,
            };
            let current = get_path(existing_backend, segments);
            // Clearing a field the backend does not have (or has as `null`) is no change: it
            // neither adds `"field": null` to a full replace body nor makes a call.
            if value.is_null() && current.is_none_or(Value::is_null) {
                continue;
            }
            if full || current != Some(&value) {
                changed |= current != Some(&value);
                set_path(&mut body, segments, value);
            }
        }
        let op = if full {
            OpName::Replace
        } else {
            OpName::Update
        };
        if self.op(op).is_none() {
            return Err(Error::NoOperation {
                operation: "replace` or `update".into(),
            });
        }
        Ok(Write {
            op,
            body,
            stored,
            backend_changed: changed,
        })
    }

    /// Backend fields that two or more SCIM attributes write, with those attributes (as the
    /// mapping names them), in rule order.
    pub fn shared_fields(&self) -> Vec<(String, Vec<String>)> {
        let mut fields: Vec<(&[Segment], Vec<String>)> = Vec::new();
        for rule in &self.rules {
            if !rule.writes_backend() || rule.constant.is_some() {
                continue;
            }
            let Some(segments) = rule.backend.as_ref().and_then(|b| b.segments.as_deref()) else {
                continue;
            };
            match fields.iter_mut().find(|(s, _)| *s == segments) {
                Some((_, keys)) => keys.push(rule.key.clone()),
                None => fields.push((segments, vec![rule.key.clone()])),
            }
        }
        fields
            .into_iter()
            .filter(|(_, keys)| keys.len() > 1)
            .map(|(segments, keys)| (segments_text(segments), keys))
            .collect()
    }
}

/// Which kind of update a write is for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode<'a> {
    /// PUT: the body's attributes are asserted, the others kept.
    Put,
    /// PATCH: the changed attributes are asserted, and those the operations address (a
    /// skeleton resource, see `touched`) when known.
    Patch(Option<&'a Value>),
}

/// What one attribute rule writes into one backend field in an update.
struct Assertion<'a> {
    rule: &'a Rule,
    /// The backend value (`None`: the attribute is absent or null, which clears the field).
    value: Option<Value>,
    /// Whether the request asserts it (PUT: the body carries it; PATCH: it changed).
    asserted: bool,
}

fn fields_entry<'a, 'r>(
    fields: &'a mut Vec<(&'r [Segment], Vec<Assertion<'r>>)>,
    segments: &'r [Segment],
) -> &'a mut Vec<Assertion<'r>> {
    let index = match fields.iter().position(|(s, _)| *s == segments) {
        Some(index) => index,
        None => {
            fields.push((segments, Vec::new()));
            fields.len() - 1
        }
    };
    &mut fields[index].1
}

/// The backend fields written so far in one request, to refuse two attributes that write one
/// field with different values (userName A, work email B: B must not silently win).
#[derive(Default)]
struct Written {
    fields: Vec<(Vec<Segment>, String, Value)>,
}

impl Written {
    /// Records `value` for `segments` from `rule`. `Ok(true)`: write it; `Ok(false)`: another
    /// attribute wrote the same value (ignoring case, unless the rule is case-exact) first.
    fn check(&mut self, rule: &Rule, segments: &[Segment], value: &Value) -> Result<bool, Error> {
        let Some((_, first, earlier)) = self.fields.iter().find(|(s, _, _)| s == segments) else {
            self.fields
                .push((segments.to_vec(), rule.key.clone(), value.clone()));
            return Ok(true);
        };
        let same = earlier == value
            || (!rule.case_exact
                && matches!((earlier, value), (Value::String(a), Value::String(b)) if a.eq_ignore_ascii_case(b)));
        if same {
            return Ok(false);
        }
        Err(Error::Conflict {
            field: segments_text(segments),
            first: first.clone(),
            first_value: scalar_text(earlier),
            second: rule.key.clone(),
            second_value: scalar_text(value),
        })
    }
}

/// A writable backend path as a JSONPath (`$.email`, `$.custom[?(@.id==1)].value`).
fn segments_text(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for segment in segments {
        match segment {
            Segment::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Segment::Element { key, value } => out.push_str(&format!("[?(@.{key}=={value})]")),
        }
    }
    out
}
