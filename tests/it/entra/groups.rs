//! §5 cases 54–64: groups and their members.

use serde_json::json;

use super::support::{
    FLAGS, Flag, assert_list, encode, entra_group, gateway, id_of, numeric, unique,
};

/// Case 54: Entra's group match: one group, no `members` key.
#[tokio::test]
async fn case_54_group_filter_excludes_members() {
    let gw = gateway().await;
    let (gid, name) = gw.new_group("Sales").await;
    let (uid, _) = gw.new_user("case54").await;
    gw.patch(
        &format!("/Groups/{gid}"),
        Flag::Off,
        json!([{"op":"Add","path":"members","value":[{"value":uid}]}]),
    )
    .await
    .expect_no_content();
    let list = gw
        .filter(
            "Groups",
            &format!("displayName eq \"{name}\""),
            "&excludedAttributes=members",
        )
        .await
        .expect(200);
    assert_list(&list);
    assert_eq!(list["totalResults"], 1);
    let group = &list["Resources"][0];
    assert_eq!(group["id"], json!(gid));
    assert_eq!(group["displayName"], json!(name));
    assert!(group.get("members").is_none(), "{group}");
    // displayName is caseExact=false.
    let upper = gw
        .filter(
            "Groups",
            &format!("displayName eq \"{}\"", name.to_uppercase()),
            "&excludedAttributes=members",
        )
        .await
        .expect(200);
    assert_eq!(upper["totalResults"], 1);
}

/// Case 55: Microsoft's group body → 201 with id, displayName, externalId, `members: []`.
#[tokio::test]
async fn case_55_microsoft_group_body_is_201() {
    let gw = gateway().await;
    for flag in FLAGS {
        let name = unique("case55");
        let external = uuid::Uuid::new_v4().to_string();
        let mut body = entra_group(&name, &external);
        // The older Microsoft guideline also sends a client id and an empty member list.
        body["id"] = json!("client-group-id");
        body["members"] = json!([]);
        let reply = gw.post("/Groups", flag, &body).await;
        let group = reply.expect(201);
        let id = id_of(&group);
        assert_ne!(id, "client-group-id");
        assert_eq!(group["displayName"], json!(name));
        assert_eq!(group["externalId"], json!(external));
        assert_eq!(group["members"], json!([]), "{group}");
        assert_eq!(group["meta"]["resourceType"], "Group");
        assert!(
            reply
                .header("location")
                .is_some_and(|l| l.ends_with(&format!("/Groups/{id}")))
        );
        assert_eq!(
            gw.demo.team(numeric(&id)).expect("team")["name"],
            json!(name)
        );
        assert_eq!(gw.members(&id), Vec::<u64>::new());
    }
    assert_eq!(gw.calls("POST /api/v1/teams"), 2);
}

/// POST and PUT `/Groups` answer with the group's `members` as the backend holds them, unless
/// `excludedAttributes=members` (RFC 7644 §3.3 and §3.5.1: the answer is the resource).
#[tokio::test]
async fn group_writes_answer_with_members_unless_excluded() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (first, _) = gw.new_user("members-a").await;
        let (second, _) = gw.new_user("members-b").await;
        let mut body = entra_group(&unique("with-members"), &unique("ext"));
        body["members"] = json!([{"value": first}]);
        let created = gw.post("/Groups", flag, &body).await.expect(201);
        let id = id_of(&created);
        let values = |group: &serde_json::Value| {
            let mut values: Vec<String> = group["members"]
                .as_array()
                .unwrap_or_else(|| panic!("no members in {group}"))
                .iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect();
            values.sort();
            values
        };
        assert_eq!(values(&created), vec![first.clone()], "{created}");
        let mut both = vec![first.clone(), second.clone()];
        both.sort();
        let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                         "displayName": unique("renamed"),
                         "members": [{"value": first}, {"value": second}]});
        let replaced = gw
            .send_json("PUT", &format!("/Groups/{id}"), flag, &put)
            .await
            .expect(200);
        assert_eq!(values(&replaced), both, "{replaced}");
        // A PUT without `members` keeps them, and says so.
        let rename = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                            "displayName": unique("renamed-again")});
        let renamed = gw
            .send_json("PUT", &format!("/Groups/{id}"), flag, &rename)
            .await
            .expect(200);
        assert_eq!(values(&renamed), both, "{renamed}");
        // Excluded: no `members`, and no member read.
        let reads = gw.calls("GET /api/v1/teams/{id}/members");
        let excluded = gw
            .send_json(
                "PUT",
                &format!("/Groups/{id}?excludedAttributes=members"),
                flag,
                &rename,
            )
            .await
            .expect(200);
        assert!(excluded.get("members").is_none(), "{excluded}");
        assert_eq!(gw.calls("GET /api/v1/teams/{id}/members"), reads);
        let mut body = entra_group(&unique("excluded"), &unique("ext"));
        body["members"] = json!([]);
        let created = gw
            .send_json("POST", "/Groups?excludedAttributes=members", flag, &body)
            .await
            .expect(201);
        assert!(created.get("members").is_none(), "{created}");
    }
}

/// Case 56: a second group with the same displayName is `409 uniqueness`.
#[tokio::test]
async fn case_56_duplicate_group_name_is_409() {
    let gw = gateway().await;
    let (_, name) = gw.new_group("case56").await;
    for flag in FLAGS {
        let error = gw
            .post("/Groups", flag, &entra_group(&name, &unique("ext")))
            .await
            .expect_error(409, Some("uniqueness"));
        assert!(error["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert_eq!(gw.demo.team_count(), 1);
}

/// Case 57: the group read before an update never carries `members`.
#[tokio::test]
async fn case_57_group_by_id_excludes_members() {
    let gw = gateway().await;
    let (gid, name) = gw.new_group("case57").await;
    let (uid, _) = gw.new_user("case57").await;
    gw.patch(
        &format!("/Groups/{gid}"),
        Flag::Off,
        json!([{"op":"Add","path":"members","value":[{"value":uid}]}]),
    )
    .await
    .expect_no_content();
    for flag in FLAGS {
        let group = gw
            .get(&format!("/Groups/{gid}?excludedAttributes=members"), flag)
            .await
            .expect(200);
        assert_eq!(group["id"], json!(gid));
        assert_eq!(group["displayName"], json!(name));
        assert!(group.get("members").is_none(), "{group}");
    }
    // Without the exclusion the member is there (otherwise the exclusion above would prove
    // nothing: RFC 7643 §4.2 `members` belongs to a Group).
    let full = gw
        .get(&format!("/Groups/{gid}"), Flag::Off)
        .await
        .expect(200);
    assert_eq!(full["members"][0]["value"], json!(uid), "{full}");
}

/// Case 58 [no-flag]: Add members, `$ref: null` and without `$ref`.
#[tokio::test]
async fn case_58_add_members() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (gid, _) = gw.new_group("case58").await;
        let (u1, _) = gw.new_user("case58-a").await;
        let (u2, _) = gw.new_user("case58-b").await;
        gw.patch(
            &format!("/Groups/{gid}"),
            flag,
            json!([{"op":"Add","path":"members","value":[{"$ref":null,"value":u1},{"value":u2}]}]),
        )
        .await
        .expect_no_content();
        assert_eq!(gw.members(&gid), vec![numeric(&u1), numeric(&u2)]);
    }
    // Member adds are member calls, never a group rewrite.
    assert_eq!(gw.calls("POST /api/v1/teams/{id}/members"), 4);
    assert_eq!(gw.calls("PUT /api/v1/teams/{id}"), 0);
}

/// Case 59 [no-flag]: Remove with a value list removes only the listed member.
#[tokio::test]
async fn case_59_remove_listed_member_only() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (gid, _) = gw.new_group("case59").await;
        let (u1, _) = gw.new_user("case59-a").await;
        let (u2, _) = gw.new_user("case59-b").await;
        gw.patch(
            &format!("/Groups/{gid}"),
            flag,
            json!([{"op":"Add","path":"members","value":[{"value":u1},{"value":u2}]}]),
        )
        .await
        .expect_no_content();
        gw.patch(
            &format!("/Groups/{gid}"),
            flag,
            json!([{"op":"Remove","path":"members","value":[{"$ref":null,"value":u1}]}]),
        )
        .await
        .expect_no_content();
        assert_eq!(gw.members(&gid), vec![numeric(&u2)]);
    }
    assert_eq!(gw.calls("PUT /api/v1/teams/{id}"), 0);
}

/// Case 60 [flag]: remove by value filter removes only that member.
#[tokio::test]
async fn case_60_remove_member_by_value_filter() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (gid, _) = gw.new_group("case60").await;
        let (u1, _) = gw.new_user("case60-a").await;
        let (u2, _) = gw.new_user("case60-b").await;
        gw.patch(
            &format!("/Groups/{gid}"),
            flag,
            json!([{"op":"add","path":"members","value":[{"value":u1},{"value":u2}]}]),
        )
        .await
        .expect_no_content();
        gw.patch(
            &format!("/Groups/{gid}"),
            flag,
            json!([{"op":"remove","path":format!("members[value eq \"{u2}\"]")}]),
        )
        .await
        .expect_no_content();
        assert_eq!(gw.members(&gid), vec![numeric(&u1)]);
    }
}

/// Case 61: adding an unknown member is a SCIM error naming the id, not a silent success.
#[tokio::test]
async fn case_61_add_unknown_member_is_an_error_naming_it() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (gid, _) = gw.new_group("case61").await;
        for unknown in ["987654321", "not-a-user"] {
            let reply = gw
                .patch(
                    &format!("/Groups/{gid}"),
                    flag,
                    json!([{"op":"Add","path":"members","value":[{"value":unknown}]}]),
                )
                .await;
            let error = match reply.status.as_u16() {
                400 => reply.expect_error(400, Some("invalidValue")),
                404 => reply.expect_error(404, None),
                other => panic!(
                    "unknown member {unknown} answered {other}: {}",
                    String::from_utf8_lossy(&reply.body)
                ),
            };
            assert!(
                error["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(unknown)),
                "detail does not name {unknown}: {error}"
            );
            assert_eq!(gw.members(&gid), Vec::<u64>::new());
        }
    }
}

/// Case 62: a group rename; the new name is found by filter.
#[tokio::test]
async fn case_62_rename_group() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (gid, old) = gw.new_group("case62").await;
        let new = unique("Sales EMEA");
        gw.patch(
            &format!("/Groups/{gid}"),
            flag,
            json!([{"op":"Replace","path":"displayName","value":new}]),
        )
        .await
        .expect_no_content();
        assert_eq!(
            gw.demo.team(numeric(&gid)).expect("team")["name"],
            json!(new)
        );
        let found = gw
            .found("Groups", &format!("displayName eq \"{new}\""))
            .await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["id"], json!(gid));
        assert!(
            gw.found("Groups", &format!("displayName eq \"{old}\""))
                .await
                .is_empty()
        );
    }
}

/// Case 63: Entra's legacy membership reference check.
#[tokio::test]
async fn case_63_id_and_members_reference_check() {
    let gw = gateway().await;
    let (gid, _) = gw.new_group("case63").await;
    let (member, _) = gw.new_user("case63-in").await;
    let (outsider, _) = gw.new_user("case63-out").await;
    gw.patch(
        &format!("/Groups/{gid}"),
        Flag::Off,
        json!([{"op":"Add","path":"members","value":[{"value":member}]}]),
    )
    .await
    .expect_no_content();
    let check = |uid: &str| {
        format!(
            "/Groups?filter={}&attributes=id",
            encode(&format!("id eq \"{gid}\" and members eq \"{uid}\""))
        )
    };
    let hit = gw.get(&check(&member), Flag::Off).await.expect(200);
    assert_list(&hit);
    assert_eq!(hit["totalResults"], 1, "{hit}");
    assert_eq!(hit["Resources"][0]["id"], json!(gid));
    assert!(
        hit["Resources"][0].get("displayName").is_none(),
        "attributes=id: {hit}"
    );
    let miss = gw.get(&check(&outsider), Flag::Off).await.expect(200);
    assert_eq!(miss["totalResults"], 0, "{miss}");
}

/// Case 64: DELETE a group → 204; then 404.
#[tokio::test]
async fn case_64_delete_group() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (gid, name) = gw.new_group("case64").await;
        gw.delete(&format!("/Groups/{gid}"), flag)
            .await
            .expect_no_content();
        assert!(gw.demo.team(numeric(&gid)).is_none());
        gw.get(&format!("/Groups/{gid}"), flag)
            .await
            .expect_error(404, None);
        assert!(
            gw.found("Groups", &format!("displayName eq \"{name}\""))
                .await
                .is_empty()
        );
        gw.delete(&format!("/Groups/{gid}"), flag)
            .await
            .expect_error(404, None);
    }
}
