//! Fuzzes the SCIM filter and path parsers: arbitrary UTF-8 must never panic, and whatever parses
//! must survive a round trip through its canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimgate::scim::filter::Filter;
use scimgate::scim::path::{AttrPath, PatchPath};

fuzz_target!(|input: &str| {
    let urns = vec![
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:Group".to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:User".to_owned(),
    ];
    if let Ok(filter) = Filter::parse(input, &urns) {
        let again = Filter::parse(&filter.to_string(), &urns);
        assert_eq!(again.as_ref(), Ok(&filter), "round trip of {input:?}");
        let _ = filter.matches(
            &serde_json::json!({"userName": "x"}),
            &scimgate::scim::filter::CoreDefaults,
        );
    }
    if let Ok(path) = PatchPath::parse(input, &urns) {
        let again = PatchPath::parse(&path.to_string(), &urns);
        assert_eq!(again.as_ref(), Ok(&path), "round trip of {input:?}");
    }
    let _ = AttrPath::parse(input, &urns);
});
