//! SCIM attribute paths (RFC 7644 §3.10, §3.5.2): `attr`, `attr.sub`, `urn:…:attr.sub`, and PATCH
//! paths with a value filter, `emails[type eq "work"].value`, `members[value eq "…"]`.
//!
//! Schema URNs contain dots and colons (`urn:…:enterprise:2.0:User:manager`), so a path that starts
//! with `urn:` is split by the longest known schema URN first, otherwise at the last colon. Names are
//! case-insensitive: they are kept as written, and compared with [`eq_name`].
//!
//! This module owns the path types, their parsing (through the filter parser, which it shares) and
//! their canonical `Display`; it must not resolve paths against resources (PATCH and the filter
//! evaluator do that).

use crate::scim::filter::{self, Filter, Parser, PathToken};
use std::fmt;

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

/// Why a path does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The path is exactly a known schema URN with no attribute. Not a syntax error as such: a
    /// PATCH op with such a path addresses the whole extension object, which PATCH handles itself.
    #[error("`{input}` is only the schema URN `{schema}`; expected an attribute after it")]
    SchemaOnly {
        /// The URN as written.
        schema: String,
        /// The whole path as received.
        input: String,
    },
    /// The path (or the value filter inside it) is malformed; carries offset and expectation.
    #[error("invalid attribute path: {0}")]
    Syntax(#[from] filter::Error),
}

impl AttrPath {
    /// Parses `attr`, `attr.sub`, `urn:…:attr` or `urn:…:attr.sub`; `known_urns` are the
    /// registry's schema URNs, longest first.
    pub fn parse(input: &str, known_urns: &[String]) -> Result<Self, Error> {
        match Parser::new(input, known_urns).attr_path()? {
            PathToken::Attr(path) => Ok(path),
            PathToken::SchemaOnly(schema) => Err(Error::SchemaOnly {
                schema,
                input: input.to_owned(),
            }),
        }
    }

    /// A path without schema or sub-attribute: `AttrPath::simple("userName")`.
    pub fn simple(name: &str) -> Self {
        Self {
            schema: None,
            name: name.to_owned(),
            sub_attr: None,
        }
    }
}

impl PatchPath {
    /// Parses a PATCH `path`: everything [`AttrPath::parse`] accepts, plus `attr[filter]` and
    /// `attr[filter].sub`, optionally schema-qualified (`urn:…:attr[filter].sub`).
    pub fn parse(input: &str, known_urns: &[String]) -> Result<Self, Error> {
        match Parser::new(input, known_urns).patch_path()? {
            Ok(path) => Ok(path),
            Err(schema) => Err(Error::SchemaOnly {
                schema,
                input: input.to_owned(),
            }),
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Compares two attribute or schema names the way SCIM does: ASCII case-insensitively.
pub fn eq_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests;
