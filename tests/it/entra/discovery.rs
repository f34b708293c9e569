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
