//! Compiling attribute rules: the SCIM side is resolved against the schema registry (core,
//! enterprise and the mapping's own extensions), the backend side is a compiled JSONPath.

use super::{Ctx, with};
use crate::mapping::attribute::{BackendField, Rule, Target, plain_segments};
use crate::mapping::spec;
use crate::scim::ResourceKind;
use crate::scim::path::{AttrPath, eq_name};
use crate::scim::schema::{AttrType, SchemaRegistry};

/// Splits a mapping key into its schema URN (None for the core schema) and the rest.
pub(super) fn split_key(key: &str, core: &str) -> (Option<String>, String) {
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
pub(super) fn resolve(
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

pub(super) fn compile_rule(
    ctx: &mut Ctx<'_>,
    registry: &SchemaRegistry,
    kind: ResourceKind,
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
    let (multi_valued, scim_t, select_boolean) = match resolve(registry, kind.name(), &target) {
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
    if let Some(default) = &a.default
        && !a.allowed.is_empty()
    {
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
    let mut items = Vec::new();
    if !a.items.is_empty() {
        if !multi_valued || target.sub.is_some() || target.select.is_some() || target.family {
            ctx.at(
                &with(path, &["items"]),
                "`items` is for a whole multi-valued complex attribute (a key like `roles`, without a sub-attribute or filter)",
            );
            ok = false;
        }
        if a.split.is_some() || a.join.is_some() || !a.map.is_empty() {
            ctx.at(
                &with(path, &["items"]),
                "`items` excludes `split`, `join` and `map`",
            );
            ok = false;
        }
        for (sub, field) in &a.items {
            match crate::mapping::attribute::plain_segments(field) {
                Some((segments, false)) => items.push((sub.clone(), segments)),
                _ => {
                    ctx.at(
                        &with(path, &["items", sub]),
                        format!("`{field}` is not a plain field path within one element (write e.g. `$.name`)"),
                    );
                    ok = false;
                }
            }
        }
    }
    // RFC 7643 §4.1.2: a formatted address "MAY contain newlines".
    let multiline = target.urn.is_none()
        && kind == ResourceKind::User
        && eq_name(&target.name, "addresses")
        && target
            .sub
            .as_deref()
            .is_some_and(|sub| eq_name(sub, "formatted"));
    if let Some(read_default) = &a.read_default {
        let text = crate::mapping::attribute::scalar_text(read_default);
        if a.map.is_empty() {
            ctx.at(
                &with(path, &["read_default"]),
                "`read_default` is the SCIM value for backend values `map` does not know: it needs `map`",
            );
            ok = false;
        } else if !a.map.keys().any(|k| k.eq_ignore_ascii_case(&text)) {
            ctx.at(
                &with(path, &["read_default"]),
                format!(
                    "read_default `{text}` is not a `map` key (keys: {})",
                    a.map.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
            ok = false;
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
        read_default: a.read_default.clone(),
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
        multiline,
        with_list: false,
        items,
    })
}
