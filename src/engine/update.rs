//! Replace (`PUT`) and patch (`PATCH`): read-modify-write with one backend read and at most
//! one backend write.
//!
//! The current backend object is read and viewed as SCIM; the new SCIM resource (the PUT body,
//! or the current view with the PATCH operations applied by `scim::patch::apply`) is diffed by
//! the mapping, which keeps backend fields it does not own. Nothing changed in the backend → no
//! write; only stored attributes changed (`externalId`) → only the store is written. Group
//! member operations are taken out of a PATCH first and become member calls (`members`), so a
//! PATCH of only members reads nothing.

use crate::scim::ResourceKind;
use serde_json::{Map, Value};

use super::Error;
use super::ids::Record;
use super::members;
use super::op::Op;
use super::read;
use crate::mapping::{OpName, Vars, Write};
use crate::scim::patch::{self, MemberChange, PatchRequest};

/// `PUT`: the body is the whole new resource. Attributes it carries replace the current ones
/// (`null` clears); attributes it leaves out are not asserted and keep their backend values
/// (RFC 7644 §3.5.1 allows either reading; see `ResourceMapping::to_backend_replace`). The
/// mapping keeps fields it does not own.
pub(crate) async fn replace(op: &Op<'_>, id: &str, body: &Value) -> Result<Value, Error> {
    if !body.is_object() {
        return Err(Error::NotAnObject);
    }
    op.engine
        .mapping
        .registry()
        .check_shape(op.resource_type(), body)
        .map_err(|problem| Error::Invalid(vec![super::create::shape_error(problem)]))?;
    let (backend_id, existing, record) = read::current(op, id).await?;
    let stored = record
        .as_ref()
        .map(|r| r.stored.clone())
        .unwrap_or_default();
    let old = op.resource.to_scim(&existing, &stored)?;
    // `policies.email_domains` with this connection's `{conn.NAME}` values.
    op.resource
        .check_domains_in(body, Some(op.engine.variables()))?;
    let write = op.resource.to_backend_replace(&existing, &old, body)?;
    super::unique::check_change(op, id, &old, body).await?;
    let changes: Vec<MemberChange> = replaced_members(op, body).into_iter().collect();
    write_with_members(
        op,
        id,
        &backend_id,
        (existing, record, write),
        body,
        &changes,
    )
    .await
}

/// The writes of a group PUT or PATCH, all or nothing: members are resolved and checked and
/// the attribute write computed before anything is written; then the member calls, then the
/// attribute write. When the attribute write fails, the member calls are undone.
async fn write_with_members(
    op: &Op<'_>,
    id: &str,
    backend_id: &str,
    (existing, record, write): (Value, Option<Record>, Write),
    new_scim: &Value,
    changes: &[MemberChange],
) -> Result<Value, Error> {
    if changes.is_empty() {
        return write_back(op, id, backend_id, existing, record, write, new_scim)
            .await
            .map_err(|(Failed::Write(error) | Failed::After(error))| error);
    }
    let other = usize::from(write.backend_changed);
    let plan = members::plan(op, id, Some(backend_id), changes, other).await?;
    let later = if write.backend_changed {
        vec![format!("change of group {id}'s attributes")]
    } else {
        Vec::new()
    };
    let journal = members::execute(
        op,
        id,
        backend_id,
        &plan,
        members::Journal::default(),
        &later,
    )
    .await?;
    let before = existing.clone();
    let (op_name, body) = (write.op, write.body.clone());
    let changed = write.backend_changed;
    match write_back(op, id, backend_id, existing, record, write, new_scim).await {
        Ok(resource) => Ok(resource),
        // The attribute write itself failed: it is not applied.
        Err(Failed::Write(error)) => Err(journal.unwind(op, backend_id, error, later).await),
        // The attribute write landed and what followed (re-read, save) failed: it is undone
        // with the members; when its undo fails, the answer says it is still in place.
        Err(Failed::After(error)) if changed => {
            let inverse = inverse_body(op_name, &before, &body);
            let undo = op.for_undo();
            let vars = Vars::new().with("id", backend_id).with_object(inverse);
            match undo.call(op_name, &vars).await {
                Ok(_) => Err(journal.unwind(op, backend_id, error, Vec::new()).await),
                Err(undo_error) => {
                    tracing::error!(error = %undo_error, "Undoing a group's attribute change failed.");
                    let landed = format!("changed group {id}'s attributes");
                    Err(journal.unwind_with(op, backend_id, error, landed).await)
                }
            }
        }
        Err(Failed::After(error)) => Err(journal.unwind(op, backend_id, error, Vec::new()).await),
    }
}

/// What undoes an attribute write: the whole object as it was for a `replace`, else each field
/// the write set, as it was (`null` where it was absent).
fn inverse_body(name: OpName, before: &Value, body: &Value) -> Value {
    if name == OpName::Replace {
        return before.clone();
    }
    match body {
        Value::Object(fields) => Value::Object(
            fields
                .keys()
                .map(|key| (key.clone(), before.get(key).cloned().unwrap_or(Value::Null)))
                .collect(),
        ),
        _ => before.clone(),
    }
}

/// Where a write-back failed: the backend write itself, or after it landed.
enum Failed {
    Write(Error),
    After(Error),
}

/// A group PUT that lists `members` replaces the member list, when the mapping can list the
/// current members (otherwise `members` is not something this mapping manages).
fn replaced_members(op: &Op<'_>, body: &Value) -> Option<MemberChange> {
    if op.kind() != ResourceKind::Group || !op.resource.has_op(OpName::ListMembers) {
        return None;
    }
    let (_, members) = body
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("members"))?;
    let ids = match members {
        Value::Array(items) => items
            .iter()
            .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        Value::Null => Vec::new(),
        _ => return None,
    };
    Some(MemberChange::ReplaceAll(ids))
}

/// `PATCH`: users answer with the resource, groups with nothing (204).
pub(crate) async fn patch(op: &Op<'_>, id: &str, body: &Value) -> Result<Option<Value>, Error> {
    let registry = op.engine.mapping.registry();
    let mut request = PatchRequest::parse(body, registry)?;
    let is_group = op.kind() == ResourceKind::Group;
    let member_changes = if is_group {
        request.take_member_changes("members")
    } else {
        Vec::new()
    };
    if is_group && request.operations.is_empty() {
        // With an `identity`, the group is read first: a reused backend id must not get the
        // members meant for the group that had it before.
        let backend_id = if op.resource.has_identity() {
            read::current(op, id).await?.0
        } else {
            op.resolve(id).await?.0
        };
        members::apply(op, id, &backend_id, &member_changes).await?;
        return Ok(None);
    }
    let (backend_id, existing, record) = read::current(op, id).await?;
    let stored = record
        .as_ref()
        .map(|r| r.stored.clone())
        .unwrap_or_default();
    let old = op.resource.to_scim(&existing, &stored)?;
    let mut new = old.clone();
    let report = patch::apply(
        &mut new,
        &request,
        registry,
        op.resource_type(),
        &op.resource.patch_options(),
    )?;
    if !report.ignored.is_empty() {
        tracing::info!(
            ignored = report.ignored.len(),
            "PATCH operations on attributes this mapping does not know were ignored."
        );
    }
    registry
        .check_shape(op.resource_type(), &new)
        .map_err(|problem| Error::Invalid(vec![super::create::shape_error(problem)]))?;
    op.resource
        .check_domains_in(&new, Some(op.engine.variables()))?;
    let write = op
        .resource
        .to_backend_patch(&existing, &old, &new, &request)?;
    super::unique::check_change(op, id, &old, &new).await?;
    let resource = write_with_members(
        op,
        id,
        &backend_id,
        (existing, record, write),
        &new,
        &member_changes,
    )
    .await?;
    Ok((!is_group).then_some(resource))
}

/// Sends the write when a backend field changed, saves stored attributes when they changed,
/// and returns the resource as it now is.
async fn write_back(
    op: &Op<'_>,
    id: &str,
    backend_id: &str,
    existing: Value,
    record: Option<Record>,
    write: Write,
    new_scim: &Value,
) -> Result<Value, Failed> {
    let mut object = existing;
    let mut record = record;
    if write.backend_changed {
        let vars = Vars::new()
            .with("id", backend_id)
            .with_object(write.body.clone());
        let answer = match op.call(write.op, &vars).await {
            Ok(answer) => answer,
            Err(error) if error.is_not_found() => return Err(Failed::Write(op.not_found(id))),
            Err(error) => return Err(Failed::Write(error)),
        };
        object = match answer.body {
            Some(body)
                if !op.resource.rereads_after(write.op)
                    && op.resource.backend_id(&body).is_some() =>
            {
                body
            }
            _ if op.resource.rereads_after(write.op) => read::fetch(op, id, backend_id)
                .await
                .map_err(Failed::After)?,
            _ => merged(object, &write),
        };
        record = op.follow_identity(record, &object);
    }
    let old_stored = record
        .as_ref()
        .map(|r| r.stored.clone())
        .unwrap_or_default();
    let stored_changed = !same_stored(&old_stored, &write.stored);
    let record = if stored_changed || write.backend_changed {
        let new_stored = stored_changed.then_some(&write.stored);
        Some(
            op.save(backend_id, record, Some(new_scim), new_stored)
                .await
                .map_err(Failed::After)?,
        )
    } else {
        record
    };
    op.view(id, &object, record.as_ref()).map_err(Failed::After)
}

/// Whether two stored-attribute maps hold the same values (absent and `null` are the same).
fn same_stored(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    let present = |m: &Map<String, Value>| -> Map<String, Value> {
        m.iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    present(old) == present(new)
}

/// The backend object after a write whose answer had no usable body.
fn merged(existing: Value, write: &Write) -> Value {
    if write.op == OpName::Replace {
        return write.body.clone();
    }
    match (existing, &write.body) {
        (Value::Object(mut object), Value::Object(changes)) => {
            for (key, value) in changes {
                object.insert(key.clone(), value.clone());
            }
            Value::Object(object)
        }
        (existing, _) => existing,
    }
}
