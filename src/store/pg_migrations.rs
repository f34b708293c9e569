//! The PostgreSQL store's schema: the same numbered migrations as `migrations.rs` (1 =
//! records + shadow_index, 2 = audit), in PostgreSQL's dialect (JSONB, identity columns).
//!
//! Each migration runs in its own transaction together with its `schema_version` row, after
//! taking `pg_advisory_xact_lock`, so two replicas starting at once apply each migration once
//! and neither sees a half-made schema. Append-only, like `migrations.rs`: add the same number
//! to both files.

use tokio_postgres::GenericClient;

use super::Error;

/// The advisory lock key all scimgate processes take while migrating ("scimgate" in ASCII).
const LOCK_KEY: i64 = 0x7363_696d_6761_7465;

/// `(version, SQL)`, in order; numbers match `migrations.rs`.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE records (
        tenant        TEXT   NOT NULL,
        kind          TEXT   NOT NULL,
        scim_id       TEXT   NOT NULL,
        backend_id    TEXT,
        unique_key    TEXT,
        shadow        JSONB  NOT NULL DEFAULT '{}',
        snapshot      JSONB,
        created       BIGINT NOT NULL,
        last_modified BIGINT NOT NULL,
        state         TEXT   NOT NULL CHECK (state IN ('pending', 'active')),
        CONSTRAINT records_pkey PRIMARY KEY (tenant, kind, scim_id)
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
        "CREATE TABLE audit (
        seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at          BIGINT  NOT NULL,
        tenant      TEXT    NOT NULL,
        credential  TEXT    NOT NULL,
        request_id  TEXT    NOT NULL,
        operation   TEXT    NOT NULL,
        kind        TEXT    NOT NULL,
        scim_id     TEXT,
        attributes  JSONB   NOT NULL DEFAULT '[]',
        status      INTEGER NOT NULL,
        outcome     TEXT    NOT NULL
    );
    CREATE INDEX audit_at ON audit (at);
    CREATE INDEX audit_scim_id ON audit (tenant, scim_id, at);",
    ),
    (
        3,
        // Connections: as in `migrations.rs`, `last_error` as JSONB.
        "CREATE TABLE connections (
        id           TEXT   PRIMARY KEY,
        name         TEXT   NOT NULL,
        mapping      TEXT   NOT NULL,
        enabled      BIGINT NOT NULL,
        variables    JSONB  NOT NULL DEFAULT '{}',
        created      BIGINT NOT NULL,
        last_request BIGINT,
        last_write   BIGINT,
        last_error   JSONB
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

/// The newest schema version this build knows (the same as SQLite's).
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

fn db() -> impl Fn(tokio_postgres::Error) -> Error + Copy {
    super::postgres::database("migrate")
}

/// Brings the database to the latest version; refuses a database from a newer build.
pub(crate) async fn migrate(client: &mut deadpool_postgres::Object) -> Result<i64, Error> {
    loop {
        let tx = client.transaction().await.map_err(db())?;
        tx.query_one("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .await
            .map_err(db())?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await
            .map_err(db())?;
        let current = version(&*tx).await?;
        if current > latest() {
            return Err(Error::SchemaTooNew {
                found: current,
                supported: latest(),
            });
        }
        let Some((number, sql)) = MIGRATIONS.iter().find(|(v, _)| *v > current) else {
            tx.commit().await.map_err(db())?;
            return Ok(latest());
        };
        tx.batch_execute(sql).await.map_err(db())?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[number],
        )
        .await
        .map_err(db())?;
        tx.commit().await.map_err(db())?;
        tracing::info!(version = number, "Store schema migrated (PostgreSQL).");
    }
}

/// The recorded schema version (0 for a new database or one without `schema_version`).
pub(crate) async fn version(client: &(impl GenericClient + Sync)) -> Result<i64, Error> {
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_version",
            &[],
        )
        .await;
    // Outside a transaction only: a missing table aborts a transaction.
    match row {
        Ok(row) => row.try_get(0).map_err(db()),
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
            Ok(0)
        }
        Err(error) => Err(db()(error)),
    }
}
