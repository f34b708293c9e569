//! Product-issued keys as a connection's Secret Token (`product_keys:` in the mapping, a
//! `product_key` credential on the connection), over real sockets: the workspace admin creates
//! an API key in the product and pastes it into Entra; scimgate checks it with one
//! `auth.introspect` call (cached) and sends it on every backend call instead of the mapping's
//! own key. Create, provision, disable, enable, rotate (in the product), delete, a key of
//! another workspace, and a product that cannot check keys (503).

use std::time::Duration;

use serde_json::{Value, json};

use super::{WORKSPACES, start_with, user};

/// The shipped mapping with a one-second cache, so a revoked key stops within the test.
fn mapping() -> String {
    let text = WORKSPACES.replace("cache_seconds: 30", "cache_seconds: 1");
    assert_ne!(
        text, WORKSPACES,
        "the shipped mapping sets cache_seconds: 30"
    );
    text
}

/// Asks the example API for a new key of `workspace` (as the product's settings page would).
async fn issue_key(demo: &scimgate::demo::DemoServer, workspace: &str) -> String {
    let answer: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!(
            "{}/api/workspaces/{workspace}/keys",
            demo.base_url()
        ))
        .header("X-Api-Key", demo.api_key())
        .send()
        .await
        .expect("issue")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["workspace_id"], workspace, "{answer}");
    answer["key"].as_str().expect("key").to_owned()
}

async fn revoke_key(demo: &scimgate::demo::DemoServer, workspace: &str, key: &str) {
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .delete(format!(
            "{}/api/workspaces/{workspace}/keys/{key}",
            demo.base_url()
        ))
        .header("X-Api-Key", demo.api_key())
        .send()
        .await
        .expect("revoke")
        .status();
    assert_eq!(status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_keys_provision_their_own_workspace_and_are_forwarded_to_the_backend() {
    let gw = start_with(None, mapping(), None).await.expect("gateway");
    gw.create(
        "acme",
        "workspaces",
        json!({"workspace_id": "1", "idp": "entra"}),
    )
    .await;
    gw.create(
        "other",
        "workspaces",
        json!({"workspace_id": "2", "idp": "entra"}),
    )
    .await;
    let base = gw.scim("acme");
    let key = issue_key(&gw.demo, "1").await;

    // Without the credential the connection does not take product keys.
    let before = gw
        .scim_call("GET", &format!("{base}/Users"), &key, None)
        .await;
    assert_eq!(before.status, 401, "{}", before.text);
    let added = gw
        .admin(
            "POST",
            "/admin/v1/connections/acme/credentials",
            Some(&json!({"kind": "product_key"})),
        )
        .await
        .expect(201);
    assert_eq!(added["kind"], "product_key", "{added}");
    gw.admin(
        "POST",
        "/admin/v1/connections/acme/credentials",
        Some(&json!({"kind": "product_key"})),
    )
    .await
    .expect(409);

    // Provision with the product's key: the user lands in workspace 1, and the backend saw
    // the workspace's key, not the mapping's own.
    let made = gw
        .scim_call(
            "POST",
            &format!("{base}/Users"),
            &key,
            Some(&user(
                "Test_User_5b0d4c2e-1b8a-4c53-9d0a-2f2d0c0a9d11",
                "pk-1",
            )),
        )
        .await
        .expect(201);
    let id = made["id"].as_str().expect("id").to_owned();
    assert_eq!(gw.demo.workspace_user_count("1"), 1);
    let forwarded = gw.demo.workspace_key_calls("1");
    assert!(forwarded >= 1, "no backend call carried the workspace key");
    // Test connection (Entra's probe) works, and the check is cached: one more request makes
    // backend calls with the key, all of them workspace calls.
    gw.scim_call(
        "GET",
        &format!("{base}/Users?filter=userName+eq+%22nobody%22"),
        &key,
        None,
    )
    .await
    .expect(200);
    assert!(gw.demo.workspace_key_calls("1") > forwarded);

    // A key of workspace 2 does not open workspace 1's connection, and a made-up one neither.
    let key_2 = issue_key(&gw.demo, "2").await;
    for wrong in [key_2.as_str(), "wk_made_up"] {
        let refused = gw
            .scim_call("GET", &format!("{base}/Users"), wrong, None)
            .await;
        assert_eq!(refused.status, 401, "{}", refused.text);
    }
    // Nor does acme's key open the other connection (it takes no product keys).
    let elsewhere = gw
        .scim_call("GET", &format!("{}/Users", gw.scim("other")), &key, None)
        .await;
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.text);

    // The sync switch.
    gw.admin(
        "PATCH",
        "/admin/v1/connections/acme",
        Some(&json!({"enabled": false})),
    )
    .await
    .expect(200);
    let off = gw
        .scim_call("GET", &format!("{base}/Users"), &key, None)
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
    gw.scim_call("GET", &format!("{base}/Users/{id}"), &key, None)
        .await
        .expect(200);

    // Rotation happens in the product: a new key works beside the old one; once the product
    // revokes the old one, it stops within the cache time.
    let new_key = issue_key(&gw.demo, "1").await;
    for k in [&key, &new_key] {
        gw.scim_call("GET", &format!("{base}/Users/{id}"), k, None)
            .await
            .expect(200);
    }
    revoke_key(&gw.demo, "1", &key).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let revoked = gw
        .scim_call("GET", &format!("{base}/Users/{id}"), &key, None)
        .await;
    assert_eq!(revoked.status, 401, "{}", revoked.text);
    gw.scim_call("GET", &format!("{base}/Users/{id}"), &new_key, None)
        .await
        .expect(200);

    // Delete: the key stops at once.
    gw.admin("DELETE", "/admin/v1/connections/acme", None)
        .await
        .expect(204);
    let gone = gw
        .scim_call("GET", &format!("{base}/Users/{id}"), &new_key, None)
        .await;
    assert_eq!(gone.status, 401, "{}", gone.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_product_cannot_check_is_a_503_not_a_401() {
    let gw = start_with(None, mapping(), None).await.expect("gateway");
    gw.create(
        "acme",
        "workspaces",
        json!({"workspace_id": "1", "idp": "entra"}),
    )
    .await;
    gw.admin(
        "POST",
        "/admin/v1/connections/acme/credentials",
        Some(&json!({"kind": "product_key"})),
    )
    .await
    .expect(201);
    let key = issue_key(&gw.demo, "1").await;
    // The product's key service is down: the key cannot be checked, which is not the
    // client's fault (and is not cached: the next request checks again).
    gw.demo.set_keys_down(true);
    let url = format!("{}/Users", gw.scim("acme"));
    let answer = gw.scim_call("GET", &url, &key, None).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(gw.demo.workspace_key_calls("1"), 0);
    gw.demo.set_keys_down(false);
    gw.scim_call("GET", &url, &key, None).await.expect(200);
}
