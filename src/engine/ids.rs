//! SCIM ids ↔ backend ids, and the store records behind them: the only module of the engine that
//! talks to the store.
//!
//! - `ids: backend`: the SCIM id is the backend id as text; records are looked up by backend
//!   id (their own `scim_id` column is an internal key minted at create).
//! - `ids: gateway`: the gateway mints a UUID on create (or the first time it sees a backend
//!   object it did not create) and keeps the link; the SCIM id never changes when the backend
//!   key does, and a minted id is never reused.
//!
//! Create follows the store's crash-repair protocol (see `crate::store`): a pending record
//! reserves the unique key (lowercased `userName` / `displayName`) before the backend call and
//! is activated with the backend id after it. When the backend certainly refused (it answered
//! an error status), the pending record is deleted. When the outcome is unknown (connection
//! lost, timeout, unreadable answer: the backend may have taken the write), it is kept: the
//! next request that finds the backend object by filter adopts it (keeping `externalId`), and
//! a retried create takes over a pending record whose backend object never appeared.
//!
//! Files: this one holds the records, id resolution, saves and identity checks; `create` the
//! create protocol (pending record, activation, abandon); `members` the lookups of group
//! members.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;

use super::Error;
use super::op::Op;
use super::settle::Settled;
use crate::mapping::IdPolicy;
use crate::store::{self, RecordState};

mod create;
mod members;

/// The key of the remembered `identity` value in a record's snapshot.
const IDENTITY: &str = "identity";

/// The key, in a record's snapshot, that marks a resource soft-deleted by a SCIM `DELETE`
/// (the mapping's `deactivate`): the backend keeps it, SCIM reads it as gone.
const DEACTIVATED: &str = "deactivated";

/// A store record as the engine uses it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// The SCIM id the client addresses the resource by.
    pub(crate) scim_id: String,
    /// The backend id.
    pub(crate) backend_id: String,
    /// `store: true` attribute values, keyed as in the mapping (`externalId`).
    pub(crate) stored: Map<String, Value>,
    /// RFC 3339 creation time.
    pub(crate) created: String,
    /// RFC 3339 time of the last change made through the gateway.
    pub(crate) last_modified: String,
    /// Soft-deleted by a SCIM `DELETE` (the mapping's `deactivate`): the id answers 404.
    pub(crate) deactivated: bool,
    inner: store::Record,
}

fn rfc3339(time: time::OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}

/// A group member id as the store knows it (see [`Op::member_lookup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Member {
    /// An active user record holds this backend id.
    Known(String),
    /// The backend id, not known to the store (backend ids only).
    Unverified(String),
}

/// A create in progress: the pending record.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    key: String,
}

/// The unique key of a SCIM resource: lowercased `userName`, else lowercased `displayName`.
pub(crate) fn unique_key(scim: &Value) -> Option<String> {
    name(scim).map(str::to_lowercase)
}

/// The `userName` (else `displayName`) of a SCIM resource as sent, trimmed.
fn name(scim: &Value) -> Option<&str> {
    ["userName", "displayName"]
        .iter()
        .find_map(|key| scim.get(*key).and_then(Value::as_str))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl Op<'_> {
    fn gateway_ids(&self) -> bool {
        self.engine.mapping.ids() == IdPolicy::Gateway
    }

    fn store(&self) -> &dyn store::Store {
        self.engine.store.as_ref()
    }

    fn tenant(&self) -> &str {
        &self.engine.tenant
    }

    /// The engine's view of an active store record.
    fn record(&self, inner: store::Record) -> Option<Record> {
        if inner.state != RecordState::Active {
            return None;
        }
        let backend_id = inner.backend_id.clone()?;
        let scim_id = if self.gateway_ids() {
            inner.scim_id.clone()
        } else {
            backend_id.clone()
        };
        let deactivated = inner
            .snapshot
            .as_ref()
            .and_then(|snapshot| snapshot.get(DEACTIVATED))
            .is_some_and(|v| v == &Value::Bool(true));
        Some(Record {
            scim_id,
            backend_id,
            deactivated,
            stored: inner.shadow.clone(),
            created: rfc3339(inner.created),
            last_modified: rfc3339(inner.last_modified),
            inner,
        })
    }

    pub(crate) async fn by_backend_id(&self, backend_id: &str) -> Result<Option<Record>, Error> {
        Ok(self
            .store()
            .get_by_backend_id(self.tenant(), self.resource_type(), backend_id)
            .await?
            .and_then(|r| self.record(r)))
    }

    /// The backend id a SCIM id addresses, and its record. `NotFound` when a gateway-minted id
    /// is unknown (no backend call is made for it).
    pub(crate) async fn resolve(&self, scim_id: &str) -> Result<(String, Option<Record>), Error> {
        if self.gateway_ids() {
            let found = self
                .store()
                .get(self.tenant(), self.resource_type(), scim_id)
                .await?;
            // A reservation whose create ended without a certain answer (or whose activation
            // a crash took back) is settled now: adopted when the backend has the resource.
            let found = match found {
                Some(pending)
                    if pending.state == RecordState::Pending
                        && !self.in_flight(&pending).await? =>
                {
                    match self.settle(&pending).await? {
                        Settled::Adopted(record) => Some(*record),
                        Settled::Released | Settled::Unresolved => None,
                    }
                }
                found => found,
            };
            let record = found.and_then(|r| self.record(r));
            return match record {
                Some(record) if !record.deactivated => {
                    Ok((record.backend_id.clone(), Some(record)))
                }
                _ => Err(self.not_found(scim_id)),
            };
        }
        if scim_id.trim().is_empty() {
            return Err(self.not_found(scim_id));
        }
        match self.by_backend_id(scim_id).await? {
            Some(record) if record.deactivated => Err(self.not_found(scim_id)),
            record => Ok((scim_id.to_owned(), record)),
        }
    }

    /// The soft-deleted record holding the unique key (lowercased `userName`) of `scim`, if
    /// any: a create of that name reactivates it instead of answering 409.
    pub(crate) async fn deactivated_holder(&self, scim: &Value) -> Result<Option<Record>, Error> {
        let Some(key) = unique_key(scim) else {
            return Ok(None);
        };
        Ok(self
            .store()
            .get_by_unique_key(self.tenant(), self.resource_type(), &key)
            .await?
            .and_then(|r| self.record(r))
            .filter(|r| r.deactivated))
    }

    /// Marks a record soft-deleted (`true`) or live again (`false`), with the unique key of
    /// `view` when given (so a later create of the same name finds it).
    pub(crate) async fn mark_deactivated(
        &self,
        mut record: Record,
        deactivated: bool,
        view: Option<&Value>,
    ) -> Result<Record, Error> {
        let mut snapshot = match record.inner.snapshot.take() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        if deactivated {
            snapshot.insert(DEACTIVATED.to_owned(), Value::Bool(true));
        } else {
            snapshot.remove(DEACTIVATED);
        }
        record.inner.snapshot = Some(Value::Object(snapshot));
        if let Some(key) = view.and_then(unique_key) {
            record.inner.unique_key = Some(key);
        }
        record.inner.last_modified = store::now();
        self.store().update(record.inner.clone()).await?;
        record.deactivated = deactivated;
        Ok(record)
    }

    /// Every active record of this resource type (for `reconcile`).
    pub(crate) async fn active_records(&self) -> Result<Vec<Record>, Error> {
        Ok(self
            .store()
            .list_active(self.tenant(), self.resource_type())
            .await?
            .into_iter()
            .filter_map(|r| self.record(r))
            .collect())
    }

    /// Whether `object` is no longer the resource `record` was made for, by the mapping's
    /// `identity`, without changing anything (`reconcile`; reads retire such records).
    /// `complete`: `object` is a full answer (a get, or a list with `reread`); a list summary
    /// without the stamp field decides nothing.
    pub(crate) fn identity_changed(&self, record: &Record, object: &Value, complete: bool) -> bool {
        let remembered = record
            .inner
            .snapshot
            .as_ref()
            .and_then(|s| s.get(IDENTITY))
            .and_then(Value::as_str);
        let current = self.resource.identity_of(object);
        match (remembered, current) {
            (Some(known), Some(now)) => known != now,
            (Some(_), None) => complete && self.resource.identity_is_stamp(),
            (None, _) => false,
        }
    }

    /// The SCIM id and record of a backend object found by a list or get. A backend object
    /// without a record adopts the pending record of a create whose answer was lost (same
    /// unique key); with gateway ids, an object never seen before gets a freshly minted id.
    /// `complete` as for [`Op::check_identity_of`]: whether `object` is a full answer.
    pub(crate) async fn identify(
        &self,
        backend_id: &str,
        object: &Value,
        complete: bool,
    ) -> Result<(String, Option<Record>), Error> {
        if let Some(record) = self.by_backend_id(backend_id).await? {
            let scim_id = record.scim_id.clone();
            match self
                .check_identity_of(&scim_id, Some(record), object, complete)
                .await
            {
                Ok(record) => return Ok((scim_id, record)),
                // The record was someone else's (now forgotten): this object is new to us.
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error),
            }
        }
        let view = self.resource.to_scim(object, &Map::new())?;
        if let Some(key) = unique_key(&view)
            && let Some(pending) = self
                .store()
                .get_by_unique_key(self.tenant(), self.resource_type(), &key)
                .await?
                .filter(|r| r.state == RecordState::Pending)
        {
            let shadow = pending.shadow.clone();
            let activated = self
                .store()
                .activate(
                    self.tenant(),
                    self.resource_type(),
                    &pending.scim_id,
                    backend_id,
                    shadow,
                )
                .await?;
            tracing::info!(
                resource = self.resource_type(),
                "Adopted a backend resource whose create answer was lost."
            );
            if let Some(record) = self.record(activated) {
                return Ok((record.scim_id.clone(), Some(record)));
            }
        }
        if !self.gateway_ids() {
            return Ok((backend_id.to_owned(), None));
        }
        let mut fresh = store::Record::pending(
            self.tenant(),
            self.resource_type(),
            uuid::Uuid::new_v4().to_string(),
            None,
        );
        fresh.backend_id = Some(backend_id.to_owned());
        fresh.state = RecordState::Active;
        if let Some(identity) = self.resource.identity_of(object) {
            fresh.snapshot = Some(serde_json::json!({ IDENTITY: identity }));
        }
        let scim_id = fresh.scim_id.clone();
        match self.store().insert(fresh.clone()).await {
            Ok(()) => Ok((scim_id, self.record(fresh))),
            // Another request adopted it first: use its id.
            Err(store::Error::Conflict { .. }) => match self.by_backend_id(backend_id).await? {
                Some(record) => Ok((record.scim_id.clone(), Some(record))),
                None => Err(Error::Store(store::Error::NotFound {
                    tenant: self.tenant().to_owned(),
                    kind: self.resource_type().to_owned(),
                    scim_id,
                })),
            },
            Err(error) => Err(error.into()),
        }
    }

    /// Records whose stored attribute `attribute` equals `value` exactly.
    pub(crate) async fn find_stored(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<Record>, Error> {
        let (tenant, kind) = (self.tenant(), self.resource_type());
        let mut found = self
            .store()
            .find_by_shadow(tenant, kind, attribute, value)
            .await?;
        // Entra's retry may match by `externalId`, which only a reservation holds while the
        // outcome of its create is unknown: settled first, so the filter finds the user.
        if found.iter().any(|r| r.state == RecordState::Pending) {
            self.settle_all(found).await?;
            found = self
                .store()
                .find_by_shadow(tenant, kind, attribute, value)
                .await?;
        }
        Ok(found
            .into_iter()
            .filter_map(|r| self.record(r))
            .filter(|r| !r.deactivated)
            .collect())
    }

    /// Saves a change: new stored attributes (when `stored` is set), the unique key of the new
    /// view, and `lastModified`. Creates the record when the gateway had none.
    pub(crate) async fn save(
        &self,
        backend_id: &str,
        record: Option<Record>,
        view: Option<&Value>,
        stored: Option<&Map<String, Value>>,
    ) -> Result<Record, Error> {
        let now = store::now();
        let key = view.and_then(unique_key);
        let (record, stored) = match record {
            Some(record) => (Some(record), stored.cloned()),
            None => match self.adopt_reserved(backend_id, key.as_deref()).await? {
                Some(adopted) => {
                    // Its stored attributes (externalId) stay unless this write replaces them.
                    let mut merged = adopted.stored.clone();
                    merged.extend(stored.cloned().unwrap_or_default());
                    (Some(adopted), Some(merged))
                }
                None => (None, stored.cloned()),
            },
        };
        let stored = stored.as_ref();
        let inner = match record {
            Some(record) => self.update_record(record, key, stored, now).await?,
            None => {
                let mut inner = store::Record::pending(
                    self.tenant(),
                    self.resource_type(),
                    uuid::Uuid::new_v4().to_string(),
                    None,
                );
                inner.backend_id = Some(backend_id.to_owned());
                inner.state = RecordState::Active;
                inner.shadow = stored.cloned().unwrap_or_default();
                match self.store().insert(inner.clone()).await {
                    Ok(()) => inner,
                    // Two requests on a backend object the store had not seen yet (concurrent
                    // PATCHes of one user): the other made its record first, so write into that.
                    Err(error @ store::Error::Conflict { .. }) => {
                        match self.by_backend_id(backend_id).await? {
                            Some(existing) => {
                                self.update_record(existing, key, stored, now).await?
                            }
                            None => return Err(error.into()),
                        }
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        self.record(inner).ok_or_else(|| {
            Error::Store(store::Error::AlreadyActive {
                scim_id: backend_id.to_owned(),
            })
        })
    }

    /// With backend ids, a write to a backend object the store has no record for, whose name a
    /// reservation holds that no create is working on (its answer was lost, or a crash took
    /// its activation back): the reservation is adopted for it, so its stored attributes stay.
    async fn adopt_reserved(
        &self,
        backend_id: &str,
        key: Option<&str>,
    ) -> Result<Option<Record>, Error> {
        let Some(key) = key else { return Ok(None) };
        let Some(pending) = self
            .store()
            .get_by_unique_key(self.tenant(), self.resource_type(), key)
            .await?
            .filter(|r| r.state == RecordState::Pending)
        else {
            return Ok(None);
        };
        if self.in_flight(&pending).await? {
            return Ok(None);
        }
        let activated = self
            .store()
            .activate(
                self.tenant(),
                self.resource_type(),
                &pending.scim_id,
                backend_id,
                pending.shadow.clone(),
            )
            .await?;
        Ok(self.record(activated))
    }

    /// Writes a known record's stored attributes, unique key and timestamp.
    async fn update_record(
        &self,
        record: Record,
        key: Option<String>,
        stored: Option<&Map<String, Value>>,
        now: time::OffsetDateTime,
    ) -> Result<store::Record, Error> {
        let mut inner = record.inner;
        if let Some(stored) = stored {
            inner.shadow = stored.clone();
        }
        if key.is_some() {
            inner.unique_key = key;
        }
        inner.last_modified = now;
        if let Err(error) = self.store().update(inner.clone()).await {
            // A stale record holding the new name: keep the old key rather than fail a write
            // the backend already took.
            if !matches!(error, store::Error::Conflict { .. }) {
                return Err(error.into());
            }
            let mut retry = inner.clone();
            retry.unique_key = None;
            self.store().update(retry).await?;
        }
        Ok(inner)
    }

    /// Checks that `object`, read by the record's backend id, is still the resource the record
    /// was made for, by the mapping's `identity` (e.g. `$.created_on`). Unknown so far: it is
    /// remembered now (first sight). Different: the backend gave the id to someone else, so the
    /// record is removed and the SCIM id is `NotFound`, never another person's data. Returns the
    /// record as it now is.
    pub(crate) async fn check_identity(
        &self,
        scim_id: &str,
        record: Option<Record>,
        object: &Value,
    ) -> Result<Option<Record>, Error> {
        self.check_identity_of(scim_id, record, object, true).await
    }

    /// [`Op::check_identity`] for an answer that may be partial: with `complete` false (a list
    /// item without `reread`, often a summary), a missing stamp field decides nothing; only a
    /// present stamp that differs retires the record. A get (or a list `reread`) decides.
    pub(crate) async fn check_identity_of(
        &self,
        scim_id: &str,
        record: Option<Record>,
        object: &Value,
        complete: bool,
    ) -> Result<Option<Record>, Error> {
        let current = self.resource.identity_of(object);
        let Some(mut record) = record else {
            return Ok(None);
        };
        let remembered = record
            .inner
            .snapshot
            .as_ref()
            .and_then(|s| s.get(IDENTITY))
            .and_then(Value::as_str)
            .map(str::to_owned);
        // A value the backend keeps may be missing from one answer; a marker scimgate wrote
        // that is gone means the record was replaced (or rewritten outside scimgate).
        let Some(current) = current.filter(|c| !c.is_empty()) else {
            if complete && remembered.is_some() && self.resource.identity_is_stamp() {
                tracing::warn!(
                    resource = self.resource_type(),
                    scim_id,
                    "The backend record lost the gateway's identity stamp; the SCIM id is retired."
                );
                self.forget(&record).await?;
                return Err(self.not_found(scim_id));
            }
            return Ok(Some(record));
        };
        match remembered {
            Some(known) if known == current => Ok(Some(record)),
            Some(_) => {
                tracing::warn!(
                    resource = self.resource_type(),
                    scim_id,
                    "The backend id now names a different resource; the SCIM id is retired."
                );
                self.forget(&record).await?;
                Err(self.not_found(scim_id))
            }
            None => {
                let mut snapshot = match record.inner.snapshot.take() {
                    Some(Value::Object(map)) => map,
                    _ => Map::new(),
                };
                snapshot.insert(IDENTITY.to_owned(), Value::String(current));
                record.inner.snapshot = Some(Value::Object(snapshot));
                self.store().update(record.inner.clone()).await?;
                Ok(Some(record))
            }
        }
    }

    /// After the gateway's own write to the resource a record names (checked by identity just
    /// before the write), the identity value may have changed with it: a group renamed through
    /// the gateway, when the mapping's identity is the name. The record takes the new value
    /// (saved with the record by [`Op::save`]), so only changes made elsewhere retire the id.
    pub(crate) fn follow_identity(&self, record: Option<Record>, object: &Value) -> Option<Record> {
        let mut record = record?;
        let Some(current) = self.resource.identity_of(object) else {
            return Some(record);
        };
        let mut snapshot = match record.inner.snapshot.take() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        snapshot.insert(IDENTITY.to_owned(), Value::String(current));
        record.inner.snapshot = Some(Value::Object(snapshot));
        Some(record)
    }

    /// Removes the record of a deleted resource.
    pub(crate) async fn forget(&self, record: &Record) -> Result<(), Error> {
        self.store()
            .delete(self.tenant(), self.resource_type(), &record.inner.scim_id)
            .await?;
        Ok(())
    }

    /// Removes the record of a resource by its backend id (the undo of a create).
    pub(crate) async fn forget_backend(&self, backend_id: &str) -> Result<(), Error> {
        if let Some(record) = self.by_backend_id(backend_id).await? {
            self.forget(&record).await?;
        }
        Ok(())
    }

    /// The not-found error for a SCIM id of this resource type.
    pub(crate) fn not_found(&self, scim_id: &str) -> Error {
        Error::NotFound {
            resource_type: self.resource_type().to_owned(),
            id: scim_id.to_owned(),
        }
    }
}
