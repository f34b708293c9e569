//! Entra's provisioning flows at engine level (entra-behaviour §1.2–1.9).

use anyhow::Result;
use serde_json::json;

use super::{backend_id, entra_user, filter, fixture, id_of, patch_body};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName";
const METADATA: &str = "urn:ietf:params:scim:schemas:extension:2.0:Metadata";

#[tokio::test]
async fn probe_with_a_random_guid_is_an_empty_list() -> Result<()> {
    let fx = fixture().await?;
    let guid = uuid::Uuid::new_v4();
    for (resource, f) in [
        ("User", format!(r#"userName eq "{guid}""#)),
        ("User", format!(r#"externalId eq "{guid}""#)),
        ("Group", format!(r#"displayName eq "{guid}""#)),
    ] {
        let list = filter(&fx, resource, &f).await?;
        assert_eq!(list["totalResults"], 0, "{f}");
        assert_eq!(list["Resources"], json!([]));
        assert_eq!(list["startIndex"], 1);
    }
    // Two pushed-down list calls; the externalId probe is answered by the store alone.
    assert_eq!(fx.demo.calls().total, 2);
    Ok(())
}

#[tokio::test]
async fn filter_then_create_then_match_by_username_and_external_id() -> Result<()> {
    let fx = fixture().await?;
    let user_name = "Test_User_00aa00aa@testuser.com";
    let external = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";
    let before = filter(&fx, "User", &format!(r#"userName eq "{user_name}""#)).await?;
    assert_eq!(before["totalResults"], 0);
    let created = fx
        .engine
        .create("User", &entra_user(user_name, external))
        .await?;
    let id = id_of(&created)?;
    // userName matches case-insensitively, externalId exactly.
    let by_name = filter(
        &fx,
        "User",
        &format!(r#"userName eq "{}""#, user_name.to_uppercase()),
    )
    .await?;
    assert_eq!(by_name["totalResults"], 1);
    assert_eq!(by_name["Resources"][0]["id"], id.as_str());
    let by_ext = filter(&fx, "User", &format!(r#"externalId eq "{external}""#)).await?;
    assert_eq!(by_ext["Resources"][0]["id"], id.as_str());
    let wrong_case = filter(
        &fx,
        "User",
        &format!(r#"externalId eq "{}""#, external.to_uppercase()),
    )
    .await?;
    assert_eq!(wrong_case["totalResults"], 0);
    Ok(())
}

#[tokio::test]
async fn deactivate_and_reactivate_with_string_booleans() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("jo@example.com", "ext-jo"))
        .await?;
    let id = id_of(&created)?;
    let bid = backend_id(&created)?;

    let off = fx
        .engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await?
        .expect("resource");
    assert_eq!(off["active"], false);
    assert_eq!(fx.demo.user(bid).expect("user")["status"], "disabled");
    // Still found by filter and by id, with active false.
    let found = filter(&fx, "User", r#"userName eq "jo@example.com""#).await?;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["active"], false);
    assert_eq!(fx.engine.get("User", &id).await?["active"], false);

    let on = fx
        .engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([{"op": "replace", "path": "active", "value": "True"}])),
        )
        .await?
        .expect("resource");
    assert_eq!(on["active"], true);
    assert_eq!(on["id"], id.as_str());
    assert_eq!(fx.demo.user(bid).expect("user")["status"], "active");
    Ok(())
}

#[tokio::test]
async fn email_change_keeps_the_id() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("kim@example.com", "ext-kim"))
        .await?;
    let id = id_of(&created)?;
    let patched = fx
        .engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([
                {"op": "Replace", "path": "userName", "value": "kim.new@example.com"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value",
                 "value": "kim.new@example.com"}
            ])),
        )
        .await?
        .expect("resource");
    assert_eq!(patched["id"], id.as_str());
    assert_eq!(patched["userName"], "kim.new@example.com");
    let found = filter(&fx, "User", r#"userName eq "kim.new@example.com""#).await?;
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    let old = filter(&fx, "User", r#"userName eq "kim@example.com""#).await?;
    assert_eq!(old["totalResults"], 0);
    // The old name is free again for a new user.
    fx.engine
        .create("User", &entra_user("kim@example.com", "ext-kim-2"))
        .await?;
    Ok(())
}

#[tokio::test]
async fn extensions_round_trip_and_flagged_pathless_patch() -> Result<()> {
    let fx = fixture().await?;
    let mut body = entra_user("lea@example.com", "ext-lea");
    body[ENTERPRISE] = json!({"employeeNumber": "701984", "department": "Tours"});
    body[CUSTOM] = json!({"folders": ["Sales", "Travel"]});
    body[METADATA] = json!({"Region": "EU", "CostCenter": "42"});
    body["roles"] = json!([{"primary": true, "value": "Admin"}]);
    body["userType"] = json!("Premium");
    let created = fx.engine.create("User", &body).await?;
    let id = id_of(&created)?;
    let got = fx.engine.get("User", &id).await?;
    assert_eq!(got[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(got[ENTERPRISE]["department"], "Tours");
    assert_eq!(got[CUSTOM]["folders"], json!(["Sales", "Travel"]));
    assert_eq!(got[METADATA]["Region"], "EU");
    assert_eq!(got[METADATA]["CostCenter"], "42");
    assert_eq!(got["roles"][0]["value"], "Admin");
    assert_eq!(got["userType"], "Premium");
    let schemas = got["schemas"].as_array().cloned().unwrap_or_default();
    for urn in [ENTERPRISE, CUSTOM, METADATA] {
        assert!(schemas.contains(&json!(urn)), "{urn} in {schemas:?}");
    }

    // aadOptscim062020: a path-less replace with dotted and URN-qualified keys, and `add` of
    // a Split() list meaning "these are now the folders".
    fx.demo.reset_calls();
    let patched = fx
        .engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([
                {"op": "replace", "value": {
                    "name.givenName": "Lea",
                    format!("{ENTERPRISE}:department"): "Retail"
                }},
                {"op": "add", "path": format!("{CUSTOM}:folders"), "value": [{"value": "Ops"}]},
                {"op": "add", "path": format!("{METADATA}:Team"), "value": "Blue"},
                {"op": "Add", "path": "roles", "value": [{"primary": true, "value": "User"}]}
            ])),
        )
        .await?
        .expect("resource");
    assert_eq!(patched["name"]["givenName"], "Lea");
    assert_eq!(patched[ENTERPRISE]["department"], "Retail");
    assert_eq!(patched[CUSTOM]["folders"], json!(["Ops"]));
    assert_eq!(patched[METADATA]["Team"], "Blue");
    assert_eq!(patched[METADATA]["Region"], "EU");
    assert_eq!(fx.demo.calls().total, 2);
    let user = fx.demo.user(super::backend_id(&created)?).expect("user");
    assert_eq!(user["folders"], "Ops");
    assert_eq!(user["department"], "Retail");
    Ok(())
}

#[tokio::test]
async fn manager_as_a_bare_id_reads_back_as_a_complex_value() -> Result<()> {
    let fx = fixture().await?;
    let boss = fx
        .engine
        .create("User", &entra_user("boss@example.com", "ext-boss"))
        .await?;
    let boss_id = id_of(&boss)?;
    let worker = fx
        .engine
        .create("User", &entra_user("worker@example.com", "ext-worker"))
        .await?;
    let id = id_of(&worker)?;
    let patched = fx
        .engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": boss_id}
            ])),
        )
        .await?
        .expect("resource");
    assert_eq!(patched[ENTERPRISE]["manager"]["value"], boss_id.as_str());
    Ok(())
}

#[tokio::test]
async fn external_id_filter_follows_a_patch_of_external_id() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("max@example.com", "mailnick"))
        .await?;
    let id = id_of(&created)?;
    let object_id = uuid::Uuid::new_v4().to_string();
    fx.engine
        .patch(
            "User",
            &id,
            &patch_body(&json!([{"op": "Add", "path": "externalId", "value": object_id}])),
        )
        .await?;
    let found = filter(&fx, "User", &format!(r#"externalId eq "{object_id}""#)).await?;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    assert_eq!(
        filter(&fx, "User", r#"externalId eq "mailnick""#).await?["totalResults"],
        0
    );
    Ok(())
}

#[tokio::test]
async fn unknown_role_is_refused_before_any_call() -> Result<()> {
    let fx = fixture().await?;
    let mut body = entra_user("nia@example.com", "ext-nia");
    body["roles"] = json!([{"primary": true, "value": "Owner"}]);
    let error = fx.engine.create("User", &body).await.unwrap_err();
    let scim = scimgate::scim::ScimError::from(error);
    assert_eq!(scim.status, 400);
    assert!(scim.detail.contains("EnterpriseAdmin"), "{}", scim.detail);
    assert_eq!(fx.demo.calls().total, 0);
    Ok(())
}
