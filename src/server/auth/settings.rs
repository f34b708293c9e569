//! The `auth:` block of one tenant in the settings file, as the operator writes it.
//!
//! These structs only describe the YAML; they check nothing beyond its shape. Turning them into a
//! working [`Authenticator`](super::Authenticator) (parsing hashes, reading env vars and files,
//! validating the tenant id) is done by `Authenticator::from_settings`, which lists every problem.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How one tenant's SCIM clients prove who they are. All parts are optional, but at least one of
/// `bearer`, `basic` and `entra_jwt` must be set; a request passes if any configured method
/// accepts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Long-lived bearer tokens (Entra's "Secret Token" field). Any listed token is accepted, so
    /// rotation is: add the new one, switch Entra over, remove the old one.
    #[serde(default)]
    pub bearer: Option<BearerSettings>,
    /// HTTP Basic users (`Authorization: Basic base64(user:password)`).
    #[serde(default)]
    pub basic: Option<Vec<BasicUser>>,
    /// Tokens issued by Microsoft Entra ID itself (sent when Entra's Secret Token field is left
    /// blank; Microsoft recommends it for testing only).
    #[serde(default)]
    pub entra_jwt: Option<EntraJwtSettings>,
}

/// Where the accepted bearer tokens come from. Tokens are never stored in clear in the settings:
/// give their hashes (made by `scimgate token`), or name an environment variable or a file that
/// holds a clear token (read once at start and hashed in memory).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BearerSettings {
    /// `sha256:<64 hex digits>` lines, as printed by `scimgate token`.
    #[serde(default)]
    pub token_hashes: Vec<String>,
    /// Names of environment variables, each holding one clear token.
    #[serde(default)]
    pub tokens_from_env: Vec<String>,
    /// Paths of files (e.g. mounted secrets), each holding one clear token; surrounding
    /// whitespace is ignored.
    #[serde(default)]
    pub tokens_from_files: Vec<String>,
}

/// One HTTP Basic user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicUser {
    /// The user name, compared exactly (it may not contain `:`).
    pub username: String,
    /// The password's hash: `sha256:<64 hex digits>` (fine for long random passwords), or an
    /// Argon2 PHC string `$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>` (for passwords a person
    /// chose).
    pub password_hash: String,
}

/// Accept JWTs that Microsoft Entra ID issues for its provisioning service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntraJwtSettings {
    /// The customer's Entra tenant id (a GUID). Pins the `tid` claim and the issuer.
    pub tenant_id: String,
    /// Accepted `aud` values. Default: `8adf8e6e-67b2-4cf2-a259-e3dc5476c621`, the audience Entra
    /// uses for all custom (non-gallery) apps.
    #[serde(default = "default_audiences")]
    pub audiences: Vec<String>,
    /// Expected `appid` claim (checked when the token has one). Default:
    /// `00000014-0000-0000-c000-000000000000`, Entra's provisioning service.
    #[serde(default = "default_app_id")]
    pub app_id: String,
    /// Expected `iss` claim. Default: `https://sts.windows.net/<tenant_id>/`; set it only for
    /// sovereign clouds, whose issuers have another root.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Where the signing keys are published. Default:
    /// `https://login.microsoftonline.com/<tenant_id>/discovery/keys`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`: `60s`, `2m`, or a number of seconds.
    /// Default `60s`, at most `5m`.
    #[serde(default = "default_leeway")]
    #[schemars(with = "String")]
    pub leeway: Leeway,
}

/// The audience Entra puts in tokens for all custom (non-gallery) apps.
pub const DEFAULT_ENTRA_AUDIENCE: &str = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";
/// The application id of Entra's provisioning service (Microsoft.Azure.SyncFabric).
pub const DEFAULT_ENTRA_APP_ID: &str = "00000014-0000-0000-c000-000000000000";

fn default_audiences() -> Vec<String> {
    vec![DEFAULT_ENTRA_AUDIENCE.to_owned()]
}

fn default_app_id() -> String {
    DEFAULT_ENTRA_APP_ID.to_owned()
}

fn default_leeway() -> Leeway {
    Leeway(Duration::from_secs(60))
}

/// A clock-skew allowance, written `60s`, `2m` or as a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leeway(pub Duration);

impl Default for Leeway {
    fn default() -> Self {
        default_leeway()
    }
}

impl fmt::Display for Leeway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs())
    }
}

impl Serialize for Leeway {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Leeway {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Leeway;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `60s` or `2m`, or a number of seconds")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Leeway, E> {
                Ok(Leeway(Duration::from_secs(v)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Leeway, E> {
                u64::try_from(v)
                    .map(|v| Leeway(Duration::from_secs(v)))
                    .map_err(|_| E::custom("the leeway cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Leeway, E> {
                parse_leeway(v).ok_or_else(|| {
                    E::custom(format!(
                        "invalid duration `{v}` (write `60s`, `2m` or a number of seconds)"
                    ))
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Parses `60s`, `2m` or `60`.
fn parse_leeway(text: &str) -> Option<Leeway> {
    let text = text.trim();
    let (digits, unit) = match text.strip_suffix('s') {
        Some(digits) => (digits, 1),
        None => match text.strip_suffix('m') {
            Some(digits) => (digits, 60),
            None => (text, 1),
        },
    };
    let value: u64 = digits.trim().parse().ok()?;
    Some(Leeway(Duration::from_secs(value.checked_mul(unit)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leeway_accepts_seconds_minutes_and_numbers() {
        assert_eq!(parse_leeway("60s"), Some(Leeway(Duration::from_secs(60))));
        assert_eq!(parse_leeway("2m"), Some(Leeway(Duration::from_secs(120))));
        assert_eq!(parse_leeway("30"), Some(Leeway(Duration::from_secs(30))));
        assert_eq!(parse_leeway("soon"), None);
        assert_eq!(parse_leeway("-1s"), None);
    }

    #[test]
    fn yaml_block_parses_with_defaults_and_rejects_unknown_keys() {
        let yaml = "entra_jwt:\n  tenant_id: 11111111-2222-3333-4444-555555555555\n  leeway: 2m\n";
        let parsed: AuthSettings = serde_saphyr::from_str(yaml).unwrap();
        let jwt = parsed.entra_jwt.unwrap();
        assert_eq!(jwt.audiences, vec![DEFAULT_ENTRA_AUDIENCE.to_owned()]);
        assert_eq!(jwt.app_id, DEFAULT_ENTRA_APP_ID);
        assert_eq!(jwt.leeway, Leeway(Duration::from_secs(120)));

        let typo = "bearer:\n  token_hash: [x]\n";
        assert!(serde_saphyr::from_str::<AuthSettings>(typo).is_err());
    }
}
