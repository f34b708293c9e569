//! Tests of the whole module: the shipped mappings, the broken-file fixtures, the JSON Schema.

use super::*;
use serde_json::{Map, Value, json};
use std::path::Path;

/// Test environment: secrets are set, everything else uses the file's defaults.
fn test_env(name: &str) -> Option<String> {
    let secret = ["KEY", "TOKEN", "SECRET", "PASSWORD"]
        .iter()
        .any(|s| name.contains(s));
    secret.then(|| "test-secret".to_owned())
}

fn mappings_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings")
}

fn demo() -> Mapping {
    let text = std::fs::read_to_string(mappings_dir().join("demo.yaml")).unwrap();
    match load("mappings/demo.yaml", &text, &test_env) {
        Ok(m) => m,
        Err(p) => panic!("{}", p.render()),
    }
}

/// Environment for the fixtures: `API_TOKEN` is set, nothing else.
fn fixture_env(name: &str) -> Option<String> {
    (name == "API_TOKEN").then(|| "t0ken".to_owned())
}

/// Every broken mapping in `tests/fixtures/invalid/` prints exactly its `.expected` text.
/// To accept new output after a deliberate change: `SCIMGATE_BLESS=1 cargo test --lib mapping::`.
#[test]
fn broken_mapping_fixtures_print_their_expected_problems() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let bless = std::env::var_os("SCIMGATE_BLESS").is_some();
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let problems = match load(&format!("{stem}.yaml"), &text, &fixture_env) {
            Ok(_) => panic!("{stem}.yaml loaded without problems"),
            Err(p) => p.render(),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &problems).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != problems {
            failures.push(format!(
                "{stem}.yaml\n--- expected\n{expected}--- got\n{problems}"
            ));
        }
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `mappings/scimgate-mapping.schema.json` is exactly what `json_schema()` prints.
/// Regenerate it with `SCIMGATE_BLESS=1 cargo test --lib mapping::` (or `scimgate schema >
/// mappings/scimgate-mapping.schema.json`).
#[test]
fn published_json_schema_is_in_sync() {
    let path = mappings_dir().join("scimgate-mapping.schema.json");
    let want = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var_os("SCIMGATE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "mappings/scimgate-mapping.schema.json is out of date; regenerate it with \
         `SCIMGATE_BLESS=1 cargo test --lib mapping::` or `scimgate schema > mappings/scimgate-mapping.schema.json`"
    );
}

#[test]
fn json_schema_documents_the_format_for_operators() {
    let schema = json_schema();
    let text = schema.to_string();
    assert_eq!(schema["title"], "MappingFile");
    for needle in [
        "Who mints the SCIM `id`",
        "add_replaces",
        "JSONPath of the backend field",
        "next_cursor",
    ] {
        assert!(text.contains(needle), "schema lacks {needle}");
    }
}

fn users(m: &Mapping) -> &ResourceMapping {
    m.users().unwrap()
}

#[test]
fn demo_reads_ids_lists_and_backend_errors() {
    let m = demo();
    let u = users(&m);
    assert_eq!(u.backend_id(&json!({"id": 17})), Some("17".to_owned()));
    let page = json!({"items": [{"id": 1}, {"id": 2}], "total": 7, "offset": 0, "limit": 2});
    assert_eq!(u.list_items(&page).len(), 2);
    assert_eq!(u.list_total(&page, &http::HeaderMap::new()), Some(7));
    assert_eq!(u.paging(), Paging::Offset);
    assert_eq!(u.max_page_size(), Some(200));
    assert_eq!(
        u.classify_error(OpName::Create, 409, "username taken", None),
        Some(ErrorClass::Uniqueness)
    );
    assert_eq!(
        u.classify_error(OpName::Create, 422, "unknown user 5", None),
        Some(ErrorClass::InvalidValue)
    );
    assert_eq!(
        u.classify_error(OpName::Create, 404, "user not found", None),
        Some(ErrorClass::NotFound)
    );
    assert_eq!(u.classify_error(OpName::Create, 500, "boom", None), None);
    assert_eq!(m.ids(), IdPolicy::Backend);
    assert_eq!(m.backend().base_url.as_str(), "http://127.0.0.1:8081/");
    assert!(
        !format!("{:?}", m.backend()).contains("test-secret"),
        "secrets must not be printed"
    );
    let ext = "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName";
    assert!(m.registry().urns().iter().any(|u| u == ext));
    assert!(
        m.registry()
            .resource_type("User")
            .unwrap()
            .extensions
            .iter()
            .any(|(u, _)| u == ext)
    );
    let replace: Vec<String> = u
        .patch_options()
        .replace_on_add
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(replace, vec!["folders".to_owned()]);
    assert_eq!(u.stored_attributes(), vec!["externalId"]);
}

#[test]
fn validate_create_reports_every_problem_at_once() {
    let m = demo();
    let errors = users(&m)
        .validate_create(
            &json!({"userType": "Gold", "roles": [{"primary": true, "value": "Owner"}]}),
        )
        .unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{text:?}");
    assert!(text.iter().any(|t| t.contains("`userName` is required")));
    assert!(
        text.iter()
            .any(|t| t.contains("(allowed: Premium, Standard)"))
    );
    assert!(
        text.iter()
            .any(|t| t.contains("(allowed: ReadOnly, User, Admin, EnterpriseAdmin)"))
    );
}

#[test]
fn email_domain_policy_names_the_domain() {
    let text = std::fs::read_to_string(mappings_dir().join("demo.yaml"))
        .unwrap()
        .replace("email_domains: []", "email_domains: [example.com]");
    let m = load("demo.yaml", &text, &test_env).unwrap();
    let u = users(&m);
    assert!(
        u.validate_create(&json!({"userName": "a@example.com"}))
            .is_ok()
    );
    assert!(
        u.validate_create(
            // One address in both (the demo writes both into `email`, issue 12).
            &json!({"userName": " a@Example.COM\t", "emails": [{"value": "A@example.com "}]})
        )
        .is_ok(),
        "blanks around an address are not part of its domain"
    );
    let err = u
        .to_backend_create(&json!({"userName": "a@Evil.org"}))
        .unwrap_err();
    assert_eq!(
        err,
        Error::DomainNotAllowed {
            domain: "Evil.org".into(),
            allowed: "example.com".into()
        }
    );
    let errors = u
        .validate_create(&json!({"userName": "a@example.com", "emails": [{"value": "b@x.io"}]}))
        .unwrap_err();
    assert!(errors[0].to_string().contains("`x.io`"));
}

#[test]
fn member_ids_are_encoded_and_rereads_follow_the_mapping() {
    let m = demo();
    let g = m.groups().unwrap();
    let req = g
        .render(
            OpName::RemoveMember,
            &Vars::new().with("id", "3").with("member", "5/../../admin"),
        )
        .unwrap();
    assert_eq!(
        req.path_and_query,
        "/api/v1/teams/3/members/5%2F..%2F..%2Fadmin"
    );
    assert_eq!(req.path_template, "/api/v1/teams/{id}/members/{member}");
    assert_eq!(
        g.member_ids(&json!({"items": [{"user_id": 5}, {"user_id": 6}]})),
        vec!["5", "6"]
    );
    assert!(!g.rereads_after(OpName::Create));
    assert!(matches!(
        users(&m).render(OpName::Deactivate, &Vars::new()),
        Err(Error::NoOperation { .. })
    ));
}

const SMALL: &str = r#"
version: 1
ids: gateway
backend:
  base_url: https://api.example.com/
  auth: { basic: { username: svc, password: "${PW}" } }
users:
  id: "$.uid"
  operations:
    create: { method: post, path: /u, reread: true }
    get: { method: GET, path: "/u/{id}" }
    list: { method: GET, path: /u, query: { after: "{cursor}", size: "{count}" }, items: "$.data[*]", next_cursor: "$.meta.next" }
    update: { method: PATCH, path: "/u/{id}", headers: { If-Match: "*" } }
    delete: { method: DELETE, path: "/u/{id}" }
  attributes:
    userName: "$.login"
    active: { path: "$.enabled", as: boolean }
    roles.value: { path: "$.roles", allowed: [Reader, Writer] }
    title: { path: "$.title", constant: Staff }
    password: { path: "$.secret", write_only: true }
    nickName: { path: "$.computed", read_only: true }
  constants: { "$.source.idp": entra }
  scan: { max_resources: 500 }
groups:
  enabled: false
  id: "$.id"
  operations:
    create: { method: POST, path: /g }
    get: { method: GET, path: "/g/{id}" }
    list: { method: GET, path: /g, items: "$[*]" }
    replace: { method: PUT, path: "/g/{id}" }
    delete: { method: DELETE, path: "/g/{id}" }
"#;

#[test]
fn cursor_paging_partial_updates_scan_and_disabled_groups() {
    let m = load("small.yaml", SMALL, &|n| {
        (n == "PW").then(|| "pw".to_owned())
    })
    .unwrap();
    assert_eq!(m.ids(), IdPolicy::Gateway);
    assert!(
        m.groups().is_none(),
        "groups: enabled: false switches Groups off"
    );
    assert_eq!(m.backend().base_url.as_str(), "https://api.example.com/");
    let u = users(&m);
    assert_eq!(u.paging(), Paging::Cursor);
    assert_eq!(
        u.next_page(&json!({"meta": {"next": "abc"}})),
        Some(NextPage::Cursor("abc".into()))
    );
    assert_eq!(u.next_page(&json!({"meta": {"next": null}})), None);
    let first = u
        .render(OpName::List, &Vars::new().with("count", "50"))
        .unwrap();
    assert_eq!(
        first.path_and_query, "/u?size=50",
        "no cursor on the first page"
    );
    assert!(u.rereads_after(OpName::Create));
    // Partial update: only the changed field, typed as the backend wants it.
    let current = json!({"uid": "u1", "login": "a", "enabled": true, "other": 1});
    let old = u.to_scim(&current, &serde_json::Map::new()).unwrap();
    let mut new = old.clone();
    new["active"] = json!("False");
    let write = u.to_backend_update(&current, &old, &new).unwrap();
    assert_eq!(write.op, OpName::Update);
    assert_eq!(write.body, json!({"enabled": false}));
    let req = u
        .render(
            write.op,
            &Vars::new().with("id", "u1").with_object(write.body),
        )
        .unwrap();
    assert_eq!(req.method, "PATCH");
    assert_eq!(req.headers, vec![("If-Match".to_owned(), "*".to_owned())]);
    // Filters without a rule fall back to the opted-in scan.
    let f = crate::scim::filter::Filter::parse("title eq \"x\"", m.registry().urns()).unwrap();
    assert_eq!(
        u.translate_filter(&f).unwrap(),
        BackendSearch::Scan { cap: 500 }
    );
}

#[test]
fn compound_filters_without_a_rule_name_the_operator() {
    let m = demo();
    let f = crate::scim::filter::Filter::parse(
        "userName eq \"a\" and active eq true",
        m.registry().urns(),
    )
    .unwrap();
    let err = users(&m).translate_filter(&f).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedFilter {
            attribute: "userName".into(),
            operator: "and".into()
        }
    );
}

#[test]
fn full_role_lists_constants_and_read_write_flags() {
    let m = load("small.yaml", SMALL, &|n| {
        (n == "PW").then(|| "pw".to_owned())
    })
    .unwrap();
    let u = users(&m);
    let backend = json!({"uid": "u1", "login": "a", "roles": ["Reader", "Writer"], "secret": "s", "computed": "c"});
    let scim = u.to_scim(&backend, &serde_json::Map::new()).unwrap();
    assert_eq!(
        scim["roles"],
        json!([{"value": "Reader"}, {"value": "Writer"}])
    );
    assert_eq!(scim["nickName"], "c");
    assert!(
        scim.get("password").is_none(),
        "write_only is never returned"
    );
    let write = u
        .to_backend_create(&json!({
            "userName": "a", "roles": [{"value": "writer"}], "title": "Boss",
            "password": "pw", "nickName": "ignored"
        }))
        .unwrap();
    assert_eq!(
        write.body,
        json!({"login": "a", "roles": ["Writer"], "title": "Staff", "secret": "pw", "source": {"idp": "entra"}})
    );
    let err = u
        .to_backend_create(&json!({"userName": "a", "roles": [{"value": "Owner"}]}))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`roles.value` cannot be `Owner` (allowed: Reader, Writer)"
    );
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Arbitrary file contents give a mapping or problems, never a panic.
        #[test]
        fn load_never_panics(text in "\\PC{0,200}") {
            let _ = load("x.yaml", &text, &|_| None);
        }

        /// Mutating the demo file anywhere gives a mapping or problems, never a panic.
        #[test]
        fn load_of_a_damaged_demo_never_panics(at in 0usize..6000, junk in "[\\[\\]{}:$'\" \\n#a-z-]{0,6}") {
            let text = std::fs::read_to_string(mappings_dir().join("demo.yaml")).unwrap();
            let mut cut = at.min(text.len());
            while !text.is_char_boundary(cut) { cut -= 1; }
            let damaged = format!("{}{junk}{}", &text[..cut], &text[cut..]);
            let _ = load("demo.yaml", &damaged, &test_env);
        }

        /// No member id can add a path segment or a query to a member call.
        #[test]
        fn member_ids_stay_in_one_segment(member in "\\PC{1,30}") {
            let m = demo();
            let g = m.groups().unwrap();
            if let Ok(req) = g.render(OpName::RemoveMember, &Vars::new().with("id", "3").with("member", member)) {
                let tail = req.path_and_query.strip_prefix("/api/v1/teams/3/members/").unwrap();
                prop_assert!(!tail.contains('/') && !tail.contains('?') && !tail.contains('#'));
            }
        }
    }
}

#[test]
fn next_links_are_only_followed_on_the_backend_host() {
    let m = demo();
    assert_eq!(
        m.next_link_path("/api/v1/users?offset=200").as_deref(),
        Some("/api/v1/users?offset=200")
    );
    assert_eq!(
        m.next_link_path("http://127.0.0.1:8081/api/v1/users?offset=2")
            .as_deref(),
        Some("/api/v1/users?offset=2")
    );
    assert_eq!(m.next_link_path("http://evil.example/api/v1/users"), None);
    assert_eq!(m.next_link_path("//evil.example/x"), None);
    assert_eq!(m.next_link_path("https://127.0.0.1:8081/x"), None);
    assert!(m.resource("user").is_some() && m.resource("Group").is_some());
}

#[test]
fn yaml_1_1_booleans_stay_strings() {
    let text = SMALL.replace(
        "userName: \"$.login\"",
        "userName: \"$.login\"\n    displayName: { path: \"$.d\", default: N }",
    );
    let m = load("small.yaml", &text, &|n| {
        (n == "PW").then(|| "pw".to_owned())
    })
    .unwrap();
    let write = users(&m)
        .to_backend_create(&json!({"userName": "a"}))
        .unwrap();
    assert_eq!(write.body["d"], "N");
}

/// Entra's app-role shapes on a single-valued backend role (`roles[primary eq "True"].value`):
/// a lone role marked `primary: false` (Assertive… / …Complex) is the role, and a role added
/// next to an unchanged primary one (AppRoleAssignmentsComplex `Add`) is the newest role.
#[test]
fn entra_role_shapes_reach_a_single_valued_backend_role() {
    let m = demo();
    let u = users(&m);
    let current = json!({"id": 17, "email": "a@example.com", "status": "active", "plan": 1,
                         "role": "User"});
    let old = u.to_scim(&current, &serde_json::Map::new()).unwrap();
    assert_eq!(old["roles"], json!([{"primary": true, "value": "User"}]));

    let mut assertive = old.clone();
    assertive["roles"] = json!([{"primary": false, "type": "WindowsAzureActiveDirectoryRole",
                                 "display": "ReadOnly", "value": "ReadOnly"}]);
    let write = u.to_backend_update(&current, &old, &assertive).unwrap();
    assert_eq!(write.body["role"], "ReadOnly");

    let mut added = old.clone();
    added["roles"] = json!([{"primary": true, "value": "User"},
                            {"value": "Admin", "display": "Admin"}]);
    let write = u.to_backend_update(&current, &old, &added).unwrap();
    assert_eq!(write.body["role"], "Admin");
    assert!(write.backend_changed);

    // Unchanged roles write nothing.
    let write = u.to_backend_update(&current, &old, &old).unwrap();
    assert!(!write.backend_changed);
}

const WRAPPED: &str = r#"
version: 1
ids: gateway
backend: { base_url: "https://legacy.example.com" }
users:
  id: "$.id"
  identity: "$.created_on"
  operations:
    create: { method: POST, path: /users.json, body: { user: "$object" }, answer: "$.user" }
    get: { method: GET, path: "/users/{id}.json", answer: "$.user" }
    list: { method: GET, path: /users.json, query: { status: "" }, items: "$.users[*]", reread: true }
    update: { method: PUT, path: "/users/{id}.json", body: { user: "$object" }, reread: true }
    delete: { method: DELETE, path: "/users/{id}.json" }
  attributes:
    userName: "$.login"
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":
      "$.custom_fields[?(@.id==${CF:-2})].value"
"#;

#[test]
fn wrapped_answers_list_rereads_and_identity() {
    let m = load("wrapped.yaml", WRAPPED, &|_| None).unwrap();
    let u = users(&m);
    let user = json!({"id": 5, "login": "a", "created_on": "2026-11-23T09:36:17Z"});
    assert_eq!(
        u.unwrap_answer(OpName::Get, json!({ "user": user })),
        Some(user.clone())
    );
    assert_eq!(u.unwrap_answer(OpName::Get, json!({"other": 1})), None);
    // Operations without `answer` take the whole answer.
    assert_eq!(
        u.unwrap_answer(OpName::Delete, json!({"x": 1})),
        Some(json!({"x": 1}))
    );
    assert!(u.list_rereads());
    assert!(u.has_identity());
    assert_eq!(
        u.identity_of(&user).as_deref(),
        Some("2026-11-23T09:36:17Z")
    );
    assert_eq!(u.identity_of(&json!({"id": 5})), None);
    let list = u.render(OpName::List, &Vars::new()).unwrap();
    assert_eq!(
        list.path_and_query, "/users.json?status=",
        "an empty constant is sent"
    );
}

#[test]
fn a_custom_field_list_is_read_and_written_from_a_scalar() {
    let m = load("wrapped.yaml", WRAPPED, &|_| None).unwrap();
    let u = users(&m);
    let dept = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let create = u
        .to_backend_create(&json!({"userName": "a", dept: {"department": "Sales"}}))
        .unwrap();
    assert_eq!(
        create.body,
        json!({"login": "a", "custom_fields": [{"id": 2, "value": "Sales"}]})
    );
    let current = json!({"id": 5, "login": "a", "custom_fields": [
        {"id": 1, "name": "employeeNumber", "value": "E-1"},
        {"id": 2, "name": "department", "value": "Sales"}]});
    let old = u.to_scim(&current, &serde_json::Map::new()).unwrap();
    assert_eq!(old[dept]["department"], "Sales");
    let mut new = old.clone();
    new[dept]["department"] = json!("Marketing");
    let write = u.to_backend_update(&current, &old, &new).unwrap();
    assert_eq!(
        write.body,
        json!({"custom_fields": [{"id": 2, "value": "Marketing"}]}),
        "only the changed element, identified by its id"
    );
    let req = u
        .render(
            write.op,
            &Vars::new().with("id", "5").with_object(write.body),
        )
        .unwrap();
    assert_eq!(
        req.body,
        Some(json!({"user": {"custom_fields": [{"id": 2, "value": "Marketing"}]}}))
    );
}

#[test]
fn identity_needs_gateway_ids_and_answer_a_valid_jsonpath() {
    let backend_ids = WRAPPED.replace("ids: gateway", "ids: backend");
    let problems = load("w.yaml", &backend_ids, &|_| None)
        .unwrap_err()
        .render();
    assert!(
        problems.contains("`identity` needs `ids: gateway`"),
        "{problems}"
    );
    let bad = WRAPPED.replace(
        "answer: \"$.user\" }\n    get",
        "answer: \"user[\" }\n    get",
    );
    let problems = load("w.yaml", &bad, &|_| None).unwrap_err().render();
    assert!(problems.contains("invalid JSONPath `user[`"), "{problems}");
}

fn redmine() -> Mapping {
    let text = std::fs::read_to_string(mappings_dir().join("redmine.yaml")).unwrap();
    load("mappings/redmine.yaml", &text, &test_env).unwrap_or_else(|p| panic!("{}", p.render()))
}

#[test]
fn an_error_rule_on_member_add_means_already_done_only_there() {
    let m = redmine();
    let g = m.groups().unwrap();
    let twice = r#"{"errors":["User is invalid"]}"#;
    assert_eq!(
        g.classify_error(OpName::AddMember, 422, twice, None),
        Some(ErrorClass::AlreadyDone)
    );
    // Other operations fall through to the top-level rule.
    assert_eq!(
        g.classify_error(OpName::Update, 422, twice, None),
        Some(ErrorClass::InvalidValue)
    );
    assert_eq!(
        users(&m).classify_error(OpName::AddMember, 422, twice, None),
        Some(ErrorClass::InvalidValue)
    );
    assert!(g.has_identity());
    assert_eq!(
        g.identity_of(&json!({"id": 7, "name": "Engineering"}))
            .as_deref(),
        Some("Engineering")
    );
}

#[test]
fn error_rule_operations_and_already_done_are_checked() {
    let text = std::fs::read_to_string(mappings_dir().join("redmine.yaml")).unwrap();
    let rule = r#"on: [members.add], means: already_done"#;
    assert!(text.contains(rule));
    let unknown = text.replace(rule, "on: [members.ad], means: already_done");
    let problems = load("r.yaml", &unknown, &test_env).unwrap_err().render();
    assert!(
        problems.contains("unknown operation `members.ad` (allowed: create, get,"),
        "{problems}"
    );
    let not_members = text.replace(rule, "on: [update], means: already_done");
    let problems = load("r.yaml", &not_members, &test_env)
        .unwrap_err()
        .render();
    assert!(
        problems.contains("`already_done` needs `on:` naming only member calls"),
        "{problems}"
    );
    let anywhere = text.replace(rule, "means: already_done");
    assert!(load("r.yaml", &anywhere, &test_env).is_err());
    let no_list = text.replace(
        "    list:\n      method: GET\n      path: \"/groups/{id}.json\"\n      query: { include: users }\n      items: \"$.group.users[*]\"\n      member_id: \"$.id\"\n",
        "",
    );
    assert_ne!(no_list, text);
    let problems = load("r.yaml", &no_list, &test_env).unwrap_err().render();
    assert!(
        problems.contains("`already_done` needs `members.list`"),
        "{problems}"
    );
    // A top-level rule with an unknown operation is reported once, not per resource type.
    let top = text.replace(
        "  - { status: 404, means: not_found }",
        "  - { status: 404, on: [fetch], means: not_found }",
    );
    let problems = load("r.yaml", &top, &test_env).unwrap_err();
    assert_eq!(problems.0.len(), 1, "{}", problems.render());
}

/// Issue 8 (hostile corpus): values of the wrong JSON type, and strings with control characters,
/// were passed through to the backend's create body (which then refused them, or stored a CRLF).
#[test]
fn issue_8_wrong_types_and_control_characters_are_refused_before_the_backend() {
    let mapping = demo();
    let users = mapping.users().unwrap();
    let user = |key: &str, value: serde_json::Value| {
        let mut user = json!({"userName": "a@example.com", "active": true});
        user[key] = value;
        user
    };
    for (key, value) in [
        ("displayName", json!({"x": 1})),
        ("displayName", json!([1, 2])),
        ("active", json!("yes")),
        ("active", json!(7)),
        ("active", json!([true])),
        ("userName", json!({"x": 1})),
        ("userName", json!("a@example.com\r\nX-Injected: 1")),
        ("userName", json!("a\u{0}@example.com")),
        ("externalId", json!({"x": 1})),
    ] {
        let body = user(key, value.clone());
        assert!(
            users.validate_create(&body).is_err(),
            "{key} = {value} was accepted"
        );
    }
    // Lenient where the read side is: scalars for strings read as text, Entra's "True".
    for (key, value) in [
        ("displayName", json!(42)),
        ("externalId", json!(7)),
        ("active", json!("True")),
        ("displayName", json!("tab\tinside")),
    ] {
        let body = user(key, value.clone());
        assert!(
            users.validate_create(&body).is_ok(),
            "{key} = {value} was refused"
        );
    }
    let write = users
        .to_backend_create(&user("displayName", json!(42)))
        .unwrap();
    assert!(format!("{write:?}").contains("\"42\""), "{write:?}");
}

/// Microsoft's SCIMReferenceCode collection: `addresses[].formatted` with a line break
/// ("9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645") was refused as a control character,
/// so every create carrying it failed. RFC 7643 §4.1.2: `formatted` "MAY contain newlines";
/// only that attribute may, every other string still refuses CR and LF.
#[test]
fn a_formatted_address_may_hold_line_breaks_and_nothing_else_may() {
    let mapping = demo();
    let users = mapping.users().unwrap();
    let with_address = |sub: &str, value: &str| {
        json!({
            "userName": "ann",
            "addresses": [{ "type": "work", sub: value }],
        })
    };
    let label = "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645";
    let body = with_address("formatted", label);
    assert!(users.validate_create(&body).is_ok(), "{body} was refused");
    let write = users.to_backend_create(&body).unwrap();
    assert!(
        format!("{write:?}").contains("Suite 040\\nSouth Nancy"),
        "{write:?}"
    );
    assert!(
        users
            .validate_create(&with_address("formatted", "1 Main St\r\nSpringfield"))
            .is_ok()
    );
    for (sub, value) in [
        ("formatted", "1 Main St\u{0}"),
        ("streetAddress", "1 Main St\nX"),
        ("locality", "Springfield\r\n"),
    ] {
        let body = with_address(sub, value);
        assert!(users.validate_create(&body).is_err(), "{body} was accepted");
    }
    let body = json!({ "userName": "ann", "displayName": "Ann\nLee" });
    assert!(users.validate_create(&body).is_err(), "{body} was accepted");
}

/// A mapping that writes `userName` and the work email into one field, with a `map:` table
/// that knows two statuses; `extra` adds attribute lines.
fn shared(extra: &str) -> Mapping {
    let text = format!(
        r#"
version: 1
backend:
  base_url: https://api.example.com/
  auth: {{ bearer: "${{TOKEN}}" }}
users:
  id: "$.id"
  operations:
    create: {{ method: POST, path: /u }}
    get: {{ method: GET, path: "/u/{{id}}" }}
    list: {{ method: GET, path: /u, items: "$[*]" }}
    replace: {{ method: PUT, path: "/u/{{id}}" }}
    delete: {{ method: DELETE, path: "/u/{{id}}" }}
  attributes:
    userName: {{ path: "$.email", required: true }}
    'emails[type eq "work"].value': "$.email"
    displayName: "$.display_name"
    externalId: {{ store: true }}
    'roles[primary eq "True"].value': {{ path: "$.role", default: User }}
{extra}
"#
    );
    load("shared.yaml", &text, &test_env).unwrap_or_else(|p| panic!("{}", p.render()))
}

/// Issue 12: two attributes into one backend field with different values are refused naming
/// both (create, PUT, PATCH); the same value (case aside) is one value; `check` warns.
#[test]
fn issue_12_two_attributes_into_one_field() {
    let m = shared("");
    let u = users(&m);
    let both = |a: &str, b: &str| json!({"userName": a, "emails": [{"type": "work", "value": b}]});
    let error = u
        .to_backend_create(&both("a@x.com", "b@x.com"))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`emails[type eq \"work\"].value` (`b@x.com`) and `userName` (`a@x.com`) are both \
         written to the backend field `$.email`; send the same value for both"
    );
    assert!(u.validate_create(&both("a@x.com", "b@x.com")).is_err());
    let write = u.to_backend_create(&both("a@x.com", "A@X.com")).unwrap();
    assert_eq!(write.body["email"], "A@X.com", "the first in rule order");

    let current = json!({"id": 1, "email": "a@x.com", "role": "User"});
    let old = u.to_scim(&current, &Map::new()).unwrap();
    assert!(matches!(
        u.to_backend_replace(&current, &old, &both("b@x.com", "a@x.com")),
        Err(Error::Conflict { .. })
    ));
    // PATCH: an addressed attribute is asserted even when its value stays.
    let request = crate::scim::patch::PatchRequest::parse(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "path": "userName", "value": "b@x.com"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@x.com"}]}),
        m.registry(),
    )
    .unwrap();
    let mut new = old.clone();
    new["userName"] = json!("b@x.com");
    assert!(matches!(
        u.to_backend_patch(&current, &old, &new, &request),
        Err(Error::Conflict { .. })
    ));
    // Entra's rename: only userName addressed, the email follows it.
    let rename = crate::scim::patch::PatchRequest::parse(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "path": "userName", "value": "b@x.com"}]}),
        m.registry(),
    )
    .unwrap();
    let write = u.to_backend_patch(&current, &old, &new, &rename).unwrap();
    assert_eq!(write.body["email"], "b@x.com");

    assert_eq!(
        m.warnings(),
        vec![
            "users: the backend field `$.email` is written from \
             `emails[type eq \"work\"].value` and `userName`; a request that gives them different values is \
             refused (400 invalidValue)"
                .to_owned()
        ]
    );
    assert!(demo_has_no_unexpected_warnings());
}

/// The shipped demo mapping warns only about fields it shares on purpose.
fn demo_has_no_unexpected_warnings() -> bool {
    demo()
        .warnings()
        .iter()
        .all(|w| w.contains("`$.email`") || w.contains("`$.username`"))
}

/// Issue 12: a PUT asserts only the attributes its body carries; omitted ones keep their
/// backend values (and stored ones stay), `null` clears.
#[test]
fn issue_12_put_keeps_what_it_leaves_out() {
    let m = shared(r#"    'emails[type eq "home"].value': "$.home_email""#);
    let u = users(&m);
    let current = json!({"id": 1, "email": "a@x.com", "display_name": "A", "role": "Admin",
                         "notes": "kept"});
    let mut stored = Map::new();
    stored.insert("externalId".into(), json!("ext-1"));
    let old = u.to_scim(&current, &stored).unwrap();
    let write = u
        .to_backend_replace(&current, &old, &json!({"userName": "a@x.com"}))
        .unwrap();
    assert!(!write.backend_changed, "{}", write.body);
    assert_eq!(write.body, current);
    assert_eq!(write.stored["externalId"], "ext-1");
    let write = u
        .to_backend_replace(
            &current,
            &old,
            &json!({"userName": "b@x.com", "displayName": null, "externalId": null}),
        )
        .unwrap();
    assert_eq!(
        write.body,
        json!({"id": 1, "email": "b@x.com", "display_name": null, "role": "Admin",
               "notes": "kept"})
    );
    assert_eq!(write.stored["externalId"], Value::Null);
    // `emails` without a home entry clears no home email the backend never had.
    let write = u
        .to_backend_replace(
            &current,
            &old,
            &json!({"userName": "a@x.com", "emails": [{"type": "work", "value": "a@x.com"}]}),
        )
        .unwrap();
    assert_eq!(write.body, current, "no `home_email: null` added");
    // The body is the whole resource: a required attribute left out or cleared is refused.
    for body in [json!({"displayName": "B"}), json!({"userName": null})] {
        assert!(
            matches!(
                u.to_backend_replace(&current, &old, &body),
                Err(Error::Required { .. })
            ),
            "{body} was accepted"
        );
    }
    // PATCH remove of the work email does not empty the login it shares the field with.
    let mut new = old.clone();
    new.as_object_mut().unwrap().remove("emails");
    let write = u.to_backend_update(&current, &old, &new).unwrap();
    assert!(!write.backend_changed, "{}", write.body);
}

/// Issue 12: several elements, not exactly one primary, for a single-valued `[primary eq
/// "True"]` field is refused before the default could stand in; one primary is taken.
#[test]
fn issue_12_roles_without_one_primary_are_refused() {
    let m = shared("");
    let u = users(&m);
    let role = |v: &str, p: bool| json!({"primary": p, "value": v});
    let body = |roles: Value| json!({"userName": "a@x.com", "roles": roles});
    for roles in [
        json!([role("Admin", false), role("User", false)]),
        json!([role("Admin", true), role("User", true)]),
        json!([{"value": "Admin"}, {"value": "User"}]),
    ] {
        let errors = u.validate_create(&body(roles.clone())).unwrap_err();
        assert!(
            matches!(errors.as_slice(), [Error::AmbiguousPrimary { attribute, .. }]
                if attribute == "roles[primary eq \"True\"].value"),
            "{roles}: {errors:?}"
        );
        assert!(u.to_backend_create(&body(roles)).is_err());
    }
    let write = u
        .to_backend_create(&body(json!([role("Admin", false), role("User", true)])))
        .unwrap();
    assert_eq!(write.body["role"], "User");
    let write = u
        .to_backend_create(&body(json!([role("Admin", false)])))
        .unwrap();
    assert_eq!(write.body["role"], "Admin");
    let write = u.to_backend_create(&body(json!([]))).unwrap();
    assert_eq!(
        write.body["role"], "User",
        "the default, for no roles at all"
    );
}

/// Issue 12: a backend value `map:` does not know is left out, or read as `read_default`;
/// a `read_default` needs `map` and must be one of its keys.
#[test]
fn issue_12_unmapped_backend_values() {
    let m =
        shared(r#"    active: { path: "$.status", map: { "true": active, "false": disabled } }"#);
    let invited = json!({"id": 1, "email": "a@x.com", "status": "invited"});
    let scim = users(&m).to_scim(&invited, &Map::new()).unwrap();
    assert!(scim.get("active").is_none(), "{scim}");
    let m = shared(
        r#"    active: { path: "$.status", map: { "true": active, "false": disabled }, read_default: "false" }"#,
    );
    let scim = users(&m).to_scim(&invited, &Map::new()).unwrap();
    assert_eq!(scim["active"], false);
    // Without `map`, a text that is no boolean is not returned in a boolean either.
    let m = shared(r#"    active: "$.status""#);
    let scim = users(&m).to_scim(&invited, &Map::new()).unwrap();
    assert!(scim.get("active").is_none(), "{scim}");

    for (line, problem) in [
        (
            r#"    active: { path: "$.status", read_default: "false" }"#,
            "it needs `map`",
        ),
        (
            r#"    active: { path: "$.status", map: { "true": active }, read_default: "false" }"#,
            "read_default `false` is not a `map` key (keys: true)",
        ),
    ] {
        let text = format!(
            "version: 1\nbackend: {{ base_url: https://a.example.com/ }}\nusers:\n  id: \"$.id\"\n  \
             operations: {{ get: {{ method: GET, path: \"/u/{{id}}\" }}, list: {{ method: GET, path: /u, items: \"$[*]\" }} }}\n  \
             attributes:\n    userName: \"$.email\"\n{line}\n"
        );
        let problems = load("bad.yaml", &text, &test_env).unwrap_err().render();
        assert!(problems.contains(problem), "{problems}");
    }
}

#[test]
fn issue_13_membership_rows_example_loads_and_its_tests_pass() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/memberships.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mapping = load("docs/examples/memberships.yaml", &text, &test_env)
        .unwrap_or_else(|p| panic!("{}", p.render()));
    let groups = mapping.groups().unwrap();
    assert!(groups.skips_present_members() && groups.removes_by_row());
    let outcomes = crate::cases::run_tests(&mapping);
    assert_eq!(outcomes.len(), 3);
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| format!("{}: {}", o.name, o.detail))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    // The member list pages like a list, and reads row ids.
    let item = serde_json::json!({"id": 901, "user": 4});
    assert_eq!(groups.member_of_item(&item).as_deref(), Some("4"));
    assert_eq!(groups.row_of_item(&item).as_deref(), Some("901"));
    let spec = groups.member_list().unwrap();
    assert_eq!(spec.paging, crate::mapping::Paging::Page);
    assert_eq!(spec.max_page_size, Some(100));
}

#[test]
fn issue_13_row_removal_and_skip_present_need_members_list() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/memberships.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let no_row = text.replace("      row_id: \"$.id\"\n", "");
    let problems = load("m.yaml", &no_row, &test_env).unwrap_err().render();
    assert!(problems.contains("`{row}` needs"), "{problems}");
    let start = text
        .find("    list:\n      method: GET\n      path: \"/api/groups/{id}/memberships\"")
        .unwrap();
    let end = text.find("\ntests:").unwrap();
    let no_list = format!("{}{}", &text[..start], &text[end..]);
    let problems = load("m.yaml", &no_list, &test_env).unwrap_err().render();
    assert!(problems.contains("`skip_present` needs"), "{problems}");
    let row_in_add = text.replace("user: \"{member:integer}\"", "user: \"{row}\"");
    let problems = load("m.yaml", &row_in_add, &test_env).unwrap_err().render();
    assert!(problems.contains("only for `members.remove`"), "{problems}");
}

/// The demo mapping with `rules` as its top-level `errors:` (the users' own rule stays first).
fn with_errors(rules: &str) -> Result<Mapping, Problems> {
    let text = std::fs::read_to_string(mappings_dir().join("demo.yaml")).unwrap();
    let start = text.find("\nerrors:\n").unwrap();
    let end = text[start + 1..].find("\n\n").unwrap() + start + 1;
    let text = format!("{}\nerrors:\n{rules}{}", &text[..start], &text[end..]);
    load("mappings/demo.yaml", &text, &test_env)
}

#[test]
fn contains_matches_the_answer_body_and_body_matches_values_at_json_paths() {
    let m = with_errors(
        "  - { status: 422, body: { \"$.errors[0].extensions.code\": RECORD_NOT_UNIQUE }, means: uniqueness }\n  \
           - { status: 422, contains: email_blocked, means: invalid_value }\n  \
           - { status: 400, body: { \"$.code\": 7, \"$.kind\": user }, means: not_found }\n",
    )
    .unwrap_or_else(|p| panic!("{}", p.render()));
    let u = users(&m);
    let coded = |code: &str| json!({"errors": [{"message": "Validation failed", "extensions": {"code": code}}]});
    // The message scimgate extracts is "Validation failed"; the code is only in the body.
    let not_unique = coded("RECORD_NOT_UNIQUE");
    assert_eq!(
        u.classify_error(OpName::Create, 422, "Validation failed", Some(&not_unique)),
        Some(ErrorClass::Uniqueness)
    );
    let blocked = coded("EMAIL_BLOCKED");
    assert_eq!(
        u.classify_error(OpName::Create, 422, "Validation failed", Some(&blocked)),
        Some(ErrorClass::InvalidValue)
    );
    // `body` compares exactly; other codes fall through.
    let other = coded("record_not_unique");
    assert_eq!(
        u.classify_error(OpName::Create, 422, "Validation failed", Some(&other)),
        None
    );
    // `contains` still matches the message alone (plain-text answers have no JSON body).
    assert_eq!(
        u.classify_error(OpName::Create, 422, "Email_Blocked by policy", None),
        Some(ErrorClass::InvalidValue)
    );
    // Every `body` entry must match; numbers compare as text.
    let both = json!({"code": 7, "kind": "user"});
    let one = json!({"code": 7, "kind": "team"});
    assert_eq!(
        u.classify_error(OpName::Create, 400, "x", Some(&both)),
        Some(ErrorClass::NotFound)
    );
    assert_eq!(u.classify_error(OpName::Create, 400, "x", Some(&one)), None);
    assert_eq!(u.classify_error(OpName::Create, 400, "x", None), None);
}

#[test]
fn a_body_rule_needs_json_paths_and_scalar_values() {
    let problems = with_errors(
        "  - { status: 422, body: { \"$.a[\": x, \"$.b\": { c: 1 } }, means: uniqueness }\n",
    )
    .map(|_| ())
    .unwrap_err()
    .render();
    assert!(problems.contains("invalid JSONPath `$.a[`"), "{problems}");
    assert!(
        problems.contains("the expected value must be a string, number or boolean"),
        "{problems}"
    );
}

/// Issue 15: a rule quotes the backend's message only when it says `show_message: true`
/// (Redmine's do, the demo's do not).
#[test]
fn error_rules_quote_the_backends_message_only_when_they_opt_in() {
    let demo = demo();
    assert_eq!(
        users(&demo).classify_error_rule(OpName::Create, 422, "unknown user 5", None),
        Some((ErrorClass::InvalidValue, false))
    );
    let redmine = redmine();
    assert_eq!(
        users(&redmine).classify_error_rule(
            OpName::Create,
            422,
            r#"{"errors":["Email has already been taken"]}"#,
            None
        ),
        Some((ErrorClass::Uniqueness, true))
    );
    assert_eq!(
        users(&redmine).classify_error_rule(OpName::Create, 422, "Login is invalid", None),
        Some((ErrorClass::InvalidValue, true))
    );
}

#[test]
fn a_2xx_error_rule_needs_a_body_match_and_makes_a_success_answer_a_refusal() {
    let m = with_errors(
        "  - { status: 200, on: [update], contains: \" in use\", means: uniqueness }\n",
    )
    .unwrap_or_else(|p| panic!("{}", p.render()));
    let u = users(&m);
    assert!(u.has_success_rules());
    assert!(!users(&demo()).has_success_rules());
    // RT's answer to a refused rename, and to one that worked.
    let refused = json!(["User a@example.com: Name in use"]);
    assert_eq!(
        u.classify_error(OpName::Update, 200, "", Some(&refused)),
        Some(ErrorClass::Uniqueness)
    );
    let done = json!(["User a@example.com: RealName changed from 'A' to 'B'"]);
    assert_eq!(u.classify_error(OpName::Update, 200, "", Some(&done)), None);
    assert_eq!(
        u.classify_error(OpName::Create, 200, "", Some(&refused)),
        None
    );
    let problems = with_errors("  - { status: 201, means: uniqueness }\n")
        .unwrap_err()
        .render();
    assert!(
        problems.contains("a 2xx rule needs `contains` or `body`"),
        "{problems}"
    );
}

#[test]
fn issue_18_quirks_example_loads_and_its_tests_pass() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/quirks.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mapping = load("docs/examples/quirks.yaml", &text, &test_env)
        .unwrap_or_else(|p| panic!("{}", p.render()));
    let outcomes = crate::cases::run_tests(&mapping);
    assert_eq!(outcomes.len(), 15);
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| format!("{}: {}", o.name, o.detail))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let u = users(&mapping);
    assert!(u.identity_is_stamp());
    let lookups = u.unique_lookups(&serde_json::json!({"userName": " Ann@Example.com "}));
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].filter, "userName eq \"Ann@Example.com\"");
    let mut headers = http::HeaderMap::new();
    headers.insert("x-total-count", http::HeaderValue::from_static("42"));
    assert_eq!(
        u.list_total(&serde_json::json!({"items": []}), &headers),
        Some(42)
    );
    assert_eq!(
        u.list_total(&serde_json::json!({"items": []}), &http::HeaderMap::new()),
        None
    );
}

#[test]
fn issue_18_unique_stamp_and_total_header_are_checked_at_load() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/quirks.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let cases = [
        (
            text.replace("unique: [userName]", "unique: [title]"),
            "`title` is not an attribute of this mapping",
        ),
        (
            text.replace(
                "    - { when: 'userName eq {v}', query: { username: \"{v}\" } }\n",
                "",
            ),
            "the lookup before a create must not scan",
        ),
        (
            text.replace("unique: [userName]", "unique: [externalId]"),
            "`externalId` is looked up with `use: store`, which only knows resources scimgate made, not the product's own: give `externalId eq \"x\"` a `filters:` rule with a backend query",
        ),
        (
            text.replace(
                "get:     { method: GET,  path: \"/api/v1/users/{id}\" }",
                "get:     { method: GET,  path: \"/api/v1/users/{id}\", unique: [userName] }",
            ),
            "`unique` belongs on `create` only",
        ),
        (
            text.replace("stamp: \"$.notes\"", "stamp: \"$.email\""),
            "written by attribute `emails[type eq \"work\"].value`",
        ),
        (
            text.replace("stamp: \"$.notes\"", "stamp: \"$.items[*]\""),
            "not a plain backend field path",
        ),
        (
            text.replacen(
                "total_header: X-Total-Count",
                "total_header: \"X Total\"",
                1,
            ),
            "not a valid HTTP header name",
        ),
        (
            text.replace("ids: gateway", "ids: backend"),
            "`identity` needs `ids: gateway`",
        ),
    ];
    for (yaml, problem) in cases {
        let problems = load("q.yaml", &yaml, &test_env).unwrap_err().render();
        assert!(problems.contains(problem), "{problem}: {problems}");
    }
}

#[test]
fn issue_18_role_list_example_loads_and_its_tests_pass() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/role-list.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mapping = load("docs/examples/role-list.yaml", &text, &test_env)
        .unwrap_or_else(|p| panic!("{}", p.render()));
    let outcomes = crate::cases::run_tests(&mapping);
    assert_eq!(outcomes.len(), 11);
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| format!("{}: {}", o.name, o.detail))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let bad = text.replace(
        "items: { value: \"$.name\"",
        "items: { value: \"$.names[*]\"",
    );
    let problems = load("r.yaml", &bad, &test_env).unwrap_err().render();
    assert!(
        problems.contains("not a plain field path within one element"),
        "{problems}"
    );
    let on_sub = text.replace("    roles:\n      path", "    roles.value:\n      path");
    let problems = load("r.yaml", &on_sub, &test_env).unwrap_err().render();
    assert!(
        problems.contains("`items` is for a whole multi-valued complex attribute"),
        "{problems}"
    );
}
