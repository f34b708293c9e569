//! Which elements of one attribute a PATCH value filter (`emails[type eq "work"]`) selects.
//! Part of [`super`]; what an operator means is decided by `filter/compare.rs`, not here.

use super::*;

/// Collects the `sub eq literal` terms of a conjunction; false when the filter is anything else.
pub(super) fn eq_terms<'f>(filter: &'f Filter, terms: &mut Vec<(&'f AttrPath, &'f Value)>) -> bool {
    match filter {
        Filter::And(a, b) => eq_terms(a, terms) && eq_terms(b, terms),
        Filter::Compare(path, CompareOp::Eq, literal) => {
            terms.push((path, literal));
            true
        }
        _ => false,
    }
}

/// The element's value for a filter attribute: `type`, or `emails.type` inside `emails[…]`.
pub(super) fn field<'e>(
    element: &'e Map<String, Value>,
    path: &AttrPath,
    attr: &Attribute,
) -> Option<(&'e Value, Option<&'e str>)> {
    let name = match &path.sub_attr {
        Some(sub) if eq_name(&path.name, &attr.name) => sub.as_str(),
        Some(_) => return None,
        None => path.name.as_str(),
    };
    element
        .iter()
        .find(|(k, _)| eq_name(k, name))
        .map(|(k, v)| (v, Some(k.as_str())))
}

/// Evaluates a value filter against one element of `attr`. Which values are compared is decided
/// here; what `op literal` means on them is the filter module's [`compare::attribute`].
pub(super) fn matches(filter: &Filter, element: &Map<String, Value>, attr: &Attribute) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, element, attr) && matches(b, element, attr),
        Filter::Or(a, b) => matches(a, element, attr) || matches(b, element, attr),
        Filter::Not(inner) => !matches(inner, element, attr),
        Filter::Present(path) => {
            field(element, path, attr).is_some_and(|(v, _)| elements(v).any(compare::present))
        }
        Filter::Compare(path, op, literal) => {
            let found = field(element, path, attr);
            let sub = found
                .and_then(|(_, key)| key)
                .and_then(|k| attr.sub_attribute(k));
            let traits = Traits {
                case_exact: sub.is_some_and(|s| s.case_exact),
                boolean: sub.is_some_and(|s| s.attr_type == AttrType::Boolean),
            };
            let values = found.map(|(v, _)| elements(v)).into_iter().flatten();
            compare::attribute(values, *op, literal, traits)
        }
        Filter::ValuePath(..) => false,
    }
}

/// The values of one element's field: each item of an array, or the value itself.
pub(super) fn elements(value: &Value) -> std::slice::Iter<'_, Value> {
    match value {
        Value::Array(items) => items.iter(),
        other => std::slice::from_ref(other).iter(),
    }
}
