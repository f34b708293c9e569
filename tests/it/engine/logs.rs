//! One engine line per SCIM operation (`debug`; the server's "Request finished" line is the
//! `info` one, see `tests/it/obs/logs.rs`), with the call count and duration, and never a name,
//! email or credential in what the engine and the backend client log.

use anyhow::Result;
use scimgate::engine::EngineOptions;
use serde_json::json;

use super::{DEMO_MAPPING, engine_named, entra_user, filter, fixture, id_of, patch_body};
use crate::entra::support::logs;

#[tokio::test]
async fn one_line_per_operation_without_personal_data() -> Result<()> {
    // One process-wide capturing subscriber shared with the wire suite: a thread-scoped one
    // (`set_default`) loses events when tests on other threads register the same callsites
    // first (tracing caches callsite interest globally). This test's lines are told apart by
    // a tenant name of its own.
    logs::install();
    let tenant = format!("logs-{}", uuid::Uuid::new_v4().simple());
    let mut fx = fixture().await?;
    fx.engine = engine_named(
        &tenant,
        &fx.demo.base_url(),
        DEMO_MAPPING,
        fx.store.clone(),
        EngineOptions::default(),
    )?;
    let mut body = entra_user("Secret.Person@example.com", "ext-secret");
    body["name"] = json!({"givenName": "Secretgiven", "familyName": "Secretfamily"});
    let created = fx.engine.create("User", &body).await?;
    let id = id_of(&created)?;
    filter(&fx, "User", r#"userName eq "secret.person@example.com""#).await?;
    fx.engine
        .patch(
            "User",
            &id,
            &patch_body(
                &json!([{"op": "Replace", "path": "name.familyName", "value": "Otherfamily"}]),
            ),
        )
        .await?;
    let duplicate = fx.engine.create("User", &body).await;
    assert!(duplicate.is_err());

    let text = logs::captured();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("SCIM operation.") && l.contains(&tenant))
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains("operation=\"create\"") || lines[0].contains("operation=create"));
    assert!(lines[0].contains("backend_calls=1"), "{}", lines[0]);
    assert!(lines[0].contains(&id), "{}", lines[0]);
    assert!(lines[0].contains("duration_ms="), "{}", lines[0]);
    assert!(lines[2].contains("backend_calls=2"), "{}", lines[2]);
    assert!(lines[3].contains("client error"), "{}", lines[3]);
    for secret in [
        "secret.person",
        "Secretgiven",
        "Secretfamily",
        "Otherfamily",
        "test-key",
        "ext-secret",
    ] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "`{secret}` leaked into the log:\n{text}"
        );
    }
    Ok(())
}
