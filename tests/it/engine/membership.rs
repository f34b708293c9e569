//! Issue 13: group membership that is never half-done, at any group size. Groups of 1,000 and
//! 10,000 members on the demo API (seeded directly), read and written whole; every atomicity
//! case of the issue; the k-th backend call of a multi-call group PATCH failing, for every k.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use scimgate::demo::Fault;
use scimgate::engine::EngineOptions;
use scimgate::scim::ScimError;
use scimgate::store::SqliteStore;
use serde_json::{Value, json};

use super::{
    DEMO_MAPPING, Fixture, backend_id, engine_for, entra_user, fixture, fixture_with, id_of,
    patch_body, query,
};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

async fn new_group(fx: &Fixture, name: &str) -> Result<(String, u64)> {
    let group = fx
        .engine
        .create("Group", &json!({"schemas": [GROUP], "displayName": name}))
        .await?;
    Ok((id_of(&group)?, backend_id(&group)?))
}

async fn new_users(fx: &Fixture, names: &[&str]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for name in names {
        let user = fx
            .engine
            .create("User", &entra_user(&format!("{name}@example.com"), name))
            .await?;
        ids.push(id_of(&user)?);
    }
    Ok(ids)
}

fn members_of(fx: &Fixture, team: u64) -> Result<Vec<u64>> {
    fx.demo.team_members(team).context("team is gone")
}

fn name_of(fx: &Fixture, team: u64) -> Result<String> {
    fx.demo
        .team(team)
        .and_then(|t| t["name"].as_str().map(str::to_owned))
        .context("team is gone")
}

fn member_values(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|v| v["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn big_group(size: usize) -> Result<()> {
    // What is asserted is completeness at size, not speed: remove-all of 10,000 members is
    // 10,000 backend calls, which a debug build on a loaded 2-core CI machine may not finish
    // in the default request budget. Speed is `bench/run.sh`'s business.
    let options = EngineOptions {
        deadline: std::time::Duration::from_secs(300),
        ..EngineOptions::default()
    };
    let fx = fixture_with(0, options).await?;
    let (gid, team) = new_group(&fx, "Everyone").await?;
    let seeded = fx.demo.seed_members(team, size).context("seed")?;
    let last = seeded.last().context("no members")?.to_string();
    let pages = size.div_ceil(100) as u64;

    // GET: the group and every page of its members (100 a page, the demo's maximum).
    fx.demo.reset_calls();
    let group = fx.engine.get_with("Group", &gid, true).await?;
    assert_eq!(member_values(&group).len(), size);
    let calls = fx.demo.calls();
    assert_eq!(
        calls.route("GET /api/v1/teams/{id}/members"),
        pages,
        "{calls:?}"
    );
    assert_eq!(calls.total, 1 + pages, "{calls:?}");

    // Entra's membership check for the last member finds it.
    let filter = format!(r#"id eq "{gid}" and members eq "{last}""#);
    let q = query(&fx.engine, "Group", &[("filter", &filter)])?;
    let found = fx.engine.list("Group", &q).await?.to_json();
    assert_eq!(found["totalResults"], 1, "{found}");

    // Adding and removing one member: one backend call each, no member read.
    let extra = new_users(&fx, &["extra"]).await?.remove(0);
    for op in ["add", "remove"] {
        fx.demo.reset_calls();
        fx.engine
            .patch(
                "Group",
                &gid,
                &patch_body(&json!([{"op": op, "path": "members", "value": [{"value": extra}]}])),
            )
            .await?;
        let calls = fx.demo.calls();
        assert_eq!(calls.total, 1, "{op}: {calls:?}");
    }
    assert_eq!(members_of(&fx, team)?.len(), size);

    // Remove all: nothing left in the backend.
    fx.engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "remove", "path": "members"}])),
        )
        .await?;
    assert_eq!(members_of(&fx, team)?.len(), 0);

    // PUT with one member: one left.
    let again = fx.demo.seed_members(team, size).context("seed")?;
    let keep = again[size / 2].to_string();
    fx.engine
        .replace(
            "Group",
            &gid,
            &json!({"schemas": [GROUP], "displayName": "Everyone", "members": [{"value": keep}]}),
        )
        .await?;
    assert_eq!(members_of(&fx, team)?, vec![again[size / 2]]);
    Ok(())
}

#[tokio::test]
async fn issue_13_group_of_1000_members_is_read_and_written_whole() -> Result<()> {
    big_group(1000).await
}

#[tokio::test]
async fn issue_13_group_of_10000_members_is_read_and_written_whole() -> Result<()> {
    big_group(10_000).await
}

#[tokio::test]
async fn issue_13_patch_rename_with_unknown_member_changes_nothing() -> Result<()> {
    let fx = fixture().await?;
    let (gid, team) = new_group(&fx, "Sales").await?;
    let error = fx
        .engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([
                {"op": "replace", "path": "displayName", "value": "Sales EMEA"},
                {"op": "add", "path": "members", "value": [{"value": "999"}]}
            ])),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400, "{}", scim.detail);
    assert!(scim.detail.contains("`999`"), "{}", scim.detail);
    assert_eq!(name_of(&fx, team)?, "Sales");
    Ok(())
}

#[tokio::test]
async fn issue_13_known_and_unknown_members_add_nobody_and_name_every_bad_id() -> Result<()> {
    let fx = fixture().await?;
    let (gid, team) = new_group(&fx, "Sales").await?;
    let ids = new_users(&fx, &["ann"]).await?;
    fx.demo.reset_calls();
    let error = fx
        .engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "add", "path": "members", "value": [
                {"value": ids[0]}, {"value": "998"}, {"value": "999"}
            ]}])),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400, "{}", scim.detail);
    assert!(
        scim.detail.contains("`998`") && scim.detail.contains("`999`"),
        "{}",
        scim.detail
    );
    assert_eq!(members_of(&fx, team)?, Vec::<u64>::new());
    assert_eq!(
        fx.demo.calls().route("POST /api/v1/teams/{id}/members"),
        0,
        "nothing is written before every member is known"
    );
    Ok(())
}

#[tokio::test]
async fn issue_13_group_create_with_unknown_member_creates_nothing() -> Result<()> {
    let fx = fixture().await?;
    let ids = new_users(&fx, &["ann"]).await?;
    let error = fx
        .engine
        .create(
            "Group",
            &json!({"schemas": [GROUP], "displayName": "Sales",
                    "members": [{"value": ids[0]}, {"value": "999"}]}),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400, "{}", scim.detail);
    assert!(scim.detail.contains("`999`"), "{}", scim.detail);
    assert_eq!(fx.demo.team_count(), 0, "no orphan group");
    // The name is free again: a retry without the bad member works.
    fx.engine
        .create(
            "Group",
            &json!({"schemas": [GROUP], "displayName": "Sales", "members": [{"value": ids[0]}]}),
        )
        .await?;
    assert_eq!(fx.demo.team_count(), 1);
    Ok(())
}

#[tokio::test]
async fn issue_13_group_create_whose_member_add_fails_is_deleted_again() -> Result<()> {
    let fx = fixture().await?;
    let ids = new_users(&fx, &["ann", "ben"]).await?;
    fx.demo.inject(
        Fault::status(500)
            .on("POST /api/v1/teams/{id}/members")
            .after(1)
            .times(1),
    );
    let error = fx
        .engine
        .create(
            "Group",
            &json!({"schemas": [GROUP], "displayName": "Sales",
                    "members": [{"value": ids[0]}, {"value": ids[1]}]}),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert!(scim.status >= 500, "{}", scim.detail);
    assert_eq!(
        fx.demo.team_count(),
        0,
        "the group created first is deleted again"
    );
    Ok(())
}

#[tokio::test]
async fn issue_13_put_rename_with_unknown_member_changes_nothing() -> Result<()> {
    let fx = fixture().await?;
    let (gid, team) = new_group(&fx, "Sales").await?;
    let ids = new_users(&fx, &["ann"]).await?;
    let error = fx
        .engine
        .replace(
            "Group",
            &gid,
            &json!({"schemas": [GROUP], "displayName": "Sales EMEA",
                    "members": [{"value": ids[0]}, {"value": "999"}]}),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400, "{}", scim.detail);
    assert!(scim.detail.contains("`999`"), "{}", scim.detail);
    assert_eq!(name_of(&fx, team)?, "Sales");
    assert_eq!(members_of(&fx, team)?, Vec::<u64>::new());
    Ok(())
}

#[tokio::test]
async fn issue_13_refused_removal_of_a_listed_member_says_so() -> Result<()> {
    let fx = fixture().await?;
    let (gid, team) = new_group(&fx, "Sales").await?;
    let ids = new_users(&fx, &["ann"]).await?;
    fx.engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "add", "path": "members", "value": [{"value": ids[0]}]}])),
        )
        .await?;
    fx.demo.inject(
        Fault::status(422)
            .on("DELETE /api/v1/teams/{id}/members/{user_id}")
            .times(1),
    );
    let error = fx
        .engine
        .patch(
            "Group",
            &gid,
            &patch_body(
                &json!([{"op": "remove", "path": "members", "value": [{"value": ids[0]}]}]),
            ),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400, "{}", scim.detail);
    assert!(!scim.detail.contains("does not exist"), "{}", scim.detail);
    assert!(
        scim.detail.contains("stays in the group"),
        "{}",
        scim.detail
    );
    assert_eq!(members_of(&fx, team)?.len(), 1);
    Ok(())
}

/// The group PATCH of the fault tests: a rename, three adds and one removal; 7 backend calls
/// (group read, one member page, 3 adds, 1 remove, the rename write).
struct Scene {
    fx: Fixture,
    gid: String,
    team: u64,
    body: Value,
    before: Vec<u64>,
}

const PATCH_CALLS: u64 = 7;

async fn scene() -> Result<Scene> {
    let fx = fixture().await?;
    let (gid, team) = new_group(&fx, "Sales").await?;
    let ids = new_users(&fx, &["u1", "u2", "u3", "u4", "u5"]).await?;
    fx.engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "add", "path": "members", "value": [
                {"value": ids[0]}, {"value": ids[1]}
            ]}])),
        )
        .await?;
    let before = members_of(&fx, team)?;
    let body = patch_body(&json!([
        {"op": "replace", "path": "displayName", "value": "Sales EMEA"},
        {"op": "add", "path": "members", "value": [
            {"value": ids[2]}, {"value": ids[3]}, {"value": ids[4]}
        ]},
        {"op": "remove", "path": "members", "value": [{"value": ids[0]}]}
    ]));
    fx.demo.reset_calls();
    Ok(Scene {
        fx,
        gid,
        team,
        body,
        before,
    })
}

#[tokio::test]
async fn issue_13_the_fault_patch_makes_the_calls_counted() -> Result<()> {
    let s = scene().await?;
    s.fx.engine.patch("Group", &s.gid, &s.body).await?;
    assert_eq!(
        s.fx.demo.calls().total,
        PATCH_CALLS,
        "{:?}",
        s.fx.demo.calls()
    );
    assert_eq!(name_of(&s.fx, s.team)?, "Sales EMEA");
    assert_eq!(members_of(&s.fx, s.team)?.len(), 4);
    Ok(())
}

#[tokio::test]
async fn issue_13_kth_backend_call_failing_leaves_the_group_as_it_was() -> Result<()> {
    for k in 1..=PATCH_CALLS {
        let s = scene().await?;
        s.fx.demo.inject(Fault::status(500).after(k - 1).times(1));
        let result = s.fx.engine.patch("Group", &s.gid, &s.body).await;
        let error = result
            .err()
            .with_context(|| format!("k={k}: answered 2xx"))?;
        let scim = ScimError::from(error);
        assert!(scim.status >= 500, "k={k}: {} {}", scim.status, scim.detail);
        assert!(!scim.detail.contains("in part"), "k={k}: {}", scim.detail);
        assert_eq!(name_of(&s.fx, s.team)?, "Sales", "k={k}");
        assert_eq!(members_of(&s.fx, s.team)?, s.before, "k={k}");
    }
    Ok(())
}

#[tokio::test]
async fn issue_13_kth_call_and_its_undo_failing_names_exactly_what_landed() -> Result<()> {
    // The member calls in order, and the changes they make.
    let landed_by = [
        "added member",
        "added member",
        "added member",
        "removed member",
    ];
    for k in 1..=PATCH_CALLS {
        let s = scene().await?;
        // Call k fails, and so does the next call (the first undo, when anything landed).
        s.fx.demo.inject(Fault::status(500).after(k - 1).times(2));
        let result = s.fx.engine.patch("Group", &s.gid, &s.body).await;
        let error = result
            .err()
            .with_context(|| format!("k={k}: answered 2xx"))?;
        let scim = ScimError::from(error);
        assert!(scim.status >= 500, "k={k}: {} {}", scim.status, scim.detail);
        // Calls 3..=6 are member calls; those before call k landed.
        let landed = (k.saturating_sub(3) as usize).min(4);
        assert_eq!(
            name_of(&s.fx, s.team)?,
            "Sales",
            "k={k}: the rename is the last write"
        );
        if landed == 0 {
            assert!(!scim.detail.contains("in part"), "k={k}: {}", scim.detail);
            assert_eq!(members_of(&s.fx, s.team)?, s.before, "k={k}");
            continue;
        }
        assert!(scim.detail.contains("in part"), "k={k}: {}", scim.detail);
        let still = scim
            .detail
            .split("still in place: ")
            .nth(1)
            .and_then(|rest| rest.split("; undone").next())
            .with_context(|| format!("k={k}: {}", scim.detail))?;
        let listed: Vec<&str> = still.split(", ").collect();
        assert_eq!(listed.len(), landed, "k={k}: {}", scim.detail);
        for (item, verb) in listed.iter().zip(landed_by) {
            assert!(item.starts_with(verb), "k={k}: {}", scim.detail);
        }
        assert!(
            scim.detail.contains("not applied: "),
            "k={k}: {}",
            scim.detail
        );
        // The backend holds exactly what the detail says.
        let now = members_of(&s.fx, s.team)?;
        let added = landed.min(3);
        let removed = usize::from(landed == 4);
        assert_eq!(
            now.len(),
            s.before.len() + added - removed,
            "k={k}: {now:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn issue_13_unseen_backend_members_get_gateway_ids() -> Result<()> {
    let fx = fixture().await?;
    let yaml = DEMO_MAPPING.replace("ids: backend", "ids: gateway");
    let store = Arc::new(SqliteStore::open_in_memory()?);
    let engine = engine_for(&fx.demo.base_url(), &yaml, store, EngineOptions::default())?;
    let group = engine
        .create("Group", &json!({"schemas": [GROUP], "displayName": "Ops"}))
        .await?;
    let gid = id_of(&group)?;
    let team = fx.demo.team_count() as u64;
    let seeded = fx.demo.seed_members(team, 120).context("seed")?;
    let read = engine.get_with("Group", &gid, true).await?;
    let values = member_values(&read);
    assert_eq!(values.len(), seeded.len(), "{read}");
    // Each is a minted id the gateway now answers for, and stays the same.
    let again = member_values(&engine.get_with("Group", &gid, true).await?);
    assert_eq!(values, again);
    let user = engine.get("User", &values[0]).await?;
    assert_eq!(user["id"], json!(values[0]));
    Ok(())
}

#[tokio::test]
async fn issue_13_thousands_of_unknown_members_cost_a_bounded_check() -> Result<()> {
    let fx = fixture().await?;
    let (gid, team) = new_group(&fx, "Sales").await?;
    let values: Vec<Value> = (0..2_000)
        .map(|n| json!({"value": (10_000_000 + n).to_string()}))
        .collect();
    fx.demo.reset_calls();
    let error = fx
        .engine
        .patch(
            "Group",
            &gid,
            &patch_body(&json!([{"op": "add", "path": "members", "value": values}])),
        )
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400, "{}", scim.detail);
    assert!(scim.detail.contains("`10000049`"), "{}", scim.detail);
    assert!(scim.detail.contains("checking stopped"), "{}", scim.detail);
    let calls = fx.demo.calls();
    assert_eq!(calls.route("GET /api/v1/users/{id}"), 50, "{calls:?}");
    assert_eq!(calls.route("POST /api/v1/teams/{id}/members"), 0);
    assert!(members_of(&fx, team)?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_member_call_404_for_a_vanished_user_names_the_member_not_the_group() -> Result<()> {
    let fx = fixture().await?;
    let (gid, team) = new_group(&fx, "Vanished").await?;
    // The backend answers 404 for the add: the user is gone (id 999999 was never made).
    fx.demo.inject(
        Fault::status(404)
            .on("POST /api/v1/teams/{id}/members")
            .times(1),
    );
    let add = json!([{"op": "add", "path": "members", "value": [{"value": "999999"}]}]);
    let error = fx
        .engine
        .patch("Group", &gid, &patch_body(&add))
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 400, "{}", scim.detail);
    assert!(scim.detail.contains("999999"), "{}", scim.detail);
    assert!(!scim.detail.contains("Group"), "{}", scim.detail);
    // A removal of a member whose user is gone has nothing left to remove.
    fx.demo.inject(
        Fault::status(404)
            .on("DELETE /api/v1/teams/{id}/members/{user_id}")
            .times(1),
    );
    let remove = json!([{"op": "remove", "path": "members", "value": [{"value": "999999"}]}]);
    assert_eq!(
        fx.engine.patch("Group", &gid, &patch_body(&remove)).await?,
        None
    );
    // With the member present, a 404 still means the group is gone.
    let ids = new_users(&fx, &["ann"]).await?;
    fx.demo.inject(
        Fault::status(404)
            .on("POST /api/v1/teams/{id}/members")
            .times(1),
    );
    let add = json!([{"op": "add", "path": "members", "value": [{"value": ids[0]}]}]);
    let error = fx
        .engine
        .patch("Group", &gid, &patch_body(&add))
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 404, "{}", scim.detail);
    assert!(members_of(&fx, team)?.is_empty());
    Ok(())
}

/// The demo mapping with groups re-read after a create and a replace (so a re-read can fail
/// after the write landed).
fn rereading_groups() -> String {
    DEMO_MAPPING
        .replace(
            "create:  { method: POST,   path: /api/v1/teams }",
            "create:  { method: POST,   path: /api/v1/teams, reread: true }",
        )
        .replace(
            "replace: { method: PUT,    path: \"/api/v1/teams/{id}\" }",
            "replace: { method: PUT,    path: \"/api/v1/teams/{id}\", reread: true }",
        )
}

#[tokio::test]
async fn a_group_put_whose_reread_fails_after_the_rename_landed_undoes_the_rename_too() -> Result<()>
{
    let fx = fixture().await?;
    let yaml = rereading_groups();
    assert_ne!(yaml, DEMO_MAPPING, "the mapping variant applies");
    let engine = engine_for(
        &fx.demo.base_url(),
        &yaml,
        fx.store.clone(),
        EngineOptions::default(),
    )?;
    let (gid, team) = new_group(&fx, "Before").await?;
    let ids = new_users(&fx, &["ann", "ben"]).await?;
    // The first GET of the team (the PUT's read) passes; the re-read after the write fails.
    fx.demo
        .inject(Fault::status(500).on("GET /api/v1/teams/{id}").after(1));
    let error = engine
        .replace(
            "Group",
            &gid,
            &json!({"schemas": [GROUP], "displayName": "After",
                    "members": [{"value": ids[0]}, {"value": ids[1]}]}),
        )
        .await
        .unwrap_err();
    fx.demo.clear_faults();
    let scim = ScimError::from(error);
    assert!(scim.status >= 500, "{}", scim.detail);
    assert_eq!(
        name_of(&fx, team)?,
        "Before",
        "the rename is undone: {}",
        scim.detail
    );
    assert!(members_of(&fx, team)?.is_empty(), "{}", scim.detail);
    Ok(())
}

#[tokio::test]
async fn a_group_post_whose_reread_fails_after_members_landed_deletes_the_group() -> Result<()> {
    let fx = fixture().await?;
    let engine = engine_for(
        &fx.demo.base_url(),
        &rereading_groups(),
        fx.store.clone(),
        EngineOptions::default(),
    )?;
    let ids = new_users(&fx, &["ann", "ben"]).await?;
    fx.demo
        .inject(Fault::status(500).on("GET /api/v1/teams/{id}"));
    let error = engine
        .create(
            "Group",
            &json!({"schemas": [GROUP], "displayName": "Sales",
                    "members": [{"value": ids[0]}, {"value": ids[1]}]}),
        )
        .await
        .unwrap_err();
    fx.demo.clear_faults();
    let scim = ScimError::from(error);
    assert!(scim.status >= 500, "{}", scim.detail);
    assert_eq!(
        fx.demo.team_count(),
        0,
        "the group is deleted again: {}",
        scim.detail
    );
    Ok(())
}
