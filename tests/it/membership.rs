//! Issue 13 over the wire: the whole gateway over HTTPS in front of the demo API (the Entra
//! suite's fixture), for the issue's own reproduction (a group of 60 members) and every
//! atomicity case it lists. The engine-level tests at 1,000 and 10,000 members and the k-th
//! call fault sweeps are in `engine::membership`.

use scimgate::demo::Fault;
use serde_json::{Value, json};

use crate::entra::support::{CORE_GROUP, Flag, Gateway, encode, gateway, numeric};

fn team_name(gw: &Gateway, gid: &str) -> String {
    gw.demo
        .team(numeric(gid))
        .and_then(|t| t["name"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn seed(gw: &Gateway, gid: &str, count: usize) -> Vec<u64> {
    gw.demo
        .seed_members(numeric(gid), count)
        .unwrap_or_else(|| panic!("no team {gid}"))
}

fn detail(body: &Value) -> String {
    body["detail"].as_str().unwrap_or_default().to_owned()
}

/// The issue's reproduction, with a group of 60 members (more than one backend page).
#[tokio::test]
async fn issue_13_a_group_of_60_is_read_and_written_whole() {
    let gw = gateway().await;
    let (gid, _) = gw.new_group("sixty").await;
    let members = seed(&gw, &gid, 60);
    let last = members.last().copied().unwrap_or_default().to_string();

    let group = gw
        .get(&format!("/Groups/{gid}"), Flag::Off)
        .await
        .expect(200);
    assert_eq!(
        group["members"].as_array().map_or(0, Vec::len),
        60,
        "{group}"
    );

    let filter = format!(r#"id eq "{gid}" and members eq "{last}""#);
    let found = gw
        .get(
            &format!(
                "/Groups?filter={}&excludedAttributes=members",
                encode(&filter)
            ),
            Flag::Off,
        )
        .await
        .expect(200);
    assert_eq!(found["totalResults"], 1, "{found}");

    gw.patch(
        &format!("/Groups/{gid}"),
        Flag::Off,
        json!([{"op": "remove", "path": "members"}]),
    )
    .await
    .expect_no_content();
    assert_eq!(gw.members(&gid).len(), 0);

    let again = seed(&gw, &gid, 60);
    let body = json!({"schemas": [CORE_GROUP], "displayName": team_name(&gw, &gid),
                      "members": [{"value": again[0].to_string()}]});
    gw.send_json("PUT", &format!("/Groups/{gid}"), Flag::Off, &body)
        .await
        .expect(200);
    assert_eq!(gw.members(&gid), vec![again[0]]);
}

#[tokio::test]
async fn issue_13_patch_rename_plus_unknown_member_is_400_and_renames_nothing() {
    let gw = gateway().await;
    let (gid, name) = gw.new_group("rename").await;
    let body = gw
        .patch(
            &format!("/Groups/{gid}"),
            Flag::Off,
            json!([
                {"op": "replace", "path": "displayName", "value": "Renamed"},
                {"op": "add", "path": "members", "value": [{"value": "999999"}]}
            ]),
        )
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(detail(&body).contains("999999"), "{body}");
    assert_eq!(team_name(&gw, &gid), name);
}

#[tokio::test]
async fn issue_13_known_plus_unknown_members_is_400_and_adds_nobody() {
    let gw = gateway().await;
    let (gid, _) = gw.new_group("known").await;
    let (uid, _) = gw.new_user("known").await;
    let body = gw
        .patch(
            &format!("/Groups/{gid}"),
            Flag::Off,
            json!([{"op": "add", "path": "members", "value": [
                {"value": uid}, {"value": "999998"}, {"value": "999999"}
            ]}]),
        )
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(
        detail(&body).contains("999998") && detail(&body).contains("999999"),
        "{body}"
    );
    assert!(gw.members(&gid).is_empty());
}

#[tokio::test]
async fn issue_13_post_group_with_unknown_member_is_400_and_creates_nothing() {
    let gw = gateway().await;
    let (uid, _) = gw.new_user("post").await;
    let body = json!({"schemas": [CORE_GROUP], "displayName": "Orphan",
                      "members": [{"value": uid}, {"value": "999999"}]});
    let error = gw
        .post("/Groups", Flag::Off, &body)
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(detail(&error).contains("999999"), "{error}");
    assert_eq!(gw.demo.team_count(), 0, "no orphan group");
}

#[tokio::test]
async fn issue_13_put_rename_plus_unknown_member_is_400_and_renames_nothing() {
    let gw = gateway().await;
    let (gid, name) = gw.new_group("put").await;
    let body = json!({"schemas": [CORE_GROUP], "displayName": "Renamed",
                      "members": [{"value": "999999"}]});
    let error = gw
        .send_json("PUT", &format!("/Groups/{gid}"), Flag::Off, &body)
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(detail(&error).contains("999999"), "{error}");
    assert_eq!(team_name(&gw, &gid), name);
}

/// A failure after member calls landed: undone (5xx, backend as it began); with the undo
/// failing too, the 5xx names what is still in place.
#[tokio::test]
async fn issue_13_a_late_failure_is_undone_or_named() {
    let gw = gateway().await;
    let (gid, name) = gw.new_group("late").await;
    let (a, _) = gw.new_user("late-a").await;
    let (b, _) = gw.new_user("late-b").await;
    let ops = json!([
        {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]},
        {"op": "replace", "path": "displayName", "value": "Late renamed"}
    ]);
    // The rename (the last write) fails: both adds are undone.
    gw.demo
        .inject(Fault::status(500).on("PUT /api/v1/teams/{id}").times(1));
    let reply = gw
        .patch(&format!("/Groups/{gid}"), Flag::Off, ops.clone())
        .await;
    assert!(reply.status.is_server_error(), "{reply:?}");
    assert!(gw.members(&gid).is_empty());
    assert_eq!(team_name(&gw, &gid), name);
    // Again, and the first undo (removing b) fails too.
    gw.demo
        .inject(Fault::status(500).on("PUT /api/v1/teams/{id}").times(1));
    gw.demo.inject(
        Fault::status(500)
            .on("DELETE /api/v1/teams/{id}/members/{user_id}")
            .times(1),
    );
    let reply = gw.patch(&format!("/Groups/{gid}"), Flag::Off, ops).await;
    assert!(reply.status.is_server_error(), "{reply:?}");
    let body = reply.json();
    let text = detail(&body);
    assert!(
        text.contains(&format!(
            "still in place: added member {a}, added member {b}"
        )),
        "{text}"
    );
    assert!(text.contains("not applied: change of group"), "{text}");
    assert_eq!(gw.members(&gid).len(), 2);
}

/// A request applied in part (its undo failed) is audited with exactly what landed.
#[tokio::test]
async fn issue_13_a_partial_change_is_audited_with_what_landed() {
    use crate::obs::{As, start};
    let gw = start().await.expect("gateway");
    let group = gw
        .scim(
            As::Alpha,
            "POST",
            "/Groups",
            Some(&json!({"schemas": [CORE_GROUP], "displayName": "audited"})),
        )
        .await
        .expect(201);
    let gid = group["id"].as_str().expect("id").to_owned();
    let mut users = Vec::new();
    for name in ["pa", "pb"] {
        let user = gw
            .scim(
                As::Alpha,
                "POST",
                "/Users",
                Some(&crate::entra::support::entra_user(
                    &format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple()),
                    name,
                )),
            )
            .await
            .expect(201);
        users.push(user["id"].as_str().expect("id").to_owned());
    }
    // The rename (last write) fails, and so does the first undo.
    gw.demo()
        .inject(Fault::status(500).on("PUT /api/v1/teams/{id}").times(1));
    gw.demo().inject(
        Fault::status(500)
            .on("DELETE /api/v1/teams/{id}/members/{user_id}")
            .times(1),
    );
    let body = crate::entra::support::patch_body(&json!([
        {"op": "add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}]},
        {"op": "replace", "path": "displayName", "value": "audited renamed"}
    ]));
    let answer = gw
        .scim(As::Alpha, "PATCH", &format!("/Groups/{gid}"), Some(&body))
        .await;
    assert!(answer.status >= 500, "{}", answer.text);
    let trail = gw
        .send(
            As::Alpha,
            "GET",
            &gw.main_url(&format!(
                "/admin/audit?since=2000-01-01T00:00:00Z&scimId={gid}"
            )),
            None,
            None,
        )
        .await
        .expect(200);
    let entries = trail["entries"].as_array().cloned().unwrap_or_default();
    let patch = entries
        .iter()
        .find(|e| e["operation"] == "patch" && e["kind"] == "Group")
        .unwrap_or_else(|| panic!("no patch entry: {trail}"));
    let outcome = patch["outcome"].as_str().unwrap_or_default();
    assert!(answer.text.contains("still in place"), "{}", answer.text);
    assert!(
        outcome.starts_with(&format!(
            "partial: still in place: added member {}, added member {}",
            users[0], users[1]
        )),
        "{outcome}"
    );
    assert!(
        outcome.contains("not applied: change of group"),
        "{outcome}"
    );
}
