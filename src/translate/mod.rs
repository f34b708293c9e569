//! `scimgate translate`: a dry run of one SCIM request through the real gateway, showing the
//! backend calls it would make (method, URL, body) and the SCIM answer it would give, so an
//! admin sees the effect of a mapping before Entra goes live.
//!
//! How: the engine gets an in-memory [`Recorder`](crate::backend::Recorder) as its backend
//! ([`fake`] answers from the optional `--current` backend object; no credentials are sent,
//! nothing is retried, no socket is opened); an in-memory SQLite store stands in for the
//! gateway's; and the request goes through [`TenantService`], so routing, validation, the
//! engine's call sequence, projection, statuses and SCIM errors are the gateway's own. No
//! network at all.
//!
//! REQUEST.json is one of:
//! - the wrapper `{"method": "PATCH", "path": "/Users/17", "body": {…}}`, the path relative to
//!   the SCIM root and optionally with a query (`/Users?filter=userName eq "a@b.c"`; spaces
//!   and quotes may be written as is);
//! - a bare SCIM User or Group (by its `schemas`, or a `userName`): a `POST /Users` or
//!   `POST /Groups`;
//! - not a bare PatchOp: it does not say which resource it changes, so PATCH needs the wrapper.
//!
//! `--current BACKEND.json` is the backend object as the backend returns it today; without it
//! reads answer 404 (create then still works). List answers are shaped by probing the
//! mapping's `items` / `total` JSONPaths against common shapes (`{"items": […], "total": n}`,
//! `{"data": […]}`, a bare array, one level of `data`/`result`/`response` wrapping); an
//! unusual nested shape falls back to `{"items": […], "total": n}`. A created object gets
//! `"id"` set (from `--current`, else 1001); a mapping whose id lives elsewhere sees no id.
//! With `ids: gateway`, the path's SCIM id is linked to `--current`'s backend id in the
//! in-memory store first. Timestamps in `meta` are the time of the run.
//!
//! Must not: talk to the real backend or send its credentials, re-implement engine logic,
//! or choose statuses (the gateway's own answer is reported).

mod fake;
mod request;

#[cfg(test)]
mod tests;

pub use fake::RecordedCall;
pub use request::{TranslateRequest, parse_request, request_from_json};

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use serde_json::Value;

use crate::engine::{Engine, EngineOptions, TenantService};
use crate::mapping::{IdPolicy, Mapping, Problems};
use crate::server::routes;
use crate::service::{Resource, ScimCall};
use crate::store::{self, RecordState, SqliteStore, Store};
use fake::{ListShape, Paths};

/// The tenant name used in the dry run's logs and store.
const TENANT: &str = "translate";

/// Stands in for a `${NAME}` without default that is unset (credentials are never sent).
const UNSET: &str = "unset-in-dry-run";

/// What went wrong before the gateway could answer (its own SCIM errors are a [`Translation`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// REQUEST.json or BACKEND.json cannot be used.
    #[error("invalid request file: {reason}")]
    InvalidRequest {
        /// What is wrong and how to write it.
        reason: String,
    },
    /// The path names no SCIM endpoint.
    #[error("`{path}` is not a SCIM endpoint (try /Users, /Users/ID, /Groups, /Groups/ID)")]
    UnknownEndpoint {
        /// The path as given.
        path: String,
    },
    /// The endpoint does not take this method.
    #[error("{path} does not take {method} (allowed: {allowed})")]
    MethodNotAllowed {
        /// The method as given.
        method: String,
        /// The path as given.
        path: String,
        /// The methods the endpoint takes.
        allowed: &'static str,
    },
    /// The backend client refused its configuration.
    #[error(transparent)]
    Backend(#[from] crate::backend::Error),
    /// The in-memory store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The outcome of one dry run.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// Every backend call the gateway made, in order.
    pub backend_calls: Vec<RecordedCall>,
    /// The HTTP status of the SCIM answer.
    pub status: u16,
    /// The SCIM answer body (`None` for 204).
    pub answer: Option<Value>,
}

/// Runs `request` through the gateway against a fake backend holding `current`.
pub async fn translate(
    mapping: Mapping,
    request: TranslateRequest,
    current: Option<Value>,
) -> Result<Translation, Error> {
    let (path, query) = request
        .path
        .split_once('?')
        .unwrap_or((request.path.as_str(), ""));
    let target = routes::target(&routes::segments(path)).ok_or_else(|| Error::UnknownEndpoint {
        path: request.path.clone(),
    })?;
    let operation =
        routes::operation(&request.method, &target).map_err(|allowed| Error::MethodNotAllowed {
            method: request.method.to_string(),
            path: request.path.clone(),
            allowed,
        })?;
    let query = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let resource = match target.resource {
        Resource::Users => mapping.users(),
        Resource::Groups => mapping.groups(),
        _ => None,
    };
    let (paths, shape) = resource.map_or_else(
        || (Paths::default(), ListShape::find_default()),
        |r| (Paths::of(r), ListShape::find(r)),
    );

    let store = SqliteStore::open_in_memory()?;
    if mapping.ids() == IdPolicy::Gateway
        && let (Some(resource), Some(id), Some(object)) = (resource, &target.id, &current)
        && let Some(backend_id) = resource.backend_id(object)
    {
        let mut record = store::Record::pending(TENANT, resource.resource_type(), id, None);
        record.backend_id = Some(backend_id);
        record.state = RecordState::Active;
        store.insert(record).await?;
    }

    let recorder = Arc::new(fake::recorder(paths, shape, current));
    let engine = Engine::new(
        TENANT,
        Arc::new(mapping),
        Arc::clone(&recorder) as Arc<dyn crate::backend::Backend>,
        Arc::new(store),
        EngineOptions {
            deadline: Duration::from_secs(10),
            ..EngineOptions::default()
        },
    );
    let service = TenantService::new(Arc::new(engine), false, None);
    let call = ScimCall {
        tenant: TENANT.to_owned(),
        resource: target.resource,
        operation,
        id: target.id,
        query,
        body: request.body,
        principal: "translate".to_owned(),
        request_id: "translate".to_owned(),
    };
    let (status, answer) = match service.answer(call).await {
        Ok(reply) => (reply.status.as_u16(), reply.body),
        Err(error) => (error.status, Some(error.to_json())),
    };
    Ok(Translation {
        backend_calls: fake::calls(&recorder),
        status,
        answer,
    })
}

/// The dry run as an admin reads it: each backend call (`→ METHOD /path?query` and its body
/// indented), then the SCIM answer (`← 201 Created` and its body). URLs are relative to the
/// backend's base URL, so the text does not depend on any port.
pub fn render(translation: &Translation) -> String {
    let mut out = String::new();
    if translation.backend_calls.is_empty() {
        out.push_str("(no backend call)\n");
    }
    for call in &translation.backend_calls {
        let _ = writeln!(out, "→ {} {}", call.method, call.url);
        if let Some(body) = &call.body {
            for line in pretty(body).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let reason = StatusCode::from_u16(translation.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let _ = writeln!(out, "← {} {reason}", translation.status);
    if let Some(answer) = &translation.answer {
        let _ = writeln!(out, "{}", pretty(answer));
    }
    out
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Loads a mapping for a dry run: `${NAME}` references answer from the process environment,
/// and one without a default that is unset gets a placeholder (a dry run sends no credentials),
/// so an admin can translate without the backend's secrets.
pub fn load_mapping(file_name: &str, contents: &str) -> Result<Mapping, Problems> {
    let required = required_variables(contents);
    let env = move |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| required.contains(name).then(|| UNSET.to_owned()))
    };
    crate::mapping::load(file_name, contents, &env)
}

/// Names referenced as `${NAME}` with no default.
fn required_variables(contents: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = contents;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let inner = &rest[..end];
        if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            names.insert(inner.to_owned());
        }
        rest = &rest[end..];
    }
    names
}

/// Parses the contents of a `--current` BACKEND.json file.
pub fn parse_current(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|error| Error::InvalidRequest {
        reason: format!("--current is not JSON: {error}"),
    })
}
