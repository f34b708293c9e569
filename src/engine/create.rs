//! Create (`POST /Users`, `POST /Groups`): validate, one backend create (plus a re-read only
//! when the mapping says the create answer is too thin), stored attributes around it.
//!
//! Order: the mapping validates first, so an invalid request makes no backend call; then the
//! pending store record, the backend create, and the record's activation (see `ids`). A
//! backend failure removes the pending record, so the store never points at a resource the
//! backend did not take.

use crate::scim::ResourceKind;
use serde_json::Value;

use super::ids::Record;
use super::op::{Op, body_of};
use super::{Error, members, read};
use crate::mapping::{OpName, Vars};
use crate::scim::patch::MemberChange;

/// Creates the resource in `body`; returns it as the backend now has it.
pub(crate) async fn run(op: &Op<'_>, body: &Value) -> Result<Value, Error> {
    if !body.is_object() {
        return Err(Error::NotAnObject);
    }
    op.engine
        .mapping
        .registry()
        .check_shape(op.resource_type(), body)
        .map_err(|problem| Error::Invalid(vec![shape_error(problem)]))?;
    op.resource.validate_create(body).map_err(Error::Invalid)?;
    let mut write = op
        .resource
        .to_backend_create_in(body, op.engine.variables())?;
    // `identity: { stamp }`: a fresh marker tells this resource from a later one on its id.
    op.resource
        .add_stamp(&mut write.body, &uuid::Uuid::new_v4().to_string());
    if op.resource.has_op(OpName::Deactivate)
        && let Some(record) = op.deactivated_holder(body).await?
        && let Some(resource) = reactivate(op, record, body).await?
    {
        return Ok(resource);
    }
    // Backends that accept duplicates: the mapping's `create.unique` values are looked up.
    super::unique::check(op, body).await?;
    // Members a client sends with the create (Okta does) are checked before the group exists,
    // so an unknown member creates nothing.
    let member_plan = match initial_members(op, body) {
        Some(ids) => Some(members::plan(op, "", None, &[MemberChange::Add(ids)], 1).await?),
        None => None,
    };
    let pending = op.begin_create(body, &write.stored).await?;
    let label = op.label(OpName::Create);
    let answer = match op
        .call(OpName::Create, &Vars::new().with_object(write.body))
        .await
    {
        Ok(answer) => answer,
        Err(error) => {
            op.abandon_create(pending, &error).await;
            return Err(name_collision(error, body));
        }
    };
    let backend_id = match answer.body.as_ref().and_then(|b| op.resource.backend_id(b)) {
        Some(id) => id,
        None => match location_id(&answer.headers) {
            Some(id) => id,
            None => {
                // The backend took the create but did not say which id it got; the pending
                // record is kept, marked unknown, and the next request for it adopts it.
                let error = Error::BadAnswer {
                    operation: label,
                    missing: "the new resource's id".to_owned(),
                };
                op.abandon_create(pending, &error).await;
                return Err(error);
            }
        },
    };
    let (scim_id, record) = op
        .finish_create(pending, &backend_id, &write.stored)
        .await?;
    let journal = match &member_plan {
        // The group exists now; the members are added one call each, as a PATCH would. A
        // failure deletes the group again (an orphan Entra would never clean up).
        Some(plan) => {
            let mut journal = members::Journal::default();
            journal.created(&scim_id, &backend_id);
            Some(members::execute(op, &scim_id, &backend_id, plan, journal, &[]).await?)
        }
        None => None,
    };
    let finished = async {
        let object = match answer.body {
            Some(object) if !op.resource.rereads_after(OpName::Create) => object,
            _ => {
                let vars = Vars::new().with("id", backend_id.clone());
                let label = op.label(OpName::Get);
                body_of(&label, op.call(OpName::Get, &vars).await?)?
            }
        };
        let record = op.check_identity(&scim_id, Some(record), &object).await?;
        op.view(&scim_id, &object, record.as_ref())
    }
    .await;
    match (finished, journal) {
        // Members landed and what followed failed: the group made by this request goes again.
        (Err(error), Some(journal)) => {
            Err(journal.unwind(op, &backend_id, error, Vec::new()).await)
        }
        (result, _) => result,
    }
}

/// A create whose `userName` belongs to a user soft-deleted by an earlier SCIM `DELETE` (the
/// mapping's `deactivate`): the kept backend user is written with the create body (defaults
/// applied, so `active` comes back) and is live again under its old id. The backend would
/// refuse a second user of that name (409), and Entra reads "deleted" as gone, so it creates.
/// `None` when the backend lost the user meanwhile: then it is an ordinary create.
async fn reactivate(op: &Op<'_>, record: Record, body: &Value) -> Result<Option<Value>, Error> {
    let (scim_id, backend_id) = (record.scim_id.clone(), record.backend_id.clone());
    let existing = match read::fetch(op, &scim_id, &backend_id).await {
        Ok(object) => object,
        Err(error) if error.is_not_found() => {
            op.forget(&record).await?;
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let old = op.resource.to_scim(&existing, &record.stored)?;
    let new = op.resource.with_defaults(body)?;
    op.resource
        .check_domains_in(&new, Some(op.engine.variables()))?;
    let write = op.resource.to_backend_replace(&existing, &old, &new)?;
    let mut object = existing;
    if write.backend_changed {
        let vars = Vars::new()
            .with("id", backend_id.as_str())
            .with_object(write.body.clone());
        let answer = op.call(write.op, &vars).await?;
        object = match answer.body {
            Some(body)
                if !op.resource.rereads_after(write.op)
                    && op.resource.backend_id(&body).is_some() =>
            {
                body
            }
            _ => read::fetch(op, &scim_id, &backend_id).await?,
        };
    }
    let record = op
        .save(&backend_id, Some(record), Some(&new), Some(&write.stored))
        .await?;
    let record = op.mark_deactivated(record, false, Some(&new)).await?;
    tracing::info!(
        resource = op.resource_type(),
        "A create reactivated a resource soft-deleted by an earlier DELETE."
    );
    op.view(&scim_id, &object, Some(&record)).map(Some)
}

/// The member ids a group create carries, if any.
fn initial_members(op: &Op<'_>, body: &Value) -> Option<Vec<String>> {
    if op.kind() != ResourceKind::Group || !op.resource.has_op(OpName::AddMember) {
        return None;
    }
    let (_, members) = body
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("members"))?;
    let ids: Vec<String> = members
        .as_array()?
        .iter()
        .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
        .collect();
    (!ids.is_empty()).then_some(ids)
}

/// Adds the colliding value (`userName`, else `displayName`) to a uniqueness error.
fn name_collision(error: Error, body: &Value) -> Error {
    match error {
        Error::Uniqueness {
            operation,
            message,
            value: None,
        } => {
            let value = ["userName", "displayName"]
                .iter()
                .find_map(|key| body.get(*key).and_then(Value::as_str))
                .map(str::to_owned);
            Error::Uniqueness {
                operation,
                message,
                value,
            }
        }
        other => other,
    }
}

/// The last path segment of a `Location` header, for backends that answer 201 without a body.
fn location_id(headers: &http::HeaderMap) -> Option<String> {
    let location = headers.get(http::header::LOCATION)?.to_str().ok()?;
    let path = location.split(['?', '#']).next()?;
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    let decoded = percent_encoding::percent_decode_str(last)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!decoded.is_empty()).then_some(decoded)
}

/// A misshapen attribute as the mapping's wrong-type error (400 `invalidValue`).
pub(crate) fn shape_error(problem: crate::scim::schema::ShapeProblem) -> crate::mapping::Error {
    crate::mapping::Error::WrongType {
        attribute: problem.attribute,
        value: format!("(a JSON {})", problem.found),
        expected: problem.expected.to_owned(),
    }
}
