//! The demo's `/_admin/...` endpoints for tests and the benchmark: call counts, fault injection,
//! behaviour switches (quirks) and seeding. They need no API key and are never counted or faulted.

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use super::error::Error;
use super::faults::{Fault, FaultMode};
use super::handler::{Shared, json_value};
use super::quirks::Quirks;
use super::reply::{Reply, error_reply, json, no_content};

/// The most users one seed request may create.
const MAX_SEED: usize = 1_000_000;

/// The body of `POST /_admin/seed`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRequest {
    users: usize,
    /// Make the new users members of this team.
    #[serde(default)]
    team: Option<u64>,
}

/// Handles one `/_admin/...` request.
pub(crate) async fn admin(shared: &Shared, req: Request<Incoming>) -> Reply {
    match handle(shared, req).await {
        Ok(reply) => reply,
        Err(error) => error_reply(error.status(), &error.to_string()),
    }
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Result<Reply, Error> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let allowed: &[Method] = match path.as_str() {
        "/_admin/calls" | "/_admin/requests" => &[Method::GET],
        "/_admin/calls/reset" | "/_admin/seed" => &[Method::POST],
        "/_admin/faults" => &[Method::GET, Method::POST, Method::DELETE],
        "/_admin/quirks" => &[Method::GET, Method::POST],
        _ => return Err(Error::NoRoute(path)),
    };
    if !allowed.contains(&method) {
        return Err(Error::MethodNotAllowed(method.to_string()));
    }
    match (path.as_str(), method) {
        ("/_admin/calls", _) => Ok(json(StatusCode::OK, &shared.control().calls)),
        ("/_admin/requests", _) => Ok(json(
            StatusCode::OK,
            &json!({ "requests": shared.control().recent() }),
        )),
        ("/_admin/calls/reset", _) => {
            shared.control().calls = Default::default();
            Ok(no_content())
        }
        ("/_admin/quirks", Method::GET) => Ok(json(StatusCode::OK, &shared.read().quirks())),
        ("/_admin/quirks", _) => {
            let quirks: Quirks = serde_json::from_value(json_value(req.into_body()).await?)
                .map_err(|e| Error::invalid(format!("invalid quirks: {e}")))?;
            shared.write().set_quirks(quirks);
            Ok(json(StatusCode::OK, &quirks))
        }
        ("/_admin/faults", Method::GET) => Ok(json(
            StatusCode::OK,
            &json!({ "faults": shared.control().faults() }),
        )),
        ("/_admin/faults", Method::DELETE) => {
            shared.control().clear_faults();
            Ok(no_content())
        }
        ("/_admin/faults", _) => {
            let fault: Fault = serde_json::from_value(json_value(req.into_body()).await?)
                .map_err(|e| Error::invalid(format!("invalid fault: {e}")))?;
            if fault.mode == FaultMode::Status
                && fault
                    .status
                    .is_some_and(|s| StatusCode::from_u16(s).is_err())
            {
                return Err(Error::invalid("status must be an HTTP status code"));
            }
            shared.control().inject(fault);
            Ok(no_content())
        }
        _ => {
            let seed: SeedRequest = serde_json::from_value(json_value(req.into_body()).await?)
                .map_err(|e| Error::invalid(format!("invalid seed request: {e}")))?;
            if seed.users > MAX_SEED {
                return Err(Error::invalid(format!("at most {MAX_SEED} users per seed")));
            }
            let mut db = shared.write();
            let created = match seed.team {
                Some(team) => db.seed_members(team, seed.users)?.len(),
                None => db.seed_users(seed.users),
            };
            Ok(json(
                StatusCode::OK,
                &json!({ "created": created, "total": db.user_count() }),
            ))
        }
    }
}
