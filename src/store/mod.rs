//! The store: what the backend cannot hold.
//!
//! Used only when a mapping needs it:
//! - the **id map**: a gateway-minted SCIM id that never changes, tied to the backend's key
//!   (which may be an email or login that changes, or a key the backend reuses);
//! - **shadow attributes**: `externalId` and any `store: true` attribute, so Entra's
//!   `externalId eq` matching works against a backend that cannot store or search it;
//! - `meta.created` / `meta.lastModified`, and a last-known-good **snapshot** slot.
//!
//! Callers hold an `Arc<dyn Store>`; [`SqliteStore`] (embedded, the default) and
//! [`PostgresStore`] (several replicas) implement it.
//! The trait returns boxed futures so it stays dyn-compatible without `async-trait`. This
//! module knows nothing of SCIM or HTTP and chooses no statuses.
//!
//! # Crash-repair protocol (used by the engine)
//!
//! A create is ordered so that a crash at any point leaves a state the next request repairs,
//! and Entra can always match the user again:
//!
//! 1. **Reserve**: [`Store::insert_pending`] a record with a fresh SCIM id and the unique key
//!    (e.g. lowercased userName), no backend id. The unique indexes serialise racing creates:
//!    a second replica creating the same userName gets [`Error::Conflict`] naming the
//!    existing SCIM id and does not call the backend (it answers 409 or adopts, see 4).
//! 2. **Backend create**: one backend call.
//! 3. **Activate**: [`Store::activate`] sets the backend id and shadow attributes and marks the
//!    record active, in one transaction. If the backend create failed, the engine deletes the
//!    pending record ([`Store::delete_pending`]) so the unique key is free again.
//! 4. **Repair after a crash between 2 and 3**: the backend object exists but no active record
//!    points at it. The next request that finds the backend object (Entra's retry filters by
//!    userName, which is pushed down to the backend) and sees no record for its backend id
//!    ([`Store::get_by_backend_id`] is `None`) **adopts** it: it activates the pending record
//!    whose unique key matches ([`Store::get_by_unique_key`]), keeping the SCIM id it minted,
//!    or, when none is left, inserts a new active record. The retried create then sees the
//!    user exists and answers 409 `uniqueness`, which is what Entra expects before it matches.
//!    A request that meets a pending record no create is working on any more (its outcome
//!    was unknown, or its writer is gone: [`Store::writer_alive`]) settles it at once by
//!    looking the backend up by the reserved name: adopted when the backend has it, deleted
//!    when not (so a retried create proceeds). Only one of a live writer, younger than the
//!    request deadline and not marked unknown, is a create in flight: a racing create loses
//!    the race (409). See `engine/settle.rs`.
//!
//! # Durability (issue 16)
//!
//! At most one sync per SCIM write: a reservation, an updated or deleted record and a minted
//! SCIM id are synced before they are answered; an activation (rebuilt by step 4 from its
//! synced reservation), a released reservation and an audit entry are committed without
//! waiting for a sync (SQLite: `group_commit`; PostgreSQL: `synchronous_commit = off` for
//! those transactions). A process kill loses none of them; a power loss can lose only a tail
//! of the unsynced ones, repaired like a kill. docs/benchmarks.md has the details.
//! 5. **Garbage**: a pending record older than a grace period (longer than the request
//!    deadline) whose backend object does not exist is deleted
//!    ([`Store::list_pending`] + [`Store::delete_pending`], which only deletes a record that is
//!    still pending, so a concurrent activation wins).
//!
//! No id mapping is ever lost: an active record is only removed by a SCIM delete, and every
//! write of one operation is one transaction.
//!
//! # PostgreSQL (issue 8)
//!
//! [`PostgresStore`] implements the same trait with the same migration numbers
//! (`pg_migrations.rs`: TEXT, BIGINT microseconds, partial unique indexes as in SQLite; JSONB
//! for `shadow`/`snapshot`/`attributes`, an identity column for the audit `seq`). Racing replicas are serialised by the same unique indexes (a
//! `23505 unique_violation` becomes [`Error::Conflict`]); migrations run under an advisory
//! lock; the shared tests in `tests.rs` take any `Arc<dyn Store>` so they can run against it.
//! Both stores read and write rows through the same codecs (`codec.rs`: timestamps, JSON
//! text, record state, audit rows), so what one writes the other would read the same way.

mod audit;
mod codec;
pub mod connections;
mod connections_pg;
mod connections_sqlite;
mod error;
mod group_commit;
mod migrations;
mod pg_migrations;
mod postgres;
mod record;
mod sqlite;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use audit::{AuditEntry, AuditQuery};
pub use connections::ConnectionStore;
pub use error::{Error, UniqueColumn};
pub use postgres::{PostgresStore, redact};
pub use record::{Record, RecordState, now};
pub use sqlite::SqliteStore;

/// The future a [`Store`] operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Persistence for the id map, shadow attributes and snapshots; see the module doc for the
/// create protocol. Every method that writes is one transaction.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Inserts `record` as given; fails with [`Error::Conflict`] when its SCIM id, backend id
    /// or unique key is already used in its tenant and kind. Use [`Store::insert_pending`] for
    /// a create; an `Active` insert is for adopting a backend object in one step.
    fn insert(&self, record: Record) -> StoreFuture<'_, ()>;

    /// Reserves the ids and unique key of a create that has not reached the backend yet.
    fn insert_pending(&self, mut record: Record) -> StoreFuture<'_, ()> {
        record.state = RecordState::Pending;
        self.insert(record)
    }

    /// Marks a pending record active, pointing at `backend_id`, with `shadow` as its shadow
    /// attributes. Activating an already active record with the same backend id is a no-op
    /// (two replicas repairing at once); with another backend id it is
    /// [`Error::AlreadyActive`].
    fn activate(
        &self,
        tenant: &str,
        kind: &str,
        scim_id: &str,
        backend_id: &str,
        shadow: Map<String, Value>,
    ) -> StoreFuture<'_, Record>;

    /// The record with this SCIM id.
    fn get(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, Option<Record>>;

    /// The record pointing at this backend object.
    fn get_by_backend_id(
        &self,
        tenant: &str,
        kind: &str,
        backend_id: &str,
    ) -> StoreFuture<'_, Option<Record>>;

    /// The record holding this unique key (for adopting after a crash).
    fn get_by_unique_key(
        &self,
        tenant: &str,
        kind: &str,
        unique_key: &str,
    ) -> StoreFuture<'_, Option<Record>>;

    /// Records whose shadow attribute `attribute` is exactly the string `value`
    /// (case-sensitive: `externalId` is caseExact), oldest first.
    fn find_by_shadow(
        &self,
        tenant: &str,
        kind: &str,
        attribute: &str,
        value: &str,
    ) -> StoreFuture<'_, Vec<Record>>;

    /// Writes the backend id, unique key, shadow, snapshot and last-modified time of an
    /// existing record (state and created are not changed); [`Error::NotFound`] when missing,
    /// [`Error::Conflict`] when the new backend id or unique key is held by another record.
    fn update(&self, record: Record) -> StoreFuture<'_, ()>;

    /// Deletes a record; true when it existed.
    fn delete(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, bool>;

    /// Pending records created before `older_than` (candidates for repair), oldest first.
    fn list_pending(
        &self,
        tenant: &str,
        kind: &str,
        older_than: OffsetDateTime,
    ) -> StoreFuture<'_, Vec<Record>>;

    /// Every active record of one tenant and kind, by SCIM id (for `scimgate reconcile`, which
    /// compares them with what the backend holds).
    fn list_active(&self, tenant: &str, kind: &str) -> StoreFuture<'_, Vec<Record>>;

    /// Deletes a record only if it is still pending; true when it was deleted.
    fn delete_pending(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, bool>;

    /// Checks that the store answers (readiness probe).
    fn ping(&self) -> StoreFuture<'_, ()>;

    /// Who writes through this handle: the engine puts it in the pending records it reserves,
    /// so that another writer can tell a create still in flight from one whose process died
    /// (see [`Store::writer_alive`]).
    fn writer(&self) -> &str;

    /// Whether the writer `writer` (another handle's [`Store::writer`]) may still be running.
    /// `true` unless the store knows it is gone: a reservation of a live writer is a create in
    /// flight, one of a dead writer is left over from a crash and may be taken over at once.
    fn writer_alive(&self, writer: &str) -> StoreFuture<'_, bool>;

    /// Appends one entry to the audit trail (its `seq` is assigned here); returns the `seq`.
    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, i64>;

    /// Audit entries matching `query`, oldest first (by `at`, then `seq`).
    fn audit(&self, query: AuditQuery) -> StoreFuture<'_, Vec<AuditEntry>>;

    /// Deletes audit entries older than `older_than` (retention); returns how many.
    fn prune_audit(&self, older_than: OffsetDateTime) -> StoreFuture<'_, u64>;

    /// The same database's connections (issue 14), when this store keeps them.
    fn connection_store(&self) -> Option<std::sync::Arc<dyn ConnectionStore>> {
        None
    }
}
