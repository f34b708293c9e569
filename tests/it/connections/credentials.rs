//! Connection credentials beyond gateway-issued tokens, over real sockets: a Basic user
//! (Argon2id) and an Entra JWT pinned to the customer's tenant id, each added through the
//! admin API and provisioned through; another connection's URL refuses them.

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
