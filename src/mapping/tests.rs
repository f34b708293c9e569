//! Tests of the whole module: the shipped mappings, the broken-file fixtures, the JSON Schema.

use super::*;
use serde_json::json;
use std::path::Path;

/// Test environment: secrets are set, everything else uses the file's defaults.
fn test_env(name: &str) -> Option<String> {
    let secret = ["KEY", "TOKEN", "SECRET", "PASSWORD"]
        .iter()
        .any(|s| name.contains(s));
    secret.then(|| "test-secret".to_owned())
}

fn mappings_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings")
}

fn demo() -> Mapping {
    let text = std::fs::read_to_string(mappings_dir().join("demo.yaml")).unwrap();
    match load("mappings/demo.yaml", &text, &test_env) {
        Ok(m) => m,
        Err(p) => panic!("{}", p.render()),
    }
}

#[test]
fn every_shipped_mapping_loads_and_its_tests_pass() {
    let mut count = 0;
    for entry in std::fs::read_dir(mappings_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let name = format!("mappings/{}", path.file_name().unwrap().to_string_lossy());
        let mapping = load(&name, &text, &test_env).unwrap_or_else(|p| panic!("{}", p.render()));
        let outcomes = run_tests(&mapping);
        assert!(!outcomes.is_empty(), "{name} has no tests");
        let failed: Vec<String> = outcomes
            .iter()
            .filter(|o| !o.passed)
            .map(|o| format!("{name}: {}: {}", o.name, o.detail))
            .collect();
        assert!(failed.is_empty(), "{}", failed.join("\n"));
        count += 1;
    }
    assert!(count >= 1);
}

/// Environment for the fixtures: `API_TOKEN` is set, nothing else.
fn fixture_env(name: &str) -> Option<String> {
    (name == "API_TOKEN").then(|| "t0ken".to_owned())
}

/// Every broken mapping in `tests/fixtures/invalid/` prints exactly its `.expected` text.
/// To accept new output after a deliberate change: `SCIMGATE_BLESS=1 cargo test --lib mapping::`.
#[test]
fn broken_mapping_fixtures_print_their_expected_problems() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let bless = std::env::var_os("SCIMGATE_BLESS").is_some();
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let problems = match load(&format!("{stem}.yaml"), &text, &fixture_env) {
            Ok(_) => panic!("{stem}.yaml loaded without problems"),
            Err(p) => p.render(),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &problems).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != problems {
            failures.push(format!(
                "{stem}.yaml\n--- expected\n{expected}--- got\n{problems}"
            ));
        }
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `mappings/scimgate-mapping.schema.json` is exactly what `json_schema()` prints.
/// Regenerate it with `SCIMGATE_BLESS=1 cargo test --lib mapping::` (or `scimgate schema >
/// mappings/scimgate-mapping.schema.json`).
#[test]
fn published_json_schema_is_in_sync() {
    let path = mappings_dir().join("scimgate-mapping.schema.json");
    let want = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var_os("SCIMGATE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "mappings/scimgate-mapping.schema.json is out of date; regenerate it with \
         `SCIMGATE_BLESS=1 cargo test --lib mapping::` or `scimgate schema > mappings/scimgate-mapping.schema.json`"
    );
}

#[test]
fn json_schema_documents_the_format_for_operators() {
    let schema = json_schema();
    let text = schema.to_string();
    assert_eq!(schema["title"], "MappingFile");
    for needle in [
        "Who mints the SCIM `id`",
        "add_replaces",
        "JSONPath of the backend field",
        "next_cursor",
    ] {
        assert!(text.contains(needle), "schema lacks {needle}");
    }
}
