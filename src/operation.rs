//! Backend operation names shared by every layer: [`OpName`] (what a mapping file calls an
//! operation, `members.add`) and [`BackendOp`] (that operation of one [`ResourceKind`], the
//! label `groups.members.add` of logs, metrics and error details).
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

/// One backend operation of one resource kind: what a [`crate::backend::BackendRequest`] is
/// for. Its `Display` is the label logs, metrics and error details carry (`users.create`,
/// `groups.members.add`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackendOp {
    /// The resource kind the call is for.
    pub kind: ResourceKind,
    /// The mapping operation it runs.
    pub name: OpName,
}

impl BackendOp {
    /// The operation `name` of resources of `kind`.
    pub fn new(kind: ResourceKind, name: OpName) -> Self {
        Self { kind, name }
    }
}

impl fmt::Display for BackendOp {
    /// `users.create`: the kind's mapping key, a dot, the operation name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.key(), self.name.as_str())
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
        for name in OpName::ALL {
            assert_eq!(OpName::parse(name.as_str()), Some(name));
        }
    }
}
