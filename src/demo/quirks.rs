//! Behaviour switches that make the example API answer like other legacy products, so the
//! gateway's mapping features for them can be tested over real sockets: duplicates accepted,
//! coded JSON errors (a missing id as 403), list totals in a header, reused ids.
//!
//! Only the switch values and the coded error body; the database and the handler apply them.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::Error;

/// The header that carries a list's total when [`Quirks::total_header`] is on.
pub const TOTAL_HEADER: &str = "X-Total-Count";

/// How the example API departs from its documented behaviour; all off by default. Set with
/// `POST /_admin/quirks` (the whole set, as JSON) or [`DemoServer::set_quirks`](super::DemoServer::set_quirks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quirks {
    /// A new or renamed user may take a username another user has (201: a second user) instead
    /// of `409 username taken`, as products that do not enforce unique logins do.
    pub duplicates: bool,
    /// Errors are `{"errors":[{"message":…,"extensions":{"code":…}}]}`: a missing user or team
    /// id answers `403 RECORD_NOT_FOUND`, a taken username or team name `400
    /// RECORD_NOT_UNIQUE`; other errors keep their status with a code naming it.
    pub error_codes: bool,
    /// List answers (users, teams, members) give the total only in `X-Total-Count`, not as
    /// `total` in the body.
    pub total_header: bool,
    /// A new user or team takes the id of the most recently deleted one, as a table without
    /// AUTOINCREMENT does.
    pub reuse_ids: bool,
    /// List answers give summaries, as many products' list endpoints do: user items without
    /// `notes`, team items without `description` (a get still answers in full).
    pub summaries: bool,
}

/// Keys a list item leaves out under [`Quirks::summaries`].
pub(crate) const SUMMARY_OMITS: [&str; 2] = ["notes", "description"];

/// The status and coded body of `error` in the `error_codes` style.
pub(crate) fn coded(error: &Error) -> (StatusCode, Value) {
    let (status, code) = match error {
        Error::NotFound(_) => (StatusCode::FORBIDDEN, "RECORD_NOT_FOUND"),
        Error::Conflict(_) => (StatusCode::BAD_REQUEST, "RECORD_NOT_UNIQUE"),
        Error::Unauthorized => (error.status(), "UNAUTHENTICATED"),
        Error::Invalid(_) | Error::Json(_) | Error::UnknownUser(_) => {
            (error.status(), "BAD_USER_INPUT")
        }
        _ => (error.status(), "REQUEST_REFUSED"),
    };
    let body = json!({
        "errors": [{ "message": error.to_string(), "extensions": { "code": code } }]
    });
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_record_is_403_and_a_taken_name_400_with_codes() {
        let (status, body) = coded(&Error::NotFound("user"));
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["errors"][0]["extensions"]["code"], "RECORD_NOT_FOUND");
        let (status, body) = coded(&Error::Conflict("username taken"));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["errors"][0]["extensions"]["code"], "RECORD_NOT_UNIQUE");
        assert_eq!(body["errors"][0]["message"], "username taken");
        assert_eq!(coded(&Error::NoRoute("/x".into())).0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn admin_json_sets_some_switches_and_refuses_unknown_ones() -> Result<(), serde_json::Error> {
        let quirks: Quirks = serde_json::from_str(r#"{"duplicates":true}"#)?;
        assert_eq!(
            quirks,
            Quirks {
                duplicates: true,
                ..Quirks::default()
            }
        );
        assert!(serde_json::from_str::<Quirks>(r#"{"explode":true}"#).is_err());
        Ok(())
    }
}
