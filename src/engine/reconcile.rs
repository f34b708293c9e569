//! `scimgate reconcile`: compares what the backend holds with the SCIM ids the gateway keeps,
//! read-only. It pages through every backend resource of a type and every active store record,
//! and reports backend resources no SCIM id maps to (made in the product, outside the
//! provisioning client), SCIM ids whose backend resource is gone, and records whose `identity`
//! changed (a reused id). Nothing is written: a normal read would retire a changed record,
//! reconcile only names it.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Map, Value};

use super::op::{Op, body_of};
use super::{Error, list, read};
use crate::mapping::{NextPage, OpName, Paging, Vars};

/// The most backend pages one reconcile follows per resource type.
const MAX_PAGES: usize = 10_000;
/// The page size asked for when the mapping gives no `max_page_size`.
const DEFAULT_PAGE: usize = 100;

/// What reconcile found for one resource type of one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// `User` or `Group`.
    pub resource_type: String,
    /// Backend resources read (each backend id once).
    pub backend_resources: usize,
    /// Backend list pages read.
    pub backend_pages: usize,
    /// Active SCIM ids in the gateway's store.
    pub scim_ids: usize,
    /// Backend resources no SCIM id maps to: made in the product, outside provisioning.
    pub unmanaged: Vec<Finding>,
    /// SCIM ids whose backend resource is gone.
    pub gone: Vec<Finding>,
    /// SCIM ids whose backend id now holds a different resource (its `identity` changed).
    pub identity_changed: Vec<Finding>,
}

impl ReconcileReport {
    /// Whether backend and store agree.
    pub fn is_clean(&self) -> bool {
        self.unmanaged.is_empty() && self.gone.is_empty() && self.identity_changed.is_empty()
    }
}

/// One resource reconcile reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The SCIM id, when one maps to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_id: Option<String>,
    /// The backend id.
    pub backend_id: String,
    /// The backend resource's `userName` (or group `displayName`), when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Compares the backend's resources of `op`'s type with the store's records.
pub(crate) async fn run(op: &Op<'_>) -> Result<ReconcileReport, Error> {
    let (items, pages) = every_item(op).await?;
    let label = op.label(OpName::List);
    let mut report = ReconcileReport {
        resource_type: op.resource_type().to_owned(),
        backend_pages: pages,
        ..ReconcileReport::default()
    };
    let mut seen = HashSet::new();
    for item in &items {
        let backend_id = op.backend_id_of(&label, item)?;
        if !seen.insert(backend_id.clone()) {
            continue;
        }
        let full;
        let object = if op.resource.list_rereads() {
            full = match read::fetch(op, &backend_id, &backend_id).await {
                Ok(object) => object,
                Err(error) if error.is_not_found() => {
                    seen.remove(&backend_id);
                    continue;
                }
                Err(error) => return Err(error),
            };
            &full
        } else {
            item
        };
        let name = name_of(op, object);
        match op.by_backend_id(&backend_id).await? {
            None => report.unmanaged.push(Finding {
                scim_id: None,
                backend_id,
                name,
            }),
            Some(record) if op.identity_changed(&record, object, op.resource.list_rereads()) => {
                report.identity_changed.push(Finding {
                    scim_id: Some(record.scim_id.clone()),
                    backend_id,
                    name,
                });
            }
            // The list item lacks the stamp (a summary, or a record the product replaced):
            // only the full record decides, read with one get.
            Some(record) if op.identity_changed(&record, object, true) => {
                let changed = match read::fetch(op, &backend_id, &backend_id).await {
                    Ok(full) => op.identity_changed(&record, &full, true),
                    Err(error) if error.is_not_found() => {
                        seen.remove(&backend_id);
                        continue;
                    }
                    Err(error) => return Err(error),
                };
                if changed {
                    report.identity_changed.push(Finding {
                        scim_id: Some(record.scim_id.clone()),
                        backend_id,
                        name,
                    });
                }
            }
            Some(_) => {}
        }
    }
    report.backend_resources = seen.len();
    let records = op.active_records().await?;
    report.scim_ids = records.len();
    for record in records {
        if !seen.contains(&record.backend_id) {
            report.gone.push(Finding {
                scim_id: Some(record.scim_id.clone()),
                backend_id: record.backend_id.clone(),
                name: None,
            });
        }
    }
    Ok(report)
}

/// `userName`, else `displayName`, of a backend object as SCIM.
fn name_of(op: &Op<'_>, object: &Value) -> Option<String> {
    let scim = op.resource.to_scim(object, &Map::new()).ok()?;
    ["userName", "displayName"]
        .iter()
        .find_map(|key| scim.get(*key).and_then(Value::as_str))
        .map(str::to_owned)
}

/// Every item of the list call, page by page to the last one, and how many pages that took.
/// Offset and page paging end at the total (body or header), at a short page when the mapping
/// gives `max_page_size`, else at an empty page.
async fn every_item(op: &Op<'_>) -> Result<(Vec<Value>, usize), Error> {
    let limit = op.resource.max_page_size().map(|m| (m as usize).max(1));
    let size = limit.unwrap_or(DEFAULT_PAGE);
    let base = || Vars::new().with("count", size.to_string());
    let paging = op.resource.paging();
    let mut vars = match paging {
        Paging::Offset => base().with("offset", "0"),
        Paging::Page => base().with("page", "1"),
        _ => base(),
    };
    let mut link: Option<String> = None;
    let mut items = Vec::new();
    for page in 1..=MAX_PAGES {
        let (got, answer, total) = match link.take() {
            Some(link) => {
                let label = op.label(OpName::List);
                let request = list::link_request(op, OpName::List, &base(), &link)?;
                let answer = body_of(&label, op.send(op.backend_op(OpName::List), request).await?)?;
                (op.resource.list_items(&answer), answer, None)
            }
            None => list::list_call(op, &vars).await?,
        };
        let n = got.len();
        items.extend(got);
        let next = op.resource.next_page(&answer);
        let more = match paging {
            Paging::None => false,
            Paging::Offset | Paging::Page => {
                n > 0
                    && match total {
                        Some(total) => (items.len() as u64) < total,
                        None if limit.is_some() => n >= size,
                        None => true,
                    }
            }
            Paging::Cursor | Paging::NextLink => next.is_some(),
        };
        if !more {
            return Ok((items, page));
        }
        match paging {
            Paging::Offset => vars = base().with("offset", items.len().to_string()),
            Paging::Page => vars = base().with("page", (page + 1).to_string()),
            _ => match next {
                Some(NextPage::Cursor(cursor)) => vars = base().with("cursor", cursor),
                Some(NextPage::Link(url)) => link = Some(url),
                None => return Ok((items, page)),
            },
        }
    }
    Err(Error::BadAnswer {
        operation: op.label(OpName::List),
        missing: format!("a last page within {MAX_PAGES} pages"),
    })
}
