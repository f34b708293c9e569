//! [`ResourceKind`]: the two SCIM resource types the gateway provisions, as a value.
//!
//! Every layer names a resource kind with this enum rather than with text (`"User"`, `"Users"`,
//! `"users"`), so nothing downstream parses a name back. The spellings on the wire and in files
//! stay as they are: [`ResourceKind::name`] (`User`, SCIM `meta.resourceType` and the store's
//! resource column), [`ResourceKind::endpoint`] (`Users`, the URL segment) and
//! [`ResourceKind::key`] (`users`, the mapping file key and the backend operation label prefix).
//!
//! Pure: names only, no knowledge of mappings or HTTP.

use std::fmt;

/// A SCIM resource type the gateway provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// `urn:ietf:params:scim:schemas:core:2.0:User`, served under `/Users`.
    User,
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`, served under `/Groups`.
    Group,
}

impl ResourceKind {
    /// Both kinds, users first (the order mapping files and reports list them in).
    pub const ALL: [Self; 2] = [Self::User, Self::Group];

    /// The SCIM resource type name: `User`, `Group`.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// The endpoint segment: `Users`, `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }

    /// The mapping file key and the prefix of backend operation labels: `users`, `groups`.
    pub fn key(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Group => "groups",
        }
    }

    /// The kind a resource type name or endpoint segment names, ignoring case (`User`,
    /// `users`, `Groups`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| {
            text.eq_ignore_ascii_case(kind.name()) || text.eq_ignore_ascii_case(kind.endpoint())
        })
    }
}

impl fmt::Display for ResourceKind {
    /// The SCIM resource type name (`User`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::ResourceKind;

    #[test]
    fn names_round_trip_and_only_exact_names_parse() {
        for kind in ResourceKind::ALL {
            assert_eq!(ResourceKind::parse(kind.name()), Some(kind));
            assert_eq!(ResourceKind::parse(kind.endpoint()), Some(kind));
            assert_eq!(ResourceKind::parse(kind.key()), Some(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(ResourceKind::parse("GROUP"), Some(ResourceKind::Group));
        // `trim_end_matches('s')` took these for `User`.
        for text in ["Userss", "Usersss", "", "s", "Groupss", "Schemas"] {
            assert_eq!(ResourceKind::parse(text), None, "{text}");
        }
    }
}
