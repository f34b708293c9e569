//! The audit trail's data: one [`AuditEntry`] per SCIM write the gateway carried out or
//! refused, and the [`AuditQuery`] that reads them back.
//!
//! Plain data, no I/O. An entry names *who* (tenant and the credential's name, never its
//! secret), *what* (operation, resource kind, SCIM id, the attribute names the request
//! touched — never their values, which may be personal data), the *outcome* and *when*, so a
//! product's admin can answer "what did Entra change for this user and when" from their side.

use time::OffsetDateTime;

/// One audited write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the trail, assigned by the store on append (ignored when appending).
    pub seq: i64,
    /// When the operation finished (kept to the microsecond).
    pub at: OffsetDateTime,
    /// Tenant that received the request.
    pub tenant: String,
    /// Which of the tenant's credentials authenticated it (its configured name, or the
    /// token's subject for JWTs); never the secret.
    pub credential: String,
    /// The request id the response and the log line carry.
    pub request_id: String,
    /// `create`, `replace`, `patch` or `delete`.
    pub operation: String,
    /// Resource kind: `User` or `Group`.
    pub kind: String,
    /// The SCIM id written, when known (absent for a refused create).
    pub scim_id: Option<String>,
    /// Names of the attributes the request set, changed or removed (e.g. `active`,
    /// `name.familyName`, `members`); values are never kept.
    pub attributes: Vec<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// `success`, or the SCIM error's `scimType` (or `error`) for a refusal; for a request
    /// applied in part, `partial: still in place: …; undone: …; not applied: …`.
    pub outcome: String,
}

/// Which entries to read back: those at or after `since`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Lower bound on [`AuditEntry::at`] (inclusive).
    pub since: OffsetDateTime,
    /// Only this tenant's entries, when set.
    pub tenant: Option<String>,
    /// Only entries about this SCIM id, when set.
    pub scim_id: Option<String>,
    /// At most this many entries.
    pub limit: usize,
}
