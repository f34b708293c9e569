//! [`TenantService`]: the engine of one tenant behind the server's [`ScimService`] seam.
//!
//! Parses what the router extracted (query pairs, `/.search` bodies) with `scim::query`,
//! routes by resource and operation to the [`Engine`], applies projection (`attributes`,
//! `excludedAttributes`) to every resource it returns (lists, single GETs, create, replace and
//! patch answers), serves `/Schemas`, `/ResourceTypes` and `/ServiceProviderConfig` from the
//! mapping's registry, and turns every error into a [`ScimError`] through `crate::error`.
//! Statuses: 201 + `Location` for create, 204 for delete and group PATCH, 200 otherwise.
//! No mapping logic and no backend calls here: those are the engine's.

use crate::scim::ResourceKind;
use std::sync::Arc;

use http::StatusCode;
use serde_json::Value;

use super::Engine;
use crate::scim::narrow::project_query;
use crate::scim::query::{ListQuery, QueryLimits};
use crate::scim::schema::discovery::{self, ServiceProviderOptions};
use crate::scim::{ScimError, ScimType};
use crate::service::{BoxFuture, Operation, Resource, ScimCall, ScimReply, ScimService};

/// One tenant's SCIM service: its engine plus what discovery advertises.
#[derive(Debug, Clone)]
pub struct TenantService {
    engine: Arc<Engine>,
    limits: QueryLimits,
    provider: ServiceProviderOptions,
}

impl TenantService {
    /// A service over `engine`; paging limits come from the engine's options, and
    /// `basic_auth` says whether `/ServiceProviderConfig` lists HTTP Basic.
    pub fn new(engine: Arc<Engine>, basic_auth: bool, documentation_uri: Option<String>) -> Self {
        let options = engine.options();
        let limits = QueryLimits {
            default_count: options.default_count,
            max_count: options.max_count,
        };
        let provider = ServiceProviderOptions {
            max_results: options.max_count,
            basic_auth,
            documentation_uri,
        };
        Self {
            engine,
            limits,
            provider,
        }
    }

    /// The engine behind this service.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Answers one SCIM call (the body of [`ScimService::call`]), its backend calls made
    /// with the credential the call brought, if any.
    pub async fn answer(&self, mut call: ScimCall) -> Result<ScimReply, ScimError> {
        let credential = call.backend_credential.take();
        crate::backend::with_forwarded(credential, self.route(call)).await
    }

    async fn route(&self, call: ScimCall) -> Result<ScimReply, ScimError> {
        match call.resource {
            Resource::Users => self.resource(ResourceKind::User, call).await,
            Resource::Groups => self.resource(ResourceKind::Group, call).await,
            Resource::Schemas => self.schemas(&call),
            Resource::ResourceTypes => self.resource_types(&call),
            Resource::ServiceProviderConfig => Ok(ok(discovery::service_provider_config(
                self.base_url(),
                &self.provider,
            ))),
        }
    }

    fn base_url(&self) -> &str {
        &self.engine.options().base_url
    }

    async fn resource(&self, kind: ResourceKind, call: ScimCall) -> Result<ScimReply, ScimError> {
        let resource_type = kind.name();
        let engine = &self.engine;
        let registry = engine.mapping().registry();
        match call.operation {
            Operation::List | Operation::Search => {
                let query = match (call.operation, &call.body) {
                    (Operation::Search, Some(body)) => {
                        ListQuery::from_search_body(body, registry, resource_type, self.limits)?
                    }
                    _ => ListQuery::from_query_pairs(
                        &call.query,
                        registry,
                        resource_type,
                        self.limits,
                    )?,
                };
                let members = wants_members(&query);
                let mut list = engine.list_with(resource_type, &query, members).await?;
                for resource in &mut list.resources {
                    *resource = project_query(resource, &query, registry, resource_type);
                }
                Ok(ok(list.into_json()))
            }
            Operation::Get => {
                let id = id_of(&call)?;
                let members = wants_members(&self.projection(&call, resource_type)?);
                let resource = engine.get_with(resource_type, id, members).await?;
                Ok(ok(self.projected(&call, resource_type, resource)?))
            }
            Operation::Create => {
                let body = body_of(&call)?;
                let members = wants_members(&self.projection(&call, resource_type)?);
                let resource = engine.create_with(resource_type, body, members).await?;
                let location = resource
                    .pointer("/meta/location")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Ok(ScimReply {
                    status: StatusCode::CREATED,
                    body: Some(self.projected(&call, resource_type, resource)?),
                    location,
                })
            }
            Operation::Replace => {
                let id = id_of(&call)?;
                let members = wants_members(&self.projection(&call, resource_type)?);
                let resource = engine
                    .replace_with(resource_type, id, body_of(&call)?, members)
                    .await?;
                Ok(ok(self.projected(&call, resource_type, resource)?))
            }
            Operation::Patch => {
                let id = id_of(&call)?;
                match engine.patch(resource_type, id, body_of(&call)?).await? {
                    Some(resource) => Ok(ok(self.projected(&call, resource_type, resource)?)),
                    None => Ok(no_content()),
                }
            }
            Operation::Delete => {
                engine.delete(resource_type, id_of(&call)?).await?;
                Ok(no_content())
            }
        }
    }

    /// The call's `attributes` / `excludedAttributes` (other parameters are not parsed).
    fn projection(&self, call: &ScimCall, resource_type: &str) -> Result<ListQuery, ScimError> {
        let registry = self.engine.mapping().registry();
        let wanted: Vec<(String, String)> = call
            .query
            .iter()
            .filter(|(k, _)| {
                k.eq_ignore_ascii_case("attributes") || k.eq_ignore_ascii_case("excludedAttributes")
            })
            .cloned()
            .collect();
        Ok(ListQuery::from_query_pairs(
            &wanted,
            registry,
            resource_type,
            self.limits,
        )?)
    }

    /// A single resource projected by the call's `attributes` / `excludedAttributes`.
    fn projected(
        &self,
        call: &ScimCall,
        resource_type: &str,
        resource: Value,
    ) -> Result<Value, ScimError> {
        let registry = self.engine.mapping().registry();
        let query = self.projection(call, resource_type)?;
        if query.attributes.is_empty()
            && query.excluded_attributes.is_empty()
            && query.value_filters.is_empty()
        {
            return Ok(resource);
        }
        Ok(project_query(&resource, &query, registry, resource_type))
    }

    fn schemas(&self, call: &ScimCall) -> Result<ScimReply, ScimError> {
        let registry = self.engine.mapping().advertised();
        read_only(call)?;
        match call.id.as_deref() {
            None => Ok(ok(discovery::schemas_document(registry, self.base_url()))),
            Some(urn) => discovery::schema_document(registry, urn, self.base_url())
                .map(ok)
                .ok_or_else(|| ScimError::new(404, format!("no schema `{urn}`"))),
        }
    }

    fn resource_types(&self, call: &ScimCall) -> Result<ScimReply, ScimError> {
        let registry = self.engine.mapping().advertised();
        read_only(call)?;
        match call.id.as_deref() {
            None => Ok(ok(discovery::resource_types_document(
                registry,
                self.base_url(),
            ))),
            Some(name) => discovery::resource_type_document(registry, name, self.base_url())
                .map(ok)
                .ok_or_else(|| ScimError::new(404, format!("no resource type `{name}`"))),
        }
    }
}

impl ScimService for TenantService {
    fn call(&self, call: ScimCall) -> BoxFuture<'_, Result<ScimReply, ScimError>> {
        Box::pin(self.answer(call))
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(self.engine.ready())
    }
}

/// Whether a response keeps `members`: not excluded, and named when attributes are listed.
fn wants_members(query: &ListQuery) -> bool {
    let members = |p: &crate::scim::path::AttrPath| p.name.eq_ignore_ascii_case("members");
    !query.excluded_attributes.iter().any(members)
        && (query.attributes.is_empty() || query.attributes.iter().any(members))
}

fn ok(body: Value) -> ScimReply {
    ScimReply {
        status: StatusCode::OK,
        body: Some(body),
        location: None,
    }
}

fn no_content() -> ScimReply {
    ScimReply {
        status: StatusCode::NO_CONTENT,
        body: None,
        location: None,
    }
}

fn id_of(call: &ScimCall) -> Result<&str, ScimError> {
    call.id
        .as_deref()
        .ok_or_else(|| ScimError::new(404, "this operation needs a resource id in the path"))
}

fn body_of(call: &ScimCall) -> Result<&Value, ScimError> {
    call.body.as_ref().ok_or_else(|| {
        ScimError::bad_request(ScimType::InvalidSyntax, "a request body is required")
    })
}

fn read_only(call: &ScimCall) -> Result<(), ScimError> {
    match call.operation {
        Operation::List | Operation::Get => Ok(()),
        _ => Err(ScimError::new(405, "discovery endpoints are read-only")),
    }
}

#[cfg(test)]
mod tests;
