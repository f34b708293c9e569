//! Backend client tests against tiny in-process servers on 127.0.0.1:0.

use crate::operation::{BackendOp, OpName};
use crate::scim::ResourceKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::time::Instant;
use url::Url;

use super::*;

/// A request the test server received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: Bytes,
}

/// What the test server answers.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
    fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(usize, &Seen) -> Reply + Send + Sync>;

/// A hyper server that records every request and answers with `handler(index, request)`.
struct TestServer {
    url: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    async fn start(handler: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_in_server = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let seen = seen_in_server.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let handler = handler.clone();
                            let seen = seen.clone();
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(http_body_util::Collected::to_bytes)
                                    .unwrap_or_default();
                                let request = Seen {
                                    method: parts.method,
                                    path_and_query: parts
                                        .uri
                                        .path_and_query()
                                        .map(|p| p.as_str().to_owned())
                                        .unwrap_or_default(),
                                    headers: parts.headers,
                                    body,
                                };
                                let index = {
                                    let mut seen = seen.lock().unwrap();
                                    seen.push(request.clone());
                                    seen.len() - 1
                                };
                                let reply = handler(index, &request);
                                tokio::time::sleep(reply.delay).await;
                                let mut response = hyper::Response::builder().status(reply.status);
                                for (name, value) in &reply.headers {
                                    response = response.header(*name, value);
                                }
                                Ok::<_, std::convert::Infallible>(
                                    response.body(Full::new(Bytes::from(reply.body))).unwrap(),
                                )
                            }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: Url::parse(&format!("http://{addr}/base/")).unwrap(),
            seen,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A raw TCP server that reads the request head and then writes `answer` and closes.
async fn raw_server(answer: &'static [u8]) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.write_all(answer).await;
            let _ = stream.shutdown().await;
        }
    });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

fn config(url: &Url) -> BackendConfig {
    let mut config = BackendConfig::new(url.clone());
    config.call_timeout = Duration::from_secs(5);
    config.connect_timeout = Duration::from_secs(2);
    config
}

fn client(url: &Url) -> BackendClient {
    BackendClient::new(config(url)).unwrap()
}

fn get(path: &str) -> BackendRequest {
    BackendRequest::new(
        BackendOp::new(ResourceKind::User, OpName::Get),
        Method::GET,
        "/api/v1/users/{id}",
        path,
    )
}

fn post(path: &str) -> BackendRequest {
    BackendRequest::new(
        BackendOp::new(ResourceKind::User, OpName::Create),
        Method::POST,
        "/api/v1/users",
        path,
    )
    .with_body(json!({"email": "a@example.com"}))
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[tokio::test]
async fn get_returns_json_and_sends_defaults() {
    let server = TestServer::start(|_, _| Reply::json(200, &json!({"id": 7}))).await;
    let client = client(&server.url);
    let response = client
        .call(get("/api/v1/users/7?x=a%20b"), soon())
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, Some(json!({"id": 7})));
    assert_eq!(response.headers["content-type"], "application/json");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path_and_query, "/base/api/v1/users/7?x=a%20b");
    assert_eq!(seen[0].headers["accept"], "application/json");
    assert!(
        seen[0].headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("scimgate/")
    );
    assert_eq!(client.calls_made(), 1);
}

#[tokio::test]
async fn post_sends_json_body_and_extra_headers() {
    let server = TestServer::start(|_, _| Reply::json(201, &json!({"id": 1}))).await;
    let client = client(&server.url);
    let mut request = post("/api/v1/users");
    request.headers.push((
        HeaderName::from_static("x-tenant"),
        HeaderValue::from_static("t1"),
    ));
    let response = client.call(request, soon()).await.unwrap();
    assert_eq!(response.status, StatusCode::CREATED);
    let seen = server.seen();
    assert_eq!(seen[0].method, Method::POST);
    assert_eq!(seen[0].headers["content-type"], "application/json");
    assert_eq!(seen[0].headers["x-tenant"], "t1");
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body, json!({"email": "a@example.com"}));
}

#[tokio::test]
async fn empty_bodies_are_none() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::text(204, ""),
        _ => Reply::text(200, ""),
    })
    .await;
    let client = client(&server.url);
    let deleted = client.call(get("/a"), soon()).await.unwrap();
    assert_eq!(
        (deleted.status, deleted.body),
        (StatusCode::NO_CONTENT, None)
    );
    let empty = client.call(get("/a"), soon()).await.unwrap();
    assert_eq!((empty.status, empty.body), (StatusCode::OK, None));
}

#[tokio::test]
async fn non_2xx_is_a_status_error_with_the_backends_message() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::json(409, &json!({"error": "email taken"})),
        1 => Reply::text(404, "no such\r\nuser"),
        _ => Reply::json(422, &json!({"errors": [{"message": "bad plan"}]})),
    })
    .await;
    let client = client(&server.url);
    match client.call(post("/api/v1/users"), soon()).await {
        Err(Error::Status {
            operation,
            status,
            message,
            body,
            retry_after,
        }) => {
            assert_eq!(operation.to_string(), "users.create");
            assert_eq!(status, StatusCode::CONFLICT);
            assert_eq!(message, "email taken");
            assert_eq!(body, Some(json!({"error": "email taken"})));
            assert_eq!(retry_after, None);
        }
        other => panic!("{other:?}"),
    }
    match client.call(get("/x"), soon()).await {
        Err(Error::Status {
            status,
            message,
            body,
            ..
        }) => {
            assert_eq!(
                (status, message.as_str(), body),
                (StatusCode::NOT_FOUND, "no such user", None)
            );
        }
        other => panic!("{other:?}"),
    }
    let error = client.call(get("/x"), soon()).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    // Issue 15: the backend's text stays in the error's field, never in its `Display` (which
    // is what logs and SCIM details show).
    assert!(!error.to_string().contains("bad plan"), "{error}");
    // 4xx are never retried.
    assert_eq!(client.calls_made(), 3);
}

#[tokio::test]
async fn non_json_2xx_is_decode() {
    let server = TestServer::start(|_, _| Reply::text(200, "<html>oops</html>")).await;
    let error = client(&server.url)
        .call(get("/a"), soon())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Decode { ref operation, .. } if operation.to_string() == "users.get"),
        "{error:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_unavailable_after_retries() {
    // Bound but not listening: connections are refused, and no other test's server can be
    // given the port meanwhile (a dropped listener's port can be, and then answers).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = Url::parse(&format!("http://{}/", socket.local_addr().unwrap())).unwrap();
    let client = client(&url);
    // Connect failures are retried even for POST: nothing was sent.
    let error = client
        .call(post("/api/v1/users"), soon())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Unavailable { ref operation, .. } if operation.to_string() == "users.create"),
        "{error:?}"
    );
    assert_eq!(client.calls_made(), 3);
    assert!(!error.to_string().contains("a@example.com"));
}

#[tokio::test]
async fn reset_after_sending_is_unavailable_and_post_is_not_retried() {
    let url = raw_server(b"").await;
    let client = client(&url);
    let error = client
        .call(post("/api/v1/users"), soon())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
    assert_eq!(client.calls_made(), 1);
}

#[tokio::test]
async fn reset_is_retried_for_idempotent_methods() {
    let url = raw_server(b"").await;
    let client = client(&url);
    let mut delete = get("/a");
    delete.method = Method::DELETE;
    let error = client.call(delete, soon()).await.unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
    assert_eq!(client.calls_made(), 3);
}

#[tokio::test]
async fn per_call_timeout_on_get_is_retried_within_the_deadline() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::json(200, &json!({"slow": true})).delay(Duration::from_secs(3)),
        _ => Reply::json(200, &json!({"slow": false})),
    })
    .await;
    let mut config = config(&server.url);
    config.call_timeout = Duration::from_millis(150);
    let client = BackendClient::new(config).unwrap();
    let response = client.call(get("/a"), soon()).await.unwrap();
    assert_eq!(response.body, Some(json!({"slow": false})));
    assert_eq!(client.calls_made(), 2);
}

#[tokio::test]
async fn truncated_body_is_unavailable() {
    let url = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"id\":",
    )
    .await;
    let mut config = config(&url);
    config.max_retries = 0;
    let error = BackendClient::new(config)
        .unwrap()
        .call(get("/a"), soon())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
}

#[tokio::test]
async fn get_is_retried_on_503_then_succeeds() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::text(503, "busy"),
        _ => Reply::json(200, &json!({"id": 1})),
    })
    .await;
    let client = client(&server.url);
    let response = client.call(get("/a"), soon()).await.unwrap();
    assert_eq!(response.body, Some(json!({"id": 1})));
    assert_eq!(client.calls_made(), 2);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn post_is_not_retried_on_500_or_502_but_is_on_503() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::text(500, "boom"),
        1 => Reply::text(502, "bad gateway"),
        2 => Reply::text(503, "busy"),
        _ => Reply::json(201, &json!({"id": 1})),
    })
    .await;
    let client = client(&server.url);
    let error = client.call(post("/u"), soon()).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(server.seen().len(), 1);
    let error = client.call(post("/u"), soon()).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(server.seen().len(), 2);
    let response = client.call(post("/u"), soon()).await.unwrap();
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn retries_stop_at_max_retries() {
    let server = TestServer::start(|_, _| Reply::text(504, "slow")).await;
    let mut config = config(&server.url);
    config.max_retries = 1;
    let client = BackendClient::new(config).unwrap();
    let error = client.call(get("/a"), soon()).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::GATEWAY_TIMEOUT));
    assert_eq!(client.calls_made(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_deadline() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::json(429, &json!({"message": "slow down"})).header("retry-after", "1"),
        _ => Reply::json(201, &json!({"id": 1})),
    })
    .await;
    let client = client(&server.url);
    let started = Instant::now();
    let response = client.call(post("/u"), soon()).await.unwrap();
    assert_eq!(response.status, StatusCode::CREATED);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn retry_after_past_the_deadline_returns_the_429() {
    let server = TestServer::start(|_, _| {
        Reply::json(429, &json!({"message": "slow down"})).header("retry-after", "30")
    })
    .await;
    let client = client(&server.url);
    let started = Instant::now();
    let error = client
        .call(get("/a"), Instant::now() + Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    match error {
        Error::Status {
            status,
            retry_after,
            message,
            ..
        } => {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(retry_after, Some(Duration::from_secs(30)));
            assert_eq!(message, "slow down");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.calls_made(), 1);
}

#[tokio::test]
async fn absurd_retry_after_and_expires_in_do_not_panic() {
    let server = TestServer::start(|_, seen| {
        if seen.path_and_query == "/token" {
            return Reply::json(200, &json!({"access_token": "t", "expires_in": u64::MAX}));
        }
        Reply::text(503, "busy").header("retry-after", &u64::MAX.to_string())
    })
    .await;
    let client = oauth_client(&server);
    let error = client.call(get("/a"), soon()).await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(u64::MAX)));
    assert_eq!(client.calls_made(), 1);
    let mut config = config(&server.url);
    config.call_timeout = Duration::MAX;
    let error = BackendClient::new(config)
        .unwrap()
        .call(get("/a"), soon())
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
}

#[tokio::test]
async fn deadline_gives_timeout_quickly() {
    let server =
        TestServer::start(|_, _| Reply::json(200, &json!({})).delay(Duration::from_secs(5))).await;
    let client = client(&server.url);
    let started = Instant::now();
    let error = client
        .call(get("/a"), Instant::now() + Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { ref operation } if operation.to_string() == "users.get"),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(client.calls_made(), 1);

    // A deadline that already passed sends nothing.
    let error = client.call(get("/a"), Instant::now()).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }));
    assert_eq!(client.calls_made(), 1);
}

#[tokio::test]
async fn per_call_timeout_on_post_is_not_retried() {
    let server =
        TestServer::start(|_, _| Reply::json(200, &json!({})).delay(Duration::from_secs(3))).await;
    let mut config = config(&server.url);
    config.call_timeout = Duration::from_millis(150);
    let client = BackendClient::new(config).unwrap();
    let started = Instant::now();
    let error = client.call(post("/u"), soon()).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(client.calls_made(), 1);
}

#[tokio::test]
async fn unsafe_paths_and_headers_are_refused_without_a_request() {
    let server = TestServer::start(|_, _| Reply::json(200, &json!({}))).await;
    let client = client(&server.url);
    for path in [
        "/../admin",
        "//evil.example/x",
        "http://evil.example/",
        "/u/1\r\nX: y",
        "/u\\..",
        "/u/%2e%2e",
    ] {
        let error = client.call(get(path), soon()).await.unwrap_err();
        match error {
            Error::UnsafePath {
                operation,
                path_template,
                ..
            } => {
                assert_eq!(operation.to_string(), "users.get");
                assert_eq!(path_template, "/api/v1/users/{id}");
            }
            other => panic!("{path:?}: {other:?}"),
        }
    }
    // CR/LF cannot even be put into an `http::HeaderValue` without `unsafe`; the client's own
    // check is defence in depth. Headers the client owns are refused.
    let mut request = get("/a");
    request
        .headers
        .push((http::header::HOST, HeaderValue::from_static("evil.example")));
    let error = client.call(request, soon()).await.unwrap_err();
    assert!(matches!(error, Error::UnsafeHeader { .. }), "{error:?}");
    assert_eq!(client.calls_made(), 0);
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn static_auth_modes_send_their_header() {
    let server = TestServer::start(|_, _| Reply::json(200, &json!({}))).await;
    let modes = [
        (
            BackendAuth::Bearer(Secret::new("tok")),
            "authorization",
            "Bearer tok",
        ),
        (
            BackendAuth::Basic {
                username: "svc".into(),
                password: Secret::new("pw"),
            },
            "authorization",
            "Basic c3ZjOnB3",
        ),
        (
            BackendAuth::ApiKeyHeader {
                header: "X-Api-Key".into(),
                value: Secret::new("k1"),
            },
            "x-api-key",
            "k1",
        ),
    ];
    for (index, (auth, header, expected)) in modes.into_iter().enumerate() {
        let mut config = config(&server.url);
        config.auth = auth;
        let client = BackendClient::new(config).unwrap();
        assert!(
            !format!("{client:?}").contains(expected.rsplit(' ').next().unwrap_or("")),
            "{client:?}"
        );
        client.call(get("/a"), soon()).await.unwrap();
        assert_eq!(server.seen()[index].headers[header], expected);
    }
    let none = client(&server.url);
    none.call(get("/a"), soon()).await.unwrap();
    assert!(!server.seen()[3].headers.contains_key("authorization"));
}

#[tokio::test]
async fn configured_credential_replaces_a_mapping_header() {
    let server = TestServer::start(|_, _| Reply::json(200, &json!({}))).await;
    let mut config = config(&server.url);
    config.auth = BackendAuth::Bearer(Secret::new("tok"));
    let client = BackendClient::new(config).unwrap();
    let mut request = post("/u");
    request.headers.push((
        http::header::AUTHORIZATION,
        HeaderValue::from_static("Bearer forged"),
    ));
    request.headers.push((
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/merge-patch+json"),
    ));
    assert!(!format!("{request:?}").contains("a@example.com"));
    assert!(!format!("{request:?}").contains("forged"));
    client.call(request, soon()).await.unwrap();
    let seen = &server.seen()[0];
    let auth: Vec<_> = seen.headers.get_all("authorization").iter().collect();
    assert_eq!(auth, [&HeaderValue::from_static("Bearer tok")]);
    assert_eq!(seen.headers["content-type"], "application/merge-patch+json");
}

/// A token endpoint at `/token` issuing `tok-N` with `expires_in`, and an API that accepts
/// only tokens `accept` says are good.
async fn oauth_server(
    expires_in: u64,
    accept: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> TestServer {
    let issued = Arc::new(Mutex::new(0));
    TestServer::start(move |_, seen| {
        if seen.path_and_query == "/token" {
            let mut issued = issued.lock().unwrap();
            *issued += 1;
            return Reply::json(
                200,
                &json!({"access_token": format!("tok-{issued}"), "token_type": "Bearer", "expires_in": expires_in}),
            );
        }
        let header = seen.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        match header.strip_prefix("Bearer ") {
            Some(token) if accept(token) => Reply::json(200, &json!({"token": token})),
            _ => Reply::json(401, &json!({"error": "invalid token"})),
        }
    })
    .await
}

fn oauth_client(server: &TestServer) -> BackendClient {
    let mut token_url = server.url.clone();
    token_url.set_path("/token");
    let mut config = config(&server.url);
    config.auth = BackendAuth::OAuth2ClientCredentials {
        token_url,
        client_id: "gw".into(),
        client_secret: Secret::new("s3cr&t"),
        scope: Some("users.write".into()),
    };
    BackendClient::new(config).unwrap()
}

fn token_requests(server: &TestServer) -> Vec<Seen> {
    server
        .seen()
        .into_iter()
        .filter(|s| s.path_and_query == "/token")
        .collect()
}

#[tokio::test]
async fn oauth2_token_is_cached_then_refreshed_after_expiry() {
    let server = oauth_server(1, |_| true).await;
    let client = oauth_client(&server);
    let first = client.call(get("/a"), soon()).await.unwrap();
    let second = client.call(get("/a"), soon()).await.unwrap();
    assert_eq!(first.body, Some(json!({"token": "tok-1"})));
    assert_eq!(second.body, Some(json!({"token": "tok-1"})));
    let tokens = token_requests(&server);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].method, Method::POST);
    assert_eq!(
        tokens[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&tokens[0].body)
        .into_owned()
        .collect();
    let expected = [
        ("grant_type", "client_credentials"),
        ("client_id", "gw"),
        ("client_secret", "s3cr&t"),
        ("scope", "users.write"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(form, expected);

    // expires_in = 1 s: refreshed (at most half the lifetime early) before the next call.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let third = client.call(get("/a"), soon()).await.unwrap();
    assert_eq!(third.body, Some(json!({"token": "tok-2"})));
    assert_eq!(token_requests(&server).len(), 2);
    assert_eq!(client.calls_made(), 3);
}

#[tokio::test]
async fn oauth2_token_is_refetched_once_on_401() {
    let server = oauth_server(3600, |token| token != "tok-1").await;
    let client = oauth_client(&server);
    let response = client.call(post("/u"), soon()).await.unwrap();
    assert_eq!(response.body, Some(json!({"token": "tok-2"})));
    assert_eq!(token_requests(&server).len(), 2);
    assert_eq!(client.calls_made(), 2);

    // A backend that refuses every token: one refetch, then the 401 is returned.
    let server = oauth_server(3600, |_| false).await;
    let client = oauth_client(&server);
    let error = client.call(get("/a"), soon()).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(token_requests(&server).len(), 2);
    assert_eq!(client.calls_made(), 2);
}

#[tokio::test]
async fn oauth2_refresh_is_single_flight() {
    let server = oauth_server(3600, |_| true).await;
    let client = Arc::new(oauth_client(&server));
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call(get("/a"), soon()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(token_requests(&server).len(), 1);
}

#[tokio::test]
async fn oauth2_token_endpoint_errors_do_not_leak_the_secret() {
    let server = TestServer::start(|_, _| {
        Reply::json(
            401,
            &json!({"error": "invalid_client", "error_description": "unknown client"}),
        )
    })
    .await;
    let client = oauth_client(&server);
    let error = client.call(get("/a"), soon()).await.unwrap_err();
    match &error {
        Error::Token { status, reason } => {
            assert_eq!(*status, Some(StatusCode::UNAUTHORIZED));
            // Issue 15: the endpoint's own text is never carried.
            assert_eq!(reason, "the token endpoint answered 401");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{error:?} {error} {client:?}").contains("s3cr&t"));
    assert!(!format!("{error:?} {error}").contains("unknown client"));
    assert_eq!(client.calls_made(), 0);
}

#[test]
fn bad_configurations_are_refused() {
    let url = Url::parse("ftp://example.com/").unwrap();
    assert!(matches!(
        BackendClient::new(BackendConfig::new(url)),
        Err(Error::InvalidConfig { .. })
    ));
    let mut config = BackendConfig::new(Url::parse("http://example.com/").unwrap());
    config.auth = BackendAuth::Bearer(Secret::new("a\nb"));
    let error = BackendClient::new(config).unwrap_err();
    assert!(!error.to_string().contains("a\nb"));
    let mut config = BackendConfig::new(Url::parse("http://example.com/").unwrap());
    config.auth = BackendAuth::ApiKeyHeader {
        header: "bad header".into(),
        value: Secret::new("k"),
    };
    assert!(BackendClient::new(config).is_err());
}

/// A `tracing` writer that appends to a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_the_call_but_never_values_or_tokens() {
    let server = TestServer::start(|index, _| match index {
        0 => Reply::json(200, &json!({"email": "jane@example.com"})),
        _ => Reply::json(409, &json!({"error": "taken"})),
    })
    .await;
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut config = config(&server.url);
    config.auth = BackendAuth::Bearer(Secret::new("very-secret-token"));
    let client = BackendClient::new(config).unwrap();
    client
        .call(get("/api/v1/users?email=jane%40example.com"), soon())
        .await
        .unwrap();
    let _ = client.call(post("/api/v1/users"), soon()).await;
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("operation=users.get"), "{log}");
    assert!(log.contains("path_template=/api/v1/users/{id}"), "{log}");
    assert!(log.contains("status=409"), "{log}");
    assert!(log.contains("latency_ms"), "{log}");
    for secret in ["very-secret-token", "jane", "a@example.com"] {
        assert!(!log.contains(secret), "{secret} leaked: {log}");
    }
}
