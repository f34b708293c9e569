//! Searches beyond Entra's matching filters, as Microsoft's SCIMReferenceCode collection sends
//! them: pushed down to the demo API's searches (`sw`, `co`, display name, family name, created
//! after), `and` as one call, `or` as a union of calls (deduplicated, its total exact past
//! several backend pages, bounded); the attribute-list value filter; and a manager reference
//! that is no user here, kept as sent.

use serde_json::{Value, json};

use super::support::{
    CORE_USER, ENTERPRISE, Flag, Gateway, Options, encode, gateway, gateway_with, id_of,
};

/// Creates a user with a work and a home email and a family name; returns its id.
async fn user(gw: &Gateway, user_name: &str, family: &str, work: &str, home: &str) -> String {
    let body = json!({
        "schemas": [CORE_USER],
        "userName": user_name,
        "displayName": format!("{user_name} display"),
        "name": {"givenName": "Darl", "familyName": family},
        "emails": [{"type": "work", "primary": true, "value": work},
                   {"type": "home", "value": home}]
    });
    id_of(&gw.create_user(&body).await)
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(id_of)
        .collect();
    ids.sort();
    ids
}

/// The list answer of a filter that must be 200; asserts `totalResults` is `total`.
async fn listed(gw: &Gateway, filter: &str, total: usize) -> Value {
    let list = gw.filter("Users", filter, "").await.expect(200);
    assert_eq!(list["totalResults"], json!(total), "{filter}: {list}");
    list
}

#[tokio::test]
async fn each_search_is_pushed_down_and_means_what_scim_means() {
    let gw = gateway().await;
    let omalley = user(
        &gw,
        "OMalley",
        "OMalley",
        "anna33@example.com",
        "o@home.test",
    )
    .await;
    let emp1 = user(
        &gw,
        "emp1",
        "Employee",
        "anna33@gmail.com",
        "emp1@example.org",
    )
    .await;
    let emp2 = user(
        &gw,
        "emp2",
        "Employee",
        "emp2@example.com",
        "emp2@home.test",
    )
    .await;
    let other = user(&gw, "other", "Other", "x@example.org", "y@home.test").await;

    gw.demo.reset_calls();
    let list = listed(&gw, "userName sw O", 2).await;
    assert_eq!(ids(&list), sorted(&[&omalley, &other]));
    let list = listed(&gw, "DisplayName eq \"emp1 display\"", 1).await;
    assert_eq!(ids(&list), vec![emp1.clone()]);
    // `emails.value` is any email: the home one counts.
    let list = listed(&gw, "emails.value co \"EXAMPLE.ORG\"", 2).await;
    assert_eq!(ids(&list), sorted(&[&emp1, &other]));
    listed(&gw, "meta.Created gt 2015-10-10T14:38:21.8617979-07:00", 4).await;
    listed(&gw, "meta.created gt \"2999-01-01T00:00:00+01:00\"", 0).await;
    let list = listed(
        &gw,
        "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)",
        2,
    )
    .await;
    assert_eq!(ids(&list), sorted(&[&emp1, &emp2]));
    let requests = gw.demo.recent_requests().join("\n");
    for searched in [
        "username_prefix=O",
        "display_name=emp1",
        "email_contains=EXAMPLE.ORG",
        "created_after=2015-10-10T14%3A38%3A21.8617979-07%3A00",
        "last_name=Employee&email_contains=example.com",
        "last_name=Employee&email_contains=example.org",
    ] {
        assert!(requests.contains(searched), "{searched} not in\n{requests}");
    }
    // Never a list without a search: every call carried one.
    assert!(
        gw.demo
            .recent_requests()
            .iter()
            .filter(|r| r.starts_with("GET /api/v1/users?"))
            .all(|r| r.matches('=').count() > 2),
        "{requests}"
    );
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut out: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn searches_the_api_lacks_are_refused_naming_attribute_and_operator_without_a_call() {
    let gw = gateway().await;
    gw.demo.reset_calls();
    for (filter, named) in [
        ("userName ew \"son\"", "filter on `userName` with `ew`"),
        ("title co \"Boss\"", "filter on `title` with `co`"),
        (
            "userName eq \"a\" or nickName eq \"b\"",
            "filter on `nickName` with `eq`",
        ),
    ] {
        let error = gw
            .filter("Users", filter, "")
            .await
            .expect_error(400, Some("invalidFilter"));
        let detail = error["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(named), "{filter}: {detail}");
    }
    let many = (0..11)
        .map(|i| format!("userName eq \"u{i}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let error = gw
        .filter("Users", &many, "")
        .await
        .expect_error(400, Some("invalidFilter"));
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("at most 10 are served"), "{detail}");
    assert_eq!(gw.demo.calls().total, 0, "{:?}", gw.demo.calls());
}

#[tokio::test]
async fn a_union_is_deduplicated_and_its_total_exact_past_several_backend_pages() {
    // 450 users `user{n}@example.com`: every one has an example.com email, 111 of them
    // (user1, user10…19, user100…199) start with `user1`.
    let gw = gateway_with(Options {
        seed_users: 450,
        ..Options::default()
    })
    .await;
    let filter = "userName sw \"user1\" or emails.value co \"example.com\"";
    gw.demo.reset_calls();
    let first = gw
        .get(
            &format!("/Users?filter={}&count=100", encode(filter)),
            Flag::Off,
        )
        .await
        .expect(200);
    assert_eq!(first["totalResults"], json!(450), "not 450 + 111");
    // Each search was read to its end: 111 in one page, 450 in pages of 200, 200 and 50.
    assert_eq!(gw.calls("GET /api/v1/users"), 4, "{:?}", gw.demo.calls());
    let mut seen = Vec::new();
    for start in [1, 101, 201, 301, 401] {
        let page = gw
            .get(
                &format!(
                    "/Users?filter={}&startIndex={start}&count=100",
                    encode(filter)
                ),
                Flag::Off,
            )
            .await
            .expect(200);
        assert_eq!(page["totalResults"], json!(450));
        assert_eq!(page["startIndex"], json!(start));
        seen.extend(ids(&page));
    }
    let count = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((count, seen.len()), (450, 450), "every user once");
    // One search alone: its total is exact too.
    let alone = gw
        .get(
            &format!("/Users?filter={}&count=5", encode("userName sw \"user1\"")),
            Flag::Off,
        )
        .await
        .expect(200);
    assert_eq!(alone["totalResults"], json!(111));
}

#[tokio::test]
async fn an_attribute_list_value_filter_keeps_or_drops_only_the_matching_values() {
    let gw = gateway().await;
    let id = user(
        &gw,
        "UserName111",
        "Leenay",
        "emailName357",
        "testinghome@bob.com",
    )
    .await;
    user(
        &gw,
        "UserName222",
        "Leenay",
        "jump@bob.com",
        "testinghome@bob.com",
    )
    .await;

    let list = gw
        .get(
            &format!("/Users?attributes={}", encode("emails[type eq \"work\"]")),
            Flag::Off,
        )
        .await
        .expect(200);
    assert_eq!(list["totalResults"], json!(2));
    for resource in list["Resources"].as_array().into_iter().flatten() {
        let emails = resource["emails"].as_array().cloned().unwrap_or_default();
        assert_eq!(emails.len(), 1, "{resource}");
        assert_eq!(emails[0]["type"], json!("work"));
        assert!(resource.get("userName").is_none(), "{resource}");
    }
    let one = gw
        .get(
            &format!(
                "/Users/{id}?attributes={}",
                encode("userName,emails[value eq \"emailName357\"].value")
            ),
            Flag::Off,
        )
        .await
        .expect(200);
    assert_eq!(one["emails"], json!([{"value": "emailName357"}]), "{one}");
    assert_eq!(one["userName"], json!("UserName111"));
    let without_home = gw
        .get(
            &format!(
                "/Users/{id}?excludedAttributes={}",
                encode("emails[type eq \"home\"]")
            ),
            Flag::Off,
        )
        .await
        .expect(200);
    assert_eq!(without_home["userName"], json!("UserName111"));
    assert_eq!(
        without_home["emails"],
        json!([{"type": "work", "value": "emailName357", "primary": true}])
    );
    gw.get(
        &format!("/Users?attributes={}", encode("emails[type eq]")),
        Flag::Off,
    )
    .await
    .expect_error(400, Some("invalidPath"));
}

#[tokio::test]
async fn a_manager_that_is_no_user_here_is_kept_as_sent_and_still_matched_and_removed() {
    let gw = gateway().await;
    // Microsoft's "Post EnterpriseUser", attribute-name case as published.
    let created = gw
        .create_user(&json!({
            "userName": "UserName222",
            "active": true,
            "displayName": "lennay",
            "schemas": [ENTERPRISE, CORE_USER],
            "externalId": "6a8b1c2d-0000-4000-8000-000000000001",
            "name": {"formatted": "Adrew Ryan", "familyName": "Ryan", "givenName": "Andrew"},
            "emails": [{"Primary": true, "type": "work", "value": "testing@bob2.com"}],
            ENTERPRISE: {"Department": "bob", "Manager": {"Value": "SuzzyQ"}}
        }))
        .await;
    let id = id_of(&created);
    assert_eq!(
        created[ENTERPRISE]["manager"]["value"],
        json!("SuzzyQ"),
        "{created}"
    );
    assert_eq!(gw.backend_user(&id)["manager"], json!("SuzzyQ"));
    let read = gw.user(&id).await;
    assert_eq!(read[ENTERPRISE]["manager"]["value"], json!("SuzzyQ"));
    assert_eq!(read[ENTERPRISE]["department"], json!("bob"));
    // A PUT of what was read keeps it; Entra's legacy reference check finds it.
    let put = gw
        .send_json("PUT", &format!("/Users/{id}"), Flag::Off, &read)
        .await
        .expect(200);
    assert_eq!(put[ENTERPRISE]["manager"]["value"], json!("SuzzyQ"));
    let found = gw
        .found(
            "Users",
            &format!("id eq \"{id}\" and manager eq \"SuzzyQ\""),
        )
        .await;
    assert_eq!(found.len(), 1);
    let none = gw
        .found("Users", &format!("id eq \"{id}\" and manager eq \"Other\""))
        .await;
    assert!(none.is_empty());
    let patched = gw
        .patch(
            &format!("/Users/{id}"),
            Flag::Off,
            json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}]),
        )
        .await
        .expect(200);
    assert!(patched[ENTERPRISE].get("manager").is_none(), "{patched}");
    assert_eq!(gw.backend_user(&id)["manager"], Value::Null);
}
