//! Group membership changes taken out of a PATCH: one backend member call per changed member,
//! never a read of the whole member list (except for "remove all" and "replace all", which
//! cannot be done otherwise and use the mapping's `members.list`).
//!
//! Member calls are not a transaction: when one fails, the error names the member and lists
//! the changes already applied, so nothing is reported as done that was not, and nothing done
//! is hidden.

use std::collections::BTreeSet;

use super::Error;
use super::op::{Op, body_of};
use crate::mapping::{self, OpName, Vars};
use crate::scim::patch::MemberChange;

/// Applies member changes to the group with backend id `group`, in request order.
pub(crate) async fn apply(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
    changes: &[MemberChange],
) -> Result<(), Error> {
    let mut applied = Vec::new();
    for change in changes {
        let result = match change {
            MemberChange::Add(ids) => {
                each_member(
                    op,
                    OpName::AddMember,
                    group_scim_id,
                    group,
                    ids,
                    &mut applied,
                )
                .await
            }
            MemberChange::Remove(ids) => {
                each_member(
                    op,
                    OpName::RemoveMember,
                    group_scim_id,
                    group,
                    ids,
                    &mut applied,
                )
                .await
            }
            MemberChange::RemoveAll => {
                let current = current_members(op, group_scim_id, group).await?;
                remove_backend(op, group_scim_id, group, &current, &mut applied).await
            }
            MemberChange::ReplaceAll(ids) => {
                replace_all(op, group_scim_id, group, ids, &mut applied).await
            }
        };
        result.map_err(|error| with_applied(error, &applied))?;
    }
    Ok(())
}

/// Adds the applied list to an error that does not carry it yet.
fn with_applied(error: Error, applied: &[String]) -> Error {
    match error {
        Error::UnknownMember { .. } | Error::PartialMembers { .. } => error,
        other if applied.is_empty() => other,
        other => Error::PartialMembers {
            source: Box::new(other),
            applied: applied.to_vec(),
        },
    }
}

/// One add or remove call per member, in order; `applied` records what took effect so a later
/// failure can say which members were already changed.
async fn each_member(
    op: &Op<'_>,
    name: OpName,
    group_scim_id: &str,
    group: &str,
    ids: &[String],
    applied: &mut Vec<String>,
) -> Result<(), Error> {
    let verb = if name == OpName::AddMember {
        "added"
    } else {
        "removed"
    };
    for member in ids {
        let backend_member = op.member_backend_id(member, applied).await?;
        member_call(
            op,
            name,
            group_scim_id,
            group,
            member,
            &backend_member,
            applied,
        )
        .await?;
        applied.push(format!("{verb} {member}"));
    }
    Ok(())
}

/// Removes members given by backend id (from `members.list`).
async fn remove_backend(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
    backend_ids: &[String],
    applied: &mut Vec<String>,
) -> Result<(), Error> {
    for backend_member in backend_ids {
        member_call(
            op,
            OpName::RemoveMember,
            group_scim_id,
            group,
            backend_member,
            backend_member,
            applied,
        )
        .await?;
        applied.push(format!("removed backend member {backend_member}"));
    }
    Ok(())
}

async fn replace_all(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
    ids: &[String],
    applied: &mut Vec<String>,
) -> Result<(), Error> {
    let current: BTreeSet<String> = current_members(op, group_scim_id, group)
        .await?
        .into_iter()
        .collect();
    let mut wanted = BTreeSet::new();
    let mut to_add = Vec::new();
    for member in ids {
        let backend_member = op.member_backend_id(member, applied).await?;
        if !current.contains(&backend_member) {
            to_add.push((member.clone(), backend_member.clone()));
        }
        wanted.insert(backend_member);
    }
    let to_remove: Vec<String> = current.difference(&wanted).cloned().collect();
    for (member, backend_member) in &to_add {
        member_call(
            op,
            OpName::AddMember,
            group_scim_id,
            group,
            member,
            backend_member,
            applied,
        )
        .await?;
        applied.push(format!("added {member}"));
    }
    remove_backend(op, group_scim_id, group, &to_remove, applied).await
}

/// The group's member backend ids, from the mapping's `members.list` call.
async fn current_members(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
) -> Result<Vec<String>, Error> {
    let vars = Vars::new().with("id", group);
    let label = op.label(OpName::ListMembers);
    match op.call(OpName::ListMembers, &vars).await {
        Ok(answer) => Ok(op.resource.member_ids(&body_of(&label, answer)?)),
        Err(error) if error.is_not_found() => Err(op.not_found(group_scim_id)),
        Err(error) => Err(error),
    }
}

/// One add or remove call. A refusal the mapping's `errors` call `already_done` is success when
/// `members.list` shows the change in place. A member the backend refuses, or one that cannot
/// be a backend id at all, is [`Error::UnknownMember`]; a 404 means the group is gone.
async fn member_call(
    op: &Op<'_>,
    name: OpName,
    group_scim_id: &str,
    group: &str,
    member: &str,
    backend_member: &str,
    applied: &[String],
) -> Result<(), Error> {
    let vars = Vars::new().with("id", group).with("member", backend_member);
    let unknown = || Error::UnknownMember {
        member: member.to_owned(),
        applied: applied.to_vec(),
    };
    match op.call(name, &vars).await {
        Ok(_) => Ok(()),
        // The mapping says this refusal can mean "already so" (Redmine's 422 for a member
        // added twice, which Entra does routinely): success only when the member list agrees.
        Err(Error::Backend(crate::backend::Error::Status {
            status,
            message,
            body,
            ..
        })) if op
            .resource
            .classify_error(name, status.as_u16(), &message, body.as_ref())
            == Some(mapping::ErrorClass::AlreadyDone) =>
        {
            let present = current_members(op, group_scim_id, group)
                .await?
                .iter()
                .any(|m| m == backend_member);
            if present == (name == OpName::AddMember) {
                tracing::info!(
                    operation = name.as_str(),
                    "The backend refused a member change that was already in place."
                );
                Ok(())
            } else {
                Err(unknown())
            }
        }
        Err(
            Error::Rejected { .. }
            | Error::Mapping(
                mapping::Error::WrongType { .. } | mapping::Error::UnsafePathValue { .. },
            ),
        ) => Err(unknown()),
        Err(Error::Backend(crate::backend::Error::Status { status, .. }))
            if matches!(status.as_u16(), 400 | 422) =>
        {
            Err(unknown())
        }
        Err(error) if error.is_not_found() => Err(op.not_found(group_scim_id)),
        Err(error) => Err(error),
    }
}

/// The group's members as SCIM `members` values (`value`, `$ref`, `type`), from the mapping's
/// `members.list` call. Member backend ids without a known SCIM id (gateway ids) are left out.
pub(crate) async fn read(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
) -> Result<Vec<serde_json::Value>, Error> {
    let backend_ids = current_members(op, group_scim_id, group).await?;
    let mut out = Vec::with_capacity(backend_ids.len());
    for backend_id in backend_ids {
        let Some(id) = op.member_scim_id(&backend_id).await? else {
            tracing::info!("A group member has no SCIM id in the gateway; left out.");
            continue;
        };
        out.push(serde_json::json!({
            "value": id,
            "$ref": format!("{}/Users/{id}", op.engine.options.base_url),
            "type": "User",
        }));
    }
    Ok(out)
}

/// Adds `members` to a group resource when the mapping can list them (one call).
pub(crate) async fn attach(op: &Op<'_>, resource: &mut serde_json::Value) -> Result<(), Error> {
    if !op.resource_type().eq_ignore_ascii_case("Group") || !op.resource.has_op(OpName::ListMembers)
    {
        return Ok(());
    }
    let Some(id) = resource
        .get("id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(());
    };
    let (backend_id, _) = op.resolve(&id).await?;
    let members = read(op, &id, &backend_id).await?;
    if let Some(object) = resource.as_object_mut() {
        if members.is_empty() {
            object.remove("members");
        } else {
            object.insert("members".to_owned(), serde_json::Value::Array(members));
        }
    }
    Ok(())
}
