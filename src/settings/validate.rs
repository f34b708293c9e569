//! Validation: raw settings (`raw`) into [`Settings`], collecting every problem as
//! `key.path: what is wrong (what is allowed)` before failing. Reads no file but the ones a
//! setting names to check they exist; opens nothing.

use super::raw::*;
use super::*;

impl RawStore {
    pub(super) fn validate(self, p: &mut Collector) -> Option<StoreSettings> {
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

impl RawSettings {
    /// Mapping and certificate paths written relative are relative to the settings file, so one
    /// file works from the repository (`config/` beside `mappings/`) and in the container
    /// (`/etc/scimgate/config/` beside `/etc/scimgate/mappings/`) alike.
    pub(super) fn resolve_relative_paths(&mut self, dir: &Path) {
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

    pub(super) fn validate(self) -> Result<Settings, Vec<Problem>> {
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
    pub(super) fn validate(self, p: &mut Collector) -> Option<TlsMode> {
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
    pub(super) fn validate(self, p: &mut Collector) -> Option<Limits> {
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
pub(super) struct Collector(Vec<Problem>);

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
