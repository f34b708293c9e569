//! One `info` line per SCIM operation, with the call count and duration, and never a name,
//! email or credential in what the engine and the backend client log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use super::{entra_user, filter, fixture, id_of, patch_body};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut inner) = self.0.lock() {
            inner.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn one_line_per_operation_without_personal_data() -> Result<()> {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("scimgate::engine=debug,scimgate::backend=debug")
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fx = fixture().await?;
    let mut body = entra_user("Secret.Person@example.com", "ext-secret");
    body["name"] = json!({"givenName": "Secretgiven", "familyName": "Secretfamily"});
    let created = fx.engine.create("User", &body).await?;
    let id = id_of(&created)?;
    filter(&fx, "User", r#"userName eq "secret.person@example.com""#).await?;
    fx.engine
        .patch(
            "User",
            &id,
            &patch_body(
                &json!([{"op": "Replace", "path": "name.familyName", "value": "Otherfamily"}]),
            ),
        )
        .await?;
    let duplicate = fx.engine.create("User", &body).await;
    assert!(duplicate.is_err());

    let text = String::from_utf8(captured.0.lock().map(|b| b.clone()).unwrap_or_default())?;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("SCIM operation."))
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains("operation=\"create\"") || lines[0].contains("operation=create"));
    assert!(lines[0].contains("backend_calls=1"), "{}", lines[0]);
    assert!(lines[0].contains(&id), "{}", lines[0]);
    assert!(lines[0].contains("duration_ms="), "{}", lines[0]);
    assert!(lines[2].contains("backend_calls=2"), "{}", lines[2]);
    assert!(lines[3].contains("client error"), "{}", lines[3]);
    for secret in [
        "secret.person",
        "Secretgiven",
        "Secretfamily",
        "Otherfamily",
        "test-key",
        "ext-secret",
    ] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "`{secret}` leaked into the log:\n{text}"
        );
    }
    Ok(())
}
