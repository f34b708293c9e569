//! Mapping file text → checked [`Mapping`]: YAML with positions, `${ENV}` values, then every
//! string compiled (JSONPaths, templates, SCIM attribute names, filter rules), collecting every
//! problem with its line, column and key path.
//!
//! Only this module turns `spec` structs into compiled ones; nothing here runs per request.
//! `request` compiles backend calls, `attributes` attribute rules, `resource` one resource type.

mod attributes;
mod product_keys;
mod request;
mod resource;

use resource::compile_resource;

use crate::mapping::Mapping;
use crate::mapping::backend::{BackendAuth, BackendSpec};
use crate::mapping::env;
use crate::mapping::jsonpath::JsonPath;
use crate::mapping::locate::Located;
use crate::mapping::problems::{Problem, Problems, join_key_path};
use crate::mapping::spec::{self, AuthFile, ExtensionType, MappingFile, ResourceFile};
use crate::scim::ResourceKind;
use crate::scim::schema::{
    AttrType, Attribute, Mutability, Returned, Schema, SchemaRegistry, Uniqueness,
};
use jsonpath_rust::parser::parse_json_path;

/// Collects problems for one file, locating key paths in the YAML.
pub(super) struct Ctx<'a> {
    file: &'a str,
    tree: Option<Located>,
    problems: Vec<Problem>,
    env: env::Substituted,
    /// The names `connection_variables:` declares (`{conn.NAME}` may use only these).
    declared: Vec<String>,
}

impl Ctx<'_> {
    /// The problem with `{conn.NAME}` placeholders among `placeholders` that
    /// `connection_variables:` does not declare, if any.
    pub(super) fn undeclared<'p>(
        &self,
        placeholders: impl Iterator<Item = &'p str>,
    ) -> Option<String> {
        let bad = crate::mapping::template::connection_variables(placeholders)
            .find(|name| !self.declared.iter().any(|d| d == name))?;
        let declared = if self.declared.is_empty() {
            "none".to_owned()
        } else {
            self.declared.join(", ")
        };
        Some(format!(
            "`{{conn.{bad}}}` is not declared in `connection_variables:` (declared: {declared}); \
             add `{bad}: {{}}` there"
        ))
    }

    /// A problem about the value at `path`.
    pub(super) fn at(&mut self, path: &[String], message: impl Into<String>) {
        let (line, column) = self.tree.as_ref().map_or((0, 0), |t| t.find(path));
        self.push(line, column, path, message.into());
    }

    /// A problem about the key at the end of `path` (e.g. an unknown attribute name).
    pub(super) fn at_key(&mut self, path: &[String], message: impl Into<String>) {
        let (line, column) = self.tree.as_ref().map_or((0, 0), |t| t.find_key(path));
        self.push(line, column, path, message.into());
    }

    pub(super) fn push(&mut self, line: u64, column: u64, path: &[String], message: String) {
        let column = self.env.original_column(line, column);
        let key_path = join_key_path(path);
        // Top-level rules are compiled for users and for groups: one problem, said once.
        if self.problems.iter().any(|p| {
            p.line == line && p.column == column && p.key_path == key_path && p.message == message
        }) {
            return;
        }
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            column,
            key_path,
            message,
        });
    }

    pub(super) fn jsonpath(&mut self, path: &[String], text: &str) -> Option<JsonPath> {
        match parse_json_path(text) {
            Ok(q) => Some(JsonPath::new(q)),
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

pub(super) fn p(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

pub(super) fn with(base: &[String], more: &[&str]) -> Vec<String> {
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
        // YAML 1.2 booleans only: a family name `N` or a value `yes` stays a string.
        o.strict_booleans = true;
        o
    };
    let tree = Located::parse(&substituted.text, options());
    let mut ctx = Ctx {
        file,
        tree,
        problems: Vec::new(),
        env: substituted,
        declared: Vec::new(),
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
            let mut path = ctx
                .tree
                .as_ref()
                .map(|t| t.path_at(line, column))
                .unwrap_or_default();
            let message = serde_message(&e);
            if message.starts_with("missing key") {
                // Reported at the end of the mapping that lacks the key: name that mapping.
                path.pop();
                let (line, column) = ctx
                    .tree
                    .as_ref()
                    .map_or((line, column), |t| t.find_key(&path));
                ctx.push(line, column, &path, message);
            } else {
                ctx.push(line, column, &path, message);
            }
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
    if let Some(rest) = cut.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected ") {
            Some((value, expected)) => format!(
                "unknown value {value} (allowed: {})",
                expected.trim_start_matches("one of ").replace('`', "")
            ),
            None => format!("unknown value {rest}"),
        };
    }
    if let Some(rest) = cut.strip_prefix("missing field ") {
        return format!("missing key {rest} (it is required here)");
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
    ctx.declared = spec.connection_variables.keys().cloned().collect();
    for name in spec.connection_variables.keys() {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            ctx.at_key(
                &p(&["connection_variables", name]),
                format!("`{name}` is not a variable name (letters, digits and _)"),
            );
        }
    }
    let backend = compile_backend(ctx, &spec.backend);
    let product_keys = spec
        .product_keys
        .as_ref()
        .and_then(|file| product_keys::compile(ctx, file));
    let mut registry = SchemaRegistry::core();
    let mut users = None;
    let mut groups = None;
    let files = [
        (ResourceKind::User, &spec.users),
        (ResourceKind::Group, &spec.groups),
    ];
    for (kind, file) in files {
        let Some(file) = file else { continue };
        register_extensions(ctx, &mut registry, kind.key(), kind.name(), file);
    }
    for (kind, file) in files {
        let Some(file) = file else { continue };
        let compiled = compile_resource(ctx, &registry, &spec, kind, file);
        if file.enabled {
            match kind {
                ResourceKind::User => users = compiled,
                ResourceKind::Group => groups = compiled,
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
            test.backend_error.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            ctx.at(
                &p(&["tests", &format!("[{i}]")]),
                "a test needs exactly one of `read`, `create`, `replace`, `patch`, `filter`, \
                 `backend_error`",
            );
        }
        if let Some(name) = test
            .variables
            .keys()
            .find(|name| !ctx.declared.contains(name))
        {
            ctx.at_key(
                &p(&["tests", &format!("[{i}]"), "variables", name]),
                format!(
                    "`{name}` is not declared in `connection_variables:` (declared: {})",
                    if ctx.declared.is_empty() {
                        "none".to_owned()
                    } else {
                        ctx.declared.join(", ")
                    }
                ),
            );
        }
        if let Some(r) = &test.resource
            && !ResourceKind::ALL.iter().any(|kind| kind.key() == r)
        {
            ctx.at(
                &p(&["tests", &format!("[{i}]"), "resource"]),
                format!("unknown resource `{r}` (allowed: users, groups)"),
            );
        }
    }
    let advertised = registry.advertised(&super::advertise::Carried {
        resources: [users.as_ref(), groups.as_ref()],
    });
    Some(Mapping {
        file: ctx.file.to_owned(),
        advertised,
        registry,
        backend: backend?,
        connection_variables: spec.connection_variables.keys().cloned().collect(),
        secret_variables: spec
            .connection_variables
            .iter()
            .filter(|(_, v)| v.secret)
            .map(|(k, _)| k.clone())
            .collect(),
        ids: spec.ids,
        product_keys,
        users,
        groups,
        tests: spec.tests,
    })
}

fn compile_backend(ctx: &mut Ctx<'_>, b: &spec::BackendFile) -> Option<BackendSpec> {
    let base = b.base_url.trim_end_matches('/').to_owned();
    let base_url = match url::Url::parse(&base) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
        _ => {
            ctx.at(
                &p(&["backend", "base_url"]),
                format!("`{base}` is not an http(s) URL (write e.g. `https://api.example.com`)"),
            );
            return None;
        }
    };
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
    // A credential naming connection variables is filled per connection, as a header.
    let mut auth = auth;
    let mut connection_auth = None;
    let per_connection = match &auth {
        Some(BackendAuth::Bearer { token }) if token.contains("{conn.") => {
            Some(("authorization", format!("Bearer {token}"), "bearer"))
        }
        Some(BackendAuth::ApiKey { header, value }) if value.contains("{conn.") => {
            Some((header.as_str(), value.clone(), "api_key"))
        }
        _ => None,
    }
    .map(|(header, value, key)| (header.to_owned(), value, key));
    if let Some((header, value, key)) = per_connection {
        let at = p(&["backend", "auth", key]);
        match crate::mapping::template::Template::parse(&value) {
            Ok(template) => {
                if let Some(problem) = ctx.undeclared(template.placeholders()) {
                    ctx.at(&at, problem);
                } else if let Some(bad) = template
                    .placeholders()
                    .find(|p| !p.starts_with(crate::mapping::template::CONN_PREFIX))
                {
                    ctx.at(
                        &at,
                        format!("`{{{bad}}}` is not allowed here (only {{conn.NAME}})"),
                    );
                }
                connection_auth = Some((header, template));
                auth = None;
            }
            Err(e) => ctx.at(&at, format!("bad template: {e}")),
        }
    }
    Some(BackendSpec {
        base_url,
        auth,
        connection_auth,
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
