//! A connection's life through the admin API, provisioned through with its own tokens:
//! create (token shown once), provision, disable (403 "provisioning is switched off"),
//! enable, rotate (old and new both work until the old is deleted), delete (401), and the
//! status the product's settings page shows.

use std::time::Duration;

use serde_json::json;

use super::{start, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_provision_disable_enable_rotate_and_delete_through_the_admin_api() {
    let gw = start(None).await.expect("gateway");
    let (created, token) = gw
        .create(
            "acme",
            "workspaces",
            json!({"workspace_id": "42", "idp": "entra"}),
        )
        .await;
    assert_eq!(
        created["scim_base_url"],
        "http://gateway.test/ws/acme/scim/v2"
    );
    assert_eq!(created["enabled"], true);
    assert!(created["tokens"][0].get("hash").is_none(), "{created}");
    let base = gw.scim("acme");

    // Provision with the new token: the user lands in workspace 42, stamped with the IdP.
    let made = gw
        .scim_call(
            "POST",
            &format!("{base}/Users"),
            &token,
            Some(&user("bjensen@acme.test", "b1")),
        )
        .await
        .expect(201);
    let id = made["id"].as_str().expect("id").to_owned();
    assert_eq!(gw.demo.workspace_user_count("42"), 1);
    let backend_id = gw
        .demo
        .workspace_user_id_by_username("42", "bjensen@acme.test")
        .expect("in workspace 42");
    let stored = gw.demo.workspace_user("42", backend_id).expect("user");
    assert_eq!(stored["metadata"]["idp"], "entra", "{stored}");
    assert_eq!(
        made["meta"]["location"],
        format!("http://gateway.test/ws/acme/scim/v2/Users/{id}")
    );
    let found = gw
        .scim_call(
            "GET",
            &format!("{base}/Users?filter=userName%20eq%20%22bjensen@acme.test%22"),
            &token,
            None,
        )
        .await
        .expect(200);
    assert_eq!(found["totalResults"], 1);

    // The sync switch: off answers 403 with the message Test connection shows.
    gw.admin(
        "PATCH",
        "/admin/v1/connections/acme",
        Some(&json!({"enabled": false})),
    )
    .await
    .expect(200);
    let off = gw
        .scim_call("GET", &format!("{base}/Users?count=1"), &token, None)
        .await;
    assert_eq!(off.status, 403, "{}", off.text);
    assert!(
        off.text.contains("provisioning is switched off"),
        "{}",
        off.text
    );
    gw.admin(
        "PATCH",
        "/admin/v1/connections/acme",
        Some(&json!({"enabled": true})),
    )
    .await
    .expect(200);
    gw.scim_call("GET", &format!("{base}/Users?count=1"), &token, None)
        .await
        .expect(200);

    // Rotate: the old and the new token both work until the old one is deleted.
    let rotated = gw
        .admin("POST", "/admin/v1/connections/acme/tokens", None)
        .await
        .expect(201);
    let new_token = rotated["token"].as_str().expect("token").to_owned();
    for t in [&token, &new_token] {
        gw.scim_call("GET", &format!("{base}/Users/{id}"), t, None)
            .await
            .expect(200);
    }
    let old_id = created["token_id"].as_str().expect("token id");
    gw.admin(
        "DELETE",
        &format!("/admin/v1/connections/acme/tokens/{old_id}"),
        None,
    )
    .await
    .expect(204);
    let old = gw
        .scim_call("GET", &format!("{base}/Users/{id}"), &token, None)
        .await;
    assert_eq!(old.status, 401, "{}", old.text);
    gw.scim_call("GET", &format!("{base}/Users/{id}"), &new_token, None)
        .await
        .expect(200);

    // The status for the product's UI, once the activity is written (about once a second).
    let failed = gw
        .scim_call(
            "POST",
            &format!("{base}/Users"),
            &new_token,
            Some(&user("bjensen@acme.test", "b2")),
        )
        .await;
    assert_eq!(failed.status, 409, "{}", failed.text);
    let mut shown = serde_json::Value::Null;
    for _ in 0..50 {
        shown = gw
            .admin("GET", "/admin/v1/connections/acme", None)
            .await
            .expect(200);
        if shown["status"]["errors_24h"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = &shown["status"];
    assert_eq!(status["writes_24h"], 1, "{shown}");
    assert_eq!(status["errors_24h"], 1, "{shown}");
    assert_eq!(status["last_error"]["status"], 409, "{shown}");
    assert_eq!(status["last_error"]["scimType"], "uniqueness", "{shown}");
    assert!(status["last_write_at"].is_string() && status["last_request_at"].is_string());
    assert_eq!(shown["tokens"].as_array().map(Vec::len), Some(1));

    // The list is paged.
    gw.create(
        "beta",
        "workspaces",
        json!({"workspace_id": "43", "idp": "okta"}),
    )
    .await;
    let page = gw
        .admin("GET", "/admin/v1/connections?limit=1", None)
        .await
        .expect(200);
    assert_eq!(page["items"][0]["id"], "acme");
    assert_eq!(page["next_after"], "acme");
    let page = gw
        .admin("GET", "/admin/v1/connections?limit=1&after=acme", None)
        .await
        .expect(200);
    assert_eq!(page["items"][0]["id"], "beta");
    assert_eq!(page["next_after"], serde_json::Value::Null);

    // Delete: its tokens stop at once, and its id map and stored attributes go.
    gw.admin("DELETE", "/admin/v1/connections/acme", None)
        .await
        .expect(204);
    let gone = gw
        .scim_call("GET", &format!("{base}/Users/{id}"), &new_token, None)
        .await;
    assert_eq!(gone.status, 401, "{}", gone.text);
    gw.admin("GET", "/admin/v1/connections/acme", None)
        .await
        .expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_connections_and_wrong_tokens_get_the_same_401() {
    let gw = start(None).await.expect("gateway");
    let (_, token) = gw
        .create(
            "acme",
            "workspaces",
            json!({"workspace_id": "1", "idp": "entra"}),
        )
        .await;
    let unknown = gw
        .scim_call("GET", &format!("{}/Users", gw.scim("nobody")), &token, None)
        .await;
    let wrong = gw
        .scim_call(
            "GET",
            &format!("{}/Users", gw.scim("acme")),
            "not-a-token",
            None,
        )
        .await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert_eq!(unknown.text, wrong.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_token_routing_pick_the_connection() {
    let gw = start(None).await.expect("gateway");
    let (created, hosted) = gw
        .create(
            "globex",
            "hosted",
            json!({"workspace_id": "7", "idp": "entra"}),
        )
        .await;
    assert_eq!(
        created["scim_base_url"],
        "http://globex.scim.test/api/scim/v2"
    );
    let (created, shared) = gw
        .create(
            "initech",
            "shared",
            json!({"workspace_id": "8", "idp": "okta"}),
        )
        .await;
    assert_eq!(created["scim_base_url"], "http://gateway.test/scim/v2");
    let url = format!("http://{}/api/scim/v2/Users", gw.addr);
    gw.scim_host(
        "POST",
        &url,
        "globex.scim.test",
        &hosted,
        Some(&user("a@globex.test", "g1")),
    )
    .await
    .expect(201);
    assert_eq!(gw.demo.workspace_user_count("7"), 1);
    let other_host = gw
        .scim_host("GET", &url, "initech.scim.test", &hosted, None)
        .await;
    assert_eq!(other_host.status, 401, "{}", other_host.text);
    let url = format!("http://{}/scim/v2/Users", gw.addr);
    gw.scim_call("POST", &url, &shared, Some(&user("b@initech.test", "i1")))
        .await
        .expect(201);
    assert_eq!(gw.demo.workspace_user_count("8"), 1);
    // A token of another mapping does not pick a connection here.
    let other = gw.scim_call("GET", &url, &hosted, None).await;
    assert_eq!(other.status, 401, "{}", other.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_needs_its_token_and_says_what_to_fix() {
    let gw = start(None).await.expect("gateway");
    let none = gw.admin_as(None, "GET", "/admin/v1/connections").await;
    assert_eq!(none.status, 401);
    assert!(
        none.expect(401)["error"]
            .as_str()
            .is_some_and(|e| e.contains("admin_token_hashes"))
    );
    let wrong = gw
        .admin_as(Some("nope"), "GET", "/admin/v1/connections")
        .await;
    assert_eq!(wrong.status, 401);
    let doc = gw
        .admin_as(None, "GET", "/admin/v1/openapi.json")
        .await
        .expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/admin/v1/connections/{id}/tokens/{token_id}"]["delete"].is_object());

    let missing = gw
        .admin(
            "POST",
            "/admin/v1/connections",
            Some(&json!({"mapping": "workspaces", "variables": {"workspace_id": "1"}})),
        )
        .await
        .expect(400);
    assert!(
        missing["error"]
            .as_str()
            .is_some_and(|e| e.contains("variables.idp")),
        "{missing}"
    );
    let unknown = gw
        .admin(
            "POST",
            "/admin/v1/connections",
            Some(&json!({"mapping": "nope", "variables": {}})),
        )
        .await
        .expect(400);
    assert!(
        unknown["error"]
            .as_str()
            .is_some_and(|e| e.contains("workspaces")),
        "{unknown}"
    );
    let undeclared = gw
        .admin(
            "POST",
            "/admin/v1/connections",
            Some(&json!({"mapping": "workspaces",
                         "variables": {"workspace_id": "1", "idp": "x", "color": "red"}})),
        )
        .await
        .expect(400);
    assert!(
        undeclared["error"]
            .as_str()
            .is_some_and(|e| e.contains("variables.color"))
    );
    gw.create(
        "dup",
        "workspaces",
        json!({"workspace_id": "1", "idp": "x"}),
    )
    .await;
    let taken = gw
        .admin(
            "POST",
            "/admin/v1/connections",
            Some(&json!({"id": "dup", "mapping": "workspaces",
                         "variables": {"workspace_id": "1", "idp": "x"}})),
        )
        .await
        .expect(409);
    assert!(
        taken["error"]
            .as_str()
            .is_some_and(|e| e.contains("exists"))
    );
    gw.admin("DELETE", "/admin/v1/connections/nope", None)
        .await
        .expect(404);
    gw.admin("PUT", "/admin/v1/connections/dup", None)
        .await
        .expect(405);
}

#[tokio::test]
async fn tenants_of_the_settings_file_are_listed_and_shown_read_only() {
    let gw = start(None).await.expect("gateway");
    gw.registry
        .set_file_tenants(vec![scimgate::connection::file_tenants::FileTenant {
            name: "static-acme".to_owned(),
            base_path: "/scim/v2/static-acme".to_owned(),
            mapping: "mappings/demo.yaml".to_owned(),
            enabled: true,
        }]);
    gw.create(
        "acme",
        "workspaces",
        json!({"workspace_id": "1", "idp": "entra"}),
    )
    .await;
    let listed = gw
        .admin("GET", "/admin/v1/connections", None)
        .await
        .expect(200);
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, ["static-acme", "acme"], "{listed}");
    let shown = gw
        .admin("GET", "/admin/v1/connections/static-acme", None)
        .await
        .expect(200);
    assert_eq!(shown["read_only"], true, "{shown}");
    assert_eq!(
        shown["scim_base_url"],
        "http://gateway.test/scim/v2/static-acme"
    );
    // Every write names the file as the place to change it.
    for (method, path, body) in [
        (
            "PATCH",
            "/admin/v1/connections/static-acme",
            Some(json!({"enabled": false})),
        ),
        ("DELETE", "/admin/v1/connections/static-acme", None),
        ("POST", "/admin/v1/connections/static-acme/tokens", None),
        (
            "POST",
            "/admin/v1/connections",
            Some(json!({"id": "static-acme", "mapping": "workspaces",
                        "variables": {"workspace_id": "1", "idp": "entra"}})),
        ),
    ] {
        let refused = gw.admin(method, path, body.as_ref()).await.expect(409);
        assert!(
            refused["error"]
                .as_str()
                .is_some_and(|e| e.contains("tenant of the settings file")),
            "{method} {path}: {refused}"
        );
    }
    // A later page (`after`) holds only the store's connections.
    let later = gw
        .admin("GET", "/admin/v1/connections?after=a", None)
        .await
        .expect(200);
    assert_eq!(later["items"].as_array().map(Vec::len), Some(1), "{later}");
}
