//! The demo API's request handling: counting and faulting each `/api/...` request, checking the
//! API key, and running the users, teams and members endpoints against the database.
//!
//! Shapes of replies live in `reply`, records and rules in `db`. Must not hold a lock across an
//! `.await`: bodies are read before the database is locked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::body::DemoBody;
use super::db::{Db, Page, UserSearch};
use super::error::Error;
use super::faults::{Control, FaultMode};
use super::model::Status;
use super::quirks;
use super::reply::{
    Reply, created, error_reply, json, json_type, list, no_content, ok, with_json_type,
};
use super::router::Route;

/// The largest request body the demo reads.
const MAX_BODY: usize = 1024 * 1024;
/// The page size when the client gives none.
const DEFAULT_LIMIT: usize = 50;
/// The largest page the API hands out; larger requests are clamped.
const MAX_LIMIT: usize = 200;
/// The largest page of a team's member list (as real APIs cap member lists lower).
const MAX_MEMBER_LIMIT: usize = 100;
/// The key of unmatched paths in the call counts.
const UNMATCHED: &str = "(unmatched)";
/// The body of a `garbage` fault: what a misconfigured proxy in front of a backend sends.
const GARBAGE: &str = "<html><body><h1>Service Temporarily Unavailable</h1></body></html>";

/// What every connection of one demo server shares.
pub(crate) struct Shared {
    pub(crate) db: RwLock<Db>,
    pub(crate) control: Mutex<Control>,
    pub(crate) api_key: String,
}

impl std::fmt::Debug for Shared {
    // Hand-written so the API key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("api_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Reads the database; a panic elsewhere while it was locked leaves it usable.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Db> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the database.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Db> {
        self.db.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The call counters and fault queue.
    pub(crate) fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returned instead of a response to make hyper close the connection (the `drop` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub(crate) struct Dropped;

/// Handles one non-admin request: count it, carry out a matching fault, else answer it.
pub(crate) async fn api(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Reply, Dropped> {
    let route = Route::resolve(req.uri().path());
    let template = route.map_or(UNMATCHED, Route::template);
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), ToString::to_string);
    let fault = {
        let mut control = shared.control();
        control.remember(req.method().as_str(), &target);
        control.record(req.method().as_str(), template)
    };
    let Some(fault) = fault else {
        return Ok(respond(&shared, route, req).await);
    };
    tracing::debug!(mode = ?fault.mode, template, "Injecting a fault.");
    if let Some(ms) = fault.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match fault.mode {
        FaultMode::Delay => Ok(respond(&shared, route, req).await),
        FaultMode::Status => {
            let status = fault
                .status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut reply = match &fault.body {
                Some(body) => json(status, body),
                None => error_reply(status, fault.message.as_deref().unwrap_or("injected")),
            };
            if let Some(secs) = fault.retry_after {
                reply
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Ok(reply)
        }
        FaultMode::Drop => Err(Dropped),
        FaultMode::Garbage => Ok(with_json_type(Response::new(DemoBody::full(GARBAGE)))),
        FaultMode::Truncate => Ok(truncate(respond(&shared, route, req).await).await),
    }
}

/// Re-sends a complete reply cut in half, with a `Content-Length` for the whole of it. A 204
/// becomes a 200 with a small body, since a 204 has nothing to cut.
async fn truncate(reply: Reply) -> Reply {
    let (mut parts, body) = reply.into_parts();
    let mut bytes = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    if bytes.is_empty() {
        parts.status = StatusCode::OK;
        bytes = Bytes::from_static(br#"{"ok":true}"#);
        parts.headers.insert(header::CONTENT_TYPE, json_type());
    }
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let head = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, DemoBody::truncated(head))
}

async fn respond(shared: &Shared, route: Option<Route>, req: Request<Incoming>) -> Reply {
    let quirks = shared.read().quirks();
    let reply = match handle(shared, route, req).await {
        Ok(reply) => reply,
        Err(error) if quirks.error_codes => {
            let (status, body) = quirks::coded(&error);
            json(status, &body)
        }
        Err(error) => error_reply(error.status(), &error.to_string()),
    };
    let reply = if quirks.summaries {
        summarize(reply).await
    } else {
        reply
    };
    if quirks.total_header {
        total_to_header(reply).await
    } else {
        reply
    }
}

/// Leaves the free-text fields out of a list answer's items (the `summaries` quirk).
async fn summarize(reply: Reply) -> Reply {
    if reply.status() != StatusCode::OK
        || reply.headers().get(header::CONTENT_TYPE) != Some(&json_type())
    {
        return reply;
    }
    let (parts, body) = reply.into_parts();
    let bytes = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let mut value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let Some(items) = value.get_mut("items").and_then(Value::as_array_mut) else {
        return Response::from_parts(parts, DemoBody::full(bytes));
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        for key in quirks::SUMMARY_OMITS {
            item.remove(key);
        }
    }
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    Response::from_parts(parts, DemoBody::full(bytes))
}

/// Moves a list answer's `total` into the `X-Total-Count` header (the `total_header` quirk).
async fn total_to_header(reply: Reply) -> Reply {
    let is_list = reply.status() == StatusCode::OK
        && reply.headers().get(quirks::TOTAL_HEADER).is_none()
        && reply.headers().get(header::CONTENT_TYPE) == Some(&json_type());
    if !is_list {
        return reply;
    }
    let (mut parts, body) = reply.into_parts();
    let bytes = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let mut value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let total = match value.as_object_mut() {
        Some(map) if map.contains_key("items") => map.remove("total"),
        _ => None,
    };
    let Some(total) = total else {
        return Response::from_parts(parts, DemoBody::full(bytes));
    };
    if let Some(n) = total.as_u64() {
        parts
            .headers
            .insert(quirks::TOTAL_HEADER, HeaderValue::from(n));
    }
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    Response::from_parts(parts, DemoBody::full(bytes))
}

async fn handle(
    shared: &Shared,
    route: Option<Route>,
    req: Request<Incoming>,
) -> Result<Reply, Error> {
    // Only the API is behind the key; anything else is simply not there.
    if route.is_none() && !req.uri().path().starts_with("/api/") {
        return Err(Error::NoRoute(req.uri().path().to_owned()));
    }
    let authorised = req
        .headers()
        .get("x-api-key")
        .is_some_and(|key| key.as_bytes() == shared.api_key.as_bytes());
    if !authorised {
        return Err(Error::Unauthorized);
    }
    let route = route.ok_or_else(|| Error::NoRoute(req.uri().path().to_owned()))?;
    let method = req.method().clone();
    if !route.methods().contains(&method.as_str()) {
        return Err(Error::MethodNotAllowed(method.to_string()));
    }
    let query = query(&req);
    let body = if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
        json_object(req.into_body()).await?
    } else {
        Map::new()
    };
    match route {
        Route::Users => users(shared, &method, &query, &body),
        Route::User(id) => user(shared, &method, id, &body),
        Route::Teams => teams(shared, &method, &query, &body),
        Route::Team(id) => team(shared, &method, id, &body),
        Route::Members(team) => members(shared, &method, team, &query, &body),
        Route::Member(team, user) => {
            let team = team.ok_or(Error::NotFound("team"))?;
            let mut db = shared.write();
            match user {
                Some(user) => db.remove_member(team, user)?,
                None if db.team(team).is_none() => return Err(Error::NotFound("team")),
                None => {}
            }
            Ok(no_content())
        }
    }
}

fn users(
    shared: &Shared,
    method: &Method,
    query: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> Result<Reply, Error> {
    if *method == Method::POST {
        let mut db = shared.write();
        let user = db.create_user(body)?;
        return Ok(created(&format!("/api/v1/users/{}", user.id), user));
    }
    let (offset, limit) = paging(query)?;
    let search = user_search(query)?;
    let db = shared.read();
    let page = db.search_users(&search, offset, limit);
    Ok(list(page, offset, limit))
}

fn user(
    shared: &Shared,
    method: &Method,
    id: Option<u64>,
    body: &Map<String, Value>,
) -> Result<Reply, Error> {
    let id = id.ok_or(Error::NotFound("user"))?;
    let reply = match *method {
        Method::GET => ok(shared.read().user(id).ok_or(Error::NotFound("user"))?),
        Method::PUT => ok(shared.write().replace_user(id, body)?),
        Method::PATCH => ok(shared.write().patch_user(id, body)?),
        _ => {
            shared.write().delete_user(id)?;
            no_content()
        }
    };
    Ok(reply)
}

fn teams(
    shared: &Shared,
    method: &Method,
    query: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> Result<Reply, Error> {
    if *method == Method::POST {
        let mut db = shared.write();
        let team = db.create_team(body)?;
        return Ok(created(&format!("/api/v1/teams/{}", team.id), &team.view()));
    }
    let (offset, limit) = paging(query)?;
    let db = shared.read();
    let page = db.list_teams(query.get("name").map(String::as_str), offset, limit);
    let views = Page {
        items: page.items.into_iter().map(|t| t.view()).collect(),
        total: page.total,
    };
    Ok(list(views, offset, limit))
}

fn team(
    shared: &Shared,
    method: &Method,
    id: Option<u64>,
    body: &Map<String, Value>,
) -> Result<Reply, Error> {
    let id = id.ok_or(Error::NotFound("team"))?;
    let reply = match *method {
        Method::GET => ok(&shared
            .read()
            .team(id)
            .ok_or(Error::NotFound("team"))?
            .view()),
        Method::PUT => ok(&shared.write().replace_team(id, body)?.view()),
        Method::PATCH => ok(&shared.write().patch_team(id, body)?.view()),
        _ => {
            shared.write().delete_team(id)?;
            no_content()
        }
    };
    Ok(reply)
}

/// One entry of a member list.
#[derive(Serialize)]
struct Member {
    user_id: u64,
}

fn members(
    shared: &Shared,
    method: &Method,
    team: Option<u64>,
    query: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> Result<Reply, Error> {
    let team = team.ok_or(Error::NotFound("team"))?;
    if *method == Method::POST {
        let user = match body.get("user_id") {
            None | Some(Value::Null) => return Err(Error::invalid("user_id is required")),
            Some(value) => value
                .as_u64()
                .ok_or_else(|| Error::invalid("user_id must be an integer"))?,
        };
        shared.write().add_member(team, user)?;
        return Ok(no_content());
    }
    let (offset, limit) = paging(query)?;
    let limit = limit.min(MAX_MEMBER_LIMIT);
    let user = match query.get("user_id") {
        None => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| Error::invalid("user_id must be an integer"))?,
        ),
    };
    let page = shared.read().members(team, user, offset, limit)?;
    let page = Page {
        items: page
            .items
            .into_iter()
            .map(|user_id| Member { user_id })
            .collect(),
        total: page.total,
    };
    Ok(list(page, offset, limit))
}

// ----- request parts -----

/// The searches of a user list call (see [`UserSearch`]); a malformed status or timestamp is 400.
fn user_search(query: &HashMap<String, String>) -> Result<UserSearch, Error> {
    let text = |key: &str| query.get(key).cloned();
    let status = match query.get("status") {
        None => None,
        Some(text) => Some(
            Status::parse(text)
                .ok_or_else(|| Error::invalid("status must be active or disabled"))?,
        ),
    };
    let created_after = match query.get("created_after") {
        None => None,
        Some(text) => Some(OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
            Error::invalid("created_after must be an RFC 3339 timestamp (2026-01-31T12:00:00Z)")
        })?),
    };
    Ok(UserSearch {
        username: text("username"),
        username_prefix: text("username_prefix"),
        email: text("email"),
        email_contains: text("email_contains"),
        display_name: text("display_name"),
        last_name: text("last_name"),
        created_after,
        status,
    })
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    let raw = req.uri().query().unwrap_or("");
    url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

/// `offset` (default 0) and `limit` (default 50, clamped to 200) from the query.
fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), Error> {
    let number = |key: &str, default: usize| match query.get(key) {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| Error::invalid(format!("{key} must be a non-negative integer"))),
    };
    Ok((
        number("offset", 0)?,
        number("limit", DEFAULT_LIMIT)?.min(MAX_LIMIT),
    ))
}

/// Reads a request body (at most 1 MiB) as JSON.
pub(crate) async fn json_value(body: Incoming) -> Result<Value, Error> {
    let bytes = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|_| Error::BodyTooLarge)?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| Error::Json(e.to_string()))
}

async fn json_object(body: Incoming) -> Result<Map<String, Value>, Error> {
    match json_value(body).await? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::invalid("body must be a JSON object")),
    }
}
