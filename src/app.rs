//! Wiring: settings → store, mappings, backend clients, engines, tenants → a running server.
//!
//! `main` and the integration tests both start the gateway through here, so what the tests
//! exercise is what `scimgate serve` and `scimgate demo` run.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::audit::Audited;
use crate::backend::BackendClient;
use crate::connection::{Product, Registry, RegistryOptions};
use crate::demo::{DemoOptions, DemoServer};
use crate::engine::TenantService;
use crate::engine::{Engine, EngineOptions, backend_config};
use crate::mapping::{self, Mapping};
use crate::server::auth::{self, AuthSettings, BearerSettings};
use crate::server::{ScimService, Server, ServerHandle, Tenant};
use crate::settings::{SecretSource, Settings, StoreKind};
use crate::store::{self, PostgresStore, SqliteStore, Store};

/// The demo mapping, embedded so `scimgate demo` works from any directory.
pub const DEMO_MAPPING: &str = include_str!("../mappings/demo.yaml");

/// Why the gateway could not start: every problem, each on its own line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct StartError {
    /// Every problem found, as `where: what is wrong (what is allowed)`.
    pub problems: Vec<String>,
}

impl StartError {
    fn one(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
        }
    }
}

/// Opens the store the settings name (`store.kind`), migrating it.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, StartError> {
    match settings.store.kind {
        StoreKind::Sqlite => {
            let path = &settings.store.sqlite_path;
            SqliteStore::open(path)
                .map(|store| Arc::new(store) as Arc<dyn Store>)
                .map_err(|error| {
                    StartError::one(format!("store.sqlite_path: {}: {error}", path.display()))
                })
        }
        StoreKind::Postgres => {
            let url = postgres_url(settings)?;
            PostgresStore::open(&url, settings.store.postgres_pool_size)
                .await
                .map(|store| Arc::new(store) as Arc<dyn Store>)
                .map_err(|error| StartError::one(format!("store.postgres_url: {error}")))
        }
    }
}

/// For `scimgate check`: with `store.kind: postgres`, connects and reads the schema version
/// (changing nothing); `Ok(None)` for SQLite, which is opened only by `serve`.
pub async fn check_store(settings: &Settings) -> Result<Option<String>, StartError> {
    if settings.store.kind != StoreKind::Postgres {
        return Ok(None);
    }
    let url = postgres_url(settings)?;
    let version = PostgresStore::probe(&url)
        .await
        .map_err(|error| StartError::one(format!("store.postgres_url: {error}")))?;
    Ok(Some(format!(
        "PostgreSQL {} reachable (schema version {version})",
        store::redact(&url)
    )))
}

/// The PostgreSQL URL from the settings, the environment variable or the file they name.
fn postgres_url(settings: &Settings) -> Result<String, StartError> {
    let url = match &settings.store.postgres_url {
        None => {
            return Err(StartError::one(
                "store.postgres_url: missing (set postgres_url, postgres_url_from_env or \
                 postgres_url_from_file)",
            ));
        }
        Some(SecretSource::Inline(url)) => url.clone(),
        Some(SecretSource::Env(name)) => std::env::var(name).map_err(|_| {
            StartError::one(format!(
                "store.postgres_url_from_env: the environment variable `{name}` is not set \
                 (or not UTF-8)"
            ))
        })?,
        Some(SecretSource::File(path)) => std::fs::read_to_string(path).map_err(|error| {
            StartError::one(format!(
                "store.postgres_url_from_file: cannot read {}: {error}",
                path.display()
            ))
        })?,
    };
    let url = url.trim().to_owned();
    if url.is_empty() {
        return Err(StartError::one("store.postgres_url: empty"));
    }
    Ok(url)
}

/// Loads one mapping file from disk, with `${ENV}` from `env`.
pub fn load_mapping(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Mapping, Vec<String>> {
    let contents = std::fs::read_to_string(path).map_err(|error| {
        vec![format!(
            "{}: cannot read the mapping file: {error}",
            path.display()
        )]
    })?;
    mapping::load(&path.display().to_string(), &contents, env)
        .map_err(|problems| problems.0.iter().map(ToString::to_string).collect())
}

/// A mapping that passed every check `serve`, a reload and `check` make (see [`check_mapping`]).
#[derive(Debug)]
pub struct CheckedMapping {
    /// The mapping.
    pub mapping: Arc<Mapping>,
    /// The backend client its `backend:` section configures.
    pub client: Arc<BackendClient>,
    /// How many of its `tests:` ran (all passed).
    pub tests: usize,
}

/// The one validation of a loaded mapping that `serve`, a reload and `check` all run, so that
/// `check` passes exactly what `serve` starts with: its backend configuration is usable (a base
/// URL without credentials, an http(s) token URL, header names and values that are valid HTTP)
/// and every test it declares passes. Each problem is one line starting with `file`.
pub fn check_mapping(file: &str, mapping: Mapping) -> Result<CheckedMapping, Vec<String>> {
    let client = match backend_config(mapping.backend()).and_then(BackendClient::new) {
        Ok(client) => Arc::new(client),
        Err(error) => return Err(vec![format!("{file}: backend: {error}")]),
    };
    let outcomes = crate::cases::run_tests(&mapping);
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|outcome| !outcome.passed)
        .map(|outcome| format!("{file}: test `{}` failed: {}", outcome.name, outcome.detail))
        .collect();
    if !failures.is_empty() {
        return Err(failures);
    }
    Ok(CheckedMapping {
        mapping: Arc::new(mapping),
        client,
        tests: outcomes.len(),
    })
}

/// What `serve` and a reload build from the settings, and what `check --config` validates:
/// every tenant, with its mapping read from disk (`${ENV}` from the process environment) and
/// checked by [`check_mapping`], and its authentication settings resolved.
pub fn tenants_from_disk(
    settings: &Settings,
    store: &Arc<dyn Store>,
) -> Result<Vec<Tenant>, StartError> {
    let env = |name: &str| std::env::var(name).ok();
    build_tenants(settings, store, &|path| load_mapping(path, &env))
}

/// Builds every tenant of the settings over one store, collecting every problem. Each mapping
/// `mappings` loads is checked by [`check_mapping`] (backend configuration, tests).
pub fn build_tenants(
    settings: &Settings,
    store: &Arc<dyn Store>,
    mappings: &dyn Fn(&Path) -> Result<Mapping, Vec<String>>,
) -> Result<Vec<Tenant>, StartError> {
    let mut problems = Vec::new();
    let mut tenants = Vec::new();
    // Every store operation of every tenant is counted in `scimgate_store_operations_total`.
    let store = &crate::metrics::store::metered(Arc::clone(store));
    for tenant in &settings.tenants {
        let checked = mappings(&tenant.mapping)
            .and_then(|mapping| check_mapping(&tenant.mapping.display().to_string(), mapping));
        let CheckedMapping {
            mapping, client, ..
        } = match checked {
            Ok(checked) => checked,
            Err(found) => {
                problems.extend(found);
                continue;
            }
        };
        let base_url = format!(
            "{}{}",
            settings
                .server
                .public_base_url
                .as_str()
                .trim_end_matches('/'),
            tenant.base_path
        );
        let options = EngineOptions {
            deadline: settings.backend.deadline,
            base_url,
            ..EngineOptions::default()
        };
        let engine = Engine::new(&tenant.name, mapping, client, Arc::clone(store), options);
        let basic_auth = tenant
            .auth
            .basic
            .as_ref()
            .is_some_and(|users| !users.is_empty());
        let mut service: Arc<dyn ScimService> =
            Arc::new(TenantService::new(Arc::new(engine), basic_auth, None));
        if settings.audit.enabled {
            service = Arc::new(Audited::new(service, Arc::clone(store), &tenant.name));
        }
        match Tenant::from_settings(tenant, service) {
            Ok(built) => tenants.push(built),
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(tenants)
    } else {
        Err(StartError { problems })
    }
}

/// What `serve` builds from the settings' `connections:` section, and what `check --config`
/// validates: every connection mapping read from disk and checked by [`check_mapping`], and
/// the registry over the store's connections, loaded once. `None` when no mapping is listed.
pub async fn connections_from_disk(
    settings: &Settings,
    store: &Arc<dyn Store>,
) -> Result<Option<Arc<Registry>>, StartError> {
    let env = |name: &str| std::env::var(name).ok();
    build_connections(settings, store, &|path| load_mapping(path, &env)).await
}

/// Builds the registry of connections over `store` (loading every connection once), with
/// each mapping `mappings` loads checked by [`check_mapping`].
pub async fn build_connections(
    settings: &Settings,
    store: &Arc<dyn Store>,
    mappings: &dyn Fn(&Path) -> Result<Mapping, Vec<String>>,
) -> Result<Option<Arc<Registry>>, StartError> {
    let section = &settings.connections;
    if section.mappings.is_empty() {
        return Ok(None);
    }
    let Some(connections) = store.connection_store() else {
        return Err(StartError::one(
            "connections: this store keeps no connections (use store.kind sqlite or postgres)",
        ));
    };
    let mut problems = Vec::new();
    let mut products = Vec::new();
    for entry in &section.mappings {
        let file = entry.mapping.display().to_string();
        match mappings(&entry.mapping).and_then(|mapping| check_mapping(&file, mapping)) {
            Ok(checked) => products.push(Product {
                name: entry.name.clone(),
                route: entry.route.clone(),
                mapping: checked.mapping,
                client: checked.client,
            }),
            Err(found) => problems.extend(found),
        }
    }
    if !problems.is_empty() {
        return Err(StartError { problems });
    }
    let secret_key = match &section.secret_key {
        None => None,
        Some(source) => {
            let (key, text) = match source {
                SecretSource::Env(name) => (
                    "connections.secret_key_from_env",
                    std::env::var(name).map_err(|_| {
                        StartError::one(format!(
                            "connections.secret_key_from_env: the environment variable `{name}` \
                             is not set"
                        ))
                    })?,
                ),
                SecretSource::File(path) => (
                    "connections.secret_key_from_file",
                    std::fs::read_to_string(path).map_err(|error| {
                        StartError::one(format!(
                            "connections.secret_key_from_file: cannot read {}: {error}",
                            path.display()
                        ))
                    })?,
                ),
                SecretSource::Inline(text) => ("connections.secret_key", text.clone()),
            };
            Some(
                crate::connection::secrets::SecretKey::from_text(&text)
                    .map_err(|why| StartError::one(format!("{key}: {why}")))?,
            )
        }
    };
    let admin_hashes = section
        .admin_token_hashes
        .iter()
        .filter_map(|line| crate::connection::registry::parse_hex(line))
        .collect();
    let registry = Arc::new(Registry::new(
        connections,
        crate::metrics::store::metered(Arc::clone(store)),
        products,
        RegistryOptions {
            public_base_url: settings.server.public_base_url.clone(),
            deadline: settings.backend.deadline,
            audit: settings.audit.enabled,
            admin_hashes,
            secret_key,
        },
    ));
    registry.set_file_tenants(crate::connection::file_tenants::FileTenant::all(
        &settings.tenants,
    ));
    registry
        .refresh()
        .await
        .map_err(|error| StartError::one(format!("connections: cannot load them: {error}")))?;
    Ok(Some(registry))
}

/// A running `scimgate demo`: the example API and the gateway in front of it.
#[derive(Debug)]
pub struct RunningDemo {
    /// The bundled example API (its counters and fault switches are reachable for tests).
    pub backend: DemoServer,
    /// The gateway.
    pub gateway: ServerHandle,
    /// The bearer token the gateway accepts.
    pub token: String,
    /// The SCIM base URL (`http://127.0.0.1:PORT/scim/v2`).
    pub scim_base_url: String,
}

impl RunningDemo {
    /// Stops the gateway (draining requests), then the example API.
    pub async fn shutdown(self) {
        if let Err(error) = self.gateway.shutdown().await {
            tracing::warn!(%error, "Gateway did not shut down cleanly.");
        }
        self.backend.shutdown().await;
    }
}

/// Starts the example API on a loopback port and the gateway on `listen` (plain HTTP, loopback
/// only) in front of it, with the embedded demo mapping and an in-memory SQLite store.
pub async fn start_demo(
    listen: SocketAddr,
    token: Option<String>,
) -> Result<RunningDemo, StartError> {
    if !listen.ip().is_loopback() {
        return Err(StartError::one(format!(
            "--listen {listen}: the demo serves plain HTTP, so it listens on loopback only \
             (use 127.0.0.1:PORT)"
        )));
    }
    let api_key = auth::new_token().0;
    let backend = DemoServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        DemoOptions {
            api_key: api_key.clone(),
            ..DemoOptions::default()
        },
    )
    .await
    .map_err(|error| StartError::one(format!("demo backend: cannot listen: {error}")))?;
    let listen = concrete_port(listen)?;
    let token = token.unwrap_or_else(|| auth::new_token().0);
    let scim_base_url = format!("http://{listen}/scim/v2");
    let yaml = format!(
        "server:\n  listen: \"{listen}\"\n  public_base_url: \"http://{listen}\"\n  tls:\n    mode: none\n\
         tenants:\n  - name: demo\n    mapping: mappings/demo.yaml\n"
    );
    let mut settings = Settings::load_with(None, Some(&yaml), Some(config::Map::new()))
        .map_err(|error| StartError::one(format!("demo settings: {error}")))?;
    for tenant in &mut settings.tenants {
        tenant.auth = AuthSettings {
            bearer: Some(BearerSettings {
                token_hashes: vec![auth::token_hash_line(&token)],
                ..BearerSettings::default()
            }),
            ..AuthSettings::default()
        };
    }
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open_in_memory()
            .map_err(|error| StartError::one(format!("store: {error}")))?,
    );
    let backend_url = backend.base_url();
    let env = move |name: &str| match name {
        "DEMO_BACKEND_URL" => Some(backend_url.clone()),
        "DEMO_API_KEY" => Some(api_key.clone()),
        _ => None,
    };
    let mappings = |_: &Path| {
        mapping::load("mappings/demo.yaml (embedded)", DEMO_MAPPING, &env)
            .map_err(|problems| problems.0.iter().map(ToString::to_string).collect())
    };
    let tenants = build_tenants(&settings, &store, &mappings)?;
    let server = Server::bind(&settings.server, tenants)
        .await
        .map_err(|error| StartError::one(format!("--listen {listen}: {error}")))?;
    Ok(RunningDemo {
        backend,
        gateway: server.spawn(),
        token,
        scim_base_url,
    })
}

/// Port 0 means "any free port"; the public base URL must name the real one, so pick it first.
fn concrete_port(listen: SocketAddr) -> Result<SocketAddr, StartError> {
    if listen.port() != 0 {
        return Ok(listen);
    }
    std::net::TcpListener::bind(listen)
        .and_then(|probe| probe.local_addr())
        .map_err(|error| StartError::one(format!("--listen {listen}: {error}")))
}
