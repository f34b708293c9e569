//! Against a real Redmine 5 (Debian's `redmine`, REST API with the admin's key): `api` checks the
//! facts of Redmine's own API that `mappings/redmine.yaml` relies on (status codes, JSON shapes,
//! error texts, list filters, id reuse); `users`, `groups` and `reuse` put `scimgate serve` in
//! front of it with the shipped mapping alone (see [`crate::live`]), replay Entra's flows with
//! Entra's documented bodies and check both the SCIM answers and what Redmine really holds.
//!
//! Needs `REDMINE_URL`, `REDMINE_API_KEY`, `REDMINE_CF_EMPLOYEE_NUMBER` and
//! `REDMINE_CF_DEPARTMENT` (`eval "$(scripts/redmine/up.sh)"`). Without `REDMINE_URL` the tests
//! pass vacuously on a developer machine but FAIL when `CI` is set, so CI cannot skip them.
//! Names are unique per run, but the tests run one at a time ([`serial`]): Redmine gives a new
//! user or group the highest principal id plus one, so the id-reuse checks need nobody else
//! creating principals meanwhile.

/// `check!(name, got, want)`: fails, naming the check and both values, unless `got == want`
/// (a `Result`, so `check!(…)?`).
macro_rules! check {
    ($name:expr, $got:expr, $want:expr $(,)?) => {{
        let (got, want) = ($got, $want);
        if got == want {
            anyhow::Ok(())
        } else {
            Err(anyhow::anyhow!("{}: got {:?}, want {:?}", $name, got, want))
        }
    }};
}

mod api;
mod groups;
mod reuse;
mod users;

use std::ops::Deref;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

use crate::live::{self, Live, encode};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Held by every Redmine test for its whole run (see the module doc: id reuse).
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Waits for the other Redmine tests to finish; hold the guard for the whole test.
async fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// Redmine's REST API as its admin, and the ids of the two user custom fields up.sh made.
pub(crate) struct Redmine {
    url: String,
    key: String,
    cf_employee_number: i64,
    cf_department: i64,
    client: reqwest::Client,
}

/// One answer of Redmine: the status, the body parsed (`Null` when empty or not JSON) and raw.
pub(crate) struct Reply {
    status: u16,
    body: Value,
    raw: String,
}

impl Reply {
    /// Fails (naming the check) unless the status is `status` and `ok` holds.
    fn expect(&self, name: &str, status: u16, ok: bool) -> Result<()> {
        ensure!(
            self.status == status && ok,
            "{name}: status {} (want {status}), body: {}",
            self.status,
            self.raw.chars().take(400).collect::<String>()
        );
        Ok(())
    }

    /// The `id` of the `user` or `group` Redmine answered (`kind`).
    fn id(&self, kind: &str) -> Result<i64> {
        self.body[kind]["id"]
            .as_i64()
            .with_context(|| format!("no {kind} id in {}", self.raw))
    }
}

/// Redmine's env from up.sh: `None` to skip on a developer machine; an error in CI.
fn redmine() -> Result<Option<Redmine>> {
    let Some((url, key)) = live::product_env(
        "REDMINE_URL",
        "REDMINE_API_KEY",
        "Redmine",
        "scripts/redmine/up.sh",
    )?
    else {
        return Ok(None);
    };
    let field = |name: &str| -> Result<i64> {
        let text =
            std::env::var(name).with_context(|| format!("REDMINE_URL is set but {name} is not"))?;
        text.trim()
            .parse()
            .with_context(|| format!("{name} is not a custom field id: {text:?}"))
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(Some(Redmine {
        url,
        key,
        cf_employee_number: field("REDMINE_CF_EMPLOYEE_NUMBER")?,
        cf_department: field("REDMINE_CF_DEPARTMENT")?,
        client: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()?,
    }))
}

impl Redmine {
    /// A request to `path` with nothing set (no key, no content type).
    fn bare(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.url))
    }

    /// Sends `request`; a body that is not JSON reads as `Null` (its text stays in `raw`).
    async fn send(&self, request: RequestBuilder) -> Result<Reply> {
        let reply = request.send().await.context("Redmine request")?;
        let status = reply.status().as_u16();
        let raw = reply.text().await?;
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Ok(Reply { status, body, raw })
    }

    /// One admin call with the API key; a `body` goes as `application/json` text.
    async fn raw(&self, method: Method, path: &str, body: Option<&str>) -> Result<Reply> {
        let mut request = self
            .bare(method, path)
            .header("X-Redmine-API-Key", &self.key);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        self.send(request).await
    }

    /// One admin call with the API key and a JSON body.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        let text = body.map(Value::to_string);
        self.raw(method, path, text.as_deref()).await
    }

    /// Redmine's id for a login (any status, any case), if it has one.
    async fn user_id(&self, login: &str) -> Result<Option<i64>> {
        let path = format!("/users.json?status=&name={}", encode(login));
        let reply = self.call(Method::GET, &path, None).await?;
        reply.expect("list users by name", 200, true)?;
        Ok(reply.body["users"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| {
                u["login"]
                    .as_str()
                    .is_some_and(|l| l.eq_ignore_ascii_case(login))
            })
            .and_then(|u| u["id"].as_i64()))
    }

    /// Redmine's id for a group name, if it has one.
    async fn group_id(&self, name: &str) -> Result<Option<i64>> {
        let reply = self.call(Method::GET, "/groups.json", None).await?;
        reply.expect("list groups", 200, true)?;
        Ok(reply.body["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["name"] == name)
            .and_then(|g| g["id"].as_i64()))
    }

    /// The Redmine ids of group `id`'s members, in Redmine's order.
    async fn members(&self, id: i64) -> Result<Vec<i64>> {
        let reply = self
            .call(
                Method::GET,
                &format!("/groups/{id}.json?include=users"),
                None,
            )
            .await?;
        reply.expect("group with its users", 200, true)?;
        Ok(reply.body["group"]["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["id"].as_i64())
            .collect())
    }
}

/// A gateway in front of Redmine (SCIM calls go through it by `Deref`), and Redmine beside it.
pub(crate) struct Gateway {
    gateway: Live,
    redmine: Redmine,
}

impl Deref for Gateway {
    type Target = Live;

    fn deref(&self) -> &Live {
        &self.gateway
    }
}

/// The gateway with the shipped `mappings/redmine.yaml`, or `None` (skip, see [`redmine`]).
async fn start() -> Result<Option<Gateway>> {
    let Some(redmine) = redmine()? else {
        return Ok(None);
    };
    let mapping = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/mappings/redmine.yaml"
    ))?;
    let employee = redmine.cf_employee_number.to_string();
    let department = redmine.cf_department.to_string();
    let gateway = live::start(
        "redmine",
        "redmine.yaml",
        &mapping,
        &[
            ("REDMINE_URL", &redmine.url),
            ("REDMINE_API_KEY", &redmine.key),
            ("REDMINE_CF_EMPLOYEE_NUMBER", &employee),
            ("REDMINE_CF_DEPARTMENT", &department),
        ],
    )
    .await?;
    Ok(Some(Gateway { gateway, redmine }))
}

impl Gateway {
    /// `outcome`, with the gateway log's tail added to a failure.
    fn with_log<T>(&self, outcome: Result<T>) -> Result<T> {
        outcome.map_err(|e| {
            let log = self.log_text();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            e.context(format!("scimgate log (tail):\n{tail}"))
        })
    }

    /// A SCIM call whose status is the check: the body it answered.
    async fn scim(
        &self,
        name: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        want: u16,
    ) -> Result<Value> {
        let (status, value) = self.send(method, path, body, false).await?;
        ensure!(
            status.as_u16() == want,
            "{name}: status {status} (want {want}), body: {value}"
        );
        Ok(value)
    }

    /// The total of a `Users` filter (which must answer 200).
    async fn count(&self, filter: &str) -> Result<Value> {
        Ok(self.filter("Users", filter).await?["totalResults"].clone())
    }

    /// Creates a user through the gateway with Entra's body: its SCIM id and Redmine's id.
    async fn create_user(&self, login: &str) -> Result<(String, i64)> {
        let body = entra_user(login, &uuid::Uuid::new_v4().to_string(), login);
        let created = self
            .scim("create a user", Method::POST, "/Users", Some(&body), 201)
            .await?;
        let rm = self
            .redmine
            .user_id(login)
            .await?
            .with_context(|| format!("Redmine has no {login}"))?;
        Ok((live::id_of(&created)?, rm))
    }
}

/// A suffix no earlier run used.
fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// Entra's create body (entra-behaviour.md §1.4), with the two enterprise fields.
fn entra_user(user_name: &str, external_id: &str, email: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Test Family", "familyName": "Family", "givenName": "Test"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": "E-1001", "department": "Sales"},
    })
}

/// A group create body without members.
fn group_body(display_name: &str) -> Value {
    json!({"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": []})
}

/// The SCIM ids of a list answer's resources.
fn ids(list: &Value) -> Vec<Value> {
    list["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["id"].clone())
        .collect()
}
