//! Backend operation names shared by every layer: [`OpName`] (what a mapping file calls an
//! operation, `members.add`) and [`BackendOp`] (what one backend call is for: that operation
//! of one [`ResourceKind`], labelled `groups.members.add` in logs, metrics and error details).
//!
//! A low module of plain values: the mapping names its operations with it, the engine plans
//! with it, and the backend client and metrics label calls with it, so no layer parses a label
//! back from text. It knows nothing of mappings, HTTP or I/O.

use std::fmt;

use crate::scim::ResourceKind;

/// A backend operation of a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpName {
    /// Create one resource.
    Create,
    /// Read one resource by `{id}`.
    Get,
    /// List a page of resources.
    List,
    /// Replace a whole resource (PUT).
    Replace,
    /// Change some fields (PATCH/POST).
    Update,
    /// Delete one resource.
    Delete,
    /// Soft-delete one resource.
    Deactivate,
    /// Add one group member (`{id}`, `{member}`).
    AddMember,
    /// Remove one group member (`{id}`, `{member}`).
    RemoveMember,
    /// List a group's members (`{id}`).
    ListMembers,
}

impl OpName {
    /// Every operation, in the order mapping files list them.
    pub const ALL: [Self; 10] = [
        Self::Create,
        Self::Get,
        Self::List,
        Self::Replace,
        Self::Update,
        Self::Delete,
        Self::Deactivate,
        Self::AddMember,
        Self::RemoveMember,
        Self::ListMembers,
    ];

    /// The operation a mapping file names (`members.add`), if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// The name used in mapping files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Get => "get",
            Self::List => "list",
            Self::Replace => "replace",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Deactivate => "deactivate",
            Self::AddMember => "members.add",
            Self::RemoveMember => "members.remove",
            Self::ListMembers => "members.list",
        }
    }
}

/// What one backend call is for: a mapping operation of one resource kind, or the OAuth2 token
/// request the client makes on its own, or the check of a product key. Its `Display` is the
/// label logs, metrics and error details carry (`users.create`, `groups.members.add`,
/// `oauth2.token`, `auth.introspect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendOp {
    /// The operation `name` of resources of `kind`.
    Resource {
        /// The resource kind the call is for.
        kind: ResourceKind,
        /// The mapping operation it runs.
        name: OpName,
    },
    /// The OAuth2 client-credentials token request (`backend.auth.oauth2`).
    OAuthToken,
    /// The check of a product-issued key (`product_keys.introspect`).
    Introspect,
}

impl BackendOp {
    /// The operation `name` of resources of `kind`.
    pub fn new(kind: ResourceKind, name: OpName) -> Self {
        Self::Resource { kind, name }
    }

    /// The mapping operation, for a resource call (the mapping's `errors: on:` rules).
    pub fn name(self) -> Option<OpName> {
        match self {
            Self::Resource { name, .. } => Some(name),
            Self::OAuthToken | Self::Introspect => None,
        }
    }
}

impl fmt::Display for BackendOp {
    /// `users.create`: the kind's mapping key, a dot, the operation name; `oauth2.token`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resource { kind, name } => write!(f, "{}.{}", kind.key(), name.as_str()),
            Self::OAuthToken => f.write_str("oauth2.token"),
            Self::Introspect => f.write_str("auth.introspect"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BackendOp, OpName};
    use crate::scim::ResourceKind;

    #[test]
    fn labels_keep_their_text() {
        let label = |kind, name| BackendOp::new(kind, name).to_string();
        assert_eq!(label(ResourceKind::User, OpName::Create), "users.create");
        assert_eq!(
            label(ResourceKind::Group, OpName::AddMember),
            "groups.members.add"
        );
        assert_eq!(
            label(ResourceKind::Group, OpName::ListMembers),
            "groups.members.list"
        );
        assert_eq!(BackendOp::OAuthToken.to_string(), "oauth2.token");
        for name in OpName::ALL {
            assert_eq!(OpName::parse(name.as_str()), Some(name));
        }
    }
}
