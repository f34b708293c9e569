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

/// One sample of every engine error variant (and every backend and mapping one inside it), so
/// the properties below cover the whole table.
fn every_kind_of_failure() -> Vec<engine::Error> {
    use engine::Error as E;
    let op = || BackendOp::new(ResourceKind::User, OpName::Create);
    let text = || "x".to_owned();
    let mut errors: Vec<E> = (400..=599)
        .map(|code| E::Backend(status(code, None)))
        .collect();
    errors.extend(
        [
            backend::Error::InvalidConfig { reason: text() },
            backend::Error::UnsafePath {
                operation: op(),
                path_template: text(),
                reason: text(),
            },
            backend::Error::UnsafeHeader {
                operation: op(),
                name: text(),
                reason: text(),
            },
            backend::Error::Unavailable {
                operation: op(),
                reason: text(),
            },
            backend::Error::Decode {
                operation: op(),
                reason: text(),
            },
            backend::Error::Timeout { operation: op() },
            backend::Error::Token {
                status: None,
                reason: text(),
            },
        ]
        .map(E::Backend),
    );
    errors.extend(
        [
            mapping::Error::NotAllowed {
                attribute: text(),
                value: text(),
                allowed: text(),
            },
            mapping::Error::DomainNotAllowed {
                domain: text(),
                allowed: text(),
            },
            mapping::Error::Required { attribute: text() },
            mapping::Error::WrongType {
                attribute: text(),
                value: text(),
                expected: text(),
            },
            mapping::Error::UnsafePathValue {
                placeholder: text(),
                value: text(),
            },
            mapping::Error::UnsafeHeaderValue { header: text() },
            mapping::Error::MissingValue {
                operation: text(),
                placeholder: text(),
            },
            mapping::Error::NoOperation { operation: text() },
            mapping::Error::UnsupportedFilter {
                attribute: text(),
                operator: text(),
            },
            mapping::Error::TooManyAlternatives { count: 9, max: 8 },
            mapping::Error::AmbiguousPrimary {
                attribute: text(),
                count: 2,
                primaries: 0,
            },
            mapping::Error::SeveralPrimary {
                attribute: text(),
                primaries: 2,
            },
            mapping::Error::Conflict {
                field: text(),
                first: text(),
                first_value: text(),
                second: text(),
                second_value: text(),
            },
            mapping::Error::NotAnObject,
            mapping::Error::BadTestCase(text()),
        ]
        .map(E::Mapping),
    );
    errors.extend([
        E::UnknownResourceType(text()),
        E::NotFound {
            resource_type: text(),
            id: text(),
        },
        E::NotAnObject,
        E::Invalid(vec![mapping::Error::Required { attribute: text() }]),
        E::Uniqueness {
            operation: text(),
            message: text(),
            value: None,
        },
        E::Taken {
            resource_type: text(),
            attribute: text(),
            value: text(),
            id: text(),
        },
        E::Rejected {
            operation: text(),
            message: text(),
        },
        E::UnknownMembers {
            members: vec![text()],
            more: false,
        },
        E::MemberRefused {
            operation: text(),
            member: text(),
        },
        E::BadAnswer {
            operation: text(),
            missing: text(),
        },
        E::ForeignNextLink { operation: text() },
        E::TooMany { cap: 1 },
        E::Store(crate::store::Error::Database {
            operation: "insert",
            reason: text(),
        }),
        E::Filter(crate::scim::filter::Filter::parse("userName eq", &[]).unwrap_err()),
    ]);
    let partials: Vec<E> = [
        E::Backend(status(400, None)),
        E::Backend(status(500, None)),
        E::Backend(backend::Error::Timeout { operation: op() }),
        E::Store(crate::store::Error::Database {
            operation: "insert",
            reason: text(),
        }),
    ]
    .into_iter()
    .map(|source| E::Partial {
        source: Box::new(source),
        landed: vec![text()],
        undone: vec![],
        not_applied: vec![],
    })
    .collect();
    errors.extend(partials);
    errors
}

#[test]
fn the_answer_and_the_log_level_come_from_one_class() {
    for error in every_kind_of_failure() {
        let class = crate::error::classify(&error);
        let label = format!("{error:?}");
        let answered = ScimError::from(error);
        assert_eq!(answered.status, class.status, "{label}");
        assert_eq!(answered.scim_type, class.scim_type, "{label}");
    }
}

#[test]
fn a_client_fault_is_exactly_a_4xx_that_is_not_a_backends_rate_limit() {
    // Before one classifier: an unrendered placeholder (mapping `MissingValue`) answered 500
    // but was logged as the client's fault, and a backend 409 or 400 answered 4xx but was
    // logged as the backend's (`warn`).
    use crate::error::Fault;
    for error in every_kind_of_failure() {
        let class = crate::error::classify(&error);
        let client = (400..500).contains(&class.status) && class.status != 429;
        assert_eq!(
            class.fault == Fault::Client,
            client,
            "{error:?} answers {} as {:?}",
            class.status,
            class.fault
        );
        if class.fault == Fault::Internal {
            assert!(matches!(class.status, 500 | 501), "{error:?}");
        }
    }
}

#[test]
fn a_partial_change_is_never_the_clients_fault() {
    use crate::error::Fault;
    for error in every_kind_of_failure() {
        if let engine::Error::Partial { source, .. } = &error {
            let class = crate::error::classify(&error);
            assert!(class.status >= 500, "{source:?}");
            assert_ne!(class.fault, Fault::Client, "{source:?}");
        }
    }
}
