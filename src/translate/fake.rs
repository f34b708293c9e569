//! The recording fake backend of a dry run: a hyper server on `127.0.0.1:0` that records every
//! request (method, path and query, JSON body) and answers plausibly from one "current" backend
//! object, so the real engine can run one SCIM operation end to end without the real backend.
//!
//! Answers: GET of the resource's list path → a list holding the current object (or none),
//! shaped so the mapping's `items` / `total` JSONPaths read it ([`ListShape`]); GET of a
//! member list → an empty list; any other GET → the current object, or 404
//! `{"error":"not found"}`; POST → the body merged with `{"id": <current id or 1001>}`;
//! PUT/PATCH → the current object merged with the body; DELETE → 204. A successful create,
//! replace or update becomes the new current object, so a re-read sees it.
//! Must not: reach anything but loopback, or know SCIM.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::mapping::{OpName, ResourceMapping, Vars};

/// The id a created object gets when no `--current` object names one.
const CREATED_ID: u64 = 1001;

/// A marker rendered into `{id}` to turn a path template into a prefix/suffix pattern.
const ID_MARKER: &str = "scimgate-translate-id";

/// One request the fake backend received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// HTTP method.
    pub method: String,
    /// Path and query exactly as sent, relative to the backend's base URL.
    pub url: String,
    /// The body: JSON when it parses, else the text; `None` when empty.
    pub body: Option<Value>,
}

/// Where the resource lives on the backend, rendered from the mapping's templates.
#[derive(Debug, Clone, Default)]
pub(crate) struct Paths {
    create: Option<String>,
    list: Option<String>,
    item: Option<(String, String)>,
    members: Option<(String, String)>,
}

impl Paths {
    /// The paths of `resource`'s create, list, get and member-list calls.
    pub(crate) fn of(resource: &ResourceMapping) -> Self {
        let vars = Vars::new()
            .with("id", ID_MARKER)
            .with("offset", "0")
            .with("count", "1")
            .with("page", "1")
            .with("cursor", "c");
        let path = |op| {
            resource.render(op, &vars).ok().map(|r| {
                let p = r.path_and_query;
                p.split('?').next().unwrap_or_default().to_owned()
            })
        };
        let pattern = |op| {
            path(op).and_then(|p| {
                p.split_once(ID_MARKER)
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
            })
        };
        Self {
            create: path(OpName::Create),
            list: path(OpName::List),
            item: pattern(OpName::Get),
            members: pattern(OpName::ListMembers),
        }
    }
}

fn matches(pattern: Option<&(String, String)>, path: &str) -> bool {
    pattern.is_some_and(|(prefix, suffix)| {
        path.len() > prefix.len() + suffix.len()
            && path.starts_with(prefix.as_str())
            && path.ends_with(suffix.as_str())
            && !path[prefix.len()..path.len() - suffix.len()].contains('/')
    })
}

/// How a list answer is shaped so the mapping's `items` (and `total`) JSONPaths read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListShape {
    wrapper: Option<&'static str>,
    key: Option<&'static str>,
}

const WRAPPERS: [Option<&str>; 4] = [None, Some("data"), Some("result"), Some("response")];
const ITEM_KEYS: [&str; 12] = [
    "items",
    "data",
    "results",
    "users",
    "teams",
    "groups",
    "value",
    "values",
    "records",
    "Resources",
    "resources",
    "entries",
];
const TOTAL_KEYS: [&str; 6] = [
    "total",
    "count",
    "totalResults",
    "total_count",
    "totalCount",
    "totalItems",
];

impl ListShape {
    /// The first common shape from which `resource` reads exactly one probe item (and a total
    /// of 1 when it reads a total); `{"items": […], "total": n}` when none fits.
    pub(crate) fn find(resource: &ResourceMapping) -> Self {
        let probe = json!({"scimgate_probe": true});
        let candidates = std::iter::once(Self {
            wrapper: None,
            key: None,
        })
        .chain(WRAPPERS.iter().flat_map(|wrapper| {
            ITEM_KEYS.iter().map(|key| Self {
                wrapper: *wrapper,
                key: Some(key),
            })
        }));
        for shape in candidates {
            let answer = shape.answer(vec![probe.clone()]);
            let items = resource.list_items(&answer);
            if items.len() == 1
                && items[0] == probe
                && resource
                    .list_total(&answer, &http::HeaderMap::new())
                    .is_none_or(|t| t == 1)
            {
                return shape;
            }
        }
        Self::find_default()
    }

    /// `{"items": […], "total": n}`, for resources the mapping does not define.
    pub(crate) fn find_default() -> Self {
        Self {
            wrapper: None,
            key: Some("items"),
        }
    }

    /// A list answer holding `items`.
    pub(crate) fn answer(self, items: Vec<Value>) -> Value {
        let Some(key) = self.key else {
            return Value::Array(items);
        };
        let total = items.len();
        let mut body = Map::new();
        for total_key in TOTAL_KEYS {
            body.insert(total_key.to_owned(), json!(total));
        }
        body.insert(key.to_owned(), Value::Array(items));
        match self.wrapper {
            Some(wrapper) => json!({ wrapper: body }),
            None => Value::Object(body),
        }
    }
}

#[derive(Debug)]
struct Shared {
    paths: Paths,
    shape: ListShape,
    current: Mutex<Option<Value>>,
    calls: Mutex<Vec<RecordedCall>>,
}

/// A running fake backend; stops when dropped.
#[derive(Debug)]
pub(crate) struct FakeBackend {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeBackend {
    /// Binds `127.0.0.1:0` and serves answers built from `current`.
    pub(crate) async fn start(
        paths: Paths,
        shape: ListShape,
        current: Option<Value>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            paths,
            shape,
            current: Mutex::new(current),
            calls: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Ok(Self { addr, shared, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub(crate) fn calls(&self) -> Vec<RecordedCall> {
        self.shared
            .calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }
}

impl Drop for FakeBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let builder = auto::Builder::new(TokioExecutor::new());
    // Owned here so aborting the accept task ends every connection too.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        };
        let shared = Arc::clone(&shared);
        let service = service_fn(move |req: Request<Incoming>| {
            let shared = Arc::clone(&shared);
            async move { Ok::<_, std::convert::Infallible>(answer(&shared, req).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        connections.spawn(async move {
            let _ = connection.await;
        });
    }
}

async fn answer(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let url = req
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        )
    };
    if let Ok(mut calls) = shared.calls.lock() {
        calls.push(RecordedCall {
            method: method.to_string(),
            url,
            body: body.clone(),
        });
    }
    let Ok(mut current) = shared.current.lock() else {
        return reply(StatusCode::INTERNAL_SERVER_ERROR, None);
    };
    let paths = &shared.paths;
    let is_item = matches(paths.item.as_ref(), &path);
    match method {
        Method::GET if paths.list.as_deref() == Some(path.as_str()) => {
            let items = current.iter().cloned().collect();
            reply(StatusCode::OK, Some(shared.shape.answer(items)))
        }
        Method::GET if matches(paths.members.as_ref(), &path) => {
            reply(StatusCode::OK, Some(shared.shape.answer(Vec::new())))
        }
        Method::GET => match current.as_ref() {
            Some(object) => reply(StatusCode::OK, Some(object.clone())),
            None => reply(StatusCode::NOT_FOUND, Some(json!({"error": "not found"}))),
        },
        Method::POST => {
            let id = current
                .as_ref()
                .and_then(|c| c.get("id"))
                .cloned()
                .unwrap_or_else(|| json!(CREATED_ID));
            let mut created = body.unwrap_or_else(|| json!({}));
            if let Value::Object(fields) = &mut created {
                fields.insert("id".to_owned(), id);
            }
            if paths.create.as_deref() == Some(path.as_str()) {
                *current = Some(created.clone());
            }
            reply(StatusCode::CREATED, Some(created))
        }
        Method::PUT | Method::PATCH => {
            let mut updated = current.clone().unwrap_or_else(|| json!({}));
            if let Some(body) = body {
                merge(&mut updated, body);
            }
            if is_item {
                *current = Some(updated.clone());
            }
            reply(StatusCode::OK, Some(updated))
        }
        Method::DELETE => reply(StatusCode::NO_CONTENT, None),
        _ => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            Some(json!({"error": "method not allowed"})),
        ),
    }
}

/// `body`'s top-level fields written over `target`'s (nulls included: a PUT may clear one).
fn merge(target: &mut Value, body: Value) {
    match (target, body) {
        (Value::Object(target), Value::Object(body)) => target.extend(body),
        (target, body) => *target = body,
    }
}

fn reply(status: StatusCode, body: Option<Value>) -> Response<Full<Bytes>> {
    let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    if status != StatusCode::NO_CONTENT {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    }
    response
}
