//! §5 cases 1–12: Test Connection probes, authentication, transport tolerance, the budget.

use std::convert::Infallible;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scimgate::demo::Fault;
use serde_json::{Value, json};

use super::support::{
    Flag, Options, ROTATED_TOKEN, TOKEN, assert_list, encode, entra_user, gateway, gateway_with,
    logs, patch_body, unique, unique_user_name,
};

/// Case 1: Entra's Test Connection probe — a userName that cannot exist.
#[tokio::test]
async fn case_01_probe_by_user_name_answers_empty_list() {
    let gw = gateway().await;
    let guid = uuid::Uuid::new_v4();
    // Exactly Entra's encoding: `+` for spaces, `%22` for quotes.
    let reply = gw
        .get(
            &format!("/Users?filter=userName+eq+%22{guid}%22"),
            Flag::Off,
        )
        .await;
    let list = reply.expect(200);
    assert_list(&list);
    assert_eq!(list["totalResults"], 0);
    assert_eq!(list["Resources"], json!([]));
    assert_eq!(list["startIndex"], 1);
    // The userName filter is pushed down to the backend's email query, once.
    assert_eq!(gw.calls("GET /api/v1/users"), 1);
    assert_eq!(gw.demo.calls().total, 1);
}

/// Case 2: the probe with externalId as the matching attribute.
#[tokio::test]
async fn case_02_probe_by_external_id_answers_empty_list() {
    let gw = gateway().await;
    let guid = uuid::Uuid::new_v4();
    let list = gw
        .get(
            &format!("/Users?filter=externalId+eq+%22{guid}%22"),
            Flag::Off,
        )
        .await
        .expect(200);
    assert_list(&list);
    assert_eq!(list["totalResults"], 0);
    assert_eq!(list["Resources"], json!([]));
    // The demo mapping answers externalId from scimgate's store: nothing matched, nothing asked.
    assert_eq!(gw.demo.calls().total, 0, "{:?}", gw.demo.calls());
}

/// Case 3: the group twin of the probe.
#[tokio::test]
async fn case_03_group_probe_answers_empty_list() {
    let gw = gateway().await;
    let guid = uuid::Uuid::new_v4();
    let list = gw
        .get(
            &format!("/Groups?excludedAttributes=members&filter=displayName+eq+%22{guid}%22"),
            Flag::Off,
        )
        .await
        .expect(200);
    assert_list(&list);
    assert_eq!(list["totalResults"], 0);
    assert_eq!(list["Resources"], json!([]));
    assert_eq!(gw.calls("GET /api/v1/teams"), 1);
}

/// Case 4: every route refuses a request without `Authorization`, before any backend call.
#[tokio::test]
async fn case_04_no_authorization_is_401_without_backend_call() {
    let gw = gateway().await;
    let user = entra_user(&unique_user_name(), "x").to_string();
    let patch = patch_body(&json!([{"op":"Replace","path":"active","value":"False"}])).to_string();
    let routes: [(&str, &str, Option<&str>); 12] = [
        ("GET", "/Users?filter=userName+eq+%22a%40b.c%22", None),
        ("GET", "/Users/1", None),
        ("POST", "/Users", Some(&user)),
        ("PATCH", "/Users/1", Some(&patch)),
        ("PUT", "/Users/1", Some(&user)),
        ("DELETE", "/Users/1", None),
        ("GET", "/Groups?excludedAttributes=members", None),
        ("PATCH", "/Groups/1", Some(&patch)),
        ("POST", "/Users/.search", Some("{}")),
        ("GET", "/ServiceProviderConfig", None),
        ("GET", "/Schemas", None),
        ("GET", "/ResourceTypes", None),
    ];
    for flag in super::support::FLAGS {
        for (method, path, body) in routes {
            let mut request = gw.anonymous(method, &gw.url(path, flag));
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/scim+json; charset=utf-8")
                    .body(body.to_owned());
            }
            let reply = gw.send(request).await;
            let error = reply.expect_error(401, None);
            assert!(
                reply
                    .header("www-authenticate")
                    .is_some_and(|v| v.contains("Bearer")),
                "{method} {path}: no Bearer challenge ({error})"
            );
        }
    }
    assert_eq!(gw.demo.calls().total, 0, "{:?}", gw.demo.calls());
}

/// Case 5: a wrong bearer token is refused and never written to the logs.
#[tokio::test]
async fn case_05_wrong_token_is_401_and_never_logged() {
    let gw = gateway().await;
    let wrong = format!("wrong-{}", uuid::Uuid::new_v4().simple());
    let request_id = unique("case05");
    let reply = gw
        .send(
            gw.anonymous("GET", &gw.url("/Users", Flag::Off))
                .bearer_auth(&wrong)
                .header("x-request-id", &request_id),
        )
        .await;
    reply.expect_error(401, None);
    assert!(reply.header("www-authenticate").is_some());
    assert_eq!(gw.demo.calls().total, 0);
    // The refusal was logged (so the capture works), without the token.
    let logged = super::support::eventually(|| logs::captured().contains(&request_id)).await;
    assert!(logged, "the refused request was not logged at all");
    let captured = logs::captured();
    assert!(
        !captured.contains(&wrong),
        "the wrong token reached the logs"
    );
    assert!(
        !captured.contains(TOKEN),
        "the configured token reached the logs"
    );
}

/// Case 6: both configured tokens are accepted (rotation).
#[tokio::test]
async fn case_06_rotated_token_is_accepted() {
    let gw = gateway().await;
    for token in [TOKEN, ROTATED_TOKEN] {
        let list = gw
            .send(
                gw.anonymous("GET", &gw.url("/Users?count=1", Flag::Off))
                    .bearer_auth(token),
            )
            .await
            .expect(200);
        assert_list(&list);
    }
}

// ---- Case 7: Entra-issued JWTs (Secret Token left blank) ---------------------------------

const JWT_TENANT: &str = "11111111-2222-3333-4444-555555555555";
const KEY_1: &str = include_str!("../../fixtures/auth/test-rsa-1.pem");
const KEY_2: &str = include_str!("../../fixtures/auth/test-rsa-2.pem");

/// Serves `{"keys":[…]}` with the public half of KEY_1 as `kid-1` on a loopback port.
async fn serve_jwks() -> String {
    let key = EncodingKey::from_rsa_pem(KEY_1.as_bytes()).expect("test key");
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
        "http://{}/{JWT_TENANT}/discovery/keys",
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

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

fn entra_claims() -> Value {
    json!({
        "aud": scimgate::server::auth::DEFAULT_ENTRA_AUDIENCE,
        "iss": format!("https://sts.windows.net/{JWT_TENANT}/"),
        "tid": JWT_TENANT,
        "appid": scimgate::server::auth::DEFAULT_ENTRA_APP_ID,
        "iat": now() - 60,
        "nbf": now() - 60,
        "exp": now() + 3600,
    })
}

fn sign(kid: &str, pem: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key"),
    )
    .expect("sign")
}

fn with(mut claims: Value, changes: &[(&str, Value)]) -> Value {
    for (name, value) in changes {
        claims[*name] = value.clone();
    }
    claims
}

/// Case 7: an Entra JWT is accepted; another tenant, issuer or audience, an expired token and
/// an unknown key are refused with 401.
#[tokio::test]
async fn case_07_entra_jwt_good_accepted_bad_refused() {
    let jwks = serve_jwks().await;
    let gw = gateway_with(Options {
        entra_jwt: Some((JWT_TENANT.to_owned(), jwks)),
        ..Options::default()
    })
    .await;
    let call = |token: String| {
        let gw = &gw;
        async move {
            gw.send(
                gw.anonymous(
                    "GET",
                    &gw.url("/Users?filter=userName+eq+%22x%40y.z%22", Flag::Off),
                )
                .bearer_auth(token),
            )
            .await
        }
    };
    let good = call(sign("kid-1", KEY_1, &entra_claims()))
        .await
        .expect(200);
    assert_list(&good);
    let other = "99999999-8888-7777-6666-555555555555";
    let refused = [
        (
            "other tid",
            sign(
                "kid-1",
                KEY_1,
                &with(entra_claims(), &[("tid", json!(other))]),
            ),
        ),
        (
            "other iss",
            sign(
                "kid-1",
                KEY_1,
                &with(
                    entra_claims(),
                    &[("iss", json!(format!("https://sts.windows.net/{other}/")))],
                ),
            ),
        ),
        (
            "other tid and iss",
            sign(
                "kid-1",
                KEY_1,
                &with(
                    entra_claims(),
                    &[
                        ("tid", json!(other)),
                        ("iss", json!(format!("https://sts.windows.net/{other}/"))),
                    ],
                ),
            ),
        ),
        (
            "expired",
            sign(
                "kid-1",
                KEY_1,
                &with(
                    entra_claims(),
                    &[("exp", json!(now() - 3600)), ("nbf", json!(now() - 7200))],
                ),
            ),
        ),
        (
            "wrong audience",
            sign(
                "kid-1",
                KEY_1,
                &with(entra_claims(), &[("aud", json!("api://someone-else"))]),
            ),
        ),
        ("unknown kid", sign("kid-2", KEY_2, &entra_claims())),
        (
            "signed by another key",
            sign("kid-1", KEY_2, &entra_claims()),
        ),
    ];
    for (why, token) in refused {
        let reply = call(token).await;
        assert_eq!(reply.status.as_u16(), 401, "{why}: {:?}", reply.body);
        reply.expect_error(401, None);
    }
    // Only the good request reached the backend.
    assert_eq!(gw.demo.calls().total, 1);
}

/// Case 8: whatever `Accept` says (or none), the answer is `application/scim+json`, never 406.
#[tokio::test]
async fn case_08_any_accept_header_gets_scim_json() {
    let gw = gateway().await;
    let (id, _) = gw.new_user("case08").await;
    for path in ["/Users?count=1".to_owned(), format!("/Users/{id}")] {
        for accept in [
            None,
            Some("text/html"),
            Some("*/*"),
            Some("application/json"),
        ] {
            let mut request = gw.request("GET", &gw.url(&path, Flag::Off));
            if let Some(accept) = accept {
                request = request.header("accept", accept);
            }
            let reply = gw.send(request).await;
            assert_eq!(
                reply.header("content-type"),
                Some("application/scim+json"),
                "{path} with Accept {accept:?}"
            );
            reply.expect(200);
        }
    }
}

/// Case 9: bodies with `application/scim+json; charset=utf-8` and with `application/json`.
#[tokio::test]
async fn case_09_scim_json_and_plain_json_bodies_are_accepted() {
    let gw = gateway().await;
    for content_type in [
        "application/scim+json; charset=utf-8",
        "application/scim+json",
        "application/json",
        "application/json; charset=utf-8",
    ] {
        let user_name = unique_user_name();
        let created = gw
            .send(
                gw.request("POST", &gw.url("/Users", Flag::Off))
                    .header("content-type", content_type)
                    .body(entra_user(&user_name, &unique("ext")).to_string()),
            )
            .await
            .expect(201);
        let id = created["id"].as_str().expect("id").to_owned();
        let patched = gw
            .send(
                gw.request("PATCH", &gw.url(&format!("/Users/{id}"), Flag::Off))
                    .header("content-type", content_type)
                    .body(
                        patch_body(&json!([
                            {"op":"Replace","path":"displayName","value":"Nine"}
                        ]))
                        .to_string(),
                    ),
            )
            .await;
        assert!(
            [200, 204].contains(&patched.status.as_u16()),
            "{content_type}: {:?}",
            patched.body
        );
        assert_eq!(
            gw.backend_user(&id)["display_name"],
            "Nine",
            "{content_type}"
        );
    }
    assert_eq!(gw.calls("POST /api/v1/users"), 4);
    assert_eq!(gw.calls("PUT /api/v1/users/{id}"), 4);
}

/// Case 10: the feature flags in the Tenant URL are ignored on every route.
#[tokio::test]
async fn case_10_feature_flags_in_the_url_are_ignored() {
    let gw = gateway().await;
    for flag in [
        "aadOptscim062020",
        "AzureAdScimPatch062020",
        "AzureAdScimPatch2017",
    ] {
        let with_flag = |path: &str| {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{}{path}{sep}{flag}", gw.base())
        };
        let user_name = unique_user_name();
        let created = gw
            .send(
                gw.request("POST", &with_flag("/Users"))
                    .header("content-type", "application/scim+json")
                    .body(entra_user(&user_name, &unique("ext")).to_string()),
            )
            .await
            .expect(201);
        let id = created["id"].as_str().expect("id").to_owned();
        let list = gw
            .send(gw.request(
                "GET",
                &with_flag(&format!(
                    "/Users?filter={}",
                    encode(&format!("userName eq \"{user_name}\""))
                )),
            ))
            .await
            .expect(200);
        assert_eq!(list["totalResults"], 1, "{flag}");
        let read = gw
            .send(gw.request("GET", &with_flag(&format!("/Users/{id}"))))
            .await
            .expect(200);
        assert_eq!(read["userName"], json!(user_name));
        let patched = gw
            .send(
                gw.request("PATCH", &with_flag(&format!("/Users/{id}")))
                    .header("content-type", "application/scim+json")
                    .body(
                        patch_body(&json!([{"op":"replace","path":"active","value":false}]))
                            .to_string(),
                    ),
            )
            .await;
        assert!([200, 204].contains(&patched.status.as_u16()), "{flag}");
        assert_eq!(gw.backend_user(&id)["status"], "disabled");
        for discovery in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
            gw.send(gw.request("GET", &with_flag(discovery)))
                .await
                .expect(200);
        }
        gw.send(gw.request("DELETE", &with_flag(&format!("/Users/{id}"))))
            .await
            .expect_no_content();
        assert!(gw.demo.user(super::support::numeric(&id)).is_none());
    }
}

/// Case 11: `/users`, `/Users` and `//Users` reach the same handler.
#[tokio::test]
async fn case_11_resource_segments_ignore_case_and_doubled_slashes() {
    let gw = gateway().await;
    let (id, user_name) = gw.new_user("case11").await;
    let filter = encode(&format!("userName eq \"{user_name}\""));
    for segment in ["/Users", "/users", "/USERS", "//Users", "//users"] {
        let list = gw
            .get(&format!("{segment}?filter={filter}"), Flag::Off)
            .await
            .expect(200);
        assert_eq!(list["totalResults"], 1, "{segment}");
        assert_eq!(list["Resources"][0]["id"], json!(id), "{segment}");
        let one = gw
            .get(&format!("{segment}/{id}"), Flag::Off)
            .await
            .expect(200);
        assert_eq!(one["id"], json!(id), "{segment}/{{id}}");
    }
    for segment in ["/Groups", "/groups", "//Groups"] {
        assert_list(&gw.get(segment, Flag::Off).await.expect(200));
    }
}

/// Case 12: a backend slower than the budget gets an honest SCIM 504 before the budget, never
/// an answer after Entra's 60 s.
#[tokio::test]
async fn case_12_slow_backend_answers_504_within_the_budget() {
    let gw = gateway_with(Options {
        deadline: Some("400ms"),
        ..Options::default()
    })
    .await;
    gw.demo.inject(Fault::delay(5_000));
    for (method, path, body) in [
        (
            "GET",
            "/Users?filter=userName+eq+%22slow%40example.com%22".to_owned(),
            None,
        ),
        ("GET", "/Users/1".to_owned(), None),
        (
            "POST",
            "/Users".to_owned(),
            Some(entra_user(&unique_user_name(), "slow")),
        ),
    ] {
        let started = Instant::now();
        let mut request = gw.request(method, &gw.url(&path, Flag::Off));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let reply = gw.send(request).await;
        let took = started.elapsed();
        reply.expect_error(504, None);
        assert!(
            took < Duration::from_secs(3),
            "{method} {path} took {took:?} with a 400 ms budget"
        );
    }
}
