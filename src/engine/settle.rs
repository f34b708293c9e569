//! Creates whose outcome is unknown, settled by the next request that meets their
//! reservation instead of after a timer (issue 16).
//!
//! A create whose backend call ended without a certain answer (connection lost, timeout,
//! unreadable answer: the backend may or may not have taken it) keeps its pending record, now
//! marked `outcome: unknown`. The next request that meets the reservation (Entra's retry filter
//! by `userName` or `externalId`, its retried POST, a request addressing the SCIM id) looks the
//! backend up by the reserved name (`userName eq` / `displayName eq`, through the mapping's
//! filter push-down, as the repair pass does):
//! - found: the reservation is adopted (its SCIM id and stored `externalId` kept) and the
//!   request goes on with it: a filter answers with the user, so Entra matches it;
//! - not found: the reservation is released, and a retried POST creates the user.
//!
//! The same applies to a reservation left by a process that died before it activated, and to
//! one whose activation a power loss took back (see `crate::store`'s durability notes): the
//! state is the same, and so is the repair. Only a create still in flight in some live process
//! (not marked unknown, its writer alive, younger than the backend deadline) is left alone, and
//! a racing create of the same name answers 409.

use serde_json::{Map, Value};

use super::op::Op;
use super::{Error, repair};
use crate::store::{self, RecordState};

/// The key, in a pending record's snapshot, of the store writer that reserved it (see
/// [`store::Store::writer`]): it tells a create in flight from one whose process died.
pub(super) const WRITER: &str = "writer";

/// The key, in a pending record's snapshot, of the name as the client sent it (`userName` or
/// `displayName`), which the lookup filters by (the unique key is lowercased).
pub(super) const NAME: &str = "name";

/// The key, in a pending record's snapshot, set to `"unknown"` once its create ended without
/// a certain answer: no request is working on it any more.
const OUTCOME: &str = "outcome";

/// What settling a reservation found.
#[derive(Debug)]
pub(crate) enum Settled {
    /// The backend has the resource: the reservation now points at it (active record).
    Adopted(Box<store::Record>),
    /// The backend does not have it: the reservation is gone and its name free.
    Released,
    /// The backend could not be asked (no lookup the mapping can answer, or it failed).
    Unresolved,
}

/// The snapshot of a new reservation: its writer and the name as sent.
pub(super) fn reservation_snapshot(writer: &str, name: Option<&str>) -> Value {
    let mut snapshot = Map::new();
    snapshot.insert(WRITER.to_owned(), Value::from(writer));
    if let Some(name) = name {
        snapshot.insert(NAME.to_owned(), Value::from(name));
    }
    Value::Object(snapshot)
}

fn snapshot_str<'r>(record: &'r store::Record, key: &str) -> Option<&'r str> {
    record.snapshot.as_ref()?.get(key)?.as_str()
}

impl Op<'_> {
    /// Whether the pending `record` belongs to a create still in flight: not marked unknown,
    /// younger than the backend deadline, reserved by a writer that is still alive.
    pub(crate) async fn in_flight(&self, record: &store::Record) -> Result<bool, Error> {
        if record.state != RecordState::Pending
            || snapshot_str(record, OUTCOME) == Some("unknown")
            || record.created <= store::now() - self.engine.options().deadline
        {
            return Ok(false);
        }
        match snapshot_str(record, WRITER) {
            Some(writer) => Ok(self.engine.store.writer_alive(writer).await?),
            None => Ok(true),
        }
    }

    /// Marks the reservation `scim_id` as ended without a certain answer (see the module doc).
    pub(crate) async fn mark_unknown(&self, scim_id: &str) {
        let store = self.engine.store.as_ref();
        let marked = async {
            let Some(mut record) = store
                .get(&self.engine.tenant, self.resource_type(), scim_id)
                .await?
                .filter(|r| r.state == RecordState::Pending)
            else {
                return Ok(());
            };
            let mut snapshot = match record.snapshot.take() {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            snapshot.insert(OUTCOME.to_owned(), Value::from("unknown"));
            record.snapshot = Some(Value::Object(snapshot));
            store.update(record).await
        };
        if let Err(error) = marked.await {
            // Unmarked, it reads as in flight until the deadline passes: the old behaviour.
            tracing::warn!(%error, "Could not mark a create whose outcome is unknown.");
        }
    }

    /// Settles the pending `record` (not in flight: see [`Op::in_flight`]) by looking the
    /// backend up by its reserved name.
    pub(crate) async fn settle(&self, record: &store::Record) -> Result<Settled, Error> {
        let store = self.engine.store.as_ref();
        let (tenant, kind) = (self.engine.tenant.as_str(), self.resource_type());
        let name = snapshot_str(record, NAME)
            .map(str::to_owned)
            .or_else(|| record.unique_key.clone());
        if let Some(name) = name
            && let Err(error) = repair::look_up(self, &name).await
        {
            tracing::info!(
                %error,
                resource = kind,
                "A create whose outcome is unknown could not be looked up in the backend."
            );
            return Ok(Settled::Unresolved);
        }
        match store.get(tenant, kind, &record.scim_id).await? {
            Some(now) if now.state == RecordState::Active => {
                tracing::info!(
                    resource = kind,
                    "A create whose outcome was unknown is in the backend: adopted."
                );
                Ok(Settled::Adopted(Box::new(now)))
            }
            Some(_) => {
                store.delete_pending(tenant, kind, &record.scim_id).await?;
                tracing::info!(
                    resource = kind,
                    "A create whose outcome was unknown is not in the backend: its name is free."
                );
                Ok(Settled::Released)
            }
            None => Ok(Settled::Released),
        }
    }

    /// The pending records holding a unique key or stored value a request looks for, settled:
    /// those not in flight are resolved now (see the module doc).
    pub(crate) async fn settle_all(&self, records: Vec<store::Record>) -> Result<(), Error> {
        for record in records {
            if record.state == RecordState::Pending && !self.in_flight(&record).await? {
                self.settle(&record).await?;
            }
        }
        Ok(())
    }
}
