//! Mapping file text → checked [`Mapping`]: YAML with positions, `${ENV}` values, then every
//! string compiled (JSONPaths, templates, SCIM attribute names, filter rules), collecting every
//! problem with its line, column and key path.
//!
//! Only this module turns `spec` structs into compiled ones; nothing here runs per request.

use crate::mapping::Mapping;
use crate::mapping::attribute::{BackendField, Rule, Target, plain_segments};
use crate::mapping::backend::{BackendAuth, BackendSpec};
use crate::mapping::env;
use crate::mapping::locate::Located;
use crate::mapping::plan::{FilterAction, FilterRule, split_when};
use crate::mapping::problems::{Problem, Problems, join_key_path};
use crate::mapping::resource::{ErrorRule, ListSpec, MemberList, OpName, Paging, ResourceMapping};
use crate::mapping::spec::{
    self, AuthFile, ExtensionType, FilterUse, ListOperationFile, MappingFile, OperationFile,
    ResourceFile,
};
use crate::mapping::template::{RequestTemplate, Template, body_placeholders};
use crate::scim::path::{AttrPath, eq_name};
use crate::scim::schema::{
    AttrType, Attribute, GROUP_SCHEMA, Mutability, Returned, Schema, SchemaRegistry, USER_SCHEMA,
    Uniqueness,
};
use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::parser::parse_json_path;

/// Collects problems for one file, locating key paths in the YAML.
struct Ctx<'a> {
    file: &'a str,
    tree: Option<Located>,
    problems: Vec<Problem>,
    env: env::Substituted,
}

impl Ctx<'_> {
    /// A problem about the value at `path`.
    fn at(&mut self, path: &[String], message: impl Into<String>) {
        let (line, column) = self.tree.as_ref().map_or((0, 0), |t| t.find(path));
        self.push(line, column, path, message.into());
    }

    /// A problem about the key at the end of `path` (e.g. an unknown attribute name).
    fn at_key(&mut self, path: &[String], message: impl Into<String>) {
        let (line, column) = self.tree.as_ref().map_or((0, 0), |t| t.find_key(path));
        self.push(line, column, path, message.into());
    }

    fn push(&mut self, line: u64, column: u64, path: &[String], message: String) {
        let column = self.env.original_column(line, column);
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            column,
            key_path: join_key_path(path),
            message,
        });
    }

    fn jsonpath(&mut self, path: &[String], text: &str) -> Option<JpQuery> {
        match parse_json_path(text) {
            Ok(q) => Some(q),
            Err(e) => {
                let detail = jsonpath_detail(&e.to_string());
                self.at(
                    path,
                    format!(
                        "invalid JSONPath `{text}`: {detail} (write e.g. `$.email` or `$.items[*]`)"
                    ),
                );
                None
            }
        }
    }
}

/// The useful part of a pest error: `at character 14: expected selector`.
fn jsonpath_detail(text: &str) -> String {
    let position = text.find("-->").and_then(|i| {
        let rest = text[i + 3..].trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ':'))
            .unwrap_or(rest.len());
        rest[..end].split(':').nth(1).map(str::to_owned)
    });
    let expected = text.rfind("= ").map(|i| {
        text[i + 2..]
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    });
    match (position, expected) {
        (Some(pos), Some(exp)) => format!("at character {pos}: {exp}"),
        (None, Some(exp)) => exp,
        _ => text.lines().next().unwrap_or_default().to_owned(),
    }
}

fn p(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

fn with(base: &[String], more: &[&str]) -> Vec<String> {
    base.iter()
        .cloned()
        .chain(more.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// See [`crate::mapping::load`].
pub(crate) fn load(
    file: &str,
    contents: &str,
    env_lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Mapping, Problems> {
    let substituted = env::substitute(contents, env_lookup);
    let options = || {
        let mut o = serde_saphyr::Options::default();
        o.with_snippet = false;
        o
    };
    let tree = Located::parse(&substituted.text, options());
    let mut ctx = Ctx {
        file,
        tree,
        problems: Vec::new(),
        env: substituted,
    };
    for u in ctx.env.problems.clone() {
        let path = ctx
            .tree
            .as_ref()
            .map(|t| t.path_at(u.line, u.column))
            .unwrap_or_default();
        ctx.problems.push(Problem {
            file: file.to_owned(),
            line: u.line,
            column: u.column,
            key_path: join_key_path(&path),
            message: u.message,
        });
    }
    let spec: MappingFile = match serde_saphyr::from_str_with_options(&ctx.env.text, options()) {
        Ok(spec) => spec,
        Err(e) => {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let path = ctx
                .tree
                .as_ref()
                .map(|t| t.path_at(line, column))
                .unwrap_or_default();
            let message = serde_message(&e);
            ctx.push(line, column, &path, message);
            return Err(Problems(ctx.problems));
        }
    };
    let mapping = compile(&mut ctx, spec);
    // A value left empty by an unset variable causes follow-on problems on its line; the
    // variable's own problem says it all.
    let env_lines: Vec<u64> = ctx.env.problems.iter().map(|p| p.line).collect();
    let env_count = ctx.env.problems.len();
    let mut index = 0;
    ctx.problems.retain(|p| {
        index += 1;
        index <= env_count || !env_lines.contains(&p.line)
    });
    if ctx.problems.is_empty() {
        mapping.ok_or_else(|| Problems(Vec::new()))
    } else {
        ctx.problems.sort_by_key(|p| (p.line, p.column));
        Err(Problems(ctx.problems))
    }
}

/// The parser's message without its own location suffix, with the allowed keys spelled out.
fn serde_message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    let cut = first.find(" at line ").map_or(first, |i| &first[..i]);
    let cut = cut.trim_end_matches('.').trim();
    if let Some(rest) = cut.strip_prefix("unknown field ") {
        // serde: unknown field `x`, expected one of `a`, `b`
        return match rest.split_once(", expected ") {
            Some((field, expected)) => format!(
                "unknown key {field} (allowed: {})",
                expected.trim_start_matches("one of ").replace('`', "")
            ),
            None => format!("unknown key {rest}"),
        };
    }
    if cut.is_empty() {
        "invalid YAML".to_owned()
    } else {
        cut.to_owned()
    }
}

fn compile(ctx: &mut Ctx<'_>, spec: MappingFile) -> Option<Mapping> {
    if spec.version != 1 {
        ctx.at(
            &p(&["version"]),
            format!("unsupported version {} (allowed: 1)", spec.version),
        );
    }
    let backend = compile_backend(ctx, &spec.backend);
    let mut registry = SchemaRegistry::core();
    let mut users = None;
    let mut groups = None;
    for (key, resource_type, file) in [
        ("users", "User", &spec.users),
        ("groups", "Group", &spec.groups),
    ] {
        let Some(file) = file else { continue };
        register_extensions(ctx, &mut registry, key, resource_type, file);
    }
    for (key, resource_type, file) in [
        ("users", "User", &spec.users),
        ("groups", "Group", &spec.groups),
    ] {
        let Some(file) = file else { continue };
        let compiled = compile_resource(ctx, &registry, &spec, key, resource_type, file);
        if file.enabled {
            if key == "users" {
                users = compiled
            } else {
                groups = compiled
            }
        }
    }
    if spec.users.is_none() && spec.groups.is_none() {
        ctx.at(
            &[],
            "the file maps no resource type (allowed: `users:`, `groups:` or both)",
        );
    }
    for (i, test) in spec.tests.iter().enumerate() {
        let given = [
            test.read.is_some(),
            test.create.is_some(),
            test.replace.is_some(),
            test.patch.is_some(),
            test.filter.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            ctx.at(
                &p(&["tests", &format!("[{i}]")]),
                "a test needs exactly one of `read`, `create`, `replace`, `patch`, `filter`",
            );
        }
        if let Some(r) = &test.resource {
            if r != "users" && r != "groups" {
                ctx.at(
                    &p(&["tests", &format!("[{i}]"), "resource"]),
                    format!("unknown resource `{r}` (allowed: users, groups)"),
                );
            }
        }
    }
    Some(Mapping {
        file: ctx.file.to_owned(),
        registry,
        backend: backend?,
        ids: spec.ids,
        users,
        groups,
        tests: spec.tests,
    })
}

fn compile_backend(ctx: &mut Ctx<'_>, b: &spec::BackendFile) -> Option<BackendSpec> {
    let base = b.base_url.trim_end_matches('/').to_owned();
    match url::Url::parse(&base) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
        _ => {
            ctx.at(
                &p(&["backend", "base_url"]),
                format!("`{base}` is not an http(s) URL (write e.g. `https://api.example.com`)"),
            );
            return None;
        }
    }
    let auth = b.auth.clone().map(|a| match a {
        AuthFile::Bearer(token) => BackendAuth::Bearer { token },
        AuthFile::Basic { username, password } => BackendAuth::Basic { username, password },
        AuthFile::ApiKey { header, value } => BackendAuth::ApiKey { header, value },
        AuthFile::Oauth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } => BackendAuth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        },
    });
    Some(BackendSpec {
        base_url: base,
        auth,
        connect_timeout_ms: b.timeouts.connect_ms,
        request_timeout_ms: b.timeouts.request_ms,
    })
}

fn scim_type(t: ExtensionType) -> AttrType {
    match t {
        ExtensionType::String => AttrType::String,
        ExtensionType::Boolean => AttrType::Boolean,
        ExtensionType::Integer => AttrType::Integer,
        ExtensionType::Decimal => AttrType::Decimal,
        ExtensionType::DateTime => AttrType::DateTime,
        ExtensionType::Binary => AttrType::Binary,
        ExtensionType::Reference => AttrType::Reference,
    }
}

fn register_extensions(
    ctx: &mut Ctx<'_>,
    registry: &mut SchemaRegistry,
    key: &str,
    resource_type: &str,
    file: &ResourceFile,
) {
    for (i, ext) in file.extensions.iter().enumerate() {
        let path = p(&[key, "extensions", &format!("[{i}]"), "urn"]);
        if !ext.urn.starts_with("urn:") {
            ctx.at(&path, format!("`{}` is not a URN (write e.g. `urn:ietf:params:scim:schemas:extension:2.0:CustomExtensionName`)", ext.urn));
            continue;
        }
        let attributes = ext
            .attributes
            .iter()
            .map(|(name, a)| Attribute {
                name: name.clone(),
                attr_type: scim_type(a.attr_type.unwrap_or(ExtensionType::String)),
                multi_valued: a.multi_valued,
                description: a.description.clone().unwrap_or_default(),
                required: a.required,
                case_exact: a.case_exact,
                mutability: Mutability::ReadWrite,
                returned: Returned::Default,
                uniqueness: Uniqueness::None,
                canonical_values: Vec::new(),
                reference_types: Vec::new(),
                sub_attributes: Vec::new(),
            })
            .collect();
        let name = ext
            .name
            .clone()
            .unwrap_or_else(|| ext.urn.rsplit(':').next().unwrap_or_default().to_owned());
        let schema = Schema {
            id: ext.urn.clone(),
            name,
            description: ext.description.clone().unwrap_or_default(),
            attributes,
            open_type: ext.open.map(scim_type),
        };
        if let Err(e) = registry
            .add_schema(schema)
            .and_then(|()| registry.add_extension(resource_type, &ext.urn, false))
        {
            ctx.at(&path, e.to_string());
        }
    }
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

#[allow(clippy::too_many_arguments)]
fn compile_request(
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
    if !METHODS.contains(&method_up.as_str()) {
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
                if let Some(bad) = t.placeholders().find(|ph| !allowed.contains(ph)) {
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
                if let Some(bad) = used.iter().find(|u| !allowed.contains(&u.as_str())) {
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
    ok.then(|| RequestTemplate {
        name: name.to_owned(),
        method: method_up,
        path_text: path_text.to_owned(),
        path: path_t,
        query: q,
        headers: h,
        body: body.cloned(),
        reread,
    })
}

fn compile_op(
    ctx: &mut Ctx<'_>,
    path: &[String],
    name: &str,
    op: &OperationFile,
    allowed: &[&str],
) -> Option<RequestTemplate> {
    compile_request(
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
    )
}

const LIST_VARS: &[&str] = &["offset", "count", "page", "cursor"];

fn compile_list(
    ctx: &mut Ctx<'_>,
    path: &[String],
    l: &ListOperationFile,
) -> Option<(RequestTemplate, ListSpec)> {
    let t = compile_request(
        ctx, path, "list", &l.method, &l.path, &l.query, &l.headers, None, false, LIST_VARS,
    );
    let items = ctx.jsonpath(&with(path, &["items"]), &l.items);
    let total = l
        .total
        .as_ref()
        .map(|s| ctx.jsonpath(&with(path, &["total"]), s));
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
            next_cursor: next_cursor.flatten(),
            next_link: next_link.flatten(),
            paging,
            max_page_size: l.max_page_size,
        },
    ))
}

/// Splits a mapping key into its schema URN (None for the core schema) and the rest.
fn split_key(key: &str, core: &str) -> (Option<String>, String) {
    if !key.to_ascii_lowercase().starts_with("urn:") {
        return (None, key.to_owned());
    }
    // Entra's rule: everything up to the last colon is the URN (before any `[`).
    let head_end = key.find('[').unwrap_or(key.len());
    match key[..head_end].rfind(':') {
        Some(i) => {
            let urn = &key[..i];
            let rest = key[i + 1..].to_owned();
            if eq_name(urn, core) {
                (None, rest)
            } else {
                (Some(urn.to_owned()), rest)
            }
        }
        None => (None, key.to_owned()),
    }
}

/// Resolves a target against the registry: (multi_valued, SCIM type, select is Boolean).
fn resolve(
    registry: &SchemaRegistry,
    resource_type: &str,
    target: &Target,
) -> Result<(bool, AttrType, bool), String> {
    let known_ext = registry.schemas_of(resource_type);
    if let Some(urn) = &target.urn {
        let Some(schema) = known_ext.iter().find(|s| eq_name(&s.id, urn)) else {
            let list = known_ext
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "unknown schema `{urn}` on {resource_type} (known: {list}; declare custom ones under `extensions`)"
            ));
        };
        if target.family {
            return match schema.open_type {
                Some(t) => Ok((false, t, false)),
                None => Err(format!(
                    "`{urn}` is not a key family (declare it under `extensions` with `open: string`)"
                )),
            };
        }
    } else if target.family {
        return Err("`*` needs a schema URN before it (`urn:…:Metadata:*`)".to_owned());
    }
    let top = AttrPath {
        schema: target.urn.clone(),
        name: target.name.clone(),
        sub_attr: None,
    };
    let unknown = || {
        let names: Vec<String> = known_ext
            .iter()
            .filter(|s| target.urn.as_ref().is_none_or(|u| eq_name(u, &s.id)))
            .take(1)
            .flat_map(|s| s.attributes.iter().map(|a| a.name.clone()))
            .collect();
        format!(
            "unknown SCIM attribute `{}` on {resource_type} (known: {}{})",
            target.display(),
            if target.urn.is_none() {
                "id, externalId, "
            } else {
                ""
            },
            names.join(", ")
        )
    };
    let top_attr = registry
        .attribute(resource_type, &top)
        .ok_or_else(unknown)?;
    let mut select_boolean = false;
    if let Some((sel, _)) = &target.select {
        let sub = top_attr
            .sub_attribute(sel)
            .ok_or_else(|| format!("`{}` has no sub-attribute `{sel}`", target.name))?;
        select_boolean = sub.attr_type == AttrType::Boolean;
    }
    let leaf_type = match &target.sub {
        Some(sub) => {
            let names = top_attr
                .sub_attributes
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            top_attr
                .sub_attribute(sub)
                .ok_or_else(|| {
                    format!(
                        "unknown sub-attribute `{sub}` of `{}` (known: {names})",
                        target.name
                    )
                })?
                .attr_type
        }
        None => top_attr.attr_type,
    };
    Ok((top_attr.multi_valued, leaf_type, select_boolean))
}

fn compile_rule(
    ctx: &mut Ctx<'_>,
    registry: &SchemaRegistry,
    resource_type: &str,
    core: &str,
    path: &[String],
    key: &str,
    a: &spec::AttributeFile,
) -> Option<Rule> {
    let (urn, rest) = split_key(key, core);
    let target = match Target::parse(&rest, urn) {
        Ok(t) => t,
        Err(e) => {
            ctx.at_key(path, format!("bad SCIM attribute path `{key}`: {e}"));
            return None;
        }
    };
    let (multi_valued, scim_t, select_boolean) = match resolve(registry, resource_type, &target) {
        Ok(r) => r,
        Err(e) => {
            ctx.at_key(path, e);
            return None;
        }
    };
    let mut ok = true;
    let backend = match &a.path {
        Some(text) => {
            let query = ctx.jsonpath(&with(path, &["path"]), text);
            let plain = plain_segments(text);
            if target.family != plain.as_ref().is_some_and(|(_, f)| *f) {
                ctx.at(&with(path, &["path"]), format!("a key family maps onto one backend object: write `$.field.*` here, not `{text}`"));
                ok = false;
            } else if plain.is_none() && !a.read_only && query.is_some() {
                ctx.at(&with(path, &["path"]), format!("scimgate cannot write through `{text}` (write a plain path like `$.a.b`, or add `read_only: true`)"));
                ok = false;
            }
            query.map(|query| BackendField {
                query,
                segments: plain.as_ref().map(|(s, _)| s.clone()),
                family: target.family,
            })
        }
        None => None,
    };
    if a.path.is_none() && !a.store {
        ctx.at_key(
            path,
            "needs `path` (the backend field's JSONPath) or `store: true` (allowed: path, store)",
        );
        ok = false;
    }
    if a.path.is_some() && a.store {
        ctx.at(&with(path, &["store"]), "`store: true` and `path` exclude each other (the value lives either in the backend or in scimgate)");
        ok = false;
    }
    if a.split.is_some() && a.join.is_some() {
        ctx.at(
            &with(path, &["join"]),
            "`split` and `join` exclude each other",
        );
        ok = false;
    }
    if let Some(default) = &a.default {
        if !a.allowed.is_empty() {
            let text = crate::mapping::attribute::scalar_text(default);
            if !a.allowed.iter().any(|v| {
                if a.case_exact {
                    *v == text
                } else {
                    v.eq_ignore_ascii_case(&text)
                }
            }) {
                ctx.at(
                    &with(path, &["default"]),
                    format!(
                        "default `{text}` is not one of the allowed values (allowed: {})",
                        a.allowed.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    if !a.allowed.is_empty() && !a.map.is_empty() {
        for v in &a.allowed {
            if !a.map.keys().any(|k| k.eq_ignore_ascii_case(v)) {
                ctx.at(
                    &with(path, &["map"]),
                    format!(
                        "allowed value `{v}` has no entry in `map` (entries: {})",
                        a.map.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then(|| Rule {
        key: key.to_owned(),
        target,
        backend,
        store: a.store,
        trim: a.trim,
        lowercase: a.lowercase,
        split: a.split.clone(),
        join: a.join.clone(),
        allowed: a.allowed.clone(),
        map: a.map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        default: a.default.clone(),
        constant: a.constant.clone(),
        as_type: a.as_type,
        read_only: a.read_only,
        write_only: a.write_only,
        returned: a.returned,
        case_exact: a.case_exact,
        required: a.required,
        primary: a.primary,
        add_replaces: a.add_replaces.unwrap_or(true),
        multi_valued,
        scim_type: scim_t,
        select_boolean,
    })
}

fn compile_resource(
    ctx: &mut Ctx<'_>,
    registry: &SchemaRegistry,
    spec: &MappingFile,
    key: &str,
    resource_type: &str,
    file: &ResourceFile,
) -> Option<ResourceMapping> {
    let core = if key == "users" {
        USER_SCHEMA
    } else {
        GROUP_SCHEMA
    };
    let base = p(&[key]);
    let before = ctx.problems.len();
    let id = ctx.jsonpath(&with(&base, &["id"]), &file.id);
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
        if let Some(op) = op {
            if let Some(t) = compile_op(
                ctx,
                &with(&ops_path, &[name.as_str()]),
                name.as_str(),
                op,
                allowed,
            ) {
                ops.push((name, t));
            }
        }
    }
    let list = o
        .list
        .as_ref()
        .and_then(|l| compile_list(ctx, &with(&ops_path, &["list"]), l));
    let mut list_spec = None;
    if let Some((t, l)) = list {
        ops.push((OpName::List, t));
        list_spec = Some(l);
    }
    let mut rules = Vec::new();
    for (name, entry) in &file.attributes {
        let path = with(&base, &["attributes", name]);
        if let Some(rule) = compile_rule(ctx, registry, resource_type, core, &path, name, &entry.0)
        {
            rules.push(rule);
        }
    }
    let mut constants = Vec::new();
    for (field, value) in &file.constants {
        match plain_segments(field) {
            Some((segments, false)) => constants.push((segments, value.clone())),
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
                    match Template::parse(v) {
                        Ok(t) if t.placeholders().all(|ph| ph == "v") => {
                            params.push((k.clone(), t))
                        }
                        Ok(t) => {
                            let bad = t
                                .placeholders()
                                .find(|ph| *ph != "v")
                                .unwrap_or_default()
                                .to_owned();
                            ctx.at(
                                &with(&path, &["query", k]),
                                format!("unknown placeholder `{{{bad}}}` (allowed: {{v}})"),
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
    let errors = file
        .errors
        .iter()
        .chain(&spec.errors)
        .map(|e| ErrorRule {
            status: e.status,
            contains: e.contains.clone(),
            means: e.means,
        })
        .collect();
    let mut members = None;
    if let Some(m) = &file.members {
        let mpath = with(&base, &["members"]);
        if key != "groups" {
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
                &["id", "member"],
            ) {
                ops.push((opn, t));
            }
        }
        if let Some(l) = &m.list {
            let lpath = with(&mpath, &["list"]);
            let t = compile_request(
                ctx,
                &lpath,
                "members.list",
                &l.method,
                &l.path,
                &l.query,
                &Default::default(),
                None,
                false,
                &["id"],
            );
            let items = ctx.jsonpath(&with(&lpath, &["items"]), &l.items);
            let member_id = ctx.jsonpath(&with(&lpath, &["member_id"]), &l.member_id);
            if let (Some(t), Some(items), Some(member_id)) = (t, items, member_id) {
                ops.push((OpName::ListMembers, t));
                members = Some(MemberList { items, member_id });
            }
        }
    }
    if ctx.problems.len() != before {
        return None;
    }
    Some(ResourceMapping {
        resource_type: resource_type.to_owned(),
        core_urn: core.to_owned(),
        id: id?,
        ops,
        list: list_spec?,
        rules,
        constants,
        filters,
        scan: file.scan.as_ref().map(|s| s.max_resources),
        errors,
        members,
        email_domains: if key == "users" {
            spec.policies.email_domains.clone()
        } else {
            Vec::new()
        },
    })
}
