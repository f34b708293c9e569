//! The connections being served: an in-memory copy of the store's connections, kept current
//! by polling the store's version counter, with the token index the gate looks up.
//!
//! One [`Product`] per connection mapping holds the compiled mapping and the backend client
//! (one connection pool), shared by all of its connections. Each connection gets a cheap
//! engine over them (its store tenant key and its variables) and the services around it
//! (audit, activity). A request's bearer token is hashed once and found in a hash map: O(1),
//! never a scan. An unknown connection, a token of another connection, an expired token and
//! no token at all get the same 401.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::activity::{ActivityLog, Tracked};
use super::product_key::{KeyChecks, Verdict};
use super::secrets::SecretKey;
use super::settings::RouteSpec;
use crate::audit::Audited;
use crate::backend::BackendClient;
use crate::engine::{Engine, EngineOptions, TenantService};
use crate::mapping::Mapping;
use crate::server::auth::{AuthSettings, Authenticator, BasicUser};
use crate::server::{Authenticate, Rejection, Tenant};
use crate::service::{BoxFuture, ScimService};
use crate::store::connections::{Connection, Credential, tenant_key};
use crate::store::{ConnectionStore, Store};

/// The credential kind of a connection that takes product-issued keys (`product_keys:`).
pub const PRODUCT_KEY: &str = "product_key";

/// The `WWW-Authenticate` challenge of a connection's 401.
const CHALLENGE: &str = r#"Bearer realm="scimgate""#;

/// One mapping that serves connections, shared by all of them.
#[derive(Debug)]
pub struct Product {
    /// `connections.mappings[].name`.
    pub name: String,
    /// How its requests find their connection.
    pub route: RouteSpec,
    /// The compiled mapping.
    pub mapping: Arc<Mapping>,
    /// The backend client (one pool for every connection of this mapping).
    pub client: Arc<BackendClient>,
}

/// One connection as served.
pub struct Live {
    /// The connection's id.
    pub id: String,
    /// Which product (index into the registry's products).
    pub product: usize,
    /// What the router serves: the connection's engine behind its services.
    pub tenant: Tenant,
    /// The connection's engine itself (`scimgate reconcile --connection` reads through it).
    pub engine: Arc<Engine>,
    /// The connection's Basic users and Entra JWT pin, when it has any.
    auth: Option<Arc<Authenticator>>,
    /// Whether it takes product-issued keys (a `product_key` credential).
    product_key: bool,
    /// What the live copy was built from (rebuilt only when it changes).
    built_from: BuiltFrom,
}

/// The fields a connection's live copy depends on.
type BuiltFrom = (
    String,
    bool,
    BTreeMap<String, String>,
    Vec<(String, String)>,
);

/// The settings of a connection's non-bearer credentials (`basic`: `hash` is
/// `<username>:<PHC string>`; `entra_jwt`: `hash` is `entra_jwt:{"connection", "tenant_id",
/// "jwks_url"?}`, unique per connection).
pub fn credential_settings(credentials: &[Credential]) -> Option<AuthSettings> {
    let mut settings = AuthSettings::default();
    for credential in credentials {
        match credential.kind.as_str() {
            "basic" => {
                if let Some((username, hash)) = credential.hash.split_once(':') {
                    settings.basic.get_or_insert_with(Vec::new).push(BasicUser {
                        username: username.to_owned(),
                        password_hash: hash.to_owned(),
                    });
                }
            }
            "entra_jwt" => {
                let pin = credential
                    .hash
                    .strip_prefix("entra_jwt:")
                    .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
                if let Some(mut pin) = pin {
                    if let Some(object) = pin.as_object_mut() {
                        object.remove("connection");
                    }
                    settings.entra_jwt = serde_json::from_value(pin).ok();
                }
            }
            _ => {}
        }
    }
    (settings.basic.is_some() || settings.entra_jwt.is_some()).then_some(settings)
}

impl Live {
    /// Whether the connection takes product-issued keys (a `product_key` credential).
    pub fn takes_product_keys(&self) -> bool {
        self.product_key
    }
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("id", &self.id)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

/// One credential in the index.
#[derive(Debug, Clone)]
struct Indexed {
    connection: String,
    credential: String,
    expires_at: Option<OffsetDateTime>,
}

/// The connections at one version of the store.
#[derive(Debug, Default)]
struct State {
    version: Option<i64>,
    by_id: HashMap<String, Arc<Live>>,
    by_hash: HashMap<[u8; 32], Indexed>,
}

/// Everything the request path needs about connections.
pub struct Registry {
    store: Arc<dyn ConnectionStore>,
    records: Arc<dyn Store>,
    products: Vec<Arc<Product>>,
    public_base_url: url::Url,
    deadline: Duration,
    audit: bool,
    state: RwLock<Arc<State>>,
    activity: Arc<ActivityLog>,
    /// SHA-256 digests of the admin API's tokens.
    admin_hashes: Vec<[u8; 32]>,
    /// The key of connection secrets.
    secret_key: Option<SecretKey>,
    /// Serialises refreshes (the poller and a write through the admin API).
    refreshing: tokio::sync::Mutex<()>,
    /// Introspect outcomes of product keys.
    keys: KeyChecks,
    /// The settings file's static tenants, for the admin API (read-only there).
    file_tenants: RwLock<Vec<super::file_tenants::FileTenant>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("products", &self.products)
            .finish_non_exhaustive()
    }
}

/// How the registry is built.
#[derive(Debug)]
pub struct RegistryOptions {
    /// The public URL of the gateway (SCIM base URLs are under it).
    pub public_base_url: url::Url,
    /// `backend.deadline`.
    pub deadline: Duration,
    /// `audit.enabled`.
    pub audit: bool,
    /// `connections.admin_token_hashes`, parsed.
    pub admin_hashes: Vec<[u8; 32]>,
    /// The key of connection secrets, when the settings name one.
    pub secret_key: Option<SecretKey>,
}

/// SHA-256 of a token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Lower-case hex of a digest (the stored form).
pub fn hex(digest: &[u8; 32]) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Parses 64 hex digits (optionally after `sha256:`).
pub fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let text = text.strip_prefix("sha256:").unwrap_or(text);
    if text.len() != 64 {
        return None;
    }
    let mut out = [0_u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// A refusal with the one 401 every failed connection credential gets.
fn refused(reason: &'static str) -> Rejection {
    Rejection {
        detail: "the bearer token is not valid for this SCIM endpoint; create or rotate a \
                 token for the connection and paste it into the Secret Token field"
            .to_owned(),
        reason,
        challenge: CHALLENGE.to_owned(),
        unavailable: false,
        retry_after: None,
    }
}

/// The bearer token of `headers`, if any.
fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// A connection tenant's credential check: never used (the registry authenticates in the
/// gate), refuses everything.
struct CheckedByRegistry;

impl Authenticate for CheckedByRegistry {
    fn authenticate<'a>(
        &'a self,
        _headers: &'a http::HeaderMap,
        _peer: Option<std::net::IpAddr>,
    ) -> BoxFuture<'a, Result<String, Rejection>> {
        Box::pin(std::future::ready(Err(refused("unknown_token"))))
    }
}

/// Where a request to a connection route leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed<'a> {
    /// The product whose route matched.
    pub product: usize,
    /// The connection id the path or host names (`None`: the token picks it).
    pub id: Option<String>,
    /// The path segments after the base path.
    pub rest: Vec<&'a str>,
}

impl Registry {
    /// A registry over `store` (its connections) and `records` (the id map, metered), with
    /// nothing loaded yet; call [`Registry::refresh`] before serving.
    pub fn new(
        store: Arc<dyn ConnectionStore>,
        records: Arc<dyn Store>,
        products: Vec<Product>,
        options: RegistryOptions,
    ) -> Self {
        Self {
            store,
            records,
            products: products.into_iter().map(Arc::new).collect(),
            public_base_url: options.public_base_url,
            deadline: options.deadline,
            audit: options.audit,
            state: RwLock::default(),
            activity: Arc::default(),
            admin_hashes: options.admin_hashes,
            secret_key: options.secret_key,
            refreshing: tokio::sync::Mutex::new(()),
            keys: KeyChecks::default(),
            file_tenants: RwLock::default(),
        }
    }

    /// Sets the static tenants the admin API lists (at start and after each reload).
    pub fn set_file_tenants(&self, tenants: Vec<super::file_tenants::FileTenant>) {
        *self
            .file_tenants
            .write()
            .unwrap_or_else(PoisonError::into_inner) = tenants;
    }

    /// The static tenants of the settings file.
    pub fn file_tenants(&self) -> Vec<super::file_tenants::FileTenant> {
        self.file_tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The public URL of the gateway.
    pub fn public_base_url(&self) -> &url::Url {
        &self.public_base_url
    }

    /// The key of connection secrets, if the settings name one.
    pub fn secret_key(&self) -> Option<&SecretKey> {
        self.secret_key.as_ref()
    }

    /// The store of connections (for the admin API).
    pub fn store(&self) -> &Arc<dyn ConnectionStore> {
        &self.store
    }

    /// The product named `name`.
    pub fn product(&self, name: &str) -> Option<(usize, &Arc<Product>)> {
        self.products
            .iter()
            .enumerate()
            .find(|(_, product)| product.name == name)
    }

    /// Every product.
    pub fn products(&self) -> &[Arc<Product>] {
        &self.products
    }

    /// The SCIM base URL of connection `id` of product `product`.
    pub fn base_url(&self, product: &Product, id: &str) -> String {
        product.route.base_url(&self.public_base_url, id)
    }

    /// Whether `token` is one of the admin API's.
    pub fn is_admin(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        let presented = digest(token);
        self.admin_hashes.iter().fold(false, |found, hash| {
            found | bool::from(hash.ct_eq(&presented))
        })
    }

    fn state(&self) -> Arc<State> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&state)
    }

    /// How many connections are served now.
    pub fn len(&self) -> usize {
        self.state().by_id.len()
    }

    /// Connection `id` as served now (`None`: unknown, or not servable: see the log).
    pub fn connection(&self, id: &str) -> Option<Arc<Live>> {
        self.state().by_id.get(id).cloned()
    }

    /// Whether no connection is served.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Matches `path` (and `host`) against each product's route.
    pub fn route<'a>(&self, path: &'a str, host: Option<&str>) -> Option<Routed<'a>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let prefix = |base: &[String]| {
            base.len() <= segments.len()
                && base
                    .iter()
                    .zip(&segments)
                    .all(|(b, s)| b.eq_ignore_ascii_case(s))
        };
        for (index, product) in self.products.iter().enumerate() {
            match &product.route {
                RouteSpec::Path {
                    segments: template, ..
                } => {
                    if template.len() > segments.len() {
                        continue;
                    }
                    let mut id = None;
                    let matched = template.iter().zip(&segments).all(|(t, s)| match t {
                        Some(literal) => literal.eq_ignore_ascii_case(s),
                        None => {
                            id = Some((*s).to_owned());
                            true
                        }
                    });
                    if matched {
                        return Some(Routed {
                            product: index,
                            id,
                            rest: segments[template.len()..].to_vec(),
                        });
                    }
                }
                RouteSpec::Host {
                    prefix: host_prefix,
                    suffix,
                    base,
                    ..
                } => {
                    let Some(host) = host else { continue };
                    let host = host.rsplit_once(':').map_or(host, |(name, port)| {
                        if port.bytes().all(|b| b.is_ascii_digit()) {
                            name
                        } else {
                            host
                        }
                    });
                    let host = host.to_ascii_lowercase();
                    let Some(id) = host
                        .strip_prefix(host_prefix.as_str())
                        .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                        .filter(|id| !id.is_empty() && !id.contains('.'))
                    else {
                        continue;
                    };
                    if prefix(base) {
                        return Some(Routed {
                            product: index,
                            id: Some(id.to_owned()),
                            rest: segments[base.len()..].to_vec(),
                        });
                    }
                }
                RouteSpec::Credential { base, .. } => {
                    if prefix(base) {
                        return Some(Routed {
                            product: index,
                            id: None,
                            rest: segments[base.len()..].to_vec(),
                        });
                    }
                }
            }
        }
        None
    }

    /// The connection the bearer token of `headers` belongs to, when it is one of
    /// `product`'s (any product's when `None`) and, when the route names one, connection `id`;
    /// with the backend credential to forward when it is a product key. Every refusal is the
    /// same 401 (503 when a product key cannot be checked).
    pub async fn authenticate(
        &self,
        product: Option<usize>,
        id: Option<&str>,
        headers: &http::HeaderMap,
        peer: Option<std::net::IpAddr>,
    ) -> Result<(Arc<Live>, String, Option<crate::backend::Forwarded>), Rejection> {
        let state = self.state();
        let indexed = bearer(headers).and_then(|token| state.by_hash.get(&digest(token)));
        let Some(indexed) = indexed else {
            // Not a gateway-issued token: a product key, or the Basic users or Entra JWT of
            // the connection the route names, if it has any.
            let live = id
                .and_then(|id| state.by_id.get(id))
                .filter(|live| product.is_none_or(|product| product == live.product));
            if let (Some(live), Some(key)) = (live, bearer(headers))
                && live.product_key
                && let Some(keys) = self.products[live.product].mapping.product_keys()
            {
                return self.product_key(live, keys, key).await;
            }
            let Some((live, auth)) = live.and_then(|live| Some((live, live.auth.as_ref()?))) else {
                return Err(refused(if bearer(headers).is_some() {
                    "unknown_token"
                } else {
                    "missing"
                }));
            };
            return match auth.authenticate_from(headers, peer).await {
                Ok(principal) => Ok((Arc::clone(live), principal.name, None)),
                Err(error) => Err(Rejection {
                    reason: error.reason(),
                    unavailable: error.is_unavailable(),
                    retry_after: Authenticator::retry_after(&error),
                    ..refused("")
                }),
            };
        };
        if indexed
            .expires_at
            .is_some_and(|at| at <= OffsetDateTime::now_utc())
        {
            return Err(refused("expired"));
        }
        let live = state
            .by_id
            .get(&indexed.connection)
            .ok_or_else(|| refused("unknown_token"))?;
        if product.is_some_and(|product| product != live.product)
            || id.is_some_and(|id| id != live.id)
        {
            return Err(refused("other_connection"));
        }
        Ok((
            Arc::clone(live),
            format!("token:{}", indexed.credential),
            None,
        ))
    }

    /// Checks a product key for `live` (one `auth.introspect` call, cached).
    async fn product_key(
        &self,
        live: &Arc<Live>,
        keys: &crate::mapping::ProductKeys,
        key: &str,
    ) -> Result<(Arc<Live>, String, Option<crate::backend::Forwarded>), Rejection> {
        let product = &self.products[live.product];
        let (verdict, forwarded) = self
            .keys
            .check(
                product.client.as_ref(),
                keys,
                &live.id,
                live.engine.variables(),
                key,
                self.deadline,
            )
            .await;
        match (verdict, forwarded) {
            (Verdict::Accepted, Some(forwarded)) => {
                // The principal names the key by a digest prefix (audit), never the key.
                let principal = format!("product_key:{}", &hex(&digest(key))[..12]);
                Ok((Arc::clone(live), principal, Some(forwarded)))
            }
            (Verdict::Unavailable, _) => Err(Rejection {
                detail: "the product could not check the key (its auth.introspect call \
                         failed); retry later"
                    .to_owned(),
                reason: "introspect_unavailable",
                unavailable: true,
                retry_after: None,
                ..refused("")
            }),
            _ => Err(refused("product_key_refused")),
        }
    }

    /// Reads the version counter and, when it moved, every connection; the new set serves
    /// from the next request on. Returns whether anything changed.
    pub async fn refresh(&self) -> Result<bool, crate::store::Error> {
        let _one = self.refreshing.lock().await;
        let version = self.store.connections_version().await?;
        let current = self.state();
        if current.version == Some(version) {
            return Ok(false);
        }
        let connections = self.store.load_connections().await?;
        let next = self.build(&current, version, connections);
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(true)
    }

    fn build(&self, current: &State, version: i64, connections: Vec<Connection>) -> State {
        let mut state = State {
            version: Some(version),
            ..State::default()
        };
        for connection in connections {
            let Some((product, _)) = self.product(&connection.mapping) else {
                tracing::warn!(
                    connection = %connection.id,
                    mapping = %connection.mapping,
                    "Connection names a mapping that connections.mappings does not list; not served."
                );
                continue;
            };
            for credential in &connection.credentials {
                if let Some(hash) = parse_hex(&credential.hash) {
                    state.by_hash.insert(
                        hash,
                        Indexed {
                            connection: connection.id.clone(),
                            credential: credential.id.clone(),
                            expires_at: credential.expires_at,
                        },
                    );
                }
            }
            let mut others: Vec<(String, String)> = connection
                .credentials
                .iter()
                .filter(|c| c.kind != "bearer")
                .map(|c| (c.kind.clone(), c.hash.clone()))
                .collect();
            others.sort();
            let mut variables = connection.variables.clone();
            if let Some(sealed) = &connection.secrets {
                let opened = match &self.secret_key {
                    Some(key) => key.open(&connection.id, sealed),
                    None => Err("no connections.secret_key_from_env/_file is set".to_owned()),
                };
                match opened {
                    Ok(secrets) => variables.extend(secrets),
                    Err(why) => {
                        tracing::error!(
                            connection = %connection.id,
                            why = %why,
                            "The connection's secret variables cannot be opened; not served."
                        );
                        continue;
                    }
                }
            }
            let built_from = (
                connection.mapping.clone(),
                connection.enabled,
                variables,
                others,
            );
            let live = match current.by_id.get(&connection.id) {
                Some(live) if live.built_from == built_from => Arc::clone(live),
                _ => Arc::new(self.live(product, connection, built_from)),
            };
            state.by_id.insert(live.id.clone(), live);
        }
        state
    }

    /// A connection's engine and services over its product's mapping and client.
    fn live(&self, product_index: usize, connection: Connection, built_from: BuiltFrom) -> Live {
        let auth = credential_settings(&connection.credentials).and_then(|settings| {
            Authenticator::from_settings(&settings)
                .map_err(|problems| {
                    tracing::warn!(
                        connection = %connection.id,
                        problems = %problems.join("; "),
                        "A connection credential is unusable; it is not accepted."
                    );
                })
                .ok()
                .map(Arc::new)
        });
        let product = &self.products[product_index];
        let key = tenant_key(&connection.id);
        let options = EngineOptions {
            deadline: self.deadline,
            base_url: self.base_url(product, &connection.id),
            ..EngineOptions::default()
        };
        let engine = Engine::new(
            key.clone(),
            Arc::clone(&product.mapping),
            Arc::clone(&product.client) as Arc<dyn crate::backend::Backend>,
            Arc::clone(&self.records),
            options,
        )
        .with_variables(Arc::new(built_from.2.clone()));
        let engine = Arc::new(engine);
        let mut service: Arc<dyn ScimService> =
            Arc::new(TenantService::new(Arc::clone(&engine), false, None));
        if self.audit {
            service = Arc::new(Audited::new(service, Arc::clone(&self.records), &key));
        }
        service = Arc::new(Tracked::new(
            service,
            Arc::clone(&self.activity),
            connection.id.clone(),
        ));
        let product_key = connection
            .credentials
            .iter()
            .any(|credential| credential.kind == PRODUCT_KEY);
        Live {
            product_key,
            tenant: Tenant {
                name: key,
                base_path: String::new(),
                enabled: connection.enabled,
                auth: Arc::new(CheckedByRegistry),
                service,
            },
            engine,
            id: connection.id,
            product: product_index,
            auth,
            built_from,
        }
    }

    /// Writes the buffered activity to the store.
    pub async fn flush(&self) -> Result<(), crate::store::Error> {
        let pending = self.activity.drain();
        if pending.is_empty() {
            return Ok(());
        }
        self.store.record_activity(pending).await
    }

    /// Polls the version counter every `interval` (and flushes activity) for as long as the
    /// registry lives.
    pub fn spawn_poller(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(registry) = weak.upgrade() else {
                    return;
                };
                if let Err(error) = registry.refresh().await {
                    tracing::warn!(%error, "Could not read the connections; serving the last copy.");
                }
                if let Err(error) = registry.flush().await {
                    tracing::warn!(%error, "Could not record connection activity.");
                }
            }
        })
    }
}

/// Lets tests and the admin API wait for the counters without a poller.
impl Registry {
    /// The activity buffered and not yet written.
    pub fn pending_activity(&self) -> usize {
        self.activity.len()
    }
}

/// For `Mutex` users elsewhere in the module.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
