//! The id map in PostgreSQL: the `records` and `shadow_index` statements and the [`Store`]
//! impl of [`PostgresStore`] (the audit methods delegate to `audit`). Every write runs in one
//! [`write_tx!`] transaction; rows decode through the shared [`RecordRow`] codec.

use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio_postgres::{GenericClient, Row};

use super::write::{Failure, check_unique, on_write};
use super::{PostgresStore, WRITER_LOCK_CLASS, database, writer_key};
use crate::store::codec::{RecordRow, json_text, micros};
use crate::store::{
    AuditEntry, AuditQuery, Error, Record, RecordState, Store, StoreFuture, UniqueColumn,
};

/// Columns of `records`, in the order [`read_record`] expects (JSON read back as text).
const COLUMNS: &str = "tenant, kind, scim_id, backend_id, unique_key, shadow::text, \
                       snapshot::text, created, last_modified, state";

/// The same columns qualified with `r.` (for joins).
const R_COLUMNS: &str = "r.tenant, r.kind, r.scim_id, r.backend_id, r.unique_key, \
                         r.shadow::text, r.snapshot::text, r.created, r.last_modified, r.state";

/// Reads one row (selected with [`COLUMNS`]); a bad stored value is `Corrupt`.
fn read_record(row: &Row) -> Result<Record, Error> {
    let read = database("read");
    RecordRow {
        tenant: row.try_get(0).map_err(read)?,
        kind: row.try_get(1).map_err(read)?,
        scim_id: row.try_get(2).map_err(read)?,
        backend_id: row.try_get(3).map_err(read)?,
        unique_key: row.try_get(4).map_err(read)?,
        shadow: row.try_get(5).map_err(read)?,
        snapshot: row.try_get(6).map_err(read)?,
        created: row.try_get(7).map_err(read)?,
        last_modified: row.try_get(8).map_err(read)?,
        state: row.try_get(9).map_err(read)?,
    }
    .decode()
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
            record.last_modified = crate::store::now().max(record.created);
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
    fn connection_store(&self) -> Option<Arc<dyn crate::store::ConnectionStore>> {
        Some(Arc::new(self.clone()))
    }

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
        Box::pin(self.append_audit_entry(entry))
    }

    fn audit(&self, query: AuditQuery) -> StoreFuture<'_, Vec<AuditEntry>> {
        Box::pin(self.audit_entries(query))
    }

    fn prune_audit(&self, older_than: OffsetDateTime) -> StoreFuture<'_, u64> {
        Box::pin(self.prune_audit_entries(older_than))
    }
}
