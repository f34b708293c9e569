//! Settings: a YAML file (optional `--config`), then `SCIMGATE__…` environment overrides,
//! read with the `config` crate into raw serde types, then validated into [`Settings`].
//!
//! Validation collects every problem as `key.path: what is wrong (what is allowed)` before
//! failing, so an operator fixes a file in one pass. This module reads the settings file and
//! nothing else: mappings, certificates and the store are opened by their own modules.
//!
//! Environment overrides use `__` between keys: `SCIMGATE__SERVER__LISTEN=127.0.0.1:9443`,
//! `SCIMGATE__SERVER__LIMITS__MAX_BODY_BYTES=2097152`, `SCIMGATE__LOG__LEVEL=debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::server::auth::AuthSettings;

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or parsed, or a value has the wrong type.
    #[error(
        "cannot read settings: {0} (every key, its type and default: the settings table in README.md)"
    )]
    Load(#[from] config::ConfigError),
    /// The settings parsed but some values are not acceptable.
    #[error("{} problem(s) in the settings:\n{}", .0.len(), ProblemList(.0))]
    Invalid(Vec<Problem>),
}

/// One validation problem: the key path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `server.limits.request_timeout` or `tenants[1].name`.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in self.0 {
            writeln!(f, "  {problem}")?;
        }
        Ok(())
    }
}

/// The validated settings of one gateway process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listener, TLS and limits.
    pub server: ServerSettings,
    /// The embedded store.
    pub store: StoreSettings,
    /// Logging.
    pub log: LogSettings,
    /// Calls to the legacy API.
    pub backend: BackendSettings,
    /// The tenants, each with its own base path, mapping and credentials.
    pub tenants: Vec<TenantSettings>,
    /// The audit trail of SCIM writes.
    pub audit: AuditSettings,
    /// `connections:`: mappings that serve connections from the store, and the admin API.
    pub connections: crate::connection::ConnectionSettings,
}

/// Validated `audit.*` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// Record one entry per SCIM write in the store.
    pub enabled: bool,
    /// Entries older than this are pruned (daily).
    pub retention: Duration,
}

/// Validated `server.*` keys.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The externally visible base URL, used for `meta.location` (never the Host header).
    pub public_base_url: Url,
    /// TLS from files, or plain HTTP.
    pub tls: TlsMode,
    /// Request limits.
    pub limits: Limits,
    /// How long in-flight requests may finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// The plain admin listener (`/metrics`, `/healthz`, `/readyz`, `/admin/audit`, no auth).
    pub admin_listen: Option<SocketAddr>,
}

/// How the listener speaks TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS 1.2/1.3 with a PEM chain and key, reloaded when the files change or on SIGHUP.
    Files {
        /// PEM certificate chain, leaf first.
        cert_file: PathBuf,
        /// PEM private key (PKCS#8, PKCS#1 or SEC1).
        key_file: PathBuf,
        /// How often the files' modification times are checked.
        reload_interval: Duration,
    },
    /// Plain HTTP: only behind a TLS-terminating load balancer or on loopback.
    None,
}

/// Validated `server.limits.*` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// Largest header section, names plus values (431 above).
    pub max_header_bytes: usize,
    /// Longest path and query (414 above).
    pub max_uri_bytes: usize,
    /// Requests served at once; more are shed with 503 + `Retry-After`.
    pub max_concurrency: usize,
    /// Overall deadline for one request, body included (504 after).
    pub request_timeout: Duration,
    /// How long a client may take to send its request headers before the connection is cut.
    pub header_read_timeout: Duration,
    /// How long an authenticated request may take to send its body (408 after).
    pub body_read_timeout: Duration,
    /// Requests not (yet) authenticated in flight at once, all peers together: anonymous
    /// endpoints and credential checks that wait (Argon2, JWKS). More: 503 + `Retry-After`.
    pub anonymous_concurrency: usize,
    /// The same, per peer IP address.
    pub anonymous_per_peer: usize,
    /// Argon2 password verifications running at once, process-wide (each holds its memory
    /// cost, 19 MiB with `scimgate hash-password`'s parameters, until it ends).
    pub password_hash_concurrency: usize,
    /// Failed Basic logins per user name, and per peer, within `login_failure_window`, after
    /// which further attempts get 429 + `Retry-After` without a password check.
    pub login_failures: u32,
    /// The window failed logins are counted in.
    pub login_failure_window: Duration,
    /// An HTTP/1.1 or h2 connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Open client connections at most; more are closed at accept (and logged).
    pub max_connections: usize,
    /// `/readyz` probes each tenant's backend at most once per this interval and answers from
    /// the last verdict in between.
    pub ready_cache: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_header_bytes: 32 * 1024,
            max_uri_bytes: 8 * 1024,
            max_concurrency: 256,
            request_timeout: Duration::from_secs(55),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            anonymous_concurrency: 64,
            anonymous_per_peer: 16,
            password_hash_concurrency: 2,
            login_failures: 5,
            login_failure_window: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(125),
            max_connections: 1024,
            ready_cache: Duration::from_secs(5),
        }
    }
}

/// Validated `store.*` keys.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// The SQLite database file.
    pub sqlite_path: PathBuf,
    /// Which store: embedded SQLite (one process) or PostgreSQL (several replicas).
    pub kind: StoreKind,
    /// Where the PostgreSQL connection URL comes from (set when `kind` is PostgreSQL); read by
    /// `app::open_store`, not here.
    pub postgres_url: Option<SecretSource>,
    /// Most PostgreSQL connections one process holds.
    pub postgres_pool_size: usize,
}

/// `store.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// One SQLite file: a single gateway process.
    Sqlite,
    /// A shared PostgreSQL database: any number of replicas.
    Postgres,
}

/// A secret written in the settings, or named there and read from the environment or a file
/// at start. `Debug` never shows an inline value.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the settings (or a `SCIMGATE__…` variable) itself.
    Inline(String),
    /// The name of an environment variable holding it.
    Env(String),
    /// A file holding it (surrounding whitespace is ignored).
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline(***)"),
            Self::Env(name) => f.debug_tuple("Env").field(name).finish(),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// Validated `log.*` keys.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Human-readable or JSON lines.
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info` or `scimgate=debug,info`.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Multi-line, coloured: for development.
    Pretty,
    /// One JSON object per line: for log collectors.
    Json,
}

/// Validated `backend.*` keys.
#[derive(Debug, Clone)]
pub struct BackendSettings {
    /// The deadline for all backend calls of one SCIM operation.
    pub deadline: Duration,
}

/// One validated entry of `tenants`.
#[derive(Debug, Clone)]
pub struct TenantSettings {
    /// Unique name: letters, digits, `-` and `_`.
    pub name: String,
    /// Where its SCIM endpoints live.
    pub base_path: String,
    /// Its mapping file.
    pub mapping: PathBuf,
    /// The "SCIM sync active" switch.
    pub enabled: bool,
    /// Its credentials, compiled by `server::auth::Authenticator::from_settings`.
    pub auth: AuthSettings,
}

/// The settings file as written, before validation. Keys and defaults:
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSettings {
    server: RawServer,
    store: RawStore,
    log: RawLog,
    backend: RawBackend,
    /// `tenants`: at least one.
    tenants: Vec<RawTenant>,
    audit: RawAudit,
    /// `connections` (none): see `crate::connection::settings`.
    connections: crate::connection::settings::RawConnections,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAudit {
    /// `audit.enabled` (`true`): record every SCIM write.
    enabled: bool,
    /// `audit.retention_days` (90): entries older than this are pruned daily.
    retention_days: u32,
}

impl Default for RawAudit {
    fn default() -> Self {
        Self {
            enabled: true,
            retention_days: 90,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawServer {
    /// `server.listen` (`0.0.0.0:8443`): address and port.
    listen: String,
    /// `server.public_base_url` (required): e.g. `https://scim.example.com`.
    public_base_url: Option<String>,
    /// `server.tls`.
    tls: RawTls,
    /// `server.limits`.
    limits: RawLimits,
    /// `server.shutdown_grace` (`20s`).
    shutdown_grace: String,
    /// `server.admin_listen` (off): address of the plain admin listener.
    admin_listen: Option<String>,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8443".to_owned(),
            public_base_url: None,
            tls: RawTls::default(),
            limits: RawLimits::default(),
            shutdown_grace: "20s".to_owned(),
            admin_listen: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTls {
    /// `server.tls.mode` (`files`): `files` or `none` (plain HTTP).
    mode: String,
    /// `server.tls.cert_file`: PEM chain, required with `mode: files`.
    cert_file: Option<PathBuf>,
    /// `server.tls.key_file`: PEM key, required with `mode: files`.
    key_file: Option<PathBuf>,
    /// `server.tls.reload_interval` (`5s`): how often the files are checked for changes.
    reload_interval: String,
}

impl Default for RawTls {
    fn default() -> Self {
        Self {
            mode: "files".to_owned(),
            cert_file: None,
            key_file: None,
            reload_interval: "5s".to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLimits {
    /// `server.limits.max_body_bytes` (1 MiB).
    max_body_bytes: usize,
    /// `server.limits.max_header_bytes` (32 KiB).
    max_header_bytes: usize,
    /// `server.limits.max_uri_bytes` (8 KiB).
    max_uri_bytes: usize,
    /// `server.limits.max_concurrency` (256).
    max_concurrency: usize,
    /// `server.limits.request_timeout` (`55s`): longer than `backend.deadline`.
    request_timeout: String,
    /// `server.limits.header_read_timeout` (`10s`).
    header_read_timeout: String,
    /// `server.limits.body_read_timeout` (`10s`).
    body_read_timeout: String,
    /// `server.limits.anonymous_concurrency` (64).
    anonymous_concurrency: usize,
    /// `server.limits.anonymous_per_peer` (16).
    anonymous_per_peer: usize,
    /// `server.limits.password_hash_concurrency` (2).
    password_hash_concurrency: usize,
    /// `server.limits.login_failures` (5).
    login_failures: u32,
    /// `server.limits.login_failure_window` (`60s`).
    login_failure_window: String,
    /// `server.limits.idle_timeout` (`125s`).
    idle_timeout: String,
    /// `server.limits.max_connections` (1024).
    max_connections: usize,
    /// `server.limits.ready_cache` (`5s`).
    ready_cache: String,
}

impl Default for RawLimits {
    fn default() -> Self {
        let limits = Limits::default();
        Self {
            max_body_bytes: limits.max_body_bytes,
            max_header_bytes: limits.max_header_bytes,
            max_uri_bytes: limits.max_uri_bytes,
            max_concurrency: limits.max_concurrency,
            request_timeout: "55s".to_owned(),
            header_read_timeout: "10s".to_owned(),
            body_read_timeout: "10s".to_owned(),
            anonymous_concurrency: limits.anonymous_concurrency,
            anonymous_per_peer: limits.anonymous_per_peer,
            password_hash_concurrency: limits.password_hash_concurrency,
            login_failures: limits.login_failures,
            login_failure_window: "60s".to_owned(),
            idle_timeout: "125s".to_owned(),
            max_connections: limits.max_connections,
            ready_cache: "5s".to_owned(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStore {
    /// `store.sqlite_path` (`scimgate.sqlite3`).
    sqlite_path: PathBuf,
    /// `store.kind` (`sqlite`): `sqlite` or `postgres`.
    kind: String,
    /// `store.postgres_url`: `postgres://user:password@host:5432/db[?sslmode=require]`.
    postgres_url: Option<String>,
    /// `store.postgres_url_from_env`: the environment variable holding the URL.
    postgres_url_from_env: Option<String>,
    /// `store.postgres_url_from_file`: a file holding the URL.
    postgres_url_from_file: Option<PathBuf>,
    /// `store.postgres_pool_size` (8).
    postgres_pool_size: usize,
}

impl fmt::Debug for RawStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawStore")
            .field("sqlite_path", &self.sqlite_path)
            .field("kind", &self.kind)
            .field("postgres_url", &self.postgres_url.as_ref().map(|_| "***"))
            .field("postgres_url_from_env", &self.postgres_url_from_env)
            .field("postgres_url_from_file", &self.postgres_url_from_file)
            .field("postgres_pool_size", &self.postgres_pool_size)
            .finish()
    }
}

impl Default for RawStore {
    fn default() -> Self {
        Self {
            sqlite_path: PathBuf::from("scimgate.sqlite3"),
            kind: "sqlite".to_owned(),
            postgres_url: None,
            postgres_url_from_env: None,
            postgres_url_from_file: None,
            postgres_pool_size: 8,
        }
    }
}

impl RawStore {
    fn validate(self, p: &mut Collector) -> Option<StoreSettings> {
        let kind = match self.kind.as_str() {
            "sqlite" => StoreKind::Sqlite,
            "postgres" => StoreKind::Postgres,
            other => {
                return p.add(
                    "store.kind",
                    &format!("`{other}` is not a store kind (sqlite|postgres)"),
                );
            }
        };
        if self.postgres_pool_size == 0 {
            p.add::<()>("store.postgres_pool_size", "must be greater than 0");
        }
        let mut sources: Vec<SecretSource> = Vec::new();
        sources.extend(self.postgres_url.map(SecretSource::Inline));
        sources.extend(self.postgres_url_from_env.map(SecretSource::Env));
        sources.extend(self.postgres_url_from_file.map(SecretSource::File));
        let postgres_url = match (kind, sources.len()) {
            (StoreKind::Sqlite, _) | (StoreKind::Postgres, 1) => sources.pop(),
            (StoreKind::Postgres, 0) => p.add(
                "store.postgres_url",
                "missing (with store.kind: postgres, set one of postgres_url, \
                 postgres_url_from_env, postgres_url_from_file)",
            ),
            (StoreKind::Postgres, _) => p.add(
                "store.postgres_url",
                "set only one of postgres_url, postgres_url_from_env, postgres_url_from_file",
            ),
        };
        if let Some(SecretSource::Inline(url)) = &postgres_url
            && !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.contains('='))
        {
            p.add::<()>(
                "store.postgres_url",
                "is not a PostgreSQL URL (postgres://user:password@host:5432/db)",
            );
        }
        Some(StoreSettings {
            sqlite_path: self.sqlite_path,
            kind,
            postgres_url,
            postgres_pool_size: self.postgres_pool_size,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    /// `log.format` (`pretty`): `pretty` or `json`.
    format: String,
    /// `log.level` (`info`): an EnvFilter directive.
    level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: "pretty".to_owned(),
            level: "info".to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawBackend {
    /// `backend.deadline` (`50s`).
    deadline: String,
}

impl Default for RawBackend {
    fn default() -> Self {
        Self {
            deadline: "50s".to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    /// `tenants[].name` (required).
    name: String,
    /// `tenants[].base_path` (`/scim/v2` with one tenant, `/{name}/scim/v2` with several).
    #[serde(default)]
    base_path: Option<String>,
    /// `tenants[].mapping` (required): the mapping file.
    #[serde(default)]
    mapping: Option<PathBuf>,
    /// `tenants[].enabled` (`true`): the "SCIM sync active" switch.
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    /// `tenants[].auth`: bearer token hashes, Basic users, Entra JWT (see `server::auth`).
    #[serde(default)]
    auth: AuthSettings,
}

fn enabled_by_default() -> bool {
    true
}

impl Settings {
    /// Loads `file` (if any), then `SCIMGATE__…` from the process environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        Self::load_with(file, None, None)
    }

    /// Like [`Settings::load`], with inline YAML (after the file) and an injected environment
    /// instead of the process one (`None` reads the process environment). For tests.
    pub fn load_with(
        file: Option<&Path>,
        yaml: Option<&str>,
        env: Option<config::Map<String, String>>,
    ) -> Result<Self, Error> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(
                config::File::from(file)
                    .format(config::FileFormat::Yaml)
                    .required(true),
            );
        }
        if let Some(yaml) = yaml {
            builder = builder.add_source(config::File::from_str(yaml, config::FileFormat::Yaml));
        }
        let environment = config::Environment::with_prefix("SCIMGATE")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .source(env);
        let mut raw: RawSettings = builder.add_source(environment).build()?.try_deserialize()?;
        if let Some(dir) = file.and_then(Path::parent) {
            raw.resolve_relative_paths(dir);
        }
        raw.validate().map_err(Error::Invalid)
    }
}

impl RawSettings {
    /// Mapping and certificate paths written relative are relative to the settings file, so one
    /// file works from the repository (`config/` beside `mappings/`) and in the container
    /// (`/etc/scimgate/config/` beside `/etc/scimgate/mappings/`) alike.
    fn resolve_relative_paths(&mut self, dir: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() && !path.as_os_str().is_empty() {
                *path = dir.join(&*path);
            }
        };
        for tenant in &mut self.tenants {
            if let Some(mapping) = tenant.mapping.as_mut() {
                resolve(mapping);
            }
        }
        self.connections.resolve(dir);
        if let Some(cert) = self.server.tls.cert_file.as_mut() {
            resolve(cert);
        }
        if let Some(key) = self.server.tls.key_file.as_mut() {
            resolve(key);
        }
    }

    fn validate(self) -> Result<Settings, Vec<Problem>> {
        let mut problems = Collector::default();
        let p = &mut problems;

        let listen = p.parse(
            "server.listen",
            &self.server.listen,
            "an address like 0.0.0.0:8443",
        );
        let public_base_url = match &self.server.public_base_url {
            None => p.add(
                "server.public_base_url",
                "missing (the https URL clients reach)",
            ),
            Some(text) => match Url::parse(text) {
                Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                    p.add("server.public_base_url", "must be an http or https URL")
                }
                Ok(url) if url.query().is_some() || url.fragment().is_some() => p.add(
                    "server.public_base_url",
                    "must not have a query or fragment",
                ),
                Ok(url) => Some(url),
                Err(error) => p.add(
                    "server.public_base_url",
                    &format!("{error} (an absolute URL)"),
                ),
            },
        };
        let tls = self.server.tls.validate(p);
        let limits = self.server.limits.validate(p);
        let shutdown_grace = p.duration("server.shutdown_grace", &self.server.shutdown_grace);
        let deadline = p.duration("backend.deadline", &self.backend.deadline);
        if let (Some(limits), Some(deadline)) = (&limits, deadline)
            && limits.request_timeout <= deadline
        {
            p.add::<()>(
                "server.limits.request_timeout",
                &format!(
                    "{:?} is not longer than backend.deadline ({deadline:?}); the gateway must \
                     outlast the backend so its own error reaches the client",
                    limits.request_timeout
                ),
            );
        }
        let format = match self.log.format.as_str() {
            "pretty" => Some(LogFormat::Pretty),
            "json" => Some(LogFormat::Json),
            other => p.add(
                "log.format",
                &format!("`{other}` is not a format (pretty|json)"),
            ),
        };
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            p.add::<()>(
                "log.level",
                &format!("{error} (e.g. info, debug, scimgate=debug)"),
            );
        }
        let mut found = Vec::new();
        let connections = self.connections.validate(&mut found, &parse_duration);
        for (key, message) in found {
            p.add::<()>(&key, &message);
        }
        let tenants = validate_tenants(self.tenants, !connections.mappings.is_empty(), p);
        let admin_listen = match self.server.admin_listen.as_deref() {
            None | Some("") => Some(None),
            Some(text) => p
                .parse(
                    "server.admin_listen",
                    text,
                    "an address like 127.0.0.1:9090, or leave it out",
                )
                .map(Some),
        };
        if self.audit.retention_days == 0 {
            p.add::<()>("audit.retention_days", "must be at least 1");
        }
        let audit = AuditSettings {
            enabled: self.audit.enabled,
            retention: Duration::from_secs(u64::from(self.audit.retention_days) * 24 * 3600),
        };
        let store = self.store.validate(p);

        match (
            listen,
            public_base_url,
            tls,
            limits,
            shutdown_grace,
            format,
            deadline,
            store,
        ) {
            (
                Some(listen),
                Some(public_base_url),
                Some(tls),
                Some(limits),
                Some(shutdown_grace),
                Some(format),
                Some(deadline),
                Some(store),
            ) if problems.0.is_empty() => Ok(Settings {
                server: ServerSettings {
                    listen,
                    public_base_url,
                    tls,
                    limits,
                    shutdown_grace,
                    admin_listen: admin_listen.flatten(),
                },
                store,
                log: LogSettings {
                    format,
                    level: self.log.level,
                },
                backend: BackendSettings { deadline },
                tenants,
                audit,
                connections,
            }),
            _ => Err(problems.0),
        }
    }
}

impl RawTls {
    fn validate(self, p: &mut Collector) -> Option<TlsMode> {
        let reload_interval = p.duration("server.tls.reload_interval", &self.reload_interval);
        match self.mode.as_str() {
            "none" => Some(TlsMode::None),
            "files" => {
                let cert_file = p.file("server.tls.cert_file", self.cert_file);
                let key_file = p.file("server.tls.key_file", self.key_file);
                Some(TlsMode::Files {
                    cert_file: cert_file?,
                    key_file: key_file?,
                    reload_interval: reload_interval?,
                })
            }
            other => p.add(
                "server.tls.mode",
                &format!("`{other}` is not a mode (files|none)"),
            ),
        }
    }
}

impl RawLimits {
    fn validate(self, p: &mut Collector) -> Option<Limits> {
        let request_timeout = p.duration("server.limits.request_timeout", &self.request_timeout);
        let header_read_timeout = p.duration(
            "server.limits.header_read_timeout",
            &self.header_read_timeout,
        );
        let body_read_timeout =
            p.duration("server.limits.body_read_timeout", &self.body_read_timeout);
        let login_failure_window = p.duration(
            "server.limits.login_failure_window",
            &self.login_failure_window,
        );
        let idle_timeout = p.duration("server.limits.idle_timeout", &self.idle_timeout);
        let ready_cache = p.duration("server.limits.ready_cache", &self.ready_cache);
        if self.login_failures == 0 {
            p.add::<()>(
                "server.limits.login_failures",
                "must be greater than 0 (failed logins allowed in the window)",
            );
        }
        for (key, value) in [
            ("server.limits.max_body_bytes", self.max_body_bytes),
            ("server.limits.max_header_bytes", self.max_header_bytes),
            ("server.limits.max_uri_bytes", self.max_uri_bytes),
            ("server.limits.max_concurrency", self.max_concurrency),
            (
                "server.limits.anonymous_concurrency",
                self.anonymous_concurrency,
            ),
            ("server.limits.anonymous_per_peer", self.anonymous_per_peer),
            (
                "server.limits.password_hash_concurrency",
                self.password_hash_concurrency,
            ),
            ("server.limits.max_connections", self.max_connections),
        ] {
            if value == 0 {
                p.add::<()>(key, "must be greater than 0");
            }
        }
        Some(Limits {
            max_body_bytes: self.max_body_bytes,
            max_header_bytes: self.max_header_bytes,
            max_uri_bytes: self.max_uri_bytes,
            max_concurrency: self.max_concurrency,
            request_timeout: request_timeout?,
            header_read_timeout: header_read_timeout?,
            body_read_timeout: body_read_timeout?,
            anonymous_concurrency: self.anonymous_concurrency,
            anonymous_per_peer: self.anonymous_per_peer,
            password_hash_concurrency: self.password_hash_concurrency,
            login_failures: self.login_failures,
            login_failure_window: login_failure_window?,
            idle_timeout: idle_timeout?,
            max_connections: self.max_connections,
            ready_cache: ready_cache?,
        })
    }
}

fn validate_tenants(
    raw: Vec<RawTenant>,
    connections: bool,
    p: &mut Collector,
) -> Vec<TenantSettings> {
    if raw.is_empty() && !connections {
        p.add::<()>(
            "tenants",
            "no tenant configured (at least one, with name and mapping)",
        );
    }
    let several = raw.len() > 1;
    let mut seen_names = Vec::new();
    let mut seen_bases: Vec<String> = Vec::new();
    let mut tenants = Vec::new();
    for (index, tenant) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("tenants[{index}].{field}");
        let name_ok = !tenant.name.is_empty()
            && tenant
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        if !name_ok {
            p.add::<()>(
                &key("name"),
                &format!("`{}` is not a name (letters, digits, - and _)", tenant.name),
            );
        } else if seen_names.contains(&tenant.name) {
            p.add::<()>(
                &key("name"),
                &format!("`{}` is used by another tenant (unique)", tenant.name),
            );
        }
        seen_names.push(tenant.name.clone());
        let base_path = tenant.base_path.unwrap_or_else(|| {
            if several {
                format!("/{}/scim/v2", tenant.name)
            } else {
                "/scim/v2".to_owned()
            }
        });
        let normalised = base_path
            .split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/")
            .to_ascii_lowercase();
        if !base_path.starts_with('/') || base_path.contains(['?', '#']) {
            p.add::<()>(
                &key("base_path"),
                &format!("`{base_path}` is not a path (starts with /)"),
            );
        } else if matches!(
            normalised.as_str(),
            "healthz" | "readyz" | "metrics" | "admin/audit"
        ) {
            p.add::<()>(
                &key("base_path"),
                "is reserved for the health probes, metrics and audit trail",
            );
        } else if seen_bases.contains(&normalised) {
            p.add::<()>(
                &key("base_path"),
                &format!("`{base_path}` is used by another tenant (unique)"),
            );
        }
        seen_bases.push(normalised);
        let mapping = match tenant.mapping {
            Some(mapping) if !mapping.as_os_str().is_empty() => mapping,
            _ => {
                p.add::<()>(
                    &key("mapping"),
                    "missing (the path of the tenant's mapping file)",
                );
                PathBuf::new()
            }
        };
        tenants.push(TenantSettings {
            name: tenant.name,
            base_path,
            mapping,
            enabled: tenant.enabled,
            auth: tenant.auth,
        });
    }
    tenants
}

/// Collects problems; each helper returns `None` after recording one.
#[derive(Default)]
struct Collector(Vec<Problem>);

impl Collector {
    fn add<T>(&mut self, key: &str, message: &str) -> Option<T> {
        self.0.push(Problem {
            key: key.to_owned(),
            message: message.to_owned(),
        });
        None
    }

    fn parse<T: std::str::FromStr>(&mut self, key: &str, text: &str, allowed: &str) -> Option<T> {
        text.parse()
            .ok()
            .or_else(|| self.add(key, &format!("`{text}` is not valid ({allowed})")))
    }

    fn duration(&mut self, key: &str, text: &str) -> Option<Duration> {
        parse_duration(text).or_else(|| {
            self.add(
                key,
                &format!("`{text}` is not a duration (e.g. 500ms, 50s, 5m, 1h)"),
            )
        })
    }

    fn file(&mut self, key: &str, path: Option<PathBuf>) -> Option<PathBuf> {
        match path {
            None => self.add(key, "missing (required with server.tls.mode: files)"),
            Some(path) if !path.is_file() => {
                self.add(key, &format!("{} is not a readable file", path.display()))
            }
            Some(path) => Some(path),
        }
    }
}

/// Parses `500ms`, `50s`, `5m`, `1h`, or a sum such as `1m30s`; `None` if malformed.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match rest[..unit].trim() {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.checked_mul(60)?),
            "h" => Duration::from_secs(value.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
        rest = &rest[unit..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_units_and_sums_and_refuse_garbage() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("50s"), Some(Duration::from_secs(50)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        for bad in ["", "50", "s", "5 parsecs", "-1s", "1.5s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    const MINIMAL: &str = "server:\n  public_base_url: \"https://scim.example.com\"\n  tls:\n    \
                           mode: none\ntenants:\n  - name: t\n    mapping: m.yaml\n";

    fn load(extra: &str) -> Result<Settings, Error> {
        Settings::load_with(
            None,
            Some(&format!("{MINIMAL}{extra}")),
            Some(config::Map::new()),
        )
    }

    #[test]
    fn admin_listener_is_off_and_audit_on_by_default() {
        let settings = load("").expect("valid");
        assert_eq!(settings.server.admin_listen, None);
        assert!(settings.audit.enabled);
        assert_eq!(
            settings.audit.retention,
            Duration::from_secs(90 * 24 * 3600)
        );
    }

    #[test]
    fn admin_listener_and_audit_keys_are_read_and_checked() {
        let settings = load("audit:\n  enabled: false\n  retention_days: 7\n").expect("valid");
        assert!(!settings.audit.enabled);
        assert_eq!(settings.audit.retention, Duration::from_secs(7 * 24 * 3600));
        let with_admin = Settings::load_with(
            None,
            Some(&MINIMAL.replace("server:\n", "server:\n  admin_listen: \"127.0.0.1:9090\"\n")),
            Some(config::Map::new()),
        )
        .expect("valid");
        assert_eq!(
            with_admin.server.admin_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
        );
        let Err(Error::Invalid(problems)) = Settings::load_with(
            None,
            Some(&format!(
                "{}audit:\n  retention_days: 0\n",
                MINIMAL.replace("server:\n", "server:\n  admin_listen: nowhere\n")
            )),
            Some(config::Map::new()),
        ) else {
            panic!("invalid settings accepted");
        };
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["server.admin_listen", "audit.retention_days"]);
    }
}
