//! Outbound credentials: the header each backend call carries.
//!
//! Static modes (bearer, basic, API-key header) are turned into one sensitive header value at
//! start. OAuth 2.0 client credentials (`client_secret_post`) fetch a token, cache it until
//! shortly before `expires_in`, refresh it single-flight (one fetch however many calls wait)
//! and drop it when the backend answers 401 with it. Never logs or returns a credential.

use crate::operation::BackendOp;
use std::time::Duration;

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::client::HttpClient;
use super::{BackendAuth, Error, Secret, fetch, message};

/// How long a token without `expires_in` is reused.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// Longest a token is reused, whatever `expires_in` says (also keeps the arithmetic finite).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Refresh this long before the token expires (at most half its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Longest token endpoint answer read.
const MAX_TOKEN_BODY: usize = 64 * 1024;

/// The credential source for one backend.
#[derive(Debug)]
pub(crate) enum Authenticator {
    /// No credentials.
    None,
    /// One fixed header.
    Static(HeaderName, HeaderValue),
    /// A cached OAuth 2.0 token.
    OAuth2(Box<TokenSource>),
}

impl Authenticator {
    /// Prepares the credentials; refuses values that are not valid header text.
    pub(crate) fn new(
        auth: &BackendAuth,
        http: HttpClient,
        user_agent: HeaderValue,
        call_timeout: Duration,
    ) -> Result<Self, Error> {
        let authorization = http::header::AUTHORIZATION;
        Ok(match auth {
            BackendAuth::None => Self::None,
            BackendAuth::Bearer(token) => Self::Static(
                authorization,
                sensitive(&format!("Bearer {}", token.expose()))?,
            ),
            BackendAuth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                Self::Static(authorization, sensitive(&format!("Basic {encoded}"))?)
            }
            BackendAuth::ApiKeyHeader { header, value } => {
                let name =
                    HeaderName::try_from(header.as_str()).map_err(|_| Error::InvalidConfig {
                        reason: format!("invalid API key header name {header:?}"),
                    })?;
                Self::Static(name, sensitive(value.expose())?)
            }
            BackendAuth::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                if !matches!(token_url.scheme(), "http" | "https") {
                    return Err(Error::InvalidConfig {
                        reason: "OAuth2 token_url must be http or https".to_owned(),
                    });
                }
                Self::OAuth2(Box::new(TokenSource {
                    http,
                    user_agent,
                    call_timeout,
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    scope: scope.clone(),
                    cached: Mutex::new(None),
                }))
            }
        })
    }

    /// The header to send with the next call (fetching a token when needed).
    pub(crate) async fn header(
        &self,
        deadline: Instant,
    ) -> Result<Option<(HeaderName, HeaderValue)>, Error> {
        match self {
            Self::None => Ok(None),
            Self::Static(name, value) => Ok(Some((name.clone(), value.clone()))),
            Self::OAuth2(source) => {
                let value = source.token(deadline).await?;
                Ok(Some((http::header::AUTHORIZATION, value)))
            }
        }
    }

    /// Forgets `used` after the backend refused it with 401; true when a new credential can be
    /// fetched (OAuth 2.0), so the call is worth repeating once.
    pub(crate) async fn refused(&self, used: Option<&HeaderValue>) -> bool {
        match (self, used) {
            (Self::OAuth2(source), Some(used)) => {
                let mut cached = source.cached.lock().await;
                if cached.as_ref().is_some_and(|token| token.value == used) {
                    *cached = None;
                }
                true
            }
            _ => false,
        }
    }
}

/// A header value that `http` and `hyper` will never print.
fn sensitive(text: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(text).map_err(|_| Error::InvalidConfig {
        reason: "credential is not valid header text (control characters?)".to_owned(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A cached access token.
struct CachedToken {
    value: HeaderValue,
    refresh_at: Instant,
}

/// Fetches and caches OAuth 2.0 client-credentials tokens.
pub(crate) struct TokenSource {
    http: HttpClient,
    user_agent: HeaderValue,
    call_timeout: Duration,
    token_url: Url,
    client_id: String,
    client_secret: Secret,
    scope: Option<String>,
    /// Held across a fetch, so concurrent callers wait for one refresh instead of each
    /// starting their own.
    cached: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    async fn token(&self, deadline: Instant) -> Result<HeaderValue, Error> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.value.clone());
        }
        let token = self.fetch(deadline).await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    async fn fetch(&self, deadline: Instant) -> Result<CachedToken, Error> {
        let timeout = Error::Timeout {
            operation: BackendOp::OAuthToken,
        };
        let limit = Instant::now()
            .checked_add(self.call_timeout)
            .map_or(deadline, |call_limit| call_limit.min(deadline));
        if Instant::now() >= limit {
            return Err(timeout);
        }
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("client_id", &self.client_id)
                .append_pair("client_secret", self.client_secret.expose());
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let token = || Error::Token {
            status: None,
            reason: "the token_url is not a valid request URL".to_owned(),
        };
        let request = http::Request::post(self.token_url.as_str())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, self.user_agent.clone())
            .body(http_body_util::Full::new(bytes::Bytes::from(form)))
            .map_err(|_| token())?;
        let started = Instant::now();
        let exchange = fetch::exchange(&self.http, request, MAX_TOKEN_BODY, self.call_timeout);
        let (status, body) = match tokio::time::timeout_at(limit, exchange).await {
            Err(_) => return Err(timeout),
            Ok(Err(reason)) => {
                return Err(Error::Token {
                    status: None,
                    reason,
                });
            }
            Ok(Ok(answer)) => (answer.status, answer.body),
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(
            status = status.as_u16(),
            latency_ms,
            "Backend OAuth2 token request."
        );
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            // The endpoint's text is never shown or logged above debug: it may echo the
            // client secret or a token.
            tracing::debug!(
                status = status.as_u16(),
                answer = message::extract(json.as_ref(), &body, status.as_str()),
                "Backend OAuth2 token endpoint refused."
            );
            return Err(Error::Token {
                status: Some(status),
                reason: format!("the token endpoint answered {}", status.as_u16()),
            });
        }
        let invalid = |reason: &str| Error::Token {
            status: Some(status),
            reason: reason.to_owned(),
        };
        let json = json.ok_or_else(|| invalid("token response is not JSON"))?;
        let access = json
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| invalid("token response has no access_token"))?;
        let lifetime = match json.get("expires_in") {
            Some(Value::Number(n)) => n.as_u64().map(Duration::from_secs),
            Some(Value::String(s)) => s.parse().ok().map(Duration::from_secs),
            _ => None,
        }
        .unwrap_or(DEFAULT_TOKEN_LIFETIME)
        .min(MAX_TOKEN_LIFETIME);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let value = sensitive(&format!("Bearer {access}"))
            .map_err(|_| invalid("access_token is not valid header text"))?;
        Ok(CachedToken {
            value,
            refresh_at: started + lifetime - margin,
        })
    }
}
