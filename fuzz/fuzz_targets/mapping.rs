//! Fuzzes mapping loading: arbitrary bytes (read as UTF-8, lossily) go through
//! `scimgate::mapping::load` with a fixed environment. Loading must never panic; a mapping that
//! loads has its embedded tests run and every operation's request template rendered with hostile
//! values, which must not panic either and must never change the backend host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimgate::mapping::{self, OpName, Vars};
use serde_json::json;

/// Every operation a mapping can declare.
const OPS: [OpName; 10] = [
    OpName::Create,
    OpName::Get,
    OpName::List,
    OpName::Replace,
    OpName::Update,
    OpName::Delete,
    OpName::Deactivate,
    OpName::AddMember,
    OpName::RemoveMember,
    OpName::ListMembers,
];

fuzz_target!(|data: &[u8]| {
    let contents = String::from_utf8_lossy(data);
    let env = |name: &str| match name {
        "BACKEND_URL" => Some("http://127.0.0.1:9".to_owned()),
        "TOKEN" => Some("t0ken".to_owned()),
        _ => None,
    };
    let Ok(mapping) = mapping::load("fuzz.yaml", &contents, &env) else {
        return;
    };
    let _ = mapping::run_tests(&mapping);
    let vars = Vars::new()
        .with("id", "../../admin?x=1#frag")
        .with("member", "a/b\r\nX-Injected: 1")
        .with("v", "%2F..%00")
        .with("offset", "0")
        .with("count", "10")
        .with("page", "1")
        .with("cursor", "c")
        .with_object(json!({"email": "a@b", "nested": {"x": [1, 2]}}))
        .with_query(&[("q".to_owned(), "a&b=c".to_owned())]);
    for resource in [mapping.users(), mapping.groups()].into_iter().flatten() {
        for op in OPS {
            if let Ok(request) = resource.render(op, &vars) {
                assert!(
                    request.path_and_query.starts_with('/')
                        && !request.path_and_query.starts_with("//"),
                    "a rendered path must stay on the backend host: {}",
                    request.path_and_query
                );
                assert!(
                    !request.path_and_query.contains(['\r', '\n', '#']),
                    "raw control or fragment characters in {}",
                    request.path_and_query
                );
            }
        }
        let _ = resource.to_scim(&json!({"id": 1, "email": "a@b"}), &serde_json::Map::new());
        let _ = resource.to_backend_create(&json!({"userName": "a@b", "displayName": "x"}));
    }
});
