//! The data the store keeps per SCIM resource: one [`Record`].
//!
//! Plain data, no I/O. A record ties a gateway-minted SCIM id to the backend's key, reserves a
//! unique key (e.g. the lowercased userName) and carries the shadow attributes the backend
//! cannot hold, plus an optional last-known-good snapshot.

use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Where a record is in the create protocol (see the module doc of [`crate::store`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordState {
    /// Ids and unique key are reserved; the backend create has not been confirmed yet.
    Pending,
    /// The backend object exists and `backend_id` points at it.
    Active,
}

impl RecordState {
    /// The stored spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
        }
    }

    /// Parses the stored spelling.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            _ => None,
        }
    }
}

/// One SCIM resource as the gateway remembers it, keyed by tenant, kind and SCIM id.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Tenant (one gateway can serve several SCIM clients / backends).
    pub tenant: String,
    /// Resource kind: `User` or `Group`.
    pub kind: String,
    /// The SCIM `id` the gateway handed out; never changes.
    pub scim_id: String,
    /// The backend's key; `None` while a create is pending.
    pub backend_id: Option<String>,
    /// A value unique per tenant and kind (e.g. lowercased userName) that serialises racing
    /// creates of the same resource.
    pub unique_key: Option<String>,
    /// Attributes the backend cannot hold (externalId, `store: true` attributes). Top-level
    /// string values are indexed for [`find_by_shadow`](super::Store::find_by_shadow).
    pub shadow: Map<String, Value>,
    /// Last-known-good copy of the resource, for mappings that need one.
    pub snapshot: Option<Value>,
    /// `meta.created` (kept to the microsecond).
    pub created: OffsetDateTime,
    /// `meta.lastModified` (kept to the microsecond).
    pub last_modified: OffsetDateTime,
    /// Pending or active.
    pub state: RecordState,
}

impl Record {
    /// A new pending record created now, with no backend id, shadow or snapshot yet.
    pub fn pending(
        tenant: impl Into<String>,
        kind: impl Into<String>,
        scim_id: impl Into<String>,
        unique_key: Option<String>,
    ) -> Self {
        let now = now();
        Self {
            tenant: tenant.into(),
            kind: kind.into(),
            scim_id: scim_id.into(),
            backend_id: None,
            unique_key,
            shadow: Map::new(),
            snapshot: None,
            created: now,
            last_modified: now,
            state: RecordState::Pending,
        }
    }
}

/// The current time, truncated to the microsecond the store keeps.
pub fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

/// `time` truncated to whole microseconds (what the store can keep, here and in PostgreSQL).
pub(crate) fn truncate(time: OffsetDateTime) -> OffsetDateTime {
    let nanos = time.nanosecond();
    time.replace_nanosecond(nanos - nanos % 1_000)
        .unwrap_or(time)
}
