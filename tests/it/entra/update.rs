//! §5 cases 30–51: PATCH on users, in both Entra PATCH families (without and with
//! `aadOptscim062020`; the gateway cannot tell them apart, so every case runs with both URLs).

use scimgate::demo::Fault;
use serde_json::{Value, json};

use super::support::{
    CUSTOM, ENTERPRISE, FLAGS, Flag, Gateway, METADATA, Options, Reply, entra_user, gateway,
    gateway_with, id_of, unique, unique_email, unique_user_name,
};

/// A PATCH answer Entra accepts: `200` with the resource or `204`; returns the resource as a
/// fresh GET shows it.
async fn patched(gw: &Gateway, id: &str, reply: &Reply) -> Value {
    match reply.status.as_u16() {
        200 => {
            let body = reply.expect(200);
            assert_eq!(body["id"], json!(id));
            let read = gw.user(id).await;
            assert_eq!(body, read, "the PATCH answer differs from a fresh GET");
            read
        }
        204 => {
            reply.expect_no_content();
            gw.user(id).await
        }
        other => panic!(
            "PATCH answered {other}: {}",
            String::from_utf8_lossy(&reply.body)
        ),
    }
}

/// PATCHes user `id` with `ops`, asserts success, returns the user as read afterwards.
async fn patch_ok(gw: &Gateway, id: &str, flag: Flag, ops: Value) -> Value {
    let reply = gw.patch(&format!("/Users/{id}"), flag, ops).await;
    patched(gw, id, &reply).await
}

/// Case 30 [no-flag]: `Replace active "False"` deactivates; the user is still found.
#[tokio::test]
async fn case_30_replace_active_string_false_deactivates() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, user_name) = gw.new_user("case30").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Replace","path":"active","value":"False"}]),
        )
        .await;
        assert_eq!(user["active"], json!(false));
        assert_eq!(gw.backend_user(&id)["status"], "disabled");
        let found = gw
            .found("Users", &format!("userName eq \"{user_name}\""))
            .await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["active"], json!(false));
        // The lower-case variant seen in the wild.
        let (id, _) = gw.new_user("case30-lower").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Replace","path":"active","value":"false"}]),
        )
        .await;
        assert_eq!(user["active"], json!(false));
    }
}

/// Case 31 [no-flag]: `Replace active "True"` / `"true"` reactivates.
#[tokio::test]
async fn case_31_replace_active_string_true_reactivates() {
    let gw = gateway().await;
    for flag in FLAGS {
        for text in ["True", "true"] {
            let (id, _) = gw.new_user("case31").await;
            patch_ok(
                &gw,
                &id,
                flag,
                json!([{"op":"Replace","path":"active","value":"False"}]),
            )
            .await;
            assert_eq!(gw.backend_user(&id)["status"], "disabled");
            let user = patch_ok(
                &gw,
                &id,
                flag,
                json!([{"op":"Replace","path":"active","value":text}]),
            )
            .await;
            assert_eq!(user["active"], json!(true), "{text}");
            assert_eq!(gw.backend_user(&id)["status"], "active", "{text}");
        }
    }
}

/// Case 32 [flag]: `replace active false` (JSON boolean, lower-case op) deactivates.
#[tokio::test]
async fn case_32_replace_active_boolean_false_deactivates() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case32").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"replace","path":"active","value":false}]),
        )
        .await;
        assert_eq!(user["active"], json!(false));
        assert_eq!(gw.backend_user(&id)["status"], "disabled");
    }
}

/// Case 33 [no-flag]: work email and family name replaced in one PATCH (Microsoft's tutorial
/// "Update User [Multi-valued properties]"); a `home` email is untouched.
#[tokio::test]
async fn case_33_replace_work_email_and_family_name_together() {
    let gw = gateway().await;
    for flag in FLAGS {
        let user_name = unique_user_name();
        let mut body = entra_user(&user_name, &unique("ext"));
        body["emails"] = json!([
            {"primary": true, "type": "work", "value": unique_email()},
            {"type": "home", "value": "home@example.org"}
        ]);
        let id = id_of(&gw.create_user(&body).await);
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([
                {"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
                {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}
            ]),
        )
        .await;
        let mut emails = user["emails"].as_array().cloned().unwrap_or_default();
        emails.sort_by_key(|e| e["type"].as_str().map(str::to_owned));
        assert_eq!(
            emails,
            vec![
                json!({"type": "home", "value": "home@example.org"}),
                json!({"type": "work", "value": "updatedEmail@microsoft.com", "primary": true})
            ],
            "{user}"
        );
        assert_eq!(
            user["name"],
            json!({"formatted": "givenName updatedFamilyName",
                   "familyName": "updatedFamilyName", "givenName": "givenName"})
        );
        assert_eq!(user["userName"], json!(user_name));
        let backend = gw.backend_user(&id);
        assert_eq!(backend["email"], "updatedEmail@microsoft.com");
        assert_eq!(backend["home_email"], "home@example.org");
        assert_eq!(backend["username"], json!(user_name));
        assert_eq!(backend["last_name"], "updatedFamilyName");
        assert_eq!(backend["first_name"], "givenName");
    }
    // One read, one write each.
    assert_eq!(gw.calls("PUT /api/v1/users/{id}"), 2);
}

/// Case 34: `Add emails[type eq "work"].value` on a user with no emails creates
/// `{"type":"work","value":…}` (no `noTarget`).
#[tokio::test]
async fn case_34_add_work_email_value_creates_it() {
    let gw = gateway().await;
    for flag in FLAGS {
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body.as_object_mut().expect("object").remove("emails");
        let id = id_of(&gw.create_user(&body).await);
        assert!(gw.user(&id).await.get("emails").is_none());
        assert_eq!(gw.backend_user(&id)["email"], Value::Null);
        let new_email = unique_email();
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Add","path":"emails[type eq \"work\"].value","value":new_email}]),
        )
        .await;
        assert_eq!(
            user["emails"],
            json!([{"type": "work", "value": new_email, "primary": true}])
        );
        assert_eq!(gw.backend_user(&id)["email"], json!(new_email));
    }
}

/// Case 35: three Adds on the sub-attributes of one work address make one work address with
/// all three.
#[tokio::test]
async fn case_35_address_sub_attributes_fill_one_work_address() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case35").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([
                {"op":"Add","path":"addresses[type eq \"work\"].formatted","value":"1 Main St"},
                {"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Springfield"},
                {"op":"Add","path":"addresses[type eq \"work\"].region","value":"OR"}
            ]),
        )
        .await;
        assert_eq!(
            user["addresses"],
            json!([{"type": "work", "formatted": "1 Main St", "locality": "Springfield",
                    "region": "OR"}])
        );
        let backend = gw.backend_user(&id);
        assert_eq!(
            (&backend["address"], &backend["city"], &backend["region"]),
            (&json!("1 Main St"), &json!("Springfield"), &json!("OR"))
        );
    }
}

/// Case 36 [no-flag]: `Add nickName` on a single-valued attribute sets it.
#[tokio::test]
async fn case_36_add_on_single_valued_attribute_sets_it() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case36").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Add","path":"nickName","value":"Babs"}]),
        )
        .await;
        assert_eq!(user["nickName"], "Babs");
        assert_eq!(gw.backend_user(&id)["nickname"], "Babs");
        // Add again with another value: still a set, not a list.
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Add","path":"nickName","value":"Barb"}]),
        )
        .await;
        assert_eq!(user["nickName"], "Barb");
    }
}

/// Case 37 [no-flag]: enterprise employeeNumber by its full URN path.
#[tokio::test]
async fn case_37_replace_enterprise_employee_number() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case37").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Replace","path":format!("{ENTERPRISE}:employeeNumber"),"value":"Eqpj"}]),
        )
        .await;
        assert_eq!(user[ENTERPRISE]["employeeNumber"], "Eqpj");
        assert!(
            user["schemas"]
                .as_array()
                .is_some_and(|s| s.contains(&json!(ENTERPRISE)))
        );
        assert_eq!(gw.backend_user(&id)["employee_number"], "Eqpj");
    }
}

/// Case 38 [flag]: a path-less replace with dotted and URN-qualified keys.
#[tokio::test]
async fn case_38_pathless_replace_with_dotted_keys() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case38").await;
        let new_email = unique_email();
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([
                {"op":"replace","path":"emails[type eq \"work\"].value","value":new_email},
                {"op":"replace","value":{
                    "displayName":"Bjfe",
                    "name.givenName":"Kkom",
                    "name.familyName":"Unua",
                    format!("{ENTERPRISE}:employeeNumber"):"Aklq"
                }}
            ]),
        )
        .await;
        assert_eq!(user["displayName"], "Bjfe");
        assert_eq!(user["name"]["givenName"], "Kkom");
        assert_eq!(user["name"]["familyName"], "Unua");
        assert!(user.get("name.givenName").is_none(), "{user}");
        assert!(user.get("name.familyName").is_none(), "{user}");
        assert_eq!(user[ENTERPRISE]["employeeNumber"], "Aklq");
        assert_eq!(user["emails"][0]["value"], json!(new_email));
        let backend = gw.backend_user(&id);
        assert_eq!(backend["display_name"], "Bjfe");
        assert_eq!(backend["first_name"], "Kkom");
        assert_eq!(backend["last_name"], "Unua");
        assert_eq!(backend["employee_number"], "Aklq");
        assert_eq!(backend["email"], json!(new_email));
    }
}

/// Case 39 [flag]: the same with `add`, and the nested form.
#[tokio::test]
async fn case_39_pathless_add_dotted_and_nested() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case39").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"add","value":{
                "name.givenName":"Dotted",
                format!("{ENTERPRISE}:department"):"Retail"
            }}]),
        )
        .await;
        assert_eq!(user["name"]["givenName"], "Dotted");
        assert_eq!(user[ENTERPRISE]["department"], "Retail");
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"add","value":{
                "name":{"givenName":"X"},
                ENTERPRISE:{"employeeNumber":"N-39"}
            }}]),
        )
        .await;
        assert_eq!(user["name"]["givenName"], "X");
        assert_eq!(
            user["name"]["familyName"], "familyName",
            "nested add keeps siblings"
        );
        assert!(user.get("name.givenName").is_none());
        assert_eq!(user[ENTERPRISE]["employeeNumber"], "N-39");
        assert_eq!(user[ENTERPRISE]["department"], "Retail");
        let backend = gw.backend_user(&id);
        assert_eq!(backend["first_name"], "X");
        assert_eq!(backend["last_name"], "familyName");
        assert_eq!(backend["employee_number"], "N-39");
        assert_eq!(backend["department"], "Retail");
    }
}

/// Case 40: the manager as a bare id string (real Entra traffic).
#[tokio::test]
async fn case_40_add_manager_as_bare_string() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (manager, _) = gw.new_user("case40-mgr").await;
        let (id, _) = gw.new_user("case40").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Add","path":format!("{ENTERPRISE}:manager"),"value":manager}]),
        )
        .await;
        assert_eq!(
            user[ENTERPRISE]["manager"]["value"],
            json!(manager),
            "{user}"
        );
        assert!(user[ENTERPRISE]["manager"].is_object());
        assert_eq!(gw.backend_user(&id)["manager"], json!(manager));
    }
}

/// Case 41: the documented form — path `manager`, value `[{"$ref", "value"}]`.
#[tokio::test]
async fn case_41_add_manager_documented_form() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (manager, _) = gw.new_user("case41-mgr").await;
        let (id, _) = gw.new_user("case41").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Add","path":"manager","value":[{
                "$ref": format!("https://scim.entra.test/scim/v2/Users/{manager}"),
                "value": manager
            }]}]),
        )
        .await;
        assert_eq!(
            user[ENTERPRISE]["manager"]["value"],
            json!(manager),
            "{user}"
        );
        assert_eq!(gw.backend_user(&id)["manager"], json!(manager));
    }
}

/// Case 42: the three manager removals clear it.
#[tokio::test]
async fn case_42_manager_removal_forms_clear_it() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (manager, _) = gw.new_user("case42-mgr").await;
        let removals = [
            json!({"op":"remove","path":format!("manager[value eq \"{manager}\"]")}),
            json!({"op":"Remove","path":format!("{ENTERPRISE}:manager")}),
            json!({"op":"Replace","path":format!("{ENTERPRISE}:manager"),"value":""}),
        ];
        for removal in removals {
            let (id, _) = gw.new_user("case42").await;
            patch_ok(
                &gw,
                &id,
                flag,
                json!([{"op":"Add","path":format!("{ENTERPRISE}:manager"),"value":manager}]),
            )
            .await;
            assert_eq!(gw.backend_user(&id)["manager"], json!(manager));
            let user = patch_ok(&gw, &id, flag, json!([removal.clone()])).await;
            let manager_left = user.get(ENTERPRISE).and_then(|e| e.get("manager")).cloned();
            assert!(manager_left.is_none(), "{removal}: {user}");
            assert_eq!(gw.backend_user(&id)["manager"], Value::Null, "{removal}");
        }
    }
}

/// Case 43: custom URN paths with a dotted version are split at the last colon.
#[tokio::test]
async fn case_43_custom_urn_paths_with_dotted_version() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case43").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([
                {"op":"Replace","path":format!("{CUSTOM}:folders"),"value":["Sales","Travel"]},
                {"op":"Replace","path":format!("{METADATA}:costCenter"),"value":"CC-7"}
            ]),
        )
        .await;
        assert_eq!(user[CUSTOM], json!({"folders": ["Sales", "Travel"]}));
        assert_eq!(user[METADATA]["costCenter"], "CC-7");
        assert!(user.get(format!("{CUSTOM}:folders").as_str()).is_none());
        assert!(
            user.get("urn:ietf:params:scim:schemas:extension:2")
                .is_none()
        );
        let schemas = user["schemas"].as_array().expect("schemas");
        assert!(schemas.contains(&json!(CUSTOM)) && schemas.contains(&json!(METADATA)));
        let backend = gw.backend_user(&id);
        assert_eq!(backend["folders"], "Sales,Travel");
        assert_eq!(backend["metadata"]["costCenter"], "CC-7");
    }
}

/// Case 44: Entra's `Add` on the Split() list replaces it (the demo mapping's
/// `add_replaces: true` policy); both list shapes are accepted.
#[tokio::test]
async fn case_44_add_on_split_list_follows_replace_all_policy() {
    let gw = gateway().await;
    for flag in FLAGS {
        for value in [json!([{"value":"a"},{"value":"b"}]), json!(["a", "b"])] {
            let (id, _) = gw.new_user("case44").await;
            patch_ok(
                &gw,
                &id,
                flag,
                json!([{"op":"Replace","path":format!("{CUSTOM}:folders"),"value":["x"]}]),
            )
            .await;
            assert_eq!(gw.backend_user(&id)["folders"], "x");
            let user = patch_ok(
                &gw,
                &id,
                flag,
                json!([{"op":"Add","path":format!("{CUSTOM}:folders"),"value":value.clone()}]),
            )
            .await;
            assert_eq!(user[CUSTOM]["folders"], json!(["a", "b"]), "{value}");
            assert_eq!(gw.backend_user(&id)["folders"], "a,b", "{value}");
        }
    }
}

/// Case 45 [no-flag]: a role whose `value` is a JSON string (AppRoleAssignmentsComplex).
#[tokio::test]
async fn case_45_add_role_with_json_string_value() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case45").await;
        assert_eq!(gw.backend_user(&id)["role"], "User");
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"Add","path":"roles","value":[{
                "value":"{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"
            }]}]),
        )
        .await;
        let roles = user["roles"].as_array().expect("roles");
        assert!(
            roles.iter().any(|r| r["value"] == "Admin"),
            "role Admin not recorded: {user}"
        );
        assert_eq!(gw.backend_user(&id)["role"], "Admin");
    }
}

/// Case 46: `roles[primary eq "True"].value` matches the boolean `primary`.
#[tokio::test]
async fn case_46_replace_primary_role_value() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case46").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([{"op":"replace","path":"roles[primary eq \"True\"].value","value":"EnterpriseAdmin"}]),
        )
        .await;
        assert_eq!(
            user["roles"],
            json!([{"primary": true, "value": "EnterpriseAdmin"}])
        );
        assert_eq!(gw.backend_user(&id)["role"], "EnterpriseAdmin");
    }
}

/// Case 47: the assertive replace of all roles.
#[tokio::test]
async fn case_47_replace_all_roles() {
    let gw = gateway().await;
    for flag in FLAGS {
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body["roles"] = json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole",
                                "value": "Admin"}]);
        let id = id_of(&gw.create_user(&body).await);
        assert_eq!(gw.backend_user(&id)["role"], "Admin");
        // `User` is also the mapping's default role, so `ReadOnly` shows the value is taken
        // from the request and not defaulted.
        for role in ["User", "ReadOnly"] {
            let user = patch_ok(
                &gw,
                &id,
                flag,
                json!([{"op":"replace","path":"roles","value":[{"primary":false,
                    "type":"WindowsAzureActiveDirectoryRole","display":role,"value":role}]}]),
            )
            .await;
            let roles = user["roles"].as_array().expect("roles");
            assert_eq!(roles.len(), 1, "{user}");
            assert_eq!(roles[0]["value"], role);
            assert_eq!(gw.backend_user(&id)["role"], role);
        }
    }
}

/// Case 48: an unmapped attribute (the demo maps work and mobile phones, not fax) next to
/// `active` never costs the `active` change; the unmapped op is ignored, as the README says.
#[tokio::test]
async fn case_48_unmapped_op_never_drops_active() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case48").await;
        let user = patch_ok(
            &gw,
            &id,
            flag,
            json!([
                {"op":"Add","path":"phoneNumbers[type eq \"fax\"].value","value":"+1 555 0100"},
                {"op":"Replace","path":"active","value":"False"}
            ]),
        )
        .await;
        assert_eq!(user["active"], json!(false));
        assert!(user.get("phoneNumbers").is_none(), "{user}");
        assert_eq!(gw.backend_user(&id)["status"], "disabled");
    }
}

/// Case 49: `"REPLACE"` and the key `operations`.
#[tokio::test]
async fn case_49_odd_case_op_and_operations_key() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case49").await;
        let reply = gw
            .send_json(
                "PATCH",
                &format!("/Users/{id}"),
                flag,
                &json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "operations": [
                        {"op":"REPLACE","path":"displayName","value":"Forty Nine"},
                        {"op":"rEpLaCe","path":"ACTIVE","value":"FALSE"}
                    ]
                }),
            )
            .await;
        let user = patched(&gw, &id, &reply).await;
        assert_eq!(user["displayName"], "Forty Nine");
        assert_eq!(user["active"], json!(false));
        let backend = gw.backend_user(&id);
        assert_eq!(backend["display_name"], "Forty Nine");
        assert_eq!(backend["status"], "disabled");
    }
}

/// Case 50: PATCH of an unknown user is a 404 SCIM error.
#[tokio::test]
async fn case_50_patch_unknown_user_is_404() {
    let gw = gateway().await;
    for flag in FLAGS {
        for id in ["987654321", "no-such-user"] {
            gw.patch(
                &format!("/Users/{id}"),
                flag,
                json!([{"op":"Replace","path":"active","value":"False"}]),
            )
            .await
            .expect_error(404, None);
        }
    }
    assert_eq!(gw.calls("PUT /api/v1/users/{id}"), 0);
}

/// Case 51: a failed backend write is an honest 5xx (or 429 + Retry-After), never a 200, and
/// the change is not reported as made. Faults stay until cleared, so backend-client retries
/// cannot turn the case into a success.
#[tokio::test]
async fn case_51_failed_backend_write_is_never_200() {
    // A short budget: a `Retry-After` longer than what is left is answered at once, not
    // waited out (the backend client gives the caller the facts when waiting would overrun).
    let gw = gateway_with(Options {
        deadline: Some("2s"),
        ..Options::default()
    })
    .await;
    for flag in FLAGS {
        let (id, _) = gw.new_user("case51").await;
        let ops = json!([{"op":"Replace","path":"active","value":"False"}]);

        gw.demo
            .inject(Fault::status(500).on("PUT /api/v1/users/{id}"));
        let reply = gw.patch(&format!("/Users/{id}"), flag, ops.clone()).await;
        reply.expect_error(502, None);
        assert_eq!(gw.backend_user(&id)["status"], "active");
        gw.demo.clear_faults();

        gw.demo.inject(
            Fault::status(503)
                .retry_after(7)
                .on("PUT /api/v1/users/{id}"),
        );
        let reply = gw.patch(&format!("/Users/{id}"), flag, ops.clone()).await;
        reply.expect_error(503, None);
        assert_eq!(reply.header("retry-after"), Some("7"));
        assert_eq!(gw.backend_user(&id)["status"], "active");
        gw.demo.clear_faults();

        gw.demo.inject(
            Fault::status(429)
                .retry_after(3)
                .on("PUT /api/v1/users/{id}"),
        );
        let reply = gw.patch(&format!("/Users/{id}"), flag, ops.clone()).await;
        reply.expect_error(429, None);
        assert_eq!(reply.header("retry-after"), Some("3"));
        assert_eq!(gw.backend_user(&id)["status"], "active");
        gw.demo.clear_faults();

        gw.demo
            .inject(Fault::drop_connection().on("PUT /api/v1/users/{id}"));
        let reply = gw.patch(&format!("/Users/{id}"), flag, ops.clone()).await;
        assert!(
            reply.status.is_server_error(),
            "dropped write answered {}",
            reply.status
        );
        reply.expect_error(reply.status.as_u16(), None);
        assert_eq!(gw.backend_user(&id)["status"], "active");
        gw.demo.clear_faults();
    }
}
