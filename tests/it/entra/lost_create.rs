//! Issue 16: a create whose outcome the gateway never learned (the backend connection dropped)
//! is settled by Entra's very next request for that user, never by a timer: Entra's retry
//! (filter, then POST only when the filter finds nothing) meets no 409 in either case.

use scimgate::demo::Fault;

use super::support::{Flag, entra_user, gateway, unique, unique_user_name};

/// The backend took the create, then the connection dropped before its answer: the gateway
/// answers an honest 5xx, and Entra's retry filter finds the user, once, with its externalId.
#[tokio::test]
async fn dropped_after_the_backend_took_the_create_the_retry_filter_finds_the_user() {
    for by in ["userName", "externalId"] {
        let gw = gateway().await;
        let (user_name, external_id) = (unique_user_name(), unique("lost-after"));
        let body = entra_user(&user_name, &external_id);
        gw.demo
            .inject(Fault::truncate().times(1).on("POST /api/v1/users"));
        let lost = gw.post("/Users", Flag::Off, &body).await;
        assert!(
            lost.status.as_u16() >= 500,
            "{}: {}",
            lost.status,
            String::from_utf8_lossy(&lost.body)
        );
        assert_eq!(gw.demo.user_count(), 1, "the backend took the create");

        let filter = match by {
            "userName" => format!("userName eq \"{user_name}\""),
            _ => format!("externalId eq \"{external_id}\""),
        };
        let found = gw.filter("Users", &filter, "").await.expect(200);
        assert_eq!(found["totalResults"], 1, "filter by {by}: {found}");
        let user = &found["Resources"][0];
        assert_eq!(user["userName"], user_name.as_str(), "{user}");
        assert_eq!(user["externalId"], external_id.as_str(), "{user}");
        // Found: Entra matches it and never POSTs again; the same filter keeps answering it.
        let again = gw.filter("Users", &filter, "").await.expect(200);
        assert_eq!(again["Resources"][0]["id"], user["id"], "{again}");
        assert_eq!(gw.demo.user_count(), 1);
    }
}

/// The connection dropped before the backend took the create: Entra's retry filter finds
/// nothing, and its retried POST creates the user (201), with no 409 for the name the lost
/// create had reserved.
#[tokio::test]
async fn dropped_before_the_backend_took_the_create_the_retry_post_is_201() {
    let gw = gateway().await;
    let (user_name, external_id) = (unique_user_name(), unique("lost-before"));
    let body = entra_user(&user_name, &external_id);
    gw.demo
        .inject(Fault::drop_connection().times(1).on("POST /api/v1/users"));
    let lost = gw.post("/Users", Flag::Off, &body).await;
    assert!(
        lost.status.as_u16() >= 500,
        "{}: {}",
        lost.status,
        String::from_utf8_lossy(&lost.body)
    );
    assert_eq!(gw.demo.user_count(), 0, "the backend never took it");

    let found = gw
        .found("Users", &format!("userName eq \"{user_name}\""))
        .await;
    assert!(found.is_empty(), "{found:?}");
    let created = gw.post("/Users", Flag::Off, &body).await.expect(201);
    assert_eq!(created["userName"], user_name.as_str(), "{created}");
    assert_eq!(created["externalId"], external_id.as_str(), "{created}");
    assert_eq!(gw.demo.user_count(), 1);
    let found = gw
        .found("Users", &format!("externalId eq \"{external_id}\""))
        .await;
    assert_eq!(found.len(), 1, "{found:?}");
}

/// The same retry without the filter first (a client that re-POSTs at once): a POST that
/// finds the lost create in the backend adopts it and answers 409 `uniqueness` (the user
/// exists, Entra then matches it); one whose lost create never reached the backend gets 201.
#[tokio::test]
async fn a_retried_post_settles_the_lost_create_at_once() {
    let gw = gateway().await;
    let took = entra_user(&unique_user_name(), &unique("took"));
    gw.demo
        .inject(Fault::truncate().times(1).on("POST /api/v1/users"));
    assert!(gw.post("/Users", Flag::Off, &took).await.status.as_u16() >= 500);
    gw.post("/Users", Flag::Off, &took)
        .await
        .expect_error(409, Some("uniqueness"));
    let external_id = took["externalId"].as_str().unwrap_or_default();
    let found = gw
        .found("Users", &format!("externalId eq \"{external_id}\""))
        .await;
    assert_eq!(found.len(), 1, "{found:?}");

    let never = entra_user(&unique_user_name(), &unique("never"));
    gw.demo
        .inject(Fault::drop_connection().times(1).on("POST /api/v1/users"));
    assert!(gw.post("/Users", Flag::Off, &never).await.status.as_u16() >= 500);
    gw.post("/Users", Flag::Off, &never).await.expect(201);
    assert_eq!(gw.demo.user_count(), 2);
}
