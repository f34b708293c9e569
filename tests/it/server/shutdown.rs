//! Graceful shutdown: in-flight requests finish, new connections are refused.

use std::sync::atomic::Ordering;
use std::time::Duration;

use scimgate::settings::Limits;

use super::support::*;

#[tokio::test]
async fn shutdown_drains_an_in_flight_request_then_stops_accepting() {
    let echo = Echo::sleeping(Duration::from_millis(700));
    let server = start_plain(Limits::default(), echo.clone()).await;
    let addr = server.local_addr();
    let in_flight = tokio::spawn(send(addr, empty(authed("GET", "/scim/v2/Users/sleep"))));
    while echo.started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown().await.expect("shutdown");
    let reply = in_flight.await.expect("join");
    assert_eq!(reply.status, 200, "the in-flight request was dropped");
    assert_eq!(reply.json()["id"], "sleep");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}

#[tokio::test]
async fn shutdown_gives_up_after_the_grace_period() {
    let echo = Echo::sleeping(Duration::from_secs(30));
    let mut settings = plain_settings(Limits::default());
    settings.shutdown_grace = Duration::from_millis(200);
    let server = start(settings, vec![tenant("default", "/scim/v2", echo.clone())]).await;
    let addr = server.local_addr();
    let _stuck = tokio::spawn(send(addr, empty(authed("GET", "/scim/v2/Users/sleep"))));
    while echo.started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    server.shutdown().await.expect("shutdown");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
