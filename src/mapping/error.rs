//! Run-time translation errors: a SCIM value or request the compiled mapping cannot translate.
//!
//! Problems in the mapping file itself are [`Problems`](super::Problems), found at load time.

/// Why a SCIM resource, filter or request could not be translated for the backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A value outside the attribute's `allowed` set (or its `map` table).
    #[error("`{attribute}` cannot be `{value}` (allowed: {allowed})")]
    NotAllowed {
        /// The SCIM attribute as the mapping names it.
        attribute: String,
        /// The value received.
        value: String,
        /// The allowed values, comma-separated.
        allowed: String,
    },
    /// An email domain the mapping's policy does not allow.
    #[error("email domain `{domain}` is not allowed (allowed: {allowed})")]
    DomainNotAllowed {
        /// The domain received.
        domain: String,
        /// The allowed domains, comma-separated.
        allowed: String,
    },
    /// A required attribute is missing on create.
    #[error("`{attribute}` is required")]
    Required {
        /// The SCIM attribute.
        attribute: String,
    },
    /// A value that cannot be turned into the backend's type (`as: integer`).
    #[error("`{attribute}` value `{value}` is not a valid {expected}")]
    WrongType {
        /// The SCIM attribute.
        attribute: String,
        /// The value received.
        value: String,
        /// The type the backend needs.
        expected: String,
    },
    /// A value that would change the meaning of a URL path (empty, `.` or `..`).
    #[error("`{value}` cannot be used as `{{{placeholder}}}` in a backend path")]
    UnsafePathValue {
        /// The placeholder name.
        placeholder: String,
        /// The value refused.
        value: String,
    },
    /// A value with a line break cannot go into a header.
    #[error("the value for header `{header}` contains a line break")]
    UnsafeHeaderValue {
        /// The header name.
        header: String,
    },
    /// A template needs a value the caller did not give.
    #[error("operation `{operation}` needs a value for `{{{placeholder}}}`")]
    MissingValue {
        /// The operation rendered.
        operation: String,
        /// The placeholder without a value.
        placeholder: String,
    },
    /// The mapping has no such operation (e.g. `deactivate`, or group `members`).
    #[error("the mapping defines no `{operation}` operation")]
    NoOperation {
        /// The operation asked for.
        operation: String,
    },
    /// A filter the mapping cannot answer.
    #[error("filter on `{attribute}` with `{operator}` is not supported by this mapping")]
    UnsupportedFilter {
        /// The attribute filtered on.
        attribute: String,
        /// The operator (`eq`, `co`, `and`, …).
        operator: String,
    },
    /// An `or` filter with more alternatives (once `and` is distributed over `or`) than the
    /// gateway answers as a union of backend searches.
    #[error(
        "filter has {count} or more alternatives once `and` is distributed over `or`; at most {max} are served, each as one backend search (narrow the filter, or split it into several queries)"
    )]
    TooManyAlternatives {
        /// At least this many alternatives.
        count: usize,
        /// The most served.
        max: usize,
    },
    /// A single-valued backend field mapped from the `primary` element of a multi-valued
    /// attribute, given several elements of which not exactly one is `primary` (Entra's
    /// AppRoleAssignmentsComplex marks every role `primary: false`).
    #[error(
        "`{attribute}` needs exactly one element with `primary: true`, got {count} elements and {primaries} primary; the backend holds one value (send one element, or mark one `primary`)"
    )]
    AmbiguousPrimary {
        /// The SCIM attribute as the mapping names it.
        attribute: String,
        /// How many elements the request carries.
        count: usize,
        /// How many of them are marked `primary: true`.
        primaries: usize,
    },
    /// Several elements of a multi-valued attribute marked `primary: true` (RFC 7643 §2.4:
    /// at most one may be).
    #[error(
        "`{attribute}` has {primaries} elements with `primary: true`; at most one may be primary (RFC 7643 §2.4)"
    )]
    SeveralPrimary {
        /// The SCIM attribute as the mapping names it.
        attribute: String,
        /// How many elements are marked `primary: true`.
        primaries: usize,
    },
    /// Two SCIM attributes of one request written to one backend field with different values.
    #[error(
        "`{first}` (`{first_value}`) and `{second}` (`{second_value}`) are both written to the backend field `{field}`; send the same value for both"
    )]
    Conflict {
        /// The backend field, as a JSONPath.
        field: String,
        /// The first SCIM attribute, as the mapping names it.
        first: String,
        /// Its value, as the backend would get it.
        first_value: String,
        /// The second SCIM attribute.
        second: String,
        /// Its value.
        second_value: String,
    },
    /// A SCIM body that is not a JSON object.
    #[error("a SCIM resource must be a JSON object")]
    NotAnObject,
    /// A `tests:` case could not be run (its input is malformed).
    #[error("{0}")]
    BadTestCase(String),
}
