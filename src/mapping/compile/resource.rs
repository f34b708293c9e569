//! Compiling one resource type (`users:` or `groups:`): operations, attributes, constants,
//! filter rules, error rules and member calls.

use super::attributes::{compile_rule, resolve, split_key};
use super::request::{LIST_VARS, MEMBER_LIST_VARS, compile_list, compile_op};
use super::{Ctx, p, with};
use crate::mapping::attribute::{Target, plain_segments};
use crate::mapping::filter_rules::{FilterAction, FilterRule, split_when};
use crate::mapping::resource::{ErrorRule, MemberList, OpName, ResourceMapping};
use crate::mapping::spec::{
    ErrorMeaning, FilterUse, IdentityFile, MappingFile, OperationFile, ResourceFile,
};
use crate::mapping::template::Template;
use crate::scim::ResourceKind;
use crate::scim::path::eq_name;
use crate::scim::schema::{GROUP_SCHEMA, SchemaRegistry, USER_SCHEMA};

/// `policies.email_domains`: each entry a domain or a template of `{conn.NAME}` variables
/// (declared in `connection_variables:`) holding comma-separated domains.
fn compile_domains(ctx: &mut Ctx<'_>, spec: &MappingFile) -> Vec<Template> {
    let mut domains = Vec::new();
    let entries = spec.policies.email_domains.entries();
    let one = matches!(
        spec.policies.email_domains,
        crate::mapping::spec::DomainsFile::One(_)
    );
    for (index, entry) in entries.iter().enumerate() {
        let index = format!("[{index}]");
        let path = if one {
            p(&["policies", "email_domains"])
        } else {
            p(&["policies", "email_domains", &index])
        };
        match Template::parse(entry) {
            Ok(t) => {
                if let Some(bad) = t
                    .placeholders()
                    .find(|ph| !ph.starts_with(crate::mapping::template::CONN_PREFIX))
                {
                    ctx.at(
                        &path,
                        format!("`{{{bad}}}` is not allowed here (only {{conn.NAME}})"),
                    );
                } else if let Some(problem) = ctx.undeclared(t.placeholders()) {
                    ctx.at(&path, problem);
                } else {
                    domains.push(t);
                }
            }
            Err(e) => ctx.at(&path, format!("bad template `{entry}`: {e}")),
        }
    }
    domains
}

pub(super) fn compile_resource(
    ctx: &mut Ctx<'_>,
    registry: &SchemaRegistry,
    spec: &MappingFile,
    kind: ResourceKind,
    file: &ResourceFile,
) -> Option<ResourceMapping> {
    let (key, resource_type) = (kind.key(), kind.name());
    let core = match kind {
        ResourceKind::User => USER_SCHEMA,
        ResourceKind::Group => GROUP_SCHEMA,
    };
    let base = p(&[key]);
    let before = ctx.problems.len();
    let id = ctx.jsonpath(&with(&base, &["id"]), &file.id);
    let (identity_text, stamp_text) = match &file.identity {
        None => (None, None),
        Some(IdentityFile::Path(text)) => (Some(text), None),
        Some(IdentityFile::Stamp(s)) => (Some(&s.stamp), Some(&s.stamp)),
    };
    let identity = identity_text.map(|text| ctx.jsonpath(&with(&base, &["identity"]), text));
    let stamp = match stamp_text.map(|text| (text, plain_segments(text))) {
        None => None,
        Some((_, Some((segments, false)))) => Some(segments),
        Some((text, _)) => {
            ctx.at(
                &with(&base, &["identity", "stamp"]),
                format!("`{text}` is not a plain backend field path (write e.g. `$.notes`)"),
            );
            None
        }
    };
    if identity.is_some() && spec.ids != crate::mapping::spec::IdPolicy::Gateway {
        ctx.at_key(
            &with(&base, &["identity"]),
            "`identity` needs `ids: gateway` (with backend ids a reused id is the same SCIM id)",
        );
    }
    let ops_path = with(&base, &["operations"]);
    let o = &file.operations;
    let mut missing = Vec::new();
    for (name, present) in [
        ("create", o.create.is_some()),
        ("get", o.get.is_some()),
        ("list", o.list.is_some()),
        ("delete", o.delete.is_some()),
    ] {
        if !present {
            missing.push(name);
        }
    }
    if o.replace.is_none() && o.update.is_none() {
        missing.push("replace` or `update");
    }
    for m in missing {
        ctx.at_key(&ops_path, format!("missing operation `{m}` (required: create, get, list, delete, and replace or update)"));
    }
    let mut ops = Vec::new();
    let single: [(OpName, &Option<OperationFile>, &[&str]); 6] = [
        (OpName::Create, &o.create, &[]),
        (OpName::Get, &o.get, &["id"]),
        (OpName::Replace, &o.replace, &["id"]),
        (OpName::Update, &o.update, &["id"]),
        (OpName::Delete, &o.delete, &["id"]),
        (OpName::Deactivate, &o.deactivate, &["id"]),
    ];
    for (name, op, allowed) in single {
        if let Some(op) = op
            && let Some(t) = compile_op(
                ctx,
                &with(&ops_path, &[name.as_str()]),
                name.as_str(),
                op,
                allowed,
            )
        {
            ops.push((name, t));
        }
    }
    let list = o
        .list
        .as_ref()
        .and_then(|l| compile_list(ctx, &with(&ops_path, &["list"]), "list", l, LIST_VARS));
    let mut list_spec = None;
    if let Some((t, l)) = list {
        ops.push((OpName::List, t));
        list_spec = Some(l);
    }
    let mut rules = Vec::new();
    for (name, entry) in &file.attributes {
        let path = with(&base, &["attributes", name]);
        if let Some(rule) = compile_rule(ctx, registry, kind, core, &path, name, &entry.0) {
            rules.push(rule);
        }
    }
    // A primary rule beside a whole-list rule of the same attribute (`roles.value` and
    // `roles[primary eq "True"].value`): a list with a separate primary field.
    let lists: Vec<(Option<String>, String, Option<String>)> = rules
        .iter()
        .filter(|r| r.target.select.is_none() && r.multi_valued && !r.target.family)
        .map(|r| {
            (
                r.target.urn.clone(),
                r.target.name.to_ascii_lowercase(),
                r.target.sub.clone(),
            )
        })
        .collect();
    for rule in &mut rules {
        if rule.select_boolean && rule.target.select.is_some() {
            let key = (
                rule.target.urn.clone(),
                rule.target.name.to_ascii_lowercase(),
                rule.target.sub.clone(),
            );
            rule.with_list = lists.contains(&key);
        }
    }
    let mut constants = Vec::new();
    for (field, value) in &file.constants {
        match plain_segments(field) {
            Some((segments, false)) => {
                let mut used = Vec::new();
                match crate::mapping::template::body_placeholders(value, &mut used) {
                    Ok(()) => {
                        if let Some(problem) = ctx.undeclared(used.iter().map(String::as_str)) {
                            ctx.at(&with(&base, &["constants", field]), problem);
                        }
                    }
                    Err(e) => ctx.at(
                        &with(&base, &["constants", field]),
                        format!("bad template: {e}"),
                    ),
                }
                constants.push((segments, value.clone()));
            }
            _ => ctx.at_key(
                &with(&base, &["constants", field]),
                format!("`{field}` is not a plain backend field path (write e.g. `$.idp`)"),
            ),
        }
    }
    let mut filters = Vec::new();
    for (i, f) in file.filters.iter().enumerate() {
        let path = with(&base, &["filters", &format!("[{i}]")]);
        let (attr, op) = match split_when(&f.when) {
            Ok(x) => x,
            Err(e) => {
                ctx.at(
                    &with(&path, &["when"]),
                    format!("unsupported filter rule `{}`: {e}", f.when),
                );
                continue;
            }
        };
        let (urn, rest) = split_key(&attr, core);
        let target = match Target::parse(&rest, urn)
            .map_err(|e| format!("bad attribute `{attr}`: {e}"))
            .and_then(|t| {
                if eq_name(&t.name, "id") && t.urn.is_none() {
                    return Ok(t);
                }
                resolve(registry, resource_type, &t).map(|_| t)
            }) {
            Ok(t) => t,
            Err(e) => {
                ctx.at(
                    &with(&path, &["when"]),
                    format!("unsupported filter rule `{}`: {e}", f.when),
                );
                continue;
            }
        };
        let action = match (f.use_, f.query.is_empty()) {
            (Some(FilterUse::Get), true) => FilterAction::Get,
            (Some(FilterUse::Store), true) => {
                let stored = rules.iter().any(|r| r.store && r.target == target);
                if !stored {
                    ctx.at(&with(&path, &["use"]), format!("`{attr}` is not a `store: true` attribute, so the store cannot answer it"));
                    continue;
                }
                FilterAction::Store
            }
            (None, false) => {
                let mut params = Vec::new();
                for (k, v) in &f.query {
                    let is_conn = |ph: &str| ph.starts_with(crate::mapping::template::CONN_PREFIX);
                    match Template::parse(v) {
                        Ok(t) if t.placeholders().all(|ph| ph == "v" || is_conn(ph)) => {
                            // `{conn.NAME}`: a variable of the connection, declared.
                            match ctx.undeclared(t.placeholders()) {
                                Some(problem) => ctx.at(&with(&path, &["query", k]), problem),
                                None => params.push((k.clone(), t)),
                            }
                        }
                        Ok(t) => {
                            let bad = t
                                .placeholders()
                                .find(|ph| *ph != "v" && !is_conn(ph))
                                .unwrap_or_default()
                                .to_owned();
                            ctx.at(
                                &with(&path, &["query", k]),
                                format!(
                                    "unknown placeholder `{{{bad}}}` (allowed: {{v}}, {{conn.NAME}})"
                                ),
                            );
                        }
                        Err(e) => ctx.at(
                            &with(&path, &["query", k]),
                            format!("bad template `{v}`: {e}"),
                        ),
                    }
                }
                FilterAction::Query(params)
            }
            _ => {
                ctx.at(&path, "a filter rule needs exactly one of `query` or `use` (allowed: query, use: get, use: store)");
                continue;
            }
        };
        filters.push(FilterRule {
            target,
            op,
            action,
            exact: f.exact,
            key: attr,
        });
    }
    let has_member_list = file.members.as_ref().is_some_and(|m| m.list.is_some());
    let own = file
        .errors
        .iter()
        .enumerate()
        .map(|(i, e)| (with(&base, &["errors", &format!("[{i}]")]), e));
    let shared = spec
        .errors
        .iter()
        .enumerate()
        .map(|(i, e)| (p(&["errors", &format!("[{i}]")]), e));
    let mut errors = Vec::new();
    for (path, e) in own.chain(shared) {
        let mut on = Vec::new();
        for name in &e.on {
            match OpName::parse(name) {
                Some(op) => on.push(op),
                None => {
                    let allowed: Vec<&str> = OpName::ALL.iter().map(|o| o.as_str()).collect();
                    ctx.at(
                        &with(&path, &["on"]),
                        format!(
                            "unknown operation `{name}` (allowed: {})",
                            allowed.join(", ")
                        ),
                    );
                }
            }
        }
        if e.means == ErrorMeaning::AlreadyDone {
            let member_ops = !on.is_empty()
                && on
                    .iter()
                    .all(|o| matches!(o, OpName::AddMember | OpName::RemoveMember));
            if !member_ops {
                ctx.at(&with(&path, &["means"]), "`already_done` needs `on:` naming only member calls (allowed: members.add, members.remove)");
            } else if kind == ResourceKind::Group && !has_member_list {
                ctx.at(&with(&path, &["means"]), "`already_done` needs `members.list` (scimgate checks the change is really in place)");
            }
        }
        let mut body = Vec::new();
        for (json_path, want) in &e.body {
            if want.is_object() || want.is_array() || want.is_null() {
                ctx.at(
                    &with(&path, &["body", json_path]),
                    "the expected value must be a string, number or boolean",
                );
                continue;
            }
            if let Some(compiled) = ctx.jsonpath(&with(&path, &["body", json_path]), json_path) {
                body.push((compiled, want.clone()));
            }
        }
        if (200..300).contains(&e.status) && e.contains.is_none() && e.body.is_empty() {
            ctx.at(&with(&path, &["status"]), "a 2xx rule needs `contains` or `body` (else every success would read as a refusal)");
        }
        errors.push(ErrorRule {
            status: e.status,
            contains: e.contains.clone(),
            body,
            on,
            means: e.means,
            show_message: e.show_message,
        });
    }
    let mut members = None;
    if let Some(m) = &file.members {
        let mpath = with(&base, &["members"]);
        if kind != ResourceKind::Group {
            ctx.at_key(&mpath, "`members` only applies to `groups`");
        }
        for (name, op, opn) in [
            ("add", &m.add, OpName::AddMember),
            ("remove", &m.remove, OpName::RemoveMember),
        ] {
            if let Some(t) = compile_op(
                ctx,
                &with(&mpath, &[name]),
                opn.as_str(),
                op,
                &["id", "member", "row"],
            ) {
                ops.push((opn, t));
            }
        }
        let uses_row = |op: &crate::mapping::spec::OperationFile| {
            op.path.contains("{row")
                || op.query.values().any(|v| v.contains("{row"))
                || op.headers.values().any(|v| v.contains("{row"))
                || op
                    .body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("{row"))
        };
        if uses_row(&m.add) {
            ctx.at(
                &with(&mpath, &["add"]),
                "`{row}` is only for `members.remove` (the row id comes from `members.list`)",
            );
        }
        let remove_by_row = uses_row(&m.remove);
        let mut list_has_row = false;
        if let Some(l) = &m.list {
            let lpath = with(&mpath, &["list"]);
            let as_list = crate::mapping::spec::ListOperationFile {
                method: l.method.clone(),
                path: l.path.clone(),
                query: l.query.clone(),
                headers: Default::default(),
                items: l.items.clone(),
                total: l.total.clone(),
                total_header: l.total_header.clone(),
                next_cursor: l.next_cursor.clone(),
                next_link: l.next_link.clone(),
                max_page_size: l.max_page_size,
                reread: false,
            };
            let compiled = compile_list(ctx, &lpath, "members.list", &as_list, MEMBER_LIST_VARS);
            let member_id = ctx.jsonpath(&with(&lpath, &["member_id"]), &l.member_id);
            let row_id = l
                .row_id
                .as_ref()
                .map(|s| ctx.jsonpath(&with(&lpath, &["row_id"]), s));
            list_has_row = row_id.as_ref().is_some_and(Option::is_some);
            if let (Some((t, spec)), Some(member_id)) = (compiled, member_id) {
                ops.push((OpName::ListMembers, t));
                members = Some(MemberList {
                    spec,
                    member_id,
                    row_id: row_id.flatten(),
                    skip_present: m.skip_present,
                    remove_by_row,
                });
            }
        }
        if remove_by_row && !list_has_row {
            ctx.at(
                &with(&mpath, &["remove"]),
                "`{row}` needs `members.list` with `row_id` (the JSONPath of the row's id)",
            );
        }
        if m.skip_present && m.list.is_none() {
            ctx.at(
                &with(&mpath, &["skip_present"]),
                "`skip_present` needs `members.list` (scimgate checks who is already a member)",
            );
        }
    }
    for (name, op) in [
        ("get", &o.get),
        ("replace", &o.replace),
        ("update", &o.update),
        ("delete", &o.delete),
        ("deactivate", &o.deactivate),
    ] {
        if op.as_ref().is_some_and(|op| !op.unique.is_empty()) {
            ctx.at_key(
                &with(&ops_path, &[name, "unique"]),
                "`unique` belongs on `create` only",
            );
        }
    }
    if ctx.problems.len() != before {
        return None;
    }
    let mapping = ResourceMapping {
        kind,
        core_urn: core.to_owned(),
        id: id?,
        identity: identity.flatten(),
        empty_is_absent: file.empty_is_absent,
        stamp,
        ops,
        list: list_spec?,
        rules,
        constants,
        filters,
        scan: file.scan.as_ref().map(|s| s.max_resources),
        errors,
        members,
        email_domains: if kind == ResourceKind::User {
            compile_domains(ctx, spec)
        } else {
            Vec::new()
        },
        unique: o
            .create
            .as_ref()
            .map(|c| c.unique.clone())
            .unwrap_or_default(),
    };
    check_unique(
        ctx,
        registry,
        &with(&ops_path, &["create", "unique"]),
        &mapping,
    )?;
    if let Some(stamp) = &mapping.stamp
        && let Some(rule) = mapping.rules.iter().find(|r| {
            r.backend
                .as_ref()
                .and_then(|b| b.segments.as_deref())
                .is_some_and(|s| s == stamp.as_slice())
        })
    {
        ctx.at(
            &with(&base, &["identity", "stamp"]),
            format!(
                "the stamp field is written by attribute `{}`; use a field nothing else writes",
                rule.key
            ),
        );
        return None;
    }
    Some(mapping)
}

/// Each `create.unique` attribute must be a mapped single value whose `eq` filter the mapping
/// pushes down as a backend query: the lookup before a create must never scan, and must see
/// resources made in the product itself (the store only knows the gateway's own).
fn check_unique(
    ctx: &mut Ctx<'_>,
    registry: &SchemaRegistry,
    path: &[String],
    mapping: &ResourceMapping,
) -> Option<()> {
    let before = ctx.problems.len();
    for key in &mapping.unique {
        let Some(rule) = mapping.rules.iter().find(|r| r.key == *key) else {
            ctx.at(
                path,
                format!("`{key}` is not an attribute of this mapping (write its key as under `attributes`)"),
            );
            continue;
        };
        if rule.target.family || (rule.multi_valued && rule.target.select.is_none()) {
            ctx.at(
                path,
                format!("`{key}` holds several values; `unique` needs a single value"),
            );
            continue;
        }
        let text = crate::mapping::unique::filter_text(rule, "x");
        let parsed = crate::scim::filter::Filter::parse(&text, registry.urns())
            .ok()
            .and_then(|f| mapping.translate_filter(&f).ok());
        match parsed {
            Some(crate::mapping::BackendSearch::Query { .. }) => {}
            Some(crate::mapping::BackendSearch::Store { .. }) => ctx.at(
                path,
                format!("`{key}` is looked up with `use: store`, which only knows resources scimgate made, not the product's own: give `{text}` a `filters:` rule with a backend query (`query:`), or drop `{key}` from `unique`"),
            ),
            _ => ctx.at(
                path,
                format!("`{key}` needs a `filters:` rule for `{text}` with a backend query (`query:`): the lookup before a create must not scan"),
            ),
        }
    }
    (ctx.problems.len() == before).then_some(())
}
