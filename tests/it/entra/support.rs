//! The Entra suite's fixture: the demo API on a loopback port and the whole gateway (settings →
//! store → mapping → engine → tenant → server) in front of it over HTTPS with a test CA, built
//! the way `app::start_demo` builds it but with `server.tls.mode: files`; a reqwest client that
//! trusts only the test CA; and small helpers for Entra's request shapes.
//!
//! Each test starts its own gateway and backend (cheap: in-memory store, loopback ports), so
//! backend call counts and user counts belong to that test alone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context as _, Result, anyhow, bail};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use scimgate::app;
use scimgate::demo::{DemoOptions, DemoServer};
use scimgate::mapping;
use scimgate::server::auth::{self, AuthSettings, BearerSettings, EntraJwtSettings};
use scimgate::server::{Server, ServerHandle};
use scimgate::settings::Settings;
use scimgate::store::{SqliteStore, Store};
use serde_json::{Value, json};

/// The token Entra's "Secret Token" field holds in these tests.
pub(crate) const TOKEN: &str = "entra-suite-secret-token-0123456789abcdef";
/// A second configured token (rotation).
pub(crate) const ROTATED_TOKEN: &str = "entra-suite-rotated-token-fedcba9876543210";
/// Where the gateway says it lives (its `meta.location`s), deliberately not the socket address:
/// locations come from the settings, never from the `Host` header.
pub(crate) const PUBLIC_BASE: &str = "https://scim.entra.test";

pub(crate) const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub(crate) const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub(crate) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub(crate) const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub(crate) const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName";
/// Microsoft's example custom extension (tutorial: `tag`, from extensionAttribute1).
pub(crate) const MS_CUSTOM: &str =
    "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
pub(crate) const METADATA: &str = "urn:ietf:params:scim:schemas:extension:2.0:Metadata";

/// The two URL families Entra uses: without and with the `aadOptscim062020` feature flag in the
/// Tenant URL. The gateway cannot tell which one a request belongs to (provision-on-demand
/// never sends flagged shapes), so flag-dependent cases run with both.
pub(crate) const FLAGS: [Flag; 2] = [Flag::Off, Flag::On];

/// Whether the Tenant URL carries `?aadOptscim062020`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    Off,
    On,
}

/// The PEM files of a test CA and a leaf for `127.0.0.1`/`localhost`, written once.
struct Pki {
    ca_der: Vec<u8>,
    dir: PathBuf,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make_pki().expect("test PKI"))
}

fn make_pki() -> Result<Pki> {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "scimgate entra suite CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate()?;
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "scimgate entra suite");
    let leaf_key = rcgen::KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;
    let dir = std::env::temp_dir().join(format!("scimgate-entra-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("cert.pem"), leaf.pem())?;
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem())?;
    Ok(Pki {
        ca_der: ca.der().to_vec(),
        dir,
    })
}

/// What differs between gateways in this suite.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// `backend.deadline` (default: the settings' default).
    pub(crate) deadline: Option<&'static str>,
    /// Accept Entra-issued JWTs for this tenant id, with keys from this JWKS URL.
    pub(crate) entra_jwt: Option<(String, String)>,
    /// Users the demo API holds before the test starts.
    pub(crate) seed_users: usize,
    /// A mapping written in the test, instead of the embedded `mappings/demo.yaml` (same
    /// `DEMO_BACKEND_URL` / `DEMO_API_KEY` variables).
    pub(crate) mapping: Option<String>,
}

/// The demo API and the gateway in front of it over HTTPS.
pub(crate) struct Gateway {
    /// The backend, for call counts and state.
    pub(crate) demo: DemoServer,
    _server: ServerHandle,
    addr: SocketAddr,
    client: reqwest::Client,
}

/// A gateway with the default options.
pub(crate) async fn gateway() -> Gateway {
    gateway_with(Options::default()).await
}

/// A gateway with `options`.
pub(crate) async fn gateway_with(options: Options) -> Gateway {
    start(options).await.expect("the gateway starts")
}

async fn start(options: Options) -> Result<Gateway> {
    logs::install();
    // reqwest is built without a crypto provider: the process default is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pki = pki();
    let api_key = "entra-suite-backend-key".to_owned();
    let demo = DemoServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        DemoOptions {
            api_key: api_key.clone(),
            seed_users: options.seed_users,
        },
    )
    .await?;
    let mut yaml = format!(
        "server:\n  listen: \"127.0.0.1:0\"\n  public_base_url: \"{PUBLIC_BASE}\"\n  tls:\n    \
         mode: files\n    cert_file: \"{}\"\n    key_file: \"{}\"\n\
         tenants:\n  - name: entra\n    mapping: mappings/demo.yaml\n",
        pki.dir.join("cert.pem").display(),
        pki.dir.join("key.pem").display(),
    );
    if let Some(deadline) = options.deadline {
        yaml.push_str(&format!("backend:\n  deadline: \"{deadline}\"\n"));
    }
    let mut settings = Settings::load_with(None, Some(&yaml), Some(config::Map::new()))
        .map_err(|error| anyhow!("settings: {error}"))?;
    for tenant in &mut settings.tenants {
        tenant.auth = AuthSettings {
            bearer: Some(BearerSettings {
                token_hashes: vec![
                    auth::token_hash_line(TOKEN),
                    auth::token_hash_line(ROTATED_TOKEN),
                ],
                ..BearerSettings::default()
            }),
            entra_jwt: options
                .entra_jwt
                .as_ref()
                .map(|(tenant_id, jwks_url)| EntraJwtSettings {
                    tenant_id: tenant_id.clone(),
                    audiences: vec![auth::DEFAULT_ENTRA_AUDIENCE.to_owned()],
                    app_id: auth::DEFAULT_ENTRA_APP_ID.to_owned(),
                    issuer: None,
                    jwks_url: Some(jwks_url.clone()),
                    leeway: auth::Leeway::default(),
                }),
            ..AuthSettings::default()
        };
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory()?);
    let backend_url = demo.base_url();
    let env = move |name: &str| match name {
        "DEMO_BACKEND_URL" => Some(backend_url.clone()),
        "DEMO_API_KEY" => Some(api_key.clone()),
        _ => None,
    };
    let text = options.mapping.as_deref().unwrap_or(app::DEMO_MAPPING);
    let mappings = |_: &Path| {
        mapping::load("mappings/demo.yaml (embedded)", text, &env)
            .map_err(|problems| problems.0.iter().map(ToString::to_string).collect())
    };
    let tenants = app::build_tenants(&settings, &store, &mappings)?;
    let server = Server::bind(&settings.server, tenants).await?;
    let addr = server.local_addr();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_der(&pki.ca_der)?])
        .https_only(true)
        .no_proxy()
        .build()?;
    Ok(Gateway {
        demo,
        _server: server.spawn(),
        addr,
        client,
    })
}

/// A response, fully read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "{} body is not JSON ({error}): {:?}",
                self.status, self.body
            )
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts `status` and `Content-Type: application/scim+json`; returns the JSON body.
    pub(crate) fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self.assert_scim_content_type();
        self.json()
    }

    pub(crate) fn assert_scim_content_type(&self) {
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/scim+json"),
            "Content-Type is `{content_type}`, not application/scim+json ({} {:?})",
            self.status,
            self.body
        );
    }

    /// Asserts a SCIM error: this status, the Error schema, `status` as a string, this
    /// `scimType` (or none), and a non-empty `detail`. Returns the body.
    pub(crate) fn expect_error(&self, status: u16, scim_type: Option<&str>) -> Value {
        let body = self.expect(status);
        assert_error_body(&body, status);
        assert_eq!(
            body.get("scimType").and_then(Value::as_str),
            scim_type,
            "scimType of {body}"
        );
        body
    }

    /// Asserts `204 No Content` with an empty body.
    pub(crate) fn expect_no_content(&self) {
        assert_eq!(
            self.status,
            StatusCode::NO_CONTENT,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert!(self.body.is_empty(), "204 with a body: {:?}", self.body);
    }
}

/// The RFC 7644 §3.12 error body shape, as strictly as Entra parses it.
pub(crate) fn assert_error_body(body: &Value, status: u16) {
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]), "{body}");
    assert_eq!(
        body["status"],
        json!(status.to_string()),
        "status must be a string: {body}"
    );
    if let Some(scim_type) = body.get("scimType") {
        let allowed = [
            "invalidFilter",
            "tooMany",
            "uniqueness",
            "mutability",
            "invalidSyntax",
            "invalidPath",
            "noTarget",
            "invalidValue",
            "invalidVers",
            "sensitive",
        ];
        assert!(
            scim_type.as_str().is_some_and(|t| allowed.contains(&t)),
            "scimType {scim_type} is not one of RFC 7644 Table 9"
        );
    }
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(!detail.is_empty(), "no detail: {body}");
    for (key, _) in body.as_object().expect("object") {
        assert!(
            ["schemas", "status", "scimType", "detail"].contains(&key.as_str()),
            "unexpected key `{key}` in {body}"
        );
    }
}

impl Gateway {
    /// `https://127.0.0.1:PORT/scim/v2`.
    pub(crate) fn base(&self) -> String {
        format!("https://127.0.0.1:{}/scim/v2", self.addr.port())
    }

    /// The full URL of `path` (relative to the SCIM base, may hold a query), with the flag.
    pub(crate) fn url(&self, path: &str, flag: Flag) -> String {
        let url = format!("{}{path}", self.base());
        match flag {
            Flag::Off => url,
            Flag::On if url.contains('?') => format!("{url}&aadOptscim062020"),
            Flag::On => format!("{url}?aadOptscim062020"),
        }
    }

    /// A request to `url` (absolute) with the good token.
    pub(crate) fn request(&self, method: &str, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method.parse().expect("method"), url)
            .bearer_auth(TOKEN)
    }

    /// A bare request to `url`: no `Authorization`, no `Accept`.
    pub(crate) fn anonymous(&self, method: &str, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method.parse().expect("method"), url)
    }

    /// Sends, reads the whole answer.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the gateway answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("the body is read");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET` with the good token, as Entra sends it (no `Accept`, no `Content-Type`).
    pub(crate) async fn get(&self, path: &str, flag: Flag) -> Reply {
        self.send(self.request("GET", &self.url(path, flag))).await
    }

    /// `DELETE` with the good token.
    pub(crate) async fn delete(&self, path: &str, flag: Flag) -> Reply {
        self.send(self.request("DELETE", &self.url(path, flag)))
            .await
    }

    /// A body request with Entra's `Content-Type: application/scim+json; charset=utf-8`.
    pub(crate) async fn send_json(
        &self,
        method: &str,
        path: &str,
        flag: Flag,
        body: &Value,
    ) -> Reply {
        self.send(
            self.request(method, &self.url(path, flag))
                .header("content-type", "application/scim+json; charset=utf-8")
                .body(body.to_string()),
        )
        .await
    }

    pub(crate) async fn post(&self, path: &str, flag: Flag, body: &Value) -> Reply {
        self.send_json("POST", path, flag, body).await
    }

    /// `PATCH path` with a `PatchOp` around `operations`.
    pub(crate) async fn patch(&self, path: &str, flag: Flag, operations: Value) -> Reply {
        self.send_json("PATCH", path, flag, &patch_body(&operations))
            .await
    }

    /// `GET /{resource}?filter=…`, URL-encoded as Entra does (`+` for spaces, `%22` quotes),
    /// plus `extra` query text (e.g. `&excludedAttributes=members`).
    pub(crate) async fn filter(&self, resource: &str, filter: &str, extra: &str) -> Reply {
        self.get(
            &format!("/{resource}?filter={}{extra}", encode(filter)),
            Flag::Off,
        )
        .await
    }

    /// The `Resources` of a filter that must answer 200.
    pub(crate) async fn found(&self, resource: &str, filter: &str) -> Vec<Value> {
        let list = self.filter(resource, filter, "").await.expect(200);
        assert_list(&list);
        list["Resources"].as_array().cloned().unwrap_or_default()
    }

    /// Creates a user from `body` (must answer 201); returns the response body.
    pub(crate) async fn create_user(&self, body: &Value) -> Value {
        let created = self.post("/Users", Flag::Off, body).await.expect(201);
        assert!(created["id"].is_string(), "{created}");
        created
    }

    /// A fresh user with Entra's create body and a unique userName; returns (id, userName).
    pub(crate) async fn new_user(&self, prefix: &str) -> (String, String) {
        let user_name = unique_user_name();
        let created = self
            .create_user(&entra_user(&user_name, &unique(prefix)))
            .await;
        (id_of(&created), user_name)
    }

    /// `GET /Users/{id}` (must answer 200).
    pub(crate) async fn user(&self, id: &str) -> Value {
        self.get(&format!("/Users/{id}"), Flag::Off)
            .await
            .expect(200)
    }

    /// A fresh group with a unique name; returns (id, displayName).
    pub(crate) async fn new_group(&self, prefix: &str) -> (String, String) {
        let name = unique(prefix);
        let created = self
            .post("/Groups", Flag::Off, &entra_group(&name, &unique("ext")))
            .await
            .expect(201);
        (id_of(&created), name)
    }

    /// The backend's JSON for a SCIM id (the demo mapping uses backend ids).
    pub(crate) fn backend_user(&self, id: &str) -> Value {
        self.demo
            .user(numeric(id))
            .unwrap_or_else(|| panic!("backend has no user {id}"))
    }

    /// The backend's member ids of a team.
    pub(crate) fn members(&self, id: &str) -> Vec<u64> {
        self.demo
            .team_members(numeric(id))
            .unwrap_or_else(|| panic!("backend has no team {id}"))
    }

    /// Backend calls for `"METHOD /template"` so far.
    pub(crate) fn calls(&self, route: &str) -> u64 {
        self.demo.calls().route(route)
    }
}

/// The demo's numeric id behind a SCIM id.
pub(crate) fn numeric(id: &str) -> u64 {
    id.parse()
        .unwrap_or_else(|_| panic!("`{id}` is not a demo backend id"))
}

/// A name no other test uses.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A userName no other test uses, shaped as in Microsoft's tutorial: `Test_User_<guid>`.
pub(crate) fn unique_user_name() -> String {
    format!("Test_User_{}", uuid::Uuid::new_v4())
}

/// A work email no other test uses, shaped as in Microsoft's tutorial:
/// `Test_User_<guid>@testuser.com` (another guid than the userName's).
pub(crate) fn unique_email() -> String {
    format!("Test_User_{}@testuser.com", uuid::Uuid::new_v4())
}

/// Form-style URL encoding of a query value, as Entra sends filters.
pub(crate) fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The `id` of a resource.
pub(crate) fn id_of(resource: &Value) -> String {
    resource["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {resource}"))
        .to_owned()
}

/// Asserts the ListResponse envelope (schema, integer counters, `Resources` array).
pub(crate) fn assert_list(list: &Value) {
    assert_eq!(list["schemas"], json!([LIST_RESPONSE]), "{list}");
    assert!(list["totalResults"].is_u64(), "{list}");
    assert!(list["startIndex"].is_u64(), "{list}");
    assert!(list["itemsPerPage"].is_u64(), "{list}");
    assert!(list["Resources"].is_array(), "{list}");
}

/// The `PatchOp` envelope.
pub(crate) fn patch_body(operations: &Value) -> Value {
    json!({ "schemas": [PATCH_OP], "Operations": operations })
}

/// The user body Entra posts (entra-behaviour §1.4).
pub(crate) fn entra_user(user_name: &str, external_id: &str) -> Value {
    entra_user_with_email(user_name, &unique_email(), external_id)
}

/// Microsoft's create body (tutorial "Create User") with a chosen work email.
pub(crate) fn entra_user_with_email(user_name: &str, email: &str, external_id: &str) -> Value {
    json!({
        "schemas": [CORE_USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": []
    })
}

/// The group body Entra posts (entra-behaviour §1.8).
pub(crate) fn entra_group(display_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [CORE_GROUP,
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": external_id,
        "displayName": display_name,
        "meta": {"resourceType": "Group"}
    })
}

/// Captured log output of the whole test binary, to check that secrets never reach it.
pub(crate) mod logs {
    use std::io::Write as _;

    use super::{Arc, Mutex, OnceLock};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn sink() -> &'static Sink {
        static SINK: OnceLock<Sink> = OnceLock::new();
        SINK.get_or_init(Sink::default)
    }

    fn json_sink() -> &'static Sink {
        static SINK: OnceLock<Sink> = OnceLock::new();
        SINK.get_or_init(Sink::default)
    }

    /// Installs a global subscriber (debug level for scimgate) writing into memory, once: the
    /// pretty format into [`captured`] and `log.format: json` (`telemetry::json_layer`) into
    /// [`captured_json`]. If another module installed one first, both stay empty and callers
    /// must check that.
    pub(crate) fn install() {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;

        static ONCE: OnceLock<bool> = OnceLock::new();
        ONCE.get_or_init(|| {
            let pretty = sink().clone();
            let json = json_sink().clone();
            tracing_subscriber::registry()
                .with(tracing_subscriber::EnvFilter::new("scimgate=debug"))
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(move || pretty.clone()),
                )
                .with(scimgate::telemetry::json_layer(move || json.clone()))
                .try_init()
                .is_ok()
        });
    }

    fn text_of(sink: &Sink) -> String {
        let mut sink = sink.clone();
        let _ = sink.flush();
        String::from_utf8_lossy(
            &sink
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }

    /// Everything logged so far (pretty format).
    pub(crate) fn captured() -> String {
        text_of(sink())
    }

    /// Everything logged so far, one JSON object per line (`log.format: json`).
    pub(crate) fn captured_json() -> String {
        text_of(json_sink())
    }
}

/// Polls until `check` holds or a second passed (the log writer is synchronous, but the request
/// span may close just after the response was sent).
pub(crate) async fn eventually(check: impl Fn() -> bool) -> bool {
    for _ in 0..50 {
        if check() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    check()
}

/// Fails unless `value` (recursively) holds no JSON `null`.
pub(crate) fn assert_no_nulls(value: &Value, at: &str) -> Result<()> {
    match value {
        Value::Null => bail!("null at {at}"),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_no_nulls(item, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                assert_no_nulls(item, &format!("{at}.{key}")).context("no nulls")?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
