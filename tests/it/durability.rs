//! Durability (issue 8, hardening): the real `scimgate serve` binary on a file SQLite store is
//! `kill -9`ed in the middle of a burst of concurrent creates, restarted on the same store, and
//! Entra retries every create the way it does (filter by userName first, create only when absent).
//! Afterwards every user the first process answered 201 for keeps its SCIM id and its stored
//! `externalId`, and every user exists exactly once in the backend.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scimgate::demo::{DemoOptions, DemoServer, Fault};
use scimgate::server::auth;
use serde_json::{Value, json};

const TOKEN: &str = "durability-test-token-0123456789abcdef";
const API_KEY: &str = "durability-backend-key";
const USERS: usize = 48;

/// A `scimgate serve` child process.
struct Gateway {
    child: Child,
    base: String,
}

impl Gateway {
    fn spawn(settings: &Path, backend: &DemoServer, log: &Path) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_scimgate"))
            .args(["serve", "--config"])
            .arg(settings)
            .env("DEMO_BACKEND_URL", backend.base_url())
            .env("DEMO_API_KEY", API_KEY)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("scimgate starts");
        let base = std::fs::read_to_string(settings)
            .expect("settings")
            .lines()
            .find_map(|line| line.trim().strip_prefix("public_base_url: "))
            .map(|url| format!("{}/scim/v2", url.trim_matches('"')))
            .expect("public_base_url");
        Self { child, base }
    }

    /// SIGKILL: no drain, no destructors, as `kill -9` does.
    fn kill_9(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let health = base.replace("/scim/v2", "/healthz");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(response) = client.get(&health).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway did not become healthy at {health}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn user_body(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": external_id,
        "active": true,
        "name": {"givenName": "Dura", "familyName": "Bility"},
    })
}

/// The ids of the users a filter finds.
async fn filter(client: &reqwest::Client, base: &str, filter: &str) -> Vec<String> {
    let response = client
        .get(format!(
            "{base}/Users?filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status(), 200, "filter {filter}");
    let list: Value = response.json().await.expect("a list");
    list["Resources"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_create_burst_loses_no_mapping_and_duplicates_no_user() {
    let backend = DemoServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        DemoOptions {
            api_key: API_KEY.to_owned(),
            seed_users: 0,
        },
    )
    .await
    .expect("the demo backend starts");
    let dir = std::env::temp_dir().join(format!("scimgate-durability-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = free_port();
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/demo.yaml");
    let settings = dir.join("scimgate.yaml");
    std::fs::write(
        &settings,
        format!(
            "server:\n  listen: \"127.0.0.1:{port}\"\n  public_base_url: \"http://127.0.0.1:{port}\"\n  \
             tls:\n    mode: none\n  shutdown_grace: 1s\n\
             store:\n  sqlite_path: \"{}\"\n\
             log:\n  format: json\n  level: warn\n\
             tenants:\n  - name: demo\n    mapping: \"{}\"\n    auth:\n      bearer:\n        \
             token_hashes: [\"{}\"]\n",
            dir.join("store.sqlite3").display(),
            mapping.display(),
            auth::token_hash_line(TOKEN),
        ),
    )
    .expect("settings file");
    let log = dir.join("gateway.log");
    // reqwest is built without a crypto provider: the process default is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let mut gateway = Gateway::spawn(&settings, &backend, &log);
    let base = gateway.base.clone();
    wait_healthy(&client, &base).await;

    // A slow backend keeps creates in flight, so the kill lands in the middle of the burst.
    backend.inject(Fault::delay(150).on("POST /api/v1/users"));
    let users: Vec<(String, String)> = (0..USERS)
        .map(|n| {
            let tag = uuid::Uuid::new_v4().simple();
            (
                format!("dura{n}-{tag}@example.com"),
                format!("ext-{n}-{tag}"),
            )
        })
        .collect();
    let gate = Arc::new(tokio::sync::Semaphore::new(8));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (user_name, external_id) in users.clone() {
        let client = client.clone();
        let base = base.clone();
        let gate = Arc::clone(&gate);
        let done = Arc::clone(&done);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            let response = client
                .post(format!("{base}/Users"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/scim+json")
                .body(user_body(&user_name, &external_id).to_string())
                .send()
                .await
                .ok()?;
            if response.status() != 201 {
                return None;
            }
            let created: Value = response.json().await.ok()?;
            done.fetch_add(1, Ordering::SeqCst);
            Some((user_name, created["id"].as_str()?.to_owned()))
        }));
    }
    // Kill once a handful were answered: mid-burst however slow the machine is.
    let started = Instant::now();
    while done.load(Ordering::SeqCst) < 8 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gateway.kill_9();
    let mut answered: HashMap<String, String> = HashMap::new();
    for task in tasks {
        if let Ok(Some((user_name, id))) = task.await {
            answered.insert(user_name, id);
        }
    }
    assert!(
        !answered.is_empty() && answered.len() < USERS,
        "the kill did not land mid-burst: {} of {USERS} answered 201",
        answered.len()
    );
    backend.clear_faults();

    // Restart on the same store; Entra retries every create: filter first, create if absent.
    let gateway = Gateway::spawn(&settings, &backend, &log);
    wait_healthy(&client, &base).await;
    for (user_name, external_id) in &users {
        let found = filter(&client, &base, &format!("userName eq \"{user_name}\"")).await;
        assert!(found.len() <= 1, "{user_name} is duplicated: {found:?}");
        let id = match found.first() {
            Some(id) => id.clone(),
            None => {
                let response = client
                    .post(format!("{base}/Users"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/scim+json")
                    .body(user_body(user_name, external_id).to_string())
                    .send()
                    .await
                    .expect("the gateway answers");
                assert_eq!(response.status(), 201, "re-create of {user_name}");
                let created: Value = response.json().await.expect("JSON");
                created["id"].as_str().expect("id").to_owned()
            }
        };
        if let Some(first) = answered.get(user_name) {
            assert_eq!(
                &id, first,
                "{user_name} changed its SCIM id across the kill"
            );
            // The store kept the mapping: the externalId (stored by the gateway, not the
            // backend) still finds the same user.
            let by_external =
                filter(&client, &base, &format!("externalId eq \"{external_id}\"")).await;
            assert_eq!(
                by_external,
                vec![first.clone()],
                "externalId of {user_name}"
            );
        }
    }
    assert_eq!(backend.user_count(), USERS, "users duplicated or lost");
    for (user_name, _) in &users {
        assert!(
            backend.user_id_by_username(user_name).is_some(),
            "{user_name} missing"
        );
    }
    drop(gateway);
    backend.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
