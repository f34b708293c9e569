//! Runs the `tests:` section of a mapping file through the real engine: each case is one SCIM
//! request to a fresh engine whose backend is an in-memory [`Recorder`](crate::backend::Recorder)
//! (the dry run of [`crate::translate`]), and the case holds when the backend calls the engine
//! made, and its SCIM answer, are what the case says. No case plans a request itself, so a case
//! that passes is what the gateway does.
//!
//! A case's backend is answered from the case: `current` (the backend object; a list holds
//! it, a get returns it), `members` (the member list's answer), `stored` (the store's
//! attributes for `current`); creates get `{"id": 1001}`. `expect` lists the backend writes
//! (everything but GET), in the order the engine sends them; reads are not listed. A create's
//! random `identity: { stamp }` marker reads as `{stamp}`. `error` is text the SCIM error
//! (`STATUS scimType: detail`) must contain.
//!
//! `check`, `serve` and a reload run [`run_tests`] (through `crate::app::check_mapping`), so a
//! mapping whose tests fail never starts. Must not: send anything over a network, or decide
//! anything the engine decides.

mod filter;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::backend::RecordedCall;
use crate::engine::{Engine, EngineOptions};
use crate::mapping::spec::{
    BackendErrorTestFile, ExpectedRequestFile, ReadTestFile, TestFile, WriteTestFile,
};
use crate::mapping::{ErrorClass, Mapping, OpName, ResourceMapping};
use crate::scim::patch::PATCH_OP_SCHEMA;
use crate::scim::{ResourceKind, ScimError};
use crate::store::{SqliteStore, Store};
use crate::translate::{self, DryRun, Setup, TranslateRequest};

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

/// Runs every `tests:` case of a mapping, in file order. Synchronous, so `check` and a reload
/// can call it from anywhere: the cases run on a thread of their own with a small runtime.
pub fn run_tests(mapping: &Mapping) -> Vec<TestOutcome> {
    if mapping.tests().is_empty() {
        return Vec::new();
    }
    let mapping = Arc::new(mapping.clone());
    let run = || {
        // The dry runs are not operations: their stores' migrations and the engine's lines
        // would flood the log of every start and reload.
        let _quiet = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| runtime.block_on(run_all(&mapping)))
    };
    let result = std::thread::scope(|scope| scope.spawn(run).join());
    match result {
        Ok(Ok(outcomes)) => outcomes,
        Ok(Err(error)) => failed_all(&mapping, &format!("cannot start the test runtime: {error}")),
        Err(_) => failed_all(&mapping, "the test runner stopped unexpectedly"),
    }
}

fn failed_all(mapping: &Mapping, detail: &str) -> Vec<TestOutcome> {
    mapping
        .tests()
        .iter()
        .map(|t| TestOutcome {
            name: t.name.clone(),
            passed: false,
            detail: detail.to_owned(),
        })
        .collect()
}

async fn run_all(mapping: &Arc<Mapping>) -> Vec<TestOutcome> {
    let mut outcomes = Vec::with_capacity(mapping.tests().len());
    for case in mapping.tests() {
        let result = run_one(mapping, case).await;
        outcomes.push(TestOutcome {
            name: case.name.clone(),
            passed: result.is_ok(),
            detail: result.err().unwrap_or_default(),
        });
    }
    outcomes
}

/// The resource a case works on, and its SCIM collection path.
struct Target<'m> {
    resource: &'m ResourceMapping,
    kind: ResourceKind,
    collection: &'static str,
}

async fn run_one(mapping: &Arc<Mapping>, case: &TestFile) -> Result<(), String> {
    let (kind, collection) = match case.resource.as_deref() {
        Some("groups") => (ResourceKind::Group, "/Groups"),
        _ => (ResourceKind::User, "/Users"),
    };
    let resource = match kind {
        ResourceKind::Group => mapping.groups(),
        ResourceKind::User => mapping.users(),
    }
    .ok_or("the resource type of this test is switched off")?;
    let target = Target {
        resource,
        kind,
        collection,
    };
    let setup = Setup {
        variables: case.variables.clone(),
        ..Setup::default()
    };
    if let Some(read) = &case.read {
        return check_read(mapping, &target, read, setup).await;
    }
    if let Some(w) = &case.create {
        let scim = w.scim.clone().ok_or("`create` needs `scim`")?;
        let setup = Setup {
            member_users: body_members(&scim),
            ..setup
        };
        let request = TranslateRequest {
            method: Method::POST,
            path: collection.to_owned(),
            body: Some(scim),
        };
        return check_write(mapping, &target, w, request, setup).await;
    }
    if let Some(w) = &case.replace {
        let current = w
            .current
            .clone()
            .ok_or("`replace` needs `current` (the backend object)")?;
        let scim = w.scim.clone().ok_or("`replace` needs `scim`")?;
        let request = TranslateRequest {
            method: Method::PUT,
            path: item_path(&target, &current),
            body: Some(scim),
        };
        let setup = Setup {
            current: Some(current),
            member_users: request.body.as_ref().map(body_members).unwrap_or_default(),
            ..setup
        };
        return check_write(mapping, &target, w, request, setup).await;
    }
    if let Some(w) = &case.patch {
        let current = w
            .current
            .clone()
            .ok_or("`patch` needs `current` (the backend object)")?;
        let ops = w.operations.clone().ok_or("`patch` needs `operations`")?;
        let request = TranslateRequest {
            method: Method::PATCH,
            path: item_path(&target, &current),
            body: Some(json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": ops })),
        };
        // Without `members`, the group holds exactly the members the case removes.
        let members = w
            .members
            .clone()
            .or_else(|| translate::member_list_answer(resource, &removed_members(&ops)));
        let setup = Setup {
            current: Some(current),
            members,
            member_users: named_members(&ops),
            ..setup
        };
        return check_write(mapping, &target, w, request, setup).await;
    }
    if let Some(f) = &case.filter {
        return filter::check(mapping, &target, f, setup).await;
    }
    if let Some(e) = &case.backend_error {
        return check_backend_error(mapping, &target, e);
    }
    Err("nothing to test".into())
}

/// The member values of a group body's `members: [{"value": …}]`.
fn body_members(body: &Value) -> Vec<String> {
    member_values(body.get("members"))
}

/// `[{"value": "5"}, …]` → `["5", …]`.
fn member_values(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|member| member.get("value").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Every member PATCH operations name: in values, and in `members[value eq "x"]` paths.
fn named_members(ops: &[Value]) -> Vec<String> {
    let mut named = removed_members(ops);
    for op in ops {
        let value = op.get("value");
        named.extend(member_values(value));
        named.extend(member_values(value.and_then(|v| v.get("members"))));
    }
    named
}

/// The members PATCH operations remove (`remove` of `members` with values, or of
/// `members[value eq "x"]`).
fn removed_members(ops: &[Value]) -> Vec<String> {
    let mut removed = Vec::new();
    for op in ops {
        let text = |key: &str| op.get(key).and_then(Value::as_str).unwrap_or_default();
        if !text("op").eq_ignore_ascii_case("remove") {
            continue;
        }
        let path = text("path").trim();
        if path.eq_ignore_ascii_case("members") {
            removed.extend(member_values(op.get("value")));
        } else if let Some(filter) = path
            .strip_prefix("members[")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            let value = filter
                .rsplit_once(" eq ")
                .map(|(_, v)| v.trim().trim_matches('"'));
            removed.extend(value.map(str::to_owned));
        }
    }
    removed
}

/// The id a case's backend object is read by when the mapping finds none in it (a case may
/// leave out what only the backend's real answers carry, e.g. RT's self links).
const CASE_ID: &str = "17";

/// `/Users/{id}` of the backend object `current` (its SCIM id is its backend id; with
/// `ids: gateway` the dry run links the two).
fn item_path(target: &Target<'_>, current: &Value) -> String {
    let id = target
        .resource
        .backend_id(current)
        .unwrap_or_else(|| CASE_ID.to_owned());
    format!("{}/{}", target.collection, percent(&id))
}

fn percent(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn dry_run(
    mapping: &Arc<Mapping>,
    request: TranslateRequest,
    setup: Setup,
) -> Result<DryRun, String> {
    translate::run(Arc::clone(mapping), request, setup)
        .await
        .map_err(|error| format!("cannot run the case: {error}"))
}

/// A case's `error` against the dry run's answer: `Ok(true)` when the case expected this
/// error (nothing more to check), `Ok(false)` when it succeeded as expected.
fn expected_error(run: &DryRun, want: Option<&str>) -> Result<bool, String> {
    match (error_text(run), want) {
        (Some(error), Some(want)) if error.contains(want) => Ok(true),
        (Some(error), Some(want)) => Err(format!(
            "expected an error containing `{want}`, got `{error}` {}",
            calls_text(run)
        )),
        (Some(error), None) => Err(format!("failed: {error} {}", calls_text(run))),
        (None, Some(want)) => Err(format!(
            "expected an error containing `{want}`, but it succeeded"
        )),
        (None, None) => Ok(false),
    }
}

/// The SCIM error of a dry run that failed, as `STATUS scimType: detail`.
fn error_text(run: &DryRun) -> Option<String> {
    let answer = &run.translation;
    if answer.status < 400 {
        return None;
    }
    let body = answer.answer.as_ref();
    let field = |name: &str| body.and_then(|b| b.get(name)).and_then(Value::as_str);
    Some(format!(
        "{}{}: {}",
        answer.status,
        field("scimType")
            .map(|t| format!(" {t}"))
            .unwrap_or_default(),
        field("detail").unwrap_or("")
    ))
}

/// The backend calls a dry run made, for a failure's message.
fn calls_text(run: &DryRun) -> String {
    format!("(backend calls: [{}])", run.recorder.lines().join(", "))
}

async fn check_read(
    mapping: &Arc<Mapping>,
    target: &Target<'_>,
    read: &ReadTestFile,
    setup: Setup,
) -> Result<(), String> {
    let request = TranslateRequest {
        method: Method::GET,
        path: item_path(target, &read.backend),
        body: None,
    };
    let setup = Setup {
        current: Some(read.backend.clone()),
        stored: read.stored.clone().into_iter().collect(),
        ..setup
    };
    let run = dry_run(mapping, request, setup).await?;
    if let Some(error) = error_text(&run) {
        return Err(format!("the read failed: {error} {}", calls_text(&run)));
    }
    let mut got = run.translation.answer.unwrap_or(Value::Null);
    // What the case does not mention of the envelope (the id is the backend's) is not
    // compared.
    if let Some(object) = got.as_object_mut() {
        for key in ["schemas", "id", "meta"] {
            if read.scim.get(key).is_none() {
                object.remove(key);
            }
        }
    }
    same("SCIM resource", &read.scim, &got)
}

async fn check_write(
    mapping: &Arc<Mapping>,
    target: &Target<'_>,
    w: &WriteTestFile,
    request: TranslateRequest,
    setup: Setup,
) -> Result<(), String> {
    let run = dry_run(mapping, request, setup).await?;
    if expected_error(&run, w.error.as_deref())? {
        return Ok(());
    }
    let mut writes = run.recorder.writes();
    for call in &mut writes {
        unstamp(target.resource, call);
    }
    check_requests(&w.expect, &writes)?;
    if let Some(want) = &w.stored {
        let want: Map<String, Value> = want.clone().into_iter().collect();
        let got = stored_attributes(&run.store, target.resource).await?;
        same(
            "stored attributes",
            &Value::Object(want),
            &Value::Object(got),
        )?;
    }
    Ok(())
}

/// A create's `identity: { stamp }` marker (a fresh UUID) written as `{stamp}`.
fn unstamp(resource: &ResourceMapping, call: &mut RecordedCall) {
    if call.operation.ends_with(".create")
        && resource.identity_is_stamp()
        && let Some(body) = call.body.as_mut()
    {
        resource.add_stamp(body, STAMP_MARKER);
    }
}

/// The non-null stored attributes of the one resource the dry run's store holds.
async fn stored_attributes(
    store: &SqliteStore,
    resource: &ResourceMapping,
) -> Result<Map<String, Value>, String> {
    let records = store
        .list_active(translate::tenant(), resource.resource_type())
        .await
        .map_err(|error| format!("cannot read the store: {error}"))?;
    Ok(records
        .into_iter()
        .next()
        .map(|record| record.shadow)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .collect())
}

/// The backend writes against the case's `expect`, in order.
fn check_requests(want: &[ExpectedRequestFile], got: &[RecordedCall]) -> Result<(), String> {
    if want.len() != got.len() {
        let list: Vec<String> = got
            .iter()
            .map(|r| format!("{} {}", r.method, r.path_and_query))
            .collect();
        return Err(format!(
            "expected {} backend write(s), got {}: [{}]",
            want.len(),
            got.len(),
            list.join(", ")
        ));
    }
    for (w, g) in want.iter().zip(got) {
        check_request(w, g)?;
    }
    Ok(())
}

fn check_request(want: &ExpectedRequestFile, got: &RecordedCall) -> Result<(), String> {
    if !want.method.eq_ignore_ascii_case(got.method.as_str()) || want.path != got.path_and_query {
        return Err(format!(
            "expected `{} {}`, got `{} {}`",
            want.method, want.path, got.method, got.path_and_query
        ));
    }
    let want_body = want.body.clone().unwrap_or(Value::Null);
    let got_body = got.body.clone().unwrap_or(Value::Null);
    same(
        &format!("body of {} {}", got.method, got.path_and_query),
        &want_body,
        &got_body,
    )
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

/// A backend error answer against the mapping's `errors:` rules: the SCIM status and
/// `scimType` the engine answers with (`Engine::settle_answer`, then `crate::error`). A
/// refusal a rule calls `already_done` answers success (204): the engine does so when the
/// member list agrees.
fn check_backend_error(
    mapping: &Arc<Mapping>,
    target: &Target<'_>,
    e: &BackendErrorTestFile,
) -> Result<(), String> {
    let op = OpName::parse(&e.on).ok_or_else(|| {
        let names: Vec<&str> = OpName::ALL.iter().map(|o| o.as_str()).collect();
        format!(
            "unknown operation `{}` (allowed: {})",
            e.on,
            names.join(", ")
        )
    })?;
    let status = StatusCode::from_u16(e.status)
        .map_err(|_| format!("`{}` is not an HTTP status", e.status))?;
    let body = match (&e.body, &e.text) {
        (Some(json), _) => json.to_string(),
        (None, Some(text)) => text.clone(),
        (None, None) => String::new(),
    };
    let store = SqliteStore::open_in_memory().map_err(|error| error.to_string())?;
    let engine = Engine::new(
        translate::tenant(),
        Arc::clone(mapping),
        Arc::new(crate::backend::Recorder::new()),
        Arc::new(store),
        EngineOptions::default(),
    );
    let already_done = |error: &crate::engine::Error| match error {
        crate::engine::Error::Backend(crate::backend::Error::Status {
            status,
            message,
            body,
            ..
        }) => {
            target
                .resource
                .classify_error(op, status.as_u16(), message, body.as_ref())
                == Some(ErrorClass::AlreadyDone)
        }
        _ => false,
    };
    let got = match engine.settle_answer(target.kind, op, status, body.as_bytes()) {
        Ok(()) => "2xx".to_owned(),
        Err(error) if already_done(&error) => "204".to_owned(),
        Err(error) => {
            let scim = ScimError::from(error).to_json();
            let field = |name: &str| scim.get(name).and_then(Value::as_str).unwrap_or_default();
            let scim_type = field("scimType");
            let status = field("status");
            if scim_type.is_empty() {
                status.to_owned()
            } else {
                format!("{status} {scim_type}")
            }
        }
    };
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
