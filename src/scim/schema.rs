//! SCIM schemas (RFC 7643 §2, §7, §8.7): attribute characteristics, the core User, Group and
//! Enterprise User schemas, and a registry that mapping files extend at run time with custom
//! extension schemas (including open "key families" such as `…:2.0:Metadata`).
//!
//! The registry drives projection (`returned`), filter and PATCH semantics (`caseExact`, `type`,
//! `multiValued`, `mutability`) and the `/Schemas` and `/ResourceTypes` documents.

/// Core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension URN.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    /// A string.
    String,
    /// `true` or `false`; Entra also sends the strings `"True"`/`"False"`.
    Boolean,
    /// A JSON number with a fraction.
    Decimal,
    /// A JSON integer.
    Integer,
    /// An xsd:dateTime string.
    DateTime,
    /// Base64 binary.
    Binary,
    /// A URI reference to a resource.
    Reference,
    /// An object with sub-attributes.
    Complex,
}

/// When an attribute may be written (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Set by the service provider only (`id`, `meta`).
    ReadOnly,
    /// Writable at any time.
    ReadWrite,
    /// Writable only on create (or when still unset).
    Immutable,
    /// Never returned (passwords).
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returned {
    /// Always, even when `excludedAttributes` names it (`id`).
    Always,
    /// Never (`password`).
    Never,
    /// Unless excluded.
    Default,
    /// Only when `attributes` names it.
    Request,
}

/// Uniqueness of an attribute's values (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    /// No uniqueness.
    None,
    /// Unique within the service provider.
    Server,
    /// Globally unique.
    Global,
}

/// One attribute definition with its RFC 7643 characteristics.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The attribute name as the RFC spells it (`userName`).
    pub name: String,
    /// Data type.
    pub attr_type: AttrType,
    /// Whether the value is a JSON array.
    pub multi_valued: bool,
    /// Human-readable description for `/Schemas`.
    pub description: String,
    /// Whether a create must carry it.
    pub required: bool,
    /// Whether string comparisons are case-sensitive.
    pub case_exact: bool,
    /// When it may be written.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// Uniqueness of its values.
    pub uniqueness: Uniqueness,
    /// Suggested values (`work`, `home`), advertised only.
    pub canonical_values: Vec<String>,
    /// For references: the resource types referenced (`User`, `Group`, `external`).
    pub reference_types: Vec<String>,
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: Vec<Attribute>,
}

/// A schema: URN, name, attributes. `open` schemas accept any attribute name (key families such
/// as `urn:ietf:params:scim:schemas:extension:2.0:Metadata:{Key}`), typed by `open_type`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The schema URN.
    pub id: String,
    /// Short name (`User`, `EnterpriseUser`).
    pub name: String,
    /// Description for `/Schemas`.
    pub description: String,
    /// Declared attributes.
    pub attributes: Vec<Attribute>,
    /// The type of undeclared attributes when the schema is an open key family; `None` = closed.
    pub open_type: Option<AttrType>,
}

/// A resource type (RFC 7643 §6): `User` at `/Users` with its core schema and extensions.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// `User` or `Group`.
    pub name: String,
    /// `/Users` or `/Groups`.
    pub endpoint: String,
    /// The core schema URN.
    pub schema: String,
    /// Extension schema URNs and whether each is required.
    pub extensions: Vec<(String, bool)>,
}
