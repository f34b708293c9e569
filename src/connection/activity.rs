//! Per-connection status figures, counted in memory on the request path and written to the
//! store about once a second (so a request never waits for them, and Prometheus labels stay
//! per mapping: per-connection figures come from the admin API).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::json;
use time::OffsetDateTime;

use super::registry::lock;
use crate::scim::ScimError;
use crate::service::{BoxFuture, Operation, ScimCall, ScimReply, ScimService};
use crate::store::connections::Activity;
use crate::store::{AuditEntry, AuditQuery};

/// Activity not yet written, per connection.
#[derive(Debug, Default)]
pub(super) struct ActivityLog {
    pending: Mutex<HashMap<String, Activity>>,
}

impl ActivityLog {
    fn note(&self, connection: &str, write: bool, error: Option<&ScimError>) {
        let now = OffsetDateTime::now_utc();
        let mut pending = lock(&self.pending);
        let entry = pending
            .entry(connection.to_owned())
            .or_insert_with(|| Activity {
                connection: connection.to_owned(),
                ..Activity::default()
            });
        entry.last_request = Some(now);
        match error {
            None if write => {
                entry.writes += 1;
                entry.last_write = Some(now);
            }
            None => {}
            Some(error) => {
                entry.errors += 1;
                entry.last_error = Some(json!({
                    "status": error.status,
                    "scimType": error.scim_type,
                    "detail": error.detail,
                    "at": now.format(&time::format_description::well_known::Rfc3339).ok(),
                }));
            }
        }
    }

    pub(super) fn drain(&self) -> Vec<Activity> {
        lock(&self.pending).drain().map(|(_, a)| a).collect()
    }

    pub(super) fn len(&self) -> usize {
        lock(&self.pending).len()
    }
}

/// A connection's service that notes each answer in the activity log.
pub(super) struct Tracked {
    inner: Arc<dyn ScimService>,
    log: Arc<ActivityLog>,
    connection: String,
}

impl Tracked {
    pub(super) fn new(
        inner: Arc<dyn ScimService>,
        log: Arc<ActivityLog>,
        connection: String,
    ) -> Self {
        Self {
            inner,
            log,
            connection,
        }
    }
}

impl ScimService for Tracked {
    fn call(
        &self,
        call: ScimCall,
    ) -> Pin<Box<dyn Future<Output = Result<ScimReply, ScimError>> + Send + '_>> {
        Box::pin(async move {
            let write = matches!(
                call.operation,
                Operation::Create | Operation::Replace | Operation::Patch | Operation::Delete
            );
            // A 404 for a get is how Entra asks whether a user is still there: not an error.
            let lookup = call.operation == Operation::Get;
            let result = self.inner.call(call).await;
            let error = result
                .as_ref()
                .err()
                .filter(|error| !(lookup && error.status == 404));
            self.log.note(&self.connection, write, error);
            result
        })
    }

    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        self.inner.ready()
    }

    fn audit(&self, query: AuditQuery) -> BoxFuture<'_, Result<Option<Vec<AuditEntry>>, String>> {
        self.inner.audit(query)
    }
}
