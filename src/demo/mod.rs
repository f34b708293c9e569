//! The bundled example backend: a small legacy-style REST user API ("Acme Accounts") served
//! in-process by hyper, used by `scimgate demo`, the integration tests, the benchmark and the
//! fault tests. It deliberately looks like a real product's API, not like SCIM.
//!
//! It owns its own HTTP surface and in-memory state; it must not depend on any other scimgate
//! module (the gateway talks to it only over HTTP, as it would to a real product).
//!
//! # API (every `/api/...` request needs `X-Api-Key`, else 401)
//! - `GET /api/v1/users?offset&limit&username=&email=&status=&username_prefix=&email_contains=
//!   &display_name=&last_name=&created_after=` → `{"items","total","offset","limit"}` in id
//!   order; limit defaults to 50 and is clamped to 200; the searches are ANDed and ignore case:
//!   `username`, `email`, `display_name`, `last_name` exact, `username_prefix` a prefix,
//!   `email_contains` a substring of the work or home email, `created_after` an RFC 3339
//!   instant (strictly after).
//! - `POST /api/v1/users` → 201 + `Location`; `GET|PUT|PATCH|DELETE /api/v1/users/{id}`.
//!   Writable: `username` (the login: required, unique ignoring case → 409 `username taken`),
//!   `email` (optional free text, not unique), `home_email`, `first_name`, `last_name`,
//!   `display_name`, `nickname`, `job_title`, `phone`, `mobile`, the work address (`address`,
//!   `street`, `city`, `region`, `postal_code`, `country`), `status` (`active`|`disabled`),
//!   `plan` (1|2), `role`, `folders` (comma-separated string), `tag`, `metadata` (object of
//!   strings), `employee_number`, `department`, `manager` (a reference as the client gives it,
//!   stored and answered verbatim; empty is none), `notes`, `full_name` (stored as a write gives
//!   it; a write that gives none, or a blank one, gets first and last name joined, and one
//!   that was that join and is sent back unchanged with new names follows them). PUT resets absent
//!   fields; PATCH changes only the given ones; `null` resets a field to its default.
//!   Unknown and read-only keys (`id`, `created_at`, ...) in a body are ignored.
//! - `GET /api/v1/teams?offset&limit&name=`, `POST`, `GET|PUT|PATCH|DELETE /api/v1/teams/{id}`
//!   (`name` unique ignoring case → 409 `team name taken`, `description`, read-only
//!   `member_count`).
//! - `GET /api/v1/teams/{id}/members?offset&limit&user_id=` → `{"items":[{"user_id":5}],
//!   "total","offset","limit"}` in user id order; limit defaults to 50 and is clamped to 100;
//!   `POST .../members {"user_id":5}` → 204 (idempotent; unknown user → 422);
//!   `DELETE .../members/{user_id}` → 204 (idempotent).
//! - Errors are `{"error": "..."}`: 400 validation or bad JSON, 401, 404, 405, 409, 413, 422.
//!
//! - `/api/workspaces/{workspace}/…`: the same API once per workspace, with workspace API
//!   keys and `GET /api/keys/self` to check one (see `workspaces`).
//!
//! # Admin (no key, not counted, never faulted)
//! `GET /_admin/calls`, `GET /_admin/requests` (the last 1024 raw request targets),
//! `POST /_admin/calls/reset`, `GET|POST|DELETE /_admin/faults` (see
//! [`Fault`]), `GET|POST /_admin/quirks` (behaviour switches, see [`Quirks`]), `POST /_admin/seed {"users": N}` (with `"team": T`, the new users also become
//! members of team `T`).

mod admin;
mod body;
mod db;
mod error;
mod faults;
mod handler;
mod model;
mod quirks;
mod reply;
mod router;
mod workspaces;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{CallCounts, Fault, FaultMode};
pub use quirks::{Quirks, TOTAL_HEADER};

use db::Db;
use faults::Control;
use handler::Shared;

/// How long `shutdown` waits for in-flight requests before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How to start a demo server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// The value clients must send in `X-Api-Key`.
    pub api_key: String,
    /// How many users to create before serving (username and email `user{n}@example.com`).
    pub seed_users: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            api_key: "demo-api-key".to_owned(),
            seed_users: 0,
        }
    }
}

/// A running demo API; dropping it stops accepting connections, [`DemoServer::shutdown`] also
/// waits for in-flight requests.
#[derive(Debug)]
pub struct DemoServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    workspaces: Arc<workspaces::Workspaces>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl DemoServer {
    /// Binds `addr` (port 0 picks a free port), seeds users, and serves in a spawned task.
    /// Returns as soon as the socket is bound.
    pub async fn start(addr: SocketAddr, options: DemoOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut db = Db::default();
        db.seed_users(options.seed_users);
        let shared = Arc::new(Shared {
            db: RwLock::new(db),
            control: Mutex::new(Control::default()),
            api_key: options.api_key,
        });
        let workspaces = Arc::new(workspaces::Workspaces::new(shared.api_key.clone()));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(
            listener,
            Arc::clone(&shared),
            Arc::clone(&workspaces),
            stopped,
        ));
        tracing::info!(%addr, seeded = options.seed_users, "Demo API listening.");
        Ok(Self {
            addr,
            shared,
            workspaces,
            stop,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT` for clients (`127.0.0.1` when bound to all interfaces).
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    /// The key clients must send in `X-Api-Key`.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// The calls counted so far.
    pub fn calls(&self) -> CallCounts {
        self.shared.control().calls.clone()
    }

    /// The most recent API requests as `"METHOD /raw/path?query"` (still percent-encoded), oldest
    /// first, at most 1024: what actually reached the API, for injection checks.
    pub fn recent_requests(&self) -> Vec<String> {
        self.shared.control().recent()
    }

    /// Sets the call counts back to zero.
    pub fn reset_calls(&self) {
        self.shared.control().calls = CallCounts::default();
    }

    /// Queues a fault for upcoming API requests.
    pub fn inject(&self, fault: Fault) {
        self.shared.control().inject(fault);
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.shared.control().clear_faults();
    }

    /// Sets the behaviour switches (duplicates, coded errors, header totals, reused ids).
    pub fn set_quirks(&self, quirks: Quirks) {
        self.shared.write().set_quirks(quirks);
    }

    /// Deletes a user directly in the backend (with its memberships), as an admin of the
    /// product would; `false` when there is no such user.
    pub fn delete_user(&self, id: u64) -> bool {
        self.shared.write().delete_user(id).is_ok()
    }

    /// Creates a user directly in the backend, as an admin of the product would (nothing goes
    /// through the gateway), from a `POST /api/v1/users` body: its JSON, or the refusal.
    pub fn create_user(&self, body: &Value) -> Result<Value, String> {
        let fields = body.as_object().cloned().unwrap_or_default();
        let mut db = self.shared.write();
        let user = db.create_user(&fields).map_err(|e| e.to_string())?;
        reply::user_value(user).ok_or_else(|| "unserialisable user".to_owned())
    }

    /// Creates a team directly in the backend from a `POST /api/v1/teams` body: its JSON, or
    /// the refusal.
    pub fn create_team(&self, body: &Value) -> Result<Value, String> {
        let fields = body.as_object().cloned().unwrap_or_default();
        let mut db = self.shared.write();
        let team = db.create_team(&fields).map_err(|e| e.to_string())?;
        serde_json::to_value(team.view()).map_err(|e| e.to_string())
    }

    /// Deletes a team directly in the backend; `false` when there is no such team.
    pub fn delete_team(&self, id: u64) -> bool {
        self.shared.write().delete_team(id).is_ok()
    }

    /// A user's JSON as `GET /api/v1/users/{id}` would answer, for assertions without HTTP.
    pub fn user(&self, id: u64) -> Option<Value> {
        self.shared.read().user(id).and_then(reply::user_value)
    }

    /// How many users exist.
    pub fn user_count(&self) -> usize {
        self.shared.read().user_count()
    }

    /// The id of the user with this username (ignoring case).
    pub fn user_id_by_username(&self, username: &str) -> Option<u64> {
        self.shared.read().user_id_by_username(username)
    }

    /// A team's JSON as `GET /api/v1/teams/{id}` would answer.
    pub fn team(&self, id: u64) -> Option<Value> {
        self.shared
            .read()
            .team(id)
            .and_then(|team| serde_json::to_value(team.view()).ok())
    }

    /// A team's member user ids in order, or `None` when the team does not exist.
    pub fn team_members(&self, id: u64) -> Option<Vec<u64>> {
        self.shared
            .read()
            .team(id)
            .map(|team| team.members.iter().copied().collect())
    }

    /// How many users workspace `workspace` has (`/api/workspaces/{workspace}/users`).
    pub fn workspace_user_count(&self, workspace: &str) -> usize {
        self.workspaces
            .find(workspace)
            .map_or(0, |shared| shared.read().user_count())
    }

    /// Makes the key check (`GET /api/keys/self`) answer 503 (`true`), or work again.
    pub fn set_keys_down(&self, down: bool) {
        self.workspaces.set_keys_down(down);
    }

    /// How many calls workspace `workspace` got with one of its own API keys.
    pub fn workspace_key_calls(&self, workspace: &str) -> u64 {
        self.workspaces.key_calls(workspace)
    }

    /// A user of workspace `workspace`, as its `GET …/users/{id}` would answer.
    pub fn workspace_user(&self, workspace: &str, id: u64) -> Option<Value> {
        let shared = self.workspaces.find(workspace)?;
        shared.read().user(id).and_then(reply::user_value)
    }

    /// The id of the user of workspace `workspace` with this username (ignoring case).
    pub fn workspace_user_id_by_username(&self, workspace: &str, username: &str) -> Option<u64> {
        let shared = self.workspaces.find(workspace)?;
        shared.read().user_id_by_username(username)
    }

    /// How many teams exist.
    pub fn team_count(&self) -> usize {
        self.shared.read().team_count()
    }

    /// Creates `count` more users (username and email `user{n}@example.com`); returns how many
    /// were created.
    pub fn seed_users(&self, count: usize) -> usize {
        self.shared.write().seed_users(count)
    }

    /// Creates `count` more `user{n}@example.com` users and makes them members of team `team`;
    /// returns their ids, or `None` when the team does not exist.
    pub fn seed_members(&self, team: u64, count: usize) -> Option<Vec<u64>> {
        self.shared.write().seed_members(team, count).ok()
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and waits for the server.
    pub async fn shutdown(self) {
        // The receiver is gone only if the server task already ended.
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "Demo API task failed.");
        }
    }
}

/// The accept loop: one hyper-util auto (HTTP/1 or HTTP/2) connection per socket.
async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    workspaces: Arc<workspaces::Workspaces>,
    mut stopped: oneshot::Receiver<()>,
) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Either `shutdown` was called or the `DemoServer` was dropped.
            _ = &mut stopped => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Typically out of file descriptors: back off instead of spinning.
                tracing::warn!(%error, "Demo API could not accept a connection.");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let workspaces = Arc::clone(&workspaces);
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let shared = Arc::clone(&shared);
            let workspaces = Arc::clone(&workspaces);
            async move {
                if req.uri().path().starts_with("/_admin/") {
                    Ok(admin::admin(&shared, req).await)
                } else if workspaces::is_workspace_path(req.uri().path()) {
                    workspaces::api(&workspaces, req).await
                } else {
                    handler::api(shared, req).await
                }
            }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Expected for `drop` and `truncate` faults and clients that hang up.
                tracing::debug!(%error, "Demo API connection ended with an error.");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("Demo API shut down with requests still in flight.");
    }
}
