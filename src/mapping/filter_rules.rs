//! Filter push-down: which SCIM filters the backend can answer, and how (a list query, a get by
//! id, a store lookup, or an opted-in capped scan).
//!
//! Rules are compiled from `filters:` (`when: 'userName eq {v}'`); a filter no rule covers is an
//! error naming its attribute and operator.

use crate::mapping::attribute::{Target, scalar_text};
use crate::mapping::error::Error;
use crate::mapping::resource::ResourceMapping;
use crate::mapping::template::Template;
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::{AttrPath, eq_name};
use serde_json::Value;

/// How the engine answers a SCIM filter.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendSearch {
    /// Call `list` with these extra query parameters (raw values; rendering encodes them).
    /// When `post_filter` is set, the engine re-checks each result against it.
    Query {
        /// Query parameters to add to the list call.
        params: Vec<(String, String)>,
        /// The filter to evaluate on the results, when the backend query is not exact.
        post_filter: Option<Filter>,
    },
    /// The filter is `id eq "…"`: read that one resource.
    ById(String),
    /// Look the value up in the gateway's store (a `store: true` attribute).
    Store {
        /// The mapping key of the stored attribute (`externalId`).
        attribute: String,
        /// The value looked for.
        value: String,
    },
    /// List everything (at most `cap` resources) and evaluate the filter in the gateway.
    Scan {
        /// The most backend resources to read; more is a `tooMany` error.
        cap: u32,
    },
}

/// What a compiled filter rule does.
#[derive(Debug, Clone)]
pub(crate) enum FilterAction {
    Query(Vec<(String, Template)>),
    Get,
    Store,
}

/// One compiled `filters:` rule.
#[derive(Debug, Clone)]
pub(crate) struct FilterRule {
    pub(crate) target: Target,
    pub(crate) op: CompareOp,
    pub(crate) action: FilterAction,
    pub(crate) exact: bool,
    /// The mapping key of the attribute (for store lookups).
    pub(crate) key: String,
}

/// Operator names as SCIM spells them.
pub(crate) fn op_name(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Lt => "lt",
        CompareOp::Ge => "ge",
        CompareOp::Le => "le",
    }
}

/// Parses an operator name.
pub(crate) fn parse_op(word: &str) -> Option<CompareOp> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "lt" => CompareOp::Lt,
        "ge" => CompareOp::Ge,
        "le" => CompareOp::Le,
        _ => return None,
    })
}

/// The operators a `filters:` rule may push down: a backend search is an exact match, a
/// substring, a prefix or a range (`ne` and `ew` are rarely searchable, `pr` has no value).
const PUSHED_DOWN: [CompareOp; 7] = [
    CompareOp::Eq,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];

/// Splits `attr op {v}` into its attribute text and operator.
pub(crate) fn split_when(when: &str) -> Result<(String, CompareOp), String> {
    let trimmed = when.trim();
    let Some(rest) = trimmed.strip_suffix("{v}") else {
        return Err("must end with `{v}`, e.g. `userName eq {v}`".into());
    };
    let rest = rest.trim_end();
    let Some((attr, op)) = rest.rsplit_once(' ') else {
        return Err("must be `attribute operator {v}`, e.g. `userName eq {v}`".into());
    };
    let op = parse_op(op).ok_or_else(|| {
        format!("unknown operator `{op}` (allowed: eq, ne, co, sw, ew, gt, lt, ge, le)")
    })?;
    if !PUSHED_DOWN.contains(&op) {
        return Err(format!(
            "operator `{}` cannot be pushed down (allowed: eq, co, sw, gt, ge, lt, le)",
            op_name(op)
        ));
    }
    Ok((attr.trim().to_owned(), op))
}

fn path_text(path: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(urn) = &path.schema {
        s.push_str(urn);
        s.push(':');
    }
    s.push_str(&path.name);
    if let Some(sub) = &path.sub_attr {
        s.push('.');
        s.push_str(sub);
    }
    s
}

fn literal(value: &Value) -> Option<String> {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(scalar_text(value)),
        _ => None,
    }
}

impl FilterRule {
    fn same_urn(&self, schema: Option<&String>, core: &str) -> bool {
        match (&self.target.urn, schema) {
            (None, None) => true,
            (None, Some(s)) => eq_name(s, core),
            (Some(u), Some(s)) => eq_name(u, s),
            (Some(_), None) => false,
        }
    }

    /// The filter value when this rule answers `filter`.
    fn matches(&self, filter: &Filter, core: &str) -> Option<String> {
        let t = &self.target;
        match filter {
            Filter::Compare(path, op, value)
                if *op == self.op && self.same_urn(path.schema.as_ref(), core) =>
            {
                let name_ok = eq_name(&path.name, &t.name);
                let sub_ok = match (&path.sub_attr, &t.sub) {
                    (None, None) => true,
                    (Some(a), Some(b)) => eq_name(a, b),
                    _ => false,
                };
                (name_ok && sub_ok).then(|| literal(value)).flatten()
            }
            Filter::ValuePath(path, inner)
                if eq_name(&path.name, &t.name) && self.same_urn(path.schema.as_ref(), core) =>
            {
                let (sel, lit) = t.select.as_ref()?;
                let sub = t.sub.as_deref()?;
                let Filter::And(a, b) = inner.as_ref() else {
                    return None;
                };
                let is_sel = |f: &Filter| matches!(f, Filter::Compare(p, CompareOp::Eq, v) if eq_name(&p.name, sel) && v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(lit)));
                let value_of = |f: &Filter| match f {
                    Filter::Compare(p, op, v) if *op == self.op && eq_name(&p.name, sub) => {
                        literal(v)
                    }
                    _ => None,
                };
                if is_sel(a) {
                    value_of(b)
                } else if is_sel(b) {
                    value_of(a)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

pub(crate) fn describe(filter: &Filter) -> (String, String) {
    match filter {
        Filter::Compare(path, op, _) => (path_text(path), op_name(*op).to_owned()),
        Filter::Present(path) => (path_text(path), "pr".into()),
        Filter::ValuePath(path, inner) => {
            let (a, op) = describe(inner);
            (format!("{}[{a}]", path_text(path)), op)
        }
        Filter::And(a, _) => (describe(a).0, "and".into()),
        Filter::Or(a, _) => (describe(a).0, "or".into()),
        Filter::Not(a) => (describe(a).0, "not".into()),
    }
}

impl ResourceMapping {
    /// How to answer a SCIM filter: the first matching `filters:` rule, else the opted-in scan,
    /// else [`Error::UnsupportedFilter`] naming the attribute and operator.
    pub fn translate_filter(&self, filter: &Filter) -> Result<BackendSearch, Error> {
        self.translate_filter_in(filter, &std::collections::BTreeMap::new())
    }

    /// [`ResourceMapping::translate_filter`] for a request through a connection: its variables fill
    /// the `{conn.NAME}` placeholders of `query:` rules (raw here; the URL encodes them).
    pub fn translate_filter_in(
        &self,
        filter: &Filter,
        connection: &std::collections::BTreeMap<String, String>,
    ) -> Result<BackendSearch, Error> {
        for rule in &self.filters {
            let Some(value) = rule.matches(filter, &self.core_urn) else {
                continue;
            };
            return Ok(match &rule.action {
                FilterAction::Get => BackendSearch::ById(value),
                FilterAction::Store => BackendSearch::Store {
                    attribute: rule.key.clone(),
                    value,
                },
                FilterAction::Query(params) => {
                    let vars = crate::mapping::template::Vars::new()
                        .with_connection(connection)
                        .with("v", value.clone());
                    let params = params
                        .iter()
                        .map(|(name, t)| (name.clone(), t.render_raw(&vars)))
                        .collect();
                    BackendSearch::Query {
                        params,
                        post_filter: (!rule.exact).then(|| filter.clone()),
                    }
                }
            });
        }
        if let Some(cap) = self.scan {
            return Ok(BackendSearch::Scan { cap });
        }
        let (attribute, operator) = describe(filter);
        Err(Error::UnsupportedFilter {
            attribute,
            operator,
        })
    }
}
