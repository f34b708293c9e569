//! The SCIM 2.0 protocol (RFC 7643/7644) as Microsoft Entra ID really speaks it.
//!
//! Pure: no I/O, no HTTP types, no knowledge of mappings. Entra's quirks (op case, `"True"`
//! booleans, dotted path-less keys, URNs with dots) are normalised here, once.

pub mod error;
pub mod filter;
pub mod kind;
pub mod list;
pub mod narrow;
pub mod patch;
pub mod path;
pub mod query;
pub mod schema;

pub use error::{ScimError, ScimType};
pub use kind::ResourceKind;
pub use list::ListResponse;
pub use patch::{MemberChange, PatchRequest};
pub use query::ListQuery;
pub use schema::{ResourceAttrs, SchemaRegistry};
