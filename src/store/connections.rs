//! Connections in the store: one customer workspace's SCIM endpoint (issue 14).
//!
//! A connection names the mapping (product) it uses, holds its variables and credentials
//! (only hashes: SHA-256 of bearer tokens, unique-indexed, so a token finds its connection in
//! one indexed lookup), and the status the product's settings page shows (last request, last
//! successful write, writes and errors in the last 24 h, the last error). Every change bumps
//! one version counter (`connections_version`) that replicas poll to see it within a second.
//!
//! [`ConnectionStore`] is implemented by both stores (`connections_sqlite.rs`,
//! `connections_pg.rs`). Deleting a connection also deletes its id map and stored attributes
//! (the records of tenant [`tenant_key`]); its audit entries follow retention.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::{Error, StoreFuture};

/// The store tenant key of a connection's records and audit entries: `conn/<id>`, which no
/// settings tenant can have (names are letters, digits, `-` and `_`).
pub fn tenant_key(id: &str) -> String {
    format!("conn/{id}")
}

/// One connection as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Stable id (letters, digits, `-`, `_`), part of its SCIM base URL when routed by path.
    pub id: String,
    /// Display name for the product's UI.
    pub name: String,
    /// The name of the connection mapping (`connections.mappings[].name`) it uses.
    pub mapping: String,
    /// The product's "SCIM sync active" switch.
    pub enabled: bool,
    /// `{conn.NAME}` values.
    pub variables: BTreeMap<String, String>,
    /// The secret variables, sealed (see `crate::connection::secrets`); never in clear here.
    pub secrets: Option<String>,
    /// When it was created.
    pub created: OffsetDateTime,
    /// Its credentials (hashes only).
    pub credentials: Vec<Credential>,
    /// What the product's UI shows.
    pub status: Status,
}

/// One credential of a connection; the secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Stable id, for deleting it (`tok_…`).
    pub id: String,
    /// `bearer` (a gateway-issued token).
    pub kind: String,
    /// Lower-case hex SHA-256 of the token.
    pub hash: String,
    /// When it was issued.
    pub created: OffsetDateTime,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
}

/// A connection's status for the product's settings page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// The last authenticated request.
    pub last_request: Option<OffsetDateTime>,
    /// The last successful write (create, replace, patch, delete).
    pub last_write: Option<OffsetDateTime>,
    /// Successful writes in the last 24 hours.
    pub writes_24h: u64,
    /// Failed requests (4xx/5xx) in the last 24 hours.
    pub errors_24h: u64,
    /// The last error: `{status, scimType, detail, at}`.
    pub last_error: Option<Value>,
}

/// What changed for one connection since the last flush (buffered in memory, written about
/// once a second, so the request path never waits for the store).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// The connection.
    pub connection: String,
    /// The last request seen.
    pub last_request: Option<OffsetDateTime>,
    /// The last successful write seen.
    pub last_write: Option<OffsetDateTime>,
    /// Successful writes since the last flush.
    pub writes: u64,
    /// Errors since the last flush.
    pub errors: u64,
    /// The last error since the last flush.
    pub last_error: Option<Value>,
}

/// A change to a connection (`PATCH`); `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionPatch {
    /// New display name.
    pub name: Option<String>,
    /// Switch provisioning on or off.
    pub enabled: Option<bool>,
    /// Variables to set (a value of `None` removes the variable).
    pub variables: Option<BTreeMap<String, Option<String>>>,
    /// The new sealed secret variables.
    pub secrets: Option<String>,
}

/// Connections in the store; every write is one transaction that also bumps the version.
pub trait ConnectionStore: Send + Sync + std::fmt::Debug {
    /// The version counter: it changes with every write to a connection or its credentials.
    fn connections_version(&self) -> StoreFuture<'_, i64>;

    /// Every connection, with credentials and status, ordered by id.
    fn load_connections(&self) -> StoreFuture<'_, Vec<Connection>>;

    /// Up to `limit` connections with ids after `after`, ordered by id (one page).
    fn list_connections(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Connection>>;

    /// One connection.
    fn get_connection(&self, id: &str) -> StoreFuture<'_, Option<Connection>>;

    /// Inserts a new connection and its credentials; [`Error::Conflict`] when the id is taken.
    fn create_connection(&self, connection: Connection) -> StoreFuture<'_, ()>;

    /// Applies `patch`; false when there is no such connection.
    fn update_connection(&self, id: &str, patch: ConnectionPatch) -> StoreFuture<'_, bool>;

    /// Adds a credential; false when there is no such connection.
    fn add_credential(&self, id: &str, credential: Credential) -> StoreFuture<'_, bool>;

    /// Deletes one credential; false when the connection has no such credential.
    fn delete_credential(&self, id: &str, credential: &str) -> StoreFuture<'_, bool>;

    /// Deletes a connection, its credentials, its status and its id map and stored
    /// attributes; false when there was none.
    fn delete_connection(&self, id: &str) -> StoreFuture<'_, bool>;

    /// Adds buffered activity to the status (hourly buckets for the 24 h figures).
    fn record_activity(&self, activity: Vec<Activity>) -> StoreFuture<'_, ()>;
}

/// The start of the hour `at` falls in, in microseconds (the activity bucket key).
pub(crate) fn hour_bucket(at: OffsetDateTime) -> i64 {
    let micros = i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX);
    micros - micros.rem_euclid(3_600_000_000)
}

/// The oldest bucket that counts towards "the last 24 hours".
pub(crate) fn day_ago_bucket(now: OffsetDateTime) -> i64 {
    hour_bucket(now) - 23 * 3_600_000_000
}

/// Variables as stored (a JSON object of strings).
pub(crate) fn variables_json(variables: &BTreeMap<String, String>) -> String {
    serde_json::to_string(variables).unwrap_or_else(|_| "{}".to_owned())
}

/// Variables read back; a bad value is `Corrupt`.
pub(crate) fn variables_from(text: &str, id: &str) -> Result<BTreeMap<String, String>, Error> {
    serde_json::from_str(text).map_err(|_| Error::Corrupt {
        what: "variables",
        scim_id: id.to_owned(),
    })
}

/// Applies a variables patch to the stored variables.
pub(crate) fn patched(
    mut current: BTreeMap<String, String>,
    patch: &BTreeMap<String, Option<String>>,
) -> BTreeMap<String, String> {
    for (name, value) in patch {
        match value {
            Some(value) => {
                current.insert(name.clone(), value.clone());
            }
            None => {
                current.remove(name);
            }
        }
    }
    current
}
