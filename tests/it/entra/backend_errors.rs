//! The mapping's `errors:` rules against a backend that spells its errors in a JSON body the
//! gateway's message extraction does not reduce to the code (GraphQL-style
//! `{"errors":[{"message":…,"extensions":{"code":…}}]}`): `contains` matches the answer body,
//! as the README says, and `body:` matches a value at a JSONPath.

use scimgate::demo::Fault;
use serde_json::json;

use super::support::{FLAGS, Options, entra_user, gateway_with, unique, unique_user_name};

/// The demo mapping with `rules` first among its top-level `errors:`.
fn mapping_with(rules: &str) -> String {
    scimgate::app::DEMO_MAPPING.replacen("\nerrors:\n", &format!("\nerrors:\n{rules}"), 1)
}

/// What the backend answers: a 422 whose message says nothing about the code.
fn coded(code: &str) -> serde_json::Value {
    json!({"errors": [{"message": "Validation failed", "extensions": {"code": code}}]})
}

#[tokio::test]
async fn contains_matches_the_backend_answer_body() {
    let gw = gateway_with(Options {
        mapping: Some(mapping_with(
            "  - { status: 422, contains: RECORD_NOT_UNIQUE, means: uniqueness }\n",
        )),
        ..Options::default()
    })
    .await;
    for flag in FLAGS {
        gw.demo.inject(
            Fault::status(422)
                .with_body(coded("RECORD_NOT_UNIQUE"))
                .on("POST /api/v1/users")
                .times(1),
        );
        let error = gw
            .post(
                "/Users",
                flag,
                &entra_user(&unique_user_name(), &unique("ext")),
            )
            .await
            .expect_error(409, Some("uniqueness"));
        // The detail gives the status and the rule's meaning; the backend's own text only
        // for a rule with `show_message: true` (this one has none).
        assert!(
            error["detail"]
                .as_str()
                .is_some_and(|d| d.contains("422") && !d.contains("Validation failed")),
            "{error}"
        );
    }
    assert_eq!(gw.demo.user_count(), 0);
}

#[tokio::test]
async fn a_body_rule_matches_a_value_at_a_json_path() {
    let gw = gateway_with(Options {
        mapping: Some(mapping_with(
            "  - { status: 422, body: { \"$.errors[0].extensions.code\": RECORD_NOT_UNIQUE }, means: uniqueness }\n",
        )),
        ..Options::default()
    })
    .await;
    for flag in FLAGS {
        gw.demo.inject(
            Fault::status(422)
                .with_body(coded("RECORD_NOT_UNIQUE"))
                .on("POST /api/v1/users")
                .times(1),
        );
        gw.post(
            "/Users",
            flag,
            &entra_user(&unique_user_name(), &unique("ext")),
        )
        .await
        .expect_error(409, Some("uniqueness"));
        // Another code does not match the rule: the 422 stays a refused value.
        gw.demo.inject(
            Fault::status(422)
                .with_body(coded("EMAIL_BLOCKED"))
                .on("POST /api/v1/users")
                .times(1),
        );
        gw.post(
            "/Users",
            flag,
            &entra_user(&unique_user_name(), &unique("ext")),
        )
        .await
        .expect_error(400, Some("invalidValue"));
    }
    assert_eq!(gw.demo.user_count(), 0);
}
