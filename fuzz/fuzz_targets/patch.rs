//! Fuzzes SCIM PATCH: arbitrary bytes are read as JSON, parsed as a PATCH request and applied to a
//! fixed user (and a group) under both unknown-attribute policies. Nothing may panic, and a failed
//! apply must leave the resource untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimgate::scim::patch::{ApplyOptions, PatchRequest, UnknownPolicy, apply};
use scimgate::scim::schema::SchemaRegistry;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let registry = SchemaRegistry::core();
    let Ok(mut request) = PatchRequest::parse(&body, &registry) else {
        return;
    };
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223",
        "userName": "bjensen@example.com",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"type": "work", "value": "b@example.com", "primary": true},
                   {"type": "home", "value": "h@example.com"}],
        "roles": [{"primary": true, "value": "Admin"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "7"}},
    });
    for policy in [UnknownPolicy::Reject, UnknownPolicy::Ignore] {
        let options = ApplyOptions {
            unknown_attributes: policy,
            ..ApplyOptions::default()
        };
        let mut resource = user.clone();
        if apply(&mut resource, &request, &registry, "User", &options).is_err() {
            assert_eq!(resource, user, "a failed PATCH changed the resource");
        }
    }
    let mut group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g",
                           "displayName": "Sales", "members": [{"value": "u1"}, {"value": "u2"}]});
    let _ = request.take_member_changes("members");
    let _ = apply(
        &mut group,
        &request,
        &registry,
        "Group",
        &ApplyOptions::default(),
    );
});
