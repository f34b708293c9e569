//! End-to-end tests of the demo API: a real server on a loopback port, driven with reqwest.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};

use super::{DemoOptions, DemoServer, Fault};

const KEY: &str = "test-key";

/// A started demo server and a client for it.
struct Api {
    server: DemoServer,
    client: reqwest::Client,
}

/// One answer: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    fn id(&self) -> u64 {
        self.body["id"].as_u64().unwrap_or(0)
    }
}

impl Api {
    async fn start() -> Result<Self> {
        Self::start_with(DemoOptions {
            api_key: KEY.to_owned(),
            seed_users: 0,
        })
        .await
    }

    async fn start_with(options: DemoOptions) -> Result<Self> {
        // reqwest is built without a default crypto provider; plain HTTP still builds a TLS
        // config, so give it ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let server = DemoServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options).await?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { server, client })
    }

    fn request(&self, method: Method, path: &str, body: Option<&Value>) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.server.base_url()))
            .header("X-Api-Key", KEY);
        if let Some(body) = body {
            request = request.json(body);
        }
        request
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer> {
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .with_context(|| format!("not JSON: {}", String::from_utf8_lossy(&bytes)))?
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Answer> {
        self.send(self.request(method, path, body)).await
    }

    async fn get(&self, path: &str) -> Result<Answer> {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Answer> {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn create_user(&self, body: &Value) -> Result<u64> {
        let answer = self.post("/api/v1/users", body).await?;
        ensure!(
            answer.status == StatusCode::CREATED,
            "create failed: {answer:?}"
        );
        Ok(answer.id())
    }

    async fn create_team(&self, name: &str) -> Result<u64> {
        let answer = self.post("/api/v1/teams", &json!({"name": name})).await?;
        ensure!(
            answer.status == StatusCode::CREATED,
            "create failed: {answer:?}"
        );
        Ok(answer.id())
    }
}

#[tokio::test]
async fn create_answers_201_with_location_defaults_and_get_returns_the_same() -> Result<()> {
    let api = Api::start().await?;
    let created = api
        .post(
            "/api/v1/users",
            &json!({"username": "ann", "email": "ann@example.com", "first_name": "Ann"}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.id();
    assert_eq!(id, 1);
    assert_eq!(created.headers[header::LOCATION], "/api/v1/users/1");
    assert_eq!(created.headers[header::CONTENT_TYPE], "application/json");
    let body = &created.body;
    assert_eq!(body["status"], "active");
    assert_eq!(body["plan"], 1);
    assert_eq!(body["role"], "User");
    assert_eq!(body["folders"], "");
    assert_eq!(body["metadata"], json!({}));
    assert_eq!(body["last_name"], "");
    assert_eq!(body["username"], "ann");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["full_name"], "Ann");
    for nullable in [
        "home_email",
        "nickname",
        "job_title",
        "phone",
        "city",
        "tag",
        "display_name",
        "employee_number",
        "department",
        "manager",
        "notes",
    ] {
        assert_eq!(body[nullable], Value::Null, "{nullable}");
    }
    assert!(
        body["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let fetched = api.get("/api/v1/users/1").await?;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(&fetched.body, body);
    assert_eq!(api.server.user(id).as_ref(), Some(body));
    Ok(())
}

#[tokio::test]
async fn create_validates_each_field_with_a_readable_error() -> Result<()> {
    let api = Api::start().await?;
    let cases = [
        (json!({"first_name": "Ann"}), "username is required"),
        (json!({"username": "  "}), "username is required"),
        (json!({"username": 7}), "username must be a string"),
        (
            json!({"username": "a", "email": 7}),
            "email must be a string or null",
        ),
        (
            json!({"username": "a@b.c", "plan": 3}),
            "plan must be 1 or 2",
        ),
        (
            json!({"username": "a@b.c", "status": "deleted"}),
            "status must be active or disabled",
        ),
        (
            json!({"username": "a@b.c", "metadata": ["x"]}),
            "metadata must be an object of strings",
        ),
        (
            json!({"username": "a@b.c", "manager": 9}),
            "manager must be a string or null",
        ),
        (json!(["a@b.c"]), "body must be a JSON object"),
    ];
    for (body, message) in cases {
        let answer = api.post("/api/v1/users", &body).await?;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.error(), message, "{body}");
    }
    let bad_json = api
        .send(
            api.request(Method::POST, "/api/v1/users", None)
                .header(header::CONTENT_TYPE, "application/json")
                .body("{\"username\": "),
        )
        .await?;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_json.error().starts_with("invalid JSON: "),
        "{bad_json:?}"
    );
    // A manager reference is stored as given, whether or not it names a user here.
    let with_manager = api
        .post(
            "/api/v1/users",
            &json!({"username": "a@b.c", "manager": "SuzzyQ"}),
        )
        .await?;
    assert_eq!(with_manager.status, StatusCode::CREATED);
    assert_eq!(with_manager.body["manager"], "SuzzyQ");
    assert_eq!(api.server.user_count(), 1);
    Ok(())
}

#[tokio::test]
async fn duplicate_username_ignoring_case_is_409_on_create_and_replace() -> Result<()> {
    let api = Api::start().await?;
    api.create_user(&json!({"username": "Ann@Example.com"}))
        .await?;
    let other = api
        .create_user(&json!({"username": "bob@example.com"}))
        .await?;
    let dup = api
        .post("/api/v1/users", &json!({"username": "ann@EXAMPLE.com"}))
        .await?;
    assert_eq!(
        (dup.status, dup.error()),
        (StatusCode::CONFLICT, "username taken")
    );
    let path = format!("/api/v1/users/{other}");
    let put = api
        .call(
            Method::PUT,
            &path,
            Some(&json!({"username": "ANN@example.com"})),
        )
        .await?;
    assert_eq!(
        (put.status, put.error()),
        (StatusCode::CONFLICT, "username taken")
    );
    // A user may keep its own username, in another case.
    let own = api
        .call(
            Method::PATCH,
            &path,
            Some(&json!({"username": "Bob@example.com"})),
        )
        .await?;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body["username"], "Bob@example.com");
    // Emails are not logins: two users may share one.
    let shared = api
        .post(
            "/api/v1/users",
            &json!({"username": "carol", "email": "ann@example.com"}),
        )
        .await?;
    assert_eq!(shared.status, StatusCode::CREATED);
    api.call(
        Method::PATCH,
        &path,
        Some(&json!({"email": "ANN@example.com"})),
    )
    .await?;
    let both = api.get("/api/v1/users?email=ann@example.com").await?;
    assert_eq!(both.body["total"], 2);
    Ok(())
}

#[tokio::test]
async fn list_pages_in_id_order_with_total_and_clamped_limit() -> Result<()> {
    let api = Api::start().await?;
    assert_eq!(api.server.seed_users(120), 120);
    let first = api.get("/api/v1/users").await?;
    assert_eq!(first.body["total"], 120);
    assert_eq!(
        (first.body["offset"].as_u64(), first.body["limit"].as_u64()),
        (Some(0), Some(50))
    );
    let items = first.body["items"].as_array().map_or(0, Vec::len);
    assert_eq!(items, 50);
    assert_eq!(first.body["items"][0]["username"], "user1@example.com");
    assert_eq!(first.body["items"][0]["email"], "user1@example.com");
    let last = api.get("/api/v1/users?offset=100&limit=50").await?;
    let ids: Vec<u64> = last.body["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|u| u["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, (101..=120).collect::<Vec<_>>());
    let clamped = api.get("/api/v1/users?limit=500").await?;
    assert_eq!(clamped.body["limit"], 200);
    assert_eq!(clamped.body["items"].as_array().map(Vec::len), Some(120));
    let bad = api.get("/api/v1/users?offset=-1").await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn username_email_and_status_filters_combine_and_disabled_users_are_listed() -> Result<()> {
    let api = Api::start().await?;
    api.server.seed_users(5);
    let patched = api
        .call(
            Method::PATCH,
            "/api/v1/users/3",
            Some(&json!({"status": "disabled"})),
        )
        .await?;
    assert_eq!(patched.body["status"], "disabled");
    let all = api.get("/api/v1/users").await?;
    assert_eq!(all.body["total"], 5);
    let found = api.get("/api/v1/users?email=USER3%40example.COM").await?;
    assert_eq!(found.body["total"], 1);
    assert_eq!(found.body["items"][0]["id"], 3);
    let login = api
        .get("/api/v1/users?username=User3%40Example.com")
        .await?;
    assert_eq!(login.body["total"], 1);
    assert_eq!(login.body["items"][0]["id"], 3);
    let disabled = api.get("/api/v1/users?status=disabled").await?;
    assert_eq!(disabled.body["total"], 1);
    let both = api
        .get("/api/v1/users?email=user3@example.com&status=active")
        .await?;
    assert_eq!(
        (both.status, &both.body["total"]),
        (StatusCode::OK, &json!(0))
    );
    let none = api.get("/api/v1/users?email=nobody@example.com").await?;
    assert_eq!(
        (none.status, &none.body["items"]),
        (StatusCode::OK, &json!([]))
    );
    let bad = api.get("/api/v1/users?status=gone").await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn put_resets_absent_fields_and_patch_changes_only_given_ones() -> Result<()> {
    let api = Api::start().await?;
    let id = api
        .create_user(
            &json!({"username": "ann@example.com", "first_name": "Ann", "plan": 2,
            "role": "Admin", "folders": "a,b", "metadata": {"k": "v"}, "department": "Sales",
            "notes": "vip"}),
        )
        .await?;
    let path = format!("/api/v1/users/{id}");
    let patched = api
        .call(
            Method::PATCH,
            &path,
            Some(&json!({"department": "Ops", "notes": null})),
        )
        .await?;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body["department"], "Ops");
    assert_eq!(patched.body["notes"], Value::Null);
    assert_eq!(
        (&patched.body["plan"], &patched.body["folders"]),
        (&json!(2), &json!("a,b"))
    );
    let put = api
        .call(
            Method::PUT,
            &path,
            Some(&json!({"username": "ann@example.com", "last_name": "Lee"})),
        )
        .await?;
    assert_eq!(put.status, StatusCode::OK);
    let user = &put.body;
    assert_eq!(user["id"], id);
    assert_eq!(user["last_name"], "Lee");
    assert_eq!(user["first_name"], "");
    assert_eq!(user["full_name"], "Lee");
    assert_eq!(user["plan"], 1);
    assert_eq!(user["role"], "User");
    assert_eq!(user["folders"], "");
    assert_eq!(user["metadata"], json!({}));
    assert_eq!(user["department"], Value::Null);
    assert_eq!(user["created_at"], patched.body["created_at"]);
    let no_login = api
        .call(Method::PUT, &path, Some(&json!({"first_name": "Ann"})))
        .await?;
    assert_eq!(
        (no_login.status, no_login.error()),
        (StatusCode::BAD_REQUEST, "username is required")
    );
    let missing = api
        .call(Method::PATCH, "/api/v1/users/99", Some(&json!({})))
        .await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn delete_answers_204_then_the_user_is_gone() -> Result<()> {
    let api = Api::start().await?;
    let id = api
        .create_user(&json!({"username": "ann@example.com"}))
        .await?;
    let path = format!("/api/v1/users/{id}");
    let deleted = api.call(Method::DELETE, &path, None).await?;
    assert_eq!(
        (deleted.status, &deleted.body),
        (StatusCode::NO_CONTENT, &Value::Null)
    );
    let gone = api.get(&path).await?;
    assert_eq!(
        (gone.status, gone.error()),
        (StatusCode::NOT_FOUND, "user not found")
    );
    let again = api.call(Method::DELETE, &path, None).await?;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let not_numeric = api.get("/api/v1/users/ann").await?;
    assert_eq!(
        (not_numeric.status, not_numeric.error()),
        (StatusCode::NOT_FOUND, "user not found")
    );
    // The id is not reused.
    assert_eq!(
        api.create_user(&json!({"username": "ann@example.com"}))
            .await?,
        id + 1
    );
    Ok(())
}

#[tokio::test]
async fn teams_crud_with_unique_names() -> Result<()> {
    let api = Api::start().await?;
    let created = api
        .post(
            "/api/v1/teams",
            &json!({"name": "Sales", "description": "EMEA"}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.headers[header::LOCATION], "/api/v1/teams/1");
    assert_eq!(created.body["member_count"], 0);
    assert_eq!(created.body.get("members"), None);
    let dup = api.post("/api/v1/teams", &json!({"name": "sales"})).await?;
    assert_eq!(
        (dup.status, dup.error()),
        (StatusCode::CONFLICT, "team name taken")
    );
    let unnamed = api
        .post("/api/v1/teams", &json!({"description": "x"}))
        .await?;
    assert_eq!(
        (unnamed.status, unnamed.error()),
        (StatusCode::BAD_REQUEST, "name is required")
    );
    api.create_team("Ops").await?;
    let found = api.get("/api/v1/teams?name=SALES").await?;
    assert_eq!(found.body["total"], 1);
    assert_eq!(found.body["items"][0]["description"], "EMEA");
    assert_eq!(api.get("/api/v1/teams").await?.body["total"], 2);
    let put = api
        .call(
            Method::PUT,
            "/api/v1/teams/1",
            Some(&json!({"name": "Revenue"})),
        )
        .await?;
    assert_eq!(
        (&put.body["name"], &put.body["description"]),
        (&json!("Revenue"), &Value::Null)
    );
    let patch = api
        .call(
            Method::PATCH,
            "/api/v1/teams/1",
            Some(&json!({"description": "new"})),
        )
        .await?;
    assert_eq!(
        (&patch.body["name"], &patch.body["description"]),
        (&json!("Revenue"), &json!("new"))
    );
    let deleted = api.call(Method::DELETE, "/api/v1/teams/1", None).await?;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = api.get("/api/v1/teams/1").await?;
    assert_eq!(
        (gone.status, gone.error()),
        (StatusCode::NOT_FOUND, "team not found")
    );
    Ok(())
}

#[tokio::test]
async fn member_lists_page_at_most_100_and_seed_fills_a_team() -> Result<()> {
    let api = Api::start().await?;
    let team = api.create_team("Everyone").await?;
    let seeded = api
        .post("/_admin/seed", &json!({"users": 250, "team": team}))
        .await?;
    assert_eq!(seeded.body["created"], 250);
    assert_eq!(api.server.team_members(team).map(|m| m.len()), Some(250));
    let members = format!("/api/v1/teams/{team}/members");
    let first = api.get(&members).await?;
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(50));
    assert_eq!(first.body["total"], 250);
    let big = api.get(&format!("{members}?offset=200&limit=1000")).await?;
    assert_eq!(big.body["limit"], 100);
    assert_eq!(big.body["items"].as_array().map(Vec::len), Some(50));
    let missing = api
        .post("/_admin/seed", &json!({"users": 1, "team": 999}))
        .await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn members_add_check_list_and_remove() -> Result<()> {
    let api = Api::start().await?;
    let team = api.create_team("Sales").await?;
    let ann = api
        .create_user(&json!({"username": "ann@example.com"}))
        .await?;
    let bob = api
        .create_user(&json!({"username": "bob@example.com"}))
        .await?;
    let members = format!("/api/v1/teams/{team}/members");
    for user in [bob, ann, ann] {
        let added = api.post(&members, &json!({"user_id": user})).await?;
        assert_eq!(added.status, StatusCode::NO_CONTENT, "{added:?}");
    }
    let unknown = api.post(&members, &json!({"user_id": 55})).await?;
    assert_eq!(
        (unknown.status, unknown.error()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown user 55")
    );
    let no_team = api
        .post("/api/v1/teams/9/members", &json!({"user_id": ann}))
        .await?;
    assert_eq!(
        (no_team.status, no_team.error()),
        (StatusCode::NOT_FOUND, "team not found")
    );
    let listed = api.get(&members).await?;
    assert_eq!(
        listed.body["items"],
        json!([{"user_id": ann}, {"user_id": bob}])
    );
    assert_eq!(listed.body["total"], 2);
    let check = api.get(&format!("{members}?user_id={bob}")).await?;
    assert_eq!(
        (&check.body["items"], &check.body["total"]),
        (&json!([{"user_id": bob}]), &json!(1))
    );
    assert_eq!(
        api.get(&format!("/api/v1/teams/{team}")).await?.body["member_count"],
        2
    );

    let removed = api
        .call(Method::DELETE, &format!("{members}/{bob}"), None)
        .await?;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let again = api
        .call(Method::DELETE, &format!("{members}/{bob}"), None)
        .await?;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    let check = api.get(&format!("{members}?user_id={bob}")).await?;
    assert_eq!(
        (&check.body["items"], &check.body["total"]),
        (&json!([]), &json!(0))
    );
    let no_team = api
        .call(Method::DELETE, "/api/v1/teams/9/members/1", None)
        .await?;
    assert_eq!(no_team.status, StatusCode::NOT_FOUND);

    // Deleting a user removes its memberships.
    api.call(Method::DELETE, &format!("/api/v1/users/{ann}"), None)
        .await?;
    assert_eq!(api.server.team_members(team), Some(vec![]));
    assert_eq!(
        api.get(&format!("/api/v1/teams/{team}")).await?.body["member_count"],
        0
    );
    Ok(())
}

#[tokio::test]
async fn api_needs_the_key_but_admin_does_not() -> Result<()> {
    let api = Api::start().await?;
    let url = format!("{}/api/v1/users", api.server.base_url());
    let missing = api.send(api.client.get(&url)).await?;
    assert_eq!(
        (missing.status, missing.error()),
        (StatusCode::UNAUTHORIZED, "missing or invalid API key")
    );
    let wrong = api
        .send(api.client.get(&url).header("X-Api-Key", "nope"))
        .await?;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let admin = api
        .send(
            api.client
                .get(format!("{}/_admin/calls", api.server.base_url())),
        )
        .await?;
    assert_eq!(admin.status, StatusCode::OK);
    assert_eq!(api.server.api_key(), KEY);
    assert!(
        !format!("{:?}", api.server).contains(KEY),
        "the key must not reach logs"
    );
    Ok(())
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() -> Result<()> {
    let api = Api::start().await?;
    assert_eq!(
        api.get("/api/v1/groups").await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get("/").await?.status, StatusCode::NOT_FOUND);
    let keyless = api
        .send(
            api.client
                .get(format!("{}/index.html", api.server.base_url())),
        )
        .await?;
    assert_eq!(keyless.status, StatusCode::NOT_FOUND);
    let keyless = api
        .send(
            api.client
                .get(format!("{}/api/v1/groups", api.server.base_url())),
        )
        .await?;
    assert_eq!(keyless.status, StatusCode::UNAUTHORIZED);
    let wrong = api.call(Method::DELETE, "/api/v1/users", None).await?;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    let wrong = api
        .call(Method::GET, "/api/v1/teams/1/members/2", None)
        .await?;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

#[tokio::test]
async fn calls_are_counted_by_route_template_and_admin_is_not() -> Result<()> {
    let api = Api::start().await?;
    let id = api
        .create_user(&json!({"username": "ann@example.com"}))
        .await?;
    for _ in 0..3 {
        api.get(&format!("/api/v1/users/{id}")).await?;
    }
    api.get("/api/v1/users/999").await?;
    api.get("/api/v1/users?email=ann@example.com").await?;
    let calls = api.server.calls();
    assert_eq!(calls.total, 6);
    assert_eq!(calls.route("GET /api/v1/users/{id}"), 4);
    assert_eq!(calls.route("POST /api/v1/users"), 1);
    assert_eq!(calls.route("GET /api/v1/users"), 1);

    let over_http = api.get("/_admin/calls").await?;
    assert_eq!(over_http.body["total"], 6);
    assert_eq!(over_http.body["by_route"]["GET /api/v1/users/{id}"], 4);
    let reset = api.post("/_admin/calls/reset", &json!({})).await?;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert_eq!(api.server.calls().total, 0);
    api.get("/api/v1/teams").await?;
    api.server.reset_calls();
    assert_eq!(api.server.calls(), super::CallCounts::default());
    Ok(())
}

#[tokio::test]
async fn status_fault_answers_without_applying_the_write() -> Result<()> {
    let api = Api::start().await?;
    api.server.inject(
        Fault::status(429)
            .retry_after(2)
            .times(1)
            .on("POST /api/v1/users"),
    );
    // Another route is not affected.
    assert_eq!(api.get("/api/v1/users").await?.status, StatusCode::OK);
    let refused = api
        .post("/api/v1/users", &json!({"username": "ann@example.com"}))
        .await?;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error(), "injected");
    assert_eq!(refused.headers[header::RETRY_AFTER], "2");
    assert_eq!(api.server.user_count(), 0);
    // Used up: the retry goes through, and both attempts were counted.
    api.create_user(&json!({"username": "ann@example.com"}))
        .await?;
    assert_eq!(api.server.calls().route("POST /api/v1/users"), 2);
    Ok(())
}

#[tokio::test]
async fn drop_fault_closes_the_connection_before_the_write() -> Result<()> {
    let api = Api::start().await?;
    api.server.inject(Fault::drop_connection().times(1));
    let dropped = api
        .post("/api/v1/users", &json!({"username": "ann@example.com"}))
        .await;
    assert!(dropped.is_err(), "{dropped:?}");
    assert_eq!(api.server.user_count(), 0);
    assert_eq!(api.server.calls().total, 1);
    api.create_user(&json!({"username": "ann@example.com"}))
        .await?;
    Ok(())
}

#[tokio::test]
async fn garbage_fault_answers_200_with_a_non_json_body_without_the_write() -> Result<()> {
    let api = Api::start().await?;
    api.server.inject(Fault::garbage().times(1));
    let response = api
        .request(
            Method::POST,
            "/api/v1/users",
            Some(&json!({"username": "ann@example.com"})),
        )
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await?;
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(api.server.user_count(), 0);
    Ok(())
}

#[tokio::test]
async fn truncate_fault_applies_the_write_and_loses_the_answer() -> Result<()> {
    let api = Api::start().await?;
    api.server
        .inject(Fault::truncate().times(1).on("POST /api/v1/users"));
    let response = api
        .request(
            Method::POST,
            "/api/v1/users",
            Some(&json!({"username": "ann@example.com"})),
        )
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let declared = response.content_length().unwrap_or(0);
    assert!(declared > 0);
    assert!(
        response.bytes().await.is_err(),
        "the body must be cut short"
    );
    assert_eq!(api.server.user_count(), 1);
    assert!(api.server.user_id_by_username("ann@example.com").is_some());

    // A 204 has no body to cut, so it becomes a cut-short 200; the delete is applied.
    api.server.inject(Fault::truncate().times(1).on("DELETE"));
    let response = api
        .request(Method::DELETE, "/api/v1/users/1", None)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.bytes().await.is_err(),
        "the body must be cut short"
    );
    assert_eq!(api.server.user_count(), 0);
    Ok(())
}

#[tokio::test]
async fn delay_fault_waits_then_answers_normally() -> Result<()> {
    let api = Api::start().await?;
    api.server.inject(Fault::delay(200).times(1));
    let started = Instant::now();
    let created = api
        .post("/api/v1/users", &json!({"username": "ann@example.com"}))
        .await?;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(created.status, StatusCode::CREATED);
    let faults = api.get("/_admin/faults").await?;
    assert_eq!(faults.body["faults"], json!([]));
    Ok(())
}

#[tokio::test]
async fn faults_are_managed_over_the_admin_endpoint() -> Result<()> {
    let api = Api::start().await?;
    let fault = json!({"mode": "status", "status": 503, "route": "/api/v1/users/{id}"});
    assert_eq!(
        api.post("/_admin/faults", &fault).await?.status,
        StatusCode::NO_CONTENT
    );
    let queued = api.get("/_admin/faults").await?;
    assert_eq!(queued.body["faults"][0]["status"], 503);
    for _ in 0..2 {
        let answer = api.get("/api/v1/users/1").await?;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers.get(header::RETRY_AFTER), None);
    }
    assert_eq!(api.get("/api/v1/users").await?.status, StatusCode::OK);
    let cleared = api.call(Method::DELETE, "/_admin/faults", None).await?;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/v1/users/1").await?.status,
        StatusCode::NOT_FOUND
    );
    let bad = api
        .post("/_admin/faults", &json!({"mode": "explode"}))
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = api
        .post("/_admin/faults", &json!({"mode": "status", "status": 42}))
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Admin calls were neither counted nor faulted.
    assert_eq!(api.server.calls().total, 4);
    api.server.clear_faults();
    Ok(())
}

#[tokio::test]
async fn seeding_100k_users_keeps_login_and_email_lookup_and_paging_indexed() -> Result<()> {
    let api = Api::start_with(DemoOptions {
        api_key: KEY.to_owned(),
        seed_users: 50_000,
    })
    .await?;
    let seeded = api.post("/_admin/seed", &json!({"users": 50_000})).await?;
    assert_eq!(seeded.body, json!({"created": 50_000, "total": 100_000}));
    assert_eq!(api.server.user_count(), 100_000);
    let found = api.get("/api/v1/users?email=User99999@Example.com").await?;
    assert_eq!(found.body["total"], 1);
    assert_eq!(found.body["items"][0]["id"], 99_999);
    assert_eq!(found.body["items"][0]["display_name"], "User 99999");
    let login = api
        .get("/api/v1/users?username=user99999@example.com")
        .await?;
    assert_eq!(login.body["items"][0]["id"], 99_999);
    let tail = api.get("/api/v1/users?offset=99990&limit=200").await?;
    assert_eq!(tail.body["total"], 100_000);
    assert_eq!(tail.body["items"].as_array().map(Vec::len), Some(10));
    // Seeded usernames never collide with existing users.
    api.create_user(&json!({"username": "user100001@example.com"}))
        .await?;
    assert_eq!(api.server.seed_users(2), 2);
    assert_eq!(
        api.server.user_id_by_username("user100002@example.com"),
        Some(100_002)
    );
    assert_eq!(
        api.server.user_id_by_username("user100003@example.com"),
        Some(100_003)
    );
    Ok(())
}

#[tokio::test]
async fn shutdown_stops_serving() -> Result<()> {
    let api = Api::start().await?;
    let base = api.server.base_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    api.server.shutdown().await;
    let after = api.client.get(format!("{base}/api/v1/users")).send().await;
    assert!(after.is_err(), "{after:?}");
    Ok(())
}

#[tokio::test]
async fn truncate_fault_sends_headers_and_part_of_the_declared_body_then_closes() -> Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = Api::start().await?;
    api.server.inject(Fault::truncate());
    let mut socket = tokio::net::TcpStream::connect(api.server.addr()).await?;
    let body = r#"{"username":"a@b.c"}"#;
    let request = format!(
        "POST /api/v1/users HTTP/1.1\r\nhost: demo\r\nx-api-key: {KEY}\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).await?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, sent) = raw.split_once("\r\n\r\n").context("no header end")?;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let declared: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .context("no content-length")?
        .parse()?;
    assert!(
        !sent.is_empty() && sent.len() < declared,
        "{} of {declared}",
        sent.len()
    );
    assert!(sent.starts_with(r#"{"id":1,"#), "{sent}");
    Ok(())
}
