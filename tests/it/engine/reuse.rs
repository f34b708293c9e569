//! A backend that wraps its objects and reuses ids (like Redmine): the mapping's `answer`,
//! list `reread` and `identity` keep a SCIM id from ever pointing at a different person or
//! group; an `already_done` error rule makes a repeated member add succeed, verified.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use scimgate::engine::{Engine, EngineOptions};
use scimgate::scim::ScimError;
use scimgate::store::SqliteStore;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{entra_user, id_of, patch_body, query};

const MAPPING: &str = r#"
version: 1
ids: gateway
backend: { base_url: "${DEMO_BACKEND_URL}" }
users:
  id: "$.id"
  identity: "$.created_on"
  operations:
    create: { method: POST, path: /users.json, body: { user: "$object" }, answer: "$.user" }
    get: { method: GET, path: "/users/{id}.json", answer: "$.user" }
    list: { method: GET, path: /users.json, items: "$.users[*]", reread: true }
    update: { method: PUT, path: "/users/{id}.json", body: { user: "$object" }, reread: true }
    delete: { method: DELETE, path: "/users/{id}.json" }
  attributes:
    userName: "$.login"
    active: { path: "$.status", map: { "true": 1, "false": 3 }, default: true }
  filters:
    - { when: 'userName eq {v}', query: { name: "{v}" } }
groups:
  id: "$.id"
  identity: "$.name"
  operations:
    create: { method: POST, path: /groups.json, body: { group: "$object" }, answer: "$.group" }
    get: { method: GET, path: "/groups/{id}.json", answer: "$.group" }
    list: { method: GET, path: /groups.json, items: "$.groups[*]" }
    update: { method: PUT, path: "/groups/{id}.json", body: { group: "$object" }, reread: true }
    delete: { method: DELETE, path: "/groups/{id}.json" }
  attributes:
    displayName: { path: "$.name", required: true }
  errors:
    - { status: 422, contains: "User is invalid", on: [members.add], means: already_done }
  members:
    add: { method: POST, path: "/groups/{id}/users.json", body: { user_id: "{member:integer}" } }
    remove: { method: DELETE, path: "/groups/{id}/users/{member}.json" }
    list: { method: GET, path: "/groups/{id}.json", items: "$.group.users[*]", member_id: "$.id" }
errors:
  - { status: 422, means: invalid_value }
"#;

/// Users by id; the next id is the highest plus one (so a deleted highest id comes back), and
/// every user gets a distinct `created_on`.
#[derive(Default)]
struct Backend {
    users: BTreeMap<u64, Value>,
    /// Groups share the users' id sequence (Redmine's principals); members by user id.
    groups: BTreeMap<u64, (String, Vec<u64>)>,
    created: u64,
}

impl Backend {
    fn next_id(&self) -> u64 {
        let users = self.users.keys().next_back().copied().unwrap_or(4);
        let groups = self.groups.keys().next_back().copied().unwrap_or(4);
        users.max(groups) + 1
    }

    fn insert(&mut self, mut user: Value) -> Value {
        let id = self.next_id();
        self.created += 1;
        user["id"] = json!(id);
        user["created_on"] = json!(format!("t{}", self.created));
        self.users.insert(id, user.clone());
        user
    }
}

type Shared = Arc<Mutex<Backend>>;

fn reply(status: StatusCode, body: Option<Value>) -> Response<Full<Bytes>> {
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(state: Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Ok(mut backend) = state.lock() else {
        return reply(StatusCode::INTERNAL_SERVER_ERROR, None);
    };
    if let Some(rest) = path.strip_prefix("/groups") {
        return group_call(&mut backend, &method, rest, &sent);
    }
    let id = path
        .strip_prefix("/users/")
        .and_then(|rest| rest.strip_suffix(".json"))
        .and_then(|id| id.parse::<u64>().ok());
    match (method, id) {
        (Method::POST, None) => {
            let user = backend.insert(sent["user"].clone());
            reply(StatusCode::CREATED, Some(json!({ "user": user })))
        }
        (Method::GET, None) => {
            // List items are partial: no status (the mapping re-reads them).
            let users: Vec<Value> = backend
                .users
                .values()
                .map(|u| json!({"id": u["id"], "login": u["login"]}))
                .collect();
            reply(StatusCode::OK, Some(json!({ "users": users })))
        }
        (method, Some(id)) => {
            let Some(user) = backend.users.get_mut(&id) else {
                return reply(StatusCode::NOT_FOUND, None);
            };
            match method {
                Method::GET => reply(StatusCode::OK, Some(json!({ "user": user }))),
                Method::PUT => {
                    if let (Some(user), Some(changes)) =
                        (user.as_object_mut(), sent["user"].as_object())
                    {
                        for (k, v) in changes {
                            user.insert(k.clone(), v.clone());
                        }
                    }
                    reply(StatusCode::NO_CONTENT, None)
                }
                Method::DELETE => {
                    backend.users.remove(&id);
                    reply(StatusCode::NO_CONTENT, None)
                }
                _ => reply(StatusCode::METHOD_NOT_ALLOWED, None),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, None),
    }
}

/// Redmine's group endpoints: `rest` is the path after `/groups`.
fn group_call(
    backend: &mut Backend,
    method: &Method,
    rest: &str,
    sent: &Value,
) -> Response<Full<Bytes>> {
    let invalid = || {
        reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(json!({"errors": ["User is invalid"]})),
        )
    };
    let parts: Vec<&str> = rest
        .trim_start_matches('/')
        .trim_end_matches(".json")
        .split('/')
        .collect();
    let group_id = parts.first().and_then(|p| p.parse::<u64>().ok());
    match (method, group_id, parts.as_slice()) {
        (&Method::POST, None, _) => {
            let id = backend.next_id();
            let name = sent["group"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            backend.groups.insert(id, (name.clone(), Vec::new()));
            reply(
                StatusCode::CREATED,
                Some(json!({"group": {"id": id, "name": name}})),
            )
        }
        (&Method::GET, None, _) => {
            let groups: Vec<Value> = backend
                .groups
                .iter()
                .map(|(id, (name, _))| json!({"id": id, "name": name}))
                .collect();
            reply(StatusCode::OK, Some(json!({ "groups": groups })))
        }
        (method, Some(id), parts) => {
            let known_users: Vec<u64> = backend.users.keys().copied().collect();
            let Some((name, members)) = backend.groups.get_mut(&id) else {
                return reply(StatusCode::NOT_FOUND, None);
            };
            match (method, parts) {
                (&Method::GET, [_]) => {
                    let users: Vec<Value> = members.iter().map(|m| json!({"id": m})).collect();
                    reply(
                        StatusCode::OK,
                        Some(json!({"group": {"id": id, "name": name, "users": users}})),
                    )
                }
                (&Method::PUT, [_]) => {
                    if let Some(new) = sent["group"]["name"].as_str() {
                        *name = new.to_owned();
                    }
                    reply(StatusCode::NO_CONTENT, None)
                }
                (&Method::DELETE, [_]) => {
                    backend.groups.remove(&id);
                    reply(StatusCode::NO_CONTENT, None)
                }
                (&Method::POST, [_, "users"]) => match sent["user_id"].as_u64() {
                    // Already a member, or no such user: the same 422 (as Redmine).
                    Some(user) if known_users.contains(&user) && !members.contains(&user) => {
                        members.push(user);
                        reply(StatusCode::NO_CONTENT, None)
                    }
                    _ => invalid(),
                },
                (&Method::DELETE, [_, "users", user]) => {
                    let user = user.parse::<u64>().unwrap_or_default();
                    members.retain(|m| *m != user);
                    reply(StatusCode::NO_CONTENT, None)
                }
                _ => reply(StatusCode::METHOD_NOT_ALLOWED, None),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, None),
    }
}

async fn start() -> Result<(Shared, Engine)> {
    let state: Shared = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let served = state.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = served.clone();
            tokio::spawn(async move {
                let service = service_fn(move |r| {
                    let state = state.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(state, r).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let store = Arc::new(SqliteStore::open_in_memory()?);
    let engine = super::engine_for(&url, MAPPING, store, EngineOptions::default())?;
    Ok((state, engine))
}

fn backend_id(state: &Shared, login: &str) -> Option<u64> {
    let backend = state.lock().ok()?;
    backend
        .users
        .iter()
        .find(|(_, u)| u["login"] == login)
        .map(|(id, _)| *id)
}

async fn status(engine: &Engine, id: &str) -> u16 {
    match engine.get("User", id).await {
        Ok(_) => 200,
        Err(error) => ScimError::from(error).status,
    }
}

#[tokio::test]
async fn a_reused_backend_id_never_shows_another_person() -> Result<()> {
    let (state, engine) = start().await?;

    // Wrapped create and get answers are unwrapped.
    let a = engine
        .create("User", &entra_user("a@example.com", "ext-a"))
        .await?;
    let a_id = id_of(&a)?;
    assert_eq!(a["userName"], "a@example.com");
    let a_backend = backend_id(&state, "a@example.com").expect("backend user");

    // Deleted in the backend directly; a newcomer made there directly gets the same id.
    let newcomer = {
        let mut backend = state.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        backend.users.remove(&a_backend);
        backend.insert(json!({"login": "b@example.com", "status": 1}))
    };
    assert_eq!(newcomer["id"], a_backend);

    // A's SCIM id is gone, for reads and writes; the newcomer is untouched.
    assert_eq!(status(&engine, &a_id).await, 404);
    let patch = engine
        .patch(
            "User",
            &a_id,
            &patch_body(&json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(ScimError::from(patch.unwrap_err()).status, 404);
    assert_eq!(
        state.lock().map_err(|_| anyhow::anyhow!("lock"))?.users[&a_backend]["status"],
        1
    );

    // The newcomer is found by filter under a SCIM id of its own, with the status that only
    // the re-read (not the partial list item) carries.
    let q = query(
        &engine,
        "User",
        &[("filter", r#"userName eq "b@example.com""#)],
    )?;
    let found = engine.list("User", &q).await?.to_json();
    assert_eq!(found["totalResults"], 1);
    let b_id = id_of(&found["Resources"][0])?;
    assert_ne!(b_id, a_id);
    assert_eq!(found["Resources"][0]["active"], true);
    assert_eq!(
        status(&engine, &a_id).await,
        404,
        "the old id stays retired"
    );

    // Through the gateway: delete B in the backend, create C with the gateway (same id again).
    state
        .lock()
        .map_err(|_| anyhow::anyhow!("lock"))?
        .users
        .remove(&a_backend);
    let c = engine
        .create("User", &entra_user("c@example.com", "ext-c"))
        .await?;
    assert_eq!(backend_id(&state, "c@example.com"), Some(a_backend));
    assert_eq!(status(&engine, &b_id).await, 404);
    assert_eq!(
        engine.get("User", &id_of(&c)?).await?["userName"],
        "c@example.com"
    );

    // PUT answers 204: the re-read shows the change.
    let patched = engine
        .patch(
            "User",
            &id_of(&c)?,
            &patch_body(&json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await?
        .expect("a user PATCH answers the resource");
    assert_eq!(patched["active"], false);
    Ok(())
}

fn add_member(user: &str) -> Value {
    patch_body(&json!([{"op": "Add", "path": "members", "value": [{"value": user}]}]))
}

fn group_members(state: &Shared, id: u64) -> Result<Vec<u64>> {
    let backend = state.lock().map_err(|_| anyhow::anyhow!("lock"))?;
    Ok(backend
        .groups
        .get(&id)
        .map(|g| g.1.clone())
        .unwrap_or_default())
}

#[tokio::test]
async fn a_group_identity_by_name_follows_renames_and_a_member_added_twice_is_success() -> Result<()>
{
    let (state, engine) = start().await?;
    let user = engine
        .create("User", &entra_user("m@example.com", "ext-m"))
        .await?;
    let user_id = id_of(&user)?;
    let user_backend = backend_id(&state, "m@example.com").expect("backend user");
    let group =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng"});
    let g_id = id_of(&engine.create("Group", &group).await?)?;
    let g_backend = user_backend + 1;

    // Added twice: the backend's 422 is success, the member is there once.
    engine.patch("Group", &g_id, &add_member(&user_id)).await?;
    engine.patch("Group", &g_id, &add_member(&user_id)).await?;
    assert_eq!(group_members(&state, g_backend)?, vec![user_backend]);

    // A user the backend does not have: the same 422 is no success.
    let ghost = engine
        .create("User", &entra_user("ghost@example.com", "ext-g"))
        .await?;
    {
        let mut backend = state.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let ghost_backend = backend_id_in(&backend, "ghost@example.com");
        backend.users.remove(&ghost_backend);
    }
    let refused = engine
        .patch("Group", &g_id, &add_member(&id_of(&ghost)?))
        .await
        .unwrap_err();
    assert_eq!(ScimError::from(refused).status, 400);
    assert_eq!(group_members(&state, g_backend)?, vec![user_backend]);

    // A rename through the gateway keeps the SCIM id (the record follows its own write).
    engine
        .patch(
            "Group",
            &g_id,
            &patch_body(&json!([{"op": "Replace", "path": "displayName", "value": "Platform"}])),
        )
        .await?;
    assert_eq!(engine.get("Group", &g_id).await?["displayName"], "Platform");

    // Deleted and its id reused for another group made in the backend: the old SCIM id is 404,
    // also for a member add, and the newcomer gets no member.
    {
        let mut backend = state.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        backend.groups.remove(&g_backend);
        let id = backend.next_id();
        assert_eq!(id, g_backend, "the fake reuses the deleted group's id");
        backend.groups.insert(id, ("Other".to_owned(), Vec::new()));
    }
    let gone = engine.get("Group", &g_id).await.unwrap_err();
    assert_eq!(ScimError::from(gone).status, 404);
    let gone = engine
        .patch("Group", &g_id, &add_member(&user_id))
        .await
        .unwrap_err();
    assert_eq!(ScimError::from(gone).status, 404);
    assert!(group_members(&state, g_backend)?.is_empty());
    Ok(())
}

fn backend_id_in(backend: &Backend, login: &str) -> u64 {
    backend
        .users
        .iter()
        .find(|(_, u)| u["login"] == login)
        .map_or(0, |(id, _)| *id)
}
