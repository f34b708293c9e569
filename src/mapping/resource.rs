//! A compiled resource mapping (Users or Groups): SCIM ↔ backend objects, request rendering,
//! list reading, backend error classes. What the engine calls for every SCIM operation.
//!
//! Pure: it renders requests but never sends them; the engine decides which calls to make.
//!
//! Files: this one holds [`ResourceMapping`] and its read side (to SCIM, ids, lists, members);
//! `parts` the pieces it is made of (operation names, list specs, error rules, [`Write`]);
//! `write` the write side (SCIM create, PUT and PATCH → backend body).

mod parts;
mod write;

pub(crate) use crate::operation::OpName;
pub use parts::{ErrorClass, NextPage, Paging, Write};
pub(crate) use parts::{ErrorRule, ListSpec, MemberList};

use crate::mapping::attribute::{Rule, Segment, scalar_text, set_path};
use crate::mapping::error::Error;
use crate::mapping::filter_rules::FilterRule;
use crate::mapping::jsonpath::JsonPath;
use crate::mapping::template::{RenderedRequest, RequestTemplate, Vars};
use crate::scim::ResourceKind;
use crate::scim::patch::{ApplyOptions, UnknownPolicy};
use crate::scim::path::AttrPath;
use serde_json::{Map, Value};

/// The compiled mapping of one SCIM resource type.
#[derive(Debug, Clone)]
pub struct ResourceMapping {
    pub(crate) kind: ResourceKind,
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
    /// Which resource type this maps.
    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// `User` or `Group`: the SCIM name of [`Self::kind`].
    pub fn resource_type(&self) -> &'static str {
        self.kind.name()
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
