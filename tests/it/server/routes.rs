//! The SCIM surface over the wire: routing, content types, auth, health probes, tenants.

use std::sync::atomic::Ordering;

use http::Request;
use scimgate::settings::Limits;

use super::support::*;

#[tokio::test]
async fn the_routing_table_maps_methods_and_tolerant_paths_to_operations() {
    let server = start_plain(Limits::default(), Echo::new()).await;
    let addr = server.local_addr();
    let cases = [
        ("GET", "/scim/v2/Users", "Users", "List", None),
        ("GET", "/scim/v2/users", "Users", "List", None),
        ("GET", "/scim/v2//Users", "Users", "List", None),
        ("GET", "/SCIM/V2/Users/", "Users", "List", None),
        ("POST", "/scim/v2/Users", "Users", "Create", None),
        ("POST", "/scim/v2/Users/.search", "Users", "Search", None),
        ("GET", "/scim/v2/Users/abc", "Users", "Get", Some("abc")),
        (
            "PUT",
            "/scim/v2/groups/g%201",
            "Groups",
            "Replace",
            Some("g 1"),
        ),
        ("PATCH", "/scim/v2/GROUPS/g1", "Groups", "Patch", Some("g1")),
        ("GET", "/scim/v2/Schemas", "Schemas", "List", None),
        (
            "GET",
            "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            "Schemas",
            "Get",
            Some("urn:ietf:params:scim:schemas:core:2.0:User"),
        ),
        (
            "GET",
            "/scim/v2/ResourceTypes/User",
            "ResourceTypes",
            "Get",
            Some("User"),
        ),
        (
            "GET",
            "/scim/v2/ServiceProviderConfig",
            "ServiceProviderConfig",
            "List",
            None,
        ),
    ];
    for (method, path, resource, operation, id) in cases {
        let body = if matches!(method, "GET") {
            ""
        } else {
            r#"{"schemas":[]}"#
        };
        let reply = send(addr, with_body(authed(method, path), body)).await;
        assert!(
            reply.status.is_success(),
            "{method} {path}: {:?}",
            reply.body
        );
        assert_eq!(reply.header("content-type"), Some("application/scim+json"));
        let call = reply.json();
        assert_eq!(call["resource"], resource, "{method} {path}");
        assert_eq!(call["operation"], operation, "{method} {path}");
        assert_eq!(call["id"].as_str(), id, "{method} {path}");
        assert_eq!(call["tenant"], "default");
        assert_eq!(call["principal"], "bearer#1");
    }
    let deleted = send(addr, empty(authed("DELETE", "/scim/v2/Users/abc"))).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn unknown_query_parameters_are_passed_on_decoded() {
    let server = start_plain(Limits::default(), Echo::new()).await;
    let uri = "/scim/v2/Users?aadOptscim062020&filter=userName+eq+%22a%40b.c%22&count=1";
    let reply = send(server.local_addr(), empty(authed("GET", uri))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["query"],
        serde_json::json!([
            ["aadOptscim062020", ""],
            ["filter", "userName eq \"a@b.c\""],
            ["count", "1"]
        ])
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn writes_to_discovery_endpoints_and_unknown_routes_get_scim_errors() {
    let server = start_plain(Limits::default(), Echo::new()).await;
    let addr = server.local_addr();
    for (method, path) in [
        ("POST", "/scim/v2/Schemas"),
        ("PUT", "/scim/v2/ResourceTypes/User"),
        ("DELETE", "/scim/v2/ServiceProviderConfig"),
        ("DELETE", "/scim/v2/Users"),
        ("GET", "/scim/v2/Users/.search"),
    ] {
        let reply = send(addr, with_body(authed(method, path), "{}")).await;
        reply.assert_scim_error(405);
        assert!(reply.header("allow").is_some(), "{method} {path}");
    }
    for path in ["/scim/v2/Widgets", "/scim/v2/Users/1/extra", "/elsewhere"] {
        send(addr, empty(authed("GET", path)))
            .await
            .assert_scim_error(404);
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bodies_are_json_or_scim_json_and_responses_are_always_scim_json() {
    let server = start_plain(Limits::default(), Echo::new()).await;
    let addr = server.local_addr();
    for content_type in [
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json",
    ] {
        let request = authed("POST", "/scim/v2/Users")
            .header("content-type", content_type)
            .header("accept", "text/html");
        let reply = send(addr, with_body(request, r#"{"userName":"a"}"#)).await;
        assert_eq!(reply.status, 201, "{content_type}");
        assert_eq!(reply.header("content-type"), Some("application/scim+json"));
        assert_eq!(
            reply.header("location"),
            Some("https://scim.example.test/scim/v2/Users/new-id")
        );
        assert_eq!(reply.json()["body"]["userName"], "a");
    }
    // No Content-Type at all is accepted as JSON.
    let reply = send(
        addr,
        with_body(authed("POST", "/scim/v2/Users"), r#"{"userName":"b"}"#),
    )
    .await;
    assert_eq!(reply.status, 201);

    let xml = authed("POST", "/scim/v2/Users").header("content-type", "application/xml");
    send(addr, with_body(xml, "<user/>"))
        .await
        .assert_scim_error(415);

    let broken = send(
        addr,
        with_body(authed("PATCH", "/scim/v2/Users/1"), "{\"Operations\":"),
    )
    .await;
    assert_eq!(broken.assert_scim_error(400)["scimType"], "invalidSyntax");

    // Never 406, whatever Accept says.
    for accept in ["application/xml", "text/plain;q=1, */*;q=0"] {
        let reply = send(
            addr,
            empty(authed("GET", "/scim/v2/Users").header("accept", accept)),
        )
        .await;
        assert_eq!(reply.status, 200, "{accept}");
        assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    }
    // Engine errors pass through as SCIM errors.
    send(addr, empty(authed("GET", "/scim/v2/Users/fail")))
        .await
        .assert_scim_error(409);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn only_health_probes_are_reachable_without_credentials() {
    let echo = Echo::new();
    // No /readyz cache, so the readiness flip below shows at once.
    let limits = Limits {
        ready_cache: std::time::Duration::ZERO,
        ..Limits::default()
    };
    let server = start_plain(limits, echo.clone()).await;
    let addr = server.local_addr();
    assert_eq!(
        send(addr, empty(Request::get("/healthz"))).await.status,
        200
    );
    assert_eq!(send(addr, empty(Request::get("/readyz"))).await.status, 200);
    echo.ready.store(false, Ordering::SeqCst);
    send(addr, empty(Request::get("/readyz")))
        .await
        .assert_scim_error(503);
    assert_eq!(
        send(addr, empty(Request::get("/healthz"))).await.status,
        200
    );

    for (path, authorization) in [
        ("/scim/v2/Users", None),
        ("/scim/v2/Users", Some("Bearer bad")),
        ("/scim/v2/Schemas", None),
        ("/scim/v2/Nonexistent", None),
        ("/scim/v2/ServiceProviderConfig", Some("Basic Zm9vOmJhcg==")),
    ] {
        let mut request = Request::get(path);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let reply = send(addr, empty(request)).await;
        reply.assert_scim_error(401);
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="scimgate""#)
        );
    }
    assert_eq!(
        echo.started.load(Ordering::SeqCst),
        0,
        "the engine saw an unauthenticated call"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn tenants_have_their_own_base_paths_and_a_disabled_tenant_gets_403() {
    let mut off = tenant("beta", "/beta/scim/v2", Echo::new());
    off.enabled = false;
    let tenants = vec![tenant("acme", "/acme/scim/v2", Echo::new()), off];
    let server = start(plain_settings(Limits::default()), tenants).await;
    let addr = server.local_addr();

    let reply = send(addr, empty(authed("GET", "/acme/scim/v2/Users"))).await;
    assert_eq!(reply.json()["tenant"], "acme");
    let reply = send(addr, empty(authed("GET", "/beta/scim/v2/Users"))).await;
    let body = reply.assert_scim_error(403);
    assert_eq!(
        body["detail"],
        "SCIM provisioning is switched off for tenant beta."
    );
    // A disabled tenant still demands credentials first.
    send(addr, empty(Request::get("/beta/scim/v2/Users")))
        .await
        .assert_scim_error(401);
    send(addr, empty(authed("GET", "/scim/v2/Users")))
        .await
        .assert_scim_error(404);
    // Readiness only asks enabled tenants.
    assert_eq!(send(addr, empty(Request::get("/readyz"))).await.status, 200);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_real_authenticator_plugs_in_with_its_challenge_and_principal() {
    use scimgate::server::auth::{AuthSettings, Authenticator, BasicUser, BearerSettings};
    let (token, hash_line) = scimgate::server::auth::new_token();
    let settings = AuthSettings {
        bearer: Some(BearerSettings {
            token_hashes: vec![hash_line],
            ..BearerSettings::default()
        }),
        basic: Some(vec![BasicUser {
            username: "alice".to_owned(),
            password_hash: scimgate::server::auth::token_hash_line("long-random-password"),
        }]),
        entra_jwt: None,
    };
    let authenticator = Authenticator::from_settings_with(&settings, &|_| None).expect("auth");
    let mut acme = tenant("acme", "/scim/v2", Echo::new());
    acme.auth = std::sync::Arc::new(authenticator);
    let server = start(plain_settings(Limits::default()), vec![acme]).await;
    let addr = server.local_addr();

    let good = Request::get("/scim/v2/Users").header("authorization", format!("Bearer {token}"));
    let reply = send(addr, empty(good)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["principal"], "bearer#1");

    let wrong = Request::get("/scim/v2/Users").header("authorization", "Bearer nope");
    let reply = send(addr, empty(wrong)).await;
    let body = reply.assert_scim_error(401);
    assert!(
        !body["detail"].as_str().expect("detail").contains("nope"),
        "{body}"
    );
    let challenge = reply.header("www-authenticate").expect("challenge");
    assert!(
        challenge.contains("Bearer") && challenge.contains("Basic"),
        "{challenge}"
    );
    server.shutdown().await.expect("shutdown");
}

/// Issue 15: `/readyz` is anonymous, so it must not multiply backend calls: 400 hits from 8
/// clients within the cache interval make at most one probe of the tenant.
#[tokio::test]
async fn issue_15_readyz_probes_the_backend_at_most_once_per_interval() {
    let echo = Echo::new();
    let server = start_plain(Limits::default(), echo.clone()).await;
    let addr = server.local_addr();
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..50 {
                if send(addr, empty(Request::get("/readyz"))).await.status == 200 {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut answered = 0;
    for client in clients {
        answered += client.await.expect("client");
    }
    assert_eq!(
        answered, 400,
        "every hit answered 200 from the cached verdict"
    );
    assert_eq!(
        echo.probes.load(Ordering::SeqCst),
        1,
        "one probe for 400 hits"
    );
    server.shutdown().await.expect("shutdown");
}
