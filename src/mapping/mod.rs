//! Declarative mapping files: how SCIM Users and Groups become calls to one legacy REST API.
//!
//! Pure (no I/O): [`load`] takes a file's contents, its name (for messages) and an environment
//! lookup, and compiles the YAML ([`spec`] is the format) into a [`Mapping`], or returns every
//! [`Problem`] with file, line, column and key path. The compiled [`ResourceMapping`]s translate
//! SCIM ↔ backend JSON, render backend requests, translate filters and classify backend errors; the
//! engine decides which calls to make. Only `crate::scim` is used from the rest of the crate.
//!
//! JSONPaths are compiled once here (`jsonpath`: plain paths walked directly, others evaluated
//! with `jsonpath_rust::query::js_path_process`).

mod advertise;
mod attribute;
mod backend;
mod classify;
mod compile;
mod env;
mod error;
mod filter_rules;
mod items;
mod jsonpath;
mod locate;
mod primary;
mod problems;
mod product_keys;
mod resource;
mod search;
pub mod spec;
mod template;
mod unique;

#[cfg(test)]
mod tests;

pub use crate::operation::OpName;
pub use backend::{BackendAuth, BackendSpec};
pub use error::Error;
pub use filter_rules::BackendSearch;
pub use problems::{Problem, Problems};
pub use product_keys::ProductKeys;
pub use resource::{ErrorClass, NextPage, Paging, ResourceMapping, Write};
pub use search::{Branch, FilterSearch, MAX_ALTERNATIVES};
pub use spec::IdPolicy;
pub use template::{RenderedRequest, Vars};
pub use unique::UniqueLookup;

use crate::scim::ResourceKind;
use crate::scim::schema::SchemaRegistry;

/// A checked, compiled mapping file. Only [`load`] builds one, so run-time code never sees an
/// unchecked JSONPath, template or attribute name.
#[derive(Debug, Clone)]
pub struct Mapping {
    file: String,
    registry: SchemaRegistry,
    advertised: SchemaRegistry,
    backend: BackendSpec,
    connection_variables: Vec<String>,
    secret_variables: Vec<String>,
    ids: IdPolicy,
    product_keys: Option<ProductKeys>,
    users: Option<ResourceMapping>,
    groups: Option<ResourceMapping>,
    tests: Vec<spec::TestFile>,
}

impl Mapping {
    /// The `tests:` cases of the file, in file order (`crate::cases` runs them).
    pub fn tests(&self) -> &[spec::TestFile] {
        &self.tests
    }

    /// The file name the mapping was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The core schemas plus the custom extensions this mapping declares (for path parsing,
    /// shape checks and filter evaluation).
    pub fn registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    /// The part of [`Mapping::registry`] this mapping serves, for `/Schemas` and
    /// `/ResourceTypes`: enabled resource types only, and only the attributes its rules carry.
    pub fn advertised(&self) -> &SchemaRegistry {
        &self.advertised
    }

    /// The variables `connection_variables:` declares (each connection sets them).
    pub fn connection_variables(&self) -> &[String] {
        &self.connection_variables
    }

    /// The declared connection variables marked `secret: true`.
    pub fn secret_variables(&self) -> &[String] {
        &self.secret_variables
    }

    /// The backend credential header of a connection whose `backend.auth` names its
    /// variables (`{conn.api_key}`), filled with `variables`; `None` when `backend.auth` is
    /// the same for every connection.
    pub fn connection_auth_header(
        &self,
        variables: &std::collections::BTreeMap<String, String>,
    ) -> Option<(String, String)> {
        let (header, template) = self.backend.connection_auth.as_ref()?;
        let vars = template::Vars::new().with_connection(variables);
        Some((header.clone(), template.render_raw(&vars)))
    }

    /// Where the backend is and how to authenticate, for the HTTP client.
    pub fn backend(&self) -> &BackendSpec {
        &self.backend
    }

    /// How product-issued keys are checked and passed on (`product_keys:`), when the file
    /// says.
    pub fn product_keys(&self) -> Option<&ProductKeys> {
        self.product_keys.as_ref()
    }

    /// Who mints SCIM ids.
    pub fn ids(&self) -> IdPolicy {
        self.ids
    }

    /// The Users mapping; `None` when Users are switched off.
    pub fn users(&self) -> Option<&ResourceMapping> {
        self.users.as_ref()
    }

    /// The Groups mapping; `None` when Groups are switched off.
    pub fn groups(&self) -> Option<&ResourceMapping> {
        self.groups.as_ref()
    }

    /// Things that load but deserve a look, one sentence each, for `scimgate check`: backend
    /// fields written from two or more SCIM attributes (a request that gives them different
    /// values is refused with 400).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for resource in [&self.users, &self.groups] {
            let Some(resource) = resource else { continue };
            let key = resource.kind().key();
            for (field, attributes) in resource.shared_fields() {
                out.push(format!(
                    "{key}: the backend field `{field}` is written from {}; a request that gives them different values is refused (400 invalidValue)",
                    attributes
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
        }
        out
    }

    /// The path and query of a next-page link, when it points at the backend (same scheme, host
    /// and port as `base_url`) or is a relative `/path`; `None` for a link elsewhere, which must
    /// never be followed (a backend must not be able to send the gateway's credentials away).
    pub fn next_link_path(&self, link: &str) -> Option<String> {
        if link.starts_with('/') && !link.starts_with("//") {
            return Some(link.to_owned());
        }
        let base = &self.backend.base_url;
        let next = url::Url::parse(link).ok()?;
        let same = base.scheme() == next.scheme()
            && base.host_str() == next.host_str()
            && base.port_or_known_default() == next.port_or_known_default();
        same.then(|| match next.query() {
            Some(q) => format!("{}?{q}", next.path()),
            None => next.path().to_owned(),
        })
    }

    /// The mapping of a resource kind, if enabled.
    pub fn of_kind(&self, kind: ResourceKind) -> Option<&ResourceMapping> {
        match kind {
            ResourceKind::User => self.users(),
            ResourceKind::Group => self.groups(),
        }
    }

    /// The mapping of a resource type by name (`User`, `Group`, any case), if enabled.
    pub fn resource(&self, resource_type: &str) -> Option<&ResourceMapping> {
        [self.users(), self.groups()]
            .into_iter()
            .flatten()
            .find(|r| r.resource_type().eq_ignore_ascii_case(resource_type))
    }
}

/// Loads and compiles one mapping file. `env` looks up `${NAME}` references (injected so tests
/// never touch the process environment). Returns every problem found, not just the first.
pub fn load(
    file_name: &str,
    contents: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Mapping, Problems> {
    compile::load(file_name, contents, env)
}

/// The JSON Schema of the mapping file format (`scimgate schema`, editor completion).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(spec::MappingFile)).unwrap_or_default()
}
