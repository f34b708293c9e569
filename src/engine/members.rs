//! Group membership: reading a group's members (every page of `members.list`) and carrying out
//! the member changes of one SCIM request all or nothing.
//!
//! A request's member changes are first [`plan`]ned without writing anything: every member id
//! is resolved (the store first; with `ids: backend`, the backend's `users.get` for ids the
//! store does not know, when the request makes more than one write), every call is rendered,
//! and every bad member id is named in one 400. When the request makes more than one member
//! write (or remove-all, PUT, `skip_present`, `{row}` removal), the current members are read
//! first, so adds of present members and removes of absent ones are skipped and each landed
//! call has an exact inverse. A single add or remove is one call and no read.
//!
//! Then [`execute`] makes the calls in order, keeping a [`Journal`] of those that landed. When a
//! call fails, the landed ones are undone with inverse calls, newest first, and the original
//! error is answered; when an undo fails too, [`Error::Partial`] says exactly what is still in
//! place, what was undone and what was never made.

use crate::operation::BackendOp;
use crate::scim::ResourceKind;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Error;
use super::ids::Member;
use super::op::{Op, body_of};
use crate::mapping::{self, NextPage, OpName, Paging, Vars};
use crate::scim::patch::MemberChange;

/// The most `members.list` pages one read follows; more is an error, never a silent cut.
const MAX_PAGES: usize = 10_000;

/// The most bad member ids one request's check collects: a hostile request naming thousands of
/// ids that do not exist costs at most this many backend checks beyond the good ones.
const MAX_BAD_MEMBERS: usize = 50;

/// The page size asked for when `members.list` names no `max_page_size`.
const DEFAULT_PAGE: usize = 100;

/// One member call of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Action {
    /// Add (else remove).
    add: bool,
    /// The member as the client named it (or `backend member N` for remove-all and PUT).
    label: String,
    /// The member's backend id.
    backend: String,
}

impl Action {
    /// `add member 17`, for what was not applied.
    fn planned(&self) -> String {
        format!("{} {}", if self.add { "add" } else { "remove" }, self.label)
    }

    /// `added member 17`, for what landed.
    fn done(&self) -> String {
        format!(
            "{} {}",
            if self.add { "added" } else { "removed" },
            self.label
        )
    }

    fn inverse(&self) -> Self {
        Self {
            add: !self.add,
            ..self.clone()
        }
    }
}

/// The member calls one SCIM request makes, resolved and checked.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    actions: Vec<Action>,
    /// Membership row ids by member backend id, when the members were read.
    rows: BTreeMap<String, String>,
}

/// The writes of one SCIM request that landed, to undo them if a later one fails.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    /// A group created by this request (SCIM id, backend id).
    created: Option<(String, String)>,
    landed: Vec<Action>,
}

impl Journal {
    /// Records the group this request created.
    pub(crate) fn created(&mut self, scim_id: &str, backend_id: &str) {
        self.created = Some((scim_id.to_owned(), backend_id.to_owned()));
    }

    /// Undoes what landed, newest first, after `error` stopped the request; `not_applied`
    /// names the changes never made. The original error when every undo worked (or nothing
    /// landed), else [`Error::Partial`].
    pub(crate) async fn unwind(
        self,
        op: &Op<'_>,
        group: &str,
        error: Error,
        not_applied: Vec<String>,
    ) -> Error {
        if self.landed.is_empty() && self.created.is_none() {
            return error;
        }
        // The undo has a budget of its own: the failure may have been the deadline itself.
        let undo = op.for_undo();
        let op = &undo;
        let mut still = Vec::new();
        let mut undone = Vec::new();
        let rows = BTreeMap::new();
        let mut failed = false;
        // A group this request created is deleted instead: its members go with it.
        let members = if self.created.is_some() {
            &[][..]
        } else {
            &self.landed[..]
        };
        for action in members.iter().rev() {
            if failed {
                still.push(action.done());
                continue;
            }
            match member_call(op, group, &action.inverse(), &rows).await {
                Ok(_) => undone.push(action.done()),
                Err(undo_error) => {
                    tracing::error!(error = %undo_error, "Undoing a member change failed.");
                    failed = true;
                    still.push(action.done());
                }
            }
        }
        if let Some((scim_id, backend_id)) = &self.created {
            let created = format!("created group {scim_id}");
            match undo_create(op, backend_id).await {
                Ok(()) => {
                    undone.push(created);
                    undone.extend(self.landed.iter().map(Action::done));
                }
                Err(undo_error) => {
                    tracing::error!(error = %undo_error, "Undoing a group create failed.");
                    failed = true;
                    still.push(created);
                    still.extend(self.landed.iter().map(Action::done));
                }
            }
        }
        if !failed {
            tracing::info!(
                undone = undone.len(),
                "A SCIM request failed part way; the changes that had landed were undone."
            );
            return error;
        }
        still.reverse();
        let scim_id = self
            .created
            .as_ref()
            .map_or_else(|| op.scim_id().to_owned(), |(scim_id, _)| scim_id.clone());
        tracing::error!(
            scim_id = %scim_id,
            still_in_place = %still.join(", "),
            undone = %undone.join(", "),
            not_applied = %not_applied.join(", "),
            "A SCIM request was applied in part: its undo failed."
        );
        Error::Partial {
            source: Box::new(error),
            landed: still,
            undone,
            not_applied,
        }
    }
}

impl Journal {
    /// Like [`Journal::unwind`] when another write of the request (`landed`, a rename) is
    /// still in place and could not be undone: always [`Error::Partial`], naming it.
    pub(crate) async fn unwind_with(
        self,
        op: &Op<'_>,
        group: &str,
        error: Error,
        landed: String,
    ) -> Error {
        let members: Vec<String> = self.landed.iter().map(Action::done).collect();
        match self.unwind(op, group, error, Vec::new()).await {
            Error::Partial {
                source,
                landed: mut still,
                undone,
                not_applied,
            } => {
                still.insert(0, landed);
                Error::Partial {
                    source,
                    landed: still,
                    undone,
                    not_applied,
                }
            }
            error => Error::Partial {
                source: Box::new(error),
                landed: vec![landed],
                undone: members,
                not_applied: Vec::new(),
            },
        }
    }
}

/// Deletes a group this request created, and its store record.
async fn undo_create(op: &Op<'_>, backend_id: &str) -> Result<(), Error> {
    let vars = Vars::new().with("id", backend_id);
    match op.call(OpName::Delete, &vars).await {
        Ok(_) => {}
        Err(error) if error.is_not_found() => {}
        Err(error) => return Err(error),
    }
    op.forget_backend(backend_id).await
}

/// Resolves and checks the member changes of one request before anything is written.
/// `group` is the group's backend id (`None` for a group not created yet, which has no
/// members); `other_writes` counts the request's other backend writes (a rename).
pub(crate) async fn plan(
    op: &Op<'_>,
    group_scim_id: &str,
    group: Option<&str>,
    changes: &[MemberChange],
    other_writes: usize,
) -> Result<Plan, Error> {
    let named: usize = changes
        .iter()
        .map(|c| match c {
            MemberChange::Add(ids) | MemberChange::Remove(ids) => ids.len(),
            MemberChange::RemoveAll | MemberChange::ReplaceAll(_) => 2,
        })
        .sum();
    if named == 0 {
        return Ok(Plan::default());
    }
    let whole = changes
        .iter()
        .any(|c| matches!(c, MemberChange::RemoveAll | MemberChange::ReplaceAll(_)));
    let adds = changes.iter().any(|c| matches!(c, MemberChange::Add(_)));
    let removes = changes.iter().any(|c| matches!(c, MemberChange::Remove(_)));
    let read_first = whole
        || (adds && op.resource.skips_present_members())
        || (removes && op.resource.removes_by_row())
        || named + other_writes > 1;
    // The current members, in backend order, with their row ids.
    let current: Option<Vec<(String, Option<String>)>> = match (group, read_first) {
        (None, _) => Some(Vec::new()),
        (Some(group), true) => Some(current_members(op, group_scim_id, group).await?),
        (Some(_), false) => None,
    };
    let present: Option<BTreeSet<String>> = current
        .as_ref()
        .map(|c| c.iter().map(|(m, _)| m.clone()).collect());
    // Resolve every member id the client named; each bad one is named.
    let check_backend = named + other_writes > 1 || group.is_none();
    let mut resolved = BTreeMap::new();
    let mut bad = Vec::new();
    for id in changes.iter().flat_map(|c| match c {
        MemberChange::Add(ids) | MemberChange::Remove(ids) | MemberChange::ReplaceAll(ids) => {
            ids.as_slice()
        }
        MemberChange::RemoveAll => &[],
    }) {
        if resolved.contains_key(id) || bad.contains(id) {
            continue;
        }
        if bad.len() == MAX_BAD_MEMBERS {
            return Err(Error::UnknownMembers {
                members: bad,
                more: true,
            });
        }
        let backend = match op.member_lookup(id).await? {
            Some(Member::Unverified(backend))
                if check_backend && !present.as_ref().is_some_and(|p| p.contains(&backend)) =>
            {
                user_exists(op, &backend).await?.then_some(backend)
            }
            Some(Member::Known(backend) | Member::Unverified(backend)) => Some(backend),
            None => None,
        };
        match backend.filter(|b| renders(op, b)) {
            Some(backend) => {
                resolved.insert(id.clone(), backend);
            }
            None => bad.push(id.clone()),
        }
    }
    if !bad.is_empty() {
        return Err(Error::UnknownMembers {
            members: bad,
            more: false,
        });
    }
    let mut plan = Plan::default();
    if let Some(current) = &current {
        plan.rows = current
            .iter()
            .filter_map(|(m, row)| row.clone().map(|r| (m.clone(), r)))
            .collect();
    }
    // Walk the changes in order over the member set, so each call changes something.
    let mut set = present;
    let mut order: Vec<String> = current
        .map(|c| c.into_iter().map(|(m, _)| m).collect())
        .unwrap_or_default();
    let push = |plan: &mut Plan, set: &mut Option<BTreeSet<String>>, action: Action| {
        if let Some(set) = set {
            let changes = if action.add {
                set.insert(action.backend.clone())
            } else {
                set.remove(&action.backend)
            };
            if !changes {
                return;
            }
        }
        plan.actions.push(action);
    };
    for change in changes {
        match change {
            MemberChange::Add(ids) | MemberChange::Remove(ids) => {
                let add = matches!(change, MemberChange::Add(_));
                for id in ids {
                    let backend = resolved.get(id).cloned().unwrap_or_else(|| id.clone());
                    if add {
                        order.push(backend.clone());
                    }
                    let action = Action {
                        add,
                        label: format!("member {id}"),
                        backend,
                    };
                    push(&mut plan, &mut set, action);
                }
            }
            MemberChange::RemoveAll => {
                for backend in &order {
                    let action = Action {
                        add: false,
                        label: format!("backend member {backend}"),
                        backend: backend.clone(),
                    };
                    push(&mut plan, &mut set, action);
                }
            }
            MemberChange::ReplaceAll(ids) => {
                let wanted: Vec<(String, String)> = ids
                    .iter()
                    .map(|id| {
                        let backend = resolved.get(id).cloned().unwrap_or_else(|| id.clone());
                        (id.clone(), backend)
                    })
                    .collect();
                let keep: BTreeSet<&String> = wanted.iter().map(|(_, b)| b).collect();
                let gone: Vec<String> = order
                    .iter()
                    .filter(|b| !keep.contains(b))
                    .cloned()
                    .collect();
                for (id, backend) in &wanted {
                    order.push(backend.clone());
                    let action = Action {
                        add: true,
                        label: format!("member {id}"),
                        backend: backend.clone(),
                    };
                    push(&mut plan, &mut set, action);
                }
                for backend in gone {
                    let action = Action {
                        add: false,
                        label: format!("backend member {backend}"),
                        backend,
                    };
                    push(&mut plan, &mut set, action);
                }
            }
        }
    }
    Ok(plan)
}

/// Whether the add and remove calls render for this member id (a `{member:integer}` body
/// refuses `abc`; a path refuses `..`).
fn renders(op: &Op<'_>, backend: &str) -> bool {
    let vars = Vars::new()
        .with("id", "0")
        .with("member", backend)
        .with("row", "0");
    [OpName::AddMember, OpName::RemoveMember]
        .into_iter()
        .all(|name| op.resource.render(name, &op.with_connection(&vars)).is_ok())
}

/// Whether the backend has a user with this backend id (`users.get`; 404 is no).
async fn user_exists(op: &Op<'_>, backend: &str) -> Result<bool, Error> {
    let Some(users) = op.engine.mapping.users() else {
        return Ok(true);
    };
    let Ok(rendered) = users.render(
        OpName::Get,
        &op.with_connection(&Vars::new().with("id", backend)),
    ) else {
        return Ok(false);
    };
    match op
        .send(BackendOp::new(ResourceKind::User, OpName::Get), rendered)
        .await
    {
        Ok(_) => Ok(true),
        Err(error) if error.is_not_found() => Ok(false),
        Err(Error::Backend(crate::backend::Error::Status { status, .. }))
            if matches!(status.as_u16(), 400 | 422) =>
        {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// Makes the planned calls in order, recording each that landed in `journal`. On a failure,
/// what landed is undone (see [`Journal::unwind`]); `later` names the request's writes planned
/// after these (a rename), for the "not applied" list.
pub(crate) async fn execute(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
    plan: &Plan,
    mut journal: Journal,
    later: &[String],
) -> Result<Journal, Error> {
    for (i, action) in plan.actions.iter().enumerate() {
        match member_call(op, group, action, &plan.rows).await {
            Ok(true) => journal.landed.push(action.clone()),
            Ok(false) => {}
            Err(error) => {
                let error = if error.is_not_found() {
                    op.not_found(group_scim_id)
                } else {
                    error
                };
                let mut not_applied: Vec<String> =
                    plan.actions[i..].iter().map(Action::planned).collect();
                not_applied.extend(later.iter().cloned());
                return Err(journal.unwind(op, group, error, not_applied).await);
            }
        }
    }
    Ok(journal)
}

/// Carries out member changes on an existing group, all or nothing (a members-only PATCH).
pub(crate) async fn apply(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
    changes: &[MemberChange],
) -> Result<(), Error> {
    let plan = plan(op, group_scim_id, Some(group), changes, 0).await?;
    execute(op, group_scim_id, group, &plan, Journal::default(), &[])
        .await
        .map(|_| ())
}

/// Every `members.list` item of the group, following the backend's paging to the last page.
async fn all_items(op: &Op<'_>, group_scim_id: &str, group: &str) -> Result<Vec<Value>, Error> {
    let Some(spec) = op.resource.member_list() else {
        return Err(Error::Mapping(mapping::Error::NoOperation {
            operation: OpName::ListMembers.as_str().into(),
        }));
    };
    let label = op.label(OpName::ListMembers);
    let size = spec
        .max_page_size
        .map_or(DEFAULT_PAGE, |m| (m as usize).max(1));
    let base = || {
        Vars::new()
            .with("id", group)
            .with("count", size.to_string())
    };
    let call = |vars: Vars| page(op, group_scim_id, vars);
    let mut items = Vec::new();
    let mut total = None;
    let (mut answer, mut headers) = match spec.paging {
        Paging::Offset => call(base().with("offset", "0")).await?,
        Paging::Page => call(base().with("page", "1")).await?,
        Paging::Cursor | Paging::NextLink | Paging::None => call(base()).await?,
    };
    for page in 1..=MAX_PAGES {
        let got = spec.items(&answer);
        let n = got.len();
        items.extend(got);
        total = total.or_else(|| spec.total(&answer, &headers));
        let more = match spec.paging {
            Paging::None => false,
            Paging::Offset | Paging::Page => match total {
                Some(total) => n > 0 && (items.len() as u64) < total,
                // Without a total, a short page ends the list only when the mapping says
                // what page size the backend serves: a backend that caps pages below what
                // was asked would otherwise read as one page (a remove-all or PUT would
                // leave members behind). Otherwise the list ends at an empty page.
                None if spec.max_page_size.is_some() => n >= size,
                None => n > 0,
            },
            Paging::Cursor | Paging::NextLink => spec.next_page(&answer).is_some(),
        };
        if !more {
            return Ok(items);
        }
        if page == MAX_PAGES {
            break;
        }
        (answer, headers) = match spec.paging {
            Paging::Offset => call(base().with("offset", items.len().to_string())).await?,
            Paging::Page => call(base().with("page", (page + 1).to_string())).await?,
            _ => match spec.next_page(&answer) {
                Some(NextPage::Cursor(cursor)) => call(base().with("cursor", cursor)).await?,
                Some(NextPage::Link(link)) => {
                    let request =
                        super::list::link_request(op, OpName::ListMembers, &base(), &link)?;
                    let response = op.send(op.backend_op(OpName::ListMembers), request).await?;
                    let headers = response.headers.clone();
                    (body_of(&label, response)?, headers)
                }
                None => return Ok(items),
            },
        };
    }
    Err(Error::BadAnswer {
        operation: label,
        missing: format!("a last page within {MAX_PAGES} pages"),
    })
}

/// One `members.list` page and its headers (a `total_header` total); a 404 means the group is
/// gone.
async fn page(
    op: &Op<'_>,
    group_scim_id: &str,
    vars: Vars,
) -> Result<(Value, http::HeaderMap), Error> {
    let label = op.label(OpName::ListMembers);
    match op.call(OpName::ListMembers, &vars).await {
        Ok(answer) => {
            let headers = answer.headers.clone();
            Ok((body_of(&label, answer)?, headers))
        }
        Err(error) if error.is_not_found() => Err(op.not_found(group_scim_id)),
        Err(error) => Err(error),
    }
}

/// The group's members (backend ids, in backend order) with their row ids, from every page of
/// the mapping's `members.list`.
async fn current_members(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
) -> Result<Vec<(String, Option<String>)>, Error> {
    Ok(all_items(op, group_scim_id, group)
        .await?
        .iter()
        .filter_map(|item| {
            op.resource
                .member_of_item(item)
                .map(|m| (m, op.resource.row_of_item(item)))
        })
        .collect())
}

/// The row id of a member (for `{row}` removal), from `rows` or a fresh read.
async fn row_of(
    op: &Op<'_>,
    group: &str,
    backend: &str,
    rows: &BTreeMap<String, String>,
) -> Result<Option<String>, Error> {
    if let Some(row) = rows.get(backend) {
        return Ok(Some(row.clone()));
    }
    Ok(current_members(op, group, group)
        .await?
        .into_iter()
        .find(|(m, _)| m == backend)
        .and_then(|(_, row)| row))
}

/// One add or remove call. `Ok(true)`: it landed; `Ok(false)`: nothing to do (the member was
/// already so, by a refusal the mapping calls `already_done` and `members.list` confirms, or no
/// row to remove). A refused add is [`Error::UnknownMembers`]; a refused removal of a member
/// still listed is [`Error::MemberRefused`].
async fn member_call(
    op: &Op<'_>,
    group: &str,
    action: &Action,
    rows: &BTreeMap<String, String>,
) -> Result<bool, Error> {
    let name = if action.add {
        OpName::AddMember
    } else {
        OpName::RemoveMember
    };
    let mut vars = Vars::new()
        .with("id", group)
        .with("member", action.backend.as_str());
    if !action.add && op.resource.removes_by_row() {
        match row_of(op, group, &action.backend, rows).await? {
            Some(row) => vars = vars.with("row", row),
            // No row: the member is not in the group, which is what a removal wants.
            None => return Ok(false),
        }
    }
    let member = action
        .label
        .strip_prefix("member ")
        .unwrap_or(&action.label)
        .to_owned();
    let refused = || {
        if action.add {
            Error::UnknownMembers {
                members: vec![member.clone()],
                more: false,
            }
        } else {
            Error::MemberRefused {
                operation: op.label(name),
                member: member.clone(),
            }
        }
    };
    match op.call(name, &vars).await {
        Ok(_) => Ok(true),
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
            let present = current_members(op, group, group)
                .await?
                .iter()
                .any(|(m, _)| *m == action.backend);
            if present == action.add {
                tracing::info!(
                    operation = name.as_str(),
                    "The backend refused a member change that was already in place."
                );
                Ok(false)
            } else {
                Err(refused())
            }
        }
        Err(
            Error::Rejected { .. }
            | Error::Mapping(
                mapping::Error::WrongType { .. } | mapping::Error::UnsafePathValue { .. },
            ),
        ) => Err(refused()),
        Err(Error::Backend(crate::backend::Error::Status { status, .. }))
            if matches!(status.as_u16(), 400 | 422) =>
        {
            Err(refused())
        }
        // A 404 names the group or the member: when the member's user is gone, it is the
        // member (an add is refused naming it; a removal has nothing left to remove).
        Err(error) if error.is_not_found() => {
            if user_exists(op, &action.backend).await? {
                Err(error)
            } else if action.add {
                Err(refused())
            } else {
                tracing::info!(
                    operation = name.as_str(),
                    "A member to remove no longer exists in the backend; nothing to remove."
                );
                Ok(false)
            }
        }
        Err(error) => Err(error),
    }
}

/// The group's members as SCIM `members` values (`value`, `$ref`, `type`), from every page of
/// the mapping's `members.list`. With gateway ids, a member the gateway has never seen gets a
/// SCIM id as it is read.
pub(crate) async fn read(
    op: &Op<'_>,
    group_scim_id: &str,
    group: &str,
) -> Result<Vec<serde_json::Value>, Error> {
    let current = current_members(op, group_scim_id, group).await?;
    let mut out = Vec::with_capacity(current.len());
    let mut seen = BTreeSet::new();
    for (backend_id, _) in current {
        // A backend with duplicate rows lists a member twice; SCIM lists it once.
        if !seen.insert(backend_id.clone()) {
            continue;
        }
        let Some(id) = op.member_scim_id(&backend_id).await? else {
            tracing::info!("A group member is being created right now; left out.");
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

/// Adds `members` to a group resource when the mapping can list them (one call per page).
pub(crate) async fn attach(op: &Op<'_>, resource: &mut serde_json::Value) -> Result<(), Error> {
    if op.kind() != ResourceKind::Group || !op.resource.has_op(OpName::ListMembers) {
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
