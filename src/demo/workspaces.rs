//! Workspaces in the example API (issue 14): the same users and teams API once per customer
//! workspace, under `/api/workspaces/{workspace}/…` (`/api/workspaces/42/users` is workspace
//! 42's `/api/v1/users`), each with its own users, teams, call counts and faults. A workspace
//! exists from its first request. It is what a multi-workspace product looks like to a
//! connection mapping using `{conn.workspace_id}` in its paths.

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

/// Every workspace's state, created on first use.
pub(crate) struct Workspaces {
    api_key: String,
    by_id: Mutex<HashMap<String, Arc<Shared>>>,
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

/// Whether `path` is a workspace route.
pub(crate) fn is_workspace_path(path: &str) -> bool {
    path.starts_with(PREFIX)
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
