//! Entra's group flows against RT: create, match, members added (again, too) and removed with
//! and without the flag, remove-all, rename, duplicate, delete and the same name again; and a
//! member list read past several pages.

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Rt, entra_group, entra_user, id_of, rt_id, start, unique};

/// Creates `n` users through the gateway; their SCIM ids and RT numbers.
async fn users(rt: &Rt, n: usize) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for _ in 0..n {
        let name = unique("member");
        let created = rt
            .expect(
                Method::POST,
                "/Users",
                Some(&entra_user(&name, &uuid::Uuid::new_v4().to_string())),
                false,
                201,
            )
            .await?;
        out.push((id_of(&created)?, rt_id(&rt.rt_user(&name).await?)?));
    }
    Ok(out)
}

fn values(ids: &[&(String, i64)]) -> Value {
    Value::Array(
        ids.iter()
            .map(|(id, _)| json!({"$ref": null, "value": id}))
            .collect(),
    )
}

fn sorted(ids: &[&(String, i64)]) -> Vec<i64> {
    let mut out: Vec<i64> = ids.iter().map(|(_, n)| *n).collect();
    out.sort_unstable();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_group_flows_against_request_tracker() -> Result<()> {
    let Some(rt) = start(str::to_owned).await? else {
        return Ok(());
    };
    let people = users(&rt, 3).await?;
    let (a, b, c) = (&people[0], &people[1], &people[2]);
    let name = format!("Sales {}", uuid::Uuid::new_v4().simple());

    let none = rt
        .filter("Groups", &format!("displayName eq \"{name}\""))
        .await?;
    assert_eq!(none["totalResults"], 0, "{none}");
    let created = rt
        .expect(
            Method::POST,
            "/Groups",
            Some(&entra_group(&name)),
            false,
            201,
        )
        .await?;
    let id = id_of(&created)?;
    assert_eq!(created["displayName"], json!(name));
    let group = rt.rt_group(&name).await?.context("RT has the group")?;
    let number = group["id"].clone();
    let found = rt
        .filter("Groups", &format!("displayName eq \"{name}\""))
        .await?;
    assert_eq!(found["Resources"][0]["id"], json!(id), "{found}");
    assert!(found["Resources"][0].get("members").is_none(), "{found}");

    // A second group of the same name: 409 (RT: "Group name '…' is already in use").
    let (status, dup) = rt
        .send(Method::POST, "/Groups", Some(&entra_group(&name)), false)
        .await?;
    assert_eq!(status.as_u16(), 409, "{dup}");
    assert_eq!(dup["scimType"], json!("uniqueness"), "{dup}");

    // Add two members in one op, then one of them again (Entra does): RT says "already has
    // member" with a 200; the member is there once.
    let add = |ids: Value| json!([{"op": "Add", "path": "members", "value": ids}]);
    rt.patch("Groups", &id, add(values(&[a, b])), false).await?;
    assert_eq!(rt.rt_members(&number).await?, sorted(&[a, b]));
    rt.patch("Groups", &id, add(values(&[a])), false).await?;
    assert_eq!(rt.rt_members(&number).await?, sorted(&[a, b]));

    // Remove without the flag (a value list: only those), with the flag (a value filter).
    rt.patch(
        "Groups",
        &id,
        json!([{"op": "Remove", "path": "members", "value": [{"value": a.0}]}]),
        false,
    )
    .await?;
    assert_eq!(rt.rt_members(&number).await?, sorted(&[b]));
    rt.patch(
        "Groups",
        &id,
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", b.0)}]),
        true,
    )
    .await?;
    assert_eq!(rt.rt_members(&number).await?, Vec::<i64>::new());

    // Remove-all: every member goes.
    rt.patch("Groups", &id, add(values(&[a, b, c])), true)
        .await?;
    assert_eq!(rt.rt_members(&number).await?, sorted(&[a, b, c]));
    let read = rt
        .expect(Method::GET, &format!("/Groups/{id}"), None, false, 200)
        .await?;
    assert_eq!(read["members"].as_array().map(Vec::len), Some(3), "{read}");
    rt.patch(
        "Groups",
        &id,
        json!([{"op": "remove", "path": "members"}]),
        true,
    )
    .await?;
    assert_eq!(rt.rt_members(&number).await?, Vec::<i64>::new());

    // Rename.
    let renamed = format!("{name} EMEA");
    rt.patch(
        "Groups",
        &id,
        json!([{"op": "Replace", "path": "displayName", "value": renamed}]),
        false,
    )
    .await?;
    let held = rt
        .rt_group(&renamed)
        .await?
        .context("RT has the new name")?;
    assert_eq!(held["id"], number);

    // Delete: gone for SCIM, and its name is free for a new group.
    rt.expect(Method::DELETE, &format!("/Groups/{id}"), None, false, 204)
        .await?;
    rt.expect(Method::GET, &format!("/Groups/{id}"), None, false, 404)
        .await?;
    let gone = rt
        .filter("Groups", &format!("displayName eq \"{renamed}\""))
        .await?;
    assert_eq!(gone["totalResults"], 0, "{gone}");
    let again = rt
        .expect(
            Method::POST,
            "/Groups",
            Some(&entra_group(&renamed)),
            false,
            201,
        )
        .await?;
    assert_ne!(id_of(&again)?, id);
    let new = rt.rt_group(&renamed).await?.context("the new group")?;
    assert_ne!(new["id"], number, "a new RT group");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_tracker_member_lists_are_read_past_several_pages() -> Result<()> {
    // The shipped mapping with 2 members a page, so 7 members take 4 pages.
    let Some(rt) = start(|text| {
        let at = text.rfind("max_page_size: 100").unwrap_or(text.len());
        format!(
            "{}max_page_size: 2{}",
            &text[..at],
            &text[at + "max_page_size: 100".len()..]
        )
    })
    .await?
    else {
        return Ok(());
    };
    let people = users(&rt, 7).await?;
    let all: Vec<&(String, i64)> = people.iter().collect();
    let name = format!("Paged {}", uuid::Uuid::new_v4().simple());
    let created = rt
        .expect(
            Method::POST,
            "/Groups",
            Some(&entra_group(&name)),
            false,
            201,
        )
        .await?;
    let id = id_of(&created)?;
    let number = rt.rt_group(&name).await?.context("RT group")?["id"].clone();
    rt.patch(
        "Groups",
        &id,
        json!([{"op": "Add", "path": "members", "value": values(&all)}]),
        false,
    )
    .await?;
    assert_eq!(rt.rt_members(&number).await?, sorted(&all));
    let read = rt
        .expect(Method::GET, &format!("/Groups/{id}"), None, false, 200)
        .await?;
    let mut seen: Vec<String> = read["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    seen.sort();
    let mut want: Vec<String> = people.iter().map(|(id, _)| id.clone()).collect();
    want.sort();
    assert_eq!(seen, want, "every page of members is read");
    // Entra's member check on the last page's member.
    let last = &people[6].0;
    let check = rt
        .filter(
            "Groups",
            &format!("id eq \"{id}\" and members eq \"{last}\""),
        )
        .await?;
    assert_eq!(check["totalResults"], 1, "{check}");
    // Remove-all reads every page and removes every member.
    rt.patch(
        "Groups",
        &id,
        json!([{"op": "remove", "path": "members"}]),
        true,
    )
    .await?;
    assert_eq!(rt.rt_members(&number).await?, Vec::<i64>::new());
    Ok(())
}
