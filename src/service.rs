//! The seam between the HTTP server and the provisioning engine.
//!
//! The router turns one authenticated SCIM request into a [`ScimCall`]; whatever implements
//! [`ScimService`] (the engine) answers it with a [`ScimReply`] or a [`ScimError`]. This module
//! holds only the types: no HTTP parsing, no mapping logic.
//!
//! It sits below both sides (it moved here from `server/service.rs`) so that the engine, the
//! audit and metrics decorators implement or wrap the seam without importing the HTTP edge:
//! nothing here may import `crate::server`.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use crate::scim::ScimError;
use crate::store::{AuditEntry, AuditQuery};

/// A boxed, sendable future: the return type of the object-safe async traits of the seam
/// and of the server.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the router extracted from one SCIM request, after auth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScimCall {
    /// Name of the tenant whose base path matched.
    pub tenant: String,
    /// The resource type the path names.
    pub resource: Resource,
    /// What the method and path ask for.
    pub operation: Operation,
    /// The `{id}` path segment, percent-decoded, for item routes.
    pub id: Option<String>,
    /// Decoded query pairs (`+` as space); unknown parameters are kept, the engine ignores them.
    pub query: Vec<(String, String)>,
    /// The parsed JSON body of POST/PUT/PATCH, `None` when the request had no body.
    pub body: Option<serde_json::Value>,
    /// Which credential authenticated the call, e.g. `bearer#1`, `basic:alice`, `jwt:<tid>`.
    pub principal: String,
    /// The request id echoed in `x-request-id`, for correlating logs.
    pub request_id: String,
    /// The backend credential this request brought (a checked product key), sent on every
    /// backend call instead of `backend.auth`'s; never serialized.
    #[serde(skip)]
    pub backend_credential: Option<crate::backend::Forwarded>,
}

/// The SCIM endpoints under a tenant's base path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Resource {
    /// `/Users`
    Users,
    /// `/Groups`
    Groups,
    /// `/Schemas` (read-only, generated from the mapping)
    Schemas,
    /// `/ResourceTypes` (read-only, generated from the mapping)
    ResourceTypes,
    /// `/ServiceProviderConfig` (read-only)
    ServiceProviderConfig,
}

/// What a (method, path) pair asks the engine to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Operation {
    /// `GET` on a collection.
    List,
    /// `POST …/.search`: a list whose parameters come in the body.
    Search,
    /// `GET` on an item.
    Get,
    /// `POST` on a collection.
    Create,
    /// `PUT` on an item.
    Replace,
    /// `PATCH` on an item.
    Patch,
    /// `DELETE` on an item.
    Delete,
}

/// The engine's answer; the handler renders it as `application/scim+json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimReply {
    /// HTTP status (200, 201, 204, …).
    pub status: http::StatusCode,
    /// The SCIM JSON body; `None` for `204 No Content`.
    pub body: Option<serde_json::Value>,
    /// The `Location` header, set on `201 Created`.
    pub location: Option<String>,
}

/// The provisioning engine as the server sees it: one per tenant.
pub trait ScimService: Send + Sync + 'static {
    /// Answers one SCIM call.
    fn call(
        &self,
        call: ScimCall,
    ) -> Pin<Box<dyn Future<Output = Result<ScimReply, ScimError>> + Send + '_>>;

    /// Readiness: mappings loaded, store open, backend reachable within a short probe.
    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;

    /// This tenant's audit entries matching `query` (whose tenant the service sets), or `None`
    /// when the service keeps no audit trail (the default; see `crate::audit::Audited`).
    fn audit(&self, query: AuditQuery) -> BoxFuture<'_, Result<Option<Vec<AuditEntry>>, String>> {
        let _ = query;
        Box::pin(std::future::ready(Ok(None)))
    }
}
