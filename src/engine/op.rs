//! One SCIM operation in progress: its deadline, its backend-call count, and the one log line
//! written when it ends.
//!
//! Every backend call of the engine goes through [`Op::call`], so the shared deadline, the
//! operation label (`users.get`) and the classification of backend error answers by the
//! mapping's `errors:` rules happen in one place.

use std::sync::atomic::{AtomicU32, Ordering};

use http::{HeaderName, HeaderValue};
use serde_json::Value;
use tokio::time::Instant;

use super::{Engine, Error};
use crate::backend::{self, BackendRequest, BackendResponse};
use crate::error::Fault;
use crate::mapping::{ErrorClass, OpName, RenderedRequest, ResourceMapping, Vars};
use crate::operation::BackendOp;
use crate::scim::ResourceKind;

/// The context of one SCIM operation.
#[derive(Debug)]
pub(crate) struct Op<'e> {
    pub(crate) engine: &'e Engine,
    pub(crate) resource: &'e ResourceMapping,
    operation: &'static str,
    id: Option<String>,
    started: Instant,
    pub(crate) deadline: Instant,
    calls: AtomicU32,
}

impl<'e> Op<'e> {
    /// Starts the clock: the deadline is `options.deadline` from now.
    pub(crate) fn new(
        engine: &'e Engine,
        resource: &'e ResourceMapping,
        operation: &'static str,
        id: Option<&str>,
    ) -> Self {
        let started = Instant::now();
        Self {
            engine,
            resource,
            operation,
            id: id.map(str::to_owned),
            started,
            deadline: started + engine.options.deadline,
            calls: AtomicU32::new(0),
        }
    }

    /// The context an undo runs in: this operation's engine and resource with a fresh
    /// deadline, so the writes that landed before a call ran out of time can still be undone.
    pub(crate) fn for_undo(&self) -> Self {
        Self::new(
            self.engine,
            self.resource,
            self.operation,
            self.id.as_deref(),
        )
    }

    /// Gives this operation `by` more time (a `reconcile` reads every page of a backend).
    pub(crate) fn extend_deadline(&mut self, by: std::time::Duration) {
        self.deadline += by;
    }

    /// `User` or `Group`.
    pub(crate) fn resource_type(&self) -> &'static str {
        self.resource.resource_type()
    }

    /// The resource kind this operation works on.
    pub(crate) fn kind(&self) -> ResourceKind {
        self.resource.kind()
    }

    /// The backend operation `name` of this resource type.
    pub(crate) fn backend_op(&self, name: OpName) -> BackendOp {
        BackendOp::new(self.kind(), name)
    }

    /// The label of a backend operation of this resource type, e.g. `users.create`.
    pub(crate) fn label(&self, name: OpName) -> String {
        self.backend_op(name).to_string()
    }

    /// Remembers the SCIM id once it is known (create), for the log line.
    pub(crate) fn set_id(&mut self, id: &str) {
        self.id = Some(id.to_owned());
    }

    /// The SCIM id this operation works on, once known (`""` before).
    pub(crate) fn scim_id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }

    /// Backend calls made so far.
    pub(crate) fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Renders and sends one backend call. Error answers are classified with the mapping's
    /// `errors:` rules: uniqueness → [`Error::Uniqueness`], invalid value → [`Error::Rejected`];
    /// everything else stays a [`backend::Error`] for `crate::error` to classify. A body the
    /// operation's `answer` JSONPath unwraps (`{"user": {...}}`) is the resource itself.
    pub(crate) async fn call(&self, name: OpName, vars: &Vars) -> Result<BackendResponse, Error> {
        let rendered = self.resource.render(name, &self.with_connection(vars))?;
        let mut response = self.send(self.backend_op(name), rendered).await?;
        response.body = response
            .body
            .take()
            .and_then(|body| self.resource.unwrap_answer(name, body));
        Ok(response)
    }

    /// `vars` with the connection's `{conn.NAME}` values (borrowed as is when there are none).
    pub(crate) fn with_connection<'v>(&self, vars: &'v Vars) -> std::borrow::Cow<'v, Vars> {
        let variables = self.engine.variables();
        if variables.is_empty() {
            std::borrow::Cow::Borrowed(vars)
        } else {
            std::borrow::Cow::Owned(vars.clone().with_connection(variables))
        }
    }

    /// Sends an already rendered request (also used for next-page links).
    pub(crate) async fn send(
        &self,
        operation: BackendOp,
        rendered: RenderedRequest,
    ) -> Result<BackendResponse, Error> {
        let mut request = to_request(operation, rendered)?;
        if let Some((name, value)) = self
            .engine
            .mapping
            .connection_auth_header(self.engine.variables())
        {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::Backend(backend::Error::InvalidConfig {
                    reason: "backend.auth: the header name is not valid HTTP".to_owned(),
                })
            })?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                Error::Backend(backend::Error::InvalidConfig {
                    reason: "backend.auth: the connection's value is not a valid header value"
                        .to_owned(),
                })
            })?;
            value.set_sensitive(true);
            request.headers.push((name, value));
        }
        // A product key the gateway checked for this request is the backend credential of
        // every call it makes (`product_keys:`).
        if let Some(key) = backend::forwarded() {
            request.headers.retain(|(name, _)| *name != key.name);
            request.headers.push((key.name, key.value));
            request.own_credential = true;
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let result = self.engine.backend.call(request, self.deadline).await;
        self.take_answer(operation, result)
    }

    /// A backend call's result as the engine takes it: error answers classified by the
    /// mapping's `errors:` rules, and a 2xx an error rule calls a refusal made that refusal.
    pub(crate) fn take_answer(
        &self,
        operation: BackendOp,
        result: Result<BackendResponse, backend::Error>,
    ) -> Result<BackendResponse, Error> {
        match result {
            Ok(response) if self.resource.has_success_rules() => {
                // A 2xx whose body an error rule calls a refusal is that refusal.
                let error = backend::Error::refused_success(operation, &response);
                if self.matches_rule(&error) {
                    Err(self.classify(error))
                } else {
                    Ok(response)
                }
            }
            Ok(response) => Ok(response),
            Err(error) => Err(self.classify(error)),
        }
    }

    /// Whether one of the mapping's error rules matches this backend error.
    fn matches_rule(&self, error: &backend::Error) -> bool {
        let backend::Error::Status {
            operation,
            status,
            message,
            body,
            ..
        } = error
        else {
            return false;
        };
        self.resource
            .classify_error(op_name(*operation), status.as_u16(), message, body.as_ref())
            .is_some()
    }

    fn classify(&self, error: backend::Error) -> Error {
        let backend::Error::Status {
            operation,
            status,
            message,
            body,
            ..
        } = &error
        else {
            return Error::Backend(error);
        };
        let name = op_name(*operation);
        let matched =
            self.resource
                .classify_error_rule(name, status.as_u16(), message, body.as_ref());
        // The detail says the backend status and the rule's meaning; the backend's own text
        // only when the rule opts in (`show_message: true`).
        let shown = |meaning: &str, show: bool| {
            if show {
                format!("{}, {meaning}: {message}", status.as_u16())
            } else {
                format!("{}, {meaning} (error rule)", status.as_u16())
            }
        };
        match matched {
            Some((ErrorClass::Uniqueness, show)) => Error::Uniqueness {
                operation: operation.to_string(),
                message: shown("the value is already taken", show),
                value: None,
            },
            Some((ErrorClass::InvalidValue, show)) => Error::Rejected {
                operation: operation.to_string(),
                message: shown("a value is not acceptable", show),
            },
            // A classified not-found keeps its facts; `is_not_found` and `crate::error` read
            // the status. A non-404 not-found is rare enough to carry as a 404 by id.
            Some((ErrorClass::NotFound, _)) if status.as_u16() != 404 => Error::NotFound {
                resource_type: self.resource_type().to_owned(),
                id: self.id.clone().unwrap_or_default(),
            },
            _ => Error::Backend(error),
        }
    }

    /// Writes the one log line of this operation and passes the result through.
    pub(crate) fn finish<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        self.log(result.as_ref().err());
        result
    }

    /// Logs the outcome: `debug` for success and client faults (the server's "Request
    /// finished" line is the `info` line of a SCIM request: it carries request id, status,
    /// `scimType` and backend calls too), `warn` for upstream faults and `error` for ours (with
    /// the error, which never holds bodies or credentials); `crate::error::classify` decides.
    fn log(&self, error: Option<&Error>) {
        let duration_ms = self.started.elapsed().as_millis() as u64;
        let id = self.id.as_deref().unwrap_or("");
        let calls = self.calls();
        match error {
            None => tracing::debug!(
                tenant = %self.engine.tenant,
                resource = self.resource_type(),
                operation = self.operation,
                scim_id = id,
                outcome = "ok",
                backend_calls = calls,
                duration_ms,
                "SCIM operation."
            ),
            Some(error) => match crate::error::classify(error).fault {
                Fault::Client => tracing::debug!(
                    tenant = %self.engine.tenant,
                    resource = self.resource_type(),
                    operation = self.operation,
                    scim_id = id,
                    outcome = "client error",
                    backend_calls = calls,
                    duration_ms,
                    "SCIM operation."
                ),
                Fault::Upstream => tracing::warn!(
                    tenant = %self.engine.tenant,
                    resource = self.resource_type(),
                    operation = self.operation,
                    scim_id = id,
                    outcome = "failed",
                    backend_calls = calls,
                    duration_ms,
                    error = %error,
                    "SCIM operation."
                ),
                Fault::Internal => tracing::error!(
                    tenant = %self.engine.tenant,
                    resource = self.resource_type(),
                    operation = self.operation,
                    scim_id = id,
                    outcome = "internal error",
                    backend_calls = calls,
                    duration_ms,
                    error = %error,
                    "SCIM operation."
                ),
            },
        }
    }
}

/// The mapping operation a backend error belongs to, for the `errors: on:` rules (the token
/// request is none of the mapping's; it reads as `list`, as an unparsable label did before).
fn op_name(operation: BackendOp) -> OpName {
    operation.name().unwrap_or(OpName::List)
}

/// A rendered mapping request as a backend client request.
fn to_request(operation: BackendOp, rendered: RenderedRequest) -> Result<BackendRequest, Error> {
    let bad = |reason: String| {
        Error::Backend(backend::Error::InvalidConfig {
            reason: format!("operation {operation}: {reason}"),
        })
    };
    let mut request = BackendRequest::new(
        operation,
        rendered.method,
        rendered.path_template,
        rendered.path_and_query,
    );
    for (name, value) in rendered.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(format!("invalid header name `{name}`")))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| bad(format!("invalid value for header `{name}`")))?;
        request.headers.push((header, value));
    }
    request.body = rendered.body;
    Ok(request)
}

/// The JSON body of a backend answer, or a [`Error::BadAnswer`] naming what is missing.
pub(crate) fn body_of(label: &str, response: BackendResponse) -> Result<Value, Error> {
    response.body.ok_or_else(|| Error::BadAnswer {
        operation: label.to_owned(),
        missing: "a JSON body".to_owned(),
    })
}
