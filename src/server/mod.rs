//! The HTTP side of the gateway: sockets, TLS, the tower stack, authentication and routing.
//!
//! - [`listener`] accepts TCP (and TLS via [`tls`]) and serves HTTP/1.1 and h2 with hyper;
//! - [`live`] holds the tenants and limits being served, swapped whole on a reload;
//! - [`stack`] orders the tower layers (request id, trace, limits, timeout, load shedding);
//! - [`handlers`] routes ([`routes`]) to health probes or a tenant's [`crate::service::ScimService`]
//!   after authentication ([`tenant::Authenticate`]);
//! - `detach` runs each SCIM write on a task of its own, so a dropped request never stops it
//!   half way;
//! - [`respond`] is the one edge where request-time failures become SCIM error bodies.
//!
//! Handlers stay thin: parse, call the engine behind [`crate::service::ScimService`], render.

pub mod auth;
mod detach;
pub mod gate;
pub mod handlers;
pub mod listener;
pub mod live;
mod request_error;
pub mod respond;
pub mod routes;
pub mod stack;
pub mod tenant;
pub mod tls;

/// The seam's types, re-exported where the server's callers have always found them.
pub use crate::service::{Operation, Resource, ScimCall, ScimReply, ScimService};
pub use listener::{Server, ServerHandle, shutdown_signal};
pub use live::LiveConfig;
pub use tenant::{Authenticate, Rejection, Tenant};
