//! The mapping file format, exactly as an operator writes it (`mappings/*.yaml`).
//!
//! These structs are only deserialised and turned into a JSON Schema; they are never used at run
//! time. `compile` checks them and builds the [`Mapping`](super::Mapping). Their doc comments are
//! the format reference shown by editors, so they are written for operators.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

mod cases;
mod product_keys;
pub use cases::*;
pub use product_keys::ProductKeysFile;

/// A scimgate mapping file: how SCIM Users and Groups become calls to one backend REST API.
///
/// Strings may use `${NAME}` or `${NAME:-default}` to take a value from the environment
/// (secrets, URLs). One file describes one backend product.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Format version of this file. Always `1`.
    pub version: u32,
    /// Where the backend is and how scimgate authenticates to it.
    pub backend: BackendFile,
    /// Who mints the SCIM `id`: `backend` (the backend's own id is the SCIM id; use it when the
    /// backend id never changes and is never reused) or `gateway` (scimgate mints a stable id and
    /// remembers the backend key; use it when the backend key is the email or can be reused).
    #[serde(default)]
    pub ids: IdPolicy,
    /// Rules that apply before anything is sent to the backend.
    #[serde(default)]
    pub policies: PoliciesFile,
    /// The variables each connection using this mapping sets (issue 14), used as
    /// `{conn.NAME}` in backend paths, queries, headers, body templates and `constants`, e.g.
    /// `workspace_id: {description: "The product's workspace"}`. A placeholder naming a
    /// variable not declared here is refused.
    #[serde(default)]
    pub connection_variables: BTreeMap<String, ConnectionVariableFile>,
    /// Product-issued API keys as connection credentials (`product_key`): how they are checked
    /// and passed on.
    #[serde(default)]
    pub product_keys: Option<ProductKeysFile>,
    /// Backend error answers that mean something to SCIM, for every resource type.
    #[serde(default)]
    pub errors: Vec<ErrorRuleFile>,
    /// How SCIM Users map onto the backend. Leave out to switch Users off.
    #[serde(default)]
    pub users: Option<ResourceFile>,
    /// How SCIM Groups map onto the backend. Leave out to switch Groups off.
    #[serde(default)]
    pub groups: Option<ResourceFile>,
    /// Examples that must hold: run by `scimgate check` and `cargo test`.
    #[serde(default)]
    pub tests: Vec<TestFile>,
}

/// One declared connection variable.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionVariableFile {
    /// What the value is, for the people creating connections.
    #[serde(default)]
    pub description: Option<String>,
    /// A secret (e.g. the workspace's backend API key, used in `backend.auth` as
    /// `{conn.api_key}`): set through `secret_variables`, encrypted at rest, never returned
    /// or logged.
    #[serde(default)]
    pub secret: bool,
}

/// Who mints the SCIM `id` of a resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdPolicy {
    /// The backend's id (read with the resource's `id` JSONPath) is the SCIM id.
    #[default]
    Backend,
    /// scimgate mints a stable SCIM id and keeps the link to the backend id in its store.
    Gateway,
}

/// The backend connection, kept as plain data for the HTTP client.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendFile {
    /// Base URL every operation path is appended to, e.g. `https://api.example.com`.
    pub base_url: String,
    /// How scimgate authenticates to the backend. Leave out for none.
    #[serde(default)]
    pub auth: Option<AuthFile>,
    /// Time limits for backend calls.
    #[serde(default)]
    pub timeouts: TimeoutsFile,
}

/// Backend authentication: exactly one of the keys.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthFile {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password (use `${ENV}`).
        password: String,
    },
    /// A key in a header of your choice, e.g. `{ header: X-Api-Key, value: "${API_KEY}" }`.
    ApiKey {
        /// Header name.
        header: String,
        /// Header value (use `${ENV}`).
        value: String,
    },
    /// OAuth 2.0 client credentials: scimgate fetches and refreshes a token.
    Oauth2 {
        /// Token endpoint URL.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret (use `${ENV}`).
        client_secret: String,
        /// Scopes to request, space separated.
        #[serde(default)]
        scope: Option<String>,
    },
}

/// Time limits for backend calls, in milliseconds.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    /// Time to open a connection (default 5000).
    #[serde(default = "default_connect_ms")]
    pub connect_ms: u64,
    /// Time for a whole request including the answer (default 30000).
    #[serde(default = "default_request_ms")]
    pub request_ms: u64,
}

impl Default for TimeoutsFile {
    fn default() -> Self {
        Self {
            connect_ms: default_connect_ms(),
            request_ms: default_request_ms(),
        }
    }
}

fn default_connect_ms() -> u64 {
    5_000
}

fn default_request_ms() -> u64 {
    30_000
}

/// Rules checked before anything is sent to the backend.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoliciesFile {
    /// Email domains users may have (`example.com`). A user with another domain in `userName`
    /// or any email is rejected with `invalidValue` naming the domain. Empty: any domain.
    /// A list, or one string; an entry may be a connection variable (`"{conn.email_domains}"`)
    /// holding comma-separated domains, so each connection allows its own.
    #[serde(default)]
    pub email_domains: DomainsFile,
}

/// `policies.email_domains` as written: a list of domains, or one string (a domain, or a
/// `{conn.NAME}` variable holding comma-separated domains).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DomainsFile {
    /// `email_domains: [example.com, "{conn.email_domains}"]`.
    Many(Vec<String>),
    /// `email_domains: "{conn.email_domains}"`.
    One(String),
}

impl Default for DomainsFile {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl DomainsFile {
    /// The entries as written (one string is one entry).
    pub fn entries(&self) -> Vec<String> {
        match self {
            Self::Many(entries) => entries.clone(),
            Self::One(entry) => vec![entry.clone()],
        }
    }
}

/// How one SCIM resource type (User or Group) maps onto the backend.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceFile {
    /// Set to `false` to switch this resource type off without deleting its mapping.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// JSONPath of the backend's id in a backend object, e.g. `$.id`.
    pub id: String,
    /// JSONPath of a value that tells one backend resource from a later one that got the same
    /// id (e.g. `$.created_on`), for backends that reuse ids. scimgate remembers it when it
    /// creates or first sees the resource and compares it on every read: a different value
    /// means the resource behind the SCIM id is gone (404), never someone else's data. For
    /// backends with neither timestamps nor stable ids: `{ stamp: "$.field" }`.
    #[serde(default)]
    pub identity: Option<IdentityFile>,
    /// The backend calls: `create`, `get`, `list`, `replace` and/or `update`, `delete`,
    /// optional `deactivate`.
    pub operations: OperationsFile,
    /// SCIM attribute ↔ backend field rules, keyed by SCIM path (`userName`, `name.givenName`,
    /// `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:department`). A plain string
    /// value is the JSONPath of the backend field.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeEntry>,
    /// Backend fields stamped on every create, whatever SCIM sent (e.g. `idp: entra`); keys are
    /// backend field paths (`$.idp`).
    #[serde(default)]
    pub constants: BTreeMap<String, Value>,
    /// Read a backend field holding an empty (or blank) string as absent, for products that
    /// answer `""` for every field never set (RT): no `"emails": [{"value": ""}]` in SCIM.
    #[serde(default)]
    pub empty_is_absent: bool,
    /// Custom extension schemas this resource type carries (advertised in `/Schemas`).
    #[serde(default)]
    pub extensions: Vec<ExtensionFile>,
    /// Which SCIM filters become which backend queries. A filter no rule covers is rejected with
    /// `invalidFilter` unless `scan` is set.
    #[serde(default)]
    pub filters: Vec<FilterRuleFile>,
    /// Opt-in: evaluate other filters in scimgate over at most this many backend resources.
    #[serde(default)]
    pub scan: Option<ScanFile>,
    /// Backend error answers that mean something to SCIM, for this resource type (checked before
    /// the file-level `errors`).
    #[serde(default)]
    pub errors: Vec<ErrorRuleFile>,
    /// Groups only: the calls that add and remove one member.
    #[serde(default)]
    pub members: Option<MembersFile>,
}

fn yes() -> bool {
    true
}

/// How scimgate tells a resource from a later one that got the same backend id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IdentityFile {
    /// JSONPath of a value the backend keeps and never reuses (`$.created_on`).
    Path(String),
    /// scimgate writes a random marker into this backend field at create.
    Stamp(StampFile),
}

/// `identity: { stamp: "$.field" }`: a backend field (free text nothing else writes) where
/// scimgate writes a random marker at create and compares it on every read; a record whose
/// marker differs or is gone is not the resource the SCIM id was made for.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StampFile {
    /// Plain JSONPath of the backend field (`$.notes`); no attribute may map it.
    pub stamp: String,
}

/// The backend calls of one resource type.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationsFile {
    /// Create one resource. Required. The body defaults to the mapped backend object.
    pub create: Option<OperationFile>,
    /// Read one resource by `{id}`. Required.
    pub get: Option<OperationFile>,
    /// List resources, one page at a time. Required (Entra filters before every create).
    pub list: Option<ListOperationFile>,
    /// Replace a whole resource (HTTP PUT): the current backend object with the mapped fields
    /// changed, so fields the mapping does not know survive.
    pub replace: Option<OperationFile>,
    /// Change some fields (HTTP PATCH or POST): the body holds only the changed fields.
    pub update: Option<OperationFile>,
    /// Delete one resource by `{id}`. Required.
    pub delete: Option<OperationFile>,
    /// What SCIM DELETE does instead of `delete` when the backend must keep its data (e.g. PATCH
    /// `{status: disabled}`).
    pub deactivate: Option<OperationFile>,
}

/// One backend call: method, path, query, headers and body.
///
/// Placeholders in braces (`{id}`) are filled in and percent-encoded, so a value can never
/// change the host, add a path segment or inject a query parameter. In a body, the string
/// `"$object"` stands for the mapped backend object, and `"{member:integer}"` turns the value into
/// a number (`:string`, `:integer`, `:boolean`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationFile {
    /// HTTP method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: String,
    /// Path under `base_url`, e.g. `/api/v1/users/{id}`.
    pub path: String,
    /// Query parameters: name → value template.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Extra request headers: name → value template.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body template (JSON). Left out for writes: the mapped backend object.
    #[serde(default)]
    pub body: Option<Value>,
    /// Read the resource again with `get` after this call (for backends that answer 204 or a
    /// partial object).
    #[serde(default)]
    pub reread: bool,
    /// JSONPath of the resource in this call's answer, for backends that wrap it
    /// (`$.user` for `{"user": {...}}`). Default: the whole answer.
    #[serde(default)]
    pub answer: Option<String>,
    /// `create` only, for backends that accept duplicates: SCIM attributes (`userName`) no two
    /// resources may share. Before creating, scimgate looks each value up through the
    /// mapping's filter push-down (a `filters:` rule `<attribute> eq {v}` is needed) and
    /// answers 409 `uniqueness` when a resource already holds it.
    #[serde(default)]
    pub unique: Vec<String>,
}

/// The list call, with JSONPaths that read its answer and the paging style.
///
/// Paging follows the placeholders the query uses: `{offset}`+`{count}` (offset/limit),
/// `{page}`+`{count}` (page/per_page, first page 1), `{cursor}` (with `next_cursor`), or a
/// `next_link` JSONPath holding the next page's URL.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListOperationFile {
    /// HTTP method, normally `GET`.
    pub method: String,
    /// Path under `base_url`.
    pub path: String,
    /// Query parameters: name → value template (`{offset}`, `{count}`, `{page}`, `{cursor}`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSONPath of the resources in the answer, e.g. `$.items[*]`.
    pub items: String,
    /// JSONPath of the total count, e.g. `$.total`. Without it the total is not known.
    #[serde(default)]
    pub total: Option<String>,
    /// The answer header holding the total count, for backends that give it only there
    /// (`X-Total-Count`). Read before `total` when both are given.
    #[serde(default)]
    pub total_header: Option<String>,
    /// JSONPath of the cursor for the next page (cursor paging).
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// JSONPath of the URL of the next page (next-link paging).
    #[serde(default)]
    pub next_link: Option<String>,
    /// The largest page the backend serves (`{count}` is capped to it).
    #[serde(default)]
    pub max_page_size: Option<u32>,
    /// The list items are partial (e.g. they lack the status): read each one with `get`
    /// before it becomes a SCIM resource (one more call per item; items gone in between are
    /// left out).
    #[serde(default)]
    pub reread: bool,
}

/// One SCIM attribute ↔ backend field rule. Write just a JSONPath string for a plain field.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeFile {
    /// JSONPath of the backend field (`$.email`; `$.metadata.*` for a key family). Writes need a
    /// plain path of names.
    #[serde(default)]
    pub path: Option<String>,
    /// The backend cannot hold it: scimgate keeps it in its store (e.g. `externalId`).
    #[serde(default)]
    pub store: bool,
    /// Remove spaces around the value.
    #[serde(default)]
    pub trim: bool,
    /// Lowercase the value both ways.
    #[serde(default)]
    pub lowercase: bool,
    /// The backend holds a list as one string with this separator (`","`). Accepts a list, a list
    /// of `{"value": …}` or an `"a, b"` string from SCIM; items are trimmed.
    #[serde(default)]
    pub split: Option<String>,
    /// SCIM sends a list (Entra's `Split()` or several values) but the backend holds one string:
    /// join with this separator.
    #[serde(default)]
    pub join: Option<String>,
    /// The only SCIM values accepted; anything else is `invalidValue` naming this set.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// Translation table SCIM value → backend value (`true: active`); read back the other way.
    #[serde(default)]
    pub map: BTreeMap<String, Value>,
    /// SCIM value used on create when the attribute is absent or null.
    #[serde(default)]
    pub default: Option<Value>,
    /// SCIM value (one of the `map` keys) read when the backend holds a value the `map` table
    /// does not know (a status `invited`). Without it such a value is left out of the SCIM
    /// resource, with a warning in the log; the raw backend value is never returned.
    #[serde(default)]
    pub read_default: Option<Value>,
    /// Backend value stamped on create whatever SCIM sent.
    #[serde(default)]
    pub constant: Option<Value>,
    /// The backend's type for this field: `string`, `integer` or `boolean`.
    #[serde(default, rename = "as")]
    pub as_type: Option<AsType>,
    /// The gateway never writes it (backend-computed).
    #[serde(default)]
    pub read_only: bool,
    /// Written but never returned (secrets).
    #[serde(default)]
    pub write_only: bool,
    /// When SCIM returns it: `always`, `default`, `request` or `never`.
    #[serde(default)]
    pub returned: Option<ReturnedFile>,
    /// Compare values case-sensitively (`allowed`, `map`, filters).
    #[serde(default)]
    pub case_exact: bool,
    /// A create without it is rejected (after `default`).
    #[serde(default)]
    pub required: bool,
    /// On read, mark the SCIM element `primary: true` (for `emails[type eq "work"].value`).
    #[serde(default)]
    pub primary: bool,
    /// Multi-valued attributes: a PATCH `add` replaces the whole list (Entra sends `add`, never
    /// `replace`, for `Split()` attributes). Default `true`.
    #[serde(default)]
    pub add_replaces: Option<bool>,
    /// A multi-valued complex attribute (`roles`) held as a backend list of objects: SCIM
    /// sub-attribute → plain JSONPath within one element (`{ value: "$.name", primary:
    /// "$.is_primary" }`). With `primary`, every write marks exactly one element primary (the
    /// one marked, else the first).
    #[serde(default)]
    pub items: BTreeMap<String, String>,
}

/// An attribute rule as written: a JSONPath string, or the full rule.
#[derive(Debug, Clone)]
pub struct AttributeEntry(pub AttributeFile);

/// The two ways to write an attribute rule (for the JSON Schema only).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum AttributeForm {
    /// Just the JSONPath of the backend field.
    Path(String),
    /// The full rule.
    // Boxed for clippy's large_enum_variant: the enum is never built, schemars sees through it.
    Rule(Box<AttributeFile>),
}

impl JsonSchema for AttributeEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AttributeEntry".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        AttributeForm::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for AttributeEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> serde::de::Visitor<'de> for EntryVisitor {
            type Value = AttributeEntry;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSONPath string or an attribute rule")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AttributeEntry(AttributeFile {
                    path: Some(v.to_owned()),
                    ..AttributeFile::default()
                }))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                AttributeFile::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(AttributeEntry)
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// The backend's type for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AsType {
    /// A JSON string (`"True"`, `"42"`).
    String,
    /// A JSON integer.
    Integer,
    /// A JSON boolean (`"True"`/`"false"` are accepted from SCIM).
    Boolean,
}

/// When an attribute is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnedFile {
    /// Always, even when excluded.
    Always,
    /// Unless excluded.
    Default,
    /// Only when asked for.
    Request,
    /// Never.
    Never,
}

/// A custom extension schema carried by this resource type.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionFile {
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName`.
    pub urn: String,
    /// Short name shown in `/Schemas`.
    #[serde(default)]
    pub name: Option<String>,
    /// Description shown in `/Schemas`.
    #[serde(default)]
    pub description: Option<String>,
    /// A key family: any attribute name is accepted, all of this type (e.g. `string` for
    /// `urn:…:2.0:Metadata:{AnyKey}`).
    #[serde(default)]
    pub open: Option<ExtensionType>,
    /// Declared attributes: name → definition.
    #[serde(default)]
    pub attributes: BTreeMap<String, ExtensionAttributeFile>,
}

/// A custom extension attribute.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionAttributeFile {
    /// Data type (default `string`).
    #[serde(default, rename = "type")]
    pub attr_type: Option<ExtensionType>,
    /// Whether the value is a list.
    #[serde(default)]
    pub multi_valued: bool,
    /// Description shown in `/Schemas`.
    #[serde(default)]
    pub description: Option<String>,
    /// Compare values case-sensitively.
    #[serde(default)]
    pub case_exact: bool,
    /// A create must carry it.
    #[serde(default)]
    pub required: bool,
}

/// Types a custom extension attribute can have (Entra's offer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionType {
    /// Text.
    String,
    /// `true`/`false`.
    Boolean,
    /// A whole number.
    Integer,
    /// A number with a fraction.
    Decimal,
    /// An xsd:dateTime.
    DateTime,
    /// Base64 data.
    Binary,
    /// A URI reference.
    Reference,
}

/// A filter push-down rule.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterRuleFile {
    /// The SCIM filter shape, with `{v}` for the value: `userName eq {v}`.
    pub when: String,
    /// Answer it with the list call plus these query parameters (`email: "{v}"`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Answer it another way: `get` (the value is the id) or `store` (scimgate's store).
    #[serde(default, rename = "use")]
    pub use_: Option<FilterUse>,
    /// The backend query matches exactly what SCIM means, so scimgate need not re-check the
    /// results (default `false`: results are re-checked).
    #[serde(default)]
    pub exact: bool,
}

/// Non-query ways to answer a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterUse {
    /// The value is a SCIM id: read that one resource.
    Get,
    /// Look the value up in scimgate's store (attributes with `store: true`).
    Store,
}

/// Opt-in filter evaluation in scimgate.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanFile {
    /// Read at most this many backend resources; more is a `tooMany` error.
    pub max_resources: u32,
}

/// A backend error answer that means something to SCIM.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorRuleFile {
    /// The backend's HTTP status.
    pub status: u16,
    /// Only when the answer body contains this text (case-insensitive): its JSON text or the
    /// error message scimgate reads from it.
    #[serde(default)]
    pub contains: Option<String>,
    /// Only when the JSON answer body has these values: JSONPath → expected value, compared as
    /// text, exactly (`{ "$.errors[0].extensions.code": RECORD_NOT_UNIQUE }`); all must match.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BodyValue>")]
    pub body: BTreeMap<String, Value>,
    /// Only for these backend operations (`create`, `get`, `list`, `replace`, `update`,
    /// `delete`, `deactivate`, `members.add`, `members.remove`, `members.list`); empty: all.
    #[serde(default)]
    pub on: Vec<String>,
    /// What it means: `uniqueness`, `invalid_value`, `not_found` or `already_done`.
    pub means: ErrorMeaning,
    /// Quote the backend's error message in the SCIM `detail` (default `false`: the detail
    /// carries the backend status and this rule's meaning only). For products whose messages
    /// are known to hold no secrets, e.g. Redmine's "Email has already been taken". The
    /// message is never logged above debug either way.
    #[serde(default)]
    pub show_message: bool,
}

/// A value an error rule's `body:` expects; only for the JSON Schema (the compiler refuses
/// objects, lists and null with a readable problem).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum BodyValue {
    /// Compared with the text of the value at the path.
    Text(String),
    /// Compared as its text (`7` matches `7` and `"7"`).
    Number(f64),
    /// `true` / `false`.
    Boolean(bool),
}

/// SCIM meaning of a backend error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorMeaning {
    /// The value is already taken (409 `uniqueness`).
    Uniqueness,
    /// The value is not acceptable (400 `invalidValue`).
    InvalidValue,
    /// The resource does not exist (404).
    NotFound,
    /// The change is already in place (a member added twice): success once scimgate has
    /// verified it with `members.list`. Only for `on: [members.add]` / `[members.remove]`.
    AlreadyDone,
}

/// Group membership calls; `{id}` is the group's backend id, `{member}` the member's.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersFile {
    /// Add one member.
    pub add: OperationFile,
    /// Remove one member. A backend that deletes a membership by its own row id uses `{row}`
    /// here (`/memberships/{row}`): scimgate finds the member's row in `members.list` first and
    /// takes its id from the list's `row_id`.
    pub remove: OperationFile,
    /// List a group's members (optional; needed for `members` in group reads, for remove-all,
    /// for PUT and for `already_done`). Read to its last page.
    #[serde(default)]
    pub list: Option<MemberListFile>,
    /// The backend keeps a second membership row when a member is added twice: scimgate reads
    /// `members.list` before adding and skips members already in the group. Needs
    /// `members.list`. Default `false` (an add is one call and no read).
    #[serde(default)]
    pub skip_present: bool,
}

/// Reading a group's members, one page at a time, with the same paging vocabulary as the list
/// call: `{offset}`+`{count}` (offset/limit), `{page}`+`{count}` (page/per_page, first page 1),
/// `{cursor}` (with `next_cursor`), or a `next_link` JSONPath holding the next page's URL.
/// scimgate always reads to the last page.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberListFile {
    /// HTTP method.
    pub method: String,
    /// Path, with `{id}`.
    pub path: String,
    /// Query parameters: name → value template (`{offset}`, `{count}`, `{page}`, `{cursor}`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSONPath of the members in the answer (`$.items[*]`).
    pub items: String,
    /// JSONPath of a member's backend id within one item (`$.user_id`).
    pub member_id: String,
    /// JSONPath of the membership row's own id within one item (`$.id`), for `{row}` in
    /// `members.remove`.
    #[serde(default)]
    pub row_id: Option<String>,
    /// JSONPath of the total member count, e.g. `$.total`.
    #[serde(default)]
    pub total: Option<String>,
    /// The answer header holding the total member count (`X-Total-Count`), read before `total`.
    #[serde(default)]
    pub total_header: Option<String>,
    /// JSONPath of the cursor for the next page (cursor paging).
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// JSONPath of the URL of the next page (next-link paging).
    #[serde(default)]
    pub next_link: Option<String>,
    /// The largest page the backend serves; scimgate asks for pages of this size (default 100).
    #[serde(default)]
    pub max_page_size: Option<u32>,
}
