//! [`ConnectionStore`] for the SQLite store: the same file (and write lock) as the records, so
//! deleting a connection removes its id map in the same transaction.

use rusqlite::{OptionalExtension as _, Row, params};
use time::OffsetDateTime;

use super::codec::{from_micros, micros};
use super::connections::{
    Activity, Connection, ConnectionPatch, ConnectionStore, Credential, Status, day_ago_bucket,
    hour_bucket, patched, tenant_key, variables_from, variables_json,
};
use super::group_commit::Durability;
use super::sqlite::database;
use super::{Error, SqliteStore, StoreFuture, UniqueColumn};

const CONNECTION_COLUMNS: &str = "id, name, mapping, enabled, variables, created, last_request, \
                                  last_write, last_error, secrets";

/// A connection row without its credentials and 24 h figures (filled in afterwards).
fn read_connection(row: &Row<'_>) -> rusqlite::Result<Result<Connection, Error>> {
    let id: String = row.get(0)?;
    let variables: String = row.get(4)?;
    let created: i64 = row.get(5)?;
    let last_request: Option<i64> = row.get(6)?;
    let last_write: Option<i64> = row.get(7)?;
    let last_error: Option<String> = row.get(8)?;
    let name: String = row.get(1)?;
    let mapping: String = row.get(2)?;
    let enabled: i64 = row.get(3)?;
    let secrets: Option<String> = row.get(9)?;
    Ok((|| {
        let corrupt = |what| Error::Corrupt {
            what,
            scim_id: id.clone(),
        };
        Ok(Connection {
            variables: variables_from(&variables, &id)?,
            created: from_micros(created).ok_or_else(|| corrupt("created"))?,
            status: Status {
                last_request: last_request.and_then(from_micros),
                last_write: last_write.and_then(from_micros),
                last_error: last_error.and_then(|text| serde_json::from_str(&text).ok()),
                ..Status::default()
            },
            credentials: Vec::new(),
            secrets,
            name,
            mapping,
            enabled: enabled != 0,
            id: id.clone(),
        })
    })())
}

/// Reads connections selected by `filter` (a WHERE/ORDER/LIMIT tail), then their credentials
/// and 24 h figures.
fn select(
    conn: &rusqlite::Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Connection>, Error> {
    let db = database("connections");
    let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections {filter}");
    let mut statement = conn.prepare_cached(&sql).map_err(db)?;
    let rows = statement
        .query_map(args, read_connection)
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db)?;
    let mut connections = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    if connections.is_empty() {
        return Ok(connections);
    }
    let index: std::collections::HashMap<String, usize> = connections
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    let mut credentials = conn
        .prepare_cached(
            "SELECT connection_id, id, kind, hash, created, expires_at \
             FROM connection_credentials ORDER BY created, id",
        )
        .map_err(db)?;
    let found = credentials
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, Option<i64>>(5)?,
            ))
        })
        .map_err(db)?;
    for row in found {
        let (connection, id, kind, hash, created, expires_at) = row.map_err(db)?;
        if let Some(&i) = index.get(&connection) {
            connections[i].credentials.push(Credential {
                id,
                kind,
                hash,
                created: from_micros(created).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                expires_at: expires_at.and_then(from_micros),
            });
        }
    }
    let mut activity = conn
        .prepare_cached(
            "SELECT connection_id, SUM(writes), SUM(errors) FROM connection_activity \
             WHERE hour >= ?1 GROUP BY connection_id",
        )
        .map_err(db)?;
    let sums = activity
        .query_map([day_ago_bucket(OffsetDateTime::now_utc())], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })
        .map_err(db)?;
    for row in sums {
        let (connection, writes, errors) = row.map_err(db)?;
        if let Some(&i) = index.get(&connection) {
            connections[i].status.writes_24h = u64::try_from(writes).unwrap_or(0);
            connections[i].status.errors_24h = u64::try_from(errors).unwrap_or(0);
        }
    }
    Ok(connections)
}

fn bump(tx: &rusqlite::Connection) -> Result<(), Error> {
    tx.execute(
        "UPDATE connections_version SET version = version + 1 WHERE id = 1",
        [],
    )
    .map_err(database("connections_version"))?;
    Ok(())
}

fn exists(tx: &rusqlite::Connection, id: &str) -> Result<bool, Error> {
    tx.query_row("SELECT 1 FROM connections WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
        .map_err(database("connections"))
}

fn insert_credential(
    tx: &rusqlite::Connection,
    id: &str,
    credential: &Credential,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO connection_credentials (id, connection_id, kind, hash, created, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            credential.id,
            id,
            credential.kind,
            credential.hash,
            micros(credential.created),
            credential.expires_at.map(micros)
        ],
    )
    .map_err(|error| match error {
        rusqlite::Error::SqliteFailure(code, _)
            if code.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Error::Conflict {
                what: UniqueColumn::ScimId,
                existing_scim_id: credential.id.clone(),
            }
        }
        other => database("add_credential")(other),
    })?;
    Ok(())
}

impl ConnectionStore for SqliteStore {
    fn connections_version(&self) -> StoreFuture<'_, i64> {
        self.read("connections_version", |conn| {
            conn.query_row(
                "SELECT version FROM connections_version WHERE id = 1",
                [],
                |row| row.get(0),
            )
            .map_err(database("connections_version"))
        })
    }

    fn load_connections(&self) -> StoreFuture<'_, Vec<Connection>> {
        self.run("load_connections", |conn| select(conn, "ORDER BY id", &[]))
    }

    fn list_connections(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Connection>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run("list_connections", move |conn| {
            let after = after.unwrap_or_default();
            select(
                conn,
                "WHERE id > ?1 ORDER BY id LIMIT ?2",
                &[&after, &limit],
            )
        })
    }

    fn get_connection(&self, id: &str) -> StoreFuture<'_, Option<Connection>> {
        let id = id.to_owned();
        self.run("get_connection", move |conn| {
            Ok(select(conn, "WHERE id = ?1", &[&id])?.into_iter().next())
        })
    }

    fn create_connection(&self, connection: Connection) -> StoreFuture<'_, ()> {
        self.write("create_connection", Durability::Synced, move |tx| {
            if exists(tx, &connection.id)? {
                return Err(Error::Conflict {
                    what: UniqueColumn::ScimId,
                    existing_scim_id: connection.id,
                });
            }
            tx.execute(
                "INSERT INTO connections (id, name, mapping, enabled, variables, created, \
                 secrets) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    connection.id,
                    connection.name,
                    connection.mapping,
                    i64::from(connection.enabled),
                    variables_json(&connection.variables),
                    micros(connection.created),
                    connection.secrets
                ],
            )
            .map_err(database("create_connection"))?;
            for credential in &connection.credentials {
                insert_credential(tx, &connection.id, credential)?;
            }
            bump(tx)
        })
    }

    fn update_connection(&self, id: &str, patch: ConnectionPatch) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        self.write("update_connection", Durability::Synced, move |tx| {
            let db = database("update_connection");
            let current: Option<String> = tx
                .query_row(
                    "SELECT variables FROM connections WHERE id = ?1",
                    [&id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            let Some(current) = current else {
                return Ok(false);
            };
            if let Some(name) = &patch.name {
                tx.execute(
                    "UPDATE connections SET name = ?2 WHERE id = ?1",
                    params![id, name],
                )
                .map_err(db)?;
            }
            if let Some(enabled) = patch.enabled {
                tx.execute(
                    "UPDATE connections SET enabled = ?2 WHERE id = ?1",
                    params![id, i64::from(enabled)],
                )
                .map_err(db)?;
            }
            if let Some(changes) = &patch.variables {
                let variables = patched(variables_from(&current, &id)?, changes);
                tx.execute(
                    "UPDATE connections SET variables = ?2 WHERE id = ?1",
                    params![id, variables_json(&variables)],
                )
                .map_err(db)?;
            }
            if let Some(secrets) = &patch.secrets {
                tx.execute(
                    "UPDATE connections SET secrets = ?2 WHERE id = ?1",
                    params![id, secrets],
                )
                .map_err(db)?;
            }
            bump(tx)?;
            Ok(true)
        })
    }

    fn add_credential(&self, id: &str, credential: Credential) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        self.write("add_credential", Durability::Synced, move |tx| {
            if !exists(tx, &id)? {
                return Ok(false);
            }
            insert_credential(tx, &id, &credential)?;
            bump(tx)?;
            Ok(true)
        })
    }

    fn delete_credential(&self, id: &str, credential: &str) -> StoreFuture<'_, bool> {
        let (id, credential) = (id.to_owned(), credential.to_owned());
        self.write("delete_credential", Durability::Synced, move |tx| {
            let deleted = tx
                .execute(
                    "DELETE FROM connection_credentials WHERE connection_id = ?1 AND id = ?2",
                    params![id, credential],
                )
                .map_err(database("delete_credential"))?;
            if deleted > 0 {
                bump(tx)?;
            }
            Ok(deleted > 0)
        })
    }

    fn delete_connection(&self, id: &str) -> StoreFuture<'_, bool> {
        let id = id.to_owned();
        self.write("delete_connection", Durability::Synced, move |tx| {
            let db = database("delete_connection");
            let deleted = tx
                .execute("DELETE FROM connections WHERE id = ?1", [&id])
                .map_err(db)?;
            let tenant = tenant_key(&id);
            tx.execute("DELETE FROM shadow_index WHERE tenant = ?1", [&tenant])
                .map_err(db)?;
            tx.execute("DELETE FROM records WHERE tenant = ?1", [&tenant])
                .map_err(db)?;
            if deleted > 0 {
                bump(tx)?;
            }
            Ok(deleted > 0)
        })
    }

    fn record_activity(&self, activity: Vec<Activity>) -> StoreFuture<'_, ()> {
        self.write("record_activity", Durability::Synced, move |tx| {
            let db = database("record_activity");
            for entry in activity {
                if let Some(at) = entry.last_request {
                    tx.execute(
                        "UPDATE connections SET last_request = MAX(COALESCE(last_request, 0), ?2) \
                         WHERE id = ?1",
                        params![entry.connection, micros(at)],
                    )
                    .map_err(db)?;
                }
                if let Some(at) = entry.last_write {
                    tx.execute(
                        "UPDATE connections SET last_write = MAX(COALESCE(last_write, 0), ?2) \
                         WHERE id = ?1",
                        params![entry.connection, micros(at)],
                    )
                    .map_err(db)?;
                }
                if let Some(error) = &entry.last_error {
                    tx.execute(
                        "UPDATE connections SET last_error = ?2 WHERE id = ?1",
                        params![entry.connection, error.to_string()],
                    )
                    .map_err(db)?;
                }
                if entry.writes > 0 || entry.errors > 0 {
                    let hour = hour_bucket(entry.last_request.unwrap_or_else(OffsetDateTime::now_utc));
                    // Only for a connection that still exists (the foreign key would refuse).
                    tx.execute(
                        "INSERT INTO connection_activity (connection_id, hour, writes, errors) \
                         SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM connections WHERE id = ?1) \
                         ON CONFLICT (connection_id, hour) DO UPDATE SET \
                         writes = writes + excluded.writes, errors = errors + excluded.errors",
                        params![
                            entry.connection,
                            hour,
                            i64::try_from(entry.writes).unwrap_or(i64::MAX),
                            i64::try_from(entry.errors).unwrap_or(i64::MAX)
                        ],
                    )
                    .map_err(db)?;
                }
            }
            tx.execute(
                "DELETE FROM connection_activity WHERE hour < ?1",
                [day_ago_bucket(OffsetDateTime::now_utc())],
            )
            .map_err(db)?;
            Ok(())
        })
    }
}
