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

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{GenericClient, NoTls, Row};

use super::{AuditEntry, AuditQuery, Error, Record, RecordState, Store, StoreFuture, UniqueColumn};

/// How often a write that lost to a serialisation failure or deadlock is tried again.
const MAX_ATTEMPTS: u32 = 5;

/// How long to wait for a connection (new or from the pool).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Columns of `records`, in the order [`read_record`] expects (JSON read back as text).
const COLUMNS: &str = "tenant, kind, scim_id, backend_id, unique_key, shadow::text, \
                       snapshot::text, created, last_modified, state";

/// The same columns qualified with `r.` (for joins).
const R_COLUMNS: &str = "r.tenant, r.kind, r.scim_id, r.backend_id, r.unique_key, \
                         r.shadow::text, r.snapshot::text, r.created, r.last_modified, r.state";

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
    /// This handle's writer id (see [`Store::writer`]).
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
    /// [`Store::writer_alive`] looks for: it goes the moment the process dies (the server
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
    async fn client(&self, operation: &'static str) -> Result<deadpool_postgres::Object, Error> {
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

/// A tokio-postgres error with its cause (e.g. "connection refused", the server's message).
fn describe(error: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match (error.as_db_error(), error.source()) {
        (Some(db), _) => format!("{} ({})", db.message(), db.code().code()),
        (None, Some(source)) => format!("{error}: {source}"),
        (None, None) => error.to_string(),
    }
}

/// A connection string (URL or `key=value` form, any spacing, quoted values) as it may be
/// shown in a message: parsed with the driver's own parser and rendered from the parsed fields
/// (user, hosts, ports, database, `sslmode`), never with its password. A string the driver
/// cannot parse is not echoed at all, since nothing says which part of it is the password.
pub fn redact(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(config) => render(&config),
        Err(error) => format!("(unparsable connection string: {})", parse_reason(&error)),
    }
}

/// `postgres://user@host:port,…/dbname?sslmode=…` from parsed fields, without the password.
fn render(config: &tokio_postgres::Config) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const SHOWN: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');
    let encode = |text: &str| utf8_percent_encode(text, SHOWN).to_string();
    let mut out = String::from("postgres://");
    if let Some(user) = config.get_user() {
        out.push_str(&encode(user));
        out.push('@');
    }
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let mut text = match host {
                tokio_postgres::config::Host::Tcp(name) if name.contains(':') => {
                    format!("[{name}]")
                }
                tokio_postgres::config::Host::Tcp(name) => encode(name),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => encode(&path.to_string_lossy()),
            };
            // One port applies to every host; otherwise one per host.
            let port = match ports {
                [one] => Some(one),
                many => many.get(index),
            };
            if let Some(port) = port {
                text.push_str(&format!(":{port}"));
            }
            text
        })
        .collect();
    out.push_str(&hosts.join(","));
    if let Some(dbname) = config.get_dbname() {
        out.push('/');
        out.push_str(&encode(dbname));
    }
    let sslmode = match config.get_ssl_mode() {
        SslMode::Disable => "disable",
        SslMode::Require => "require",
        _ => "prefer",
    };
    out.push_str("?sslmode=");
    out.push_str(sslmode);
    out
}

/// The driver's parse error without any character of the input (its "expected `=` but got
/// `x`" quotes one).
fn parse_reason(error: &tokio_postgres::Error) -> String {
    let text = error.to_string();
    match text.find(" but got") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Why one attempt at a write failed.
enum Failure {
    /// A store error to return as is.
    Store(Error),
    /// A unique index refused the write: re-read the holder after the rollback.
    Unique(HolderQuery),
    /// The database failed; retried when it is a serialisation failure or deadlock.
    Pg(tokio_postgres::Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Store(error)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Pg(error)
    }
}

/// Which holder to name in the [`Error::Conflict`] of a unique violation.
#[derive(Debug, Clone)]
struct HolderQuery {
    column: UniqueColumn,
    tenant: String,
    kind: String,
    value: String,
    except: Option<String>,
}

/// Maps an error of a statement writing `record`: a unique violation becomes
/// [`Failure::Unique`] for the column its index names.
fn on_write(record: &Record, except: Option<&str>) -> impl Fn(tokio_postgres::Error) -> Failure {
    move |error| {
        let Some(db) = error.as_db_error() else {
            return Failure::Pg(error);
        };
        if db.code() != &SqlState::UNIQUE_VIOLATION {
            return Failure::Pg(error);
        }
        let column = match db.constraint() {
            Some("records_backend_id") => UniqueColumn::BackendId,
            Some("records_unique_key") => UniqueColumn::UniqueKey,
            Some("records_pkey") => UniqueColumn::ScimId,
            _ => return Failure::Pg(error),
        };
        let value = match column {
            UniqueColumn::ScimId => Some(record.scim_id.clone()),
            UniqueColumn::BackendId => record.backend_id.clone(),
            UniqueColumn::UniqueKey => record.unique_key.clone(),
        };
        match value {
            Some(value) => Failure::Unique(HolderQuery {
                column,
                tenant: record.tenant.clone(),
                kind: record.kind.clone(),
                value,
                except: except.map(str::to_owned),
            }),
            None => Failure::Pg(error),
        }
    }
}

/// A tokio-postgres error of `operation` as a store error.
pub(super) fn database(operation: &'static str) -> impl Fn(tokio_postgres::Error) -> Error + Copy {
    move |error| Error::Database {
        operation,
        reason: describe(&error),
    }
}

/// True for the errors a new attempt may not hit (`40001`, `40P01`).
fn retryable(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        code == &SqlState::T_R_SERIALIZATION_FAILURE || code == &SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// Whether the write `operation` commits without waiting for the WAL flush
/// (`synchronous_commit = off` for its transaction): the same writes the SQLite store commits
/// without a sync (see `group_commit`): an activation (the crash-repair protocol rebuilds it
/// from the synced reservation and the backend), a released reservation and the audit trail.
/// A gateway process killed after the commit loses nothing (the server has it); a server
/// crash or power loss may lose the last few hundred milliseconds of them, never a
/// reservation, a changed record or a deletion.
fn deferred(operation: &str) -> bool {
    matches!(
        operation,
        "activate" | "delete_pending" | "append_audit" | "prune_audit"
    )
}

/// Runs `$body` (an expression using the transaction `$tx`, returning
/// `Result<T, Failure>`) in one transaction, committing when it succeeds; retries
/// serialisation failures, turns unique violations into conflicts naming the holder.
macro_rules! write_tx {
    ($store:expr, $operation:expr, |$tx:ident| $body:expr) => {{
        let store: &PostgresStore = $store;
        let operation: &'static str = $operation;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = store.client(operation).await?;
            let outcome: Result<_, Failure> = async {
                let $tx = client.transaction().await?;
                if deferred(operation) {
                    $tx.batch_execute("SET LOCAL synchronous_commit = off")
                        .await?;
                }
                let value = $body?;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match outcome {
                Ok(value) => break Ok(value),
                Err(Failure::Store(error)) => break Err(error),
                Err(Failure::Pg(error)) if retryable(&error) && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(operation, attempt, "Store write retried after a conflict.");
                    tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                }
                Err(Failure::Pg(error)) => break Err(database(operation)(error)),
                Err(Failure::Unique(query)) => {
                    match holder(&**client, &query)
                        .await
                        .map_err(database(operation))?
                    {
                        Some(existing_scim_id) => {
                            break Err(Error::Conflict {
                                what: query.column,
                                existing_scim_id,
                            });
                        }
                        // The holder went away meanwhile: try again.
                        None if attempt < MAX_ATTEMPTS => {}
                        None => {
                            break Err(Error::Database {
                                operation,
                                reason: format!("{} kept changing under the write", query.column),
                            });
                        }
                    }
                }
            }
        }
    }};
}

fn micros(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(value: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000).ok()
}

fn json_text(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|error| Error::Database {
        operation: "encode",
        reason: error.to_string(),
    })
}

/// Reads one row (selected with [`COLUMNS`]); a bad stored value is `Corrupt`.
fn read_record(row: &Row) -> Result<Record, Error> {
    let read = database("read");
    let scim_id: String = row.try_get(2).map_err(read)?;
    let corrupt = |what| Error::Corrupt {
        what,
        scim_id: scim_id.clone(),
    };
    let shadow: String = row.try_get(5).map_err(read)?;
    let snapshot: Option<String> = row.try_get(6).map_err(read)?;
    let created: i64 = row.try_get(7).map_err(read)?;
    let last_modified: i64 = row.try_get(8).map_err(read)?;
    let state: String = row.try_get(9).map_err(read)?;
    let shadow =
        serde_json::from_str::<Map<String, Value>>(&shadow).map_err(|_| corrupt("shadow"))?;
    let snapshot = match snapshot {
        Some(text) => Some(serde_json::from_str(&text).map_err(|_| corrupt("snapshot"))?),
        None => None,
    };
    Ok(Record {
        tenant: row.try_get(0).map_err(read)?,
        kind: row.try_get(1).map_err(read)?,
        backend_id: row.try_get(3).map_err(read)?,
        unique_key: row.try_get(4).map_err(read)?,
        shadow,
        snapshot,
        created: from_micros(created).ok_or_else(|| corrupt("created"))?,
        last_modified: from_micros(last_modified).ok_or_else(|| corrupt("last_modified"))?,
        state: RecordState::parse(&state).ok_or_else(|| corrupt("state"))?,
        scim_id: scim_id.clone(),
    })
}

/// The record in (tenant, kind) whose `column` equals `value` (with `FOR UPDATE` appended
/// when `lock`).
async fn select_one(
    client: &(impl GenericClient + Sync),
    operation: &'static str,
    column: &str,
    args: &[String; 3],
    lock: bool,
) -> Result<Option<Record>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM records WHERE tenant = $1 AND kind = $2 AND {column} = $3{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = client
        .query_opt(&sql, &[&args[0], &args[1], &args[2]])
        .await
        .map_err(database(operation))?;
    row.as_ref().map(read_record).transpose()
}

/// All records `sql` selects.
async fn select_many(
    client: &(impl GenericClient + Sync),
    operation: &'static str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Record>, Error> {
    let rows = client
        .query(sql, params)
        .await
        .map_err(database(operation))?;
    rows.iter().map(read_record).collect()
}

/// The SCIM id of the record holding `query.value` in `query.column`, other than
/// `query.except`.
async fn holder(
    client: &(impl GenericClient + Sync),
    query: &HolderQuery,
) -> Result<Option<String>, tokio_postgres::Error> {
    let column = match query.column {
        UniqueColumn::ScimId => "scim_id",
        UniqueColumn::BackendId => "backend_id",
        UniqueColumn::UniqueKey => "unique_key",
    };
    let sql = format!(
        "SELECT scim_id FROM records WHERE tenant = $1 AND kind = $2 AND {column} = $3 \
         AND scim_id IS DISTINCT FROM $4 LIMIT 1"
    );
    let row = client
        .query_opt(
            &sql,
            &[&query.tenant, &query.kind, &query.value, &query.except],
        )
        .await?;
    row.map(|row| row.try_get(0)).transpose()
}

/// Refuses `record` when one of its unique columns is held by another (committed) record;
/// checked in the SQLite store's order so both name the same column.
async fn check_unique(
    client: &(impl GenericClient + Sync),
    record: &Record,
    columns: &[UniqueColumn],
) -> Result<(), Failure> {
    let except = columns
        .iter()
        .all(|column| *column != UniqueColumn::ScimId)
        .then(|| record.scim_id.clone());
    for column in columns {
        let value = match column {
            UniqueColumn::ScimId => Some(&record.scim_id),
            UniqueColumn::BackendId => record.backend_id.as_ref(),
            UniqueColumn::UniqueKey => record.unique_key.as_ref(),
        };
        let Some(value) = value else { continue };
        let query = HolderQuery {
            column: *column,
            tenant: record.tenant.clone(),
            kind: record.kind.clone(),
            value: value.clone(),
            except: except.clone(),
        };
        if let Some(existing_scim_id) = holder(client, &query).await? {
            return Err(Failure::Store(Error::Conflict {
                what: *column,
                existing_scim_id,
            }));
        }
    }
    Ok(())
}

/// Rewrites the shadow index rows of `record` (top-level string values).
async fn reindex(client: &(impl GenericClient + Sync), record: &Record) -> Result<(), Failure> {
    client
        .execute(
            "DELETE FROM shadow_index WHERE tenant = $1 AND kind = $2 AND scim_id = $3",
            &[&record.tenant, &record.kind, &record.scim_id],
        )
        .await?;
    for (attr, value) in &record.shadow {
        if let Value::String(value) = value {
            client
                .execute(
                    "INSERT INTO shadow_index (tenant, kind, attr, value, scim_id) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    &[&record.tenant, &record.kind, attr, value, &record.scim_id],
                )
                .await?;
        }
    }
    Ok(())
}

/// Deletes one record (and its index rows) when `extra` holds; true when one was deleted.
async fn delete_where(
    client: &(impl GenericClient + Sync),
    args: &[String; 3],
    extra: &str,
) -> Result<bool, Failure> {
    let deleted = client
        .execute(
            &format!("DELETE FROM records WHERE tenant = $1 AND kind = $2 AND scim_id = $3{extra}"),
            &[&args[0], &args[1], &args[2]],
        )
        .await?;
    if deleted > 0 {
        // Also removed by the foreign key cascade; explicit so it does not depend on it.
        client
            .execute(
                "DELETE FROM shadow_index WHERE tenant = $1 AND kind = $2 AND scim_id = $3",
                &[&args[0], &args[1], &args[2]],
            )
            .await?;
    }
    Ok(deleted > 0)
}

fn owned(args: [&str; 3]) -> [String; 3] {
    args.map(str::to_owned)
}

impl PostgresStore {
    async fn insert_record(&self, record: Record) -> Result<(), Error> {
        write_tx!(self, "insert", |tx| async {
            use UniqueColumn::{BackendId, ScimId, UniqueKey};
            check_unique(&*tx, &record, &[ScimId, BackendId, UniqueKey]).await?;
            tx.execute(
                &format!(
                    "INSERT INTO records ({}) VALUES ($1, $2, $3, $4, $5, CAST($6::text AS jsonb), \
                     CAST($7::text AS jsonb), $8, $9, $10)",
                    COLUMNS.replace("::text", "")
                ),
                &[
                    &record.tenant,
                    &record.kind,
                    &record.scim_id,
                    &record.backend_id,
                    &record.unique_key,
                    &json_text(&record.shadow)?,
                    &record.snapshot.as_ref().map(json_text).transpose()?,
                    &micros(record.created),
                    &micros(record.last_modified),
                    &record.state.as_str(),
                ],
            )
            .await
            .map_err(on_write(&record, None))?;
            reindex(&*tx, &record).await
        }
        .await)
    }

    async fn activate_record(
        &self,
        args: [String; 3],
        backend_id: String,
        shadow: Map<String, Value>,
    ) -> Result<Record, Error> {
        write_tx!(self, "activate", |tx| async {
            let [tenant, kind, scim_id] = args.clone();
            let Some(mut record) = select_one(&*tx, "activate", "scim_id", &args, true).await?
            else {
                return Err(Failure::Store(Error::NotFound {
                    tenant,
                    kind,
                    scim_id,
                }));
            };
            if record.state == RecordState::Active {
                return if record.backend_id.as_deref() == Some(backend_id.as_str()) {
                    Ok(record)
                } else {
                    Err(Failure::Store(Error::AlreadyActive { scim_id }))
                };
            }
            record.backend_id = Some(backend_id.clone());
            record.shadow = shadow.clone();
            record.state = RecordState::Active;
            record.last_modified = super::now().max(record.created);
            check_unique(&*tx, &record, &[UniqueColumn::BackendId]).await?;
            tx.execute(
                "UPDATE records SET backend_id = $4, shadow = CAST($5::text AS jsonb), \
                 state = 'active', last_modified = $6 \
                 WHERE tenant = $1 AND kind = $2 AND scim_id = $3",
                &[
                    &record.tenant,
                    &record.kind,
                    &record.scim_id,
                    &record.backend_id,
                    &json_text(&record.shadow)?,
                    &micros(record.last_modified),
                ],
            )
            .await
            .map_err(on_write(&record, Some(&record.scim_id)))?;
            reindex(&*tx, &record).await?;
            Ok(record)
        }
        .await)
    }

    async fn update_record(&self, record: Record) -> Result<(), Error> {
        write_tx!(self, "update", |tx| async {
            check_unique(
                &*tx,
                &record,
                &[UniqueColumn::BackendId, UniqueColumn::UniqueKey],
            )
            .await?;
            let changed = tx
                .execute(
                    "UPDATE records SET backend_id = $4, unique_key = $5, \
                     shadow = CAST($6::text AS jsonb), snapshot = CAST($7::text AS jsonb), \
                     last_modified = $8 WHERE tenant = $1 AND kind = $2 AND scim_id = $3",
                    &[
                        &record.tenant,
                        &record.kind,
                        &record.scim_id,
                        &record.backend_id,
                        &record.unique_key,
                        &json_text(&record.shadow)?,
                        &record.snapshot.as_ref().map(json_text).transpose()?,
                        &micros(record.last_modified),
                    ],
                )
                .await
                .map_err(on_write(&record, Some(&record.scim_id)))?;
            if changed == 0 {
                return Err(Failure::Store(Error::NotFound {
                    tenant: record.tenant.clone(),
                    kind: record.kind.clone(),
                    scim_id: record.scim_id.clone(),
                }));
            }
            reindex(&*tx, &record).await
        }
        .await)
    }

    async fn delete_record(
        &self,
        operation: &'static str,
        args: [String; 3],
        extra: &'static str,
    ) -> Result<bool, Error> {
        write_tx!(self, operation, |tx| delete_where(&*tx, &args, extra).await)
    }

    async fn select(
        &self,
        operation: &'static str,
        column: &'static str,
        args: [String; 3],
    ) -> Result<Option<Record>, Error> {
        let client = self.client(operation).await?;
        select_one(&**client, operation, column, &args, false).await
    }
}

impl Store for PostgresStore {
    fn insert(&self, record: Record) -> StoreFuture<'_, ()> {
        Box::pin(self.insert_record(record))
    }

    fn activate(
        &self,
        tenant: &str,
        kind: &str,
        scim_id: &str,
        backend_id: &str,
        shadow: Map<String, Value>,
    ) -> StoreFuture<'_, Record> {
        Box::pin(self.activate_record(
            owned([tenant, kind, scim_id]),
            backend_id.to_owned(),
            shadow,
        ))
    }

    fn get(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, Option<Record>> {
        Box::pin(self.select("get", "scim_id", owned([tenant, kind, scim_id])))
    }

    fn get_by_backend_id(
        &self,
        tenant: &str,
        kind: &str,
        backend_id: &str,
    ) -> StoreFuture<'_, Option<Record>> {
        Box::pin(self.select(
            "get_by_backend_id",
            "backend_id",
            owned([tenant, kind, backend_id]),
        ))
    }

    fn get_by_unique_key(
        &self,
        tenant: &str,
        kind: &str,
        unique_key: &str,
    ) -> StoreFuture<'_, Option<Record>> {
        Box::pin(self.select(
            "get_by_unique_key",
            "unique_key",
            owned([tenant, kind, unique_key]),
        ))
    }

    fn find_by_shadow(
        &self,
        tenant: &str,
        kind: &str,
        attribute: &str,
        value: &str,
    ) -> StoreFuture<'_, Vec<Record>> {
        let args = [tenant, kind, attribute, value].map(str::to_owned);
        Box::pin(async move {
            let client = self.client("find_by_shadow").await?;
            let sql = format!(
                "SELECT {R_COLUMNS} FROM records r JOIN shadow_index s \
                 ON s.tenant = r.tenant AND s.kind = r.kind AND s.scim_id = r.scim_id \
                 WHERE s.tenant = $1 AND s.kind = $2 AND s.attr = $3 AND s.value = $4 \
                 ORDER BY r.created, r.scim_id"
            );
            select_many(
                &**client,
                "find_by_shadow",
                &sql,
                &[&args[0], &args[1], &args[2], &args[3]],
            )
            .await
        })
    }

    fn update(&self, record: Record) -> StoreFuture<'_, ()> {
        Box::pin(self.update_record(record))
    }

    fn delete(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, bool> {
        Box::pin(self.delete_record("delete", owned([tenant, kind, scim_id]), ""))
    }

    fn list_pending(
        &self,
        tenant: &str,
        kind: &str,
        older_than: OffsetDateTime,
    ) -> StoreFuture<'_, Vec<Record>> {
        let (tenant, kind) = (tenant.to_owned(), kind.to_owned());
        Box::pin(async move {
            let client = self.client("list_pending").await?;
            let sql = format!(
                "SELECT {COLUMNS} FROM records WHERE tenant = $1 AND kind = $2 \
                 AND state = 'pending' AND created < $3 ORDER BY created, scim_id"
            );
            select_many(
                &**client,
                "list_pending",
                &sql,
                &[&tenant, &kind, &micros(older_than)],
            )
            .await
        })
    }

    fn list_active(&self, tenant: &str, kind: &str) -> StoreFuture<'_, Vec<Record>> {
        let (tenant, kind) = (tenant.to_owned(), kind.to_owned());
        Box::pin(async move {
            let client = self.client("list_active").await?;
            let sql = format!(
                "SELECT {COLUMNS} FROM records WHERE tenant = $1 AND kind = $2 \
                 AND state = 'active' ORDER BY scim_id"
            );
            select_many(&**client, "list_active", &sql, &[&tenant, &kind]).await
        })
    }

    fn delete_pending(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, bool> {
        Box::pin(self.delete_record(
            "delete_pending",
            owned([tenant, kind, scim_id]),
            " AND state = 'pending'",
        ))
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client("ping").await?;
            client
                .query_one("SELECT 1", &[])
                .await
                .map(drop)
                .map_err(database("ping"))
        })
    }

    fn writer(&self) -> &str {
        &self.writer
    }

    /// A writer is alive while some session holds its advisory lock (see
    /// [`PostgresStore::open`]); an id that is not one of ours is taken to be alive.
    fn writer_alive(&self, writer: &str) -> StoreFuture<'_, bool> {
        let key = writer_key(writer);
        Box::pin(async move {
            let Some(key) = key else { return Ok(true) };
            let client = self.client("writer_alive").await?;
            client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                     AND granted AND objsubid = 2 AND classid::bigint = $1 \
                     AND objid::bigint = $2 AND database = \
                     (SELECT oid FROM pg_database WHERE datname = current_database()))",
                    &[&i64::from(WRITER_LOCK_CLASS), &i64::from(key)],
                )
                .await
                .and_then(|row| row.try_get(0))
                .map_err(database("writer_alive"))
        })
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            write_tx!(self, "append_audit", |tx| async {
                let row = tx
                    .query_one(
                        "INSERT INTO audit (at, tenant, credential, request_id, operation, kind, \
                         scim_id, attributes, status, outcome) VALUES ($1, $2, $3, $4, $5, $6, \
                         $7, CAST($8::text AS jsonb), $9, $10) RETURNING seq",
                        &[
                            &micros(entry.at),
                            &entry.tenant,
                            &entry.credential,
                            &entry.request_id,
                            &entry.operation,
                            &entry.kind,
                            &entry.scim_id,
                            &json_text(&entry.attributes)?,
                            &i32::from(entry.status),
                            &entry.outcome,
                        ],
                    )
                    .await?;
                Ok::<i64, Failure>(row.try_get(0)?)
            }
            .await)
        })
    }

    fn audit(&self, query: AuditQuery) -> StoreFuture<'_, Vec<AuditEntry>> {
        Box::pin(async move {
            let client = self.client("audit").await?;
            let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
            let rows = client
                .query(
                    "SELECT seq, at, tenant, credential, request_id, operation, kind, scim_id, \
                     attributes::text, status, outcome FROM audit WHERE at >= $1 \
                     AND ($2::text IS NULL OR tenant = $2) AND ($3::text IS NULL OR scim_id = $3) \
                     ORDER BY at, seq LIMIT $4",
                    &[&micros(query.since), &query.tenant, &query.scim_id, &limit],
                )
                .await
                .map_err(database("audit"))?;
            rows.iter().map(read_audit).collect()
        })
    }

    fn prune_audit(&self, older_than: OffsetDateTime) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            write_tx!(self, "prune_audit", |tx| async {
                Ok::<u64, Failure>(
                    tx.execute("DELETE FROM audit WHERE at < $1", &[&micros(older_than)])
                        .await?,
                )
            }
            .await)
        })
    }
}

/// Reads one audit row; a bad stored value is `Corrupt`.
fn read_audit(row: &Row) -> Result<AuditEntry, Error> {
    let read = database("audit");
    let seq: i64 = row.try_get(0).map_err(read)?;
    let corrupt = |what| Error::Corrupt {
        what,
        scim_id: format!("audit entry {seq}"),
    };
    let at: i64 = row.try_get(1).map_err(read)?;
    let attributes: String = row.try_get(8).map_err(read)?;
    let status: i32 = row.try_get(9).map_err(read)?;
    Ok(AuditEntry {
        seq,
        at: from_micros(at).ok_or_else(|| corrupt("audit time"))?,
        tenant: row.try_get(2).map_err(read)?,
        credential: row.try_get(3).map_err(read)?,
        request_id: row.try_get(4).map_err(read)?,
        operation: row.try_get(5).map_err(read)?,
        kind: row.try_get(6).map_err(read)?,
        scim_id: row.try_get(7).map_err(read)?,
        attributes: serde_json::from_str(&attributes).map_err(|_| corrupt("audit attributes"))?,
        status: u16::try_from(status).map_err(|_| corrupt("audit status"))?,
        outcome: row.try_get(10).map_err(read)?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::{PostgresStore, redact};
    use crate::store::Error;

    /// `sslmode=require` speaks TLS (rustls) and verifies the server: a stand-in server that
    /// accepts the SSLRequest and presents a self-signed certificate is refused.
    #[tokio::test]
    async fn sslmode_require_verifies_the_server_certificate() {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 8];
            socket.read_exact(&mut request).await.unwrap();
            // SSLRequest: length 8, code 80877103.
            assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
            socket.write_all(b"S").await.unwrap();
            acceptor.accept(socket).await.is_ok()
        });
        let url = format!("postgres://gate:Tls-Pa55@localhost:{port}/scim?sslmode=require");
        let error = PostgresStore::open(&url, 1).await.unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, Error::Open { .. }), "{error:?}");
        assert!(text.contains("certificate"), "{text}");
        assert!(!text.contains("Tls-Pa55"), "{text}");
        assert!(!server.await.unwrap(), "the handshake must fail");
    }

    /// Issue 15: every form the driver accepts, each with the password it must never show.
    #[test]
    fn redact_never_shows_the_password_of_any_form() {
        let cases: &[(&str, &[&str], &str)] = &[
            (
                "postgres://gate:s3cret@db.example.com:5432/scim?sslmode=require",
                &["s3cret"],
                "postgres://gate@db.example.com:5432/scim?sslmode=require",
            ),
            (
                "postgresql://db/scim?user=gate&password=s3cret",
                &["s3cret"],
                "postgres://gate@db:5432/scim?sslmode=prefer",
            ),
            (
                "postgres://gate:p%40ss%20w0rd@db/scim",
                &["p%40ss", "p@ss", "w0rd"],
                "postgres://gate@db:5432/scim?sslmode=prefer",
            ),
            (
                "postgres://gate:s3cret@h1:5432,h2:5433/scim",
                &["s3cret"],
                "postgres://gate@h1:5432,h2:5433/scim?sslmode=prefer",
            ),
            (
                "host=db user=gate password=s3cret dbname=scim",
                &["s3cret"],
                "postgres://gate@db/scim?sslmode=prefer",
            ),
            (
                "host=db user=gate password  =  s3cret dbname=scim",
                &["s3cret"],
                "postgres://gate@db/scim?sslmode=prefer",
            ),
            (
                "password='a b c' host=db user=gate",
                &["a b c", "b c"],
                "postgres://gate@db?sslmode=prefer",
            ),
            (
                r"host=db password='it\'s se cret' user=gate port=6432 sslmode=require",
                &["it", "se cret", "cret"],
                "postgres://gate@db:6432?sslmode=require",
            ),
            (
                "\thost=db\n password=\t s3cret user=gate",
                &["s3cret"],
                "postgres://gate@db?sslmode=prefer",
            ),
            // Not parsable: nothing of it is echoed.
            ("postgres://gate:s3cret@[::1/x", &["s3cret"], ""),
            ("host=db password='s3cret", &["s3cret"], ""),
            ("host=db password s3cret", &["s3cret", "s3"], ""),
        ];
        for (url, secrets, expected) in cases {
            let shown = redact(url);
            for secret in *secrets {
                assert!(!shown.contains(secret), "{url:?} shows {secret:?}: {shown}");
            }
            if expected.is_empty() {
                assert!(shown.starts_with("(unparsable"), "{url:?}: {shown}");
            } else {
                assert_eq!(&shown, expected, "{url:?}");
            }
        }
    }
}
