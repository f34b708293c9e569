//! Connections (issue 14) over real sockets: the gateway with three connection mappings over
//! the example API's workspaces (routed by path, by Host, and by the token alone), one
//! store, the admin API on the admin listener, and the poller that keeps every change live.

mod cli;
mod credentials;
mod isolation;
mod lifecycle;
mod policies;
mod product_keys;
mod reconcile;
mod replicas;
mod secrets;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use scimgate::app;
use scimgate::connection::Registry;
use scimgate::demo::{DemoOptions, DemoServer};
use scimgate::mapping;
use scimgate::server::{Server, ServerHandle};
use scimgate::settings::Settings;
use scimgate::store::Store;
use serde_json::{Value, json};

/// The example connection mapping, as shipped.
pub(crate) const WORKSPACES: &str = include_str!("../../../mappings/demo-workspaces.yaml");

/// A running gateway serving connections.
pub(crate) struct Conns {
    pub(crate) demo: DemoServer,
    pub(crate) registry: Arc<Registry>,
    _server: ServerHandle,
    _admin: ServerHandle,
    _poller: tokio::task::JoinHandle<()>,
    pub(crate) addr: SocketAddr,
    admin_addr: SocketAddr,
    client: reqwest::Client,
    admin_token: String,
}

/// A response, read.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) text: String,
}

impl Answer {
    /// Asserts the status; returns the JSON body (`null` when empty).
    pub(crate) fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        if self.text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&self.text)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
        }
    }
}

/// Starts the example API and the gateway over `store` (in-memory SQLite when `None`).
pub(crate) async fn start(store: Option<Arc<dyn Store>>) -> Result<Conns> {
    start_with(store, WORKSPACES.to_owned(), None).await
}

/// Like [`start`], with this mapping text for every connection mapping and, when given, a
/// file holding the secrets key.
pub(crate) async fn start_with(
    store: Option<Arc<dyn Store>>,
    mapping_text: String,
    secret_key_file: Option<&Path>,
) -> Result<Conns> {
    let api_key = format!("conn-backend-{}", uuid::Uuid::new_v4().simple());
    let demo = DemoServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        DemoOptions {
            api_key: api_key.clone(),
            seed_users: 0,
        },
    )
    .await?;
    let (admin_token, admin_hash) = scimgate::server::auth::new_token();
    let yaml = format!(
        "server:\n  listen: \"127.0.0.1:0\"\n  public_base_url: \"http://gateway.test\"\n  \
         admin_listen: \"127.0.0.1:0\"\n  tls:\n    mode: none\n\
         connections:\n  admin_token_hashes: [\"{admin_hash}\"]\n  poll_interval: 100ms\n{secret}  \
         mappings:\n\
         \x20   - {{ name: workspaces, mapping: mappings/demo-workspaces.yaml, path: \"/ws/{{connection}}/scim/v2\" }}\n\
         \x20   - {{ name: hosted, mapping: mappings/demo-workspaces.yaml, host: \"{{connection}}.scim.test\", base_path: /api/scim/v2 }}\n\
         \x20   - {{ name: shared, mapping: mappings/demo-workspaces.yaml, base_path: /scim/v2 }}\n",
        secret = secret_key_file
            .map(|file| format!("  secret_key_from_file: \"{}\"\n", file.display()))
            .unwrap_or_default()
    );
    let settings = Settings::load_with(None, Some(&yaml), Some(config::Map::new()))
        .map_err(|error| anyhow!("settings: {error}"))?;
    let store: Arc<dyn Store> = match store {
        Some(store) => store,
        None => Arc::new(scimgate::store::SqliteStore::open_in_memory()?),
    };
    let backend_url = demo.base_url();
    let env = move |name: &str| match name {
        "DEMO_BACKEND_URL" => Some(backend_url.clone()),
        "DEMO_API_KEY" => Some(api_key.clone()),
        _ => None,
    };
    let mappings = |_: &Path| {
        mapping::load("mappings/demo-workspaces.yaml", &mapping_text, &env)
            .map_err(|problems| problems.0.iter().map(ToString::to_string).collect())
    };
    let registry = app::build_connections(&settings, &store, &mappings)
        .await?
        .ok_or_else(|| anyhow!("connections are configured"))?;
    let poller = registry.spawn_poller(settings.connections.poll_interval);
    let admin_listen = settings
        .server
        .admin_listen
        .ok_or_else(|| anyhow!("admin_listen is set"))?;
    let admin = Server::bind_admin_with_connections(
        &settings.server,
        admin_listen,
        Vec::new(),
        Some(Arc::clone(&registry)),
    )
    .await?;
    let server =
        Server::bind_with_connections(&settings.server, Vec::new(), Some(Arc::clone(&registry)))
            .await?;
    Ok(Conns {
        demo,
        registry,
        addr: server.local_addr(),
        admin_addr: admin.local_addr(),
        _server: server.spawn(),
        _admin: admin.spawn(),
        _poller: poller,
        client: reqwest::Client::builder().no_proxy().build()?,
        admin_token,
    })
}

/// A SCIM user body.
pub(crate) fn user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": external_id,
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
    })
}

impl Conns {
    /// The SCIM base URL of connection `id` routed by path.
    pub(crate) fn scim(&self, id: &str) -> String {
        format!("http://{}/ws/{id}/scim/v2", self.addr)
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        host: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.client.request(method.parse().expect("method"), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(host) = host {
            request = request.header(http::header::HOST, host);
        }
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request");
        Answer {
            status: response.status().as_u16(),
            text: response.text().await.expect("body"),
        }
    }

    /// A SCIM call with `token`.
    pub(crate) async fn scim_call(
        &self,
        method: &str,
        url: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.send(method, url, Some(token), None, body).await
    }

    /// A SCIM call with this `Authorization` value.
    pub(crate) async fn scim_auth(
        &self,
        method: &str,
        url: &str,
        authorization: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.client.request(method.parse().expect("method"), url);
        request = request.header(http::header::AUTHORIZATION, authorization);
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request");
        Answer {
            status: response.status().as_u16(),
            text: response.text().await.expect("body"),
        }
    }

    /// A SCIM call with `token` and a `Host` header.
    pub(crate) async fn scim_host(
        &self,
        method: &str,
        url: &str,
        host: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        self.send(method, url, Some(token), Some(host), body).await
    }

    /// An admin API call (with the admin token unless `token` is given).
    pub(crate) async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let url = format!("http://{}{path}", self.admin_addr);
        let token = self.admin_token.clone();
        let mut request = self.client.request(method.parse().expect("method"), &url);
        request = request.bearer_auth(&token);
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request");
        Answer {
            status: response.status().as_u16(),
            text: response.text().await.expect("body"),
        }
    }

    /// An admin API call without a token, or with `token`.
    pub(crate) async fn admin_as(&self, token: Option<&str>, method: &str, path: &str) -> Answer {
        let url = format!("http://{}{path}", self.admin_addr);
        self.send(method, &url, token, None, None).await
    }

    /// Creates connection `id` of `workspaces` in workspace 5 with these secret variables.
    pub(crate) async fn create_with_secrets(&self, id: &str, secrets: Value) -> (Value, String) {
        let created = self
            .admin(
                "POST",
                "/admin/v1/connections",
                Some(&json!({"id": id, "mapping": "workspaces",
                             "variables": {"workspace_id": "5", "idp": "entra"},
                             "secret_variables": secrets})),
            )
            .await
            .expect(201);
        let token = created["token"].as_str().expect("token").to_owned();
        (created, token)
    }

    /// Creates connection `id` of mapping `mapping` with `variables`; returns its token.
    pub(crate) async fn create(
        &self,
        id: &str,
        mapping: &str,
        variables: Value,
    ) -> (Value, String) {
        let created = self
            .admin(
                "POST",
                "/admin/v1/connections",
                Some(
                    &json!({"id": id, "name": format!("Workspace {id}"), "mapping": mapping,
                             "variables": variables}),
                ),
            )
            .await
            .expect(201);
        let token = created["token"].as_str().expect("token").to_owned();
        (created, token)
    }
}
