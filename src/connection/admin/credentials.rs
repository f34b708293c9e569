//! `POST /admin/v1/connections/{id}/credentials`: the credentials beyond gateway-issued
//! tokens (Basic users, Entra JWT pins, product keys).

use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Answer, parse_body, refuse, store_credential, time_text};
use crate::connection::registry::Registry;
use crate::store::connections::Credential;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialBody {
    kind: String,
    username: Option<String>,
    password: Option<String>,
    tenant_id: Option<String>,
    jwks_url: Option<String>,
}

/// `POST …/credentials`: a Basic user (the password is hashed with Argon2id here and never
/// stored), an Entra JWT pinned to the customer's tenant id, or `product_key` (the product's
/// own API keys, checked with its `product_keys.introspect` call).
pub(super) async fn add(registry: &Registry, id: &str, body: &Bytes) -> Answer {
    let body: CredentialBody = parse_body(body)?;
    let bad = |message: &str| refuse(StatusCode::BAD_REQUEST, message);
    let hash = match body.kind.as_str() {
        "basic" => {
            let username = body.username.filter(|u| !u.is_empty() && !u.contains(':'));
            let Some(username) = username else {
                return Err(bad(
                    "username: missing or contains `:` (Basic user names cannot)",
                ));
            };
            let password = body.password.filter(|p| p.len() >= 12);
            let Some(password) = password else {
                return Err(bad("password: missing or shorter than 12 characters"));
            };
            let phc =
                tokio::task::spawn_blocking(move || crate::server::auth::hash_password(&password))
                    .await
                    .map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "hashing failed"))?
                    .map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "hashing failed"))?;
            format!("{username}:{phc}")
        }
        "entra_jwt" => {
            let Some(tenant) = body.tenant_id else {
                return Err(bad(
                    "tenant_id: missing (the customer's Entra tenant id, a GUID)",
                ));
            };
            let mut pin = json!({"connection": id, "tenant_id": tenant});
            if let Some(url) = body.jwks_url {
                pin["jwks_url"] = Value::String(url);
            }
            format!("entra_jwt:{pin}")
        }
        crate::connection::registry::PRODUCT_KEY => {
            // The product's own keys: its mapping says how to check them.
            let live = registry
                .connection(id)
                .ok_or_else(|| refuse(StatusCode::NOT_FOUND, format!("no connection `{id}`")))?;
            let product = &registry.products()[live.product];
            if product.mapping.product_keys().is_none() {
                return Err(bad(&format!(
                    "kind: `product_key` needs a `product_keys:` section in the mapping of \
                     connection mapping `{}` (how to check a key with the product)",
                    product.name
                )));
            }
            if live.takes_product_keys() {
                return Err(refuse(
                    StatusCode::CONFLICT,
                    "the connection already takes product keys",
                ));
            }
            format!("{}:{id}", crate::connection::registry::PRODUCT_KEY)
        }
        other => {
            return Err(bad(&format!(
                "kind: `{other}` is not a credential kind (basic, entra_jwt, product_key; bearer \
                 tokens come from POST …/tokens)"
            )));
        }
    };
    let credential = Credential {
        id: format!("cred_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        kind: body.kind,
        hash,
        created: OffsetDateTime::now_utc(),
        expires_at: None,
    };
    if let Some(settings) =
        crate::connection::registry::credential_settings(std::slice::from_ref(&credential))
        && let Err(problems) = crate::server::auth::Authenticator::from_settings(&settings)
    {
        return Err(bad(&problems.join("; ")));
    }
    store_credential(registry, id, &credential).await?;
    Ok((
        StatusCode::CREATED,
        Some(json!({
            "id": credential.id,
            "kind": credential.kind,
            "created": time_text(Some(credential.created)),
        })),
    ))
}
