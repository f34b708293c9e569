use serde_json::json;

use super::*;
use crate::store::SqliteStore;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[test]
fn patch_paths_become_attribute_names_without_filters_or_values() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "replace", "path": "name.familyName", "value": "Secret"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@b.example"},
            {"op": "Remove", "path": "members[value eq \"secret@x.example\"]"},
            {"op": "Add", "path": "members", "value": [{"value": "7"}]},
            {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"},
            {"op": "Replace", "value": {"displayName": "x", "name.givenName": "y",
                                        ENTERPRISE: {"manager": {"value": "9"}}}},
            {"op": "Replace", "path": "ACTIVE", "value": true}
        ]
    });
    assert_eq!(
        touched_attributes(Operation::Patch, Some(&body)),
        vec![
            "active".to_owned(),
            "name.familyName".to_owned(),
            "emails.value".to_owned(),
            "members".to_owned(),
            format!("{ENTERPRISE}:department"),
            "displayName".to_owned(),
            "name.givenName".to_owned(),
            format!("{ENTERPRISE}:manager"),
        ]
    );
    let text = format!("{:?}", touched_attributes(Operation::Patch, Some(&body)));
    for value in ["Secret", "a@b.example", "secret@x.example", "Sales", "work"] {
        assert!(!text.contains(value), "{value} in {text}");
    }
}

#[test]
fn create_and_replace_list_top_level_keys_and_extension_attributes() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "someone@example.com",
        "active": true,
        "name": {"givenName": "A"},
        ENTERPRISE: {"department": "D", "employeeNumber": "1"}
    });
    let names = touched_attributes(Operation::Create, Some(&body));
    assert_eq!(
        names,
        vec![
            "active".to_owned(),
            "name".to_owned(),
            format!("{ENTERPRISE}:department"),
            format!("{ENTERPRISE}:employeeNumber"),
            "userName".to_owned(),
        ]
    );
    assert_eq!(touched_attributes(Operation::Replace, Some(&body)), names);
    assert!(touched_attributes(Operation::Delete, None).is_empty());
    assert!(touched_attributes(Operation::Patch, Some(&json!({"Operations": 3}))).is_empty());
}

#[test]
fn thousands_of_operations_keep_a_bounded_list() {
    let operations: Vec<_> = (0..5000)
        .map(|i| json!({"op": "add", "path": format!("a{i}{}", "x".repeat(500)), "value": 1}))
        .collect();
    let names = touched_attributes(Operation::Patch, Some(&json!({"Operations": operations})));
    assert_eq!(names.len(), MAX_ATTRIBUTES);
    assert!(
        names
            .iter()
            .all(|name| name.chars().count() <= MAX_NAME_CHARS)
    );
}

#[test]
fn only_writes_of_users_and_groups_are_audited() {
    assert_eq!(
        audited_operation(Resource::Users, Operation::Patch),
        Some("patch")
    );
    assert_eq!(
        audited_operation(Resource::Groups, Operation::Delete),
        Some("delete")
    );
    assert_eq!(audited_operation(Resource::Users, Operation::Get), None);
    assert_eq!(audited_operation(Resource::Schemas, Operation::List), None);
}

#[test]
fn query_parameters_are_checked() {
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let query = parse_query(&pairs(&[
        ("since", "2026-11-01T00:00:00Z"),
        ("scimId", "42"),
        ("limit", "5"),
    ]))
    .expect("valid");
    assert_eq!(query.since, time::macros::datetime!(2026-11-01 0:00 UTC));
    assert_eq!(query.scim_id.as_deref(), Some("42"));
    assert_eq!(query.limit, 5);
    assert!(matches!(
        parse_query(&pairs(&[("since", "yesterday")])),
        Err(Error::InvalidSince { .. })
    ));
    assert!(matches!(
        parse_query(&pairs(&[("limit", "0")])),
        Err(Error::InvalidLimit { .. })
    ));
    assert!(matches!(
        parse_query(&pairs(&[("tenant", "other")])),
        Err(Error::UnknownParameter { .. })
    ));
}

fn entry(tenant: &str, scim_id: &str, at: OffsetDateTime) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at,
        tenant: tenant.to_owned(),
        credential: "bearer#1".to_owned(),
        request_id: "req-1".to_owned(),
        operation: "patch".to_owned(),
        kind: "User".to_owned(),
        scim_id: Some(scim_id.to_owned()),
        attributes: vec!["active".to_owned(), "name.familyName".to_owned()],
        status: 200,
        outcome: "success".to_owned(),
    }
}

#[tokio::test]
async fn the_cli_report_filters_and_formats_lines_and_json() {
    let store = SqliteStore::open_in_memory().expect("store");
    let at = time::macros::datetime!(2026-11-02 10:00 UTC);
    store
        .append_audit(entry("acme", "42", at))
        .await
        .expect("append");
    store
        .append_audit(entry("acme", "43", at))
        .await
        .expect("append");
    store
        .append_audit(entry("other", "42", at))
        .await
        .expect("append");
    let query = AuditQuery {
        since: time::macros::datetime!(2026-11-01 0:00 UTC),
        tenant: Some("acme".to_owned()),
        scim_id: Some("42".to_owned()),
        limit: 10,
    };
    let text = report(&store, query.clone(), false).await.expect("report");
    assert_eq!(
        text,
        "2026-11-02T10:00:00Z acme bearer#1 patch User 42 200 success \
         attributes=active,name.familyName request=req-1\n"
    );
    let json = report(&store, query, true).await.expect("report");
    let parsed: Value = serde_json::from_str(json.trim()).expect("one JSON line");
    assert_eq!(parsed["scimId"], "42");
    assert_eq!(parsed["attributes"], json!(["active", "name.familyName"]));
    assert_eq!(parsed["at"], "2026-11-02T10:00:00Z");
}

/// A NUL (or any control character) in an unknown key would make PostgreSQL refuse the whole
/// audit entry (JSONB holds no `\u0000`): names are recorded without them.
#[test]
fn control_characters_are_dropped_from_recorded_names() {
    let body = json!({"userName": "a@example.com", "nick\u{0}Name\r\n": "x"});
    let names = touched_attributes(Operation::Create, Some(&body));
    assert!(names.iter().any(|name| name == "nickName"), "{names:?}");
    assert!(
        names.iter().all(|name| !name.chars().any(char::is_control)),
        "{names:?}"
    );
}
