//! Issue 15: a PostgreSQL password never appears in what `scimgate check` and `scimgate serve`
//! print, whatever form the connection string takes (URL, URL query, `key=value` with any
//! spacing, quoted values, percent-encoding) and wherever it comes from (the settings file or
//! the `SCIMGATE__STORE__POSTGRES_URL` override). The database is a refused port, so every run
//! fails after parsing and prints where it tried to connect.

use std::path::Path;
use std::process::{Command, Stdio};

/// Connection strings for `port`, each with the password fragments that must never be shown.
fn forms(port: u16) -> Vec<(String, Vec<&'static str>)> {
    vec![
        (
            format!("postgres://gate:Url-S3cret@127.0.0.1:{port}/scim"),
            vec!["Url-S3cret"],
        ),
        (
            format!("postgresql://127.0.0.1:{port}/scim?user=gate&password=Query-S3cret"),
            vec!["Query-S3cret"],
        ),
        (
            format!("postgres://gate:Pct%40S3cret%20x@127.0.0.1:{port}/scim"),
            vec!["Pct%40S3cret", "Pct@S3cret", "S3cret"],
        ),
        (
            format!("host=127.0.0.1 port={port} user=gate password=Kv-S3cret dbname=scim"),
            vec!["Kv-S3cret"],
        ),
        (
            format!("host=127.0.0.1 port={port} user=gate password  =  Spaced-S3cret dbname=scim"),
            vec!["Spaced-S3cret"],
        ),
        (
            format!("host=127.0.0.1 port={port} password='Quoted S3cret words' user=gate"),
            vec!["Quoted", "S3cret words", "words"],
        ),
        (
            format!(r"password='it\'s Esc-S3cret' host=127.0.0.1 port={port} user=gate"),
            vec!["Esc-S3cret", "it\\'s", "it's"],
        ),
    ]
}

/// YAML single-quoted scalar.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn settings(dir: &Path, url: Option<&str>) -> std::path::PathBuf {
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/demo.yaml");
    let url_line = url.map_or_else(String::new, |url| {
        format!("  postgres_url: {}\n", quoted(url))
    });
    let text = format!(
        "server:\n  listen: 127.0.0.1:0\n  public_base_url: https://scim.example.com\n  \
         tls: {{ mode: none }}\nstore:\n  kind: postgres\n{url_line}tenants:\n  - name: acme\n    \
         mapping: {}\n    auth: {{ bearer: {{ token_hashes: [\"sha256:{}\"] }} }}\n",
        mapping.display(),
        "0".repeat(64)
    );
    let path = dir.join(if url.is_some() {
        "inline.yaml"
    } else {
        "env.yaml"
    });
    std::fs::write(&path, text).expect("settings written");
    path
}

/// Runs `scimgate ARGS`, returns exit success and everything printed.
fn run(args: &[&str], config: &Path, env_url: Option<&str>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scimgate"));
    command
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("SCIMGATE__STORE__POSTGRES_URL")
        .stdin(Stdio::null());
    if let Some(url) = env_url {
        command.env("SCIMGATE__STORE__POSTGRES_URL", url);
    }
    let output = command.output().expect("scimgate runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test]
async fn issue_15_no_connection_string_form_shows_its_password() {
    // A bound socket that does not listen: connecting is refused at once.
    let refused = tokio::net::TcpSocket::new_v4().expect("socket");
    refused
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let port = refused.local_addr().expect("addr").port();
    let dir = std::env::temp_dir().join(format!("scimgate-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let from_env = settings(&dir, None);
    for (url, secrets) in forms(port) {
        let inline = settings(&dir, Some(&url));
        let runs = [
            ("check", run(&["check"], &inline, None)),
            ("serve", run(&["serve"], &inline, None)),
            ("check (env)", run(&["check"], &from_env, Some(&url))),
            ("serve (env)", run(&["serve"], &from_env, Some(&url))),
        ];
        for (what, (succeeded, text)) in runs {
            assert!(
                !succeeded,
                "{what} with {url:?} must fail (refused port):\n{text}"
            );
            assert!(
                text.contains("127.0.0.1"),
                "{what} with {url:?} should say where it connected:\n{text}"
            );
            for secret in &secrets {
                assert!(
                    !text.contains(secret),
                    "{what} with {url:?} shows {secret:?}:\n{text}"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
