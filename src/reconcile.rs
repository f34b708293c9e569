//! `scimgate reconcile [--config F] [--tenant T | --connection ID] [--json]`: for each tenant
//! (or one connection), what its backend holds against the SCIM ids the gateway keeps (see
//! `engine::reconcile`), as text or JSON.
//! Read-only: nothing is written to the backend or the store. Product teams run it before they
//! switch provisioning on (users made by hand in the product) and after incidents.
//!
//! Builds the engines from the settings the way `serve` does (store, mapping, backend client;
//! a connection's engine through the same registry, with its variables and opened secrets)
//! but serves nothing; the report names backend ids, SCIM ids and `userName`s, for the operator
//! who asked, and is never logged.

use crate::scim::ResourceKind;
use std::sync::Arc;

use serde::Serialize;

use crate::app::{self, StartError};
use crate::engine::{self, Engine, EngineOptions, ReconcileReport};
use crate::settings::Settings;

/// Why a reconcile could not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings, store or a mapping is unusable.
    #[error(transparent)]
    Start(#[from] StartError),
    /// `--tenant` names no tenant of the settings.
    #[error("no tenant `{0}` in the settings (tenants: {1})")]
    UnknownTenant(String, String),
    /// `--connection` names no connection the store holds and the settings can serve.
    #[error(
        "no connection `{0}` in the store (or it cannot be served: its mapping is not in \
         connections.mappings, or its secrets cannot be opened; `scimgate connections list` \
         shows the ids)"
    )]
    UnknownConnection(String),
    /// A backend or store call failed.
    #[error("tenant `{tenant}`: {error}")]
    Engine {
        /// The tenant being reconciled.
        tenant: String,
        /// What failed.
        error: engine::Error,
    },
}

/// The findings of one tenant, per resource type it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantReport {
    /// The tenant's name (a connection's: its store key, `conn/<id>`).
    pub tenant: String,
    /// The connection's id, when this is a connection's report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// One report per served resource type (`User`, then `Group`).
    pub resources: Vec<ReconcileReport>,
}

/// Reconciles every tenant of `settings` (or only `tenant`).
pub async fn run(settings: &Settings, tenant: Option<&str>) -> Result<Vec<TenantReport>, Error> {
    if let Some(name) = tenant
        && !settings.tenants.iter().any(|t| t.name == name)
    {
        let names: Vec<&str> = settings.tenants.iter().map(|t| t.name.as_str()).collect();
        return Err(Error::UnknownTenant(name.to_owned(), names.join(", ")));
    }
    let store = app::open_store(settings).await?;
    let env = |name: &str| std::env::var(name).ok();
    let mut reports = Vec::new();
    for t in settings
        .tenants
        .iter()
        .filter(|t| tenant.is_none_or(|name| t.name == name))
    {
        let checked = app::load_mapping(&t.mapping, &env)
            .and_then(|m| app::check_mapping(&t.mapping.display().to_string(), m))
            .map_err(|problems| StartError { problems })?;
        let options = EngineOptions {
            deadline: settings.backend.deadline,
            ..EngineOptions::default()
        };
        let engine = Engine::new(
            &t.name,
            checked.mapping,
            checked.client,
            Arc::clone(&store),
            options,
        );
        let resources = tenant_report(&engine)
            .await
            .map_err(|error| Error::Engine {
                tenant: t.name.clone(),
                error,
            })?;
        reports.push(TenantReport {
            tenant: t.name.clone(),
            connection: None,
            resources,
        });
    }
    Ok(reports)
}

/// Reconciles connection `id` of the store, through the engine `serve` would give it.
pub async fn run_connection(settings: &Settings, id: &str) -> Result<TenantReport, Error> {
    let store = app::open_store(settings).await?;
    let live = app::connections_from_disk(settings, &store)
        .await?
        .and_then(|registry| registry.connection(id))
        .ok_or_else(|| Error::UnknownConnection(id.to_owned()))?;
    let tenant = live.tenant.name.clone();
    let resources = tenant_report(&live.engine)
        .await
        .map_err(|error| Error::Engine {
            tenant: tenant.clone(),
            error,
        })?;
    Ok(TenantReport {
        tenant,
        connection: Some(live.id.clone()),
        resources,
    })
}

/// The reports of one engine: Users, then Groups, for the types its mapping serves.
pub async fn tenant_report(engine: &Engine) -> Result<Vec<ReconcileReport>, engine::Error> {
    let mut out = Vec::new();
    for kind in ResourceKind::ALL {
        if engine.mapping().of_kind(kind).is_some() {
            out.push(engine.reconcile(kind).await?);
        }
    }
    Ok(out)
}

/// The reports as text: a summary line per resource type, then one line per finding.
pub fn render_text(reports: &[TenantReport]) -> String {
    let mut out = String::new();
    for tenant in reports {
        match &tenant.connection {
            Some(id) => out.push_str(&format!("connection {id} (tenant {})\n", tenant.tenant)),
            None => out.push_str(&format!("tenant {}\n", tenant.tenant)),
        }
        for r in &tenant.resources {
            out.push_str(&format!(
                "  {}: {} in the backend ({} pages), {} SCIM ids; {} unmanaged, {} gone, {} identity changed\n",
                r.resource_type,
                r.backend_resources,
                r.backend_pages,
                r.scim_ids,
                r.unmanaged.len(),
                r.gone.len(),
                r.identity_changed.len()
            ));
            for f in &r.unmanaged {
                out.push_str(&format!(
                    "    unmanaged: backend id {}{} (in the backend, no SCIM id maps to it)\n",
                    f.backend_id,
                    named(f.name.as_deref())
                ));
            }
            for f in &r.gone {
                out.push_str(&format!(
                    "    gone: SCIM id {} (backend id {} is not in the backend)\n",
                    f.scim_id.as_deref().unwrap_or(""),
                    f.backend_id
                ));
            }
            for f in &r.identity_changed {
                out.push_str(&format!(
                    "    identity changed: SCIM id {} (backend id {}{} is now another record)\n",
                    f.scim_id.as_deref().unwrap_or(""),
                    f.backend_id,
                    named(f.name.as_deref())
                ));
            }
        }
    }
    out
}

fn named(name: Option<&str>) -> String {
    name.map(|n| format!(", {n}")).unwrap_or_default()
}

/// The reports as one JSON document: `{"tenants": [...]}`.
pub fn render_json(reports: &[TenantReport]) -> String {
    let doc = serde_json::json!({ "tenants": reports });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
