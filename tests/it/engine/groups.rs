//! Groups as Entra drives them (entra-behaviour §1.8–1.9): create empty, add and remove members
//! by PATCH (one backend call per member, no group read), rename, delete.

use anyhow::Result;
use scimgate::scim::{ScimError, ScimType};
use serde_json::{Value, json};

use super::{Fixture, backend_id, entra_user, filter, fixture, id_of, patch_body};

async fn users(fx: &Fixture, names: &[&str]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for name in names {
        let created = fx
            .engine
            .create("User", &entra_user(&format!("{name}@example.com"), name))
            .await?;
        ids.push(id_of(&created)?);
    }
    Ok(ids)
}

fn team_members(fx: &Fixture, group: &Value) -> Result<Vec<u64>> {
    Ok(fx.demo.team_members(backend_id(group)?).unwrap_or_default())
}

async fn new_group(fx: &Fixture, name: &str) -> Result<Value> {
    Ok(fx
        .engine
        .create(
            "Group",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": name,
                "meta": {"resourceType": "Group"}
            }),
        )
        .await?)
}

#[tokio::test]
async fn group_lifecycle_with_exact_member_calls() -> Result<()> {
    let fx = fixture().await?;
    let ids = users(&fx, &["ann", "ben", "cid"]).await?;
    fx.demo.reset_calls();

    let group = new_group(&fx, "Sales").await?;
    let gid = id_of(&group)?;
    assert_eq!(fx.demo.calls().total, 1);
    assert_eq!(fx.demo.calls().route("POST /api/v1/teams"), 1);
    assert_eq!(group["displayName"], "Sales");
    assert_eq!(group["meta"]["resourceType"], "Group");
    assert!(
        group["meta"]["location"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!("/Groups/{gid}")))
    );

    // Filter by displayName (excludedAttributes=members is the caller's projection).
    let found = filter(&fx, "Group", r#"displayName eq "sales""#).await?;
    assert_eq!(found["Resources"][0]["id"], gid.as_str());

    // Add three members in one op: one read of the member list (one page here; it makes each
    // add undoable exactly: adds of present members are skipped), three member calls, no
    // group read.
    fx.demo.reset_calls();
    let answer = fx
        .engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "Add", "path": "members", "value": [
                {"$ref": null, "value": ids[0]}, {"value": ids[1]}, {"value": ids[2]}
            ]}])),
        )
        .await?;
    assert!(answer.is_none(), "group PATCH answers 204");
    let calls = fx.demo.calls();
    assert_eq!(calls.total, 4, "{calls:?}");
    assert_eq!(calls.route("GET /api/v1/teams/{id}/members"), 1);
    assert_eq!(calls.route("POST /api/v1/teams/{id}/members"), 3);
    assert_eq!(team_members(&fx, &group)?.len(), 3);

    // Remove without the flag (value list): only the listed member goes.
    fx.demo.reset_calls();
    fx.engine
        .patch(
            "Group",
            &gid,
            &patch_body(
                &json!([{"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}]),
            ),
        )
        .await?;
    assert_eq!(fx.demo.calls().total, 1);
    assert_eq!(
        fx.demo
            .calls()
            .route("DELETE /api/v1/teams/{id}/members/{user_id}"),
        1
    );
    // Remove with the flag (value filter path).
    fx.engine
        .patch(
            "Group",
            &gid,
            &patch_body(
                &json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}]),
            ),
        )
        .await?;
    assert_eq!(fx.demo.calls().total, 2);
    let left = team_members(&fx, &group)?;
    assert_eq!(left, vec![ids[2].parse::<u64>()?]);

    // Rename: one read, one write; members survive.
    fx.demo.reset_calls();
    fx.engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}])),
        )
        .await?;
    let calls = fx.demo.calls();
    assert_eq!(calls.total, 2, "{calls:?}");
    assert_eq!(calls.route("GET /api/v1/teams/{id}"), 1);
    assert_eq!(calls.route("PUT /api/v1/teams/{id}"), 1);
    assert_eq!(
        fx.engine.get("Group", &gid).await?["displayName"],
        "Sales EMEA"
    );
    assert_eq!(team_members(&fx, &group)?.len(), 1);

    // Delete: one call; then 404 and no filter match.
    fx.demo.reset_calls();
    fx.engine.delete("Group", &gid).await?;
    assert_eq!(fx.demo.calls().total, 1);
    assert_eq!(fx.demo.team_count(), 0);
    let error = fx.engine.get("Group", &gid).await.unwrap_err();
    assert_eq!(ScimError::from(error).status, 404);
    let found = filter(&fx, "Group", r#"displayName eq "Sales EMEA""#).await?;
    assert_eq!(found["totalResults"], 0);
    let found = filter(
        &fx,
        "Group",
        r#"externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159""#,
    )
    .await?;
    assert_eq!(found["totalResults"], 0);
    Ok(())
}

#[tokio::test]
async fn unknown_member_is_400_naming_it_and_nothing_is_applied() -> Result<()> {
    let fx = fixture().await?;
    let ids = users(&fx, &["dan"]).await?;
    let group = new_group(&fx, "Ops").await?;
    let gid = id_of(&group)?;
    let error = fx
        .engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "Add", "path": "members", "value": [
                {"value": ids[0]}, {"value": "999999"}
            ]}])),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400);
    assert_eq!(scim.scim_type, Some(ScimType::InvalidValue));
    assert!(scim.detail.contains("999999"), "{}", scim.detail);
    assert!(
        scim.detail.contains("no changes were applied"),
        "{}",
        scim.detail
    );
    // All or nothing (issue 13): the known member is not added either.
    assert_eq!(team_members(&fx, &group)?, Vec::<u64>::new());
    Ok(())
}

#[tokio::test]
async fn member_patch_on_a_missing_group_is_404() -> Result<()> {
    let fx = fixture().await?;
    let ids = users(&fx, &["eve"]).await?;
    fx.demo.reset_calls();
    let error = fx
        .engine
        .patch(
            "Group",
            "4242",
            &patch_body(&json!([{"op": "Add", "path": "members", "value": [{"value": ids[0]}]}])),
        )
        .await
        .unwrap_err();
    assert_eq!(ScimError::from(error).status, 404);
    // The add's 404, then `users.get` to tell a missing group from a vanished member.
    assert_eq!(fx.demo.calls().total, 2);
    Ok(())
}

#[tokio::test]
async fn duplicate_group_name_is_409() -> Result<()> {
    let fx = fixture().await?;
    new_group(&fx, "Finance").await?;
    let error = fx
        .engine
        .create("Group", &json!({"displayName": "finance"}))
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 409);
    assert_eq!(scim.scim_type, Some(ScimType::Uniqueness));
    assert_eq!(fx.demo.team_count(), 1);
    Ok(())
}

#[tokio::test]
async fn put_with_members_replaces_the_member_list() -> Result<()> {
    let fx = fixture().await?;
    let ids = users(&fx, &["fay", "gus", "hal"]).await?;
    let group = new_group(&fx, "Eng").await?;
    let gid = id_of(&group)?;
    fx.engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "Add", "path": "members",
                                  "value": [{"value": ids[0]}, {"value": ids[1]}]}])),
        )
        .await?;
    fx.demo.reset_calls();
    fx.engine
        .replace(
            "Group",
            &gid,
            &json!({"displayName": "Eng", "members": [{"value": ids[1]}, {"value": ids[2]}]}),
        )
        .await?;
    // Read team, list members; name unchanged so no PUT; one add, one remove.
    let calls = fx.demo.calls();
    assert_eq!(calls.route("GET /api/v1/teams/{id}"), 1);
    assert_eq!(calls.route("PUT /api/v1/teams/{id}"), 0);
    assert_eq!(calls.route("GET /api/v1/teams/{id}/members"), 1);
    assert_eq!(calls.route("POST /api/v1/teams/{id}/members"), 1);
    assert_eq!(
        calls.route("DELETE /api/v1/teams/{id}/members/{user_id}"),
        1
    );
    let mut members = team_members(&fx, &group)?;
    members.sort_unstable();
    assert_eq!(
        members,
        vec![ids[1].parse::<u64>()?, ids[2].parse::<u64>()?]
    );
    Ok(())
}

#[tokio::test]
async fn members_sent_with_a_group_create_are_added() -> Result<()> {
    let fx = fixture().await?;
    let ids = users(&fx, &["ike", "jan"]).await?;
    fx.demo.reset_calls();
    let group = fx
        .engine
        .create(
            "Group",
            &json!({"displayName": "Okta", "members": [{"value": ids[0]}, {"value": ids[1]}]}),
        )
        .await?;
    assert_eq!(fx.demo.calls().route("POST /api/v1/teams"), 1);
    assert_eq!(fx.demo.calls().route("POST /api/v1/teams/{id}/members"), 2);
    assert_eq!(team_members(&fx, &group)?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn members_are_read_only_when_asked_and_reference_checks_work() -> Result<()> {
    let fx = fixture().await?;
    let ids = users(&fx, &["kay", "lou"]).await?;
    let group = new_group(&fx, "Refs").await?;
    let gid = id_of(&group)?;
    fx.engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "Add", "path": "members", "value": [{"value": ids[0]}]}])),
        )
        .await?;
    fx.demo.reset_calls();
    let plain = fx.engine.get("Group", &gid).await?;
    assert!(plain.get("members").is_none());
    assert_eq!(fx.demo.calls().total, 1);
    let full = fx.engine.get_with("Group", &gid, true).await?;
    assert_eq!(full["members"][0]["value"], ids[0].as_str());
    assert_eq!(fx.demo.calls().total, 3);

    // Entra's legacy check: id eq … and members eq … → one get, one member list.
    fx.demo.reset_calls();
    let hit = filter(
        &fx,
        "Group",
        &format!(r#"id eq "{gid}" and members eq "{}""#, ids[0]),
    )
    .await?;
    assert_eq!(hit["totalResults"], 1);
    assert_eq!(fx.demo.calls().total, 2);
    let miss = filter(
        &fx,
        "Group",
        &format!(r#"id eq "{gid}" and members eq "{}""#, ids[1]),
    )
    .await?;
    assert_eq!(miss["totalResults"], 0);
    Ok(())
}
