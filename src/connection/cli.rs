//! `scimgate connections …`: the admin API from the command line, over the store the
//! settings name (the same code answers both; the CLI is trusted by holding the settings).
//! Text for people, or the API's JSON with `--json`.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use super::Registry;
use super::admin::answer_trusted;

/// One `scimgate connections` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create a connection (prints its SCIM base URL and its token, once).
    Create {
        /// Its id (random when `None`).
        id: Option<String>,
        /// Its display name.
        name: Option<String>,
        /// Its mapping (`connections.mappings[].name`; may be left out when there is one).
        mapping: Option<String>,
        /// `NAME=VALUE` variables.
        variables: Vec<(String, String)>,
    },
    /// List every connection.
    List,
    /// Show one connection and its status.
    Show(String),
    /// Switch provisioning on.
    Enable(String),
    /// Switch provisioning off (403 "provisioning is switched off").
    Disable(String),
    /// Issue a new token (the old ones keep working until deleted).
    Rotate(String),
    /// Delete one token.
    DeleteToken(String, String),
    /// Let the connection take the product's own API keys (`product_keys:` in its mapping).
    AcceptProductKeys(String),
    /// Delete a connection (its tokens stop at once; its id map goes).
    Delete(String),
}

fn request(method: Method, path: &str, body: Option<Value>) -> Request<Bytes> {
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().unwrap_or_default();
    request
}

fn encode(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Runs `action`; the text to print, or the error to show (with a failing exit).
pub async fn run(
    registry: &Arc<Registry>,
    action: Action,
    as_json: bool,
) -> Result<String, String> {
    let path = |id: &str| format!("/admin/v1/connections/{}", encode(id));
    let mut items = Vec::new();
    let (status, body) = match &action {
        Action::Create {
            id,
            name,
            mapping,
            variables,
        } => {
            let variables: serde_json::Map<String, Value> = variables
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let mut body = json!({"variables": variables});
            for (key, value) in [("id", id), ("name", name), ("mapping", mapping)] {
                if let Some(value) = value {
                    body[key] = Value::String(value.clone());
                }
            }
            answer_trusted(
                registry,
                &request(Method::POST, "/admin/v1/connections", Some(body)),
            )
            .await
        }
        Action::List => {
            let mut after: Option<String> = None;
            loop {
                let query = match &after {
                    Some(after) => format!("?limit=500&after={}", encode(after)),
                    None => "?limit=500".to_owned(),
                };
                let (status, body) = answer_trusted(
                    registry,
                    &request(Method::GET, &format!("/admin/v1/connections{query}"), None),
                )
                .await;
                let page = body.unwrap_or(Value::Null);
                if status != StatusCode::OK {
                    return Err(error_text(&page));
                }
                items.extend(page["items"].as_array().cloned().unwrap_or_default());
                match page["next_after"].as_str() {
                    Some(next) => after = Some(next.to_owned()),
                    None => break,
                }
            }
            (StatusCode::OK, Some(json!({"items": items})))
        }
        Action::Show(id) => answer_trusted(registry, &request(Method::GET, &path(id), None)).await,
        Action::Enable(id) | Action::Disable(id) => {
            let enabled = matches!(action, Action::Enable(_));
            answer_trusted(
                registry,
                &request(Method::PATCH, &path(id), Some(json!({"enabled": enabled}))),
            )
            .await
        }
        Action::Rotate(id) => {
            answer_trusted(
                registry,
                &request(Method::POST, &format!("{}/tokens", path(id)), None),
            )
            .await
        }
        Action::DeleteToken(id, token) => {
            answer_trusted(
                registry,
                &request(
                    Method::DELETE,
                    &format!("{}/tokens/{}", path(id), encode(token)),
                    None,
                ),
            )
            .await
        }
        Action::Delete(id) => {
            answer_trusted(registry, &request(Method::DELETE, &path(id), None)).await
        }
        Action::AcceptProductKeys(id) => {
            let body = json!({"kind": super::registry::PRODUCT_KEY});
            answer_trusted(
                registry,
                &request(
                    Method::POST,
                    &format!("{}/credentials", path(id)),
                    Some(body),
                ),
            )
            .await
        }
    };
    let body = body.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(error_text(&body));
    }
    if as_json {
        return Ok(serde_json::to_string_pretty(&body).unwrap_or_default());
    }
    Ok(text(&action, &body))
}

fn error_text(body: &Value) -> String {
    body["error"].as_str().unwrap_or("failed").to_owned()
}

fn line(connection: &Value) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        connection["id"].as_str().unwrap_or(""),
        if connection["enabled"] == true {
            "enabled"
        } else {
            "disabled"
        },
        connection["mapping"].as_str().unwrap_or(""),
        connection["scim_base_url"].as_str().unwrap_or(""),
        connection["name"].as_str().unwrap_or(""),
    )
}

fn text(action: &Action, body: &Value) -> String {
    match action {
        Action::Create { .. } => format!(
            "Connection {} created.\nSCIM Base URL (Tenant URL): {}\nSecret Token (shown once, \
             not stored): {}\n",
            body["id"].as_str().unwrap_or(""),
            body["scim_base_url"].as_str().unwrap_or(""),
            body["token"].as_str().unwrap_or(""),
        ),
        Action::List => body["items"]
            .as_array()
            .map(|items| items.iter().map(|c| line(c) + "\n").collect())
            .unwrap_or_default(),
        Action::Show(_) | Action::Enable(_) | Action::Disable(_) => {
            let status = &body["status"];
            format!(
                "{}\nvariables: {}\ncreated: {}\nlast request: {}\nlast successful write: {}\n\
                 writes (24 h): {}\nerrors (24 h): {}\nlast error: {}\ntokens: {}\n",
                line(body),
                body["variables"],
                body["created"].as_str().unwrap_or("-"),
                status["last_request_at"].as_str().unwrap_or("-"),
                status["last_write_at"].as_str().unwrap_or("-"),
                status["writes_24h"],
                status["errors_24h"],
                status["last_error"],
                body["tokens"]
                    .as_array()
                    .map(|t| t
                        .iter()
                        .filter_map(|t| t["id"].as_str())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default(),
            )
        }
        Action::Rotate(_) => format!(
            "New token {} (shown once, not stored): {}\nThe old tokens keep working until \
             deleted (`scimgate connections delete-token ID TOKEN_ID`).\n",
            body["id"].as_str().unwrap_or(""),
            body["token"].as_str().unwrap_or(""),
        ),
        Action::DeleteToken(..) => "Token deleted.\n".to_owned(),
        Action::AcceptProductKeys(id) => format!(
            "Connection {id} now takes the product's API keys as its Secret Token (credential {}).\n",
            body["id"].as_str().unwrap_or("")
        ),
        Action::Delete(id) => format!("Connection {id} deleted.\n"),
    }
}
