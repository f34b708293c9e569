//! [`PostgresStore`]: the [`Store`] for several gateway replicas sharing one PostgreSQL.
//!
//! `tokio-postgres` behind a `deadpool-postgres` pool. Behaviour is the SQLite store's, method
//! for method; what differs is how racing writers from other processes are handled:
//! - every write is one transaction (READ COMMITTED); rows an operation reads before writing
//!   are locked (`SELECT … FOR UPDATE`);
//! - the unique indexes are the arbiter: a write that loses a race fails with `23505
//!   unique_violation`, which becomes [`Error::Conflict`] naming the holder (re-read after the
//!   rollback, so it is the committed winner);
//! - serialisation failures and deadlocks (`40001`, `40P01`) are retried a bounded number of
//!   times.
//!
//! Migrations (`pg_migrations`) run under `pg_advisory_xact_lock`, so replicas starting
//! together do not race. The connection URL's password never appears in an error or in
//! `Debug`: [`redact`] renders the driver's parse of it without the password. TLS:
//! `sslmode=require` connects with rustls (ring) and verifies the server against the system
//! trust store; `prefer` (the default) and `disable` connect in plain text (libpq's `prefer`
//! would not verify a certificate either).
//!
//! Files: this one opens the pool, migrates and holds the writer lock; `write` runs one write
//! transaction (retries, unique violations → conflicts); `records` is the id map and the
//! [`Store`] impl; `audit` the audit trail; `redact` renders a connection string without its
//! password. Rows are decoded by the codecs shared with SQLite (`store::codec`). Nothing here
//! knows SCIM or HTTP.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;

use super::Error;

#[macro_use]
mod write;
mod audit;
mod records;
mod redact;
#[cfg(test)]
mod tests;

pub use redact::redact;
use redact::{describe, parse_reason};

/// How long to wait for a connection (new or from the pool).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first key of the advisory locks that mark live writers (two-`int4` key space, which
/// does not overlap the `bigint` one the migrations lock in).
const WRITER_LOCK_CLASS: i32 = 0x5C16_0001;

/// How often the writer-lock session is checked and, when it was lost, opened again.
const WRITER_LOCK_CHECK: Duration = Duration::from_secs(1);

/// The PostgreSQL store; cheap to clone (clones share the pool and the writer lock).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    location: Arc<str>,
    /// This handle's writer id (see [`super::Store::writer`]).
    writer: Arc<str>,
    /// The task holding this writer's advisory lock; `None` for a probe. Aborted (and the
    /// session closed, releasing the lock) when the last clone is dropped.
    writer_lock: Option<Arc<AbortOnDrop>>,
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/db?sslmode=require`, or a
    /// `key=value` string) with a pool of at most `pool_size` connections, and migrates.
    /// One more session, outside the pool, holds this writer's advisory lock.
    pub async fn open(url: &str, pool_size: usize) -> Result<Self, Error> {
        let mut store = Self::connect(url, pool_size)?;
        let mut client = store.client_for_open().await?;
        super::pg_migrations::migrate(&mut client)
            .await
            .map_err(|error| store.open_error(error))?;
        drop(client);
        store.hold_writer_lock().await?;
        Ok(store)
    }

    /// Takes this writer's advisory lock on a session of its own and keeps it for as long as
    /// the store lives, opening the session again if it is lost. The lock is what
    /// [`super::Store::writer_alive`] looks for: it goes the moment the process dies (the server
    /// ends the session when the socket closes), however the process died.
    async fn hold_writer_lock(&mut self) -> Result<(), Error> {
        let key = writer_key(&self.writer).ok_or_else(|| Error::Open {
            location: self.location.to_string(),
            reason: "the writer id is not a UUID".to_owned(),
        })?;
        let session = lock_session(&self.pool, key)
            .await
            .map_err(|error| self.open_error(error))?;
        let pool = self.pool.clone();
        let task = tokio::spawn(async move {
            let mut session = Some(session);
            loop {
                tokio::time::sleep(WRITER_LOCK_CHECK).await;
                if session.as_ref().is_some_and(|client| !client.is_closed()) {
                    continue;
                }
                session = None;
                match lock_session(&pool, key).await {
                    Ok(client) => session = Some(client),
                    Err(error) => tracing::warn!(
                        %error,
                        "Could not take the writer lock again; other replicas may take over \
                         this replica's creates in flight until it is back."
                    ),
                }
            }
        });
        self.writer_lock = Some(Arc::new(AbortOnDrop(task.abort_handle())));
        Ok(())
    }

    /// Connects and reads the schema version without changing anything (for `scimgate
    /// check`): fails when the server is unreachable, refuses the credentials, or holds a
    /// schema newer than this build. Returns the schema version found (0 for a new database).
    pub async fn probe(url: &str) -> Result<i64, Error> {
        let store = Self::connect(url, 1)?;
        let client = store.client_for_open().await?;
        let found = super::pg_migrations::version(&**client)
            .await
            .map_err(|error| store.open_error(error))?;
        let supported = super::pg_migrations::latest();
        if found > supported {
            return Err(Error::SchemaTooNew { found, supported });
        }
        Ok(found)
    }

    /// Builds the pool (no connection is made yet).
    fn connect(url: &str, pool_size: usize) -> Result<Self, Error> {
        let location: Arc<str> = redact(url).into();
        let open = |reason: String| Error::Open {
            location: location.to_string(),
            reason,
        };
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|error: tokio_postgres::Error| open(parse_reason(&error)))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("scimgate");
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if config.get_ssl_mode() == SslMode::Require {
            Manager::from_config(config, tls_connector().map_err(open)?, manager_config)
        } else {
            config.ssl_mode(SslMode::Disable);
            Manager::from_config(config, NoTls, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|error| open(error.to_string()))?;
        Ok(Self {
            pool,
            location,
            writer: uuid::Uuid::new_v4().to_string().into(),
            writer_lock: None,
        })
    }

    async fn client_for_open(&self) -> Result<deadpool_postgres::Object, Error> {
        self.pool.get().await.map_err(|error| Error::Open {
            location: self.location.to_string(),
            reason: pool_reason(&error),
        })
    }

    fn open_error(&self, error: Error) -> Error {
        match error {
            Error::Database { operation, reason } => Error::Open {
                location: self.location.to_string(),
                reason: format!("{operation}: {reason}"),
            },
            other => other,
        }
    }

    /// A pooled connection for `operation`.
    pub(in crate::store) async fn client(
        &self,
        operation: &'static str,
    ) -> Result<deadpool_postgres::Object, Error> {
        self.pool.get().await.map_err(|error| Error::Database {
            operation,
            reason: pool_reason(&error),
        })
    }
}

/// The advisory-lock key of a writer id: its first 31 bits (`None` when it is not a UUID).
fn writer_key(writer: &str) -> Option<i32> {
    let uuid = uuid::Uuid::parse_str(writer).ok()?;
    let [a, b, c, d, ..] = *uuid.as_bytes();
    Some(i32::from_be_bytes([a & 0x7f, b, c, d]))
}

/// A session taken out of the pool for good, holding the writer lock `key` (shared, so that
/// nothing waits on it and two handles with one key would both hold it).
async fn lock_session(pool: &Pool, key: i32) -> Result<deadpool_postgres::ClientWrapper, Error> {
    let client = pool.get().await.map_err(|error| Error::Database {
        operation: "writer lock",
        reason: pool_reason(&error),
    })?;
    let client = deadpool_postgres::Object::take(client);
    client
        .execute(
            "SELECT pg_advisory_lock_shared($1, $2)",
            &[&WRITER_LOCK_CLASS, &key],
        )
        .await
        .map_err(database("writer lock"))?;
    Ok(client)
}

/// The TLS connector for `sslmode=require`: rustls with ring, the system's trust store.
fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(rustls::ConfigBuilder::with_platform_verifier)
        .map_err(|error| format!("TLS setup: {error}"))?
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Why the pool gave no connection, with the cause of a failed connect.
fn pool_reason(error: &deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Backend(error) => describe(error),
        other => other.to_string(),
    }
}

/// A tokio-postgres error of `operation` as a store error.
pub(in crate::store) fn database(
    operation: &'static str,
) -> impl Fn(tokio_postgres::Error) -> Error + Copy {
    move |error| Error::Database {
        operation,
        reason: describe(&error),
    }
}
