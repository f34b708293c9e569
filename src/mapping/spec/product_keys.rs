//! The `product_keys:` section: API keys the product itself issues, accepted as a connection's
//! credential (a connection credential of kind `product_key`).

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::OperationFile;

/// How scimgate checks a key the product issued ("create an API key named Entra SCIM") and
/// passes it on. A request whose bearer token is such a key is checked with one
/// `auth.introspect` backend call (its outcome reused for `cache_seconds`), and every backend
/// call it makes then carries the key instead of `backend.auth`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductKeysFile {
    /// The header the key travels to the backend in, on the check and on every call made with
    /// it, e.g. `X-Api-Key` or `Authorization`.
    pub header: String,
    /// The header's value, `{key}` standing for the key (default `{key}`; e.g. `Bearer {key}`).
    #[serde(default)]
    pub value: Option<String>,
    /// The backend call that checks a key: a 2xx answer accepts it, 401, 403 or 404 refuse
    /// it, anything else (or no answer) is the backend's fault (503). Its path may use
    /// `{conn.NAME}`.
    pub introspect: OperationFile,
    /// Answer fields that must hold these values for the key to be accepted, e.g.
    /// `{ "$.workspace_id": "{conn.workspace_id}" }`, so a key of another workspace is refused.
    #[serde(default)]
    pub expect: BTreeMap<String, String>,
    /// How long a check's outcome is reused, in seconds (default 30; 0 checks every request).
    /// A key the product revokes stops working at most this long after.
    #[serde(default = "default_cache_seconds")]
    pub cache_seconds: u64,
}

fn default_cache_seconds() -> u64 {
    30
}
