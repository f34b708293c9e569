//! `scimgate connections …` against a settings file and an SQLite store on disk.

use std::process::Command;

use serde_json::Value;

fn scimgate(settings: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_scimgate"))
        .arg("connections")
        .args(args)
        .arg("--config")
        .arg(settings)
        .env_remove("SCIMGATE_CONFIG")
        .output()
        .expect("scimgate runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_cli_creates_lists_disables_rotates_and_deletes_connections() {
    let dir = std::env::temp_dir().join(format!("scimgate-conn-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mapping = std::env::current_dir()
        .expect("cwd")
        .join("mappings/demo-workspaces.yaml");
    let settings = dir.join("scimgate.yaml");
    std::fs::write(
        &settings,
        format!(
            "server:\n  listen: \"127.0.0.1:0\"\n  public_base_url: \"https://scim.example.com\"\n  \
             tls: {{ mode: none }}\nstore: {{ sqlite_path: {} }}\nconnections:\n  mappings:\n    \
             - {{ name: workspaces, mapping: {}, path: \"/ws/{{connection}}/scim/v2\" }}\n",
            dir.join("store.db").display(),
            mapping.display()
        ),
    )
    .expect("settings");

    let (ok, out, err) = scimgate(
        &settings,
        &[
            "create",
            "--id",
            "acme",
            "--var",
            "workspace_id=42",
            "--var",
            "idp=entra",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        created["scim_base_url"],
        "https://scim.example.com/ws/acme/scim/v2"
    );
    assert!(created["token"].as_str().is_some_and(|t| t.len() >= 32));

    let (ok, out, err) = scimgate(&settings, &["disable", "acme"]);
    assert!(ok, "{err}");
    assert!(out.contains("acme\tdisabled"), "{out}");
    let (ok, out, _) = scimgate(&settings, &["rotate", "acme", "--json"]);
    assert!(ok);
    let rotated: Value = serde_json::from_str(&out).expect("json");
    let (ok, out, _) = scimgate(&settings, &["show", "acme", "--json"]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(shown["enabled"], false);
    assert_eq!(shown["tokens"].as_array().map(Vec::len), Some(2));
    assert!(
        !out.contains(rotated["token"].as_str().expect("token")),
        "tokens are shown once"
    );

    let (ok, out, err) = scimgate(&settings, &["accept-product-keys", "acme"]);
    assert!(ok, "{err}");
    assert!(out.contains("now takes the product's API keys"), "{out}");
    let (ok, _, err) = scimgate(&settings, &["accept-product-keys", "acme"]);
    assert!(!ok);
    assert!(err.contains("already takes product keys"), "{err}");

    let (ok, _, err) = scimgate(&settings, &["create", "--var", "workspace_id=1"]);
    assert!(!ok);
    assert!(err.contains("variables.idp: missing"), "{err}");

    let (ok, out, _) = scimgate(&settings, &["list"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (ok, _, _) = scimgate(&settings, &["delete", "acme"]);
    assert!(ok);
    let (ok, _, err) = scimgate(&settings, &["show", "acme"]);
    assert!(!ok);
    assert!(err.contains("no connection `acme`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
