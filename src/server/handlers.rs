//! The innermost service: health probes, tenant lookup, authentication, and the thin SCIM
//! handler (parse → [`ScimService`] → render).
//!
//! It decides nothing about SCIM semantics: the engine does. Failures are returned as
//! [`respond::Error`] and rendered at the stack's one edge; only the engine's own SCIM errors
//! are rendered here, as they already are wire errors.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, StatusCode};

use super::respond::{self, BoxError, Error, Response};
use super::routes::{self, Route};
use super::service::{BoxFuture, Operation, ScimCall};
use super::stack::RequestId;
use super::tenant::Tenant;

/// How long `/readyz` waits for one tenant's probe.
const READY_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Routes a request with a fully read body to a health probe or a tenant's SCIM handler.
#[derive(Clone, Debug)]
pub struct Router {
    tenants: Arc<[Tenant]>,
    bases: Arc<[Vec<String>]>,
}

impl Router {
    /// A router over `tenants`; base paths are compared case-insensitively.
    pub fn new(tenants: Vec<Tenant>) -> Self {
        let bases = tenants
            .iter()
            .map(|tenant| routes::base_segments(&tenant.base_path))
            .collect();
        Self {
            tenants: tenants.into(),
            bases,
        }
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
        Box::pin(async move { router.handle(request).await.map_err(Into::into) })
    }
}

impl Router {
    async fn handle(&self, request: Request<Bytes>) -> Result<Response, Error> {
        let path = request.uri().path();
        let (tenant, rest) = match routes::route(&self.bases, path) {
            Route::Healthz => return Ok(health(StatusCode::OK, "up")),
            Route::Readyz => return self.ready().await,
            Route::Unknown => {
                return Err(Error::NoRoute {
                    path: path.to_owned(),
                });
            }
            Route::Tenant { tenant, rest } => (&self.tenants[tenant], rest),
        };
        tracing::Span::current().record("tenant", tenant.name.as_str());

        // Authentication comes before anything that could tell an anonymous caller more than
        // "401", including whether the endpoint exists or the tenant is switched off.
        let principal = tenant
            .auth
            .authenticate(request.headers())
            .await
            .map_err(Error::Unauthenticated)?;
        if !tenant.enabled {
            return Err(Error::TenantDisabled {
                tenant: tenant.name.clone(),
            });
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
        let call = ScimCall {
            tenant: tenant.name.clone(),
            resource: target.resource,
            operation,
            id: target.id,
            query: query_pairs(request.uri().query()),
            body: body(&request, operation)?,
            principal,
            request_id: request
                .extensions()
                .get::<RequestId>()
                .map(|id| id.0.clone())
                .unwrap_or_default(),
        };
        Ok(match tenant.service.call(call).await {
            Ok(reply) => {
                let mut response = respond::scim_json(reply.status, reply.body.as_ref());
                if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok())
                {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                response
            }
            Err(error) => {
                if error.status >= 500 {
                    tracing::warn!(
                        status = error.status,
                        detail = error.detail,
                        "Engine failed"
                    );
                } else {
                    tracing::debug!(status = error.status, detail = error.detail, "Client error");
                }
                respond::scim_error(&error)
            }
        })
    }

    /// `/readyz`: every enabled tenant's service answers its probe in time.
    async fn ready(&self) -> Result<Response, Error> {
        let mut problems = Vec::new();
        for tenant in self.tenants.iter().filter(|tenant| tenant.enabled) {
            match tokio::time::timeout(READY_PROBE_TIMEOUT, tenant.service.ready()).await {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => problems.push(format!("{}: {reason}", tenant.name)),
                Err(_) => problems.push(format!("{}: readiness probe timed out", tenant.name)),
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
