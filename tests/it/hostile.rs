//! The hostile corpus (issue 8, hardening): hundreds of malformed or hostile raw requests over a
//! real socket to the gateway in front of the demo backend (`app::start_demo`, plain HTTP on
//! loopback). Each must be refused with a 4xx (a SCIM error body where the SCIM layer answers,
//! the documented 413/414/431/400 where the HTTP layer does), cause no backend call a template
//! did not intend, and leave the gateway healthy.
//!
//! The limits of issue 15 (Hardening II) and where each is exercised:
//! - authentication before the body: rows `limit: anonymous POST …` here; 300 slow-body
//!   connections and 300 h2 streams in `server::starve` (`server.limits.anonymous_concurrency`,
//!   `anonymous_per_peer`, `max_concurrency`);
//! - `server.limits.body_read_timeout`: a never-ending authenticated body is a 408
//!   (`server::stack` unit test);
//! - `server.limits.password_hash_concurrency`, `login_failures`, `login_failure_window`:
//!   `argon` (50 dropped Basic requests, the 6th wrong password gets 429);
//! - `server.limits.ready_cache`: `server::routes::issue_15_readyz_…`;
//! - `server.limits.idle_timeout`, `max_connections`: `server::limits::issue_15_…`;
//! - connection strings (`store.postgres_url`): `secrets`; backend text: `obs::logs`.

mod corpus;
mod wire;

use std::net::SocketAddr;

use scimgate::app;
use serde_json::{Value, json};

use corpus::{Backend, Case, Expect, Target};
use wire::{Answer, exchange, request};

const TOKEN: &str = "hostile-corpus-token-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_and_the_gateway_stays_healthy() {
    let demo = app::start_demo(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Some(TOKEN.to_owned()),
    )
    .await
    .expect("the demo gateway starts");
    let addr = demo.gateway.local_addr();
    let (user, _) = create(addr, "hostile-target-user").await;
    let group = create_group(addr, "hostile-target-group").await;
    let target = Target {
        token: TOKEN,
        user: &user,
        group: &group,
    };
    let cases = corpus::corpus(&target);
    assert!(cases.len() >= 200, "only {} rows", cases.len());
    let strict = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Scim(_) | Expect::Layer(_)))
        .count();
    println!(
        "hostile corpus: {} rows, {strict} must be refused with a 4xx, {} valid-but-hostile",
        cases.len(),
        cases.len() - strict
    );
    let users_before = demo.backend.user_count();
    let mut failures = Vec::new();
    // Valid-but-hostile rows (a `#` in a userName) may create a user; every other row must not.
    let mut created = 0;
    for case in &cases {
        let before = demo.backend.calls().total;
        let answer = exchange(addr, &case.bytes).await;
        let calls = demo.backend.calls().total - before;
        created += usize::from(answer.status == Some(201));
        if let Err(why) = check(case, &answer, calls) {
            let recent = demo.backend.recent_requests();
            let seen = &recent[recent
                .len()
                .saturating_sub(usize::try_from(calls.min(3)).unwrap_or(3))..];
            failures.push(format!(
                "{}: [{:?}, backend {seen:?}] {why}",
                case.name, answer.status
            ));
        }
    }
    for line in demo.backend.recent_requests() {
        if let Err(why) = safe_backend_request(&line) {
            failures.push(format!("backend saw `{}`: {why}", line.escape_debug()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        demo.backend.user_count(),
        users_before + created,
        "a refused row created a user"
    );
    assert_eq!(
        demo.backend.team_members(group.parse().expect("numeric")),
        Some(Vec::new()),
        "a hostile row changed the group's members"
    );

    // Still healthy: the probe, and a normal create and read.
    let health = exchange(addr, &request(b"GET", b"/healthz", &[], b"")).await;
    assert_eq!(health.status, Some(200));
    let (id, user_name) = create(addr, "hostile-after").await;
    let read = send(addr, "GET", &format!("/Users/{id}"), None).await;
    assert_eq!(
        read.status,
        Some(200),
        "{:?}",
        String::from_utf8_lossy(&read.body)
    );
    assert_eq!(json_of(&read)["userName"], user_name);
    demo.shutdown().await;
}

/// The row's expectation against what came back and how many backend calls it caused.
fn check(case: &Case, answer: &Answer, calls: u64) -> Result<(), String> {
    if case.backend == Backend::None && calls > 0 {
        return Err(format!(
            "{calls} backend call(s) for a request that must not reach it"
        ));
    }
    let body = String::from_utf8_lossy(&answer.body);
    match (case.expect, answer.status) {
        (Expect::Layer(_), None) => Ok(()),
        (Expect::Layer(allowed), Some(status)) if allowed.contains(&status) => Ok(()),
        (Expect::Layer(allowed), Some(status)) if status < 500 && is_scim_error(answer, status) => {
            // The SCIM layer answering with a 4xx where we expected the HTTP layer is as good,
            // as long as the request was refused.
            if (400..500).contains(&status) {
                Ok(())
            } else {
                Err(format!(
                    "status {status}, expected one of {allowed:?}: {body}"
                ))
            }
        }
        (Expect::Layer(allowed), Some(status)) => Err(format!(
            "status {status}, expected one of {allowed:?}: {body}"
        )),
        (Expect::Scim(_) | Expect::Handled, None) => Err("no answer".to_owned()),
        (Expect::Scim(wanted), Some(status)) => {
            // An exact status may be a 5xx (`501` for /Me and /Bulk); otherwise any 4xx.
            let expected = wanted.map_or((400..500).contains(&status), |w| w == status);
            if !expected {
                return Err(format!(
                    "status {status}, expected {wanted:?} (a 4xx): {body}"
                ));
            }
            if is_scim_error(answer, status) {
                Ok(())
            } else {
                Err(format!("status {status} without a SCIM error body: {body}"))
            }
        }
        (Expect::Handled, Some(status)) if status < 500 => Ok(()),
        (Expect::Handled, Some(status)) => Err(format!("status {status}: {body}")),
    }
}

fn is_scim_error(answer: &Answer, status: u16) -> bool {
    let Ok(body) = serde_json::from_slice::<Value>(&answer.body) else {
        return false;
    };
    answer
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/scim+json"))
        && body["schemas"] == json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        && body["status"] == json!(status.to_string())
        && body["detail"].as_str().is_some_and(|d| !d.is_empty())
}

/// A backend request line is safe when it names a real route and carries no raw or decoded
/// traversal, control characters, or smuggled query.
fn safe_backend_request(line: &str) -> Result<(), String> {
    let (_method, target) = line.split_once(' ').ok_or("no method")?;
    if target.chars().any(char::is_control) {
        return Err("control character".to_owned());
    }
    let path = target.split('?').next().unwrap_or_default();
    if path
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
    {
        return Err("dot segment".to_owned());
    }
    if path
        .split('/')
        .any(|s| s.eq_ignore_ascii_case("%2e%2e") || s.eq_ignore_ascii_case("%2e"))
    {
        return Err("encoded dot segment".to_owned());
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ok = matches!(
        segments.as_slice(),
        ["api", "v1", "users" | "teams"]
            | ["api", "v1", "users" | "teams", _]
            | ["api", "v1", "teams", _, "members"]
            | ["api", "v1", "teams", _, "members", _]
    );
    if !ok {
        return Err("not a route of the mapping's templates".to_owned());
    }
    if target.matches('?').count() > 1 || target.contains('#') {
        return Err("smuggled query or fragment".to_owned());
    }
    Ok(())
}

async fn send(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let body = body.map(Value::to_string).unwrap_or_default();
    let bytes = request(
        method.as_bytes(),
        format!("/scim/v2{path}").as_bytes(),
        &[
            ("Authorization", format!("Bearer {TOKEN}").into_bytes()),
            ("Content-Type", b"application/scim+json".to_vec()),
        ],
        body.as_bytes(),
    );
    exchange(addr, &bytes).await
}

fn json_of(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.body).expect("a JSON body")
}

/// Creates a user; returns (id, userName).
async fn create(addr: SocketAddr, prefix: &str) -> (String, String) {
    let user_name = format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": user_name, "active": true});
    let answer = send(addr, "POST", "/Users", Some(&body)).await;
    assert_eq!(
        answer.status,
        Some(201),
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let id = json_of(&answer)["id"].as_str().expect("id").to_owned();
    (id, user_name)
}

async fn create_group(addr: SocketAddr, prefix: &str) -> String {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                      "displayName": format!("{prefix}-{}", uuid::Uuid::new_v4().simple())});
    let answer = send(addr, "POST", "/Groups", Some(&body)).await;
    assert_eq!(
        answer.status,
        Some(201),
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    json_of(&answer)["id"].as_str().expect("id").to_owned()
}

#[test]
fn backend_request_check_catches_injection() {
    assert!(safe_backend_request("GET /api/v1/users/17").is_ok());
    assert!(safe_backend_request("GET /api/v1/users?email=a%40b&offset=0").is_ok());
    assert!(safe_backend_request("DELETE /api/v1/teams/3/members/..%2Fx").is_ok());
    assert!(safe_backend_request("GET /api/v1/users/../teams").is_err());
    assert!(safe_backend_request("GET /api/v1/users/%2e%2e").is_err());
    assert!(safe_backend_request("GET /api/v1/users/1/extra").is_err());
    assert!(safe_backend_request("GET /api/v1/users?a=1?b").is_err());
    assert!(safe_backend_request("GET /_admin/calls").is_err());
}
