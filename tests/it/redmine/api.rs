//! Redmine's own REST API, straight (no gateway): the facts `mappings/redmine.yaml` relies on.
//! Each check's name is the one the former `scripts/redmine/smoke.sh` printed. Every test
//! deletes what it created, also when a check fails.

use anyhow::Result;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Redmine, Reply, redmine, run_id, serial};

/// Redmine's create body; `extra` keys are added to `user`.
fn user_json(login: &str, mail: &str, first: &str, extra: Value) -> Value {
    let mut user = json!({"login": login, "firstname": first, "lastname": "Doe", "mail": mail});
    if let (Some(user), Value::Object(extra)) = (user.as_object_mut(), extra) {
        user.extend(extra);
    }
    json!({ "user": user })
}

/// The value of custom field `id` of a Redmine user (`"<absent>"` without that field).
fn cf(user: &Value, id: i64) -> Value {
    user["custom_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["id"] == id)
        .map_or(json!("<absent>"), |f| f["value"].clone())
}

/// The ids of a Redmine user list.
fn user_ids(reply: &Reply) -> Vec<Value> {
    reply.body["users"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| u["id"].clone())
        .collect()
}

fn errors(reply: &Reply, texts: &[&str]) -> bool {
    reply.body == json!({ "errors": texts })
}

impl Redmine {
    /// Deletes the users and groups a test made (best effort: some are gone already).
    async fn clean_up(&self, users: &[i64], groups: &[i64]) {
        for id in users {
            let _ = self
                .call(Method::DELETE, &format!("/users/{id}.json"), None)
                .await;
        }
        for id in groups {
            let _ = self
                .call(Method::DELETE, &format!("/groups/{id}.json"), None)
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redmine_api_auth_and_request_rules() -> Result<()> {
    let Some(rm) = redmine()? else {
        return Ok(());
    };
    let _serial = serial().await;
    let r = rm.send(rm.bare(Method::GET, "/users.json")).await?;
    r.expect(
        "no credentials: 401 with an empty body",
        401,
        r.raw.is_empty(),
    )?;
    let r = rm
        .send(
            rm.bare(Method::GET, "/users/current.json")
                .basic_auth("admin", Some("admin")),
        )
        .await?;
    r.expect(
        "Basic admin:admin works (must_change_passwd is off)",
        200,
        r.body["user"]["login"] == "admin",
    )?;
    let request = rm
        .bare(Method::POST, "/users.json")
        .header("X-Redmine-API-Key", &rm.key)
        .body(r#"{"user":{"login":"x"}}"#);
    let r = rm.send(request).await?;
    r.expect(
        "a body without Content-Type: application/json gets 500 (always send it)",
        500,
        true,
    )?;
    let r = rm
        .raw(Method::POST, "/users.json", Some(r#"{"user":"#))
        .await?;
    r.expect(
        "malformed JSON: 400 with an empty body",
        400,
        r.raw.is_empty(),
    )?;
    let r = rm.call(Method::GET, "/users.json?limit=1000", None).await?;
    r.expect("list limit is capped at 100", 200, r.body["limit"] == 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redmine_api_users_create_list_update_lock_delete() -> Result<()> {
    let Some(rm) = redmine()? else {
        return Ok(());
    };
    let _serial = serial().await;
    let mut made = Vec::new();
    let outcome = users(&rm, &mut made).await;
    rm.clean_up(&made, &[]).await;
    outcome
}

async fn users(rm: &Redmine, made: &mut Vec<i64>) -> Result<()> {
    let (emp, dep) = (rm.cf_employee_number, rm.cf_department);
    let sfx = run_id();
    let l1 = format!("smoke{sfx}-jdoe");
    let l2 = format!("smoke{sfx}-jdoe2");
    let post = |body: Value| async move { rm.call(Method::POST, "/users.json", Some(&body)).await };

    // create
    let extra = json!({"custom_fields": [{"id": emp, "value": "E-1001"}]});
    let r = post(user_json(&l1, &format!("{l1}@example.com"), "John", extra)).await?;
    let u = &r.body["user"];
    let keys = [
        "id",
        "login",
        "admin",
        "firstname",
        "lastname",
        "mail",
        "created_on",
        "updated_on",
        "last_login_on",
        "passwd_changed_on",
        "api_key",
        "status",
        "custom_fields",
    ];
    r.expect(
        "create user: 201 with the documented shape",
        201,
        keys.iter().all(|k| u.get(*k).is_some()) && u["status"] == 1 && u["login"] == l1.as_str(),
    )?;
    let u1 = r.id("user")?;
    made.push(u1);
    let fields_are_id_name_value = u["custom_fields"].as_array().is_some_and(|fields| {
        fields.iter().all(|f| {
            f.as_object().is_some_and(|f| {
                f.len() == 3 && ["id", "name", "value"].iter().all(|k| f.contains_key(*k))
            })
        })
    });
    r.expect(
        "create user: custom_fields are [{id,name,value}] and employeeNumber was set",
        201,
        cf(u, emp) == "E-1001" && cf(u, dep).is_null() && fields_are_id_name_value,
    )?;

    let r = rm
        .call(Method::GET, &format!("/users/{u1}.json"), None)
        .await?;
    let u = &r.body["user"];
    r.expect(
        "GET user: 200, same shape, status 1",
        200,
        u["id"] == u1 && u["status"] == 1 && u.get("api_key").is_some(),
    )?;

    let r = post(user_json(
        &l1.to_uppercase(),
        &format!("other{sfx}@example.com"),
        "Jane",
        json!({}),
    ))
    .await?;
    r.expect(
        "duplicate login (other case): 422 Login has already been taken",
        422,
        errors(&r, &["Login has already been taken"]),
    )?;
    let mail = format!("{}@EXAMPLE.COM", l1.to_uppercase());
    let r = post(user_json(&format!("other{sfx}"), &mail, "Jane", json!({}))).await?;
    r.expect(
        "duplicate mail (other case): 422 Email has already been taken",
        422,
        errors(&r, &["Email has already been taken"]),
    )?;
    let r = post(json!({"user": {"login": format!("smoke{sfx}-blank")}})).await?;
    let mut blank: Vec<&str> = r.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    blank.sort_unstable();
    blank.dedup();
    r.expect(
        "missing required fields: 422 with the blank errors",
        422,
        blank
            == [
                "Email cannot be blank",
                "First name cannot be blank",
                "Last name cannot be blank",
            ],
    )?;
    let r = post(user_json(
        &format!("smoke{sfx} a+b"),
        &format!("ab{sfx}@example.com"),
        "Jane",
        json!({}),
    ))
    .await?;
    r.expect(
        "login with space and +: 422 Login is invalid",
        422,
        errors(&r, &["Login is invalid"]),
    )?;
    let r = rm.call(Method::GET, "/users/99999999.json", None).await?;
    r.expect(
        "GET missing user: 404 with an empty body",
        404,
        r.raw.is_empty(),
    )?;

    // list and ?name=
    let r = post(user_json(
        &l2,
        &format!("{l2}@example.com"),
        "Johnny",
        json!({}),
    ))
    .await?;
    r.expect("create second user", 201, true)?;
    let u2 = r.id("user")?;
    made.push(u2);
    let r = rm
        .call(Method::GET, &format!("/users.json?name={l1}"), None)
        .await?;
    let mut logins: Vec<&str> = r.body["users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["login"].as_str())
        .collect();
    logins.sort_unstable();
    r.expect(
        "?name= is a substring match (both logins match the shorter one)",
        200,
        r.body["total_count"] == 2 && logins == [l1.as_str(), l2.as_str()],
    )?;
    let listed = r.body["users"].as_array().cloned().unwrap_or_default();
    r.expect(
        "list items omit status and api_key",
        200,
        listed
            .iter()
            .all(|u| u.get("status").is_none() && u.get("api_key").is_none()),
    )?;
    r.expect(
        "list body has total_count, offset, limit",
        200,
        r.body["offset"] == 0 && r.body["limit"] == 25,
    )?;
    let r = rm
        .call(
            Method::GET,
            &format!("/users.json?name={}", l2.to_uppercase()),
            None,
        )
        .await?;
    r.expect("?name= ignores case", 200, user_ids(&r) == [json!(u2)])?;

    // update
    let new_mail = format!("new{sfx}@example.com");
    let body =
        json!({"user": {"mail": new_mail, "custom_fields": [{"id": dep, "value": "Engineering"}]}});
    let r = rm
        .call(Method::PUT, &format!("/users/{u1}.json"), Some(&body))
        .await?;
    r.expect("PUT user: 204 with no body", 204, r.raw.is_empty())?;
    let r = rm
        .call(Method::GET, &format!("/users/{u1}.json"), None)
        .await?;
    let u = &r.body["user"];
    r.expect(
        "PUT took effect: new mail, department set, employeeNumber kept",
        200,
        u["mail"] == new_mail.as_str() && cf(u, dep) == "Engineering" && cf(u, emp) == "E-1001",
    )?;
    let body = json!({"user": {"custom_fields": [{"id": 99999, "value": "x"}]}});
    let r = rm
        .call(Method::PUT, &format!("/users/{u1}.json"), Some(&body))
        .await?;
    r.expect(
        "PUT an unknown custom field id: 204, silently ignored",
        204,
        r.raw.is_empty(),
    )?;
    let body = json!({"user": {"mail": new_mail}});
    let r = rm
        .call(Method::PUT, &format!("/users/{u2}.json"), Some(&body))
        .await?;
    r.expect(
        "PUT taken mail: 422 Email has already been taken",
        422,
        errors(&r, &["Email has already been taken"]),
    )?;
    let body = json!({"user": {"firstname": "X"}});
    let r = rm
        .call(Method::PUT, "/users/99999999.json", Some(&body))
        .await?;
    r.expect(
        "PUT missing user: 404 with an empty body",
        404,
        r.raw.is_empty(),
    )?;

    // lock / unlock
    let status = |s: i64| json!({"user": {"status": s}});
    let r = rm
        .call(Method::PUT, &format!("/users/{u2}.json"), Some(&status(3)))
        .await?;
    r.expect("lock (status 3): 204", 204, r.raw.is_empty())?;
    let r = rm
        .call(Method::GET, &format!("/users/{u2}.json"), None)
        .await?;
    r.expect(
        "locked user reads status 3",
        200,
        r.body["user"]["status"] == 3,
    )?;
    let r = rm
        .call(Method::GET, &format!("/users.json?name={l2}"), None)
        .await?;
    r.expect(
        "locked user hidden from the default list",
        200,
        r.body["total_count"] == 0 && r.body["users"] == json!([]),
    )?;
    let r = rm
        .call(Method::GET, &format!("/users.json?name={l2}&status="), None)
        .await?;
    r.expect(
        "locked user listed with status= (empty)",
        200,
        user_ids(&r) == [json!(u2)],
    )?;
    let r = rm
        .call(
            Method::GET,
            &format!("/users.json?name={l1}&status=3"),
            None,
        )
        .await?;
    r.expect(
        "status=3 lists only the locked user",
        200,
        user_ids(&r) == [json!(u2)],
    )?;
    let r = rm
        .call(Method::PUT, &format!("/users/{u2}.json"), Some(&status(7)))
        .await?;
    r.expect(
        "status 7: 422 Status is invalid",
        422,
        errors(&r, &["Status is invalid"]),
    )?;
    let r = rm
        .call(Method::PUT, &format!("/users/{u2}.json"), Some(&status(1)))
        .await?;
    r.expect("unlock (status 1): 204", 204, r.raw.is_empty())?;
    let r = rm
        .call(Method::GET, &format!("/users.json?name={l2}"), None)
        .await?;
    r.expect(
        "unlocked user back in the default list",
        200,
        user_ids(&r) == [json!(u2)],
    )?;

    // delete
    let r = rm
        .call(Method::DELETE, &format!("/users/{u1}.json"), None)
        .await?;
    r.expect("DELETE user: 204", 204, r.raw.is_empty())?;
    let r = rm
        .call(Method::GET, &format!("/users/{u1}.json"), None)
        .await?;
    r.expect("deleted user: GET 404", 404, r.raw.is_empty())?;
    let r = rm
        .call(Method::DELETE, &format!("/users/{u1}.json"), None)
        .await?;
    r.expect("deleted user: DELETE again 404", 404, true)?;
    let r = rm
        .call(Method::DELETE, &format!("/users/{u2}.json"), None)
        .await?;
    r.expect("DELETE second user: 204", 204, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redmine_api_groups_and_members() -> Result<()> {
    let Some(rm) = redmine()? else {
        return Ok(());
    };
    let _serial = serial().await;
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    let outcome = group_flow(&rm, &mut users, &mut groups).await;
    rm.clean_up(&users, &groups).await;
    outcome
}

async fn group_flow(rm: &Redmine, users: &mut Vec<i64>, groups: &mut Vec<i64>) -> Result<()> {
    let sfx = run_id();
    let login = format!("smoke{sfx}-jdoe");
    let body = user_json(&login, &format!("{login}@example.com"), "John", json!({}));
    let r = rm.call(Method::POST, "/users.json", Some(&body)).await?;
    r.expect("create user", 201, true)?;
    let u1 = r.id("user")?;
    users.push(u1);

    let g = format!("Smoke {sfx}");
    let body = json!({"group": {"name": g}});
    let r = rm.call(Method::POST, "/groups.json", Some(&body)).await?;
    let shape = r.body["group"]
        .as_object()
        .is_some_and(|o| o.len() == 2 && o.contains_key("id") && o.contains_key("name"));
    r.expect(
        "create group: 201 {group:{id,name}}",
        201,
        shape && r.body["group"]["name"] == g.as_str(),
    )?;
    let gid = r.id("group")?;
    groups.push(gid);
    let r = rm.call(Method::POST, "/groups.json", Some(&body)).await?;
    r.expect(
        "duplicate group name: 422 Name has already been taken",
        422,
        errors(&r, &["Name has already been taken"]),
    )?;
    let member = json!({"user_id": u1});
    let r = rm
        .call(
            Method::POST,
            &format!("/groups/{gid}/users.json"),
            Some(&member),
        )
        .await?;
    r.expect("add member: 204", 204, r.raw.is_empty())?;
    let r = rm
        .call(
            Method::POST,
            &format!("/groups/{gid}/users.json"),
            Some(&member),
        )
        .await?;
    r.expect(
        "add member again: 422 User is invalid",
        422,
        errors(&r, &["User is invalid"]),
    )?;
    let r = rm
        .call(
            Method::GET,
            &format!("/groups/{gid}.json?include=users"),
            None,
        )
        .await?;
    r.expect(
        "group include=users lists the member as {id,name}",
        200,
        r.body["group"]["users"] == json!([{"id": u1, "name": "John Doe"}]),
    )?;
    let r = rm
        .call(
            Method::GET,
            &format!("/users/{u1}.json?include=groups"),
            None,
        )
        .await?;
    r.expect(
        "user include=groups lists the group",
        200,
        r.body["user"]["groups"] == json!([{"id": gid, "name": g}]),
    )?;
    let r = rm
        .call(Method::GET, &format!("/users.json?group_id={gid}"), None)
        .await?;
    r.expect(
        "users?group_id= lists the member",
        200,
        user_ids(&r) == [json!(u1)],
    )?;
    let path = format!("/groups/{gid}/users/{u1}.json");
    let r = rm.call(Method::DELETE, &path, None).await?;
    r.expect("remove member: 204", 204, r.raw.is_empty())?;
    let r = rm.call(Method::DELETE, &path, None).await?;
    r.expect("remove a non-member: 204 as well", 204, r.raw.is_empty())?;
    let r = rm
        .call(
            Method::GET,
            &format!("/groups/{gid}.json?include=users"),
            None,
        )
        .await?;
    r.expect(
        "group has no members after removal",
        200,
        r.body["group"]["users"] == json!([]),
    )?;
    let r = rm
        .call(Method::DELETE, &format!("/groups/{gid}.json"), None)
        .await?;
    r.expect("delete group: 204", 204, r.raw.is_empty())?;
    let r = rm
        .call(Method::GET, &format!("/groups/{gid}.json"), None)
        .await?;
    r.expect(
        "deleted group: 404 with an empty body",
        404,
        r.raw.is_empty(),
    )
}

/// A freshly created user holds the highest principal id: delete it and create another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redmine_api_reuses_the_highest_user_id() -> Result<()> {
    let Some(rm) = redmine()? else {
        return Ok(());
    };
    let _serial = serial().await;
    let mut made = Vec::new();
    let outcome = id_reuse(&rm, &mut made).await;
    rm.clean_up(&made, &[]).await;
    outcome
}

async fn id_reuse(rm: &Redmine, made: &mut Vec<i64>) -> Result<()> {
    let sfx = run_id();
    let body = user_json(
        &format!("smoke{sfx}-first"),
        &format!("first{sfx}@example.com"),
        "First",
        json!({}),
    );
    let r = rm.call(Method::POST, "/users.json", Some(&body)).await?;
    r.expect("create user A (highest id)", 201, true)?;
    let ua = r.id("user")?;
    made.push(ua);
    let r = rm
        .call(Method::DELETE, &format!("/users/{ua}.json"), None)
        .await?;
    r.expect("DELETE user A: 204", 204, true)?;
    let body = user_json(
        &format!("smoke{sfx}-second"),
        &format!("second{sfx}@example.com"),
        "Second",
        json!({}),
    );
    let r = rm.call(Method::POST, "/users.json", Some(&body)).await?;
    if let Ok(ub) = r.id("user") {
        made.push(ub);
    }
    r.expect(
        "ids are reused after deleting the highest id (a stale id points to a new person)",
        201,
        r.body["user"]["id"] == ua,
    )
}
