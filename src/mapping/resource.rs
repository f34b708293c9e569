//! A compiled resource mapping (Users or Groups): SCIM ↔ backend objects, request rendering,
//! list reading, backend error classes. What the engine calls for every SCIM operation.
//!
//! Pure: it renders requests but never sends them; the engine decides which calls to make.

use crate::mapping::attribute::{Rule, Segment, get_path, scalar_text, set_path};
use crate::mapping::error::Error;
use crate::mapping::jsonpath::JsonPath;
use crate::mapping::plan::FilterRule;
use crate::mapping::spec::ErrorMeaning;
use crate::mapping::template::{RenderedRequest, RequestTemplate, Vars};
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
    pub(crate) next_cursor: Option<JsonPath>,
    pub(crate) next_link: Option<JsonPath>,
    pub(crate) paging: Paging,
    pub(crate) max_page_size: Option<u32>,
    pub(crate) reread: bool,
}

/// A member listing call.
#[derive(Debug, Clone)]
pub(crate) struct MemberList {
    pub(crate) items: JsonPath,
    pub(crate) member_id: JsonPath,
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
}

/// The compiled mapping of one SCIM resource type.
#[derive(Debug, Clone)]
pub struct ResourceMapping {
    pub(crate) resource_type: String,
    pub(crate) core_urn: String,
    pub(crate) id: JsonPath,
    pub(crate) identity: Option<JsonPath>,
    pub(crate) ops: Vec<(OpName, RequestTemplate)>,
    pub(crate) list: ListSpec,
    pub(crate) rules: Vec<Rule>,
    pub(crate) constants: Vec<(Vec<Segment>, Value)>,
    pub(crate) filters: Vec<FilterRule>,
    pub(crate) scan: Option<u32>,
    pub(crate) errors: Vec<ErrorRule>,
    pub(crate) members: Option<MemberList>,
    pub(crate) email_domains: Vec<String>,
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
            };
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
    fn with_defaults(&self, scim: &Value) -> Result<Value, Error> {
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
        let scim = self.with_defaults(scim).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
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
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Rejects a user whose `userName` or any email has a domain outside the policy.
    pub fn check_domains(&self, scim: &Value) -> Result<(), Error> {
        if self.email_domains.is_empty() {
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
                && !self
                    .email_domains
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(domain))
            {
                return Err(Error::DomainNotAllowed {
                    domain: domain.to_owned(),
                    allowed: self.email_domains.join(", "),
                });
            }
        }
        Ok(())
    }

    /// The backend create body for a SCIM resource: mapped fields, `default`s, `constant`s, and
    /// the `store: true` attributes kept aside.
    pub fn to_backend_create(&self, scim: &Value) -> Result<Write, Error> {
        let scim = self.with_defaults(scim)?;
        self.check_domains(&scim)?;
        let mut body = Value::Object(Map::new());
        let mut stored = Map::new();
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
            if let Some(constant) = &rule.constant {
                set_path(&mut body, segments, constant.clone());
                continue;
            }
            if rule.read_only {
                continue;
            }
            if let Some(v) = value {
                set_path(&mut body, segments, rule.to_backend(&v)?);
            } else if rule.required {
                return Err(Error::Required {
                    attribute: rule.key.clone(),
                });
            }
        }
        for (segments, value) in &self.constants {
            set_path(&mut body, segments, value.clone());
        }
        Ok(Write {
            op: OpName::Create,
            body,
            stored,
            backend_changed: true,
        })
    }

    /// The backend write for a SCIM update (PUT, or PATCH after the engine applied the ops to
    /// `old_scim`). With a `replace` operation: the existing backend object with the mapped
    /// fields changed (unmapped fields survive). Otherwise (`update`): only the changed fields.
    pub fn to_backend_update(
        &self,
        existing_backend: &Value,
        old_scim: &Value,
        new_scim: &Value,
    ) -> Result<Write, Error> {
        self.check_domains(new_scim)?;
        let full = self.op(OpName::Replace).is_some();
        let mut body = if full {
            existing_backend.clone()
        } else {
            Value::Object(Map::new())
        };
        let mut stored = Map::new();
        let mut changed = false;
        for rule in &self.rules {
            let new = rule.scim_value(new_scim);
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
            let new = if old == new {
                match rule.newest_added(old_scim, new_scim) {
                    Some(added) => Some(added),
                    None => continue,
                }
            } else {
                new
            };
            let value = match &new {
                Some(v) => rule.to_backend(v)?,
                None => Value::Null,
            };
            if full || get_path(existing_backend, segments) != Some(&value) {
                changed |= get_path(existing_backend, segments) != Some(&value);
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
        self.list
            .items
            .select(answer)
            .into_iter()
            .cloned()
            .collect()
    }

    /// The total in a list answer, when the mapping says where it is.
    pub fn list_total(&self, answer: &Value) -> Option<u64> {
        let v = first(self.list.total.as_ref()?, answer)?;
        v.as_u64().or_else(|| scalar_text(v).parse().ok())
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
        if let Some(q) = &self.list.next_cursor {
            return first(q, answer)
                .map(scalar_text)
                .filter(|s| !s.is_empty())
                .map(NextPage::Cursor);
        }
        let q = self.list.next_link.as_ref()?;
        first(q, answer)
            .map(scalar_text)
            .filter(|s| !s.is_empty())
            .map(NextPage::Link)
    }

    /// The member backend ids in a member list answer (groups with `members.list`).
    pub fn member_ids(&self, answer: &Value) -> Vec<String> {
        let Some(m) = &self.members else {
            return Vec::new();
        };
        m.items
            .select(answer)
            .into_iter()
            .filter_map(|item| first(&m.member_id, item).map(scalar_text))
            .collect()
    }

    /// What a backend error answer to operation `op` means, by the mapping's `errors` rules
    /// (the first rule whose status, `on`, `contains` and `body` match). `contains` looks in
    /// the answer body's JSON text and in the `message` read from it (plain-text bodies are
    /// the message); `body` compares values at JSONPaths of the JSON body.
    pub fn classify_error(
        &self,
        op: OpName,
        status: u16,
        message: &str,
        body: Option<&Value>,
    ) -> Option<ErrorClass> {
        let lower = message.to_lowercase();
        let body_text = body.map(|b| b.to_string().to_lowercase());
        self.errors
            .iter()
            .find(|r| {
                r.status == status
                    && (r.on.is_empty() || r.on.contains(&op))
                    && r.contains.as_ref().is_none_or(|c| {
                        let needle = c.to_lowercase();
                        lower.contains(&needle)
                            || body_text.as_ref().is_some_and(|t| t.contains(&needle))
                    })
                    && r.body.iter().all(|(path, want)| {
                        body.and_then(|b| first(path, b))
                            .is_some_and(|got| scalar_text(got) == scalar_text(want))
                    })
            })
            .map(|r| match r.means {
                ErrorMeaning::Uniqueness => ErrorClass::Uniqueness,
                ErrorMeaning::InvalidValue => ErrorClass::InvalidValue,
                ErrorMeaning::NotFound => ErrorClass::NotFound,
                ErrorMeaning::AlreadyDone => ErrorClass::AlreadyDone,
            })
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
