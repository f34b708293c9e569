//! Workspaces in the example API (issue 14): the same users and teams API once per customer
//! workspace, under `/api/workspaces/{workspace}/…` (`/api/workspaces/42/users` is workspace
//! 42's `/api/v1/users`), each with its own users, teams, call counts and faults. A workspace
//! exists from its first request. It is what a multi-workspace product looks like to a
//! connection mapping using `{conn.workspace_id}` in its paths.
//!
//! Workspace API keys, as a product issues them to its admins ("create an API key named Entra
//! SCIM"): `POST /api/workspaces/{workspace}/keys` (with the API key) answers 201
//! `{"key", "workspace_id"}`; `DELETE /api/workspaces/{workspace}/keys/{key}` revokes one;
//! `GET /api/keys/self` with `X-Api-Key: <key>` answers `{"workspace_id"}` or 401. A
//! workspace's routes take its own keys as well as the API key; another workspace's key
//! gets 401.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use http::Request;
use hyper::body::Incoming;

use super::db::Db;
use super::faults::Control;
use super::handler::{self, Dropped, Shared};
use super::reply::{self, Reply};

/// The path prefix of workspace routes.
const PREFIX: &str = "/api/workspaces/";

/// The introspect route: which workspace a key belongs to.
const KEYS_SELF: &str = "/api/keys/self";

/// Every workspace's state, created on first use.
pub(crate) struct Workspaces {
    api_key: String,
    by_id: Mutex<HashMap<String, Arc<Shared>>>,
    /// Workspace API keys → their workspace.
    keys: Mutex<HashMap<String, String>>,
    /// Calls made with a workspace key (not the API key), per workspace.
    key_calls: Mutex<HashMap<String, u64>>,
    /// `GET /api/keys/self` answers 503 (the product's key service is down).
    keys_down: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Workspaces {
    // Hand-written so the API key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspaces")
            .field("api_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Workspaces {
    pub(crate) fn new(api_key: String) -> Self {
        Self {
            api_key,
            by_id: Mutex::default(),
            keys: Mutex::default(),
            key_calls: Mutex::default(),
            keys_down: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Workspace `id`'s state, created when it has none yet.
    pub(crate) fn get(&self, id: &str) -> Arc<Shared> {
        let mut by_id = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(by_id.entry(id.to_owned()).or_insert_with(|| {
            Arc::new(Shared {
                db: RwLock::new(Db::default()),
                control: Mutex::new(Control::default()),
                api_key: self.api_key.clone(),
            })
        }))
    }

    /// Workspace `id`'s state, if it was ever used.
    pub(crate) fn find(&self, id: &str) -> Option<Arc<Shared>> {
        let by_id = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        by_id.get(id).cloned()
    }
}

/// Whether `path` is a workspace route (or the key introspect route).
pub(crate) fn is_workspace_path(path: &str) -> bool {
    path.starts_with(PREFIX) || path == KEYS_SELF
}

impl Workspaces {
    /// Issues a new API key of workspace `id`.
    fn issue_key(&self, id: &str) -> String {
        let key = format!("wk_{}", uuid::Uuid::new_v4().simple());
        lock(&self.keys).insert(key.clone(), id.to_owned());
        key
    }

    /// The workspace `key` belongs to.
    fn workspace_of(&self, key: &str) -> Option<String> {
        lock(&self.keys).get(key).cloned()
    }

    /// Makes `GET /api/keys/self` answer 503 (`true`) or work again.
    pub(crate) fn set_keys_down(&self, down: bool) {
        self.keys_down
            .store(down, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many calls workspace `id` got with one of its own keys.
    pub(crate) fn key_calls(&self, id: &str) -> u64 {
        lock(&self.key_calls).get(id).copied().unwrap_or(0)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn header_key(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// `GET /api/keys/self`, and the key routes of a workspace; `None` for other routes.
fn keys_api(
    workspaces: &Workspaces,
    req: &Request<Incoming>,
    id: &str,
    inner: &str,
) -> Option<Reply> {
    use http::{Method, StatusCode};
    let presented = header_key(req);
    let is_admin = presented.as_deref() == Some(workspaces.api_key.as_str());
    let path = inner.split('?').next().unwrap_or_default();
    let rest = path.strip_prefix(super::router::API_PREFIX)?;
    let key = rest
        .strip_prefix("keys")
        .map(|tail| tail.trim_start_matches('/'))?;
    if !is_admin {
        return Some(reply::error_reply(
            StatusCode::UNAUTHORIZED,
            "invalid API key",
        ));
    }
    Some(match (req.method(), key) {
        (&Method::POST, "") => {
            let key = workspaces.issue_key(id);
            reply::json(
                StatusCode::CREATED,
                &serde_json::json!({"key": key, "workspace_id": id}),
            )
        }
        (&Method::DELETE, key) if !key.is_empty() => {
            let mut keys = lock(&workspaces.keys);
            if keys.get(key).is_some_and(|owner| owner == id) {
                keys.remove(key);
                reply::no_content()
            } else {
                reply::error_reply(StatusCode::NOT_FOUND, "no such key")
            }
        }
        _ => reply::error_reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST …/keys or DELETE …/keys/{key}",
        ),
    })
}

/// `/api/workspaces/{id}/rest` → `(id, "/api/v1/rest")`; `None` for a bad workspace id.
fn split(path_and_query: &str) -> Option<(&str, String)> {
    let rest = path_and_query.strip_prefix(PREFIX)?;
    let (id, tail) = rest.split_once('/')?;
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    valid.then(|| (id, format!("{}{tail}", super::router::API_PREFIX)))
}

/// Answers a workspace route with that workspace's users and teams API.
pub(crate) async fn api(
    workspaces: &Workspaces,
    mut req: Request<Incoming>,
) -> Result<Reply, Dropped> {
    if req.uri().path() == KEYS_SELF {
        if workspaces
            .keys_down
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(reply::error_reply(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "the key service is down",
            ));
        }
        let owner = header_key(&req).and_then(|key| workspaces.workspace_of(&key));
        return Ok(match owner {
            Some(id) => reply::ok(&serde_json::json!({"workspace_id": id})),
            None => reply::error_reply(http::StatusCode::UNAUTHORIZED, "invalid API key"),
        });
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), ToString::to_string);
    let Some((id, inner)) = split(&target) else {
        return Ok(reply::error_reply(
            http::StatusCode::NOT_FOUND,
            "no such route (workspace ids are letters, digits, - and _)",
        ));
    };
    if let Some(reply) = keys_api(workspaces, &req, id, &inner) {
        return Ok(reply);
    }
    // The workspace's own key stands for the API key on its routes (and only on its own).
    if let Some(key) = header_key(&req)
        && workspaces.workspace_of(&key).as_deref() == Some(id)
    {
        *lock(&workspaces.key_calls)
            .entry(id.to_owned())
            .or_insert(0) += 1;
        if let Ok(value) = http::HeaderValue::from_str(&workspaces.api_key) {
            req.headers_mut().insert("x-api-key", value);
        }
    }
    let shared = workspaces.get(id);
    match inner.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => {
            return Ok(reply::error_reply(
                http::StatusCode::BAD_REQUEST,
                "malformed path",
            ));
        }
    }
    handler::api(shared, req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_paths_become_the_workspace_api() {
        assert_eq!(
            split("/api/workspaces/42/users?offset=0"),
            Some(("42", "/api/v1/users?offset=0".to_owned()))
        );
        assert_eq!(split("/api/workspaces/a.b/users"), None);
        assert_eq!(split("/api/workspaces//users"), None);
        assert_eq!(split("/api/workspaces/42"), None);
    }
}
