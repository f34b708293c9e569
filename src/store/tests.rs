//! Store behaviour tests. Each shared behaviour is an `async fn(Arc<dyn Store>)` run by
//! [`store_tests!`] against in-memory SQLite (`tests::sqlite::…`) and PostgreSQL
//! (`tests::postgres::…`, in a fresh schema per test; see [`pg`]). Behaviours that need to
//! reopen a database (persisting across a reopen, refusing a newer schema) have one generic
//! body each that takes an `open` closure, called by a SQLite-file and a PostgreSQL test which
//! add their store's own checks. Behaviour only one store has (WAL, file modes, TLS, writer
//! locks, replicas migrating together) has its own tests at the end.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use time::Duration;

use super::*;

mod pg;

fn memory() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open_in_memory().unwrap())
}

/// One `#[tokio::test]` per behaviour and store: `sqlite::NAME` and `postgres::NAME`.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::memory()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::pg::TestDb::create().await else { return };
                    super::$name(db.open().await).await;
                }
            )*
        }
    };
}

mod connections;

store_tests!(
    insert_get_round_trip,
    conflicts_on_each_unique_column,
    activate_moves_pending_to_active,
    lookups_by_backend_id_and_unique_key,
    shadow_index_is_exact_and_follows_updates_and_deletes,
    update_keeps_the_scim_id_when_the_backend_key_changes,
    pending_records_are_listed_and_deleted_for_repair,
    concurrent_creates_of_one_unique_key_yield_one_record,
    audit_trail_appends_filters_and_prunes,
    a_writer_is_alive_while_its_store_is_open,
);

/// A database path under the temp dir, removed (with WAL files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("scimgate-store-{}.db", uuid::Uuid::new_v4())))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

fn shadow(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn user(scim_id: &str, unique_key: &str) -> Record {
    let mut record = Record::pending("t1", "User", scim_id, Some(unique_key.to_owned()));
    record.shadow = shadow(json!({"externalId": format!("ext-{scim_id}")}));
    record
}

fn ids(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.scim_id.as_str()).collect()
}

async fn insert_get_round_trip(store: Arc<dyn Store>) {
    let mut record = user("u1", "bjensen@example.com");
    record.snapshot = Some(json!({"userName": "bjensen@example.com"}));
    record.shadow.insert("costCenter".into(), json!(42));
    store.insert_pending(record.clone()).await.unwrap();
    let read = store.get("t1", "User", "u1").await.unwrap().unwrap();
    assert_eq!(read, record);
    assert_eq!(read.state, RecordState::Pending);
    assert_eq!(store.get("t1", "User", "nope").await.unwrap(), None);
    assert_eq!(store.get("t2", "User", "u1").await.unwrap(), None);
    assert_eq!(store.get("t1", "Group", "u1").await.unwrap(), None);
    store.ping().await.unwrap();
}

async fn conflicts_on_each_unique_column(store: Arc<dyn Store>) {
    let mut first = user("u1", "a@example.com");
    first.backend_id = Some("b1".into());
    store.insert(first).await.unwrap();

    let cases = [
        (user("u1", "other@example.com"), UniqueColumn::ScimId),
        (
            Record {
                backend_id: Some("b1".into()),
                ..user("u2", "x@example.com")
            },
            UniqueColumn::BackendId,
        ),
        (user("u3", "a@example.com"), UniqueColumn::UniqueKey),
    ];
    for (record, column) in cases {
        match store.insert_pending(record).await {
            Err(Error::Conflict {
                what,
                existing_scim_id,
            }) => {
                assert_eq!((what, existing_scim_id.as_str()), (column, "u1"));
            }
            other => panic!("{column}: {other:?}"),
        }
    }
    // Nothing of the refused inserts was written, not even their shadow index rows.
    assert_eq!(store.get("t1", "User", "u2").await.unwrap(), None);
    assert!(
        store
            .find_by_shadow("t1", "User", "externalId", "ext-u3")
            .await
            .unwrap()
            .is_empty()
    );
    // Uniqueness is per tenant and kind.
    store
        .insert_pending(Record {
            tenant: "t2".into(),
            ..user("u1", "a@example.com")
        })
        .await
        .unwrap();
    store
        .insert_pending(Record {
            kind: "Group".into(),
            ..user("u1", "a@example.com")
        })
        .await
        .unwrap();
    // Records without unique key or backend id do not collide with each other.
    store
        .insert_pending(Record::pending("t1", "User", "n1", None))
        .await
        .unwrap();
    store
        .insert_pending(Record::pending("t1", "User", "n2", None))
        .await
        .unwrap();
}

async fn activate_moves_pending_to_active(store: Arc<dyn Store>) {
    store
        .insert_pending(user("u1", "a@example.com"))
        .await
        .unwrap();
    let active = store
        .activate(
            "t1",
            "User",
            "u1",
            "b1",
            shadow(json!({"externalId": "E1"})),
        )
        .await
        .unwrap();
    assert_eq!(active.state, RecordState::Active);
    assert_eq!(active.backend_id.as_deref(), Some("b1"));
    assert!(active.last_modified >= active.created);
    assert_eq!(
        store.get("t1", "User", "u1").await.unwrap(),
        Some(active.clone())
    );
    assert_eq!(
        store.get_by_backend_id("t1", "User", "b1").await.unwrap(),
        Some(active.clone())
    );
    assert_eq!(
        ids(&store
            .find_by_shadow("t1", "User", "externalId", "E1")
            .await
            .unwrap()),
        ["u1"]
    );
    assert!(
        store
            .find_by_shadow("t1", "User", "externalId", "ext-u1")
            .await
            .unwrap()
            .is_empty()
    );

    // Idempotent with the same backend id; refused with another.
    let again = store
        .activate("t1", "User", "u1", "b1", Map::new())
        .await
        .unwrap();
    assert_eq!(again, active);
    let other = store.activate("t1", "User", "u1", "b2", Map::new()).await;
    assert!(
        matches!(other, Err(Error::AlreadyActive { .. })),
        "{other:?}"
    );
    let missing = store.activate("t1", "User", "zz", "b3", Map::new()).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );

    // A backend id held by another record: conflict, and the record stays pending.
    store
        .insert_pending(user("u2", "b@example.com"))
        .await
        .unwrap();
    match store.activate("t1", "User", "u2", "b1", Map::new()).await {
        Err(Error::Conflict {
            what: UniqueColumn::BackendId,
            existing_scim_id,
        }) => {
            assert_eq!(existing_scim_id, "u1");
        }
        other => panic!("{other:?}"),
    }
    let pending = store.get("t1", "User", "u2").await.unwrap().unwrap();
    assert_eq!(
        (pending.state, pending.backend_id),
        (RecordState::Pending, None)
    );
}

async fn lookups_by_backend_id_and_unique_key(store: Arc<dyn Store>) {
    store
        .insert_pending(user("u1", "a@example.com"))
        .await
        .unwrap();
    store
        .activate("t1", "User", "u1", "b1", Map::new())
        .await
        .unwrap();
    let by_key = store
        .get_by_unique_key("t1", "User", "a@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_key.scim_id, "u1");
    assert_eq!(
        store
            .get_by_unique_key("t1", "User", "A@example.com")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_by_backend_id("t1", "User", "b2").await.unwrap(),
        None
    );
    assert_eq!(
        store.get_by_backend_id("t2", "User", "b1").await.unwrap(),
        None
    );
}

async fn shadow_index_is_exact_and_follows_updates_and_deletes(store: Arc<dyn Store>) {
    for (id, ext) in [("u1", "Ext-1"), ("u2", "Ext-1"), ("u3", "other")] {
        let mut record = user(id, &format!("{id}@example.com"));
        record.shadow = shadow(json!({"externalId": ext, "level": 3, "tags": ["Ext-1"]}));
        store.insert_pending(record).await.unwrap();
    }
    let found = store
        .find_by_shadow("t1", "User", "externalId", "Ext-1")
        .await
        .unwrap();
    assert_eq!(ids(&found), ["u1", "u2"]);
    // Case-sensitive, attribute-specific, strings only.
    assert!(
        store
            .find_by_shadow("t1", "User", "externalId", "ext-1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_by_shadow("t1", "User", "externalid", "Ext-1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_by_shadow("t1", "User", "tags", "Ext-1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_by_shadow("t1", "User", "level", "3")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_by_shadow("t2", "User", "externalId", "Ext-1")
            .await
            .unwrap()
            .is_empty()
    );

    // Update: the old value no longer finds u1, the new one does.
    let mut record = store.get("t1", "User", "u1").await.unwrap().unwrap();
    record.shadow.insert("externalId".into(), json!("Ext-9"));
    record.last_modified += Duration::seconds(5);
    store.update(record.clone()).await.unwrap();
    assert_eq!(store.get("t1", "User", "u1").await.unwrap(), Some(record));
    assert_eq!(
        ids(&store
            .find_by_shadow("t1", "User", "externalId", "Ext-1")
            .await
            .unwrap()),
        ["u2"]
    );
    assert_eq!(
        ids(&store
            .find_by_shadow("t1", "User", "externalId", "Ext-9")
            .await
            .unwrap()),
        ["u1"]
    );

    // Delete: gone from the index too.
    assert!(store.delete("t1", "User", "u2").await.unwrap());
    assert!(!store.delete("t1", "User", "u2").await.unwrap());
    assert!(
        store
            .find_by_shadow("t1", "User", "externalId", "Ext-1")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get("t1", "User", "u2").await.unwrap(), None);
}

async fn update_keeps_the_scim_id_when_the_backend_key_changes(store: Arc<dyn Store>) {
    store
        .insert_pending(user("u1", "old@example.com"))
        .await
        .unwrap();
    store
        .activate("t1", "User", "u1", "old@example.com", Map::new())
        .await
        .unwrap();
    store
        .insert_pending(user("u2", "taken@example.com"))
        .await
        .unwrap();

    let mut record = store.get("t1", "User", "u1").await.unwrap().unwrap();
    record.backend_id = Some("new@example.com".into());
    record.unique_key = Some("new@example.com".into());
    record.snapshot = Some(json!({"email": "new@example.com"}));
    store.update(record.clone()).await.unwrap();
    assert_eq!(
        store
            .get_by_backend_id("t1", "User", "new@example.com")
            .await
            .unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store
            .get_by_backend_id("t1", "User", "old@example.com")
            .await
            .unwrap(),
        None
    );

    // Conflicts leave the record unchanged.
    let mut clash = record.clone();
    clash.unique_key = Some("taken@example.com".into());
    clash.shadow.insert("externalId".into(), json!("changed"));
    match store.update(clash).await {
        Err(Error::Conflict {
            what: UniqueColumn::UniqueKey,
            existing_scim_id,
        }) => {
            assert_eq!(existing_scim_id, "u2");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.get("t1", "User", "u1").await.unwrap(), Some(record));
    assert!(
        store
            .find_by_shadow("t1", "User", "externalId", "changed")
            .await
            .unwrap()
            .is_empty()
    );

    let missing = store.update(user("zz", "zz@example.com")).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
}

async fn pending_records_are_listed_and_deleted_for_repair(store: Arc<dyn Store>) {
    let now = now();
    let mut old = user("old", "old@example.com");
    old.created = now - Duration::minutes(10);
    old.last_modified = old.created;
    store.insert_pending(old).await.unwrap();
    store
        .insert_pending(user("fresh", "fresh@example.com"))
        .await
        .unwrap();
    let mut active = user("act", "act@example.com");
    active.created = now - Duration::minutes(10);
    store.insert_pending(active).await.unwrap();
    store
        .activate("t1", "User", "act", "b1", Map::new())
        .await
        .unwrap();

    let stale = store
        .list_pending("t1", "User", now - Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(ids(&stale), ["old"]);
    let all = store
        .list_pending("t1", "User", now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(ids(&all), ["old", "fresh"]);
    assert!(
        store
            .list_pending("t2", "User", now + Duration::minutes(1))
            .await
            .unwrap()
            .is_empty()
    );

    // delete_pending never removes an active record.
    assert!(!store.delete_pending("t1", "User", "act").await.unwrap());
    assert!(store.get("t1", "User", "act").await.unwrap().is_some());
    assert!(store.delete_pending("t1", "User", "old").await.unwrap());
    assert!(
        store
            .find_by_shadow("t1", "User", "externalId", "ext-old")
            .await
            .unwrap()
            .is_empty()
    );
    // The unique key is free again.
    store
        .insert_pending(user("again", "old@example.com"))
        .await
        .unwrap();
}

async fn concurrent_creates_of_one_unique_key_yield_one_record(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_pending(user(&format!("id-{i}"), "same@example.com"))
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(()) => winners.push(format!("id-{i}")),
            Err(Error::Conflict {
                what: UniqueColumn::UniqueKey,
                ..
            }) => conflicts += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(conflicts, 31);
    let holder = store
        .get_by_unique_key("t1", "User", "same@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holder.scim_id, winners[0]);
}

async fn a_writer_is_alive_while_its_store_is_open(store: Arc<dyn Store>) {
    let me = store.writer().to_owned();
    assert!(store.writer_alive(&me).await.unwrap(), "{me}");
    let stranger = uuid::Uuid::new_v4().to_string();
    assert!(!store.writer_alive(&stranger).await.unwrap(), "{stranger}");
}

fn audit_entry(at: time::OffsetDateTime, scim_id: &str, operation: &str) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at,
        tenant: "t1".into(),
        credential: "entra".into(),
        request_id: format!("req-{scim_id}-{operation}"),
        operation: operation.into(),
        kind: "User".into(),
        scim_id: Some(scim_id.into()),
        attributes: vec!["active".into(), "name.familyName".into()],
        status: 200,
        outcome: "success".into(),
    }
}

async fn audit_trail_appends_filters_and_prunes(store: Arc<dyn Store>) {
    let start = now();
    let at = |minutes: i64| start + Duration::minutes(minutes);
    let first = store
        .append_audit(audit_entry(at(0), "u1", "create"))
        .await
        .unwrap();
    let second = store
        .append_audit(audit_entry(at(1), "u2", "create"))
        .await
        .unwrap();
    assert!(second > first);
    let mut refused = audit_entry(at(2), "u1", "patch");
    refused.status = 400;
    refused.outcome = "invalidValue".into();
    refused.attributes.clear();
    store.append_audit(refused.clone()).await.unwrap();
    let mut other_tenant = audit_entry(at(3), "u1", "delete");
    other_tenant.tenant = "t2".into();
    store.append_audit(other_tenant).await.unwrap();

    let query = |since, tenant: Option<&str>, scim_id: Option<&str>, limit| AuditQuery {
        since,
        tenant: tenant.map(str::to_owned),
        scim_id: scim_id.map(str::to_owned),
        limit,
    };
    let all = store.audit(query(at(0), None, None, 100)).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].seq, first);
    assert_eq!(all[0].attributes, vec!["active", "name.familyName"]);
    let u1 = store
        .audit(query(at(0), Some("t1"), Some("u1"), 100))
        .await
        .unwrap();
    assert_eq!(
        u1.iter().map(|e| e.operation.as_str()).collect::<Vec<_>>(),
        ["create", "patch"]
    );
    assert_eq!(u1[1].status, 400);
    assert_eq!(u1[1].outcome, "invalidValue");
    assert!(u1[1].attributes.is_empty());
    let later = store.audit(query(at(2), None, None, 100)).await.unwrap();
    assert_eq!(later.len(), 2);
    let limited = store.audit(query(at(0), None, None, 1)).await.unwrap();
    assert_eq!(limited.len(), 1);

    assert_eq!(store.prune_audit(at(2)).await.unwrap(), 2);
    assert_eq!(
        store
            .audit(query(at(0), None, None, 100))
            .await
            .unwrap()
            .len(),
        2
    );
}

/// Shared body: a record written before the store is dropped and opened again is found by its
/// backend id and its shadow attribute, and still holds its unique key. `open` opens the same
/// database each time it is called.
async fn persists_across_reopen<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn Store>>,
{
    {
        let store = open().await;
        store
            .insert_pending(user("u1", "a@example.com"))
            .await
            .unwrap();
        store
            .activate(
                "t1",
                "User",
                "u1",
                "b1",
                shadow(json!({"externalId": "E1"})),
            )
            .await
            .unwrap();
    }
    let store = open().await;
    let record = store
        .get_by_backend_id("t1", "User", "b1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.scim_id.as_str(), record.state),
        ("u1", RecordState::Active)
    );
    assert_eq!(
        ids(&store
            .find_by_shadow("t1", "User", "externalId", "E1")
            .await
            .unwrap()),
        ["u1"]
    );
    let conflict = store.insert_pending(user("u2", "a@example.com")).await;
    assert!(
        matches!(conflict, Err(Error::Conflict { .. })),
        "{conflict:?}"
    );
}

/// Shared body: once `bump` has recorded schema version 99, `open` refuses the database.
async fn refuses_a_newer_schema<F, Fut, B>(open: F, bump: B)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Arc<dyn Store>, Error>>,
    B: std::future::Future<Output = ()>,
{
    drop(open().await.unwrap());
    bump.await;
    let error = open().await.unwrap_err();
    assert!(
        matches!(error, Error::SchemaTooNew { found: 99, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn file_database_persists_across_reopen() {
    let db = TempDb::new();
    persists_across_reopen(|| async {
        Arc::new(SqliteStore::open(&db.0).unwrap()) as Arc<dyn Store>
    })
    .await;

    let conn = rusqlite::Connection::open(&db.0).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let versions: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(versions, migrations::latest());
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let db = TempDb::new();
    let open = || async { SqliteStore::open(&db.0).map(|store| Arc::new(store) as Arc<dyn Store>) };
    let bump = async {
        let conn = rusqlite::Connection::open(&db.0).unwrap();
        conn.execute("INSERT INTO schema_version (version) VALUES (99)", [])
            .unwrap();
    };
    refuses_a_newer_schema(open, bump).await;
}

#[test]
fn an_unopenable_path_is_an_open_error() {
    // A folder that cannot be made (its parent is a file); a missing folder is created (0700).
    let file = std::env::temp_dir().join(format!("scimgate-file-{}", uuid::Uuid::new_v4()));
    std::fs::write(&file, b"not a folder").unwrap();
    let error = SqliteStore::open(&file.join("x.db")).unwrap_err();
    assert!(matches!(error, Error::Open { .. }), "{error:?}");
    let _ = std::fs::remove_file(&file);
}

/// Issue 15: the store's folder is created 0700, its file and WAL/SHM files 0600.
#[cfg(unix)]
#[tokio::test]
async fn issue_15_store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("scimgate-private-{}", uuid::Uuid::new_v4()));
    let path = dir.join("nested").join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .insert_pending(user("u1", "a@example.com"))
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("nested")), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_persists_across_reopen_and_records_the_schema_version() {
    let Some(db) = pg::TestDb::create().await else {
        return;
    };
    persists_across_reopen(|| db.open()).await;
    let versions = db.query_i64("SELECT COUNT(*) FROM schema_version").await;
    assert_eq!(versions, migrations::latest());
    assert_eq!(pg_migrations::latest(), migrations::latest());
    assert_eq!(
        PostgresStore::probe(&db.url).await.unwrap(),
        migrations::latest()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_starting_together_migrate_once() {
    let Some(db) = pg::TestDb::create().await else {
        return;
    };
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { PostgresStore::open(&url, 2).await })
        })
        .collect();
    for open in opens {
        open.await.unwrap().unwrap();
    }
    let versions = db.query_i64("SELECT COUNT(*) FROM schema_version").await;
    assert_eq!(versions, migrations::latest());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_a_newer_schema() {
    let Some(db) = pg::TestDb::create().await else {
        return;
    };
    let open = || async {
        PostgresStore::open(&db.url, 1)
            .await
            .map(|store| Arc::new(store) as Arc<dyn Store>)
    };
    let bump = async {
        db.query_i64("INSERT INTO schema_version (version) VALUES (99) RETURNING version")
            .await;
    };
    refuses_a_newer_schema(open, bump).await;
    let error = PostgresStore::probe(&db.url).await.unwrap_err();
    assert!(
        matches!(error, Error::SchemaTooNew { found: 99, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn postgres_errors_never_show_the_password() {
    // Nothing listens on port 1; a wrong password against the real server, when there is one.
    let unreachable = "postgres://gate:Pa55-word@127.0.0.1:1/scim";
    let error = PostgresStore::open(unreachable, 1).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Open { .. }), "{error:?}");
    assert!(!text.contains("Pa55-word"), "{text}");
    assert!(text.contains("postgres://gate@127.0.0.1:1/scim"), "{text}");
    let garbage = PostgresStore::open("postgres://gate:Pa55-word@[::1/x", 1)
        .await
        .unwrap_err();
    assert!(matches!(garbage, Error::Open { .. }), "{garbage:?}");
    assert!(!garbage.to_string().contains("Pa55-word"), "{garbage}");
    assert!(!format!("{garbage:?}").contains("Pa55-word"), "{garbage:?}");

    if let Some(url) = pg::base_url() {
        let mut wrong = url::Url::parse(&url).unwrap();
        wrong.set_password(Some("Wr0ng-Pa55")).unwrap();
        let error = PostgresStore::open(wrong.as_str(), 1).await.unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, Error::Open { .. }), "{error:?}");
        assert!(!text.contains("Wr0ng-Pa55"), "{text}");
        assert!(text.contains("password authentication failed"), "{text}");
        let store = PostgresStore::open(&url, 1);
        let debug = format!("{:?}", store.await.unwrap());
        let password = url::Url::parse(&url)
            .unwrap()
            .password()
            .unwrap()
            .to_owned();
        assert!(!debug.contains(&password), "{debug}");
    }
}

#[tokio::test]
async fn file_store_reads_see_every_committed_write_of_any_connection() {
    // Point reads of a file store run on a second (read-only) connection: they must see the
    // writes of this store's own connection and of another store on the same file at once.
    let db = TempDb::new();
    let a: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    assert!(a.get("t1", "User", "u1").await.unwrap().is_none());
    a.insert_pending(user("u1", "a@example.com")).await.unwrap();
    a.activate(
        "t1",
        "User",
        "u1",
        "b1",
        shadow(json!({"externalId": "E1"})),
    )
    .await
    .unwrap();
    let mut record = a
        .get_by_backend_id("t1", "User", "b1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, RecordState::Active);
    record.shadow = shadow(json!({"externalId": "E2"}));
    b.update(record).await.unwrap();
    let seen = a.get("t1", "User", "u1").await.unwrap().unwrap();
    assert_eq!(seen.shadow.get("externalId"), Some(&json!("E2")));
    assert!(b.delete("t1", "User", "u1").await.unwrap());
    assert!(
        a.get_by_backend_id("t1", "User", "b1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        a.get_by_unique_key("t1", "User", "a@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

/// A SQLite file is served by one process: every handle in it is the same writer, alive.
#[tokio::test]
async fn file_store_handles_of_one_process_are_one_writer() {
    let db = TempDb::new();
    let a: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    assert_eq!(a.writer(), b.writer());
    assert!(a.writer_alive(b.writer()).await.unwrap());
}

/// A PostgreSQL writer is alive exactly while its store (its lock session) is: another
/// replica sees it go as soon as it is dropped, as when its process is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writer_is_seen_gone_once_its_store_is_dropped() {
    let Some(db) = pg::TestDb::create().await else {
        return;
    };
    let a = db.open().await;
    let b = db.open().await;
    let writer_b = b.writer().to_owned();
    assert_ne!(a.writer(), writer_b);
    assert!(a.writer_alive(&writer_b).await.unwrap());
    assert!(b.writer_alive(a.writer()).await.unwrap());
    drop(b);
    let started = std::time::Instant::now();
    while a.writer_alive(&writer_b).await.unwrap() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "a dropped store's writer still looks alive"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(a.writer_alive(a.writer()).await.unwrap());
}
