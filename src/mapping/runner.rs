//! Runs the `tests:` section of a mapping file: reads, writes and filters checked against the
//! backend requests they would produce. Pure: requests are rendered, never sent.

use crate::mapping::Mapping;
use crate::mapping::error::Error;
use crate::mapping::resource::{OpName, ResourceMapping};
use crate::mapping::spec::{ExpectedRequestFile, TestFile, WriteTestFile};
use crate::mapping::template::{RenderedRequest, Vars};
use serde_json::{Map, Value};

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
        if read.scim.get("schemas").is_none() {
            if let Some(obj) = got.as_object_mut() {
                obj.remove("schemas");
            }
        }
        return same("SCIM resource", &read.scim, &got);
    }
    if let Some(w) = &t.create {
        let scim = w.scim.as_ref().ok_or("`create` needs `scim`")?;
        let result = resource
            .validate_create(scim)
            .map_err(|errors| errors.into_iter().next().unwrap_or(Error::NotAnObject))
            .and_then(|()| resource.to_backend_create(scim))
            .and_then(|write| {
                let req = resource.render(write.op, &Vars::new().with_object(write.body))?;
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
        let result = update(resource, current, scim);
        return check_write(w, result);
    }
    if t.patch.is_some() {
        return Err(
            "`patch` cases need the SCIM PATCH engine, which this build does not have yet".into(),
        );
    }
    if t.filter.is_some() {
        return Err(
            "`filter` cases need the SCIM filter parser, which this build does not have yet".into(),
        );
    }
    Err("nothing to test".into())
}

/// A SCIM replace on a current backend object: the backend requests it becomes.
pub(crate) fn update(
    resource: &ResourceMapping,
    current: &Value,
    new_scim: &Value,
) -> Result<(Vec<RenderedRequest>, Map<String, Value>), Error> {
    let old = resource.to_scim(current, &Map::new())?;
    let write = resource.to_backend_update(current, &old, new_scim)?;
    if !write.backend_changed {
        return Ok((Vec::new(), write.stored));
    }
    let id = resource
        .backend_id(current)
        .ok_or_else(|| Error::BadTestCase("the current backend object has no id".into()))?;
    let req = resource.render(
        write.op,
        &Vars::new().with("id", id).with_object(write.body),
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
        if !w.method.eq_ignore_ascii_case(&g.method) || w.path != g.path_and_query {
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
#[allow(dead_code)]
pub(crate) fn list_request(
    resource: &ResourceMapping,
    params: &[(String, String)],
) -> Result<RenderedRequest, Error> {
    let size = resource.max_page_size().unwrap_or(100).to_string();
    let vars = Vars::new()
        .with("offset", "0")
        .with("page", "1")
        .with("count", size)
        .with_query(params);
    resource.render(OpName::List, &vars)
}
