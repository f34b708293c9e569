//! Delete (`DELETE /Users/{id}`): the mapping's `delete` call, or its `deactivate` when the
//! mapping defines one. The store record goes with a real delete. With `deactivate` the
//! product keeps the user's data and the record stays, marked soft-deleted. Either way, after
//! it the id answers 404 and filters find nothing (Entra reads "deleted" as gone), and a later
//! create of the same `userName` reactivates the kept user (`create`) instead of a 409.

use super::Error;
use super::op::Op;
use crate::mapping::{OpName, Vars};

/// Deletes (or deactivates) the resource with SCIM id `id`.
pub(crate) async fn run(op: &Op<'_>, id: &str) -> Result<(), Error> {
    let (backend_id, mut record) = op.resolve(id).await?;
    if op.resource.has_identity() {
        // The backend reuses ids: make sure the id still names this resource before deleting.
        match super::read::fetch_checked(op, id, &backend_id, record.clone()).await {
            Ok((_, checked)) => record = checked,
            Err(error) if error.is_not_found() => {
                if let Some(record) = &record {
                    op.forget(record).await?;
                }
                return Err(op.not_found(id));
            }
            Err(error) => return Err(error),
        }
    }
    let name = if op.resource.has_op(OpName::Deactivate) {
        OpName::Deactivate
    } else {
        OpName::Delete
    };
    let vars = Vars::new().with("id", backend_id.as_str());
    match op.call(name, &vars).await {
        Ok(_) => {}
        Err(error) if error.is_not_found() => {
            if let Some(record) = record.as_ref().filter(|_| name == OpName::Delete) {
                // The backend lost it already: the record must not outlive it.
                op.forget(record).await?;
            }
            return Err(op.not_found(id));
        }
        Err(crate::engine::Error::Mapping(crate::mapping::Error::UnsafePathValue { .. })) => {
            return Err(op.not_found(id));
        }
        Err(error) => return Err(error),
    }
    if name == OpName::Delete {
        if let Some(record) = &record {
            op.forget(record).await?;
        }
    } else {
        // A user the gateway has no record of yet gets one, named after its current userName,
        // so that a create of the same name finds it again.
        let view = match &record {
            Some(_) => None,
            None => match super::read::fetch(op, id, &backend_id).await {
                Ok(object) => Some(op.resource.to_scim(&object, &serde_json::Map::new())?),
                Err(error) if error.is_not_found() => None,
                Err(error) => return Err(error),
            },
        };
        let record = op.save(&backend_id, record, view.as_ref(), None).await?;
        op.mark_deactivated(record, true, view.as_ref()).await?;
    }
    Ok(())
}
