//! The lookup before a create (and before a PUT or PATCH that changes the value) for mappings with `create: { unique: [...] }` (backends that
//! accept a duplicate login): each unique value is looked up with the mapping's own filter
//! push-down, and a value some resource already holds is `Error::Taken` (409 `uniqueness`)
//! before anything is written.

use serde_json::Value;

use super::Error;
use super::list;
use super::op::Op;
use crate::mapping::UniqueLookup;
use crate::scim::filter::Filter;
use crate::scim::query::{ListQuery, SortOrder};

/// Refuses a create whose `unique` attributes name an existing resource. One list call per
/// unique attribute the create carries; none when the mapping has no `unique`.
pub(crate) async fn check(op: &Op<'_>, body: &Value) -> Result<(), Error> {
    for lookup in op.resource.unique_lookups(body) {
        look_up(op, lookup, None).await?;
    }
    Ok(())
}

/// Refuses a PUT or PATCH that changes a `unique` attribute to a value another resource
/// already holds (the backend would take the duplicate). `old` and `new` are the SCIM
/// resource before and after; `own_id` is the resource's SCIM id, which never counts as a
/// holder. Unchanged values are not looked up.
pub(crate) async fn check_change(
    op: &Op<'_>,
    own_id: &str,
    old: &Value,
    new: &Value,
) -> Result<(), Error> {
    let before = op.resource.unique_lookups(old);
    for lookup in op.resource.unique_lookups(new) {
        let unchanged = before
            .iter()
            .any(|b| b.attribute == lookup.attribute && b.value == lookup.value);
        if !unchanged {
            look_up(op, lookup, Some(own_id)).await?;
        }
    }
    Ok(())
}

async fn look_up(op: &Op<'_>, lookup: UniqueLookup, own_id: Option<&str>) -> Result<(), Error> {
    let filter = Filter::parse(&lookup.filter, op.engine.mapping.registry().urns())?;
    let query = ListQuery {
        filter: Some(filter),
        start_index: 1,
        // The resource itself may be one of the hits (a change of case only).
        count: if own_id.is_some() { 2 } else { 1 },
        attributes: Vec::new(),
        excluded_attributes: Vec::new(),
        value_filters: Vec::new(),
        sort_by: None,
        sort_order: SortOrder::Ascending,
    };
    let found = list::run(op, &query, false).await?;
    let holder = found
        .resources
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .find(|id| Some(*id) != own_id);
    if let Some(id) = holder {
        return Err(Error::Taken {
            resource_type: op.resource_type().to_owned(),
            attribute: lookup.attribute,
            value: lookup.value,
            id: id.to_owned(),
        });
    }
    Ok(())
}
