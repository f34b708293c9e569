//! Microsoft's tutorial "Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID"
//! replayed against the demo gateway: every request of its "User Operations", "Group
//! Operations" and "Schema discovery" sections and of its "Handling provisioning and
//! deprovisioning of users" examples, with the bodies exactly as published (only the ids in
//! URLs and member/manager values are the ones this server assigned). Each answer must hold
//! what the tutorial's answer shows, apart from server-chosen values (`id`, `meta` times, and
//! the `externalId`s of answers the tutorial took from other users). Run without and with
//! `?aadOptscim062020`, each on a fresh gateway (the tutorial's userNames are constants).

use serde_json::{Value, json};

use super::support::{FLAGS, Flag, Gateway, assert_list, encode, gateway, id_of};

/// Asserts that `actual` holds everything in `expected`: objects key by key (more keys are
/// fine), `schemas` as a set that must contain the expected URIs (an answer may list more
/// extensions), other arrays element by element with the same length, other values equal.
fn assert_holds(actual: &Value, expected: &Value, at: &str) {
    match (actual, expected) {
        (Value::Array(actual), Value::Array(expected)) if at.ends_with(".schemas") => {
            for urn in expected {
                assert!(actual.contains(urn), "{at}: {urn} missing in {actual:?}");
            }
        }
        (Value::Object(actual), Value::Object(expected)) => {
            for (key, want) in expected {
                let got = actual
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}.{key} missing in {actual:?}"));
                assert_holds(got, want, &format!("{at}.{key}"));
            }
        }
        (Value::Array(actual), Value::Array(expected)) => {
            assert_eq!(actual.len(), expected.len(), "{at}: {actual:?}");
            for (n, (got, want)) in actual.iter().zip(expected).enumerate() {
                assert_holds(got, want, &format!("{at}[{n}]"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const USER_NAME: &str = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee";
const EMAIL: &str = "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com";

/// "Create User" request, verbatim.
fn create_user_request() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
        }],
        "meta": {
            "resourceType": "User"
        },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": []
    })
}

/// The user part of the tutorial's user answers (Create, Get, by query).
fn user_answer(external_id: Option<&str>, with_formatted: bool) -> Value {
    let mut user = json!({
        "schemas": [CORE_USER],
        "meta": {"resourceType": "User"},
        "userName": USER_NAME,
        "name": {"familyName": "familyName", "givenName": "givenName"},
        "active": true,
        "emails": [{"value": EMAIL, "type": "work", "primary": true}]
    });
    if with_formatted {
        user["name"]["formatted"] = json!("givenName familyName");
    }
    if let Some(external_id) = external_id {
        user["externalId"] = json!(external_id);
    }
    user
}

/// The user operations, in the tutorial's order.
async fn user_operations(gw: &Gateway, flag: Flag) {
    // Create User → 201.
    let created = gw
        .post("/Users", flag, &create_user_request())
        .await
        .expect(201);
    assert_holds(
        &created,
        &user_answer(Some("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"), true),
        "create",
    );
    let id = id_of(&created);
    let backend = gw.backend_user(&id);
    assert_eq!(backend["username"], USER_NAME);
    assert_eq!(backend["email"], EMAIL);

    // Get User → 200, the same user.
    let got = gw.get(&format!("/Users/{id}"), flag).await.expect(200);
    assert_holds(&got, &user_answer(None, true), "get");
    assert_eq!(got["id"], json!(id));

    // Get User (not found) → 404 with status "404".
    let missing = gw
        .get("/Users/5171a35d82074e068ce2", flag)
        .await
        .expect_error(404, None);
    assert_holds(
        &missing,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404"}),
        "get missing",
    );

    // Get User by query → ListResponse with the user.
    let query = format!(
        "/Users?filter={}",
        encode(&format!("userName eq \"{USER_NAME}\""))
    );
    let list = gw.get(&query, flag).await.expect(200);
    assert_list(&list);
    assert_holds(
        &list,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "Resources": [user_answer(None, false)],
            "startIndex": 1
        }),
        "query",
    );
    assert_eq!(list["Resources"][0]["id"], json!(id));

    // Get User by query - Zero results.
    let query = format!(
        "/Users?filter={}",
        encode("userName eq \"non-existent user\"")
    );
    let none = gw.get(&query, flag).await.expect(200);
    assert_holds(
        &none,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0,
            "Resources": [],
            "startIndex": 1
        }),
        "zero results",
    );

    // Update User [Multi-valued properties] → 200 with the changed user.
    let answer = gw
        .send_json(
            "PATCH",
            &format!("/Users/{id}"),
            flag,
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                        {
                        "op": "Replace",
                        "path": "emails[type eq \"work\"].value",
                        "value": "updatedEmail@microsoft.com"
                        },
                        {
                        "op": "Replace",
                        "path": "name.familyName",
                        "value": "updatedFamilyName"
                        }
                ]
            }),
        )
        .await
        .expect(200);
    assert_holds(
        &answer,
        &json!({
            "schemas": [CORE_USER],
            "meta": {"resourceType": "User"},
            "userName": USER_NAME,
            "name": {
                "formatted": "givenName updatedFamilyName",
                "familyName": "updatedFamilyName",
                "givenName": "givenName"
            },
            "active": true,
            "emails": [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}]
        }),
        "patch multi-valued",
    );
    // Put the email back, as the tutorial's next answer shows it.
    gw.patch(
        &format!("/Users/{id}"),
        flag,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": EMAIL},
               {"op": "Replace", "path": "name.familyName", "value": "familyName"}]),
    )
    .await
    .expect(200);

    // Update User [Single-valued properties]: a new userName keeps the work email.
    let answer = gw
        .send_json(
            "PATCH",
            &format!("/Users/{id}"),
            flag,
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{
                    "op": "Replace",
                    "path": "userName",
                    "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
                }]
            }),
        )
        .await
        .expect(200);
    let mut renamed = user_answer(None, true);
    renamed["userName"] = json!("5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com");
    assert_holds(&answer, &renamed, "patch single-valued");
    let backend = gw.backend_user(&id);
    assert_eq!(
        backend["username"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
    assert_eq!(backend["email"], EMAIL);

    // Disable User → 200 with `active: false`.
    let answer = gw
        .send_json(
            "PATCH",
            &format!("/Users/{id}"),
            flag,
            &json!({
                "Operations": [
                    {
                        "op": "Replace",
                        "path": "active",
                        "value": false
                    }
                ],
                "schemas": [
                    "urn:ietf:params:scim:api:messages:2.0:PatchOp"
                ]
            }),
        )
        .await
        .expect(200);
    assert_holds(
        &answer,
        &json!({"schemas": [CORE_USER], "active": false,
                "emails": [{"value": EMAIL, "type": "work", "primary": true}]}),
        "disable",
    );
    assert_eq!(gw.backend_user(&id)["status"], "disabled");

    // Delete User → 204.
    gw.delete(&format!("/Users/{id}"), flag)
        .await
        .expect_no_content();
    gw.get(&format!("/Users/{id}"), flag)
        .await
        .expect_error(404, None);
}

/// The group operations, in the tutorial's order (a user to add as a member first).
async fn group_operations(gw: &Gateway, flag: Flag) {
    let member = id_of(&gw.create_user(&create_user_request()).await);

    // Create Group → 201 with `members: []`.
    let created = gw
        .post(
            "/Groups",
            flag,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "displayName",
                "meta": {
                    "resourceType": "Group"
                }
            }),
        )
        .await
        .expect(201);
    assert_holds(
        &created,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "meta": {"resourceType": "Group"},
            "displayName": "displayName",
            "members": []
        }),
        "create group",
    );
    let id = id_of(&created);

    // Get Group with `excludedAttributes=members` → no `members`.
    let got = gw
        .get(&format!("/Groups/{id}?excludedAttributes=members"), flag)
        .await
        .expect(200);
    assert_holds(
        &got,
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "meta": {"resourceType": "Group"}, "displayName": "displayName"}),
        "get group",
    );
    assert!(got.get("members").is_none(), "{got}");

    // Get Group by displayName.
    let query = format!(
        "/Groups?excludedAttributes=members&filter={}",
        encode("displayName eq \"displayName\"")
    );
    let list = gw.get(&query, flag).await.expect(200);
    assert_holds(
        &list,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "Resources": [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "meta": {"resourceType": "Group"}, "displayName": "displayName"}],
            "startIndex": 1
        }),
        "group by displayName",
    );
    assert!(list["Resources"][0].get("members").is_none(), "{list}");

    // Update Group [Non-member attributes] → 204.
    gw.send_json(
        "PATCH",
        &format!("/Groups/{id}"),
        flag,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "Replace",
                "path": "displayName",
                "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
            }]
        }),
    )
    .await
    .expect_no_content();
    assert_eq!(
        gw.demo.team(super::support::numeric(&id)).expect("team")["name"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );

    // Update Group [Add Members] → 204.
    gw.send_json(
        "PATCH",
        &format!("/Groups/{id}"),
        flag,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "Add",
                "path": "members",
                "value": [{
                    "$ref": null,
                    "value": member
                }]
            }]
        }),
    )
    .await
    .expect_no_content();
    assert_eq!(gw.members(&id), vec![super::support::numeric(&member)]);

    // Update Group [Remove Members] → 204.
    gw.send_json(
        "PATCH",
        &format!("/Groups/{id}"),
        flag,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "Remove",
                "path": "members",
                "value": [{
                    "$ref": null,
                    "value": member
                }]
            }]
        }),
    )
    .await
    .expect_no_content();
    assert!(gw.members(&id).is_empty());

    // Delete Group → 204.
    gw.delete(&format!("/Groups/{id}"), flag)
        .await
        .expect_no_content();
    gw.get(&format!("/Groups/{id}"), flag)
        .await
        .expect_error(404, None);
}

/// Schema discovery: `GET /Schemas` lists core User, core Group and the enterprise extension
/// with the attributes the tutorial's answer shows.
async fn schema_discovery(gw: &Gateway, flag: Flag) {
    let list = gw.get("/Schemas", flag).await.expect(200);
    assert_holds(
        &list,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "startIndex": 1}),
        "schemas",
    );
    let resources = list["Resources"].as_array().expect("Resources");
    let schema = |id: &str| {
        resources
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from /Schemas"))
            .clone()
    };
    let attribute = |schema: &Value, name: &str| {
        schema["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["name"] == name))
            .unwrap_or_else(|| panic!("{name} missing from {}", schema["id"]))
            .clone()
    };
    let user = schema(CORE_USER);
    assert_holds(
        &user,
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"], "name": "User",
                "meta": {"resourceType": "Schema"}}),
        "User schema",
    );
    assert_holds(
        &attribute(&user, "userName"),
        &json!({"name": "userName", "type": "string", "multiValued": false, "required": true,
                "caseExact": false, "mutability": "readWrite", "returned": "default",
                "uniqueness": "server"}),
        "userName",
    );
    let group = schema("urn:ietf:params:scim:schemas:core:2.0:Group");
    assert_eq!(group["name"], "Group");
    // The tutorial's answer shows `required: false` under a description saying REQUIRED;
    // RFC 7643 §4.2 requires it (README, conformance section).
    assert_holds(
        &attribute(&group, "displayName"),
        &json!({"name": "displayName", "type": "string", "multiValued": false,
                "caseExact": false, "mutability": "readWrite", "returned": "default",
                "uniqueness": "none"}),
        "displayName",
    );
    let enterprise = schema("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    assert_eq!(enterprise["name"], "EnterpriseUser");
    assert_holds(
        &attribute(&enterprise, "employeeNumber"),
        &json!({"name": "employeeNumber", "type": "string", "multiValued": false,
                "required": false, "caseExact": false, "mutability": "readWrite",
                "returned": "default", "uniqueness": "none"}),
        "employeeNumber",
    );
}

/// Examples 1–6 of "Handling provisioning and deprovisioning of users".
async fn provisioning_examples(gw: &Gateway, flag: Flag) {
    // Example 1: query by the unquoted mailNickname → empty.
    let list = gw
        .get("/Users?filter=externalId eq jyoung", flag)
        .await
        .expect(200);
    assert_eq!(list["totalResults"], 0, "{list}");

    // Example 2: provision jyoung (schema URI typo and nulls as published).
    let created = gw
        .post(
            "/Users",
            flag,
            &json!({
               "schemas":
               [
                 "urn:ietf:params:scim:schemas:core:2.0:User",
                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
               "externalId":"jyoung",
               "userName":"jyoung@testuser.com",
               "active":true,
               "addresses":null,
               "displayName":"Joy Young",
               "emails": [
                 {
                   "type":"work",
                   "value":"jyoung@Contoso.com",
                   "primary":true}],
               "meta": {
                 "resourceType":"User"},
                "name":{
                 "familyName":"Young",
                 "givenName":"Joy"},
               "phoneNumbers":null,
               "preferredLanguage":null,
               "title":null,
               "department":null,
               "manager":null}),
        )
        .await
        .expect(201);
    assert_holds(
        &created,
        &json!({"externalId": "jyoung", "userName": "jyoung@testuser.com", "active": true,
                "displayName": "Joy Young",
                "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
                "name": {"familyName": "Young", "givenName": "Joy"}}),
        "example 2",
    );
    let id = id_of(&created);
    let list = gw
        .get("/Users?filter=externalId eq jyoung", flag)
        .await
        .expect(200);
    assert_eq!(list["Resources"][0]["id"], json!(id), "{list}");

    // Example 3: the current state of the user.
    let got = gw.get(&format!("/Users/{id}"), flag).await.expect(200);
    assert_eq!(got["userName"], "jyoung@testuser.com");

    // Example 5: set the manager (Example 4's reference check follows it).
    let manager = id_of(&gw.create_user(&create_user_request()).await);
    gw.send_json(
        "PATCH",
        &format!("/Users/{id}"),
        flag,
        &json!({
            "schemas":
            [
              "urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":
            [
              {
                "op":"Add",
                "path":"manager",
                "value":
                  [
                    {
                      "$ref": format!("http://.../scim/Users/{manager}"),
                      "value": manager}]}]}),
    )
    .await
    .expect(200);
    let user = gw.user(&id).await;
    assert_eq!(
        user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        json!(manager)
    );

    // Example 4: does the manager attribute hold this value?
    let check = format!(
        "/Users?filter={}&attributes=id",
        encode(&format!("id eq \"{id}\" and manager eq \"{manager}\""))
    );
    let hit = gw.get(&check, flag).await.expect(200);
    assert_eq!(hit["totalResults"], 1, "{hit}");
    assert_eq!(hit["Resources"][0]["id"], json!(id));

    // Example 6: deprovision.
    gw.delete(&format!("/Users/{id}"), flag)
        .await
        .expect_no_content();
    gw.get(&format!("/Users/{id}"), flag)
        .await
        .expect_error(404, None);
}

#[tokio::test]
async fn tutorial_user_operations_hold_verbatim() {
    for flag in FLAGS {
        user_operations(&gateway().await, flag).await;
    }
}

#[tokio::test]
async fn tutorial_group_operations_hold_verbatim() {
    for flag in FLAGS {
        group_operations(&gateway().await, flag).await;
    }
}

#[tokio::test]
async fn tutorial_schema_discovery_holds() {
    for flag in FLAGS {
        schema_discovery(&gateway().await, flag).await;
    }
}

#[tokio::test]
async fn tutorial_provisioning_examples_hold_verbatim() {
    for flag in FLAGS {
        provisioning_examples(&gateway().await, flag).await;
    }
}
