//! Two real gateway processes (`scimgate serve`) sharing one PostgreSQL database in front of
//! one example API: an Entra flow alternating between them, and racing creates of one user
//! through both.
//!
//! Needs `SCIMGATE_TEST_POSTGRES_URL` (`eval "$(scripts/postgres/up.sh)"`); each test works in
//! a schema of its own, dropped afterwards. Without the variable the tests pass vacuously on
//! a developer machine but FAIL when `CI` is set, so CI cannot skip them.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use scimgate::demo::{DemoOptions, DemoServer};

const URL_VAR: &str = "SCIMGATE_TEST_POSTGRES_URL";
const TOKEN: &str = "replica-test-token-0123456789abcdef";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The test database URL; `None` to skip on a developer machine; an error in CI.
fn base_url() -> Result<Option<String>> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Ok(Some(url.trim().to_owned())),
        _ if std::env::var_os("CI").is_some() => bail!(
            "{URL_VAR} is not set but CI is: the replica tests must run in CI \
             (eval \"$(scripts/postgres/up.sh)\" first)"
        ),
        _ => {
            eprintln!("{URL_VAR} not set: replica test skipped");
            Ok(None)
        }
    }
}

async fn pg_connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// A schema of its own, dropped on drop.
struct Schema {
    base: String,
    name: String,
    url: String,
}

impl Schema {
    async fn create(base: String) -> Result<Self> {
        let name = format!("scimgate_replicas_{}", uuid::Uuid::new_v4().simple());
        pg_connect(&base)
            .await?
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await?;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        Ok(Self { base, name, url })
    }

    async fn count(&self, sql: &str, param: &str) -> Result<i64> {
        let row = pg_connect(&self.url)
            .await?
            .query_one(sql, &[&param])
            .await?;
        Ok(row.try_get(0)?)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(client) = pg_connect(&base).await {
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// The gateway processes, killed when dropped (also when a test fails).
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One gateway replica's address and its log file.
struct Replica {
    base: String,
    log: PathBuf,
}

/// The example API, two replicas on one PostgreSQL schema, and a client.
struct Cluster {
    backend: DemoServer,
    replicas: [Replica; 2],
    client: reqwest::Client,
    schema: Schema,
    processes: Processes,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The demo mapping with gateway-minted ids, so SCIM ids live only in the shared store.
fn mapping(dir: &Path) -> Result<PathBuf> {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/demo.yaml"))?;
    ensure!(
        demo.contains("\nids: backend\n"),
        "mappings/demo.yaml changed its ids line"
    );
    let path = dir.join("mapping.yaml");
    std::fs::write(&path, demo.replace("\nids: backend\n", "\nids: gateway\n"))?;
    Ok(path)
}

async fn start() -> Result<Option<Cluster>> {
    let Some(base) = base_url()? else {
        return Ok(None);
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let schema = Schema::create(base).await?;
    let backend = DemoServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        DemoOptions {
            api_key: "replica-api-key".to_owned(),
            ..DemoOptions::default()
        },
    )
    .await?;
    let dir =
        TempDir(std::env::temp_dir().join(format!("scimgate-replicas-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&dir.0)?;
    let mapping = mapping(&dir.0)?;
    let mut processes = Processes(Vec::new());
    let mut replicas = Vec::new();
    for index in 0..2 {
        let port = free_port()?;
        let settings = dir.0.join(format!("replica-{index}.yaml"));
        std::fs::write(
            &settings,
            format!(
                "server:\n  listen: \"127.0.0.1:{port}\"\n  public_base_url: \"http://127.0.0.1:{port}\"\n  \
                 tls: {{ mode: none }}\n  shutdown_grace: 1s\n\
                 store:\n  kind: postgres\n  postgres_url_from_env: REPLICA_POSTGRES_URL\n  postgres_pool_size: 4\n\
                 log:\n  format: json\n  level: warn\n\
                 tenants:\n  - name: demo\n    mapping: \"{}\"\n    auth:\n      bearer:\n        \
                 tokens_from_env: [REPLICA_TOKEN]\n",
                mapping.display()
            ),
        )?;
        let log = dir.0.join(format!("replica-{index}.log"));
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_scimgate"))
            .arg("serve")
            .arg("--config")
            .arg(&settings)
            .env("REPLICA_POSTGRES_URL", &schema.url)
            .env("REPLICA_TOKEN", TOKEN)
            .env("DEMO_BACKEND_URL", backend.base_url())
            .env("DEMO_API_KEY", backend.api_key())
            .env_remove("SCIMGATE_CONFIG")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("cannot start scimgate serve")?;
        processes.0.push(child);
        replicas.push(Replica {
            base: format!("http://127.0.0.1:{port}/scim/v2"),
            log,
        });
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    // Both replicas start together (racing migrations); wait until both answer.
    for (index, replica) in replicas.iter().enumerate() {
        let health = replica.base.replace("/scim/v2", "/healthz");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = processes.0[index].try_wait()? {
                let log = std::fs::read_to_string(&replica.log).unwrap_or_default();
                bail!("replica {index} exited with {status}:\n{log}");
            }
            if let Ok(reply) = client.get(&health).send().await
                && reply.status() == StatusCode::OK
            {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "replica {index} did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let replicas: [Replica; 2] = replicas
        .try_into()
        .map_err(|_| anyhow::anyhow!("two replicas"))?;
    Ok(Some(Cluster {
        backend,
        replicas,
        client,
        schema,
        processes,
        _dir: dir,
    }))
}

impl Cluster {
    /// Sends one SCIM request to replica `index`; returns the status and the JSON body (Null
    /// when empty).
    async fn send(
        &self,
        index: usize,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value)> {
        let url = format!("{}{path}", self.replicas[index].base);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .bearer_auth(TOKEN)
            .header("accept", "application/scim+json");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(serde_json::to_vec(body)?);
        }
        let reply = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = reply.status();
        let bytes = reply.bytes().await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{method} {url}: not JSON: {bytes:?}"))?
        };
        Ok((status, value))
    }

    /// Like [`Cluster::send`], failing unless the status is one of `expected`.
    async fn expect(
        &self,
        index: usize,
        method: Method,
        path: &str,
        body: Option<&Value>,
        expected: &[u16],
    ) -> Result<Value> {
        let (status, value) = self.send(index, method.clone(), path, body).await?;
        ensure!(
            expected.contains(&status.as_u16()),
            "replica {index}: {method} {path} answered {status} (expected {expected:?}): {value}\n\
             replica log:\n{}",
            std::fs::read_to_string(&self.replicas[index].log).unwrap_or_default()
        );
        Ok(value)
    }

    async fn filter(&self, index: usize, resource: &str, filter: &str) -> Result<Value> {
        let encoded =
            percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC);
        self.expect(
            index,
            Method::GET,
            &format!("/{resource}?filter={encoded}"),
            None,
            &[200],
        )
        .await
    }
}

fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Ann Lee",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
    })
}

fn id_of(value: &Value) -> Result<String> {
    value["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {value}"))
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn entra_flow_alternating_between_two_replicas() -> Result<()> {
    let Some(cluster) = start().await? else {
        return Ok(());
    };
    let (a, b) = (0, 1);
    let user_name = format!("ann.{}@example.com", uuid::Uuid::new_v4().simple());
    let external_id = uuid::Uuid::new_v4().to_string();

    // Entra's match before a create: nobody yet.
    let none = cluster
        .filter(a, "Users", &format!("userName eq \"{user_name}\""))
        .await?;
    assert_eq!(none["totalResults"], 0, "{none}");

    let created = cluster
        .expect(
            b,
            Method::POST,
            "/Users",
            Some(&entra_user(&user_name, &external_id)),
            &[201],
        )
        .await?;
    let id = id_of(&created)?;
    assert_eq!(created["userName"], json!(user_name));
    assert_eq!(created["externalId"], json!(external_id));
    assert_eq!(cluster.backend.user_count(), 1);

    // The other replica knows the gateway-minted id (it lives only in the shared store).
    let read = cluster
        .expect(a, Method::GET, &format!("/Users/{id}"), None, &[200])
        .await?;
    assert_eq!(read["id"], json!(id));
    assert_eq!(read["userName"], json!(user_name));
    assert_eq!(read["externalId"], json!(external_id));
    assert_eq!(read["active"], json!(true));

    // Matching by externalId (a stored attribute) on the other replica.
    let matched = cluster
        .filter(b, "Users", &format!("externalId eq \"{external_id}\""))
        .await?;
    assert_eq!(matched["totalResults"], 1, "{matched}");
    assert_eq!(matched["Resources"][0]["id"], json!(id));

    // Entra's PATCH: disable, add a display name, replace the family name.
    let patch = json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "displayName", "value": "Ann Lee-Smith"},
            {"op": "Replace", "path": "name.familyName", "value": "Lee-Smith"},
        ],
    });
    cluster
        .expect(
            a,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&patch),
            &[200, 204],
        )
        .await?;
    let patched = cluster
        .expect(b, Method::GET, &format!("/Users/{id}"), None, &[200])
        .await?;
    assert_eq!(patched["active"], json!(false), "{patched}");
    assert_eq!(patched["displayName"], json!("Ann Lee-Smith"));
    assert_eq!(patched["name"]["familyName"], json!("Lee-Smith"));
    assert_eq!(patched["externalId"], json!(external_id));
    let backend_id = cluster
        .backend
        .user_id_by_username(&user_name)
        .context("the backend user")?;
    let backend_user = cluster.backend.user(backend_id).context("backend user")?;
    assert_eq!(backend_user["status"], json!("disabled"), "{backend_user}");
    assert_eq!(backend_user["last_name"], json!("Lee-Smith"));

    // A group, created on one replica, members changed on the other.
    let group_name = format!("Sales {}", uuid::Uuid::new_v4().simple());
    let group = cluster
        .expect(
            a,
            Method::POST,
            "/Groups",
            Some(&json!({
                "schemas": [GROUP_SCHEMA],
                "externalId": uuid::Uuid::new_v4().to_string(),
                "displayName": group_name,
            })),
            &[201],
        )
        .await?;
    let gid = id_of(&group)?;
    let add = json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": id}]}],
    });
    cluster
        .expect(
            b,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(&add),
            &[200, 204],
        )
        .await?;
    let with_member = cluster
        .expect(a, Method::GET, &format!("/Groups/{gid}"), None, &[200])
        .await?;
    assert_eq!(member_ids(&with_member), vec![id.clone()], "{with_member}");
    let remove = json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Remove", "path": format!("members[value eq \"{id}\"]")}],
    });
    cluster
        .expect(
            a,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(&remove),
            &[200, 204],
        )
        .await?;
    let without = cluster
        .expect(b, Method::GET, &format!("/Groups/{gid}"), None, &[200])
        .await?;
    assert!(member_ids(&without).is_empty(), "{without}");

    // Delete on one replica: gone on both, and in the backend.
    cluster
        .expect(b, Method::DELETE, &format!("/Users/{id}"), None, &[204])
        .await?;
    cluster
        .expect(a, Method::GET, &format!("/Users/{id}"), None, &[404])
        .await?;
    cluster
        .expect(b, Method::GET, &format!("/Users/{id}"), None, &[404])
        .await?;
    assert_eq!(cluster.backend.user_id_by_username(&user_name), None);
    cluster
        .expect(a, Method::DELETE, &format!("/Groups/{gid}"), None, &[204])
        .await?;
    cluster
        .expect(b, Method::GET, &format!("/Groups/{gid}"), None, &[404])
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_through_both_replicas_make_one_user() -> Result<()> {
    let Some(cluster) = start().await? else {
        return Ok(());
    };
    let cluster = std::sync::Arc::new(cluster);
    let user_name = format!("Race.{}@example.com", uuid::Uuid::new_v4().simple());
    let external_id = uuid::Uuid::new_v4().to_string();
    let body = entra_user(&user_name, &external_id);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (cluster, body) = (cluster.clone(), body.clone());
            tokio::spawn(async move {
                cluster
                    .send(i % 2, Method::POST, "/Users", Some(&body))
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let (status, value) = task.await??;
        match status.as_u16() {
            201 => ids.push(id_of(&value)?),
            409 => {
                assert_eq!(value["scimType"], json!("uniqueness"), "{value}");
                conflicts += 1;
            }
            other => bail!(
                "a racing create answered {other}: {value}\nreplica logs:\n{}\n{}",
                std::fs::read_to_string(&cluster.replicas[0].log).unwrap_or_default(),
                std::fs::read_to_string(&cluster.replicas[1].log).unwrap_or_default()
            ),
        }
    }
    eprintln!(
        "16 racing creates through two replicas: {} answered 201, {conflicts} answered 409",
        ids.len()
    );
    assert!(
        !ids.is_empty(),
        "no create succeeded ({conflicts} conflicts)"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "several SCIM ids for one user: {ids:?}");
    let id = &ids[0];

    // One backend user, one active store record for the name, found by both replicas.
    assert_eq!(cluster.backend.user_count(), 1);
    let backend_id = cluster
        .backend
        .user_id_by_username(&user_name)
        .context("the backend user")?;
    let records = cluster
        .schema
        .count(
            "SELECT COUNT(*) FROM records WHERE kind = 'User' AND unique_key = $1",
            &user_name.to_lowercase(),
        )
        .await?;
    assert_eq!(records, 1);
    let active = cluster
        .schema
        .count(
            "SELECT COUNT(*) FROM records WHERE kind = 'User' AND state = 'active' \
             AND backend_id = $1",
            &backend_id.to_string(),
        )
        .await?;
    assert_eq!(active, 1);
    for index in 0..2 {
        let found = cluster
            .filter(index, "Users", &format!("userName eq \"{user_name}\""))
            .await?;
        assert_eq!(found["totalResults"], 1, "replica {index}: {found}");
        assert_eq!(found["Resources"][0]["id"], json!(id), "replica {index}");
        let by_external = cluster
            .filter(index, "Users", &format!("externalId eq \"{external_id}\""))
            .await?;
        assert_eq!(
            by_external["totalResults"], 1,
            "replica {index}: {by_external}"
        );
    }
    Ok(())
}

/// A replica killed (`kill -9`) in the middle of a create leaves a reservation behind; the
/// other replica sees that its writer is gone (its PostgreSQL session ended with it) and
/// Entra's retry through it creates the user at once (201), instead of meeting 409 until the
/// reservation ages past the backend deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_create_left_by_a_killed_replica_is_taken_over_at_once() -> Result<()> {
    let Some(mut cluster) = start().await? else {
        return Ok(());
    };
    let user_name = format!("Orphan.{}@example.com", uuid::Uuid::new_v4().simple());
    let external_id = uuid::Uuid::new_v4().to_string();
    let body = entra_user(&user_name, &external_id);
    // The backend holds replica 0's create long enough to kill replica 0 in the middle of it.
    cluster
        .backend
        .inject(scimgate::demo::Fault::delay(60_000).on("POST /api/v1/users"));
    let request = cluster
        .client
        .post(format!("{}/Users", cluster.replicas[0].base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(serde_json::to_vec(&body)?)
        .send();
    let in_flight = tokio::spawn(request);
    let pending = "SELECT COUNT(*) FROM records WHERE kind = 'User' AND state = 'pending' \
                   AND unique_key = $1";
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster
        .schema
        .count(pending, &user_name.to_lowercase())
        .await?
        == 0
    {
        ensure!(
            Instant::now() < deadline,
            "replica 0 never reserved the user"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = &mut cluster.processes.0[0];
    killed.kill()?;
    killed.wait()?;
    ensure!(
        in_flight.await?.is_err(),
        "the killed replica answered its create"
    );
    cluster.backend.clear_faults();

    // Entra retries through the surviving replica: filter first, then create.
    let found = cluster
        .filter(1, "Users", &format!("userName eq \"{user_name}\""))
        .await?;
    assert_eq!(found["totalResults"], 0, "{found}");
    let created = cluster
        .expect(1, Method::POST, "/Users", Some(&body), &[201])
        .await?;
    let id = id_of(&created)?;
    assert_eq!(
        cluster
            .schema
            .count(pending, &user_name.to_lowercase())
            .await?,
        0,
        "the orphaned reservation is gone"
    );
    let by_external = cluster
        .filter(1, "Users", &format!("externalId eq \"{external_id}\""))
        .await?;
    assert_eq!(
        by_external["Resources"][0]["id"],
        json!(id),
        "{by_external}"
    );
    assert!(
        cluster.backend.user_id_by_username(&user_name).is_some(),
        "the backend has the user"
    );
    Ok(())
}

/// The same race inside one process on SQLite (no PostgreSQL needed): a reservation of a
/// create still in flight is not stale, so racing creates answer 409, never 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_through_one_gateway_make_one_user() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let demo = scimgate::app::start_demo(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Some(TOKEN.to_owned()),
    )
    .await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let user_name = format!("solo.{}@example.com", uuid::Uuid::new_v4().simple());
    let body = entra_user(&user_name, &uuid::Uuid::new_v4().to_string());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let request = client
                .post(format!("{}/Users", demo.scim_base_url))
                .bearer_auth(TOKEN)
                .header("content-type", "application/scim+json")
                .body(body.to_string());
            tokio::spawn(async move {
                let reply = request.send().await?;
                let status = reply.status().as_u16();
                let value: Value = reply.json().await?;
                anyhow::Ok((status, value))
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        match task.await?? {
            (201, value) => ids.push(id_of(&value)?),
            (409, value) => assert_eq!(value["scimType"], json!("uniqueness"), "{value}"),
            (status, value) => bail!("a racing create answered {status}: {value}"),
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(demo.backend.user_count(), 1);
    demo.shutdown().await;
    Ok(())
}
