//! The innermost service: health probes, metrics, the audit trail's admin read, tenant lookup,
//! and the thin SCIM handler (parse → [`ScimService`] → render). Authentication happens before
//! the body is read, in the stack's gate (`gate.rs`), through [`Router::authenticate`]; the
//! router reads its verdict from the request's extensions.
//!
//! It also records what the per-request log line and the metrics need: resource, operation,
//! SCIM id, credential name, backend calls made and `scimType` go onto the request span (the
//! stack's "Request finished" line carries them), and each SCIM request is counted.
//!
//! It decides nothing about SCIM semantics: the engine does. Failures are returned as
//! [`respond::Error`] and rendered at the stack's one edge; only the engine's own SCIM errors
//! are rendered here, as they already are wire errors.

use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::Full;

use super::gate::{self, Authenticated};
use super::respond::{self, BoxError, Error, Response};
use super::routes::{self, Route};
use super::stack::RequestId;
use super::tenant::{Rejection, Tenant};
use crate::connection::Registry;
use crate::scim::ScimError;
use crate::service::{BoxFuture, Operation, ScimCall};
use crate::{audit, metrics};

/// How long `/readyz` waits for one tenant's probe.
const READY_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Routes a request with a fully read body to a health probe, the metrics, the audit trail, or
/// a tenant's SCIM handler.
#[derive(Clone, Debug)]
pub struct Router {
    tenants: Arc<[Tenant]>,
    bases: Arc<[Vec<String>]>,
    /// The admin listener's router: no SCIM, no authentication, every tenant's audit trail.
    admin: bool,
    /// The last `/readyz` verdict per tenant, and how long it stands.
    ready: Arc<ReadyCache>,
    /// The connections from the store, when `connections.mappings` lists any.
    connections: Option<Arc<Registry>>,
}

/// The last readiness probe of each tenant: at most one probe per tenant per interval, and
/// concurrent `/readyz` hits wait for the one probe in progress.
#[derive(Debug)]
struct ReadyCache {
    interval: Duration,
    verdicts: Vec<tokio::sync::Mutex<Option<Verdict>>>,
}

/// When a tenant was last probed and what it answered.
type Verdict = (Instant, Result<(), String>);

/// What a request needs before the router may see it (decided on the path alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// An anonymous endpoint (`/healthz`, `/readyz`) or no endpoint at all.
    Open,
    /// The admin listener: trusted by where it listens.
    Trusted,
    /// A credential of this tenant.
    Credential(Needs),
}

/// Whose credential a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The tenant at this index (its base path matched).
    Tenant(usize),
    /// Any tenant's (`/metrics`, `/admin/audit` on the main listener), or any connection's.
    Any,
    /// A connection of the product at this index (its route matched).
    Connection(usize),
}

impl Router {
    /// A router over `tenants`; base paths are compared case-insensitively.
    pub fn new(tenants: Vec<Tenant>) -> Self {
        let bases = tenants
            .iter()
            .map(|tenant| routes::base_segments(&tenant.base_path))
            .collect();
        let ready = Arc::new(ReadyCache {
            interval: crate::settings::Limits::default().ready_cache,
            verdicts: tenants
                .iter()
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
        });
        Self {
            tenants: tenants.into(),
            bases,
            admin: false,
            ready,
            connections: None,
        }
    }

    /// The same router also serving the connections of `registry` (and, on the admin
    /// listener, the admin API over them).
    #[must_use]
    pub fn with_connections(self, registry: Option<Arc<Registry>>) -> Self {
        Self {
            connections: registry,
            ..self
        }
    }

    /// The same router with `/readyz` verdicts kept for `interval` (`server.limits.ready_cache`).
    #[must_use]
    pub fn with_ready_cache(self, interval: Duration) -> Self {
        let verdicts = self
            .tenants
            .iter()
            .map(|_| tokio::sync::Mutex::new(None))
            .collect();
        Self {
            ready: Arc::new(ReadyCache { interval, verdicts }),
            ..self
        }
    }

    /// What a request to `path` (on `host`) needs before it is routed.
    pub fn access(&self, path: &str, host: Option<&str>) -> Access {
        if self.admin {
            return Access::Trusted;
        }
        match routes::route(&self.bases, path) {
            Route::Unknown => match self
                .connections
                .as_ref()
                .and_then(|registry| registry.route(path, host))
            {
                Some(routed) => Access::Credential(Needs::Connection(routed.product)),
                None => Access::Open,
            },
            Route::Healthz | Route::Readyz => Access::Open,
            Route::Metrics | Route::Audit => Access::Credential(Needs::Any),
            Route::Tenant { tenant, .. } => Access::Credential(Needs::Tenant(tenant)),
        }
    }

    /// Checks the credential in `headers` (from `peer`) for the tenant `needs` names; counts
    /// and returns a refusal.
    pub async fn authenticate(
        &self,
        needs: Needs,
        headers: &http::HeaderMap,
        peer: Option<IpAddr>,
        path: &str,
        host: Option<&str>,
    ) -> Result<Authenticated, Error> {
        let tenants: Vec<usize> = match needs {
            Needs::Tenant(index) => vec![index],
            Needs::Any => (0..self.tenants.len()).collect(),
            Needs::Connection(product) => {
                let routed = self
                    .connections
                    .as_ref()
                    .and_then(|registry| Some((registry, registry.route(path, host)?)));
                let result = match routed {
                    Some((registry, routed)) => {
                        registry
                            .authenticate(Some(product), routed.id.as_deref(), headers, peer)
                            .await
                    }
                    None => Err(no_tenant()),
                };
                return result
                    .map(|(live, principal, backend_credential)| Authenticated {
                        tenant: usize::MAX,
                        principal,
                        connection: Some(live),
                        backend_credential,
                    })
                    .map_err(|rejection| {
                        metrics::global().auth_failure(rejection.reason);
                        Error::Unauthenticated(rejection)
                    });
            }
        };
        let mut refused = None;
        for index in tenants {
            let Some(tenant) = self.tenants.get(index) else {
                continue;
            };
            match tenant.auth.authenticate(headers, peer).await {
                Ok(principal) => {
                    return Ok(Authenticated {
                        tenant: index,
                        principal,
                        connection: None,
                        backend_credential: None,
                    });
                }
                Err(rejection) => {
                    let span = tracing::Span::current();
                    span.record("tenant", tenant.name.as_str());
                    refused.get_or_insert(rejection);
                }
            }
        }
        // Any connection's token reads its own audit trail (`/admin/audit`).
        if let Some(registry) = &self.connections
            && let Ok((live, principal, _)) = registry.authenticate(None, None, headers, peer).await
        {
            return Ok(Authenticated {
                tenant: usize::MAX,
                principal,
                connection: Some(live),
                backend_credential: None,
            });
        }
        let rejection = refused.unwrap_or_else(no_tenant);
        metrics::global().auth_failure(rejection.reason);
        Err(Error::Unauthenticated(rejection))
    }

    /// The router of the plain admin listener (`server.admin_listen`): `/healthz`, `/readyz`,
    /// `/metrics` and `/admin/audit` (all tenants) without authentication, nothing else.
    pub fn admin(tenants: Vec<Tenant>) -> Self {
        Self {
            admin: true,
            ..Self::new(tenants)
        }
    }

    /// The gate's verdict for a request that needed one (see [`Router::access`]).
    fn authenticated<'a>(
        &'a self,
        request: &'a Request<Bytes>,
    ) -> Result<(&'a Tenant, String), Error> {
        let found = request
            .extensions()
            .get::<Authenticated>()
            .and_then(|auth| {
                let tenant = match &auth.connection {
                    Some(live) => &live.tenant,
                    None => self.tenants.get(auth.tenant)?,
                };
                Some((tenant, auth.principal.clone()))
            });
        let Some((tenant, principal)) = found else {
            // Unreachable through the stack (the gate authenticates first); refuse anyway.
            return Err(Error::Unauthenticated(Rejection {
                detail: "the request did not pass authentication".to_owned(),
                reason: "unauthenticated",
                challenge: String::new(),
                unavailable: false,
                retry_after: None,
            }));
        };
        let span = tracing::Span::current();
        span.record("tenant", tenant.name.as_str());
        span.record("credential", principal.as_str());
        Ok((tenant, principal))
    }
}

impl tower::Service<Request<Bytes>> for Router {
    type Response = Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let router = self.clone();
        let in_flight = metrics::global().in_flight();
        Box::pin(async move {
            let _in_flight = in_flight;
            router.handle(request).await.map_err(Into::into)
        })
    }
}

impl Router {
    async fn handle(&self, request: Request<Bytes>) -> Result<Response, Error> {
        let started = Instant::now();
        let path = request.uri().path();
        let tenant = match routes::route(&self.bases, path) {
            Route::Healthz => return Ok(health(StatusCode::OK, "up")),
            Route::Readyz => return self.ready().await,
            Route::Metrics => {
                if !self.admin {
                    self.authenticated(&request)?;
                }
                return Ok(metrics_response());
            }
            Route::Audit => return self.audit(&request).await,
            Route::Unknown if self.admin && crate::connection::admin::is_admin_path(path) => {
                return Ok(
                    crate::connection::admin::handle(self.connections.as_ref(), &request).await,
                );
            }
            Route::Tenant { .. } | Route::Unknown if self.admin => {
                return Err(Error::NoRoute {
                    path: path.to_owned(),
                });
            }
            Route::Unknown => {
                let routed = self
                    .connections
                    .as_ref()
                    .and_then(|registry| registry.route(path, gate::host(&request)));
                let Some(routed) = routed else {
                    return Err(Error::NoRoute {
                        path: path.to_owned(),
                    });
                };
                let (tenant, principal) = self.authenticated(&request)?;
                (tenant, principal, routed.rest)
            }
            Route::Tenant { rest, .. } => {
                // Authenticated by the gate before anything that could tell an anonymous
                // caller more than "401", including whether the endpoint exists or the tenant
                // is switched off.
                let (tenant, principal) = self.authenticated(&request)?;
                (tenant, principal, rest)
            }
        };
        let (tenant, principal, rest) = tenant;
        let span = tracing::Span::current();
        if !tenant.enabled {
            return Err(Error::TenantDisabled {
                tenant: tenant.name.clone(),
            });
        }

        if let Some(endpoint) = routes::unimplemented(&rest) {
            return Err(Error::NotImplemented { endpoint });
        }
        let target = routes::target(&rest).ok_or_else(|| Error::NoRoute {
            path: path.to_owned(),
        })?;
        let operation = routes::operation(request.method(), &target).map_err(|allow| {
            Error::MethodNotAllowed {
                method: request.method().clone(),
                path: path.to_owned(),
                allow,
            }
        })?;
        let resource = target.resource;
        span.record("resource", metrics::resource_label(resource));
        span.record("operation", metrics::operation_label(resource, operation));
        if let Some(id) = &target.id {
            span.record("scim_id", id.as_str());
        }
        let result = self
            .scim(tenant, target, operation, &request, principal)
            .await;
        let status = match &result {
            Ok(response) => response.status().as_u16(),
            Err(error) => ScimError::from(error).status,
        };
        metrics::global().scim_request(resource, operation, status, started.elapsed());
        result
    }

    /// Parses the body, calls the tenant's service and renders its answer; records the backend
    /// calls made, the created id and the `scimType` on the request span.
    async fn scim(
        &self,
        tenant: &Tenant,
        target: routes::Target,
        operation: Operation,
        request: &Request<Bytes>,
        principal: String,
    ) -> Result<Response, Error> {
        let call = ScimCall {
            tenant: tenant.name.clone(),
            resource: target.resource,
            operation,
            id: target.id,
            query: query_pairs(request.uri().query()),
            body: body(request, operation)?,
            principal,
            request_id: request
                .extensions()
                .get::<RequestId>()
                .map(|id| id.0.clone())
                .unwrap_or_default(),
            backend_credential: request
                .extensions()
                .get::<gate::Authenticated>()
                .and_then(|auth| auth.backend_credential.clone()),
        };
        let (result, calls) = super::detach::call(Arc::clone(&tenant.service), call).await;
        let span = tracing::Span::current();
        span.record("backend_calls", calls);
        Ok(match result {
            Ok(reply) => {
                if operation == Operation::Create
                    && let Some(id) = reply
                        .body
                        .as_ref()
                        .and_then(|body| body.get("id"))
                        .and_then(serde_json::Value::as_str)
                {
                    span.record("scim_id", id);
                }
                let mut response = respond::scim_json(reply.status, reply.body.as_ref());
                if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok())
                {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                response
            }
            Err(error) => {
                if let Some(scim_type) = error
                    .scim_type
                    .and_then(|t| serde_json::to_value(t).ok())
                    .and_then(|t| t.as_str().map(str::to_owned))
                {
                    span.record("scim_type", scim_type.as_str());
                }
                // The detail is for the client only: it may quote the values sent (a taken
                // userName). The engine logs the cause of a failure without them.
                if error.status >= 500 {
                    tracing::warn!(status = error.status, "Engine failed");
                } else {
                    tracing::debug!(status = error.status, "Client error");
                }
                respond::scim_error(&error)
            }
        })
    }

    /// `GET /admin/audit?since=…&scimId=…&limit=…`: the authenticated tenant's entries (every
    /// tenant's on the admin listener), oldest first, as JSON.
    async fn audit(&self, request: &Request<Bytes>) -> Result<Response, Error> {
        let tenants: Vec<&Tenant> = if self.admin {
            self.tenants.iter().collect()
        } else {
            vec![self.authenticated(request)?.0]
        };
        if request.method() != http::Method::GET {
            return Err(Error::MethodNotAllowed {
                method: request.method().clone(),
                path: request.uri().path().to_owned(),
                allow: "GET",
            });
        }
        let query =
            audit::parse_query(&query_pairs(request.uri().query())).map_err(Error::AuditQuery)?;
        let mut entries = Vec::new();
        let mut kept = false;
        for tenant in tenants {
            match tenant.service.audit(query.clone()).await {
                Ok(Some(found)) => {
                    kept = true;
                    entries.extend(found);
                }
                Ok(None) => {}
                Err(reason) => return Err(Error::AuditRead { reason }),
            }
        }
        if !kept {
            return Err(Error::AuditDisabled);
        }
        entries.sort_by_key(|entry| (entry.at, entry.seq));
        entries.truncate(query.limit);
        let mut response = respond::scim_json(StatusCode::OK, Some(&audit::entries_json(&entries)));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(response)
    }

    /// `/readyz`: every enabled tenant's service answers its probe in time.
    /// A tenant's verdict is probed at most once per `server.limits.ready_cache` and reused in
    /// between, so anonymous hits cannot multiply backend calls.
    async fn ready(&self) -> Result<Response, Error> {
        let mut problems = Vec::new();
        for (index, tenant) in self.tenants.iter().enumerate() {
            if !tenant.enabled {
                continue;
            }
            let verdict = match self.ready.verdicts.get(index) {
                Some(slot) => {
                    let mut cached = slot.lock().await;
                    match &*cached {
                        Some((at, verdict)) if at.elapsed() < self.ready.interval => {
                            verdict.clone()
                        }
                        _ => {
                            let verdict = probe(tenant).await;
                            *cached = Some((Instant::now(), verdict.clone()));
                            verdict
                        }
                    }
                }
                None => probe(tenant).await,
            };
            if let Err(reason) = verdict {
                problems.push(format!("{}: {reason}", tenant.name));
            }
        }
        if problems.is_empty() {
            Ok(health(StatusCode::OK, "ready"))
        } else {
            Err(Error::NotReady {
                reasons: problems.join("; "),
            })
        }
    }
}

/// The refusal when no tenant or connection could check the credential.
fn no_tenant() -> Rejection {
    Rejection {
        detail: "no tenant is configured".to_owned(),
        reason: "no_tenant",
        challenge: String::new(),
        unavailable: false,
        retry_after: None,
    }
}

/// One tenant's readiness probe, bounded in time.
async fn probe(tenant: &Tenant) -> Result<(), String> {
    match tokio::time::timeout(READY_PROBE_TIMEOUT, tenant.service.ready()).await {
        Ok(result) => result,
        Err(_) => Err("readiness probe timed out".to_owned()),
    }
}

/// The metrics in OpenMetrics text.
fn metrics_response() -> Response {
    let mut response = http::Response::new(Full::new(Bytes::from(metrics::render())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    response
}

fn health(status: StatusCode, word: &str) -> Response {
    respond::scim_json(status, Some(&serde_json::json!({ "status": word })))
}

/// Decoded query pairs (`+` as space), unknown parameters included.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// The JSON body for operations that take one; other methods' bodies are ignored.
fn body(
    request: &Request<Bytes>,
    operation: Operation,
) -> Result<Option<serde_json::Value>, Error> {
    let required = match operation {
        Operation::Create | Operation::Replace | Operation::Patch => true,
        Operation::Search => false,
        Operation::List | Operation::Get | Operation::Delete => return Ok(None),
    };
    let bytes = request.body();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(Error::MissingBody)
        } else {
            Ok(None)
        };
    }
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        let text = content_type.to_str().unwrap_or_default();
        let essence = text
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/scim+json" && essence != "application/json" {
            return Err(Error::UnsupportedMediaType {
                content_type: text.to_owned(),
            });
        }
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|error| Error::InvalidJson {
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: Option<&str>, body: &str) -> Request<Bytes> {
        let mut builder = Request::post("/scim/v2/Users");
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        builder.body(Bytes::from(body.to_owned())).expect("request")
    }

    #[test]
    fn body_accepts_scim_json_json_and_no_content_type() {
        for content_type in [
            Some("application/scim+json; charset=utf-8"),
            Some("Application/JSON"),
            None,
        ] {
            let parsed = body(&request(content_type, r#"{"a":1}"#), Operation::Create);
            assert_eq!(parsed.expect("accepted"), Some(serde_json::json!({"a": 1})));
        }
    }

    #[test]
    fn body_refuses_other_types_bad_json_and_missing_bodies() {
        let xml = body(&request(Some("text/xml"), "<a/>"), Operation::Create);
        assert!(matches!(xml, Err(Error::UnsupportedMediaType { .. })));
        let broken = body(&request(None, "{"), Operation::Patch);
        assert!(matches!(broken, Err(Error::InvalidJson { .. })));
        assert!(matches!(
            body(&request(None, ""), Operation::Replace),
            Err(Error::MissingBody)
        ));
        assert!(matches!(
            body(&request(None, ""), Operation::Search),
            Ok(None)
        ));
        assert!(matches!(
            body(&request(None, "{"), Operation::Get),
            Ok(None)
        ));
    }

    #[test]
    fn query_pairs_decode_plus_and_percent_and_keep_unknown_parameters() {
        assert_eq!(
            query_pairs(Some("filter=userName+eq+%22a%40b%22&aadOptscim062020")),
            vec![
                ("filter".to_owned(), "userName eq \"a@b\"".to_owned()),
                ("aadOptscim062020".to_owned(), String::new()),
            ]
        );
    }
}
