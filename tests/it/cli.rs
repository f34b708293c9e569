//! `scimgate check` and `scimgate serve` agree: every configuration `serve` refuses to start
//! with, `check` refuses too (exit 2, naming the problem), and a valid one passes both. Through
//! the real binary, as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The token variable the settings name; set for every run unless a case unsets it.
const TOKEN_VAR: &str = "SCIMGATE_CLI_TEST_TOKEN";
const TOKEN: &str = "cli-test-token-0123456789abcdefghij";

/// A small valid mapping; `backend` is its whole `backend:` section, `tests` its `tests:`.
fn mapping(backend: &str, tests: &str) -> String {
    format!(
        r#"version: 1
backend:
{backend}
users:
  id: "$.id"
  operations:
    create:  {{ method: POST,   path: /api/users }}
    get:     {{ method: GET,    path: "/api/users/{{id}}" }}
    list:    {{ method: GET,    path: /api/users, query: {{ offset: "{{offset}}", limit: "{{count}}" }}, items: "$.items[*]", total: "$.total" }}
    replace: {{ method: PUT,    path: "/api/users/{{id}}" }}
    delete:  {{ method: DELETE, path: "/api/users/{{id}}" }}
  attributes:
    userName:       "$.login"
    externalId:     {{ store: true }}
  filters:
    - {{ when: 'userName eq {{v}}', query: {{ login: "{{v}}" }} }}
tests:
  - name: userName goes to the login query
    filter:
      filter: 'userName eq "ann"'
      expect: {{ method: GET, path: "{tests}" }}
"#
    )
}

const GOOD_BACKEND: &str = "  base_url: \"http://127.0.0.1:9\"\n  \
                            auth: { api_key: { header: X-Api-Key, value: \"k-123\" } }";
/// What the engine sends for this filter: the rule is not `exact`, so the engine re-checks the
/// results and reads up to its cap (1,000) plus one in a page the mapping does not bound.
const GOOD_TEST_PATH: &str = "/api/users?limit=1001&offset=0&login=ann";

/// A temporary directory with `mapping.yaml` and `scimgate.yaml` (bearer token from
/// `token_var`, plain HTTP on a free loopback port, SQLite in the directory).
fn config(mapping_text: &str, token_var: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("scimgate-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mapping_file = dir.join("mapping.yaml");
    std::fs::write(&mapping_file, mapping_text).expect("write mapping");
    let settings = dir.join("scimgate.yaml");
    let yaml = format!(
        "server:\n  listen: \"127.0.0.1:0\"\n  public_base_url: \"https://scim.example.com\"\n  \
         tls: {{ mode: none }}\n  shutdown_grace: 1s\n\
         store: {{ sqlite_path: \"{}\" }}\n\
         log: {{ format: json, level: info }}\n\
         tenants:\n  - name: acme\n    mapping: mapping.yaml\n    \
         auth: {{ bearer: {{ tokens_from_env: [{token_var}] }} }}\n",
        dir.join("store.sqlite3").display(),
    );
    std::fs::write(&settings, yaml).expect("write settings");
    (dir, settings, mapping_file)
}

fn scimgate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scimgate"));
    command
        .env_remove("SCIMGATE_CONFIG")
        .env(TOKEN_VAR, TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn check(settings: &Path, mapping_file: &Path) -> Output {
    scimgate()
        .args(["check", "--config"])
        .arg(settings)
        .arg(mapping_file)
        .output()
        .expect("run scimgate check")
}

/// Runs `serve` until it exits, or for at most 10 s; `None` when it was still serving then
/// (it is killed).
fn serve(settings: &Path) -> Option<Output> {
    let mut child = scimgate()
        .args(["serve", "--config"])
        .arg(settings)
        .spawn()
        .expect("spawn scimgate serve");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `serve` refuses to start naming `needle`, and `check` refuses naming it too.
fn both_refuse(mapping_text: &str, token_var: &str, needle: &str) {
    let (dir, settings, mapping_file) = config(mapping_text, token_var);
    let served = serve(&settings).expect("serve started with a configuration it must refuse");
    let served_log = format!("{}{}", text(&served.stdout), text(&served.stderr));
    assert!(!served.status.success(), "serve exited 0: {served_log}");
    assert!(
        served_log.contains(needle),
        "serve's refusal does not name `{needle}`: {served_log}"
    );
    assert!(
        served_log.contains("Configuration refused; the gateway does not start."),
        "serve's log does not say it refused the configuration: {served_log}"
    );
    let checked = check(&settings, &mapping_file);
    let check_out = text(&checked.stdout);
    assert_eq!(
        checked.status.code(),
        Some(2),
        "check passed what serve refuses (`{needle}`): {check_out}{}",
        text(&checked.stderr)
    );
    assert!(
        check_out.contains(needle),
        "check does not name `{needle}`: {check_out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn with_backend(backend: &str) -> String {
    mapping(backend, GOOD_TEST_PATH)
}

#[test]
fn a_valid_configuration_passes_check_and_serve_starts() {
    let (dir, settings, mapping_file) = config(&with_backend(GOOD_BACKEND), TOKEN_VAR);
    let checked = check(&settings, &mapping_file);
    assert!(
        checked.status.success(),
        "{}{}",
        text(&checked.stdout),
        text(&checked.stderr)
    );
    assert!(text(&checked.stdout).contains("(1 tests passed)"));
    assert!(
        serve(&settings).is_none(),
        "serve did not keep running with a valid configuration"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unset_token_variable_is_refused_by_both() {
    both_refuse(
        &with_backend(GOOD_BACKEND),
        "SCIMGATE_CLI_TEST_UNSET_VARIABLE",
        "SCIMGATE_CLI_TEST_UNSET_VARIABLE",
    );
}

#[test]
fn credentials_inside_base_url_are_refused_by_both() {
    both_refuse(
        &with_backend("  base_url: \"http://admin:secret@127.0.0.1:9\""),
        TOKEN_VAR,
        "base_url must not hold credentials",
    );
}

#[test]
fn cr_lf_in_an_api_key_is_refused_by_both() {
    both_refuse(
        &with_backend(
            "  base_url: \"http://127.0.0.1:9\"\n  \
             auth: { api_key: { header: X-Api-Key, value: \"k-1\\r\\nX-Evil: 1\" } }",
        ),
        TOKEN_VAR,
        "credential is not valid header text",
    );
}

#[test]
fn a_token_url_that_is_not_http_or_https_is_refused_by_both() {
    both_refuse(
        &with_backend(
            "  base_url: \"https://api.example.com\"\n  \
             auth: { oauth2: { token_url: \"ftp://idp.example.com/token\", client_id: a, \
             client_secret: b } }",
        ),
        TOKEN_VAR,
        "token_url must be http or https",
    );
}

#[test]
fn an_invalid_header_name_is_refused_by_both() {
    both_refuse(
        &with_backend(
            "  base_url: \"http://127.0.0.1:9\"\n  \
             auth: { api_key: { header: \"X Api Key\", value: k-1 } }",
        ),
        TOKEN_VAR,
        "invalid API key header name",
    );
}

#[test]
fn a_mapping_whose_tests_fail_is_refused_at_start_as_at_reload() {
    both_refuse(
        &mapping(GOOD_BACKEND, "/api/users?login=somebody-else"),
        TOKEN_VAR,
        "test `userName goes to the login query` failed",
    );
}
