//! Mapping variants of the demo: gateway-minted ids (`ids: gateway`) and soft delete
//! (`deactivate` used for DELETE).

use std::sync::Arc;

use anyhow::Result;
use scimgate::engine::{Engine, EngineOptions};
use scimgate::scim::{ScimError, ScimType};
use scimgate::store::SqliteStore;
use serde_json::{Value, json};

use super::{DEMO_MAPPING, Fixture, entra_user, fixture_with, id_of, patch_body, query};

async fn variant(seed: usize, yaml: &str) -> Result<(Fixture, Engine)> {
    let fx = fixture_with(seed, EngineOptions::default()).await?;
    let engine = super::engine_for(
        &fx.demo.base_url(),
        yaml,
        Arc::new(SqliteStore::open_in_memory()?),
        EngineOptions::default(),
    )?;
    Ok((fx, engine))
}

async fn find(engine: &Engine, resource: &str, filter: &str) -> Result<Value> {
    let q = query(engine, resource, &[("filter", filter)])?;
    Ok(engine.list(resource, &q).await?.to_json())
}

#[tokio::test]
async fn gateway_ids_are_minted_stable_and_never_reused() -> Result<()> {
    let yaml = DEMO_MAPPING.replacen("ids: backend", "ids: gateway", 1);
    let (fx, engine) = variant(1, &yaml).await?;

    let created = engine
        .create("User", &entra_user("gw@example.com", "ext-gw"))
        .await?;
    let id = id_of(&created)?;
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "minted id {id}");
    let backend = fx
        .demo
        .user_id_by_username("gw@example.com")
        .expect("backend user");
    assert_ne!(id, backend.to_string());

    fx.demo.reset_calls();
    assert_eq!(engine.get("User", &id).await?["userName"], "gw@example.com");
    assert_eq!(fx.demo.calls().total, 1);
    // An unknown minted id is 404 without a backend call.
    fx.demo.reset_calls();
    let missing = engine
        .get("User", &uuid::Uuid::new_v4().to_string())
        .await
        .unwrap_err();
    assert_eq!(ScimError::from(missing).status, 404);
    assert_eq!(fx.demo.calls().total, 0);

    // The email (the backend's search key) changes; the SCIM id does not.
    engine
        .patch(
            "User",
            &id,
            &patch_body(
                &json!([{"op": "Replace", "path": "userName", "value": "gw2@example.com"}]),
            ),
        )
        .await?;
    let found = find(&engine, "User", r#"userName eq "gw2@example.com""#).await?;
    assert_eq!(found["Resources"][0]["id"], id.as_str());

    // A backend user the gateway never created gets one minted id, stable across reads.
    let first = find(&engine, "User", r#"userName eq "user1@example.com""#).await?;
    let adopted = id_of(&first["Resources"][0])?;
    let again = find(&engine, "User", r#"userName eq "user1@example.com""#).await?;
    assert_eq!(again["Resources"][0]["id"], adopted.as_str());
    assert_eq!(
        engine.get("User", &adopted).await?["userName"],
        "user1@example.com"
    );

    // Delete, then the same user again: a new id, the old one stays gone.
    engine.delete("User", &id).await?;
    let error = engine.get("User", &id).await.unwrap_err();
    assert_eq!(ScimError::from(error).status, 404);
    let recreated = engine
        .create("User", &entra_user("gw2@example.com", "ext-gw"))
        .await?;
    assert_ne!(id_of(&recreated)?, id);
    Ok(())
}

#[tokio::test]
async fn gateway_ids_translate_group_members() -> Result<()> {
    let yaml = DEMO_MAPPING.replacen("ids: backend", "ids: gateway", 1);
    let (fx, engine) = variant(0, &yaml).await?;
    let user = engine
        .create("User", &entra_user("member@example.com", "ext-m"))
        .await?;
    let uid = id_of(&user)?;
    let group = engine
        .create("Group", &json!({"displayName": "Team"}))
        .await?;
    let gid = id_of(&group)?;
    engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "Add", "path": "members", "value": [{"value": uid}]}])),
        )
        .await?;
    let backend_user = fx
        .demo
        .user_id_by_username("member@example.com")
        .expect("user");
    let teams = find(&engine, "Group", r#"displayName eq "Team""#).await?;
    assert_eq!(teams["Resources"][0]["id"], gid.as_str());
    let team_backend_id: u64 = fx
        .demo
        .team(1)
        .and_then(|t| t["id"].as_u64())
        .expect("team");
    assert_eq!(
        fx.demo.team_members(team_backend_id),
        Some(vec![backend_user])
    );

    // An id the gateway never minted: refused before any member call.
    fx.demo.reset_calls();
    let unknown = uuid::Uuid::new_v4().to_string();
    let error = engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "Add", "path": "members", "value": [{"value": unknown}]}])),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400);
    assert_eq!(scim.scim_type, Some(ScimType::InvalidValue));
    assert!(scim.detail.contains(&unknown));
    assert_eq!(fx.demo.calls().total, 0);
    Ok(())
}

/// Issue 12 changed this contract: a soft-deleted user stays in the backend (disabled) but
/// SCIM reads it as gone (Entra reads "deleted" as gone; it used to read `active: false`).
#[tokio::test]
async fn soft_delete_keeps_the_backend_user_and_scim_reads_it_gone() -> Result<()> {
    // The demo mapping's own commented-out soft-delete line, switched on.
    let yaml = DEMO_MAPPING.replacen("    # deactivate: {", "    deactivate: {", 1);
    assert_ne!(
        yaml, DEMO_MAPPING,
        "the demo mapping's deactivate comment moved"
    );
    let (fx, engine) = variant(0, &yaml).await?;
    let created = engine
        .create("User", &entra_user("soft@example.com", "ext-soft"))
        .await?;
    let id = id_of(&created)?;
    fx.demo.reset_calls();
    engine.delete("User", &id).await?;
    assert_eq!(fx.demo.calls().total, 1);
    assert_eq!(fx.demo.calls().route("PATCH /api/v1/users/{id}"), 1);
    let backend = fx
        .demo
        .user(id.parse()?)
        .expect("the backend keeps the user");
    assert_eq!(backend["status"], "disabled");
    let error = engine.get("User", &id).await.unwrap_err();
    assert_eq!(ScimError::from(error).status, 404);
    let found = find(&engine, "User", r#"externalId eq "ext-soft""#).await?;
    assert_eq!(found["totalResults"], 0, "{found}");
    Ok(())
}
