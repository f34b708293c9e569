//! Entra's group flows through the gateway against Redmine: create, filter, add two members,
//! re-add one (Redmine's 422 "User is invalid"), remove one, rename, delete. Each check's name
//! is the one the former `scripts/redmine/e2e.sh` printed.

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::json;

use super::{GROUP_SCHEMA, Gateway, ids, run_id, serial, start};
use crate::live::id_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_group_flows_against_redmine() -> Result<()> {
    let Some(gw) = start().await? else {
        return Ok(());
    };
    let _serial = serial().await;
    let outcome = group_flows(&gw).await;
    gw.with_log(outcome)
}

async fn group_flows(gw: &Gateway) -> Result<()> {
    let rm = &gw.redmine;
    let run = run_id();
    let (a_id, a_rm) = gw.create_user(&format!("e2e-{run}@example.com")).await?;
    let (b_id, _) = gw
        .create_user(&format!("pre-e2e-{run}@example.com"))
        .await?;

    let g = format!("e2e-group-{run}");
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": g, "externalId": format!("g-{run}"), "members": []});
    let created = gw
        .scim(
            "group create answers 201",
            Method::POST,
            "/Groups",
            Some(&body),
            201,
        )
        .await?;
    let g_id = id_of(&created)?;
    let found = gw
        .filter("Groups", &format!("displayName eq \"{g}\""))
        .await?;
    check!(
        "group filter by displayName",
        ids(&found),
        vec![json!(g_id)],
    )?;
    let g_rm = rm
        .group_id(&g)
        .await?
        .context("Redmine has no such group")?;
    let add =
        |members: serde_json::Value| json!([{"op": "Add", "path": "members", "value": members}]);
    let (status, _) = gw
        .patch_status(
            "Groups",
            &g_id,
            add(json!([{"value": a_id}, {"value": b_id}])),
            false,
        )
        .await?;
    check!("add 2 members answers 204", status, 204)?;
    check!("Redmine has 2 members", rm.members(g_rm).await?.len(), 2)?;
    // Entra sends Add for members already in the group; Redmine answers 422 "User is invalid".
    let (status, _) = gw
        .patch_status("Groups", &g_id, add(json!([{"value": a_id}])), false)
        .await?;
    check!("re-adding a member answers 204", status, 204)?;
    let members = rm.members(g_rm).await?;
    check!(
        "Redmine has the member once, the group still 2",
        (
            members.iter().filter(|m| **m == a_rm).count(),
            members.len(),
        ),
        (1, 2),
    )?;
    let remove = json!([{"op": "Remove", "path": format!("members[value eq \"{b_id}\"]")}]);
    let (status, _) = gw.patch_status("Groups", &g_id, remove, false).await?;
    check!("remove 1 member answers 204", status, 204)?;
    check!(
        "Redmine keeps the other member",
        rm.members(g_rm).await?,
        vec![a_rm],
    )?;
    let g_path = format!("/Groups/{g_id}");
    let read = gw.expect(Method::GET, &g_path, None, false, 200).await?;
    let values: Vec<_> = read["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["value"].clone())
        .collect();
    check!(
        "the group lists its member by SCIM id",
        values,
        vec![json!(a_id)],
    )?;
    let renamed = format!("{g}-renamed");
    let rename = json!([{"op": "Replace", "path": "displayName", "value": renamed}]);
    let (status, _) = gw.patch_status("Groups", &g_id, rename, false).await?;
    check!("rename answers 204", status, 204)?;
    let read = gw.expect(Method::GET, &g_path, None, false, 200).await?;
    check!(
        "the group has the new name",
        &read["displayName"],
        &json!(renamed),
    )?;
    let held = rm
        .call(Method::GET, &format!("/groups/{g_rm}.json"), None)
        .await?;
    check!(
        "Redmine has the new name",
        &held.body["group"]["name"],
        &json!(renamed),
    )?;
    gw.scim(
        "group delete answers 204",
        Method::DELETE,
        &g_path,
        None,
        204,
    )
    .await?;
    gw.scim("a deleted group is 404", Method::GET, &g_path, None, 404)
        .await?;

    for id in [a_id, b_id] {
        gw.scim(
            "delete a member user",
            Method::DELETE,
            &format!("/Users/{id}"),
            None,
            204,
        )
        .await?;
    }
    Ok(())
}
