//! The attribute tables of RFC 7643 §8.7.1 (core User, Group, Enterprise User) and the common
//! attributes of §3.1 (`id`, `externalId`, `meta`). Data only: no lookup logic lives here.

use super::{
    AttrType, Attribute, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Mutability, Returned, Schema,
    USER_SCHEMA, Uniqueness,
};

impl Attribute {
    /// A single-valued, optional, case-insensitive, `readWrite`, `returned: default` attribute
    /// with no uniqueness: the RFC 7643 §2.2 defaults, refined with the builder methods below.
    pub fn new(name: &str, attr_type: AttrType) -> Self {
        Self {
            name: name.to_owned(),
            attr_type,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// Marks the attribute multi-valued.
    #[must_use]
    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Marks the attribute required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks string comparisons case-sensitive.
    #[must_use]
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Sets the mutability.
    #[must_use]
    pub fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    /// Sets when the attribute is returned.
    #[must_use]
    pub fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    /// Sets the uniqueness.
    #[must_use]
    pub fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    /// Sets the human-readable description.
    #[must_use]
    pub fn describe(mut self, description: &str) -> Self {
        description.clone_into(&mut self.description);
        self
    }

    /// Sets the advertised canonical values.
    #[must_use]
    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// Sets the referenced resource types of a reference attribute.
    #[must_use]
    pub fn references(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// Sets the sub-attributes of a complex attribute.
    #[must_use]
    pub fn subs(mut self, sub_attributes: Vec<Self>) -> Self {
        self.sub_attributes = sub_attributes;
        self
    }
}

fn string(name: &str, description: &str) -> Attribute {
    Attribute::new(name, AttrType::String).describe(description)
}

/// `value`, `display`, `type`, `primary`: the sub-attributes every RFC 7643 multi-valued
/// complex attribute of the User schema shares.
fn multi_complex(name: &str, description: &str, value: Attribute, types: &[&str]) -> Attribute {
    Attribute::new(name, AttrType::Complex)
        .multi()
        .describe(description)
        .subs(vec![
            value,
            string(
                "display",
                "A human-readable name, primarily used for display purposes.",
            ),
            string("type", "A label indicating the attribute's function.").canonical(types),
            Attribute::new("primary", AttrType::Boolean)
                .describe("A Boolean value indicating the 'primary' or preferred attribute value."),
        ])
}

/// `id`, `externalId` and `meta` (RFC 7643 §3.1): part of every resource, in no schema.
pub(super) fn common_attributes() -> Vec<Attribute> {
    let read_only = |attribute: Attribute| attribute.mutability(Mutability::ReadOnly);
    vec![
        read_only(string(
            "id",
            "Unique identifier for the resource, assigned by the service provider.",
        ))
        .case_exact()
        .returned(Returned::Always)
        .uniqueness(Uniqueness::Server),
        string(
            "externalId",
            "An identifier for the resource as defined by the provisioning client.",
        )
        .case_exact(),
        read_only(Attribute::new("meta", AttrType::Complex))
            .describe("Resource metadata.")
            .subs(vec![
                read_only(string("resourceType", "The name of the resource type.")).case_exact(),
                read_only(Attribute::new("created", AttrType::DateTime))
                    .describe("When the resource was added to the service provider."),
                read_only(Attribute::new("lastModified", AttrType::DateTime))
                    .describe("When the resource was last updated."),
                read_only(Attribute::new("location", AttrType::Reference))
                    .case_exact()
                    .describe("The URI of the resource."),
                read_only(string("version", "The version (ETag) of the resource.")).case_exact(),
            ]),
    ]
}

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub(super) fn user() -> Schema {
    let name = Attribute::new("name", AttrType::Complex)
        .describe("The components of the user's real name.")
        .subs(vec![
            string("formatted", "The full name, formatted for display."),
            string("familyName", "The family name of the User."),
            string("givenName", "The given name of the User."),
            string("middleName", "The middle name(s) of the User."),
            string("honorificPrefix", "The honorific prefix(es) of the User."),
            string("honorificSuffix", "The honorific suffix(es) of the User."),
        ]);
    let addresses = Attribute::new("addresses", AttrType::Complex)
        .multi()
        .describe("A physical mailing address for this User.")
        .subs(vec![
            string(
                "formatted",
                "The full mailing address, formatted for display.",
            ),
            string("streetAddress", "The full street address component."),
            string("locality", "The city or locality component."),
            string("region", "The state or region component."),
            string("postalCode", "The zip code or postal code component."),
            string("country", "The country name component."),
            string("type", "A label indicating the attribute's function.")
                .canonical(&["work", "home", "other"]),
            Attribute::new("primary", AttrType::Boolean)
                .describe("A Boolean value indicating the primary mailing address."),
        ]);
    let read_only = |attribute: Attribute| attribute.mutability(Mutability::ReadOnly);
    let groups = read_only(Attribute::new("groups", AttrType::Complex))
        .multi()
        .describe("A list of groups to which the user belongs.")
        .subs(vec![
            read_only(string("value", "The identifier of the User's group.")),
            read_only(Attribute::new("$ref", AttrType::Reference))
                .references(&["User", "Group"])
                .describe("The URI of the corresponding Group resource."),
            read_only(string("display", "A human-readable name of the group.")),
            read_only(string("type", "How the membership was derived."))
                .canonical(&["direct", "indirect"]),
        ]);
    Schema {
        id: USER_SCHEMA.to_owned(),
        name: "User".to_owned(),
        description: "User Account".to_owned(),
        attributes: vec![
            string(
                "userName",
                "Unique identifier for the User, used to authenticate.",
            )
            .required()
            .uniqueness(Uniqueness::Server),
            name,
            string(
                "displayName",
                "The name of the User, suitable for display to end-users.",
            ),
            string(
                "nickName",
                "The casual way to address the user in real life.",
            ),
            Attribute::new("profileUrl", AttrType::Reference)
                .references(&["external"])
                .describe("A fully qualified URL pointing to a page representing the User."),
            string("title", "The user's title, such as \"Vice President\"."),
            string(
                "userType",
                "The relationship between the organization and the user.",
            ),
            string(
                "preferredLanguage",
                "The User's preferred written or spoken language.",
            ),
            string("locale", "The User's default location for localization."),
            string(
                "timezone",
                "The User's time zone in the Olson time zone database format.",
            ),
            Attribute::new("active", AttrType::Boolean)
                .describe("A Boolean value indicating the User's administrative status."),
            string(
                "password",
                "The User's cleartext password, used to set or compare it.",
            )
            .mutability(Mutability::WriteOnly)
            .returned(Returned::Never),
            multi_complex(
                "emails",
                "Email addresses for the user.",
                string("value", "Email address for the user."),
                &["work", "home", "other"],
            ),
            multi_complex(
                "phoneNumbers",
                "Phone numbers for the User.",
                string("value", "Phone number of the User."),
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
            multi_complex(
                "ims",
                "Instant messaging addresses for the User.",
                string("value", "Instant messaging address for the User."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            multi_complex(
                "photos",
                "URLs of photos of the User.",
                Attribute::new("value", AttrType::Reference)
                    .references(&["external"])
                    .describe("URL of a photo of the User."),
                &["photo", "thumbnail"],
            ),
            addresses,
            groups,
            multi_complex(
                "entitlements",
                "A list of entitlements for the User.",
                string("value", "The value of an entitlement."),
                &[],
            ),
            multi_complex(
                "roles",
                "A list of roles for the User.",
                string("value", "The value of a role."),
                &[],
            ),
            multi_complex(
                "x509Certificates",
                "A list of certificates issued to the User.",
                Attribute::new("value", AttrType::Binary)
                    .describe("The value of an X.509 certificate."),
                &[],
            ),
        ],
        open_type: None,
    }
}

/// The core Group schema (RFC 7643 §4.2, §8.7.1). `displayName` is required as §4.2 says.
pub(super) fn group() -> Schema {
    Schema {
        id: GROUP_SCHEMA.to_owned(),
        name: "Group".to_owned(),
        description: "Group".to_owned(),
        attributes: vec![
            string("displayName", "A human-readable name for the Group.").required(),
            Attribute::new("members", AttrType::Complex)
                .multi()
                .describe("A list of members of the Group.")
                .subs(vec![
                    string("value", "Identifier of the member of this Group.")
                        .mutability(Mutability::Immutable),
                    Attribute::new("$ref", AttrType::Reference)
                        .references(&["User", "Group"])
                        .mutability(Mutability::Immutable)
                        .describe("The URI corresponding to a SCIM resource that is a member."),
                    string("display", "A human-readable name of the member."),
                    string("type", "A label indicating the type of resource.")
                        .canonical(&["User", "Group"])
                        .mutability(Mutability::Immutable),
                ]),
        ],
        open_type: None,
    }
}

/// The Enterprise User extension (RFC 7643 §4.3, §8.7.1).
pub(super) fn enterprise_user() -> Schema {
    Schema {
        id: ENTERPRISE_USER_SCHEMA.to_owned(),
        name: "EnterpriseUser".to_owned(),
        description: "Enterprise User".to_owned(),
        attributes: vec![
            string(
                "employeeNumber",
                "Numeric or alphanumeric identifier assigned to a person.",
            ),
            string("costCenter", "Identifies the name of a cost center."),
            string("organization", "Identifies the name of an organization."),
            string("division", "Identifies the name of a division."),
            string("department", "Identifies the name of a department."),
            Attribute::new("manager", AttrType::Complex)
                .describe("The User's manager.")
                .subs(vec![
                    string(
                        "value",
                        "The id of the SCIM resource representing the User's manager.",
                    ),
                    Attribute::new("$ref", AttrType::Reference)
                        .references(&["User"])
                        .describe("The URI of the SCIM resource representing the User's manager."),
                    string("displayName", "The displayName of the User's manager.")
                        .mutability(Mutability::ReadOnly),
                ]),
        ],
        open_type: None,
    }
}
