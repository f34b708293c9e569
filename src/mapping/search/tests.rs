//! Tests of whole-filter translation: conjunctions as one search, `or` as a union, the bound, the
//! refusals; and of the `readOnly` advertisement of read-only rules.

use super::*;
use crate::mapping::{Mapping, load};
use crate::scim::schema::Mutability;

const MAPPING: &str = r#"version: 1
backend:
  base_url: "http://127.0.0.1:8081"
  auth: { bearer: "t0ken-for-tests" }
users:
  id: "$.id"
  operations:
    create:  { method: POST,   path: /api/users }
    get:     { method: GET,    path: "/api/users/{id}" }
    list:    { method: GET,    path: /api/users, query: { offset: "{offset}", limit: "{count}" }, items: "$.items[*]", total: "$.total" }
    replace: { method: PUT,    path: "/api/users/{id}" }
    delete:  { method: DELETE, path: "/api/users/{id}" }
  attributes:
    userName:        "$.login"
    name.formatted:  { path: "$.full_name", read_only: true }
    name.familyName: "$.last"
    'emails[type eq "work"].value': "$.email"
    displayName:     "$.display"
    title:           "$.title"
    externalId:      { store: true }
  filters:
    - { when: 'userName eq {v}', query: { login: "{v}" }, exact: true }
    - { when: 'userName sw {v}', query: { login_prefix: "{v}" } }
    - { when: 'emails.value co {v}', query: { email_has: "{v}" } }
    - { when: 'name.familyName eq {v}', query: { last: "{v}" }, exact: true }
    - { when: 'displayName eq {v}', query: { display: "{v}" }, exact: true }
    - { when: 'externalId eq {v}', use: store }
    - { when: 'id eq {v}', use: get }
"#;

fn mapping() -> Mapping {
    match load("search.yaml", MAPPING, &|_| None) {
        Ok(m) => m,
        Err(p) => panic!("{}", p.render()),
    }
}

fn translate(text: &str) -> Result<FilterSearch, Error> {
    let m = mapping();
    let filter = Filter::parse(text, m.registry().urns()).unwrap_or_else(|e| panic!("{e}"));
    m.users()
        .unwrap_or_else(|| panic!("users"))
        .translate_search(&filter)
}

fn query(params: &[(&str, &str)]) -> BackendSearch {
    BackendSearch::Query {
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        post_filter: None,
    }
}

fn parsed(text: &str) -> Filter {
    Filter::parse(text, mapping().registry().urns()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn exact_conditions_joined_with_and_are_one_search_without_a_check() {
    let got = translate(r#"name.familyName eq "Lee" and displayName eq "Ann""#);
    assert_eq!(
        got,
        Ok(FilterSearch::One(Box::new(Branch {
            search: query(&[("last", "Lee"), ("display", "Ann")]),
            check: None,
        })))
    );
}

#[test]
fn an_inexact_or_unserved_condition_makes_the_gateway_check_the_conjunction() {
    let text = r#"name.familyName eq "Lee" and emails.value co "example.com""#;
    assert_eq!(
        translate(text),
        Ok(FilterSearch::One(Box::new(Branch {
            search: query(&[("last", "Lee"), ("email_has", "example.com")]),
            check: Some(parsed(text)),
        })))
    );
    // `title` has no search: the other condition is searched, the whole checked here.
    let text = r#"userName eq "ann" and title eq "Boss""#;
    assert_eq!(
        translate(text),
        Ok(FilterSearch::One(Box::new(Branch {
            search: query(&[("login", "ann")]),
            check: Some(parsed(text)),
        })))
    );
    // Two values for one parameter cannot go in one call: the second is checked here.
    let text = r#"userName eq "ann" and userName eq "bob""#;
    assert_eq!(
        translate(text),
        Ok(FilterSearch::One(Box::new(Branch {
            search: query(&[("login", "ann")]),
            check: Some(parsed(text)),
        })))
    );
}

#[test]
fn an_id_or_store_condition_is_preferred_and_the_rest_checked() {
    let text = r#"id eq "7" and userName eq "ann""#;
    assert_eq!(
        translate(text),
        Ok(FilterSearch::One(Box::new(Branch {
            search: BackendSearch::ById("7".into()),
            check: Some(parsed(text)),
        })))
    );
}

#[test]
fn or_is_a_union_of_one_search_per_alternative() {
    let got = translate(
        r#"name.FamilyName eq Employee and (emails.Value co example.com or userName sw "O")"#,
    );
    assert_eq!(
        got,
        Ok(FilterSearch::Union(vec![
            Branch {
                search: query(&[("last", "Employee"), ("email_has", "example.com")]),
                check: Some(parsed(
                    r#"name.FamilyName eq "Employee" and emails.Value co "example.com""#
                )),
            },
            Branch {
                search: query(&[("last", "Employee"), ("login_prefix", "O")]),
                check: Some(parsed(
                    r#"name.FamilyName eq "Employee" and userName sw "O""#
                )),
            },
        ]))
    );
    let got = translate(r#"userName eq "a" or externalId eq "x""#);
    assert_eq!(
        got,
        Ok(FilterSearch::Union(vec![
            Branch {
                search: query(&[("login", "a")]),
                check: None,
            },
            Branch {
                search: BackendSearch::Store {
                    attribute: "externalId".into(),
                    value: "x".into(),
                },
                check: None,
            },
        ]))
    );
}

#[test]
fn an_alternative_no_search_serves_refuses_the_filter_naming_it() {
    assert_eq!(
        translate(r#"userName eq "a" or title co "Boss""#),
        Err(Error::UnsupportedFilter {
            attribute: "title".into(),
            operator: "co".into(),
        })
    );
    assert_eq!(
        translate(r#"title eq "a" and not (userName eq "b")"#),
        Err(Error::UnsupportedFilter {
            attribute: "title".into(),
            operator: "eq".into(),
        })
    );
}

#[test]
fn more_alternatives_than_the_bound_are_refused_saying_so() {
    let many = (0..=MAX_ALTERNATIVES)
        .map(|i| format!("userName eq \"u{i}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let err = translate(&many);
    assert_eq!(
        err,
        Err(Error::TooManyAlternatives {
            count: MAX_ALTERNATIVES + 1,
            max: MAX_ALTERNATIVES,
        })
    );
    let text = err.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
    assert!(text.contains("at most 10 are served"), "{text}");
    let fits = (0..MAX_ALTERNATIVES)
        .map(|i| format!("userName eq \"u{i}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    assert!(matches!(translate(&fits), Ok(FilterSearch::Union(b)) if b.len() == MAX_ALTERNATIVES));
}

#[test]
fn read_only_rules_are_advertised_read_only() {
    let m = mapping();
    let name = m
        .advertised()
        .attribute("User", &crate::scim::path::AttrPath::simple("name"))
        .map(std::borrow::Cow::into_owned);
    let subs = name.map(|a| a.sub_attributes).unwrap_or_default();
    let mutability = |sub: &str| subs.iter().find(|s| s.name == sub).map(|s| s.mutability);
    assert_eq!(mutability("formatted"), Some(Mutability::ReadOnly));
    assert_eq!(mutability("familyName"), Some(Mutability::ReadWrite));
    let user_name = m
        .advertised()
        .attribute("User", &crate::scim::path::AttrPath::simple("userName"))
        .map(|a| a.mutability);
    assert_eq!(user_name, Some(Mutability::ReadWrite));
}
