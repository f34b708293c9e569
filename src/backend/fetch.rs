//! One-off HTTP exchanges off the hot path, over the same hyper-util client stack the backend
//! calls use (rustls with ring, the platform verifier): the OAuth2 token request, the Entra
//! JWKS fetch and the `healthcheck` command. One HTTP client stack in the binary (issue 16:
//! reqwest was a second one, kept for these alone).
//!
//! No redirect is followed and no proxy is used. The body read is capped; the caller says how
//! long the whole exchange may take.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

pub use super::client::HttpClient;
use super::client::client_with;

/// A complete answer: status and body.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body, at most the `max_body` asked for.
    pub body: Bytes,
    /// The body was longer than `max_body` (and is cut there).
    pub truncated: bool,
}

/// A client for one-off exchanges: TCP and TLS connect within `connect_timeout`, server
/// certificates verified by the platform verifier.
pub fn client(connect_timeout: Duration) -> Result<HttpClient, super::Error> {
    super::client::http_client(connect_timeout)
}

/// A client that accepts any server certificate: only for `healthcheck`, whose target is this
/// very process on loopback (its certificate may name the public host, or be self-signed).
pub fn unverified_client(connect_timeout: Duration) -> Result<HttpClient, super::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| super::Error::InvalidConfig {
            reason: format!("TLS versions: {error}"),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Ok(client_with(tls, connect_timeout))
}

/// Sends `request` and reads the answer (at most `max_body` bytes of body) within `timeout`.
/// The error is text without the URL (the caller knows which URL it asked).
pub async fn exchange(
    client: &HttpClient,
    request: Request<Full<Bytes>>,
    max_body: usize,
    timeout: Duration,
) -> Result<Answer, String> {
    let work = async {
        let response = client
            .request(request)
            .await
            .map_err(|error| chain(&error))?;
        let status = response.status();
        let mut body = response.into_body();
        let mut read = Vec::new();
        let mut truncated = false;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| chain(&error))?;
            if let Ok(data) = frame.into_data() {
                read.extend_from_slice(&data);
                if read.len() > max_body {
                    read.truncate(max_body);
                    truncated = true;
                    break;
                }
            }
        }
        Ok(Answer {
            status,
            body: Bytes::from(read),
            truncated,
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("no complete answer within {} ms", timeout.as_millis()))?
}

/// An error and its causes on one line (hyper-util puts the useful part in `source()`).
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    super::message::sanitise(&text)
}

/// Accepts any certificate; signatures are still checked, so the handshake is a real one.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
