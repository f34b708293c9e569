//! Issue 18 item 4: `reconcile` against the example API (ids reused, identity stamps,
//! header totals: `docs/examples/quirks.yaml`): users and a team made directly in the backend,
//! a user deleted in the backend and a reused id are reported, across several backend pages,
//! and nothing is written.

use anyhow::Result;
use scimgate::reconcile::{TenantReport, render_json, render_text, tenant_report};
use serde_json::json;

use super::id_of;
use super::quirks::{QUIRKS_MAPPING, all_quirks, start};

fn user(name: &str) -> serde_json::Value {
    json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name })
}

#[tokio::test]
async fn reconcile_reports_unmanaged_gone_and_reused_records_without_writing() -> Result<()> {
    // 450 users made in the product before provisioning: more than two pages of 200.
    let (demo, engine) = start(all_quirks(), 450, QUIRKS_MAPPING).await?;
    let _ann = engine.create("User", &user("ann@example.com")).await?;
    let bob = engine.create("User", &user("bob@example.com")).await?;
    let carl = engine.create("User", &user("carl@example.com")).await?;
    let sales =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"});
    engine.create("Group", &sales).await?;
    let by_hand = demo
        .create_team(&json!({"name": "Made by hand"}))
        .map_err(anyhow::Error::msg)?;
    // Bob is deleted in the product; Carl too, and his id goes to Dora, made by hand.
    let bob_backend = demo
        .user_id_by_username("bob@example.com")
        .unwrap_or_default();
    let carl_backend = demo
        .user_id_by_username("carl@example.com")
        .unwrap_or_default();
    assert!(demo.delete_user(bob_backend));
    assert!(demo.delete_user(carl_backend));
    let dora = demo
        .create_user(&json!({"username": "dora@example.com", "first_name": "D", "last_name": "X"}))
        .map_err(anyhow::Error::msg)?;
    assert_eq!(dora["id"].as_u64(), Some(carl_backend), "the id was reused");
    demo.reset_calls();

    let resources = tenant_report(&engine).await?;
    let users = &resources[0];
    assert_eq!(users.resource_type, "User");
    assert_eq!(users.backend_resources, 452, "450 seeded, Ann, Dora");
    assert_eq!(users.backend_pages, 3);
    assert_eq!(users.scim_ids, 3, "Ann, Bob, Carl");
    assert_eq!(users.unmanaged.len(), 450);
    assert_eq!(
        users.unmanaged[0].name.as_deref(),
        Some("user1@example.com")
    );
    assert_eq!(users.gone.len(), 1);
    assert_eq!(
        users.gone[0].scim_id.as_deref(),
        Some(id_of(&bob)?.as_str())
    );
    assert_eq!(users.gone[0].backend_id, bob_backend.to_string());
    assert_eq!(users.identity_changed.len(), 1);
    let changed = &users.identity_changed[0];
    assert_eq!(changed.scim_id.as_deref(), Some(id_of(&carl)?.as_str()));
    assert_eq!(changed.name.as_deref(), Some("dora@example.com"));
    let groups = &resources[1];
    assert_eq!(groups.resource_type, "Group");
    assert_eq!((groups.backend_resources, groups.scim_ids), (2, 1));
    assert_eq!(groups.unmanaged.len(), 1);
    assert_eq!(
        groups.unmanaged[0].backend_id,
        by_hand["id"].as_u64().unwrap_or_default().to_string()
    );
    assert!(groups.gone.is_empty() && groups.identity_changed.is_empty());

    // Read-only: list pages, and one get for Dora (her list item lacks Carl's stamp, which
    // a list summary might too: the full record decides); no write, the records all remain.
    let calls = demo.calls();
    assert_eq!(calls.route("GET /api/v1/users/{id}"), 1);
    assert_eq!(
        calls.total,
        calls.route("GET /api/v1/users")
            + calls.route("GET /api/v1/teams")
            + calls.route("GET /api/v1/users/{id}")
    );
    assert_eq!(calls.route("GET /api/v1/users"), 3);
    let again = tenant_report(&engine).await?;
    assert_eq!(again, resources, "a second run finds the same");

    let report = [TenantReport {
        tenant: "acme".to_owned(),
        connection: None,
        resources,
    }];
    let text = render_text(&report);
    assert!(text.contains("User: 452 in the backend (3 pages), 3 SCIM ids; 450 unmanaged, 1 gone, 1 identity changed"), "{text}");
    assert!(
        text.contains(&format!("gone: SCIM id {}", id_of(&bob)?)),
        "{text}"
    );
    assert!(
        text.contains("dora@example.com is now another record"),
        "{text}"
    );
    let doc: serde_json::Value = serde_json::from_str(&render_json(&report))?;
    assert_eq!(
        doc["tenants"][0]["resources"][0]["gone"][0]["backend_id"],
        json!(bob_backend.to_string())
    );
    Ok(())
}

#[tokio::test]
async fn reconcile_pages_without_totals_to_the_end() -> Result<()> {
    // No header totals and no `total`: pages of 200 until a short one.
    let quirks = scimgate::demo::Quirks {
        total_header: false,
        ..all_quirks()
    };
    let (demo, engine) = start(quirks, 600, QUIRKS_MAPPING).await?;
    let resources = tenant_report(&engine).await?;
    assert_eq!(resources[0].backend_resources, 600);
    assert_eq!(resources[0].unmanaged.len(), 600);
    // 600 is three full pages: the fourth, empty one ends the list.
    assert_eq!(resources[0].backend_pages, 4);
    assert_eq!(demo.calls().route("GET /api/v1/users"), 4);
    Ok(())
}
