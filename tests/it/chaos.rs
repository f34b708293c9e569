//! Fault injection during a multi-user Entra flow over real sockets (issue 8, hardening): the demo
//! backend drops connections, answers past the deadline, 5xx, 429 with `Retry-After`, cuts answers
//! mid-body and sends garbage while Entra creates, PATCHes, deactivates, adds to a group and
//! deletes users. Every 2xx the gateway gave must be a write the backend has; throttling answers
//! must say when to retry; after the faults stop, Entra's retries (filter by userName before
//! re-creating, re-send the PATCH) converge to exactly the intended state, with no duplicates.

use scimgate::demo::Fault;
use serde_json::{Value, json};

use crate::entra::support::{
    Flag, Gateway, Options, Reply, entra_group, entra_user, gateway_with, id_of, numeric, unique,
    unique_user_name,
};

/// The steps of one user's flow, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Rename,
    AddToGroup,
    Deactivate,
    Delete,
}

/// The backend route each step writes to (where its fault is aimed).
fn route(step: Step) -> &'static str {
    match step {
        Step::Create => "POST /api/v1/users",
        Step::Rename | Step::Deactivate => "PUT /api/v1/users/{id}",
        Step::AddToGroup => "POST /api/v1/teams/{id}/members",
        Step::Delete => "DELETE /api/v1/users/{id}",
    }
}

/// The faults, in rotation; `None` lets the step through.
fn fault(n: usize) -> Option<Fault> {
    match n % 8 {
        0 => Some(Fault::drop_connection()),
        // Past the 1 s deadline: the gateway gives up, the backend applies it later.
        1 => Some(Fault::delay(2_500)),
        2 => Some(Fault::status(500)),
        3 => Some(Fault::status(429).retry_after(2)),
        4 => Some(Fault::status(503).retry_after(1)),
        5 => Some(Fault::truncate()),
        6 => Some(Fault::garbage()),
        _ => None,
    }
}

/// One user Entra provisions.
struct User {
    user_name: String,
    external_id: String,
    given: String,
    /// Entra unassigns (deletes) this one at the end instead of keeping it in the group.
    deleted: bool,
    id: Option<String>,
    /// The first step that has not succeeded yet.
    next: usize,
}

impl User {
    fn steps(&self) -> Vec<Step> {
        if self.deleted {
            vec![Step::Create, Step::Rename, Step::Deactivate, Step::Delete]
        } else {
            vec![
                Step::Create,
                Step::Rename,
                Step::AddToGroup,
                Step::Deactivate,
            ]
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_flow_under_backend_faults_converges_after_retries() {
    let gw = gateway_with(Options {
        deadline: Some("1s"),
        ..Options::default()
    })
    .await;
    let group = id_of(
        &gw.post(
            "/Groups",
            Flag::Off,
            &entra_group(&unique("chaos"), &unique("ext")),
        )
        .await
        .expect(201),
    );
    let mut users: Vec<User> = (0..8)
        .map(|n| User {
            user_name: unique_user_name(),
            external_id: unique("chaos-ext"),
            given: format!("Given{n}"),
            deleted: n % 3 == 0,
            id: None,
            next: 0,
        })
        .collect();

    // Phase 1: every step under a rotating fault; a user's flow stops at its first failure.
    let mut rotation = 0;
    let mut faulted_answers = 0;
    for user in &mut users {
        for (index, step) in user.steps().into_iter().enumerate() {
            if let Some(fault) = fault(rotation) {
                gw.demo.inject(fault.times(1).on(route(step)));
            }
            rotation += 1;
            let reply = run(&gw, user, &group, step, false).await;
            gw.demo.clear_faults();
            if reply.status.is_success() {
                assert_backend_took(&gw, user, &group, step);
                user.next = index + 1;
            } else {
                faulted_answers += 1;
                assert_honest_failure(&reply, step);
                user.next = index;
                break;
            }
        }
    }
    assert!(faulted_answers >= 4, "only {faulted_answers} steps failed");

    // Phase 2: the faults are gone (a 2.5 s delay may still be landing); Entra retries.
    tokio::time::sleep(std::time::Duration::from_millis(2_600)).await;
    for user in &mut users {
        for step in user.steps().into_iter().skip(user.next) {
            let reply = run(&gw, user, &group, step, true).await;
            assert!(
                reply.status.is_success() || (step == Step::Delete && reply.status == 404),
                "{step:?} retry of {}: {} {}",
                user.user_name,
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
            assert_backend_took(&gw, user, &group, step);
        }
    }

    // Exactly the intended end state.
    let kept: Vec<&User> = users.iter().filter(|u| !u.deleted).collect();
    assert_eq!(
        gw.demo.user_count(),
        kept.len(),
        "users duplicated or left behind"
    );
    let mut expected_members = Vec::new();
    for user in &users {
        let found = gw
            .found("Users", &format!("userName eq \"{}\"", user.user_name))
            .await;
        if user.deleted {
            assert!(found.is_empty(), "{} still exists", user.user_name);
            assert_eq!(gw.demo.user_id_by_username(&user.user_name), None);
            continue;
        }
        assert_eq!(found.len(), 1, "{}: {found:?}", user.user_name);
        let id = user.id.clone().expect("kept users have an id");
        assert_eq!(id_of(&found[0]), id);
        let backend = gw.backend_user(&id);
        assert_eq!(backend["first_name"], json!(user.given));
        assert_eq!(backend["status"], json!("disabled"));
        let by_external = gw
            .found("Users", &format!("externalId eq \"{}\"", user.external_id))
            .await;
        assert_eq!(by_external.len(), 1, "externalId of {}", user.user_name);
        expected_members.push(numeric(&id));
    }
    let mut members = gw.members(&group);
    members.sort_unstable();
    expected_members.sort_unstable();
    assert_eq!(members, expected_members);
}

/// Sends one step as Entra does; `retry` makes a create look the user up first.
async fn run(gw: &Gateway, user: &mut User, group: &str, step: Step, retry: bool) -> Reply {
    let id = user.id.clone().unwrap_or_default();
    match step {
        Step::Create => {
            if retry {
                let found = gw
                    .found("Users", &format!("userName eq \"{}\"", user.user_name))
                    .await;
                assert!(found.len() <= 1, "duplicates of {}", user.user_name);
                if let Some(existing) = found.first() {
                    user.id = Some(id_of(existing));
                    // Entra then PATCHes what differs; the externalId is ours to set.
                    let reply = gw
                        .patch(
                            &format!("/Users/{}", id_of(existing)),
                            Flag::Off,
                            json!([{"op": "replace", "path": "externalId", "value": user.external_id}]),
                        )
                        .await;
                    return reply;
                }
            }
            let reply = gw
                .post(
                    "/Users",
                    Flag::Off,
                    &entra_user(&user.user_name, &user.external_id),
                )
                .await;
            if reply.status == 201 {
                user.id = Some(id_of(&reply.json()));
            }
            reply
        }
        Step::Rename => {
            gw.patch(
                &format!("/Users/{id}"),
                Flag::Off,
                json!([{"op": "replace", "path": "name.givenName", "value": user.given}]),
            )
            .await
        }
        Step::AddToGroup => {
            gw.patch(
                &format!("/Groups/{group}"),
                Flag::Off,
                json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]),
            )
            .await
        }
        Step::Deactivate => {
            gw.patch(
                &format!("/Users/{id}"),
                Flag::Off,
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
            )
            .await
        }
        Step::Delete => gw.delete(&format!("/Users/{id}"), Flag::Off).await,
    }
}

/// A 2xx must be a write the backend has, right now.
fn assert_backend_took(gw: &Gateway, user: &User, group: &str, step: Step) {
    let id = user.id.clone().unwrap_or_default();
    match step {
        Step::Create => assert_eq!(
            gw.demo.user_id_by_username(&user.user_name),
            Some(numeric(&id)),
            "created {} is not in the backend",
            user.user_name
        ),
        Step::Rename => assert_eq!(gw.backend_user(&id)["first_name"], json!(user.given)),
        Step::AddToGroup => assert!(gw.members(group).contains(&numeric(&id))),
        Step::Deactivate => assert_eq!(gw.backend_user(&id)["status"], json!("disabled")),
        Step::Delete => assert_eq!(gw.demo.user(numeric(&id)), None),
    }
}

/// A failed step is an honest SCIM error: 502/504 for a broken backend, 429/503 with
/// `Retry-After` when the backend throttled.
fn assert_honest_failure(reply: &Reply, step: Step) {
    let status = reply.status.as_u16();
    let body: Value = reply.expect(status);
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{step:?}: {body}"
    );
    assert!(
        [429, 502, 503, 504].contains(&status),
        "{step:?} under a fault answered {status}: {body}"
    );
    if matches!(status, 429 | 503) {
        assert!(
            reply.header("retry-after").is_some(),
            "{step:?}: {status} without Retry-After"
        );
    }
}
