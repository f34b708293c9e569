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
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

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
    pub sub_attributes: Vec<Self>,
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

mod core;
pub mod discovery;
mod shape;

pub use shape::ShapeProblem;

use crate::scim::path::{AttrPath, eq_name};
use std::borrow::Cow;

/// Why a schema or extension could not be added to the registry (mapping-file mistakes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A schema with this URN (compared case-insensitively) is already registered.
    #[error("schema `{urn}` is defined twice; give each extension schema its own URN")]
    DuplicateSchema {
        /// The URN defined twice.
        urn: String,
    },
    /// `add_extension` named a resource type the registry does not know.
    #[error("unknown resource type `{name}`; expected one of: {known}")]
    UnknownResourceType {
        /// The name given.
        name: String,
        /// The known resource type names, comma-separated.
        known: String,
    },
    /// `add_extension` named a schema URN that was never added.
    #[error("schema `{urn}` is not defined; add the schema before using it as an extension")]
    UnknownSchema {
        /// The URN given.
        urn: String,
    },
    /// The schema is already the core schema or an extension of this resource type.
    #[error("schema `{urn}` is already part of resource type `{resource_type}`")]
    DuplicateExtension {
        /// The resource type.
        resource_type: String,
        /// The URN added twice.
        urn: String,
    },
}

/// Every schema and resource type the gateway knows: the RFC core schemas plus the custom
/// extensions the mapping files declare. Cheap to clone; built once at startup.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    schemas: Vec<Schema>,
    /// Schema URNs, longest first, so a path parser can match the longest prefix.
    urns: Vec<String>,
    resource_types: Vec<ResourceType>,
    common: Vec<Attribute>,
}

impl SchemaRegistry {
    /// The core User (with the Enterprise User extension, not required) and Group schemas and
    /// resource types of RFC 7643.
    pub fn core() -> Self {
        let mut registry = Self {
            schemas: Vec::new(),
            urns: Vec::new(),
            resource_types: vec![
                ResourceType {
                    name: "User".to_owned(),
                    endpoint: "/Users".to_owned(),
                    schema: USER_SCHEMA.to_owned(),
                    extensions: vec![(ENTERPRISE_USER_SCHEMA.to_owned(), false)],
                },
                ResourceType {
                    name: "Group".to_owned(),
                    endpoint: "/Groups".to_owned(),
                    schema: GROUP_SCHEMA.to_owned(),
                    extensions: Vec::new(),
                },
            ],
            common: core::common_attributes(),
        };
        for schema in [core::user(), core::group(), core::enterprise_user()] {
            // The three core URNs are distinct, so this cannot fail.
            let _ = registry.add_schema(schema);
        }
        registry
    }

    /// Registers a schema (a custom extension from a mapping file). A URN that is already known
    /// is an error.
    pub fn add_schema(&mut self, schema: Schema) -> Result<(), Error> {
        if self.schema(&schema.id).is_some() {
            return Err(Error::DuplicateSchema { urn: schema.id });
        }
        self.urns.push(schema.id.clone());
        self.urns
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.schemas.push(schema);
        Ok(())
    }

    /// Makes a registered schema an extension of a resource type (`User`, `Group`).
    pub fn add_extension(
        &mut self,
        resource_type: &str,
        urn: &str,
        required: bool,
    ) -> Result<(), Error> {
        let Some(id) = self.schema(urn).map(|schema| schema.id.clone()) else {
            return Err(Error::UnknownSchema {
                urn: urn.to_owned(),
            });
        };
        let known = self
            .resource_types
            .iter()
            .map(|rt| rt.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let Some(rt) = self
            .resource_types
            .iter_mut()
            .find(|rt| eq_name(&rt.name, resource_type))
        else {
            return Err(Error::UnknownResourceType {
                name: resource_type.to_owned(),
                known,
            });
        };
        if eq_name(&rt.schema, &id) || rt.extensions.iter().any(|(ext, _)| eq_name(ext, &id)) {
            return Err(Error::DuplicateExtension {
                resource_type: rt.name.clone(),
                urn: id,
            });
        }
        rt.extensions.push((id, required));
        Ok(())
    }

    /// Every known schema URN, longest first (the path parser matches prefixes in this order).
    pub fn urns(&self) -> &[String] {
        &self.urns
    }

    /// Every registered schema, core first, in registration order.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// The schema with this URN, compared case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|schema| eq_name(&schema.id, urn))
    }

    /// The resource type with this name (`User`), compared case-insensitively.
    pub fn resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.resource_types
            .iter()
            .find(|rt| eq_name(&rt.name, name))
    }

    /// Every resource type, `User` first.
    pub fn resource_types(&self) -> &[ResourceType] {
        &self.resource_types
    }

    /// The common attributes `id`, `externalId` and `meta` (RFC 7643 §3.1), which every
    /// resource has but no schema lists.
    pub fn common_attributes(&self) -> &[Attribute] {
        &self.common
    }

    /// The schemas of a resource type: its core schema first, then its extensions. An unknown
    /// resource type yields every schema.
    pub fn schemas_of(&self, resource_type: &str) -> Vec<&Schema> {
        match self.resource_type(resource_type) {
            Some(rt) => std::iter::once(rt.schema.as_str())
                .chain(rt.extensions.iter().map(|(urn, _)| urn.as_str()))
                .filter_map(|urn| self.schema(urn))
                .collect(),
            None => self.schemas.iter().collect(),
        }
    }

    /// The top-level attribute `path` names on `resource_type`, ignoring `path.sub_attr`, with the
    /// schema it lives in (`None` for the common attributes `id`, `externalId`, `meta`).
    pub fn top_attribute<'a>(
        &'a self,
        resource_type: &str,
        path: &AttrPath,
    ) -> Option<(Option<&'a Schema>, Cow<'a, Attribute>)> {
        let schemas = self.schemas_of(resource_type);
        let core_urn = schemas.first().map(|schema| schema.id.as_str());
        let qualified = path.schema.as_deref();
        if (qualified.is_none() || qualified.zip(core_urn).is_some_and(|(a, b)| eq_name(a, b)))
            && let Some(attr) = self
                .common
                .iter()
                .find(|attr| eq_name(&attr.name, &path.name))
        {
            return Some((None, Cow::Borrowed(attr)));
        }
        let candidates = schemas
            .into_iter()
            .filter(|schema| qualified.is_none_or(|urn| eq_name(urn, &schema.id)));
        let mut open = None;
        for schema in candidates {
            if let Some(attr) = schema
                .attributes
                .iter()
                .find(|attr| eq_name(&attr.name, &path.name))
            {
                return Some((Some(schema), Cow::Borrowed(attr)));
            }
            if let (Some(attr_type), None) = (schema.open_type, open.as_ref()) {
                // Only a qualified path may land in an open key family: an unqualified unknown
                // name must stay unknown, or every typo would become a new key.
                if qualified.is_some() {
                    open = Some((schema, attr_type));
                }
            }
        }
        open.map(|(schema, attr_type)| {
            (
                Some(schema),
                Cow::Owned(Attribute::new(&path.name, attr_type)),
            )
        })
    }

    /// The attribute `path` refers to on `resource_type`: an unqualified name is looked up in the
    /// common attributes, the core schema, then the extensions; a qualified name in that schema
    /// only; `sub_attr` selects a sub-attribute; an open schema yields a synthesized attribute of
    /// its `open_type`.
    pub fn attribute(&self, resource_type: &str, path: &AttrPath) -> Option<Cow<'_, Attribute>> {
        let (_, attr) = self.top_attribute(resource_type, path)?;
        match &path.sub_attr {
            None => Some(attr),
            Some(sub) => match attr {
                Cow::Borrowed(attr) => attr
                    .sub_attributes
                    .iter()
                    .find(|candidate| eq_name(&candidate.name, sub))
                    .map(Cow::Borrowed),
                Cow::Owned(attr) => attr
                    .sub_attributes
                    .into_iter()
                    .find(|candidate| eq_name(&candidate.name, sub))
                    .map(Cow::Owned),
            },
        }
    }
}

/// Which parts of the registry a mapping serves, for the discovery documents (see
/// [`SchemaRegistry::advertised`]).
pub trait Served {
    /// Whether resource type `name` (`User`, `Group`) is served at all.
    fn resource_type(&self, name: &str) -> bool;
    /// Whether attribute `name` of schema `urn` is carried on `resource_type` (`sub`: one of
    /// its sub-attributes).
    fn attribute(&self, resource_type: &str, urn: &str, name: &str, sub: Option<&str>) -> bool;
    /// Whether what is carried of that attribute is only read, never written (advertised as
    /// `mutability: readOnly`, so that a client knows a value it sends is ignored, as RFC 7644
    /// §3.5.1 says for readOnly attributes).
    fn read_only(&self, _resource_type: &str, _urn: &str, _name: &str, _sub: Option<&str>) -> bool {
        false
    }
}

impl SchemaRegistry {
    /// The registry as `/Schemas` and `/ResourceTypes` advertise it: only the resource types
    /// `served` serves, each with its core schema and the extensions it carries something of
    /// (open key families count), each schema with only the attributes and sub-attributes
    /// carried. Requests are still parsed against the whole registry, so an attribute a
    /// mapping does not carry stays a known name (ignored, not `invalidPath`).
    #[must_use]
    pub fn advertised(&self, served: &dyn Served) -> Self {
        let mut schemas: Vec<Schema> = Vec::new();
        let mut resource_types = Vec::new();
        for rt in self
            .resource_types
            .iter()
            .filter(|rt| served.resource_type(&rt.name))
        {
            let mut kept = rt.clone();
            let core = self
                .schema(&rt.schema)
                .map(|schema| prune(schema, &rt.name, served));
            kept.extensions.retain(|(urn, _)| {
                self.schema(urn)
                    .map(|schema| prune(schema, &rt.name, served))
                    .is_some_and(|schema| {
                        let carried = !schema.attributes.is_empty() || schema.open_type.is_some();
                        if carried {
                            merge(&mut schemas, schema);
                        }
                        carried
                    })
            });
            if let Some(core) = core {
                merge(&mut schemas, core);
            }
            resource_types.push(kept);
        }
        // Registration order (core first), as the whole registry lists them.
        schemas.sort_by_key(|schema| {
            self.schemas
                .iter()
                .position(|known| eq_name(&known.id, &schema.id))
        });
        let mut urns: Vec<String> = schemas.iter().map(|schema| schema.id.clone()).collect();
        urns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        Self {
            schemas,
            urns,
            resource_types,
            common: self.common.clone(),
        }
    }
}

/// `schema` with only what `served` carries on `resource_type`.
fn prune(schema: &Schema, resource_type: &str, served: &dyn Served) -> Schema {
    let mut out = schema.clone();
    out.attributes = schema
        .attributes
        .iter()
        .filter(|attr| served.attribute(resource_type, &schema.id, &attr.name, None))
        .map(|attr| {
            let mut attr = attr.clone();
            let name = attr.name.clone();
            attr.sub_attributes
                .retain(|sub| served.attribute(resource_type, &schema.id, &name, Some(&sub.name)));
            for sub in &mut attr.sub_attributes {
                if served.read_only(resource_type, &schema.id, &name, Some(&sub.name)) {
                    sub.mutability = Mutability::ReadOnly;
                }
            }
            if served.read_only(resource_type, &schema.id, &name, None) {
                attr.mutability = Mutability::ReadOnly;
            }
            attr
        })
        .collect();
    out
}

/// Adds `schema`, or merges its attributes into the one already kept (a schema extending two
/// resource types).
fn merge(schemas: &mut Vec<Schema>, schema: Schema) {
    match schemas
        .iter_mut()
        .find(|known| eq_name(&known.id, &schema.id))
    {
        None => schemas.push(schema),
        Some(known) => {
            for attr in schema.attributes {
                if !known
                    .attributes
                    .iter()
                    .any(|a| eq_name(&a.name, &attr.name))
                {
                    known.attributes.push(attr);
                }
            }
        }
    }
}

impl Attribute {
    /// The sub-attribute with this name, compared case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&Self> {
        self.sub_attributes
            .iter()
            .find(|sub| eq_name(&sub.name, name))
    }
}

/// The attributes of one resource type, as the filter evaluator needs them (`caseExact`,
/// Boolean coercion of Entra's `"True"`).
#[derive(Debug, Clone, Copy)]
pub struct ResourceAttrs<'a> {
    /// The registry to look attributes up in.
    pub registry: &'a SchemaRegistry,
    /// The resource type (`User`, `Group`).
    pub resource_type: &'a str,
}

impl crate::scim::filter::AttrInfo for ResourceAttrs<'_> {
    /// Whether string comparisons on `path` are case-sensitive (unknown attributes: no).
    fn case_exact(&self, path: &AttrPath) -> bool {
        self.registry
            .attribute(self.resource_type, path)
            .is_some_and(|attr| attr.case_exact)
    }

    /// Whether `path` is a Boolean attribute.
    fn is_boolean(&self, path: &AttrPath) -> bool {
        self.registry
            .attribute(self.resource_type, path)
            .is_some_and(|attr| attr.attr_type == AttrType::Boolean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::AttrInfo;

    /// Users only, carrying userName, name.givenName and the enterprise employeeNumber.
    struct UsersOnly;

    impl Served for UsersOnly {
        fn resource_type(&self, name: &str) -> bool {
            name == "User"
        }

        fn attribute(&self, _: &str, urn: &str, name: &str, sub: Option<&str>) -> bool {
            matches!(
                (urn, name, sub),
                (USER_SCHEMA, "userName", None)
                    | (USER_SCHEMA, "name", None | Some("givenName"))
                    | (ENTERPRISE_USER_SCHEMA, "employeeNumber", None)
            )
        }
    }

    #[test]
    fn advertised_keeps_only_served_types_attributes_and_sub_attributes() {
        let whole = SchemaRegistry::core();
        let advertised = whole.advertised(&UsersOnly);
        let names = |r: &SchemaRegistry, urn: &str| {
            r.schema(urn).map(|s| {
                s.attributes
                    .iter()
                    .map(|a| a.name.clone())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(advertised.resource_types().len(), 1);
        assert_eq!(advertised.resource_types()[0].name, "User");
        assert!(advertised.schema(GROUP_SCHEMA).is_none());
        assert_eq!(
            names(&advertised, USER_SCHEMA),
            Some(vec!["userName".to_owned(), "name".to_owned()])
        );
        let name = advertised
            .schema(USER_SCHEMA)
            .and_then(|s| s.attributes.iter().find(|a| a.name == "name"))
            .map(|a| {
                a.sub_attributes
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
            });
        assert_eq!(name, Some(vec!["givenName"]));
        assert_eq!(
            names(&advertised, ENTERPRISE_USER_SCHEMA),
            Some(vec!["employeeNumber".to_owned()])
        );
        assert_eq!(
            advertised
                .schemas()
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
        );
        // The whole registry still knows everything (requests are parsed against it).
        assert!(whole.schema(GROUP_SCHEMA).is_some());
        assert!(names(&whole, USER_SCHEMA).is_some_and(|n| n.contains(&"nickName".to_owned())));
    }

    #[test]
    fn an_extension_that_carries_nothing_is_not_advertised() {
        struct CoreOnly;
        impl Served for CoreOnly {
            fn resource_type(&self, _: &str) -> bool {
                true
            }
            fn attribute(&self, _: &str, urn: &str, _: &str, _: Option<&str>) -> bool {
                urn != ENTERPRISE_USER_SCHEMA
            }
        }
        let advertised = SchemaRegistry::core().advertised(&CoreOnly);
        assert!(advertised.schema(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(advertised.resource_types().len(), 2);
        assert!(advertised.resource_types()[0].extensions.is_empty());
    }

    fn path(schema: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub.map(str::to_owned),
        }
    }

    #[test]
    fn urns_are_longest_first() {
        let registry = SchemaRegistry::core();
        let lengths: Vec<usize> = registry.urns().iter().map(String::len).collect();
        let mut sorted = lengths.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(lengths, sorted);
        assert_eq!(registry.urns()[0], ENTERPRISE_USER_SCHEMA);
    }

    #[test]
    fn lookups_are_case_insensitive_and_walk_extensions() {
        let registry = SchemaRegistry::core();
        let attr = registry
            .attribute("user", &path(None, "USERNAME", None))
            .map(|a| a.name.clone());
        assert_eq!(attr.as_deref(), Some("userName"));
        let dept = registry.attribute("User", &path(None, "Department", None));
        assert_eq!(dept.map(|a| a.name.clone()).as_deref(), Some("department"));
        let primary = registry.attribute("User", &path(None, "emails", Some("Primary")));
        assert_eq!(primary.map(|a| a.attr_type), Some(AttrType::Boolean));
        let qualified = registry.attribute(
            "User",
            &path(Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value")),
        );
        assert!(qualified.is_some());
        assert!(
            registry
                .attribute("User", &path(Some(USER_SCHEMA), "manager", None))
                .is_none()
        );
        assert!(
            registry
                .attribute("Group", &path(None, "members", Some("value")))
                .is_some()
        );
        assert!(
            registry
                .attribute("Group", &path(None, "userName", None))
                .is_none()
        );
        let id = registry.attribute("Group", &path(None, "id", None));
        assert_eq!(id.map(|a| a.mutability), Some(Mutability::ReadOnly));
    }

    #[test]
    fn open_schema_synthesizes_attributes_and_duplicates_fail() {
        let mut registry = SchemaRegistry::core();
        let urn = "urn:ietf:params:scim:schemas:extension:2.0:Metadata";
        let schema = Schema {
            id: urn.to_owned(),
            name: "Metadata".to_owned(),
            description: String::new(),
            attributes: Vec::new(),
            open_type: Some(AttrType::String),
        };
        assert_eq!(registry.add_schema(schema.clone()), Ok(()));
        assert!(matches!(
            registry.add_schema(schema),
            Err(Error::DuplicateSchema { .. })
        ));
        assert_eq!(registry.add_extension("User", urn, false), Ok(()));
        assert!(registry.add_extension("Nope", urn, false).is_err());
        let attr = registry.attribute("User", &path(Some(urn), "costKey", None));
        assert_eq!(
            attr.map(|a| (a.name.clone(), a.attr_type)),
            Some(("costKey".to_owned(), AttrType::String))
        );
        assert!(
            registry
                .attribute("User", &path(None, "costKey", None))
                .is_none()
        );
        let attrs = ResourceAttrs {
            registry: &registry,
            resource_type: "User",
        };
        assert!(attrs.case_exact(&path(None, "id", None)));
        assert!(!attrs.case_exact(&path(None, "userName", None)));
        assert!(attrs.is_boolean(&path(None, "active", None)));
    }
}
