//! What a mapping serves, as `/Schemas` and `/ResourceTypes` advertise it: the resource types it
//! enables and, per schema, the attributes (and sub-attributes) its rules carry. Pure: it reads
//! the compiled rules only.

use crate::scim::ResourceKind;
use crate::scim::path::eq_name;
use crate::scim::schema::Served;

use super::attribute::Rule;
use super::resource::{OpName, ResourceMapping};

/// The enabled resource mappings of one file.
pub(crate) struct Carried<'a> {
    /// Users and Groups, each when enabled.
    pub(crate) resources: [Option<&'a ResourceMapping>; 2],
}

impl Carried<'_> {
    fn resource(&self, name: &str) -> Option<&ResourceMapping> {
        self.resources
            .iter()
            .flatten()
            .copied()
            .find(|r| eq_name(r.resource_type(), name))
    }
}

/// The sub-attributes of `members` the gateway answers with.
const MEMBER_SUBS: [&str; 3] = ["value", "$ref", "type"];

impl Served for Carried<'_> {
    fn resource_type(&self, name: &str) -> bool {
        self.resource(name).is_some()
    }

    fn attribute(&self, resource_type: &str, urn: &str, name: &str, sub: Option<&str>) -> bool {
        let Some(resource) = self.resource(resource_type) else {
            return false;
        };
        if eq_name(urn, &resource.core_urn)
            && eq_name(name, "members")
            && resource.kind() == ResourceKind::Group
        {
            let managed = resource.members.is_some()
                || resource.has_op(OpName::AddMember)
                || resource.has_op(OpName::ListMembers);
            return managed && sub.is_none_or(|s| MEMBER_SUBS.iter().any(|m| eq_name(m, s)));
        }
        resource
            .rules
            .iter()
            .any(|rule| carries(rule, &resource.core_urn, urn, name, sub))
    }

    fn read_only(&self, resource_type: &str, urn: &str, name: &str, sub: Option<&str>) -> bool {
        let Some(resource) = self.resource(resource_type) else {
            return false;
        };
        // Every rule carrying it only reads: with a sub-attribute, the rules of that
        // sub-attribute; for the attribute itself, all its rules.
        let mut rules = resource
            .rules
            .iter()
            .filter(|rule| carries(rule, &resource.core_urn, urn, name, sub))
            .filter(|rule| sub.is_some() || !rule.target.family)
            .peekable();
        rules.peek().is_some() && rules.all(|rule| rule.read_only)
    }
}

/// Whether `rule` carries attribute `name` of schema `urn` (`sub`: that sub-attribute of it).
fn carries(rule: &Rule, core_urn: &str, urn: &str, name: &str, sub: Option<&str>) -> bool {
    let target = &rule.target;
    let rule_urn = target.urn.as_deref().unwrap_or(core_urn);
    if !eq_name(rule_urn, urn) {
        return false;
    }
    if target.family {
        return true;
    }
    if !eq_name(&target.name, name) {
        return false;
    }
    let Some(sub) = sub else { return true };
    match (&target.sub, &target.select) {
        // The whole complex attribute is mapped.
        (None, None) => true,
        (mapped, select) => {
            mapped.as_deref().is_some_and(|m| eq_name(m, sub))
                || select.as_ref().is_some_and(|(attr, _)| eq_name(attr, sub))
                || (rule.primary && eq_name(sub, "primary"))
        }
    }
}
