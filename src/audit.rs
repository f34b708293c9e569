//! The audit trail of SCIM writes: which attribute names a request touched, the [`Audited`]
//! decorator that records one [`AuditEntry`] per create, replace, patch and delete (refused ones
//! included), reading the trail back (admin endpoint and `scimgate audit`), and retention.
//!
//! Entries hold attribute NAMES only, never values (which may be personal data), and the
//! credential's configured name, never its secret. A store failure while recording is logged
//! and counted, and never changes the answer the client gets. Chooses no HTTP statuses.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::scim::ScimError;
use crate::service::{BoxFuture, Operation, Resource, ScimCall, ScimReply, ScimService};
use crate::store::{AuditEntry, AuditQuery, Store};

/// Most attribute names kept for one entry (a PATCH may carry thousands of operations).
const MAX_ATTRIBUTES: usize = 64;
/// Longest attribute name kept (longer ones are cut).
const MAX_NAME_CHARS: usize = 200;
/// Entries one read returns when no `limit` is given.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 10_000;

/// Why an audit query could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `since` is not an RFC 3339 timestamp.
    #[error("`since` must be an RFC 3339 timestamp like 2026-11-01T00:00:00Z, not `{value}`")]
    InvalidSince {
        /// The value given.
        value: String,
    },
    /// `limit` is not a number from 1 to [`MAX_LIMIT`].
    #[error("`limit` must be a number from 1 to {MAX_LIMIT}, not `{value}`")]
    InvalidLimit {
        /// The value given.
        value: String,
    },
    /// A query parameter this endpoint does not know.
    #[error("unknown parameter `{name}` (since, scimId, limit)")]
    UnknownParameter {
        /// The parameter's name.
        name: String,
    },
}

/// The attribute names a write touched: for PATCH the attribute of each operation's `path`
/// (filters dropped: `emails[type eq "work"].value` is `emails.value`) or the keys of a
/// path-less value; for create and replace the top-level keys (`schemas` left out; an
/// extension object is listed as `urn:…:attribute` per key). Deduplicated case-insensitively,
/// in first-seen order, at most [`MAX_ATTRIBUTES`].
pub fn touched_attributes(operation: Operation, body: Option<&Value>) -> Vec<String> {
    let mut names = Names::default();
    match (operation, body) {
        (Operation::Patch, Some(body)) => {
            let operations = body
                .get("Operations")
                .or_else(|| body.get("operations"))
                .and_then(Value::as_array);
            for op in operations.into_iter().flatten() {
                match op.get("path").and_then(Value::as_str) {
                    Some(path) if !path.trim().is_empty() => names.push(&path_attribute(path)),
                    _ => names.object_keys(op.get("value")),
                }
            }
        }
        (Operation::Create | Operation::Replace, Some(body)) => names.object_keys(Some(body)),
        _ => {}
    }
    names.0
}

/// A PATCH path without its value filter: `members[value eq "7"]` → `members`,
/// `emails[type eq "work"].value` → `emails.value`.
fn path_attribute(path: &str) -> String {
    let path = path.trim();
    match (path.find('['), path.rfind(']')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &path[..open], &path[close + 1..])
        }
        (Some(open), _) => path[..open].to_owned(),
        _ => path.to_owned(),
    }
}

#[derive(Default)]
struct Names(Vec<String>);

impl Names {
    fn push(&mut self, name: &str) {
        // Control characters (NUL above all, which PostgreSQL's JSONB refuses) never belong
        // in an attribute name: dropped, so an odd key cannot cost the entry.
        let name: String = name
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME_CHARS)
            .collect();
        if name.is_empty()
            || self.0.len() >= MAX_ATTRIBUTES
            || self.0.iter().any(|seen| seen.eq_ignore_ascii_case(&name))
        {
            return;
        }
        self.0.push(name);
    }

    /// The keys of an object value; an extension URN holding an object lists its keys.
    fn object_keys(&mut self, value: Option<&Value>) {
        let Some(object) = value.and_then(Value::as_object) else {
            return;
        };
        for (key, value) in object {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            match value.as_object() {
                Some(inner) if key.starts_with("urn:") => {
                    for inner_key in inner.keys() {
                        self.push(&format!("{key}:{inner_key}"));
                    }
                }
                _ => self.push(key),
            }
        }
    }
}

/// The `operation` recorded for a write, or `None` for reads and discovery.
pub fn audited_operation(resource: Resource, operation: Operation) -> Option<&'static str> {
    if !matches!(resource, Resource::Users | Resource::Groups) {
        return None;
    }
    match operation {
        Operation::Create => Some("create"),
        Operation::Replace => Some("replace"),
        Operation::Patch => Some("patch"),
        Operation::Delete => Some("delete"),
        Operation::List | Operation::Search | Operation::Get => None,
    }
}

/// A tenant's [`ScimService`] that records every write it answers in the store's audit
/// trail, and answers that tenant's audit reads.
pub struct Audited {
    inner: Arc<dyn ScimService>,
    store: Arc<dyn Store>,
    tenant: String,
}

impl std::fmt::Debug for Audited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audited")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Audited {
    /// Wraps `inner`, the service of `tenant`, writing entries into `store`.
    pub fn new(inner: Arc<dyn ScimService>, store: Arc<dyn Store>, tenant: &str) -> Self {
        Self {
            inner,
            store,
            tenant: tenant.to_owned(),
        }
    }

    async fn answer(&self, call: ScimCall) -> Result<ScimReply, ScimError> {
        let Some(operation) = audited_operation(call.resource, call.operation) else {
            return self.inner.call(call).await;
        };
        let attributes = touched_attributes(call.operation, call.body.as_ref());
        let kind = if call.resource == Resource::Groups {
            "Group"
        } else {
            "User"
        };
        let (tenant, credential, request_id, id) = (
            call.tenant.clone(),
            call.principal.clone(),
            call.request_id.clone(),
            call.id.clone(),
        );
        let result = self.inner.call(call).await;
        let (status, outcome, scim_id) = match &result {
            Ok(reply) => (
                reply.status.as_u16(),
                "success".to_owned(),
                id.or_else(|| {
                    reply
                        .body
                        .as_ref()
                        .and_then(|body| body.get("id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }),
            ),
            // A request applied in part records exactly what landed (ids, never values).
            Err(error) if error.partial.is_some() => (
                error.status,
                format!("partial: {}", error.partial.as_deref().unwrap_or_default()),
                id,
            ),
            Err(error) => (
                error.status,
                error
                    .scim_type
                    .and_then(|t| serde_json::to_value(t).ok())
                    .and_then(|t| t.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "error".to_owned()),
                id,
            ),
        };
        let entry = AuditEntry {
            seq: 0,
            at: OffsetDateTime::now_utc(),
            tenant,
            credential,
            request_id,
            operation: operation.to_owned(),
            kind: kind.to_owned(),
            scim_id,
            attributes,
            status,
            outcome,
        };
        if let Err(error) = self.store.append_audit(entry).await {
            crate::metrics::global().audit_write_failed();
            tracing::error!(%error, operation, kind, "Audit entry could not be written.");
        }
        result
    }
}

impl ScimService for Audited {
    fn call(&self, call: ScimCall) -> BoxFuture<'_, Result<ScimReply, ScimError>> {
        Box::pin(self.answer(call))
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        self.inner.ready()
    }

    fn audit(
        &self,
        mut query: AuditQuery,
    ) -> BoxFuture<'_, Result<Option<Vec<AuditEntry>>, String>> {
        query.tenant = Some(self.tenant.clone());
        Box::pin(async move {
            self.store
                .audit(query)
                .await
                .map(Some)
                .map_err(|error| error.to_string())
        })
    }
}

/// Parses the admin endpoint's query pairs (`since`, `scimId`, `limit`); `since` defaults to
/// 24 hours ago. The tenant is set by whoever answers the query.
pub fn parse_query(pairs: &[(String, String)]) -> Result<AuditQuery, Error> {
    let mut query = AuditQuery {
        since: OffsetDateTime::now_utc() - Duration::from_secs(24 * 3600),
        tenant: None,
        scim_id: None,
        limit: DEFAULT_LIMIT,
    };
    for (name, value) in pairs {
        match name.as_str() {
            "since" => query.since = parse_since(value)?,
            "scimId" | "scim_id" => query.scim_id = Some(value.clone()),
            "limit" => query.limit = parse_limit(value)?,
            _ => {
                return Err(Error::UnknownParameter {
                    name: name.chars().take(64).collect(),
                });
            }
        }
    }
    Ok(query)
}

/// An RFC 3339 timestamp.
pub fn parse_since(value: &str) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| Error::InvalidSince {
        value: value.chars().take(64).collect(),
    })
}

/// A limit from 1 to [`MAX_LIMIT`].
pub fn parse_limit(value: &str) -> Result<usize, Error> {
    value
        .parse()
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
        .ok_or_else(|| Error::InvalidLimit {
            value: value.chars().take(64).collect(),
        })
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// One entry as the admin endpoint and `scimgate audit --json` show it.
pub fn entry_json(entry: &AuditEntry) -> Value {
    json!({
        "seq": entry.seq,
        "at": timestamp(entry.at),
        "tenant": entry.tenant,
        "credential": entry.credential,
        "requestId": entry.request_id,
        "operation": entry.operation,
        "kind": entry.kind,
        "scimId": entry.scim_id,
        "attributes": entry.attributes,
        "status": entry.status,
        "outcome": entry.outcome,
    })
}

/// The admin endpoint's answer: `{"entries": [...]}`, oldest first.
pub fn entries_json(entries: &[AuditEntry]) -> Value {
    json!({ "entries": entries.iter().map(entry_json).collect::<Vec<_>>() })
}

/// One entry as one line of `scimgate audit`:
/// `AT TENANT CREDENTIAL OPERATION KIND SCIM_ID STATUS OUTCOME attributes=a,b request=ID`.
pub fn entry_line(entry: &AuditEntry) -> String {
    format!(
        "{} {} {} {} {} {} {} {} attributes={} request={}",
        timestamp(entry.at),
        entry.tenant,
        entry.credential,
        entry.operation,
        entry.kind,
        entry.scim_id.as_deref().unwrap_or("-"),
        entry.status,
        entry.outcome,
        entry.attributes.join(","),
        entry.request_id,
    )
}

/// What `scimgate audit` prints for `query`: one line per entry, or one JSON object per line
/// with `json`.
pub async fn report(
    store: &dyn Store,
    query: AuditQuery,
    json: bool,
) -> Result<String, crate::store::Error> {
    let entries = store.audit(query).await?;
    let mut text = String::new();
    for entry in &entries {
        if json {
            text.push_str(&entry_json(entry).to_string());
        } else {
            text.push_str(&entry_line(entry));
        }
        text.push('\n');
    }
    Ok(text)
}

/// Deletes entries older than `retention` now and then once a day, until the task is aborted.
pub fn spawn_pruner(store: Arc<dyn Store>, retention: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut daily = tokio::time::interval(Duration::from_secs(24 * 3600));
        loop {
            daily.tick().await;
            let cutoff = OffsetDateTime::now_utc() - retention;
            match store.prune_audit(cutoff).await {
                Ok(pruned) => tracing::info!(pruned, "Audit trail pruned."),
                Err(error) => tracing::error!(%error, "Audit trail could not be pruned."),
            }
        }
    })
}

#[cfg(test)]
mod tests;
