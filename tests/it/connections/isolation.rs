//! Isolation between two connections of one mapping: A's token never reads, filters or
//! writes B's users; the same userName and externalId in A and B is fine; `externalId eq` is
//! answered from the caller's connection only; the audit trail shows only the caller's.

use serde_json::json;

use super::{start, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_never_see_each_others_users_ids_or_audit_entries() {
    let gw = start(None).await.expect("gateway");
    let (_, a) = gw
        .create(
            "a",
            "workspaces",
            json!({"workspace_id": "100", "idp": "entra"}),
        )
        .await;
    let (_, b) = gw
        .create(
            "b",
            "workspaces",
            json!({"workspace_id": "200", "idp": "okta"}),
        )
        .await;
    let (base_a, base_b) = (gw.scim("a"), gw.scim("b"));

    // The same userName and externalId in both.
    let in_a = gw
        .scim_call(
            "POST",
            &format!("{base_a}/Users"),
            &a,
            Some(&user("same@x.test", "ext-1")),
        )
        .await
        .expect(201);
    let in_b = gw
        .scim_call(
            "POST",
            &format!("{base_b}/Users"),
            &b,
            Some(&user("same@x.test", "ext-1")),
        )
        .await
        .expect(201);
    assert_eq!(gw.demo.workspace_user_count("100"), 1);
    assert_eq!(gw.demo.workspace_user_count("200"), 1);
    let only_b = gw
        .scim_call(
            "POST",
            &format!("{base_b}/Users"),
            &b,
            Some(&user("only-b@x.test", "ext-b")),
        )
        .await
        .expect(201);
    let only_b_id = only_b["id"].as_str().expect("id");

    // A's token on B's URL: 401, for reads and writes alike.
    for (method, url) in [
        ("GET", format!("{base_b}/Users")),
        ("GET", format!("{base_b}/Users/{only_b_id}")),
        ("DELETE", format!("{base_b}/Users/{only_b_id}")),
    ] {
        let refused = gw.scim_call(method, &url, &a, None).await;
        assert_eq!(refused.status, 401, "{method} {url}: {}", refused.text);
    }
    // Through A, B's user does not exist: not by id, not by filter, not by externalId.
    let by_id = gw
        .scim_call("GET", &format!("{base_a}/Users/{only_b_id}"), &a, None)
        .await;
    assert_eq!(by_id.status, 404, "{}", by_id.text);
    let by_name = gw
        .scim_call(
            "GET",
            &format!("{base_a}/Users?filter=userName%20eq%20%22only-b@x.test%22"),
            &a,
            None,
        )
        .await
        .expect(200);
    assert_eq!(by_name["totalResults"], 0, "{by_name}");
    let by_external = gw
        .scim_call(
            "GET",
            &format!("{base_a}/Users?filter=externalId%20eq%20%22ext-b%22"),
            &a,
            None,
        )
        .await
        .expect(200);
    assert_eq!(by_external["totalResults"], 0, "{by_external}");
    let shared_external = gw
        .scim_call(
            "GET",
            &format!("{base_a}/Users?filter=externalId%20eq%20%22ext-1%22"),
            &a,
            None,
        )
        .await
        .expect(200);
    assert_eq!(shared_external["totalResults"], 1, "{shared_external}");
    assert_eq!(shared_external["Resources"][0]["id"], in_a["id"]);
    let all_a = gw
        .scim_call("GET", &format!("{base_a}/Users"), &a, None)
        .await
        .expect(200);
    assert_eq!(all_a["totalResults"], 1, "{all_a}");

    // A delete through A touches only A's workspace.
    let a_id = in_a["id"].as_str().expect("id");
    gw.scim_call("DELETE", &format!("{base_a}/Users/{a_id}"), &a, None)
        .await
        .expect(204);
    assert_eq!(gw.demo.workspace_user_count("100"), 0);
    assert_eq!(gw.demo.workspace_user_count("200"), 2);
    let b_id = in_b["id"].as_str().expect("id");
    gw.scim_call("GET", &format!("{base_b}/Users/{b_id}"), &b, None)
        .await
        .expect(200);

    // The audit trail through a connection's token shows only that connection's entries.
    let url = format!("http://{}/admin/audit", gw.addr);
    let audit_a = gw.scim_call("GET", &url, &a, None).await.expect(200);
    let audit_b = gw.scim_call("GET", &url, &b, None).await.expect(200);
    let tenants = |audit: &serde_json::Value| -> Vec<String> {
        audit["entries"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e["tenant"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ta, tb) = (tenants(&audit_a), tenants(&audit_b));
    assert_eq!(ta.len(), 2, "{audit_a}");
    assert_eq!(tb.len(), 2, "{audit_b}");
    assert!(ta.iter().all(|t| t == "conn/a"), "{ta:?}");
    assert!(tb.iter().all(|t| t == "conn/b"), "{tb:?}");
}
