//! `TenantService` over the real engine and the demo mapping, against an in-memory backend
//! (a [`Recorder`] keeping the objects it was given): statuses, `Location`, projection,
//! discovery. No sockets.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::TenantService;
use crate::backend::{Answer, Recorder};
use crate::engine::{Engine, EngineOptions};
use crate::service::{Operation, Resource, ScimCall, ScimService};
use crate::store::{SqliteStore, Store};

const MAPPING: &str = include_str!("../../../mappings/demo.yaml");

/// A backend that keeps what it is sent: POST to a collection creates `{…body, id}`, GET of
/// `collection/id` reads it, GET of a collection lists it (`{items, total}`), PUT/PATCH
/// merge, DELETE removes. Member calls answer 201/204.
fn backend() -> Recorder {
    let mut objects: BTreeMap<String, Value> = BTreeMap::new();
    let mut next = 100;
    Recorder::answering(move |call| {
        let path = call.path().to_owned();
        match call.method {
            Method::POST if path.ends_with("/members") => Answer::created(json!({})),
            Method::POST => {
                next += 1;
                let mut object = call.body.clone().unwrap_or_else(|| json!({}));
                object["id"] = json!(next);
                objects.insert(format!("{path}/{next}"), object.clone());
                Answer::created(object)
            }
            Method::GET => match objects.get(&path) {
                Some(object) => Answer::ok(object.clone()),
                None if path.ends_with("/members")
                    || path
                        .rsplit('/')
                        .next()
                        .is_none_or(|s| s.parse::<u64>().is_err()) =>
                {
                    let items: Vec<Value> = objects
                        .iter()
                        .filter(|(key, _)| key.rsplit_once('/').is_some_and(|(dir, _)| dir == path))
                        .map(|(_, object)| object.clone())
                        .collect();
                    Answer::ok(json!({"total": items.len(), "items": items}))
                }
                None => Answer::json(StatusCode::NOT_FOUND, json!({"error": "not found"})),
            },
            Method::PUT | Method::PATCH => match objects.get_mut(&path) {
                Some(object) => {
                    if let (Some(fields), Some(Value::Object(body))) =
                        (object.as_object_mut(), call.body.clone())
                    {
                        fields.extend(body);
                    }
                    Answer::ok(object.clone())
                }
                None => Answer::json(StatusCode::NOT_FOUND, json!({"error": "not found"})),
            },
            Method::DELETE if objects.remove(&path).is_some() || path.contains("/members/") => {
                Answer::no_content()
            }
            _ => Answer::json(StatusCode::NOT_FOUND, json!({"error": "not found"})),
        }
    })
}

fn service() -> (Arc<Recorder>, TenantService) {
    let env = |name: &str| match name {
        "DEMO_BACKEND_URL" => Some("http://backend.test".to_owned()),
        "DEMO_API_KEY" => Some("k".to_owned()),
        _ => None,
    };
    let mapping = crate::mapping::load("demo.yaml", MAPPING, &env).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let recorder = Arc::new(backend());
    let engine = Engine::new(
        "t",
        Arc::new(mapping),
        Arc::clone(&recorder) as Arc<dyn crate::backend::Backend>,
        store,
        EngineOptions {
            base_url: "https://gw.test/scim/".to_owned(),
            ..EngineOptions::default()
        },
    );
    (recorder, TenantService::new(Arc::new(engine), false, None))
}

fn call(resource: Resource, operation: Operation, id: Option<&str>) -> ScimCall {
    ScimCall {
        tenant: "t".to_owned(),
        resource,
        operation,
        id: id.map(str::to_owned),
        query: Vec::new(),
        body: None,
        principal: "bearer#1".to_owned(),
        request_id: "r1".to_owned(),
        backend_credential: None,
    }
}

fn with_query(mut call: ScimCall, pairs: &[(&str, &str)]) -> ScimCall {
    call.query = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    call
}

fn with_body(mut call: ScimCall, body: Value) -> ScimCall {
    call.body = Some(body);
    call
}

#[tokio::test]
async fn create_is_201_with_location_and_projection_applies_to_gets() {
    let (_backend, service) = service();
    let reply = service
        .call(with_body(
            call(Resource::Users, Operation::Create, None),
            json!({"userName": "a@example.com", "externalId": "x1"}),
        ))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::CREATED);
    let body = reply.body.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.location.as_deref(),
        Some(format!("https://gw.test/scim/Users/{id}").as_str())
    );

    let reply = service
        .call(with_query(
            call(Resource::Users, Operation::Get, Some(&id)),
            &[("attributes", "id")],
        ))
        .await
        .unwrap();
    let body = reply.body.unwrap();
    assert_eq!(body["id"], id.as_str());
    assert!(body.get("userName").is_none(), "{body}");

    let reply = service
        .call(with_query(
            call(Resource::Users, Operation::List, None),
            &[
                ("filter", "externalId eq \"x1\""),
                ("excludedAttributes", "emails"),
            ],
        ))
        .await
        .unwrap();
    let body = reply.body.unwrap();
    assert_eq!(body["totalResults"], 1);
    assert!(body["Resources"][0].get("emails").is_none());
    assert_eq!(body["Resources"][0]["userName"], "a@example.com");
}

#[tokio::test]
async fn group_patch_is_204_and_delete_is_204() {
    let (_backend, service) = service();
    let reply = service
        .call(with_body(
            call(Resource::Groups, Operation::Create, None),
            json!({"displayName": "Sales"}),
        ))
        .await
        .unwrap();
    let id = reply.body.unwrap()["id"].as_str().unwrap().to_owned();
    let reply = service
        .call(with_body(
            call(Resource::Groups, Operation::Patch, Some(&id)),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "Add", "path": "members", "value": [{"value": "1"}]}]}),
        ))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_none());
    let reply = service
        .call(call(Resource::Groups, Operation::Delete, Some(&id)))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let error = service
        .call(call(Resource::Groups, Operation::Get, Some(&id)))
        .await
        .unwrap_err();
    assert_eq!(error.status, 404);
}

#[tokio::test]
async fn discovery_comes_from_the_mapping() {
    let (_backend, service) = service();
    let spc = service
        .call(call(Resource::ServiceProviderConfig, Operation::Get, None))
        .await
        .unwrap()
        .body
        .unwrap();
    assert_eq!(spc["patch"]["supported"], true);
    let types = service
        .call(call(Resource::ResourceTypes, Operation::List, None))
        .await
        .unwrap()
        .body
        .unwrap();
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    let schemas = service
        .call(call(Resource::Schemas, Operation::List, None))
        .await
        .unwrap()
        .body
        .unwrap();
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName"));
    let error = service
        .call(call(Resource::Schemas, Operation::Get, Some("urn:nope")))
        .await
        .unwrap_err();
    assert_eq!(error.status, 404);
}

#[tokio::test]
async fn bad_input_is_a_scim_400() {
    let (backend, service) = service();
    let error = service
        .call(call(Resource::Users, Operation::Create, None))
        .await
        .unwrap_err();
    assert_eq!(error.status, 400);
    let error = service
        .call(with_query(
            call(Resource::Users, Operation::List, None),
            &[("filter", "userName eq")],
        ))
        .await
        .unwrap_err();
    assert_eq!(error.status, 400);
    assert_eq!(error.scim_type, Some(crate::scim::ScimType::InvalidFilter));
    assert!(backend.calls().is_empty(), "{:?}", backend.lines());
}
