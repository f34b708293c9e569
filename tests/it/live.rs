//! A `scimgate serve` process on a loopback port in front of a real legacy product (Redmine,
//! Request Tracker), shared by the end-to-end modules `redmine` and `request_tracker`: the
//! environment gate, spawning the binary with a generated settings file, and a SCIM client that
//! sends Entra's headers.
//!
//! It knows nothing about a product: each module adds its own calls to the product's API. It
//! must not start or stop the product (the `scripts/*/up.sh` scripts do that).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The bearer token the gateway accepts (its settings read it from `LIVE_E2E_TOKEN`).
const TOKEN: &str = "live-e2e-token-0123456789abcdef0123";
pub(crate) const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The product's URL and credential from `url_var` and `key_var`: `None` (skip) on a developer
/// machine without them, an error when `CI` is set, so CI cannot skip the tests.
pub(crate) fn product_env(
    url_var: &str,
    key_var: &str,
    product: &str,
    up: &str,
) -> Result<Option<(String, String)>> {
    let url = std::env::var(url_var).unwrap_or_default();
    if url.trim().is_empty() {
        if std::env::var_os("CI").is_some() {
            bail!(
                "{url_var} is not set but CI is: the {product} tests must run in CI \
                 (eval \"$({up})\" first)"
            );
        }
        eprintln!("{url_var} not set: {product} test skipped");
        return Ok(None);
    }
    let key = std::env::var(key_var)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .with_context(|| format!("{url_var} is set but {key_var} is not"))?;
    Ok(Some((url.trim().trim_end_matches('/').to_owned(), key)))
}

/// Removes a directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A gateway process, killed when dropped (also when a test fails), and its HTTP client.
pub(crate) struct Live {
    child: Child,
    scim: String,
    /// The client for both sides (no proxy, 60 s timeout).
    pub(crate) client: reqwest::Client,
    log: PathBuf,
    _dir: TempDir,
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `scimgate serve` with one tenant `tenant` whose mapping is `mapping` (the text of a
/// file named `file` under `mappings/`), a fresh SQLite store, plain HTTP and `env` set, and
/// waits until `/healthz` answers.
pub(crate) async fn start(
    tenant: &str,
    file: &str,
    mapping: &str,
    env: &[(&str, &str)],
) -> Result<Live> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = TempDir(std::env::temp_dir().join(format!("scimgate-live-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&dir.0)?;
    let mapping_path = dir.0.join(file);
    std::fs::write(&mapping_path, mapping)?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let settings = dir.0.join("scimgate.yaml");
    std::fs::write(
        &settings,
        format!(
            "server:\n  listen: \"127.0.0.1:{port}\"\n  public_base_url: \"http://127.0.0.1:{port}\"\n  \
             tls: {{ mode: none }}\n  shutdown_grace: 1s\n\
             store:\n  sqlite_path: \"{}\"\n\
             log:\n  format: json\n  level: info\n\
             tenants:\n  - name: {tenant}\n    mapping: \"{}\"\n    auth:\n      bearer:\n        \
             tokens_from_env: [LIVE_E2E_TOKEN]\n",
            dir.0.join("store.sqlite3").display(),
            mapping_path.display()
        ),
    )?;
    let log = dir.0.join("gateway.log");
    let log_file = std::fs::File::create(&log)?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_scimgate"));
    command
        .arg("serve")
        .arg("--config")
        .arg(&settings)
        .env("LIVE_E2E_TOKEN", TOKEN)
        .env_remove("SCIMGATE_CONFIG")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().context("cannot start scimgate serve")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut gateway = Live {
        child,
        scim: format!("http://127.0.0.1:{port}/scim/v2"),
        client,
        log,
        _dir: dir,
    };
    let health = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = gateway.child.try_wait()? {
            bail!("scimgate exited with {status}:\n{}", gateway.log_text());
        }
        if let Ok(reply) = gateway.client.get(&health).send().await
            && reply.status() == StatusCode::OK
        {
            break;
        }
        ensure!(Instant::now() < deadline, "scimgate did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(gateway)
}

/// The status and the JSON body of `reply` (`Null` for an empty body).
pub(crate) async fn json_of(reply: reqwest::Response, what: &str) -> Result<(StatusCode, Value)> {
    let status = reply.status();
    let bytes = reply.bytes().await?;
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).with_context(|| format!("{what}: not JSON: {bytes:?}"))?
    };
    Ok((status, value))
}

/// `text` percent-encoded for a path segment or a query value.
pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Live {
    /// What the gateway logged so far, for failure messages.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One SCIM request as Entra sends it (`application/scim+json; charset=utf-8`); `flag`
    /// appends `?aadOptscim062020` as a Tenant URL with the flag does.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        flag: bool,
    ) -> Result<(StatusCode, Value)> {
        let mut url = format!("{}{path}", self.scim);
        if flag {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("aadOptscim062020");
        }
        let mut request = self.client.request(method.clone(), &url).bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json; charset=utf-8")
                .body(serde_json::to_vec(body)?);
        }
        let reply = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        json_of(reply, &format!("{method} {url}")).await
    }

    /// Like [`Live::send`], failing unless the status is `expected`.
    pub(crate) async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        flag: bool,
        expected: u16,
    ) -> Result<Value> {
        let (status, value) = self.send(method.clone(), path, body, flag).await?;
        ensure!(
            status.as_u16() == expected,
            "{method} {path} answered {status} (expected {expected}): {value}\ngateway log:\n{}",
            self.log_text()
        );
        Ok(value)
    }

    /// A filtered list (groups without their members, as Entra asks), which must answer 200.
    pub(crate) async fn filter(&self, resource: &str, filter: &str) -> Result<Value> {
        let extra = if resource == "Groups" {
            "excludedAttributes=members&"
        } else {
            ""
        };
        self.expect(
            Method::GET,
            &format!("/{resource}?{extra}filter={}", encode(filter)),
            None,
            false,
            200,
        )
        .await
    }

    /// A PATCH with `ops`, which must answer 200 or 204.
    pub(crate) async fn patch(
        &self,
        resource: &str,
        id: &str,
        ops: Value,
        flag: bool,
    ) -> Result<Value> {
        let (status, value) = self.patch_status(resource, id, ops.clone(), flag).await?;
        ensure!(
            matches!(status, 200 | 204),
            "PATCH /{resource}/{id} {ops} answered {status}: {value}\ngateway log:\n{}",
            self.log_text()
        );
        Ok(value)
    }

    /// A PATCH with `ops`: whatever status it answers, and the body.
    pub(crate) async fn patch_status(
        &self,
        resource: &str,
        id: &str,
        ops: Value,
        flag: bool,
    ) -> Result<(u16, Value)> {
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": ops});
        let path = format!("/{resource}/{id}");
        let (status, value) = self.send(Method::PATCH, &path, Some(&body), flag).await?;
        Ok((status.as_u16(), value))
    }
}

/// The `id` a SCIM resource was answered with.
pub(crate) fn id_of(value: &Value) -> Result<String> {
    value["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {value}"))
}
