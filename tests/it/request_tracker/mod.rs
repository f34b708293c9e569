//! End to end against a real Request Tracker 5 (Debian's `request-tracker5`, REST 2 API):
//! `scimgate serve` on a loopback port in front of it with `mappings/request-tracker.yaml`
//! alone, replaying Entra's flows with Entra's documented bodies, and checking what RT really
//! holds with RT's own API.
//!
//! Needs `RT_URL` and `RT_TOKEN` (`eval "$(scripts/request-tracker/up.sh)"`). Without them the
//! tests pass vacuously on a developer machine but FAIL when `CI` is set, so CI cannot skip
//! them. Every test makes its own users and groups (unique names), so they share one RT.

mod groups;
mod users;

use std::ops::Deref;

use anyhow::{Context, Result, ensure};
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) use crate::live::id_of;
use crate::live::{self, Live, PATCH_SCHEMA, encode};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A gateway in front of RT (see [`crate::live`]: SCIM calls go through it by `Deref`), and RT's
/// own API beside it.
pub(crate) struct Rt {
    gateway: Live,
    rt: String,
    rt_token: String,
}

impl Deref for Rt {
    type Target = Live;

    fn deref(&self) -> &Live {
        &self.gateway
    }
}

/// The shipped mapping, with `edit` applied to its text (a smaller member page, to page).
async fn start(edit: impl Fn(&str) -> String) -> Result<Option<Rt>> {
    let Some((rt, rt_token)) = live::product_env(
        "RT_URL",
        "RT_TOKEN",
        "Request Tracker",
        "scripts/request-tracker/up.sh",
    )?
    else {
        return Ok(None);
    };
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/mappings/request-tracker.yaml"
    ))?;
    let gateway = live::start(
        "rt",
        "request-tracker.yaml",
        &edit(&shipped),
        &[("RT_URL", &rt), ("RT_TOKEN", &rt_token)],
    )
    .await?;
    Ok(Some(Rt {
        gateway,
        rt,
        rt_token,
    }))
}

impl Rt {
    /// One call straight to RT's REST 2 API; the status and the JSON body.
    async fn rt(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let url = format!("{}/REST/2.0{path}", self.rt);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .header("authorization", format!("token {}", self.rt_token));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body)?);
        }
        let reply = request
            .send()
            .await
            .with_context(|| format!("RT {method} {url}"))?;
        let (status, value) = live::json_of(reply, &format!("RT {method} {url}")).await?;
        Ok((status.as_u16(), value))
    }

    /// The RT user with login `name` (RT loads users by login or by number).
    async fn rt_user(&self, name: &str) -> Result<Value> {
        let (status, user) = self
            .rt(Method::GET, &format!("/user/{}", encode(name)), None)
            .await?;
        ensure!(status == 200, "RT has no user {name}: {status} {user}");
        Ok(user)
    }

    /// The RT group named `name`, if RT has an enabled one.
    async fn rt_group(&self, name: &str) -> Result<Option<Value>> {
        let query = json!([{"field": "Name", "value": name}]).to_string();
        let (status, found) = self
            .rt(
                Method::GET,
                &format!("/groups?fields=Name,id&query={}", encode(&query)),
                None,
            )
            .await?;
        ensure!(status == 200, "RT group search: {status} {found}");
        Ok(found["items"]
            .as_array()
            .and_then(|items| items.first())
            .cloned())
    }

    /// The RT ids of the user members of RT group `id`, every page.
    async fn rt_members(&self, id: &Value) -> Result<Vec<i64>> {
        let mut out = Vec::new();
        for page in 1.. {
            let (status, answer) = self
                .rt(
                    Method::GET,
                    &format!("/group/{id}/members?groups=0&per_page=100&page={page}"),
                    None,
                )
                .await?;
            ensure!(status == 200, "RT members of {id}: {status} {answer}");
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            out.extend(items.iter().filter_map(|m| m["id"].as_i64()));
            if items.len() < 100 {
                break;
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// A login no earlier run used (RT keeps every user forever).
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Entra's create body (entra-behaviour.md §1.4, Microsoft's example), for `user_name`.
fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    })
}

/// Entra's group create body (§1.8).
fn entra_group(display_name: &str) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": uuid::Uuid::new_v4().to_string(),
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    })
}

/// RT's number for a user or group, from its self link.
fn rt_id(record: &Value) -> Result<i64> {
    record["id"]
        .as_i64()
        .or_else(|| record["id"].as_str().and_then(|s| s.parse().ok()))
        .with_context(|| format!("no numeric id in {record}"))
}
