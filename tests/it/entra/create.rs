//! §5 cases 23–29: creating users.

use serde_json::{Value, json};

use super::support::{
    CUSTOM, ENTERPRISE, FLAGS, METADATA, MS_CUSTOM, PUBLIC_BASE, entra_user, entra_user_with_email,
    gateway, id_of, numeric, unique, unique_email, unique_user_name,
};

/// Case 23: Microsoft's create body → 201 with the server's id and the values Entra compares.
#[tokio::test]
async fn case_23_microsoft_create_body_is_201() {
    let gw = gateway().await;
    for flag in FLAGS {
        let user_name = unique_user_name();
        let email = unique_email();
        let external = uuid::Uuid::new_v4().to_string();
        let reply = gw
            .post(
                "/Users",
                flag,
                &entra_user_with_email(&user_name, &email, &external),
            )
            .await;
        let user = reply.expect(201);
        let id = id_of(&user);
        assert_eq!(user["userName"], json!(user_name));
        assert_eq!(user["externalId"], json!(external));
        assert_eq!(user["active"], json!(true));
        assert_eq!(
            user["emails"],
            json!([{"type": "work", "value": email, "primary": true}])
        );
        assert_eq!(
            user["name"],
            json!({"formatted": "givenName familyName", "familyName": "familyName",
                   "givenName": "givenName"})
        );
        assert_eq!(user["meta"]["resourceType"], "User");
        let location = format!("{PUBLIC_BASE}/scim/v2/Users/{id}");
        assert_eq!(user["meta"]["location"], json!(location));
        assert_eq!(reply.header("location"), Some(location.as_str()));
        assert!(
            user["schemas"]
                .as_array()
                .is_some_and(|s| s.contains(&json!("urn:ietf:params:scim:schemas:core:2.0:User")))
        );
        let backend = gw.backend_user(&id);
        assert_eq!(backend["username"], json!(user_name));
        assert_eq!(backend["email"], json!(email));
        assert_eq!(backend["status"], "active");
        assert_eq!(backend["first_name"], "givenName");
    }
    assert_eq!(gw.calls("POST /api/v1/users"), 2);
    assert_eq!(gw.demo.user_count(), 2);
}

/// Case 24: `"active": "True"` (a string, as Microsoft's own collection posts it).
#[tokio::test]
async fn case_24_active_string_true_is_boolean_true() {
    let gw = gateway().await;
    for flag in FLAGS {
        for text in ["True", "true", "TRUE"] {
            let mut body = entra_user(&unique_user_name(), &unique("ext"));
            body["active"] = json!(text);
            let user = gw.post("/Users", flag, &body).await.expect(201);
            assert_eq!(user["active"], json!(true), "{text}");
            assert_eq!(gw.backend_user(&id_of(&user))["status"], "active");
        }
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body["active"] = json!("False");
        let user = gw.post("/Users", flag, &body).await.expect(201);
        assert_eq!(user["active"], json!(false));
        assert_eq!(gw.backend_user(&id_of(&user))["status"], "disabled");
    }
}

/// Case 25: a client `id` and `null` values are ignored.
#[tokio::test]
async fn case_25_client_id_and_nulls_are_ignored() {
    let gw = gateway().await;
    for flag in FLAGS {
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body["id"] = json!("client-value");
        body["addresses"] = Value::Null;
        body["title"] = Value::Null;
        body["displayName"] = Value::Null;
        body[ENTERPRISE] = json!({"manager": null, "department": null});
        let user = gw.post("/Users", flag, &body).await.expect(201);
        let id = id_of(&user);
        assert_ne!(id, "client-value");
        numeric(&id);
        for key in ["addresses", "title", "displayName"] {
            assert!(user.get(key).is_none_or(|v| !v.is_null()), "{key}: {user}");
        }
        let backend = gw.backend_user(&id);
        assert_eq!(backend["manager"], Value::Null);
        assert_eq!(backend["department"], Value::Null);
    }
    gw.get("/Users/client-value", super::support::Flag::Off)
        .await
        .expect_error(404, None);
}

/// Case 26: Microsoft's custom extension object, whose URN is not in `schemas`, is stored,
/// and read back under the same URN, listed in `schemas`; so are the mapping's own extensions.
#[tokio::test]
async fn case_26_custom_extension_without_schema_entry_is_stored() {
    let gw = gateway().await;
    for flag in FLAGS {
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body[MS_CUSTOM] = json!({"tag": "701984"});
        body[CUSTOM] = json!({"folders": ["Sales", "Travel"]});
        body[METADATA] = json!({"tag": "701984"});
        let created = gw.post("/Users", flag, &body).await.expect(201);
        assert_eq!(created[MS_CUSTOM], json!({"tag": "701984"}));
        let id = id_of(&created);
        let backend = gw.backend_user(&id);
        assert_eq!(backend["tag"], "701984");
        assert_eq!(backend["folders"], "Sales,Travel");
        assert_eq!(backend["metadata"], json!({"tag": "701984"}));
        let user = gw.user(&id).await;
        assert_eq!(user[MS_CUSTOM], json!({"tag": "701984"}));
        assert_eq!(user[CUSTOM], json!({"folders": ["Sales", "Travel"]}));
        assert_eq!(user[METADATA], json!({"tag": "701984"}));
        let schemas = user["schemas"].as_array().expect("schemas");
        for urn in [MS_CUSTOM, CUSTOM, METADATA] {
            assert!(schemas.contains(&json!(urn)), "{urn}: {schemas:?}");
        }
    }
}

/// Case 27: a second POST with the same userName is `409 uniqueness` naming the value.
#[tokio::test]
async fn case_27_duplicate_user_name_is_409_uniqueness() {
    let gw = gateway().await;
    let user_name = unique_user_name();
    gw.create_user(&entra_user(&user_name, &unique("ext")))
        .await;
    for flag in FLAGS {
        // Same userName, other case: still the same user for a caseExact=false attribute.
        for asked in [user_name.clone(), user_name.to_uppercase()] {
            let error = gw
                .post("/Users", flag, &entra_user(&asked, &unique("ext")))
                .await
                .expect_error(409, Some("uniqueness"));
            let detail = error["detail"].as_str().unwrap_or_default().to_lowercase();
            assert!(
                detail.contains(&user_name.to_lowercase()),
                "detail does not name the value: {error}"
            );
        }
    }
    assert_eq!(gw.demo.user_count(), 1);
}

/// Case 28: a POST without userName is `400 invalidValue`, asked of no backend.
#[tokio::test]
async fn case_28_missing_user_name_is_400_invalid_value() {
    let gw = gateway().await;
    for flag in FLAGS {
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body.as_object_mut().expect("object").remove("userName");
        let error = gw
            .post("/Users", flag, &body)
            .await
            .expect_error(400, Some("invalidValue"));
        assert!(
            error["detail"]
                .as_str()
                .is_some_and(|d| d.contains("userName")),
            "{error}"
        );
    }
    assert_eq!(gw.demo.calls().total, 0);
    assert_eq!(gw.demo.user_count(), 0);
}

/// Case 29: a userType outside the allowed set is `400 invalidValue` listing the allowed
/// values; nothing is written to the backend.
#[tokio::test]
async fn case_29_user_type_outside_allowed_set_is_400_and_writes_nothing() {
    let gw = gateway().await;
    for flag in FLAGS {
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body["userType"] = json!("Gold");
        let error = gw
            .post("/Users", flag, &body)
            .await
            .expect_error(400, Some("invalidValue"));
        let detail = error["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("Gold") && detail.contains("Premium") && detail.contains("Standard"),
            "{error}"
        );
    }
    assert_eq!(gw.calls("POST /api/v1/users"), 0);
    assert_eq!(gw.demo.user_count(), 0);
}

/// Microsoft's collection posts a work address whose `formatted` holds a newline (RFC 7643
/// §4.1.2: it "MAY contain newlines"): 201, stored as sent; a newline elsewhere is still refused.
#[tokio::test]
async fn a_formatted_address_may_hold_newlines() {
    let gw = gateway().await;
    for flag in FLAGS {
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body["addresses"] = json!([{"type": "work", "primary": false,
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes"}]);
        let user = gw.post("/Users", flag, &body).await.expect(201);
        assert_eq!(
            user["addresses"][0]["formatted"],
            "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645"
        );
        assert_eq!(
            gw.backend_user(&id_of(&user))["address"],
            "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645"
        );
        let mut body = entra_user(&unique_user_name(), &unique("ext"));
        body["addresses"] = json!([{"type": "work", "locality": "West\nMercedes"}]);
        gw.post("/Users", flag, &body)
            .await
            .expect_error(400, Some("invalidValue"));
    }
}
