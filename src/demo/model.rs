//! The demo API's records (users, teams) as stored and as written on the wire, and the parsing
//! of request bodies into their writable fields, with the API's validation messages.
//!
//! Pure data and checks: no locking, no HTTP, no cross-record rules (unique usernames and
//! existing members are checked by `db`).

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
///
/// Like most products, a user signs in with a `username` that is not its `email`: the email is
/// optional, free text (a legacy import may hold anything there) and several users may share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UserFields {
    pub(crate) username: String,
    pub(crate) email: Option<String>,
    pub(crate) home_email: Option<String>,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) display_name: Option<String>,
    pub(crate) nickname: Option<String>,
    pub(crate) job_title: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) mobile: Option<String>,
    pub(crate) address: Option<String>,
    pub(crate) street: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) status: Status,
    pub(crate) plan: u8,
    pub(crate) role: String,
    pub(crate) folders: String,
    pub(crate) tag: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) employee_number: Option<String>,
    pub(crate) department: Option<String>,
    /// The user's manager as the client named it (an id, an employee number, a login: whatever
    /// the directory uses), stored and answered verbatim; an HR-style free-text reference.
    /// Also answered as `manager_id`, the field's name before it became text (v1 mappings).
    #[serde(flatten, serialize_with = "manager_and_alias")]
    pub(crate) manager: Option<String>,
    pub(crate) notes: Option<String>,
    /// The `full_name` as the last write gave it; when that write gave none, `full_name` is
    /// derived from the first and last name (see [`UserFields::full_name`]). Answered as
    /// `full_name` only.
    #[serde(skip)]
    pub(crate) formatted: Option<String>,
}

/// The role every user gets unless told otherwise.
const DEFAULT_ROLE: &str = "User";

impl Default for UserFields {
    fn default() -> Self {
        Self {
            username: String::new(),
            email: None,
            home_email: None,
            first_name: String::new(),
            last_name: String::new(),
            display_name: None,
            nickname: None,
            job_title: None,
            phone: None,
            mobile: None,
            address: None,
            street: None,
            city: None,
            region: None,
            postal_code: None,
            country: None,
            status: Status::Active,
            plan: 1,
            role: DEFAULT_ROLE.to_owned(),
            folders: String::new(),
            tag: None,
            metadata: BTreeMap::new(),
            employee_number: None,
            department: None,
            manager: None,
            notes: None,
            formatted: None,
        }
    }
}

impl UserFields {
    /// Applies the writable fields present in `body` (unknown and read-only keys such as `id` or
    /// `created_at` are ignored, so a client may send back what it read). `null` on a nullable
    /// field clears it; `null` on a field with a default resets it to that default.
    pub(crate) fn apply(&mut self, body: &Map<String, Value>) -> Result<(), Error> {
        let previous = self.manager.clone();
        self.apply_over(body, previous.as_deref())
    }

    /// [`UserFields::apply`] for a user whose stored manager is `previous` (a PUT starts from
    /// defaults). A body with both `manager` and its older name `manager_id` that differ
    /// carries a client's change in one and the value it read back in the other: the one that
    /// is not `previous` wins (a v1 mapping writes `manager_id`, a newer one `manager`).
    pub(crate) fn apply_over(
        &mut self,
        body: &Map<String, Value>,
        previous: Option<&str>,
    ) -> Result<(), Error> {
        // A write that gives no `full_name` derives it again from the names it leaves.
        self.formatted = None;
        for (key, value) in body {
            match key.as_str() {
                "username" => self.username = string_or_default(key, value)?,
                "email" => self.email = nullable_string(key, value)?,
                "home_email" => self.home_email = nullable_string(key, value)?,
                "first_name" => self.first_name = string_or_default(key, value)?,
                "last_name" => self.last_name = string_or_default(key, value)?,
                "display_name" => self.display_name = nullable_string(key, value)?,
                "nickname" => self.nickname = nullable_string(key, value)?,
                "job_title" => self.job_title = nullable_string(key, value)?,
                "phone" => self.phone = nullable_string(key, value)?,
                "mobile" => self.mobile = nullable_string(key, value)?,
                "address" => self.address = nullable_string(key, value)?,
                "street" => self.street = nullable_string(key, value)?,
                "city" => self.city = nullable_string(key, value)?,
                "region" => self.region = nullable_string(key, value)?,
                "postal_code" => self.postal_code = nullable_string(key, value)?,
                "country" => self.country = nullable_string(key, value)?,
                "tag" => self.tag = nullable_string(key, value)?,
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
                "notes" => self.notes = nullable_string(key, value)?,
                // Stored as given; blank or `null` goes back to deriving it from the names.
                "full_name" => {
                    self.formatted =
                        nullable_string(key, value)?.filter(|name| !name.trim().is_empty());
                }
                _ => {}
            }
        }
        let manager = body.get("manager").map(|v| manager_text("manager", v));
        let alias = body
            .get("manager_id")
            .map(|v| manager_text("manager_id", v));
        self.manager = match (manager.transpose()?, alias.transpose()?) {
            (Some(m), Some(a)) if m != a && m.as_deref() == previous => a,
            (Some(m), _) => m,
            (None, Some(a)) => a,
            (None, None) => return Ok(()),
        };
        Ok(())
    }

    /// Checks the rules that hold for one user on its own: a non-blank username without
    /// whitespace, control characters or slashes (it is a login and appears in URLs).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.username.trim().is_empty() {
            return Err(Error::invalid("username is required"));
        }
        if self
            .username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '\\')
        {
            return Err(Error::invalid(
                "username must not contain spaces, slashes or control characters",
            ));
        }
        Ok(())
    }

    /// The `full_name` the API answers: as the client gave it, else first and last name, as a
    /// product shows them (`null` when the user has neither).
    pub(crate) fn full_name(&self) -> Option<String> {
        self.formatted.clone().or_else(|| self.joined_names())
    }

    /// A full name given again unchanged by a write that changes the names follows them, when
    /// it was in step with the old names (it was their join): a client that sends back what it
    /// read with a new family name means the new name. A full name of its own stays.
    pub(crate) fn follow_names(&mut self, old: &Self) {
        let renamed = old.first_name != self.first_name || old.last_name != self.last_name;
        let in_step = old.full_name() == old.joined_names();
        if renamed && in_step && self.formatted.is_some() && self.formatted == old.full_name() {
            self.formatted = None;
        }
    }

    /// First and last name joined (`None` when the user has neither).
    fn joined_names(&self) -> Option<String> {
        let first = self.first_name.trim();
        let last = self.last_name.trim();
        match (first.is_empty(), last.is_empty()) {
            (false, false) => Some(format!("{first} {last}")),
            (false, true) => Some(first.to_owned()),
            (true, false) => Some(last.to_owned()),
            (true, true) => None,
        }
    }
}

/// A manager reference as text; its older name `manager_id` was an integer id. An empty
/// reference is no manager.
fn manager_text(key: &str, value: &Value) -> Result<Option<String>, Error> {
    let text = match value {
        Value::Number(n) if key == "manager_id" => Some(n.to_string()),
        _ => nullable_string(key, value)?,
    };
    Ok(text.filter(|m| !m.trim().is_empty()))
}

/// `manager`, and under its older name `manager_id` (a number when the text is one, as the
/// field was an integer id then) so a v1 mapping reads back what it wrote.
fn manager_and_alias<S: serde::Serializer>(
    manager: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let alias = match manager.as_deref().map(|m| (m, m.parse::<u64>())) {
        Some((_, Ok(n))) => Value::from(n),
        Some((m, Err(_))) => Value::from(m),
        None => Value::Null,
    };
    let mut map = serializer.serialize_map(Some(2))?;
    map.serialize_entry("manager", manager)?;
    map.serialize_entry("manager_id", &alias)?;
    map.end()
}

fn bad_status() -> Error {
    Error::invalid("status must be active or disabled")
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
    /// As given, else derived from the names on every write (see [`UserFields::full_name`]).
    pub(crate) full_name: Option<String>,
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
            json!({"username": "ann", "email": "a@b.c", "plan": 2, "status": "disabled", "id": 9,
            "metadata": {"k": "v"}, "manager": "SuzzyQ", "created_at": "x"}),
        );
        assert_eq!(fields.apply(&body), Ok(()));
        assert_eq!(fields.username, "ann");
        assert_eq!(fields.email.as_deref(), Some("a@b.c"));
        assert_eq!(fields.plan, 2);
        assert_eq!(fields.status, Status::Disabled);
        assert_eq!(fields.manager.as_deref(), Some("SuzzyQ"));
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
            (json!({"manager": 4}), "manager must be a string or null"),
            (json!({"notes": false}), "notes must be a string or null"),
            (json!({"username": 7}), "username must be a string"),
            (json!({"email": 7}), "email must be a string or null"),
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
    fn username_is_required_and_email_is_free_text() {
        let with = |username: &str, email: Option<&str>| UserFields {
            username: username.into(),
            email: email.map(Into::into),
            ..UserFields::default()
        };
        for blank in ["", "   "] {
            assert_eq!(
                with(blank, Some("a@b.c")).validate(),
                Err(Error::invalid("username is required"))
            );
        }
        for bad in ["a b", "../../x", "a\\b", "a\u{0}b", "a\r\nb"] {
            assert_eq!(
                with(bad, None).validate(),
                Err(Error::invalid(
                    "username must not contain spaces, slashes or control characters"
                )),
                "{bad:?}"
            );
        }
        for email in [None, Some("a@b.c"), Some("emailName357")] {
            assert_eq!(with("ann", email).validate(), Ok(()), "{email:?}");
        }
        assert_eq!(with("Test_User_0a1b#?&%@x.y", None).validate(), Ok(()));
    }

    #[test]
    fn full_name_joins_the_names_that_are_there() {
        let with = |first: &str, last: &str| UserFields {
            first_name: first.into(),
            last_name: last.into(),
            ..UserFields::default()
        };
        assert_eq!(with("Ann", "Lee").full_name().as_deref(), Some("Ann Lee"));
        assert_eq!(with(" Ann ", "").full_name().as_deref(), Some("Ann"));
        assert_eq!(with("", "Lee").full_name().as_deref(), Some("Lee"));
        assert_eq!(with("", "").full_name(), None);
    }

    #[test]
    fn a_full_name_given_is_kept_as_given_and_blank_derives_it_again() {
        let mut fields = UserFields::default();
        let body = |value: Value| {
            json!({"first_name": "Ann", "last_name": "Lee", "full_name": value})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(fields.apply(&body(json!("Dr. Ann Lee"))), Ok(()));
        assert_eq!(fields.full_name().as_deref(), Some("Dr. Ann Lee"));
        assert_eq!(fields.apply(&body(json!(" "))), Ok(()));
        assert_eq!(fields.full_name().as_deref(), Some("Ann Lee"));
        assert_eq!(fields.apply(&body(Value::Null)), Ok(()));
        assert_eq!(fields.full_name().as_deref(), Some("Ann Lee"));
        // A later write without `full_name` (a PATCH of the family name) derives it again.
        assert_eq!(fields.apply(&body(json!("Dr. Ann Lee"))), Ok(()));
        let family = json!({"last_name": "Li"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(fields.apply(&family), Ok(()));
        assert_eq!(fields.full_name().as_deref(), Some("Ann Li"));
        // Sent back unchanged with new names: one in step with the old names follows them,
        // one of its own stays.
        let old = fields.clone();
        let renamed = json!({"first_name": "Ann", "last_name": "Lu", "full_name": "Ann Li"});
        assert_eq!(
            fields.apply(renamed.as_object().unwrap_or(&Map::new())),
            Ok(())
        );
        fields.follow_names(&old);
        assert_eq!(fields.full_name().as_deref(), Some("Ann Lu"));
        assert_eq!(fields.apply(&body(json!("Dr. A. Lee"))), Ok(()));
        let old = fields.clone();
        let renamed = json!({"first_name": "Ann", "last_name": "Lu", "full_name": "Dr. A. Lee"});
        assert_eq!(
            fields.apply(renamed.as_object().unwrap_or(&Map::new())),
            Ok(())
        );
        fields.follow_names(&old);
        assert_eq!(fields.full_name().as_deref(), Some("Dr. A. Lee"));
    }

    #[test]
    fn user_serialises_as_the_documented_flat_object() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let user = User {
            id: 17,
            fields: UserFields::default(),
            full_name: None,
            created_at: at,
            updated_at: at,
        };
        let value = serde_json::to_value(&user).unwrap_or_default();
        assert_eq!(value["id"], json!(17));
        assert_eq!(value["status"], json!("active"));
        assert_eq!(value["display_name"], Value::Null);
        assert_eq!(value["metadata"], json!({}));
        assert_eq!(value["created_at"], json!("1970-01-01T00:00:00Z"));
        assert_eq!(value["email"], Value::Null);
        assert_eq!(value["full_name"], Value::Null);
        // `manager_id`, the older name of `manager`, is answered too (v1 mappings read it).
        assert_eq!(value["manager_id"], Value::Null);
        assert_eq!(value.as_object().map(Map::len), Some(31));
    }
}
