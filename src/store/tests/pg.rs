//! A fresh PostgreSQL schema per test, from `SCIMGATE_TEST_POSTGRES_URL`
//! (`scripts/postgres/up.sh` prints one). Without the variable the PostgreSQL tests pass
//! vacuously on a developer machine, but FAIL when `CI` is set, so CI cannot skip them.

use std::sync::Arc;

use crate::store::{PostgresStore, Store};

/// The variable naming the test database.
pub(super) const URL_VAR: &str = "SCIMGATE_TEST_POSTGRES_URL";

/// The test database's URL; `None` (skip) on a developer machine without one; panics in CI.
pub(super) fn base_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{URL_VAR} is not set but CI is: the PostgreSQL store tests must run in CI \
                 (eval \"$(scripts/postgres/up.sh)\" first)"
            );
            eprintln!("{URL_VAR} not set: PostgreSQL variant skipped");
            None
        }
    }
}

/// `url` with `search_path` set to `schema` (a libpq `options` parameter).
pub(super) fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// A schema of its own for one test, dropped (with everything in it) when this is dropped.
pub(super) struct TestDb {
    /// The URL whose connections use the schema.
    pub(super) url: String,
    base: String,
    schema: String,
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

impl TestDb {
    /// Creates the schema; `None` when there is no test database (and not in CI).
    pub(super) async fn create() -> Option<Self> {
        let base = base_url()?;
        let schema = format!("scimgate_test_{}", uuid::Uuid::new_v4().simple());
        connect(&base)
            .await
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        Some(Self {
            url: with_search_path(&base, &schema),
            base,
            schema,
        })
    }

    /// A store on the schema (migrated).
    pub(super) async fn open(&self) -> Arc<dyn Store> {
        Arc::new(PostgresStore::open(&self.url, 8).await.unwrap())
    }

    /// Runs `sql` in the schema and returns the first column of its one row.
    pub(super) async fn query_i64(&self, sql: &str) -> i64 {
        let row = connect(&self.url).await.query_one(sql, &[]).await.unwrap();
        match row.try_get::<_, i64>(0) {
            Ok(value) => value,
            Err(_) => i64::from(row.get::<_, i32>(0)),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (base, schema) = (self.base.clone(), self.schema.clone());
        // Drop may run inside a runtime (or while panicking): a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&base, tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
