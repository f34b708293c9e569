//! Get by id (`GET /Users/{id}`): one backend call. Inactive users are returned as they are
//! (`active: false`), never hidden: Entra must find them to re-enable them.

use serde_json::Value;

use super::Error;
use super::ids::Record;
use super::op::{Op, body_of};
use crate::mapping::{OpName, Vars};

/// The resource with SCIM id `id`.
pub(crate) async fn get(op: &Op<'_>, id: &str) -> Result<Value, Error> {
    let (backend_id, record) = op.resolve(id).await?;
    let (object, record) = fetch_checked(op, id, &backend_id, record).await?;
    op.view(id, &object, record.as_ref())
}

/// One backend get; a 404 (or a path value the mapping refuses, such as `..`) is `NotFound`.
pub(crate) async fn fetch(op: &Op<'_>, scim_id: &str, backend_id: &str) -> Result<Value, Error> {
    let vars = Vars::new().with("id", backend_id);
    match op.call(OpName::Get, &vars).await {
        Ok(answer) => body_of(&op.label(OpName::Get), answer),
        Err(error) if error.is_not_found() => Err(op.not_found(scim_id)),
        Err(Error::Mapping(crate::mapping::Error::UnsafePathValue { .. })) => {
            Err(op.not_found(scim_id))
        }
        Err(error) => Err(error),
    }
}

/// [`fetch`], then the mapping's `identity` check against the record (see
/// `Op::check_identity`): a backend that reused the id for someone else reads as `NotFound`.
pub(crate) async fn fetch_checked(
    op: &Op<'_>,
    scim_id: &str,
    backend_id: &str,
    record: Option<Record>,
) -> Result<(Value, Option<Record>), Error> {
    let object = fetch(op, scim_id, backend_id).await?;
    let record = op.check_identity(scim_id, record, &object).await?;
    Ok((object, record))
}

/// The backend object and record of a SCIM id, for read-modify-write.
pub(crate) async fn current(
    op: &Op<'_>,
    id: &str,
) -> Result<(String, Value, Option<Record>), Error> {
    let (backend_id, record) = op.resolve(id).await?;
    let (object, record) = fetch_checked(op, id, &backend_id, record).await?;
    Ok((backend_id, object, record))
}
