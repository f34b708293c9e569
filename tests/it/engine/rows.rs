//! Issue 13: a backend with membership rows of its own (the example mapping
//! `docs/examples/memberships.yaml`): a member added twice gets a second row, and a membership
//! is deleted by its row id. A tiny in-test backend keeps the rows and pages them 5 at a time.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use scimgate::engine::{Engine, EngineOptions};
use scimgate::store::SqliteStore;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{engine_for, patch_body};

const EXAMPLE: &str = include_str!("../../../docs/examples/memberships.yaml");
const PAGE: usize = 5;

/// The backend's state: membership rows `(row id, user)` of group 1, and every request seen.
#[derive(Default)]
struct Rows {
    rows: Vec<(u64, u64)>,
    next_row: u64,
    requests: Vec<String>,
}

fn answer(state: &Mutex<Rows>, method: &str, path: &str, query: &str, body: &[u8]) -> Value {
    let mut rows = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    rows.requests.push(format!("{method} {path}"));
    let params: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    let num = |name: &str, default: usize| {
        params
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match (method, path) {
        ("GET", "/api/groups/1") => json!({"id": 1, "name": "Sales"}),
        ("GET", "/api/groups/1/memberships") => {
            let size = num("per_page", 10).min(PAGE);
            let page = num("page", 1).max(1);
            let data: Vec<Value> = rows
                .rows
                .iter()
                .skip((page - 1) * size)
                .take(size)
                .map(|(id, user)| json!({"id": id, "group": 1, "user": user}))
                .collect();
            json!({"data": data, "meta": {"total": rows.rows.len()}})
        }
        ("POST", "/api/memberships") => {
            let body: Value = serde_json::from_slice(body).unwrap_or_default();
            let user = body["user"].as_u64().unwrap_or_default();
            rows.next_row += 1;
            let id = rows.next_row;
            // Duplicate rows are allowed, as in the backends this shape stands for.
            rows.rows.push((id, user));
            json!({"id": id, "group": 1, "user": user})
        }
        ("DELETE", p) if p.starts_with("/api/memberships/") => {
            let row: u64 = p["/api/memberships/".len()..].parse().unwrap_or_default();
            rows.rows.retain(|(id, _)| *id != row);
            json!({})
        }
        ("GET", p) if p.starts_with("/api/users/") => {
            let id: u64 = p["/api/users/".len()..].parse().unwrap_or_default();
            json!({"id": id, "login": format!("u{id}")})
        }
        _ => json!({}),
    }
}

async fn backend(members: u64) -> Result<(String, Arc<Mutex<Rows>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = Arc::new(Mutex::new(Rows {
        rows: (1..=members).map(|u| (100 + u, u)).collect(),
        next_row: 100 + members,
        requests: Vec::new(),
    }));
    let shared = state.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().path().to_owned();
                        let query = req.uri().query().unwrap_or("").to_owned();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(http_body_util::Collected::to_bytes)
                            .unwrap_or_default();
                        let value = answer(&state, &method, &path, &query, &body);
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(value.to_string())))
                                .unwrap_or_default(),
                        )
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((base, state))
}

async fn engine(members: u64) -> Result<(Engine, Arc<Mutex<Rows>>)> {
    engine_with(members, EXAMPLE).await
}

async fn engine_with(members: u64, example: &str) -> Result<(Engine, Arc<Mutex<Rows>>)> {
    let (url, state) = backend(members).await?;
    let yaml = example.replace(
        "${ROWS_BACKEND_URL:-http://127.0.0.1:8082}",
        "${DEMO_BACKEND_URL}",
    );
    let engine = engine_for(
        &url,
        &yaml,
        Arc::new(SqliteStore::open_in_memory()?),
        EngineOptions::default(),
    )?;
    Ok((engine, state))
}

fn take_requests(state: &Mutex<Rows>) -> Vec<String> {
    let mut rows = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::mem::take(&mut rows.requests)
}

fn users(state: &Mutex<Rows>) -> Vec<u64> {
    let rows = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    rows.rows.iter().map(|(_, u)| *u).collect()
}

#[tokio::test]
async fn issue_13_duplicate_row_backend_add_skips_present_members() -> Result<()> {
    let (engine, state) = engine(12).await?;
    let body = patch_body(&json!([{"op": "add", "path": "members", "value": [
        {"value": "3"}, {"value": "20"}
    ]}]));
    engine.patch("Group", "1", &body).await?;
    let requests = take_requests(&state);
    // Three pages of the member list (12 rows, 5 a page), one users.get for the new member
    // (two writes: each member is checked first), one add.
    assert_eq!(
        requests
            .iter()
            .filter(|r| *r == "GET /api/groups/1/memberships")
            .count(),
        3,
        "{requests:?}"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| *r == "POST /api/memberships")
            .count(),
        1,
        "{requests:?}"
    );
    let now = users(&state);
    assert_eq!(now.len(), 13);
    assert_eq!(now.iter().filter(|u| **u == 3).count(), 1, "no second row");
    // Entra's routine re-add of one present member: a read, no write.
    engine
        .patch(
            "Group",
            "1",
            &patch_body(&json!([{"op": "add", "path": "members", "value": [{"value": "3"}]}])),
        )
        .await?;
    assert_eq!(users(&state).len(), 13);
    Ok(())
}

#[tokio::test]
async fn issue_13_row_id_backend_removes_the_members_row() -> Result<()> {
    let (engine, state) = engine(12).await?;
    let body =
        patch_body(&json!([{"op": "remove", "path": "members", "value": [{"value": "11"}]}]));
    engine.patch("Group", "1", &body).await?;
    let requests = take_requests(&state);
    assert!(
        requests.contains(&"DELETE /api/memberships/111".to_owned()),
        "{requests:?}"
    );
    assert!(!users(&state).contains(&11));
    // Remove-all deletes every row by its id; a group read then lists nobody.
    engine
        .patch(
            "Group",
            "1",
            &patch_body(&json!([{"op": "remove", "path": "members"}])),
        )
        .await?;
    assert!(users(&state).is_empty());
    let group = engine.get_with("Group", "1", true).await?;
    assert!(group.get("members").is_none(), "{group}");
    Ok(())
}

#[tokio::test]
async fn issue_13_member_list_pages_by_page_number_to_the_end() -> Result<()> {
    let (engine, state) = engine(23).await?;
    let group = engine.get_with("Group", "1", true).await?;
    assert_eq!(group["members"].as_array().map_or(0, Vec::len), 23);
    let requests = take_requests(&state);
    assert_eq!(
        requests
            .iter()
            .filter(|r| *r == "GET /api/groups/1/memberships")
            .count(),
        5,
        "{requests:?}"
    );
    Ok(())
}

/// A member list with neither a total nor a declared page size, from a backend that serves 5 a
/// page when asked for 100: a short page is not the end, so every page is read (the last,
/// empty one says so), and remove-all leaves nobody.
#[tokio::test]
async fn issue_13_member_list_without_total_or_page_size_is_read_past_short_pages() -> Result<()> {
    let cut = "      total: \"$.meta.total\"\n      max_page_size: 100\n";
    assert!(EXAMPLE.contains(cut), "the example's members.list changed");
    let (engine, state) = engine_with(23, &EXAMPLE.replace(cut, "")).await?;
    let group = engine.get_with("Group", "1", true).await?;
    assert_eq!(group["members"].as_array().map_or(0, Vec::len), 23);
    let reads = take_requests(&state)
        .iter()
        .filter(|r| *r == "GET /api/groups/1/memberships")
        .count();
    assert_eq!(reads, 6, "5 pages of at most 5, then the empty one");
    engine
        .patch(
            "Group",
            "1",
            &patch_body(&json!([{"op": "remove", "path": "members"}])),
        )
        .await?;
    assert!(users(&state).is_empty(), "{:?}", users(&state));
    Ok(())
}
