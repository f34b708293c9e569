//! Who is calling: checks the `Authorization` header of a request against one tenant's `auth:`
//! settings (static bearer tokens, HTTP Basic users, Entra-issued JWTs).
//!
//! This module decides only whether a credential is good and which one it was. It does not pick
//! HTTP statuses or write responses (the server does), and it never logs, stores in clear or puts
//! into an error a token or password: only SHA-256 digests are kept, and a [`Principal`] names the
//! credential, not its secret.

mod basic;
mod bearer;
mod jwt;
mod settings;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::AUTHORIZATION;

pub use basic::{configure as configure_password_checks, hash_password};
pub use bearer::{new_token, token_hash_line};
pub use settings::{
    AuthSettings, BasicUser, BearerSettings, DEFAULT_ENTRA_APP_ID, DEFAULT_ENTRA_AUDIENCE,
    EntraJwtSettings, Leeway,
};

use basic::{BasicUsers, Outcome};
use bearer::{StaticTokens, parse_hash_line, sha256};
use jwt::{EntraJwt, looks_like_jwt};

/// Longest `Authorization` value looked at; Entra's JWTs are about 1.5 KB.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// The credential a request was accepted with, for logs, metrics and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Which credential: `bearer#2` (the second of `token_hashes`), `bearer:env:NAME`,
    /// `bearer:file:PATH`, `basic:alice` or `jwt:<tenant id>`. Never a secret.
    pub name: String,
}

/// Why a request was not authenticated. `Display` tells the operator what to fix; it never
/// contains the presented token or password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error(
        "the request has no Authorization header; send `Authorization: Bearer <token>` (in \
         Entra: Provisioning > Admin Credentials > Secret Token)"
    )]
    Missing,
    /// The header is not `<scheme> <credentials>` or its credentials cannot be decoded.
    #[error("the Authorization header is malformed: {why}")]
    Malformed {
        /// What is wrong with it.
        why: &'static str,
    },
    /// A scheme this tenant does not accept (e.g. `Basic` when only bearer tokens are set).
    #[error(
        "the Authorization scheme `{scheme}` is not accepted by this tenant (accepted: \
         {accepted}); send one of those, or configure that scheme under auth"
    )]
    UnsupportedScheme {
        /// The scheme the request used (at most 20 characters of it).
        scheme: String,
        /// The schemes this tenant accepts, e.g. `Bearer, Basic`.
        accepted: String,
    },
    /// Too many failed Basic logins for this user name or from this peer, recently.
    #[error(
        "too many failed logins for this user name or from this address; retry in {retry_after} \
         seconds (server.limits.login_failures, login_failure_window)"
    )]
    TooManyFailures {
        /// Seconds until one more attempt is allowed.
        retry_after: u64,
    },
    /// A bearer token that matches no configured token.
    #[error(
        "the bearer token matches none of the configured tokens; paste a token whose hash is in \
         auth.bearer.token_hashes (or tokens_from_env / tokens_from_files) into Entra's Secret \
         Token field (`scimgate token` makes a pair). If the Secret Token field is blank, Entra \
         sends its own JWT instead: configure auth.entra_jwt to accept it"
    )]
    InvalidToken,
    /// A Basic user name that is not configured, or a wrong password (not told apart).
    #[error("the Basic user name or password is wrong; check the credentials against auth.basic")]
    BadCredentials,
    /// A JWT whose `exp`, plus the leeway, is in the past.
    #[error(
        "the JWT expired at {exp} (now {now}, seconds since 1970, leeway {leeway}s); Entra \
         fetches a fresh one on its own, so check this server's clock or raise \
         auth.entra_jwt.leeway"
    )]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The server's clock.
        now: i64,
        /// The configured leeway in seconds.
        leeway: u64,
    },
    /// A JWT whose `nbf`, minus the leeway, is in the future.
    #[error(
        "the JWT is not valid before {nbf} (now {now}, seconds since 1970, leeway {leeway}s); \
         check this server's clock or raise auth.entra_jwt.leeway"
    )]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// The server's clock.
        now: i64,
        /// The configured leeway in seconds.
        leeway: u64,
    },
    /// A JWT whose `iss` is not the configured tenant's issuer.
    #[error(
        "the JWT issuer '{got}' is not the expected '{expected}'; set auth.entra_jwt.tenant_id \
         (or auth.entra_jwt.issuer for sovereign clouds)"
    )]
    WrongIssuer {
        /// The token's `iss`.
        got: String,
        /// The issuer the settings expect.
        expected: String,
    },
    /// A JWT with an `aud` outside the allowed list.
    #[error(
        "the JWT audience {got:?} is not one of the allowed audiences {allowed:?}; set \
         auth.entra_jwt.audiences"
    )]
    WrongAudience {
        /// The token's audiences.
        got: Vec<String>,
        /// The configured audiences.
        allowed: Vec<String>,
    },
    /// A JWT issued for another Entra tenant (`tid`).
    #[error(
        "the JWT is for tenant '{got}', not the configured '{expected}'; set \
         auth.entra_jwt.tenant_id to the Directory (tenant) ID of the Entra tenant that \
         provisions"
    )]
    WrongTenant {
        /// The token's `tid` (empty when it has none).
        got: String,
        /// The configured tenant id.
        expected: String,
    },
    /// A JWT issued to an application other than Entra's provisioning service (`appid`).
    #[error(
        "the JWT was issued to application '{got}', not '{expected}' (Entra's provisioning \
         service); set auth.entra_jwt.app_id"
    )]
    WrongApp {
        /// The token's `appid`.
        got: String,
        /// The configured application id.
        expected: String,
    },
    /// A JWT signed with a key the tenant's JWKS does not hold, even after fetching it again.
    #[error(
        "the JWT is signed with key '{kid}', which the tenant's JWKS does not list; check \
         auth.entra_jwt.tenant_id and auth.entra_jwt.jwks_url"
    )]
    UnknownKey {
        /// The key id from the token header.
        kid: String,
    },
    /// A JWT whose RS256 signature does not verify.
    #[error(
        "the JWT signature does not verify with key '{kid}'; the token was altered or not \
         issued by Entra"
    )]
    BadSignature {
        /// The key id from the token header.
        kid: String,
    },
    /// A JWT signed with an algorithm other than RS256 (including `none` and HS256).
    #[error("the JWT algorithm '{alg}' is refused; only RS256 (what Entra uses) is accepted")]
    DisallowedAlgorithm {
        /// The header's `alg` (at most 20 characters of it).
        alg: String,
    },
    /// A bearer value that should be a JWT but cannot be decoded.
    #[error("the bearer token is not a usable JWT: {why}")]
    MalformedJwt {
        /// What is wrong with it.
        why: String,
    },
    /// The tenant's JWKS could not be fetched, so no JWT can be checked.
    #[error(
        "cannot fetch the signing keys from {url}: {error}; check that this server reaches it \
         (proxy, firewall) or set auth.entra_jwt.jwks_url"
    )]
    JwksUnavailable {
        /// The JWKS URL.
        url: String,
        /// Why the fetch failed.
        error: String,
    },
}

impl AuthError {
    /// A short, stable label for metrics and logs (`missing`, `expired`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed { .. } => "malformed",
            Self::UnsupportedScheme { .. } => "unsupported_scheme",
            Self::InvalidToken => "invalid_token",
            Self::BadCredentials => "bad_credentials",
            Self::TooManyFailures { .. } => "too_many_failures",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::WrongIssuer { .. } => "wrong_issuer",
            Self::WrongAudience { .. } => "wrong_audience",
            Self::WrongTenant { .. } => "wrong_tenant",
            Self::WrongApp { .. } => "wrong_app",
            Self::UnknownKey { .. } => "unknown_key",
            Self::BadSignature { .. } => "bad_signature",
            Self::DisallowedAlgorithm { .. } => "disallowed_algorithm",
            Self::MalformedJwt { .. } => "malformed_jwt",
            Self::JwksUnavailable { .. } => "jwks_unavailable",
        }
    }

    /// True when the fault is not the client's: the credential could not be checked at all
    /// (the JWKS is unreachable). The caller may answer 503 rather than 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::JwksUnavailable { .. })
    }
}

/// One tenant's compiled `auth:` settings: checks request headers.
#[derive(Debug)]
pub struct Authenticator {
    tokens: StaticTokens,
    basic: Option<BasicUsers>,
    jwt: Option<EntraJwt>,
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Authenticator {
    /// Validates `settings`, reading the environment variables and files they name. Returns
    /// every problem, each as `auth.<key>: what is wrong (what is allowed)`.
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, Vec<String>> {
        Self::from_settings_with(settings, &|name| std::env::var(name).ok())
    }

    /// [`Authenticator::from_settings`] with the environment given as a lookup function, so
    /// tests never touch the process environment.
    pub fn from_settings_with(
        settings: &AuthSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if settings.bearer.is_none() && settings.basic.is_none() && settings.entra_jwt.is_none() {
            problems.push(
                "auth: no authentication method is configured (set at least one of auth.bearer, \
                 auth.basic, auth.entra_jwt; `scimgate token` makes a bearer token)"
                    .to_owned(),
            );
        }
        let tokens = settings
            .bearer
            .as_ref()
            .map(|bearer| static_tokens(bearer, env, &mut problems))
            .unwrap_or_default();
        let basic = settings
            .basic
            .as_ref()
            .and_then(|users| BasicUsers::from_settings(users, &mut problems));
        let jwt = settings
            .entra_jwt
            .as_ref()
            .and_then(|jwt| EntraJwt::from_settings(jwt, &mut problems));
        if problems.is_empty() {
            Ok(Self { tokens, basic, jwt })
        } else {
            Err(problems)
        }
    }

    /// The `WWW-Authenticate` value for a 401: one challenge per accepted scheme.
    pub fn www_authenticate(&self) -> String {
        let mut challenges = Vec::new();
        if !self.tokens.is_empty() || self.jwt.is_some() {
            challenges.push(r#"Bearer realm="scimgate""#);
        }
        if self.basic.is_some() {
            challenges.push(r#"Basic realm="scimgate", charset="UTF-8""#);
        }
        challenges.join(", ")
    }

    fn accepted_schemes(&self) -> String {
        let challenge = self.www_authenticate();
        let mut schemes = Vec::new();
        if challenge.contains("Bearer") {
            schemes.push("Bearer");
        }
        if challenge.contains("Basic") {
            schemes.push("Basic");
        }
        schemes.join(", ")
    }

    /// The seconds a throttled client should wait (`TooManyFailures`), for `Retry-After`.
    pub fn retry_after(error: &AuthError) -> Option<u64> {
        match error {
            AuthError::TooManyFailures { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// Checks the request's `Authorization` header; says which credential it carried.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        self.authenticate_from(headers, None).await
    }

    /// [`Authenticator::authenticate`] for a request from `peer`, whose failed Basic logins
    /// are counted for the back-off.
    pub async fn authenticate_from(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let value = values.next().ok_or(AuthError::Missing)?;
        if values.next().is_some() {
            return Err(AuthError::Malformed {
                why: "it is sent more than once (send exactly one)",
            });
        }
        if value.len() > MAX_HEADER_BYTES {
            return Err(AuthError::Malformed {
                why: "it is longer than 8 KiB",
            });
        }
        let value = value.to_str().map_err(|_| AuthError::Malformed {
            why: "it holds bytes that are not visible ASCII",
        })?;
        let (scheme, credentials) = value
            .trim()
            .split_once(' ')
            .map(|(scheme, rest)| (scheme, rest.trim()))
            .ok_or(AuthError::Malformed {
                why: "expected `Bearer <token>` or `Basic <base64>`",
            })?;
        if credentials.is_empty() || credentials.contains(' ') {
            return Err(AuthError::Malformed {
                why: "expected exactly one value after the scheme",
            });
        }
        let name = if scheme.eq_ignore_ascii_case("bearer")
            && (!self.tokens.is_empty() || self.jwt.is_some())
        {
            self.bearer(credentials).await?
        } else if scheme.eq_ignore_ascii_case("basic")
            && let Some(users) = &self.basic
        {
            basic(users, credentials, peer).await?
        } else {
            return Err(AuthError::UnsupportedScheme {
                scheme: scheme.chars().take(20).collect(),
                accepted: self.accepted_schemes(),
            });
        };
        Ok(Principal { name })
    }

    async fn bearer(&self, token: &str) -> Result<String, AuthError> {
        if let Some(name) = self.tokens.find(token) {
            return Ok(name.to_owned());
        }
        match &self.jwt {
            Some(jwt) if looks_like_jwt(token) => jwt.verify(token).await,
            Some(_) if self.tokens.is_empty() => Err(AuthError::MalformedJwt {
                why: "it is not three dot-separated base64url parts".to_owned(),
            }),
            _ => Err(AuthError::InvalidToken),
        }
    }
}

async fn basic(
    users: &BasicUsers,
    credentials: &str,
    peer: Option<IpAddr>,
) -> Result<String, AuthError> {
    let decoded = STANDARD
        .decode(credentials)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(AuthError::Malformed {
            why: "the Basic credentials are not base64 of UTF-8 `user:password`",
        })?;
    let (username, password) = decoded.split_once(':').ok_or(AuthError::Malformed {
        why: "the Basic credentials have no `:` between user and password",
    })?;
    match users.check_from(username, password, peer).await {
        Outcome::Accepted => Ok(format!("basic:{username}")),
        Outcome::Rejected => Err(AuthError::BadCredentials),
        Outcome::Throttled(wait) => Err(AuthError::TooManyFailures {
            retry_after: wait.as_secs().max(1),
        }),
    }
}

/// Collects the bearer tokens from hashes, environment variables and files.
fn static_tokens(
    settings: &BearerSettings,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> StaticTokens {
    let mut tokens = StaticTokens::default();
    if settings.token_hashes.is_empty()
        && settings.tokens_from_env.is_empty()
        && settings.tokens_from_files.is_empty()
    {
        problems.push(
            "auth.bearer: no token is configured (set token_hashes, tokens_from_env or \
             tokens_from_files; `scimgate token` makes a token and its hash)"
                .to_owned(),
        );
    }
    for (index, line) in settings.token_hashes.iter().enumerate() {
        match parse_hash_line(line) {
            Some(digest) => tokens.push(digest, format!("bearer#{}", index + 1)),
            None => problems.push(format!(
                "auth.bearer.token_hashes[{index}]: not a token hash (\"sha256:\" followed by 64 \
                 hex digits; `scimgate token` prints one)"
            )),
        }
    }
    for (index, name) in settings.tokens_from_env.iter().enumerate() {
        match env(name).map(|value| value.trim().to_owned()) {
            Some(token) if !token.is_empty() => {
                tokens.push(sha256(token.as_bytes()), format!("bearer:env:{name}"));
            }
            _ => problems.push(format!(
                "auth.bearer.tokens_from_env[{index}]: the environment variable `{name}` is not \
                 set or is empty (set it to the token, or remove it from the list)"
            )),
        }
    }
    for (index, path) in settings.tokens_from_files.iter().enumerate() {
        match std::fs::read_to_string(path).map(|text| text.trim().to_owned()) {
            Ok(token) if !token.is_empty() && !token.contains(char::is_whitespace) => {
                tokens.push(sha256(token.as_bytes()), format!("bearer:file:{path}"));
            }
            Ok(_) => problems.push(format!(
                "auth.bearer.tokens_from_files[{index}]: `{path}` does not hold one token (one \
                 line, no spaces)"
            )),
            Err(error) => problems.push(format!(
                "auth.bearer.tokens_from_files[{index}]: cannot read `{path}`: {error} (a \
                 readable file holding one token)"
            )),
        }
    }
    tokens
}
