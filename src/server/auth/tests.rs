//! Tests of [`Authenticator`] through request headers; JWTs are checked against a JWKS served on
//! a loopback port and signed with the test keys under `tests/fixtures/auth/`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderValue};
use http_body_util::Full;
use hyper::body::Bytes;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::*;

const KEY_1: &str = include_str!("../../../tests/fixtures/auth/test-rsa-1.pem");
const KEY_2: &str = include_str!("../../../tests/fixtures/auth/test-rsa-2.pem");
const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const OTHER_TENANT: &str = "99999999-8888-7777-6666-555555555555";

fn headers(authorization: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(authorization).unwrap(),
    );
    headers
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn bearer_settings(hashes: &[String]) -> AuthSettings {
    AuthSettings {
        bearer: Some(BearerSettings {
            token_hashes: hashes.to_vec(),
            ..BearerSettings::default()
        }),
        ..AuthSettings::default()
    }
}

async fn auth(authenticator: &Authenticator, authorization: &str) -> Result<String, AuthError> {
    authenticator
        .authenticate(&headers(authorization))
        .await
        .map(|principal| principal.name)
}

// ---- bearer tokens -------------------------------------------------------------------------

#[tokio::test]
async fn new_token_verifies_with_its_hash_line() {
    let (token, line) = new_token();
    let authenticator = Authenticator::from_settings_with(&bearer_settings(&[line]), &no_env)
        .expect("the printed line is a valid setting");
    assert_eq!(
        auth(&authenticator, &format!("Bearer {token}")).await,
        Ok("bearer#1".to_owned())
    );
    assert_eq!(
        auth(&authenticator, &format!("bearer  {token}")).await.ok(),
        Some("bearer#1".into())
    );
}

#[tokio::test]
async fn rotation_accepts_every_listed_token_and_names_it() {
    let settings = bearer_settings(&[token_hash_line("old-token"), token_hash_line("new-token")]);
    let authenticator = Authenticator::from_settings_with(&settings, &no_env).unwrap();
    assert_eq!(
        auth(&authenticator, "Bearer old-token").await,
        Ok("bearer#1".into())
    );
    assert_eq!(
        auth(&authenticator, "Bearer new-token").await,
        Ok("bearer#2".into())
    );
}

#[tokio::test]
async fn wrong_missing_and_malformed_bearer_are_refused() {
    let settings = bearer_settings(&[token_hash_line("right-token")]);
    let authenticator = Authenticator::from_settings_with(&settings, &no_env).unwrap();

    let wrong = auth(&authenticator, "Bearer wrong-token")
        .await
        .unwrap_err();
    assert_eq!(wrong, AuthError::InvalidToken);
    assert!(!wrong.to_string().contains("wrong-token"));
    assert!(wrong.to_string().contains("auth.bearer.token_hashes"));

    let missing = authenticator.authenticate(&HeaderMap::new()).await;
    assert_eq!(missing.unwrap_err().reason(), "missing");

    for malformed in ["Bearer", "Bearer ", "right-token", "Bearer a b"] {
        let error = auth(&authenticator, malformed).await.unwrap_err();
        assert_eq!(error.reason(), "malformed", "{malformed:?}: {error}");
    }
    let mut twice = headers("Bearer right-token");
    twice.append(
        http::header::AUTHORIZATION,
        HeaderValue::from_static("Bearer right-token"),
    );
    assert_eq!(
        authenticator
            .authenticate(&twice)
            .await
            .unwrap_err()
            .reason(),
        "malformed"
    );

    let basic = auth(&authenticator, "Basic YTpi").await.unwrap_err();
    assert_eq!(basic.reason(), "unsupported_scheme");
    assert!(basic.to_string().contains("accepted: Bearer"), "{basic}");
}

#[tokio::test]
async fn tokens_come_from_env_closure_and_files() {
    let dir = std::env::temp_dir().join(format!("scimgate-auth-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "file-token\n").unwrap();
    let settings = AuthSettings {
        bearer: Some(BearerSettings {
            token_hashes: Vec::new(),
            tokens_from_env: vec!["SCIM_TOKEN".to_owned()],
            tokens_from_files: vec![file.display().to_string()],
        }),
        ..AuthSettings::default()
    };
    let env = |name: &str| (name == "SCIM_TOKEN").then(|| " env-token ".to_owned());
    let authenticator = Authenticator::from_settings_with(&settings, &env).unwrap();
    assert_eq!(
        auth(&authenticator, "Bearer env-token").await,
        Ok("bearer:env:SCIM_TOKEN".into())
    );
    assert_eq!(
        auth(&authenticator, "Bearer file-token").await,
        Ok(format!("bearer:file:{}", file.display()))
    );

    // Unset variable and unreadable file: both reported, with their keys.
    let problems = Authenticator::from_settings_with(
        &AuthSettings {
            bearer: Some(BearerSettings {
                token_hashes: vec!["sha256:nope".to_owned()],
                tokens_from_env: vec!["SCIM_TOKEN".to_owned()],
                tokens_from_files: vec![dir.join("absent").display().to_string()],
            }),
            ..AuthSettings::default()
        },
        &no_env,
    )
    .unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].starts_with("auth.bearer.token_hashes[0]: "));
    assert!(problems[1].starts_with("auth.bearer.tokens_from_env[0]: "));
    assert!(problems[1].contains("SCIM_TOKEN"));
    assert!(problems[2].starts_with("auth.bearer.tokens_from_files[0]: "));
}

#[test]
fn empty_settings_say_what_to_configure() {
    let problems =
        Authenticator::from_settings_with(&AuthSettings::default(), &no_env).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("auth: "), "{}", problems[0]);
    assert!(problems[0].contains("auth.bearer"));

    let problems = Authenticator::from_settings_with(&bearer_settings(&[]), &no_env).unwrap_err();
    assert!(problems[0].starts_with("auth.bearer: "), "{}", problems[0]);
}

// ---- basic -----------------------------------------------------------------------------------

#[tokio::test]
async fn basic_good_and_bad() {
    let settings = AuthSettings {
        basic: Some(vec![BasicUser {
            username: "alice".to_owned(),
            password_hash: token_hash_line("correct horse"),
        }]),
        ..AuthSettings::default()
    };
    let authenticator = Authenticator::from_settings_with(&settings, &no_env).unwrap();
    let basic = |pair: &str| format!("Basic {}", STANDARD.encode(pair));
    assert_eq!(
        auth(&authenticator, &basic("alice:correct horse")).await,
        Ok("basic:alice".into())
    );
    let wrong = auth(&authenticator, &basic("alice:battery"))
        .await
        .unwrap_err();
    assert_eq!(wrong, AuthError::BadCredentials);
    assert!(!wrong.to_string().contains("battery"));
    assert_eq!(
        auth(&authenticator, &basic("mallory:correct horse")).await,
        Err(AuthError::BadCredentials)
    );
    assert_eq!(
        auth(&authenticator, &basic("no-colon"))
            .await
            .unwrap_err()
            .reason(),
        "malformed"
    );
    assert_eq!(
        auth(&authenticator, "Basic !!!")
            .await
            .unwrap_err()
            .reason(),
        "malformed"
    );
    assert_eq!(
        auth(&authenticator, "Bearer token")
            .await
            .unwrap_err()
            .reason(),
        "unsupported_scheme"
    );
    assert_eq!(
        authenticator.www_authenticate(),
        r#"Basic realm="scimgate", charset="UTF-8""#
    );
}

// ---- Entra JWT -------------------------------------------------------------------------------

/// A JWKS served on a loopback port; the test can swap the keys and count the fetches.
struct JwksServer {
    url: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: &[(&str, &str)]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/discovery/keys", listener.local_addr().unwrap());
        let body = Arc::new(Mutex::new(jwks(keys)));
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&body), Arc::clone(&hits));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (served, counted) = (Arc::clone(&served), Arc::clone(&counted));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_request| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let body = served.lock().unwrap().clone();
                        async move {
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Self { url, body, hits }
    }

    fn publish(&self, keys: &[(&str, &str)]) {
        *self.body.lock().unwrap() = jwks(keys);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A JWKS JSON document holding the public halves of `(kid, private PEM)` pairs.
fn jwks(keys: &[(&str, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, pem)| {
            let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
            let mut jwk =
                serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap())
                    .unwrap();
            jwk["kid"] = json!(kid);
            jwk["use"] = json!("sig");
            jwk
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims Entra sends, valid for an hour.
fn entra_claims() -> Value {
    json!({
        "aud": DEFAULT_ENTRA_AUDIENCE,
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "tid": TENANT,
        "appid": DEFAULT_ENTRA_APP_ID,
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
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn with(mut claims: Value, changes: &[(&str, Value)]) -> Value {
    for (name, value) in changes {
        claims[*name] = value.clone();
    }
    claims
}

fn jwt_authenticator(jwks_url: &str, token_hashes: &[String]) -> Authenticator {
    let settings = AuthSettings {
        bearer: (!token_hashes.is_empty()).then(|| BearerSettings {
            token_hashes: token_hashes.to_vec(),
            ..BearerSettings::default()
        }),
        entra_jwt: Some(EntraJwtSettings {
            tenant_id: TENANT.to_uppercase(),
            audiences: vec![DEFAULT_ENTRA_AUDIENCE.to_owned()],
            app_id: DEFAULT_ENTRA_APP_ID.to_owned(),
            issuer: None,
            jwks_url: Some(jwks_url.to_owned()),
            leeway: Leeway(Duration::from_secs(60)),
        }),
        ..AuthSettings::default()
    };
    Authenticator::from_settings_with(&settings, &no_env).unwrap()
}

#[tokio::test]
async fn jwt_good_token_is_accepted_and_keys_are_cached() {
    let server = JwksServer::start(&[("kid-1", KEY_1)]).await;
    let authenticator = jwt_authenticator(&server.url, &[]);
    let token = sign("kid-1", KEY_1, &entra_claims());
    for _ in 0..3 {
        assert_eq!(
            auth(&authenticator, &format!("Bearer {token}")).await,
            Ok(format!("jwt:{TENANT}"))
        );
    }
    assert_eq!(server.hits(), 1, "the JWKS is fetched once, then cached");
    // An array audience with one allowed value is fine too.
    let token = sign(
        "kid-1",
        KEY_1,
        &with(
            entra_claims(),
            &[("aud", json!(["other", DEFAULT_ENTRA_AUDIENCE]))],
        ),
    );
    assert!(
        auth(&authenticator, &format!("Bearer {token}"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn jwt_claims_are_checked_with_actionable_errors() {
    let server = JwksServer::start(&[("kid-1", KEY_1)]).await;
    let authenticator = jwt_authenticator(&server.url, &[]);
    let check = |claims: Value| {
        let token = sign("kid-1", KEY_1, &claims);
        let authenticator = &authenticator;
        async move {
            auth(authenticator, &format!("Bearer {token}"))
                .await
                .unwrap_err()
        }
    };

    let expired = check(with(entra_claims(), &[("exp", json!(now() - 120))])).await;
    assert_eq!(expired.reason(), "expired", "{expired}");
    assert!(expired.to_string().contains("leeway"));
    // Within the leeway: still accepted.
    let token = sign(
        "kid-1",
        KEY_1,
        &with(entra_claims(), &[("exp", json!(now() - 30))]),
    );
    assert!(
        auth(&authenticator, &format!("Bearer {token}"))
            .await
            .is_ok()
    );

    let early = check(with(entra_claims(), &[("nbf", json!(now() + 600))])).await;
    assert_eq!(early.reason(), "not_yet_valid", "{early}");

    let other_tenant = check(with(
        entra_claims(),
        &[
            ("tid", json!(OTHER_TENANT)),
            (
                "iss",
                json!(format!("https://sts.windows.net/{OTHER_TENANT}/")),
            ),
        ],
    ))
    .await;
    assert_eq!(other_tenant.reason(), "wrong_tenant");
    assert!(other_tenant.to_string().contains(OTHER_TENANT));
    assert!(
        other_tenant
            .to_string()
            .contains("auth.entra_jwt.tenant_id")
    );

    let wrong_tid = check(with(entra_claims(), &[("tid", json!(OTHER_TENANT))])).await;
    assert_eq!(wrong_tid.reason(), "wrong_tenant");
    let wrong_iss = check(with(
        entra_claims(),
        &[(
            "iss",
            json!(format!("https://sts.windows.net/{OTHER_TENANT}/")),
        )],
    ))
    .await;
    assert_eq!(wrong_iss.reason(), "wrong_issuer", "{wrong_iss}");
    let v2_issuer = check(with(
        entra_claims(),
        &[(
            "iss",
            json!(format!("https://login.microsoftonline.com/{TENANT}/v2.0")),
        )],
    ))
    .await;
    assert_eq!(v2_issuer.reason(), "wrong_issuer");

    let audience = check(with(
        entra_claims(),
        &[("aud", json!("api://someone-else"))],
    ))
    .await;
    assert_eq!(audience.reason(), "wrong_audience");
    assert!(audience.to_string().contains("api://someone-else"));
    assert!(audience.to_string().contains("auth.entra_jwt.audiences"));

    let app = check(with(entra_claims(), &[("appid", json!(OTHER_TENANT))])).await;
    assert_eq!(app.reason(), "wrong_app");

    let no_exp = check(with(entra_claims(), &[("exp", Value::Null)])).await;
    assert_eq!(no_exp.reason(), "malformed_jwt", "{no_exp}");
}

#[tokio::test]
async fn jwt_unknown_kid_refetches_the_jwks_once_and_accepts_a_rotated_key() {
    const INTERVAL: Duration = Duration::from_millis(300);
    let server = JwksServer::start(&[("kid-1", KEY_1)]).await;
    let mut authenticator = jwt_authenticator(&server.url, &[]);
    if let Some(jwt) = authenticator.jwt.as_mut() {
        jwt.keys.min_refresh_interval = INTERVAL;
    }
    let old = sign("kid-1", KEY_1, &entra_claims());
    assert!(auth(&authenticator, &format!("Bearer {old}")).await.is_ok());
    assert_eq!(server.hits(), 1);

    // Not published yet: refetched once, still unknown; a second try within the interval does
    // not fetch again.
    tokio::time::sleep(INTERVAL).await;
    let new = sign("kid-2", KEY_2, &entra_claims());
    let error = auth(&authenticator, &format!("Bearer {new}"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        AuthError::UnknownKey {
            kid: "kid-2".into()
        }
    );
    assert!(error.to_string().contains("auth.entra_jwt.jwks_url"));
    assert_eq!(server.hits(), 2);
    assert!(
        auth(&authenticator, &format!("Bearer {new}"))
            .await
            .is_err()
    );
    assert_eq!(server.hits(), 2, "rate-limited");

    // Microsoft rotates: the new key is published; after the interval it is fetched and used.
    server.publish(&[("kid-1", KEY_1), ("kid-2", KEY_2)]);
    tokio::time::sleep(INTERVAL).await;
    assert_eq!(
        auth(&authenticator, &format!("Bearer {new}")).await,
        Ok(format!("jwt:{TENANT}"))
    );
    assert_eq!(server.hits(), 3);
    assert!(auth(&authenticator, &format!("Bearer {old}")).await.is_ok());
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn jwt_concurrent_unknown_kids_fetch_once() {
    let server = JwksServer::start(&[("kid-1", KEY_1)]).await;
    let authenticator = Arc::new(jwt_authenticator(&server.url, &[]));
    let token = sign("kid-1", KEY_1, &entra_claims());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (authenticator, token) = (Arc::clone(&authenticator), token.clone());
            tokio::spawn(async move { auth(&authenticator, &format!("Bearer {token}")).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(server.hits(), 1, "single-flight");
}

#[tokio::test]
async fn jwt_signature_and_algorithm_are_enforced() {
    let server = JwksServer::start(&[("kid-1", KEY_1), ("kid-2", KEY_2)]).await;
    let authenticator = jwt_authenticator(&server.url, &[]);
    let claims = entra_claims();

    // Signed with key 2 but claiming key 1.
    let forged = sign("kid-1", KEY_2, &claims);
    let error = auth(&authenticator, &format!("Bearer {forged}"))
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "bad_signature", "{error}");

    // Tampered payload.
    let good = sign("kid-1", KEY_1, &claims);
    let parts: Vec<&str> = good.split('.').collect();
    let payload =
        URL_SAFE_NO_PAD.encode(with(claims.clone(), &[("tid", json!(TENANT))]).to_string() + " ");
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let error = auth(&authenticator, &format!("Bearer {tampered}"))
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "bad_signature", "{error}");

    // alg none, with and without a signature part.
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"kid-1"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    for token in [
        format!("{none_header}.{body}."),
        format!("{none_header}.{body}.{}", parts[2]),
    ] {
        let error = auth(&authenticator, &format!("Bearer {token}"))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            AuthError::DisallowedAlgorithm { alg: "none".into() },
            "{token}"
        );
    }

    // HS256 "signed" with the public key material an attacker can download.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("kid-1".to_owned());
    let public = jwks(&[("kid-1", KEY_1)]);
    let hs256 = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    let error = auth(&authenticator, &format!("Bearer {hs256}"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        AuthError::DisallowedAlgorithm {
            alg: "HS256".into()
        }
    );
    assert!(error.to_string().contains("RS256"));
}

#[tokio::test]
async fn jwt_jwks_down_is_unavailable_not_unauthorized() {
    // Bind and drop a listener to get a port where nothing listens.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/keys");
    let authenticator = jwt_authenticator(&url, &[]);
    let token = sign("kid-1", KEY_1, &entra_claims());
    let error = auth(&authenticator, &format!("Bearer {token}"))
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "jwks_unavailable", "{error}");
    assert!(error.is_unavailable());
    assert!(error.to_string().contains(&url));
    // Within the refresh interval the failure is remembered, not retried.
    let again = auth(&authenticator, &format!("Bearer {token}"))
        .await
        .unwrap_err();
    assert_eq!(again.reason(), "jwks_unavailable");

    // A JWKS server that answers garbage is unavailable too.
    let server = JwksServer::start(&[]).await;
    *server.body.lock().unwrap() = "<html>".to_owned();
    let authenticator = jwt_authenticator(&server.url, &[]);
    let error = auth(&authenticator, &format!("Bearer {token}"))
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "jwks_unavailable", "{error}");
}

#[tokio::test]
async fn static_tokens_are_tried_before_jwt() {
    let server = JwksServer::start(&[("kid-1", KEY_1)]).await;
    let jwt = sign("kid-1", KEY_1, &entra_claims());
    // A configured static token that happens to be JWT-shaped matches without a JWKS fetch.
    let authenticator = jwt_authenticator(
        &server.url,
        &[token_hash_line(&jwt), token_hash_line("plain")],
    );
    assert_eq!(
        auth(&authenticator, &format!("Bearer {jwt}")).await,
        Ok("bearer#1".into())
    );
    assert_eq!(
        auth(&authenticator, "Bearer plain").await,
        Ok("bearer#2".into())
    );
    assert_eq!(server.hits(), 0);
    // Neither a static token nor a JWT.
    assert_eq!(
        auth(&authenticator, "Bearer other").await,
        Err(AuthError::InvalidToken)
    );
    // A JWT that is not a static token goes to the JWT check.
    let other = sign(
        "kid-1",
        KEY_1,
        &with(entra_claims(), &[("iat", json!(now()))]),
    );
    assert_eq!(
        auth(&authenticator, &format!("Bearer {other}")).await,
        Ok(format!("jwt:{TENANT}"))
    );
    assert_eq!(server.hits(), 1);

    // Only JWT configured: a non-JWT bearer says so.
    let jwt_only = jwt_authenticator(&server.url, &[]);
    let error = auth(&jwt_only, "Bearer not-a-jwt").await.unwrap_err();
    assert_eq!(error.reason(), "malformed_jwt");
    assert_eq!(jwt_only.www_authenticate(), r#"Bearer realm="scimgate""#);
}

#[test]
fn entra_jwt_settings_problems_are_all_listed() {
    let settings = AuthSettings {
        entra_jwt: Some(EntraJwtSettings {
            tenant_id: "contoso.onmicrosoft.com".to_owned(),
            audiences: Vec::new(),
            app_id: DEFAULT_ENTRA_APP_ID.to_owned(),
            issuer: None,
            jwks_url: Some("ftp://example.com/keys".to_owned()),
            leeway: Leeway(Duration::from_secs(3600)),
        }),
        ..AuthSettings::default()
    };
    let problems = Authenticator::from_settings_with(&settings, &no_env).unwrap_err();
    let keys: Vec<&str> = problems
        .iter()
        .map(|problem| problem.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "auth.entra_jwt.tenant_id",
            "auth.entra_jwt.audiences",
            "auth.entra_jwt.jwks_url",
            "auth.entra_jwt.leeway"
        ],
        "{problems:#?}"
    );
}

#[test]
fn every_reason_is_distinct() {
    let errors = [
        AuthError::Missing,
        AuthError::Malformed { why: "x" },
        AuthError::UnsupportedScheme {
            scheme: "x".into(),
            accepted: "y".into(),
        },
        AuthError::InvalidToken,
        AuthError::BadCredentials,
        AuthError::Expired {
            exp: 0,
            now: 0,
            leeway: 0,
        },
        AuthError::NotYetValid {
            nbf: 0,
            now: 0,
            leeway: 0,
        },
        AuthError::WrongIssuer {
            got: "x".into(),
            expected: "y".into(),
        },
        AuthError::WrongAudience {
            got: vec![],
            allowed: vec![],
        },
        AuthError::WrongTenant {
            got: "x".into(),
            expected: "y".into(),
        },
        AuthError::WrongApp {
            got: "x".into(),
            expected: "y".into(),
        },
        AuthError::UnknownKey { kid: "x".into() },
        AuthError::BadSignature { kid: "x".into() },
        AuthError::DisallowedAlgorithm { alg: "x".into() },
        AuthError::MalformedJwt { why: "x".into() },
        AuthError::JwksUnavailable {
            url: "x".into(),
            error: "y".into(),
        },
    ];
    let reasons: HashMap<&str, &AuthError> =
        errors.iter().map(|error| (error.reason(), error)).collect();
    assert_eq!(reasons.len(), errors.len());
}
