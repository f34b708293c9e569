//! [`SqliteStore`]: the embedded default [`Store`], one SQLite file (or memory).
//!
//! rusqlite is synchronous, so every write (and every longer read) runs on one writer thread
//! that owns the read-write connection (`group_commit`): writes queued together share one
//! transaction (a savepoint each, so each is atomic on its own) and one commit. The point reads
//! of the hot path (`get`, `get_by_backend_id`, `get_by_unique_key`) run inline on the calling
//! task instead, on a second, read-only connection of the same file: one indexed lookup costs a
//! few µs of CPU, while the hop to another thread and back costs two thread wake-ups (tens of µs
//! on a small machine, measured in `docs/benchmarks.md`). An inline read never waits: the read
//! connection has no busy timeout and is only taken when free (`try_lock`); when it is busy, or
//! SQLite answers with any error, the read goes to the writer thread. WAL readers see every
//! committed write, from this process or another, so nothing is cached and nothing can go
//! stale. An in-memory store has no second connection (a private memory database cannot be
//! shared) and reads on the writer thread.
//!
//! WAL journal, foreign keys on, a busy timeout for a second process. Durability per write
//! (issue 16, see `group_commit` and docs/benchmarks.md): what nothing else can rebuild (a
//! reservation, a changed or deleted record, a minted SCIM id) is synced before it is answered
//! (`synchronous = FULL` for that commit); an activation, a released reservation and an audit
//! entry are committed without a sync, which a process kill never loses, and are synced by the
//! next synced commit or within 100 ms. Each write runs in one savepoint of a `BEGIN
//! IMMEDIATE` transaction, so conflict checks and writes cannot interleave. An operation whose
//! caller stops waiting (request cancelled) still commits or rolls back as a whole on the
//! writer thread; it is never left half-done.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, Row, params};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::codec::{AuditRow, RecordRow, json_text, micros};
use super::group_commit::{Durability, Kind, Writer};
use super::{
    AuditEntry, AuditQuery, Error, Record, RecordState, Store, StoreFuture, UniqueColumn,
    migrations,
};

/// Columns of `records`, in the order `read_record` expects.
const COLUMNS: &str = "tenant, kind, scim_id, backend_id, unique_key, shadow, snapshot, created, \
                       last_modified, state";

/// This process's writer id (see [`Store::writer`]).
static PROCESS_WRITER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| uuid::Uuid::new_v4().to_string());

/// The SQLite store; cheap to clone (clones share the connection and its writer thread).
#[derive(Clone)]
pub struct SqliteStore {
    /// The writer thread owning the read-write connection (see `group_commit`).
    writer: Writer,
    /// Read-only connection for inline point reads (file databases only).
    reader: Option<Arc<Mutex<Connection>>>,
    location: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let location = path.display().to_string();
        create_private(path).map_err(|error| Error::Open {
            location: location.clone(),
            reason: error.to_string(),
        })?;
        let conn = Connection::open(path).map_err(|error| Error::Open {
            location: location.clone(),
            reason: error.to_string(),
        })?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let mut store = Self::setup(conn, location, Some(PathBuf::from(wal)))?;
        // After `setup`: the file exists, is in WAL mode and migrated.
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| Error::Open {
            location: store.location.clone(),
            reason: error.to_string(),
        })?;
        store.reader = Some(Arc::new(Mutex::new(reader)));
        Ok(store)
    }

    /// A private in-memory database (tests, demo); gone when the store is dropped.
    pub fn open_in_memory() -> Result<Self, Error> {
        let location = ":memory:".to_owned();
        let conn = Connection::open_in_memory().map_err(|error| Error::Open {
            location: location.clone(),
            reason: error.to_string(),
        })?;
        Self::setup(conn, location, None)
    }

    fn setup(mut conn: Connection, location: String, wal: Option<PathBuf>) -> Result<Self, Error> {
        let open = |reason: String| Error::Open {
            location: location.clone(),
            reason,
        };
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| open(e.to_string()))?;
        // A checkpoint syncs the WAL and the database file: every 10,000 pages (~40 MB of WAL)
        // instead of SQLite's 1,000, so they add ~0.005 syncs per create, not ~0.05.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 10000;",
        )
        .map_err(|e| open(e.to_string()))?;
        migrations::migrate(&mut conn)?;
        Ok(Self {
            writer: Writer::spawn(conn, wal)?,
            reader: None,
            location,
        })
    }

    /// Runs the short read `work` inline on the read connection when it is free and answers
    /// without error; otherwise on the blocking pool with the main connection (see the module
    /// doc). `work` must be a single statement: it may run twice.
    pub(super) fn read<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl Fn(&Connection) -> Result<T, Error> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let reader = self.reader.clone();
        let writer = self.writer.clone();
        Box::pin(async move {
            if let Some(reader) = reader
                && let Ok(reader) = reader.try_lock()
                && let Ok(value) = work(&reader)
            {
                return Ok(value);
            }
            writer.call(operation, Kind::Read, work).await
        })
    }

    /// Runs the read `work` on the writer thread's connection.
    pub(super) fn run<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let writer = self.writer.clone();
        Box::pin(async move { writer.call(operation, Kind::Read, work).await })
    }

    /// Runs `work` as one write, atomic on its own (a savepoint in the writer thread's group
    /// commit), answered once committed with `durability`.
    pub(super) fn write<T: Send + 'static>(
        &self,
        operation: &'static str,
        durability: Durability,
        work: impl FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let writer = self.writer.clone();
        Box::pin(async move { writer.call(operation, Kind::Write(durability), work).await })
    }
}

/// Maps a rusqlite error of `operation`.
pub(super) fn database(operation: &'static str) -> impl Fn(rusqlite::Error) -> Error + Copy {
    move |error| Error::Database {
        operation,
        reason: error.to_string(),
    }
}

/// Reads one row (selected with [`COLUMNS`]); a bad stored value is `Corrupt` (the inner
/// result), a driver error the outer one.
fn read_record(row: &Row<'_>) -> rusqlite::Result<Result<Record, Error>> {
    Ok(RecordRow {
        tenant: row.get(0)?,
        kind: row.get(1)?,
        scim_id: row.get(2)?,
        backend_id: row.get(3)?,
        unique_key: row.get(4)?,
        shadow: row.get(5)?,
        snapshot: row.get(6)?,
        created: row.get(7)?,
        last_modified: row.get(8)?,
        state: row.get(9)?,
    }
    .decode())
}

/// All records matching `sql` (which selects [`COLUMNS`]).
fn query(
    conn: &Connection,
    operation: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Record>, Error> {
    let db = database(operation);
    let mut statement = conn.prepare_cached(sql).map_err(db)?;
    let rows = statement.query_map(params, read_record).map_err(db)?;
    let mut records = Vec::new();
    for row in rows {
        records.push(row.map_err(db)??);
    }
    Ok(records)
}

/// The SCIM id of the record in (tenant, kind) whose `column` equals `value`, other than
/// `except`.
fn holder(
    tx: &Connection,
    column: UniqueColumn,
    record: &Record,
    except: Option<&str>,
) -> Result<Option<String>, Error> {
    let (sql, value) = match column {
        UniqueColumn::ScimId => ("scim_id", Some(&record.scim_id)),
        UniqueColumn::BackendId => ("backend_id", record.backend_id.as_ref()),
        UniqueColumn::UniqueKey => ("unique_key", record.unique_key.as_ref()),
    };
    let Some(value) = value else { return Ok(None) };
    let sql = format!(
        "SELECT scim_id FROM records WHERE tenant = ?1 AND kind = ?2 AND {sql} = ?3 \
         AND scim_id IS NOT ?4 LIMIT 1"
    );
    tx.query_row(
        &sql,
        params![record.tenant, record.kind, value, except],
        |row| row.get(0),
    )
    .optional()
    .map_err(database("conflict check"))
}

/// Refuses `record` when one of its unique columns is held by another record.
fn check_unique(tx: &Connection, record: &Record, columns: &[UniqueColumn]) -> Result<(), Error> {
    let except = columns
        .iter()
        .all(|column| *column != UniqueColumn::ScimId)
        .then_some(record.scim_id.as_str());
    for column in columns {
        if let Some(existing_scim_id) = holder(tx, *column, record, except)? {
            return Err(Error::Conflict {
                what: *column,
                existing_scim_id,
            });
        }
    }
    Ok(())
}

/// Rewrites the shadow index rows of `record` (top-level string values).
fn reindex(tx: &Connection, record: &Record) -> Result<(), Error> {
    let db = database("shadow index");
    tx.execute(
        "DELETE FROM shadow_index WHERE tenant = ?1 AND kind = ?2 AND scim_id = ?3",
        params![record.tenant, record.kind, record.scim_id],
    )
    .map_err(db)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO shadow_index (tenant, kind, attr, value, scim_id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db)?;
    for (attr, value) in &record.shadow {
        if let Value::String(value) = value {
            insert
                .execute(params![
                    record.tenant,
                    record.kind,
                    attr,
                    value,
                    record.scim_id
                ])
                .map_err(db)?;
        }
    }
    Ok(())
}

fn select_one(
    conn: &Connection,
    operation: &'static str,
    column: &str,
    args: &[String; 3],
) -> Result<Option<Record>, Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM records WHERE tenant = ?1 AND kind = ?2 AND {column} = ?3");
    let [a, b, c] = args;
    Ok(query(conn, operation, &sql, [a, b, c])?.into_iter().next())
}

fn owned(args: [&str; 3]) -> [String; 3] {
    args.map(str::to_owned)
}

impl Store for SqliteStore {
    fn connection_store(&self) -> Option<Arc<dyn super::ConnectionStore>> {
        Some(Arc::new(self.clone()))
    }

    fn insert(&self, record: Record) -> StoreFuture<'_, ()> {
        self.write("insert", Durability::Synced, move |tx| {
            use UniqueColumn::{BackendId, ScimId, UniqueKey};
            check_unique(tx, &record, &[ScimId, BackendId, UniqueKey])?;
            tx.execute(
                &format!("INSERT INTO records ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![
                    record.tenant,
                    record.kind,
                    record.scim_id,
                    record.backend_id,
                    record.unique_key,
                    json_text(&record.shadow)?,
                    record.snapshot.as_ref().map(json_text).transpose()?,
                    micros(record.created),
                    micros(record.last_modified),
                    record.state.as_str(),
                ],
            )
            .map_err(database("insert"))?;
            reindex(tx, &record)
        })
    }

    fn activate(
        &self,
        tenant: &str,
        kind: &str,
        scim_id: &str,
        backend_id: &str,
        shadow: Map<String, Value>,
    ) -> StoreFuture<'_, Record> {
        let args = owned([tenant, kind, scim_id]);
        let backend_id = backend_id.to_owned();
        self.write("activate", Durability::Deferred, move |tx| {
            let [tenant, kind, scim_id] = args.clone();
            let Some(mut record) = select_one(tx, "activate", "scim_id", &args)? else {
                return Err(Error::NotFound { tenant, kind, scim_id });
            };
            if record.state == RecordState::Active {
                return if record.backend_id.as_deref() == Some(backend_id.as_str()) {
                    Ok(record)
                } else {
                    Err(Error::AlreadyActive { scim_id })
                };
            }
            record.backend_id = Some(backend_id);
            record.shadow = shadow;
            record.state = RecordState::Active;
            record.last_modified = super::now().max(record.created);
            check_unique(tx, &record, &[UniqueColumn::BackendId])?;
            tx.execute(
                "UPDATE records SET backend_id = ?4, shadow = ?5, state = 'active', last_modified = ?6 \
                 WHERE tenant = ?1 AND kind = ?2 AND scim_id = ?3",
                params![
                    record.tenant,
                    record.kind,
                    record.scim_id,
                    record.backend_id,
                    json_text(&record.shadow)?,
                    micros(record.last_modified),
                ],
            )
            .map_err(database("activate"))?;
            reindex(tx, &record)?;
            Ok(record)
        })
    }

    fn get(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, Option<Record>> {
        let args = owned([tenant, kind, scim_id]);
        self.read("get", move |conn| select_one(conn, "get", "scim_id", &args))
    }

    fn get_by_backend_id(
        &self,
        tenant: &str,
        kind: &str,
        backend_id: &str,
    ) -> StoreFuture<'_, Option<Record>> {
        let args = owned([tenant, kind, backend_id]);
        self.read("get_by_backend_id", move |conn| {
            select_one(conn, "get_by_backend_id", "backend_id", &args)
        })
    }

    fn get_by_unique_key(
        &self,
        tenant: &str,
        kind: &str,
        unique_key: &str,
    ) -> StoreFuture<'_, Option<Record>> {
        let args = owned([tenant, kind, unique_key]);
        self.read("get_by_unique_key", move |conn| {
            select_one(conn, "get_by_unique_key", "unique_key", &args)
        })
    }

    fn find_by_shadow(
        &self,
        tenant: &str,
        kind: &str,
        attribute: &str,
        value: &str,
    ) -> StoreFuture<'_, Vec<Record>> {
        let args = [tenant, kind, attribute, value].map(str::to_owned);
        self.run("find_by_shadow", move |conn| {
            let sql = format!(
                "SELECT {} FROM records r JOIN shadow_index s \
                 ON s.tenant = r.tenant AND s.kind = r.kind AND s.scim_id = r.scim_id \
                 WHERE s.tenant = ?1 AND s.kind = ?2 AND s.attr = ?3 AND s.value = ?4 \
                 ORDER BY r.created, r.scim_id",
                COLUMNS
                    .split(", ")
                    .map(|c| format!("r.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            query(conn, "find_by_shadow", &sql, args)
        })
    }

    fn update(&self, record: Record) -> StoreFuture<'_, ()> {
        self.write("update", Durability::Synced, move |tx| {
            check_unique(tx, &record, &[UniqueColumn::BackendId, UniqueColumn::UniqueKey])?;
            let changed = tx
                .execute(
                    "UPDATE records SET backend_id = ?4, unique_key = ?5, shadow = ?6, snapshot = ?7, \
                     last_modified = ?8 WHERE tenant = ?1 AND kind = ?2 AND scim_id = ?3",
                    params![
                        record.tenant,
                        record.kind,
                        record.scim_id,
                        record.backend_id,
                        record.unique_key,
                        json_text(&record.shadow)?,
                        record.snapshot.as_ref().map(json_text).transpose()?,
                        micros(record.last_modified),
                    ],
                )
                .map_err(database("update"))?;
            if changed == 0 {
                return Err(Error::NotFound {
                    tenant: record.tenant,
                    kind: record.kind,
                    scim_id: record.scim_id,
                });
            }
            reindex(tx, &record)
        })
    }

    fn delete(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, bool> {
        let args = owned([tenant, kind, scim_id]);
        self.write("delete", Durability::Synced, move |tx| {
            delete_where(tx, "delete", &args, "")
        })
    }

    fn list_pending(
        &self,
        tenant: &str,
        kind: &str,
        older_than: OffsetDateTime,
    ) -> StoreFuture<'_, Vec<Record>> {
        let (tenant, kind) = (tenant.to_owned(), kind.to_owned());
        self.run("list_pending", move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM records WHERE tenant = ?1 AND kind = ?2 \
                 AND state = 'pending' AND created < ?3 ORDER BY created, scim_id"
            );
            query(
                conn,
                "list_pending",
                &sql,
                params![tenant, kind, micros(older_than)],
            )
        })
    }

    fn list_active(&self, tenant: &str, kind: &str) -> StoreFuture<'_, Vec<Record>> {
        let (tenant, kind) = (tenant.to_owned(), kind.to_owned());
        self.run("list_active", move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM records WHERE tenant = ?1 AND kind = ?2 \
                 AND state = 'active' ORDER BY scim_id"
            );
            query(conn, "list_active", &sql, params![tenant, kind])
        })
    }

    fn delete_pending(&self, tenant: &str, kind: &str, scim_id: &str) -> StoreFuture<'_, bool> {
        let args = owned([tenant, kind, scim_id]);
        self.write("delete_pending", Durability::Deferred, move |tx| {
            delete_where(tx, "delete_pending", &args, " AND state = 'pending'")
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        self.run("ping", |conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(database("ping"))
        })
    }

    /// One id for the whole process: every handle on a file in this process is the same writer.
    fn writer(&self) -> &str {
        &PROCESS_WRITER
    }

    /// A SQLite file is served by one process at a time (several replicas share PostgreSQL),
    /// so a writer other than this process is a process that has exited.
    fn writer_alive(&self, writer: &str) -> StoreFuture<'_, bool> {
        let alive = writer == PROCESS_WRITER.as_str();
        Box::pin(async move { Ok(alive) })
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, i64> {
        self.write("append_audit", Durability::Deferred, move |tx| {
            tx.execute(
                "INSERT INTO audit (at, tenant, credential, request_id, operation, kind, scim_id, \
                 attributes, status, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    micros(entry.at),
                    entry.tenant,
                    entry.credential,
                    entry.request_id,
                    entry.operation,
                    entry.kind,
                    entry.scim_id,
                    json_text(&entry.attributes)?,
                    entry.status,
                    entry.outcome,
                ],
            )
            .map_err(database("append_audit"))?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn audit(&self, query: AuditQuery) -> StoreFuture<'_, Vec<AuditEntry>> {
        self.run("audit", move |conn| {
            let db = database("audit");
            let mut statement = conn
                .prepare_cached(
                    "SELECT seq, at, tenant, credential, request_id, operation, kind, scim_id, \
                     attributes, status, outcome FROM audit WHERE at >= ?1 \
                     AND (?2 IS NULL OR tenant = ?2) AND (?3 IS NULL OR scim_id = ?3) \
                     ORDER BY at, seq LIMIT ?4",
                )
                .map_err(db)?;
            let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
            let rows = statement
                .query_map(
                    params![micros(query.since), query.tenant, query.scim_id, limit],
                    read_audit,
                )
                .map_err(db)?;
            let mut entries = Vec::new();
            for row in rows {
                entries.push(row.map_err(db)??);
            }
            Ok(entries)
        })
    }

    fn prune_audit(&self, older_than: OffsetDateTime) -> StoreFuture<'_, u64> {
        self.write("prune_audit", Durability::Deferred, move |tx| {
            let deleted = tx
                .execute("DELETE FROM audit WHERE at < ?1", [micros(older_than)])
                .map_err(database("prune_audit"))?;
            Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
        })
    }
}

/// Reads one audit row; a bad stored value is `Corrupt` (the inner result).
fn read_audit(row: &Row<'_>) -> rusqlite::Result<Result<AuditEntry, Error>> {
    Ok(AuditRow {
        seq: row.get(0)?,
        at: row.get(1)?,
        tenant: row.get(2)?,
        credential: row.get(3)?,
        request_id: row.get(4)?,
        operation: row.get(5)?,
        kind: row.get(6)?,
        scim_id: row.get(7)?,
        attributes: row.get(8)?,
        status: row.get(9)?,
        outcome: row.get(10)?,
    }
    .decode())
}

/// Deletes one record (and its index rows) when `extra` holds; true when one was deleted.
fn delete_where(
    tx: &Connection,
    operation: &'static str,
    args: &[String; 3],
    extra: &str,
) -> Result<bool, Error> {
    let db = database(operation);
    let deleted = tx
        .execute(
            &format!("DELETE FROM records WHERE tenant = ?1 AND kind = ?2 AND scim_id = ?3{extra}"),
            params![args[0], args[1], args[2]],
        )
        .map_err(db)?;
    if deleted > 0 {
        // Also removed by the foreign key cascade; explicit so it does not depend on it.
        tx.execute(
            "DELETE FROM shadow_index WHERE tenant = ?1 AND kind = ?2 AND scim_id = ?3",
            params![args[0], args[1], args[2]],
        )
        .map_err(db)?;
    }
    Ok(deleted > 0)
}

/// Creates the store's folder (0700) and file (0600) when they do not exist yet, so the id map
/// and stored attributes are readable by the gateway's user only. SQLite creates the `-wal` and
/// `-shm` files with the database file's mode, so they are 0600 too. Existing files keep the
/// mode they have.
fn create_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            && !parent.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(error) => Err(error),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod inline_read_tests {
    use super::*;

    // Holding the read connection's lock across the reads is the point: it makes them fall back.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn a_busy_read_connection_falls_back_to_the_blocking_pool() {
        let path =
            std::env::temp_dir().join(format!("scimgate-inline-{}.db", uuid::Uuid::new_v4()));
        let store = SqliteStore::open(&path).unwrap();
        let mut record = Record::pending("t1", "User", "u1".to_owned(), Some("k".to_owned()));
        record.backend_id = Some("b1".to_owned());
        record.state = RecordState::Active;
        store.insert(record).await.unwrap();
        let reader = store.reader.clone().unwrap();
        // Inline: the read connection is free.
        assert!(store.get("t1", "User", "u1").await.unwrap().is_some());
        // Busy read connection: the same answer comes from the main connection.
        let held = reader.lock().unwrap();
        let found = store.get_by_backend_id("t1", "User", "b1").await.unwrap();
        assert_eq!(found.map(|r| r.scim_id), Some("u1".to_owned()));
        assert!(store.get("t1", "User", "nope").await.unwrap().is_none());
        drop(held);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}
