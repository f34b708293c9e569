//! The lookup before a create for mappings with `create: { unique: [...] }` (backends that
//! accept a duplicate login): each unique value is looked up with the mapping's own filter
//! push-down, and a value some resource already holds is `Error::Taken` (409 `uniqueness`)
//! before anything is written.

use serde_json::Value;

use super::Error;
use super::list;
use super::op::Op;
use crate::scim::filter::Filter;
use crate::scim::query::{ListQuery, SortOrder};

/// Refuses a create whose `unique` attributes name an existing resource. One list call per
/// unique attribute the create carries; none when the mapping has no `unique`.
pub(crate) async fn check(op: &Op<'_>, body: &Value) -> Result<(), Error> {
    for lookup in op.resource.unique_lookups(body) {
        let filter = Filter::parse(&lookup.filter, op.engine.mapping.registry().urns())?;
        let query = ListQuery {
            filter: Some(filter),
            start_index: 1,
            count: 1,
            attributes: Vec::new(),
            excluded_attributes: Vec::new(),
            value_filters: Vec::new(),
            sort_by: None,
            sort_order: SortOrder::Ascending,
        };
        let found = list::run(op, &query, false).await?;
        if let Some(holder) = found.resources.first() {
            let id = holder
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            return Err(Error::Taken {
                resource_type: op.resource_type().to_owned(),
                attribute: lookup.attribute,
                value: lookup.value,
                id,
            });
        }
    }
    Ok(())
}
