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
//! admin reading Entra's provisioning log knows which call to look at. Log levels follow the
//! class: client faults are not logged here (the engine's operation line has them at `info`),
//! upstream faults at `warn` (by the engine), internal faults at `error` here.
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

impl From<engine::Error> for ScimError {
    fn from(error: engine::Error) -> Self {
        use engine::Error as E;
        match error {
            E::UnknownResourceType(_) | E::NotFound { .. } => Self::new(404, error.to_string()),
            E::NotAnObject => Self::bad_request(ScimType::InvalidSyntax, error.to_string()),
            E::Invalid(_)
            | E::Rejected { .. }
            | E::UnknownMembers { .. }
            | E::MemberRefused { .. } => {
                Self::bad_request(ScimType::InvalidValue, error.to_string())
            }
            E::Mapping(inner) => inner.into(),
            E::Patch(inner) => inner.into(),
            E::Filter(inner) => inner.into(),
            E::Uniqueness { .. } | E::Taken { .. } => {
                with_type(409, ScimType::Uniqueness, error.to_string())
            }
            E::TooMany { .. } => Self::bad_request(ScimType::TooMany, error.to_string()),
            E::Partial { .. } => {
                let detail = error.to_string();
                let partial = error.partial_summary();
                let E::Partial { source, .. } = error else {
                    return internal(&error);
                };
                // A partial change is never the client's fault: 5xx, the source's when it is
                // one already (504 stays 504), else 502.
                let inner = Self::from(*source);
                let status = if inner.status >= 500 {
                    inner.status
                } else {
                    502
                };
                let mut scim = Self::new(status, detail);
                scim.partial = partial;
                scim
            }
            E::Backend(inner) => inner.into(),
            E::BadAnswer { .. } | E::ForeignNextLink { .. } => Self::new(
                502,
                format!("{error}; check the mapping's paths for this call"),
            ),
            E::Store(inner) => inner.into(),
        }
    }
}

impl From<backend::Error> for ScimError {
    fn from(error: backend::Error) -> Self {
        use backend::Error as B;
        let retry_after = error.retry_after().map(|d| d.as_secs().max(1));
        match &error {
            B::Status {
                operation, status, ..
            } => {
                let code = status.as_u16();
                let failed = format!("backend call {operation} failed: {code}");
                match code {
                    // The backend's own text is not quoted (it may hold values, emails, tokens);
                    // a mapping's error rule may opt in with `show_message: true`.
                    404 => Self::new(404, format!("{failed}, not found")),
                    409 => with_type(
                        409,
                        ScimType::Uniqueness,
                        format!("{failed}, a value is already taken"),
                    ),
                    400 | 422 => Self::bad_request(
                        ScimType::InvalidValue,
                        format!("{failed}, a value was refused (no error rule matched)"),
                    ),
                    429 => Self::new(
                        429,
                        format!("{failed}, the backend is rate limiting; retry later"),
                    )
                    .with_retry_after(retry_after),
                    503 => Self::new(503, format!("{failed} from the backend; retry later"))
                        .with_retry_after(retry_after),
                    401 | 403 => Self::new(
                        502,
                        format!("{failed}: the backend refused the gateway's credentials"),
                    ),
                    _ => Self::new(502, failed),
                }
            }
            B::Unavailable { operation, reason } => Self::new(
                502,
                format!("backend call {operation} failed: backend unreachable ({reason})"),
            ),
            B::Decode { operation, .. } => Self::new(
                502,
                format!(
                    "backend call {operation} failed: the backend's answer is not readable JSON"
                ),
            ),
            B::Timeout { operation } => Self::new(
                504,
                format!("backend call {operation} failed: no answer before the deadline"),
            ),
            B::Token { .. } => Self::new(
                502,
                format!("{error}; the gateway could not authenticate to the backend"),
            ),
            B::UnsafePath { .. } | B::UnsafeHeader { .. } => {
                Self::bad_request(ScimType::InvalidValue, error.to_string())
            }
            B::InvalidConfig { .. } => internal(&error),
        }
    }
}

impl From<mapping::Error> for ScimError {
    fn from(error: mapping::Error) -> Self {
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
            | M::UnsafeHeaderValue { .. } => {
                Self::bad_request(ScimType::InvalidValue, error.to_string())
            }
            M::UnsupportedFilter { .. } | M::TooManyAlternatives { .. } => {
                Self::bad_request(ScimType::InvalidFilter, error.to_string())
            }
            M::NotAnObject => Self::bad_request(ScimType::InvalidSyntax, error.to_string()),
            M::NoOperation { .. } => Self::new(501, error.to_string()),
            M::MissingValue { .. } | M::BadTestCase(_) => internal(&error),
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
