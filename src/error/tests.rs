use std::time::Duration;

use http::StatusCode;

use crate::engine;
use crate::operation::{BackendOp, OpName};
use crate::scim::ResourceKind;
use crate::scim::{ScimError, ScimType};
use crate::{backend, mapping};

fn status(code: u16, retry_after: Option<u64>) -> backend::Error {
    backend::Error::Status {
        operation: BackendOp::new(ResourceKind::User, OpName::Create),
        status: StatusCode::from_u16(code).unwrap(),
        message: "email taken".to_owned(),
        body: None,
        retry_after: retry_after.map(Duration::from_secs),
    }
}

fn scim(error: backend::Error) -> ScimError {
    ScimError::from(engine::Error::Backend(error))
}

#[test]
fn backend_statuses_become_scim_classes() {
    let cases = [
        (404, 404, None),
        (409, 409, Some(ScimType::Uniqueness)),
        (400, 400, Some(ScimType::InvalidValue)),
        (422, 400, Some(ScimType::InvalidValue)),
        (429, 429, None),
        (503, 503, None),
        (500, 502, None),
        (502, 502, None),
        (401, 502, None),
    ];
    for (backend_status, scim_status, scim_type) in cases {
        let error = scim(status(backend_status, None));
        assert_eq!(error.status, scim_status, "backend {backend_status}");
        assert_eq!(error.scim_type, scim_type, "backend {backend_status}");
        assert!(
            error.detail.contains("backend call users.create failed"),
            "{}",
            error.detail
        );
    }
}

#[test]
fn retry_after_is_kept_for_429_and_503() {
    let error = scim(status(429, Some(120)));
    assert_eq!((error.status, error.retry_after), (429, Some(120)));
    let error = scim(status(503, Some(7)));
    assert_eq!((error.status, error.retry_after), (503, Some(7)));
    assert!(error.detail.contains("503 from the backend; retry later"));
    assert_eq!(scim(status(500, Some(7))).retry_after, None);
}

#[test]
fn transport_failures_are_502_and_timeouts_504() {
    let down = scim(backend::Error::Unavailable {
        operation: BackendOp::new(ResourceKind::User, OpName::Get),
        reason: "connection refused".to_owned(),
    });
    assert_eq!(down.status, 502);
    assert!(down.detail.contains("users.get"));
    let garbage = scim(backend::Error::Decode {
        operation: BackendOp::new(ResourceKind::User, OpName::Get),
        reason: "not JSON".to_owned(),
    });
    assert_eq!(garbage.status, 502);
    let slow = scim(backend::Error::Timeout {
        operation: BackendOp::new(ResourceKind::User, OpName::List),
    });
    assert_eq!(slow.status, 504);
    assert!(slow.detail.contains("users.list"));
}

#[test]
fn classified_engine_errors() {
    let duplicate = ScimError::from(engine::Error::Uniqueness {
        operation: "users.create".to_owned(),
        message: "email taken".to_owned(),
        value: Some("a@example.com".to_owned()),
    });
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.scim_type, Some(ScimType::Uniqueness));
    assert!(duplicate.detail.contains("a@example.com"));

    let member = ScimError::from(engine::Error::UnknownMembers {
        members: vec!["999".to_owned(), "998".to_owned()],
        more: false,
    });
    assert_eq!(member.status, 400);
    assert_eq!(member.scim_type, Some(ScimType::InvalidValue));
    assert!(member.detail.contains("`999`") && member.detail.contains("`998`"));

    let partial = ScimError::from(engine::Error::Partial {
        source: Box::new(engine::Error::UnknownMembers {
            members: vec!["7".to_owned()],
            more: false,
        }),
        landed: vec!["added member 1".to_owned()],
        undone: vec![],
        not_applied: vec!["add member 7".to_owned()],
    });
    assert_eq!(partial.status, 502);
    assert_eq!(
        partial.partial.as_deref(),
        Some("still in place: added member 1; undone: nothing; not applied: add member 7")
    );
    assert!(
        partial.detail.contains("still in place: added member 1")
            && partial.detail.contains("not applied: add member 7"),
        "{}",
        partial.detail
    );

    let invalid = ScimError::from(engine::Error::Invalid(vec![mapping::Error::Required {
        attribute: "userName".to_owned(),
    }]));
    assert_eq!(invalid.status, 400);
    assert!(invalid.detail.contains("userName"));

    let filter = ScimError::from(engine::Error::Mapping(mapping::Error::UnsupportedFilter {
        attribute: "title".to_owned(),
        operator: "co".to_owned(),
    }));
    assert_eq!(filter.scim_type, Some(ScimType::InvalidFilter));
}

#[test]
fn store_faults_are_500_with_a_generic_detail() {
    let error = ScimError::from(engine::Error::Store(crate::store::Error::Database {
        operation: "insert",
        reason: "disk I/O error at /secret/path".to_owned(),
    }));
    assert_eq!(error.status, 500);
    assert!(!error.detail.contains("/secret/path"));
}

#[test]
fn mapping_tests_predict_the_scim_error_of_every_unmatched_backend_status() {
    // `backend_error:` cases in mapping files say what an answer no rule matches becomes;
    // their table must be this module's.
    for code in 400..=599u16 {
        let got = scim(status(code, None));
        let (want_status, want_type) = mapping::unmatched_scim_error(code);
        assert_eq!(got.status, want_status, "status for backend {code}");
        assert_eq!(
            got.scim_type
                .and_then(|t| serde_json::to_value(t).ok())
                .and_then(|v| v.as_str().map(str::to_owned)),
            want_type.map(str::to_owned),
            "scimType for backend {code}"
        );
    }
}
