//! §5 cases 65–69: discovery, paging, and the shape of every error.

use scimgate::demo::Fault;
use serde_json::{Value, json};

use super::support::{
    CORE_GROUP, CORE_USER, CUSTOM, ENTERPRISE, FLAGS, Flag, METADATA, Options, Reply,
    assert_error_body, assert_list, assert_no_nulls, entra_user, gateway, gateway_with, unique,
    unique_user_name,
};

/// Case 65: ServiceProviderConfig says what Entra checks.
#[tokio::test]
async fn case_65_service_provider_config() {
    let gw = gateway().await;
    for flag in FLAGS {
        let config = gw.get("/ServiceProviderConfig", flag).await.expect(200);
        assert!(
            config["schemas"]
                .as_array()
                .is_some_and(|s| s.contains(&json!(
                    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
                ))),
            "{config}"
        );
        assert_eq!(config["patch"]["supported"], json!(true));
        assert_eq!(config["filter"]["supported"], json!(true));
        assert!(config["filter"]["maxResults"].is_u64());
        assert_eq!(config["bulk"]["supported"], json!(false));
        let schemes = config["authenticationSchemes"]
            .as_array()
            .expect("authenticationSchemes");
        assert!(
            schemes.iter().any(|s| s["type"] == "oauthbearertoken"),
            "{schemes:?}"
        );
        assert_no_nulls(&config, "ServiceProviderConfig").expect("no nulls");
    }
    assert_eq!(gw.demo.calls().total, 0);
}

/// Case 66: Schemas lists core User and Group, enterprise User and each custom extension,
/// camelCase, without nulls.
#[tokio::test]
async fn case_66_schemas() {
    let gw = gateway().await;
    let list = gw.get("/Schemas", Flag::Off).await.expect(200);
    assert_list(&list);
    let ids: Vec<&str> = list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    for urn in [CORE_USER, CORE_GROUP, ENTERPRISE, CUSTOM, METADATA] {
        assert!(ids.contains(&urn), "{urn} missing from {ids:?}");
    }
    assert_eq!(list["totalResults"], json!(ids.len()));
    assert_no_nulls(&list, "Schemas").expect("no nulls");
    let user = list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .find(|s| s["id"] == CORE_USER)
        .expect("core user");
    let user_name = user["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["name"] == "userName")
        .expect("userName");
    assert_eq!(user_name["mutability"], "readWrite");
    assert_eq!(user_name["caseExact"], json!(false));
    assert_eq!(user_name["multiValued"], json!(false));
    assert_eq!(user_name["uniqueness"], "server");
    let text = list.to_string();
    for snake in [
        "\"multi_valued\"",
        "\"case_exact\"",
        "\"read_write\"",
        "\"ReadWrite\"",
    ] {
        assert!(!text.contains(snake), "{snake} is not camelCase");
    }
    // Each schema is also served by its id.
    for urn in [CORE_USER, ENTERPRISE, CUSTOM] {
        let one = gw
            .get(&format!("/Schemas/{urn}"), Flag::Off)
            .await
            .expect(200);
        assert_eq!(one["id"], json!(urn));
    }
    // Discovery is read-only.
    gw.post("/Schemas", Flag::Off, &json!({}))
        .await
        .expect_error(405, None);
}

/// The attribute names (and `name.sub` names) a `/Schemas` answer lists for schema `urn`.
fn listed(list: &Value, urn: &str) -> Vec<String> {
    let Some(schema) = list["Resources"]
        .as_array()
        .and_then(|r| r.iter().find(|s| s["id"] == urn))
    else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for attr in schema["attributes"].as_array().into_iter().flatten() {
        let name = attr["name"].as_str().unwrap_or_default();
        names.push(name.to_owned());
        for sub in attr["subAttributes"].as_array().into_iter().flatten() {
            names.push(format!(
                "{name}.{}",
                sub["name"].as_str().unwrap_or_default()
            ));
        }
    }
    names
}

/// `/Schemas` lists what the demo mapping carries and nothing else: the core attributes it
/// maps (with only the mapped sub-attributes), `members` on groups, the enterprise attributes
/// it maps; RFC attributes it does not carry (`locale`, `name.middleName`, `x509Certificates`,
/// `groups`, `entitlements`, the enterprise `costCenter`, …) are not advertised.
#[tokio::test]
async fn schemas_advertise_only_what_the_mapping_carries() {
    let gw = gateway().await;
    let list = gw.get("/Schemas", Flag::Off).await.expect(200);
    let user = listed(&list, CORE_USER);
    for carried in [
        "userName",
        "name.givenName",
        "name.familyName",
        "name.formatted",
        "displayName",
        "nickName",
        "title",
        "active",
        "userType",
        "emails.value",
        "emails.type",
        "emails.primary",
        "phoneNumbers.value",
        "addresses.locality",
        "addresses.type",
        "roles.value",
        "roles.primary",
    ] {
        assert!(
            user.contains(&carried.to_owned()),
            "{carried} missing: {user:?}"
        );
    }
    for not_carried in [
        "name.middleName",
        "name.honorificPrefix",
        "emails.display",
        "profileUrl",
        "locale",
        "timezone",
        "preferredLanguage",
        "password",
        "ims",
        "photos",
        "groups",
        "entitlements",
        "x509Certificates",
        "addresses.primary",
    ] {
        assert!(
            !user.contains(&not_carried.to_owned()),
            "{not_carried} listed: {user:?}"
        );
    }
    let enterprise = listed(&list, ENTERPRISE);
    for carried in ["employeeNumber", "department", "manager", "manager.value"] {
        assert!(
            enterprise.contains(&carried.to_owned()),
            "{carried}: {enterprise:?}"
        );
    }
    for not_carried in ["costCenter", "organization", "division"] {
        assert!(
            !enterprise.contains(&not_carried.to_owned()),
            "{not_carried}: {enterprise:?}"
        );
    }
    let group = listed(&list, CORE_GROUP);
    assert!(group.contains(&"displayName".to_owned()), "{group:?}");
    assert!(group.contains(&"members".to_owned()), "{group:?}");
    assert!(group.contains(&"members.value".to_owned()), "{group:?}");
    // A PATCH of an attribute the mapping does not carry is still ignored, not refused.
    let (id, _) = gw.new_user("schemas").await;
    gw.patch(
        &format!("/Users/{id}"),
        Flag::Off,
        json!([{"op": "Add", "path": "preferredLanguage", "value": "en-US"}]),
    )
    .await
    .expect(200);
}

/// A mapping without Groups advertises no Group resource type or schema, and one that does
/// not carry `nickName` or `addresses` does not list them.
#[tokio::test]
async fn discovery_follows_a_mapping_without_groups_nick_names_or_addresses() {
    // The embedded mapping's `tests:` describe groups and addresses, and a mapping whose
    // tests fail does not start: this cut-down copy goes without them.
    let full = scimgate::app::DEMO_MAPPING;
    let mut text = full[..full.find("\ntests:\n").expect("demo.yaml has tests:")].to_owned();
    text = text.replace("\ngroups:\n", "\ngroups:\n  enabled: false\n");
    text = text
        .lines()
        .filter(|line| !line.contains("nickName") && !line.contains("addresses["))
        .collect::<Vec<_>>()
        .join("\n");
    let gw = gateway_with(Options {
        mapping: Some(text),
        ..Options::default()
    })
    .await;
    for flag in FLAGS {
        let types = gw.get("/ResourceTypes", flag).await.expect(200);
        let names: Vec<&str> = types["Resources"]
            .as_array()
            .expect("Resources")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(names, ["User"], "{types}");
        assert_eq!(types["totalResults"], 1);
        gw.get("/ResourceTypes/Group", flag)
            .await
            .expect_error(404, None);
        let list = gw.get("/Schemas", flag).await.expect(200);
        assert!(listed(&list, CORE_GROUP).is_empty(), "{list}");
        gw.get(&format!("/Schemas/{CORE_GROUP}"), flag)
            .await
            .expect_error(404, None);
        let user = listed(&list, CORE_USER);
        assert!(user.contains(&"userName".to_owned()));
        assert!(!user.contains(&"nickName".to_owned()), "{user:?}");
        assert!(!user.contains(&"addresses".to_owned()), "{user:?}");
        assert_eq!(
            list["totalResults"],
            json!(list["Resources"].as_array().map(Vec::len))
        );
    }
}

/// `/Me` and `/Bulk` are RFC 7644 endpoints the gateway does not implement: `501` SCIM errors
/// naming what to do instead, asked of no backend; still behind authentication.
#[tokio::test]
async fn me_and_bulk_answer_501() {
    let gw = gateway().await;
    for flag in FLAGS {
        for (method, path, hint) in [
            ("GET", "/Me", "/Users/{id}"),
            ("PUT", "/Me", "/Users/{id}"),
            ("POST", "/Bulk", "own request"),
            ("GET", "/bulk", "own request"),
        ] {
            let reply = gw
                .send_json(method, path, flag, &json!({"schemas": []}))
                .await;
            let error = reply.expect_error(501, None);
            assert_error_body(&error, 501);
            let detail = error["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(hint), "{method} {path}: {error}");
        }
        let anonymous = gw.send(gw.anonymous("GET", &gw.url("/Me", flag))).await;
        anonymous.expect_error(401, None);
    }
    assert_eq!(gw.demo.calls().total, 0);
}

/// Case 67: ResourceTypes, Users first.
#[tokio::test]
async fn case_67_resource_types() {
    let gw = gateway().await;
    for flag in FLAGS {
        let list = gw.get("/ResourceTypes", flag).await.expect(200);
        assert_list(&list);
        assert_eq!(list["Resources"][0]["endpoint"], "/Users");
        assert_eq!(list["Resources"][0]["schema"], CORE_USER);
        assert!(
            list["Resources"]
                .as_array()
                .expect("Resources")
                .iter()
                .any(|r| r["endpoint"] == "/Groups")
        );
        let extensions = list["Resources"][0]["schemaExtensions"]
            .as_array()
            .expect("schemaExtensions");
        assert!(extensions.iter().any(|e| e["schema"] == ENTERPRISE));
        assert_no_nulls(&list, "ResourceTypes").expect("no nulls");
    }
}

/// Case 68: `startIndex`/`count` paging over the whole user list.
#[tokio::test]
async fn case_68_paging() {
    let gw = gateway_with(Options {
        seed_users: 7,
        ..Options::default()
    })
    .await;
    for flag in FLAGS {
        let first = gw
            .get("/Users?startIndex=1&count=2", flag)
            .await
            .expect(200);
        assert_list(&first);
        assert_eq!(first["itemsPerPage"], 2);
        assert_eq!(first["startIndex"], 1);
        assert_eq!(first["totalResults"], 7);
        assert_eq!(first["Resources"].as_array().map(Vec::len), Some(2));
        let last = gw
            .get("/Users?startIndex=6&count=5", flag)
            .await
            .expect(200);
        assert_eq!(last["startIndex"], 6);
        assert_eq!(last["totalResults"], 7);
        assert_eq!(last["itemsPerPage"], 2);
        assert_eq!(last["Resources"].as_array().map(Vec::len), Some(2));
        // Pages follow each other without gaps or repeats.
        let mut seen = Vec::new();
        for start in [1, 3, 5, 7] {
            let page = gw
                .get(&format!("/Users?startIndex={start}&count=2"), flag)
                .await
                .expect(200);
            assert_eq!(page["startIndex"], start);
            for user in page["Resources"].as_array().expect("Resources") {
                seen.push(user["id"].as_str().expect("id").to_owned());
            }
        }
        let mut unique_ids = seen.clone();
        unique_ids.sort();
        unique_ids.dedup();
        assert_eq!(seen.len(), 7, "{seen:?}");
        assert_eq!(unique_ids.len(), 7, "{seen:?}");
        let beyond = gw
            .get("/Users?startIndex=50&count=5", flag)
            .await
            .expect(200);
        assert_eq!(beyond["totalResults"], 7);
        assert_eq!(beyond["Resources"], json!([]));
    }
}

/// Case 69: every 4xx/5xx answer is a SCIM error as Entra parses it.
#[tokio::test]
async fn case_69_every_error_has_the_scim_error_shape() {
    let gw = gateway_with(Options {
        deadline: Some("400ms"),
        ..Options::default()
    })
    .await;
    let (id, user_name) = gw.new_user("case69").await;
    let mut errors: Vec<(String, Reply)> = Vec::new();
    let mut push = |what: &str, reply: Reply| errors.push((what.to_owned(), reply));

    push(
        "no token",
        gw.send(gw.anonymous("GET", &gw.url("/Users", Flag::Off)))
            .await,
    );
    push(
        "wrong token",
        gw.send(
            gw.anonymous("GET", &gw.url("/Users", Flag::Off))
                .bearer_auth("nope"),
        )
        .await,
    );
    push("unknown id", gw.get("/Users/987654321", Flag::Off).await);
    push(
        "bad filter",
        gw.filter("Users", "userName co \"x\"", "").await,
    );
    push(
        "duplicate",
        gw.post("/Users", Flag::Off, &entra_user(&user_name, "dup"))
            .await,
    );
    push(
        "missing userName",
        gw.post("/Users", Flag::Off, &json!({"schemas": [CORE_USER]}))
            .await,
    );
    push(
        "malformed JSON",
        gw.send(
            gw.request("POST", &gw.url("/Users", Flag::Off))
                .header("content-type", "application/scim+json")
                .body("{\"userName\": "),
        )
        .await,
    );
    push(
        "bad patch op",
        gw.patch(
            &format!("/Users/{id}"),
            Flag::Off,
            json!([{"op":"frobnicate","path":"active","value":false}]),
        )
        .await,
    );
    push(
        "bad patch path",
        gw.patch(
            &format!("/Users/{id}"),
            Flag::Off,
            json!([{"op":"replace","path":"emails[type eq","value":"x"}]),
        )
        .await,
    );
    push(
        "role outside the set",
        gw.patch(
            &format!("/Users/{id}"),
            Flag::Off,
            json!([{"op":"replace","path":"roles[primary eq \"True\"].value","value":"Root"}]),
        )
        .await,
    );
    push(
        "write to discovery",
        gw.post("/ServiceProviderConfig", Flag::Off, &json!({}))
            .await,
    );
    push("unknown route", gw.get("/Widgets", Flag::Off).await);
    push(
        "unsupported media type",
        gw.send(
            gw.request("POST", &gw.url("/Users", Flag::Off))
                .header("content-type", "text/plain")
                .body(entra_user(&unique_user_name(), &unique("ext")).to_string()),
        )
        .await,
    );
    push(
        "patch envelope without operations",
        gw.send_json(
            "PATCH",
            &format!("/Users/{id}"),
            Flag::Off,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
        )
        .await,
    );
    gw.demo
        .inject(Fault::status(500).on("GET /api/v1/users/{id}"));
    push(
        "backend 500",
        gw.get(&format!("/Users/{id}"), Flag::Off).await,
    );
    gw.demo.clear_faults();
    gw.demo
        .inject(Fault::garbage().on("GET /api/v1/users/{id}"));
    push(
        "backend garbage",
        gw.get(&format!("/Users/{id}"), Flag::Off).await,
    );
    gw.demo.clear_faults();
    gw.demo.inject(Fault::delay(3_000));
    push(
        "backend too slow",
        gw.get(&format!("/Users/{id}"), Flag::Off).await,
    );
    gw.demo.clear_faults();

    for (what, reply) in &errors {
        let status = reply.status.as_u16();
        assert!(
            reply.status.is_client_error() || reply.status.is_server_error(),
            "{what}: answered {status}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let content_type = reply.header("content-type").unwrap_or_default();
        assert_eq!(content_type, "application/scim+json", "{what}");
        let body: Value = serde_json::from_slice(&reply.body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {:?}", reply.body));
        assert_error_body(&body, status);
    }
    let statuses: Vec<u16> = errors.iter().map(|(_, r)| r.status.as_u16()).collect();
    for expected in [401, 404, 400, 409, 405, 502, 504] {
        assert!(
            statuses.contains(&expected),
            "no {expected} among {statuses:?}"
        );
    }
}
