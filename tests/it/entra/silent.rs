//! Issue 12, item 2: nothing is dropped in silence. Each case gets a 201/200 that keeps what was
//! sent, or a 4xx naming the problem; over HTTPS against the example API behind the gateway.
//!
//! Written to hold both for the demo mapping that writes `userName` into `email` and for one
//! with a separate login (`username`): cases that need one field written from two attributes
//! use a mapping written here.

use serde_json::{Value, json};

use super::support::{
    CORE_USER, CUSTOM, ENTERPRISE, Flag, Gateway, Options, gateway, gateway_with, id_of, numeric,
    unique,
};

/// A lower-case email no other test uses.
fn unique_email(prefix: &str) -> String {
    format!("{}@example.com", unique(prefix)).to_lowercase()
}

/// The user body Entra posts (tutorial "Create User"), its work email the userName: valid for
/// a mapping that writes both into one field and for one that keeps them apart.
fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [CORE_USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": []
    })
}

/// A mapping for the example API in which `userName` and the work email both write `email`,
/// with `active` given as a YAML flow mapping.
fn shared_email_mapping(active: &str) -> String {
    format!(
        r#"version: 1
backend:
  base_url: "${{DEMO_BACKEND_URL}}"
  auth:
    api_key: {{ header: X-Api-Key, value: "${{DEMO_API_KEY}}" }}
ids: backend
users:
  id: "$.id"
  operations:
    create:  {{ method: POST,   path: /api/v1/users }}
    get:     {{ method: GET,    path: "/api/v1/users/{{id}}" }}
    list:
      method: GET
      path: /api/v1/users
      query: {{ offset: "{{offset}}", limit: "{{count}}" }}
      items: "$.items[*]"
      total: "$.total"
    replace: {{ method: PUT,    path: "/api/v1/users/{{id}}" }}
    delete:  {{ method: DELETE, path: "/api/v1/users/{{id}}" }}
  attributes:
    userName: {{ path: "$.email", required: true }}
    'emails[type eq "work"].value': {{ path: "$.email", primary: true }}
    name.givenName: "$.first_name"
    name.familyName: "$.last_name"
    active: {active}
    # The example API's login: a unique value it accepts, whether it has a `username` field or
    # ignores one (the cases here are about `email`).
    externalId: "$.username"
  filters:
    - {{ when: 'userName eq {{v}}', query: {{ email: "{{v}}" }} }}
"#
    )
}

/// The user body Entra posts, with `roles` replaced.
fn with_roles(user_name: &str, roles: Value) -> Value {
    let mut body = entra_user(user_name, &unique("ext"));
    body["roles"] = roles;
    body
}

/// The example API's own PATCH, behind the gateway's back (the product changing a user).
async fn backend_patch(gw: &Gateway, id: &str, body: &Value) {
    let status = reqwest::Client::new()
        .patch(format!("{}/api/v1/users/{id}", gw.demo.base_url()))
        .header("X-Api-Key", gw.demo.api_key())
        .json(body)
        .send()
        .await
        .expect("the example API answers")
        .status();
    assert!(status.is_success(), "backend PATCH answered {status}");
}

/// A `split:` field given as `[{"value": …}]` (the README's shape, and what Entra sends for a
/// `Split()` expression) is taken on POST and on PUT; it was a 400 before.
#[tokio::test]
async fn issue_12_split_field_takes_value_objects_on_post_and_put() {
    let gw = gateway().await;
    let user_name = unique_email("split");
    let mut body = entra_user(&user_name, &unique("ext"));
    body["schemas"] = json!([CORE_USER, ENTERPRISE, CUSTOM]);
    body[CUSTOM] = json!({"folders": [{"value": "Sales"}, {"value": " Travel"}]});
    let created = gw.post("/Users", Flag::Off, &body).await.expect(201);
    let id = id_of(&created);
    assert_eq!(created[CUSTOM]["folders"], json!(["Sales", "Travel"]));
    assert_eq!(gw.backend_user(&id)["folders"], "Sales,Travel");

    body[CUSTOM] = json!({"folders": [{"value": "Legal"}]});
    let replaced = gw
        .send_json("PUT", &format!("/Users/{id}"), Flag::Off, &body)
        .await
        .expect(200);
    assert_eq!(replaced[CUSTOM]["folders"], json!(["Legal"]));
    assert_eq!(gw.backend_user(&id)["folders"], "Legal");

    // Some other object in the list is still a misfit, named.
    body[CUSTOM] = json!({"folders": [{"name": "Legal"}]});
    let refused = gw
        .send_json("PUT", &format!("/Users/{id}"), Flag::Off, &body)
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("folders"),
        "{refused}"
    );
    assert_eq!(gw.backend_user(&id)["folders"], "Legal");
}

/// Two roles, neither primary (Entra's AppRoleAssignmentsComplex), for the single-valued
/// backend role: 400 invalidValue naming the problem, nothing created. It was a 201 with the
/// default role. Exactly one primary among several: that one.
#[tokio::test]
async fn issue_12_two_roles_neither_primary_are_refused() {
    let gw = gateway().await;
    let role = |value: &str, primary: bool| {
        json!({"primary": primary, "type": "WindowsAzureActiveDirectoryRole",
               "displayName": value, "value": value})
    };
    let body = with_roles(
        &unique_email("roles"),
        json!([role("Admin", false), role("ReadOnly", false)]),
    );
    let refused = gw
        .post("/Users", Flag::Off, &body)
        .await
        .expect_error(400, Some("invalidValue"));
    let detail = refused["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("roles") && detail.contains("primary"),
        "{refused}"
    );
    assert_eq!(gw.demo.user_count(), 0, "nothing reached the backend");
    assert_eq!(gw.calls("POST /api/v1/users"), 0);

    let body = with_roles(
        &unique_email("roles"),
        json!([role("Admin", false), role("ReadOnly", true)]),
    );
    let created = gw.post("/Users", Flag::Off, &body).await.expect(201);
    assert_eq!(gw.backend_user(&id_of(&created))["role"], "ReadOnly");
}

/// A PUT that carries `userName` but no `emails` does not send the backend email as `null`:
/// an attribute left out of a PUT is not asserted, and its backend field keeps its value.
#[tokio::test]
async fn issue_12_put_without_emails_keeps_the_backend_email() {
    let gw = gateway().await;
    let user_name = unique_email("putmail");
    let id = id_of(
        &gw.create_user(&entra_user(&user_name, &unique("ext")))
            .await,
    );
    let before = gw.backend_user(&id)["email"].clone();
    assert!(before.is_string(), "{before}");
    let body = json!({
        "schemas": [CORE_USER],
        "userName": user_name,
        "name": {"givenName": "Put", "familyName": "Without"},
        "displayName": "Put Without Emails",
        "active": true
    });
    let replaced = gw
        .send_json("PUT", &format!("/Users/{id}"), Flag::Off, &body)
        .await
        .expect(200);
    let backend = gw.backend_user(&id);
    assert_eq!(backend["email"], before, "{backend}");
    assert_eq!(backend["display_name"], "Put Without Emails");
    assert_eq!(replaced["userName"], user_name.as_str());
    assert!(replaced["emails"].is_array(), "{replaced}");
}

/// Two SCIM attributes written to one backend field with different values (userName A, work
/// email B): 400 naming both, nothing written. It used to answer 201 with B.
#[tokio::test]
async fn issue_12_two_attributes_into_one_field_are_refused() {
    let gw = gateway_with(Options {
        mapping: Some(shared_email_mapping(
            r#"{ path: "$.status", map: { "true": active, "false": disabled }, default: true }"#,
        )),
        ..Options::default()
    })
    .await;
    let (a, b) = (unique_email("upn"), unique_email("mail"));
    let mut body = entra_user(&a, &unique("ext"));
    body["emails"] = json!([{"primary": true, "type": "work", "value": b}]);
    let refused = gw
        .post("/Users", Flag::Off, &body)
        .await
        .expect_error(400, Some("invalidValue"));
    let detail = refused["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("userName") && detail.contains(r#"emails[type eq "work"].value"#),
        "{refused}"
    );
    assert!(detail.contains(&a) && detail.contains(&b), "{refused}");
    assert_eq!(gw.demo.user_count(), 0);

    // The same address in both is one value: taken.
    let created = gw
        .post("/Users", Flag::Off, &entra_user(&a, &unique("ext")))
        .await
        .expect(201);
    let id = id_of(&created);
    // A PATCH that sets them apart is refused too, the backend unchanged.
    let refused = gw
        .patch(
            &format!("/Users/{id}"),
            Flag::Off,
            json!([
                {"op": "Replace", "path": "userName", "value": b},
                {"op": "Replace", "path": r#"emails[type eq "work"].value"#, "value": a}
            ]),
        )
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("userName"),
        "{refused}"
    );
    assert_eq!(gw.backend_user(&id)["email"], a.as_str());
    // A PUT as well.
    let mut put = entra_user(&b, &unique("ext"));
    put["emails"] = json!([{"primary": true, "type": "work", "value": a}]);
    gw.send_json("PUT", &format!("/Users/{id}"), Flag::Off, &put)
        .await
        .expect_error(400, Some("invalidValue"));
    assert_eq!(gw.backend_user(&id)["email"], a.as_str());
}

/// A backend value the `map:` table does not know is left out (with a warning in the log),
/// never returned as the raw backend string in a boolean.
#[tokio::test]
async fn issue_12_unknown_map_value_is_left_out() {
    // This mapping's `active` knows only the `active` status.
    let gw = gateway_with(Options {
        mapping: Some(shared_email_mapping(
            r#"{ path: "$.status", map: { "true": active }, default: true }"#,
        )),
        ..Options::default()
    })
    .await;
    let user_name = unique_email("unmapped");
    let id = id_of(&gw.create_user(&entra_user(&user_name, "ext-u")).await);
    backend_patch(&gw, &id, &json!({"status": "disabled"})).await;
    let user = gw.user(&id).await;
    assert!(user.get("active").is_none(), "{user}");
    let found = gw
        .found("Users", &format!("userName eq \"{user_name}\""))
        .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].get("active").is_none(), "{found:?}");
}

/// With `read_default`, a backend value the `map:` table does not know reads as that value.
#[tokio::test]
async fn issue_12_unknown_map_value_reads_as_read_default() {
    let gw = gateway_with(Options {
        mapping: Some(shared_email_mapping(
            r#"{ path: "$.status", map: { "true": active, "false": blocked }, default: true, read_default: "false" }"#,
        )),
        ..Options::default()
    })
    .await;
    let id = id_of(
        &gw.create_user(&entra_user(&unique_email("readdefault"), "ext-r"))
            .await,
    );
    assert_eq!(gw.user(&id).await["active"], true);
    backend_patch(&gw, &id, &json!({"status": "disabled"})).await;
    assert_eq!(gw.user(&id).await["active"], false);
}

/// Soft delete (`deactivate:`): after a SCIM DELETE the id answers 404 and filters find
/// nothing (Entra reads "deleted" as gone), though the product keeps the user disabled. A later
/// create of the same userName reactivates that user (201), not a 409.
#[tokio::test]
async fn issue_12_soft_delete_is_gone_and_a_recreate_reactivates() {
    let demo = scimgate::app::DEMO_MAPPING;
    let yaml = demo.replacen("    # deactivate: {", "    deactivate: {", 1);
    assert_ne!(yaml, demo, "the demo mapping's deactivate comment moved");
    let gw = gateway_with(Options {
        mapping: Some(yaml),
        ..Options::default()
    })
    .await;
    let user_name = unique_email("soft");
    let body = entra_user(&user_name, "ext-soft-1");
    let id = id_of(&gw.create_user(&body).await);
    gw.delete(&format!("/Users/{id}"), Flag::Off)
        .await
        .expect_no_content();
    assert_eq!(gw.backend_user(&id)["status"], "disabled", "kept, disabled");
    gw.get(&format!("/Users/{id}"), Flag::Off)
        .await
        .expect_error(404, None);
    for filter in [
        format!("userName eq \"{user_name}\""),
        "externalId eq \"ext-soft-1\"".to_owned(),
        format!("id eq \"{id}\""),
    ] {
        assert!(gw.found("Users", &filter).await.is_empty(), "{filter}");
    }
    gw.patch(
        &format!("/Users/{id}"),
        Flag::Off,
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
    )
    .await
    .expect_error(404, None);
    gw.delete(&format!("/Users/{id}"), Flag::Off)
        .await
        .expect_error(404, None);

    // Entra creates the user again.
    let again = entra_user(&user_name, "ext-soft-2");
    let created = gw.post("/Users", Flag::Off, &again).await.expect(201);
    let new_id = id_of(&created);
    assert_eq!(created["active"], true, "{created}");
    assert_eq!(created["externalId"], "ext-soft-2", "{created}");
    assert_eq!(gw.backend_user(&new_id)["status"], "active");
    assert_eq!(gw.demo.user_count(), 1, "one user, reactivated");
    assert_eq!(gw.user(&new_id).await["userName"], user_name.as_str());
    let found = gw
        .found("Users", &format!("userName eq \"{user_name}\""))
        .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(numeric(&new_id), numeric(&id), "the kept user, live again");
}
