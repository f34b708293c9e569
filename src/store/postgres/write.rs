//! One PostgreSQL write transaction: [`write_tx!`] runs a body in a transaction, retries
//! serialisation failures and deadlocks, and turns a unique violation into
//! [`Error::Conflict`] naming the committed holder; [`check_unique`] names a holder before
//! writing. Used by `records`, `audit` and the connections store; issues no other SQL.

use std::time::Duration;

use tokio_postgres::GenericClient;
use tokio_postgres::error::SqlState;

use crate::store::{Error, Record, UniqueColumn};

/// How often a write that lost to a serialisation failure or deadlock is tried again.
pub(super) const MAX_ATTEMPTS: u32 = 5;

/// The backoff before attempt `attempt + 1` of a write.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(5 * u64::from(attempt))
}

/// Why one attempt at a write failed.
pub(super) enum Failure {
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
pub(super) struct HolderQuery {
    pub(super) column: UniqueColumn,
    pub(super) tenant: String,
    pub(super) kind: String,
    pub(super) value: String,
    pub(super) except: Option<String>,
}

/// Maps an error of a statement writing `record`: a unique violation becomes
/// [`Failure::Unique`] for the column its index names.
pub(super) fn on_write(
    record: &Record,
    except: Option<&str>,
) -> impl Fn(tokio_postgres::Error) -> Failure {
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

/// True for the errors a new attempt may not hit (`40001`, `40P01`).
pub(super) fn retryable(error: &tokio_postgres::Error) -> bool {
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
pub(super) fn deferred(operation: &str) -> bool {
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
        let store: &$crate::store::PostgresStore = $store;
        let operation: &'static str = $operation;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = store.client(operation).await?;
            let outcome: Result<_, $crate::store::postgres::write::Failure> = async {
                let $tx = client.transaction().await?;
                if $crate::store::postgres::write::deferred(operation) {
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
                Err($crate::store::postgres::write::Failure::Store(error)) => break Err(error),
                Err($crate::store::postgres::write::Failure::Pg(error))
                    if $crate::store::postgres::write::retryable(&error)
                        && attempt < $crate::store::postgres::write::MAX_ATTEMPTS =>
                {
                    tracing::debug!(operation, attempt, "Store write retried after a conflict.");
                    tokio::time::sleep($crate::store::postgres::write::backoff(attempt)).await;
                }
                Err($crate::store::postgres::write::Failure::Pg(error)) => {
                    break Err($crate::store::postgres::database(operation)(error));
                }
                Err($crate::store::postgres::write::Failure::Unique(query)) => {
                    match $crate::store::postgres::write::holder(&**client, &query)
                        .await
                        .map_err($crate::store::postgres::database(operation))?
                    {
                        Some(existing_scim_id) => {
                            break Err($crate::store::Error::Conflict {
                                what: query.column,
                                existing_scim_id,
                            });
                        }
                        // The holder went away meanwhile: try again.
                        None if attempt < $crate::store::postgres::write::MAX_ATTEMPTS => {}
                        None => {
                            break Err($crate::store::Error::Database {
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

/// The SCIM id of the record holding `query.value` in `query.column`, other than
/// `query.except`.
pub(super) async fn holder(
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
pub(super) async fn check_unique(
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
