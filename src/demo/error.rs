//! The demo API's own error type: what went wrong with one request, and the HTTP status and
//! `{"error": "..."}` body a legacy REST API would answer with.
//!
//! Unlike the gateway's modules, the demo *is* an HTTP API, so choosing statuses here is its job.
//! It must not know about SCIM.

use http::StatusCode;

/// Why one demo API request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Error {
    /// The body or a query parameter is malformed or breaks a rule (400).
    #[error("{0}")]
    Invalid(String),
    /// The request body is not JSON (400).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The request body is larger than the demo accepts (413).
    #[error("request body too large")]
    BodyTooLarge,
    /// No `X-Api-Key` header, or the wrong key (401).
    #[error("missing or invalid API key")]
    Unauthorized,
    /// The addressed record does not exist (404); the payload names the kind of record.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// No route has this path (404).
    #[error("no such route {0}")]
    NoRoute(String),
    /// The route exists but not with this method (405).
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
    /// A unique value is already used by another record (409); the payload is the message.
    #[error("{0}")]
    Conflict(&'static str),
    /// A team member add named a user that does not exist (422).
    #[error("unknown user {0}")]
    UnknownUser(u64),
}

impl Error {
    /// The HTTP status this error is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::Json(_) => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) | Self::NoRoute(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::UnknownUser(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// Shorthand for a 400 with a message.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}
