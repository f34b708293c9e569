//! Runs the `tests:` section of a mapping file: reads, writes and filters checked against the
//! backend requests they would produce. Pure: requests are rendered, never sent.

use crate::mapping::Mapping;
use crate::mapping::error::Error;
use crate::mapping::plan::FilterPlan;
use crate::mapping::resource::ErrorClass;
use crate::mapping::resource::{OpName, ResourceMapping};
use crate::mapping::search::SearchPlan;
use crate::mapping::spec::{
    BackendErrorTestFile, ExpectedRequestFile, FilterTestFile, TestFile, WriteTestFile,
};
use crate::mapping::template::{RenderedRequest, Vars};
use crate::scim::filter::Filter;
use crate::scim::patch::{MemberChange, PatchRequest, apply};
use serde_json::json;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What `tests:` cases see in place of the random `identity: { stamp }` marker of a create.
const STAMP_MARKER: &str = "{stamp}";

/// The result of one `tests:` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// The case's `name`.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What differed, when it failed.
    pub detail: String,
}

/// Runs every `tests:` case of a mapping, in file order.
pub fn run_tests(mapping: &Mapping) -> Vec<TestOutcome> {
    mapping
        .tests
        .iter()
        .map(|t| {
            let result = run_one(mapping, t);
            TestOutcome {
                name: t.name.clone(),
                passed: result.is_ok(),
                detail: result.err().unwrap_or_default(),
            }
        })
        .collect()
}

fn run_one(mapping: &Mapping, t: &TestFile) -> Result<(), String> {
    let conn = &t.variables;
    let resource = match t.resource.as_deref() {
        Some("groups") => mapping.groups(),
        _ => mapping.users(),
    }
    .ok_or("the resource type of this test is switched off")?;
    if let Some(read) = &t.read {
        let stored: Map<String, Value> = read.stored.clone().into_iter().collect();
        let mut got = resource
            .to_scim(&read.backend, &stored)
            .map_err(|e| e.to_string())?;
        if read.scim.get("schemas").is_none()
            && let Some(obj) = got.as_object_mut()
        {
            obj.remove("schemas");
        }
        return same("SCIM resource", &read.scim, &got);
    }
    if let Some(w) = &t.create {
        let scim = w.scim.as_ref().ok_or("`create` needs `scim`")?;
        // The same checks, in the same order, as the engine's create (`engine::create`).
        let result = shape(mapping, resource, scim)
            .and_then(|()| {
                resource
                    .validate_create(scim)
                    .map_err(|errors| errors.into_iter().next().unwrap_or(Error::NotAnObject))
            })
            .and_then(|()| resource.to_backend_create_in(scim, conn))
            .and_then(|mut write| {
                // The engine writes a random marker; cases see it as `{stamp}`.
                resource.add_stamp(&mut write.body, STAMP_MARKER);
                let vars = Vars::new().with_connection(conn).with_object(write.body);
                let req = resource.render(write.op, &vars)?;
                Ok((vec![req], write.stored))
            });
        return check_write(w, result);
    }
    if let Some(w) = &t.replace {
        let current = w
            .current
            .as_ref()
            .ok_or("`replace` needs `current` (the backend object)")?;
        let scim = w.scim.as_ref().ok_or("`replace` needs `scim`")?;
        let result =
            shape(mapping, resource, scim).and_then(|()| update(resource, current, scim, conn));
        return check_write(w, result);
    }
    if let Some(w) = &t.patch {
        let current = w
            .current
            .as_ref()
            .ok_or("`patch` needs `current` (the backend object)")?;
        let ops = w.operations.as_ref().ok_or("`patch` needs `operations`")?;
        let result = patch(mapping, resource, current, ops, w.members.as_ref(), conn);
        return check_write(w, result);
    }
    if let Some(f) = &t.filter {
        return check_filter(mapping, resource, f, conn);
    }
    if let Some(e) = &t.backend_error {
        return check_backend_error(resource, e);
    }
    Err("nothing to test".into())
}

/// The JSON shape check the engine makes before a create or replace.
fn shape(mapping: &Mapping, resource: &ResourceMapping, scim: &Value) -> Result<(), Error> {
    mapping
        .registry()
        .check_shape(resource.resource_type(), scim)
        .map_err(|problem| Error::WrongType {
            attribute: problem.attribute,
            value: format!("(a JSON {})", problem.found),
            expected: problem.expected.to_owned(),
        })
}

/// SCIM PATCH operations on a current backend object: member calls first, then the write.
fn patch(
    mapping: &Mapping,
    resource: &ResourceMapping,
    current: &Value,
    ops: &[Value],
    members: Option<&Value>,
    conn: &BTreeMap<String, String>,
) -> Result<(Vec<RenderedRequest>, Map<String, Value>), Error> {
    let bad = |e: &dyn std::fmt::Display| Error::BadTestCase(e.to_string());
    let body = json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": ops });
    let mut request = PatchRequest::parse(&body, mapping.registry()).map_err(|e| bad(&e))?;
    let id = resource
        .backend_id(current)
        .ok_or_else(|| Error::BadTestCase("the current backend object has no id".into()))?;
    let mut requests = Vec::new();
    let needs_members = resource.skips_present_members() || resource.removes_by_row();
    let listed: Vec<Value> = match (members, resource.member_list()) {
        (Some(answer), Some(spec)) => spec.items(answer),
        (None, _) if needs_members => {
            return Err(Error::BadTestCase(
                "this mapping reads the member list before member calls: give `members` \
                 (a members.list answer)"
                    .into(),
            ));
        }
        _ => Vec::new(),
    };
    if resource.has_op(OpName::AddMember) {
        for change in request.take_member_changes("members") {
            let (op, members) = match change {
                MemberChange::Add(m) => (OpName::AddMember, m),
                MemberChange::Remove(m) => (OpName::RemoveMember, m),
                other => {
                    return Err(Error::BadTestCase(format!(
                        "{other:?} needs the current member list"
                    )));
                }
            };
            for member in members {
                let mut vars = Vars::new()
                    .with_connection(conn)
                    .with("id", id.clone())
                    .with("member", member.clone());
                let find = |member: &str| {
                    listed
                        .iter()
                        .find(|item| resource.member_of_item(item).as_deref() == Some(member))
                };
                if op == OpName::AddMember
                    && resource.skips_present_members()
                    && find(&member).is_some()
                {
                    continue;
                }
                if op == OpName::RemoveMember && resource.removes_by_row() {
                    match find(&member).and_then(|item| resource.row_of_item(item)) {
                        Some(row) => vars = vars.with("row", row),
                        None => continue,
                    }
                }
                requests.push(resource.render(op, &vars)?);
            }
        }
    }
    let old = resource.to_scim(current, &Map::new())?;
    let mut new = old.clone();
    if !request.operations.is_empty() {
        apply(
            &mut new,
            &request,
            mapping.registry(),
            resource.resource_type(),
            &resource.patch_options(),
        )
        .map_err(|e| bad(&e))?;
    }
    let write = resource.to_backend_patch(current, &old, &new, &request)?;
    if write.backend_changed {
        requests.push(
            resource.render(
                write.op,
                &Vars::new()
                    .with_connection(conn)
                    .with("id", id)
                    .with_object(write.body),
            )?,
        );
    }
    Ok((requests, write.stored))
}

fn check_filter(
    mapping: &Mapping,
    resource: &ResourceMapping,
    f: &FilterTestFile,
    conn: &BTreeMap<String, String>,
) -> Result<(), String> {
    let filter = Filter::parse(&f.filter, mapping.registry().urns())
        .map_err(|e| format!("bad filter: {e}"))?;
    let plan = match (resource.plan_search_in(&filter, conn), &f.error) {
        (Err(e), Some(want)) if e.to_string().contains(want.as_str()) => return Ok(()),
        (Err(e), Some(want)) => {
            return Err(format!("expected an error containing `{want}`, got `{e}`"));
        }
        (Err(e), None) => return Err(format!("failed: {e}")),
        (Ok(p), Some(want)) => {
            return Err(format!("expected an error containing `{want}`, got {p:?}"));
        }
        (Ok(p), None) => p,
    };
    let described = match &plan {
        SearchPlan::One(branch) => match &branch.plan {
            FilterPlan::Query { params, .. } => {
                let req = list_request(resource, params, conn).map_err(|e| e.to_string())?;
                if let Some(want) = &f.expect {
                    check_requests(std::slice::from_ref(want), &[req])?;
                }
                "query".to_owned()
            }
            other => describe_plan(resource, other, conn)?,
        },
        SearchPlan::Union(branches) => {
            if f.expect.is_some() {
                return Err(
                    "the filter is a union of searches: give them as `plan: union: …`".into(),
                );
            }
            let parts = branches
                .iter()
                .map(|b| describe_plan(resource, &b.plan, conn))
                .collect::<Result<Vec<_>, _>>()?;
            format!("union: {}", parts.join("; "))
        }
    };
    match &f.plan {
        Some(want) if *want != described => {
            Err(format!("expected plan `{want}`, got `{described}`"))
        }
        None if f.expect.is_none() => Err("a filter case needs `expect`, `plan` or `error`".into()),
        _ => Ok(()),
    }
}

/// A plan as a `plan:` line: `get 17`, `store externalId x`, `scan 500`, or a query as the
/// request it sends (`GET /api/v1/users?…`).
fn describe_plan(
    resource: &ResourceMapping,
    plan: &FilterPlan,
    conn: &BTreeMap<String, String>,
) -> Result<String, String> {
    Ok(match plan {
        FilterPlan::ById(id) => format!("get {id}"),
        FilterPlan::Store { attribute, value } => format!("store {attribute} {value}"),
        FilterPlan::Scan { cap } => format!("scan {cap}"),
        FilterPlan::Query { params, .. } => {
            let req = list_request(resource, params, conn).map_err(|e| e.to_string())?;
            format!("{} {}", req.method, req.path_and_query)
        }
    })
}

/// A SCIM replace on a current backend object: the backend requests it becomes.
pub(crate) fn update(
    resource: &ResourceMapping,
    current: &Value,
    new_scim: &Value,
    conn: &BTreeMap<String, String>,
) -> Result<(Vec<RenderedRequest>, Map<String, Value>), Error> {
    let old = resource.to_scim(current, &Map::new())?;
    resource.check_domains_in(new_scim, Some(conn))?;
    let write = resource.to_backend_replace(current, &old, new_scim)?;
    if !write.backend_changed {
        return Ok((Vec::new(), write.stored));
    }
    let id = resource
        .backend_id(current)
        .ok_or_else(|| Error::BadTestCase("the current backend object has no id".into()))?;
    let req = resource.render(
        write.op,
        &Vars::new()
            .with_connection(conn)
            .with("id", id)
            .with_object(write.body),
    )?;
    Ok((vec![req], write.stored))
}

fn check_write(
    w: &WriteTestFile,
    result: Result<(Vec<RenderedRequest>, Map<String, Value>), Error>,
) -> Result<(), String> {
    let (requests, stored) = match (result, &w.error) {
        (Err(e), Some(want)) if e.to_string().contains(want.as_str()) => return Ok(()),
        (Err(e), Some(want)) => {
            return Err(format!("expected an error containing `{want}`, got `{e}`"));
        }
        (Err(e), None) => return Err(format!("failed: {e}")),
        (Ok(_), Some(want)) => {
            return Err(format!(
                "expected an error containing `{want}`, but it succeeded"
            ));
        }
        (Ok(r), None) => r,
    };
    check_requests(&w.expect, &requests)?;
    if let Some(want) = &w.stored {
        let want: Map<String, Value> = want.clone().into_iter().collect();
        let got: Map<String, Value> = stored.into_iter().filter(|(_, v)| !v.is_null()).collect();
        same(
            "stored attributes",
            &Value::Object(want),
            &Value::Object(got),
        )?;
    }
    Ok(())
}

pub(crate) fn check_requests(
    want: &[ExpectedRequestFile],
    got: &[RenderedRequest],
) -> Result<(), String> {
    if want.len() != got.len() {
        let list: Vec<String> = got
            .iter()
            .map(|r| format!("{} {}", r.method, r.path_and_query))
            .collect();
        return Err(format!(
            "expected {} request(s), got {}: [{}]",
            want.len(),
            got.len(),
            list.join(", ")
        ));
    }
    for (w, g) in want.iter().zip(got) {
        if !w.method.eq_ignore_ascii_case(g.method.as_str()) || w.path != g.path_and_query {
            return Err(format!(
                "expected `{} {}`, got `{} {}`",
                w.method, w.path, g.method, g.path_and_query
            ));
        }
        let want_body = w.body.clone().unwrap_or(Value::Null);
        let got_body = g.body.clone().unwrap_or(Value::Null);
        same(
            &format!("body of {} {}", g.method, g.path_and_query),
            &want_body,
            &got_body,
        )?;
    }
    Ok(())
}

fn same(what: &str, want: &Value, got: &Value) -> Result<(), String> {
    if want == got {
        Ok(())
    } else {
        Err(format!(
            "{what} differs:\n  expected: {want}\n  got:      {got}"
        ))
    }
}

/// Renders the request a SCIM filter becomes (list call with the pushed-down parameters).
pub(crate) fn list_request(
    resource: &ResourceMapping,
    params: &[(String, String)],
    conn: &BTreeMap<String, String>,
) -> Result<RenderedRequest, Error> {
    let size = resource.max_page_size().unwrap_or(100).to_string();
    let vars = Vars::new()
        .with_connection(conn)
        .with("offset", "0")
        .with("page", "1")
        .with("count", size)
        .with_query(params);
    resource.render(OpName::List, &vars)
}

/// A backend error answer against the mapping's `errors:` rules: the SCIM status and
/// `scimType` it becomes, as the engine and `crate::error` answer it.
fn check_backend_error(resource: &ResourceMapping, e: &BackendErrorTestFile) -> Result<(), String> {
    let op = OpName::parse(&e.on).ok_or_else(|| {
        let names: Vec<&str> = OpName::ALL.iter().map(|o| o.as_str()).collect();
        format!(
            "unknown operation `{}` (allowed: {})",
            e.on,
            names.join(", ")
        )
    })?;
    let raw = e.text.clone().unwrap_or_default();
    let message = crate::backend::answer_message(e.body.as_ref(), raw.as_bytes(), "");
    let (status, scim_type) = match resource.classify_error(op, e.status, &message, e.body.as_ref())
    {
        Some(ErrorClass::Uniqueness) => (409, Some("uniqueness")),
        Some(ErrorClass::InvalidValue) => (400, Some("invalidValue")),
        Some(ErrorClass::NotFound) => (404, None),
        Some(ErrorClass::AlreadyDone) => (204, None),
        None => unmatched_scim_error(e.status),
    };
    let got = format!(
        "{status}{}",
        scim_type.map(|t| format!(" {t}")).unwrap_or_default()
    );
    let want = format!(
        "{}{}",
        e.scim.status,
        e.scim
            .scim_type
            .as_ref()
            .map(|t| format!(" {t}"))
            .unwrap_or_default()
    );
    if got == want {
        Ok(())
    } else {
        Err(format!("expected SCIM `{want}`, got `{got}`"))
    }
}

/// The SCIM status and `scimType` of a backend error status no `errors:` rule matched (the
/// table `crate::error` answers with; a test there keeps the two in step).
pub(crate) fn unmatched_scim_error(status: u16) -> (u16, Option<&'static str>) {
    match status {
        404 => (404, None),
        409 => (409, Some("uniqueness")),
        400 | 422 => (400, Some("invalidValue")),
        429 => (429, None),
        503 => (503, None),
        _ => (502, None),
    }
}
