//! Translating a whole SCIM filter: one backend search, or for an `or` a union of them.
//!
//! A rule of `filters:` answers one condition. A conjunction is answered by one search that
//! carries the query parameters of every condition a rule serves (the backend ANDs them), with
//! the whole conjunction re-checked in the gateway when any condition is served inexactly or
//! not at all. An `or` is first expanded into alternatives (`and` distributed over `or`, at most
//! [`MAX_ALTERNATIVES`]); each alternative is one such search and the engine unites their
//! results. A condition no rule serves is never answered by reading every resource: unless the
//! mapping opts into `scan`, an alternative without any served condition refuses the filter,
//! naming that condition's attribute and operator.

use std::collections::BTreeMap;

use crate::mapping::error::Error;
use crate::mapping::filter_rules::BackendSearch;
use crate::mapping::resource::ResourceMapping;
use crate::scim::filter::Filter;

#[cfg(test)]
mod tests;

/// The most alternatives one filter may expand to; each is one backend search (all of whose
/// pages are read), so the bound caps the backend calls one SCIM query can cause.
pub const MAX_ALTERNATIVES: usize = 10;

/// One backend search of a translated filter, and what the gateway checks on what it finds.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// The search (`BackendSearch::Query` here never carries a `post_filter`: see `check`).
    pub search: BackendSearch,
    /// The filter the results must also match, evaluated in the gateway; `None` when the search
    /// answers exactly.
    pub check: Option<Filter>,
}

/// How the engine answers a whole SCIM filter.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterSearch {
    /// One search.
    One(Box<Branch>),
    /// Several searches whose results are united (deduplicated by id, in search order).
    Union(Vec<Branch>),
}

/// One rule's search as a branch that answers `filter`.
fn branch(search: BackendSearch, filter: &Filter) -> Branch {
    match search {
        BackendSearch::Query {
            params,
            post_filter,
        } => Branch {
            search: BackendSearch::Query {
                params,
                post_filter: None,
            },
            check: post_filter,
        },
        BackendSearch::Scan { cap } => Branch {
            search: BackendSearch::Scan { cap },
            check: Some(filter.clone()),
        },
        other => Branch {
            search: other,
            check: None,
        },
    }
}

impl ResourceMapping {
    /// How to answer `filter` as a whole: one rule, one search for a conjunction, a union of
    /// searches for an `or`, or the opted-in scan; otherwise [`Error::UnsupportedFilter`]
    /// naming a condition no rule serves, or [`Error::TooManyAlternatives`].
    pub fn translate_search(&self, filter: &Filter) -> Result<FilterSearch, Error> {
        self.translate_search_in(filter, &BTreeMap::new())
    }

    /// [`ResourceMapping::translate_search`] for a request through a connection: its variables
    /// fill the `{conn.NAME}` placeholders of the `query:` rules.
    pub fn translate_search_in(
        &self,
        filter: &Filter,
        connection: &BTreeMap<String, String>,
    ) -> Result<FilterSearch, Error> {
        match self.translate_filter_in(filter, connection) {
            Ok(BackendSearch::Scan { .. }) | Err(_) => {}
            Ok(search) => return Ok(FilterSearch::One(Box::new(branch(search, filter)))),
        }
        let scan = || {
            self.scan.map(|cap| {
                FilterSearch::One(Box::new(Branch {
                    search: BackendSearch::Scan { cap },
                    check: Some(filter.clone()),
                }))
            })
        };
        let alternatives = match filter.alternatives(MAX_ALTERNATIVES) {
            Ok(alternatives) => alternatives,
            Err(too_many) => {
                return scan().ok_or(Error::TooManyAlternatives {
                    count: too_many.at_least,
                    max: too_many.max,
                });
            }
        };
        if let [only] = alternatives.as_slice() {
            return self
                .translate_conjunction(only, filter, connection)
                .map(|b| FilterSearch::One(Box::new(b)));
        }
        let mut branches = Vec::with_capacity(alternatives.len());
        for conditions in &alternatives {
            let whole = Filter::all_of(conditions).unwrap_or_else(|| filter.clone());
            match self.translate_conjunction(conditions, &whole, connection) {
                Ok(b) if !matches!(b.search, BackendSearch::Scan { .. }) => branches.push(b),
                Ok(b) => return Ok(scan().unwrap_or(FilterSearch::One(Box::new(b)))),
                Err(error) => return scan().ok_or(error),
            }
        }
        Ok(FilterSearch::Union(branches))
    }

    /// One search for conditions that must all hold (`whole` is them joined with `and`).
    fn translate_conjunction(
        &self,
        conditions: &[Filter],
        whole: &Filter,
        connection: &BTreeMap<String, String>,
    ) -> Result<Branch, Error> {
        if let [only] = conditions {
            return self
                .translate_filter_in(only, connection)
                .map(|search| branch(search, only));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        let mut exact = true;
        let mut by_id = None;
        let mut store = None;
        let mut refused = None;
        for condition in conditions {
            match self.translate_filter_in(condition, connection) {
                Ok(BackendSearch::Query {
                    params: more,
                    post_filter,
                }) => {
                    // Two conditions on one backend parameter with different values cannot be
                    // sent together: the second is checked in the gateway instead.
                    let clash = more
                        .iter()
                        .any(|(k, v)| params.iter().any(|(k2, v2)| k == k2 && v != v2));
                    if clash {
                        exact = false;
                        continue;
                    }
                    exact &= post_filter.is_none();
                    for pair in more {
                        if !params.contains(&pair) {
                            params.push(pair);
                        }
                    }
                }
                Ok(search @ BackendSearch::ById(_)) => {
                    by_id.get_or_insert(search);
                }
                Ok(search @ BackendSearch::Store { .. }) => {
                    store.get_or_insert(search);
                }
                Ok(BackendSearch::Scan { .. }) => exact = false,
                Err(error) => {
                    exact = false;
                    refused.get_or_insert(error);
                }
            }
        }
        let checked = |search| Branch {
            search,
            check: Some(whole.clone()),
        };
        if let Some(search) = by_id.or(store) {
            return Ok(checked(search));
        }
        if !params.is_empty() {
            return Ok(Branch {
                search: BackendSearch::Query {
                    params,
                    post_filter: None,
                },
                check: (!exact).then(|| whole.clone()),
            });
        }
        if let Some(cap) = self.scan {
            return Ok(checked(BackendSearch::Scan { cap }));
        }
        Err(refused.unwrap_or_else(|| {
            let (attribute, operator) = crate::mapping::filter_rules::describe(whole);
            Error::UnsupportedFilter {
                attribute,
                operator,
            }
        }))
    }
}
