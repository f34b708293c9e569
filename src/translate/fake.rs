//! The answers of a dry run's backend: a [`Recorder`] (in memory, no socket) that records every
//! request (method, path and query, JSON body) and answers plausibly from one "current" backend
//! object, so the real engine can run one SCIM operation end to end without the real backend.
//!
//! Answers: GET of the resource's list path → a list holding the current object (or none),
//! shaped so the mapping's `items` / `total` JSONPaths read it ([`ListShape`]); GET of a
//! member list → an empty list; any other GET → the current object, or 404
//! `{"error":"not found"}`; POST → the body merged with `{"id": <current id or 1001>}`;
//! PUT/PATCH → the current object merged with the body; DELETE → 204. A successful create,
//! replace or update becomes the new current object, so a re-read sees it.
//! Must not: do I/O, or know SCIM.

use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::backend::{self, Answer, Recorder};
use crate::mapping::{OpName, ResourceMapping, Vars};

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

/// The recorder of a dry run: every call is recorded and answered from `current` (see the
/// module docs); a successful create, replace or update becomes the new current object.
pub(crate) fn recorder(paths: Paths, shape: ListShape, current: Option<Value>) -> Recorder {
    let mut current = current;
    Recorder::answering(move |call| answer(&paths, shape, &mut current, call))
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
    call: &backend::RecordedCall,
) -> Answer {
    let path = call.path();
    let is_item = matches(paths.item.as_ref(), path);
    match call.method {
        Method::GET if paths.list.as_deref() == Some(path) => {
            let items = current.iter().cloned().collect();
            Answer::ok(shape.answer(items))
        }
        Method::GET if matches(paths.members.as_ref(), path) => {
            Answer::ok(shape.answer(Vec::new()))
        }
        Method::GET => match current.as_ref() {
            Some(object) => Answer::ok(object.clone()),
            None => Answer::json(StatusCode::NOT_FOUND, json!({"error": "not found"})),
        },
        Method::POST => {
            let id = current
                .as_ref()
                .and_then(|c| c.get("id"))
                .cloned()
                .unwrap_or_else(|| json!(CREATED_ID));
            let mut created = call.body.clone().unwrap_or_else(|| json!({}));
            if let Value::Object(fields) = &mut created {
                fields.insert("id".to_owned(), id);
            }
            if paths.create.as_deref() == Some(path) {
                *current = Some(created.clone());
            }
            Answer::created(created)
        }
        Method::PUT | Method::PATCH => {
            let mut updated = current.clone().unwrap_or_else(|| json!({}));
            if let Some(body) = call.body.clone() {
                merge(&mut updated, body);
            }
            if is_item {
                *current = Some(updated.clone());
            }
            Answer::ok(updated)
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
