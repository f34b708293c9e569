//! Engine unit tests on the in-memory [`Recorder`]: the real engine behind `TenantService`,
//! no sockets. They pin call counts, write order and the undo of landed calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Engine, EngineOptions, TenantService};
use crate::backend::{Answer, Backend, Recorder};
use crate::service::{Operation, Resource, ScimCall, ScimService};
use crate::store::{SqliteStore, Store};

const MAPPING: &str = include_str!("../../mappings/demo.yaml");

fn service(recorder: Arc<Recorder>) -> TenantService {
    let env = |name: &str| match name {
        "DEMO_BACKEND_URL" => Some("http://backend.test".to_owned()),
        "DEMO_API_KEY" => Some("k".to_owned()),
        _ => None,
    };
    let mapping = crate::mapping::load("demo.yaml", MAPPING, &env).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Engine::new(
        "t",
        Arc::new(mapping),
        recorder,
        store,
        EngineOptions::default(),
    );
    TenantService::new(Arc::new(engine), false, None)
}

fn call(
    resource: Resource,
    operation: Operation,
    id: Option<&str>,
    body: Option<Value>,
) -> ScimCall {
    ScimCall {
        tenant: "t".to_owned(),
        resource,
        operation,
        id: id.map(str::to_owned),
        query: Vec::new(),
        body,
        principal: "bearer#1".to_owned(),
        request_id: "r1".to_owned(),
        backend_credential: None,
    }
}

/// The value of `name` in a recorded path's query.
fn query_number(path_and_query: &str, name: &str) -> usize {
    path_and_query
        .split_once('?')
        .map_or("", |(_, query)| query)
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn create_is_one_backend_call() {
    let recorder = Arc::new(Recorder::new().on(
        Method::POST,
        "/api/v1/users",
        Answer::created(json!({"id": 7, "username": "a@example.com"})),
    ));
    let service = service(Arc::clone(&recorder));
    let reply = service
        .call(call(
            Resource::Users,
            Operation::Create,
            None,
            Some(json!({"userName": "a@example.com"})),
        ))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body.unwrap()["id"], "7");
    assert_eq!(recorder.lines(), ["POST /api/v1/users"]);
    assert_eq!(
        recorder.calls()[0].body.as_ref().unwrap()["username"],
        "a@example.com"
    );
}

#[tokio::test]
async fn a_list_reads_every_backend_page_it_needs() {
    const TOTAL: usize = 450;
    let recorder = Arc::new(Recorder::answering(|call| {
        let offset = query_number(&call.path_and_query, "offset");
        let limit = query_number(&call.path_and_query, "limit");
        let items: Vec<Value> = (offset..TOTAL.min(offset + limit))
            .map(|n| json!({"id": n + 1, "username": format!("u{n}@example.com")}))
            .collect();
        Answer::ok(json!({"items": items, "total": TOTAL}))
    }));
    let service = service(Arc::clone(&recorder));
    let mut list = call(Resource::Users, Operation::List, None, None);
    list.query = vec![("count".to_owned(), TOTAL.to_string())];
    let reply = service.call(list).await.unwrap();
    let body = reply.body.unwrap();
    assert_eq!(body["totalResults"], TOTAL);
    assert_eq!(body["Resources"].as_array().map(Vec::len), Some(TOTAL));
    // max_page_size is 200: 450 resources are 3 backend pages, read in order.
    let offsets: Vec<usize> = recorder
        .calls()
        .iter()
        .map(|c| query_number(&c.path_and_query, "offset"))
        .collect();
    assert_eq!(offsets, [0, 200, 400], "{:?}", recorder.lines());
    assert_eq!(recorder.calls_made(), 3);
}

#[tokio::test]
async fn a_failed_member_add_undoes_the_adds_that_landed() {
    let adds = AtomicU32::new(0);
    let recorder = Arc::new(Recorder::answering(move |call| {
        match (&call.method, call.path()) {
            (&Method::GET, "/api/v1/teams/5/members") => {
                Answer::ok(json!({"items": [], "total": 0}))
            }
            (&Method::GET, "/api/v1/teams/5") => Answer::ok(json!({"id": 5, "name": "Sales"})),
            (&Method::GET, path) if path.starts_with("/api/v1/users/") => {
                let id = path.trim_start_matches("/api/v1/users/");
                Answer::ok(json!({"id": id, "username": format!("{id}@example.com")}))
            }
            (&Method::POST, "/api/v1/teams/5/members") => {
                if adds.fetch_add(1, Ordering::Relaxed) == 0 {
                    Answer::created(json!({"ok": true}))
                } else {
                    Answer::json(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "boom"}))
                }
            }
            (&Method::DELETE, _) => Answer::no_content(),
            _ => Answer::json(StatusCode::NOT_FOUND, json!({"error": "not found"})),
        }
    }));
    let service = service(Arc::clone(&recorder));
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members",
                        "value": [{"value": "1"}, {"value": "2"}]}]
    });
    let result = service
        .call(call(
            Resource::Groups,
            Operation::Patch,
            Some("5"),
            Some(patch),
        ))
        .await;
    assert!(
        result.is_err(),
        "the second add failed: the PATCH must fail"
    );
    let writes: Vec<String> = recorder
        .writes()
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c.method,
                c.path(),
                c.body.clone().unwrap_or(Value::Null)
            )
        })
        .collect();
    assert_eq!(
        writes,
        [
            "POST /api/v1/teams/5/members {\"user_id\":1}",
            "POST /api/v1/teams/5/members {\"user_id\":2}",
            "DELETE /api/v1/teams/5/members/1 null",
        ],
        "{:?}",
        recorder.lines()
    );
    // The member list was read before the first write (so every undo is exact).
    let lines = recorder.lines();
    let read = lines
        .iter()
        .position(|l| l.starts_with("GET /api/v1/teams/5/members"));
    let first_write = lines.iter().position(|l| l.starts_with("POST"));
    assert!(read < first_write, "{lines:?}");
}
