//! The provisioning engine: the only place that decides which backend calls one SCIM operation
//! needs, and in which order the store is written around them.
//!
//! One [`Engine`] per tenant holds the compiled mapping, the backend client and the store. Each
//! public method is one SCIM operation; it shares one deadline across all its backend calls,
//! logs exactly one `info` line (tenant, resource, operation, SCIM id, outcome, backend calls,
//! duration; never names, emails or tokens) and returns SCIM JSON or an [`Error`] that
//! `crate::error` turns into a SCIM error response.
//!
//! Costs (checked by the integration tests against the demo backend's call counter):
//! create 1 call (+1 re-read when the mapping asks), get 1, list 1 per backend page, replace
//! 1 read + at most 1 write, patch 1 read + at most 1 write (0 writes when nothing changed),
//! group member changes 1 call per changed member and no group read when only members change
//! (a request with more than one member write reads the member list first, one call per page,
//! so every landed call has an exact undo), a group read with members 1 + 1 per member page,
//! delete 1 call. A request is all or nothing: see `members`.
//!
//! What the engine must not do: parse HTTP, choose HTTP statuses, or interpret mapping files
//! itself (the mapping translates; the engine sequences calls). Projection (`attributes`,
//! `excludedAttributes`) is the caller's job: the engine always returns whole resources so one
//! result can be projected for any request (`service` does it for the HTTP server).
//!
//! Files: `op` (per-operation context: deadline, call counting, rendering and sending),
//! `ids` (SCIM id ↔ backend id), `view` (backend object → SCIM resource with `id`/`meta`),
//! `create` (with `unique`, the lookup before a create), `read` (get), `list`, `update` (replace and patch), `members`, `delete`;
//! `repair` resolves creates whose outcome was lost; `reconcile` compares backend and store,
//! read-only; `service` puts an engine behind the HTTP
//! server's `ScimService` seam.

mod create;
mod delete;
mod error;
mod ids;
mod list;
mod members;
mod op;
mod read;
mod reconcile;
mod repair;
mod service;
mod settle;
#[cfg(test)]
mod tests;
mod unique;
mod update;
mod view;

pub use error::Error;
pub use reconcile::{Finding, ReconcileReport};
pub use repair::RepairReport;
pub use service::TenantService;

use crate::scim::ResourceKind;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::backend::{Backend, BackendAuth, BackendConfig, Secret};
use crate::mapping::{self, Mapping, OpName, ResourceMapping};
use crate::scim::list::ListResponse;
use crate::scim::query::ListQuery;
use crate::store::Store;

use op::Op;

/// Per-tenant engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Time budget of one SCIM operation, shared by all its backend calls; below Entra's 60 s so
    /// the gateway answers first.
    pub deadline: Duration,
    /// `count` when a list request sends none.
    pub default_count: usize,
    /// The largest `count` served.
    pub max_count: usize,
    /// The public URL of this tenant's SCIM root (no trailing slash), for `meta.location`.
    pub base_url: String,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            deadline: crate::backend::DEFAULT_REQUEST_BUDGET,
            default_count: 100,
            max_count: 1000,
            base_url: String::new(),
        }
    }
}

/// The provisioning engine of one tenant.
#[derive(Debug)]
pub struct Engine {
    tenant: String,
    mapping: Arc<Mapping>,
    backend: Arc<dyn Backend>,
    store: Arc<dyn Store>,
    options: EngineOptions,
    /// The `{conn.NAME}` values of the connection this engine serves (empty for a tenant of
    /// the settings file).
    variables: Variables,
}

/// A connection's variables; `Debug` shows the names only (some values are secrets).
#[derive(Default)]
struct Variables(Arc<BTreeMap<String, String>>);

impl std::fmt::Debug for Variables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Engine {
    /// An engine for `tenant` over a compiled mapping, its backend (the HTTP client, or a
    /// [`Recorder`](crate::backend::Recorder)) and the store.
    pub fn new(
        tenant: impl Into<String>,
        mapping: Arc<Mapping>,
        backend: Arc<dyn Backend>,
        store: Arc<dyn Store>,
        mut options: EngineOptions,
    ) -> Self {
        while options.base_url.ends_with('/') {
            options.base_url.pop();
        }
        Self {
            tenant: tenant.into(),
            mapping,
            backend,
            store,
            options,
            variables: Variables::default(),
        }
    }

    /// The same engine serving one connection: its `{conn.NAME}` variables fill the
    /// mapping's placeholders (the store is scoped by the engine's tenant key).
    #[must_use]
    pub fn with_variables(mut self, variables: Arc<BTreeMap<String, String>>) -> Self {
        self.variables = Variables(variables);
        self
    }

    /// The connection variables this engine fills `{conn.NAME}` with.
    pub(crate) fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables.0
    }

    /// The compiled mapping (its registry serves `/Schemas` and `/ResourceTypes`).
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// The settings this engine runs with.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The tenant name used in logs.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// `POST /Users`, `POST /Groups`: validates with the mapping (no backend call when invalid),
    /// creates in the backend, records stored attributes; returns the created resource.
    pub async fn create(
        &self,
        resource_type: impl ResourceName,
        body: &Value,
    ) -> Result<Value, Error> {
        self.create_with(resource_type, body, false).await
    }

    /// Like [`Engine::create`]; with `members`, a created group carries its `members` as the
    /// backend now holds them (`[]` when none; one more call, when the mapping can list
    /// members), as RFC 7644 §3.3 answers a create with the resource.
    pub async fn create_with(
        &self,
        resource_type: impl ResourceName,
        body: &Value,
        members: bool,
    ) -> Result<Value, Error> {
        let mut op = self.begin(&resource_type, "create", None)?;
        let result = async {
            let mut resource = create::run(&op, body).await?;
            if members {
                attach_members(&op, &mut resource).await?;
            }
            Ok(resource)
        }
        .await;
        if let Some(id) = result
            .as_ref()
            .ok()
            .and_then(|r| r.get("id"))
            .and_then(Value::as_str)
        {
            op.set_id(id);
        }
        op.finish(result)
    }

    /// `scimgate reconcile` for one resource type: backend resources no SCIM id maps to, SCIM
    /// ids whose backend resource is gone, records whose identity changed. Read-only; reads
    /// every backend page (one call each, plus one per item when the list is `reread`).
    pub async fn reconcile(
        &self,
        resource_type: impl ResourceName,
    ) -> Result<ReconcileReport, Error> {
        let mut op = self.begin(&resource_type, "reconcile", None)?;
        // Every page of a large backend: far more than one SCIM request's time.
        op.extend_deadline(self.options.deadline.saturating_mul(100));
        let result = reconcile::run(&op).await;
        op.finish(result)
    }

    /// `GET /Users/{id}`: one backend call. Inactive users are returned with `active: false`.
    /// Groups come without `members` (see [`Engine::get_with`]).
    pub async fn get(&self, resource_type: impl ResourceName, id: &str) -> Result<Value, Error> {
        self.get_with(resource_type, id, false).await
    }

    /// Like [`Engine::get`]; with `members`, a group also carries its `members` (one more call per
    /// page of members, when the mapping can list them). Entra always excludes them; other
    /// clients may not.
    pub async fn get_with(
        &self,
        resource_type: impl ResourceName,
        id: &str,
        members: bool,
    ) -> Result<Value, Error> {
        let op = self.begin(&resource_type, "get", Some(id))?;
        let result = async {
            let mut resource = read::get(&op, id).await?;
            if members {
                members::attach(&op, &mut resource).await?;
            }
            Ok(resource)
        }
        .await;
        op.finish(result)
    }

    /// `GET /Users?filter=…`: one backend call per backend page (or store lookups and gets for
    /// `externalId eq` / `id eq`). Zero matches is an empty list, never an error. Resources are
    /// whole: the caller applies `query.attributes` / `query.excluded_attributes`.
    pub async fn list(
        &self,
        resource_type: impl ResourceName,
        query: &ListQuery,
    ) -> Result<ListResponse, Error> {
        self.list_with(resource_type, query, false).await
    }

    /// Like [`Engine::list`]; with `members`, groups on the page carry their `members` (one
    /// more call per group). A filter on `members` loads them for its candidates either way.
    pub async fn list_with(
        &self,
        resource_type: impl ResourceName,
        query: &ListQuery,
        members: bool,
    ) -> Result<ListResponse, Error> {
        let op = self.begin(&resource_type, "list", None)?;
        let result = list::run(&op, query, members).await;
        op.finish(result)
    }

    /// `PUT /Users/{id}`: one read and at most one write; backend fields the mapping does not
    /// own are preserved.
    pub async fn replace(
        &self,
        resource_type: impl ResourceName,
        id: &str,
        body: &Value,
    ) -> Result<Value, Error> {
        self.replace_with(resource_type, id, body, false).await
    }

    /// Like [`Engine::replace`]; with `members`, a replaced group carries its `members` as the
    /// backend now holds them (`[]` when none; one more call, when the mapping can list them).
    pub async fn replace_with(
        &self,
        resource_type: impl ResourceName,
        id: &str,
        body: &Value,
        members: bool,
    ) -> Result<Value, Error> {
        let op = self.begin(&resource_type, "replace", Some(id))?;
        let result = async {
            let mut resource = update::replace(&op, id, body).await?;
            if members {
                attach_members(&op, &mut resource).await?;
            }
            Ok(resource)
        }
        .await;
        op.finish(result)
    }

    /// `PATCH /Users/{id}` → `Some(resource)`; `PATCH /Groups/{id}` → `None` (answered 204).
    /// One read, the operations applied, one write of what changed (none when nothing did);
    /// group member changes become one member call each.
    pub async fn patch(
        &self,
        resource_type: impl ResourceName,
        id: &str,
        body: &Value,
    ) -> Result<Option<Value>, Error> {
        let op = self.begin(&resource_type, "patch", Some(id))?;
        let result = update::patch(&op, id, body).await;
        op.finish(result)
    }

    /// `DELETE /Users/{id}`: the mapping's delete, or its deactivate when it defines one (soft
    /// delete: the record stays, marked, and the id answers 404 from then on); after a real
    /// delete the store record goes too.
    pub async fn delete(&self, resource_type: impl ResourceName, id: &str) -> Result<(), Error> {
        let op = self.begin(&resource_type, "delete", Some(id))?;
        let result = delete::run(&op, id).await;
        op.finish(result)
    }

    /// Readiness: the store answers and the backend answers a one-item list call.
    pub async fn ready(&self) -> Result<(), String> {
        self.store
            .ping()
            .await
            .map_err(|error| format!("store: {error}"))?;
        let Some(resource) = self.mapping.users().or_else(|| self.mapping.groups()) else {
            return Ok(());
        };
        let op = Op::new(self, resource, "ready", None);
        list::probe(&op).await.map_err(|error| error.to_string())
    }

    /// What this engine makes of the backend answering `name` on `kind` with `status` and
    /// `body`: the client's decoding and the mapping's `errors:` rules, exactly as for a real
    /// call (`Op::take_answer`); mapping `tests:` `backend_error` cases run this. `Ok` for a 2xx no
    /// rule refuses.
    pub(crate) fn settle_answer(
        &self,
        kind: ResourceKind,
        name: OpName,
        status: http::StatusCode,
        body: &[u8],
    ) -> Result<(), Error> {
        let resource = self.resource(&kind)?;
        let op = Op::new(self, resource, "test", None);
        let operation = op.backend_op(name);
        let answer = crate::backend::read_answer(operation, status, http::HeaderMap::new(), body);
        op.take_answer(operation, answer).map(|_| ())
    }

    fn resource(&self, resource_type: &impl ResourceName) -> Result<&ResourceMapping, Error> {
        resource_type
            .kind()
            .and_then(|kind| self.mapping.of_kind(kind))
            .ok_or_else(|| Error::UnknownResourceType(resource_type.text().to_owned()))
    }

    fn begin<'e>(
        &'e self,
        resource_type: &impl ResourceName,
        operation: &'static str,
        id: Option<&str>,
    ) -> Result<Op<'e>, Error> {
        match self.resource(resource_type) {
            Ok(resource) => Ok(Op::new(self, resource, operation, id)),
            Err(error) => {
                tracing::info!(
                    tenant = %self.tenant,
                    resource = resource_type.text(),
                    operation,
                    outcome = "unknown resource type",
                    backend_calls = 0,
                    duration_ms = 0,
                    "SCIM operation."
                );
                Err(error)
            }
        }
    }
}

/// What names a resource type at the engine's door: a [`ResourceKind`], or its name as text
/// (`User`, `Users`, any case) for callers that hold text, such as tests and the CLI. The text
/// is parsed once, here; inside the engine the kind travels as a [`ResourceKind`].
pub trait ResourceName {
    /// The kind named; `None` when the text names none (`Schemas`, `Userss`).
    fn kind(&self) -> Option<ResourceKind>;
    /// The name as given, for the log line and the error of a resource type not served.
    fn text(&self) -> &str;
}

impl ResourceName for ResourceKind {
    fn kind(&self) -> Option<ResourceKind> {
        Some(*self)
    }

    fn text(&self) -> &str {
        self.name()
    }
}

impl ResourceName for &str {
    fn kind(&self) -> Option<ResourceKind> {
        ResourceKind::parse(self)
    }

    fn text(&self) -> &str {
        self
    }
}

impl ResourceName for &String {
    fn kind(&self) -> Option<ResourceKind> {
        ResourceKind::parse(self)
    }

    fn text(&self) -> &str {
        self
    }
}

/// The backend client configuration a mapping's `backend:` block describes.
pub fn backend_config(spec: &mapping::BackendSpec) -> Result<BackendConfig, crate::backend::Error> {
    let mut config = BackendConfig::new(spec.base_url.clone());
    config.connect_timeout = Duration::from_millis(spec.connect_timeout_ms);
    config.call_timeout = Duration::from_millis(spec.request_timeout_ms);
    config.auth = match &spec.auth {
        None => BackendAuth::None,
        Some(mapping::BackendAuth::Bearer { token }) => BackendAuth::Bearer(Secret::new(token)),
        Some(mapping::BackendAuth::Basic { username, password }) => BackendAuth::Basic {
            username: username.clone(),
            password: Secret::new(password),
        },
        Some(mapping::BackendAuth::ApiKey { header, value }) => BackendAuth::ApiKeyHeader {
            header: header.clone(),
            value: Secret::new(value),
        },
        Some(mapping::BackendAuth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        }) => BackendAuth::OAuth2ClientCredentials {
            token_url: url::Url::parse(token_url).map_err(|error| {
                crate::backend::Error::InvalidConfig {
                    reason: format!("token_url: {error}"),
                }
            })?,
            client_id: client_id.clone(),
            client_secret: Secret::new(client_secret),
            scope: scope.clone(),
        },
    };
    Ok(config)
}

/// A written group's `members` for the answer to its write: read back with `members.list`, and
/// `[]` rather than left out when there are none (the answer says the group has no members; a
/// GET may leave an empty list out). Nothing when the mapping cannot list members.
async fn attach_members(op: &Op<'_>, resource: &mut Value) -> Result<(), Error> {
    if op.kind() != ResourceKind::Group || !op.resource.has_op(OpName::ListMembers) {
        return Ok(());
    }
    members::attach(op, resource).await?;
    if let Some(object) = resource.as_object_mut() {
        object
            .entry("members")
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    Ok(())
}
