//! Table tests: every PATCH example of RFC 7644 §3.5.2 and every Entra request shape of
//! entra-behaviour.md §1.5–1.8 and §5 (cases 30–49, 58–62), asserting the resulting JSON exactly.

use super::*;
use crate::scim::schema::{AttrType, Attribute, ENTERPRISE_USER_SCHEMA, Schema, USER_SCHEMA};
use proptest::prelude::*;
use serde_json::json;

const ENT: &str = ENTERPRISE_USER_SCHEMA;
const CUSTOM_USER: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
const CUSTOM_FOLDERS: &str = "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName";
const METADATA: &str = "urn:ietf:params:scim:schemas:extension:2.0:Metadata";

/// The core registry plus the custom extensions Entra's documentation and scimgate use.
fn registry() -> SchemaRegistry {
    let mut registry = SchemaRegistry::core();
    let schemas = [
        Schema {
            id: CUSTOM_USER.to_owned(),
            name: "CustomUser".to_owned(),
            description: String::new(),
            attributes: vec![Attribute::new("tag", AttrType::String)],
            open_type: None,
        },
        Schema {
            id: CUSTOM_FOLDERS.to_owned(),
            name: "CustomExtensionName".to_owned(),
            description: String::new(),
            attributes: vec![Attribute::new("folders", AttrType::String).multi()],
            open_type: None,
        },
        Schema {
            id: METADATA.to_owned(),
            name: "Metadata".to_owned(),
            description: String::new(),
            attributes: Vec::new(),
            open_type: Some(AttrType::String),
        },
    ];
    for schema in schemas {
        let urn = schema.id.clone();
        assert_eq!(registry.add_schema(schema), Ok(()));
        assert_eq!(registry.add_extension("User", &urn, false), Ok(()));
    }
    registry
}

fn envelope(operations: Value) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("schemas".to_owned(), json!([PATCH_OP_SCHEMA]));
    body.insert("Operations".to_owned(), operations);
    Value::Object(body)
}

fn patch_with(
    resource: Value,
    operations: Value,
    resource_type: &str,
    options: &ApplyOptions,
) -> Result<(Value, ApplyReport), Error> {
    let registry = registry();
    let request = PatchRequest::parse(&envelope(operations), &registry)?;
    let mut resource = resource;
    let report = apply(&mut resource, &request, &registry, resource_type, options)?;
    Ok((resource, report))
}

fn patch_user(resource: Value, operations: Value) -> Result<Value, Error> {
    patch_with(resource, operations, "User", &ApplyOptions::default()).map(|(r, _)| r)
}

fn patch_group(resource: Value, operations: Value) -> Result<Value, Error> {
    patch_with(resource, operations, "Group", &ApplyOptions::default()).map(|(r, _)| r)
}

fn user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": "2819c223",
        "userName": "bjensen@example.com",
        "active": true,
    })
}

fn user_with(extra: Value) -> Value {
    let mut base = user();
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

fn group(members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Sales", "members": members})
}

// ---------------------------------------------------------------------------------------------
// RFC 7644 §3.5.2 examples
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc_add_member_to_group() -> Result<(), Error> {
    let result = patch_group(
        group(&["a"]),
        json!([{
            "op": "add",
            "path": "members",
            "value": [{"display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223", "value": "2819c223"}]
        }]),
    )?;
    assert_eq!(
        result["members"],
        json!([{"value": "a"}, {"display": "Babs Jensen", "value": "2819c223"}])
    );
    Ok(())
}

#[test]
fn rfc_add_without_path() -> Result<(), Error> {
    let result = patch_user(
        user_with(json!({"emails": [{"value": "bjensen@example.com", "type": "work"}]})),
        json!([{
            "op": "add",
            "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}
        }]),
    )?;
    assert_eq!(
        result,
        user_with(json!({
            "emails": [{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}],
            "nickName": "Babs",
        }))
    );
    Ok(())
}

#[test]
fn rfc_remove_all_members() -> Result<(), Error> {
    let result = patch_group(
        group(&["a", "b"]),
        json!([{"op": "remove", "path": "members"}]),
    )?;
    assert_eq!(
        result,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Sales"})
    );
    Ok(())
}

#[test]
fn rfc_remove_one_member_by_filter() -> Result<(), Error> {
    let result = patch_group(
        group(&["a", "2819c223-7f76-453a-919d-413861904646"]),
        json!([{
            "op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"
        }]),
    )?;
    assert_eq!(result["members"], json!([{"value": "a"}]));
    Ok(())
}

#[test]
fn rfc_remove_complex_filter_on_emails() -> Result<(), Error> {
    let resource = user_with(json!({"emails": [
        {"type": "work", "value": "b@example.com"},
        {"type": "work", "value": "b@other.org"},
        {"type": "home", "value": "h@example.com"},
    ]}));
    let result = patch_user(
        resource,
        json!([{
            "op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"
        }]),
    )?;
    assert_eq!(
        result["emails"],
        json!([{"type": "work", "value": "b@other.org"}, {"type": "home", "value": "h@example.com"}])
    );
    Ok(())
}

#[test]
fn rfc_remove_all_then_add_members() -> Result<(), Error> {
    let result = patch_group(
        group(&["a", "b"]),
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]},
        ]),
    )?;
    assert_eq!(
        result["members"],
        json!([{"display": "James Smith", "value": "08e1d05d"}])
    );
    Ok(())
}

#[test]
fn rfc_replace_members() -> Result<(), Error> {
    let result = patch_group(
        group(&["a", "b"]),
        json!([{
            "op": "replace", "path": "members",
            "value": [{"display": "Babs Jensen", "value": "2819c223"}, {"display": "James Smith", "value": "08e1d05d"}]
        }]),
    )?;
    assert_eq!(
        result["members"],
        json!([{"display": "Babs Jensen", "value": "2819c223"}, {"display": "James Smith", "value": "08e1d05d"}])
    );
    Ok(())
}

#[test]
fn rfc_replace_work_address_element() -> Result<(), Error> {
    let resource = user_with(json!({"addresses": [
        {"type": "work", "streetAddress": "100 Old St", "locality": "Old"},
        {"type": "home", "streetAddress": "1 Home St"},
    ]}));
    let result = patch_user(
        resource,
        json!([{
            "op": "replace", "path": "addresses[type eq \"work\"]",
            "value": {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
                      "region": "CA", "postalCode": "91608", "country": "US",
                      "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true}
        }]),
    )?;
    assert_eq!(
        result["addresses"],
        json!([
            {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "region": "CA",
             "postalCode": "91608", "country": "US", "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true},
            {"type": "home", "streetAddress": "1 Home St"},
        ])
    );
    Ok(())
}

#[test]
fn rfc_replace_sub_attribute_of_filtered_element() -> Result<(), Error> {
    let resource = user_with(json!({"addresses": [{"type": "work", "streetAddress": "old"}]}));
    let result = patch_user(
        resource,
        json!([{
            "op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"
        }]),
    )?;
    assert_eq!(
        result["addresses"],
        json!([{"type": "work", "streetAddress": "1010 Broadway Ave"}])
    );
    Ok(())
}

#[test]
fn rfc_replace_without_path() -> Result<(), Error> {
    let resource = user_with(
        json!({"emails": [{"value": "old@example.com", "type": "work"}], "nickName": "B"}),
    );
    let result = patch_user(
        resource,
        json!([{
            "op": "replace",
            "value": {"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                                 {"value": "babs@jensen.org", "type": "home"}],
                      "nickname": "Babs"}
        }]),
    )?;
    assert_eq!(
        result,
        user_with(json!({
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
            "nickName": "Babs",
        }))
    );
    Ok(())
}

#[test]
fn rfc_remove_single_valued_attribute_and_sub_attribute() -> Result<(), Error> {
    let resource = user_with(
        json!({"title": "Boss", "name": {"givenName": "Barbara", "familyName": "Jensen"}}),
    );
    let result = patch_user(
        resource,
        json!([
            {"op": "remove", "path": "title"},
            {"op": "remove", "path": "name.givenName"},
        ]),
    )?;
    assert_eq!(result, user_with(json!({"name": {"familyName": "Jensen"}})));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Entra: users (entra-behaviour §1.5, cases 30–49)
// ---------------------------------------------------------------------------------------------

#[test]
fn case_30_replace_active_string_false() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )?;
    assert_eq!(result, user_with(json!({"active": false})));
    Ok(())
}

#[test]
fn case_31_replace_active_string_true_any_case() -> Result<(), Error> {
    for value in ["True", "true", "TRUE"] {
        let result = patch_user(
            user_with(json!({"active": false})),
            json!([{"op": "Replace", "path": "active", "value": value}]),
        )?;
        assert_eq!(result, user(), "value {value}");
    }
    Ok(())
}

#[test]
fn case_32_flag_replace_active_boolean() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )?;
    assert_eq!(result, user_with(json!({"active": false})));
    Ok(())
}

#[test]
fn case_33_replace_work_email_and_family_name_keeps_home_email() -> Result<(), Error> {
    let resource = user_with(json!({
        "emails": [{"type": "work", "value": "old@x.com", "primary": true}, {"type": "home", "value": "home@x.com"}],
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
    }));
    let result = patch_user(
        resource,
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@x.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Smith"},
        ]),
    )?;
    assert_eq!(
        result,
        user_with(json!({
            "emails": [{"type": "work", "value": "new@x.com", "primary": true}, {"type": "home", "value": "home@x.com"}],
            "name": {"givenName": "Barbara", "familyName": "Smith"},
        }))
    );
    Ok(())
}

#[test]
fn case_34_add_filtered_email_creates_element() -> Result<(), Error> {
    for op in ["Add", "replace"] {
        let result = patch_user(
            user(),
            json!([{"op": op, "path": "emails[type eq \"work\"].value", "value": "a@x.com"}]),
        )?;
        assert_eq!(
            result,
            user_with(json!({"emails": [{"type": "work", "value": "a@x.com"}]})),
            "op {op}"
        );
    }
    Ok(())
}

#[test]
fn case_35_three_address_ops_land_in_one_element() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([
            {"op": "Add", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St, Springfield"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
            {"op": "Add", "path": "addresses[type eq \"work\"].Region", "value": "IL"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
        ]),
    )?;
    assert_eq!(
        result,
        user_with(json!({
            "addresses": [{"type": "work", "formatted": "1 Main St, Springfield", "locality": "Springfield", "region": "IL"}],
            "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
        }))
    );
    Ok(())
}

#[test]
fn case_36_add_on_single_valued_sets() -> Result<(), Error> {
    let result = patch_user(
        user_with(json!({"nickName": "Old"})),
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
    )?;
    assert_eq!(result, user_with(json!({"nickName": "Babs"})));
    Ok(())
}

#[test]
fn case_37_enterprise_attribute_by_urn_path() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Eqpj"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Retail"},
        ]),
    )?;
    assert_eq!(
        result,
        json!({
            "schemas": [USER_SCHEMA, ENT],
            "id": "2819c223",
            "userName": "bjensen@example.com",
            "active": true,
            ENT: {"employeeNumber": "Eqpj", "department": "Retail"},
        })
    );
    Ok(())
}

#[test]
fn case_38_flag_pathless_dotted_and_urn_keys() -> Result<(), Error> {
    let resource = user_with(
        json!({"name": {"givenName": "Old", "familyName": "Old", "formatted": "Old Old"}}),
    );
    let result = patch_user(
        resource,
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
            {"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }},
        ]),
    )?;
    assert_eq!(
        result,
        json!({
            "schemas": [USER_SCHEMA, ENT],
            "id": "2819c223",
            "userName": "bjensen@example.com",
            "active": true,
            "emails": [{"type": "work", "value": "TestMhvaes@test.microsoft.com"}],
            "displayName": "Bjfe",
            "name": {"givenName": "Kkom", "familyName": "Unua", "formatted": "Old Old"},
            ENT: {"employeeNumber": "Aklq"},
        })
    );
    Ok(())
}

#[test]
fn case_39_flag_pathless_add_nested_objects() -> Result<(), Error> {
    let result = patch_user(
        user_with(json!({"name": {"familyName": "Jensen"}})),
        json!([{"op": "add", "value": {
            "name": {"givenName": "X"},
            ENT: {"Department": "Sales", "manager": {"value": "m1"}},
            CUSTOM_USER: {"tag": "701984"},
        }}]),
    )?;
    assert_eq!(
        result,
        json!({
            // Keys of a path-less value apply in the JSON object's (sorted) order.
            "schemas": [USER_SCHEMA, CUSTOM_USER, ENT],
            "id": "2819c223",
            "userName": "bjensen@example.com",
            "active": true,
            "name": {"givenName": "X", "familyName": "Jensen"},
            ENT: {"department": "Sales", "manager": {"value": "m1"}},
            CUSTOM_USER: {"tag": "701984"},
        })
    );
    Ok(())
}

fn with_manager(id: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENT],
        "id": "2819c223",
        "userName": "bjensen@example.com",
        "active": true,
        ENT: {"manager": {"value": id}},
    })
}

#[test]
fn case_40_manager_as_bare_string() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "271"}]),
    )?;
    assert_eq!(result, with_manager("271"));
    Ok(())
}

#[test]
fn case_41_manager_as_list_with_ref() -> Result<(), Error> {
    let result = patch_user(
        with_manager("old"),
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": "https://x/Users/271", "value": "271"}]}]),
    )?;
    assert_eq!(result, with_manager("271"));
    let result = patch_user(
        user(),
        json!([{"op": "replace", "path": "manager", "value": {"Value": "271"}}]),
    )?;
    assert_eq!(result, with_manager("271"));
    Ok(())
}

#[test]
fn case_42_manager_removal_forms() -> Result<(), Error> {
    let removals = [
        json!({"op": "remove", "path": "manager[value eq \"271\"]"}),
        json!({"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}),
        json!({"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": ""}),
        json!({"op": "replace", "path": "manager", "value": null}),
    ];
    for removal in removals {
        let result = patch_user(with_manager("271"), json!([removal.clone()]))?;
        assert_eq!(result, user(), "removal {removal}");
    }
    // Removing a manager that is no longer the manager changes nothing.
    let result = patch_user(
        with_manager("271"),
        json!([{"op": "remove", "path": "manager[value eq \"999\"]"}]),
    )?;
    assert_eq!(result, with_manager("271"));
    Ok(())
}

#[test]
fn case_43_custom_urns_with_dotted_version() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName:folders", "value": ["a"]},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:2.0:Metadata:costCenter", "value": "CC1"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag", "value": "701984"},
        ]),
    )?;
    assert_eq!(
        result,
        json!({
            "schemas": [USER_SCHEMA, CUSTOM_FOLDERS, METADATA, CUSTOM_USER],
            "id": "2819c223",
            "userName": "bjensen@example.com",
            "active": true,
            CUSTOM_FOLDERS: {"folders": ["a"]},
            METADATA: {"costCenter": "CC1"},
            CUSTOM_USER: {"tag": "701984"},
        })
    );
    Ok(())
}

#[test]
fn case_44_split_attribute_add_follows_policy() -> Result<(), Error> {
    let holding = json!({
        "schemas": [USER_SCHEMA, CUSTOM_FOLDERS], "id": "2819c223", "userName": "bjensen@example.com", "active": true,
        CUSTOM_FOLDERS: {"folders": ["x"]},
    });
    let ops = |value: Value| json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName:folders", "value": value}]);
    let expect = |folders: Value| {
        let mut expected = holding.clone();
        expected[CUSTOM_FOLDERS]["folders"] = folders;
        expected
    };
    for shape in [json!([{"value": "a"}, {"value": "b"}]), json!(["a", "b"])] {
        let rfc = patch_with(
            holding.clone(),
            ops(shape.clone()),
            "User",
            &ApplyOptions::default(),
        )?
        .0;
        assert_eq!(rfc, expect(json!(["x", "a", "b"])));
        let options = ApplyOptions {
            replace_on_add: vec![AttrPath {
                schema: Some(CUSTOM_FOLDERS.to_owned()),
                name: "folders".to_owned(),
                sub_attr: None,
            }],
            unknown_attributes: UnknownPolicy::Reject,
        };
        let replaced = patch_with(holding.clone(), ops(shape), "User", &options)?.0;
        assert_eq!(replaced, expect(json!(["a", "b"])));
    }
    // Adding a value already present does not duplicate it.
    let again = patch_with(
        holding.clone(),
        ops(json!([{"value": "x"}])),
        "User",
        &ApplyOptions::default(),
    )?
    .0;
    assert_eq!(again, holding);
    Ok(())
}

#[test]
fn case_45_role_value_as_json_string_is_parsed() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([{"op": "Add", "path": "roles", "value": [
            {"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6f5e2a3e9b61\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}
        ]}]),
    )?;
    assert_eq!(
        result,
        user_with(json!({"roles": [{"value": "Admin", "display": "Admin"}]}))
    );
    Ok(())
}

#[test]
fn case_46_primary_role_by_string_true_filter() -> Result<(), Error> {
    let op = json!([{"op": "replace", "path": "roles[primary eq \"True\"].value", "value": "EnterpriseAdmin"}]);
    let created = patch_user(user(), op.clone())?;
    assert_eq!(
        created,
        user_with(json!({"roles": [{"primary": true, "value": "EnterpriseAdmin"}]}))
    );
    let resource = user_with(json!({"roles": [
        {"primary": false, "value": "User"},
        {"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"},
    ]}));
    let updated = patch_user(resource, op)?;
    assert_eq!(
        updated,
        user_with(json!({"roles": [
            {"primary": false, "value": "User"},
            {"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "EnterpriseAdmin"},
        ]}))
    );
    Ok(())
}

#[test]
fn case_47_assertive_roles_replace_the_list() -> Result<(), Error> {
    let resource = user_with(json!({"roles": [{"value": "Admin"}, {"value": "Reader"}]}));
    let result = patch_user(
        resource,
        json!([{"op": "replace", "path": "roles", "value": [
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"}
        ]}]),
    )?;
    assert_eq!(
        result,
        user_with(json!({"roles": [
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User"}
        ]}))
    );
    Ok(())
}

#[test]
fn case_48_unknown_attribute_rejected_or_ignored() -> Result<(), Error> {
    let ops = json!([
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:greenhouse:2.0:User:department_ids", "value": [{"value": "1"}]},
        {"op": "Replace", "path": "active", "value": "False"},
    ]);
    let rejected = patch_user(user(), ops.clone()).err();
    assert_eq!(
        rejected.as_ref().map(Error::scim_type),
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        rejected.map(|e| e.to_string()).as_deref(),
        Some(
            "PATCH operation 1: path `urn:ietf:params:scim:schemas:extension:greenhouse:2.0:User:department_ids`: \
             `urn:ietf:params:scim:schemas:extension:greenhouse:2.0:User:department_ids` is not an attribute of User; \
             check the attribute mapping or add it to a schema extension"
        )
    );
    let options = ApplyOptions {
        unknown_attributes: UnknownPolicy::Ignore,
        ..ApplyOptions::default()
    };
    let (result, report) = patch_with(user(), ops, "User", &options)?;
    assert_eq!(result, user_with(json!({"active": false})));
    assert_eq!(
        report.ignored,
        ["urn:ietf:params:scim:schemas:extension:greenhouse:2.0:User:department_ids"]
    );
    // An unknown key inside a path-less value is skipped alone.
    let (result, report) = patch_with(
        user(),
        json!([{"op": "replace", "value": {"active": "False", "favouriteColour": "red"}}]),
        "User",
        &options,
    )?;
    assert_eq!(result, user_with(json!({"active": false})));
    assert_eq!(report.ignored, ["favouriteColour"]);
    Ok(())
}

#[test]
fn case_49_odd_op_case_and_lowercase_operations_key() -> Result<(), Error> {
    let registry = registry();
    let body = json!({"schemas": [PATCH_OP_SCHEMA], "operations": [{"OP": "REPLACE", "Path": "displayName", "Value": "B"}]});
    let request = PatchRequest::parse(&body, &registry)?;
    assert_eq!(request.operations.len(), 1);
    assert_eq!(request.operations[0].op, OpKind::Replace);
    let mut resource = user();
    apply(
        &mut resource,
        &request,
        &registry,
        "User",
        &ApplyOptions::default(),
    )?;
    assert_eq!(resource, user_with(json!({"displayName": "B"})));
    // A body without `schemas` is tolerated.
    let body = json!({"Operations": [{"op": "add", "path": "nickName", "value": "B"}]});
    assert!(PatchRequest::parse(&body, &registry).is_ok());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Entra: groups (entra-behaviour §1.8, cases 58–62)
// ---------------------------------------------------------------------------------------------

fn member_changes(operations: Value) -> Result<(Vec<MemberChange>, usize), Error> {
    let mut request = PatchRequest::parse(&envelope(operations), &registry())?;
    let changes = request.take_member_changes("members");
    Ok((changes, request.operations.len()))
}

#[test]
fn case_58_add_members_becomes_member_add() -> Result<(), Error> {
    let (changes, left) = member_changes(
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}, {"value": "u2"}]}]),
    )?;
    assert_eq!(
        changes,
        [MemberChange::Add(vec!["u1".to_owned(), "u2".to_owned()])]
    );
    assert_eq!(left, 0);
    let (changes, _) = member_changes(json!([{"op": "Add", "path": "members", "value": "u3"}]))?;
    assert_eq!(changes, [MemberChange::Add(vec!["u3".to_owned()])]);
    // Applied directly, the same request appends both members.
    let result = patch_group(
        group(&["u0"]),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}, {"value": "u2"}]}]),
    )?;
    assert_eq!(
        result["members"],
        json!([{"value": "u0"}, {"value": "u1"}, {"value": "u2"}])
    );
    Ok(())
}

#[test]
fn case_59_remove_members_with_values_removes_only_those() -> Result<(), Error> {
    let ops =
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u1"}]}]);
    let (changes, left) = member_changes(ops.clone())?;
    assert_eq!(changes, [MemberChange::Remove(vec!["u1".to_owned()])]);
    assert_eq!(left, 0);
    let result = patch_group(group(&["u1", "u2"]), ops)?;
    assert_eq!(result["members"], json!([{"value": "u2"}]));
    Ok(())
}

#[test]
fn case_60_flag_remove_member_by_filter() -> Result<(), Error> {
    let ops = json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]);
    let (changes, left) = member_changes(ops.clone())?;
    assert_eq!(changes, [MemberChange::Remove(vec!["u2".to_owned()])]);
    assert_eq!(left, 0);
    let result = patch_group(group(&["u1", "u2"]), ops)?;
    assert_eq!(result["members"], json!([{"value": "u1"}]));
    Ok(())
}

#[test]
fn member_changes_remove_all_replace_and_pathless() -> Result<(), Error> {
    let (changes, left) = member_changes(json!([
        {"op": "remove", "path": "members"},
        {"op": "replace", "path": "members", "value": [{"value": "a"}]},
        {"op": "replace", "value": {"displayName": "New", "members": [{"value": "b"}]}},
        {"op": "remove", "path": "members[display eq \"x\"]"},
    ]))?;
    assert_eq!(
        changes,
        [
            MemberChange::RemoveAll,
            MemberChange::ReplaceAll(vec!["a".to_owned()]),
            MemberChange::ReplaceAll(vec!["b".to_owned()])
        ]
    );
    assert_eq!(
        left, 2,
        "the displayName part and the display filter stay for apply"
    );
    Ok(())
}

#[test]
fn case_62_rename_group() -> Result<(), Error> {
    let result = patch_group(
        group(&["u1"]),
        json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]),
    )?;
    assert_eq!(result["displayName"], json!("Sales EMEA"));
    assert_eq!(result["members"], json!([{"value": "u1"}]));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Coercion, canonical casing, primary, errors
// ---------------------------------------------------------------------------------------------

#[test]
fn string_booleans_inside_values_and_sub_attributes() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([
            {"op": "add", "value": {"active": "false", "emails": [{"Value": "a@x.com", "Type": "work", "Primary": "True"}]}},
            {"op": "add", "path": "phoneNumbers[type eq \"work\"].primary", "value": "TRUE"},
        ]),
    )?;
    assert_eq!(
        result,
        user_with(json!({
            "active": false,
            "emails": [{"value": "a@x.com", "type": "work", "primary": true}],
            "phoneNumbers": [{"type": "work", "primary": true}],
        }))
    );
    Ok(())
}

#[test]
fn keys_are_written_with_canonical_casing() -> Result<(), Error> {
    let resource = json!({"schemas": [USER_SCHEMA, ENT], "id": "1", "userName": "u", "NickName": "old", ENT: {"Department": "A"}});
    let result = patch_user(
        resource,
        json!([
            {"op": "replace", "path": "NICKNAME", "value": "new"},
            {"op": "replace", "value": {"Department": "B"}},
        ]),
    )?;
    assert_eq!(
        result,
        json!({"schemas": [USER_SCHEMA, ENT], "id": "1", "userName": "u", "nickName": "new", ENT: {"department": "B"}})
    );
    Ok(())
}

#[test]
fn new_primary_clears_the_others() -> Result<(), Error> {
    let resource =
        user_with(json!({"emails": [{"type": "work", "value": "w@x.com", "primary": true}]}));
    let result = patch_user(
        resource,
        json!([{"op": "add", "path": "emails", "value": [{"type": "home", "value": "h@x.com", "primary": true}]}]),
    )?;
    assert_eq!(
        result["emails"],
        json!([
            {"type": "work", "value": "w@x.com", "primary": false},
            {"type": "home", "value": "h@x.com", "primary": true},
        ])
    );
    Ok(())
}

#[test]
fn remove_with_sub_attribute_and_last_element_removes_attribute() -> Result<(), Error> {
    let resource =
        user_with(json!({"emails": [{"type": "work", "value": "w@x.com", "primary": true}]}));
    let result = patch_user(
        resource.clone(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
    )?;
    assert_eq!(
        result["emails"],
        json!([{"type": "work", "value": "w@x.com"}])
    );
    let result = patch_user(
        resource,
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
    )?;
    assert_eq!(result, user());
    Ok(())
}

#[test]
fn removing_last_extension_attribute_drops_the_extension() -> Result<(), Error> {
    let result = patch_user(
        with_manager("1"),
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]),
    )?;
    assert_eq!(result, user());
    Ok(())
}

#[test]
fn read_only_attributes_are_a_mutability_error() {
    for (path, value) in [
        ("id", json!("x")),
        ("meta", json!({"version": "1"})),
        ("groups", json!([{"value": "g"}])),
    ] {
        let error = patch_user(
            user(),
            json!([{"op": "replace", "path": path, "value": value}]),
        )
        .err();
        assert_eq!(
            error.as_ref().map(Error::scim_type),
            Some(ScimType::Mutability),
            "path {path}"
        );
    }
    // Echoing the current `id` (as Okta does in path-less replaces) is not a change.
    let echoed = patch_user(
        user(),
        json!([{"op": "replace", "value": {"id": "2819c223", "nickName": "B"}}]),
    );
    assert_eq!(echoed, Ok(user_with(json!({"nickName": "B"}))));
    let error = patch_user(user(), json!([{"op": "replace", "value": {"id": "x"}}])).err();
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some("PATCH operation 1: path `id`: `id` is read-only and cannot be changed")
    );
}

#[test]
fn unknown_sub_attribute_message_lists_the_known_ones() {
    let error = patch_user(
        user(),
        json!([
            {"op": "replace", "path": "active", "value": true},
            {"op": "replace", "path": "emails[type eq \"work\"].valeu", "value": "x"},
        ]),
    )
    .err();
    assert_eq!(
        error.as_ref().map(Error::scim_type),
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some(
            "PATCH operation 2: path `emails[type eq \"work\"].valeu`: `valeu` is not a sub-attribute of emails (value, display, type, primary)"
        )
    );
}

#[test]
fn envelope_errors_have_their_scim_types() {
    let registry = registry();
    let cases = [
        (json!([]), ScimType::InvalidSyntax),
        (
            json!({"schemas": ["urn:x"], "Operations": []}),
            ScimType::InvalidSyntax,
        ),
        (
            json!({"schemas": [PATCH_OP_SCHEMA]}),
            ScimType::InvalidSyntax,
        ),
        (envelope(json!(["add"])), ScimType::InvalidSyntax),
        (
            envelope(json!([{"op": "merge", "path": "x", "value": 1}])),
            ScimType::InvalidSyntax,
        ),
        (envelope(json!([{"op": "remove"}])), ScimType::NoTarget),
        (
            envelope(json!([{"op": "add", "path": "nickName"}])),
            ScimType::InvalidValue,
        ),
        (
            envelope(json!([{"op": "add", "value": "x"}])),
            ScimType::InvalidValue,
        ),
        (
            envelope(json!([{"op": "add", "path": "emails[type eq", "value": "x"}])),
            ScimType::InvalidPath,
        ),
        (
            envelope(json!([{"op": "add", "path": 7, "value": "x"}])),
            ScimType::InvalidPath,
        ),
    ];
    for (body, scim_type) in cases {
        let error = PatchRequest::parse(&body, &registry).err();
        assert_eq!(error.map(|e| e.scim_type()), Some(scim_type), "body {body}");
    }
}

#[test]
fn invalid_values_are_rejected_and_leave_the_resource_unchanged() {
    let registry = registry();
    let cases = [
        json!([{"op": "replace", "path": "displayName", "value": "ok"}, {"op": "replace", "path": "active", "value": "maybe"}]),
        json!([{"op": "replace", "path": "name", "value": 5}]),
        json!([{"op": "replace", "path": "manager", "value": [{"value": "a"}, {"value": "b"}]}]),
    ];
    for ops in cases {
        let request = PatchRequest::parse(&envelope(ops.clone()), &registry);
        let mut resource = user();
        let error = request
            .and_then(|r| {
                apply(
                    &mut resource,
                    &r,
                    &registry,
                    "User",
                    &ApplyOptions::default(),
                )
            })
            .err();
        assert_eq!(
            error.map(|e| e.scim_type()),
            Some(ScimType::InvalidValue),
            "ops {ops}"
        );
        assert_eq!(resource, user());
    }
}

#[test]
fn filter_that_cannot_describe_an_element_is_no_target() {
    let error = patch_user(
        user(),
        json!([{"op": "replace", "path": "emails[type ne \"work\"].value", "value": "x"}]),
    )
    .err();
    assert_eq!(error.map(|e| e.scim_type()), Some(ScimType::NoTarget));
}

/// Whether `remove emails[<filter>]` removes the one element of a user holding only `element`,
/// and whether `GET ?filter=emails[<filter>]` matches that same user: the two must agree.
fn patch_and_filter(filter: &str, element: &Value) -> Result<(bool, bool), Error> {
    let resource = user_with(json!({"emails": [element.clone()]}));
    let path = format!("emails[{filter}]");
    let patched = patch_user(resource.clone(), json!([{"op": "remove", "path": path}]))?;
    let removed = patched.get("emails").is_none();
    let registry = registry();
    let parsed = crate::scim::filter::Filter::parse(&path, &[]);
    let attrs = crate::scim::ResourceAttrs {
        registry: &registry,
        resource_type: "User",
    };
    let matched = parsed.is_ok_and(|f| f.matches(&resource, &attrs));
    Ok((removed, matched))
}

/// PATCH value paths and filters share one comparison. Each case names what the PATCH copy
/// answered before it did (the filter answered the other way, unless said).
#[test]
fn value_path_comparison_agrees_with_filter_evaluation() -> Result<(), Error> {
    let cases = [
        // Before: the filter said false (a missing `display` was not `eq null`); RFC 7643 §2.5
        // makes unassigned and null the same state. PATCH already removed it.
        (r#"display eq null"#, json!({"value": "a@x"}), true),
        // Before: both said true (a missing attribute was `ne null`).
        (r#"display ne null"#, json!({"value": "a@x"}), false),
        // Before: the filter said false (`""` was not null), PATCH true.
        (
            r#"display eq null"#,
            json!({"value": "a@x", "display": ""}),
            true,
        ),
        // Before: PATCH said true (a boolean literal made the string `type` a boolean).
        (
            r#"type eq true"#,
            json!({"value": "a@x", "type": "true"}),
            false,
        ),
        // Before: PATCH compared dateTime text lexically (01:00+02:00 is 23:00Z the day before).
        (
            r#"display gt "2025-01-01T00:00:00Z""#,
            json!({"value": "a@x", "display": "2025-01-01T01:00:00+02:00"}),
            false,
        ),
        // Before: PATCH compared integers as f64 (2^53 + 1 equalled 2^53).
        (
            r#"display eq 9007199254740993"#,
            json!({"value": "a@x", "display": 9007199254740992_i64}),
            false,
        ),
        // Before: PATCH said true (`ne` held when any one value differed).
        (
            r#"display ne "b""#,
            json!({"value": "a@x", "display": ["a", "b"]}),
            false,
        ),
        // Before: PATCH said false (an empty object counted as present).
        (
            r#"display pr"#,
            json!({"value": "a@x", "display": {}}),
            false,
        ),
        // Unchanged, for contrast: a missing attribute is `ne` any value; caseExact=false.
        (r#"value ne "x""#, json!({"type": "work"}), true),
        (r#"value eq "A@X""#, json!({"value": "a@x"}), true),
    ];
    for (filter, element, expected) in cases {
        let (removed, matched) = patch_and_filter(filter, &element)?;
        assert_eq!(
            removed, expected,
            "PATCH remove emails[{filter}] on {element}"
        );
        assert_eq!(matched, expected, "filter emails[{filter}] on {element}");
    }
    Ok(())
}

#[test]
fn whole_extension_object_by_urn() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([{"op": "add", "path": ENT, "value": {"employeeNumber": "7"}}]),
    )?;
    assert_eq!(
        result,
        json!({"schemas": [USER_SCHEMA, ENT], "id": "2819c223", "userName": "bjensen@example.com", "active": true, ENT: {"employeeNumber": "7"}})
    );
    let result = patch_user(result, json!([{"op": "remove", "path": ENT}]))?;
    assert_eq!(result, user());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Property: parse + apply never panic
// ---------------------------------------------------------------------------------------------

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec![
        "op",
        "Op",
        "path",
        "value",
        "Operations",
        "schemas",
        "add",
        "remove",
        "Replace",
        "emails",
        "members",
        "manager",
        "name.givenName",
        "active",
        "value",
        "type",
        "primary",
        "roles",
        "id",
        "meta",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "emails[type eq \"work\"].value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "x[",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        names.clone().prop_map(|s| Value::String(s.to_owned())),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((names.clone(), inner), 0..5).prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

fn arbitrary_operation() -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec!["add", "Remove", "REPLACE"]);
    let paths = prop::sample::select(vec![
        "",
        "members",
        "members[value eq \"a\"]",
        "emails[type eq \"work\"].value",
        "manager",
        "name.givenName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "roles[primary eq \"True\"].value",
        "active",
        "addresses[type eq \"work\"]",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "emails[not (type eq \"x\")]",
        "emails.value",
        "x509Certificates",
    ]);
    (ops, paths, arbitrary_json()).prop_map(|(op, path, value)| {
        if path.is_empty() {
            json!({"op": op, "value": value})
        } else {
            json!({"op": op, "path": path, "value": value})
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_and_apply_never_panic_on_arbitrary_json(body in arbitrary_json(), resource in arbitrary_json()) {
        let registry = registry();
        if let Ok(request) = PatchRequest::parse(&body, &registry) {
            let mut resource = resource;
            let _ = apply(&mut resource, &request, &registry, "User", &ApplyOptions::default());
        }
    }

    #[test]
    fn well_formed_operations_never_panic(ops in prop::collection::vec(arbitrary_operation(), 1..4), resource in arbitrary_json()) {
        let registry = registry();
        for policy in [UnknownPolicy::Reject, UnknownPolicy::Ignore] {
            if let Ok(mut request) = PatchRequest::parse(&envelope(Value::Array(ops.clone())), &registry) {
                let options = ApplyOptions { unknown_attributes: policy, ..ApplyOptions::default() };
                let mut user = user_with(json!({"emails": [{"type": "work", "value": "a"}]}));
                let _ = apply(&mut user, &request, &registry, "User", &options);
                let mut target = resource.clone();
                let _ = apply(&mut target, &request, &registry, "Group", &options);
                let _ = request.take_member_changes("members");
            }
        }
    }
}

#[test]
fn postman_mixed_case_enterprise_object() -> Result<(), Error> {
    let result = patch_user(
        user(),
        json!([{"op": "replace", "value": {ENT: {"Department": "Finance", "Manager": {"Value": "m9"}}}}]),
    )?;
    assert_eq!(
        result,
        json!({
            "schemas": [USER_SCHEMA, ENT],
            "id": "2819c223",
            "userName": "bjensen@example.com",
            "active": true,
            ENT: {"department": "Finance", "manager": {"value": "m9"}},
        })
    );
    Ok(())
}

#[test]
fn sub_attribute_of_a_simple_attribute_is_invalid_path() {
    let error = patch_user(
        user(),
        json!([{"op": "replace", "path": "active.value", "value": true}]),
    )
    .err();
    assert_eq!(error.map(|e| e.scim_type()), Some(ScimType::InvalidPath));
    let error = patch_user(
        user(),
        json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": "y"}]),
    )
    .err();
    assert_eq!(error.map(|e| e.scim_type()), Some(ScimType::InvalidPath));
}

/// Issue 8 (hostile corpus): `"Operations": []` was accepted and answered 200 after a backend read.
#[test]
fn issue_8_empty_operations_is_invalid_syntax() {
    let registry = registry();
    let error = PatchRequest::parse(&envelope(json!([])), &registry).unwrap_err();
    assert_eq!(error, Error::MissingOperations);
    assert_eq!(error.scim_type(), ScimType::InvalidSyntax);
}

/// Issue 8 (hostile corpus): thousands of operations are refused before anything is applied;
/// the limit itself is accepted.
#[test]
fn issue_8_more_than_the_operation_limit_is_refused() {
    let registry = registry();
    let op = json!({"op": "replace", "path": "displayName", "value": "x"});
    let at_limit = envelope(Value::Array(vec![op.clone(); MAX_OPERATIONS]));
    assert_eq!(
        PatchRequest::parse(&at_limit, &registry)
            .map(|request| request.operations.len())
            .ok(),
        Some(MAX_OPERATIONS)
    );
    let over = envelope(Value::Array(vec![op; MAX_OPERATIONS + 1]));
    let error = PatchRequest::parse(&over, &registry).unwrap_err();
    assert_eq!(
        error,
        Error::TooManyOperations {
            found: MAX_OPERATIONS + 1,
            max: MAX_OPERATIONS
        }
    );
    assert_eq!(error.scim_type(), ScimType::InvalidValue);
    assert!(error.to_string().contains("split it"), "{error}");
}
