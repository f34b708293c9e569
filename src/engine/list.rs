//! List and filter (`GET /Users?filter=…&startIndex=…&count=…`).
//!
//! The mapping's filter plan decides how a filter is answered: a backend query (one call per
//! backend page), a get by id (`id eq`), a store lookup plus one get per match
//! (`externalId eq`), or an opted-in capped scan; an `or` is a union of such searches, each
//! read to its last page and deduplicated by id, so `totalResults` is exact. Zero matches is an
//! empty list, never an error: a 404 from a get inside a filter means "no such resource". When
//! the backend search is not exact (a substring search, or a condition it does not serve), the
//! SCIM filter is evaluated again on the results.
//!
//! SCIM pages by `startIndex` (1-based) and `count`; the backend pages by offset/limit,
//! page/per_page, cursor or next link. `walk` translates the SCIM window into the fewest backend
//! pages that cover it and takes the total from the backend when it gives one; a backend
//! without a total is walked to its last page to count (exact `totalResults` costs one call per
//! page there).

use serde_json::Value;

use super::Error;
use super::op::{Op, body_of};
use super::{members, read};
use crate::mapping::{
    BackendSearch, Branch, FilterSearch, NextPage, OpName, Paging, RenderedRequest, Vars,
};
use crate::scim::filter::Filter;
use crate::scim::list::ListResponse;
use crate::scim::query::ListQuery;
use crate::scim::schema::ResourceAttrs;

/// The most backend pages one operation follows (a guard against a backend whose cursor never
/// ends).
const MAX_PAGES: usize = 1000;

/// The most backend resources read to evaluate a filter the backend search does not answer
/// exactly, when the mapping sets no `scan` cap.
const POST_FILTER_CAP: u32 = 1000;

/// Answers a list query with whole (unprojected) resources; with `members`, group resources
/// carry their `members` (one member-list call per group on the page).
pub(crate) async fn run(
    op: &Op<'_>,
    query: &ListQuery,
    members: bool,
) -> Result<ListResponse, Error> {
    let start = query.start_index.max(1);
    let count = query.count.min(op.engine.options.max_count);
    let skip = start - 1;
    let Some(filter) = &query.filter else {
        let mut page = window(op, &[], start, count).await?;
        attach_all(op, &mut page.resources, members).await?;
        return Ok(page);
    };
    // A filter on `members` (Entra's legacy reference check) needs them before evaluating.
    let needs = mentions_members(filter);
    let found = match op
        .resource
        .translate_search_in(filter, op.engine.variables())?
    {
        FilterSearch::One(branch) => {
            if let Branch {
                search: BackendSearch::Query { params, .. },
                check: None,
            } = branch.as_ref()
            {
                let mut page = window(op, params, start, count).await?;
                attach_all(op, &mut page.resources, members).await?;
                return Ok(page);
            }
            search(op, &branch, needs).await?
        }
        FilterSearch::Union(branches) => {
            // Every page of every search is read, so the union (and its total) is exact.
            let mut found = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for branch in &branches {
                for resource in search(op, branch, needs).await? {
                    let id = resource
                        .get("id")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    if id.is_none_or(|id| seen.insert(id)) {
                        found.push(resource);
                    }
                }
            }
            found
        }
    };
    let mut page = page_of(found, skip, count, start);
    attach_all(op, &mut page.resources, members && !needs).await?;
    Ok(page)
}

/// Every resource one search of a plan finds (all its backend pages, at most the cap), kept
/// when they match the branch's `check`.
async fn search(op: &Op<'_>, branch: &Branch, needs: bool) -> Result<Vec<Value>, Error> {
    let rest = branch.check.as_ref();
    Ok(match &branch.search {
        BackendSearch::Query { params, .. } => {
            filtered(op, params, rest, POST_FILTER_CAP, needs).await?
        }
        BackendSearch::Scan { cap } => filtered(op, &[], rest, *cap, needs).await?,
        BackendSearch::ById(id) => {
            let found = match read::get(op, id).await {
                Ok(resource) => vec![resource],
                Err(error) if error.is_not_found() => Vec::new(),
                Err(error) => return Err(error),
            };
            checked(op, found, rest, needs).await?
        }
        BackendSearch::Store { attribute, value } => {
            let mut found = Vec::new();
            for record in op.find_stored(attribute, value).await? {
                let (scim_id, backend_id) = (record.scim_id.clone(), record.backend_id.clone());
                match read::fetch_checked(op, &scim_id, &backend_id, Some(record)).await {
                    Ok((object, record)) => {
                        found.push(op.view(&scim_id, &object, record.as_ref())?);
                    }
                    Err(error) if error.is_not_found() => {
                        tracing::info!(
                            scim_id = %scim_id,
                            "Stored record points at a backend resource that is gone."
                        );
                    }
                    Err(error) => return Err(error),
                }
            }
            checked(op, found, rest, needs).await?
        }
    })
}

/// Keeps the resources that match `rest` (when set), with members loaded first if it needs them.
async fn checked(
    op: &Op<'_>,
    mut found: Vec<Value>,
    rest: Option<&Filter>,
    needs: bool,
) -> Result<Vec<Value>, Error> {
    let Some(rest) = rest else {
        attach_all(op, &mut found, needs).await?;
        return Ok(found);
    };
    attach_all(op, &mut found, needs).await?;
    let attrs = ResourceAttrs {
        registry: op.engine.mapping.registry(),
        resource_type: op.resource_type(),
    };
    Ok(found
        .into_iter()
        .filter(|r| rest.matches(r, &attrs))
        .collect())
}

/// Adds `members` to every group resource when `wanted`.
async fn attach_all(op: &Op<'_>, resources: &mut [Value], wanted: bool) -> Result<(), Error> {
    if wanted {
        for resource in resources {
            members::attach(op, resource).await?;
        }
    }
    Ok(())
}

/// Whether a filter compares `members`.
fn mentions_members(filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => mentions_members(a) || mentions_members(b),
        Filter::Not(inner) => mentions_members(inner),
        Filter::Compare(path, ..) | Filter::Present(path) | Filter::ValuePath(path, _) => {
            path.name.eq_ignore_ascii_case("members")
        }
    }
}

/// One backend list call with `limit`-style page size 1: proves the backend answers.
pub(crate) async fn probe(op: &Op<'_>) -> Result<(), Error> {
    walk(op, &[], 0, 1, false).await.map(|_| ())
}

/// A SCIM page straight from the backend's paging (no evaluation in the gateway).
async fn window(
    op: &Op<'_>,
    params: &[(String, String)],
    start: usize,
    count: usize,
) -> Result<ListResponse, Error> {
    let walked = walk(op, params, start - 1, count, true).await?;
    let mut resources = Vec::with_capacity(walked.items.len());
    for item in &walked.items {
        if let Some(resource) = to_resource(op, item).await? {
            resources.push(resource);
        }
    }
    let total = walked.total_results(start - 1);
    Ok(ListResponse {
        total_results: total,
        start_index: start,
        resources,
    })
}

/// Every backend resource of the query (at most `cap`) as SCIM, kept when `filter` matches
/// (all of them without one).
async fn filtered(
    op: &Op<'_>,
    params: &[(String, String)],
    filter: Option<&Filter>,
    cap: u32,
    needs_members: bool,
) -> Result<Vec<Value>, Error> {
    let limit = cap as usize;
    let walked = walk(op, params, 0, limit.saturating_add(1), false).await?;
    if walked.items.len() > limit {
        return Err(Error::TooMany { cap });
    }
    let attrs = ResourceAttrs {
        registry: op.engine.mapping.registry(),
        resource_type: op.resource_type(),
    };
    let mut found = Vec::new();
    for item in &walked.items {
        let Some(mut resource) = to_resource(op, item).await? else {
            continue;
        };
        if needs_members {
            members::attach(op, &mut resource).await?;
        }
        if filter.is_none_or(|f| f.matches(&resource, &attrs)) {
            found.push(resource);
        }
    }
    Ok(found)
}

/// The SCIM page `[skip, skip + count)` of results held in the gateway.
fn page_of(found: Vec<Value>, skip: usize, count: usize, start: usize) -> ListResponse {
    let total = found.len();
    ListResponse {
        total_results: total,
        start_index: start,
        resources: found.into_iter().skip(skip).take(count).collect(),
    }
}

/// A backend list item as a SCIM resource. With a list `reread`, the item is read again with
/// `get` first (the list gives partial objects); one gone in between is left out (`None`).
async fn to_resource(op: &Op<'_>, item: &Value) -> Result<Option<Value>, Error> {
    let backend_id = op.backend_id_of(&op.label(OpName::List), item)?;
    let full;
    let object = if op.resource.list_rereads() {
        full = match read::fetch(op, &backend_id, &backend_id).await {
            Ok(object) => object,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error),
        };
        &full
    } else {
        item
    };
    let (scim_id, record) = op
        .identify(&backend_id, object, op.resource.list_rereads())
        .await?;
    if record.as_ref().is_some_and(|r| r.deactivated) {
        // Soft-deleted by a SCIM DELETE: gone for SCIM, though the backend keeps it.
        return Ok(None);
    }
    op.view(&scim_id, object, record.as_ref()).map(Some)
}

/// What walking the backend's pages produced.
#[derive(Debug, Default)]
struct Walked {
    /// The backend items of the window, in order.
    items: Vec<Value>,
    /// The backend's total, when it gives one.
    total: Option<u64>,
    /// The number of backend resources, counted by walking to the last page (only when the
    /// backend gives no total and the caller needs one).
    counted: Option<usize>,
    /// Items seen from the start of the window to where walking stopped.
    seen_after_skip: usize,
}

impl Walked {
    /// The SCIM `totalResults` for a window starting after `skip` items.
    fn total_results(&self, skip: usize) -> usize {
        self.total
            .map(|t| usize::try_from(t).unwrap_or(usize::MAX))
            .or(self.counted)
            .unwrap_or(skip.saturating_add(self.seen_after_skip))
    }

    /// Keeps `items` that fall in the window.
    fn keep(&mut self, items: impl IntoIterator<Item = Value>, take: usize) {
        for item in items {
            self.seen_after_skip += 1;
            if self.items.len() < take {
                self.items.push(item);
            }
        }
    }

    /// Whether walking may stop: the window is full and the total is known or not needed.
    fn done(&self, take: usize, need_total: bool) -> bool {
        self.items.len() >= take && (!need_total || self.total.is_some())
    }
}

/// Fetches the backend items `[skip, skip + take)` with the fewest pages. `take == 0` still
/// makes one call, to learn the total. With `need_total` and a backend that reports no total,
/// walking goes on to the last page to count (one call per page; SCIM needs an exact
/// `totalResults`).
async fn walk(
    op: &Op<'_>,
    params: &[(String, String)],
    skip: usize,
    take: usize,
    need_total: bool,
) -> Result<Walked, Error> {
    let max = op
        .resource
        .max_page_size()
        .map_or(usize::MAX, |m| (m as usize).max(1));
    match op.resource.paging() {
        Paging::Offset => walk_offset(op, params, skip, take, max, need_total).await,
        Paging::Page => walk_pages(op, params, skip, take, max, need_total).await,
        Paging::Cursor | Paging::NextLink | Paging::None => {
            walk_sequential(op, params, skip, take, max, need_total).await
        }
    }
}

/// The page size used once the window is full and walking only counts.
fn counting_size(take: usize, max: usize) -> usize {
    if max == usize::MAX {
        take.max(100)
    } else {
        max
    }
}

/// One list call; its items, the whole answer and the total it gives (body or header).
pub(crate) async fn list_call(
    op: &Op<'_>,
    vars: &Vars,
) -> Result<(Vec<Value>, Value, Option<u64>), Error> {
    let label = op.label(OpName::List);
    let response = op.call(OpName::List, vars).await?;
    let headers = response.headers.clone();
    let answer = body_of(&label, response)?;
    let total = op.resource.list_total(&answer, &headers);
    Ok((op.resource.list_items(&answer), answer, total))
}

fn base_vars(params: &[(String, String)]) -> Vars {
    Vars::new().with_query(params)
}

async fn walk_offset(
    op: &Op<'_>,
    params: &[(String, String)],
    skip: usize,
    take: usize,
    max: usize,
    need_total: bool,
) -> Result<Walked, Error> {
    let mut walked = Walked::default();
    let mut offset = skip;
    for round in 0..MAX_PAGES {
        let want = if walked.items.len() < take || round == 0 {
            (take - walked.items.len()).clamp(1, max)
        } else {
            counting_size(take, max)
        };
        let vars = base_vars(params)
            .with("offset", offset.to_string())
            .with("count", want.to_string());
        let (page, _, total) = list_call(op, &vars).await?;
        walked.total = walked.total.or(total);
        let n = page.len();
        walked.keep(page, take);
        offset = offset.saturating_add(n);
        let end = n < want || walked.total.is_some_and(|t| offset as u64 >= t);
        if end {
            if offset > skip || skip == 0 {
                walked.counted = Some(offset);
            }
            break;
        }
        if walked.done(take, need_total) {
            break;
        }
    }
    Ok(walked)
}

async fn walk_pages(
    op: &Op<'_>,
    params: &[(String, String)],
    skip: usize,
    take: usize,
    max: usize,
    need_total: bool,
) -> Result<Walked, Error> {
    let size = if take > 0 && take <= max && skip.is_multiple_of(take) {
        take
    } else if max == usize::MAX {
        take.max(1)
    } else {
        max
    };
    let mut walked = Walked::default();
    let mut drop = skip % size;
    for page in (skip / size + 1..).take(MAX_PAGES) {
        let vars = base_vars(params)
            .with("page", page.to_string())
            .with("count", size.to_string());
        let (items, _, total) = list_call(op, &vars).await?;
        walked.total = walked.total.or(total);
        let n = items.len();
        walked.keep(items.into_iter().skip(drop), take);
        drop = 0;
        let end = n < size
            || walked
                .total
                .is_some_and(|t| page.saturating_mul(size) as u64 >= t);
        if end {
            if n > 0 || page == 1 {
                walked.counted = Some((page - 1).saturating_mul(size).saturating_add(n));
            }
            break;
        }
        if walked.done(take, need_total) {
            break;
        }
    }
    Ok(walked)
}

async fn walk_sequential(
    op: &Op<'_>,
    params: &[(String, String)],
    skip: usize,
    take: usize,
    max: usize,
    need_total: bool,
) -> Result<Walked, Error> {
    let size = if max == usize::MAX {
        skip.saturating_add(take).max(1)
    } else {
        max
    };
    let mut walked = Walked::default();
    let mut seen = 0usize;
    let first_vars = base_vars(params).with("count", size.to_string());
    let (mut items, mut answer, total) = list_call(op, &first_vars).await?;
    walked.total = total;
    for _ in 0..MAX_PAGES {
        let n = items.len();
        let before = skip.saturating_sub(seen).min(n);
        walked.keep(items.into_iter().skip(before), take);
        seen += n;
        let next = match op.resource.paging() {
            Paging::None => None,
            _ => op.resource.next_page(&answer),
        };
        let Some(next) = next else {
            walked.counted = Some(seen);
            break;
        };
        if walked.done(take, need_total) {
            break;
        }
        (items, answer) = match next {
            NextPage::Cursor(cursor) => {
                let vars = base_vars(params)
                    .with("count", size.to_string())
                    .with("cursor", cursor);
                let (items, answer, _) = list_call(op, &vars).await?;
                (items, answer)
            }
            NextPage::Link(link) => {
                let label = op.label(OpName::List);
                let request = link_request(op, OpName::List, &first_vars, &link)?;
                let answer = body_of(&label, op.send(op.backend_op(OpName::List), request).await?)?;
                (op.resource.list_items(&answer), answer)
            }
        };
    }
    Ok(walked)
}

/// A GET of a next-page link of the paged call `name` (`list`, `members.list`), which must stay
/// under the backend's base URL.
pub(crate) fn link_request(
    op: &Op<'_>,
    name: OpName,
    vars: &Vars,
    link: &str,
) -> Result<RenderedRequest, Error> {
    let foreign = || Error::ForeignNextLink {
        operation: op.label(name),
    };
    let base = &op.engine.mapping.backend().base_url;
    let target = base.join(link).map_err(|_| foreign())?;
    let base_path = base.path().trim_end_matches('/');
    if target.scheme() != base.scheme()
        || target.host_str() != base.host_str()
        || target.port_or_known_default() != base.port_or_known_default()
        || !target.path().starts_with(base_path)
    {
        return Err(foreign());
    }
    let mut rest = target.path()[base_path.len()..].to_owned();
    if !rest.starts_with('/') {
        rest.insert(0, '/');
    }
    if let Some(query) = target.query() {
        rest.push('?');
        rest.push_str(query);
    }
    let mut request = op.resource.render(name, &op.with_connection(vars))?;
    request.method = http::Method::GET;
    request.path_and_query = rest;
    request.body = None;
    Ok(request)
}
