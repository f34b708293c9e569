//! Settings: layering (file, then environment) and the list of every problem.

use std::time::Duration;

use scimgate::settings::{Error, LogFormat, Settings, TlsMode};

const MINIMAL: &str = r#"
server:
  public_base_url: https://scim.example.com
  tls: { mode: none }
tenants:
  - name: acme
    mapping: mappings/demo.yaml
"#;

fn env(pairs: &[(&str, &str)]) -> Option<config::Map<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

#[test]
fn defaults_fill_everything_not_written() {
    let settings = Settings::load_with(None, Some(MINIMAL), env(&[])).expect("valid");
    assert_eq!(
        settings.server.listen,
        "0.0.0.0:8443".parse().expect("addr")
    );
    assert_eq!(settings.server.tls, TlsMode::None);
    assert_eq!(settings.server.limits.max_body_bytes, 1024 * 1024);
    assert_eq!(settings.server.limits.max_concurrency, 256);
    assert_eq!(
        settings.server.limits.request_timeout,
        Duration::from_secs(55)
    );
    assert_eq!(settings.server.shutdown_grace, Duration::from_secs(20));
    assert_eq!(settings.backend.deadline, Duration::from_secs(50));
    assert_eq!(settings.log.format, LogFormat::Pretty);
    assert_eq!(settings.tenants[0].base_path, "/scim/v2");
    assert!(settings.tenants[0].enabled);
}

#[test]
fn environment_overrides_the_file() {
    let settings = Settings::load_with(
        None,
        Some(MINIMAL),
        env(&[
            ("SCIMGATE__SERVER__LISTEN", "127.0.0.1:9443"),
            ("SCIMGATE__SERVER__LIMITS__MAX_BODY_BYTES", "2048"),
            ("SCIMGATE__SERVER__LIMITS__REQUEST_TIMEOUT", "1m"),
            ("SCIMGATE__LOG__FORMAT", "json"),
            ("OTHER__LOG__FORMAT", "ignored"),
        ]),
    )
    .expect("valid");
    assert_eq!(
        settings.server.listen,
        "127.0.0.1:9443".parse().expect("addr")
    );
    assert_eq!(settings.server.limits.max_body_bytes, 2048);
    assert_eq!(
        settings.server.limits.request_timeout,
        Duration::from_secs(60)
    );
    assert_eq!(settings.log.format, LogFormat::Json);
}

#[test]
fn several_tenants_get_their_own_base_paths() {
    let yaml = r#"
server: { public_base_url: "https://scim.example.com", tls: { mode: none } }
tenants:
  - { name: acme, mapping: a.yaml }
  - { name: beta, mapping: b.yaml, enabled: false }
"#;
    let settings = Settings::load_with(None, Some(yaml), env(&[])).expect("valid");
    assert_eq!(settings.tenants[0].base_path, "/acme/scim/v2");
    assert_eq!(settings.tenants[1].base_path, "/beta/scim/v2");
    assert!(!settings.tenants[1].enabled);
}

#[test]
fn every_problem_is_listed_with_its_key() {
    let yaml = r#"
server:
  listen: "localhost"
  public_base_url: "ftp://x"
  tls: { mode: files, cert_file: /nonexistent/cert.pem }
  limits: { max_concurrency: 0, request_timeout: "soon", header_read_timeout: "10s" }
  shutdown_grace: "20"
log: { format: xml, level: "info,=[" }
backend: { deadline: 50s }
tenants:
  - { name: "bad name", mapping: a.yaml }
  - { name: ok, base_path: "/x/scim/v2", mapping: "" }
  - { name: ok, base_path: "/X/scim/v2//", mapping: c.yaml }
"#;
    let Err(Error::Invalid(problems)) = Settings::load_with(None, Some(yaml), env(&[])) else {
        panic!("expected validation problems");
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for expected in [
        "server.listen",
        "server.public_base_url",
        "server.tls.cert_file",
        "server.tls.key_file",
        "server.limits.max_concurrency",
        "server.limits.request_timeout",
        "server.shutdown_grace",
        "log.format",
        "log.level",
        "tenants[0].name",
        "tenants[1].mapping",
        "tenants[2].name",
        "tenants[2].base_path",
    ] {
        assert!(
            keys.contains(&expected),
            "{expected} missing from {problems:#?}"
        );
    }
    let text = Error::Invalid(problems).to_string();
    assert!(
        text.contains("  log.format: `xml` is not a format (pretty|json)\n"),
        "{text}"
    );
}

#[test]
fn a_request_timeout_shorter_than_the_backend_deadline_is_refused() {
    let Err(Error::Invalid(problems)) = Settings::load_with(
        None,
        Some(MINIMAL),
        env(&[("SCIMGATE__SERVER__LIMITS__REQUEST_TIMEOUT", "10s")]),
    ) else {
        panic!("expected a problem");
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "server.limits.request_timeout");
}

#[test]
fn unknown_keys_and_wrong_types_are_refused() {
    let typo = format!("{MINIMAL}\nservr: {{}}\n");
    let error = Settings::load_with(None, Some(&typo), env(&[])).expect_err("unknown key");
    assert!(error.to_string().contains("servr"), "{error}");
    let wrong = Settings::load_with(
        None,
        Some(MINIMAL),
        env(&[("SCIMGATE__SERVER__LIMITS__MAX_BODY_BYTES", "lots")]),
    )
    .expect_err("wrong type");
    assert!(error_mentions(&wrong, "max_body_bytes"), "{wrong}");
}

fn error_mentions(error: &Error, what: &str) -> bool {
    error.to_string().contains(what)
}

#[test]
fn a_tenant_without_credentials_is_refused_when_built_naming_the_tenant() {
    let settings = Settings::load_with(None, Some(MINIMAL), env(&[])).expect("valid");
    let service: std::sync::Arc<dyn scimgate::server::ScimService> = std::sync::Arc::new(NoEngine);
    let Err(problems) = scimgate::server::Tenant::from_settings(&settings.tenants[0], service)
    else {
        panic!("a tenant without auth must not build");
    };
    assert!(problems[0].starts_with("tenants.acme.auth"), "{problems:?}");
}

struct NoEngine;

impl scimgate::server::ScimService for NoEngine {
    fn call(
        &self,
        _call: scimgate::server::ScimCall,
    ) -> scimgate::service::BoxFuture<
        '_,
        Result<scimgate::server::ScimReply, scimgate::scim::ScimError>,
    > {
        Box::pin(async { Err(scimgate::scim::ScimError::new(500, "no engine")) })
    }

    fn ready(&self) -> scimgate::service::BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

#[test]
fn shipped_settings_load_and_resolve_mappings_relative_to_the_file() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/scimgate.yaml");
    let settings =
        Settings::load_with(Some(&file), None, env(&[])).expect("shipped settings valid");
    assert_eq!(settings.log.format, LogFormat::Json);
    let mapping = &settings.tenants[0].mapping;
    assert!(
        mapping.is_absolute(),
        "{} should be resolved",
        mapping.display()
    );
    assert!(mapping.exists(), "{} should exist", mapping.display());
    assert!(mapping.ends_with("config/../mappings/demo.yaml"));
}

#[test]
fn the_store_kind_and_the_postgres_url_come_from_file_or_environment() {
    use scimgate::settings::{SecretSource, StoreKind};
    let settings = Settings::load_with(None, Some(MINIMAL), env(&[])).expect("valid");
    assert_eq!(settings.store.kind, StoreKind::Sqlite);
    assert_eq!(settings.store.postgres_url, None);
    assert_eq!(settings.store.postgres_pool_size, 8);

    let url = "postgres://gate:Secr3t@db:5432/scim";
    let settings = Settings::load_with(
        None,
        Some(MINIMAL),
        env(&[
            ("SCIMGATE__STORE__KIND", "postgres"),
            ("SCIMGATE__STORE__POSTGRES_URL", url),
            ("SCIMGATE__STORE__POSTGRES_POOL_SIZE", "3"),
        ]),
    )
    .expect("valid");
    assert_eq!(settings.store.kind, StoreKind::Postgres);
    assert_eq!(
        settings.store.postgres_url,
        Some(SecretSource::Inline(url.to_owned()))
    );
    assert_eq!(settings.store.postgres_pool_size, 3);
    assert!(!format!("{settings:?}").contains("Secr3t"));

    let yaml = format!("{MINIMAL}store: {{ kind: postgres, postgres_url_from_env: PG_URL }}\n");
    let settings = Settings::load_with(None, Some(&yaml), env(&[])).expect("valid");
    assert_eq!(
        settings.store.postgres_url,
        Some(SecretSource::Env("PG_URL".to_owned()))
    );

    for (store, key) in [
        ("{ kind: postgres }", "store.postgres_url"),
        (
            "{ kind: postgres, postgres_url: \"postgres://db/x\", postgres_url_from_env: X }",
            "store.postgres_url",
        ),
        ("{ kind: mysql }", "store.kind"),
        ("{ postgres_pool_size: 0 }", "store.postgres_pool_size"),
    ] {
        let yaml = format!("{MINIMAL}store: {store}\n");
        let Err(Error::Invalid(problems)) = Settings::load_with(None, Some(&yaml), env(&[])) else {
            panic!("{store}: expected a problem");
        };
        assert_eq!(problems.len(), 1, "{store}: {problems:?}");
        assert_eq!(problems[0].key, key, "{store}");
    }
}
