//! The request the engine asks for and the answer it gets back.
//!
//! Plain data: the mapping fills these in (with every path value already percent-encoded);
//! the client checks and sends them.

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::Value;

use crate::operation::BackendOp;

/// One call to the backend, as planned by the engine.
///
/// Its `Debug` shows the template, header names and whether there is a body, never the
/// filled-in path, header values or body (they may hold personal data or credentials).
#[derive(Clone)]
pub struct BackendRequest {
    /// What the call is for; its `Display` labels logs, metrics and error details (`users.get`).
    pub operation: BackendOp,
    /// HTTP method.
    pub method: Method,
    /// The path template, e.g. `/api/v1/users/{id}`: logged, unlike the filled-in path.
    pub path_template: String,
    /// The filled-in path and query, already percent-encoded by the mapping; appended to the
    /// base URL's path.
    pub path_and_query: String,
    /// Extra headers (auth headers are added by the client and win over these).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// JSON body, sent as `application/json`.
    pub body: Option<Value>,
    /// The request carries its own credential header (a forwarded product key): the client
    /// adds none of `backend.auth`'s.
    pub own_credential: bool,
}

impl BackendRequest {
    /// A request without headers or body.
    pub fn new(
        operation: BackendOp,
        method: Method,
        path_template: impl Into<String>,
        path_and_query: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            method,
            path_template: path_template.into(),
            path_and_query: path_and_query.into(),
            headers: Vec::new(),
            body: None,
            own_credential: false,
        }
    }

    /// The same request with a JSON body.
    #[must_use]
    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

impl std::fmt::Debug for BackendRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("BackendRequest")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("path_template", &self.path_template)
            .field("headers", &header_names)
            .field("body", &self.body.as_ref().map(|_| "<json>"))
            .finish_non_exhaustive()
    }
}

/// A successful (2xx) backend answer.
#[derive(Debug, Clone)]
pub struct BackendResponse {
    /// The backend's status (always 2xx).
    pub status: StatusCode,
    /// The backend's headers (e.g. `Location`, `ETag`).
    pub headers: HeaderMap,
    /// The JSON body; `None` when the body is empty (204, or length 0).
    pub body: Option<Value>,
}
