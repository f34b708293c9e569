//! Configuration reload: a new mapping or token list applies to the next request on an open
//! keep-alive connection; a broken file keeps the old configuration and says why. Through the
//! library (`Reloader::reload`) and through the real binary with SIGHUP.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use scimgate::app;
use scimgate::demo::{DemoOptions, DemoServer, Fault};
use scimgate::reload::{self, Reloader};
use scimgate::server::auth::token_hash_line;
use scimgate::server::{Server, ServerHandle};
use scimgate::settings::Settings;
use serde_json::json;

const DEMO_MAPPING: &str = include_str!("../../mappings/demo.yaml");
const BROKEN_MAPPING: &str = include_str!("../fixtures/invalid/yaml_syntax.yaml");
const OPEN_POLICY: &str = "email_domains: []";
const CLOSED_POLICY: &str = "email_domains: [example.com]";

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scimgate-reload-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The demo mapping pointed at `backend`, with its email-domain policy `policy`.
fn write_mapping(dir: &Path, backend: &DemoServer, policy: &str) {
    write_mapping_with(dir, backend, OPEN_POLICY, policy);
}

/// The demo mapping pointed at `backend`, with `from` replaced by `to`. When they differ its
/// `tests:` section is cut, as the change makes some of them fail (a reload refuses a mapping
/// whose tests fail).
fn write_mapping_with(dir: &Path, backend: &DemoServer, from: &str, to: &str) {
    let mut text = DEMO_MAPPING
        .replace(
            "${DEMO_BACKEND_URL:-http://127.0.0.1:8081}",
            &backend.base_url(),
        )
        .replace(from, to);
    assert!(
        text.contains(&backend.base_url()) && text.contains(to),
        "mappings/demo.yaml changed shape; update this test"
    );
    if from != to {
        let tests = text.find("\ntests:").expect("demo.yaml has tests");
        text.truncate(tests + 1);
    }
    std::fs::write(dir.join("mapping.yaml"), text).expect("write mapping");
}

fn write_settings(dir: &Path, listen: &str, tokens: &[&str]) -> PathBuf {
    let hashes: Vec<String> = tokens
        .iter()
        .map(|token| format!("\"{}\"", token_hash_line(token)))
        .collect();
    let path = dir.join("scimgate.yaml");
    let yaml = format!(
        "server:\n  listen: \"{listen}\"\n  public_base_url: \"http://127.0.0.1\"\n  \
         tls: {{ mode: none }}\n  shutdown_grace: 1s\n\
         store: {{ sqlite_path: \"{}\" }}\n\
         log: {{ format: json, level: info }}\n\
         tenants:\n  - name: acme\n    mapping: mapping.yaml\n    \
         auth: {{ bearer: {{ token_hashes: [{}] }} }}\n",
        dir.join("store.sqlite3").display(),
        hashes.join(", ")
    );
    std::fs::write(&path, yaml).expect("write settings");
    path
}

/// What `scimgate serve --config <settings>` starts, through the library.
async fn serve(settings_file: &Path) -> (ServerHandle, Arc<Reloader>) {
    let settings = Settings::load(Some(settings_file)).expect("settings");
    let store = app::open_store(&settings).await.expect("store");
    let env = |name: &str| std::env::var(name).ok();
    let tenants = app::build_tenants(&settings, &store, &|path| app::load_mapping(path, &env))
        .expect("tenants");
    let server = Server::bind(&settings.server, tenants).await.expect("bind");
    let reloader = Arc::new(Reloader::new(
        Some(settings_file.to_owned()),
        settings,
        store,
        server.live_config(),
    ));
    (server.spawn(), reloader)
}

/// One HTTP/1.1 keep-alive connection; every request goes over the same socket.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(addr: std::net::SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        Self { sender }
    }

    /// Sends one request; panics if the connection was closed in between.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        assert!(!self.sender.is_closed(), "the server closed the connection");
        self.sender.ready().await.expect("connection still open");
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/scim+json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .expect("request");
        let response = self
            .sender
            .send_request(request)
            .await
            .expect("response on the same connection");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    async fn create(&mut self, token: &str, user_name: &str) -> (StatusCode, serde_json::Value) {
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": { "givenName": "Ann", "familyName": "Lee" },
            "displayName": "Ann Lee",
            "active": true,
        });
        self.send("POST", "/scim/v2/Users", token, Some(user)).await
    }
}

#[tokio::test]
async fn a_reload_applies_a_new_mapping_and_token_to_the_next_request_on_the_same_connection() {
    let backend = DemoServer::start(([127, 0, 0, 1], 0).into(), DemoOptions::default())
        .await
        .expect("backend");
    let dir = temp_dir();
    write_mapping(&dir, &backend, OPEN_POLICY);
    let settings_file = write_settings(&dir, "127.0.0.1:0", &["old-token"]);
    let (server, reloader) = serve(&settings_file).await;
    let mut connection = Connection::open(server.local_addr()).await;

    let (status, body) = connection.create("old-token", "ann@other.org").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "new-token", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    write_mapping(&dir, &backend, CLOSED_POLICY);
    write_settings(&dir, "127.0.0.1:0", &["old-token", "new-token"]);
    let report = reloader.reload().expect("the reload succeeds");
    assert_eq!(report.tenants, vec!["acme".to_owned()]);
    assert!(report.restart_required.is_empty(), "{report:?}");
    assert_eq!((report.reloads, report.failures), (1, 0));

    let (status, body) = connection.create("old-token", "bob@other.org").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the new mapping's domain policy applies: {body}"
    );
    assert!(body["detail"].to_string().contains("other.org"), "{body}");
    let (status, body) = connection.create("new-token", "bob@example.com").await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the new token is accepted: {body}"
    );

    server.shutdown().await.expect("shutdown");
    backend.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_broken_mapping_or_settings_file_keeps_the_old_configuration_and_says_where() {
    let backend = DemoServer::start(([127, 0, 0, 1], 0).into(), DemoOptions::default())
        .await
        .expect("backend");
    let dir = temp_dir();
    write_mapping(&dir, &backend, OPEN_POLICY);
    let settings_file = write_settings(&dir, "127.0.0.1:0", &["old-token"]);
    let (server, reloader) = serve(&settings_file).await;
    let mut connection = Connection::open(server.local_addr()).await;
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "old-token", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // A mapping with a YAML syntax error (and a new token beside it, which must not apply).
    let mapping_file = dir.join("mapping.yaml");
    std::fs::write(&mapping_file, BROKEN_MAPPING).expect("write");
    write_settings(&dir, "127.0.0.1:0", &["new-token"]);
    let error = reloader.reload().expect_err("a broken mapping is refused");
    let reload::Error::Tenants { problems } = &error else {
        panic!("expected a mapping problem, got {error:?}");
    };
    let place = format!("{}:4:20:", mapping_file.display());
    assert!(
        problems.iter().any(|problem| problem.starts_with(&place)),
        "{problems:?} should name {place}"
    );
    assert!(!error.to_string().contains('\n'), "one line: {error}");
    let (status, body) = connection.create("old-token", "ann@other.org").await;
    assert_eq!(status, StatusCode::CREATED, "old configuration: {body}");
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "new-token", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the new token did not apply"
    );

    // A mapping whose own tests fail is refused as `scimgate check` refuses it.
    let failing = DEMO_MAPPING
        .replace(
            "${DEMO_BACKEND_URL:-http://127.0.0.1:8081}",
            &backend.base_url(),
        )
        .replace(
            "displayName:      \"$.display_name\"",
            "displayName: \"$.notes\"",
        );
    assert!(
        failing.contains("$.notes"),
        "mappings/demo.yaml changed shape"
    );
    std::fs::write(&mapping_file, failing).expect("write");
    let error = reloader
        .reload()
        .expect_err("failing mapping tests are refused");
    assert!(error.to_string().contains("test `"), "{error}");

    // A settings file that is not YAML.
    write_mapping(&dir, &backend, OPEN_POLICY);
    std::fs::write(&settings_file, "tenants: [\n  - name: acme\n  mapping").expect("write");
    let error = reloader.reload().expect_err("broken settings are refused");
    assert!(
        matches!(&error, reload::Error::Settings { file, .. } if file.ends_with("scimgate.yaml")),
        "{error:?}"
    );
    assert!(error.to_string().contains("line 2 column 3"), "{error}");
    assert!(!error.to_string().contains('\n'), "one line: {error}");
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "old-token", None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "still serving the old configuration"
    );

    // A restart-only key is named and kept; the rest applies.
    write_settings(&dir, "127.0.0.1:1", &["new-token"]);
    let report = reloader.reload().expect("the reload succeeds");
    assert_eq!(report.restart_required, vec!["server.listen"]);
    assert_eq!((report.reloads, report.failures), (1, 3));
    assert_eq!(
        reloader.settings().server.listen,
        "127.0.0.1:0".parse().expect("addr"),
        "the running listen address is kept"
    );
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "new-token", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    server.shutdown().await.expect("shutdown");
    backend.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_in_flight_request_finishes_on_the_configuration_it_started_with() {
    let backend = DemoServer::start(([127, 0, 0, 1], 0).into(), DemoOptions::default())
        .await
        .expect("backend");
    let dir = temp_dir();
    write_mapping(&dir, &backend, OPEN_POLICY);
    let settings_file = write_settings(&dir, "127.0.0.1:0", &["old-token"]);
    let (server, reloader) = serve(&settings_file).await;
    backend.inject(Fault::delay(700).on("POST /api/v1/users").times(1));
    let mut connection = Connection::open(server.local_addr()).await;
    let in_flight = tokio::spawn(async move {
        let reply = connection.create("old-token", "ann@example.com").await;
        (reply, connection)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while backend.calls().route("POST /api/v1/users") == 0 {
        assert!(
            Instant::now() < deadline,
            "the create never reached the backend"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // displayName now reads the backend's first name.
    write_mapping_with(
        &dir,
        &backend,
        "displayName:      \"$.display_name\"",
        "displayName:      \"$.first_name\"",
    );
    reloader.reload().expect("the reload succeeds");

    let ((status, body), mut connection) = in_flight.await.expect("join");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["displayName"], "Ann Lee",
        "answered with the old mapping"
    );
    let id = body["id"].as_str().expect("id").to_owned();
    let (status, body) = connection
        .send("GET", &format!("/scim/v2/Users/{id}"), "old-token", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["displayName"], "Ann",
        "the next request uses the new mapping"
    );

    server.shutdown().await.expect("shutdown");
    backend.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real binary, killed when dropped; its stdout and stderr lines collected.
struct Gateway {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    fn spawn(settings_file: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scimgate"))
            .args(["serve", "--config"])
            .arg(settings_file)
            .env_remove("SCIMGATE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scimgate");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for reader in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    log.lock().expect("log").push(line);
                }
            });
        }
        Self { child, log }
    }

    /// Waits for the `nth` (1-based) log line containing `needle` and returns it.
    async fn wait_for(&mut self, needle: &str, nth: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self
                .log
                .lock()
                .expect("log")
                .iter()
                .filter(|line| line.contains(needle))
                .nth(nth - 1)
            {
                return line.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("scimgate exited ({status}): {:#?}", self.log.lock());
            }
            assert!(
                Instant::now() < deadline,
                "no log line with `{needle}`: {:#?}",
                self.log.lock()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -HUP failed");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sighup_reloads_the_real_binary_without_dropping_the_connection() {
    let backend = DemoServer::start(([127, 0, 0, 1], 0).into(), DemoOptions::default())
        .await
        .expect("backend");
    let dir = temp_dir();
    write_mapping(&dir, &backend, OPEN_POLICY);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .expect("free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let settings_file = write_settings(&dir, &listen, &["old-token"]);
    let mut gateway = Gateway::spawn(&settings_file);
    gateway.wait_for("Gateway listening", 1).await;

    let mut connection = Connection::open(listen.parse().expect("addr")).await;
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "old-token", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "new-token", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    write_settings(&dir, &listen, &["new-token"]);
    gateway.hangup();
    gateway.wait_for("Configuration reloaded", 1).await;
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "new-token", None)
        .await;
    assert_eq!(status, StatusCode::OK, "the new token is accepted");
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "old-token", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old token is gone");

    let mapping_file = dir.join("mapping.yaml");
    std::fs::write(&mapping_file, BROKEN_MAPPING).expect("write");
    gateway.hangup();
    let line = gateway.wait_for("Configuration reload failed", 1).await;
    let place = format!("{}:4:20:", mapping_file.display());
    assert!(line.contains(&place), "{line} should name {place}");
    assert!(line.contains("\"failures\":1"), "{line}");
    let (status, _) = connection
        .send("GET", "/scim/v2/Users", "new-token", None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "still serving the previous configuration"
    );

    drop(gateway);
    backend.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
