//! Connection credentials beyond gateway-issued tokens, over real sockets: a Basic user
//! (Argon2id) and an Entra JWT pinned to the customer's tenant id, each added through the
//! admin API and provisioned through; another connection's URL refuses them; each kind is
//! switched off and on, rotated and deleted with its connection.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http_body_util::Full;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{start, user};

const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const KEY: &str = include_str!("../../fixtures/auth/test-rsa-1.pem");

/// Serves a JWKS with KEY's public half as `kid-1`; returns its URL.
async fn serve_jwks() -> String {
    let key = EncodingKey::from_rsa_pem(KEY.as_bytes()).expect("test key");
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).expect("jwk"))
            .expect("jwk json");
    jwk["kid"] = json!("kid-1");
    jwk["use"] = json!("sig");
    let body = json!({ "keys": [jwk] }).to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/{TENANT}/discovery/keys",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request| {
                    let body = body.clone();
                    async move {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(bytes::Bytes::from(
                            body,
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

fn jwt(tenant: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let claims: Value = json!({
        "aud": scimgate::server::auth::DEFAULT_ENTRA_AUDIENCE,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "tid": tenant,
        "appid": scimgate::server::auth::DEFAULT_ENTRA_APP_ID,
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("kid-1".to_owned());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(KEY.as_bytes()).expect("key"),
    )
    .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_users_and_entra_jwts_provision_their_own_connection_only() {
    let gw = start(None).await.expect("gateway");
    gw.create(
        "acme",
        "workspaces",
        json!({"workspace_id": "1", "idp": "entra"}),
    )
    .await;
    gw.create(
        "other",
        "workspaces",
        json!({"workspace_id": "2", "idp": "entra"}),
    )
    .await;

    // Basic: the password is hashed with Argon2id by the gateway and never shown again.
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let added = gw
        .admin(
            "POST",
            "/admin/v1/connections/acme/credentials",
            Some(&json!({"kind": "basic", "username": "entra", "password": password})),
        )
        .await
        .expect(201);
    let basic_id = added["id"].as_str().expect("id").to_owned();
    let shown = gw.admin("GET", "/admin/v1/connections/acme", None).await;
    assert!(
        !shown.text.contains("argon2") && !shown.text.contains(&password),
        "{}",
        shown.text
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("entra:{password}"))
    );
    let made = gw
        .scim_auth(
            "POST",
            &format!("{}/Users", gw.scim("acme")),
            &basic,
            Some(&user("b@acme.test", "b")),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(gw.demo.workspace_user_count("1"), 1);
    let elsewhere = gw
        .scim_auth("GET", &format!("{}/Users", gw.scim("other")), &basic, None)
        .await;
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.text);
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("entra:not-the-password")
    );
    let refused = gw
        .scim_auth("GET", &format!("{}/Users", gw.scim("acme")), &wrong, None)
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    gw.admin(
        "DELETE",
        &format!("/admin/v1/connections/acme/tokens/{basic_id}"),
        None,
    )
    .await
    .expect(204);
    let gone = gw
        .scim_auth("GET", &format!("{}/Users", gw.scim("acme")), &basic, None)
        .await;
    assert_eq!(gone.status, 401, "{}", gone.text);

    // Entra JWT pinned to the customer's tenant.
    let jwks = serve_jwks().await;
    gw.admin(
        "POST",
        "/admin/v1/connections/acme/credentials",
        Some(&json!({"kind": "entra_jwt", "tenant_id": TENANT, "jwks_url": jwks})),
    )
    .await
    .expect(201);
    let bearer = format!("Bearer {}", jwt(TENANT));
    let listed = gw
        .scim_auth("GET", &format!("{}/Users", gw.scim("acme")), &bearer, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let other_tenant = format!("Bearer {}", jwt("99999999-2222-3333-4444-555555555555"));
    let refused = gw
        .scim_auth(
            "GET",
            &format!("{}/Users", gw.scim("acme")),
            &other_tenant,
            None,
        )
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let elsewhere = gw
        .scim_auth("GET", &format!("{}/Users", gw.scim("other")), &bearer, None)
        .await;
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.text);

    let bad = gw
        .admin(
            "POST",
            "/admin/v1/connections/acme/credentials",
            Some(&json!({"kind": "entra_jwt", "tenant_id": "not-a-guid"})),
        )
        .await
        .expect(400);
    assert!(
        bad["error"]
            .as_str()
            .is_some_and(|e| e.contains("tenant_id")),
        "{bad}"
    );
}

/// `enabled: false` answers 403 "provisioning is switched off"; `true` serves again.
async fn switch(gw: &super::Conns, id: &str, on: bool) {
    gw.admin(
        "PATCH",
        &format!("/admin/v1/connections/{id}"),
        Some(&json!({"enabled": on})),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn basic_and_jwt_connections_disable_enable_rotate_and_delete() {
    let gw = start(None).await.expect("gateway");
    gw.create(
        "acme",
        "workspaces",
        json!({"workspace_id": "1", "idp": "entra"}),
    )
    .await;
    let users = format!("{}/Users", gw.scim("acme"));
    let basic = |name: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}"))
        )
    };
    let add_basic = |name: &'static str, password: String| {
        let gw = &gw;
        async move {
            gw.admin(
                "POST",
                "/admin/v1/connections/acme/credentials",
                Some(&json!({"kind": "basic", "username": name, "password": password})),
            )
            .await
            .expect(201)["id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    };
    let old_password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let old_id = add_basic("entra", old_password.clone()).await;
    let old = basic("entra", &old_password);
    let jwks = serve_jwks().await;
    gw.admin(
        "POST",
        "/admin/v1/connections/acme/credentials",
        Some(&json!({"kind": "entra_jwt", "tenant_id": TENANT, "jwks_url": jwks})),
    )
    .await
    .expect(201);
    let bearer = format!("Bearer {}", jwt(TENANT));
    gw.scim_auth("POST", &users, &old, Some(&user("c@acme.test", "c")))
        .await
        .expect(201);

    // The sync switch stops both kinds, with the message Test connection shows.
    switch(&gw, "acme", false).await;
    for authorization in [&old, &bearer] {
        let off = gw.scim_auth("GET", &users, authorization, None).await;
        assert_eq!(off.status, 403, "{}", off.text);
        assert!(
            off.text.contains("provisioning is switched off"),
            "{}",
            off.text
        );
    }
    switch(&gw, "acme", true).await;
    for authorization in [&old, &bearer] {
        gw.scim_auth("GET", &users, authorization, None)
            .await
            .expect(200);
    }

    // Rotating a Basic password: a second user works beside the first until it is deleted.
    let new_password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    add_basic("entra-2", new_password.clone()).await;
    let new = basic("entra-2", &new_password);
    for authorization in [&old, &new] {
        gw.scim_auth("GET", &users, authorization, None)
            .await
            .expect(200);
    }
    gw.admin(
        "DELETE",
        &format!("/admin/v1/connections/acme/tokens/{old_id}"),
        None,
    )
    .await
    .expect(204);
    let gone = gw.scim_auth("GET", &users, &old, None).await;
    assert_eq!(gone.status, 401, "{}", gone.text);
    gw.scim_auth("GET", &users, &new, None).await.expect(200);

    // Deleting the connection stops every credential at once.
    gw.admin("DELETE", "/admin/v1/connections/acme", None)
        .await
        .expect(204);
    for authorization in [&new, &bearer] {
        let deleted = gw.scim_auth("GET", &users, authorization, None).await;
        assert_eq!(deleted.status, 401, "{}", deleted.text);
    }
}
