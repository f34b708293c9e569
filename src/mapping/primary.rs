//! The `[primary eq "True"]` rules of an attribute: a single backend field fed from a
//! multi-valued SCIM attribute (Entra's app roles), and which element it means when the
//! request marks none or several primary.
//!
//! Pure: value shapes only.

use crate::mapping::attribute::{Rule, get_ci, loose_eq, non_null};
use crate::mapping::error::Error;
use serde_json::Value;

impl Rule {
    /// For a `[primary eq "True"]` rule: the error when `resource` lists several elements of
    /// which not exactly one is primary (nothing says which one the single backend field
    /// should hold). One element, or exactly one primary, is fine.
    pub(crate) fn ambiguous_primary(&self, resource: &Value) -> Option<Error> {
        if self.with_list {
            return None;
        }
        let (attr, _) = self
            .target
            .select
            .as_ref()
            .filter(|_| self.select_boolean)?;
        let root = resource.as_object()?;
        let container = match &self.target.urn {
            Some(urn) => non_null(get_ci(root, urn))?.as_object()?,
            None => root,
        };
        let items = non_null(get_ci(container, &self.target.name))?.as_array()?;
        let primaries = items
            .iter()
            .filter(|item| {
                item.as_object()
                    .and_then(|o| get_ci(o, attr))
                    .is_some_and(|v| loose_eq(v, "true"))
            })
            .count();
        (items.len() > 1 && primaries != 1).then(|| Error::AmbiguousPrimary {
            attribute: self.key.clone(),
            count: items.len(),
            primaries,
        })
    }

    /// For a `[primary eq "True"].sub` rule (a single-valued backend field fed from a
    /// multi-valued SCIM attribute): the `sub` value of the newest element `new_scim` has and
    /// `old_scim` has not. Entra only ever *adds* app-role assignments (AppRoleAssignmentsComplex,
    /// values not marked primary), so when the primary element did not change, the newest
    /// assignment is the one the backend field must hold.
    pub(crate) fn newest_added(&self, old_scim: &Value, new_scim: &Value) -> Option<Value> {
        if !self.select_boolean || self.target.family || self.with_list {
            return None;
        }
        let sub = self.target.sub.as_deref()?;
        let list = |resource: &Value| -> Vec<Value> {
            let container = match &self.target.urn {
                Some(urn) => resource
                    .as_object()
                    .and_then(|root| non_null(get_ci(root, urn)))
                    .and_then(Value::as_object),
                None => resource.as_object(),
            };
            container
                .and_then(|c| non_null(get_ci(c, &self.target.name)))
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| {
                            non_null(item.as_object().and_then(|o| get_ci(o, sub))).cloned()
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let before = list(old_scim);
        list(new_scim)
            .into_iter()
            .rev()
            .find(|value| !before.contains(value))
    }

    /// For a `with_list` primary rule: the old primary value when `new_scim` marks no element
    /// primary but still lists it (an AppRoleAssignmentsComplex replace keeps the primary).
    pub(crate) fn primary_kept(&self, old_scim: &Value, new_scim: &Value) -> Option<Value> {
        let (attr, _) = self.target.select.as_ref().filter(|_| self.with_list)?;
        let sub = self.target.sub.as_deref()?;
        let items = new_scim
            .as_object()
            .and_then(|root| match &self.target.urn {
                Some(urn) => non_null(get_ci(root, urn)).and_then(Value::as_object),
                None => Some(root),
            })
            .and_then(|c| non_null(get_ci(c, &self.target.name)))
            .and_then(Value::as_array)?;
        let marked = items.iter().any(|item| {
            item.as_object()
                .and_then(|o| get_ci(o, attr))
                .is_some_and(|v| loose_eq(v, "true"))
        });
        if marked {
            return None;
        }
        let old = self.scim_value(old_scim)?;
        items
            .iter()
            .any(|item| item.as_object().and_then(|o| get_ci(o, sub)) == Some(&old))
            .then_some(old)
    }
}
