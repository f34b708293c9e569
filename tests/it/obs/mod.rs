//! Observability over real sockets: the JSON log of a full Entra flow (no secret, no personal
//! data; one line per SCIM request with its fields), the audit trail read back through
//! `/admin/audit`, and `/metrics` on the main listener (authenticated) and the admin listener.
//!
//! The fixture: the demo API, and the whole gateway (settings → store → tenants → server) in
//! front of it on plain HTTP with two tenants (`alpha`: bearer + Basic, `beta`: bearer) sharing
//! one in-memory store, plus the admin listener.

mod audit;
mod logs;
mod metrics;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use scimgate::app;
use scimgate::demo::{DemoOptions, DemoServer};
use scimgate::mapping;
use scimgate::server::auth::{self, AuthSettings, BasicUser, BearerSettings};
use scimgate::server::{Server, ServerHandle};
use scimgate::settings::Settings;
use scimgate::store::{SqliteStore, Store};
use serde_json::Value;
use sha2::Digest as _;

use crate::entra::support::logs as captured;

/// A running gateway with its admin listener and secrets of its own.
pub(crate) struct Obs {
    pub(crate) demo: DemoServer,
    _server: ServerHandle,
    _admin: ServerHandle,
    addr: SocketAddr,
    admin_addr: SocketAddr,
    client: reqwest::Client,
    /// `alpha`'s bearer token.
    pub(crate) token: String,
    /// `beta`'s bearer token.
    pub(crate) beta_token: String,
    /// `alpha`'s Basic user and password.
    pub(crate) basic: (String, String),
    /// The backend's API key.
    pub(crate) api_key: String,
}

/// A random hex string.
pub(crate) fn secret(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

pub(crate) async fn start() -> Result<Obs> {
    captured::install();
    let api_key = secret("obs-backend-key-");
    let demo = DemoServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        DemoOptions {
            api_key: api_key.clone(),
            seed_users: 0,
        },
    )
    .await?;
    let yaml = "server:\n  listen: \"127.0.0.1:0\"\n  public_base_url: \"http://gateway.test\"\n  \
                admin_listen: \"127.0.0.1:0\"\n  tls:\n    mode: none\n\
                tenants:\n  - name: alpha\n    mapping: mappings/demo.yaml\n  \
                - name: beta\n    mapping: mappings/demo.yaml\n";
    let mut settings = Settings::load_with(None, Some(yaml), Some(config::Map::new()))
        .map_err(|error| anyhow!("settings: {error}"))?;
    assert!(settings.audit.enabled, "audit is on by default");
    let token = secret("obs-alpha-token-");
    let beta_token = secret("obs-beta-token-");
    let basic = ("provisioner".to_owned(), secret("obs-basic-password-"));
    for tenant in &mut settings.tenants {
        let alpha = tenant.name == "alpha";
        let tenant_token = if alpha { &token } else { &beta_token };
        tenant.auth = AuthSettings {
            bearer: Some(BearerSettings {
                token_hashes: vec![auth::token_hash_line(tenant_token)],
                ..BearerSettings::default()
            }),
            basic: alpha.then(|| {
                vec![BasicUser {
                    username: basic.0.clone(),
                    password_hash: format!(
                        "sha256:{}",
                        hex(&sha2::Sha256::digest(basic.1.as_bytes()))
                    ),
                }]
            }),
            ..AuthSettings::default()
        };
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory()?);
    let backend_url = demo.base_url();
    let key = api_key.clone();
    let env = move |name: &str| match name {
        "DEMO_BACKEND_URL" => Some(backend_url.clone()),
        "DEMO_API_KEY" => Some(key.clone()),
        _ => None,
    };
    let mappings = |_: &Path| {
        mapping::load("mappings/demo.yaml (embedded)", app::DEMO_MAPPING, &env)
            .map_err(|problems| problems.0.iter().map(ToString::to_string).collect())
    };
    let tenants = app::build_tenants(&settings, &store, &mappings)?;
    let admin_listen = settings
        .server
        .admin_listen
        .ok_or_else(|| anyhow!("admin_listen is set"))?;
    let admin = Server::bind_admin(&settings.server, admin_listen, tenants.clone()).await?;
    let server = Server::bind(&settings.server, tenants).await?;
    Ok(Obs {
        demo,
        addr: server.local_addr(),
        admin_addr: admin.local_addr(),
        _server: server.spawn(),
        _admin: admin.spawn(),
        client: reqwest::Client::builder().no_proxy().build()?,
        token,
        beta_token,
        basic,
        api_key,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A response, read.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("{} is not JSON ({error}): {}", self.status, self.text))
    }

    /// Asserts the status; returns the JSON body (or `null` when empty).
    pub(crate) fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub(crate) enum As {
    Alpha,
    Beta,
    Basic,
    Nobody,
    Wrong,
}

impl Obs {
    /// The demo backend (faults, state).
    pub(crate) fn demo(&self) -> &DemoServer {
        &self.demo
    }

    /// `http://127.0.0.1:PORT/alpha/scim/v2`.
    pub(crate) fn alpha(&self) -> String {
        format!("http://{}/alpha/scim/v2", self.addr)
    }

    pub(crate) fn main_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin_addr)
    }

    pub(crate) async fn send(
        &self,
        who: As,
        method: &str,
        url: &str,
        body: Option<&Value>,
        request_id: Option<&str>,
    ) -> Answer {
        let mut request = self.client.request(method.parse().expect("method"), url);
        request = match who {
            As::Alpha => request.bearer_auth(&self.token),
            As::Beta => request.bearer_auth(&self.beta_token),
            As::Basic => request.basic_auth(&self.basic.0, Some(&self.basic.1)),
            As::Nobody => request,
            As::Wrong => request.bearer_auth(format!("{}x", self.token)),
        };
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json; charset=utf-8")
                .body(body.to_string());
        }
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Answer {
            status,
            headers,
            text,
        }
    }

    /// A SCIM request to `alpha` (path relative to its base).
    pub(crate) async fn scim(
        &self,
        who: As,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.send(who, method, &format!("{}{path}", self.alpha()), body, None)
            .await
    }
}

/// The captured JSON log lines (parsed) whose text contains `needle`.
pub(crate) fn json_lines_with(needle: &str) -> Vec<Value> {
    captured::captured_json()
        .lines()
        .filter(|line| line.contains(needle))
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
