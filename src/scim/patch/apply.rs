//! Applying parsed PATCH operations to a resource's SCIM JSON, with Entra's semantics (see the
//! parent module). All-or-nothing: the resource is changed only when every operation succeeds.
//!
//! Value filters in paths (`emails[type eq "work"]`) are evaluated here against the elements of
//! one attribute, with that attribute's sub-attribute characteristics (`caseExact`, Boolean
//! `primary` compared with the string `"True"`), through the filter module's one comparison
//! (`filter/compare.rs`), so an operator means the same here. The filter module's evaluator answers "does this
//! resource match"; PATCH needs "which elements of this one attribute match", including for a
//! single-valued complex attribute (`manager[value eq "…"]`) and for attributes that live in an
//! extension object, so this small element evaluator lives here (`apply/select.rs`).
//!
//! Layout: this file walks the operations and changes the resource; `apply/coerce.rs` coerces
//! values to the schema, `apply/select.rs` selects elements by value filter, `apply/values.rs`
//! holds the small JSON helpers.
//!
//! Not enforced: `immutable` (a gateway cannot know whether the backend still lacks the value);
//! the backend rejects such writes itself.

use super::{Error, OpKind, PatchOperation, PatchRequest, attr_path_text, patch_path_text, short};
use crate::scim::filter::compare::{self, Traits};
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::{AttrPath, PatchPath, eq_name};
use crate::scim::schema::{AttrType, Attribute, Mutability, SchemaRegistry};
use serde_json::{Map, Value};

mod coerce;
mod select;
mod values;

use coerce::coerce_simple;
use select::{eq_terms, matches};
use values::{
    add_schema, as_element, as_elements, finish_list, get_ci, names, remove_schema, same_element,
    take_key,
};

/// What to do with an operation on an attribute the registry does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownPolicy {
    /// Fail the whole PATCH with `invalidPath` naming the attribute.
    #[default]
    Reject,
    /// Skip the operation (or the path-less key) and report it in [`ApplyReport::ignored`], so one
    /// unmapped attribute does not block the rest (notably `active`).
    Ignore,
}

/// Per-mapping choices that change how operations apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Multi-valued attributes where `add` replaces the whole list: Entra sends `Add` for
    /// `Split()`-fed attributes even when it means "these are now the values".
    pub replace_on_add: Vec<AttrPath>,
    /// What to do with unknown attributes.
    pub unknown_attributes: UnknownPolicy,
}

/// What [`apply`] skipped, for logs and for the mapping author.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Paths (or path-less keys) of operations ignored as unknown attributes.
    pub ignored: Vec<String>,
}

/// Applies `request` to `resource` (a SCIM resource JSON object of `resource_type`). On error the
/// resource is left unchanged.
pub fn apply(
    resource: &mut Value,
    request: &PatchRequest,
    registry: &SchemaRegistry,
    resource_type: &str,
    options: &ApplyOptions,
) -> Result<ApplyReport, Error> {
    let mut working = match resource {
        Value::Object(object) => object.clone(),
        _ => Map::new(),
    };
    let mut ctx = Ctx {
        registry,
        resource_type,
        options,
        op: 0,
        report: ApplyReport::default(),
    };
    for (i, operation) in request.operations.iter().enumerate() {
        ctx.op = i + 1;
        ctx.operation(&mut working, operation)?;
    }
    *resource = Value::Object(working);
    Ok(ctx.report)
}

struct Ctx<'a> {
    registry: &'a SchemaRegistry,
    resource_type: &'a str,
    options: &'a ApplyOptions,
    /// 1-based index of the operation being applied.
    op: usize,
    report: ApplyReport,
}

/// An operation on one attribute, after path-less values were split into keys.
struct Step<'v> {
    kind: OpKind,
    path: PatchPath,
    /// The path as the client wrote it (or the path-less key), for messages and reports.
    text: String,
    value: Option<&'v Value>,
}

impl Ctx<'_> {
    fn operation(
        &mut self,
        resource: &mut Map<String, Value>,
        operation: &PatchOperation,
    ) -> Result<(), Error> {
        match &operation.path {
            Some(path) => {
                if let Some(urn) = self
                    .extension_urn(&path.attr)
                    .filter(|_| path.filter.is_none() && path.sub_attr.is_none())
                {
                    return self.whole_extension(
                        resource,
                        operation.op,
                        &urn,
                        operation.value.as_ref(),
                    );
                }
                let step = Step {
                    kind: operation.op,
                    path: path.clone(),
                    text: patch_path_text(path),
                    value: operation.value.as_ref(),
                };
                self.step(resource, &step)
            }
            None => match &operation.value {
                Some(Value::Object(object)) => self.pathless(resource, operation.op, None, object),
                other => Err(Error::PathlessValueNotObject {
                    op: self.op,
                    found: other.as_ref().map_or_else(|| "nothing".to_owned(), short),
                }),
            },
        }
    }

    /// The URN of an extension schema when `path` names the schema itself
    /// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`) rather than an attribute.
    fn extension_urn(&self, path: &AttrPath) -> Option<String> {
        if path.sub_attr.is_some() {
            return None;
        }
        let text = attr_path_text(path);
        let schema = self.registry.schema(&text)?;
        let core = self
            .registry
            .resource_type(self.resource_type)
            .map(|rt| rt.schema.as_str());
        (core.is_none_or(|core| !eq_name(core, &schema.id))
            && self
                .registry
                .schemas_of(self.resource_type)
                .iter()
                .any(|s| s.id == schema.id))
        .then(|| schema.id.clone())
    }

    /// `add`/`replace`/`remove` on an extension's whole object.
    fn whole_extension(
        &mut self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        urn: &str,
        value: Option<&Value>,
    ) -> Result<(), Error> {
        match (kind, value) {
            (OpKind::Remove, _) | (OpKind::Replace, None | Some(Value::Null)) => {
                take_key(resource, urn);
                remove_schema(resource, urn);
                Ok(())
            }
            (_, Some(Value::Object(object))) => {
                if kind == OpKind::Replace {
                    take_key(resource, urn);
                }
                self.pathless(resource, kind, Some(urn), object)
            }
            (_, other) => Err(Error::InvalidValue {
                op: self.op,
                path: urn.to_owned(),
                reason: format!(
                    "the value of an extension must be an object of its attributes, got {}",
                    other.map_or_else(|| "nothing".to_owned(), short)
                ),
            }),
        }
    }

    /// A path-less `add`/`replace`: each key of the value object is an attribute path relative to
    /// `schema` (or the resource): `displayName`, `name.givenName`, `urn:…:User:employeeNumber`, or
    /// an extension URN whose value is an object of its attributes.
    fn pathless(
        &mut self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        schema: Option<&str>,
        object: &Map<String, Value>,
    ) -> Result<(), Error> {
        for (key, value) in object {
            if schema.is_none() && eq_name(key, "schemas") {
                continue;
            }
            let text = match schema {
                Some(urn) => format!("{urn}:{key}"),
                None => key.clone(),
            };
            if schema.is_none() && self.registry.schema(key).is_some() {
                let core = self
                    .registry
                    .resource_type(self.resource_type)
                    .map(|rt| rt.schema.as_str());
                match value {
                    Value::Object(inner) if core.is_some_and(|core| eq_name(core, key)) => {
                        self.pathless(resource, kind, None, inner)?;
                        continue;
                    }
                    _ => {}
                }
                let probe = AttrPath {
                    schema: None,
                    name: key.clone(),
                    sub_attr: None,
                };
                if let Some(urn) = self.extension_urn(&probe) {
                    self.whole_extension(resource, kind, &urn, Some(value))?;
                    continue;
                }
            }
            let path = super::parse_path(self.op, &text, self.registry)?;
            let step = Step {
                kind,
                path,
                text,
                value: Some(value),
            };
            self.step(resource, &step)?;
        }
        Ok(())
    }

    fn unknown(&mut self, step: &Step<'_>, error: Error) -> Result<(), Error> {
        match self.options.unknown_attributes {
            UnknownPolicy::Reject => Err(error),
            UnknownPolicy::Ignore => {
                tracing::debug!(op = self.op, path = %step.text, "ignoring PATCH operation on an unknown attribute");
                self.report.ignored.push(step.text.clone());
                Ok(())
            }
        }
    }

    fn unknown_sub(&self, step: &Step<'_>, attr: &Attribute, sub: &str) -> Error {
        Error::UnknownSubAttribute {
            op: self.op,
            path: step.text.clone(),
            sub: sub.to_owned(),
            attribute: attr.name.clone(),
            known: attr
                .sub_attributes
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn invalid(&self, step: &Step<'_>, reason: String) -> Error {
        Error::InvalidValue {
            op: self.op,
            path: step.text.clone(),
            reason,
        }
    }

    /// Applies one operation on one attribute.
    fn step(&mut self, resource: &mut Map<String, Value>, step: &Step<'_>) -> Result<(), Error> {
        let top = AttrPath {
            schema: step.path.attr.schema.clone(),
            name: step.path.attr.name.clone(),
            sub_attr: None,
        };
        let Some((schema, attr)) = self.registry.top_attribute(self.resource_type, &top) else {
            let error = Error::UnknownAttribute {
                op: self.op,
                path: step.text.clone(),
                attribute: attr_path_text(&top),
                resource_type: self.resource_type.to_owned(),
            };
            return self.unknown(step, error);
        };
        let attr = attr.into_owned();
        let core = self
            .registry
            .resource_type(self.resource_type)
            .map(|rt| rt.schema.clone());
        let container_urn = schema
            .map(|s| s.id.clone())
            .filter(|id| core.as_deref().is_none_or(|core| !eq_name(core, id)));
        // `emails[type eq "work"].value` keeps `value` after the filter; `name.givenName` in the
        // attribute path. A path never has both.
        let sub_name = step
            .path
            .sub_attr
            .clone()
            .or_else(|| step.path.attr.sub_attr.clone());
        let sub = match &sub_name {
            None => None,
            Some(name) => match attr.sub_attribute(name) {
                Some(sub) => Some(sub.clone()),
                None => {
                    let error = if attr.attr_type == AttrType::Complex {
                        self.unknown_sub(step, &attr, name)
                    } else {
                        Error::InvalidPath {
                            op: self.op,
                            path: step.text.clone(),
                            reason: format!(
                                "`{}` is not complex and has no sub-attribute `{name}`",
                                attr.name
                            ),
                        }
                    };
                    return if attr.attr_type == AttrType::Complex {
                        self.unknown(step, error)
                    } else {
                        Err(error)
                    };
                }
            },
        };
        // Okta and others echo `id` in path-less replaces: writing a read-only attribute with the
        // value it already has changes nothing, so it is not an error.
        let unchanged = step.kind != OpKind::Remove
            && sub.is_none()
            && step.path.filter.is_none()
            && container_urn.is_none()
            && get_ci(resource, &attr.name) == step.value;
        for read_only in [Some(&attr), sub.as_ref()].into_iter().flatten() {
            if read_only.mutability == Mutability::ReadOnly {
                if unchanged {
                    return Ok(());
                }
                return Err(Error::ReadOnly {
                    op: self.op,
                    path: step.text.clone(),
                    attribute: read_only.name.clone(),
                });
            }
        }
        if step.path.filter.is_some() && attr.attr_type != AttrType::Complex {
            return Err(Error::InvalidPath {
                op: self.op,
                path: step.text.clone(),
                reason: format!(
                    "a value filter needs a complex attribute, and `{}` is not one",
                    attr.name
                ),
            });
        }

        let container = match &container_urn {
            None => &mut *resource,
            Some(urn) => {
                if !resource.keys().any(|k| eq_name(k, urn)) && step.kind == OpKind::Remove {
                    return Ok(());
                }
                let current = take_key(resource, urn);
                let object = match current {
                    Some(Value::Object(object)) => object,
                    _ => Map::new(),
                };
                resource.insert(urn.clone(), Value::Object(object));
                match resource.get_mut(urn) {
                    Some(Value::Object(object)) => object,
                    _ => return Ok(()),
                }
            }
        };
        let current = take_key(container, &attr.name);
        let updated = self.attribute(step, &attr, sub.as_ref(), current)?;
        if let Some(value) = updated {
            container.insert(attr.name.clone(), value);
        }
        if let Some(urn) = &container_urn {
            let empty = resource
                .get(urn)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty);
            if empty {
                resource.remove(urn);
                remove_schema(resource, urn);
            } else {
                add_schema(resource, urn, core.as_deref());
            }
        }
        Ok(())
    }

    /// The new value of `attr` after the step; `None` removes the attribute.
    fn attribute(
        &mut self,
        step: &Step<'_>,
        attr: &Attribute,
        sub: Option<&Attribute>,
        current: Option<Value>,
    ) -> Result<Option<Value>, Error> {
        if let Some(filter) = &step.path.filter {
            return self.filtered(step, attr, filter, sub, current);
        }
        match (sub, attr.multi_valued) {
            (None, false) => self.single(step, attr, current),
            (None, true) => self.multi(step, attr, current),
            (Some(sub), false) => {
                let mut object = as_element(current);
                self.set_sub(step, &mut object, sub)?;
                Ok((!object.is_empty()).then_some(Value::Object(object)))
            }
            (Some(sub), true) => {
                let mut elements = as_elements(current);
                if elements.is_empty() && step.kind != OpKind::Remove {
                    elements.push(Map::new());
                }
                for element in &mut elements {
                    self.set_sub(step, element, sub)?;
                }
                elements.retain(|e| !e.is_empty());
                let touched: Vec<usize> = (0..elements.len()).collect();
                Ok(finish_list(attr, elements, &touched))
            }
        }
    }

    /// Sets (add/replace) or removes one sub-attribute of one element.
    fn set_sub(
        &mut self,
        step: &Step<'_>,
        element: &mut Map<String, Value>,
        sub: &Attribute,
    ) -> Result<(), Error> {
        take_key(element, &sub.name);
        if step.kind == OpKind::Remove {
            return Ok(());
        }
        let value = step.value.unwrap_or(&Value::Null);
        if let Some(value) = coerce_simple(sub.attr_type, value)
            .map_err(|reason| self.invalid(step, format!("{}: {reason}", sub.name)))?
        {
            element.insert(sub.name.clone(), value);
        }
        Ok(())
    }

    /// add/replace/remove on a single-valued attribute without filter or sub-attribute.
    fn single(
        &mut self,
        step: &Step<'_>,
        attr: &Attribute,
        current: Option<Value>,
    ) -> Result<Option<Value>, Error> {
        if step.kind == OpKind::Remove {
            return Ok(None);
        }
        let new = self.coerce_attr(step, attr, step.value.unwrap_or(&Value::Null))?;
        Ok(match (new, current) {
            (None, _) => None,
            (Some(Value::Object(new)), Some(Value::Object(mut current)))
                if attr.attr_type == AttrType::Complex =>
            {
                // RFC 7644 §3.5.2.1/3: sub-attributes not given stay, unless the value now
                // refers to something else (a new manager id), which makes the old ones stale.
                let same_target = match (get_ci(&new, "value"), get_ci(&current, "value")) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                if same_target {
                    for (key, value) in new {
                        take_key(&mut current, &key);
                        current.insert(key, value);
                    }
                    Some(Value::Object(current))
                } else {
                    Some(Value::Object(new))
                }
            }
            (Some(new), _) => Some(new),
        })
    }

    /// add/replace/remove on a multi-valued attribute without filter or sub-attribute.
    fn multi(
        &mut self,
        step: &Step<'_>,
        attr: &Attribute,
        current: Option<Value>,
    ) -> Result<Option<Value>, Error> {
        let value = step.value.unwrap_or(&Value::Null);
        let new = match self.coerce_attr(step, attr, value)? {
            Some(Value::Array(items)) => items,
            Some(other) => vec![other],
            None => Vec::new(),
        };
        let existing = match current {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![other],
        };
        let replace_all = step.kind == OpKind::Replace
            || (step.kind == OpKind::Add
                && self
                    .options
                    .replace_on_add
                    .iter()
                    .any(|p| names(p, attr, &step.path.attr)));
        let mut list = Vec::new();
        let mut touched = Vec::new();
        match step.kind {
            OpKind::Remove if step.value.is_none() || value.is_null() => return Ok(None),
            OpKind::Remove => {
                list = existing
                    .into_iter()
                    .filter(|e| !new.iter().any(|n| same_element(e, n)))
                    .collect();
            }
            OpKind::Add | OpKind::Replace => {
                if !replace_all {
                    list = existing;
                }
                for element in new {
                    match list.iter().position(|e| same_element(e, &element)) {
                        Some(i) => {
                            if let (Some(Value::Object(old)), Value::Object(new)) =
                                (list.get_mut(i), element)
                            {
                                for (key, value) in new {
                                    take_key(old, &key);
                                    old.insert(key, value);
                                }
                            }
                            touched.push(i);
                        }
                        None => {
                            touched.push(list.len());
                            list.push(element);
                        }
                    }
                }
            }
        }
        if list.is_empty() {
            return Ok(None);
        }
        if attr.attr_type != AttrType::Complex {
            return Ok(Some(Value::Array(list)));
        }
        let elements: Vec<Map<String, Value>> = list
            .into_iter()
            .map(|e| match e {
                Value::Object(object) => object,
                other => Map::from_iter([("value".to_owned(), other)]),
            })
            .collect();
        Ok(finish_list(attr, elements, &touched))
    }

    /// An operation on `attr[filter]` or `attr[filter].sub`.
    fn filtered(
        &mut self,
        step: &Step<'_>,
        attr: &Attribute,
        filter: &Filter,
        sub: Option<&Attribute>,
        current: Option<Value>,
    ) -> Result<Option<Value>, Error> {
        let mut elements = as_elements(current);
        let matches: Vec<usize> = (0..elements.len())
            .filter(|&i| elements.get(i).is_some_and(|e| matches(filter, e, attr)))
            .collect();
        let mut touched = Vec::new();
        match (step.kind, sub) {
            (OpKind::Remove, None) => {
                let mut i = 0;
                elements.retain(|_| {
                    i += 1;
                    !matches.contains(&(i - 1))
                });
            }
            (OpKind::Remove, Some(sub)) => {
                for &i in &matches {
                    if let Some(element) = elements.get_mut(i) {
                        take_key(element, &sub.name);
                    }
                }
                elements.retain(|e| !e.is_empty());
            }
            (OpKind::Add | OpKind::Replace, _) => {
                let targets = if matches.is_empty() {
                    // Entra expects add/replace on a filtered path to create the element.
                    let element = self.element_from_filter(step, attr, filter)?;
                    elements.push(element);
                    vec![elements.len() - 1]
                } else {
                    matches
                };
                let whole = match sub {
                    Some(_) => None,
                    None => {
                        match self.coerce_element(step, attr, step.value.unwrap_or(&Value::Null))? {
                            Some(Value::Object(object)) => Some(object),
                            _ => None,
                        }
                    }
                };
                for &i in &targets {
                    let Some(element) = elements.get_mut(i) else {
                        continue;
                    };
                    match (sub, &whole) {
                        (Some(sub), _) => self.set_sub(step, element, sub)?,
                        (None, Some(object)) => {
                            for (key, value) in object {
                                take_key(element, key);
                                element.insert(key.clone(), value.clone());
                            }
                        }
                        (None, None) => {}
                    }
                }
                touched = targets;
            }
        }
        if !attr.multi_valued {
            return Ok(elements
                .into_iter()
                .next()
                .filter(|e| !e.is_empty())
                .map(Value::Object));
        }
        elements.retain(|e| !e.is_empty());
        Ok(finish_list(attr, elements, &touched))
    }

    /// The element `emails[type eq "work"]` describes: the `eq` terms joined by `and`.
    fn element_from_filter(
        &self,
        step: &Step<'_>,
        attr: &Attribute,
        filter: &Filter,
    ) -> Result<Map<String, Value>, Error> {
        let mut element = Map::new();
        let mut terms = Vec::new();
        if !eq_terms(filter, &mut terms) {
            return Err(Error::NoTarget {
                op: self.op,
                path: step.text.clone(),
                reason: format!(
                    "no element of {} matches, and only a filter of `eq` terms joined by `and` says \
                     which element to create",
                    attr.name
                ),
            });
        }
        for (path, literal) in terms {
            let name = path
                .sub_attr
                .as_deref()
                .filter(|_| eq_name(&path.name, &attr.name))
                .unwrap_or(&path.name);
            let Some(sub) = attr.sub_attribute(name) else {
                return Err(self.unknown_sub(step, attr, name));
            };
            if let Some(value) = coerce_simple(sub.attr_type, literal)
                .map_err(|reason| self.invalid(step, format!("{}: {reason}", sub.name)))?
            {
                element.insert(sub.name.clone(), value);
            }
        }
        Ok(element)
    }
}
