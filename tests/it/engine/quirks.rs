//! Issue 18: the mapping features for products unlike the example API, against the example API
//! with its quirks switched on (`docs/examples/quirks.yaml`), over real sockets: a duplicate
//! accepted by the backend is refused by `create.unique`, coded JSON errors (a missing id as
//! 403) are classified by `body:` rules, totals come from a header, and an identity stamp
//! keeps a reused id from showing someone else.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use scimgate::demo::{DemoOptions, DemoServer, Quirks};
use scimgate::engine::{Engine, EngineOptions};
use scimgate::scim::ScimError;
use scimgate::store::SqliteStore;
use serde_json::{Value, json};

use super::{engine_for, id_of, patch_body, query};

/// The example mapping for the quirky example API.
pub(crate) const QUIRKS_MAPPING: &str = include_str!("../../../docs/examples/quirks.yaml");

/// Every quirk on.
pub(crate) fn all_quirks() -> Quirks {
    Quirks {
        duplicates: true,
        error_codes: true,
        total_header: true,
        reuse_ids: true,
        summaries: false,
    }
}

/// A demo backend with `quirks` and `seed` users, and an engine for `yaml` in front of it.
pub(crate) async fn start(quirks: Quirks, seed: usize, yaml: &str) -> Result<(DemoServer, Engine)> {
    let addr: SocketAddr = "127.0.0.1:0".parse()?;
    let demo = DemoServer::start(
        addr,
        DemoOptions {
            api_key: "test-key".to_owned(),
            seed_users: seed,
        },
    )
    .await?;
    demo.set_quirks(quirks);
    let store = Arc::new(SqliteStore::open_in_memory()?);
    let engine = engine_for(&demo.base_url(), yaml, store, EngineOptions::default())?;
    Ok((demo, engine))
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": { "givenName": "Ann", "familyName": "Lee" },
        "active": true,
    })
}

fn status(error: scimgate::engine::Error) -> (u16, Option<String>) {
    let scim = ScimError::from(error);
    let kind = scim
        .scim_type
        .and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    (scim.status, kind)
}

#[tokio::test]
async fn a_duplicate_the_backend_would_take_is_refused_with_409_before_any_write() -> Result<()> {
    let (demo, engine) = start(all_quirks(), 0, QUIRKS_MAPPING).await?;
    // Made by hand in the product: the gateway's store knows nothing of it.
    let by_hand = demo
        .create_user(&json!({"username": "ann@example.com", "first_name": "A", "last_name": "L"}))
        .map_err(anyhow::Error::msg)?;
    demo.reset_calls();
    let again = engine
        .create("User", &user("ANN@example.com"))
        .await
        .unwrap_err();
    let detail = again.to_string();
    assert_eq!(status(again), (409, Some("uniqueness".to_owned())));
    assert!(
        detail.contains("`userName` `ANN@example.com` is already taken by User"),
        "{detail}"
    );
    assert_eq!(demo.user_count(), 1, "the backend got no second user");
    let calls = demo.calls();
    assert_eq!(calls.route("POST /api/v1/users"), 0);
    assert_eq!(
        calls.route("GET /api/v1/users"),
        1,
        "one pushed-down lookup"
    );
    assert!(by_hand["id"].is_u64());
    // Another name creates as usual, with the lookup's one extra call.
    demo.reset_calls();
    engine.create("User", &user("bob@example.com")).await?;
    assert_eq!(demo.calls().route("GET /api/v1/users"), 1);
    assert_eq!(demo.calls().route("POST /api/v1/users"), 1);
    // Groups: `unique: [displayName]`.
    demo.create_team(&json!({"name": "Sales"}))
        .map_err(anyhow::Error::msg)?;
    let group =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"});
    let refused = engine.create("Group", &group).await.unwrap_err();
    assert_eq!(status(refused), (409, Some("uniqueness".to_owned())));
    assert_eq!(demo.team_count(), 1);
    // Without `unique` the same backend takes the duplicate: the switch is real.
    let (demo, engine) = start(
        all_quirks(),
        0,
        &QUIRKS_MAPPING.replace(", unique: [userName]", ""),
    )
    .await?;
    demo.create_user(&json!({"username": "ann@example.com", "first_name": "A", "last_name": "L"}))
        .map_err(anyhow::Error::msg)?;
    engine.create("User", &user("ann@example.com")).await?;
    assert_eq!(demo.user_count(), 2);
    Ok(())
}

#[tokio::test]
async fn coded_403_and_400_answers_become_404_and_409_by_body_rules() -> Result<()> {
    let no_unique = QUIRKS_MAPPING.replace(", unique: [userName]", "");
    let quirks = Quirks {
        error_codes: true,
        ..Quirks::default()
    };
    let (demo, engine) = start(quirks, 0, &no_unique).await?;
    let created = engine.create("User", &user("bob@example.com")).await?;
    // The backend refuses the duplicate with 400 RECORD_NOT_UNIQUE: a 409, not a 400.
    let duplicate = engine
        .create("User", &user("bob@example.com"))
        .await
        .unwrap_err();
    assert_eq!(status(duplicate), (409, Some("uniqueness".to_owned())));
    // The user is deleted in the product; its id now answers 403 RECORD_NOT_FOUND.
    let backend_id = demo
        .user_id_by_username("bob@example.com")
        .unwrap_or_default();
    assert!(demo.delete_user(backend_id));
    let gone = engine.get("User", &id_of(&created)?).await.unwrap_err();
    assert_eq!(status(gone).0, 404);
    // Without the rules the same answers read as the credentials being refused (502).
    let bare = no_unique
        .replace("  - { status: 403, body: { \"$.errors[0].extensions.code\": RECORD_NOT_FOUND }, means: not_found }\n", "");
    let (demo, engine) = start(quirks, 0, &bare).await?;
    let created = engine.create("User", &user("bob@example.com")).await?;
    let backend_id = demo
        .user_id_by_username("bob@example.com")
        .unwrap_or_default();
    assert!(demo.delete_user(backend_id));
    let gone = engine.get("User", &id_of(&created)?).await.unwrap_err();
    assert_eq!(status(gone).0, 502);
    Ok(())
}

#[tokio::test]
async fn totals_come_from_the_header_for_users_groups_and_members() -> Result<()> {
    let (demo, engine) = start(all_quirks(), 7, QUIRKS_MAPPING).await?;
    demo.reset_calls();
    let q = query(&engine, "User", &[("startIndex", "1"), ("count", "2")])?;
    let page = engine.list("User", &q).await?.to_json();
    assert_eq!(page["totalResults"], 7);
    assert_eq!(page["Resources"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        demo.calls().route("GET /api/v1/users"),
        1,
        "the header total needs no walk to the last page"
    );
    let team = demo
        .create_team(&json!({"name": "Sales"}))
        .map_err(anyhow::Error::msg)?;
    let team_id = team["id"].as_u64().unwrap_or_default();
    demo.seed_members(team_id, 200);
    demo.create_team(&json!({"name": "Travel"}))
        .map_err(anyhow::Error::msg)?;
    demo.reset_calls();
    let q = query(
        &engine,
        "Group",
        &[
            ("startIndex", "1"),
            ("count", "1"),
            ("excludedAttributes", "members"),
        ],
    )?;
    let groups = engine.list("Group", &q).await?.to_json();
    assert_eq!(groups["totalResults"], 2);
    assert_eq!(demo.calls().route("GET /api/v1/teams"), 1);
    // A group read follows the member pages by the header total: 200 members are 2 pages of
    // 100 (without a total, a third, empty page would be read to find the end).
    let sales = groups["Resources"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    demo.reset_calls();
    let read = engine.get_with("Group", &sales, true).await?;
    assert_eq!(read["members"].as_array().map(Vec::len), Some(200));
    assert_eq!(demo.calls().route("GET /api/v1/teams/{id}/members"), 2);
    Ok(())
}

#[tokio::test]
async fn a_stamp_keeps_a_reused_id_from_showing_someone_else() -> Result<()> {
    let (demo, engine) = start(all_quirks(), 0, QUIRKS_MAPPING).await?;
    let ann = engine.create("User", &user("ann@example.com")).await?;
    let ann_id = id_of(&ann)?;
    let backend_id = demo
        .user_id_by_username("ann@example.com")
        .unwrap_or_default();
    let stamp = demo
        .user(backend_id)
        .and_then(|u| u["notes"].as_str().map(str::to_owned))
        .unwrap_or_default();
    assert_eq!(stamp.len(), 36, "a random marker in notes: {stamp:?}");
    // A PATCH keeps the stamp and the record.
    engine
        .patch(
            "User",
            &ann_id,
            &patch_body(&json!([{ "op": "replace", "path": "active", "value": false }])),
        )
        .await?;
    assert_eq!(
        demo.user(backend_id).map(|u| u["notes"].clone()),
        Some(json!(stamp))
    );
    // Ann is deleted in the product and an admin makes Carl, who gets her id (same second, so
    // no timestamp could tell them apart).
    assert!(demo.delete_user(backend_id));
    let carl = demo
        .create_user(&json!({"username": "carl@example.com", "first_name": "C", "last_name": "D"}))
        .map_err(anyhow::Error::msg)?;
    assert_eq!(carl["id"].as_u64(), Some(backend_id), "the id was reused");
    let gone = engine.get("User", &ann_id).await.unwrap_err();
    assert_eq!(status(gone).0, 404, "Ann's SCIM id must not show Carl");
    // Carl is found by his own name, under a SCIM id of his own.
    let q = query(
        &engine,
        "User",
        &[("filter", "userName eq \"carl@example.com\"")],
    )?;
    let found = engine.list("User", &q).await?.to_json();
    assert_eq!(found["totalResults"], 1);
    assert_ne!(found["Resources"][0]["id"], json!(ann_id));
    // A gateway create that gets a reused id carries a new stamp: the old SCIM id stays gone.
    let dora = engine.create("User", &user("dora@example.com")).await?;
    let dora_backend = demo
        .user_id_by_username("dora@example.com")
        .unwrap_or_default();
    assert!(demo.delete_user(dora_backend));
    let eve = engine.create("User", &user("eve@example.com")).await?;
    assert_eq!(
        demo.user_id_by_username("eve@example.com"),
        Some(dora_backend),
        "Eve got Dora's id"
    );
    assert_eq!(
        status(engine.get("User", &id_of(&dora)?).await.unwrap_err()).0,
        404
    );
    assert_eq!(
        engine.get("User", &id_of(&eve)?).await?["userName"],
        "eve@example.com"
    );
    Ok(())
}

#[tokio::test]
async fn several_app_roles_map_onto_a_role_list_with_a_separate_primary() -> Result<()> {
    let (demo, engine) = start(Quirks::default(), 0, QUIRKS_MAPPING).await?;
    // AppRoleAssignmentsComplex: several roles, none primary.
    let mut body = user("ann@example.com");
    body["roles"] = json!([
        {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "displayName": "Admin", "value": "Admin"},
        {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "displayName": "User", "value": "User"}
    ]);
    let created = engine.create("User", &body).await?;
    let id = id_of(&created)?;
    let backend_id = demo
        .user_id_by_username("ann@example.com")
        .unwrap_or_default();
    let stored = demo.user(backend_id).unwrap_or_default();
    assert_eq!(
        (stored["folders"].clone(), stored["role"].clone()),
        (json!("Admin,User"), json!("Admin"))
    );
    let roles = |resource: &Value| resource["roles"].clone();
    let both = json!([{"value": "Admin", "primary": true}, {"value": "User"}]);
    assert_eq!(roles(&engine.get("User", &id).await?), both, "round trip");
    // Entra's Add of one more role (a JSON-string value), then the removal of one.
    let add = json!([{ "op": "Add", "path": "roles",
        "value": [{"value": "{\"id\":\"06b0\",\"value\":\"ReadOnly\",\"displayName\":\"ReadOnly\"}"}] }]);
    engine.patch("User", &id, &patch_body(&add)).await?;
    let stored = demo.user(backend_id).unwrap_or_default();
    assert_eq!(
        (stored["folders"].clone(), stored["role"].clone()),
        (json!("Admin,User,ReadOnly"), json!("Admin"))
    );
    let remove = json!([{ "op": "Remove", "path": "roles[value eq \"User\"]" }]);
    engine.patch("User", &id, &patch_body(&remove)).await?;
    assert_eq!(
        roles(&engine.get("User", &id).await?),
        json!([{"value": "Admin", "primary": true}, {"value": "ReadOnly"}])
    );
    // The single-role expression changes the primary.
    let primary = json!([{ "op": "replace", "path": "roles[primary eq \"True\"].value", "value": "ReadOnly" }]);
    engine.patch("User", &id, &patch_body(&primary)).await?;
    let stored = demo.user(backend_id).unwrap_or_default();
    assert_eq!(
        (stored["folders"].clone(), stored["role"].clone()),
        (json!("ReadOnly"), json!("ReadOnly"))
    );
    Ok(())
}

#[tokio::test]
async fn a_rename_to_a_taken_user_name_is_refused_with_409_before_any_write() -> Result<()> {
    let (demo, engine) = start(all_quirks(), 0, QUIRKS_MAPPING).await?;
    demo.create_user(&json!({"username": "ann@example.com", "first_name": "A", "last_name": "L"}))
        .map_err(anyhow::Error::msg)?;
    let bob = engine.create("User", &user("bob@example.com")).await?;
    let bob_id = id_of(&bob)?;
    demo.reset_calls();
    let rename = json!([{ "op": "replace", "path": "userName", "value": "Ann@example.com" }]);
    let refused = engine
        .patch("User", &bob_id, &patch_body(&rename))
        .await
        .unwrap_err();
    assert_eq!(status(refused), (409, Some("uniqueness".to_owned())));
    let refused = engine
        .replace("User", &bob_id, &user("ann@example.com"))
        .await
        .unwrap_err();
    assert_eq!(status(refused), (409, Some("uniqueness".to_owned())));
    assert_eq!(demo.calls().route("PUT /api/v1/users/{id}"), 0, "no write");
    assert!(
        demo.user_id_by_username("bob@example.com").is_some(),
        "Bob keeps his name"
    );
    // The user's own name (a change of case only) and an unchanged one are no conflict.
    let own = json!([{ "op": "replace", "path": "userName", "value": "BOB@example.com" }]);
    engine.patch("User", &bob_id, &patch_body(&own)).await?;
    let mut same = user("BOB@example.com");
    same["displayName"] = json!("Bob");
    engine.replace("User", &bob_id, &same).await?;
    assert_eq!(demo.user_count(), 2);
    Ok(())
}

#[tokio::test]
async fn list_summaries_without_the_stamp_keep_every_record() -> Result<()> {
    let quirks = Quirks {
        summaries: true,
        ..all_quirks()
    };
    let (demo, engine) = start(quirks, 0, QUIRKS_MAPPING).await?;
    let ann = engine.create("User", &user("ann@example.com")).await?;
    let ann_id = id_of(&ann)?;
    let listed = engine
        .list("User", &query(&engine, "User", &[])?)
        .await?
        .to_json();
    assert_eq!(listed["totalResults"], 1);
    assert_eq!(listed["Resources"][0]["id"], json!(ann_id));
    // The list item had no `notes`: that said nothing about the stamp; Ann is still Ann.
    assert_eq!(
        engine.get("User", &ann_id).await?["userName"],
        "ann@example.com"
    );
    let report = scimgate::reconcile::tenant_report(&engine).await?;
    assert!(report[0].identity_changed.is_empty(), "{report:?}");
    assert!(report[0].gone.is_empty());
    // A get that lacks the stamp still decides: the record is retired.
    let backend_id = demo
        .user_id_by_username("ann@example.com")
        .unwrap_or_default();
    assert!(demo.delete_user(backend_id));
    demo.create_user(&json!({"username": "carl@example.com", "first_name": "C", "last_name": "D"}))
        .map_err(anyhow::Error::msg)?;
    assert_eq!(
        status(engine.get("User", &ann_id).await.unwrap_err()).0,
        404
    );
    Ok(())
}

/// The version-1 demo mapping, frozen (`tests/fixtures/compat/demo.yaml`): it writes the
/// manager as `$.manager_id`, the example API's older name for `manager`.
const V1_DEMO_MAPPING: &str = include_str!("../../fixtures/compat/demo.yaml");

#[tokio::test]
async fn a_v1_mapping_round_trips_a_manager_through_manager_id() -> Result<()> {
    let (demo, engine) = start(Quirks::default(), 0, V1_DEMO_MAPPING).await?;
    let boss = engine.create("User", &user("boss@example.com")).await?;
    let boss_id = id_of(&boss)?;
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let mut body = user("ann@example.com");
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", enterprise]);
    body[enterprise] = json!({ "manager": { "value": boss_id } });
    let ann = engine.create("User", &body).await?;
    let ann_id = id_of(&ann)?;
    let backend_id = demo
        .user_id_by_username("ann@example.com")
        .unwrap_or_default();
    assert_eq!(
        demo.user(backend_id).map(|u| u["manager"].clone()),
        Some(json!(boss_id)),
        "the v1 write of manager_id is kept"
    );
    let read = engine.get("User", &ann_id).await?;
    assert_eq!(read[enterprise]["manager"]["value"], json!(boss_id));
    // A PATCH clearing the manager clears it.
    let clear = json!([{ "op": "remove", "path": format!("{enterprise}:manager") }]);
    engine.patch("User", &ann_id, &patch_body(&clear)).await?;
    assert_eq!(
        demo.user(backend_id).map(|u| u["manager"].clone()),
        Some(Value::Null)
    );
    Ok(())
}
