//! `scimgate reconcile` through the real binary, as an operator runs it: settings and the
//! shipped demo mapping in front of the example API with users made in the backend; `--json`
//! names them, `--tenant` limits to one tenant and an unknown one is an error (exit 1).

use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};
use scimgate::demo::{DemoOptions, DemoServer};
use serde_json::Value;

const DEMO_MAPPING: &str = include_str!("../../mappings/demo.yaml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_lists_users_made_in_the_backend_as_json_and_text() -> Result<()> {
    let demo = DemoServer::start(
        "127.0.0.1:0".parse()?,
        DemoOptions {
            api_key: "reconcile-key".to_owned(),
            seed_users: 5,
        },
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("scimgate-reconcile-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("demo.yaml"), DEMO_MAPPING)?;
    let settings = dir.join("scimgate.yaml");
    std::fs::write(
        &settings,
        format!(
            "server:\n  listen: \"127.0.0.1:0\"\n  public_base_url: \"https://scim.example.com\"\n  \
             tls: {{ mode: none }}\n\
             store: {{ sqlite_path: \"{}\" }}\n\
             tenants:\n  - name: acme\n    mapping: demo.yaml\n    \
             auth: {{ bearer: {{ tokens_from_env: [RECONCILE_TEST_TOKEN] }} }}\n",
            dir.join("store.sqlite3").display()
        ),
    )?;
    let url = demo.base_url();
    let run = move |args: Vec<String>| {
        let settings = settings.clone();
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_scimgate"))
                .arg("reconcile")
                .arg("--config")
                .arg(&settings)
                .args(args)
                .env_remove("SCIMGATE_CONFIG")
                .env("RECONCILE_TEST_TOKEN", "reconcile-token-0123456789abcdef")
                .env("DEMO_BACKEND_URL", url)
                .env("DEMO_API_KEY", "reconcile-key")
                .stdin(Stdio::null())
                .output()
        })
    };
    let out = run(vec!["--json".into(), "--tenant".into(), "acme".into()]).await??;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).context("reconcile --json is one document")?;
    let users = &doc["tenants"][0]["resources"][0];
    assert_eq!(doc["tenants"][0]["tenant"], "acme");
    assert_eq!(users["resource_type"], "User");
    assert_eq!(users["backend_resources"], 5);
    assert_eq!(users["unmanaged"].as_array().map(Vec::len), Some(5));
    assert_eq!(users["unmanaged"][0]["name"], "user1@example.com");
    let text = run(Vec::new()).await??;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("User: 5 in the backend (1 pages), 0 SCIM ids; 5 unmanaged"),
        "{text}"
    );
    assert_eq!(demo.calls().route("POST /api/v1/users"), 0, "read-only");
    let unknown = run(vec!["--tenant".into(), "nope".into()]).await??;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no tenant `nope`"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
