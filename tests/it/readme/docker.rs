//! The README's `docker build` / `docker run` block, which cannot run here (no Docker engine):
//! its flags, mounts, env var names and paths are checked against the Dockerfile,
//! config/scimgate.yaml and the tenants' mappings.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use super::blocks::Block;
use super::walk::Failure;

/// Shell words of one command line, as `shlex.split(line, comments=True)`: quotes removed,
/// nothing expanded (`$PWD` stays as written).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\')) => w.push(e),
                            Some(e) => {
                                w.push('\\');
                                w.push(e);
                            }
                            None => w.push('\\'),
                        },
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The arguments of every `NAME` directive of the Dockerfile (continuations joined).
fn directives(dockerfile: &str, name: &str) -> Vec<String> {
    let prefix = format!("{name} ");
    dockerfile
        .split('\n')
        .filter(|l| l.trim().to_uppercase().starts_with(&prefix))
        .filter_map(|l| {
            l.trim()
                .split_once(char::is_whitespace)
                .map(|(_, rest)| rest.trim().to_string())
        })
        .collect()
}

/// Key paths of a YAML settings file (`server.listen`, `tenants.auth.bearer`): an indentation
/// walk, enough for config/scimgate.yaml.
fn key_paths(yaml: &str) -> HashSet<String> {
    let mut keys = HashSet::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for raw in yaml.split('\n') {
        let line = raw.split('#').next().unwrap_or_default();
        let rest = line.trim_start();
        let mut indent = line.len() - rest.len();
        let rest = match rest.strip_prefix("- ") {
            Some(item) => {
                indent += 2;
                item
            }
            None => rest,
        };
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !rest[name_len..].starts_with(':')
        {
            continue;
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, name.to_string()));
        keys.insert(
            stack
                .iter()
                .map(|(_, k)| k.as_str())
                .collect::<Vec<_>>()
                .join("."),
        );
    }
    keys
}

/// The value of the first `key:` line of a YAML text (quotes and comment removed).
fn yaml_value(yaml: &str, key: &str) -> Option<String> {
    yaml.split('\n').find_map(|l| {
        let rest = l.trim_start().strip_prefix(key)?.strip_prefix(':')?;
        let rest = rest.trim_start();
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        Some(
            rest.split(['"', '#'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
        )
    })
}

/// Whether `name` occurs in `text` as a whole word.
fn has_word(text: &str, name: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(name).any(|(at, _)| {
        !word(text[..at].chars().next_back()) && !word(text[at + name.len()..].chars().next())
    })
}

/// `a/b/../c` → `a/c`, as `os.path.normpath`.
fn normpath(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn dirname(path: &str) -> String {
    path.rsplit_once('/')
        .map_or(String::new(), |(dir, _)| dir.to_string())
}

/// Checks the docker lines of `block` against the repository in `root`.
pub(super) fn check_docker(block: &Block, root: &Path) -> Result<(), Failure> {
    let fail = |msg: String| Failure::new(block.line, msg);
    let read = |file: &str| {
        std::fs::read_to_string(root.join(file)).map_err(|e| fail(format!("read {file}: {e}")))
    };
    let text = block.text().replace("\\\n", " ");
    let logical: Vec<&str> = text
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if let Some(other) = logical.iter().find(|l| !l.starts_with("docker ")) {
        return Err(fail(format!(
            "a docker block holds other commands too (`{other}`): keep docker lines in a block of their own"
        )));
    }
    let dockerfile = read("Dockerfile")?.replace("\\\n", " ");
    let config = read("config/scimgate.yaml")?;
    let keys = key_paths(&config);
    let mut image: Option<String> = None;
    for command in logical {
        let words = shell_words(command);
        match words.get(1).map(String::as_str) {
            Some("build") => image = Some(check_build(&words, root).map_err(fail)?),
            Some("run") => {
                check_run(
                    &words[2..],
                    image.as_deref(),
                    &dockerfile,
                    &config,
                    &keys,
                    root,
                )
                .map_err(fail)?;
            }
            _ => {
                return Err(fail(format!(
                    "`{command}`: a docker command this test cannot check (add it to NOT_RUNNABLE)"
                )));
            }
        }
    }
    Ok(())
}

fn check_build(words: &[String], root: &Path) -> Result<String, String> {
    let image = words
        .iter()
        .position(|w| w == "-t")
        .and_then(|i| words.get(i + 1))
        .ok_or("docker build without -t: the run line names the image")?;
    let context = words.last().map_or("", String::as_str);
    if !root.join(context).join("Dockerfile").is_file() {
        return Err(format!("docker build context {context} has no Dockerfile"));
    }
    println!("  docker build: context {context} has the Dockerfile, image {image}");
    Ok(image.clone())
}

fn check_run(
    rest: &[String],
    image: Option<&str>,
    dockerfile: &str,
    config: &str,
    keys: &HashSet<String>,
    root: &Path,
) -> Result<(), String> {
    let (mut env, mut mounts, mut ports) = (Vec::new(), Vec::new(), Vec::new());
    let mut positional: &[String] = &[];
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i].as_str();
        match w {
            "--rm" | "-d" | "-it" | "-i" | "-t" => i += 1,
            "-p" | "-v" | "-e" | "--name" | "--env-file" => {
                let value = rest
                    .get(i + 1)
                    .ok_or(format!("docker run {w} without a value"))?
                    .clone();
                match w {
                    "-p" => ports.push(value),
                    "-v" => mounts.push(value),
                    "-e" => env.push(value),
                    _ => {}
                }
                i += 2;
            }
            w if w.starts_with('-') => {
                return Err(format!(
                    "docker run flag {w} is not known to this check (add it to tests/it/readme/docker.rs)"
                ));
            }
            _ => {
                positional = &rest[i..];
                break;
            }
        }
    }
    let (run_image, args) = positional
        .split_first()
        .ok_or("docker run names no image")?;
    if let Some(built) = image.filter(|built| run_image != built) {
        return Err(format!(
            "docker run image {run_image} is not the one built ({built})"
        ));
    }
    let last = |name: &str| directives(dockerfile, name).pop();
    if !last("ENTRYPOINT").is_some_and(|e| e.contains("scimgate")) {
        return Err("the Dockerfile's ENTRYPOINT is not the scimgate binary".into());
    }
    if args.is_empty() && !last("CMD").is_some_and(|c| c.contains("\"serve\"")) {
        return Err("docker run gives no command, but the Dockerfile's CMD is not serve".into());
    }
    let exposed_all = directives(dockerfile, "EXPOSE").join(" ");
    let exposed: Vec<&str> = exposed_all.split_whitespace().collect();
    let listen = yaml_value(config, "listen").unwrap_or_default();
    for p in &ports {
        let container = p.rsplit(':').next().unwrap_or_default();
        if !exposed.contains(&container) {
            return Err(format!(
                "-p {p}: the Dockerfile EXPOSEs {exposed:?}, not {container}"
            ));
        }
        if !listen.ends_with(&format!(":{container}")) {
            return Err(format!(
                "-p {p}: config/scimgate.yaml server.listen is {listen}"
            ));
        }
        println!("  -p {p}: EXPOSE {container}, server.listen {listen}");
    }
    let mut copies: HashMap<String, String> = HashMap::new();
    for c in directives(dockerfile, "COPY") {
        let parts: Vec<&str> = c.split_whitespace().collect();
        match (parts.first(), parts.last()) {
            (Some(src), Some(dst)) if !src.starts_with("--") => {
                copies.insert(
                    dst.trim_end_matches('/').to_string(),
                    src.trim_end_matches('/').to_string(),
                );
            }
            _ => {}
        }
    }
    let config_in_image = directives(dockerfile, "ENV")
        .into_iter()
        .rev()
        .find_map(|e| e.strip_prefix("SCIMGATE_CONFIG=").map(str::to_string))
        .ok_or("the Dockerfile sets no SCIMGATE_CONFIG")?;
    let workdir = last("WORKDIR").ok_or("the Dockerfile has no WORKDIR")?;
    let mut mounted: HashMap<String, String> = HashMap::new();
    for v in &mounts {
        let mut fields = v.split(':');
        let (src, dst) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        if let Some(local) = src.strip_prefix("$PWD/") {
            if !root.join(local).is_dir() {
                return Err(format!("-v {v}: ./{local} does not exist"));
            }
            if copies.get(dst).map(String::as_str) != Some(local) {
                return Err(format!(
                    "-v {v}: the Dockerfile does not bake {local}/ into {dst} (COPY {local}/ {dst}/)"
                ));
            }
            mounted.insert(dst.to_string(), local.to_string());
            println!("  -v {v}: ./{local} is baked into {dst} and mounted over it");
        } else {
            if dst != workdir {
                return Err(format!(
                    "-v {v}: the data volume must be the Dockerfile's WORKDIR {workdir}"
                ));
            }
            let sqlite = yaml_value(config, "sqlite_path").unwrap_or_default();
            if sqlite.starts_with('/') && !sqlite.starts_with(dst) {
                return Err(format!(
                    "-v {v}: store.sqlite_path {sqlite} is not on the volume"
                ));
            }
            println!("  -v {v}: WORKDIR {workdir}, store.sqlite_path {sqlite} lands on it");
        }
    }
    let config_dir = dirname(&config_in_image);
    let config_home = mounted.get(&config_dir).ok_or(format!(
        "SCIMGATE_CONFIG={config_in_image} is not under a mounted directory"
    ))?;
    let base = config_in_image.rsplit('/').next().unwrap_or_default();
    let local_config = format!("{config_home}/{base}");
    if !root.join(&local_config).is_file() {
        return Err(format!(
            "SCIMGATE_CONFIG={config_in_image}: ./{local_config} does not exist"
        ));
    }
    println!("  SCIMGATE_CONFIG={config_in_image} is ./{local_config}");
    let mut mapping_texts = Vec::new();
    for m in config
        .split('\n')
        .filter_map(|l| yaml_value(l, "mapping"))
        .filter(|m| !m.is_empty())
    {
        let m = m.split_whitespace().next().unwrap_or_default();
        let in_image = normpath(&Path::new(&config_dir).join(m))
            .display()
            .to_string();
        let (dir, local_dir) = mounted
            .iter()
            .find(|(d, _)| in_image.starts_with(&format!("{d}/")))
            .ok_or(format!(
                "tenant mapping {m} resolves to {in_image}, which is not mounted"
            ))?;
        let local = format!("{local_dir}/{}", &in_image[dir.len() + 1..]);
        let text = std::fs::read_to_string(root.join(&local))
            .map_err(|_| format!("tenant mapping {in_image} is ./{local}, which does not exist"))?;
        mapping_texts.push(text);
        println!("  tenant mapping {m} → {in_image} (./{local})");
    }
    for e in &env {
        let name = e.split('=').next().unwrap_or_default();
        if let Some(path) = name.strip_prefix("SCIMGATE__") {
            let key = path
                .to_lowercase()
                .split("__")
                .collect::<Vec<_>>()
                .join(".");
            if !keys.contains(&key) {
                return Err(format!("-e {name}: config/scimgate.yaml has no key {key}"));
            }
            println!("  -e {name}: key {key}");
        } else if has_word(config, name) {
            println!("  -e {name}: read by config/scimgate.yaml");
        } else if mapping_texts
            .iter()
            .any(|t| t.contains(&format!("${{{name}")))
        {
            println!("  -e {name}: read by the tenant's mapping");
        } else {
            return Err(format!(
                "-e {name}: neither config/scimgate.yaml nor its mappings read it"
            ));
        }
    }
    Ok(())
}

#[test]
fn shell_words_keep_variables_and_drop_quotes_and_comments() {
    assert_eq!(
        shell_words(
            r#"docker run -v "$PWD/config:/etc/x:ro" -e T="$(cat t.txt)" 'a b' c\ d # gone"#
        ),
        [
            "docker",
            "run",
            "-v",
            "$PWD/config:/etc/x:ro",
            "-e",
            "T=$(cat t.txt)",
            "a b",
            "c d"
        ]
    );
}

#[test]
fn key_paths_follow_indentation_and_list_items() {
    let keys = key_paths(
        "server:\n  listen: x # c\n  tls:\n    mode: none\ntenants:\n  - name: a\n    auth:\n      bearer: {}\n",
    );
    for key in [
        "server.listen",
        "server.tls.mode",
        "tenants.name",
        "tenants.auth.bearer",
    ] {
        assert!(keys.contains(key), "{key} in {keys:?}");
    }
    assert!(!keys.contains("server.mode"));
}
