//! Issue 15: Argon2 Basic authentication is bounded. 50 Basic requests with a wrong password,
//! each connection closed 20 ms after sending, never run more than
//! `server.limits.password_hash_concurrency` (2) hashes at once, and the process's peak RSS
//! stays under the bound the README states (200 MiB). Then the 6th wrong password in a row
//! gets 429 with `Retry-After`. Over real sockets, against the `scimgate serve` binary.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::AsyncWriteExt;

const TOKEN: &str = "argon-test-token-0123456789abcdef";
/// The RSS bound the README's security section states for the default pool.
const RSS_BOUND_KIB: u64 = 200 * 1024;

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn spawn(dir: &Path, port: u16, login_failures: u32) -> Gateway {
    let phc = scimgate::server::auth::hash_password("the-right-password").expect("hash");
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/demo.yaml");
    let settings = dir.join(format!("settings-{port}.yaml"));
    std::fs::write(
        &settings,
        format!(
            "server:\n  listen: 127.0.0.1:{port}\n  public_base_url: http://127.0.0.1:{port}\n  \
             tls: {{ mode: none }}\n  limits: {{ login_failures: {login_failures} }}\n\
             store:\n  sqlite_path: {}\nlog:\n  level: warn\ntenants:\n  - name: acme\n    \
             mapping: {}\n    auth:\n      bearer: {{ token_hashes: [\"{}\"] }}\n      \
             basic: [{{ username: svc, password_hash: '{phc}' }}]\n",
            dir.join(format!("store-{port}.db")).display(),
            mapping.display(),
            scimgate::server::auth::token_hash_line(TOKEN),
        ),
    )
    .expect("settings");
    let child = Command::new(env!("CARGO_BIN_EXE_scimgate"))
        .args(["serve", "--config"])
        .arg(&settings)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("scimgate starts");
    Gateway(child)
}

async fn wait_healthy(client: &reqwest::Client, port: u16) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway did not start on {port}");
}

fn basic(password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("svc:{password}"))
}

/// A metric's value from `/metrics`.
async fn metric(client: &reqwest::Client, port: u16, name: &str) -> f64 {
    let text = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in {text}"))
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_dropped_basic_requests_run_at_most_the_pool_and_wrong_passwords_back_off() {
    let dir = std::env::temp_dir().join(format!("scimgate-argon-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");

    // 50 requests closed 20 ms after sending (no back-off in the way: a high failure limit).
    let port = free_port();
    let gateway = spawn(&dir, port, 1000);
    wait_healthy(&client, port).await;
    let request = format!(
        "GET /scim/v2/Users HTTP/1.1\r\nhost: localhost\r\nauthorization: Basic {}\r\n\r\n",
        basic("a-wrong-password")
    );
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            tcp.write_all(request.as_bytes()).await.expect("send");
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(tcp);
        }));
    }
    for task in tasks {
        task.await.expect("client");
    }
    // Let every hash that started finish.
    let started = Instant::now();
    while metric(&client, port, "scimgate_password_hashes_running").await > 0.0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "hashes never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peak = metric(&client, port, "scimgate_password_hashes_peak").await;
    assert!(
        (1.0..=2.0).contains(&peak),
        "{peak} hashes ran at once (pool: 2)"
    );
    let rss = peak_rss_kib(gateway.0.id());
    assert!(rss > 0 && rss < RSS_BOUND_KIB, "peak RSS {rss} KiB");
    drop(gateway);

    // Wrong passwords in a row: 5 × 401, then 429 + Retry-After (default login_failures: 5).
    let port = free_port();
    let _gateway = spawn(&dir, port, 5);
    wait_healthy(&client, port).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let response = client
            .get(format!("http://127.0.0.1:{port}/scim/v2/Users"))
            .header("authorization", format!("Basic {}", basic("wrong")))
            .send()
            .await
            .expect("answer");
        statuses.push(response.status().as_u16());
        retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    assert!(
        retry_after.is_some_and(|secs| (1..=60).contains(&secs)),
        "{retry_after:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
