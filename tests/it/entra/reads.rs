//! §5 cases 13–22: user filters and reads.

use serde_json::json;

use super::support::{
    CUSTOM, ENTERPRISE, Flag, METADATA, MS_CUSTOM, assert_list, encode, entra_user,
    entra_user_with_email, gateway, id_of, unique, unique_email, unique_user_name,
};

/// Case 13: userName is caseExact=false: `Alice@Contoso.com` finds `alice@contoso.com`.
#[tokio::test]
async fn case_13_user_name_filter_ignores_case() {
    let gw = gateway().await;
    let local = unique("alice");
    let stored_name = format!("{local}@contoso.com");
    let (id, stored) = {
        let created = gw
            .create_user(&entra_user(&stored_name, &unique("ext")))
            .await;
        (id_of(&created), created["userName"].clone())
    };
    assert_eq!(stored, json!(stored_name));
    let mut capitalised = stored_name.clone();
    capitalised.replace_range(..1, "A");
    for asked in [
        capitalised.replace("@contoso.com", "@Contoso.com"),
        stored_name.to_uppercase(),
        stored_name.clone(),
    ] {
        let found = gw.found("Users", &format!("userName eq \"{asked}\"")).await;
        assert_eq!(found.len(), 1, "{asked}");
        assert_eq!(found[0]["id"], json!(id));
    }
}

/// Case 14: externalId is caseExact=true.
#[tokio::test]
async fn case_14_external_id_filter_is_case_exact() {
    let gw = gateway().await;
    let external = format!("ABC{}", uuid::Uuid::new_v4().simple()).to_uppercase();
    let created = gw
        .create_user(&entra_user(&unique_user_name(), &external))
        .await;
    let exact = gw
        .found("Users", &format!("externalId eq \"{external}\""))
        .await;
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0]["id"], created["id"]);
    assert_eq!(exact[0]["externalId"], json!(external));
    let other_case = gw
        .found(
            "Users",
            &format!("externalId eq \"{}\"", external.to_lowercase()),
        )
        .await;
    assert!(other_case.is_empty(), "{other_case:?}");
}

/// Case 15: the work-email matching filter finds the user by its email, not its userName.
#[tokio::test]
async fn case_15_work_email_filter_finds_the_user() {
    let gw = gateway().await;
    let user_name = unique_user_name();
    let email = unique_email();
    let id = id_of(
        &gw.create_user(&entra_user_with_email(&user_name, &email, &unique("ext")))
            .await,
    );
    gw.new_user("case15-other").await;
    let found = gw
        .found(
            "Users",
            &format!("emails[type eq \"work\"].value eq \"{email}\""),
        )
        .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], json!(id));
    assert_eq!(found[0]["userName"], json!(user_name));
    let by_user_name = gw
        .found(
            "Users",
            &format!("emails[type eq \"work\"].value eq \"{user_name}\""),
        )
        .await;
    assert!(by_user_name.is_empty(), "{by_user_name:?}");
}

/// Case 16: the legacy unquoted value is a 200 (match or empty), never a 500.
#[tokio::test]
async fn case_16_unquoted_legacy_value_is_not_an_error() {
    let gw = gateway().await;
    let external = format!("jyoung{}", uuid::Uuid::new_v4().simple());
    let created = gw
        .create_user(&entra_user(&unique_user_name(), &external))
        .await;
    let list = gw
        .filter("Users", &format!("externalId eq {external}"), "")
        .await
        .expect(200);
    assert_list(&list);
    match list["totalResults"].as_u64() {
        Some(0) => {}
        Some(1) => assert_eq!(list["Resources"][0]["id"], created["id"]),
        other => panic!("unexpected totalResults {other:?}: {list}"),
    }
    // Entra's historical example, verbatim.
    let legacy = gw
        .get("/Users?filter=externalId+eq+jyoung", Flag::Off)
        .await
        .expect(200);
    assert_eq!(legacy["totalResults"], 0);
}

/// Case 17: an inactive user is still found, with `active: false`.
#[tokio::test]
async fn case_17_filter_returns_inactive_users() {
    let gw = gateway().await;
    let user_name = unique_user_name();
    let mut body = entra_user(&user_name, &unique("ext"));
    body["active"] = json!(false);
    let created = gw.create_user(&body).await;
    assert_eq!(created["active"], json!(false));
    assert_eq!(gw.backend_user(&id_of(&created))["status"], "disabled");
    let found = gw
        .found("Users", &format!("userName eq \"{user_name}\""))
        .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["active"], json!(false));
    assert_eq!(gw.user(&id_of(&created)).await["active"], json!(false));
}

/// Case 18: unsupported operators and attributes are `400 invalidFilter`, asked of no backend.
#[tokio::test]
async fn case_18_unsupported_filter_is_400_invalid_filter() {
    let gw = gateway().await;
    for filter in [
        "userName ew \"a\"",
        "title co \"a\"",
        "title eq \"Boss\"",
        "userName eq \"a@b.c\" or title eq \"d@e.f\"",
        "not (userName eq \"a@b.c\")",
    ] {
        let error = gw
            .filter("Users", filter, "")
            .await
            .expect_error(400, Some("invalidFilter"));
        assert!(
            error["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{filter}: {error}"
        );
    }
    let error = gw
        .filter("Users", "userName eq", "")
        .await
        .expect_error(400, Some("invalidFilter"));
    assert!(error["detail"].is_string());
    assert_eq!(gw.demo.calls().total, 0, "{:?}", gw.demo.calls());
}

/// Case 19: RFC 7644 escapes in a filter value are parsed; the value matches exactly.
#[tokio::test]
async fn case_19_escaped_quote_in_filter_value() {
    let gw = gateway().await;
    let user_name = format!("o\"brien-{}@x.com", uuid::Uuid::new_v4().simple());
    let created = gw
        .create_user(&entra_user(&user_name, &unique("ext")))
        .await;
    let escaped = user_name.replace('"', "\\\"");
    let found = gw
        .found("Users", &format!("userName eq \"{escaped}\""))
        .await;
    assert_eq!(found.len(), 1, "{escaped}");
    assert_eq!(found[0]["id"], created["id"]);
    assert_eq!(found[0]["userName"], json!(user_name));
    // A backslash escape of a backslash parses too (and matches nothing here).
    let none = gw.found("Users", "userName eq \"a\\\\b@x.com\"").await;
    assert!(none.is_empty());
}

/// Case 20: the filter answer holds everything Entra wrote, in Entra's shapes.
#[tokio::test]
async fn case_20_filter_answer_round_trips_every_written_attribute() {
    let gw = gateway().await;
    let (manager_id, _) = gw.new_user("case20-mgr").await;
    let user_name = unique_user_name();
    let email = unique_email();
    let external = unique("ext");
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": user_name,
        "externalId": external,
        "active": true,
        "displayName": "Barbara Jensen",
        "nickName": "Babs",
        "title": "Tour Guide",
        "emails": [{"primary": true, "type": "work", "value": email},
                   {"type": "home", "value": "babs@example.org"}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"},
                         {"type": "mobile", "value": "+1 555 0101"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza",
                       "locality": "Hollywood", "region": "CA", "postalCode": "91608",
                       "country": "US"}],
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "userType": "Premium",
        "roles": [{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations",
                     "manager": {"value": manager_id}},
        MS_CUSTOM: {"tag": "701984"},
        CUSTOM: {"folders": ["Sales", "Travel"]},
        METADATA: {"Region": "EU", "CostCenter": "42"}
    });
    let created = gw.create_user(&body).await;
    let found = gw
        .found("Users", &format!("userName eq \"{user_name}\""))
        .await;
    assert_eq!(found.len(), 1);
    let user = &found[0];
    assert_eq!(user["id"], created["id"]);
    assert_eq!(user["userName"], json!(user_name));
    assert_eq!(user["externalId"], json!(external));
    assert_eq!(user["active"], json!(true));
    assert_eq!(user["displayName"], "Barbara Jensen");
    let mut emails = user["emails"].as_array().cloned().unwrap_or_default();
    emails.sort_by_key(|e| e["type"].as_str().map(str::to_owned));
    assert_eq!(
        emails,
        vec![
            json!({"type": "home", "value": "babs@example.org"}),
            json!({"type": "work", "value": email, "primary": true})
        ]
    );
    assert_eq!(user["nickName"], "Babs");
    assert_eq!(user["title"], "Tour Guide");
    let mut phones = user["phoneNumbers"].as_array().cloned().unwrap_or_default();
    phones.sort_by_key(|e| e["type"].as_str().map(str::to_owned));
    assert_eq!(
        phones,
        vec![
            json!({"type": "mobile", "value": "+1 555 0101"}),
            json!({"type": "work", "value": "+1 555 0100"})
        ]
    );
    assert_eq!(
        user["addresses"],
        json!([{"type": "work", "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood", "region": "CA", "postalCode": "91608",
                "country": "US"}])
    );
    assert_eq!(user[MS_CUSTOM], json!({"tag": "701984"}));
    assert_eq!(user["name"]["givenName"], "Barbara");
    assert_eq!(user["name"]["familyName"], "Jensen");
    assert_eq!(user["userType"], "Premium");
    assert_eq!(user["roles"][0]["value"], "Admin");
    assert_eq!(user["roles"][0]["primary"], json!(true));
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(user[ENTERPRISE]["department"], "Tour Operations");
    assert_eq!(user[ENTERPRISE]["manager"]["value"], json!(manager_id));
    assert_eq!(user[CUSTOM]["folders"], json!(["Sales", "Travel"]));
    assert_eq!(user[METADATA], json!({"Region": "EU", "CostCenter": "42"}));
    let schemas = user["schemas"].as_array().expect("schemas");
    for urn in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ENTERPRISE,
        MS_CUSTOM,
        CUSTOM,
        METADATA,
    ] {
        assert!(
            schemas.contains(&json!(urn)),
            "{urn} missing from {schemas:?}"
        );
    }
    assert_eq!(user["meta"]["resourceType"], "User");
    assert!(user["meta"]["created"].is_string());
    assert!(user["meta"]["lastModified"].is_string());
    // The same resource by id.
    let by_id = gw.user(&id_of(&created)).await;
    assert_eq!(&by_id, user);
}

/// Case 21: an unknown id is a 404 SCIM error.
#[tokio::test]
async fn case_21_unknown_user_id_is_404() {
    let gw = gateway().await;
    for id in [
        "987654321",
        "no-such-user",
        "00000000-0000-0000-0000-000000000000",
    ] {
        for flag in super::support::FLAGS {
            gw.get(&format!("/Users/{id}"), flag)
                .await
                .expect_error(404, None);
        }
    }
}

/// Case 22: Entra's legacy manager reference check: 1 item iff the manager matches.
#[tokio::test]
async fn case_22_id_and_manager_reference_check() {
    let gw = gateway().await;
    let (manager, _) = gw.new_user("case22-mgr").await;
    let (other, _) = gw.new_user("case22-other").await;
    let (id, _) = gw.new_user("case22").await;
    gw.patch(
        &format!("/Users/{id}"),
        Flag::Off,
        json!([{"op":"Add","path":format!("{ENTERPRISE}:manager"),"value":manager}]),
    )
    .await
    .expect(200);
    let check = |mgr: &str| {
        format!(
            "/Users?filter={}&attributes=id",
            encode(&format!("id eq \"{id}\" and manager eq \"{mgr}\""))
        )
    };
    let hit = gw.get(&check(&manager), Flag::Off).await.expect(200);
    assert_list(&hit);
    assert_eq!(hit["totalResults"], 1, "{hit}");
    assert_eq!(hit["Resources"][0]["id"], json!(id));
    let miss = gw.get(&check(&other), Flag::Off).await.expect(200);
    assert_eq!(miss["totalResults"], 0, "{miss}");
}
