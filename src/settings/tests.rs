//! Settings tests: loading, overrides, validation problems.

use super::*;

#[test]
fn durations_parse_units_and_sums_and_refuse_garbage() {
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("50s"), Some(Duration::from_secs(50)));
    assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
    for bad in ["", "50", "s", "5 parsecs", "-1s", "1.5s"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

const MINIMAL: &str = "server:\n  public_base_url: \"https://scim.example.com\"\n  tls:\n    \
                       mode: none\ntenants:\n  - name: t\n    mapping: m.yaml\n";

fn load(extra: &str) -> Result<Settings, Error> {
    Settings::load_with(
        None,
        Some(&format!("{MINIMAL}{extra}")),
        Some(config::Map::new()),
    )
}

#[test]
fn admin_listener_is_off_and_audit_on_by_default() {
    let settings = load("").expect("valid");
    assert_eq!(settings.server.admin_listen, None);
    assert!(settings.audit.enabled);
    assert_eq!(
        settings.audit.retention,
        Duration::from_secs(90 * 24 * 3600)
    );
}

#[test]
fn admin_listener_and_audit_keys_are_read_and_checked() {
    let settings = load("audit:\n  enabled: false\n  retention_days: 7\n").expect("valid");
    assert!(!settings.audit.enabled);
    assert_eq!(settings.audit.retention, Duration::from_secs(7 * 24 * 3600));
    let with_admin = Settings::load_with(
        None,
        Some(&MINIMAL.replace("server:\n", "server:\n  admin_listen: \"127.0.0.1:9090\"\n")),
        Some(config::Map::new()),
    )
    .expect("valid");
    assert_eq!(
        with_admin.server.admin_listen,
        Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
    );
    let Err(Error::Invalid(problems)) = Settings::load_with(
        None,
        Some(&format!(
            "{}audit:\n  retention_days: 0\n",
            MINIMAL.replace("server:\n", "server:\n  admin_listen: nowhere\n")
        )),
        Some(config::Map::new()),
    ) else {
        panic!("invalid settings accepted");
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["server.admin_listen", "audit.retention_days"]);
}
