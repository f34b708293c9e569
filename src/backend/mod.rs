//! The client for the legacy REST API ("the backend").
//!
//! The engine plans a [`BackendRequest`] (operation label, method, path template and the
//! already percent-encoded path, headers, JSON body); [`BackendClient::call`] sends it within
//! the SCIM request's deadline and returns the 2xx [`BackendResponse`] or a
//! [`backend::Error`](Error) that states what happened (status with the backend's message,
//! unavailable, undecodable, timeout). Mapping those facts to SCIM statuses is `src/error.rs`'s
//! job, not this module's.
//!
//! - `safe_url`: the final URL never leaves the configured base (scheme, host, port, path).
//! - `retry`: which failures are repeated (idempotent methods, 429/503) and the backoff.
//! - `auth`: outbound credentials, including the cached OAuth 2.0 client-credentials token.
//! - `message`: the backend's error text, extracted and sanitised.
//! - `secret`: [`Secret`], the masked credential type used by settings too.
//!
//! Redirects are not followed (a 3xx is a [`Error::Status`]): following one could leave the
//! configured host. Response bodies are read up to 32 MiB.
//!
//! Logging: one `backend.call` span per call with operation, method, path template, status,
//! attempts and latency; never credentials, filled-in paths, query values or bodies.

mod auth;
mod client;
mod config;
mod error;
pub mod fetch;
mod message;
mod request;
mod retry;
mod safe_url;
mod secret;

#[cfg(test)]
mod tests;

pub use client::BackendClient;
pub use config::{BackendAuth, BackendConfig, DEFAULT_REQUEST_BUDGET};
pub use error::Error;
/// The error text scimgate reads from a backend answer (for mapping `tests:` cases).
pub(crate) use message::extract as answer_message;
pub use request::{BackendRequest, BackendResponse};
pub use secret::Secret;
