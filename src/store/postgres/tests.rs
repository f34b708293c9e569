//! PostgreSQL-only unit tests: TLS verification and URL redaction (no database needed).

use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{PostgresStore, redact};
use crate::store::Error;

/// `sslmode=require` speaks TLS (rustls) and verifies the server: a stand-in server that
/// accepts the SSLRequest and presents a self-signed certificate is refused.
#[tokio::test]
async fn sslmode_require_verifies_the_server_certificate() {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![generated.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).await.unwrap();
        // SSLRequest: length 8, code 80877103.
        assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
        socket.write_all(b"S").await.unwrap();
        acceptor.accept(socket).await.is_ok()
    });
    let url = format!("postgres://gate:Tls-Pa55@localhost:{port}/scim?sslmode=require");
    let error = PostgresStore::open(&url, 1).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Open { .. }), "{error:?}");
    assert!(text.contains("certificate"), "{text}");
    assert!(!text.contains("Tls-Pa55"), "{text}");
    assert!(!server.await.unwrap(), "the handshake must fail");
}

/// Issue 15: every form the driver accepts, each with the password it must never show.
#[test]
fn redact_never_shows_the_password_of_any_form() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "postgres://gate:s3cret@db.example.com:5432/scim?sslmode=require",
            &["s3cret"],
            "postgres://gate@db.example.com:5432/scim?sslmode=require",
        ),
        (
            "postgresql://db/scim?user=gate&password=s3cret",
            &["s3cret"],
            "postgres://gate@db:5432/scim?sslmode=prefer",
        ),
        (
            "postgres://gate:p%40ss%20w0rd@db/scim",
            &["p%40ss", "p@ss", "w0rd"],
            "postgres://gate@db:5432/scim?sslmode=prefer",
        ),
        (
            "postgres://gate:s3cret@h1:5432,h2:5433/scim",
            &["s3cret"],
            "postgres://gate@h1:5432,h2:5433/scim?sslmode=prefer",
        ),
        (
            "host=db user=gate password=s3cret dbname=scim",
            &["s3cret"],
            "postgres://gate@db/scim?sslmode=prefer",
        ),
        (
            "host=db user=gate password  =  s3cret dbname=scim",
            &["s3cret"],
            "postgres://gate@db/scim?sslmode=prefer",
        ),
        (
            "password='a b c' host=db user=gate",
            &["a b c", "b c"],
            "postgres://gate@db?sslmode=prefer",
        ),
        (
            r"host=db password='it\'s se cret' user=gate port=6432 sslmode=require",
            &["it", "se cret", "cret"],
            "postgres://gate@db:6432?sslmode=require",
        ),
        (
            "\thost=db\n password=\t s3cret user=gate",
            &["s3cret"],
            "postgres://gate@db?sslmode=prefer",
        ),
        // Not parsable: nothing of it is echoed.
        ("postgres://gate:s3cret@[::1/x", &["s3cret"], ""),
        ("host=db password='s3cret", &["s3cret"], ""),
        ("host=db password s3cret", &["s3cret", "s3"], ""),
    ];
    for (url, secrets, expected) in cases {
        let shown = redact(url);
        for secret in *secrets {
            assert!(!shown.contains(secret), "{url:?} shows {secret:?}: {shown}");
        }
        if expected.is_empty() {
            assert!(shown.starts_with("(unparsable"), "{url:?}: {shown}");
        } else {
            assert_eq!(&shown, expected, "{url:?}");
        }
    }
}
