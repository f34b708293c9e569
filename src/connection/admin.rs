//! The admin API (`/admin/v1/…` on `server.admin_listen`): what a product's settings page
//! calls to create a customer's SCIM connection, show its base URL and status, switch sync
//! on and off, rotate and delete tokens, and delete the connection.
//!
//! Every call needs `Authorization: Bearer <admin token>` (one of
//! `connections.admin_token_hashes`), except the OpenAPI document at
//! `/admin/v1/openapi.json`. Answers and errors are JSON; an error says what to fix. Each
//! write refreshes this replica's copy at once; other replicas see it within
//! `connections.poll_interval`.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::file_tenants;
use super::registry::{Registry, digest, hex};
use crate::server::respond::Response;
use crate::store::connections::{Connection, ConnectionPatch, Credential, Status};

mod credentials;

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The largest page of `GET /admin/v1/connections`.
const MAX_PAGE: usize = 500;

/// Whether `path` is under the admin API.
pub fn is_admin_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower == "/admin/v1" || lower.starts_with("/admin/v1/")
}

/// A refused call: its status and what to fix.
pub(super) struct Refusal(StatusCode, String);

pub(super) fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal(status, message.into())
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Answers one admin API request.
pub async fn handle(registry: Option<&Arc<Registry>>, request: &Request<Bytes>) -> Response {
    let path = request.uri().path();
    if path.eq_ignore_ascii_case("/admin/v1/openapi.json") && request.method() == Method::GET {
        let mut response = http::Response::new(Full::new(Bytes::from_static(OPENAPI.as_bytes())));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        return response;
    }
    let result = match registry {
        None => Err(refuse(
            StatusCode::NOT_FOUND,
            "connections are not configured: add `connections.mappings` (and \
             `connections.admin_token_hashes`) to the settings",
        )),
        Some(registry) => match authorize(registry, request) {
            Ok(()) => route(registry, request).await,
            Err(refusal) => Err(refusal),
        },
    };
    match result {
        Ok((status, body)) => match body {
            Some(body) => json_response(status, &body),
            None => {
                let mut response = http::Response::new(Full::new(Bytes::new()));
                *response.status_mut() = status;
                response
            }
        },
        Err(Refusal(status, message)) => {
            let mut response = json_response(
                status,
                &json!({"status": status.as_u16(), "error": message}),
            );
            if status == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static(r#"Bearer realm="scimgate-admin""#),
                );
            }
            response
        }
    }
}

/// Answers one admin API request without checking its token (the CLI, which is trusted by
/// holding the settings): its status and JSON body (`{status, error}` for a refusal).
pub async fn answer_trusted(
    registry: &Arc<Registry>,
    request: &Request<Bytes>,
) -> (StatusCode, Option<Value>) {
    match route(registry, request).await {
        Ok(answer) => answer,
        Err(Refusal(status, message)) => (
            status,
            Some(json!({"status": status.as_u16(), "error": message})),
        ),
    }
}

fn authorize(registry: &Registry, request: &Request<Bytes>) -> Result<(), Refusal> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if registry.is_admin(token) => Ok(()),
        _ => Err(refuse(
            StatusCode::UNAUTHORIZED,
            "send `Authorization: Bearer <admin token>`, a token whose hash is listed in \
             connections.admin_token_hashes (make one with `scimgate token`)",
        )),
    }
}

pub(super) type Answer = Result<(StatusCode, Option<Value>), Refusal>;

async fn route(registry: &Arc<Registry>, request: &Request<Bytes>) -> Answer {
    let segments: Vec<String> = request
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(2)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method().clone();
    let body = request.body();
    // The settings file's tenants are listed and shown, never changed here.
    if method != Method::GET
        && let ["connections", id, ..] = parts.as_slice()
        && registry.file_tenants().iter().any(|t| t.name == *id)
    {
        return Err(refuse(StatusCode::CONFLICT, file_tenants::read_only(id)));
    }
    let answer = match (&method, parts.as_slice()) {
        (&Method::POST, ["connections"]) => create(registry, body).await,
        (&Method::GET, ["connections"]) => list(registry, request.uri().query()).await,
        (&Method::GET, ["connections", id]) => show(registry, id).await,
        (&Method::PATCH, ["connections", id]) => patch(registry, id, body).await,
        (&Method::DELETE, ["connections", id]) => delete(registry, id).await,
        (&Method::POST, ["connections", id, "tokens"]) => rotate(registry, id, body).await,
        (&Method::POST, ["connections", id, "credentials"]) => {
            credentials::add(registry, id, body).await
        }
        (&Method::DELETE, ["connections", id, "tokens", token]) => {
            delete_token(registry, id, token).await
        }
        (
            _,
            ["connections"] | ["connections", _] | ["connections", _, "tokens" | "credentials", ..],
        ) => Err(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{method} is not allowed here (see /admin/v1/openapi.json for the methods \
                     of each path)"
            ),
        )),
        _ => Err(refuse(
            StatusCode::NOT_FOUND,
            format!(
                "no such admin endpoint: {} (see /admin/v1/openapi.json)",
                request.uri().path()
            ),
        )),
    };
    if matches!(&answer, Ok((status, _)) if *status != StatusCode::OK || method != Method::GET)
        && let Err(error) = registry.refresh().await
    {
        tracing::warn!(%error, "Could not refresh the connections after an admin write.");
    }
    answer
}

pub(super) fn store_failed(error: &crate::store::Error) -> Refusal {
    tracing::warn!(%error, "Admin API: store operation failed.");
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "the store did not answer; retry in a moment",
    )
}

pub(super) fn parse_body<T: for<'de> Deserialize<'de> + Default>(
    body: &Bytes,
) -> Result<T, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the body is not the JSON this endpoint takes: {error}"),
        )
    })
}

fn parse_time(field: &str, text: Option<&str>) -> Result<Option<OffsetDateTime>, Refusal> {
    text.map(|text| {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            refuse(
                StatusCode::BAD_REQUEST,
                format!("{field}: `{text}` is not an RFC 3339 time (e.g. 2027-01-31T00:00:00Z)"),
            )
        })
    })
    .transpose()
}

pub(super) fn time_text(at: Option<OffsetDateTime>) -> Value {
    at.and_then(|at| at.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// A fresh token and its credential record.
fn issue(expires_at: Option<OffsetDateTime>) -> (String, Credential) {
    let (token, _) = crate::server::auth::new_token();
    let credential = Credential {
        id: format!("tok_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        kind: "bearer".to_owned(),
        hash: hex(&digest(&token)),
        created: OffsetDateTime::now_utc(),
        expires_at,
    };
    (token, credential)
}

/// A connection as the API shows it (never a token or its hash).
fn view(registry: &Registry, connection: &Connection) -> Value {
    let Status {
        last_request,
        last_write,
        writes_24h,
        errors_24h,
        last_error,
    } = &connection.status;
    let base_url = registry
        .product(&connection.mapping)
        .map(|(_, product)| registry.base_url(product, &connection.id));
    json!({
        "id": connection.id,
        "name": connection.name,
        "mapping": connection.mapping,
        "enabled": connection.enabled,
        "scim_base_url": base_url,
        "variables": connection.variables,
        // Names only: the values are never returned.
        "secret_variables": opened(registry, connection)
            .map(|secrets| secrets.into_keys().collect::<Vec<_>>())
            .unwrap_or_default(),
        "created": time_text(Some(connection.created)),
        "status": {
            "last_request_at": time_text(*last_request),
            "last_write_at": time_text(*last_write),
            "writes_24h": writes_24h,
            "errors_24h": errors_24h,
            "last_error": last_error,
        },
        "tokens": connection.credentials.iter().map(|c| json!({
            "id": c.id,
            "kind": c.kind,
            "created": time_text(Some(c.created)),
            "expires_at": time_text(c.expires_at),
        })).collect::<Vec<_>>(),
    })
}

/// Checks `variables` and the names of `secrets` against what `mapping` declares.
fn check_variables(
    registry: &Registry,
    mapping: &str,
    variables: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
) -> Result<(), Refusal> {
    let Some((_, product)) = registry.product(mapping) else {
        let known: Vec<&str> = registry
            .products()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "mapping: `{mapping}` is not one of connections.mappings (known: {})",
                known.join(", ")
            ),
        ));
    };
    let declared = product.mapping.connection_variables();
    let secret = product.mapping.secret_variables();
    if let Some(name) = variables.keys().find(|name| secret.contains(name)) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("variables.{name}: a secret variable; send it in `secret_variables`"),
        ));
    }
    if let Some(name) = secrets.keys().find(|name| !secret.contains(name)) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "secret_variables.{name}: the mapping `{mapping}` declares no such secret \
                 variable (secret: {})",
                secret.join(", ")
            ),
        ));
    }
    if !secrets.is_empty() && registry.secret_key().is_none() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "secret_variables: the gateway has no key to seal them; set \
             connections.secret_key_from_env or secret_key_from_file (32 bytes, e.g. \
             `openssl rand -hex 32`)",
        ));
    }
    if let Some(missing) = secret.iter().find(|name| !secrets.contains_key(*name)) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("secret_variables.{missing}: missing (the mapping `{mapping}` uses it)"),
        ));
    }
    if let Some(unknown) = variables.keys().find(|name| !declared.contains(name)) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "variables.{unknown}: the mapping `{mapping}` declares no such variable \
                 (declared: {})",
                declared.join(", ")
            ),
        ));
    }
    if let Some(missing) = declared
        .iter()
        .find(|name| !secret.contains(name) && !variables.contains_key(*name))
    {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("variables.{missing}: missing (the mapping `{mapping}` uses it)"),
        ));
    }
    Ok(())
}

/// `secrets` sealed for connection `id` (`None` when there are none).
fn seal(
    registry: &Registry,
    id: &str,
    secrets: &BTreeMap<String, String>,
) -> Result<Option<String>, Refusal> {
    if secrets.is_empty() {
        return Ok(None);
    }
    let key = registry.secret_key().ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "secret_variables: set connections.secret_key_from_env or secret_key_from_file",
        )
    })?;
    key.seal(id, secrets).map(Some).map_err(|why| {
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("sealing failed: {why}"),
        )
    })
}

/// A connection's secret variables, opened (empty when it has none).
fn opened(
    registry: &Registry,
    connection: &Connection,
) -> Result<BTreeMap<String, String>, Refusal> {
    let Some(sealed) = &connection.secrets else {
        return Ok(BTreeMap::new());
    };
    let key = registry.secret_key().ok_or_else(|| {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the connection has secret variables but the gateway has no key to open them \
             (connections.secret_key_from_env or secret_key_from_file)",
        )
    })?;
    key.open(&connection.id, sealed).map_err(|why| {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the connection's secret variables do not open: {why}"),
        )
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    id: Option<String>,
    name: Option<String>,
    mapping: Option<String>,
    enabled: Option<bool>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    secret_variables: BTreeMap<String, String>,
    token_expires_at: Option<String>,
}

async fn create(registry: &Registry, body: &Bytes) -> Answer {
    let body: CreateBody = parse_body(body)?;
    let mapping = match (body.mapping, registry.products()) {
        (Some(mapping), _) => mapping,
        (None, [only]) => only.name.clone(),
        (None, _) => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "mapping: missing (name one of connections.mappings)",
            ));
        }
    };
    check_variables(registry, &mapping, &body.variables, &body.secret_variables)?;
    let id = match body.id {
        Some(id) if valid_id(&id) => id,
        Some(id) => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                format!("id: `{id}` is not an id (1 to 64 letters, digits, - and _)"),
            ));
        }
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    if registry.file_tenants().iter().any(|t| t.name == id) {
        return Err(refuse(StatusCode::CONFLICT, file_tenants::read_only(&id)));
    }
    let expires_at = parse_time("token_expires_at", body.token_expires_at.as_deref())?;
    let secrets = seal(registry, &id, &body.secret_variables)?;
    let (token, credential) = issue(expires_at);
    let connection = Connection {
        name: body.name.unwrap_or_else(|| id.clone()),
        id,
        mapping,
        enabled: body.enabled.unwrap_or(true),
        variables: body.variables,
        secrets,
        created: OffsetDateTime::now_utc(),
        credentials: vec![credential.clone()],
        status: Status::default(),
    };
    match registry.store().create_connection(connection.clone()).await {
        Ok(()) => {}
        Err(crate::store::Error::Conflict { .. }) => {
            return Err(refuse(
                StatusCode::CONFLICT,
                format!(
                    "id: a connection `{}` exists already (choose another id, or leave it out)",
                    connection.id
                ),
            ));
        }
        Err(error) => return Err(store_failed(&error)),
    }
    let mut shown = view(registry, &connection);
    if let Some(object) = shown.as_object_mut() {
        object.insert("token".to_owned(), Value::String(token));
        object.insert("token_id".to_owned(), Value::String(credential.id));
    }
    tracing::info!(connection = %connection.id, mapping = %connection.mapping, "Connection created.");
    Ok((StatusCode::CREATED, Some(shown)))
}

async fn list(registry: &Registry, query: Option<&str>) -> Answer {
    let mut after = None;
    let mut limit = 100;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "after" => after = Some(value.into_owned()),
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=MAX_PAGE).contains(l))
                    .ok_or_else(|| {
                        refuse(
                            StatusCode::BAD_REQUEST,
                            format!("limit: `{value}` is not a number from 1 to {MAX_PAGE}"),
                        )
                    })?;
            }
            other => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    format!("unknown query parameter `{other}` (allowed: after, limit)"),
                ));
            }
        }
    }
    let first_page = after.is_none();
    let page = registry
        .store()
        .list_connections(after, limit + 1)
        .await
        .map_err(|error| store_failed(&error))?;
    let more = page.len() > limit;
    // The settings file's tenants lead the first page (read-only; not counted in `limit`).
    let first = registry.file_tenants();
    let items: Vec<Value> = first
        .iter()
        .filter(|_| first_page)
        .map(|tenant| tenant.view(registry.public_base_url()))
        .chain(
            page.iter()
                .take(limit)
                .map(|connection| view(registry, connection)),
        )
        .collect();
    let next = more
        .then(|| page.get(limit - 1).map(|c| c.id.clone()))
        .flatten();
    Ok((
        StatusCode::OK,
        Some(json!({"items": items, "next_after": next})),
    ))
}

async fn found(registry: &Registry, id: &str) -> Result<Connection, Refusal> {
    registry
        .store()
        .get_connection(id)
        .await
        .map_err(|error| store_failed(&error))?
        .ok_or_else(|| {
            refuse(
                StatusCode::NOT_FOUND,
                format!("no connection `{id}` (list them with GET /admin/v1/connections)"),
            )
        })
}

async fn show(registry: &Registry, id: &str) -> Answer {
    if let Some(tenant) = registry.file_tenants().into_iter().find(|t| t.name == id) {
        return Ok((
            StatusCode::OK,
            Some(tenant.view(registry.public_base_url())),
        ));
    }
    let connection = found(registry, id).await?;
    Ok((StatusCode::OK, Some(view(registry, &connection))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    enabled: Option<bool>,
    variables: Option<BTreeMap<String, Option<String>>>,
    secret_variables: Option<BTreeMap<String, Option<String>>>,
}

async fn patch(registry: &Registry, id: &str, body: &Bytes) -> Answer {
    let body: PatchBody = parse_body(body)?;
    let current = found(registry, id).await?;
    let mut secrets = None;
    if body.variables.is_some() || body.secret_variables.is_some() {
        let variables = match &body.variables {
            Some(changes) => crate::store::connections::patched(current.variables.clone(), changes),
            None => current.variables.clone(),
        };
        let old = opened(registry, &current)?;
        let new = match &body.secret_variables {
            Some(changes) => crate::store::connections::patched(old, changes),
            None => old,
        };
        check_variables(registry, &current.mapping, &variables, &new)?;
        if body.secret_variables.is_some() {
            secrets = seal(registry, id, &new)?;
        }
    }
    if body.name.as_deref().is_some_and(str::is_empty) {
        return Err(refuse(StatusCode::BAD_REQUEST, "name: must not be empty"));
    }
    let patch = ConnectionPatch {
        name: body.name,
        enabled: body.enabled,
        variables: body.variables,
        secrets,
    };
    let changed = registry
        .store()
        .update_connection(id, patch)
        .await
        .map_err(|error| store_failed(&error))?;
    if !changed {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no connection `{id}`"),
        ));
    }
    let connection = found(registry, id).await?;
    Ok((StatusCode::OK, Some(view(registry, &connection))))
}

async fn delete(registry: &Registry, id: &str) -> Answer {
    let deleted = registry
        .store()
        .delete_connection(id)
        .await
        .map_err(|error| store_failed(&error))?;
    if !deleted {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no connection `{id}`"),
        ));
    }
    tracing::info!(connection = %id, "Connection deleted.");
    Ok((StatusCode::NO_CONTENT, None))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    expires_at: Option<String>,
}

/// Adds `credential` to connection `id` in the store (404 when there is no such connection).
pub(super) async fn store_credential(
    registry: &Registry,
    id: &str,
    credential: &Credential,
) -> Result<(), Refusal> {
    let added = registry
        .store()
        .add_credential(id, credential.clone())
        .await
        .map_err(|error| store_failed(&error))?;
    if added {
        Ok(())
    } else {
        Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no connection `{id}`"),
        ))
    }
}

async fn rotate(registry: &Registry, id: &str, body: &Bytes) -> Answer {
    let body: RotateBody = parse_body(body)?;
    let expires_at = parse_time("expires_at", body.expires_at.as_deref())?;
    let (token, credential) = issue(expires_at);
    store_credential(registry, id, &credential).await?;
    Ok((
        StatusCode::CREATED,
        Some(json!({
            "id": credential.id,
            "token": token,
            "created": time_text(Some(credential.created)),
            "expires_at": time_text(credential.expires_at),
        })),
    ))
}

async fn delete_token(registry: &Registry, id: &str, token: &str) -> Answer {
    let deleted = registry
        .store()
        .delete_credential(id, token)
        .await
        .map_err(|error| store_failed(&error))?;
    if !deleted {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!(
                "connection `{id}` has no token `{token}` (GET the connection lists its tokens)"
            ),
        ));
    }
    Ok((StatusCode::NO_CONTENT, None))
}
