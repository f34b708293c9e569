//! The store's schema, as numbered migrations applied at start.
//!
//! Each migration runs in its own transaction together with the row that records it in
//! `schema_version`, so a crash mid-migration leaves the previous version intact. Migrations
//! are append-only: never edit a released one, add the next number. The same numbering is
//! meant for the PostgreSQL store (issue 8), so the SQL sticks to what both dialects accept:
//! TEXT, BIGINT, partial unique indexes. Timestamps are BIGINT microseconds since the Unix
//! epoch (PostgreSQL's precision); JSON is TEXT here and would be JSONB there.

use rusqlite::{Connection, OptionalExtension as _};

use super::Error;

/// `(version, SQL)`, in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE records (
        tenant        TEXT   NOT NULL,
        kind          TEXT   NOT NULL,
        scim_id       TEXT   NOT NULL,
        backend_id    TEXT,
        unique_key    TEXT,
        shadow        TEXT   NOT NULL DEFAULT '{}',
        snapshot      TEXT,
        created       BIGINT NOT NULL,
        last_modified BIGINT NOT NULL,
        state         TEXT   NOT NULL CHECK (state IN ('pending', 'active')),
        PRIMARY KEY (tenant, kind, scim_id)
    );
    CREATE UNIQUE INDEX records_backend_id ON records (tenant, kind, backend_id)
        WHERE backend_id IS NOT NULL;
    CREATE UNIQUE INDEX records_unique_key ON records (tenant, kind, unique_key)
        WHERE unique_key IS NOT NULL;
    CREATE INDEX records_pending ON records (tenant, kind, state, created);
    CREATE TABLE shadow_index (
        tenant  TEXT NOT NULL,
        kind    TEXT NOT NULL,
        attr    TEXT NOT NULL,
        value   TEXT NOT NULL,
        scim_id TEXT NOT NULL,
        PRIMARY KEY (tenant, kind, attr, value, scim_id),
        FOREIGN KEY (tenant, kind, scim_id) REFERENCES records (tenant, kind, scim_id)
            ON DELETE CASCADE
    );
    CREATE INDEX shadow_index_record ON shadow_index (tenant, kind, scim_id);",
    ),
    (
        2,
        // `seq` is SQLite's rowid alias here; PostgreSQL's version of this migration makes it
        // `BIGINT GENERATED ALWAYS AS IDENTITY`. `attributes` is a JSON array of names.
        "CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY,
        at          BIGINT NOT NULL,
        tenant      TEXT   NOT NULL,
        credential  TEXT   NOT NULL,
        request_id  TEXT   NOT NULL,
        operation   TEXT   NOT NULL,
        kind        TEXT   NOT NULL,
        scim_id     TEXT,
        attributes  TEXT   NOT NULL DEFAULT '[]',
        status      INTEGER NOT NULL,
        outcome     TEXT   NOT NULL
    );
    CREATE INDEX audit_at ON audit (at);
    CREATE INDEX audit_scim_id ON audit (tenant, scim_id, at);",
    ),
    (
        3,
        // Connections (issue 14): one customer workspace's endpoint, its credential hashes
        // (unique: a token finds its connection in one indexed lookup), hourly activity
        // buckets for the 24 h status figures, and the version counter replicas poll.
        "CREATE TABLE connections (
        id           TEXT   PRIMARY KEY,
        name         TEXT   NOT NULL,
        mapping      TEXT   NOT NULL,
        enabled      BIGINT NOT NULL,
        variables    TEXT   NOT NULL DEFAULT '{}',
        created      BIGINT NOT NULL,
        last_request BIGINT,
        last_write   BIGINT,
        last_error   TEXT
    );
    CREATE TABLE connection_credentials (
        id            TEXT   PRIMARY KEY,
        connection_id TEXT   NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
        kind          TEXT   NOT NULL,
        hash          TEXT   NOT NULL,
        created       BIGINT NOT NULL,
        expires_at    BIGINT
    );
    CREATE UNIQUE INDEX connection_credentials_hash ON connection_credentials (hash);
    CREATE INDEX connection_credentials_connection ON connection_credentials (connection_id);
    CREATE TABLE connection_activity (
        connection_id TEXT   NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
        hour          BIGINT NOT NULL,
        writes        BIGINT NOT NULL DEFAULT 0,
        errors        BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (connection_id, hour)
    );
    CREATE TABLE connections_version (
        id      BIGINT PRIMARY KEY CHECK (id = 1),
        version BIGINT NOT NULL
    );
    INSERT INTO connections_version (id, version) VALUES (1, 0);",
    ),
    (
        4,
        // Connection secrets (issue 14): the sealed (ChaCha20-Poly1305) JSON of its secret
        // variables, never in clear.
        "ALTER TABLE connections ADD COLUMN secrets TEXT;",
    ),
];

/// The newest schema version this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// Brings the database to the latest version; refuses a database from a newer build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, Error> {
    let db = |error: rusqlite::Error| Error::Database {
        operation: "migrate",
        reason: error.to_string(),
    };
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .map_err(db)?;
    let current = version(conn).map_err(db)?;
    if current > latest() {
        return Err(Error::SchemaTooNew {
            found: current,
            supported: latest(),
        });
    }
    for (version_number, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        // Read again under the write lock: another process may have migrated meanwhile.
        if version(&tx).map_err(db)? >= *version_number {
            continue;
        }
        tx.execute_batch(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version_number],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        tracing::info!(version = version_number, "Store schema migrated.");
    }
    Ok(latest())
}

/// The recorded schema version (0 for a new database).
fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| {
        row.get::<_, Option<i64>>(0)
    })
    .optional()
    .map(|version| version.flatten().unwrap_or(0))
}
