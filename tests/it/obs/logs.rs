//! A full Entra flow through the gateway with the JSON log captured: every token, password,
//! email, given and family name and userName used must be absent from the log, and each SCIM
//! request has one line with request id, tenant, resource, operation, SCIM id, status,
//! `scimType`, backend calls and latency.

use scimgate::demo::Fault;
use serde_json::{Value, json};

use super::{As, json_lines_with, secret, start};
use crate::entra::support::{ENTERPRISE, encode, entra_group, entra_user, logs, patch_body};

/// The "Request finished" JSON line of the request with this id.
fn request_line(request_id: &str) -> Value {
    let lines: Vec<Value> = json_lines_with(request_id)
        .into_iter()
        .filter(|line| line["message"] == "Request finished")
        .collect();
    assert_eq!(lines.len(), 1, "one line per request: {lines:?}");
    lines[0].clone()
}

#[tokio::test]
async fn a_full_entra_flow_leaves_no_secret_or_personal_data_in_the_json_log() {
    let gw = start().await.expect("gateway");
    let tag = secret("");
    let user_name = format!("Obs.Person.{tag}@example.com");
    let other_email = format!("obs.other.{tag}@example.com");
    let given = format!("Givenobs{}", &tag[..8]);
    let family = format!("Familyobs{}", &tag[..8]);
    let new_family = format!("Renamedobs{}", &tag[..8]);
    let password = secret("Pw-obs-");
    let external_id = secret("ext-obs-");
    let group_name = secret("obs-group-");

    // Test Connection probe and filter-before-create.
    let probe = gw
        .scim(
            As::Alpha,
            "GET",
            &format!(
                "/Users?filter={}",
                encode(&format!("userName eq \"{}\"", uuid::Uuid::new_v4()))
            ),
            None,
        )
        .await;
    probe.expect(200);
    let filter = format!(
        "/Users?filter={}",
        encode(&format!("userName eq \"{user_name}\""))
    );
    assert_eq!(
        gw.scim(As::Alpha, "GET", &filter, None).await.expect(200)["totalResults"],
        0
    );

    // Create with emails, names and a password; a client request id is kept and echoed.
    let mut body = entra_user(&user_name, &external_id);
    body["name"] = json!({"givenName": given, "familyName": family,
                          "formatted": format!("{given} {family}")});
    body["password"] = json!(password);
    body["emails"] = json!([{"primary": true, "type": "work", "value": user_name},
                            {"type": "home", "value": other_email}]);
    let create_id = format!("obs-create-{}", uuid::Uuid::new_v4().simple());
    let created = gw
        .send(
            As::Alpha,
            "POST",
            &format!("{}/Users", gw.alpha()),
            Some(&body),
            Some(&create_id),
        )
        .await;
    assert_eq!(
        created
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(create_id.as_str())
    );
    let id = created.expect(201)["id"].as_str().expect("id").to_owned();
    assert_eq!(
        gw.scim(As::Alpha, "GET", &filter, None).await.expect(200)["totalResults"],
        1
    );

    // PATCH: Replace, Add, Remove, as Entra sends them.
    let operations = [
        json!([{"op": "Replace", "path": "name.familyName", "value": new_family}]),
        json!([{"op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Obs Dept"}]),
        json!([{"op": "Remove", "path": format!("{ENTERPRISE}:department")}]),
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": user_name}]),
    ];
    for ops in &operations {
        gw.scim(
            As::Alpha,
            "PATCH",
            &format!("/Users/{id}"),
            Some(&patch_body(ops)),
        )
        .await
        .expect(200);
    }

    // Groups and members (Basic auth for these), then a duplicate create (409).
    let group = gw
        .scim(
            As::Basic,
            "POST",
            "/Groups",
            Some(&entra_group(&group_name, &secret("ext-group-"))),
        )
        .await
        .expect(201);
    let group_id = group["id"].as_str().expect("group id").to_owned();
    for op in ["Add", "Remove"] {
        gw.scim(
            As::Basic,
            "PATCH",
            &format!("/Groups/{group_id}"),
            Some(&patch_body(
                &json!([{"op": op, "path": "members", "value": [{"value": id}]}]),
            )),
        )
        .await
        .expect(204);
    }
    let duplicate_id = format!("obs-dup-{}", uuid::Uuid::new_v4().simple());
    let duplicate = gw
        .send(
            As::Alpha,
            "POST",
            &format!("{}/Users", gw.alpha()),
            Some(&body),
            Some(&duplicate_id),
        )
        .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);

    // A wrong token, and a request id that could forge log lines (replaced by a fresh one).
    let wrong = gw.scim(As::Wrong, "GET", "/Users", None).await;
    assert_eq!(wrong.status, 401);
    let forged = gw
        .send(
            As::Alpha,
            "GET",
            &format!("{}/Users/{id}", gw.alpha()),
            None,
            Some("evil\" injected=1"),
        )
        .await;
    let echoed = forged
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(!echoed.is_empty() && !echoed.contains(' '), "{echoed}");

    // Deactivate, delete.
    gw.scim(
        As::Alpha,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&patch_body(
            &json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )),
    )
    .await
    .expect(200);
    gw.scim(As::Basic, "DELETE", &format!("/Groups/{group_id}"), None)
        .await
        .expect(204);
    gw.scim(As::Alpha, "DELETE", &format!("/Users/{id}"), None)
        .await
        .expect(204);

    // Issue 15: a backend that quotes what it was sent (an email, a token) in a 422 and a
    // 500. Neither the SCIM detail nor the log repeats its text.
    let quoted_email = format!("{}@example.com", secret("quoted."));
    let quoted_token = secret("sk-live-quoted-");
    gw.demo.inject(
        Fault::status(422)
            .message(&format!(
                "unknown user {quoted_email} (token {quoted_token})"
            ))
            .on("POST /api/v1/users")
            .times(1),
    );
    let refused = gw
        .scim(
            As::Alpha,
            "POST",
            "/Users",
            Some(&entra_user("someone.else@example.com", "x-422")),
        )
        .await;
    let detail = refused.expect(400)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("422"), "{detail}");
    gw.demo.inject(
        Fault::status(500)
            .message(&format!("crash for {quoted_email}, bearer {quoted_token}"))
            .on("GET /api/v1/users/{id}")
            .times(1),
    );
    let failed = gw
        .scim(As::Alpha, "GET", &format!("/Users/{id}"), None)
        .await;
    let detail_500 = failed.expect(502)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail_500.contains("500"), "{detail_500}");
    for shown in [&detail, &detail_500] {
        assert!(
            !shown.contains(&quoted_email) && !shown.contains(&quoted_token),
            "the backend's text reached the SCIM detail: {shown}"
        );
    }

    // The request line of the create carries every field.
    let line = request_line(&create_id);
    let span = &line["span"];
    assert_eq!(span["request_id"], create_id.as_str(), "{line}");
    assert_eq!(span["tenant"], "alpha", "{line}");
    assert_eq!(span["resource"], "User", "{line}");
    assert_eq!(span["operation"], "create", "{line}");
    assert_eq!(span["scim_id"], id.as_str(), "{line}");
    assert_eq!(span["status"], 201, "{line}");
    assert_eq!(span["backend_calls"], 1, "{line}");
    assert!(span["latency_ms"].is_u64(), "{line}");
    assert!(
        span["credential"]
            .as_str()
            .is_some_and(|c| c.starts_with("bearer")),
        "{line}"
    );
    let refused = request_line(&duplicate_id);
    assert_eq!(refused["span"]["status"], 409, "{refused}");
    assert_eq!(refused["span"]["scim_type"], "uniqueness", "{refused}");

    // Nothing secret or personal anywhere in the log.
    let text = logs::captured_json();
    assert!(!text.is_empty(), "the JSON log was captured");
    for needle in [
        gw.token.as_str(),
        gw.beta_token.as_str(),
        &format!("{}x", gw.token),
        gw.basic.1.as_str(),
        gw.api_key.as_str(),
        password.as_str(),
        user_name.as_str(),
        other_email.as_str(),
        &tag,
        given.as_str(),
        family.as_str(),
        new_family.as_str(),
        external_id.as_str(),
        "obs dept",
    ] {
        let needle = needle.to_lowercase();
        let leaks: Vec<&str> = text
            .lines()
            .filter(|line| line.to_lowercase().contains(&needle))
            .collect();
        assert!(
            leaks.is_empty(),
            "`{needle}` leaked into the log: {leaks:#?}"
        );
    }
    // The backend's own text is logged at debug only, for whoever debugs the backend.
    for needle in [quoted_email.as_str(), quoted_token.as_str()] {
        let lines: Vec<&str> = text.lines().filter(|line| line.contains(needle)).collect();
        let above_debug: Vec<&&str> = lines
            .iter()
            .filter(|line| !line.contains(r#""level":"DEBUG""#))
            .collect();
        assert!(
            above_debug.is_empty(),
            "the backend's text `{needle}` was logged above debug: {above_debug:#?}"
        );
        assert!(
            !lines.is_empty(),
            "the debug line with the backend's answer"
        );
    }
}
