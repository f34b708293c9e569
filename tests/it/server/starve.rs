//! Issue 15: anonymous slow bodies cannot starve authenticated clients. 300 connections (plain
//! HTTP/1.1), then 300 h2 streams over TLS (2 connections of 150), each `POST /scim/v2/Users`
//! without a credential, `Content-Length: 100000`, trickling its body a byte at a time and
//! starting again whenever the gateway answers or closes. While they run, 20 authenticated
//! probes must (nearly all) get 200 within 5 s. Before the fix the body was read before
//! authentication inside the 256-slot concurrency limit, and the probes got 503.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use scimgate::settings::Limits;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::support::*;

const SLOW_HEADERS: &[u8] = b"POST /scim/v2/Users HTTP/1.1\r\nhost: localhost\r\n\
content-type: application/scim+json\r\ncontent-length: 100000\r\n\r\n";

/// One anonymous HTTP/1.1 client trickling a body, reconnecting when cut off.
async fn slow_http1(addr: std::net::SocketAddr, stop: Arc<AtomicBool>, attempts: Arc<AtomicUsize>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut tcp) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        attempts.fetch_add(1, Ordering::Relaxed);
        if tcp.write_all(SLOW_HEADERS).await.is_err() {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if tcp.write_all(b"{").await.is_err() {
                break;
            }
        }
    }
}

/// A body of one byte every 500 ms, never ending.
struct Trickle {
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for Trickle {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.sleep = Box::pin(tokio::time::sleep(Duration::from_millis(500)));
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{")))))
            }
        }
    }
}

use std::future::Future as _;

/// One TLS h2 connection carrying `streams` anonymous slow-body streams, each restarted when
/// answered.
async fn slow_h2(
    addr: std::net::SocketAddr,
    streams: usize,
    stop: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let tls = tls_connector(&[b"h2"])
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake");
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .max_concurrent_reset_streams(1000)
        .handshake(TokioIo::new(tls))
        .await
        .expect("h2");
    tokio::spawn(connection);
    let mut tasks = Vec::new();
    for _ in 0..streams {
        let mut sender = sender.clone();
        let stop = Arc::clone(&stop);
        let attempts = Arc::clone(&attempts);
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let request = Request::post("https://localhost/scim/v2/Users")
                    .header("content-type", "application/scim+json")
                    .header("content-length", "100000")
                    .body(Trickle {
                        sleep: Box::pin(tokio::time::sleep(Duration::from_millis(500))),
                    })
                    .expect("request");
                attempts.fetch_add(1, Ordering::Relaxed);
                // Answered (401) or refused: start again shortly, as a persistent attacker
                // would (a pause keeps the test's own CPU use modest on a shared machine).
                let _ = sender.ready().await;
                let _ = sender.send_request(request).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// 20 authenticated probes, one every 100 ms; how many got 200 within 5 s.
async fn probes(addr: std::net::SocketAddr, tls: bool) -> usize {
    let mut good = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let request = empty(authed("GET", "/scim/v2/Users"));
        let status = if tls {
            let request = empty(authed("GET", "https://localhost/scim/v2/Users"));
            tokio::time::timeout(
                Duration::from_secs(5),
                send_tls(addr, &[&rustls::version::TLS13], &[b"h2"], request),
            )
            .await
            .map(|outcome| outcome.reply.status.as_u16())
        } else {
            tokio::time::timeout(Duration::from_secs(5), send(addr, request))
                .await
                .map(|reply| reply.status.as_u16())
        };
        if status == Ok(200) && started.elapsed() <= Duration::from_secs(5) {
            good += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    good
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_anonymous_slow_bodies_do_not_starve_authenticated_probes() {
    // Plain HTTP/1.1: 300 connections.
    let server = start_plain(Limits::default(), Echo::new()).await;
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..300)
        .map(|_| tokio::spawn(slow_http1(addr, Arc::clone(&stop), Arc::clone(&attempts))))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let good = probes(addr, false).await;
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        let _ = attacker.await;
    }
    assert!(attempts.load(Ordering::Relaxed) >= 300, "the attack ran");
    assert!(
        good >= 19,
        "plain: {good} of 20 probes answered 200 within 5 s"
    );
    server.shutdown().await.expect("shutdown");

    // TLS + h2: two connections of 150 streams each.
    let dir = temp_dir();
    write_cert(&dir);
    let server = start(
        tls_settings(&dir, Duration::from_secs(60)),
        vec![tenant("default", "/scim/v2", Echo::new())],
    )
    .await;
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(slow_h2(addr, 150, Arc::clone(&stop), Arc::clone(&attempts))))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let good = probes(addr, true).await;
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        let _ = attacker.await;
    }
    assert!(attempts.load(Ordering::Relaxed) >= 300, "the h2 attack ran");
    assert!(
        good >= 19,
        "h2: {good} of 20 probes answered 200 within 5 s"
    );
    server.shutdown().await.expect("shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}
