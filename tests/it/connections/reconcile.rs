//! `scimgate reconcile --connection ID` through the real binary: a connection created through
//! the admin API over an SQLite store on disk, one user provisioned through it and one made by
//! hand in its workspace; the binary reports the hand-made one only, and an unknown id fails.

use std::process::{Command, Stdio};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use scimgate::store::{SqliteStore, Store};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_one_connection_reports_its_unmanaged_users_only() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("scimgate-rec-conn-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("store.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db)?);
    let gw = super::start(Some(store)).await?;
    let (_, token) = gw
        .create(
            "acme",
            "workspaces",
            json!({"workspace_id": "7", "idp": "entra"}),
        )
        .await;
    let url = format!("{}/Users", gw.scim("acme"));
    let user = super::user("provisioned@example.com", "ext-provisioned");
    gw.scim_call("POST", &url, &token, Some(&user))
        .await
        .expect(201);
    let by_hand = reqwest::Client::builder()
        .no_proxy()
        .build()?
        .post(format!("{}/api/workspaces/7/users", gw.demo.base_url()))
        .header("X-Api-Key", gw.demo.api_key())
        .json(&json!({"username": "byhand@example.com", "email": "byhand@example.com"}))
        .send()
        .await?;
    assert!(by_hand.status().is_success(), "{}", by_hand.text().await?);
    assert_eq!(gw.demo.workspace_user_count("7"), 2);

    let mapping = std::env::current_dir()?.join("mappings/demo-workspaces.yaml");
    let settings = dir.join("scimgate.yaml");
    std::fs::write(
        &settings,
        format!(
            "server:\n  listen: \"127.0.0.1:0\"\n  public_base_url: \"https://scim.example.com\"\n  \
             tls: {{ mode: none }}\nstore: {{ sqlite_path: \"{}\" }}\nconnections:\n  mappings:\n    \
             - {{ name: workspaces, mapping: \"{}\", path: \"/ws/{{connection}}/scim/v2\" }}\n",
            db.display(),
            mapping.display()
        ),
    )?;
    let (backend, api_key) = (gw.demo.base_url(), gw.demo.api_key().to_owned());
    let run = move |args: &'static [&'static str]| {
        let (settings, backend, api_key) = (settings.clone(), backend.clone(), api_key.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_scimgate"))
                .arg("reconcile")
                .args(args)
                .arg("--config")
                .arg(&settings)
                .env_remove("SCIMGATE_CONFIG")
                .env("DEMO_BACKEND_URL", backend)
                .env("DEMO_API_KEY", api_key)
                .stdin(Stdio::null())
                .output()
        })
    };
    let out = run(&["--json", "--connection", "acme"]).await??;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).context("reconcile --json is one document")?;
    assert_eq!(doc["tenants"][0]["connection"], "acme", "{stdout}");
    assert_eq!(doc["tenants"][0]["tenant"], "conn/acme", "{stdout}");
    let users = &doc["tenants"][0]["resources"][0];
    assert_eq!(users["resource_type"], "User");
    assert_eq!(users["backend_resources"], 2, "{stdout}");
    assert_eq!(users["scim_ids"], 1, "{stdout}");
    assert_eq!(
        users["unmanaged"].as_array().map(Vec::len),
        Some(1),
        "{stdout}"
    );
    assert_eq!(users["unmanaged"][0]["name"], "byhand@example.com");
    assert!(!stdout.contains("provisioned@example.com"), "{stdout}");
    let text = run(&["--connection", "acme"]).await??;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.starts_with("connection acme (tenant conn/acme)\n")
            && text.contains("User: 2 in the backend (1 pages), 1 SCIM ids; 1 unmanaged")
            && text.contains("byhand@example.com")
            && !text.contains("provisioned@example.com"),
        "{text}"
    );
    assert_eq!(gw.demo.workspace_user_count("7"), 2, "read-only");

    let unknown = run(&["--connection", "nope"]).await??;
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no connection `nope`"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
