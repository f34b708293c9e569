//! Shared test fixtures: an echoing fake engine, a stand-in authenticator, a test certificate,
//! and minimal HTTP clients (plain and TLS) built on hyper so each test controls the wire.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use scimgate::scim::ScimError;
use scimgate::server::{
    Authenticate, Operation, Rejection, ScimCall, ScimReply, ScimService, Server, ServerHandle,
    Tenant,
};
use scimgate::service::BoxFuture;
use scimgate::settings::{Limits, ServerSettings, TlsMode};
use tokio::net::TcpStream;

/// Echoes the `ScimCall` as JSON. Ids starting with `panic` panic, `sleep` sleep `delay`,
/// `fail` return a SCIM 409.
pub(super) struct Echo {
    pub(super) delay: Duration,
    pub(super) ready: AtomicBool,
    pub(super) started: AtomicUsize,
    /// Readiness probes answered.
    pub(super) probes: AtomicUsize,
}

impl Echo {
    pub(super) fn new() -> Arc<Self> {
        Self::sleeping(Duration::from_secs(2))
    }

    pub(super) fn sleeping(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            ready: AtomicBool::new(true),
            started: AtomicUsize::new(0),
            probes: AtomicUsize::new(0),
        })
    }
}

impl ScimService for Echo {
    fn call(&self, call: ScimCall) -> BoxFuture<'_, Result<ScimReply, ScimError>> {
        Box::pin(async move {
            self.started.fetch_add(1, Ordering::SeqCst);
            let id = call.id.clone().unwrap_or_default();
            if id.starts_with("panic") {
                panic!("the fake engine panics on purpose");
            }
            if id.starts_with("sleep") {
                tokio::time::sleep(self.delay).await;
            }
            if id.starts_with("fail") {
                return Err(ScimError::new(409, "conflict on purpose"));
            }
            let body = serde_json::to_value(&call).expect("call serialises");
            Ok(match call.operation {
                Operation::Create => ScimReply {
                    status: StatusCode::CREATED,
                    body: Some(body),
                    location: Some("https://scim.example.test/scim/v2/Users/new-id".to_owned()),
                },
                Operation::Delete => ScimReply {
                    status: StatusCode::NO_CONTENT,
                    body: None,
                    location: None,
                },
                _ => ScimReply {
                    status: StatusCode::OK,
                    body: Some(body),
                    location: None,
                },
            })
        })
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.probes.fetch_add(1, Ordering::SeqCst);
            if self.ready.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err("backend down".to_owned())
            }
        })
    }
}

/// Accepts exactly `Authorization: Bearer good`.
pub(super) struct GoodBearer;

impl Authenticate for GoodBearer {
    fn authenticate<'a>(
        &'a self,
        headers: &'a HeaderMap,
        _peer: Option<std::net::IpAddr>,
    ) -> BoxFuture<'a, Result<String, Rejection>> {
        Box::pin(async move {
            match headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
            {
                Some("Bearer good") => Ok("bearer#1".to_owned()),
                _ => Err(Rejection {
                    detail: "the token is not recognised".to_owned(),
                    reason: "invalid_token",
                    challenge: r#"Bearer realm="scimgate""#.to_owned(),
                    unavailable: false,
                    retry_after: None,
                }),
            }
        })
    }
}

pub(super) fn tenant(name: &str, base_path: &str, service: Arc<dyn ScimService>) -> Tenant {
    Tenant {
        name: name.to_owned(),
        base_path: base_path.to_owned(),
        enabled: true,
        auth: Arc::new(GoodBearer),
        service,
    }
}

pub(super) fn plain_settings(limits: Limits) -> ServerSettings {
    ServerSettings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        public_base_url: "https://scim.example.test".parse().expect("url"),
        tls: TlsMode::None,
        limits,
        shutdown_grace: Duration::from_secs(5),
        admin_listen: None,
    }
}

/// A plain-HTTP gateway with one default tenant in front of `service`.
pub(super) async fn start_plain(limits: Limits, service: Arc<dyn ScimService>) -> ServerHandle {
    start(
        plain_settings(limits),
        vec![tenant("default", "/scim/v2", service)],
    )
    .await
}

pub(super) async fn start(settings: ServerSettings, tenants: Vec<Tenant>) -> ServerHandle {
    Server::bind(&settings, tenants)
        .await
        .expect("server binds")
        .spawn()
}

/// A fresh directory under the system temp dir.
pub(super) fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scimgate-it-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes a fresh self-signed certificate for `localhost` into `dir`; returns its DER.
pub(super) fn write_cert(dir: &std::path::Path) -> CertificateDer<'static> {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    std::fs::write(dir.join("cert.pem"), generated.cert.pem()).expect("write cert");
    std::fs::write(dir.join("key.pem"), generated.signing_key.serialize_pem()).expect("write key");
    generated.cert.der().clone()
}

pub(super) fn tls_settings(dir: &std::path::Path, reload_interval: Duration) -> ServerSettings {
    ServerSettings {
        tls: TlsMode::Files {
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
            reload_interval,
        },
        ..plain_settings(Limits::default())
    }
}

/// A response, fully read.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) version: http::Version,
}

impl Reply {
    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error body with this status, served as `application/scim+json`.
    pub(super) fn assert_scim_error(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
        let body = self.json();
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(body["status"], status.to_string());
        body
    }
}

/// A request builder pre-filled with the good token.
pub(super) fn authed(method: &str, uri: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer good")
}

pub(super) fn empty(builder: http::request::Builder) -> Request<Full<Bytes>> {
    builder.body(Full::new(Bytes::new())).expect("request")
}

pub(super) fn with_body(builder: http::request::Builder, body: &str) -> Request<Full<Bytes>> {
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request")
}

/// Sends one HTTP/1.1 request over a new plain TCP connection.
pub(super) async fn send(addr: SocketAddr, mut request: Request<Full<Bytes>>) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    if !request.headers().contains_key("host") {
        request
            .headers_mut()
            .insert("host", "localhost".parse().expect("host"));
    }
    read(sender.send_request(request).await.expect("response")).await
}

async fn read(response: http::Response<hyper::body::Incoming>) -> Reply {
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
        version: parts.version,
    }
}

/// What a TLS client negotiated and the certificate it was shown.
pub(super) struct TlsOutcome {
    pub(super) version: rustls::ProtocolVersion,
    pub(super) alpn: Option<Vec<u8>>,
    pub(super) server_cert: CertificateDer<'static>,
    pub(super) reply: Reply,
}

/// Connects with TLS limited to `versions` and offering `alpn`, then sends `request` over
/// whichever protocol was negotiated.
pub(super) async fn send_tls(
    addr: SocketAddr,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
    request: Request<Full<Bytes>>,
) -> TlsOutcome {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let stream = connector.connect(name, tcp).await.expect("TLS handshake");
    let (_, session) = stream.get_ref();
    let version = session.protocol_version().expect("version");
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let server_cert = session.peer_certificates().expect("peer certs")[0]
        .clone()
        .into_owned();
    let io = TokioIo::new(stream);
    let response = if alpn.as_deref() == Some(b"h2") {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .expect("h2");
        tokio::spawn(connection);
        sender.send_request(request).await.expect("response")
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.expect("h1");
        tokio::spawn(connection);
        let mut request = request;
        request
            .headers_mut()
            .insert("host", "localhost".parse().expect("host"));
        sender.send_request(request).await.expect("response")
    };
    TlsOutcome {
        version,
        alpn,
        server_cert,
        reply: read(response).await,
    }
}

/// A TLS 1.3 connector offering `alpn` that accepts the test certificate.
pub(super) fn tls_connector(alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Accepts any certificate (the tests check which one was served), but still checks signatures.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
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
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
