//! Connections (issue 14): one gateway for a product's many customer workspaces.
//!
//! A connection is one customer workspace's SCIM endpoint: a mapping (product), variables
//! (`{conn.NAME}` in the mapping), credentials and a sync switch, kept in the store
//! (`crate::store::connections`) and changed through the admin API ([`admin`]) or the CLI.
//! - [`settings`]: the `connections:` section (which mappings, how requests route);
//! - [`registry`]: the connections being served, refreshed from the store's version counter,
//!   and the O(1) token index the gate looks up;
//! - [`activity`]: per-connection status figures, buffered and written once a second;
//! - `product_key`: product-issued keys checked with one `auth.introspect` call, cached;
//! - [`admin`]: the admin API and its OpenAPI document;
//! - [`file_tenants`]: the settings file's static `tenants:`, listed by the API read-only.
//!
//! One compiled mapping and one backend client per mapping are shared by all of its
//! connections; each connection's engine differs only in its store tenant key and variables.

mod activity;
pub mod admin;
pub mod cli;
pub mod file_tenants;
mod product_key;
pub mod registry;
pub mod secrets;
pub mod settings;
#[cfg(test)]
mod tests;

pub use registry::{Live, Product, Registry, RegistryOptions};
pub use settings::{ConnectionMapping, ConnectionSettings, RouteSpec};
