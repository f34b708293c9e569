//! Connections in the store (issue 14), against SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use time::OffsetDateTime;

use super::{memory, pg};
use crate::store::connections::{
    Activity, Connection, ConnectionPatch, Credential, Status, tenant_key,
};
use crate::store::{Error, Record, Store};

fn connection(id: &str, hash: &str) -> Connection {
    Connection {
        id: id.to_owned(),
        name: format!("Workspace {id}"),
        mapping: "workspaces".to_owned(),
        enabled: true,
        variables: BTreeMap::from([("workspace_id".to_owned(), "42".to_owned())]),
        secrets: Some("sealed".to_owned()),
        created: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        credentials: vec![Credential {
            id: format!("tok_{id}"),
            kind: "bearer".to_owned(),
            hash: hash.to_owned(),
            created: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            expires_at: None,
        }],
        status: Status::default(),
    }
}

async fn connections_round_trip_bump_the_version_and_delete_their_records(store: Arc<dyn Store>) {
    let conns = store
        .connection_store()
        .expect("the store keeps connections");
    let v0 = conns.connections_version().await.unwrap();
    conns
        .create_connection(connection("a", &"a".repeat(64)))
        .await
        .unwrap();
    conns
        .create_connection(connection("b", &"b".repeat(64)))
        .await
        .unwrap();
    let taken = conns
        .create_connection(connection("a", &"c".repeat(64)))
        .await;
    assert!(matches!(taken, Err(Error::Conflict { .. })), "{taken:?}");
    let same_hash = conns
        .create_connection(connection("c", &"a".repeat(64)))
        .await;
    assert!(
        matches!(same_hash, Err(Error::Conflict { .. })),
        "{same_hash:?}"
    );
    let v1 = conns.connections_version().await.unwrap();
    assert_eq!(v1, v0 + 2, "each write bumps the version once");

    let all = conns.load_connections().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], connection("a", &"a".repeat(64)));
    let page = conns.list_connections(Some("a".into()), 10).await.unwrap();
    assert_eq!(
        page.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["b"]
    );

    let patch = ConnectionPatch {
        name: Some("Renamed".into()),
        enabled: Some(false),
        variables: Some(BTreeMap::from([
            ("idp".to_owned(), Some("entra".to_owned())),
            ("workspace_id".to_owned(), None),
        ])),
        secrets: Some("resealed".to_owned()),
    };
    assert!(conns.update_connection("a", patch.clone()).await.unwrap());
    assert!(!conns.update_connection("zz", patch).await.unwrap());
    let a = conns.get_connection("a").await.unwrap().unwrap();
    assert_eq!((a.name.as_str(), a.enabled), ("Renamed", false));
    assert_eq!(
        a.variables,
        BTreeMap::from([("idp".to_owned(), "entra".to_owned())])
    );

    assert_eq!(a.secrets.as_deref(), Some("resealed"));
    let second = Credential {
        id: "tok_a2".into(),
        kind: "bearer".into(),
        hash: "d".repeat(64),
        created: OffsetDateTime::from_unix_timestamp(1_800_000_100).unwrap(),
        expires_at: Some(OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap()),
    };
    assert!(conns.add_credential("a", second.clone()).await.unwrap());
    assert!(!conns.add_credential("zz", second.clone()).await.unwrap());
    let a = conns.get_connection("a").await.unwrap().unwrap();
    assert_eq!(a.credentials.len(), 2);
    assert_eq!(a.credentials[1], second);
    assert!(conns.delete_credential("a", "tok_a").await.unwrap());
    assert!(!conns.delete_credential("b", "tok_a2").await.unwrap());

    let now = OffsetDateTime::now_utc();
    conns
        .record_activity(vec![Activity {
            connection: "a".into(),
            last_request: Some(now),
            last_write: Some(now),
            writes: 3,
            errors: 1,
            last_error: Some(json!({"status": 409, "detail": "taken"})),
        }])
        .await
        .unwrap();
    conns
        .record_activity(vec![Activity {
            connection: "a".into(),
            last_request: Some(now),
            writes: 1,
            ..Activity::default()
        }])
        .await
        .unwrap();
    let a = conns.get_connection("a").await.unwrap().unwrap();
    assert_eq!((a.status.writes_24h, a.status.errors_24h), (4, 1));
    assert_eq!(
        a.status.last_error,
        Some(json!({"status": 409, "detail": "taken"}))
    );
    assert!(a.status.last_write.is_some() && a.status.last_request.is_some());

    let mut record = Record::pending(tenant_key("a"), "User", "u1", Some("x".into()));
    record.shadow.insert("externalId".into(), json!("E1"));
    store.insert(record.clone()).await.unwrap();
    let mut other = Record::pending(tenant_key("b"), "User", "u1", Some("x".into()));
    other.shadow.insert("externalId".into(), json!("E1"));
    store.insert(other).await.unwrap();
    assert!(conns.delete_connection("a").await.unwrap());
    assert!(!conns.delete_connection("a").await.unwrap());
    assert_eq!(
        store.get(&tenant_key("a"), "User", "u1").await.unwrap(),
        None
    );
    assert!(
        store
            .get(&tenant_key("b"), "User", "u1")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(conns.load_connections().await.unwrap().len(), 1);
}

store_tests!(connections_round_trip_bump_the_version_and_delete_their_records);
