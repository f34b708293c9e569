//! A compiled resource mapping (Users or Groups): SCIM ↔ backend objects, request rendering,
//! list reading, backend error classes. What the engine calls for every SCIM operation.
//!
//! Pure: it renders requests but never sends them; the engine decides which calls to make.

use crate::mapping::attribute::{Rule, Segment, get_path, scalar_text, set_path};
use crate::mapping::error::Error;
use crate::mapping::jsonpath::JsonPath;
use crate::mapping::plan::FilterRule;
use crate::mapping::spec::ErrorMeaning;
use crate::mapping::template::{RenderedRequest, RequestTemplate, Vars, fill_connection};
use crate::scim::patch::{ApplyOptions, UnknownPolicy};
use crate::scim::path::AttrPath;
use serde_json::{Map, Value};

/// A backend operation of a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpName {
    /// Create one resource.
    Create,
    /// Read one resource by `{id}`.
    Get,
    /// List a page of resources.
    List,
    /// Replace a whole resource (PUT).
    Replace,
    /// Change some fields (PATCH/POST).
    Update,
    /// Delete one resource.
    Delete,
    /// Soft-delete one resource.
    Deactivate,
    /// Add one group member (`{id}`, `{member}`).
    AddMember,
    /// Remove one group member (`{id}`, `{member}`).
    RemoveMember,
    /// List a group's members (`{id}`).
    ListMembers,
}

impl OpName {
    /// Every operation, in the order mapping files list them.
    pub const ALL: [Self; 10] = [
        Self::Create,
        Self::Get,
        Self::List,
        Self::Replace,
        Self::Update,
        Self::Delete,
        Self::Deactivate,
        Self::AddMember,
        Self::RemoveMember,
        Self::ListMembers,
    ];

    /// The operation a mapping file names (`members.add`), if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// The name used in mapping files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Get => "get",
            Self::List => "list",
            Self::Replace => "replace",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Deactivate => "deactivate",
            Self::AddMember => "members.add",
            Self::RemoveMember => "members.remove",
            Self::ListMembers => "members.list",
        }
    }
}

/// What a backend error answer means in SCIM terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The value is already taken (SCIM 409 `uniqueness`).
    Uniqueness,
    /// The value is not acceptable (SCIM 400 `invalidValue`).
    InvalidValue,
    /// The resource does not exist (SCIM 404).
    NotFound,
    /// The change is already in place (a member call refused because the member already is,
    /// or already is not, in the group); the engine verifies it before answering success.
    AlreadyDone,
}

/// How the list call pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `{offset}` (0-based) and `{count}`.
    Offset,
    /// `{page}` (1-based) and `{count}`.
    Page,
    /// `{cursor}` from the previous answer's `next_cursor`.
    Cursor,
    /// The previous answer's `next_link` URL.
    NextLink,
    /// One call returns everything.
    None,
}

/// Where the next page is, read from a list answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPage {
    /// Render the list call again with `{cursor}` set to this.
    Cursor(String),
    /// GET this URL (the engine must check it is on the backend's host).
    Link(String),
}

/// The write a SCIM create or update becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The backend operation to render with `body` as `"$object"`.
    pub op: OpName,
    /// The mapped backend object (create, replace) or the changed fields (update).
    pub body: Value,
    /// `store: true` attributes, keyed as in the mapping (`externalId`), for the gateway's store.
    /// On updates every stored attribute is listed; `null` means "remove it".
    pub stored: Map<String, Value>,
    /// Whether any backend field changes (when not, the engine skips the backend call).
    pub backend_changed: bool,
}

/// The list call with the JSONPaths that read its answer.
#[derive(Debug, Clone)]
pub(crate) struct ListSpec {
    pub(crate) items: JsonPath,
    pub(crate) total: Option<JsonPath>,
    /// The answer header holding the total (`X-Total-Count`), read before `total`.
    pub(crate) total_header: Option<http::HeaderName>,
    pub(crate) next_cursor: Option<JsonPath>,
    pub(crate) next_link: Option<JsonPath>,
    pub(crate) paging: Paging,
    pub(crate) max_page_size: Option<u32>,
    pub(crate) reread: bool,
}

impl ListSpec {
    /// The items of one page.
    pub(crate) fn items(&self, answer: &Value) -> Vec<Value> {
        self.items.select(answer).into_iter().cloned().collect()
    }

    /// The total of one page's answer (its `total_header`, else its `total` JSONPath), when
    /// the mapping says where it is.
    pub(crate) fn total(&self, answer: &Value, headers: &http::HeaderMap) -> Option<u64> {
        if let Some(name) = &self.total_header
            && let Some(total) = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        {
            return Some(total);
        }
        let v = first(self.total.as_ref()?, answer)?;
        v.as_u64().or_else(|| scalar_text(v).parse().ok())
    }

    /// Where the next page is (cursor and next-link paging); `None` on the last page.
    pub(crate) fn next_page(&self, answer: &Value) -> Option<NextPage> {
        if let Some(q) = &self.next_cursor {
            return first(q, answer)
                .map(scalar_text)
                .filter(|s| !s.is_empty())
                .map(NextPage::Cursor);
        }
        let q = self.next_link.as_ref()?;
        first(q, answer)
            .map(scalar_text)
            .filter(|s| !s.is_empty())
            .map(NextPage::Link)
    }
}

/// A member listing call, paged like the list call, and what the member calls need from it.
#[derive(Debug, Clone)]
pub(crate) struct MemberList {
    pub(crate) spec: ListSpec,
    pub(crate) member_id: JsonPath,
    /// The membership row's own id in an item, for `{row}` in `members.remove`.
    pub(crate) row_id: Option<JsonPath>,
    /// Adds skip members already present (backends that keep duplicate rows).
    pub(crate) skip_present: bool,
    /// `members.remove` uses `{row}`: the row is looked up in `members.list` first.
    pub(crate) remove_by_row: bool,
}

/// A backend error rule.
#[derive(Debug, Clone)]
pub(crate) struct ErrorRule {
    pub(crate) status: u16,
    pub(crate) contains: Option<String>,
    /// JSONPath → expected value in the answer body, compared as text.
    pub(crate) body: Vec<(JsonPath, Value)>,
    /// The operations it applies to; empty: every operation.
    pub(crate) on: Vec<OpName>,
    pub(crate) means: ErrorMeaning,
    /// Quote the backend's message in the SCIM detail.
    pub(crate) show_message: bool,
}

/// The compiled mapping of one SCIM resource type.
#[derive(Debug, Clone)]
pub struct ResourceMapping {
    pub(crate) resource_type: String,
    pub(crate) core_urn: String,
    pub(crate) id: JsonPath,
    pub(crate) identity: Option<JsonPath>,
    /// A backend field holding a blank string reads as absent.
    pub(crate) empty_is_absent: bool,
    /// The backend field of `identity: { stamp }`, where creates write a random marker.
    pub(crate) stamp: Option<Vec<Segment>>,
    pub(crate) ops: Vec<(OpName, RequestTemplate)>,
    pub(crate) list: ListSpec,
    pub(crate) rules: Vec<Rule>,
    pub(crate) constants: Vec<(Vec<Segment>, Value)>,
    pub(crate) filters: Vec<FilterRule>,
    pub(crate) scan: Option<u32>,
    pub(crate) errors: Vec<ErrorRule>,
    pub(crate) members: Option<MemberList>,
    /// `policies.email_domains`: domains, or `{conn.NAME}` templates of comma-separated ones.
    pub(crate) email_domains: Vec<crate::mapping::template::Template>,
    /// Attribute keys a create must not share with an existing resource (`create.unique`).
    pub(crate) unique: Vec<String>,
}

fn first<'a>(q: &JsonPath, v: &'a Value) -> Option<&'a Value> {
    q.first(v)
}

impl ResourceMapping {
    /// `User` or `Group`.
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The backend object as a SCIM resource, without `id` and `meta` (the engine adds them);
    /// `stored` holds the gateway-kept (`store: true`) attributes.
    pub fn to_scim(&self, backend: &Value, stored: &Map<String, Value>) -> Result<Value, Error> {
        let mut out = Map::new();
        for rule in &self.rules {
            if rule.write_only || rule.returned == Some(crate::mapping::spec::ReturnedFile::Never) {
                continue;
            }
            let value = if rule.store {
                stored.get(&rule.key).filter(|v| !v.is_null()).cloned()
            } else {
                rule.read_backend(backend)
            }
            .filter(|v| !(self.empty_is_absent && v.as_str().is_some_and(|s| s.trim().is_empty())));
            if let Some(value) = value {
                rule.set_scim(&mut out, value);
            }
        }
        let mut schemas = vec![Value::String(self.core_urn.clone())];
        for key in out.keys() {
            if key.starts_with("urn:") {
                schemas.push(Value::String(key.clone()));
            }
        }
        out.insert("schemas".into(), Value::Array(schemas));
        Ok(Value::Object(out))
    }

    /// The SCIM resource with `default`s applied where values are absent.
    pub(crate) fn with_defaults(&self, scim: &Value) -> Result<Value, Error> {
        let Value::Object(map) = scim else {
            return Err(Error::NotAnObject);
        };
        let mut out = map.clone();
        for rule in &self.rules {
            if let Some(default) = &rule.default
                && rule.scim_value(scim).is_none()
            {
                rule.set_scim(&mut out, default.clone());
            }
        }
        Ok(Value::Object(out))
    }

    /// Checks a SCIM create before anything is sent: required attributes, `allowed` values,
    /// email domains. Returns every problem.
    pub fn validate_create(&self, scim: &Value) -> Result<(), Vec<Error>> {
        // Before the defaults: a default must not stand in for a value that was sent but
        // cannot be chosen (several roles, none primary).
        let mut errors: Vec<Error> = self
            .rules
            .iter()
            .filter(|rule| rule.writes_backend() || rule.store)
            .filter_map(|rule| rule.ambiguous_primary(scim))
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let scim = self.with_defaults(scim).map_err(|e| vec![e])?;
        for rule in &self.rules {
            match rule.scim_value(&scim) {
                None if rule.required => errors.push(Error::Required {
                    attribute: rule.key.clone(),
                }),
                Some(v) if rule.writes_backend() || rule.store => {
                    if let Err(e) = rule.to_backend(&v) {
                        errors.push(e);
                    }
                }
                _ => {}
            }
        }
        if let Err(e) = self.check_domains(&scim) {
            errors.push(e);
        }
        if errors.is_empty()
            && let Err(e) = self.create_write(&scim, None)
        {
            // Two attributes into one field (the only problem left that creating finds).
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Rejects a user whose `userName` or any email has a domain outside the policy. Without a
    /// connection (validation only) the `{conn.NAME}` entries are not known and not checked.
    pub fn check_domains(&self, scim: &Value) -> Result<(), Error> {
        self.check_domains_in(scim, None)
    }

    /// The domains `policies.email_domains` allows for `connection` (its `{conn.NAME}` entries
    /// split at commas); `None` leaves those entries out.
    fn allowed_domains(
        &self,
        connection: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Vec<String> {
        let vars = connection.map(|c| crate::mapping::template::Vars::new().with_connection(c));
        let mut allowed = Vec::new();
        for entry in &self.email_domains {
            let templated = entry.placeholders().next().is_some();
            let text = match (&vars, templated) {
                (_, false) => entry.render_raw(&crate::mapping::template::Vars::new()),
                (Some(vars), true) => entry.render_raw(vars),
                (None, true) => continue,
            };
            allowed.extend(
                text.split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
            );
        }
        allowed
    }

    /// [`ResourceMapping::check_domains`] for a request through `connection`: its variables
    /// fill the `{conn.NAME}` entries. A policy whose entries all come out empty (the variable
    /// is unset) allows no domain: an unset variable never opens the policy.
    pub fn check_domains_in(
        &self,
        scim: &Value,
        connection: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<(), Error> {
        if self.email_domains.is_empty() {
            return Ok(());
        }
        let allowed = self.allowed_domains(connection);
        if allowed.is_empty() && connection.is_none() {
            return Ok(());
        }
        let mut addresses = Vec::new();
        if let Some(Value::String(u)) = scim.get("userName") {
            addresses.push(u.clone());
        }
        if let Some(Value::Array(emails)) = scim.get("emails") {
            addresses.extend(
                emails
                    .iter()
                    .filter_map(|e| e.get("value"))
                    .filter_map(Value::as_str)
                    .map(str::to_owned),
            );
        }
        for address in addresses {
            // Surrounding blanks are not part of the domain (Entra values may carry them).
            if let Some((_, domain)) = address.trim().rsplit_once('@')
                && !allowed.iter().any(|d| d.eq_ignore_ascii_case(domain))
            {
                return Err(Error::DomainNotAllowed {
                    domain: domain.to_owned(),
                    allowed: if allowed.is_empty() {
                        "none (the connection's variable is empty)".to_owned()
                    } else {
                        allowed.join(", ")
                    },
                });
            }
        }
        Ok(())
    }

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
    fn create_write(
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

    pub(crate) fn op(&self, name: OpName) -> Option<&RequestTemplate> {
        self.ops.iter().find(|(n, _)| *n == name).map(|(_, t)| t)
    }

    /// Whether the mapping defines this operation (`deactivate`, `update`, member calls).
    pub fn has_op(&self, name: OpName) -> bool {
        self.op(name).is_some()
    }

    /// Whether the engine must read the resource again after this operation.
    pub fn rereads_after(&self, name: OpName) -> bool {
        self.op(name).is_some_and(|t| t.reread)
    }

    /// Renders one backend call with these values.
    pub fn render(&self, op: OpName, vars: &Vars) -> Result<RenderedRequest, Error> {
        self.op(op)
            .ok_or_else(|| Error::NoOperation {
                operation: op.as_str().into(),
            })?
            .render(vars)
    }

    /// The backend id of a backend object (numbers as decimal text).
    pub fn backend_id(&self, backend: &Value) -> Option<String> {
        first(&self.id, backend)
            .map(scalar_text)
            .filter(|s| !s.is_empty())
    }

    /// The value that tells this backend resource from a later one given the same id (the
    /// mapping's `identity`), as text; `None` when the mapping has none or the object lacks it.
    pub fn identity_of(&self, backend: &Value) -> Option<String> {
        first(self.identity.as_ref()?, backend)
            .map(scalar_text)
            .filter(|s| !s.is_empty())
    }

    /// Whether the mapping says the backend reuses ids (it names an `identity`).
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// Whether the identity is a marker scimgate writes (`identity: { stamp }`): then a record
    /// whose marker is gone is not the resource either.
    pub fn identity_is_stamp(&self) -> bool {
        self.stamp.is_some()
    }

    /// Writes the create's identity `marker` into a backend create body (`identity: { stamp }`;
    /// nothing otherwise).
    pub fn add_stamp(&self, body: &mut Value, marker: &str) {
        if let Some(segments) = &self.stamp {
            set_path(body, segments, Value::String(marker.to_owned()));
        }
    }

    /// Whether list items are partial and each must be read again with `get`.
    pub fn list_rereads(&self) -> bool {
        self.list.reread
    }

    /// The resource inside the answer of `op`, for backends that wrap it (`answer: "$.user"`);
    /// the answer itself otherwise. `None` when the wrapper is not there.
    pub fn unwrap_answer(&self, op: OpName, answer: Value) -> Option<Value> {
        match self.op(op).and_then(|t| t.answer.as_ref()) {
            Some(q) => first(q, &answer).cloned(),
            None => Some(answer),
        }
    }

    /// The resources in a list answer.
    pub fn list_items(&self, answer: &Value) -> Vec<Value> {
        self.list.items(answer)
    }

    /// The total of a list answer (body and headers), when the mapping says where it is.
    pub fn list_total(&self, answer: &Value, headers: &http::HeaderMap) -> Option<u64> {
        self.list.total(answer, headers)
    }

    /// How the list call pages.
    pub fn paging(&self) -> Paging {
        self.list.paging
    }

    /// The largest page the backend serves.
    pub fn max_page_size(&self) -> Option<u32> {
        self.list.max_page_size
    }

    /// Where the next page is (cursor and next-link paging); `None` on the last page.
    pub fn next_page(&self, answer: &Value) -> Option<NextPage> {
        self.list.next_page(answer)
    }

    /// The paging of `members.list` (groups that define it).
    pub(crate) fn member_list(&self) -> Option<&ListSpec> {
        self.members.as_ref().map(|m| &m.spec)
    }

    /// The member backend ids in a member list answer (groups with `members.list`).
    pub fn member_ids(&self, answer: &Value) -> Vec<String> {
        let Some(m) = &self.members else {
            return Vec::new();
        };
        m.spec
            .items(answer)
            .iter()
            .filter_map(|item| self.member_of_item(item))
            .collect()
    }

    /// The member backend id of one `members.list` item.
    pub fn member_of_item(&self, item: &Value) -> Option<String> {
        let m = self.members.as_ref()?;
        first(&m.member_id, item)
            .map(scalar_text)
            .filter(|s| !s.is_empty())
    }

    /// The membership row id of one `members.list` item (`row_id`), for `{row}`.
    pub fn row_of_item(&self, item: &Value) -> Option<String> {
        let m = self.members.as_ref()?;
        first(m.row_id.as_ref()?, item)
            .map(scalar_text)
            .filter(|s| !s.is_empty())
    }

    /// Whether adds skip members already present (`members.skip_present`).
    pub fn skips_present_members(&self) -> bool {
        self.members.as_ref().is_some_and(|m| m.skip_present)
    }

    /// Whether `members.remove` needs the member's row id (`{row}`).
    pub fn removes_by_row(&self) -> bool {
        self.members.as_ref().is_some_and(|m| m.remove_by_row)
    }

    /// How the engine applies SCIM PATCH operations to this resource type: `add` replaces the
    /// whole list of multi-valued attributes marked `add_replaces` (the default), and operations
    /// on attributes the mapping does not carry are ignored (Entra sends its whole attribute
    /// list; one unmapped attribute must not block `active`).
    pub fn patch_options(&self) -> ApplyOptions {
        ApplyOptions {
            replace_on_add: self
                .rules
                .iter()
                .filter(|r| {
                    r.add_replaces
                        && r.multi_valued
                        && r.target.select.is_none()
                        && !r.target.family
                })
                .map(|r| AttrPath {
                    schema: r.target.urn.clone(),
                    name: r.target.name.clone(),
                    sub_attr: None,
                })
                .collect(),
            unknown_attributes: UnknownPolicy::Ignore,
        }
    }

    /// The mapping keys of `store: true` attributes (`externalId`).
    pub fn stored_attributes(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.store)
            .map(|r| r.key.as_str())
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
