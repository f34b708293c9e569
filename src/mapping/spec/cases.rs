//! The `tests:` section of a mapping file: examples that must hold, as an operator writes them.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One example that must hold. Give exactly one of `read`, `create`, `replace`, `patch`,
/// `filter`, `backend_error`. Each runs as one SCIM request through the engine against an
/// in-memory backend that answers from the case (`scimgate check` runs them).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// What the case shows.
    pub name: String,
    /// `users` (default) or `groups`.
    #[serde(default)]
    pub resource: Option<String>,
    /// A backend object and the SCIM resource it must read as.
    #[serde(default)]
    pub read: Option<ReadTestFile>,
    /// A SCIM create body and the backend request it must produce (or the error).
    #[serde(default)]
    pub create: Option<WriteTestFile>,
    /// A SCIM PUT body on a current backend object and the request it must produce.
    #[serde(default)]
    pub replace: Option<WriteTestFile>,
    /// SCIM PATCH operations on a current backend object and the request it must produce.
    #[serde(default)]
    pub patch: Option<WriteTestFile>,
    /// A SCIM filter and the backend request (or the searches) it must become.
    #[serde(default)]
    pub filter: Option<FilterTestFile>,
    /// A backend error answer and the SCIM error it must become (the mapping's `errors:`).
    #[serde(default)]
    pub backend_error: Option<BackendErrorTestFile>,
    /// The connection variables (`{conn.NAME}`) the case runs with, e.g.
    /// `{workspace_id: "42"}`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// A backend error example: the answer one backend operation gets, and the SCIM error the
/// client must see.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendErrorTestFile {
    /// The backend operation that got the answer (`create`, `get`, `list`, `replace`,
    /// `update`, `delete`, `deactivate`, `members.add`, `members.remove`, `members.list`).
    pub on: String,
    /// The backend's HTTP status.
    pub status: u16,
    /// The JSON answer body.
    #[serde(default)]
    pub body: Option<Value>,
    /// Or: a plain-text answer body.
    #[serde(default)]
    pub text: Option<String>,
    /// The SCIM error it must become.
    pub scim: ScimErrorFile,
}

/// A SCIM error as the client sees it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimErrorFile {
    /// The SCIM status (`409`; `204` for an `already_done` rule: success once scimgate has
    /// checked the member list).
    pub status: u16,
    /// The SCIM `scimType` (`uniqueness`, `invalidValue`), when the error has one.
    #[serde(default, rename = "scimType")]
    pub scim_type: Option<String>,
}

/// A read example.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadTestFile {
    /// The backend object.
    pub backend: Value,
    /// What scimgate's store holds for it (`store: true` attributes).
    #[serde(default)]
    pub stored: BTreeMap<String, Value>,
    /// The SCIM resource it must read as (without `id`, `meta`, `schemas`).
    pub scim: Value,
}

/// A write example.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteTestFile {
    /// The current backend object (`replace`, `patch`).
    #[serde(default)]
    pub current: Option<Value>,
    /// The SCIM body (`create`, `replace`).
    #[serde(default)]
    pub scim: Option<Value>,
    /// The SCIM PATCH operations (`patch`): `[{op, path, value}]`.
    #[serde(default)]
    pub operations: Option<Vec<Value>>,
    /// The group's `members.list` answer (one page), for `patch` cases that need the current
    /// members (a filtered removal, `skip_present`, a `{row}` removal). Without it the group
    /// holds exactly the members the case removes.
    #[serde(default)]
    pub members: Option<Value>,
    /// The backend writes (every call but GET) it must produce, in the order the engine sends
    /// them (a group's member calls before its attribute write).
    #[serde(default)]
    pub expect: Vec<ExpectedRequestFile>,
    /// What scimgate must store (`store: true` attributes).
    #[serde(default)]
    pub stored: Option<BTreeMap<String, Value>>,
    /// Instead of requests: text the SCIM error must contain (`STATUS scimType: detail`).
    #[serde(default)]
    pub error: Option<String>,
}

/// A filter example.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterTestFile {
    /// The SCIM filter, e.g. `userName eq "bjensen@example.com"`.
    pub filter: String,
    /// The first backend request it must become (list filters).
    #[serde(default)]
    pub expect: Option<ExpectedRequestFile>,
    /// Or: `get <id>`, `store <attribute> <value>`, `scan <cap>`, or for an `or` answered as
    /// several searches `union: <search>; <search>` (a query as `GET <path>`).
    #[serde(default)]
    pub plan: Option<String>,
    /// Or: text the SCIM error must contain (`STATUS scimType: detail`).
    #[serde(default)]
    pub error: Option<String>,
}

/// A backend request a test expects.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRequestFile {
    /// HTTP method.
    pub method: String,
    /// Path and query exactly as sent (percent-encoded), e.g. `/api/v1/users?email=a%40b.c`.
    pub path: String,
    /// The JSON body, when there is one.
    #[serde(default)]
    pub body: Option<Value>,
}
