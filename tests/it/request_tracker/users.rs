//! Entra's user flows against RT: Test connection, create, match, both PATCH families,
//! deactivate and reactivate, a refused rename, delete and create again.

use anyhow::Result;
use reqwest::Method;
use serde_json::json;

use super::{ENTERPRISE, entra_user, id_of, start, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_user_flows_against_request_tracker() -> Result<()> {
    let Some(rt) = start(str::to_owned).await? else {
        return Ok(());
    };

    // Test connection: a user and a group that cannot exist → 200 and an empty list.
    let probe = uuid::Uuid::new_v4().to_string();
    for resource in ["Users", "Groups"] {
        let attribute = if resource == "Users" {
            "userName"
        } else {
            "displayName"
        };
        let none = rt
            .filter(resource, &format!("{attribute} eq \"{probe}\""))
            .await?;
        assert_eq!(none["totalResults"], 0, "{none}");
        assert_eq!(none["Resources"], json!([]), "{none}");
    }

    // Create: the match finds nothing, then Microsoft's body.
    let name = unique("ann");
    let external_id = uuid::Uuid::new_v4().to_string();
    let none = rt
        .filter("Users", &format!("userName eq \"{name}\""))
        .await?;
    assert_eq!(none["totalResults"], 0, "{none}");
    let mut body = entra_user(&name, &external_id);
    body[ENTERPRISE] = json!({"organization": "Tour Operations"});
    let created = rt
        .expect(Method::POST, "/Users", Some(&body), false, 201)
        .await?;
    let id = id_of(&created)?;
    assert_eq!(created["userName"], json!(name));
    assert_eq!(created["active"], json!(true));
    assert_eq!(created["externalId"], json!(external_id));
    assert_eq!(created["name"]["formatted"], json!("givenName familyName"));
    // RT's empty fields (phones, addresses, nickname) are not answered as empty values.
    assert!(created.get("phoneNumbers").is_none(), "{created}");
    assert!(created.get("displayName").is_none(), "{created}");
    let held = rt.rt_user(&name).await?;
    assert_eq!(held["EmailAddress"], json!(name), "{held}");
    assert_eq!(held["RealName"], json!("givenName familyName"), "{held}");
    assert_eq!(held["Organization"], json!("Tour Operations"), "{held}");
    assert_eq!(held["Disabled"], json!("0"), "{held}");
    assert_eq!(held["Privileged"], json!(1), "{held}");
    let rt_number = super::rt_id(&held)?;
    assert_ne!(
        id,
        rt_number.to_string(),
        "the SCIM id is minted by scimgate"
    );

    // The same create again (Entra retrying): 409 uniqueness, from RT's 400 "Name in use".
    let (status, again) = rt
        .send(
            Method::POST,
            "/Users",
            Some(&entra_user(&name.to_uppercase(), "x")),
            false,
        )
        .await?;
    assert_eq!(status.as_u16(), 409, "{again}");
    assert_eq!(again["scimType"], json!("uniqueness"), "{again}");

    // Match: by userName (exact, any case), externalId and work email.
    let by_name = rt
        .filter("Users", &format!("userName eq \"{name}\""))
        .await?;
    assert_eq!(by_name["totalResults"], 1, "{by_name}");
    assert_eq!(by_name["Resources"][0]["id"], json!(id));
    let upper = rt
        .filter("Users", &format!("userName eq \"{}\"", name.to_uppercase()))
        .await?;
    assert_eq!(upper["totalResults"], 1, "{upper}");
    let by_ext = rt
        .filter("Users", &format!("externalId eq \"{external_id}\""))
        .await?;
    assert_eq!(by_ext["Resources"][0]["id"], json!(id), "{by_ext}");
    let by_mail = rt
        .filter(
            "Users",
            &format!("emails[type eq \"work\"].value eq \"{name}\""),
        )
        .await?;
    assert_eq!(by_mail["Resources"][0]["id"], json!(id), "{by_mail}");

    // Deactivate without the flag: "False" as a string (§1.5.1).
    rt.patch(
        "Users",
        &id,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
        false,
    )
    .await?;
    assert_eq!(rt.rt_user(&name).await?["Disabled"], json!("1"));
    let read = rt
        .expect(Method::GET, &format!("/Users/{id}"), None, false, 200)
        .await?;
    assert_eq!(read["active"], json!(false), "{read}");
    // A disabled user is still found by the match (Entra re-enables it, never re-creates).
    let disabled = rt
        .filter("Users", &format!("userName eq \"{name}\""))
        .await?;
    assert_eq!(
        disabled["Resources"][0]["active"],
        json!(false),
        "{disabled}"
    );

    // Reactivate without the flag.
    rt.patch(
        "Users",
        &id,
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
        false,
    )
    .await?;
    assert_eq!(rt.rt_user(&name).await?["Disabled"], json!("0"));

    // Without the flag, one op per attribute, each with a path.
    let mail = unique("ann-new");
    rt.patch(
        "Users",
        &id,
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": mail},
            {"op": "Add", "path": "displayName", "value": "Babs"},
            {"op": "Replace", "path": "name.formatted", "value": "Barbara Jensen"},
        ]),
        false,
    )
    .await?;
    let held = rt.rt_user(&name).await?;
    assert_eq!(held["EmailAddress"], json!(mail), "{held}");
    assert_eq!(held["NickName"], json!("Babs"), "{held}");
    assert_eq!(held["RealName"], json!("Barbara Jensen"), "{held}");

    // With the flag: lower-case ops, a path-less value object with dotted keys, booleans.
    rt.patch(
        "Users",
        &id,
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": name},
            {"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.formatted": "Kkom Unua",
                "active": false,
            }},
        ]),
        true,
    )
    .await?;
    let held = rt.rt_user(&name).await?;
    assert_eq!(held["EmailAddress"], json!(name), "{held}");
    assert_eq!(held["NickName"], json!("Bjfe"), "{held}");
    assert_eq!(held["RealName"], json!("Kkom Unua"), "{held}");
    assert_eq!(held["Disabled"], json!("1"), "{held}");
    rt.patch(
        "Users",
        &id,
        json!([{"op": "replace", "path": "active", "value": true}]),
        true,
    )
    .await?;
    assert_eq!(rt.rt_user(&name).await?["Disabled"], json!("0"));

    // A rename to a login another user holds: RT answers 200 ["User …: Name in use"] and
    // changes nothing; scimgate must answer 409, never a success.
    let other = unique("bob");
    rt.expect(
        Method::POST,
        "/Users",
        Some(&entra_user(&other, &uuid::Uuid::new_v4().to_string())),
        false,
        201,
    )
    .await?;
    let body = json!({"schemas": [super::PATCH_SCHEMA], "Operations": [
        {"op": "Replace", "path": "userName", "value": other},
    ]});
    let (status, refused) = rt
        .send(Method::PATCH, &format!("/Users/{id}"), Some(&body), false)
        .await?;
    assert_eq!(status.as_u16(), 409, "{refused}");
    assert_eq!(refused["scimType"], json!("uniqueness"), "{refused}");
    assert_eq!(rt.rt_user(&name).await?["Name"], json!(name));

    // Delete: 204; the id is gone for SCIM, RT keeps the user disabled.
    rt.expect(Method::DELETE, &format!("/Users/{id}"), None, false, 204)
        .await?;
    rt.expect(Method::GET, &format!("/Users/{id}"), None, false, 404)
        .await?;
    let gone = rt
        .filter("Users", &format!("userName eq \"{name}\""))
        .await?;
    assert_eq!(gone["totalResults"], 0, "{gone}");
    assert_eq!(rt.rt_user(&name).await?["Disabled"], json!("1"));

    // Entra creates the user again (re-assigned after a delete): RT's user comes back enabled.
    let again = rt
        .expect(
            Method::POST,
            "/Users",
            Some(&entra_user(&name, &external_id)),
            false,
            201,
        )
        .await?;
    assert_eq!(again["active"], json!(true), "{again}");
    let held = rt.rt_user(&name).await?;
    assert_eq!(held["Disabled"], json!("0"), "{held}");
    assert_eq!(
        super::rt_id(&held)?,
        rt_number,
        "the same RT user, enabled again"
    );
    Ok(())
}
