//! The pieces a compiled resource mapping is made of: the list and member-list specs, backend error rules, and the [`Write`] a SCIM write becomes.
//!
//! Plain data plus the JSONPath reads of a list answer; no rendering, no I/O.

use super::first;
use crate::mapping::attribute::scalar_text;
use crate::mapping::jsonpath::JsonPath;
use crate::mapping::spec::ErrorMeaning;
use crate::operation::OpName;
use serde_json::{Map, Value};

/// What a backend error answer means in SCIM terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The value is already taken (SCIM 409 `uniqueness`).
    Uniqueness,
    /// The value is not acceptable (SCIM 400 `invalidValue`).
    InvalidValue,
    /// The resource does not exist (SCIM 404).
    NotFound,
    /// The change is already in place (a member call refused because the member already is,
    /// or already is not, in the group); the engine verifies it before answering success.
    AlreadyDone,
}

/// How the list call pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `{offset}` (0-based) and `{count}`.
    Offset,
    /// `{page}` (1-based) and `{count}`.
    Page,
    /// `{cursor}` from the previous answer's `next_cursor`.
    Cursor,
    /// The previous answer's `next_link` URL.
    NextLink,
    /// One call returns everything.
    None,
}

/// Where the next page is, read from a list answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPage {
    /// Render the list call again with `{cursor}` set to this.
    Cursor(String),
    /// GET this URL (the engine must check it is on the backend's host).
    Link(String),
}

/// The write a SCIM create or update becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The backend operation to render with `body` as `"$object"`.
    pub op: OpName,
    /// The mapped backend object (create, replace) or the changed fields (update).
    pub body: Value,
    /// `store: true` attributes, keyed as in the mapping (`externalId`), for the gateway's store.
    /// On updates every stored attribute is listed; `null` means "remove it".
    pub stored: Map<String, Value>,
    /// Whether any backend field changes (when not, the engine skips the backend call).
    pub backend_changed: bool,
}

/// The list call with the JSONPaths that read its answer.
#[derive(Debug, Clone)]
pub(crate) struct ListSpec {
    pub(crate) items: JsonPath,
    pub(crate) total: Option<JsonPath>,
    /// The answer header holding the total (`X-Total-Count`), read before `total`.
    pub(crate) total_header: Option<http::HeaderName>,
    pub(crate) next_cursor: Option<JsonPath>,
    pub(crate) next_link: Option<JsonPath>,
    pub(crate) paging: Paging,
    pub(crate) max_page_size: Option<u32>,
    pub(crate) reread: bool,
}

impl ListSpec {
    /// The items of one page.
    pub(crate) fn items(&self, answer: &Value) -> Vec<Value> {
        self.items.select(answer).into_iter().cloned().collect()
    }

    /// The total of one page's answer (its `total_header`, else its `total` JSONPath), when
    /// the mapping says where it is.
    pub(crate) fn total(&self, answer: &Value, headers: &http::HeaderMap) -> Option<u64> {
        if let Some(name) = &self.total_header
            && let Some(total) = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        {
            return Some(total);
        }
        let v = first(self.total.as_ref()?, answer)?;
        v.as_u64().or_else(|| scalar_text(v).parse().ok())
    }

    /// Where the next page is (cursor and next-link paging); `None` on the last page.
    pub(crate) fn next_page(&self, answer: &Value) -> Option<NextPage> {
        if let Some(q) = &self.next_cursor {
            return first(q, answer)
                .map(scalar_text)
                .filter(|s| !s.is_empty())
                .map(NextPage::Cursor);
        }
        let q = self.next_link.as_ref()?;
        first(q, answer)
            .map(scalar_text)
            .filter(|s| !s.is_empty())
            .map(NextPage::Link)
    }
}

/// A member listing call, paged like the list call, and what the member calls need from it.
#[derive(Debug, Clone)]
pub(crate) struct MemberList {
    pub(crate) spec: ListSpec,
    pub(crate) member_id: JsonPath,
    /// The membership row's own id in an item, for `{row}` in `members.remove`.
    pub(crate) row_id: Option<JsonPath>,
    /// Adds skip members already present (backends that keep duplicate rows).
    pub(crate) skip_present: bool,
    /// `members.remove` uses `{row}`: the row is looked up in `members.list` first.
    pub(crate) remove_by_row: bool,
}

/// A backend error rule.
#[derive(Debug, Clone)]
pub(crate) struct ErrorRule {
    pub(crate) status: u16,
    pub(crate) contains: Option<String>,
    /// JSONPath → expected value in the answer body, compared as text.
    pub(crate) body: Vec<(JsonPath, Value)>,
    /// The operations it applies to; empty: every operation.
    pub(crate) on: Vec<OpName>,
    pub(crate) means: ErrorMeaning,
    /// Quote the backend's message in the SCIM detail.
    pub(crate) show_message: bool,
}
