//! Every user operation with its exact backend-call count (the demo backend counts the calls it
//! receives).

use anyhow::Result;
use scimgate::engine::{EngineOptions, Error};
use scimgate::scim::{ScimError, ScimType};
use serde_json::json;

use super::{
    BASE, backend_id, entra_user, filter, fixture, fixture_with, id_of, patch_body, query,
    stored_record,
};

#[tokio::test]
async fn create_makes_one_call_and_returns_the_full_resource() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("Alice@Example.com", "ext-alice"))
        .await?;
    let calls = fx.demo.calls();
    assert_eq!(calls.total, 1, "{calls:?}");
    assert_eq!(calls.route("POST /api/v1/users"), 1);

    let id = id_of(&created)?;
    assert_eq!(created["userName"], "Alice@Example.com");
    assert_eq!(created["externalId"], "ext-alice");
    assert_eq!(created["active"], true);
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["meta"]["location"], format!("{BASE}/Users/{id}"));
    assert!(created["meta"]["created"].is_string());
    assert!(created["meta"]["lastModified"].is_string());
    assert!(
        created["schemas"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("urn:ietf:params:scim:schemas:core:2.0:User")))
    );
    // Backend and store agree: the user exists, the store holds externalId for it.
    let user = fx.demo.user(backend_id(&created)?).expect("backend user");
    assert_eq!(user["email"], "Alice@Example.com");
    let record = stored_record(&fx, "User", &id)
        .await?
        .expect("store record");
    assert_eq!(record.shadow["externalId"], "ext-alice");
    Ok(())
}

#[tokio::test]
async fn invalid_create_makes_no_backend_call() -> Result<()> {
    let fx = fixture().await?;
    let mut body = entra_user("bob@example.com", "ext-bob");
    body["userType"] = json!("Gold");
    let error = fx.engine.create("User", &body).await.unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400);
    assert_eq!(scim.scim_type, Some(ScimType::InvalidValue));
    assert!(scim.detail.contains("Gold"), "{}", scim.detail);

    let missing = fx
        .engine
        .create("User", &json!({"displayName": "Nobody"}))
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::Invalid(_)), "{missing:?}");
    assert_eq!(fx.demo.calls().total, 0);
    assert_eq!(fx.demo.user_count(), 0);
    Ok(())
}

#[tokio::test]
async fn duplicate_create_is_409_uniqueness_naming_the_value() -> Result<()> {
    let fx = fixture().await?;
    fx.engine
        .create("User", &entra_user("carol@example.com", "ext-1"))
        .await?;
    let error = fx
        .engine
        .create("User", &entra_user("carol@example.com", "ext-2"))
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 409);
    assert_eq!(scim.scim_type, Some(ScimType::Uniqueness));
    assert!(scim.detail.contains("carol@example.com"), "{}", scim.detail);
    assert_eq!(fx.demo.user_count(), 1);
    // The first user keeps its externalId; nothing points at the refused one.
    let found = filter(&fx, "User", r#"externalId eq "ext-2""#).await?;
    assert_eq!(found["totalResults"], 0);
    Ok(())
}

#[tokio::test]
async fn get_makes_one_call_and_returns_inactive_users() -> Result<()> {
    let fx = fixture().await?;
    let mut body = entra_user("dave@example.com", "ext-dave");
    body["active"] = json!(false);
    let created = fx.engine.create("User", &body).await?;
    let id = id_of(&created)?;
    fx.demo.reset_calls();

    let got = fx.engine.get("User", &id).await?;
    assert_eq!(fx.demo.calls().total, 1);
    assert_eq!(fx.demo.calls().route("GET /api/v1/users/{id}"), 1);
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["active"], false);
    assert_eq!(got["externalId"], "ext-dave");

    let missing = fx.engine.get("User", "999999").await.unwrap_err();
    assert_eq!(ScimError::from(missing).status, 404);
    let odd = fx.engine.get("User", "..").await.unwrap_err();
    assert_eq!(ScimError::from(odd).status, 404);
    Ok(())
}

#[tokio::test]
async fn filters_push_down_with_exact_call_counts() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("erin@example.com", "ext-erin"))
        .await?;
    let id = id_of(&created)?;
    fx.demo.reset_calls();

    // userName eq → one list call with ?email=, case-insensitive.
    let found = filter(&fx, "User", r#"userName eq "ERIN@example.com""#).await?;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["itemsPerPage"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    assert_eq!(fx.demo.calls().total, 1);
    assert_eq!(fx.demo.calls().route("GET /api/v1/users"), 1);

    // externalId eq → the store, then one get.
    fx.demo.reset_calls();
    let found = filter(&fx, "User", r#"externalId eq "ext-erin""#).await?;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    assert_eq!(fx.demo.calls().total, 1);
    assert_eq!(fx.demo.calls().route("GET /api/v1/users/{id}"), 1);
    // externalId is caseExact: another case matches nothing, with no backend call.
    fx.demo.reset_calls();
    let found = filter(&fx, "User", r#"externalId eq "EXT-ERIN""#).await?;
    assert_eq!(found["totalResults"], 0);
    assert_eq!(fx.demo.calls().total, 0);

    // id eq → one get; an unknown id → empty list, not 404.
    fx.demo.reset_calls();
    let found = filter(&fx, "User", &format!(r#"id eq "{id}""#)).await?;
    assert_eq!(found["totalResults"], 1);
    let found = filter(&fx, "User", r#"id eq "424242""#).await?;
    assert_eq!(found["totalResults"], 0);
    assert_eq!(found["Resources"], json!([]));
    assert_eq!(fx.demo.calls().total, 2);

    // emails[type eq "work"].value eq → the same email query.
    fx.demo.reset_calls();
    let found = filter(
        &fx,
        "User",
        r#"emails[type eq "work"].value eq "erin@example.com""#,
    )
    .await?;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(fx.demo.calls().total, 1);
    Ok(())
}

#[tokio::test]
async fn unsupported_filter_is_400_invalid_filter_without_a_call() -> Result<()> {
    let fx = fixture().await?;
    let q = query(&fx.engine, "User", &[("filter", r#"title co "x""#)])?;
    let error = fx.engine.list("User", &q).await.unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400);
    assert_eq!(scim.scim_type, Some(ScimType::InvalidFilter));
    assert_eq!(fx.demo.calls().total, 0);
    Ok(())
}

#[tokio::test]
async fn replace_reads_once_writes_once_and_keeps_unmapped_fields() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("fred@example.com", "ext-fred"))
        .await?;
    let id = id_of(&created)?;
    let bid = backend_id(&created)?;
    // A field the mapping does not own, set directly in the backend.
    let client = reqwest::Client::new();
    let answer = client
        .patch(format!("{}/api/v1/users/{bid}", fx.demo.base_url()))
        .header("X-Api-Key", "test-key")
        .json(&json!({"notes": "keep me"}))
        .send()
        .await?;
    assert!(answer.status().is_success());
    fx.demo.reset_calls();

    let mut body = created.clone();
    body["name"]["givenName"] = json!("Frederick");
    // name.formatted is written as given now: keep it in step with the new given name.
    let family = created["name"]["familyName"].as_str().unwrap_or_default();
    body["name"]["formatted"] = json!(format!("Frederick {family}"));
    body["userType"] = json!("Premium");
    let replaced = fx.engine.replace("User", &id, &body).await?;
    let calls = fx.demo.calls();
    assert_eq!(calls.total, 2, "{calls:?}");
    assert_eq!(calls.route("GET /api/v1/users/{id}"), 1);
    assert_eq!(calls.route("PUT /api/v1/users/{id}"), 1);
    assert_eq!(replaced["name"]["givenName"], "Frederick");
    assert_eq!(replaced["userType"], "Premium");
    assert_eq!(replaced["id"], id.as_str());
    let user = fx.demo.user(bid).expect("user");
    assert_eq!(user["notes"], "keep me");
    assert_eq!(user["plan"], 2);

    // The same body again changes nothing: one read, no write.
    fx.demo.reset_calls();
    fx.engine.replace("User", &id, &body).await?;
    assert_eq!(fx.demo.calls().total, 1);
    Ok(())
}

#[tokio::test]
async fn patch_reads_once_and_writes_only_when_something_changed() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("gina@example.com", "ext-gina"))
        .await?;
    let id = id_of(&created)?;
    fx.demo.reset_calls();

    let patched = fx
        .engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([
                {"op": "Replace", "path": "name.familyName", "value": "Smith"}
            ])),
        )
        .await?
        .expect("users answer with the resource");
    assert_eq!(patched["name"]["familyName"], "Smith");
    let calls = fx.demo.calls();
    assert_eq!(calls.total, 2, "{calls:?}");
    assert_eq!(calls.route("GET /api/v1/users/{id}"), 1);
    assert_eq!(calls.route("PUT /api/v1/users/{id}"), 1);

    // Nothing changes → one read, zero writes.
    fx.demo.reset_calls();
    fx.engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([
                {"op": "Replace", "path": "name.familyName", "value": "Smith"}
            ])),
        )
        .await?;
    assert_eq!(fx.demo.calls().total, 1);

    // A store-only change (externalId) → one read, zero backend writes, the store updated.
    fx.demo.reset_calls();
    let patched = fx
        .engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([{"op": "Replace", "path": "externalId", "value": "ext-new"}])),
        )
        .await?
        .expect("resource");
    assert_eq!(patched["externalId"], "ext-new");
    assert_eq!(fx.demo.calls().total, 1);
    let found = filter(&fx, "User", r#"externalId eq "ext-new""#).await?;
    assert_eq!(found["totalResults"], 1);
    let found = filter(&fx, "User", r#"externalId eq "ext-gina""#).await?;
    assert_eq!(found["totalResults"], 0);
    Ok(())
}

#[tokio::test]
async fn an_unmapped_attribute_does_not_block_active_in_the_same_patch() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("hank@example.com", "ext-hank"))
        .await?;
    let id = id_of(&created)?;
    fx.demo.reset_calls();
    let patched = fx
        .engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([
                {"op": "Add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "+1 555 0100"},
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "preferredLanguage", "value": "en-US"}
            ])),
        )
        .await?
        .expect("resource");
    assert_eq!(patched["active"], false);
    assert!(patched.get("phoneNumbers").is_none());
    assert!(patched.get("preferredLanguage").is_none());
    assert_eq!(fx.demo.calls().total, 2);
    assert_eq!(
        fx.demo.user(backend_id(&created)?).expect("user")["status"],
        "disabled"
    );
    Ok(())
}

#[tokio::test]
async fn patch_of_a_missing_user_is_404() -> Result<()> {
    let fx = fixture().await?;
    let error = fx
        .engine
        .patch(
            "User",
            "31337",
            &patch_body(&json!([{"op": "Replace", "path": "active", "value": false}])),
        )
        .await
        .unwrap_err();
    assert_eq!(ScimError::from(error).status, 404);
    assert_eq!(fx.demo.calls().total, 1);
    Ok(())
}

#[tokio::test]
async fn delete_makes_one_call_then_get_is_404_and_filters_find_nothing() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("ivy@example.com", "ext-ivy"))
        .await?;
    let id = id_of(&created)?;
    fx.demo.reset_calls();
    fx.engine.delete("User", &id).await?;
    assert_eq!(fx.demo.calls().total, 1);
    assert_eq!(fx.demo.calls().route("DELETE /api/v1/users/{id}"), 1);
    assert_eq!(fx.demo.user_count(), 0);
    assert!(stored_record(&fx, "User", &id).await?.is_none());

    let error = fx.engine.get("User", &id).await.unwrap_err();
    assert_eq!(ScimError::from(error).status, 404);
    for f in [
        r#"userName eq "ivy@example.com""#.to_owned(),
        r#"externalId eq "ext-ivy""#.to_owned(),
        format!(r#"id eq "{id}""#),
    ] {
        assert_eq!(filter(&fx, "User", &f).await?["totalResults"], 0, "{f}");
    }
    let again = fx.engine.delete("User", &id).await.unwrap_err();
    assert_eq!(ScimError::from(again).status, 404);
    Ok(())
}

#[tokio::test]
async fn ready_checks_store_and_backend() -> Result<()> {
    let fx = fixture().await?;
    fx.engine.ready().await.map_err(anyhow::Error::msg)?;
    assert_eq!(fx.demo.calls().total, 1);
    Ok(())
}

#[tokio::test]
async fn a_conjunction_is_planned_on_one_side_and_checked_whole() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("olga@example.com", "ext-olga"))
        .await?;
    let id = id_of(&created)?;
    fx.demo.reset_calls();
    let hit = filter(&fx, "User", &format!(r#"id eq "{id}" and active eq true"#)).await?;
    assert_eq!(hit["totalResults"], 1);
    let miss = filter(&fx, "User", &format!(r#"id eq "{id}" and active eq false"#)).await?;
    assert_eq!(miss["totalResults"], 0);
    assert_eq!(fx.demo.calls().route("GET /api/v1/users/{id}"), 2);
    assert_eq!(fx.demo.calls().total, 2);
    let both = filter(
        &fx,
        "User",
        r#"externalId eq "ext-olga" and userName eq "OLGA@example.com""#,
    )
    .await?;
    assert_eq!(both["Resources"][0]["id"], id.as_str());
    Ok(())
}

/// Regression (found by the benchmark at concurrency 32): concurrent PATCHes of a user the store
/// had not seen yet raced to create its record, and the losers answered 500. All must succeed.
#[tokio::test]
async fn concurrent_patches_of_an_unseen_user_all_succeed() -> Result<()> {
    let fx = fixture_with(1, EngineOptions::default()).await?; // user 1, made outside the gateway
    let body = |i: u32| {
        patch_body(&json!([
            {"op": "Replace", "path": "externalId", "value": format!("ext-{i}")},
            {"op": "Replace", "path": "active", "value": if i.is_multiple_of(2) { "False" } else { "True" }},
        ]))
    };
    let (b1, b2, b3, b4) = (body(1), body(2), body(3), body(4));
    let (r1, r2, r3, r4) = tokio::join!(
        fx.engine.patch("User", "1", &b1),
        fx.engine.patch("User", "1", &b2),
        fx.engine.patch("User", "1", &b3),
        fx.engine.patch("User", "1", &b4),
    );
    for result in [r1, r2, r3, r4] {
        result?;
    }
    let store: &dyn scimgate::store::Store = fx.store.as_ref();
    assert!(
        store
            .get_by_backend_id("acme", "User", "1")
            .await?
            .is_some()
    );
    Ok(())
}
