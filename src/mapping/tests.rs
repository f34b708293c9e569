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
