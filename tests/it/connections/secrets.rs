//! Secret connection variables: a workspace's own backend API key, used in `backend.auth` as
//! `{conn.api_key}`, sealed at rest and never returned.

use serde_json::json;

use super::{WORKSPACES, start_with, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_variable_authenticates_to_the_backend_and_is_never_shown() {
    let mapping = WORKSPACES
        .replace(
            r#"api_key: { header: X-Api-Key, value: "${DEMO_API_KEY:-demo-api-key}" }"#,
            r#"api_key: { header: X-Api-Key, value: "{conn.api_key}" }"#,
        )
        .replace(
            "connection_variables:\n",
            "connection_variables:\n  api_key: { secret: true, description: The workspace's API key }\n",
        );
    assert!(mapping.contains("{conn.api_key}"));
    let dir = std::env::temp_dir().join(format!("scimgate-secrets-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let key_file = dir.join("key");
    std::fs::write(&key_file, "0f".repeat(32)).expect("key");
    let gw = start_with(None, mapping, Some(&key_file))
        .await
        .expect("gateway");
    let api_key = gw.demo.api_key().to_owned();

    let missing = gw
        .admin(
            "POST",
            "/admin/v1/connections",
            Some(&json!({"id": "x", "mapping": "workspaces",
                         "variables": {"workspace_id": "5", "idp": "entra"}})),
        )
        .await
        .expect(400);
    assert!(
        missing["error"]
            .as_str()
            .is_some_and(|e| e.contains("secret_variables.api_key"))
    );
    let in_clear = gw
        .admin(
            "POST",
            "/admin/v1/connections",
            Some(&json!({"id": "x", "mapping": "workspaces",
                         "variables": {"workspace_id": "5", "idp": "entra", "api_key": "k"}})),
        )
        .await
        .expect(400);
    assert!(
        in_clear["error"]
            .as_str()
            .is_some_and(|e| e.contains("secret_variables"))
    );

    let created = gw
        .admin(
            "POST",
            "/admin/v1/connections",
            Some(&json!({"id": "good", "mapping": "workspaces",
                         "variables": {"workspace_id": "5", "idp": "entra"},
                         "secret_variables": {"api_key": api_key}})),
        )
        .await;
    assert!(!created.text.contains(&api_key), "{}", created.text);
    let token = created.expect(201)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (_, bad_token) = gw
        .create_with_secrets("bad", json!({"api_key": "not-the-key"}))
        .await;
    gw.scim_call(
        "POST",
        &format!("{}/Users", gw.scim("good")),
        &token,
        Some(&user("a@x.test", "a")),
    )
    .await
    .expect(201);
    assert_eq!(gw.demo.workspace_user_count("5"), 1);
    let refused = gw
        .scim_call(
            "GET",
            &format!("{}/Users", gw.scim("bad")),
            &bad_token,
            None,
        )
        .await;
    assert!(
        refused.status >= 500,
        "the backend refused the wrong key: {}",
        refused.text
    );

    let shown = gw.admin("GET", "/admin/v1/connections/good", None).await;
    assert!(!shown.text.contains(&api_key), "{}", shown.text);
    assert_eq!(shown.expect(200)["secret_variables"], json!(["api_key"]));
    let stored = gw
        .registry
        .store()
        .get_connection("good")
        .await
        .expect("store")
        .expect("stored");
    let sealed = stored.secrets.expect("sealed");
    assert!(
        !sealed.contains(&api_key) && sealed.starts_with("v1."),
        "{sealed}"
    );

    // Rotating the secret takes effect at once.
    gw.admin(
        "PATCH",
        "/admin/v1/connections/bad",
        Some(&json!({"secret_variables": {"api_key": api_key}})),
    )
    .await
    .expect(200);
    gw.scim_call(
        "GET",
        &format!("{}/Users", gw.scim("bad")),
        &bad_token,
        None,
    )
    .await
    .expect(200);
    let _ = std::fs::remove_dir_all(&dir);
}
