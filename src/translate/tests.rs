use http::Method;
use serde_json::{Value, json};

use super::*;

const DEMO: &str = include_str!("../../mappings/demo.yaml");

fn mapping_from(contents: &str) -> Mapping {
    let env = |name: &str| (name == "DEMO_API_KEY").then(|| "secret-key".to_owned());
    crate::mapping::load("demo.yaml", contents, &env).unwrap()
}

fn demo() -> Mapping {
    mapping_from(DEMO)
}

/// The demo mapping with a PATCH `update` call instead of the PUT `replace`.
fn demo_with_update() -> Mapping {
    let contents = DEMO.replacen(
        r#"replace: { method: PUT,    path: "/api/v1/users/{id}" }"#,
        r#"update: { method: PATCH,  path: "/api/v1/users/{id}" }"#,
        1,
    );
    assert_ne!(contents, DEMO, "the replace line moved in demo.yaml");
    mapping_from(&contents)
}

fn request(method: Method, path: &str, body: Option<Value>) -> TranslateRequest {
    TranslateRequest {
        method,
        path: path.to_owned(),
        body,
    }
}

fn current_user() -> Value {
    json!({"id": 17, "username": "a@example.com", "email": "ann@example.org",
           "first_name": "Ann", "last_name": "Lee",
           "display_name": "Ann", "status": "active", "plan": 1, "role": "User",
           "folders": "x", "notes": "keep me"})
}

#[tokio::test]
// userName keeps the case Entra sent (round-trip fidelity: Entra re-PATCHes values that come
// back in another case), so the username reaches the backend as written.
async fn create_posts_the_mapped_body_and_answers_201_with_the_resource() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Min@Example.COM",
        "externalId": "min",
        "name": {"givenName": "Min", "familyName": "Imal"},
        "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName": {"folders": "a, b"}
    });
    let request = request_from_json(body).unwrap();
    let t = translate(demo(), request, None).await.unwrap();
    assert_eq!(t.backend_calls.len(), 1, "{t:?}");
    let call = &t.backend_calls[0];
    assert_eq!(
        (call.method.as_str(), call.url.as_str()),
        ("POST", "/api/v1/users")
    );
    assert_eq!(
        call.body,
        Some(
            json!({"username": "Min@Example.COM", "first_name": "Min", "last_name": "Imal",
                    "status": "active", "plan": 1, "role": "User", "folders": "a,b"})
        )
    );
    assert_eq!(t.status, 201);
    let answer = t.answer.clone().unwrap();
    assert_eq!(answer["id"], "1001");
    assert_eq!(answer["userName"], "Min@Example.COM");
    assert_eq!(answer["externalId"], "min");
    assert_eq!(answer["meta"]["resourceType"], "User");
    let text = render(&t);
    assert!(
        text.starts_with("→ POST /api/v1/users\n  {\n    \"first_name\": \"Min\",\n"),
        "{text}"
    );
    assert!(text.contains("\n← 201 Created\n{\n"), "{text}");
}

#[tokio::test]
async fn entra_patch_reads_once_and_writes_only_the_changed_fields() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "path": "userType", "value": "Premium"},
            {"op": "Replace", "path": "name.givenName", "value": "Ann"},
            {"op": "Add", "path": "preferredLanguage", "value": "en-US"}
        ]
    });
    let t = translate(
        demo_with_update(),
        request(Method::PATCH, "/Users/17", Some(body.clone())),
        Some(current_user()),
    )
    .await
    .unwrap();
    let calls: Vec<(&str, &str)> = t
        .backend_calls
        .iter()
        .map(|c| (c.method.as_str(), c.url.as_str()))
        .collect();
    assert_eq!(
        calls,
        [("GET", "/api/v1/users/17"), ("PATCH", "/api/v1/users/17")]
    );
    assert_eq!(t.backend_calls[0].body, None);
    assert_eq!(
        t.backend_calls[1].body,
        Some(json!({"status": "disabled", "plan": 2}))
    );
    assert_eq!(t.status, 200);
    let answer = t.answer.unwrap();
    assert_eq!(
        (answer["active"].clone(), answer["userType"].clone()),
        (json!(false), json!("Premium"))
    );

    // With only `replace`, the one write is a PUT of the whole object, unmapped fields kept.
    let t = translate(
        demo(),
        request(Method::PATCH, "/Users/17", Some(body)),
        Some(current_user()),
    )
    .await
    .unwrap();
    assert_eq!(t.backend_calls.len(), 2);
    let put = &t.backend_calls[1];
    assert_eq!(
        (put.method.as_str(), put.url.as_str()),
        ("PUT", "/api/v1/users/17")
    );
    let mut expected = current_user();
    expected["status"] = json!("disabled");
    expected["plan"] = json!(2);
    assert_eq!(put.body, Some(expected));
}

#[tokio::test]
async fn a_username_filter_becomes_the_username_list_query() {
    let t = translate(
        demo(),
        request(Method::GET, r#"/Users?filter=userName eq "x""#, None),
        Some(current_user()),
    )
    .await
    .unwrap();
    assert_eq!(t.backend_calls.len(), 1, "{t:?}");
    let call = &t.backend_calls[0];
    assert_eq!(call.method, "GET");
    assert!(call.url.starts_with("/api/v1/users?"), "{}", call.url);
    assert!(
        call.url.split(['?', '&']).any(|p| p == "username=x"),
        "{}",
        call.url
    );
    assert_eq!(t.status, 200);
    // The gateway re-checks the filter on what the backend returns: `a@example.com` ≠ `x`.
    assert_eq!(t.answer.unwrap()["totalResults"], 0);

    // A matching current object is listed (the list answer is shaped for `$.items[*]`).
    let t = translate(
        demo(),
        request(
            Method::GET,
            "/Users?filter=userName+eq+%22A@Example.com%22",
            None,
        ),
        Some(current_user()),
    )
    .await
    .unwrap();
    assert_eq!(t.backend_calls.len(), 1);
    assert!(
        t.backend_calls[0].url.contains("username=A%40Example.com"),
        "{t:?}"
    );
    let answer = t.answer.unwrap();
    assert_eq!(answer["totalResults"], 1, "{answer}");
    assert_eq!(answer["Resources"][0]["id"], "17");
}

#[tokio::test]
async fn an_invalid_user_type_makes_no_backend_call_and_answers_400() {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": "a@example.com", "userType": "Gold"});
    let t = translate(demo(), request(Method::POST, "/Users", Some(body)), None)
        .await
        .unwrap();
    assert!(t.backend_calls.is_empty(), "{t:?}");
    assert_eq!(t.status, 400);
    let answer = t.answer.clone().unwrap();
    assert_eq!(answer["scimType"], "invalidValue");
    assert!(
        answer["detail"].as_str().unwrap().contains("Gold"),
        "{answer}"
    );
    assert!(render(&t).starts_with("(no backend call)\n← 400 Bad Request\n{\n"));
}

#[tokio::test]
async fn delete_renders_exactly_one_delete_call() {
    let t = translate(
        demo(),
        request(Method::DELETE, "/Users/17", None),
        Some(current_user()),
    )
    .await
    .unwrap();
    assert_eq!(render(&t), "→ DELETE /api/v1/users/17\n← 204 No Content\n");
}

#[tokio::test]
async fn reads_without_current_are_404_and_group_members_are_member_calls() {
    let t = translate(demo(), request(Method::GET, "/Users/5", None), None)
        .await
        .unwrap();
    assert_eq!(t.backend_calls.len(), 1);
    assert_eq!(t.status, 404);

    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "Add", "path": "members", "value": [{"value": "5"}]}]});
    let t = translate(
        demo(),
        request(Method::PATCH, "/Groups/3", Some(body)),
        Some(json!({"id": 3, "name": "Sales"})),
    )
    .await
    .unwrap();
    assert_eq!(t.status, 204, "{t:?}");
    let last = t.backend_calls.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.url.as_str(), last.body.clone()),
        (
            "POST",
            "/api/v1/teams/3/members",
            Some(json!({"user_id": 5}))
        )
    );
}

#[tokio::test]
async fn wrong_endpoints_and_methods_are_errors_before_any_run() {
    let e = translate(demo(), request(Method::GET, "/Nope", None), None).await;
    assert!(matches!(e, Err(Error::UnknownEndpoint { .. })));
    let e = translate(demo(), request(Method::PUT, "/Users", None), None).await;
    assert!(matches!(
        e,
        Err(Error::MethodNotAllowed {
            allowed: "GET, POST",
            ..
        })
    ));
}

#[test]
fn list_shapes_follow_the_mapping_and_unset_secrets_get_a_placeholder() {
    let users = demo();
    let shape = ListShape::find(users.users().unwrap());
    assert_eq!(shape.answer(vec![json!(1)])["items"], json!([1]));
    let vars = required_variables("a: ${A}\nb: ${B:-x}\nc: ${C-y} ${D_2}");
    assert_eq!(vars.into_iter().collect::<Vec<_>>(), ["A", "D_2"]);
    let mapping = load_mapping("demo.yaml", DEMO).unwrap();
    assert!(mapping.users().is_some());
}

#[tokio::test]
async fn gateway_ids_link_the_path_id_to_the_current_backend_object() {
    let contents = DEMO.replacen("ids: backend", "ids: gateway", 1);
    assert_ne!(contents, DEMO);
    let scim_id = "2b1c6f0e-0000-4000-8000-000000000001";
    let t = translate(
        mapping_from(&contents),
        request(Method::GET, &format!("/Users/{scim_id}"), None),
        Some(current_user()),
    )
    .await
    .unwrap();
    assert_eq!(t.backend_calls.len(), 1);
    assert_eq!(t.backend_calls[0].url, "/api/v1/users/17");
    assert_eq!(t.status, 200);
    assert_eq!(t.answer.unwrap()["id"], scim_id);
}
