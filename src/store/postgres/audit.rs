//! The audit trail in PostgreSQL: append, query and prune the `audit` table. Appends and
//! prunes commit without waiting for the WAL flush (see `write::deferred`); rows decode
//! through the shared [`AuditRow`] codec.

use time::OffsetDateTime;
use tokio_postgres::Row;

use super::write::Failure;
use super::{PostgresStore, database};
use crate::store::codec::{AuditRow, json_text, micros};
use crate::store::{AuditEntry, AuditQuery, Error};

impl PostgresStore {
    /// [`crate::store::Store::append_audit`].
    pub(super) async fn append_audit_entry(&self, entry: AuditEntry) -> Result<i64, Error> {
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
    }

    /// [`crate::store::Store::audit`].
    pub(super) async fn audit_entries(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, Error> {
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
    }

    /// [`crate::store::Store::prune_audit`].
    pub(super) async fn prune_audit_entries(
        &self,
        older_than: OffsetDateTime,
    ) -> Result<u64, Error> {
        write_tx!(self, "prune_audit", |tx| async {
            Ok::<u64, Failure>(
                tx.execute("DELETE FROM audit WHERE at < $1", &[&micros(older_than)])
                    .await?,
            )
        }
        .await)
    }
}

/// Reads one audit row; a bad stored value is `Corrupt`.
fn read_audit(row: &Row) -> Result<AuditEntry, Error> {
    let read = database("audit");
    let status: i32 = row.try_get(9).map_err(read)?;
    AuditRow {
        seq: row.try_get(0).map_err(read)?,
        at: row.try_get(1).map_err(read)?,
        tenant: row.try_get(2).map_err(read)?,
        credential: row.try_get(3).map_err(read)?,
        request_id: row.try_get(4).map_err(read)?,
        operation: row.try_get(5).map_err(read)?,
        kind: row.try_get(6).map_err(read)?,
        scim_id: row.try_get(7).map_err(read)?,
        attributes: row.try_get(8).map_err(read)?,
        status: i64::from(status),
        outcome: row.try_get(10).map_err(read)?,
    }
    .decode()
}
