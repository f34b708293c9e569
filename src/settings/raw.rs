//! The settings file as written: serde types with their defaults, before validation.
//!
//! Only shapes and defaults live here; every check is in `validate`, so `check`, start and
//! reload all run the one validation.

use super::*;

/// The settings file as written, before validation. Keys and defaults:
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSettings {
    pub(super) server: RawServer,
    pub(super) store: RawStore,
    pub(super) log: RawLog,
    pub(super) backend: RawBackend,
    /// `tenants`: at least one.
    pub(super) tenants: Vec<RawTenant>,
    pub(super) audit: RawAudit,
    /// `connections` (none): see `crate::connection::settings`.
    pub(super) connections: crate::connection::settings::RawConnections,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAudit {
    /// `audit.enabled` (`true`): record every SCIM write.
    pub(super) enabled: bool,
    /// `audit.retention_days` (90): entries older than this are pruned daily.
    pub(super) retention_days: u32,
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
pub(super) struct RawServer {
    /// `server.listen` (`0.0.0.0:8443`): address and port.
    pub(super) listen: String,
    /// `server.public_base_url` (required): e.g. `https://scim.example.com`.
    pub(super) public_base_url: Option<String>,
    /// `server.tls`.
    pub(super) tls: RawTls,
    /// `server.limits`.
    pub(super) limits: RawLimits,
    /// `server.shutdown_grace` (`20s`).
    pub(super) shutdown_grace: String,
    /// `server.admin_listen` (off): address of the plain admin listener.
    pub(super) admin_listen: Option<String>,
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
pub(super) struct RawTls {
    /// `server.tls.mode` (`files`): `files` or `none` (plain HTTP).
    pub(super) mode: String,
    /// `server.tls.cert_file`: PEM chain, required with `mode: files`.
    pub(super) cert_file: Option<PathBuf>,
    /// `server.tls.key_file`: PEM key, required with `mode: files`.
    pub(super) key_file: Option<PathBuf>,
    /// `server.tls.reload_interval` (`5s`): how often the files are checked for changes.
    pub(super) reload_interval: String,
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
pub(super) struct RawLimits {
    /// `server.limits.max_body_bytes` (1 MiB).
    pub(super) max_body_bytes: usize,
    /// `server.limits.max_header_bytes` (32 KiB).
    pub(super) max_header_bytes: usize,
    /// `server.limits.max_uri_bytes` (8 KiB).
    pub(super) max_uri_bytes: usize,
    /// `server.limits.max_concurrency` (256).
    pub(super) max_concurrency: usize,
    /// `server.limits.request_timeout` (`55s`): longer than `backend.deadline`.
    pub(super) request_timeout: String,
    /// `server.limits.header_read_timeout` (`10s`).
    pub(super) header_read_timeout: String,
    /// `server.limits.body_read_timeout` (`10s`).
    pub(super) body_read_timeout: String,
    /// `server.limits.anonymous_concurrency` (64).
    pub(super) anonymous_concurrency: usize,
    /// `server.limits.anonymous_per_peer` (16).
    pub(super) anonymous_per_peer: usize,
    /// `server.limits.password_hash_concurrency` (2).
    pub(super) password_hash_concurrency: usize,
    /// `server.limits.login_failures` (5).
    pub(super) login_failures: u32,
    /// `server.limits.login_failure_window` (`60s`).
    pub(super) login_failure_window: String,
    /// `server.limits.idle_timeout` (`125s`).
    pub(super) idle_timeout: String,
    /// `server.limits.max_connections` (1024).
    pub(super) max_connections: usize,
    /// `server.limits.ready_cache` (`5s`).
    pub(super) ready_cache: String,
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
pub(super) struct RawStore {
    /// `store.sqlite_path` (`scimgate.sqlite3`).
    pub(super) sqlite_path: PathBuf,
    /// `store.kind` (`sqlite`): `sqlite` or `postgres`.
    pub(super) kind: String,
    /// `store.postgres_url`: `postgres://user:password@host:5432/db[?sslmode=require]`.
    pub(super) postgres_url: Option<String>,
    /// `store.postgres_url_from_env`: the environment variable holding the URL.
    pub(super) postgres_url_from_env: Option<String>,
    /// `store.postgres_url_from_file`: a file holding the URL.
    pub(super) postgres_url_from_file: Option<PathBuf>,
    /// `store.postgres_pool_size` (8).
    pub(super) postgres_pool_size: usize,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLog {
    /// `log.format` (`pretty`): `pretty` or `json`.
    pub(super) format: String,
    /// `log.level` (`info`): an EnvFilter directive.
    pub(super) level: String,
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
pub(super) struct RawBackend {
    /// `backend.deadline` (`50s`).
    pub(super) deadline: String,
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
pub(super) struct RawTenant {
    /// `tenants[].name` (required).
    pub(super) name: String,
    /// `tenants[].base_path` (`/scim/v2` with one tenant, `/{name}/scim/v2` with several).
    #[serde(default)]
    pub(super) base_path: Option<String>,
    /// `tenants[].mapping` (required): the mapping file.
    #[serde(default)]
    pub(super) mapping: Option<PathBuf>,
    /// `tenants[].enabled` (`true`): the "SCIM sync active" switch.
    #[serde(default = "enabled_by_default")]
    pub(super) enabled: bool,
    /// `tenants[].auth`: bearer token hashes, Basic users, Entra JWT (see `server::auth`).
    #[serde(default)]
    pub(super) auth: AuthSettings,
}

fn enabled_by_default() -> bool {
    true
}
