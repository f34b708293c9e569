//! Two gateways sharing one PostgreSQL (each with its own pool, registry and poller): a
//! connection created on replica 1 serves on replica 2 within 1 s; disabled on 2, it gets 403
//! on 1 within 1 s. Needs `SCIMGATE_TEST_POSTGRES_URL` (skipped without it, except in CI).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use scimgate::store::{PostgresStore, Store};

use super::start;

const URL_VAR: &str = "SCIMGATE_TEST_POSTGRES_URL";

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("postgres");
    tokio::spawn(connection);
    client
}

/// Polls `probe` until it answers `status`; returns how long it took.
async fn until_status(status: u16, probe: impl AsyncFn() -> u16) -> Duration {
    let started = Instant::now();
    loop {
        let got = probe().await;
        if got == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still {got} after 5 s (want {status})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_replica_is_live_on_the_other_within_a_second() {
    let base = match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{URL_VAR} must be set in CI"
            );
            eprintln!("{URL_VAR} not set: replica test skipped");
            return;
        }
    };
    let schema = format!("scimgate_conn_{}", uuid::Uuid::new_v4().simple());
    connect(&base)
        .await
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let store = |url: String| async move {
        Arc::new(PostgresStore::open(&url, 4).await.expect("store")) as Arc<dyn Store>
    };
    let one = start(Some(store(url.clone()).await))
        .await
        .expect("replica 1");
    let two = start(Some(store(url.clone()).await))
        .await
        .expect("replica 2");

    let (_, token) = one
        .create(
            "acme",
            "workspaces",
            json!({"workspace_id": "9", "idp": "entra"}),
        )
        .await;
    let on_two = format!("{}/Users?count=1", two.scim("acme"));
    let took = until_status(200, async || {
        two.scim_call("GET", &on_two, &token, None).await.status
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "created on 1, served on 2 after {took:?}"
    );

    two.admin(
        "PATCH",
        "/admin/v1/connections/acme",
        Some(&json!({"enabled": false})),
    )
    .await
    .expect(200);
    let on_one = format!("{}/Users?count=1", one.scim("acme"));
    let took = until_status(403, async || {
        one.scim_call("GET", &on_one, &token, None).await.status
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "disabled on 2, 403 on 1 after {took:?}"
    );

    two.admin("DELETE", "/admin/v1/connections/acme", None)
        .await
        .expect(204);
    let took = until_status(401, async || {
        one.scim_call("GET", &on_one, &token, None).await.status
    })
    .await;
    assert!(
        took < Duration::from_secs(1),
        "deleted on 2, 401 on 1 after {took:?}"
    );
    assert_eq!(one.registry.len(), 0);

    drop((one, two));
    connect(&base)
        .await
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop schema");
}
