//! `engine::Error`: why one SCIM operation could not be carried out, as facts.
//!
//! Variants say what happened and carry the error of the layer that failed (mapping, backend,
//! store, SCIM protocol). Choosing the HTTP status, the SCIM error body and whose fault it is
//! (the log level) is `crate::error`'s job (`crate::error::classify`), not this module's.

use crate::{backend, mapping, scim, store};

/// A SCIM operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The mapping has no such resource type (or it is switched off).
    #[error("resource type `{0}` is not served by this mapping")]
    UnknownResourceType(String),
    /// No resource with this SCIM id exists.
    #[error("{resource_type} `{id}` not found")]
    NotFound {
        /// `User` or `Group`.
        resource_type: String,
        /// The SCIM id asked for.
        id: String,
    },
    /// The request body is not a SCIM resource (not a JSON object).
    #[error("the request body must be a JSON object")]
    NotAnObject,
    /// The mapping refused the request before any backend call (required attribute, allowed
    /// values, email domain); every problem found.
    #[error("{}", join(.0))]
    Invalid(Vec<mapping::Error>),
    /// The mapping could not translate or render something at run time.
    #[error(transparent)]
    Mapping(#[from] mapping::Error),
    /// A filter the engine built (repair lookups) does not parse.
    #[error(transparent)]
    Filter(#[from] scim::filter::Error),
    /// The PATCH request does not parse or cannot be applied.
    #[error(transparent)]
    Patch(#[from] scim::patch::Error),
    /// The backend says a unique value is already taken.
    #[error("backend call {operation} failed: {message}{}", value_text(.value.as_deref()))]
    Uniqueness {
        /// The backend operation label (`users.create`).
        operation: String,
        /// The backend status and the matched rule's meaning (its message with `show_message`).
        message: String,
        /// The SCIM value that collides (the `userName` or `displayName` sent), when known.
        value: Option<String>,
    },
    /// A create carries a `create.unique` value an existing resource already holds (found by
    /// the lookup before the create, for backends that accept duplicates).
    #[error("`{attribute}` `{value}` is already taken by {resource_type} `{id}`")]
    Taken {
        /// `User` or `Group`.
        resource_type: String,
        /// The unique attribute (`userName`).
        attribute: String,
        /// The value the create carries.
        value: String,
        /// The SCIM id of the resource that holds it.
        id: String,
    },
    /// The backend refused a value (400/422, or a classified invalid-value answer).
    #[error("backend call {operation} refused the value: {message}")]
    Rejected {
        /// The backend operation label.
        operation: String,
        /// The backend status and the matched rule's meaning (its message with `show_message`).
        message: String,
    },
    /// Group member ids that do not name existing users, every one found; nothing was changed.
    #[error("{}{}; no changes were applied", unknown_text(.members), more_text(*.more))]
    UnknownMembers {
        /// The member ids as the client sent them.
        members: Vec<String>,
        /// Checking stopped at a bound: the request may hold more bad ids.
        more: bool,
    },
    /// The backend refused to remove a member who is still in the group.
    #[error("backend call {operation} refused to remove member `{member}`; it stays in the group")]
    MemberRefused {
        /// The backend operation label (`groups.members.remove`).
        operation: String,
        /// The member id as the client sent it (or the backend id for remove-all).
        member: String,
    },
    /// A backend call failed after earlier calls of the same SCIM request had landed, and
    /// undoing those failed too: the request was applied in part, and this says exactly how.
    #[error(
        "{source}; undoing the earlier changes failed too, so this request was applied in part: \
         still in place: {}; undone: {}; not applied: {}",
        list_text(.landed), list_text(.undone), list_text(.not_applied)
    )]
    Partial {
        /// The failure that stopped the request.
        source: Box<Self>,
        /// Changes that landed and are still in place (their undo failed).
        landed: Vec<String>,
        /// Changes that landed and were undone.
        undone: Vec<String>,
        /// Changes of the request that were never made (the failed one first).
        not_applied: Vec<String>,
    },
    /// A backend call failed (status, unreachable, undecodable, timeout).
    #[error(transparent)]
    Backend(#[from] backend::Error),
    /// The backend answered 2xx with something the mapping cannot use (no id, no items).
    #[error("backend call {operation} answered without {missing}")]
    BadAnswer {
        /// The backend operation label.
        operation: String,
        /// What was missing.
        missing: String,
    },
    /// A next-page link that leaves the backend's base URL; it is not followed.
    #[error("backend call {operation} returned a next-page link outside the backend")]
    ForeignNextLink {
        /// The backend operation label.
        operation: String,
    },
    /// A filter that needs more resources than the mapping allows reading.
    #[error("the filter matches more than {cap} backend resources; narrow it")]
    TooMany {
        /// The most resources the engine reads for one filter.
        cap: u32,
    },
    /// The gateway's store failed.
    #[error("store: {0}")]
    Store(#[from] store::Error),
}

impl Error {
    /// For [`Error::Partial`]: `still in place: …; undone: …; not applied: …`.
    pub fn partial_summary(&self) -> Option<String> {
        let Self::Partial {
            landed,
            undone,
            not_applied,
            ..
        } = self
        else {
            return None;
        };
        Some(format!(
            "still in place: {}; undone: {}; not applied: {}",
            list_text(landed),
            list_text(undone),
            list_text(not_applied)
        ))
    }

    /// Whether the failure means "this resource does not exist" (backend 404 or a classified
    /// not-found answer), so a filter can answer with zero results instead.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound { .. } => true,
            Self::Backend(backend::Error::Status { status, .. }) => status.as_u16() == 404,
            _ => false,
        }
    }
}

fn join(errors: &[mapping::Error]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn value_text(value: Option<&str>) -> String {
    value.map_or_else(String::new, |v| format!(" (`{v}` is already in use)"))
}

fn unknown_text(members: &[String]) -> String {
    let quoted: Vec<String> = members.iter().map(|m| format!("`{m}`")).collect();
    match quoted.as_slice() {
        [one] => format!("member {one} does not exist"),
        _ => format!("members {} do not exist", quoted.join(", ")),
    }
}

fn more_text(more: bool) -> &'static str {
    if more {
        " (checking stopped there; the request may hold more ids that do not exist)"
    } else {
        ""
    }
}

fn list_text(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        items.join(", ")
    }
}
