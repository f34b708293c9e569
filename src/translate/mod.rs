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
//! `"id"` set (from `--current`, else 1001) and a `Location` naming it, for a mapping whose
//! id lives elsewhere. Answers the mapping reads inside a key (`answer: "$.user"`) are wrapped
//! in it. With `ids: gateway`, the path's SCIM id is linked to `--current`'s backend id (the
//! path's id when the mapping finds none in it) in the in-memory store first. Timestamps in
//! `meta` are the time of the run. Mapping `tests:` cases run the same dry run
//! ([`crate::cases`]).
//!
//! Must not: talk to the real backend or send its credentials, re-implement engine logic,
//! or choose statuses (the gateway's own answer is reported).

mod fake;
mod request;

#[cfg(test)]
mod tests;

pub use fake::RecordedCall;
pub(crate) use fake::member_list_answer;
pub use request::{TranslateRequest, parse_request, request_from_json};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use serde_json::{Map, Value};

use crate::backend::Recorder;
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
    let setup = Setup {
        current,
        ..Setup::default()
    };
    Ok(run(Arc::new(mapping), request, setup).await?.translation)
}

/// What a dry run's backend and store hold before the request, beyond the mapping: what
/// `translate` takes from `--current`, and what a mapping `tests:` case gives
/// (`crate::cases`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    /// The backend object as the backend returns it today.
    pub(crate) current: Option<Value>,
    /// The backend's answer to the member list (`members.list`); an empty list without it.
    pub(crate) members: Option<Value>,
    /// `store: true` attribute values the store holds for `current` (e.g. `externalId`).
    pub(crate) stored: Map<String, Value>,
    /// The connection's `{conn.NAME}` values.
    pub(crate) variables: BTreeMap<String, String>,
    /// Users a group request names as members: with `ids: gateway` the store links each
    /// (its SCIM id is its backend id), so they exist.
    pub(crate) member_users: Vec<String>,
}

/// A finished dry run: its translation, and the store and backend it ran against.
pub(crate) struct DryRun {
    /// What the gateway sent and answered.
    pub(crate) translation: Translation,
    /// The in-memory store after the request (stored attributes, id links).
    pub(crate) store: Arc<SqliteStore>,
    /// The fake backend, with every call it received.
    pub(crate) recorder: Arc<Recorder>,
}

/// The tenant every dry run's store records belong to.
pub(crate) const fn tenant() -> &'static str {
    TENANT
}

/// Runs `request` through the gateway ([`TenantService`] over a fresh engine) against a fake
/// backend and an in-memory store set up as `setup` says.
pub(crate) async fn run(
    mapping: Arc<Mapping>,
    request: TranslateRequest,
    setup: Setup,
) -> Result<DryRun, Error> {
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
        |r| (Paths::of(r, &setup.variables), ListShape::find(r)),
    );

    let store = Arc::new(SqliteStore::open_in_memory()?);
    if let (Some(resource), Some(object)) = (resource, &setup.current)
        && let Some(backend_id) = resource.backend_id(object).or_else(|| target.id.clone())
    {
        // `ids: gateway` links the path's SCIM id to the backend object; `ids: backend` needs
        // a record only to hold stored attributes (its `scim_id` is an internal key then).
        let scim_id = match (mapping.ids(), &target.id) {
            (IdPolicy::Gateway, Some(id)) => Some(id.clone()),
            (IdPolicy::Backend, _) if !setup.stored.is_empty() => {
                Some(uuid::Uuid::new_v4().to_string())
            }
            _ => None,
        };
        if let Some(scim_id) = scim_id {
            let mut record =
                store::Record::pending(TENANT, resource.resource_type(), &scim_id, None);
            record.backend_id = Some(backend_id);
            record.state = RecordState::Active;
            record.shadow = setup.stored.clone();
            store.insert(record).await?;
        }
    }

    if mapping.ids() == IdPolicy::Gateway
        && let Some(users) = mapping.users()
    {
        for id in &setup.member_users {
            if store
                .get(TENANT, users.resource_type(), id)
                .await?
                .is_some()
            {
                continue;
            }
            let mut record = store::Record::pending(TENANT, users.resource_type(), id, None);
            record.backend_id = Some(id.clone());
            record.state = RecordState::Active;
            store.insert(record).await?;
        }
    }
    let recorder = Arc::new(fake::recorder(paths, shape, setup.current, setup.members));
    let engine = Engine::new(
        TENANT,
        mapping,
        Arc::clone(&recorder) as Arc<dyn crate::backend::Backend>,
        Arc::clone(&store) as Arc<dyn Store>,
        EngineOptions {
            deadline: Duration::from_secs(10),
            ..EngineOptions::default()
        },
    )
    .with_variables(Arc::new(setup.variables));
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
        backend_credential: None,
    };
    let (status, answer) = match service.answer(call).await {
        Ok(reply) => (reply.status.as_u16(), reply.body),
        Err(error) => (error.status, Some(error.to_json())),
    };
    Ok(DryRun {
        translation: Translation {
            backend_calls: fake::calls(&recorder),
            status,
            answer,
        },
        store,
        recorder,
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
