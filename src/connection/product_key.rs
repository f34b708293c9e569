//! Product-issued keys as a connection's credential (`product_key`): the key is checked with
//! one `auth.introspect` backend call (the mapping's `product_keys:`), the outcome kept for
//! `cache_seconds`, and the key becomes the backend credential of the request.
//!
//! Outcomes: a 2xx answer whose `expect` fields hold the connection's values accepts the key;
//! any other 2xx, and 401, 403 or 404, refuse it (the same 401 as every wrong credential);
//! anything else (another status, no answer, a time-out) is the backend's fault and answers
//! 503, uncached, so the next request checks again. Keys are kept only as SHA-256 digests
//! (of connection id, its variables and the key), never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::registry::lock;
use crate::backend::{Backend, BackendRequest, Forwarded};
use crate::mapping::ProductKeys;
use crate::operation::BackendOp;

/// At most this many outcomes are cached; past it, expired ones go, then all.
const MAX_CACHED: usize = 10_000;

/// What an introspect call said of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The product accepts the key for this connection.
    Accepted,
    /// The product refuses it (or it belongs to another workspace).
    Refused,
    /// The key could not be checked (the backend's fault).
    Unavailable,
}

/// The cache of introspect outcomes, shared by every connection of the registry.
#[derive(Debug, Default)]
pub(crate) struct KeyChecks {
    outcomes: Mutex<HashMap<[u8; 32], (Instant, Verdict)>>,
}

impl KeyChecks {
    /// Checks `key` for connection `connection` (its `variables`) through `backend`; returns
    /// the verdict and, when accepted, the credential to forward.
    pub(crate) async fn check(
        &self,
        backend: &dyn Backend,
        keys: &ProductKeys,
        connection: &str,
        variables: &std::collections::BTreeMap<String, String>,
        key: &str,
        deadline: Duration,
    ) -> (Verdict, Option<Forwarded>) {
        let (name, value) = keys.credential(key, variables);
        let Some(forwarded) = Forwarded::new(&name, &value) else {
            return (Verdict::Refused, None);
        };
        let id = cache_key(connection, variables, key);
        let now = Instant::now();
        if let Some((until, verdict)) = lock(&self.outcomes).get(&id).copied()
            && until > now
        {
            return (verdict, accepted(verdict, forwarded));
        }
        let verdict = introspect(backend, keys, variables, &forwarded, now + deadline).await;
        tracing::debug!(connection, verdict = ?verdict, "Checked a product key (auth.introspect).");
        if verdict != Verdict::Unavailable && !keys.cache().is_zero() {
            let mut outcomes = lock(&self.outcomes);
            if outcomes.len() >= MAX_CACHED {
                outcomes.retain(|_, (until, _)| *until > now);
                if outcomes.len() >= MAX_CACHED {
                    outcomes.clear();
                }
            }
            outcomes.insert(id, (now + keys.cache(), verdict));
        }
        (verdict, accepted(verdict, forwarded))
    }
}

fn accepted(verdict: Verdict, forwarded: Forwarded) -> Option<Forwarded> {
    (verdict == Verdict::Accepted).then_some(forwarded)
}

/// The digest an outcome is cached under: the connection, its variables (a changed
/// `workspace_id` checks again) and the key.
fn cache_key(
    connection: &str,
    variables: &std::collections::BTreeMap<String, String>,
    key: &str,
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(connection.as_bytes());
    for (name, value) in variables {
        hasher.update([0]);
        hasher.update(name.as_bytes());
        hasher.update([1]);
        hasher.update(value.as_bytes());
    }
    hasher.update([2]);
    hasher.update(key.as_bytes());
    hasher.finalize().into()
}

async fn introspect(
    backend: &dyn Backend,
    keys: &ProductKeys,
    variables: &std::collections::BTreeMap<String, String>,
    forwarded: &Forwarded,
    deadline: Instant,
) -> Verdict {
    let Ok(rendered) = keys.introspect(variables) else {
        return Verdict::Unavailable;
    };
    let mut request = BackendRequest::new(
        BackendOp::Introspect,
        rendered.method,
        rendered.path_template,
        rendered.path_and_query,
    );
    for (name, value) in &rendered.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Verdict::Unavailable;
        };
        request.headers.push((name, value));
    }
    request.headers.retain(|(name, _)| *name != forwarded.name);
    request
        .headers
        .push((forwarded.name.clone(), forwarded.value.clone()));
    request.body = rendered.body;
    request.own_credential = true;
    match backend.call(request, deadline).await {
        Ok(answer) if keys.accepts(answer.body.as_ref(), variables) => Verdict::Accepted,
        Ok(_) => Verdict::Refused,
        Err(error) => match error.status().map(|s| s.as_u16()) {
            Some(401 | 403 | 404) => Verdict::Refused,
            _ => Verdict::Unavailable,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Answer, Recorder};
    use http::{Method, StatusCode};
    use serde_json::json;
    use std::collections::BTreeMap;

    const MAPPING: &str = r#"
version: 1
backend: { base_url: "http://127.0.0.1:9/", auth: { api_key: { header: X-Api-Key, value: admin } } }
connection_variables: { workspace_id: {} }
product_keys:
  header: X-Api-Key
  introspect: { method: GET, path: /api/keys/self }
  expect: { "$.workspace_id": "{conn.workspace_id}" }
  cache_seconds: 60
users:
  id: "$.id"
  operations:
    create: { method: POST, path: /u }
    get:    { method: GET, path: "/u/{id}" }
    list:   { method: GET, path: /u, items: "$[*]" }
    replace: { method: PUT, path: "/u/{id}" }
    delete: { method: DELETE, path: "/u/{id}" }
  attributes:
    userName: "$.login"
"#;

    fn keys() -> ProductKeys {
        let env = |_: &str| None;
        let mapping = crate::mapping::load("k.yaml", MAPPING, &env).unwrap();
        mapping.product_keys().unwrap().clone()
    }

    fn vars(workspace: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("workspace_id".to_owned(), workspace.to_owned())])
    }

    #[tokio::test]
    async fn keys_are_checked_once_per_cache_period_and_bound_to_their_workspace() {
        let backend = Recorder::answering(|call| {
            let key = call.headers.get("x-api-key").and_then(|v| v.to_str().ok());
            match key {
                Some("key-42") => Answer::ok(json!({"workspace_id": 42})),
                Some("key-down") => Answer::status(StatusCode::BAD_GATEWAY),
                _ => Answer::status(StatusCode::UNAUTHORIZED),
            }
        });
        let checks = KeyChecks::default();
        let keys = keys();
        let run = |connection: &'static str, workspace: &'static str, key: &'static str| {
            let (checks, keys, backend) = (&checks, &keys, &backend);
            async move {
                checks
                    .check(
                        backend,
                        keys,
                        connection,
                        &vars(workspace),
                        key,
                        Duration::from_secs(5),
                    )
                    .await
            }
        };
        let (verdict, forwarded) = run("a", "42", "key-42").await;
        assert_eq!(verdict, Verdict::Accepted);
        let forwarded = forwarded.unwrap();
        assert_eq!(forwarded.name, "x-api-key");
        assert!(forwarded.value.is_sensitive());
        // The second request is answered from the cache.
        assert_eq!(run("a", "42", "key-42").await.0, Verdict::Accepted);
        assert_eq!(backend.calls().len(), 1);
        let call = &backend.calls()[0];
        assert_eq!(
            (call.method.clone(), call.path()),
            (Method::GET, "/api/keys/self")
        );
        assert_eq!(call.operation, "auth.introspect");
        // Workspace 42's key on a connection of workspace 7: refused.
        assert_eq!(run("b", "7", "key-42").await.0, Verdict::Refused);
        assert_eq!(run("a", "42", "wrong").await, (Verdict::Refused, None));
        // A backend fault is not cached: each request checks again.
        assert_eq!(run("a", "42", "key-down").await.0, Verdict::Unavailable);
        assert_eq!(run("a", "42", "key-down").await.0, Verdict::Unavailable);
        assert_eq!(backend.calls().len(), 5);
        // A key that is no header value is refused without a call.
        assert_eq!(run("a", "42", "bad\nkey").await.0, Verdict::Refused);
        assert_eq!(backend.calls().len(), 5);
    }
}
