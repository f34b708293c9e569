//! [`Metered`]: a [`Store`] that counts every operation of the store it wraps in
//! `scimgate_store_operations_total{operation, outcome}`.
//!
//! A decorator, so every store implementation (SQLite, PostgreSQL) is measured the same way
//! without touching it. It changes no result and logs nothing.

use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::store::{AuditEntry, AuditQuery, Error, Record, Store, StoreFuture};

/// Wraps `store` so its operations are counted.
pub fn metered(store: Arc<dyn Store>) -> Arc<dyn Store> {
    Arc::new(Metered { inner: store })
}

/// The counting decorator; see the module doc.
#[derive(Debug)]
pub struct Metered {
    inner: Arc<dyn Store>,
}

/// The `outcome` label of a store result.
fn outcome<T>(result: &Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(Error::Conflict { .. } | Error::AlreadyActive { .. }) => "conflict",
        Err(Error::NotFound { .. }) => "not_found",
        Err(_) => "error",
    }
}

fn observe<'a, T: Send + 'a>(
    operation: &'static str,
    future: StoreFuture<'a, T>,
) -> StoreFuture<'a, T> {
    Box::pin(async move {
        let result = future.await;
        super::global().store_operation(operation, outcome(&result));
        result
    })
}

impl Store for Metered {
    fn connection_store(&self) -> Option<Arc<dyn crate::store::ConnectionStore>> {
        self.inner.connection_store()
    }

    fn insert(&self, record: Record) -> StoreFuture<'_, ()> {
        observe("insert", self.inner.insert(record))
    }

    fn insert_pending(&self, record: Record) -> StoreFuture<'_, ()> {
        observe("insert_pending", self.inner.insert_pending(record))
    }

    fn activate(
        &self,
        tenant: &str,
        kind: &str,
        scim_id: &str,
        backend_id: &str,
        shadow: Map<String, Value>,
    ) -> StoreFuture<'_, Record> {
        observe(
            "activate",
            self.inner
                .activate(tenant, kind, scim_id, backend_id, shadow),
        )
    }

    fn get(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, Option<Record>> {
        observe("get", self.inner.get(tenant, kind, scim_id))
    }

    fn get_by_backend_id(
        &self,
        tenant: &str,
        kind: &str,
        backend_id: &str,
    ) -> StoreFuture<'_, Option<Record>> {
        observe(
            "get_by_backend_id",
            self.inner.get_by_backend_id(tenant, kind, backend_id),
        )
    }

    fn get_by_unique_key(
        &self,
        tenant: &str,
        kind: &str,
        unique_key: &str,
    ) -> StoreFuture<'_, Option<Record>> {
        observe(
            "get_by_unique_key",
            self.inner.get_by_unique_key(tenant, kind, unique_key),
        )
    }

    fn find_by_shadow(
        &self,
        tenant: &str,
        kind: &str,
        attribute: &str,
        value: &str,
    ) -> StoreFuture<'_, Vec<Record>> {
        observe(
            "find_by_shadow",
            self.inner.find_by_shadow(tenant, kind, attribute, value),
        )
    }

    fn update(&self, record: Record) -> StoreFuture<'_, ()> {
        observe("update", self.inner.update(record))
    }

    fn delete(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, bool> {
        observe("delete", self.inner.delete(tenant, kind, scim_id))
    }

    fn list_pending(
        &self,
        tenant: &str,
        kind: &str,
        older_than: OffsetDateTime,
    ) -> StoreFuture<'_, Vec<Record>> {
        observe(
            "list_pending",
            self.inner.list_pending(tenant, kind, older_than),
        )
    }

    fn list_active(&self, tenant: &str, kind: &str) -> StoreFuture<'_, Vec<Record>> {
        observe("list_active", self.inner.list_active(tenant, kind))
    }

    fn delete_pending(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, bool> {
        observe(
            "delete_pending",
            self.inner.delete_pending(tenant, kind, scim_id),
        )
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        observe("ping", self.inner.ping())
    }

    fn writer(&self) -> &str {
        self.inner.writer()
    }

    fn writer_alive(&self, writer: &str) -> StoreFuture<'_, bool> {
        observe("writer_alive", self.inner.writer_alive(writer))
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, i64> {
        observe("append_audit", self.inner.append_audit(entry))
    }

    fn audit(&self, query: AuditQuery) -> StoreFuture<'_, Vec<AuditEntry>> {
        observe("audit", self.inner.audit(query))
    }

    fn prune_audit(&self, older_than: OffsetDateTime) -> StoreFuture<'_, u64> {
        observe("prune_audit", self.inner.prune_audit(older_than))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[tokio::test]
    async fn operations_are_counted_with_their_outcome_and_results_pass_through() {
        let store = metered(Arc::new(SqliteStore::open_in_memory().expect("store")));
        let count = || {
            crate::metrics::render()
                .lines()
                .find(|line| {
                    line.starts_with(
                        r#"scimgate_store_operations_total{operation="delete",outcome="ok"}"#,
                    )
                })
                .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let before = count();
        let deleted = store.delete("t", "User", "nope").await.expect("delete");
        assert!(!deleted);
        assert!(count() >= before + 1.0);
    }
}
