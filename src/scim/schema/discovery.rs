//! The discovery documents of RFC 7643 §5–§7: `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`, generated from the schema registry so they always describe what the gateway really
//! accepts. Values are camelCase (`readWrite`) and no key is ever `null`, as Entra requires.

use super::{
    AttrType, Attribute, Mutability, ResourceType, Returned, Schema, SchemaRegistry, Uniqueness,
};
use crate::scim::list::ListResponse;
use serde_json::{Map, Value, json};

/// The `ServiceProviderConfig` schema URN.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// The `ResourceType` schema URN.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// The `Schema` schema URN.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// What `/ServiceProviderConfig` advertises beyond the fixed capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProviderOptions {
    /// The most resources one query returns (`filter.maxResults`).
    pub max_results: usize,
    /// Whether HTTP Basic authentication is enabled, so it is listed as a scheme.
    pub basic_auth: bool,
    /// An optional link to the operator's documentation.
    pub documentation_uri: Option<String>,
}

fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

fn type_name(attr_type: AttrType) -> &'static str {
    match attr_type {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

fn mutability_name(mutability: Mutability) -> &'static str {
    match mutability {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    }
}

fn returned_name(returned: Returned) -> &'static str {
    match returned {
        Returned::Always => "always",
        Returned::Never => "never",
        Returned::Default => "default",
        Returned::Request => "request",
    }
}

fn uniqueness_name(uniqueness: Uniqueness) -> &'static str {
    match uniqueness {
        Uniqueness::None => "none",
        Uniqueness::Server => "server",
        Uniqueness::Global => "global",
    }
}

/// One attribute in RFC 7643 §7 representation.
fn attribute_json(attr: &Attribute) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(attr.name));
    out.insert("type".into(), json!(type_name(attr.attr_type)));
    out.insert("multiValued".into(), json!(attr.multi_valued));
    if !attr.description.is_empty() {
        out.insert("description".into(), json!(attr.description));
    }
    out.insert("required".into(), json!(attr.required));
    if !attr.canonical_values.is_empty() {
        out.insert("canonicalValues".into(), json!(attr.canonical_values));
    }
    out.insert("caseExact".into(), json!(attr.case_exact));
    out.insert("mutability".into(), json!(mutability_name(attr.mutability)));
    out.insert("returned".into(), json!(returned_name(attr.returned)));
    out.insert("uniqueness".into(), json!(uniqueness_name(attr.uniqueness)));
    if attr.attr_type == AttrType::Reference {
        out.insert("referenceTypes".into(), json!(attr.reference_types));
    }
    if attr.attr_type == AttrType::Complex {
        let subs: Vec<Value> = attr.sub_attributes.iter().map(attribute_json).collect();
        out.insert("subAttributes".into(), Value::Array(subs));
    }
    Value::Object(out)
}

/// One schema in RFC 7643 §7 representation, with `meta.location` under `base_url`.
pub fn schema_json(schema: &Schema, base_url: &str) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([SCHEMA_SCHEMA]));
    out.insert("id".into(), json!(schema.id));
    out.insert("name".into(), json!(schema.name));
    if !schema.description.is_empty() {
        out.insert("description".into(), json!(schema.description));
    }
    let attributes: Vec<Value> = schema.attributes.iter().map(attribute_json).collect();
    out.insert("attributes".into(), Value::Array(attributes));
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", base(base_url), schema.id),
        }),
    );
    Value::Object(out)
}

/// `GET /Schemas`: a list response holding every registered schema.
pub fn schemas_document(registry: &SchemaRegistry, base_url: &str) -> Value {
    let resources: Vec<Value> = registry
        .schemas()
        .iter()
        .map(|schema| schema_json(schema, base_url))
        .collect();
    ListResponse {
        total_results: resources.len(),
        start_index: 1,
        resources,
    }
    .to_json()
}

/// `GET /Schemas/{urn}`: one schema (URN compared case-insensitively), `None` when unknown.
pub fn schema_document(registry: &SchemaRegistry, urn: &str, base_url: &str) -> Option<Value> {
    registry
        .schema(urn)
        .map(|schema| schema_json(schema, base_url))
}

/// One resource type in RFC 7643 §6 representation.
pub fn resource_type_json(resource_type: &ResourceType, base_url: &str) -> Value {
    let extensions: Vec<Value> = resource_type
        .extensions
        .iter()
        .map(|(urn, required)| json!({"schema": urn, "required": required}))
        .collect();
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": resource_type.name,
        "name": resource_type.name,
        "description": resource_type.name,
        "endpoint": resource_type.endpoint,
        "schema": resource_type.schema,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", base(base_url), resource_type.name),
        },
    })
}

/// `GET /ResourceTypes`: a list response, `User` (endpoint `/Users`) first.
pub fn resource_types_document(registry: &SchemaRegistry, base_url: &str) -> Value {
    let resources: Vec<Value> = registry
        .resource_types()
        .iter()
        .map(|rt| resource_type_json(rt, base_url))
        .collect();
    ListResponse {
        total_results: resources.len(),
        start_index: 1,
        resources,
    }
    .to_json()
}

/// `GET /ResourceTypes/{name}`: one resource type, `None` when unknown.
pub fn resource_type_document(
    registry: &SchemaRegistry,
    name: &str,
    base_url: &str,
) -> Option<Value> {
    registry
        .resource_type(name)
        .map(|rt| resource_type_json(rt, base_url))
}

/// `GET /ServiceProviderConfig`: PATCH and filtering supported; bulk, sort, ETags and password
/// change not; OAuth bearer token as the primary scheme, HTTP Basic when enabled.
pub fn service_provider_config(base_url: &str, options: &ServiceProviderOptions) -> Value {
    let mut schemes = vec![json!({
        "type": "oauthbearertoken",
        "name": "OAuth Bearer Token",
        "description": "Authentication with an OAuth 2.0 bearer token (the Entra secret token or an Entra-issued JWT).",
        "specUri": "https://www.rfc-editor.org/info/rfc6750",
        "primary": true,
    })];
    if options.basic_auth {
        schemes.push(json!({
            "type": "httpbasic",
            "name": "HTTP Basic",
            "description": "Authentication with HTTP Basic credentials.",
            "specUri": "https://www.rfc-editor.org/info/rfc7617",
            "primary": false,
        }));
    }
    let mut out = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": options.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": schemes,
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        },
    });
    if let (Some(uri), Some(object)) = (&options.documentation_uri, out.as_object_mut()) {
        object.insert("documentationUri".into(), json!(uri));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    fn has_null(value: &Value) -> bool {
        match value {
            Value::Null => true,
            Value::Array(items) => items.iter().any(has_null),
            Value::Object(map) => map.values().any(has_null),
            _ => false,
        }
    }

    #[test]
    fn schemas_document_lists_core_schemas_camel_case_without_nulls() {
        let registry = SchemaRegistry::core();
        let doc = schemas_document(&registry, "https://gw.example/scim/");
        assert!(!has_null(&doc));
        assert_eq!(doc["totalResults"], json!(3));
        let ids: Vec<&str> = doc["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(ids, [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        let user = &doc["Resources"][0];
        assert_eq!(
            user["meta"],
            json!({"resourceType": "Schema", "location": format!("https://gw.example/scim/Schemas/{USER_SCHEMA}")})
        );
        assert_eq!(
            user["attributes"][0],
            json!({
                "name": "userName", "type": "string", "multiValued": false,
                "description": "Unique identifier for the User, used to authenticate.",
                "required": true, "caseExact": false, "mutability": "readWrite",
                "returned": "default", "uniqueness": "server",
            })
        );
        let password = user["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == "password");
        assert_eq!(
            password.map(|p| (&p["mutability"], &p["returned"])),
            Some((&json!("writeOnly"), &json!("never")))
        );
        assert!(schema_document(&registry, &USER_SCHEMA.to_uppercase(), "https://gw").is_some());
        assert!(schema_document(&registry, "urn:nope", "https://gw").is_none());
    }

    #[test]
    fn resource_types_start_with_users_and_list_extensions() {
        let registry = SchemaRegistry::core();
        let doc = resource_types_document(&registry, "https://gw");
        assert_eq!(doc["Resources"][0]["endpoint"], json!("/Users"));
        assert_eq!(
            doc["Resources"][0]["schemaExtensions"],
            json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false}])
        );
        assert_eq!(
            doc["Resources"][1]["meta"]["location"],
            json!("https://gw/ResourceTypes/Group")
        );
        assert!(resource_type_document(&registry, "group", "https://gw").is_some());
    }

    #[test]
    fn service_provider_config_advertises_patch_and_bearer() {
        let options = ServiceProviderOptions {
            max_results: 200,
            basic_auth: true,
            documentation_uri: None,
        };
        let doc = service_provider_config("https://gw/", &options);
        assert_eq!(doc["patch"]["supported"], json!(true));
        assert_eq!(doc["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(doc["bulk"]["supported"], json!(false));
        assert_eq!(
            doc["authenticationSchemes"][0]["type"],
            json!("oauthbearertoken")
        );
        assert_eq!(doc["authenticationSchemes"][0]["primary"], json!(true));
        assert_eq!(doc["authenticationSchemes"][1]["type"], json!("httpbasic"));
        assert_eq!(
            doc["meta"]["location"],
            json!("https://gw/ServiceProviderConfig")
        );
        assert!(!has_null(&doc));
        let no_basic = service_provider_config(
            "https://gw",
            &ServiceProviderOptions {
                basic_auth: false,
                ..options
            },
        );
        assert_eq!(
            no_basic["authenticationSchemes"].as_array().map(Vec::len),
            Some(1)
        );
    }
}
