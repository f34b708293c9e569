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

use crate::engine;
use crate::scim::{ScimError, ScimType};
use crate::{backend, mapping, scim, store};

/// The generic detail of a 500: the cause is logged, never sent.
const INTERNAL_DETAIL: &str = "internal error in the gateway; the cause is in the gateway's log";

fn internal(cause: &dyn std::fmt::Display) -> ScimError {
    tracing::error!(error = %cause, "Internal error answered with 500.");
    ScimError::new(500, INTERNAL_DETAIL)
}

fn with_type(status: u16, scim_type: ScimType, detail: impl Into<String>) -> ScimError {
    let mut error = ScimError::new(status, detail);
    error.scim_type = Some(scim_type);
    error
}

impl From<engine::Error> for ScimError {
    fn from(error: engine::Error) -> Self {
        use engine::Error as E;
        match error {
            E::UnknownResourceType(_) | E::NotFound { .. } => Self::new(404, error.to_string()),
            E::NotAnObject => Self::bad_request(ScimType::InvalidSyntax, error.to_string()),
            E::Invalid(_) | E::Rejected { .. } | E::UnknownMember { .. } => {
                Self::bad_request(ScimType::InvalidValue, error.to_string())
            }
            E::Mapping(inner) => inner.into(),
            E::Patch(inner) => inner.into(),
            E::Filter(inner) => inner.into(),
            E::Uniqueness { .. } => with_type(409, ScimType::Uniqueness, error.to_string()),
            E::TooMany { .. } => Self::bad_request(ScimType::TooMany, error.to_string()),
            E::PartialMembers { source, applied } => {
                let mut scim = Self::from(*source);
                scim.detail = format!(
                    "{}; already applied (not rolled back): {}",
                    scim.detail,
                    applied.join(", ")
                );
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
                operation,
                status,
                message,
                ..
            } => {
                let code = status.as_u16();
                let failed = format!("backend call {operation} failed: {code}");
                match code {
                    404 => Self::new(404, format!("{failed}, not found: {message}")),
                    409 => with_type(409, ScimType::Uniqueness, format!("{failed}: {message}")),
                    400 | 422 => Self::bad_request(
                        ScimType::InvalidValue,
                        format!("{failed}, value refused: {message}"),
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
                    _ => Self::new(502, format!("{failed}: {message}")),
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
            | M::UnsafePathValue { .. }
            | M::UnsafeHeaderValue { .. } => {
                Self::bad_request(ScimType::InvalidValue, error.to_string())
            }
            M::UnsupportedFilter { .. } => {
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
