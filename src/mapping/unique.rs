//! `create: { unique: [userName] }`: for backends that accept a duplicate, the SCIM filters
//! that find an existing holder of a create's unique attributes. The engine answers them with
//! the mapping's own filter push-down before it sends the create, and refuses with 409.
//!
//! Pure: it only builds filter texts; the compiler checks that each one is pushed down.

use crate::mapping::attribute::{Rule, scalar_text};
use crate::mapping::resource::ResourceMapping;
use serde_json::Value;

/// One lookup before a create: the filter that finds a resource holding the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueLookup {
    /// The mapping key of the unique attribute (`userName`).
    pub attribute: String,
    /// The value the create carries.
    pub value: String,
    /// The SCIM filter that finds a holder (`userName eq "bjensen"`).
    pub filter: String,
}

impl ResourceMapping {
    /// The lookups for the `unique` attributes a SCIM create carries (with defaults applied);
    /// attributes it leaves out are skipped (`required` covers those).
    pub fn unique_lookups(&self, scim: &Value) -> Vec<UniqueLookup> {
        let scim = self.with_defaults(scim).unwrap_or_else(|_| scim.clone());
        self.unique
            .iter()
            .filter_map(|key| {
                let rule = self.rules.iter().find(|r| r.key == *key)?;
                let value = rule.scim_value(&scim)?;
                if value.is_array() || value.is_object() {
                    return None;
                }
                let mut text = scalar_text(&value);
                if rule.trim {
                    text = text.trim().to_owned();
                }
                Some(UniqueLookup {
                    attribute: key.clone(),
                    filter: filter_text(rule, &text),
                    value: text,
                })
            })
            .collect()
    }
}

/// The SCIM filter that compares `rule`'s attribute with `value`: `userName eq "v"`, or for an
/// element rule `emails[type eq "work" and value eq "v"]`.
pub(crate) fn filter_text(rule: &Rule, value: &str) -> String {
    let quoted = Value::String(value.to_owned()).to_string();
    let t = &rule.target;
    let prefix = t.urn.as_ref().map(|u| format!("{u}:")).unwrap_or_default();
    match (&t.select, &t.sub) {
        (Some((attr, literal)), Some(sub)) => {
            let literal = if rule.select_boolean {
                literal.to_ascii_lowercase()
            } else {
                Value::String(literal.clone()).to_string()
            };
            format!(
                "{prefix}{}[{attr} eq {literal} and {sub} eq {quoted}]",
                t.name
            )
        }
        (None, Some(sub)) => format!("{prefix}{}.{sub} eq {quoted}", t.name),
        _ => format!("{prefix}{} eq {quoted}", t.name),
    }
}
