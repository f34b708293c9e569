//! Building the demo API's responses: JSON bodies with their content type, the list envelope,
//! `{"error": ...}` bodies, 201 with `Location`, and 204.

use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use serde_json::Value;

use super::body::DemoBody;
use super::db::Page;
use super::model::User;

/// A response of the demo API.
pub(crate) type Reply = Response<DemoBody>;

/// The list envelope of every collection endpoint.
#[derive(Serialize)]
struct ListBody<T> {
    items: Vec<T>,
    total: usize,
    offset: usize,
    limit: usize,
}

pub(crate) fn list<T: Serialize>(page: Page<T>, offset: usize, limit: usize) -> Reply {
    ok(&ListBody {
        items: page.items,
        total: page.total,
        offset,
        limit,
    })
}

pub(crate) fn json_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

pub(crate) fn with_json_type(mut reply: Reply) -> Reply {
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, json_type());
    reply
}

/// A JSON reply with `status`.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Reply {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut reply = with_json_type(Response::new(DemoBody::full(bytes)));
            *reply.status_mut() = status;
            reply
        }
        Err(error) => {
            tracing::error!(%error, "Could not serialise a demo API answer.");
            error_reply(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// `{"error": message}` with `status`.
pub(crate) fn error_reply(status: StatusCode, message: &str) -> Reply {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut reply = with_json_type(Response::new(DemoBody::full(body)));
    *reply.status_mut() = status;
    reply
}

pub(crate) fn ok<T: Serialize + ?Sized>(value: &T) -> Reply {
    json(StatusCode::OK, value)
}

pub(crate) fn created<T: Serialize + ?Sized>(location: &str, value: &T) -> Reply {
    let mut reply = json(StatusCode::CREATED, value);
    if let Ok(location) = HeaderValue::from_str(location) {
        reply.headers_mut().insert(header::LOCATION, location);
    }
    reply
}

/// An empty 204.
pub(crate) fn no_content() -> Reply {
    let mut reply = Response::new(DemoBody::empty());
    *reply.status_mut() = StatusCode::NO_CONTENT;
    reply
}

/// The wire JSON of a user, for the library accessors.
pub(crate) fn user_value(user: &User) -> Option<Value> {
    serde_json::to_value(user).ok()
}
