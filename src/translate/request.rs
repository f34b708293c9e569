//! REQUEST.json → [`TranslateRequest`]: the wrapper form, a bare SCIM resource (a create) or a
//! refused bare PatchOp. Pure: no I/O, no routing (that stays the server's `routes`).

use http::Method;
use serde_json::Value;

use super::Error;
use crate::scim::patch::PATCH_OP_SCHEMA;
use crate::scim::schema::{GROUP_SCHEMA, USER_SCHEMA};

/// One SCIM request to translate, as the gateway would receive it after authentication.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslateRequest {
    /// HTTP method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: Method,
    /// Path and query relative to the SCIM root: `/Users`, `/Users/17`, `/Users?filter=…`.
    pub path: String,
    /// The JSON body, for POST, PUT and PATCH.
    pub body: Option<Value>,
}

/// Parses the contents of a REQUEST.json file (see the module doc of [`crate::translate`]).
pub fn parse_request(text: &str) -> Result<TranslateRequest, Error> {
    let value: Value = serde_json::from_str(text).map_err(|error| Error::InvalidRequest {
        reason: format!("not JSON: {error}"),
    })?;
    request_from_json(value)
}

/// Interprets an already parsed REQUEST.json value.
pub fn request_from_json(value: Value) -> Result<TranslateRequest, Error> {
    let Value::Object(mut object) = value else {
        return Err(Error::InvalidRequest {
            reason: "expected a JSON object".to_owned(),
        });
    };
    if object.contains_key("method") || object.contains_key("path") {
        let method = match object.get("method") {
            Some(Value::String(m)) => Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| Error::InvalidRequest {
                    reason: format!("`method` `{m}` is not an HTTP method"),
                })?,
            _ => {
                return Err(Error::InvalidRequest {
                    reason: "`method` must be a string such as \"POST\"".to_owned(),
                });
            }
        };
        let path = match object.get("path") {
            Some(Value::String(p)) if p.starts_with('/') => p.clone(),
            _ => {
                return Err(Error::InvalidRequest {
                    reason: "`path` must be a string relative to the SCIM root, e.g. \"/Users/17\""
                        .to_owned(),
                });
            }
        };
        let body = object.remove("body").filter(|b| !b.is_null());
        return Ok(TranslateRequest { method, path, body });
    }
    let schemas: Vec<&str> = object
        .get("schemas")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let has = |urn: &str| schemas.iter().any(|s| s.eq_ignore_ascii_case(urn));
    let path = if has(PATCH_OP_SCHEMA) {
        return Err(Error::InvalidRequest {
            reason: "a PatchOp body needs the wrapper form naming the resource: \
                     {\"method\":\"PATCH\",\"path\":\"/Users/ID\",\"body\":{…}}"
                .to_owned(),
        });
    } else if has(USER_SCHEMA) || (schemas.is_empty() && object.contains_key("userName")) {
        "/Users"
    } else if has(GROUP_SCHEMA) {
        "/Groups"
    } else {
        return Err(Error::InvalidRequest {
            reason: "expected {\"method\":…,\"path\":…,\"body\":…} or a SCIM User or Group \
                     whose `schemas` names its core schema"
                .to_owned(),
        });
    };
    Ok(TranslateRequest {
        method: Method::POST,
        path: path.to_owned(),
        body: Some(Value::Object(object)),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wrapper_bare_resources_and_bare_patch() {
        let r = parse_request(r#"{"method":"patch","path":"/Users/1","body":{"a":1}}"#).unwrap();
        assert_eq!(
            (r.method, r.path.as_str(), r.body),
            (Method::PATCH, "/Users/1", Some(json!({"a": 1})))
        );
        let r = request_from_json(json!({"schemas": [GROUP_SCHEMA], "displayName": "S"})).unwrap();
        assert_eq!((r.method, r.path.as_str()), (Method::POST, "/Groups"));
        let r = request_from_json(json!({"userName": "a"})).unwrap();
        assert_eq!(r.path, "/Users");
        let e = request_from_json(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []}));
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("\"path\":\"/Users/ID\"")
        );
        assert!(parse_request("[1]").is_err());
        assert!(parse_request(r#"{"method":"GET","path":"Users"}"#).is_err());
        assert!(parse_request(r#"{"displayName":"no schemas"}"#).is_err());
    }
}
