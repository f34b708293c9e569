//! Compiling `product_keys:` (see `crate::mapping::product_keys`).

use std::time::Duration;

use super::request::compile_request;
use super::{Ctx, p, with};
use crate::mapping::product_keys::{KEY, ProductKeys};
use crate::mapping::spec::ProductKeysFile;
use crate::mapping::template::{CONN_PREFIX, Template};

/// At most this long an introspect outcome may be reused (a revoked key must stop soon).
const MAX_CACHE_SECONDS: u64 = 3600;

pub(super) fn compile(ctx: &mut Ctx<'_>, file: &ProductKeysFile) -> Option<ProductKeys> {
    let base = p(&["product_keys"]);
    let mut ok = true;
    if http::HeaderName::from_bytes(file.header.as_bytes()).is_err() {
        ctx.at(
            &with(&base, &["header"]),
            format!("`{}` is not a valid HTTP header name", file.header),
        );
        ok = false;
    }
    let value_text = file.value.as_deref().unwrap_or("{key}");
    let value = match Template::parse(value_text) {
        Ok(t) if !t.placeholders().any(|ph| ph == KEY) => {
            ctx.at(
                &with(&base, &["value"]),
                format!("`{value_text}` does not use `{{key}}` (the key must be in it)"),
            );
            None
        }
        Ok(t) => {
            let bad = t
                .placeholders()
                .find(|ph| *ph != KEY && !ph.starts_with(CONN_PREFIX))
                .map(str::to_owned);
            match bad {
                Some(bad) => {
                    ctx.at(
                        &with(&base, &["value"]),
                        format!(
                            "unknown placeholder `{{{bad}}}` (allowed: {{key}}, {{conn.NAME}})"
                        ),
                    );
                    None
                }
                None => Some(t),
            }
        }
        Err(e) => {
            ctx.at(&with(&base, &["value"]), format!("bad template: {e}"));
            None
        }
    };
    let op = &file.introspect;
    let at = with(&base, &["introspect"]);
    let introspect = compile_request(
        ctx,
        &at,
        "auth.introspect",
        &op.method,
        &op.path,
        &op.query,
        &op.headers,
        op.body.as_ref(),
        false,
        &[],
    );
    if op.reread || op.answer.is_some() || !op.unique.is_empty() {
        ctx.at(
            &at,
            "`reread`, `answer` and `unique` do not apply to `introspect`",
        );
        ok = false;
    }
    let mut expect = Vec::new();
    for (path_text, want) in &file.expect {
        let at = with(&base, &["expect", path_text]);
        let path = ctx.jsonpath(&at, path_text);
        let want = match Template::parse(want) {
            Ok(t) => {
                let bad = t
                    .placeholders()
                    .find(|ph| !ph.starts_with(CONN_PREFIX))
                    .map(str::to_owned);
                let undeclared = ctx.undeclared(t.placeholders());
                match (bad, undeclared) {
                    (Some(bad), _) => {
                        ctx.at(
                            &at,
                            format!("unknown placeholder `{{{bad}}}` (allowed: {{conn.NAME}})"),
                        );
                        None
                    }
                    (None, Some(problem)) => {
                        ctx.at(&at, problem);
                        None
                    }
                    (None, None) => Some(t),
                }
            }
            Err(e) => {
                ctx.at(&at, format!("bad template: {e}"));
                None
            }
        };
        match (path, want) {
            (Some(path), Some(want)) => expect.push((path_text.clone(), path, want)),
            _ => ok = false,
        }
    }
    if file.cache_seconds > MAX_CACHE_SECONDS {
        ctx.at(
            &with(&base, &["cache_seconds"]),
            format!(
                "{} is more than {MAX_CACHE_SECONDS} (a revoked key would work for too long)",
                file.cache_seconds
            ),
        );
        ok = false;
    }
    if let Some(value) = &value
        && let Some(problem) = ctx.undeclared(value.placeholders())
    {
        ctx.at(&with(&base, &["value"]), problem);
        ok = false;
    }
    let (value, introspect) = (value?, introspect?);
    ok.then(|| ProductKeys {
        header: file.header.clone(),
        value,
        introspect,
        expect,
        cache: Duration::from_secs(file.cache_seconds),
    })
}
