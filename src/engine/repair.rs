//! Repair of creates whose outcome was never learned (step 5 of the store's crash-repair
//! protocol): a pending record older than a grace period is looked up in the backend by its
//! unique key (`userName eq` / `displayName eq`, pushed down like Entra's own filter). Found:
//! the lookup adopts it (its `externalId` survives). Not found: the backend never took the
//! create and the pending record is deleted, freeing the name.
//!
//! Meant for a periodic task (and tests); normal requests repair on their own path too (a
//! filter that finds the object adopts it, a create takes over a stale reservation).

use crate::scim::ResourceKind;
use std::time::Duration;

use crate::scim::filter::Filter;
use crate::scim::query::{ListQuery, SortOrder};
use crate::store::RecordState;

use super::op::Op;
use super::{Engine, Error, list};

/// What one repair pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Pending records whose backend object was found and adopted.
    pub adopted: usize,
    /// Pending records deleted because the backend has no such object.
    pub removed: usize,
}

impl Engine {
    /// Resolves pending store records older than `grace` (use more than the deadline, so no
    /// create still in flight is touched).
    pub async fn repair_pending(&self, grace: Duration) -> Result<RepairReport, Error> {
        let mut report = RepairReport::default();
        let older_than = crate::store::now() - grace;
        for resource in [self.mapping.users(), self.mapping.groups()]
            .into_iter()
            .flatten()
        {
            let op = Op::new(self, resource, "repair", None);
            let kind = resource.resource_type();
            for pending in self
                .store
                .list_pending(&self.tenant, kind, older_than)
                .await?
            {
                if let Some(key) = &pending.unique_key {
                    look_up(&op, key).await?;
                }
                let still_pending = self
                    .store
                    .get(&self.tenant, kind, &pending.scim_id)
                    .await?
                    .is_some_and(|r| r.state == RecordState::Pending);
                if still_pending {
                    if self
                        .store
                        .delete_pending(&self.tenant, kind, &pending.scim_id)
                        .await?
                    {
                        report.removed += 1;
                    }
                } else {
                    report.adopted += 1;
                }
            }
            op.finish(Ok::<(), Error>(()))?;
        }
        Ok(report)
    }
}

/// Looks the backend up for the resource named `name` (`userName eq` / `displayName eq`,
/// pushed down as Entra's own filter is): a backend object found there that a pending record
/// reserves is adopted by it on the way (see `Op::identify`).
pub(super) async fn look_up(op: &Op<'_>, name: &str) -> Result<(), Error> {
    let attribute = if op.kind() == ResourceKind::Group {
        "displayName"
    } else {
        "userName"
    };
    let text = format!("{attribute} eq {}", serde_json::Value::from(name));
    let filter = Filter::parse(&text, op.engine.mapping.registry().urns())?;
    let query = ListQuery {
        filter: Some(filter),
        start_index: 1,
        count: 2,
        attributes: Vec::new(),
        excluded_attributes: Vec::new(),
        value_filters: Vec::new(),
        sort_by: None,
        sort_order: SortOrder::default(),
    };
    Box::pin(list::run(op, &query, false)).await?;
    Ok(())
}
