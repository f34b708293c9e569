//! The one SCIM error wire type (RFC 7644 §3.12).
//!
//! Every layer has its own `thiserror` enum; `crate::error` turns each of them into a
//! [`ScimError`] in one place. This module only defines the wire shape.

use serde::{Deserialize, Serialize};

/// The schema URN every SCIM error body carries.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// `scimType` values of RFC 7644 Table 9: what kind of client mistake a 400/409 is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax is invalid, or the attribute/operator combination is not supported.
    InvalidFilter,
    /// The filter yields more results than the server is willing to return.
    TooMany,
    /// One or more unique attribute values are already in use.
    Uniqueness,
    /// The attempted modification is not compatible with the attribute's mutability.
    Mutability,
    /// The request body is not valid SCIM.
    InvalidSyntax,
    /// The `path` attribute is invalid or malformed.
    InvalidPath,
    /// The `path` did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing, or a value is not compatible with the attribute.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because of sensitive information in the URI.
    Sensitive,
}

/// A SCIM error as sent on the wire: `status` is a string, as RFC 7644 requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    /// HTTP status code.
    pub status: u16,
    /// RFC 7644 Table 9 error type, where one applies.
    pub scim_type: Option<ScimType>,
    /// What went wrong and what to change, written for the admin who reads Entra's logs.
    pub detail: String,
    /// Seconds for a `Retry-After` header (429 and 503), when the backend said how long to wait.
    /// Not part of the JSON body.
    pub retry_after: Option<u64>,
    /// For a request applied in part (its undo failed): what is still in place, what was
    /// undone and what was never made, for the audit trail. Not part of the JSON body (the
    /// `detail` says it too).
    pub partial: Option<String>,
}

impl ScimError {
    /// An error with a status and a detail and no `scimType`.
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
            retry_after: None,
            partial: None,
        }
    }

    /// A `400` with the given `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
            retry_after: None,
            partial: None,
        }
    }

    /// The same error with a `Retry-After` of `seconds`.
    #[must_use]
    pub fn with_retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// The JSON body: `{"schemas":[Error], "status":"400", "scimType":…, "detail":…}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = serde_json::to_value(scim_type).unwrap_or_default();
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_string_status_and_camel_case_type() {
        let error = ScimError::bad_request(ScimType::InvalidFilter, "bad filter");
        assert_eq!(
            error.to_json(),
            serde_json::json!({
                "schemas": [ERROR_SCHEMA],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "bad filter",
            })
        );
    }
}
