//! The answers of a dry run's backend: a [`Recorder`] (in memory, no socket) that records every
//! request (method, path and query, JSON body) and answers plausibly from one "current" backend
//! object, so the real engine can run one SCIM operation end to end without the real backend.
//!
//! Answers: GET of the resource's list path → a list holding the current object (or none),
//! shaped so the mapping's `items` / `total` JSONPaths read it ([`ListShape`]); the member
//! list (`members.list`) → the given members answer (a mapping `tests:` case's `members`), else an
//! empty list; any other GET → the current object, or 404
//! `{"error":"not found"}`; POST → the body merged with `{"id": <current id or 1001>}` (a
//! create also with `Location: <path>/<id>`); PUT/PATCH → the current object merged with the
//! body; DELETE → 204. A successful create, replace or update becomes the new current object,
//! so a re-read sees it. Where the mapping reads an operation's answer inside a key
//! (`answer: "$.user"`), the answer is wrapped in it, and a request body wrapped the same way
//! is unwrapped before it is merged.
//! Must not: do I/O, or know SCIM.

use http::{Method, StatusCode};
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::backend::{self, Answer, Recorder};
use crate::mapping::{OpName, ResourceMapping, Vars};
use crate::scim::ResourceKind;

/// The id a created object gets when no `--current` object names one.
const CREATED_ID: u64 = 1001;

/// A marker rendered into `{id}` to turn a path template into a prefix/suffix pattern.
const ID_MARKER: &str = "scimgate-translate-id";

/// One request the dry run's backend received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// HTTP method.
    pub method: String,
    /// Path and query exactly as sent, relative to the backend's base URL.
    pub url: String,
    /// The body: JSON when it parses, else the text; `None` when empty.
    pub body: Option<Value>,
}

/// Where the resource lives on the backend, rendered from the mapping's templates, and how
/// its answers are wrapped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Paths {
    create: Option<String>,
    list: Option<String>,
    item: Option<(String, String)>,
    /// The resource type these paths are of.
    kind: Option<ResourceKind>,
    /// Per operation, the key its answer is wrapped in (`answer: "$.user"`).
    wrappers: Vec<(OpName, &'static str)>,
}

/// Keys a backend commonly wraps a single resource in.
const ANSWER_KEYS: [&str; 9] = [
    "user", "group", "team", "data", "result", "response", "item", "record", "resource",
];

impl Paths {
    /// The paths of `resource`'s create, list, get and member-list calls, rendered with the
    /// connection's `variables`.
    pub(crate) fn of(resource: &ResourceMapping, variables: &BTreeMap<String, String>) -> Self {
        let vars = Vars::new()
            .with_connection(variables)
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
            kind: Some(resource.kind()),
            wrappers: wrappers(resource),
        }
    }

    /// A request body wrapped in the key the operation's answer uses (`{"user": {…}}`), as the
    /// plain object; any other body as it is.
    fn unwrap_body(&self, operation: &str, body: Value) -> Value {
        let name = operation
            .split_once('.')
            .and_then(|(_, name)| OpName::parse(name));
        let key = self
            .wrappers
            .iter()
            .find(|(op, _)| Some(*op) == name)
            .or_else(|| self.wrappers.iter().find(|(op, _)| *op == OpName::Get))
            .map(|(_, key)| *key);
        match (key, body) {
            (Some(key), Value::Object(mut fields))
                if fields.len() == 1 && fields.contains_key(key) =>
            {
                fields.remove(key).unwrap_or(Value::Null)
            }
            (_, body) => body,
        }
    }

    /// `object` as the backend answers `operation` with it (wrapped where the mapping unwraps).
    fn wrap(&self, operation: &str, object: Value) -> Value {
        let name = operation
            .split_once('.')
            .and_then(|(_, name)| OpName::parse(name));
        match self.wrappers.iter().find(|(op, _)| Some(*op) == name) {
            Some((_, key)) => json!({ *key: object }),
            None => object,
        }
    }
}

/// The operations whose answer the mapping reads inside a wrapper key, found by probing.
fn wrappers(resource: &ResourceMapping) -> Vec<(OpName, &'static str)> {
    let probe = json!({"scimgate_probe": true});
    OpName::ALL
        .iter()
        .filter(|op| resource.unwrap_answer(**op, probe.clone()).as_ref() != Some(&probe))
        .filter_map(|op| {
            ANSWER_KEYS
                .iter()
                .find(|key| {
                    resource
                        .unwrap_answer(*op, json!({ **key: probe.clone() }))
                        .as_ref()
                        == Some(&probe)
                })
                .map(|key| (*op, *key))
        })
        .collect()
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
        for shape in Self::candidates() {
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

    /// Every common shape, a bare array first.
    fn candidates() -> impl Iterator<Item = Self> {
        std::iter::once(Self {
            wrapper: None,
            key: None,
        })
        .chain(WRAPPERS.iter().flat_map(|wrapper| {
            ITEM_KEYS.iter().map(|key| Self {
                wrapper: *wrapper,
                key: Some(key),
            })
        }))
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

/// The recorder of a dry run: every call is recorded and answered from `current` (see the
/// module docs); a successful create, replace or update becomes the new current object.
pub(crate) fn recorder(
    paths: Paths,
    shape: ListShape,
    current: Option<Value>,
    members: Option<Value>,
) -> Recorder {
    let mut current = current;
    Recorder::answering(move |call| answer(&paths, shape, &mut current, members.as_ref(), call))
}

/// The recorder's calls as the dry run reports them.
pub(crate) fn calls(recorder: &Recorder) -> Vec<RecordedCall> {
    recorder
        .calls()
        .into_iter()
        .map(|call| RecordedCall {
            method: call.method.to_string(),
            url: call.path_and_query,
            body: call.body,
        })
        .collect()
}

fn answer(
    paths: &Paths,
    shape: ListShape,
    current: &mut Option<Value>,
    members: Option<&Value>,
    call: &backend::RecordedCall,
) -> Answer {
    let path = call.path();
    let is_item = matches(paths.item.as_ref(), path);
    match call.method {
        // By the operation first: a member list may share its path with the get (Redmine's
        // `/groups/{id}.json?include=users`).
        Method::GET if call.operation.ends_with(".members.list") => match members {
            Some(answer) => Answer::ok(answer.clone()),
            None => Answer::ok(shape.answer(Vec::new())),
        },
        // A member looked up by a group's case (the member resource is another type): it
        // exists.
        Method::GET if call.operation == "users.get" && paths.kind != Some(ResourceKind::User) => {
            let id = path.rsplit('/').next().unwrap_or_default();
            let id = id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n));
            Answer::ok(json!({ "id": id }))
        }
        Method::GET if paths.list.as_deref() == Some(path) => {
            let items = current.iter().cloned().collect();
            Answer::ok(shape.answer(items))
        }
        Method::GET => match current.as_ref() {
            Some(object) => Answer::ok(paths.wrap(&call.operation, object.clone())),
            None => Answer::json(StatusCode::NOT_FOUND, json!({"error": "not found"})),
        },
        Method::POST => {
            let id = current
                .as_ref()
                .and_then(|c| c.get("id"))
                .cloned()
                .unwrap_or_else(|| json!(CREATED_ID));
            let is_create = paths.create.as_deref() == Some(path);
            let mut created = call.body.clone().unwrap_or_else(|| json!({}));
            if is_create {
                // The body as the mapping wrote it (`body: { user: "$object" }`), unwrapped.
                created = paths.unwrap_body(&call.operation, created);
            }
            if let Value::Object(fields) = &mut created {
                fields.insert("id".to_owned(), id.clone());
            }
            if !is_create {
                return Answer::created(created);
            }
            *current = Some(created.clone());
            let location = format!(
                "{path}/{}",
                id.as_str().map_or(id.to_string(), str::to_owned)
            );
            let answer = Answer::created(paths.wrap(&call.operation, created));
            match http::HeaderValue::from_str(&location) {
                Ok(value) => answer.with_header(http::header::LOCATION, value),
                Err(_) => answer,
            }
        }
        Method::PUT | Method::PATCH => {
            let mut updated = current.clone().unwrap_or_else(|| json!({}));
            if let Some(body) = call.body.clone() {
                merge(&mut updated, paths.unwrap_body(&call.operation, body));
            }
            if is_item {
                *current = Some(updated.clone());
            }
            Answer::ok(paths.wrap(&call.operation, updated))
        }
        Method::DELETE => Answer::no_content(),
        _ => Answer::json(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "method not allowed"}),
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

/// Keys a member list item commonly names its member by.
const MEMBER_KEYS: [&str; 7] = [
    "user_id",
    "id",
    "user",
    "member_id",
    "userId",
    "principal_id",
    "value",
];

/// A `members.list` answer holding exactly the members `ids`, shaped so the mapping reads
/// them back (probing common item and list shapes); `None` when no common shape fits.
pub(crate) fn member_list_answer(resource: &ResourceMapping, ids: &[String]) -> Option<Value> {
    let value = |id: &str| id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n));
    MEMBER_KEYS.iter().find_map(|key| {
        let items: Vec<Value> = ids.iter().map(|id| json!({ *key: value(id) })).collect();
        ListShape::candidates().find_map(|shape| {
            let answer = shape.answer(items.clone());
            (resource.member_ids(&answer) == ids).then_some(answer)
        })
    })
}
