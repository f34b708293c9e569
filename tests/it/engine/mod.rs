//! Engine tests against the demo backend on a loopback port: exact backend-call counts for
//! every operation, Entra's flows (entra-behaviour §1.3–1.9) and backend faults.

mod entra;
mod faults;
mod groups;
mod logs;
mod membership;
mod paged;
mod paging;
mod quirks;
mod reconcile;
mod reuse;
mod rows;
mod users;
mod variants;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use scimgate::demo::{DemoOptions, DemoServer};
use scimgate::engine::{Engine, EngineOptions, backend_config};
use scimgate::scim::query::{ListQuery, QueryLimits};
use scimgate::store::{SqliteStore, Store};
use serde_json::{Value, json};

/// The demo mapping shipped in `mappings/`.
pub(crate) const DEMO_MAPPING: &str = include_str!("../../../mappings/demo.yaml");

/// Where the tests' SCIM root is said to be.
pub(crate) const BASE: &str = "https://scim.example.test/t/acme";

/// A demo backend and an engine in front of it.
pub(crate) struct Fixture {
    pub(crate) demo: DemoServer,
    pub(crate) engine: Engine,
    pub(crate) store: Arc<SqliteStore>,
}

/// A fresh demo backend (no users) and an engine with the default options.
pub(crate) async fn fixture() -> Result<Fixture> {
    fixture_with(0, EngineOptions::default()).await
}

/// A demo backend with `seed` users and an engine with `options` (base URL filled in).
pub(crate) async fn fixture_with(seed: usize, options: EngineOptions) -> Result<Fixture> {
    let addr: SocketAddr = "127.0.0.1:0".parse()?;
    let demo = DemoServer::start(
        addr,
        DemoOptions {
            api_key: "test-key".to_owned(),
            seed_users: seed,
        },
    )
    .await?;
    let url = demo.base_url();
    let store = Arc::new(SqliteStore::open_in_memory()?);
    let engine = engine_for(&url, DEMO_MAPPING, store.clone(), options)?;
    Ok(Fixture {
        demo,
        engine,
        store,
    })
}

/// An engine for the mapping `yaml` with its backend at `url`.
pub(crate) fn engine_for(
    url: &str,
    yaml: &str,
    store: Arc<SqliteStore>,
    options: EngineOptions,
) -> Result<Engine> {
    engine_named("acme", url, yaml, store, options)
}

/// Like [`engine_for`], for a tenant named `tenant` (log lines carry it).
pub(crate) fn engine_named(
    tenant: &str,
    url: &str,
    yaml: &str,
    store: Arc<SqliteStore>,
    mut options: EngineOptions,
) -> Result<Engine> {
    let env = |name: &str| match name {
        "DEMO_BACKEND_URL" => Some(url.to_owned()),
        "DEMO_API_KEY" => Some("test-key".to_owned()),
        _ => None,
    };
    let mapping = scimgate::mapping::load("demo.yaml", yaml, &env)
        .map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let client = scimgate::backend::BackendClient::new(backend_config(mapping.backend())?)?;
    options.base_url = BASE.to_owned();
    let store: Arc<dyn Store> = store;
    Ok(Engine::new(
        tenant,
        Arc::new(mapping),
        Arc::new(client),
        store,
        options,
    ))
}

/// Options with a short deadline, for fault tests.
pub(crate) fn short_deadline(ms: u64) -> EngineOptions {
    EngineOptions {
        deadline: Duration::from_millis(ms),
        ..EngineOptions::default()
    }
}

/// A list query from query-string pairs, as the server would build it.
pub(crate) fn query(engine: &Engine, resource: &str, pairs: &[(&str, &str)]) -> Result<ListQuery> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let limits = QueryLimits {
        default_count: 100,
        max_count: 1000,
    };
    Ok(ListQuery::from_query_pairs(
        &pairs,
        engine.mapping().registry(),
        resource,
        limits,
    )?)
}

/// `GET /Users?filter=…` through the engine.
pub(crate) async fn filter(fx: &Fixture, resource: &str, filter: &str) -> Result<Value> {
    let q = query(&fx.engine, resource, &[("filter", filter)])?;
    Ok(fx.engine.list(resource, &q).await?.to_json())
}

/// A user body as Entra sends it on create (entra-behaviour §1.4), with this userName and
/// externalId.
pub(crate) fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": []
    })
}

/// The SCIM id of a resource.
pub(crate) fn id_of(resource: &Value) -> Result<String> {
    resource["id"]
        .as_str()
        .map(str::to_owned)
        .context("resource has no id")
}

/// The demo's numeric id for a SCIM id (the demo mapping uses `ids: backend`).
pub(crate) fn backend_id(resource: &Value) -> Result<u64> {
    Ok(id_of(resource)?.parse()?)
}

/// The `PatchOp` envelope around `ops`.
pub(crate) fn patch_body(ops: &Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops,
    })
}

/// The active store record of a SCIM user id (demo: backend ids), if any.
pub(crate) async fn stored_record(
    fx: &Fixture,
    kind: &str,
    backend_id: &str,
) -> Result<Option<scimgate::store::Record>> {
    Ok(fx.store.get_by_backend_id("acme", kind, backend_id).await?)
}
