//! The create protocol of the store records (see the parent module doc): the pending record that
//! reserves the unique key before the backend call, its activation after it, and what stays when
//! the create fails.

use serde_json::{Map, Value};

use super::{Pending, Record, name, unique_key};
use crate::engine::Error;
use crate::engine::op::Op;
use crate::engine::settle::{Settled, reservation_snapshot};
use crate::mapping::{OpName, Vars};
use crate::store::{self, RecordState, UniqueColumn};

impl Op<'_> {
    /// Writes the pending record of a create, before the backend call. A unique key held by a
    /// stale pending record (a create whose backend object never appeared) is taken over; one
    /// held by an active record whose backend object still exists is a uniqueness conflict.
    pub(crate) async fn begin_create(
        &self,
        scim: &Value,
        stored: &Map<String, Value>,
    ) -> Result<Pending, Error> {
        let key = unique_key(scim);
        let snapshot = reservation_snapshot(self.store().writer(), name(scim));
        for _ in 0..2 {
            let mut record = store::Record::pending(
                self.tenant(),
                self.resource_type(),
                uuid::Uuid::new_v4().to_string(),
                key.clone(),
            );
            record.shadow = stored.clone();
            record.snapshot = Some(snapshot.clone());
            let pending = Pending {
                key: record.scim_id.clone(),
            };
            match self.store().insert_pending(record).await {
                Ok(()) => return Ok(pending),
                Err(store::Error::Conflict {
                    what: UniqueColumn::UniqueKey,
                    existing_scim_id,
                }) => self.clear_holder(&existing_scim_id, key.as_deref()).await?,
                Err(error) => return Err(error.into()),
            }
        }
        Err(self.taken(key.as_deref()))
    }

    /// Frees a unique key held by `holder` when it is stale; otherwise the key is taken.
    async fn clear_holder(&self, holder: &str, key: Option<&str>) -> Result<(), Error> {
        let Some(existing) = self
            .store()
            .get(self.tenant(), self.resource_type(), holder)
            .await?
        else {
            return Ok(());
        };
        if existing.state == RecordState::Pending {
            // A create still in flight (another request, or another replica sharing the
            // store) wins the race: this one answers 409 and Entra then matches the winner,
            // instead of deleting the winner's record under it. Any other reservation is
            // settled now by asking the backend (see `settle`).
            if self.in_flight(&existing).await? {
                return Err(self.taken(key));
            }
            match self.settle(&existing).await? {
                Settled::Adopted(_) => return Err(self.taken(key)),
                Settled::Released => return Ok(()),
                // The backend cannot be asked: a reservation younger than the deadline is
                // kept (409), an older one is taken over, as before issue 16.
                Settled::Unresolved
                    if existing.created > store::now() - self.engine.options().deadline =>
                {
                    return Err(self.taken(key));
                }
                Settled::Unresolved => {}
            }
        }
        match (existing.state, existing.backend_id.as_deref()) {
            (RecordState::Pending, _) | (_, None) => {
                self.store()
                    .delete_pending(self.tenant(), self.resource_type(), holder)
                    .await?;
                Ok(())
            }
            (RecordState::Active, Some(backend_id)) => {
                let vars = Vars::new().with("id", backend_id);
                match self.call(OpName::Get, &vars).await {
                    Err(error) if error.is_not_found() => {
                        self.store()
                            .delete(self.tenant(), self.resource_type(), holder)
                            .await?;
                        Ok(())
                    }
                    Err(error) => Err(error),
                    Ok(_) => Err(self.taken(key)),
                }
            }
        }
    }

    fn taken(&self, key: Option<&str>) -> Error {
        Error::Uniqueness {
            operation: self.label(OpName::Create),
            message: "a resource with this name already exists".to_owned(),
            value: key.map(str::to_owned),
        }
    }

    /// The backend took the create: the pending record becomes the resource's record. A record
    /// still holding the new backend id belongs to a resource that is gone (the backend reused
    /// its id): it is removed, so its SCIM id reads as not found instead of as the new resource.
    pub(crate) async fn finish_create(
        &self,
        pending: Pending,
        backend_id: &str,
        stored: &Map<String, Value>,
    ) -> Result<(String, Record), Error> {
        if let Some(stale) = self
            .store()
            .get_by_backend_id(self.tenant(), self.resource_type(), backend_id)
            .await?
            .filter(|r| r.scim_id != pending.key)
        {
            tracing::warn!(
                resource = self.resource_type(),
                scim_id = %stale.scim_id,
                "The backend reused the id of a deleted resource; its old SCIM id is retired."
            );
            self.store()
                .delete(self.tenant(), self.resource_type(), &stale.scim_id)
                .await?;
        }
        let activated = self
            .store()
            .activate(
                self.tenant(),
                self.resource_type(),
                &pending.key,
                backend_id,
                stored.clone(),
            )
            .await?;
        let record = self.record(activated).ok_or_else(|| {
            Error::Store(store::Error::AlreadyActive {
                scim_id: pending.key.clone(),
            })
        })?;
        Ok((record.scim_id.clone(), record))
    }

    /// The create failed. When the backend certainly did not take it, the pending record goes;
    /// otherwise it stays for adoption (see the module doc).
    pub(crate) async fn abandon_create(&self, pending: Pending, error: &Error) {
        let certain = matches!(
            error,
            Error::Uniqueness { .. }
                | Error::Rejected { .. }
                | Error::Mapping(_)
                | Error::Backend(crate::backend::Error::Status { .. })
                | Error::Backend(crate::backend::Error::UnsafePath { .. })
                | Error::Backend(crate::backend::Error::UnsafeHeader { .. })
                | Error::Backend(crate::backend::Error::InvalidConfig { .. })
        );
        if !certain {
            tracing::info!(
                "Create outcome unknown; the pending store record is kept and settled by the \
                 next request for it."
            );
            self.mark_unknown(&pending.key).await;
            return;
        }
        if let Err(error) = self
            .store()
            .delete_pending(self.tenant(), self.resource_type(), &pending.key)
            .await
        {
            tracing::warn!(error = %error, "Could not remove a pending store record.");
        }
    }
}
