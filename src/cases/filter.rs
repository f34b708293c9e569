//! `filter:` cases: `GET /Users?filter=…` through the engine. `expect` is the first backend
//! call the engine made; `plan` names how the engine answered, branch by branch, in the
//! words of the mapping's filter translation (the one the engine follows): `get 17`,
//! `store externalId x`, `scan 500`, or a query as the call the engine sent
//! (`GET /api/v1/users?…`); a union of searches is `union: A; B`.

use std::sync::Arc;

use super::{Target, check_request, dry_run, expected_error, percent};
use crate::backend::RecordedCall;
use crate::mapping::spec::FilterTestFile;
use crate::mapping::{BackendSearch, FilterSearch, Mapping};
use crate::scim::filter::Filter;
use crate::translate::{Setup, TranslateRequest};
use http::Method;

/// Runs one `filter:` case.
pub(super) async fn check(
    mapping: &Arc<Mapping>,
    target: &Target<'_>,
    f: &FilterTestFile,
    setup: Setup,
) -> Result<(), String> {
    let variables = setup.variables.clone();
    let request = TranslateRequest {
        method: Method::GET,
        path: format!("{}?filter={}", target.collection, percent(&f.filter)),
        body: None,
    };
    let run = dry_run(mapping, request, setup).await?;
    if expected_error(&run, f.error.as_deref())? {
        return Ok(());
    }
    let calls = run.recorder.calls();
    if let Some(want) = &f.expect {
        let first = calls
            .first()
            .ok_or("the engine answered without a backend call")?;
        check_request(want, first)?;
    }
    let Some(want) = &f.plan else {
        return if f.expect.is_none() {
            Err("a filter case needs `expect`, `plan` or `error`".into())
        } else {
            Ok(())
        };
    };
    let filter = Filter::parse(&f.filter, mapping.registry().urns())
        .map_err(|e| format!("bad filter: {e}"))?;
    let search = target
        .resource
        .translate_search_in(&filter, &variables)
        .map_err(|e| format!("failed: {e}"))?;
    let mut lists = calls
        .iter()
        .filter(|call| call.method == Method::GET && call.operation.ends_with(".list"));
    let described = match &search {
        FilterSearch::One(branch) => match &branch.search {
            BackendSearch::Query { .. } => "query".to_owned(),
            other => describe(other, &mut lists)?,
        },
        FilterSearch::Union(branches) => {
            let parts = branches
                .iter()
                .map(|b| describe(&b.search, &mut lists))
                .collect::<Result<Vec<_>, _>>()?;
            format!("union: {}", parts.join("; "))
        }
    };
    if *want == described {
        Ok(())
    } else {
        Err(format!("expected plan `{want}`, got `{described}`"))
    }
}

/// One branch as a `plan:` part; a query is the list call the engine sent for it.
fn describe<'c>(
    plan: &BackendSearch,
    lists: &mut impl Iterator<Item = &'c RecordedCall>,
) -> Result<String, String> {
    Ok(match plan {
        BackendSearch::ById(id) => format!("get {id}"),
        BackendSearch::Store { attribute, value } => format!("store {attribute} {value}"),
        BackendSearch::Scan { cap } => format!("scan {cap}"),
        BackendSearch::Query { .. } => {
            let call = lists
                .next()
                .ok_or("the engine sent no list call for a query branch")?;
            format!("{} {}", call.method, call.path_and_query)
        }
    })
}
