//! Entra conformance cases (entra-behaviour.md §5) replayed over HTTPS against the whole
//! gateway in front of the demo API: status codes, `application/scim+json`, bodies, SCIM error
//! shapes, and what reached the backend. One test per case, named `case_NN_…`.

mod backend_errors;
mod connection;
mod create;
mod delete;
mod discovery;
mod groups;
mod lost_create;
mod reads;
mod searches;
mod silent;
pub(crate) mod support;
mod tutorial;
mod update;
