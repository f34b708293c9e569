//! The stack's limits and safety nets: body, header and URI limits, slow clients, load
//! shedding, timeout, panic, request id.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use scimgate::settings::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::*;

/// Writes raw bytes and reads until the server closes (or 5 s pass).
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_by_length_and_while_streaming() {
    let limits = Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    };
    let server = start_plain(limits, Echo::new()).await;
    let addr = server.local_addr();
    let big = format!(r#"{{"userName":"{}"}}"#, "x".repeat(2000));
    send(addr, with_body(authed("POST", "/scim/v2/Users"), &big))
        .await
        .assert_scim_error(413);
    let small = format!(r#"{{"userName":"{}"}}"#, "x".repeat(900));
    assert_eq!(
        send(addr, with_body(authed("POST", "/scim/v2/Users"), &small))
            .await
            .status,
        201
    );

    // Chunked, so no Content-Length to go by: the limit applies while reading.
    let mut request = b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n\
        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    for _ in 0..3 {
        request.extend_from_slice(format!("{:x}\r\n{}\r\n", 800, "y".repeat(800)).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = raw(addr, &request).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/scim+json"), "{answer}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn oversized_uris_and_headers_get_414_and_431() {
    let limits = Limits {
        max_uri_bytes: 200,
        max_header_bytes: 300,
        ..Limits::default()
    };
    let server = start_plain(limits, Echo::new()).await;
    let addr = server.local_addr();
    let long = format!("/scim/v2/Users?filter={}", "a".repeat(300));
    send(addr, empty(authed("GET", &long)))
        .await
        .assert_scim_error(414);
    let fat = authed("GET", "/scim/v2/Users").header("x-padding", "p".repeat(400));
    send(addr, empty(fat)).await.assert_scim_error(431);
    assert_eq!(
        send(addr, empty(authed("GET", "/scim/v2/Users")))
            .await
            .status,
        200
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_client_that_sends_headers_too_slowly_is_cut_off() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start_plain(limits, Echo::new()).await;
    let started = Instant::now();
    let answer = raw(server.local_addr(), b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250),
        "cut off too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(4),
        "never cut off: {elapsed:?}"
    );
    assert!(!answer.contains("200 OK"), "{answer}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_shed_with_503_and_retry_after() {
    let echo = Echo::sleeping(Duration::from_millis(800));
    let limits = Limits {
        max_concurrency: 1,
        ..Limits::default()
    };
    let server = start_plain(limits, echo.clone()).await;
    let addr = server.local_addr();
    let slow = tokio::spawn(send(addr, empty(authed("GET", "/scim/v2/Users/sleep"))));
    while echo.started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let shed = send(addr, empty(authed("GET", "/scim/v2/Users"))).await;
    shed.assert_scim_error(503);
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert_eq!(slow.await.expect("join").status, 200);
    assert_eq!(
        send(addr, empty(authed("GET", "/scim/v2/Users")))
            .await
            .status,
        200
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_panic_becomes_a_scim_500_and_the_server_keeps_serving() {
    let server = start_plain(Limits::default(), Echo::new()).await;
    let addr = server.local_addr();
    let reply = send(
        addr,
        empty(authed("GET", "/scim/v2/Users/panic").header("x-request-id", "r-1")),
    )
    .await;
    let body = reply.assert_scim_error(500);
    let detail = body["detail"].as_str().expect("detail");
    assert!(detail.contains("r-1"), "{detail}");
    assert!(
        !detail.contains("on purpose"),
        "the panic message leaked: {detail}"
    );
    assert_eq!(
        send(addr, empty(authed("GET", "/scim/v2/Users")))
            .await
            .status,
        200
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_request_over_the_deadline_gets_504() {
    let limits = Limits {
        request_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let server = start_plain(limits, Echo::sleeping(Duration::from_secs(3))).await;
    let started = Instant::now();
    send(
        server.local_addr(),
        empty(authed("GET", "/scim/v2/Users/sleep")),
    )
    .await
    .assert_scim_error(504);
    assert!(started.elapsed() < Duration::from_secs(2));
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_request_id_is_kept_if_sane_generated_otherwise_and_always_echoed() {
    let server = start_plain(Limits::default(), Echo::new()).await;
    let addr = server.local_addr();
    let reply = send(
        addr,
        empty(authed("GET", "/scim/v2/Users").header("x-request-id", "abc-123")),
    )
    .await;
    assert_eq!(reply.header("x-request-id"), Some("abc-123"));
    assert_eq!(reply.json()["request_id"], "abc-123");

    let reply = send(
        addr,
        empty(authed("GET", "/scim/v2/Users").header("x-request-id", "bad id!")),
    )
    .await;
    let generated = reply
        .header("x-request-id")
        .expect("generated id")
        .to_owned();
    assert_ne!(generated, "bad id!");
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    assert_eq!(reply.json()["request_id"], generated.as_str());

    // Errors produced by the stack carry one too.
    let unauthenticated = send(addr, empty(http::Request::get("/scim/v2/Users"))).await;
    assert!(unauthenticated.header("x-request-id").is_some());
    server.shutdown().await.expect("shutdown");
}

/// Reads until the peer closes; true when it did within `within`.
async fn closed_within(tcp: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buffer = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// Issue 15: an idle connection, before its first request or after one, is closed after
/// `server.limits.idle_timeout`.
#[tokio::test]
async fn issue_15_idle_connections_are_closed() {
    let limits = Limits {
        idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start_plain(limits, Echo::new()).await;
    let addr = server.local_addr();
    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    assert!(
        closed_within(&mut silent, Duration::from_secs(3)).await,
        "silent connection"
    );
    let mut used = tokio::net::TcpStream::connect(addr).await.expect("connect");
    used.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("send");
    assert!(
        closed_within(&mut used, Duration::from_secs(3)).await,
        "kept-alive connection"
    );
    server.shutdown().await.expect("shutdown");
}

/// Issue 15: beyond `server.limits.max_connections` open connections, new ones are closed at
/// accept; once one ends, a new one is served again.
#[tokio::test]
async fn issue_15_connections_beyond_the_cap_are_closed() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let server = start_plain(limits, Echo::new()).await;
    let addr = server.local_addr();
    let first = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _second = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = tokio::net::TcpStream::connect(addr).await.expect("connect");
    assert!(
        closed_within(&mut third, Duration::from_secs(2)).await,
        "third connection"
    );
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = send(addr, empty(authed("GET", "/scim/v2/Users"))).await;
    assert_eq!(reply.status, 200);
    server.shutdown().await.expect("shutdown");
}
