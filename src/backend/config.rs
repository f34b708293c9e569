//! How to reach the backend: base URL, outbound credentials, timeouts and retry budget.
//!
//! Owns only the plain configuration values; validation happens in `BackendClient::new`, which
//! refuses a configuration it cannot use (bad scheme, credentials in the URL, header values
//! that are not valid HTTP). Settings parsing lives in `settings.rs`, not here.

use std::time::Duration;

use url::Url;

use super::Secret;

/// Default overall budget for one SCIM request, below Entra's 60 s so the gateway answers
/// first; callers turn it into the `deadline` passed to `BackendClient::call`.
pub const DEFAULT_REQUEST_BUDGET: Duration = Duration::from_secs(50);

/// Everything the backend client needs to call the legacy REST API.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// Base URL; every request path is appended to its path and may never leave it.
    pub base_url: Url,
    /// Credentials sent with every call.
    pub auth: BackendAuth,
    /// Upper bound for one HTTP exchange (connect, send, read the whole body).
    pub call_timeout: Duration,
    /// Upper bound for establishing a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// How many times a failed call may be repeated (0 = never), always within the deadline.
    pub max_retries: u32,
    /// `User-Agent` header sent to the backend.
    pub user_agent: String,
}

impl BackendConfig {
    /// A configuration with sensible defaults: no auth, 10 s per call, 5 s to connect,
    /// 2 retries and a `scimgate/<version>` user agent.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            auth: BackendAuth::None,
            call_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_retries: 2,
            user_agent: concat!("scimgate/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// How the gateway authenticates to the backend (outbound auth).
#[derive(Debug, Clone)]
pub enum BackendAuth {
    /// No credentials (backend on a trusted network).
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// A fixed API key in a header of the backend's choosing (e.g. `X-Api-Key`).
    ApiKeyHeader {
        /// Header name.
        header: String,
        /// Header value.
        value: Secret,
    },
    /// OAuth 2.0 client credentials grant (`client_secret_post`); the token is cached until
    /// shortly before it expires and refetched once when the backend answers 401.
    OAuth2ClientCredentials {
        /// The authorization server's token endpoint.
        token_url: Url,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// Optional space-separated scopes.
        scope: Option<String>,
    },
}
