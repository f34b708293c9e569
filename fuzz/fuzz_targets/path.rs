//! Fuzzes SCIM attribute and PATCH paths on their own (the `filter` target mixes them with
//! filters): arbitrary UTF-8, also behind each known schema URN, must never panic, and whatever
//! parses must round-trip through its canonical `Display`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimgate::scim::path::{AttrPath, PatchPath};

fuzz_target!(|input: &str| {
    let urns = vec![
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned(),
        "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName".to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:Group".to_owned(),
        "urn:ietf:params:scim:schemas:core:2.0:User".to_owned(),
    ];
    let mut inputs = vec![input.to_owned()];
    // Behind a known URN the parser takes its URN-splitting branch, which plain input rarely hits.
    inputs.extend(urns.iter().map(|urn| format!("{urn}:{input}")));
    for text in &inputs {
        if let Ok(path) = AttrPath::parse(text, &urns) {
            let again = AttrPath::parse(&path.to_string(), &urns);
            assert_eq!(again.as_ref(), Ok(&path), "attribute path round trip of {text:?}");
        }
        if let Ok(path) = PatchPath::parse(text, &urns) {
            let again = PatchPath::parse(&path.to_string(), &urns);
            assert_eq!(again.as_ref(), Ok(&path), "PATCH path round trip of {text:?}");
        }
    }
});
