//! The `backend:` block as plain data for the HTTP client: base URL, credentials, time limits.
//!
//! Secrets are masked in `Debug` output so a logged mapping never shows them.

use std::fmt;

/// Where the backend is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    /// The base URL (`http://127.0.0.1:8081`), checked (http or https) and parsed once when the
    /// mapping compiled; next-page links and the client are checked against it as parsed.
    pub base_url: url::Url,
    /// How to authenticate, if at all.
    pub auth: Option<BackendAuth>,
    /// Connect time limit in milliseconds.
    pub connect_timeout_ms: u64,
    /// Whole-request time limit in milliseconds.
    pub request_timeout_ms: u64,
    /// A `bearer` or `api_key` credential that names connection variables
    /// (`{conn.api_key}`): sent as this header, filled per connection, instead of `auth`.
    pub(crate) connection_auth: Option<(String, crate::mapping::template::Template)>,
}

/// Backend credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendAuth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A key in a named header.
    ApiKey {
        /// Header name.
        header: String,
        /// Header value.
        value: String,
    },
    /// OAuth 2.0 client credentials.
    OAuth2 {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
        /// Requested scopes.
        scope: Option<String>,
    },
}

impl fmt::Debug for BackendAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer { .. } => f.write_str("Bearer(***)"),
            Self::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Self::ApiKey { header, .. } => write!(f, "ApiKey({header}: ***)"),
            Self::OAuth2 {
                token_url,
                client_id,
                ..
            } => write!(f, "OAuth2({token_url}, {client_id}, ***)"),
        }
    }
}
