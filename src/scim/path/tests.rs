//! Path parsing: every path shape Entra sends (entra-behaviour.md §1.5.3) and RFC 7644 §3.5.2.

use super::*;
use crate::scim::filter::{CompareOp, ErrorKind};
use proptest::prelude::*;
use serde_json::json;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// Known URNs, longest first, as the registry hands them over.
fn urns() -> Vec<String> {
    let mut urns = vec![
        ENTERPRISE.to_owned(),
        CUSTOM.to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:User".to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:Group".to_owned(),
    ];
    urns.sort_by_key(|u| std::cmp::Reverse(u.len()));
    urns
}

fn attr(schema: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath {
        schema: schema.map(str::to_owned),
        name: name.to_owned(),
        sub_attr: sub.map(str::to_owned),
    }
}

#[test]
fn simple_and_sub_attribute_paths() {
    let u = urns();
    assert_eq!(
        AttrPath::parse("userName", &u),
        Ok(attr(None, "userName", None))
    );
    assert_eq!(
        AttrPath::parse("name.givenName", &u),
        Ok(attr(None, "name", Some("givenName")))
    );
    assert_eq!(
        AttrPath::parse("meta.$ref", &u),
        Ok(attr(None, "meta", Some("$ref")))
    );
}

#[test]
fn schema_qualified_paths_split_at_known_urn_or_last_colon() {
    let u = urns();
    let cases = [
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            attr(Some(ENTERPRISE), "manager", None),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            attr(Some(ENTERPRISE), "manager", Some("value")),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag",
            attr(Some(CUSTOM), "tag", None),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName:folders",
            attr(
                Some("urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName"),
                "folders",
                None,
            ),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:2.0:Metadata:CostCenter",
            attr(
                Some("urn:ietf:params:scim:schemas:extension:2.0:Metadata"),
                "CostCenter",
                None,
            ),
        ),
        (
            "URN:IETF:params:scim:schemas:extension:enterprise:2.0:user:employeeNumber",
            attr(
                Some("URN:IETF:params:scim:schemas:extension:enterprise:2.0:user"),
                "employeeNumber",
                None,
            ),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            AttrPath::parse(input, &u).as_ref(),
            Ok(&expected),
            "{input}"
        );
        assert_eq!(
            AttrPath::parse(input, &[]).as_ref(),
            Ok(&expected),
            "{input} w/o URNs"
        );
        assert_eq!(expected.to_string(), input);
    }
}

#[test]
fn longest_known_urn_wins_over_last_colon() {
    // A registered URN whose last segment looks like an attribute: only the registry knows.
    let u = vec![
        "urn:example:ext:2.0:User:tags".to_owned(),
        "urn:example:ext:2.0:User".to_owned(),
    ];
    assert_eq!(
        AttrPath::parse("urn:example:ext:2.0:User:tags:color", &u),
        Ok(attr(Some("urn:example:ext:2.0:User:tags"), "color", None))
    );
    assert_eq!(
        AttrPath::parse("urn:example:ext:2.0:User:tags", &u),
        Err(Error::SchemaOnly {
            schema: "urn:example:ext:2.0:User:tags".to_owned(),
            input: "urn:example:ext:2.0:User:tags".to_owned(),
        })
    );
}

#[test]
fn bare_schema_urn_is_schema_only() {
    let u = urns();
    let err = PatchPath::parse(ENTERPRISE, &u).unwrap_err();
    assert!(matches!(&err, Error::SchemaOnly { schema, .. } if schema == ENTERPRISE));
    assert!(matches!(
        AttrPath::parse(ENTERPRISE, &u),
        Err(Error::SchemaOnly { .. })
    ));
}

#[test]
fn patch_paths_with_value_filters() {
    let u = urns();
    let p = PatchPath::parse(r#"manager[value eq "x"]"#, &u).unwrap();
    assert_eq!(p.attr, attr(None, "manager", None));
    assert_eq!(
        p.filter,
        Some(Filter::Compare(
            attr(None, "value", None),
            CompareOp::Eq,
            json!("x")
        ))
    );
    assert_eq!(p.sub_attr, None);

    let p = PatchPath::parse(r#"roles[primary eq "True"].value"#, &u).unwrap();
    assert_eq!(p.attr, attr(None, "roles", None));
    assert_eq!(
        p.filter,
        Some(Filter::Compare(
            attr(None, "primary", None),
            CompareOp::Eq,
            json!("True")
        ))
    );
    assert_eq!(p.sub_attr.as_deref(), Some("value"));

    let p = PatchPath::parse(r#"emails[type eq "work"].Value"#, &u).unwrap();
    assert_eq!(p.sub_attr.as_deref(), Some("Value"));
    assert_eq!(p.to_string(), r#"emails[type eq "work"].Value"#);

    let p = PatchPath::parse(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "m1"].displayName"#,
        &u,
    )
    .unwrap();
    assert_eq!(p.attr, attr(Some(ENTERPRISE), "manager", None));
    assert_eq!(p.sub_attr.as_deref(), Some("displayName"));
}

#[test]
fn rfc_7644_patch_path_examples_round_trip() {
    let u = urns();
    for input in [
        "members",
        "name.familyName",
        "addresses[type eq \"work\"]",
        "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]",
        "members[value eq \"2819c223-7f76-453a-919d-413861904646\"].displayName",
        "emails[type eq \"work\" and value ew \"example.com\"]",
        "addresses[type eq \"work\"].streetAddress",
        "phoneNumbers[type eq \"fax\"].value",
        "addresses[type eq \"work\"].postalCode",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ] {
        let p = PatchPath::parse(input, &u).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(p.to_string(), input);
    }
}

#[test]
fn path_errors_are_positioned() {
    let u = urns();
    let cases: [(&str, usize, ErrorKind); 8] = [
        ("", 0, ErrorKind::ExpectedAttribute),
        ("a.b.c", 3, ErrorKind::TooManySubAttributes),
        (
            "emails[type eq \"work\"",
            21,
            ErrorKind::ExpectedLogicalOrBracket,
        ),
        (
            "emails[type eq \"work\"].",
            23,
            ErrorKind::ExpectedAttribute,
        ),
        (
            "emails.value[type pr]",
            12,
            ErrorKind::ValueFilterOnSubAttribute,
        ),
        ("userName x", 9, ErrorKind::ExpectedPathEnd),
        ("1abc", 0, ErrorKind::InvalidNameChar { found: '1' }),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
            59,
            ErrorKind::ExpectedAttributeAfterSchema,
        ),
    ];
    for (input, offset, kind) in cases {
        match PatchPath::parse(input, &u) {
            Err(Error::Syntax(e)) => {
                assert_eq!((e.offset, &e.kind), (offset, &kind), "{input}");
            }
            other => panic!("{input}: {other:?}"),
        }
    }
    // AttrPath refuses value filters.
    assert!(AttrPath::parse("emails[type pr]", &u).is_err());
    assert_eq!(
        PatchPath::parse("a.b.c", &u).unwrap_err().to_string(),
        "invalid attribute path: expected at most one `.sub-attribute` in an attribute path at byte 3 in `a.b.c`"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn path_parsers_never_panic(input in "\\PC{0,40}") {
        let u = urns();
        let _ = AttrPath::parse(&input, &u);
        let _ = PatchPath::parse(&input, &u);
    }

    #[test]
    fn path_parsers_never_panic_on_path_like_input(input in "[a-zA-Z:.\\[\\]\" ()$_-]{0,40}") {
        let u = urns();
        let _ = AttrPath::parse(&input, &u);
        let _ = PatchPath::parse(&input, &u);
    }
}
