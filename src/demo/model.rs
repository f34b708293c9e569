//! The demo API's records (users, teams) as stored and as written on the wire, and the parsing
//! of request bodies into their writable fields, with the API's validation messages.
//!
//! Pure data and checks: no locking, no HTTP, no cross-record rules (unique emails, existing
//! managers and members are checked by `db`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::Error;

/// Whether a user may sign in; disabled users are still listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// The default for new users.
    #[default]
    Active,
    /// Kept with all data but blocked.
    Disabled,
}

impl Status {
    /// Parses the wire value (`active` / `disabled`), case-sensitively as the API documents it.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// Everything a client may write on a user; PUT replaces all of it, PATCH some of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UserFields {
    pub(crate) email: String,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) display_name: Option<String>,
    pub(crate) status: Status,
    pub(crate) plan: u8,
    pub(crate) role: String,
    pub(crate) folders: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) employee_number: Option<String>,
    pub(crate) department: Option<String>,
    pub(crate) manager_id: Option<u64>,
    pub(crate) notes: Option<String>,
}

/// The role every user gets unless told otherwise.
const DEFAULT_ROLE: &str = "User";

impl Default for UserFields {
    fn default() -> Self {
        Self {
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            display_name: None,
            status: Status::Active,
            plan: 1,
            role: DEFAULT_ROLE.to_owned(),
            folders: String::new(),
            metadata: BTreeMap::new(),
            employee_number: None,
            department: None,
            manager_id: None,
            notes: None,
        }
    }
}

impl UserFields {
    /// Applies the writable fields present in `body` (unknown and read-only keys such as `id` or
    /// `created_at` are ignored, so a client may send back what it read). `null` on a nullable
    /// field clears it; `null` on a field with a default resets it to that default.
    pub(crate) fn apply(&mut self, body: &Map<String, Value>) -> Result<(), Error> {
        for (key, value) in body {
            match key.as_str() {
                "email" => self.email = string_or_default(key, value)?,
                "first_name" => self.first_name = string_or_default(key, value)?,
                "last_name" => self.last_name = string_or_default(key, value)?,
                "display_name" => self.display_name = nullable_string(key, value)?,
                "status" => {
                    self.status = match value {
                        Value::Null => Status::default(),
                        Value::String(text) => Status::parse(text).ok_or_else(bad_status)?,
                        _ => return Err(bad_status()),
                    }
                }
                "plan" => {
                    self.plan = match value {
                        Value::Null => 1,
                        Value::Number(n) if n.as_u64() == Some(1) => 1,
                        Value::Number(n) if n.as_u64() == Some(2) => 2,
                        _ => return Err(Error::invalid("plan must be 1 or 2")),
                    }
                }
                "role" => {
                    self.role = match value {
                        Value::Null => DEFAULT_ROLE.to_owned(),
                        _ => string_or_default(key, value)?,
                    }
                }
                "folders" => self.folders = string_or_default(key, value)?,
                "metadata" => self.metadata = metadata(value)?,
                "employee_number" => self.employee_number = nullable_string(key, value)?,
                "department" => self.department = nullable_string(key, value)?,
                "manager_id" => {
                    self.manager_id = match value {
                        Value::Null => None,
                        Value::Number(n) => Some(n.as_u64().ok_or_else(bad_manager)?),
                        _ => return Err(bad_manager()),
                    }
                }
                "notes" => self.notes = nullable_string(key, value)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks the rules that hold for one user on its own (the email's presence and shape).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.email.is_empty() {
            return Err(Error::invalid("email is required"));
        }
        match self.email.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(())
            }
            _ => Err(Error::invalid("email is invalid")),
        }
    }
}

fn bad_status() -> Error {
    Error::invalid("status must be active or disabled")
}

fn bad_manager() -> Error {
    Error::invalid("manager_id must be an integer")
}

/// A string field with a default: `null` gives the empty string.
fn string_or_default(key: &str, value: &Value) -> Result<String, Error> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(text) => Ok(text.clone()),
        _ => Err(Error::invalid(format!("{key} must be a string"))),
    }
}

fn nullable_string(key: &str, value: &Value) -> Result<Option<String>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        _ => Err(Error::invalid(format!("{key} must be a string or null"))),
    }
}

fn metadata(value: &Value) -> Result<BTreeMap<String, String>, Error> {
    let bad = || Error::invalid("metadata must be an object of strings");
    match value {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|v| (k.clone(), v.to_owned()))
                    .ok_or_else(bad)
            })
            .collect(),
        _ => Err(bad()),
    }
}

/// A stored user, serialised exactly as the API answers it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct User {
    pub(crate) id: u64,
    #[serde(flatten)]
    pub(crate) fields: UserFields,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) created_at: OffsetDateTime,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) updated_at: OffsetDateTime,
}

/// Everything a client may write on a team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TeamFields {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
}

impl TeamFields {
    /// Applies the writable fields present in `body`; unknown keys are ignored.
    pub(crate) fn apply(&mut self, body: &Map<String, Value>) -> Result<(), Error> {
        for (key, value) in body {
            match key.as_str() {
                "name" => self.name = string_or_default(key, value)?,
                "description" => self.description = nullable_string(key, value)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// A team needs a non-blank name.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name is required"));
        }
        Ok(())
    }
}

/// A stored team with its members (user ids); members are not part of the team's JSON.
#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub(crate) id: u64,
    pub(crate) fields: TeamFields,
    pub(crate) members: BTreeSet<u64>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: OffsetDateTime,
}

/// The wire form of a team.
#[derive(Serialize)]
pub(crate) struct TeamView<'a> {
    id: u64,
    name: &'a str,
    description: Option<&'a str>,
    member_count: usize,
    #[serde(serialize_with = "rfc3339")]
    created_at: OffsetDateTime,
    #[serde(serialize_with = "rfc3339")]
    updated_at: OffsetDateTime,
}

impl Team {
    /// The team as the API answers it.
    pub(crate) fn view(&self) -> TeamView<'_> {
        TeamView {
            id: self.id,
            name: &self.fields.name,
            description: self.fields.description.as_deref(),
            member_count: self.members.len(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The current time at whole seconds, as a legacy API stores it.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

fn rfc3339<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    let text = at.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn apply_sets_given_fields_and_ignores_read_only_ones() {
        let mut fields = UserFields::default();
        let body = obj(
            json!({"email": "a@b.c", "plan": 2, "status": "disabled", "id": 9,
            "metadata": {"k": "v"}, "manager_id": 4, "created_at": "x"}),
        );
        assert_eq!(fields.apply(&body), Ok(()));
        assert_eq!(fields.email, "a@b.c");
        assert_eq!(fields.plan, 2);
        assert_eq!(fields.status, Status::Disabled);
        assert_eq!(fields.manager_id, Some(4));
        assert_eq!(fields.metadata.get("k").map(String::as_str), Some("v"));
    }

    #[test]
    fn apply_rejects_wrong_types_with_the_field_name() {
        let cases = [
            (json!({"first_name": 3}), "first_name must be a string"),
            (json!({"plan": 3}), "plan must be 1 or 2"),
            (json!({"plan": "1"}), "plan must be 1 or 2"),
            (
                json!({"status": "gone"}),
                "status must be active or disabled",
            ),
            (
                json!({"metadata": {"k": 1}}),
                "metadata must be an object of strings",
            ),
            (
                json!({"metadata": "k=v"}),
                "metadata must be an object of strings",
            ),
            (json!({"manager_id": "4"}), "manager_id must be an integer"),
            (json!({"manager_id": -4}), "manager_id must be an integer"),
            (json!({"notes": false}), "notes must be a string or null"),
        ];
        for (body, message) in cases {
            let mut fields = UserFields::default();
            assert_eq!(fields.apply(&obj(body)), Err(Error::invalid(message)));
        }
    }

    #[test]
    fn null_resets_defaults_and_clears_nullables() {
        let mut fields = UserFields {
            role: "Admin".into(),
            plan: 2,
            notes: Some("n".into()),
            ..UserFields::default()
        };
        let body = obj(json!({"role": null, "plan": null, "notes": null}));
        assert_eq!(fields.apply(&body), Ok(()));
        assert_eq!(
            (fields.role.as_str(), fields.plan, fields.notes),
            ("User", 1, None)
        );
    }

    #[test]
    fn email_must_be_present_with_exactly_one_at() {
        let with = |email: &str| UserFields {
            email: email.into(),
            ..UserFields::default()
        };
        assert_eq!(
            with("").validate(),
            Err(Error::invalid("email is required"))
        );
        for bad in ["ab.c", "a@b@c", "@b.c", "a@"] {
            assert_eq!(
                with(bad).validate(),
                Err(Error::invalid("email is invalid")),
                "{bad}"
            );
        }
        assert_eq!(with("a@b.c").validate(), Ok(()));
    }

    #[test]
    fn user_serialises_as_the_documented_flat_object() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let user = User {
            id: 17,
            fields: UserFields::default(),
            created_at: at,
            updated_at: at,
        };
        let value = serde_json::to_value(&user).unwrap_or_default();
        assert_eq!(value["id"], json!(17));
        assert_eq!(value["status"], json!("active"));
        assert_eq!(value["display_name"], Value::Null);
        assert_eq!(value["metadata"], json!({}));
        assert_eq!(value["created_at"], json!("1970-01-01T00:00:00Z"));
        assert_eq!(value.as_object().map(Map::len), Some(16));
    }
}
