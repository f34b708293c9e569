//! `{conn.NAME}` in `policies`: each connection of one mapping allows its own email domains
//! (`email_domains: "{conn.email_domains}"`), on create and on replace.

use serde_json::json;

use super::{WORKSPACES, start_with, user};

/// The shipped workspaces mapping with a per-connection domain policy.
fn with_domain_policy() -> String {
    WORKSPACES
        .replace(
            "connection_variables:\n",
            "connection_variables:\n  email_domains: { description: \"Comma-separated\" }\n",
        )
        .replace(
            "ids: backend\n",
            "ids: backend\n\npolicies:\n  email_domains: \"{conn.email_domains}\"\n",
        )
        // The shipped `tests:` cases run at start: they set the new variable too.
        .replace(
            "    variables: {",
            "    variables: { email_domains: example.com,",
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_allows_only_its_own_email_domains() {
    let gw = start_with(None, with_domain_policy(), None)
        .await
        .expect("gateway");
    let (_, a) = gw
        .create(
            "a",
            "workspaces",
            json!({"workspace_id": "100", "idp": "entra", "email_domains": "contoso.com, x.test"}),
        )
        .await;
    let (_, b) = gw
        .create(
            "b",
            "workspaces",
            json!({"workspace_id": "200", "idp": "okta", "email_domains": "fabrikam.com"}),
        )
        .await;
    let (base_a, base_b) = (gw.scim("a"), gw.scim("b"));

    // A refuses a fabrikam.com user, and nothing reaches the product.
    let refused = gw
        .scim_call(
            "POST",
            &format!("{base_a}/Users"),
            &a,
            Some(&user("bjensen@fabrikam.com", "ext-1")),
        )
        .await
        .expect(400);
    assert_eq!(refused["scimType"], "invalidValue", "{refused}");
    let detail = refused["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("fabrikam.com"), "{detail}");
    assert_eq!(gw.demo.workspace_user_count("100"), 0);

    // B accepts it.
    let created = gw
        .scim_call(
            "POST",
            &format!("{base_b}/Users"),
            &b,
            Some(&user("bjensen@fabrikam.com", "ext-1")),
        )
        .await
        .expect(201);
    assert_eq!(gw.demo.workspace_user_count("200"), 1);

    // A accepts its own domains (the list is split at commas, blanks trimmed).
    gw.scim_call(
        "POST",
        &format!("{base_a}/Users"),
        &a,
        Some(&user("ann@x.test", "ext-2")),
    )
    .await
    .expect(201);

    // A replace through B cannot move the user into a domain B does not allow.
    let id = created["id"].as_str().expect("id");
    let moved = gw
        .scim_call(
            "PUT",
            &format!("{base_b}/Users/{id}"),
            &b,
            Some(&user("bjensen@contoso.com", "ext-1")),
        )
        .await
        .expect(400);
    assert_eq!(moved["scimType"], "invalidValue", "{moved}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_domains_variable_is_blank_allows_no_domain() {
    let gw = start_with(None, with_domain_policy(), None)
        .await
        .expect("gateway");
    let (_, c) = gw
        .create(
            "c",
            "workspaces",
            json!({"workspace_id": "300", "idp": "entra", "email_domains": " , "}),
        )
        .await;
    let refused = gw
        .scim_call(
            "POST",
            &format!("{}/Users", gw.scim("c")),
            &c,
            Some(&user("any@x.test", "ext-1")),
        )
        .await
        .expect(400);
    assert_eq!(refused["scimType"], "invalidValue", "{refused}");
    assert_eq!(gw.demo.workspace_user_count("300"), 0);
}
