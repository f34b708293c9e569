//! The one edge where any request-time failure becomes a SCIM error response.
//!
//! Layers and handlers fail with [`Error`] (boxed) or with tower's own boxed errors (timeout,
//! load shed); [`rescue`] downcasts them here, in one place, as linkerd's "rescue" does. The
//! client sees a SCIM error body (`application/scim+json`) and only a generic detail for our
//! own faults; the cause goes to the log. The status and detail of each error are decided in
//! `crate::error`, the one place for every layer; nothing in `server/` picks an error status.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::Full;

use super::tenant::Rejection;
use crate::scim::ScimError;

/// Every response the server sends: small, buffered JSON.
pub type Response = http::Response<Full<Bytes>>;

/// The boxed error tower layers use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The media type of every SCIM response (RFC 7644 §3.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// What went wrong with one request before or around the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No tenant base path or SCIM endpoint matches the path.
    #[error("no SCIM endpoint at {path}")]
    NoRoute {
        /// The request path.
        path: String,
    },
    /// An RFC 7644 endpoint the gateway does not implement (`/Me`, `/Bulk`).
    #[error("{endpoint:?} is not implemented")]
    NotImplemented {
        /// Which one.
        endpoint: super::routes::Unimplemented,
    },
    /// The endpoint exists but does not take this method.
    #[error("{method} is not supported on {path}")]
    MethodNotAllowed {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The methods the endpoint does take, for the `Allow` header.
        allow: &'static str,
    },
    /// The body's `Content-Type` is neither SCIM JSON nor JSON.
    #[error("content type {content_type} is not accepted")]
    UnsupportedMediaType {
        /// The `Content-Type` the client sent.
        content_type: String,
    },
    /// The body is not JSON.
    #[error("request body is not valid JSON: {reason}")]
    InvalidJson {
        /// The JSON parser's message (line and column).
        reason: String,
    },
    /// A create, replace or patch came without a body.
    #[error("request body is required")]
    MissingBody,
    /// The body is larger than `server.limits.max_body_bytes`.
    #[error("request body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The body did not arrive within `server.limits.body_read_timeout`.
    #[error("the request body did not arrive within {limit:?}")]
    BodyTimeout {
        /// The configured limit.
        limit: std::time::Duration,
    },
    /// The budget of not-yet-authenticated requests (in total or for this peer) is used up.
    #[error("too many unauthenticated requests in flight")]
    AnonymousBusy {
        /// It was this peer's share that is used up (else the total).
        per_peer: bool,
    },
    /// The connection failed while the body was being read.
    #[error("reading the request body failed: {reason}")]
    BodyRead {
        /// What hyper reported.
        reason: String,
    },
    /// The headers are larger than `server.limits.max_header_bytes`.
    #[error("request headers take {size} bytes, more than {limit}")]
    HeadersTooLarge {
        /// Bytes of header names and values.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The URI is longer than `server.limits.max_uri_bytes`.
    #[error("request URI takes {size} bytes, more than {limit}")]
    UriTooLong {
        /// Bytes of the URI.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The tenant's authenticator refused the credentials (or could not check them).
    #[error("not authenticated: {}", .0.detail)]
    Unauthenticated(Rejection),
    /// The tenant's "SCIM sync active" switch is off.
    #[error("tenant {tenant} is disabled")]
    TenantDisabled {
        /// The tenant's name.
        tenant: String,
    },
    /// A readiness probe failed.
    #[error("not ready: {reasons}")]
    NotReady {
        /// What each failing tenant reported.
        reasons: String,
    },
    /// The `/admin/audit` query parameters are not understood.
    #[error("bad audit query: {0}")]
    AuditQuery(crate::audit::Error),
    /// `/admin/audit` was asked but no tenant keeps an audit trail (`audit.enabled: false`).
    #[error("the audit trail is disabled")]
    AuditDisabled,
    /// The store could not read the audit trail.
    #[error("reading the audit trail failed: {reason}")]
    AuditRead {
        /// The store's message.
        reason: String,
    },
    /// The handler or a layer panicked; caught by the panic layer.
    #[error("request handler panicked: {message}")]
    Panicked {
        /// The panic payload, when it was a string.
        message: String,
    },
}

/// Turns any error of the stack into a SCIM error response, logging the cause. Which status and
/// detail each error gets is decided in `crate::error`; this edge only logs and adds the headers
/// a status calls for (`Allow`, `WWW-Authenticate`, `Retry-After`).
pub fn rescue(error: &BoxError, request_id: &str) -> Response {
    if let Some(error) = error.downcast_ref::<Error>() {
        return respond(error, request_id);
    }
    if error.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!(request_id, "Request timed out");
        return scim_error(&crate::error::timed_out());
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        tracing::warn!(request_id, "Request shed: too many concurrent requests");
        return scim_error(&crate::error::overloaded());
    }
    tracing::error!(request_id, error = %error, "Unexpected error in the request stack");
    scim_error(&crate::error::internal_request(request_id))
}

fn respond(error: &Error, request_id: &str) -> Response {
    log(error, request_id);
    let scim = match error {
        Error::Panicked { .. } => crate::error::internal_request(request_id),
        _ => ScimError::from(error),
    };
    let mut response = scim_error(&scim);
    match error {
        Error::MethodNotAllowed { allow, .. } => {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        Error::Unauthenticated(rejection)
            if !rejection.unavailable && rejection.retry_after.is_none() =>
        {
            let challenge = HeaderValue::from_str(&rejection.challenge)
                .ok()
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| HeaderValue::from_static("Bearer realm=\"scimgate\""));
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        _ => {}
    }
    response
}

/// Logs a request-time failure at the level its class calls for.
fn log(error: &Error, request_id: &str) {
    match error {
        Error::NoRoute { path } => tracing::debug!(request_id, path, "No route"),
        Error::BodyTimeout { limit } => {
            tracing::info!(request_id, ?limit, "Request body too slow; refused");
        }
        Error::AnonymousBusy { per_peer } => tracing::info!(
            request_id,
            per_peer,
            "Unauthenticated request refused: server.limits.anonymous_concurrency or \
             anonymous_per_peer reached"
        ),
        Error::BodyRead { reason } => {
            tracing::info!(request_id, reason, "Request body could not be read");
        }
        Error::Unauthenticated(rejection) if rejection.unavailable => tracing::warn!(
            request_id,
            reason = rejection.reason,
            detail = rejection.detail,
            "Credentials could not be checked"
        ),
        // The detail names what failed and what to fix (never the credential); the client
        // only gets a generic 401.
        Error::Unauthenticated(rejection) => tracing::info!(
            request_id,
            reason = rejection.reason,
            detail = rejection.detail,
            "Request not authenticated"
        ),
        Error::NotReady { reasons } => tracing::warn!(request_id, reasons, "Not ready"),
        Error::AuditRead { reason } => {
            tracing::error!(request_id, reason, "Audit trail could not be read");
        }
        Error::Panicked { message } => {
            tracing::error!(request_id, message, "Request handler panicked");
        }
        _ => {}
    }
}

/// Renders a SCIM error as an `application/scim+json` response with its status.
///
/// A `429` or `503` always carries `Retry-After`: the seconds the backend asked for when it
/// said, else 1 (Entra and other clients back off on it; the error body alone says nothing).
pub fn scim_error(error: &ScimError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = scim_json(status, Some(&error.to_json()));
    let seconds = error
        .retry_after
        .or_else(|| matches!(error.status, 429 | 503).then_some(1));
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Renders a JSON body (or none) as an `application/scim+json` response.
pub fn scim_json(status: StatusCode, body: Option<&serde_json::Value>) -> Response {
    // `to_vec` writes straight into the buffer; `to_string` goes through `fmt::Display` and
    // costs about twice the instructions. A `Value` always serialises (string keys only).
    let bytes = body
        .map(|body| Bytes::from(serde_json::to_vec(body).unwrap_or_default()))
        .unwrap_or_default();
    let mut response = http::Response::new(Full::new(bytes));
    *response.status_mut() = status;
    if body.is_some() {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(response: &Response) -> Option<&str> {
        response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
    }

    #[test]
    fn scim_errors_carry_the_backends_retry_after() {
        let busy = ScimError::new(503, "backend busy").with_retry_after(Some(7));
        let response = scim_error(&busy);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(&response), Some("7"));
        let limited = ScimError::new(429, "rate limited").with_retry_after(Some(3));
        assert_eq!(retry_after(&scim_error(&limited)), Some("3"));
    }

    #[test]
    fn throttling_errors_always_say_when_to_retry_and_others_never() {
        assert_eq!(
            retry_after(&scim_error(&ScimError::new(429, "rate limited"))),
            Some("1")
        );
        assert_eq!(
            retry_after(&scim_error(&ScimError::new(503, "busy"))),
            Some("1")
        );
        assert_eq!(
            retry_after(&scim_error(&ScimError::new(502, "backend broke"))),
            None
        );
        assert_eq!(retry_after(&scim_error(&ScimError::new(404, "gone"))), None);
    }
}
