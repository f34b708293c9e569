//! Filter tests: every RFC 7644 §3.4.2.2 example, every Entra filter shape
//! (entra-behaviour.md §1.2, §1.3, §5), positioned errors, the evaluator, and property tests.

use super::*;
use crate::scim::path::AttrPath;
use proptest::prelude::*;
use serde_json::json;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn urns() -> Vec<String> {
    vec![
        ENTERPRISE.to_owned(),
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User".to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:Group".to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:User".to_owned(),
    ]
}

fn parse(input: &str) -> Filter {
    Filter::parse(input, &urns()).unwrap_or_else(|e| panic!("{input}: {e}"))
}

fn path(name: &str) -> AttrPath {
    AttrPath::simple(name)
}

fn sub(name: &str, sub: &str) -> AttrPath {
    AttrPath {
        schema: None,
        name: name.to_owned(),
        sub_attr: Some(sub.to_owned()),
    }
}

fn cmp(p: AttrPath, op: CompareOp, v: Value) -> Filter {
    Filter::Compare(p, op, v)
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

/// Every filter example of RFC 7644 §3.4.2.2 (figure "example filters" and the text around it),
/// with its canonical form.
const RFC_EXAMPLES: &[(&str, &str)] = &[
    (r#"userName eq "bjensen""#, r#"userName eq "bjensen""#),
    (
        r#"name.familyName co "O'Malley""#,
        r#"name.familyName co "O'Malley""#,
    ),
    (r#"userName sw "J""#, r#"userName sw "J""#),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    ),
    ("title pr", "title pr"),
    (
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    ),
    (
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    ),
    (
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    ),
    (
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    ),
    (
        r#"title pr and userType eq "Employee""#,
        r#"title pr and userType eq "Employee""#,
    ),
    (
        r#"title pr or userType eq "Intern""#,
        r#"title pr or userType eq "Intern""#,
    ),
    (
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    ),
    (
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    ),
    (
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    ),
    (
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails.type eq "work""#,
    ),
    (
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    ),
    (
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ),
    // §3.4.2.2 text: attribute names and operators are case-insensitive.
    (r#"userName Eq "john""#, r#"userName eq "john""#),
    (r#"Username eq "john""#, r#"Username eq "john""#),
    // §3.4.3 (POST /.search body) example.
    (r#"displayName sw "smith""#, r#"displayName sw "smith""#),
];

#[test]
fn rfc_7644_examples_parse_to_canonical_form() {
    for (input, canonical) in RFC_EXAMPLES {
        let f = parse(input);
        assert_eq!(f.to_string(), *canonical, "{input}");
        assert_eq!(parse(canonical), f, "{canonical}");
    }
}

#[test]
fn rfc_examples_have_the_expected_ast() {
    assert_eq!(
        parse(r#"userName eq "bjensen""#),
        cmp(path("userName"), CompareOp::Eq, json!("bjensen"))
    );
    assert_eq!(
        parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#),
        cmp(
            AttrPath {
                schema: Some("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
                name: "userName".to_owned(),
                sub_attr: None,
            },
            CompareOp::Sw,
            json!("J")
        )
    );
    assert_eq!(
        parse(
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#
        ),
        and(
            cmp(path("userType"), CompareOp::Ne, json!("Employee")),
            Filter::Not(Box::new(or(
                cmp(path("emails"), CompareOp::Co, json!("example.com")),
                cmp(sub("emails", "value"), CompareOp::Co, json!("example.org")),
            )))
        )
    );
    assert_eq!(
        parse(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#),
        and(
            cmp(path("userType"), CompareOp::Eq, json!("Employee")),
            Filter::ValuePath(
                path("emails"),
                Box::new(and(
                    cmp(path("type"), CompareOp::Eq, json!("work")),
                    cmp(path("value"), CompareOp::Co, json!("@example.com")),
                ))
            )
        )
    );
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let a = || Filter::Present(path("a"));
    let b = || Filter::Present(path("b"));
    let c = || Filter::Present(path("c"));
    assert_eq!(parse("a pr or b pr and c pr"), or(a(), and(b(), c())));
    assert_eq!(parse("a pr and b pr or c pr"), or(and(a(), b()), c()));
    assert_eq!(parse("a pr and (b pr or c pr)"), and(a(), or(b(), c())));
    assert_eq!(
        parse("not (a pr) and b pr"),
        and(Filter::Not(Box::new(a())), b())
    );
    // Left-associative, and the display keeps a right-nested tree's parentheses.
    assert_eq!(parse("a pr and b pr and c pr"), and(and(a(), b()), c()));
    let right = and(a(), and(b(), c()));
    assert_eq!(right.to_string(), "a pr and (b pr and c pr)");
    assert_eq!(parse(&right.to_string()), right);
}

#[test]
fn keywords_are_case_insensitive_and_not_takes_optional_space() {
    let expected = parse(r#"not (userName eq "x") and title pr or nickName pr"#);
    for input in [
        r#"NOT (userName EQ "x") AND title PR OR nickName Pr"#,
        r#"not(userName eq "x") and title pr or nickName pr"#,
        r#"Not   (userName eq "x")  and  title pr  or  nickName pr"#,
        r#"(not(userName eq "x") and title pr) or nickName pr"#,
    ] {
        assert_eq!(parse(input), expected, "{input}");
    }
    // An attribute named `not` is still an attribute.
    assert_eq!(parse("not pr"), Filter::Present(path("not")));
}

#[test]
fn json_literals() {
    let cases = [
        (r#"a eq "o\"brien@x.com""#, json!("o\"brien@x.com")),
        (r#"a eq "back\\slash""#, json!("back\\slash")),
        (r#"a eq "\u00e9t\u00E9\n\t\/""#, json!("été\n\t/")),
        (r#"a eq """#, json!("")),
        ("a eq 42", json!(42)),
        ("a eq -1.5e3", json!(-1500.0)),
        ("a eq true", json!(true)),
        ("a eq false", json!(false)),
        ("a eq null", json!(null)),
    ];
    for (input, value) in cases {
        assert_eq!(
            parse(input),
            cmp(path("a"), CompareOp::Eq, value),
            "{input}"
        );
    }
    // Found by the fuzzer: a long float must read back to the same f64 after printing.
    let long = parse("a ew 9995555555555555000000498310867102401968");
    assert_eq!(parse(&long.to_string()), long);
    assert_eq!(
        parse(r#"a eq "o\"brien@x.com""#).to_string(),
        r#"a eq "o\"brien@x.com""#
    );
}

/// Every filter shape of entra-behaviour.md §1.2, §1.3 and §5 (after the router has decoded `+`
/// and `%22`).
#[test]
fn entra_filter_shapes() {
    let guid = "7d420df3-9995-4831-a406-ecf8166f5f6a";
    let cases: Vec<(String, Filter)> = vec![
        (
            format!(r#"userName eq "{guid}""#),
            cmp(path("userName"), CompareOp::Eq, json!(guid)),
        ),
        (
            format!(r#"externalId eq "{guid}""#),
            cmp(path("externalId"), CompareOp::Eq, json!(guid)),
        ),
        (
            format!(r#"displayName eq "{guid}""#),
            cmp(path("displayName"), CompareOp::Eq, json!(guid)),
        ),
        (
            r#"userName eq "alice@contoso.com""#.to_owned(),
            cmp(path("userName"), CompareOp::Eq, json!("alice@contoso.com")),
        ),
        (
            r#"emails[type eq "work"].value eq "alice@contoso.com""#.to_owned(),
            Filter::ValuePath(
                path("emails"),
                Box::new(and(
                    cmp(path("type"), CompareOp::Eq, json!("work")),
                    cmp(path("value"), CompareOp::Eq, json!("alice@contoso.com")),
                )),
            ),
        ),
        (
            format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#),
            cmp(
                AttrPath {
                    schema: Some(ENTERPRISE.to_owned()),
                    name: "employeeNumber".to_owned(),
                    sub_attr: None,
                },
                CompareOp::Eq,
                json!("701984"),
            ),
        ),
        (
            r#"displayName eq "Sales""#.to_owned(),
            cmp(path("displayName"), CompareOp::Eq, json!("Sales")),
        ),
        (
            r#"id eq "u1" and manager eq "m1""#.to_owned(),
            and(
                cmp(path("id"), CompareOp::Eq, json!("u1")),
                cmp(path("manager"), CompareOp::Eq, json!("m1")),
            ),
        ),
        (
            r#"id eq "g1" and members eq "u1""#.to_owned(),
            and(
                cmp(path("id"), CompareOp::Eq, json!("g1")),
                cmp(path("members"), CompareOp::Eq, json!("u1")),
            ),
        ),
        (
            "externalId eq jyoung".to_owned(),
            cmp(path("externalId"), CompareOp::Eq, json!("jyoung")),
        ),
        (
            r#"userName eq "Alice@Contoso.com""#.to_owned(),
            cmp(path("userName"), CompareOp::Eq, json!("Alice@Contoso.com")),
        ),
        (
            r#"userName co "a""#.to_owned(),
            cmp(path("userName"), CompareOp::Co, json!("a")),
        ),
        (
            r#"userName eq "o\"brien@x.com""#.to_owned(),
            cmp(path("userName"), CompareOp::Eq, json!("o\"brien@x.com")),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(parse(&input), expected, "{input}");
        assert_eq!(parse(&expected.to_string()), expected, "{input}");
    }
}

#[test]
fn legacy_unquoted_values() {
    assert_eq!(
        parse("externalId eq jyoung and active eq true"),
        and(
            cmp(path("externalId"), CompareOp::Eq, json!("jyoung")),
            cmp(path("active"), CompareOp::Eq, json!(true)),
        )
    );
    assert_eq!(
        parse("(externalId eq jyoung)"),
        cmp(path("externalId"), CompareOp::Eq, json!("jyoung"))
    );
    assert_eq!(
        parse("emails[value eq a@b.c]"),
        Filter::ValuePath(
            path("emails"),
            Box::new(cmp(path("value"), CompareOp::Eq, json!("a@b.c")))
        )
    );
    assert_eq!(
        parse("a eq 12abc"),
        cmp(path("a"), CompareOp::Eq, json!("12abc"))
    );
    // The canonical form quotes it.
    assert_eq!(
        parse("externalId eq jyoung").to_string(),
        r#"externalId eq "jyoung""#
    );
}

/// A dozen broken filters and the exact message an administrator sees.
#[test]
fn errors_say_what_was_expected_and_where() {
    let cases = [
        (
            r#"userName eqq "x""#,
            r#"expected a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) at byte 9 in `userName eqq "x"`"#,
        ),
        ("", "expected an attribute name at byte 0 in ``"),
        (
            "userName eq",
            r#"expected a value (a "quoted string", a number, true, false or null) at byte 11 in `userName eq`"#,
        ),
        (
            r#"userName eq "x"#,
            r#"expected a closing `"` for the string starting at byte 12 in `userName eq "x`"#,
        ),
        (
            r#"userName eq "x" xor title pr"#,
            r#"expected `and`, `or` or the end of the filter at byte 16 in `userName eq "x" xor title pr`"#,
        ),
        (
            r#"(userName eq "x""#,
            r#"expected `and`, `or` or `)` at byte 16 in `(userName eq "x"`"#,
        ),
        (
            r#"emails[type eq "work""#,
            r#"expected `and`, `or` or `]` at byte 21 in `emails[type eq "work"`"#,
        ),
        (
            r#"userName eq "x")"#,
            r#"expected `and`, `or` or the end of the filter at byte 15 in `userName eq "x")`"#,
        ),
        (
            r#"emails[roles[value pr]]"#,
            "expected no `[` inside a value filter (value filters do not nest) at byte 12 in `emails[roles[value pr]]`",
        ),
        (
            r#"a.b.c eq "x""#,
            r#"expected at most one `.sub-attribute` in an attribute path at byte 3 in `a.b.c eq "x"`"#,
        ),
        (
            r#"user=Name eq "x""#,
            r#"expected an attribute name (letters, digits, `-`, `_`), found `=` at byte 4 in `user=Name eq "x"`"#,
        ),
        (
            r#"a eq "bad \x escape""#,
            r#"expected a valid JSON string (invalid escape) at byte 11 in `a eq "bad \x escape"`"#,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x""#,
            r#"expected an attribute after the schema URN (`urn:…:attribute`) at byte 0 in `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x"`"#,
        ),
        (
            r#"title pr and"#,
            "expected an attribute name at byte 12 in `title pr and`",
        ),
        (
            r#"not ("#,
            "expected an attribute name at byte 5 in `not (`",
        ),
    ];
    for (input, message) in cases {
        let err = Filter::parse(input, &urns()).expect_err(input);
        assert!(input.is_char_boundary(err.offset), "{input}");
        assert_eq!(err.to_string(), message, "{input}");
        assert_eq!(err.input, input);
    }
    // Offsets are bytes into the whole input, also after non-ASCII text.
    let err = Filter::parse(r#"a eq "été \q""#, &[]).unwrap_err();
    assert_eq!(err.offset, r#"a eq "été \"#.len());
    assert_eq!(
        err.kind,
        ErrorKind::InvalidString {
            detail: "invalid escape".to_owned()
        }
    );
}

#[test]
fn nesting_and_operator_limits_fail_cleanly() {
    let deep = format!("{}a pr{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    assert!(Filter::parse(&deep, &[]).is_ok());
    let too_deep = format!(
        "{}a pr{}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    let err = Filter::parse(&too_deep, &[]).unwrap_err();
    assert_eq!((err.offset, err.kind), (MAX_NESTING, ErrorKind::TooDeep));
    let nots = format!("{}a pr{}", "not (".repeat(100_000), ")".repeat(100_000));
    assert_eq!(
        Filter::parse(&nots, &[]).unwrap_err().kind,
        ErrorKind::TooDeep
    );
    let chain = vec!["a pr"; MAX_OPERATORS + 2].join(" and ");
    assert_eq!(
        Filter::parse(&chain, &[]).unwrap_err().kind,
        ErrorKind::TooManyOperators
    );
}

// ---------------------------------------------------------------- evaluator

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "ABC",
        "userName": "alice@contoso.com",
        "active": false,
        "name": {"givenName": "Alice", "familyName": "O'Malley"},
        "emails": [
            {"type": "work", "value": "Alice@Contoso.com", "primary": true},
            {"type": "home", "value": "alice@home.example"}
        ],
        "roles": [{"value": "Admin", "primary": "True"}],
        "nickName": "",
        "loginCount": 7,
        "meta": {"lastModified": "2011-05-13T04:42:34Z"},
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m1"}},
        "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName": {"folders": ["x", "y"]}
    })
}

fn group() -> Value {
    json!({
        "id": "g1",
        "displayName": "Sales",
        "members": [{"value": "u1"}, {"value": "u2", "display": "Bob"}]
    })
}

fn eval(filter: &str, resource: &Value) -> bool {
    parse(filter).matches(resource, &CoreDefaults)
}

#[test]
fn case_exact_follows_attr_info() {
    let u = user();
    assert!(
        eval(r#"userName eq "Alice@Contoso.com""#, &u),
        "userName is caseExact=false"
    );
    assert!(
        eval(r#"emails.value eq "alice@contoso.com""#, &u),
        "emails.value caseExact=false"
    );
    assert!(eval(r#"externalId eq "ABC""#, &u));
    assert!(
        !eval(r#"externalId eq "abc""#, &u),
        "externalId is caseExact=true"
    );
    assert!(
        !eval(r#"id eq "2819C223-7F76-453A-919D-413861904646""#, &u),
        "id is caseExact"
    );
    assert!(
        eval(r#"displayName eq "sales""#, &group()),
        "group displayName caseExact=false"
    );
    // Attribute names are case-insensitive in the resource too.
    assert!(eval(r#"USERNAME eq "alice@contoso.com""#, &u));
    assert!(eval(
        r#"Emails[Type eq "WORK"].Value eq "ALICE@contoso.com""#,
        &u
    ));
}

#[test]
fn string_true_matches_boolean_true() {
    let u = user();
    assert!(eval(r#"emails[primary eq "True"]"#, &u));
    assert!(eval(r#"emails[primary eq "true" and type eq "work"]"#, &u));
    assert!(!eval(r#"emails[primary eq "True" and type eq "home"]"#, &u));
    assert!(
        eval(r#"roles[primary eq true]"#, &u),
        "stored \"True\" matches literal true"
    );
    assert!(eval(r#"roles[primary eq "True"].value eq "admin""#, &u));
    assert!(eval(r#"active eq "False""#, &u));
    assert!(!eval(r#"active eq "True""#, &u));
    assert!(eval("active eq false", &u));
    assert!(
        !eval(r#"active gt "False""#, &u),
        "ordering on booleans is false"
    );
}

#[test]
fn value_paths_and_multi_valued_attributes() {
    let u = user();
    assert!(eval(
        r#"emails[type eq "work"].value eq "alice@contoso.com""#,
        &u
    ));
    assert!(!eval(
        r#"emails[type eq "home"].value eq "alice@contoso.com""#,
        &u
    ));
    assert!(eval(
        r#"emails[type eq "work" and value co "@contoso"]"#,
        &u
    ));
    assert!(!eval(r#"emails[type eq "work" and value co "@home"]"#, &u));
    assert!(eval(r#"emails.value ew "home.example""#, &u));
    assert!(
        eval(r#"emails co "home.example""#, &u),
        "complex values compare on `value`"
    );
    assert!(eval(r#"emails.type eq "home""#, &u));
    let g = group();
    assert!(eval(r#"id eq "g1" and members eq "u1""#, &g));
    assert!(!eval(r#"id eq "g1" and members eq "u3""#, &g));
    assert!(eval(r#"members[value eq "u2"]"#, &g));
    assert!(eval(r#"members.display eq "bob""#, &g));
}

#[test]
fn schema_qualified_attributes_look_under_the_urn_key() {
    let u = user();
    assert!(eval(
        &format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#),
        &u
    ));
    assert!(!eval(&format!(r#"{ENTERPRISE}:employeeNumber eq "1""#), &u));
    assert!(
        !eval(r#"employeeNumber eq "701984""#, &u),
        "unqualified is top-level only"
    );
    assert!(eval(&format!(r#"{ENTERPRISE}:manager.value eq "m1""#), &u));
    assert!(eval(&format!(r#"{ENTERPRISE}:manager eq "m1""#), &u));
    assert!(eval(&format!(r#"{ENTERPRISE}:manager[value eq "m1"]"#), &u));
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ALICE""#,
        &u
    ));
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName:folders eq "y""#,
        &u
    ));
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName:folders[value eq "x"]"#,
        &u
    ));
    // §5 case 22.
    let with_manager = r#"id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "m1""#;
    assert!(
        !eval(with_manager, &u),
        "manager lives under the enterprise URN"
    );
    let mut flat = u.clone();
    flat["manager"] = json!({"value": "m1"});
    assert!(eval(with_manager, &flat));
}

#[test]
fn operators_over_types() {
    let u = user();
    assert!(eval(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, &u));
    assert!(eval(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, &u));
    assert!(!eval(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, &u));
    assert!(eval(r#"meta.lastModified le "2011-05-13T04:42:34Z""#, &u));
    assert!(eval("loginCount gt 6 and loginCount lt 8.5", &u));
    assert!(eval("loginCount eq 7.0", &u));
    assert!(!eval("loginCount co 7", &u));
    assert!(eval(r#"name.familyName co "o'mal""#, &u));
    assert!(eval(r#"userName sw "alice""#, &u));
    assert!(eval(r#"not (userName sw "bob")"#, &u));
    assert!(eval("externalId eq ABC", &u), "legacy unquoted value");
    assert!(eval(&format!("{ENTERPRISE}:employeeNumber eq 701984"), &u));
}

#[test]
fn date_times_compare_chronologically_whatever_their_offset_and_precision() {
    let u = user(); // meta.lastModified 2011-05-13T04:42:34Z
    // Bare (unquoted) as Microsoft's collection sends it: 21:38:21.86 UTC, 2015.
    assert!(eval(
        "meta.lastModified lt 2015-10-10T14:38:21.8617979-07:00",
        &u
    ));
    assert!(!eval(
        "meta.lastModified gt 2015-10-10T14:38:21.8617979-07:00",
        &u
    ));
    // The same instant in another offset: equal, not greater, though its text sorts higher.
    assert!(eval(
        r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#,
        &u
    ));
    assert!(!eval(
        r#"meta.lastModified gt "2011-05-13T06:42:34+02:00""#,
        &u
    ));
    // 04:42:34Z is after 05:00:00+01:00 (04:00Z), though "04…" < "05…" as text.
    assert!(eval(
        r#"meta.lastModified gt "2011-05-13T05:00:00+01:00""#,
        &u
    ));
    assert!(eval(
        r#"meta.lastModified gt "2011-05-13T04:42:33.9999999Z""#,
        &u
    ));
    // Substring operators still compare text.
    assert!(eval(r#"meta.lastModified sw "2011-05""#, &u));
}

#[test]
fn present_and_not_equal() {
    let u = user();
    assert!(eval("userName pr", &u));
    assert!(!eval("nickName pr", &u), "empty string is not present");
    assert!(!eval("title pr", &u));
    assert!(eval("emails pr", &u));
    assert!(!eval("x pr", &json!({"x": []})));
    assert!(!eval("x pr", &json!({"x": {}})));
    assert!(!eval("x pr", &json!({"x": null})));
    assert!(eval("x pr", &json!({"x": false})));
    assert!(
        eval(r#"title ne "x""#, &u),
        "ne on a missing attribute is true"
    );
    assert!(!eval(r#"userName ne "ALICE@contoso.com""#, &u));
    assert!(eval(r#"userType eq null"#, &json!({"userType": null})));
}

/// RFC 7643 §2.5: unassigned, `null` and `[]` are one state, so `eq null` is `not pr`. Before the
/// shared comparison, `title eq null` on a user without a title was false and `title ne null`
/// true.
#[test]
fn null_literal_is_the_unassigned_state() {
    let u = user();
    assert!(eval("title eq null", &u), "missing is null");
    assert!(!eval("title ne null", &u), "missing is not `ne null`");
    assert!(
        eval("nickName eq null", &u),
        "an empty string is not present"
    );
    assert!(eval("x eq null", &json!({"x": []})));
    assert!(!eval("userName eq null", &u));
    assert!(eval("userName ne null", &u));
}

// ---------------------------------------------------------------- property tests

fn arb_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,6}"
}

fn arb_path() -> impl Strategy<Value = AttrPath> {
    let schema = prop_oneof![
        4 => Just(None),
        1 => proptest::sample::select(urns()).prop_map(Some),
        1 => Just(Some("urn:ietf:params:scim:schemas:extension:2.0:Metadata".to_owned())),
    ];
    (schema, arb_name(), proptest::option::of(arb_name())).prop_map(|(schema, name, sub_attr)| {
        AttrPath {
            schema,
            name,
            sub_attr,
        }
    })
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        // Quarters are exact in binary, so they survive the text round trip.
        (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 4.0)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn arb_op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ])
}

/// Filters without value paths (what may appear inside brackets).
fn arb_inner() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        (arb_path(), arb_op(), arb_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
        arb_path().prop_map(Filter::Present),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        3 => arb_inner(),
        1 => (arb_path(), arb_inner()).prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f))),
    ];
    leaf.prop_recursive(3, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_then_parse_is_identity(f in arb_filter()) {
        let text = f.to_string();
        let parsed = Filter::parse(&text, &urns());
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "{}", text);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_strings(input in "\\PC{0,60}") {
        let _ = Filter::parse(&input, &urns());
    }

    #[test]
    fn parse_never_panics_on_filter_like_strings(
        input in r#"([a-z]{1,4}|[ ()\[\]".:\\]|eq|and|or|not|pr|urn:|true|-?[0-9]){0,24}"#
    ) {
        if let Ok(f) = Filter::parse(&input, &urns()) {
            // Whatever parses also round-trips through the canonical form.
            prop_assert_eq!(Filter::parse(&f.to_string(), &urns()), Ok(f));
        }
    }

    #[test]
    fn matches_never_panics(f in arb_filter()) {
        let _ = f.matches(&user(), &CoreDefaults);
        let _ = f.matches(&group(), &CoreDefaults);
    }
}
