//! scimgate: a SCIM 2.0 gateway in front of an existing REST user API.
//!
//! Layers, from the wire inwards (see `README.md` for the request-phase diagram):
//! - [`server`] owns sockets, TLS, the tower stack, authentication and routing;
//! - [`service`] is the seam between them (`ScimService`, `ScimCall`, `ScimReply`), below both,
//!   so the engine, audit and metrics never import the server;
//! - [`engine`] decides which backend calls one SCIM operation needs, for the server, for
//!   [`translate`] and for mapping `tests:` ([`cases`]), which both run it against the
//!   in-memory recorder: nothing else plans a backend call;
//! - [`mapping`] (pure) compiles a declarative mapping file and translates both ways;
//! - [`scim`] (pure) is the protocol: paths, filters, PATCH, schemas, lists, errors, and the
//!   [`scim::ResourceKind`] every layer names a resource type with;
//! - [`operation`] (pure) names a backend operation (`users.create`) for every layer;
//! - [`backend`] is how the engine reaches the legacy REST API: the [`backend::Backend`] trait,
//!   with the HTTP client and an in-memory recorder as its two implementations; [`store`]
//!   keeps what the backend cannot;
//! - [`error`] is the one classifier: every layer's error becomes a status, a `scimType` and
//!   whose fault it is (the log level) there, and nowhere else;
//! - [`demo`] is the bundled example legacy API used by `scimgate demo` and the tests.
//!
//! `scim`, `operation` and `mapping` do no I/O; `scim` and `operation` depend on nothing else
//! in the crate, and `mapping` only on them.

pub mod app;
pub mod audit;
pub mod backend;
pub mod cases;
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
