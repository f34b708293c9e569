//! Compiling backend calls: method, path template, query, headers, body, and the list call's
//! JSONPaths and paging style. Placeholders are checked against what each operation provides.

use super::{Ctx, with};
use crate::mapping::resource::{ListSpec, Paging};
use crate::mapping::spec::{ListOperationFile, OperationFile};
use crate::mapping::template::{CONN_PREFIX, RequestTemplate, Template, body_placeholders};

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

#[allow(clippy::too_many_arguments)]
pub(super) fn compile_request(
    ctx: &mut Ctx<'_>,
    path: &[String],
    name: &str,
    method: &str,
    path_text: &str,
    query: &std::collections::BTreeMap<String, String>,
    headers: &std::collections::BTreeMap<String, String>,
    body: Option<&serde_json::Value>,
    reread: bool,
    allowed: &[&str],
) -> Option<RequestTemplate> {
    let mut ok = true;
    let method_up = method.to_ascii_uppercase();
    let parsed = http::Method::from_bytes(method_up.as_bytes())
        .ok()
        .filter(|_| METHODS.contains(&method_up.as_str()));
    if parsed.is_none() {
        ctx.at(
            &with(path, &["method"]),
            format!(
                "unknown method `{method}` (allowed: {})",
                METHODS.join(", ")
            ),
        );
        ok = false;
    }
    let allowed_text = if allowed.is_empty() {
        "none here".to_owned()
    } else {
        allowed
            .iter()
            .map(|a| format!("{{{a}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let check = |ctx: &mut Ctx<'_>, at: Vec<String>, text: &str| -> Option<Template> {
        match Template::parse(text) {
            Ok(t) => {
                if let Some(problem) = ctx.undeclared(t.placeholders()) {
                    ctx.at(&at, problem);
                    return None;
                }
                if let Some(bad) = t
                    .placeholders()
                    .find(|ph| !allowed.contains(ph) && !ph.starts_with(CONN_PREFIX))
                {
                    ctx.at(
                        &at,
                        format!("unknown placeholder `{{{bad}}}` (allowed: {allowed_text})"),
                    );
                    return None;
                }
                Some(t)
            }
            Err(e) => {
                ctx.at(&at, format!("bad template `{text}`: {e}"));
                None
            }
        }
    };
    let path_t = if !path_text.starts_with('/')
        || path_text.starts_with("//")
        || path_text.contains("://")
        || path_text.contains('?')
    {
        ctx.at(&with(path, &["path"]), format!("`{path_text}` must be a path starting with `/`, without host or query (put parameters under `query`)"));
        None
    } else {
        check(ctx, with(path, &["path"]), path_text)
    };
    let mut q = Vec::new();
    for (k, v) in query {
        match check(ctx, with(path, &["query", k]), v) {
            Some(t) => q.push((k.clone(), t)),
            None => ok = false,
        }
    }
    let mut h = Vec::new();
    for (k, v) in headers {
        match check(ctx, with(path, &["headers", k]), v) {
            Some(t) => h.push((k.clone(), t)),
            None => ok = false,
        }
    }
    if let Some(body) = body {
        let mut used = Vec::new();
        match body_placeholders(body, &mut used) {
            Ok(()) => {
                if let Some(problem) = ctx.undeclared(used.iter().map(String::as_str)) {
                    ctx.at(&with(path, &["body"]), problem);
                    ok = false;
                } else if let Some(bad) = used
                    .iter()
                    .find(|u| !allowed.contains(&u.as_str()) && !u.starts_with(CONN_PREFIX))
                {
                    ctx.at(
                        &with(path, &["body"]),
                        format!("unknown placeholder `{{{bad}}}` (allowed: {allowed_text})"),
                    );
                    ok = false;
                }
            }
            Err(e) => {
                ctx.at(&with(path, &["body"]), format!("bad template: {e}"));
                ok = false;
            }
        }
    }
    let path_t = path_t?;
    let method = parsed?;
    ok.then(|| RequestTemplate {
        name: name.to_owned(),
        method,
        path_text: path_text.to_owned(),
        path: path_t,
        query: q,
        headers: h,
        body: body.cloned(),
        reread,
        answer: None,
    })
}

pub(super) fn compile_op(
    ctx: &mut Ctx<'_>,
    path: &[String],
    name: &str,
    op: &OperationFile,
    allowed: &[&str],
) -> Option<RequestTemplate> {
    let answer = op
        .answer
        .as_ref()
        .map(|text| ctx.jsonpath(&with(path, &["answer"]), text));
    let mut template = compile_request(
        ctx,
        path,
        name,
        &op.method,
        &op.path,
        &op.query,
        &op.headers,
        op.body.as_ref(),
        op.reread,
        allowed,
    )?;
    template.answer = match answer {
        Some(query) => Some(query?),
        None => None,
    };
    Some(template)
}

pub(super) const LIST_VARS: &[&str] = &["offset", "count", "page", "cursor"];

/// The placeholders of `members.list`: the group's `{id}` and the paging ones.
pub(super) const MEMBER_LIST_VARS: &[&str] = &["id", "offset", "count", "page", "cursor"];

/// Compiles a paged list call (`list`, or `members.list` with `name` and `vars`).
pub(super) fn compile_list(
    ctx: &mut Ctx<'_>,
    path: &[String],
    name: &str,
    l: &ListOperationFile,
    vars: &[&str],
) -> Option<(RequestTemplate, ListSpec)> {
    let t = compile_request(
        ctx, path, name, &l.method, &l.path, &l.query, &l.headers, None, false, vars,
    );
    let items = ctx.jsonpath(&with(path, &["items"]), &l.items);
    let total = l
        .total
        .as_ref()
        .map(|s| ctx.jsonpath(&with(path, &["total"]), s));
    let total_header = match l.total_header.as_deref().map(http::HeaderName::try_from) {
        None => Some(None),
        Some(Ok(name)) => Some(Some(name)),
        Some(Err(_)) => {
            ctx.at(
                &with(path, &["total_header"]),
                "not a valid HTTP header name (e.g. `X-Total-Count`)",
            );
            None
        }
    };
    let next_cursor = l
        .next_cursor
        .as_ref()
        .map(|s| ctx.jsonpath(&with(path, &["next_cursor"]), s));
    let next_link = l
        .next_link
        .as_ref()
        .map(|s| ctx.jsonpath(&with(path, &["next_link"]), s));
    let t = t?;
    let uses = |name: &str| {
        t.query
            .iter()
            .any(|(_, v)| v.placeholders().any(|p| p == name))
    };
    let paging = if uses("cursor") {
        if next_cursor.is_none() {
            ctx.at(
                &with(path, &["query"]),
                "`{cursor}` paging needs `next_cursor` (the JSONPath of the next cursor)",
            );
        }
        Paging::Cursor
    } else if uses("page") {
        Paging::Page
    } else if uses("offset") {
        Paging::Offset
    } else if next_link.is_some() {
        Paging::NextLink
    } else {
        Paging::None
    };
    Some((
        t,
        ListSpec {
            items: items?,
            total: total.flatten(),
            total_header: total_header?,
            next_cursor: next_cursor.flatten(),
            next_link: next_link.flatten(),
            paging,
            max_page_size: l.max_page_size,
            reread: l.reread,
        },
    ))
}
