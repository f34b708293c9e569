//! `{conn.NAME}` in `policies.email_domains` and in filter `query:` rules: declared like every
//! other use, filled per connection, unset values never opening the policy.

use std::collections::BTreeMap;

use serde_json::json;

use crate::mapping::{BackendSearch, FilterSearch};
use crate::scim::filter::Filter;

/// A small users mapping with `declared` variables, `policy` as `email_domains` and `query`
/// as the userName rule's backend query.
fn mapping_text(declared: &str, policy: &str, query: &str) -> String {
    format!(
        "version: 1\nbackend:\n  base_url: http://127.0.0.1:1\n\
         connection_variables:\n{declared}\
         policies:\n  email_domains: {policy}\n\
         users:\n  id: \"$.id\"\n  operations:\n\
         \x20   create: {{ method: POST, path: /users }}\n\
         \x20   get: {{ method: GET, path: \"/users/{{id}}\" }}\n\
         \x20   list: {{ method: GET, path: /users, items: \"$[*]\" }}\n\
         \x20   replace: {{ method: PUT, path: \"/users/{{id}}\" }}\n\
         \x20   delete: {{ method: DELETE, path: \"/users/{{id}}\" }}\n\
         \x20 attributes:\n    userName: {{ path: \"$.username\", required: true }}\n\
         \x20 filters:\n    - {{ when: 'userName eq {{v}}', query: {query} }}\n"
    )
}

fn load(text: &str) -> Result<crate::mapping::Mapping, String> {
    crate::mapping::load("m.yaml", text, &|_| None).map_err(|problems| problems.to_string())
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const DECLARED: &str = "  domains: {}\n  ws: {}\n";

#[test]
fn check_refuses_undeclared_variables_in_policies_and_filter_queries() {
    let policy = load(&mapping_text(
        DECLARED,
        "\"{conn.nope}\"",
        "{ username: \"{v}\" }",
    ))
    .expect_err("undeclared in policies");
    assert!(
        policy.contains("policies.email_domains") && policy.contains("{conn.nope}"),
        "{policy}"
    );
    let query = load(&mapping_text(
        DECLARED,
        "[]",
        "{ username: \"{v}\", ws: \"{conn.nope}\" }",
    ))
    .expect_err("undeclared in a filter query");
    assert!(
        query.contains("query.ws") && query.contains("{conn.nope}"),
        "{query}"
    );
    let other = load(&mapping_text(
        DECLARED,
        "[\"{id}\"]",
        "{ username: \"{v}\" }",
    ))
    .expect_err("only {conn.NAME} in policies");
    assert!(other.contains("only {conn.NAME}"), "{other}");
}

#[test]
fn email_domains_come_from_the_connection_and_an_unset_variable_allows_none() {
    let mapping = load(&mapping_text(
        DECLARED,
        "[example.org, \"{conn.domains}\"]",
        "{ username: \"{v}\" }",
    ))
    .expect("valid");
    let users = mapping.users().expect("users");
    let a = vars(&[("domains", "contoso.com, fabrikam.com")]);
    let b = vars(&[("domains", "other.test")]);
    let user = |name: &str| json!({"userName": name});
    assert!(
        users
            .check_domains_in(&user("x@fabrikam.com"), Some(&a))
            .is_ok()
    );
    assert!(
        users
            .check_domains_in(&user("x@example.org"), Some(&b))
            .is_ok()
    );
    let refused = users
        .check_domains_in(&user("x@fabrikam.com"), Some(&b))
        .expect_err("B does not allow fabrikam.com");
    assert!(refused.to_string().contains("fabrikam.com"), "{refused}");

    let only = load(&mapping_text(
        DECLARED,
        "\"{conn.domains}\"",
        "{ username: \"{v}\" }",
    ))
    .expect("valid");
    let users = only.users().expect("users");
    assert!(
        users
            .check_domains_in(&user("x@contoso.com"), Some(&BTreeMap::new()))
            .is_err(),
        "an unset variable must not open the policy"
    );
    assert!(
        users
            .check_domains_in(&user("x@contoso.com"), Some(&vars(&[("domains", " , ")])))
            .is_err()
    );
}

#[test]
fn filter_queries_carry_the_connections_values() {
    let mapping = load(&mapping_text(
        DECLARED,
        "[]",
        "{ username: \"{v}\", workspace: \"{conn.ws}\" }",
    ))
    .expect("valid");
    let users = mapping.users().expect("users");
    let filter =
        Filter::parse("userName eq \"a@x.test\"", mapping.registry().urns()).expect("filter");
    let plan = users
        .translate_search_in(&filter, &vars(&[("ws", "4/2&x")]))
        .expect("planned");
    let FilterSearch::One(branch) = plan else {
        panic!("one search: {plan:?}");
    };
    let BackendSearch::Query { params, .. } = &branch.search else {
        panic!("a query: {:?}", branch.search);
    };
    assert!(
        params.contains(&("workspace".to_owned(), "4/2&x".to_owned())),
        "{params:?}"
    );
}
