//! Entra-issued JWTs: RS256 signatures checked against the tenant's JWKS, then the claims Entra
//! sets for its provisioning service (`tid`, `iss`, `aud`, `appid`, `exp`, `nbf`).
//!
//! Keys are cached by `kid` and the JWKS is fetched again only when a token names a `kid` the
//! cache does not hold, at most once per `min_refresh_interval` and by one request at a time (the
//! others wait for its result). The token itself is never logged.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde::Deserialize;

use crate::backend::fetch;

use super::{AuthError, EntraJwtSettings};

/// The only signature algorithm accepted: what Entra uses. `none` and the HMAC family (which a
/// forger could "sign" with the public key) are refused before any key is looked at.
const ALLOWED_ALGORITHM: &str = "RS256";
/// How long a JWKS answer may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The default for [`JwksCache::min_refresh_interval`].
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// A JWKS larger than this is refused (Entra's is a few kilobytes).
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// A validated `entra_jwt` block, ready to check tokens.
#[derive(Debug)]
pub(super) struct EntraJwt {
    tenant_id: String,
    issuer: String,
    audiences: Vec<String>,
    app_id: String,
    leeway: Duration,
    pub(super) keys: JwksCache,
}

impl EntraJwt {
    /// Validates the settings, pushing one message per problem into `problems`.
    pub(super) fn from_settings(
        settings: &EntraJwtSettings,
        problems: &mut Vec<String>,
    ) -> Option<Self> {
        let before = problems.len();
        let tenant_id = match uuid::Uuid::parse_str(settings.tenant_id.trim()) {
            Ok(id) => id.hyphenated().to_string(),
            Err(_) => {
                problems.push(format!(
                    "auth.entra_jwt.tenant_id: `{}` is not a GUID (the Directory (tenant) ID \
                     from the Entra admin center, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47)",
                    settings.tenant_id
                ));
                String::new()
            }
        };
        if settings.audiences.is_empty() || settings.audiences.iter().any(String::is_empty) {
            problems.push(format!(
                "auth.entra_jwt.audiences: needs at least one non-empty audience (the default is \
                 [{}])",
                super::DEFAULT_ENTRA_AUDIENCE
            ));
        }
        if settings.app_id.trim().is_empty() {
            problems.push(format!(
                "auth.entra_jwt.app_id: must not be empty (the default is {})",
                super::DEFAULT_ENTRA_APP_ID
            ));
        }
        let jwks_url = settings.jwks_url.clone().unwrap_or_else(|| {
            format!("https://login.microsoftonline.com/{tenant_id}/discovery/keys")
        });
        match url::Url::parse(&jwks_url) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => {}
            _ => problems.push(format!(
                "auth.entra_jwt.jwks_url: `{jwks_url}` is not an http(s) URL (default: \
                 https://login.microsoftonline.com/<tenant_id>/discovery/keys)"
            )),
        }
        if settings.leeway.0 > Duration::from_secs(300) {
            problems.push(format!(
                "auth.entra_jwt.leeway: {} is too long (at most 5m; 60s is usual)",
                settings.leeway
            ));
        }
        let issuer = settings
            .issuer
            .clone()
            .unwrap_or_else(|| format!("https://sts.windows.net/{tenant_id}/"));
        if issuer.trim().is_empty() {
            problems.push(
                "auth.entra_jwt.issuer: must not be empty (leave it out for the default \
                 https://sts.windows.net/<tenant_id>/)"
                    .to_owned(),
            );
        }
        let client = match fetch::client(FETCH_TIMEOUT) {
            Ok(client) => Some(client),
            Err(error) => {
                problems.push(format!(
                    "auth.entra_jwt: cannot build the HTTP client that fetches the JWKS: {error}"
                ));
                None
            }
        };
        if problems.len() > before {
            return None;
        }
        Some(Self {
            tenant_id,
            issuer,
            audiences: settings.audiences.clone(),
            app_id: settings.app_id.trim().to_owned(),
            leeway: settings.leeway.0,
            keys: JwksCache::new(jwks_url, client?),
        })
    }

    /// Checks `token`; on success returns the principal name `jwt:<tid>`.
    pub(super) async fn verify(&self, token: &str) -> Result<String, AuthError> {
        let kid = key_id(token)?;
        let key = self.keys.key_for(&kid).await?;

        // The claims are checked by hand, so that each failure can say what it saw.
        let claims = verified_claims(token, &key, &kid)?;
        self.check_claims(&claims, now_seconds())?;
        Ok(format!("jwt:{}", self.tenant_id))
    }

    fn check_claims(&self, claims: &Claims, now: f64) -> Result<(), AuthError> {
        let leeway = self.leeway.as_secs_f64();
        let Some(exp) = claims.exp else {
            return Err(AuthError::MalformedJwt {
                why: "it has no `exp` claim".to_owned(),
            });
        };
        if exp + leeway < now {
            return Err(AuthError::Expired {
                exp: exp as i64,
                now: now as i64,
                leeway: self.leeway.as_secs(),
            });
        }
        if let Some(nbf) = claims.nbf
            && nbf - leeway > now
        {
            return Err(AuthError::NotYetValid {
                nbf: nbf as i64,
                now: now as i64,
                leeway: self.leeway.as_secs(),
            });
        }
        let tid = claims.tid.as_deref().unwrap_or_default();
        if !tid.eq_ignore_ascii_case(&self.tenant_id) {
            return Err(AuthError::WrongTenant {
                got: tid.to_owned(),
                expected: self.tenant_id.clone(),
            });
        }
        let iss = claims.iss.as_deref().unwrap_or_default();
        if iss != self.issuer {
            return Err(AuthError::WrongIssuer {
                got: iss.to_owned(),
                expected: self.issuer.clone(),
            });
        }
        let audiences = match &claims.aud {
            Some(Audience::One(one)) => vec![one.clone()],
            Some(Audience::Many(many)) => many.clone(),
            None => Vec::new(),
        };
        if !audiences.iter().any(|aud| self.audiences.contains(aud)) {
            return Err(AuthError::WrongAudience {
                got: audiences,
                allowed: self.audiences.clone(),
            });
        }
        if let Some(appid) = &claims.appid
            && !appid.eq_ignore_ascii_case(&self.app_id)
        {
            return Err(AuthError::WrongApp {
                got: appid.clone(),
                expected: self.app_id.clone(),
            });
        }
        Ok(())
    }
}

/// Whether `token` has the shape of a JWT (three dot-separated base64url parts).
pub(super) fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|part| !part.is_empty())
        && parts.iter().all(|part| {
            part.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        })
}

/// Reads the header without trusting it: refuses any algorithm but RS256, returns the key id.
fn key_id(token: &str) -> Result<String, AuthError> {
    let header = token.split('.').next().unwrap_or_default();
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| AuthError::MalformedJwt {
            why: "its header is not base64url-encoded JSON".to_owned(),
        })?;
    let alg = header.get("alg").and_then(serde_json::Value::as_str);
    if alg != Some(ALLOWED_ALGORITHM) {
        return Err(AuthError::DisallowedAlgorithm {
            alg: alg.unwrap_or("(none given)").chars().take(20).collect(),
        });
    }
    ["kid", "x5t"]
        .iter()
        .find_map(|name| header.get(*name).and_then(serde_json::Value::as_str))
        .map(|kid| kid.chars().take(100).collect())
        .ok_or_else(|| AuthError::MalformedJwt {
            why: "its header names no key (`kid`)".to_owned(),
        })
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// The claims checked; everything else in the token is ignored.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    tid: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
    nbf: Option<f64>,
    appid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The tenant's signing keys by `kid`, fetched on demand.
#[derive(Debug)]
pub(super) struct JwksCache {
    url: String,
    client: fetch::HttpClient,
    keys: RwLock<Arc<HashMap<String, Arc<RsaKey>>>>,
    refresh: tokio::sync::Mutex<RefreshState>,
    /// The JWKS is fetched at most once per this interval, so a stream of tokens with made-up
    /// `kid`s cannot turn the gateway into a load generator against Microsoft.
    pub(super) min_refresh_interval: Duration,
}

#[derive(Debug, Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

impl JwksCache {
    fn new(url: String, client: fetch::HttpClient) -> Self {
        Self {
            url,
            client,
            keys: RwLock::default(),
            refresh: tokio::sync::Mutex::default(),
            min_refresh_interval: MIN_REFRESH_INTERVAL,
        }
    }

    fn cached(&self, kid: &str) -> Option<Arc<RsaKey>> {
        self.keys.read().ok()?.get(kid).cloned()
    }

    /// The key named `kid`, fetching the JWKS again if it is not cached (see the module doc).
    async fn key_for(&self, kid: &str) -> Result<Arc<RsaKey>, AuthError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut state = self.refresh.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let recently = state
            .last_attempt
            .is_some_and(|last| last.elapsed() < self.min_refresh_interval);
        if recently {
            return Err(match &state.last_error {
                Some(error) => self.unavailable(error.clone()),
                None => AuthError::UnknownKey {
                    kid: kid.to_owned(),
                },
            });
        }
        state.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.len(), "Fetched the Entra JWKS.");
                state.last_error = None;
                if let Ok(mut cached) = self.keys.write() {
                    *cached = Arc::new(keys);
                }
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "Cannot fetch the Entra JWKS.");
                state.last_error = Some(error.clone());
                return Err(self.unavailable(error));
            }
        }
        self.cached(kid).ok_or_else(|| AuthError::UnknownKey {
            kid: kid.to_owned(),
        })
    }

    fn unavailable(&self, error: String) -> AuthError {
        AuthError::JwksUnavailable {
            url: self.url.clone(),
            error,
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<RsaKey>>, String> {
        let request = http::Request::get(self.url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|error| error.to_string())?;
        let answer = fetch::exchange(&self.client, request, MAX_JWKS_BYTES, FETCH_TIMEOUT).await?;
        let status = answer.status;
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        if answer.truncated {
            return Err(format!("the answer is larger than {MAX_JWKS_BYTES} bytes"));
        }
        let set: JwkSet = serde_json::from_slice(&answer.body)
            .map_err(|error| format!("the answer is not a JWKS ({error})"))?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            let usable = jwk.kty == "RSA" && jwk.use_.as_deref().is_none_or(|use_| use_ == "sig");
            let (Some(n), Some(e)) = (&jwk.n, &jwk.e) else {
                continue;
            };
            if !usable {
                continue;
            }
            let (Some(n), Some(e)) = (base64url(n), base64url(e)) else {
                continue;
            };
            let key = RsaPublicKeyComponents { n, e };
            let key = Arc::new(key);
            for id in [&jwk.kid, &jwk.x5t].into_iter().flatten() {
                keys.insert(id.clone(), Arc::clone(&key));
            }
        }
        if keys.is_empty() {
            return Err("the JWKS holds no usable RSA signing key".to_owned());
        }
        Ok(keys)
    }
}

/// An RSA public key from the JWKS (modulus and exponent, big-endian).
type RsaKey = RsaPublicKeyComponents<Vec<u8>>;

/// Base64url text (padding tolerated) as bytes.
fn base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// The claims of `token` once its RS256 signature checks out against `key` (the header's
/// algorithm was checked by [`key_id`]). Checked with ring, which rustls already brings.
fn verified_claims(token: &str, key: &RsaKey, kid: &str) -> Result<Claims, AuthError> {
    let malformed = |why: &str| AuthError::MalformedJwt {
        why: why.to_owned(),
    };
    let (signed, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| malformed("it is not three dot-separated parts"))?;
    let (_, payload) = signed
        .split_once('.')
        .filter(|(_, payload)| !payload.contains('.'))
        .ok_or_else(|| malformed("it is not three dot-separated parts"))?;
    let signature =
        base64url(signature).ok_or_else(|| malformed("its signature is not base64url"))?;
    key.verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
        .map_err(|_| AuthError::BadSignature {
            kid: kid.to_owned(),
        })?;
    let payload = base64url(payload).ok_or_else(|| malformed("its payload is not base64url"))?;
    serde_json::from_slice(&payload).map_err(|error| AuthError::MalformedJwt {
        why: format!("cannot decode its claims ({error})"),
    })
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<JwkEntry>,
}

#[derive(Debug, Deserialize)]
struct JwkEntry {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    kid: Option<String>,
    x5t: Option<String>,
    n: Option<String>,
    e: Option<String>,
}
