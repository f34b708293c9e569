//! Redmine gives the next user or group the id of the highest-numbered one deleted: a SCIM id
//! must never reach the newcomer. Users (identity `created_on`), with the newcomer created
//! through the gateway and directly in Redmine; groups (identity: the unique name, Redmine
//! groups have no timestamp). Each check's name is the one the former
//! `scripts/redmine/e2e.sh` printed.

use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::json;

use super::{Gateway, group_body, ids, run_id, serial, start};
use crate::live::id_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_user_ids_never_reach_the_newcomer() -> Result<()> {
    let Some(gw) = start().await? else {
        return Ok(());
    };
    let _serial = serial().await;
    let outcome = user_reuse(&gw).await;
    gw.with_log(outcome)
}

async fn user_reuse(gw: &Gateway) -> Result<()> {
    let rm = &gw.redmine;
    let run = run_id();
    let (d_id, d_rm) = gw
        .create_user(&format!("reuse-d-{run}@example.com"))
        .await?;
    let deleted = rm
        .call(Method::DELETE, &format!("/users/{d_rm}.json"), None)
        .await?;
    check!(
        "the newest user deleted in Redmine directly",
        deleted.status,
        204,
    )?;
    let e = format!("reuse-e-{run}@example.com");
    let body = super::entra_user(&e, &uuid::Uuid::new_v4().to_string(), &e);
    let created = gw
        .scim(
            "the next create through the gateway",
            Method::POST,
            "/Users",
            Some(&body),
            201,
        )
        .await?;
    let e_id = id_of(&created)?;
    check!(
        "Redmine reused the deleted user's id",
        rm.user_id(&e).await?,
        Some(d_rm),
    )?;
    check!("the new user has a new SCIM id", e_id != d_id, true)?;
    let d_path = format!("/Users/{d_id}");
    gw.scim(
        "the deleted user's SCIM id stays 404",
        Method::GET,
        &d_path,
        None,
        404,
    )
    .await?;
    let read = gw
        .expect(Method::GET, &format!("/Users/{e_id}"), None, false, 200)
        .await?;
    check!("the new user reads as itself", &read["userName"], &json!(e))?;

    // The same, with the newcomer created in Redmine directly: only the identity check can tell.
    let (f_id, f_rm) = gw
        .create_user(&format!("reuse-f-{run}@example.com"))
        .await?;
    rm.call(Method::DELETE, &format!("/users/{f_rm}.json"), None)
        .await?;
    tokio::time::sleep(Duration::from_millis(1100)).await; // Redmine's created_on has whole seconds
    let h = format!("reuse-h-{run}@example.com");
    let direct = json!({"user": {"login": h, "firstname": "Ha", "lastname": "Direct", "mail": h}});
    let made = rm.call(Method::POST, "/users.json", Some(&direct)).await?;
    check!(
        "Redmine reused the id for a user made directly",
        made.id("user")?,
        f_rm,
    )?;
    let f_path = format!("/Users/{f_id}");
    gw.scim(
        "the deleted user's SCIM id is 404, not the newcomer",
        Method::GET,
        &f_path,
        None,
        404,
    )
    .await?;
    let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    let (status, _) = gw.patch_status("Users", &f_id, ops, false).await?;
    check!("a PATCH on it is 404 too", status, 404)?;
    let held = rm
        .call(Method::GET, &format!("/users/{f_rm}.json"), None)
        .await?;
    check!(
        "and the newcomer was not touched",
        &held.body["user"]["status"],
        &json!(1),
    )?;
    let found = gw.filter("Users", &format!("userName eq \"{h}\"")).await?;
    check!(
        "the newcomer is found by filter",
        &found["totalResults"],
        &json!(1),
    )?;
    check!(
        "under a SCIM id of its own",
        found["Resources"][0]["id"] != json!(f_id),
        true,
    )?;

    gw.scim(
        "clean up",
        Method::DELETE,
        &format!("/Users/{e_id}"),
        None,
        204,
    )
    .await?;
    rm.call(Method::DELETE, &format!("/users/{f_rm}.json"), None)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_group_ids_never_reach_the_newcomer() -> Result<()> {
    let Some(gw) = start().await? else {
        return Ok(());
    };
    let _serial = serial().await;
    let outcome = group_reuse(&gw).await;
    gw.with_log(outcome)
}

async fn group_reuse(gw: &Gateway) -> Result<()> {
    let rm = &gw.redmine;
    let run = run_id();
    let (e_id, _) = gw
        .create_user(&format!("reuse-g-{run}@example.com"))
        .await?;
    let post = |name: &str| {
        let body = group_body(name);
        async move { gw.send(Method::POST, "/Groups", Some(&body), false).await }
    };
    let ga = format!("e2e-reuse-a-{run}");
    let (_, created) = post(&ga).await?;
    let ga_id = id_of(&created)?;
    let ga_rm = rm.group_id(&ga).await?.context("Redmine has no group A")?;
    let deleted = rm
        .call(Method::DELETE, &format!("/groups/{ga_rm}.json"), None)
        .await?;
    check!(
        "the newest group deleted in Redmine directly",
        deleted.status,
        204,
    )?;
    let gb = format!("e2e-reuse-b-{run}");
    let made = rm
        .call(
            Method::POST,
            "/groups.json",
            Some(&json!({"group": {"name": gb}})),
        )
        .await?;
    check!(
        "Redmine reused the id for a group made directly",
        made.id("group")?,
        ga_rm,
    )?;
    let ga_path = format!("/Groups/{ga_id}");
    gw.scim(
        "the deleted group's SCIM id is 404, not the newcomer",
        Method::GET,
        &ga_path,
        None,
        404,
    )
    .await?;
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": e_id}]}]);
    let (status, _) = gw.patch_status("Groups", &ga_id, add, false).await?;
    check!("a member add on it is 404 too", status, 404)?;
    check!(
        "and the newcomer got no member",
        rm.members(ga_rm).await?.len(),
        0,
    )?;
    let found = gw
        .filter("Groups", &format!("displayName eq \"{gb}\""))
        .await?;
    check!(
        "the newcomer group is found by filter",
        &found["totalResults"],
        &json!(1),
    )?;
    check!(
        "under a SCIM id of its own",
        found["Resources"][0]["id"] != json!(ga_id),
        true,
    )?;
    let gb_id = ids(&found)
        .first()
        .and_then(|v| v.as_str().map(str::to_owned))
        .context("no newcomer id")?;
    rm.call(Method::DELETE, &format!("/groups/{ga_rm}.json"), None)
        .await?;
    let gc = format!("e2e-reuse-c-{run}");
    let (status, created) = post(&gc).await?;
    check!(
        "the next group create through the gateway",
        status.as_u16(),
        201,
    )?;
    let gc_id = id_of(&created)?;
    check!(
        "Redmine reused the id again",
        rm.group_id(&gc).await?,
        Some(ga_rm),
    )?;
    check!(
        "the new group has a new SCIM id",
        gc_id != gb_id && gc_id != ga_id,
        true,
    )?;
    let gb_path = format!("/Groups/{gb_id}");
    gw.scim(
        "the deleted group's SCIM id stays 404",
        Method::GET,
        &gb_path,
        None,
        404,
    )
    .await?;
    let gc_path = format!("/Groups/{gc_id}");
    let read = gw.expect(Method::GET, &gc_path, None, false, 200).await?;
    check!(
        "the new group reads as itself",
        &read["displayName"],
        &json!(gc),
    )?;
    gw.scim(
        "group delete answers 204",
        Method::DELETE,
        &gc_path,
        None,
        204,
    )
    .await?;
    gw.scim(
        "clean up",
        Method::DELETE,
        &format!("/Users/{e_id}"),
        None,
        204,
    )
    .await?;
    Ok(())
}
