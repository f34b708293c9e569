//! Backend faults become honest SCIM errors, and store and backend agree afterwards.

use std::time::{Duration, Instant};

use anyhow::Result;
use scimgate::demo::Fault;
use scimgate::scim::ScimError;
use serde_json::json;

use super::{
    DEMO_MAPPING, backend_id, engine_for, entra_user, filter, fixture, fixture_with, id_of,
    short_deadline,
};

#[tokio::test]
async fn backend_down_is_502_and_nothing_is_recorded() -> Result<()> {
    // A port bound but not listening: connections are refused, and no other test's server
    // can be given the port meanwhile (as could happen to a dropped listener's port).
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let url = format!("http://{}", socket.local_addr()?);
    let store = std::sync::Arc::new(scimgate::store::SqliteStore::open_in_memory()?);
    let engine = engine_for(&url, DEMO_MAPPING, store, short_deadline(5_000))?;
    let error = engine.get("User", "1").await.unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 502);
    assert!(scim.detail.contains("users.get"), "{}", scim.detail);

    let error = engine
        .create("User", &entra_user("down@example.com", "ext-down"))
        .await
        .unwrap_err();
    assert_eq!(ScimError::from(error).status, 502);
    assert!(engine.ready().await.is_err());
    Ok(())
}

#[tokio::test]
async fn slow_backend_past_the_deadline_is_504_quickly() -> Result<()> {
    let fx = fixture_with(1, short_deadline(400)).await?;
    fx.demo
        .inject(Fault::delay(3_000).on("GET /api/v1/users/{id}"));
    let started = Instant::now();
    let error = fx.engine.get("User", "1").await.unwrap_err();
    let elapsed = started.elapsed();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 504);
    assert!(scim.detail.contains("users.get"), "{}", scim.detail);
    assert!(elapsed < Duration::from_millis(1_500), "took {elapsed:?}");
    fx.demo.clear_faults();
    Ok(())
}

#[tokio::test]
async fn backend_5xx_is_502_and_the_create_is_not_recorded() -> Result<()> {
    let fx = fixture().await?;
    fx.demo
        .inject(Fault::status(500).times(1).on("POST /api/v1/users"));
    let error = fx
        .engine
        .create("User", &entra_user("five@example.com", "ext-five"))
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 502);
    assert!(scim.detail.contains("users.create"), "{}", scim.detail);
    assert_eq!(fx.demo.user_count(), 0);
    assert_eq!(
        filter(&fx, "User", r#"externalId eq "ext-five""#).await?["totalResults"],
        0
    );
    // Entra retries: the create goes through and is matched by externalId.
    let created = fx
        .engine
        .create("User", &entra_user("five@example.com", "ext-five"))
        .await?;
    let found = filter(&fx, "User", r#"externalId eq "ext-five""#).await?;
    assert_eq!(found["Resources"][0]["id"], created["id"]);
    Ok(())
}

#[tokio::test]
async fn rate_limited_is_429_with_retry_after() -> Result<()> {
    let fx = fixture_with(1, short_deadline(2_000)).await?;
    fx.demo.inject(
        Fault::status(429)
            .retry_after(120)
            .on("GET /api/v1/users/{id}"),
    );
    let error = fx.engine.get("User", "1").await.unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 429);
    assert_eq!(scim.retry_after, Some(120));
    fx.demo.clear_faults();
    Ok(())
}

#[tokio::test]
async fn unavailable_is_503_with_retry_after_and_nothing_written() -> Result<()> {
    let fx = fixture_with(0, short_deadline(2_000)).await?;
    fx.demo
        .inject(Fault::status(503).retry_after(60).on("POST /api/v1/users"));
    let error = fx
        .engine
        .create("User", &entra_user("busy@example.com", "ext-busy"))
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 503);
    assert_eq!(scim.retry_after, Some(60));
    assert!(scim.detail.contains("users.create"), "{}", scim.detail);
    assert_eq!(fx.demo.user_count(), 0);
    fx.demo.clear_faults();
    assert_eq!(
        filter(&fx, "User", r#"externalId eq "ext-busy""#).await?["totalResults"],
        0
    );
    Ok(())
}

#[tokio::test]
async fn garbage_json_is_502() -> Result<()> {
    let fx = fixture_with(1, short_deadline(2_000)).await?;
    fx.demo
        .inject(Fault::garbage().times(1).on("GET /api/v1/users"));
    let error = super::filter(&fx, "User", r#"userName eq "user1@example.com""#)
        .await
        .unwrap_err();
    let scim = ScimError::from(error.downcast::<scimgate::engine::Error>()?);
    assert_eq!(scim.status, 502);
    assert!(scim.detail.contains("users.list"), "{}", scim.detail);
    Ok(())
}

#[tokio::test]
async fn lost_create_answer_converges_on_entras_retry() -> Result<()> {
    let fx = fixture().await?;
    fx.demo
        .inject(Fault::truncate().times(1).on("POST /api/v1/users"));
    let error = fx
        .engine
        .create("User", &entra_user("lost@example.com", "ext-lost"))
        .await
        .unwrap_err();
    let scim = ScimError::from(error);
    assert!(scim.status >= 500, "{scim:?}");
    // The backend did take it.
    assert_eq!(fx.demo.user_count(), 1);

    // Entra's next cycle filters by userName first: found, and the store adopts it with the
    // externalId Entra sent.
    let found = filter(&fx, "User", r#"userName eq "lost@example.com""#).await?;
    assert_eq!(found["totalResults"], 1);
    let id = id_of(&found["Resources"][0])?;
    assert_eq!(found["Resources"][0]["externalId"], "ext-lost");
    let by_ext = filter(&fx, "User", r#"externalId eq "ext-lost""#).await?;
    assert_eq!(by_ext["Resources"][0]["id"], id.as_str());
    let record = super::stored_record(&fx, "User", &id)
        .await?
        .expect("record");
    assert_eq!(record.backend_id.as_deref(), Some(id.as_str()));

    // A retried POST instead is a clean 409, never a second user.
    let again = fx
        .engine
        .create("User", &entra_user("lost@example.com", "ext-lost"))
        .await
        .unwrap_err();
    assert_eq!(ScimError::from(again).status, 409);
    assert_eq!(fx.demo.user_count(), 1);
    Ok(())
}

#[tokio::test]
async fn lost_create_answer_then_retried_post_before_any_filter() -> Result<()> {
    let fx = fixture().await?;
    fx.demo
        .inject(Fault::truncate().times(1).on("POST /api/v1/users"));
    let body = entra_user("retry@example.com", "ext-retry");
    assert!(fx.engine.create("User", &body).await.is_err());
    let again = fx.engine.create("User", &body).await.unwrap_err();
    assert_eq!(ScimError::from(again).status, 409);
    let found = filter(&fx, "User", r#"userName eq "retry@example.com""#).await?;
    assert_eq!(found["totalResults"], 1);
    Ok(())
}

#[tokio::test]
async fn failed_write_in_a_patch_changes_nothing() -> Result<()> {
    let fx = fixture().await?;
    let created = fx
        .engine
        .create("User", &entra_user("pat@example.com", "ext-pat"))
        .await?;
    let id = id_of(&created)?;
    fx.demo
        .inject(Fault::status(500).times(1).on("PUT /api/v1/users/{id}"));
    let error = fx
        .engine
        .patch(
            "User",
            &id,
            &super::patch_body(&json!([
                {"op": "Replace", "path": "externalId", "value": "ext-changed"},
                {"op": "Replace", "path": "active", "value": false}
            ])),
        )
        .await
        .unwrap_err();
    assert_eq!(ScimError::from(error).status, 502);
    // Neither the backend nor the store took the change.
    assert_eq!(
        fx.demo.user(backend_id(&created)?).expect("user")["status"],
        "active"
    );
    assert_eq!(
        filter(&fx, "User", r#"externalId eq "ext-pat""#).await?["totalResults"],
        1
    );
    Ok(())
}

#[tokio::test]
async fn all_calls_of_one_operation_share_one_deadline() -> Result<()> {
    let fx = fixture_with(0, short_deadline(700)).await?;
    let created = fx
        .engine
        .create("User", &entra_user("dl@example.com", "ext-dl"))
        .await?;
    let id = id_of(&created)?;
    fx.demo
        .inject(Fault::delay(450).times(1).on("GET /api/v1/users/{id}"));
    fx.demo
        .inject(Fault::delay(3_000).on("PUT /api/v1/users/{id}"));
    let started = Instant::now();
    let error = fx
        .engine
        .patch(
            "User",
            &id,
            &super::patch_body(&json!([{"op": "Replace", "path": "active", "value": false}])),
        )
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    fx.demo.clear_faults();
    assert_eq!(ScimError::from(error).status, 504);
    // One budget of 700 ms for read and write together, not 700 ms per call.
    assert!(elapsed < Duration::from_millis(1_050), "took {elapsed:?}");
    Ok(())
}

#[tokio::test]
async fn dropped_connections_are_502() -> Result<()> {
    let fx = fixture_with(1, short_deadline(3_000)).await?;
    fx.demo
        .inject(Fault::drop_connection().on("GET /api/v1/users/{id}"));
    let error = fx.engine.get("User", "1").await.unwrap_err();
    fx.demo.clear_faults();
    let scim = ScimError::from(error);
    assert_eq!(scim.status, 502);
    assert!(scim.detail.contains("users.get"), "{}", scim.detail);
    // The user is still there once the backend behaves.
    assert_eq!(
        fx.engine.get("User", "1").await?["userName"],
        "user1@example.com"
    );
    Ok(())
}

#[tokio::test]
async fn repair_adopts_lost_creates_and_frees_names_the_backend_never_took() -> Result<()> {
    let fx = fixture().await?;
    // The backend took this one, but the answer was lost.
    fx.demo
        .inject(Fault::truncate().times(1).on("POST /api/v1/users"));
    assert!(
        fx.engine
            .create("User", &entra_user("took@example.com", "ext-took"))
            .await
            .is_err()
    );
    // This one timed out before the backend applied it.
    fx.demo
        .inject(Fault::drop_connection().times(1).on("POST /api/v1/users"));
    assert!(
        fx.engine
            .create("User", &entra_user("never@example.com", "ext-never"))
            .await
            .is_err()
    );
    assert_eq!(fx.demo.user_count(), 1);

    let report = fx.engine.repair_pending(Duration::ZERO).await?;
    assert_eq!((report.adopted, report.removed), (1, 1));
    let found = filter(&fx, "User", r#"externalId eq "ext-took""#).await?;
    assert_eq!(found["Resources"][0]["userName"], "took@example.com");
    assert_eq!(
        filter(&fx, "User", r#"externalId eq "ext-never""#).await?["totalResults"],
        0
    );
    // The freed name can be created now.
    fx.engine
        .create("User", &entra_user("never@example.com", "ext-never"))
        .await?;
    let again = fx.engine.repair_pending(Duration::ZERO).await?;
    assert_eq!((again.adopted, again.removed), (0, 0));
    Ok(())
}

/// Issue 15: a matched error rule puts the backend status and its meaning into the detail, and
/// the backend's message only with `show_message: true`.
#[tokio::test]
async fn issue_15_backend_messages_reach_the_detail_only_when_the_rule_opts_in() -> Result<()> {
    let rule = r#"- { status: 422, contains: "unknown user", means: invalid_value }"#;
    assert!(DEMO_MAPPING.contains(rule), "the demo mapping's 422 rule");
    let shown = DEMO_MAPPING.replace(
        rule,
        r#"- { status: 422, contains: "unknown user", means: invalid_value, show_message: true }"#,
    );
    for (yaml, show) in [(DEMO_MAPPING.to_owned(), false), (shown, true)] {
        let fx = fixture().await?;
        let store = std::sync::Arc::new(scimgate::store::SqliteStore::open_in_memory()?);
        let engine = engine_for(
            &fx.demo.base_url(),
            &yaml,
            store,
            scimgate::engine::EngineOptions::default(),
        )?;
        fx.demo.inject(
            Fault::status(422)
                .message("unknown user quoted@example.com")
                .times(1)
                .on("POST /api/v1/users"),
        );
        let error = engine
            .create("User", &entra_user("rule@example.com", "ext-rule"))
            .await
            .unwrap_err();
        let scim = ScimError::from(error);
        assert_eq!(scim.status, 400, "{}", scim.detail);
        assert!(scim.detail.contains("users.create") && scim.detail.contains("422"));
        assert_eq!(
            scim.detail.contains("quoted@example.com"),
            show,
            "show_message {show}: {}",
            scim.detail
        );
    }
    Ok(())
}
