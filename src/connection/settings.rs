//! The `connections:` section of the settings: which mappings serve connections, how each
//! routes a request to its connection, and the admin API's token hashes.
//!
//! ```yaml
//! connections:
//!   admin_token_hashes: ["sha256:…"]     # `scimgate token` makes one
//!   poll_interval: 250ms                  # how often the version counter is read
//!   mappings:
//!     - name: workspaces                  # what a connection's `mapping` names
//!       mapping: mappings/demo-workspaces.yaml
//!       path: /ws/{connection}/scim/v2    # by path segment, or:
//!       # host: "{connection}.product.example"   (with base_path, default /scim/v2)
//!       # base_path: /scim/v2                    (alone: the token picks the connection)
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The validated `connections:` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionSettings {
    /// SHA-256 digests of the tokens the admin API accepts (`sha256:<hex>` lines).
    pub admin_token_hashes: Vec<String>,
    /// How often each replica reads the version counter (changes are live within it).
    pub poll_interval: Duration,
    /// The mappings connections may use.
    pub mappings: Vec<ConnectionMapping>,
    /// Where the key sealing secret variables comes from (`secret_key_from_env`, `_file`).
    pub secret_key: Option<crate::settings::SecretSource>,
}

/// One mapping (product) that serves connections.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionMapping {
    /// Its name, which a connection's `mapping` field names.
    pub name: String,
    /// The mapping file.
    pub mapping: PathBuf,
    /// How a request finds its connection.
    pub route: RouteSpec,
}

/// How a request finds its connection, chosen per mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteSpec {
    /// A path template with one `{connection}` segment, e.g. `/ws/{connection}/scim/v2`.
    Path {
        /// The template's lower-cased segments; `None` is the `{connection}` one.
        segments: Vec<Option<String>>,
        /// The template as written.
        template: String,
    },
    /// The `Host` header, e.g. `{connection}.product.example`, under `base_path`.
    Host {
        /// The host template's text before `{connection}`.
        prefix: String,
        /// The text after it (lower-cased).
        suffix: String,
        /// The base path's lower-cased segments.
        base: Vec<String>,
        /// The base path as written.
        base_path: String,
    },
    /// One base path for every connection: the credential picks the connection.
    Credential {
        /// The base path's lower-cased segments.
        base: Vec<String>,
        /// The base path as written.
        base_path: String,
    },
}

impl RouteSpec {
    /// The SCIM base URL of connection `id` under `public_base_url` (no trailing slash).
    pub fn base_url(&self, public_base_url: &url::Url, id: &str) -> String {
        let root = public_base_url.as_str().trim_end_matches('/');
        match self {
            Self::Path { template, .. } => {
                format!("{root}{}", template.replace("{connection}", id))
            }
            Self::Host {
                prefix,
                suffix,
                base_path,
                ..
            } => {
                let scheme = public_base_url.scheme();
                let port = public_base_url
                    .port()
                    .map(|port| format!(":{port}"))
                    .unwrap_or_default();
                format!("{scheme}://{prefix}{id}{suffix}{port}{base_path}")
            }
            Self::Credential { base_path, .. } => format!("{root}{base_path}"),
        }
    }
}

/// `connections:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawConnections {
    admin_token_hashes: Vec<String>,
    poll_interval: String,
    mappings: Vec<RawConnectionMapping>,
    /// An environment variable holding the secrets key (64 hex digits or base64 of 32 bytes).
    secret_key_from_env: Option<String>,
    /// A file holding the secrets key.
    secret_key_from_file: Option<PathBuf>,
}

impl Default for RawConnections {
    fn default() -> Self {
        Self {
            admin_token_hashes: Vec::new(),
            poll_interval: "250ms".to_owned(),
            mappings: Vec::new(),
            secret_key_from_env: None,
            secret_key_from_file: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnectionMapping {
    name: String,
    mapping: PathBuf,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    base_path: Option<String>,
}

/// Lower-cased non-empty segments.
fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

impl RawConnections {
    /// Makes relative mapping paths relative to the settings file's directory.
    pub(crate) fn resolve(&mut self, dir: &std::path::Path) {
        if let Some(file) = self.secret_key_from_file.as_mut()
            && file.is_relative()
        {
            *file = dir.join(&*file);
        }
        for mapping in &mut self.mappings {
            if mapping.mapping.is_relative() && !mapping.mapping.as_os_str().is_empty() {
                mapping.mapping = dir.join(&mapping.mapping);
            }
        }
    }

    /// Validates; each problem is `(key, message)`.
    pub(crate) fn validate(
        self,
        problems: &mut Vec<(String, String)>,
        parse_duration: &dyn Fn(&str) -> Option<Duration>,
    ) -> ConnectionSettings {
        let mut add = |key: String, message: String| problems.push((key, message));
        for (index, line) in self.admin_token_hashes.iter().enumerate() {
            let hex = line.trim().strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                add(
                    format!("connections.admin_token_hashes[{index}]"),
                    "not a `sha256:<64 hex digits>` line (make one with `scimgate token`)"
                        .to_owned(),
                );
            }
        }
        let poll_interval = parse_duration(&self.poll_interval).unwrap_or_else(|| {
            add(
                "connections.poll_interval".to_owned(),
                format!("`{}` is not a duration (e.g. 250ms)", self.poll_interval),
            );
            Duration::from_millis(250)
        });
        if poll_interval > Duration::from_secs(1) || poll_interval.is_zero() {
            add(
                "connections.poll_interval".to_owned(),
                "must be above 0 and at most 1s (changes must be live within a second)".to_owned(),
            );
        }
        let mut mappings = Vec::new();
        let mut names = Vec::new();
        for (index, raw) in self.mappings.into_iter().enumerate() {
            let key = |field: &str| format!("connections.mappings[{index}].{field}");
            if raw.name.is_empty()
                || !raw
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            {
                add(
                    key("name"),
                    format!("`{}` is not a name (letters, digits, - and _)", raw.name),
                );
            } else if names.contains(&raw.name) {
                add(
                    key("name"),
                    format!("`{}` is used twice (unique)", raw.name),
                );
            }
            names.push(raw.name.clone());
            let path_ok = |path: &str| path.starts_with('/') && !path.contains(['?', '#']);
            let route = match (raw.path, raw.host, raw.base_path) {
                (Some(path), None, None) => {
                    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
                    let holes = parts.iter().filter(|s| **s == "{connection}").count();
                    if !path_ok(&path)
                        || holes != 1
                        || parts
                            .iter()
                            .any(|s| s.contains(['{', '}']) && *s != "{connection}")
                    {
                        add(
                            key("path"),
                            format!(
                                "`{path}` must be a path with exactly one `{{connection}}` segment, e.g. /ws/{{connection}}/scim/v2"
                            ),
                        );
                        continue;
                    }
                    RouteSpec::Path {
                        segments: parts
                            .iter()
                            .map(|s| (*s != "{connection}").then(|| s.to_ascii_lowercase()))
                            .collect(),
                        template: format!("/{}", parts.join("/")),
                    }
                }
                (None, Some(host), base_path) => {
                    let base_path = base_path.unwrap_or_else(|| "/scim/v2".to_owned());
                    let Some((prefix, suffix)) = host.split_once("{connection}") else {
                        add(
                            key("host"),
                            format!(
                                "`{host}` must contain `{{connection}}`, e.g. {{connection}}.product.example"
                            ),
                        );
                        continue;
                    };
                    if !path_ok(&base_path) {
                        add(
                            key("base_path"),
                            format!("`{base_path}` is not a path (starts with /)"),
                        );
                        continue;
                    }
                    RouteSpec::Host {
                        prefix: prefix.to_ascii_lowercase(),
                        suffix: suffix.to_ascii_lowercase(),
                        base: segments(&base_path),
                        base_path,
                    }
                }
                (None, None, Some(base_path)) => {
                    if !path_ok(&base_path) {
                        add(
                            key("base_path"),
                            format!("`{base_path}` is not a path (starts with /)"),
                        );
                        continue;
                    }
                    RouteSpec::Credential {
                        base: segments(&base_path),
                        base_path,
                    }
                }
                _ => {
                    add(
                        key("path"),
                        "set one of `path` (with {connection}), `host` (with {connection}, and \
                         optionally base_path) or `base_path` alone (the token picks the \
                         connection)"
                            .to_owned(),
                    );
                    continue;
                }
            };
            mappings.push(ConnectionMapping {
                name: raw.name,
                mapping: raw.mapping,
                route,
            });
        }
        let secret_key = match (self.secret_key_from_env, self.secret_key_from_file) {
            (Some(_), Some(_)) => {
                add(
                    "connections.secret_key_from_env".to_owned(),
                    "set secret_key_from_env or secret_key_from_file, not both".to_owned(),
                );
                None
            }
            (Some(name), None) => Some(crate::settings::SecretSource::Env(name)),
            (None, Some(file)) => Some(crate::settings::SecretSource::File(file)),
            (None, None) => None,
        };
        ConnectionSettings {
            secret_key,
            admin_token_hashes: self.admin_token_hashes,
            poll_interval,
            mappings,
        }
    }
}
