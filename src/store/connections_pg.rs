//! [`ConnectionStore`] for the PostgreSQL store, shared by every replica: each write bumps
//! `connections_version` in its own transaction, which the replicas poll.

use time::OffsetDateTime;
use tokio_postgres::{GenericClient, Row};

use super::codec::{from_micros, micros};
use super::connections::{
    Activity, Connection, ConnectionPatch, ConnectionStore, Credential, Status, day_ago_bucket,
    hour_bucket, patched, tenant_key, variables_from, variables_json,
};
use super::postgres::database;
use super::{Error, PostgresStore, StoreFuture, UniqueColumn};

const CONNECTION_COLUMNS: &str = "id, name, mapping, enabled, variables::text, created, \
                                  last_request, last_write, last_error::text, secrets";

fn read_connection(row: &Row) -> Result<Connection, Error> {
    let db = database("connections");
    let id: String = row.try_get(0).map_err(db)?;
    let variables: String = row.try_get(4).map_err(db)?;
    let created: i64 = row.try_get(5).map_err(db)?;
    let last_request: Option<i64> = row.try_get(6).map_err(db)?;
    let last_write: Option<i64> = row.try_get(7).map_err(db)?;
    let last_error: Option<String> = row.try_get(8).map_err(db)?;
    let enabled: i64 = row.try_get(3).map_err(db)?;
    let secrets: Option<String> = row.try_get(9).map_err(db)?;
    Ok(Connection {
        secrets,
        variables: variables_from(&variables, &id)?,
        created: from_micros(created).ok_or_else(|| Error::Corrupt {
            what: "created",
            scim_id: id.clone(),
        })?,
        status: Status {
            last_request: last_request.and_then(from_micros),
            last_write: last_write.and_then(from_micros),
            last_error: last_error.and_then(|text| serde_json::from_str(&text).ok()),
            ..Status::default()
        },
        credentials: Vec::new(),
        name: row.try_get(1).map_err(db)?,
        mapping: row.try_get(2).map_err(db)?,
        enabled: enabled != 0,
        id,
    })
}

async fn select(
    client: &(impl GenericClient + Sync),
    filter: &str,
    args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Connection>, Error> {
    let db = database("connections");
    let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections {filter}");
    let rows = client.query(&sql, args).await.map_err(db)?;
    let mut connections = rows
        .iter()
        .map(read_connection)
        .collect::<Result<Vec<_>, _>>()?;
    if connections.is_empty() {
        return Ok(connections);
    }
    let index: std::collections::HashMap<String, usize> = connections
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    let ids: Vec<String> = connections.iter().map(|c| c.id.clone()).collect();
    let rows = client
        .query(
            "SELECT connection_id, id, kind, hash, created, expires_at \
             FROM connection_credentials WHERE connection_id = ANY($1) ORDER BY created, id",
            &[&ids],
        )
        .await
        .map_err(db)?;
    for row in rows {
        let connection: String = row.try_get(0).map_err(db)?;
        if let Some(&i) = index.get(&connection) {
            let created: i64 = row.try_get(4).map_err(db)?;
            let expires_at: Option<i64> = row.try_get(5).map_err(db)?;
            connections[i].credentials.push(Credential {
                id: row.try_get(1).map_err(db)?,
                kind: row.try_get(2).map_err(db)?,
                hash: row.try_get(3).map_err(db)?,
                created: from_micros(created).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                expires_at: expires_at.and_then(from_micros),
            });
        }
    }
    let rows = client
        .query(
            "SELECT connection_id, SUM(writes)::BIGINT, SUM(errors)::BIGINT \
             FROM connection_activity WHERE hour >= $1 AND connection_id = ANY($2) \
             GROUP BY connection_id",
            &[&day_ago_bucket(OffsetDateTime::now_utc()), &ids],
        )
        .await
        .map_err(db)?;
    for row in rows {
        let connection: String = row.try_get(0).map_err(db)?;
        if let Some(&i) = index.get(&connection) {
            let writes: i64 = row.try_get(1).map_err(db)?;
            let errors: i64 = row.try_get(2).map_err(db)?;
            connections[i].status.writes_24h = u64::try_from(writes).unwrap_or(0);
            connections[i].status.errors_24h = u64::try_from(errors).unwrap_or(0);
        }
    }
    Ok(connections)
}

async fn bump(client: &(impl GenericClient + Sync)) -> Result<(), Error> {
    client
        .execute(
            "UPDATE connections_version SET version = version + 1 WHERE id = 1",
            &[],
        )
        .await
        .map_err(database("connections_version"))?;
    Ok(())
}

async fn exists(client: &(impl GenericClient + Sync), id: &str) -> Result<bool, Error> {
    client
        .query_opt("SELECT 1 FROM connections WHERE id = $1 FOR UPDATE", &[&id])
        .await
        .map(|row| row.is_some())
        .map_err(database("connections"))
}

async fn insert_credential(
    client: &(impl GenericClient + Sync),
    id: &str,
    credential: &Credential,
) -> Result<(), Error> {
    client
        .execute(
            "INSERT INTO connection_credentials (id, connection_id, kind, hash, created, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &credential.id,
                &id,
                &credential.kind,
                &credential.hash,
                &micros(credential.created),
                &credential.expires_at.map(micros),
            ],
        )
        .await
        .map_err(|error| {
            if error.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                Error::Conflict {
                    what: UniqueColumn::ScimId,
                    existing_scim_id: credential.id.clone(),
                }
            } else {
                database("add_credential")(error)
            }
        })?;
    Ok(())
}

/// Runs `$body` in one transaction `$tx` of a pooled client, committed when it is `Ok`.
macro_rules! in_tx {
    ($store:expr, $operation:expr, |$tx:ident| $body:expr) => {{
        let operation: &'static str = $operation;
        let mut client = $store.client(operation).await?;
        let $tx = client.transaction().await.map_err(database(operation))?;
        let value = $body?;
        $tx.commit().await.map_err(database(operation))?;
        Ok(value)
    }};
}

impl ConnectionStore for PostgresStore {
    fn connections_version(&self) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            let client = self.client("connections_version").await?;
            let row = client
                .query_one("SELECT version FROM connections_version WHERE id = 1", &[])
                .await
                .map_err(database("connections_version"))?;
            row.try_get(0).map_err(database("connections_version"))
        })
    }

    fn load_connections(&self) -> StoreFuture<'_, Vec<Connection>> {
        Box::pin(async move {
            let client = self.client("load_connections").await?;
            select(&**client, "ORDER BY id", &[]).await
        })
    }

    fn list_connections(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Connection>> {
        Box::pin(async move {
            let client = self.client("list_connections").await?;
            let after = after.unwrap_or_default();
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            select(
                &**client,
                "WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )
            .await
        })
    }

    fn get_connection(&self, id: &str) -> StoreFuture<'_, Option<Connection>> {
        let id = id.to_owned();
        Box::pin(async move {
            let client = self.client("get_connection").await?;
            Ok(select(&**client, "WHERE id = $1", &[&id])
                .await?
                .into_iter()
                .next())
        })
    }

    fn create_connection(&self, connection: Connection) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            in_tx!(self, "create_connection", |tx| async {
                let inserted = tx
                    .execute(
                        "INSERT INTO connections (id, name, mapping, enabled, variables, created, \
                         secrets) VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7) \
                         ON CONFLICT (id) DO NOTHING",
                        &[
                            &connection.id,
                            &connection.name,
                            &connection.mapping,
                            &i64::from(connection.enabled),
                            &variables_json(&connection.variables),
                            &micros(connection.created),
                            &connection.secrets,
                        ],
                    )
                    .await
                    .map_err(database("create_connection"))?;
                if inserted == 0 {
                    return Err(Error::Conflict {
                        what: UniqueColumn::ScimId,
                        existing_scim_id: connection.id.clone(),
                    });
                }
                for credential in &connection.credentials {
                    insert_credential(&*tx, &connection.id, credential).await?;
                }
                bump(&*tx).await
            }
            .await)
        })
    }

    fn update_connection(&self, id: &str, patch: ConnectionPatch) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move {
            in_tx!(self, "update_connection", |tx| async {
                let db = database("update_connection");
                let Some(row) = tx
                    .query_opt(
                        "SELECT variables::text FROM connections WHERE id = $1 FOR UPDATE",
                        &[&id],
                    )
                    .await
                    .map_err(db)?
                else {
                    return Ok(false);
                };
                let current: String = row.try_get(0).map_err(db)?;
                if let Some(name) = &patch.name {
                    tx.execute(
                        "UPDATE connections SET name = $2 WHERE id = $1",
                        &[&id, name],
                    )
                    .await
                    .map_err(db)?;
                }
                if let Some(enabled) = patch.enabled {
                    tx.execute(
                        "UPDATE connections SET enabled = $2 WHERE id = $1",
                        &[&id, &i64::from(enabled)],
                    )
                    .await
                    .map_err(db)?;
                }
                if let Some(changes) = &patch.variables {
                    let variables = patched(variables_from(&current, &id)?, changes);
                    tx.execute(
                        "UPDATE connections SET variables = $2::text::jsonb WHERE id = $1",
                        &[&id, &variables_json(&variables)],
                    )
                    .await
                    .map_err(db)?;
                }
                if let Some(secrets) = &patch.secrets {
                    tx.execute(
                        "UPDATE connections SET secrets = $2 WHERE id = $1",
                        &[&id, secrets],
                    )
                    .await
                    .map_err(db)?;
                }
                bump(&*tx).await?;
                Ok(true)
            }
            .await)
        })
    }

    fn add_credential(&self, id: &str, credential: Credential) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move {
            in_tx!(self, "add_credential", |tx| async {
                if !exists(&*tx, &id).await? {
                    return Ok(false);
                }
                insert_credential(&*tx, &id, &credential).await?;
                bump(&*tx).await?;
                Ok(true)
            }
            .await)
        })
    }

    fn delete_credential(&self, id: &str, credential: &str) -> StoreFuture<'_, bool> {
        let (id, credential) = (id.to_owned(), credential.to_owned());
        Box::pin(async move {
            in_tx!(self, "delete_credential", |tx| async {
                let deleted = tx
                    .execute(
                        "DELETE FROM connection_credentials WHERE connection_id = $1 AND id = $2",
                        &[&id, &credential],
                    )
                    .await
                    .map_err(database("delete_credential"))?;
                if deleted > 0 {
                    bump(&*tx).await?;
                }
                Ok(deleted > 0)
            }
            .await)
        })
    }

    fn delete_connection(&self, id: &str) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        Box::pin(async move {
            in_tx!(self, "delete_connection", |tx| async {
                let db = database("delete_connection");
                let deleted = tx
                    .execute("DELETE FROM connections WHERE id = $1", &[&id])
                    .await
                    .map_err(db)?;
                let tenant = tenant_key(&id);
                tx.execute("DELETE FROM shadow_index WHERE tenant = $1", &[&tenant])
                    .await
                    .map_err(db)?;
                tx.execute("DELETE FROM records WHERE tenant = $1", &[&tenant])
                    .await
                    .map_err(db)?;
                if deleted > 0 {
                    bump(&*tx).await?;
                }
                Ok(deleted > 0)
            }
            .await)
        })
    }

    fn record_activity(&self, activity: Vec<Activity>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            in_tx!(self, "record_activity", |tx| async {
                let db = database("record_activity");
                for entry in &activity {
                    let last_request = entry.last_request.map(micros);
                    let last_write = entry.last_write.map(micros);
                    let last_error = entry.last_error.as_ref().map(ToString::to_string);
                    tx.execute(
                        "UPDATE connections SET \
                         last_request = GREATEST(last_request, $2), \
                         last_write = GREATEST(last_write, $3), \
                         last_error = COALESCE($4::text::jsonb, last_error) WHERE id = $1",
                        &[&entry.connection, &last_request, &last_write, &last_error],
                    )
                    .await
                    .map_err(db)?;
                    if entry.writes > 0 || entry.errors > 0 {
                        let hour =
                            hour_bucket(entry.last_request.unwrap_or_else(OffsetDateTime::now_utc));
                        tx.execute(
                            "INSERT INTO connection_activity (connection_id, hour, writes, errors) \
                             SELECT $1, $2, $3, $4 WHERE EXISTS \
                             (SELECT 1 FROM connections WHERE id = $1) \
                             ON CONFLICT (connection_id, hour) DO UPDATE SET \
                             writes = connection_activity.writes + excluded.writes, \
                             errors = connection_activity.errors + excluded.errors",
                            &[
                                &entry.connection,
                                &hour,
                                &i64::try_from(entry.writes).unwrap_or(i64::MAX),
                                &i64::try_from(entry.errors).unwrap_or(i64::MAX),
                            ],
                        )
                        .await
                        .map_err(db)?;
                    }
                }
                tx.execute(
                    "DELETE FROM connection_activity WHERE hour < $1",
                    &[&day_ago_bucket(OffsetDateTime::now_utc())],
                )
                .await
                .map_err(db)?;
                Ok::<_, Error>(())
            }
            .await)
        })
    }
}
