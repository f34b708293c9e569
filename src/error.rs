//! The one place where an error of any layer becomes an HTTP status and a SCIM error body.
//!
//! Classified by fault, as pingora does: the client's fault is a 4xx with a `scimType`,
//! the backend's a 502/504 (or 429/503 with `Retry-After`), ours a 500 with a generic detail.
