//! One tenant as the router sees it: a base path, a switch, an authenticator and an engine.
//!
//! The authenticator is behind the [`Authenticate`] trait so the router does not depend on how
//! credentials are checked (`auth.rs` owns that) and tests can plug in a stand-in.

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderMap;

use super::auth::Authenticator;
use crate::service::{BoxFuture, ScimService};
use crate::settings::TenantSettings;

/// Checks one request's credentials for one tenant.
pub trait Authenticate: Send + Sync + 'static {
    /// The principal name (e.g. `bearer#1`), or why the request from `peer` is refused.
    fn authenticate<'a>(
        &'a self,
        headers: &'a HeaderMap,
        peer: Option<IpAddr>,
    ) -> BoxFuture<'a, Result<String, Rejection>>;
}

/// Why an authenticator refused a request. The detail goes to the log only (the client gets a
/// generic one), and none of it may contain the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What is wrong and what to fix, for the admin reading Entra's provisioning logs.
    pub detail: String,
    /// A short stable label for logs (`missing`, `expired`, …).
    pub reason: &'static str,
    /// The `WWW-Authenticate` value of the 401.
    pub challenge: String,
    /// The credential could not be checked at all (e.g. the JWKS is unreachable): not the
    /// client's fault, answered 503 rather than 401.
    pub unavailable: bool,
    /// Too many failed logins: answered 429 with this `Retry-After` (seconds) instead of 401.
    pub retry_after: Option<u64>,
}

impl Authenticate for super::auth::Authenticator {
    fn authenticate<'a>(
        &'a self,
        headers: &'a HeaderMap,
        peer: Option<IpAddr>,
    ) -> BoxFuture<'a, Result<String, Rejection>> {
        Box::pin(async move {
            self.authenticate_from(headers, peer)
                .await
                .map(|principal| principal.name)
                .map_err(|error| Rejection {
                    detail: error.to_string(),
                    reason: error.reason(),
                    challenge: self.www_authenticate(),
                    unavailable: error.is_unavailable(),
                    retry_after: Self::retry_after(&error),
                })
        })
    }
}

/// Everything the router needs to serve one tenant.
#[derive(Clone)]
pub struct Tenant {
    /// The tenant's name, used in logs and in the disabled-tenant message.
    pub name: String,
    /// Where the tenant's SCIM endpoints live, e.g. `/scim/v2` or `/acme/scim/v2`.
    pub base_path: String,
    /// The product's "SCIM sync active" switch: when off, authenticated calls get a 403.
    pub enabled: bool,
    /// The tenant's credential check.
    pub auth: Arc<dyn Authenticate>,
    /// The tenant's engine.
    pub service: Arc<dyn ScimService>,
}

impl Tenant {
    /// Builds a tenant from its validated settings and its engine, compiling the authenticator
    /// (which reads the environment variables and files the settings name). Problems are
    /// prefixed with `tenants.<name>.`, e.g. `tenants.acme.auth.bearer.token_hashes[0]: …`.
    pub fn from_settings(
        settings: &TenantSettings,
        service: Arc<dyn ScimService>,
    ) -> Result<Self, Vec<String>> {
        let auth = Authenticator::from_settings(&settings.auth).map_err(|problems| {
            problems
                .into_iter()
                .map(|problem| format!("tenants.{}.{problem}", settings.name))
                .collect::<Vec<_>>()
        })?;
        Ok(Self {
            name: settings.name.clone(),
            base_path: settings.base_path.clone(),
            enabled: settings.enabled,
            auth: Arc::new(auth),
            service,
        })
    }
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("name", &self.name)
            .field("base_path", &self.base_path)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}
