//! Settings: a YAML file (optional `--config`), then `SCIMGATE__…` environment overrides,
//! read with the `config` crate into raw serde types, then validated into [`Settings`].
//!
//! Validation collects every problem as `key.path: what is wrong (what is allowed)` before
//! failing, so an operator fixes a file in one pass. This module reads the settings file and
//! nothing else: mappings, certificates and the store are opened by their own modules.
//!
//! Files: this one holds the validated types and [`Settings::load`]; `raw` the file's serde
//! shapes and defaults; `validate` the one validation that `check`, start and reload all run.
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

mod raw;
#[cfg(test)]
mod tests;
mod validate;

use raw::RawSettings;

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
