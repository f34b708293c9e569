//! SCIM attribute paths (RFC 7644 §3.10, §3.5.2): `attr`, `attr.sub`, `urn:…:attr.sub`, and PATCH
//! paths with a value filter, `emails[type eq "work"].value`, `members[value eq "…"]`.
//!
//! Schema URNs contain dots and colons (`urn:…:enterprise:2.0:User:manager`), so a path that starts
//! with `urn:` is split by the longest known schema URN first, otherwise at the last colon. Names are
//! case-insensitive: they are kept as written, and compared with [`eq_name`].

use crate::scim::filter::Filter;

/// An attribute reference: optional schema URN, attribute name, optional sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN when the path was qualified (`urn:…:enterprise:2.0:User`), as written.
    pub schema: Option<String>,
    /// The attribute name (`emails`, `manager`, `folders`).
    pub name: String,
    /// The sub-attribute (`value` in `emails.value`).
    pub sub_attr: Option<String>,
}

/// A PATCH `path`: an attribute, optionally narrowed by a value filter, optionally followed by a
/// sub-attribute of the matched elements (`emails[type eq "work"].value`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute the path starts at (never has a `sub_attr` when `filter` is set).
    pub attr: AttrPath,
    /// The value filter in brackets, evaluated against each element of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute after the brackets.
    pub sub_attr: Option<String>,
}

/// Compares two attribute or schema names the way SCIM does: ASCII case-insensitively.
pub fn eq_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}
