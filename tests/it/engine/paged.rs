//! SCIM paging over backends that page differently from the demo: page/per_page, cursor, and
//! next links, each without or with a total. A tiny in-test backend serves 23 users and counts
//! its list calls.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use scimgate::engine::{Engine, EngineOptions};
use scimgate::store::SqliteStore;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{engine_for, query};

const USERS: usize = 23;
const MAX_PAGE: usize = 5;

fn user(i: usize) -> Value {
    json!({"id": i, "email": format!("u{i:02}@x.test")})
}

fn slice(start: usize, size: usize) -> Vec<Value> {
    (start..(start + size.min(MAX_PAGE)).min(USERS))
        .map(|i| user(i + 1))
        .collect()
}

/// Answers `/p/users?page&per_page` (with a total), `/c/users?cursor&limit` (no total) and
/// `/n/users?start&size` (next link, no total).
fn answer(base: &str, path: &str, query: &str) -> Value {
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
    match path {
        "/p/users" => {
            let size = num("per_page", 10).min(MAX_PAGE);
            let page = num("page", 1).max(1);
            json!({"users": slice((page - 1) * size, size), "total": USERS})
        }
        "/c/users" => {
            let start = num("cursor", 0);
            let items = slice(start, num("limit", 10));
            let next = start + items.len();
            json!({"data": items, "next": (next < USERS).then(|| next.to_string())})
        }
        "/n/users" => {
            let start = num("start", 0);
            let size = num("size", 10);
            let items = slice(start, size);
            let next = start + items.len();
            let link = (next < USERS).then(|| format!("{base}/n/users?start={next}&size={size}"));
            json!({"data": items, "links": {"next": link}})
        }
        _ => json!({}),
    }
}

/// Starts the backend; returns its URL and its call counter.
async fn backend() -> Result<(String, Arc<AtomicU64>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let calls = Arc::new(AtomicU64::new(0));
    let (url, counter) = (base.clone(), calls.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (base, counter) = (url.clone(), counter.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    let body = answer(&base, req.uri().path(), req.uri().query().unwrap_or(""));
                    async move {
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body.to_string())))
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
    Ok((base, calls))
}

fn mapping(list: &str) -> String {
    format!(
        r#"version: 1
backend: {{ base_url: "${{DEMO_BACKEND_URL}}" }}
users:
  id: "$.id"
  operations:
    create: {{ method: POST, path: /x }}
    get: {{ method: GET, path: "/x/{{id}}" }}
    replace: {{ method: PUT, path: "/x/{{id}}" }}
    delete: {{ method: DELETE, path: "/x/{{id}}" }}
    list:
{list}
  attributes:
    userName: "$.email"
"#
    )
}

async fn engine(list: &str) -> Result<(Engine, Arc<AtomicU64>)> {
    let (url, calls) = backend().await?;
    let engine = engine_for(
        &url,
        &mapping(list),
        Arc::new(SqliteStore::open_in_memory()?),
        EngineOptions::default(),
    )?;
    Ok((engine, calls))
}

async fn page(engine: &Engine, start: &str, count: &str) -> Result<Value> {
    let q = query(engine, "User", &[("startIndex", start), ("count", count)])?;
    Ok(engine.list("User", &q).await?.to_json())
}

fn names(page: &Value) -> Vec<String> {
    page["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["userName"].as_str().map(str::to_owned))
        .collect()
}

fn expected(from: usize, to: usize) -> Vec<String> {
    (from..=to).map(|i| format!("u{i:02}@x.test")).collect()
}

#[tokio::test]
async fn page_and_per_page() -> Result<()> {
    let (engine, calls) = engine(
        r#"      method: GET
      path: /p/users
      query: { page: "{page}", per_page: "{count}" }
      items: "$.users[*]"
      total: "$.total"
      max_page_size: 5"#,
    )
    .await?;
    // Aligned with the backend's pages: one call.
    let aligned = page(&engine, "6", "5").await?;
    assert_eq!(names(&aligned), expected(6, 10));
    assert_eq!(aligned["totalResults"], USERS);
    assert_eq!(calls.swap(0, Ordering::Relaxed), 1);
    // Not aligned, larger than a backend page: pages 1 and 2.
    let odd = page(&engine, "3", "6").await?;
    assert_eq!(names(&odd), expected(3, 8));
    assert_eq!(odd["startIndex"], 3);
    assert_eq!(odd["itemsPerPage"], 6);
    assert_eq!(calls.swap(0, Ordering::Relaxed), 2);
    // The last, short page.
    let last = page(&engine, "21", "10").await?;
    assert_eq!(names(&last), expected(21, 23));
    assert_eq!(last["totalResults"], USERS);
    Ok(())
}

#[tokio::test]
async fn cursor_without_total() -> Result<()> {
    let (engine, calls) = engine(
        r#"      method: GET
      path: /c/users
      query: { cursor: "{cursor}", limit: "{count}" }
      items: "$.data[*]"
      next_cursor: "$.next"
      max_page_size: 5"#,
    )
    .await?;
    let window = page(&engine, "4", "3").await?;
    assert_eq!(names(&window), expected(4, 6));
    // No backend total: the engine walks to the end to count (5 pages of at most 5).
    assert_eq!(window["totalResults"], USERS);
    assert_eq!(calls.load(Ordering::Relaxed), 5);
    Ok(())
}

#[tokio::test]
async fn next_link_without_total() -> Result<()> {
    let (engine, calls) = engine(
        r#"      method: GET
      path: /n/users
      query: { size: "{count}" }
      items: "$.data[*]"
      next_link: "$.links.next"
      max_page_size: 5"#,
    )
    .await?;
    let window = page(&engine, "9", "4").await?;
    assert_eq!(names(&window), expected(9, 12));
    assert_eq!(window["totalResults"], USERS);
    assert_eq!(calls.load(Ordering::Relaxed), 5);
    let past = page(&engine, "30", "4").await?;
    assert_eq!(past["totalResults"], USERS);
    assert_eq!(past["itemsPerPage"], 0);
    Ok(())
}
