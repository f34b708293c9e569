//! Writes over real sockets, read back through `GET /admin/audit`: who, what, which attribute
//! names, outcome; each tenant sees only its own entries; the admin listener sees all.

use serde_json::{Value, json};

use super::{As, secret, start};
use crate::entra::support::{ENTERPRISE, entra_group, entra_user, patch_body};

fn entries(body: &Value) -> Vec<Value> {
    body["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn writes_and_refusals_are_audited_and_read_back_per_tenant() {
    let gw = start().await.expect("gateway");
    let user_name = format!("{}@example.com", secret("audit-"));
    let created = gw
        .scim(
            As::Alpha,
            "POST",
            "/Users",
            Some(&entra_user(&user_name, &secret("ext-"))),
        )
        .await
        .expect(201);
    let id = created["id"].as_str().expect("id").to_owned();
    gw.scim(
        As::Alpha,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&patch_body(&json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "path": "name.familyName", "value": "Secretfamily"},
            {"op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Sales"}
        ]))),
    )
    .await
    .expect(200);
    // Refused: the same userName again (409), and a PATCH of a user that does not exist.
    let duplicate = gw
        .scim(
            As::Basic,
            "POST",
            "/Users",
            Some(&entra_user(&user_name, &secret("ext-"))),
        )
        .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    let missing = gw
        .scim(
            As::Alpha,
            "PATCH",
            "/Users/999999",
            Some(&patch_body(
                &json!([{"op": "Replace", "path": "active", "value": true}]),
            )),
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    let group = gw
        .scim(
            As::Alpha,
            "POST",
            "/Groups",
            Some(&entra_group(&secret("audit-group-"), &secret("ext-"))),
        )
        .await
        .expect(201);
    let group_id = group["id"].as_str().expect("group id").to_owned();
    gw.scim(
        As::Alpha,
        "PATCH",
        &format!("/Groups/{group_id}"),
        Some(&patch_body(
            &json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]),
        )),
    )
    .await
    .expect(204);
    gw.scim(As::Alpha, "DELETE", &format!("/Users/{id}"), None)
        .await
        .expect(204);
    // Reads are not audited.
    gw.scim(As::Alpha, "GET", "/Users", None).await.expect(200);

    // The user's history, through the main listener with alpha's token.
    let trail = gw
        .send(
            As::Alpha,
            "GET",
            &gw.main_url(&format!(
                "/admin/audit?since=2000-01-01T00:00:00Z&scimId={id}"
            )),
            None,
            None,
        )
        .await;
    assert_eq!(
        trail
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    // Users and groups have ids of their own: the same id may name one of each.
    let users = |list: Vec<Value>| -> Vec<Value> {
        list.into_iter().filter(|e| e["kind"] == "User").collect()
    };
    let history = users(entries(&trail.expect(200)));
    let summary: Vec<(String, u64, String)> = history
        .iter()
        .map(|e| {
            (
                e["operation"].as_str().unwrap_or_default().to_owned(),
                e["status"].as_u64().unwrap_or_default(),
                e["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("create".to_owned(), 201, "success".to_owned()),
            ("patch".to_owned(), 200, "success".to_owned()),
            ("delete".to_owned(), 204, "success".to_owned()),
        ],
        "{history:?}"
    );
    let patch = &history[1];
    assert_eq!(
        patch["attributes"],
        json!([
            "active",
            "name.familyName",
            format!("{ENTERPRISE}:department")
        ])
    );
    assert_eq!(patch["tenant"], "alpha");
    assert_eq!(patch["kind"], "User");
    assert!(
        patch["credential"]
            .as_str()
            .is_some_and(|c| c.starts_with("bearer")),
        "{patch}"
    );
    assert!(patch["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    let text = trail.text.to_lowercase();
    for secret in [
        user_name.as_str(),
        "secretfamily",
        "sales",
        gw.token.as_str(),
    ] {
        assert!(!text.contains(secret), "`{secret}` in the audit trail");
    }

    // Everything alpha did, refusals included; the Basic user is named.
    let all = entries(
        &gw.send(
            As::Alpha,
            "GET",
            &gw.main_url("/admin/audit?since=2000-01-01T00:00:00Z&limit=100"),
            None,
            None,
        )
        .await
        .expect(200),
    );
    assert_eq!(all.len(), 7, "{all:?}");
    let refused: Vec<&Value> = all.iter().filter(|e| e["outcome"] != "success").collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0]["status"], 409);
    assert_eq!(refused[0]["outcome"], "uniqueness");
    assert_eq!(refused[0]["credential"], format!("basic:{}", gw.basic.0));
    assert_eq!(refused[0]["attributes"].as_array().map(Vec::len), Some(7));
    assert_eq!(refused[1]["status"], 404);
    assert_eq!(refused[1]["scimId"], "999999");
    let member_change = all
        .iter()
        .find(|e| e["kind"] == "Group" && e["operation"] == "patch")
        .expect("the member change");
    assert_eq!(member_change["attributes"], json!(["members"]));
    assert_eq!(member_change["scimId"], group_id.as_str());

    // beta's credential sees none of alpha's entries; no credential sees nothing at all.
    let beta = gw
        .send(
            As::Beta,
            "GET",
            &gw.main_url("/admin/audit?since=2000-01-01T00:00:00Z"),
            None,
            None,
        )
        .await
        .expect(200);
    assert_eq!(entries(&beta), Vec::<Value>::new());
    let anonymous = gw
        .send(As::Nobody, "GET", &gw.main_url("/admin/audit"), None, None)
        .await;
    assert_eq!(anonymous.status, 401);
    let bad = gw
        .send(
            As::Alpha,
            "GET",
            &gw.main_url("/admin/audit?since=yesterday"),
            None,
            None,
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);

    // The admin listener: no credential, every tenant.
    let admin = users(entries(
        &gw.send(
            As::Nobody,
            "GET",
            &gw.admin_url(&format!(
                "/admin/audit?since=2000-01-01T00:00:00Z&scimId={id}"
            )),
            None,
            None,
        )
        .await
        .expect(200),
    ));
    assert_eq!(admin.len(), 3, "{admin:?}");
}
