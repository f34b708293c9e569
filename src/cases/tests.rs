//! The `tests:` runner against the shipped mappings, and against cases that must fail: a
//! runner that cannot fail proves nothing.

use super::*;
use crate::mapping::load;
use std::path::Path;

/// Test environment: secrets are set, everything else uses the file's defaults.
fn test_env(name: &str) -> Option<String> {
    let secret = ["KEY", "TOKEN", "SECRET", "PASSWORD"]
        .iter()
        .any(|s| name.contains(s));
    secret.then(|| "test-secret".to_owned())
}

fn failures(name: &str, outcomes: &[TestOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| format!("{name}: {}: {}", o.name, o.detail))
        .collect()
}

#[test]
fn every_shipped_mapping_loads_and_its_tests_pass_through_the_engine() {
    let dirs = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples"),
    ];
    let mut count = 0;
    let mut failed = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.display().to_string();
            let mapping =
                load(&name, &text, &test_env).unwrap_or_else(|p| panic!("{}", p.render()));
            let outcomes = run_tests(&mapping);
            assert!(!outcomes.is_empty(), "{name} has no tests");
            failed.extend(failures(&name, &outcomes));
            count += 1;
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(count >= 4, "{count}");
}

/// A small group mapping whose member calls are separate from the group's own write.
const GROUPS: &str = r#"
version: 1
backend: { base_url: "http://127.0.0.1:9/" }
ids: backend
users:
  id: "$.id"
  operations:
    create: { method: POST, path: /api/users }
    get:    { method: GET,  path: "/api/users/{id}" }
    list:   { method: GET,  path: /api/users, query: { page: "{page}", per_page: "{count}" }, items: "$.data[*]", total: "$.total" }
    replace: { method: PUT,   path: "/api/users/{id}" }
    delete:  { method: DELETE, path: "/api/users/{id}" }
  attributes:
    userName: { path: "$.login", required: true }
groups:
  id: "$.id"
  operations:
    create:  { method: POST,   path: /api/groups }
    get:     { method: GET,    path: "/api/groups/{id}" }
    list:    { method: GET,    path: /api/groups, query: { page: "{page}", per_page: "{count}" }, items: "$.data[*]", total: "$.total" }
    update:  { method: PATCH,  path: "/api/groups/{id}" }
    delete:  { method: DELETE, path: "/api/groups/{id}" }
  attributes:
    displayName: { path: "$.name", required: true }
  members:
    add:    { method: POST,   path: "/api/groups/{id}/members", body: { user: "{member:integer}" } }
    remove: { method: DELETE, path: "/api/groups/{id}/members/{member}" }
    list:   { method: GET,    path: "/api/groups/{id}/members", items: "$.data[*]", member_id: "$.user" }
"#;

fn run_cases(tests: &str) -> Vec<TestOutcome> {
    let text = format!("{GROUPS}tests:\n{tests}");
    let mapping = load("cases.yaml", &text, &test_env).unwrap_or_else(|p| panic!("{}", p.render()));
    run_tests(&mapping)
}

#[test]
fn a_rename_with_member_changes_is_checked_in_the_engines_order() {
    // The engine resolves and checks everything first, then sends the member calls, then the
    // attribute write (undoing the member calls if it fails: `engine/update.rs`). A case is
    // held to that order, whatever order it lists.
    let patch = r#"
    resource: groups
    patch:
      current: { id: 3, name: Sales }
      members: { data: [] }
      operations:
        - { op: replace, path: displayName, value: Marketing }
        - { op: add, path: members, value: [{ value: "5" }] }
      expect:
"#;
    let members = "        - { method: POST, path: /api/groups/3/members, body: { user: 5 } }\n";
    let write = "        - { method: PATCH, path: /api/groups/3, body: { name: Marketing } }\n";
    let outcomes = run_cases(&format!(
        "  - name: engine order\n{patch}{members}{write}  - name: reversed\n{patch}{write}{members}"
    ));
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes[0].passed, "{}", outcomes[0].detail);
    assert!(!outcomes[1].passed, "the reversed order must fail");
    assert!(
        outcomes[1]
            .detail
            .contains("expected `PATCH /api/groups/3`, got `POST /api/groups/3/members`"),
        "{}",
        outcomes[1].detail
    );
}

#[test]
fn a_group_created_with_value_members_is_what_the_server_does() {
    // A POST /Groups with `members: [{"value": …}]` (Okta sends it): the engine creates the
    // group, then adds each member.
    let outcomes = run_cases(
        r#"  - name: create with members
    resource: groups
    create:
      scim:
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"]
        displayName: Sales
        members: [{ value: "5" }]
      expect:
        - { method: POST, path: /api/groups, body: { name: Sales } }
        - { method: POST, path: /api/groups/1001/members, body: { user: 5 } }
"#,
    );
    let failed = failures("cases.yaml", &outcomes);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn wrong_expectations_fail_with_what_differed() {
    let outcomes = run_cases(
        r#"  - name: wrong body
    create:
      scim: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: ann }
      expect:
        - { method: POST, path: /api/users, body: { login: bob } }
  - name: wrong error
    create:
      scim: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"] }
      error: something else
  - name: an error the engine gives
    create:
      scim: { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"] }
      error: userName
  - name: wrong read
    read:
      backend: { id: 4, login: ann }
      scim: { userName: bob }
  - name: a backend status
    backend_error: { on: create, status: 409, scim: { status: 409, scimType: uniqueness } }
  - name: a wrong backend status
    backend_error: { on: create, status: 401, scim: { status: 401 } }
"#,
    );
    let passed: Vec<bool> = outcomes.iter().map(|o| o.passed).collect();
    assert_eq!(
        passed,
        [false, false, true, false, true, false],
        "{outcomes:#?}"
    );
    assert!(
        outcomes[0]
            .detail
            .contains("body of POST /api/users differs")
    );
    assert!(
        outcomes[1]
            .detail
            .contains("expected an error containing `something else`")
    );
    assert!(outcomes[3].detail.contains("SCIM resource differs"));
    assert!(
        outcomes[5].detail.contains("got `502`"),
        "{}",
        outcomes[5].detail
    );
}

#[test]
fn the_demo_mappings_tests_also_pass_with_gateway_ids() {
    // The replicas test (and any product that switches) runs demo.yaml with `ids: gateway`:
    // member values are then SCIM ids the store links, and the cases still hold.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/demo.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("\nids: backend\n"));
    let text = text.replace("\nids: backend\n", "\nids: gateway\n");
    let mapping = load("demo.yaml", &text, &test_env).unwrap_or_else(|p| panic!("{}", p.render()));
    let outcomes = run_tests(&mapping);
    let failed = failures("demo.yaml (ids: gateway)", &outcomes);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
