//! Issue 18 item 3: version-1 mapping files keep working. `tests/fixtures/compat/` holds
//! `mappings/demo.yaml` and `mappings/redmine.yaml` frozen as they were at commit c18c944;
//! they must load and their `tests:` must pass with every later change. A failure here is a
//! compatibility break to fix in code (or a `version: 2` with `scimgate migrate`), never in the
//! fixtures.

use std::path::Path;

use anyhow::{Result, bail};
use scimgate::cases::run_tests;
use scimgate::mapping::load;

/// Stands in for secrets; everything else takes the file's `${NAME:-default}`.
fn env(name: &str) -> Option<String> {
    ["KEY", "TOKEN", "SECRET", "PASSWORD"]
        .iter()
        .any(|s| name.contains(s))
        .then(|| "compat-secret".to_owned())
}

fn check(file: &str, at_least: usize) -> Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compat")
        .join(file);
    let text = std::fs::read_to_string(&path)?;
    let mapping = match load(file, &text, &env) {
        Ok(mapping) => mapping,
        Err(problems) => bail!("the v1 file {file} no longer loads:\n{problems}"),
    };
    let outcomes = run_tests(&mapping);
    assert!(
        outcomes.len() >= at_least,
        "{file}: only {} tests ran",
        outcomes.len()
    );
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| format!("{}: {}", o.name, o.detail))
        .collect();
    if !failed.is_empty() {
        bail!("{file}: v1 tests fail:\n{}", failed.join("\n"));
    }
    Ok(())
}

#[test]
fn v1_demo_mapping_loads_and_its_tests_pass() -> Result<()> {
    check("demo.yaml", 32)
}

#[test]
fn v1_redmine_mapping_loads_and_its_tests_pass() -> Result<()> {
    check("redmine.yaml", 10)
}
