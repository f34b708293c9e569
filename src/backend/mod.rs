//! The client for the legacy REST API ("the backend"), behind the [`Backend`] trait.
//!
//! The engine plans a [`BackendRequest`] (operation label, method, path template and the
//! already percent-encoded path, headers, JSON body) and sends it through [`Backend::call`]:
//! [`BackendClient`] sends it over HTTP within the SCIM request's deadline, [`Recorder`]
//! answers it in memory (mapping `tests:`, `translate`, engine unit tests). Either and returns the 2xx [`BackendResponse`] or a
//! [`backend::Error`](Error) that states what happened (status with the backend's message,
//! unavailable, undecodable, timeout). Mapping those facts to SCIM statuses is `src/error.rs`'s
//! job, not this module's.
//!
//! - `safe_url`: the final URL never leaves the configured base (scheme, host, port, path).
//! - `retry`: which failures are repeated (idempotent methods, 429/503) and the backoff.
//! - `auth`: outbound credentials, including the cached OAuth 2.0 client-credentials token.
//! - `message`: the backend's error text, extracted and sanitised.
//! - `secret`: [`Secret`], the masked credential type used by settings too.
//! - `recorder`: [`Recorder`], the in-memory backend: canned answers, recorded calls.
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
mod forward;
mod message;
mod recorder;
mod request;
mod retry;
mod safe_url;
mod secret;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;

use tokio::time::Instant;

pub use client::BackendClient;
pub(crate) use client::read_answer;
pub use config::{BackendAuth, BackendConfig, DEFAULT_REQUEST_BUDGET};
pub use error::Error;
pub use forward::{Forwarded, forwarded, with_forwarded};
/// The error text scimgate reads from a backend answer (for mapping `tests:` cases).
pub use recorder::{Answer, RecordedCall, Recorder};
pub use request::{BackendRequest, BackendResponse};
pub use secret::Secret;

/// A boxed, `Send` future: what [`Backend::call`] returns, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The one way the engine reaches a backend: send one request within a deadline.
///
/// Object-safe so an [`Engine`](crate::engine::Engine) holds `Arc<dyn Backend>`: the HTTP
/// [`BackendClient`] in production, the in-memory [`Recorder`] where no socket is wanted.
/// Implementations return the 2xx answer or a [`backend::Error`](Error) stating the facts; they
/// never choose SCIM statuses.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Sends `request`; the answer must arrive before `deadline`.
    fn call(
        &self,
        request: BackendRequest,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<BackendResponse, Error>>;

    /// How many calls this backend has been sent (for cost checks and `translate`).
    fn calls_made(&self) -> u64;
}

impl Backend for BackendClient {
    fn call(
        &self,
        request: BackendRequest,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<BackendResponse, Error>> {
        Box::pin(Self::call(self, request, deadline))
    }

    fn calls_made(&self) -> u64 {
        Self::calls_made(self)
    }
}
