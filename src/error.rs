//! The one place where an error of any layer becomes an HTTP status and a SCIM error body.
//!
//! Classified by fault, as pingora does: the client's fault is a 4xx with a `scimType`,
//! the backend's a 502/504 (or 429/503 with `Retry-After`), ours a 500 with a generic detail.
//!
//! | what happened | SCIM answer |
//! |---|---|
//! | unparsable filter / path / PATCH / query | 400 `invalidFilter` / `invalidPath` / per error |
//! | the mapping refuses a value (required, allowed, domain, type) | 400 `invalidValue` |
//! | a filter the mapping cannot push down | 400 `invalidFilter` |
//! | resource (or backend object) not found | 404 |
//! | backend 409, or an answer the mapping classifies as duplicate | 409 `uniqueness` |
//! | backend 400/422, or classified invalid value; unknown group member | 400 `invalidValue` |
//! | backend 429 / 503 | 429 / 503 with `Retry-After` when the backend sent one |
//! | other backend 4xx/5xx, unreachable, reset, unreadable answer | 502 |
//! | backend timeout or the operation's deadline passed | 504 |
//! | store or other internal fault | 500 with a generic detail (cause logged) |
//!
//! Every backend detail names the failed call (`backend call users.create failed: …`) so the
//! admin reading Entra's provisioning log knows which call to look at.
//!
//! [`classify`] is the one table: it gives the status, the `scimType` and the [`Fault`] (whose
//! fault it is), and both the conversions below and the engine's operation log line read it,
//! so "answered 4xx" and "logged as the client's fault" cannot disagree. The engine's line is
//! `debug` for a client fault (the server's `info` line has the status), `warn` for the
//! backend's, `error` for ours; an internal fault's cause is also logged here, at `error`.
//!
//! This module imports nothing from `crate::server`: the request-level errors the server finds
//! before the engine runs are converted in `server/request_error.rs`, with the helpers here.

use crate::engine;
use crate::scim::{ScimError, ScimType};
use crate::{backend, mapping, scim, store};

/// The generic detail of a 500: the cause is logged, never sent.
pub(crate) const INTERNAL_DETAIL: &str =
    "internal error in the gateway; the cause is in the gateway's log";

fn internal(cause: &dyn std::fmt::Display) -> ScimError {
    tracing::error!(error = %cause, "Internal error answered with 500.");
    ScimError::new(500, INTERNAL_DETAIL)
}

/// A SCIM error with a `scimType`, for the conversions of every layer (also `server/request_error.rs`).
pub(crate) fn with_type(status: u16, scim_type: ScimType, detail: impl Into<String>) -> ScimError {
    let mut error = ScimError::new(status, detail);
    error.scim_type = Some(scim_type);
    error
}

/// The request took longer than `server.limits.request_timeout`.
pub fn timed_out() -> ScimError {
    ScimError::new(504, "The request did not complete in time; retry later.")
}

/// More requests in flight than `server.limits.max_concurrency`: shed, to be retried.
pub fn overloaded() -> ScimError {
    ScimError::new(503, "The gateway is busy; retry in a second.").with_retry_after(Some(1))
}

/// A fault of ours in the request stack (a panic, an unexpected layer error): generic detail
/// with the request id, so the admin can find the cause in the gateway's log.
pub fn internal_request(request_id: &str) -> ScimError {
    ScimError::new(
        500,
        format!("Internal error in the gateway (request id {request_id})."),
    )
}

/// Whose fault a failure is. It decides the log level of the operation's line: a client's
/// fault is `debug` (the server's `info` "Request finished" line carries status and
/// `scimType`), the backend's `warn`, ours `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request asked for something wrong or impossible: fix the request (or the data).
    Client,
    /// The backend failed, refused the gateway, or answered something unusable.
    Upstream,
    /// The gateway's own fault (store, configuration, a bug): fix the gateway.
    Internal,
}

/// How a failure is answered: the one classifier, read by the conversions below (status and
/// `scimType`) and by the engine's operation log line (fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// The HTTP status answered.
    pub status: u16,
    /// The RFC 7644 error type, where one applies.
    pub scim_type: Option<ScimType>,
    /// Whose fault it is.
    pub fault: Fault,
}

impl Class {
    const fn client(status: u16, scim_type: Option<ScimType>) -> Self {
        Self {
            status,
            scim_type,
            fault: Fault::Client,
        }
    }

    const fn invalid(scim_type: ScimType) -> Self {
        Self::client(400, Some(scim_type))
    }

    const fn upstream(status: u16) -> Self {
        Self {
            status,
            scim_type: None,
            fault: Fault::Upstream,
        }
    }

    const fn internal(status: u16) -> Self {
        Self {
            status,
            scim_type: None,
            fault: Fault::Internal,
        }
    }

    /// This class with `detail`, as the SCIM error sent.
    fn error(self, detail: impl Into<String>) -> ScimError {
        let mut error = ScimError::new(self.status, detail);
        error.scim_type = self.scim_type;
        error
    }
}

/// The class of a failed SCIM operation (the table in this module's doc).
pub fn classify(error: &engine::Error) -> Class {
    use engine::Error as E;
    match error {
        E::UnknownResourceType(_) | E::NotFound { .. } => Class::client(404, None),
        E::NotAnObject => Class::invalid(ScimType::InvalidSyntax),
        E::Invalid(_) | E::Rejected { .. } | E::UnknownMembers { .. } | E::MemberRefused { .. } => {
            Class::invalid(ScimType::InvalidValue)
        }
        E::Mapping(inner) => classify_mapping(inner),
        E::Patch(inner) => Class::invalid(inner.scim_type()),
        E::Filter(_) => Class::invalid(ScimType::InvalidFilter),
        E::Uniqueness { .. } | E::Taken { .. } => Class::client(409, Some(ScimType::Uniqueness)),
        E::TooMany { .. } => Class::invalid(ScimType::TooMany),
        // A partial change is never the client's fault: 5xx, the source's when it is one
        // already (504 stays 504), else 502.
        E::Partial { source, .. } => {
            let inner = classify(source);
            match inner.fault {
                Fault::Internal => Class::internal(inner.status),
                _ if inner.status >= 500 => Class::upstream(inner.status),
                _ => Class::upstream(502),
            }
        }
        E::Backend(inner) => classify_backend(inner),
        E::BadAnswer { .. } | E::ForeignNextLink { .. } => Class::upstream(502),
        E::Store(_) => Class::internal(500),
    }
}

/// The class of a backend failure no mapping `errors:` rule turned into something else.
pub fn classify_backend(error: &backend::Error) -> Class {
    use backend::Error as B;
    match error {
        B::Status { status, .. } => backend_status(status.as_u16()),
        B::Unavailable { .. } | B::Decode { .. } | B::Token { .. } => Class::upstream(502),
        B::Timeout { .. } => Class::upstream(504),
        B::UnsafePath { .. } | B::UnsafeHeader { .. } => Class::invalid(ScimType::InvalidValue),
        B::InvalidConfig { .. } => Class::internal(500),
    }
}

/// The class of a backend answer's status that no `errors:` rule matched (also what a mapping's
/// `backend_error:` test case predicts for one).
pub fn backend_status(code: u16) -> Class {
    match code {
        404 => Class::client(404, None),
        409 => Class::client(409, Some(ScimType::Uniqueness)),
        400 | 422 => Class::invalid(ScimType::InvalidValue),
        429 | 503 => Class::upstream(code),
        // 401/403: the backend refused the gateway's credentials; not the SCIM client's fault.
        _ => Class::upstream(502),
    }
}

/// The class of a mapping failure.
pub fn classify_mapping(error: &mapping::Error) -> Class {
    use mapping::Error as M;
    match error {
        M::NotAllowed { .. }
        | M::DomainNotAllowed { .. }
        | M::Required { .. }
        | M::WrongType { .. }
        | M::AmbiguousPrimary { .. }
        | M::SeveralPrimary { .. }
        | M::Conflict { .. }
        | M::UnsafePathValue { .. }
        | M::UnsafeHeaderValue { .. } => Class::invalid(ScimType::InvalidValue),
        M::UnsupportedFilter { .. } | M::TooManyAlternatives { .. } => {
            Class::invalid(ScimType::InvalidFilter)
        }
        M::NotAnObject => Class::invalid(ScimType::InvalidSyntax),
        // The mapping does not define the operation: the gateway's configuration, not the
        // client's request; 501 says "not implemented here".
        M::NoOperation { .. } => Class::internal(501),
        M::MissingValue { .. } | M::BadTestCase(_) => Class::internal(500),
    }
}

impl From<engine::Error> for ScimError {
    fn from(error: engine::Error) -> Self {
        use engine::Error as E;
        let class = classify(&error);
        match error {
            E::Mapping(inner) => inner.into(),
            E::Backend(inner) => inner.into(),
            E::Store(inner) => inner.into(),
            E::Partial { .. } => {
                let partial = error.partial_summary();
                let mut scim = class.error(error.to_string());
                scim.partial = partial;
                scim
            }
            E::BadAnswer { .. } | E::ForeignNextLink { .. } => {
                class.error(format!("{error}; check the mapping's paths for this call"))
            }
            _ if class.fault == Fault::Internal => internal(&error),
            _ => class.error(error.to_string()),
        }
    }
}

impl From<backend::Error> for ScimError {
    fn from(error: backend::Error) -> Self {
        use backend::Error as B;
        let class = classify_backend(&error);
        let retry_after = error.retry_after().map(|d| d.as_secs().max(1));
        let detail = match &error {
            B::Status {
                operation, status, ..
            } => {
                let code = status.as_u16();
                let failed = format!("backend call {operation} failed: {code}");
                // The backend's own text is not quoted (it may hold values, emails, tokens);
                // a mapping's error rule may opt in with `show_message: true`.
                match code {
                    404 => format!("{failed}, not found"),
                    409 => format!("{failed}, a value is already taken"),
                    400 | 422 => format!("{failed}, a value was refused (no error rule matched)"),
                    429 => format!("{failed}, the backend is rate limiting; retry later"),
                    503 => format!("{failed} from the backend; retry later"),
                    401 | 403 => format!("{failed}: the backend refused the gateway's credentials"),
                    _ => failed,
                }
            }
            B::Unavailable { operation, reason } => {
                format!("backend call {operation} failed: backend unreachable ({reason})")
            }
            B::Decode { operation, .. } => format!(
                "backend call {operation} failed: the backend's answer is not readable JSON"
            ),
            B::Timeout { operation } => {
                format!("backend call {operation} failed: no answer before the deadline")
            }
            B::Token { .. } => {
                format!("{error}; the gateway could not authenticate to the backend")
            }
            B::UnsafePath { .. } | B::UnsafeHeader { .. } => error.to_string(),
            B::InvalidConfig { .. } => return internal(&error),
        };
        let scim = class.error(detail);
        if matches!(class.status, 429 | 503) {
            scim.with_retry_after(retry_after)
        } else {
            scim
        }
    }
}

impl From<mapping::Error> for ScimError {
    fn from(error: mapping::Error) -> Self {
        let class = classify_mapping(&error);
        match class {
            Class {
                status: 500,
                fault: Fault::Internal,
                ..
            } => internal(&error),
            _ => class.error(error.to_string()),
        }
    }
}

impl From<store::Error> for ScimError {
    fn from(error: store::Error) -> Self {
        internal(&error)
    }
}

impl From<scim::filter::Error> for ScimError {
    fn from(error: scim::filter::Error) -> Self {
        Self::bad_request(ScimType::InvalidFilter, error.to_string())
    }
}

impl From<scim::path::Error> for ScimError {
    fn from(error: scim::path::Error) -> Self {
        Self::bad_request(ScimType::InvalidPath, error.to_string())
    }
}

impl From<scim::patch::Error> for ScimError {
    fn from(error: scim::patch::Error) -> Self {
        Self::bad_request(error.scim_type(), error.to_string())
    }
}

impl From<scim::query::Error> for ScimError {
    fn from(error: scim::query::Error) -> Self {
        Self::bad_request(error.scim_type(), error.to_string())
    }
}

#[cfg(test)]
mod tests;
