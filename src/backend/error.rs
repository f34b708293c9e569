//! `backend::Error`: what went wrong with a backend call, as facts.
//!
//! Every variant names the backend operation (e.g. `users.get`) so the SCIM error detail can
//! say which call failed. This module does not choose HTTP statuses: `src/error.rs` maps these
//! variants to SCIM errors. Errors never carry credentials, request bodies or query values.

use crate::operation::BackendOp;
use std::time::Duration;

use http::StatusCode;
use serde_json::Value;

/// A failed backend call (or a backend configuration the client cannot use).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot be used (bad base URL, invalid header value, ...).
    #[error("invalid backend configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// The request path would leave the configured base URL or is not a clean encoded path;
    /// nothing was sent.
    #[error("backend call {operation} ({path_template}) refused: unsafe path, {reason}")]
    UnsafePath {
        /// Operation label.
        operation: BackendOp,
        /// The path template (never the filled-in values).
        path_template: String,
        /// Why the path was refused.
        reason: String,
    },
    /// A request header is not safe to send (CR/LF, or a header the client must own);
    /// nothing was sent.
    #[error("backend call {operation} refused: unsafe header {name}, {reason}")]
    UnsafeHeader {
        /// Operation label.
        operation: BackendOp,
        /// Header name.
        name: String,
        /// Why the header was refused.
        reason: String,
    },
    /// The backend answered with a non-2xx status. `Display` never shows the backend's text
    /// (it may quote values, emails, tokens): that is logged at `debug` only.
    #[error("backend call {operation} answered {status}")]
    Status {
        /// Operation label.
        operation: BackendOp,
        /// The backend's status.
        status: StatusCode,
        /// The backend's error text (sanitised, truncated to about 300 characters).
        message: String,
        /// The backend's JSON error body, when it sent one.
        body: Option<Value>,
        /// The backend's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The backend could not be reached, or the connection failed while sending or reading.
    #[error("backend call {operation} failed: {reason}")]
    Unavailable {
        /// Operation label.
        operation: BackendOp,
        /// What failed (connection refused, reset, ...).
        reason: String,
    },
    /// The backend answered 2xx but the body is not the JSON the gateway needs.
    #[error("backend call {operation} returned an unreadable body: {reason}")]
    Decode {
        /// Operation label.
        operation: BackendOp,
        /// Why it could not be read.
        reason: String,
    },
    /// The per-call timeout or the request's overall deadline passed.
    #[error("backend call {operation} timed out")]
    Timeout {
        /// Operation label.
        operation: BackendOp,
    },
    /// The OAuth 2.0 token endpoint did not give the gateway a token.
    #[error("backend token request failed: {reason}")]
    Token {
        /// The token endpoint's status, when it answered.
        status: Option<StatusCode>,
        /// What went wrong, in the gateway's words (never the endpoint's answer text).
        reason: String,
    },
}

impl Error {
    /// The operation label of the failed call, when the error belongs to one.
    pub fn operation(&self) -> Option<BackendOp> {
        match self {
            Self::UnsafePath { operation, .. }
            | Self::UnsafeHeader { operation, .. }
            | Self::Status { operation, .. }
            | Self::Unavailable { operation, .. }
            | Self::Decode { operation, .. }
            | Self::Timeout { operation } => Some(*operation),
            Self::InvalidConfig { .. } | Self::Token { .. } => None,
        }
    }

    /// The backend's status, when it answered with a non-2xx status.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Token { status, .. } => *status,
            _ => None,
        }
    }

    /// The backend's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Error {
    /// A 2xx answer the mapping's error rules call a refusal (RT answers a refused update with
    /// `200 ["User x: Name in use"]`), as the [`Error::Status`] a non-2xx answer would be, so the
    /// same rules classify it and it is never reported as success.
    pub fn refused_success(operation: BackendOp, response: &super::BackendResponse) -> Self {
        let raw = response
            .body
            .as_ref()
            .map(|b| b.to_string().into_bytes())
            .unwrap_or_default();
        let fallback = response.status.canonical_reason().unwrap_or("no message");
        Self::Status {
            operation,
            status: response.status,
            message: super::message::extract(response.body.as_ref(), &raw, fallback),
            body: response.body.clone(),
            retry_after: None,
        }
    }
}
