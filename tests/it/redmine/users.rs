//! Entra's user flows through the gateway against Redmine: Test connection, create, match,
//! deactivate and reactivate, email and custom field changes, refusals, delete. Each check's
//! name is the one the former `scripts/redmine/e2e.sh` printed.

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::{Value, json};

use super::{ENTERPRISE, Gateway, entra_user, ids, run_id, serial, start};
use crate::live::id_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_user_flows_against_redmine() -> Result<()> {
    let Some(gw) = start().await? else {
        return Ok(());
    };
    let _serial = serial().await;
    let outcome = user_flows(&gw).await;
    gw.with_log(outcome)
}

fn replace(path: &str, value: &Value) -> Value {
    json!([{"op": "Replace", "path": path, "value": value}])
}

async fn user_flows(gw: &Gateway) -> Result<()> {
    let rm = &gw.redmine;
    let run = run_id();
    let a = format!("e2e-{run}@example.com");
    let a_ext = uuid::Uuid::new_v4().to_string();
    let b = format!("pre-{a}"); // B's login contains A's: Redmine's name= matches both

    // probe
    let probe = format!("userName eq \"{}\"", uuid::Uuid::new_v4());
    let path = format!("/Users?filter={}", crate::live::encode(&probe));
    let found = gw
        .scim("probe filter answers 200", Method::GET, &path, None, 200)
        .await?;
    check!(
        "probe filter finds nothing",
        &found["totalResults"],
        &json!(0),
    )?;

    // create
    let by_a = format!("userName eq \"{a}\"");
    check!(
        "filter before create finds nothing",
        gw.count(&by_a).await?,
        json!(0),
    )?;
    let body = entra_user(&a, &a_ext, &a);
    let created = gw
        .scim(
            "create answers 201",
            Method::POST,
            "/Users",
            Some(&body),
            201,
        )
        .await?;
    let a_id = id_of(&created)?;
    check!(
        "create answers active true",
        &created["active"],
        &json!(true),
    )?;
    check!(
        "create answers the userName as sent",
        &created["userName"],
        &json!(a),
    )?;
    check!(
        "create answers the employeeNumber",
        &created[ENTERPRISE]["employeeNumber"],
        &json!("E-1001"),
    )?;
    let a_rm = rm.user_id(&a).await?.context("Redmine has no user A")?;
    check!(
        "the SCIM id is not Redmine's id",
        a_id == a_rm.to_string(),
        false,
    )?;
    let held = rm
        .call(Method::GET, &format!("/users/{a_rm}.json"), None)
        .await?;
    let user = &held.body["user"];
    check!("Redmine has the login", &user["login"], &json!(a))?;
    check!(
        "Redmine has the names",
        format!(
            "{} {}",
            user["firstname"].as_str().unwrap_or(""),
            user["lastname"].as_str().unwrap_or("")
        ),
        "Test Family".to_owned(),
    )?;
    let mut values: Vec<&str> = user["custom_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["value"].as_str())
        .filter(|v| !v.is_empty())
        .collect();
    values.sort_unstable();
    check!(
        "Redmine has the custom fields",
        values,
        vec!["E-1001", "Sales"],
    )?;
    let body = entra_user(&b, &uuid::Uuid::new_v4().to_string(), &b);
    let created = gw
        .scim(
            "create of a second user whose login contains the first",
            Method::POST,
            "/Users",
            Some(&body),
            201,
        )
        .await?;
    let b_id = id_of(&created)?;

    // match
    let found = gw.filter("Users", &by_a).await?;
    check!(
        "userName filter is exact (not Redmine's substring)",
        &found["totalResults"],
        &json!(1),
    )?;
    check!(
        "userName filter finds the user",
        &found["Resources"][0]["id"],
        &json!(a_id),
    )?;
    let upper = format!("userName eq \"{}\"", a.to_uppercase());
    check!(
        "userName filter ignores case",
        gw.count(&upper).await?,
        json!(1),
    )?;
    let found = gw
        .filter("Users", &format!("externalId eq \"{a_ext}\""))
        .await?;
    check!(
        "externalId filter finds the user",
        ids(&found),
        vec![json!(a_id)],
    )?;
    let found = gw
        .filter(
            "Users",
            &format!("emails[type eq \"work\"].value eq \"{a}\""),
        )
        .await?;
    check!(
        "work email filter finds the user",
        ids(&found),
        vec![json!(a_id)],
    )?;

    // deactivate and reactivate
    let (status, answer) = gw
        .patch_status("Users", &a_id, replace("active", &json!("False")), false)
        .await?;
    check!("PATCH active False answers 200", status, 200)?;
    check!(
        "PATCH answers active false",
        &answer["active"],
        &json!(false),
    )?;
    let a_path = format!("/users/{a_rm}.json");
    let held = rm.call(Method::GET, &a_path, None).await?;
    check!(
        "Redmine locked the user (status 3)",
        &held.body["user"]["status"],
        &json!(3),
    )?;
    let found = gw.filter("Users", &by_a).await?;
    check!(
        "a deactivated user is still found by filter",
        &found["totalResults"],
        &json!(1),
    )?;
    check!(
        "found with active false",
        &found["Resources"][0]["active"],
        &json!(false),
    )?;
    let read = gw
        .scim(
            "a deactivated user is still found by id",
            Method::GET,
            &format!("/Users/{a_id}"),
            None,
            200,
        )
        .await?;
    check!(
        "read by id with active false",
        &read["active"],
        &json!(false),
    )?;
    let (_, answer) = gw
        .patch_status("Users", &a_id, replace("active", &json!("True")), false)
        .await?;
    check!(
        "PATCH active True answers active true",
        &answer["active"],
        &json!(true),
    )?;
    let held = rm.call(Method::GET, &a_path, None).await?;
    check!(
        "Redmine unlocked the user (status 1)",
        &held.body["user"]["status"],
        &json!(1),
    )?;

    // email change and custom fields
    let new_mail = format!("new-{run}@example.com");
    let ops = replace("emails[type eq \"work\"].value", &json!(new_mail));
    let (status, answer) = gw.patch_status("Users", &a_id, ops, false).await?;
    check!("email change answers 200", status, 200)?;
    check!(
        "email change keeps the SCIM id",
        &answer["id"],
        &json!(a_id),
    )?;
    check!(
        "email change answers the new email",
        &answer["emails"][0]["value"],
        &json!(new_mail),
    )?;
    let held = rm.call(Method::GET, &a_path, None).await?;
    check!(
        "Redmine has the new mail",
        &held.body["user"]["mail"],
        &json!(new_mail),
    )?;
    let ops = json!([
        {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Marketing"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "E-2002"},
    ]);
    let (status, _) = gw.patch_status("Users", &a_id, ops, false).await?;
    check!("custom field change answers 200", status, 200)?;
    let read = gw
        .expect(Method::GET, &format!("/Users/{a_id}"), None, false, 200)
        .await?;
    check!(
        "custom fields round trip",
        [
            &read[ENTERPRISE]["employeeNumber"],
            &read[ENTERPRISE]["department"],
        ],
        [&json!("E-2002"), &json!("Marketing")],
    )?;
    let held = rm.call(Method::GET, &a_path, None).await?;
    let fields: std::collections::BTreeMap<i64, Value> = held.body["user"]["custom_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f["id"].as_i64()?, f["value"].clone())))
        .collect();
    let want = [
        (rm.cf_employee_number, json!("E-2002")),
        (rm.cf_department, json!("Marketing")),
    ];
    check!(
        "Redmine has the custom fields",
        fields,
        want.into_iter().collect(),
    )?;

    // refusals
    let body = entra_user(
        &a,
        &uuid::Uuid::new_v4().to_string(),
        &format!("other-{run}@example.com"),
    );
    let refused = gw
        .scim(
            "duplicate userName answers 409",
            Method::POST,
            "/Users",
            Some(&body),
            409,
        )
        .await?;
    check!(
        "duplicate userName is uniqueness",
        &refused["scimType"],
        &json!("uniqueness"),
    )?;
    let c = format!("direct-{run}@example.com");
    let direct = json!({"user": {"login": c, "firstname": "Di", "lastname": "Rect", "mail": c}});
    let made = rm.call(Method::POST, "/users.json", Some(&direct)).await?;
    check!("a user made directly in Redmine", made.status, 201)?;
    let body = entra_user(
        &c.to_uppercase(),
        &uuid::Uuid::new_v4().to_string(),
        &format!("c2-{run}@example.com"),
    );
    let refused = gw
        .scim(
            "a login Redmine already has answers 409",
            Method::POST,
            "/Users",
            Some(&body),
            409,
        )
        .await?;
    check!(
        "Redmine's 422 'has already been taken' is uniqueness",
        &refused["scimType"],
        &json!("uniqueness"),
    )?;
    let body = entra_user(
        &format!("bad login {run}"),
        &uuid::Uuid::new_v4().to_string(),
        &format!("bad-{run}@example.com"),
    );
    let refused = gw
        .scim(
            "an invalid login answers 400",
            Method::POST,
            "/Users",
            Some(&body),
            400,
        )
        .await?;
    let detail = refused["detail"].as_str().unwrap_or("");
    check!(
        "with invalidValue and Redmine's message",
        (&refused["scimType"], detail.contains("Login is invalid")),
        (&json!("invalidValue"), true),
    )?;

    // delete
    let b_path = format!("/Users/{b_id}");
    gw.scim("delete answers 204", Method::DELETE, &b_path, None, 204)
        .await?;
    gw.scim("a deleted user is 404", Method::GET, &b_path, None, 404)
        .await?;
    let by_b = format!("userName eq \"{b}\"");
    check!(
        "a deleted user is not found by filter",
        gw.count(&by_b).await?,
        json!(0),
    )?;

    // delete the first user
    let a_scim = format!("/Users/{a_id}");
    gw.scim("delete answers 204", Method::DELETE, &a_scim, None, 204)
        .await?;
    gw.scim("GET after delete is 404", Method::GET, &a_scim, None, 404)
        .await?;
    check!(
        "filter after delete finds nothing",
        gw.count(&by_a).await?,
        json!(0),
    )?;
    let held = rm.call(Method::GET, &a_path, None).await?;
    check!("Redmine no longer has the user", held.status, 404)
}
