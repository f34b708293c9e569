//! `store::Error`: what went wrong with a store operation.
//!
//! Conflicts are facts the engine acts on (a racing create, a reused backend key); the rest
//! are infrastructure failures. No HTTP statuses are chosen here.

use std::fmt;

/// The unique column a write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueColumn {
    /// The SCIM id is already taken.
    ScimId,
    /// Another record already points at this backend object.
    BackendId,
    /// Another record already holds this unique key (e.g. userName).
    UniqueKey,
}

impl fmt::Display for UniqueColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ScimId => "SCIM id",
            Self::BackendId => "backend id",
            Self::UniqueKey => "unique key",
        })
    }
}

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A write would duplicate a unique column; nothing was written.
    #[error("{what} already used by record {existing_scim_id}")]
    Conflict {
        /// Which column collided.
        what: UniqueColumn,
        /// The SCIM id of the record that holds it.
        existing_scim_id: String,
    },
    /// No record with this key.
    #[error("no {kind} record {scim_id} for tenant {tenant}")]
    NotFound {
        /// Tenant.
        tenant: String,
        /// Kind.
        kind: String,
        /// SCIM id.
        scim_id: String,
    },
    /// `activate` found a record that is already active with another backend id.
    #[error("record {scim_id} is already active")]
    AlreadyActive {
        /// SCIM id.
        scim_id: String,
    },
    /// The database could not be opened or migrated.
    #[error("cannot open store {location}: {reason}")]
    Open {
        /// File path or `:memory:`.
        location: String,
        /// Why.
        reason: String,
    },
    /// The database was written by a newer scimgate.
    #[error("store schema version {found} is newer than this scimgate supports ({supported})")]
    SchemaTooNew {
        /// Version found in `schema_version`.
        found: i64,
        /// Latest version this build knows.
        supported: i64,
    },
    /// The database failed an operation.
    #[error("store {operation} failed: {reason}")]
    Database {
        /// Store operation, e.g. `insert`.
        operation: &'static str,
        /// The database's message.
        reason: String,
    },
    /// A stored value could not be read back (bad JSON, timestamp or state).
    #[error("store holds an unreadable {what} for record {scim_id}")]
    Corrupt {
        /// Which field.
        what: &'static str,
        /// SCIM id.
        scim_id: String,
    },
    /// The blocking task running the operation failed (panicked or was cancelled).
    #[error("store {operation} did not complete: {reason}")]
    Interrupted {
        /// Store operation.
        operation: &'static str,
        /// Why.
        reason: String,
    },
}
