//! The SCIM answer to each failure of the request itself ([`Error`]: routing, body, limits,
//! credentials, the tenant switch), found by the server before the engine runs. Kept in
//! `server/` so that `crate::error` imports nothing from the server (no module cycle); it uses
//! the same helpers as every other layer's conversion there. Must not log or add headers.

use super::respond::Error;
use super::routes::Unimplemented;
use super::tenant::Rejection;
use crate::error::{INTERNAL_DETAIL, with_type};
use crate::scim::{ScimError, ScimType};

/// Failures of the request itself, found by the server before the engine runs (routing, body,
/// limits, credentials, the tenant switch). The server adds the headers these statuses call
/// for (`Allow`, `WWW-Authenticate`, `Retry-After`).
impl From<&Error> for ScimError {
    fn from(error: &Error) -> Self {
        use Error as E;
        match error {
            E::NoRoute { path } => Self::new(404, format!("There is no SCIM endpoint at {path}.")),
            E::NotImplemented {
                endpoint: Unimplemented::Me,
            } => Self::new(
                501,
                "/Me is not implemented: the gateway's credentials name a provisioning client, \
                 not a user; read the user at /Users/{id}.",
            ),
            E::NotImplemented {
                endpoint: Unimplemented::Bulk,
            } => Self::new(
                501,
                "/Bulk is not implemented (ServiceProviderConfig: bulk.supported is false); send \
                 each operation as its own request.",
            ),
            E::MethodNotAllowed {
                method,
                path,
                allow,
            } => Self::new(
                405,
                format!("{method} is not supported on {path} (allowed: {allow})."),
            ),
            E::UnsupportedMediaType { content_type } => Self::new(
                415,
                format!(
                    "Content-Type {content_type} is not accepted; send application/scim+json or \
                     application/json."
                ),
            ),
            E::InvalidJson { reason } => with_type(
                400,
                ScimType::InvalidSyntax,
                format!("The request body is not valid JSON: {reason}."),
            ),
            E::MissingBody => with_type(
                400,
                ScimType::InvalidSyntax,
                "This operation needs a JSON request body.",
            ),
            E::BodyTooLarge { limit } => Self::new(
                413,
                format!("The request body is larger than the limit of {limit} bytes."),
            ),
            E::BodyRead { .. } => Self::new(400, "The request body could not be read."),
            E::HeadersTooLarge { size, limit } => Self::new(
                431,
                format!("The request headers take {size} bytes, more than the limit of {limit}."),
            ),
            E::UriTooLong { size, limit } => Self::new(
                414,
                format!("The request URI takes {size} bytes, more than the limit of {limit}."),
            ),
            E::Unauthenticated(rejection) if rejection.unavailable => Self::new(
                503,
                "The credentials cannot be checked right now; retry later.",
            )
            .with_retry_after(Some(1)),
            E::Unauthenticated(Rejection {
                retry_after: Some(seconds),
                ..
            }) => Self::new(
                429,
                format!("Too many failed logins; retry in {seconds} seconds."),
            )
            .with_retry_after(Some(*seconds)),
            // Generic on purpose: the precise reason names configuration (tenant id, issuer,
            // audiences) an anonymous caller must not learn; it is logged with the request id.
            E::Unauthenticated(_) => Self::new(
                401,
                "The request is not authenticated: the credential is missing or not accepted \
                 (the gateway's log gives the reason under this response's x-request-id).",
            ),
            E::BodyTimeout { limit } => Self::new(
                408,
                format!(
                    "The request body did not arrive within {} seconds \
                     (server.limits.body_read_timeout).",
                    limit.as_secs()
                ),
            ),
            E::AnonymousBusy { .. } => Self::new(
                503,
                "The gateway is busy with unauthenticated requests; retry in a second.",
            )
            .with_retry_after(Some(1)),
            E::TenantDisabled { tenant } => Self::new(
                403,
                format!("SCIM provisioning is switched off for tenant {tenant}."),
            ),
            E::NotReady { .. } => {
                Self::new(503, "The gateway is not ready.").with_retry_after(Some(1))
            }
            E::AuditQuery(inner) => with_type(400, ScimType::InvalidValue, inner.to_string()),
            E::AuditDisabled => Self::new(
                404,
                "The audit trail is disabled (audit.enabled: false in the gateway's settings).",
            ),
            E::Panicked { .. } | E::AuditRead { .. } => Self::new(500, INTERNAL_DETAIL),
        }
    }
}
