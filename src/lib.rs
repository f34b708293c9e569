//! scimgate: a SCIM 2.0 gateway in front of an existing REST user API.
//!
//! Layers, from the wire inwards (see `README.md` for the request-phase diagram):
//! - [`server`] owns sockets, TLS, the tower stack, authentication and routing;
//! - [`service`] is the seam between them (`ScimService`, `ScimCall`, `ScimReply`), below both,
//!   so the engine, audit and metrics never import the server;
//! - [`engine`] decides which backend calls one SCIM operation needs;
//! - [`mapping`] (pure) compiles a declarative mapping file and translates both ways;
//! - [`scim`] (pure) is the protocol: paths, filters, PATCH, schemas, lists, errors, and the
//!   [`scim::ResourceKind`] every layer names a resource type with;
//! - [`operation`] (pure) names a backend operation (`users.create`) for every layer;
//! - [`backend`] calls the legacy REST API; [`store`] keeps what the backend cannot;
//! - [`demo`] is the bundled example legacy API used by `scimgate demo` and the tests.
//!
//! `scim`, `operation` and `mapping` do no I/O and depend on nothing else in the crate.

pub mod app;
pub mod audit;
pub mod backend;
pub mod connection;
pub mod demo;
pub mod engine;
pub mod error;
pub mod mapping;
pub mod metrics;
pub mod operation;
pub mod reconcile;
pub mod reload;
pub mod scim;
pub mod server;
pub mod service;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod translate;
