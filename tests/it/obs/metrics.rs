//! `/metrics` behind a tenant credential on the main listener, and without one on the admin
//! listener, which serves health probes too but no SCIM.

use super::{As, secret, start};
use crate::entra::support::entra_user;

/// The value of the sample line starting with `prefix` (0 when absent).
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_are_served_behind_auth_and_on_the_admin_listener() {
    let gw = start().await.expect("gateway");
    let user_name = format!("{}@example.com", secret("metrics-"));
    gw.scim(
        As::Alpha,
        "POST",
        "/Users",
        Some(&entra_user(&user_name, &secret("ext-"))),
    )
    .await
    .expect(201);
    assert_eq!(gw.scim(As::Wrong, "GET", "/Users", None).await.status, 401);

    assert_eq!(
        gw.send(As::Nobody, "GET", &gw.main_url("/metrics"), None, None)
            .await
            .status,
        401
    );
    for who in [As::Alpha, As::Beta, As::Basic] {
        let scrape = gw
            .send(who, "GET", &gw.main_url("/metrics"), None, None)
            .await;
        assert_eq!(scrape.status, 200, "{who:?}: {}", scrape.text);
        assert!(
            scrape
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("application/openmetrics-text")),
            "{:?}",
            scrape.headers
        );
    }

    let scrape = gw
        .send(As::Nobody, "GET", &gw.admin_url("/metrics"), None, None)
        .await;
    assert_eq!(scrape.status, 200);
    let text = scrape.text;
    for prefix in [
        r#"scimgate_scim_requests_total{resource="User",operation="create",status="2xx"}"#,
        r#"scimgate_backend_calls_total{operation="users.create",status="2xx"}"#,
        r#"scimgate_auth_failures_total{reason="#,
        r#"scimgate_store_operations_total{operation="append_audit",outcome="ok"}"#,
        r#"scimgate_scim_request_duration_seconds_count{resource="User",operation="create"}"#,
        r#"scimgate_backend_call_duration_seconds_count{operation="users.create"}"#,
    ] {
        assert!(sample(&text, prefix) >= 1.0, "no `{prefix}` in:\n{text}");
    }
    assert!(text.contains("scimgate_requests_in_flight"), "{text}");
    assert!(text.contains("scimgate_build_info{version="), "{text}");
    assert!(!text.contains(&user_name), "personal data in metrics");

    for probe in ["/healthz", "/readyz"] {
        let answer = gw
            .send(As::Nobody, "GET", &gw.admin_url(probe), None, None)
            .await;
        assert_eq!(answer.status, 200, "{probe}: {}", answer.text);
    }
    // No SCIM on the admin listener, not even with a credential.
    let scim = gw
        .send(
            As::Alpha,
            "GET",
            &gw.admin_url("/alpha/scim/v2/Users"),
            None,
            None,
        )
        .await;
    assert_eq!(scim.status, 404);
}
