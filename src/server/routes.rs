//! The routing table: (method, path) → health probe, metrics, audit trail, or tenant + SCIM resource + operation.
//!
//! Pure functions over strings and `http::Method`: no I/O, no auth, no bodies. Tolerant the way
//! Entra needs it: resource names match case-insensitively, empty segments (`//`) and a
//! trailing slash are ignored.

use std::borrow::Cow;

use http::Method;

use crate::service::{Operation, Resource};

/// Where a path leads, before the method is considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/healthz`: the process is up (no auth).
    Healthz,
    /// `/readyz`: every tenant's service is ready (no auth).
    Readyz,
    /// `/metrics`: Prometheus metrics (any tenant's credential; none on the admin listener).
    Metrics,
    /// `/admin/audit`: the audit trail (a tenant's credential shows that tenant's entries).
    Audit,
    /// Under the base path of tenant number `tenant`; `rest` are the segments after it.
    Tenant {
        /// Index of the tenant whose base path matched (the longest match wins).
        tenant: usize,
        /// The non-empty path segments after the base path.
        rest: Vec<&'a str>,
    },
    /// No tenant's base path matches.
    Unknown,
}

/// A SCIM endpoint under a tenant's base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The resource type named by the first segment.
    pub resource: Resource,
    /// The percent-decoded item id, if the path names one.
    pub id: Option<String>,
    /// The path is `…/{resource}/.search`.
    pub search: bool,
}

/// The non-empty segments of a path: `//` and a trailing `/` are tolerated.
pub fn segments(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// Normalises a configured base path into the segments [`route`] compares against.
pub fn base_segments(base_path: &str) -> Vec<String> {
    segments(base_path)
        .into_iter()
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Finds where `path` leads, given each tenant's [`base_segments`].
pub fn route<'a>(bases: &[Vec<String>], path: &'a str) -> Route<'a> {
    let segments = segments(path);
    match segments.as_slice() {
        ["healthz"] => return Route::Healthz,
        ["readyz"] => return Route::Readyz,
        ["metrics"] => return Route::Metrics,
        [admin, audit]
            if admin.eq_ignore_ascii_case("admin") && audit.eq_ignore_ascii_case("audit") =>
        {
            return Route::Audit;
        }
        _ => {}
    }
    bases
        .iter()
        .enumerate()
        .filter(|(_, base)| {
            base.len() <= segments.len()
                && base
                    .iter()
                    .zip(&segments)
                    .all(|(b, s)| b.eq_ignore_ascii_case(s))
        })
        .max_by_key(|(_, base)| base.len())
        .map_or(Route::Unknown, |(tenant, base)| Route::Tenant {
            tenant,
            rest: segments[base.len()..].to_vec(),
        })
}

/// The SCIM endpoint the segments after a base path name, if any.
pub fn target(rest: &[&str]) -> Option<Target> {
    let (first, tail) = rest.split_first()?;
    let resource = match first.to_ascii_lowercase().as_str() {
        "users" => Resource::Users,
        "groups" => Resource::Groups,
        "schemas" => Resource::Schemas,
        "resourcetypes" => Resource::ResourceTypes,
        "serviceproviderconfig" => Resource::ServiceProviderConfig,
        _ => return None,
    };
    match tail {
        [] => Some(Target {
            resource,
            id: None,
            search: false,
        }),
        [".search"] if matches!(resource, Resource::Users | Resource::Groups) => Some(Target {
            resource,
            id: None,
            search: true,
        }),
        [id] if resource != Resource::ServiceProviderConfig => {
            let id = percent_encoding::percent_decode_str(id)
                .decode_utf8()
                .ok()?;
            Some(Target {
                resource,
                id: Some(Cow::into_owned(id)),
                search: false,
            })
        }
        _ => None,
    }
}

/// RFC 7644 endpoints this gateway knows but does not serve (`/Me` §3.11, `/Bulk` §3.7), by the
/// segments after a base path: they are answered `501`, not `404`.
pub fn unimplemented(rest: &[&str]) -> Option<Unimplemented> {
    let (first, _) = rest.split_first()?;
    match first.to_ascii_lowercase().as_str() {
        "me" => Some(Unimplemented::Me),
        "bulk" => Some(Unimplemented::Bulk),
        _ => None,
    }
}

/// A SCIM endpoint of RFC 7644 that the gateway does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unimplemented {
    /// `/Me`: the authenticated subject's own resource (RFC 7644 §3.11).
    Me,
    /// `/Bulk`: many operations in one request (RFC 7644 §3.7).
    Bulk,
}

/// The operation `method` asks for on `target`, or the methods the endpoint allows.
pub fn operation(method: &Method, target: &Target) -> Result<Operation, &'static str> {
    let writable = matches!(target.resource, Resource::Users | Resource::Groups);
    match (target.search, target.id.is_some(), writable) {
        (true, _, _) => match *method {
            Method::POST => Ok(Operation::Search),
            _ => Err("POST"),
        },
        (false, false, true) => match *method {
            Method::GET => Ok(Operation::List),
            Method::POST => Ok(Operation::Create),
            _ => Err("GET, POST"),
        },
        (false, true, true) => match *method {
            Method::GET => Ok(Operation::Get),
            Method::PUT => Ok(Operation::Replace),
            Method::PATCH => Ok(Operation::Patch),
            Method::DELETE => Ok(Operation::Delete),
            _ => Err("GET, PUT, PATCH, DELETE"),
        },
        (false, has_id, false) => match *method {
            Method::GET if has_id => Ok(Operation::Get),
            Method::GET => Ok(Operation::List),
            _ => Err("GET"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases() -> Vec<Vec<String>> {
        vec![base_segments("/scim/v2"), base_segments("/acme/scim/v2")]
    }

    #[test]
    fn health_probes_route_before_tenants() {
        assert_eq!(route(&bases(), "/healthz"), Route::Healthz);
        assert_eq!(route(&bases(), "/readyz/"), Route::Readyz);
        assert_eq!(route(&bases(), "/metrics"), Route::Metrics);
        assert_eq!(route(&bases(), "/admin/Audit/"), Route::Audit);
    }

    #[test]
    fn longest_base_path_wins_and_case_and_double_slashes_are_tolerated() {
        assert_eq!(
            route(&bases(), "/ACME/scim/v2//Users/"),
            Route::Tenant {
                tenant: 1,
                rest: vec!["Users"]
            }
        );
        assert_eq!(
            route(&bases(), "/scim/v2/Users"),
            Route::Tenant {
                tenant: 0,
                rest: vec!["Users"]
            }
        );
        assert_eq!(route(&bases(), "/other/Users"), Route::Unknown);
    }

    #[test]
    fn targets_and_operations() {
        let cases: &[(&str, &[&str], Result<Operation, &str>)] = &[
            ("GET", &["users"], Ok(Operation::List)),
            ("POST", &["Users"], Ok(Operation::Create)),
            ("POST", &["Users", ".search"], Ok(Operation::Search)),
            ("GET", &["Users", ".search"], Err("POST")),
            ("GET", &["GROUPS", "7"], Ok(Operation::Get)),
            ("PUT", &["Groups", "7"], Ok(Operation::Replace)),
            ("PATCH", &["Groups", "7"], Ok(Operation::Patch)),
            ("DELETE", &["Users", "7"], Ok(Operation::Delete)),
            ("DELETE", &["Users"], Err("GET, POST")),
            ("GET", &["Schemas", "urn:x"], Ok(Operation::Get)),
            ("POST", &["Schemas"], Err("GET")),
            ("PUT", &["ResourceTypes", "User"], Err("GET")),
            ("GET", &["serviceproviderconfig"], Ok(Operation::List)),
        ];
        for (method, rest, expected) in cases {
            let target = target(rest).expect("known target");
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            assert_eq!(operation(&method, &target), *expected, "{method} {rest:?}");
        }
    }

    #[test]
    fn ids_are_percent_decoded_and_unknown_endpoints_refused() {
        let decoded = target(&["Users", "a%20b"]).expect("target");
        assert_eq!(decoded.id.as_deref(), Some("a b"));
        assert_eq!(target(&["Widgets"]), None);
        assert_eq!(target(&["Users", "1", "x"]), None);
        assert_eq!(target(&["ServiceProviderConfig", "x"]), None);
        assert_eq!(target(&[]), None);
    }

    #[test]
    fn me_and_bulk_are_known_but_unimplemented() {
        assert_eq!(unimplemented(&["Me"]), Some(Unimplemented::Me));
        assert_eq!(unimplemented(&["me", "x"]), Some(Unimplemented::Me));
        assert_eq!(unimplemented(&["BULK"]), Some(Unimplemented::Bulk));
        assert_eq!(unimplemented(&["Users"]), None);
        assert_eq!(unimplemented(&["Meta"]), None);
        assert_eq!(unimplemented(&[]), None);
    }
}
