//! `BackendClient`: sends one `BackendRequest` to the legacy REST API and classifies the
//! outcome.
//!
//! Owns the pooled HTTP client, per-call timeouts, the caller's deadline, retries (policy
//! in `retry.rs`), outbound auth (`auth.rs`) and the `tracing` span of each call. It never
//! logs the filled-in path, query values, headers or bodies, and never decides SCIM statuses.
//!
//! Calls go through hyper-util's pooled legacy client (HTTP/1.1, and HTTP/2 when a TLS backend
//! offers it by ALPN) with rustls (ring) and the platform's certificate verifier: the same
//! stack reqwest builds, without reqwest's per-request layers (redirect policy, URL re-parsing,
//! header merging), which cost ~40k instructions per call (callgrind, `docs/benchmarks.md`).
//! Redirects are never followed; no system proxy is used. The rare OAuth2 token requests
//! (`auth.rs`) use the same client through `fetch.rs`. [`BackendClient::attempt`] is the one
//! place where a backend call's HTTP exchange executes.

use crate::operation::BackendOp;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use super::auth::Authenticator;
use super::safe_url::BaseUrl;
use super::{BackendConfig, BackendRequest, BackendResponse, Error, message, retry};

/// Largest backend body the client reads; a bigger one is a `Decode` error.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Headers the client owns; a mapping may not set them.
const RESERVED_HEADERS: &[http::HeaderName] = &[
    http::header::HOST,
    http::header::CONTENT_LENGTH,
    http::header::TRANSFER_ENCODING,
    http::header::CONNECTION,
    http::header::UPGRADE,
    http::header::TE,
];

/// The pooled HTTP client of the hot path (and of the one-off exchanges in `fetch.rs`).
pub type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client for one backend; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct BackendClient {
    http: HttpClient,
    user_agent: HeaderValue,
    base: BaseUrl,
    auth: Authenticator,
    call_timeout: Duration,
    max_retries: u32,
    calls: Arc<AtomicU64>,
}

/// What one HTTP exchange produced.
enum Attempt {
    /// The backend answered (any status) and the whole body was read.
    Answered {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// No connection: the request was certainly not sent.
    ConnectFailed(String),
    /// The connection failed after the request may have been sent (reset, body read).
    Broken(String),
    /// The body was larger than the client reads.
    TooLarge,
    /// The per-call timeout passed (the deadline had not).
    CallTimeout,
    /// The caller's deadline passed.
    DeadlineTimeout,
}

impl BackendClient {
    /// Builds the client; refuses a configuration it cannot use.
    pub fn new(config: BackendConfig) -> Result<Self, Error> {
        // ring is the house choice (the TLS configs here name it; this covers other users).
        // `install_default` fails only when a provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base =
            BaseUrl::new(config.base_url).map_err(|reason| Error::InvalidConfig { reason })?;
        let user_agent =
            HeaderValue::from_str(&config.user_agent).map_err(|_| Error::InvalidConfig {
                reason: "user agent is not a valid header value".to_owned(),
            })?;
        let http = http_client(config.connect_timeout)?;
        // Token requests (OAuth2) share the pool: rare, off the hot path.
        let auth = Authenticator::new(
            &config.auth,
            http.clone(),
            user_agent.clone(),
            config.call_timeout,
        )?;
        Ok(Self {
            http,
            user_agent,
            base,
            auth,
            call_timeout: config.call_timeout,
            max_retries: config.max_retries,
            calls: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many HTTP attempts this client has made to the backend: retries included (also
    /// those that could not connect), token requests and refused unsafe requests excluded.
    pub fn calls_made(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Sends `request`, retrying within `deadline` as the retry policy allows.
    ///
    /// Returns the 2xx answer, or an [`Error`] that says what happened; an unsafe path or
    /// header is refused before anything is sent.
    pub async fn call(
        &self,
        request: BackendRequest,
        deadline: Instant,
    ) -> Result<BackendResponse, Error> {
        let span = tracing::info_span!(
            "backend.call",
            operation = %request.operation,
            method = %request.method,
            path_template = %request.path_template,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self
            .call_with_retries(&request, deadline)
            .instrument(span.clone())
            .await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        crate::metrics::backend_call(
            request.operation,
            result.as_ref().map_or_else(
                |error| error.status().map(|status| status.as_u16()),
                |response| Some(response.status.as_u16()),
            ),
            started.elapsed(),
        );
        let _entered = span.enter();
        match &result {
            Ok(response) => {
                span.record("status", response.status.as_u16());
                tracing::debug!("Backend call succeeded.");
            }
            Err(error) => {
                if let Some(status) = error.status() {
                    span.record("status", status.as_u16());
                }
                // A 4xx answer is usually the request's fault (unknown id, duplicate, invalid
                // value): not an operational problem. Everything else is the backend's.
                if error
                    .status()
                    .is_some_and(|status| status.is_client_error())
                {
                    tracing::info!(error = %error, "Backend call refused.");
                } else {
                    tracing::warn!(error = %error, "Backend call failed.");
                }
            }
        }
        result
    }

    async fn call_with_retries(
        &self,
        request: &BackendRequest,
        deadline: Instant,
    ) -> Result<BackendResponse, Error> {
        let operation = request.operation;
        let url = self
            .base
            .join(&request.path_and_query)
            .map_err(|reason| Error::UnsafePath {
                operation,
                path_template: request.path_template.clone(),
                reason: reason.to_owned(),
            })?;
        let headers = checked_headers(request)?;
        let body = match &request.body {
            Some(value) => Some(Bytes::from(serde_json::to_vec(value).map_err(|error| {
                Error::Decode {
                    operation,
                    reason: error.to_string(),
                }
            })?)),
            None => None,
        };
        let idempotent = retry::is_idempotent(&request.method);
        let timeout = || Error::Timeout { operation };
        let mut retries = 0u32;
        let mut reauthenticated = false;
        for attempt in 1u32.. {
            if Instant::now() >= deadline {
                return Err(timeout());
            }
            let credential = if request.own_credential {
                None
            } else {
                self.auth.header(deadline).await?
            };
            let started = Instant::now();
            let outcome = self
                .attempt(
                    request,
                    &url,
                    &headers,
                    body.clone(),
                    credential.as_ref(),
                    deadline,
                )
                .await;
            let latency_ms = started.elapsed().as_millis() as u64;
            tracing::Span::current().record("attempts", attempt);

            // Decide: return, or wait `wait` and go again.
            let (error, wait) = match outcome {
                Attempt::Answered {
                    status,
                    headers,
                    body,
                } => {
                    tracing::debug!(
                        attempt,
                        status = status.as_u16(),
                        latency_ms,
                        "Backend answered."
                    );
                    if status.is_success() {
                        return decode_success(operation, status, headers, &body);
                    }
                    if status == StatusCode::UNAUTHORIZED
                        && !reauthenticated
                        && !request.own_credential
                    {
                        let used = credential.as_ref().map(|(_, value)| value);
                        if self.auth.refused(used).await {
                            reauthenticated = true;
                            continue;
                        }
                    }
                    let error = status_error(operation, status, &headers, &body);
                    if !retry::retry_status(&request.method, status) {
                        return Err(error);
                    }
                    let wait = error.retry_after();
                    (error, wait)
                }
                Attempt::ConnectFailed(reason) => {
                    tracing::debug!(attempt, latency_ms, reason = %reason, "Backend unreachable.");
                    (Error::Unavailable { operation, reason }, None)
                }
                Attempt::Broken(reason) => {
                    tracing::debug!(attempt, latency_ms, reason = %reason, "Backend connection failed.");
                    let error = Error::Unavailable { operation, reason };
                    if !idempotent {
                        return Err(error);
                    }
                    (error, None)
                }
                Attempt::TooLarge => {
                    return Err(Error::Decode {
                        operation,
                        reason: format!("body larger than {MAX_BODY_BYTES} bytes"),
                    });
                }
                Attempt::CallTimeout => {
                    tracing::debug!(attempt, latency_ms, "Backend call timed out.");
                    if !idempotent {
                        return Err(timeout());
                    }
                    (timeout(), None)
                }
                Attempt::DeadlineTimeout => return Err(timeout()),
            };
            if retries >= self.max_retries {
                return Err(error);
            }
            retries += 1;
            let wait = wait.unwrap_or_else(|| retry::backoff(retries));
            if Instant::now()
                .checked_add(wait)
                .is_none_or(|end| end >= deadline)
            {
                // Waiting would pass the deadline: give the caller the facts now.
                return Err(error);
            }
            tokio::time::sleep(wait).await;
        }
        Err(timeout())
    }

    /// One HTTP exchange, bounded by the per-call timeout and the deadline.
    async fn attempt(
        &self,
        request: &BackendRequest,
        url: &Url,
        headers: &HeaderMap,
        body: Option<Bytes>,
        credential: Option<&(http::HeaderName, HeaderValue)>,
        deadline: Instant,
    ) -> Attempt {
        let limit = Instant::now()
            .checked_add(self.call_timeout)
            .map_or(deadline, |call_limit| call_limit.min(deadline));
        let mut headers = headers.clone();
        if let Some((name, value)) = credential {
            // `insert`, not `append`: the configured credential replaces any the mapping set.
            headers.insert(name.clone(), value.clone());
        }
        if !headers.contains_key(http::header::USER_AGENT) {
            headers.insert(http::header::USER_AGENT, self.user_agent.clone());
        }
        let body = match body {
            Some(body) => {
                if !headers.contains_key(http::header::CONTENT_TYPE) {
                    headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
                body
            }
            None => Bytes::new(),
        };
        let uri = match http::Uri::try_from(url.as_str()) {
            Ok(uri) => uri,
            // `BaseUrl::join` only yields valid URLs; nothing was sent.
            Err(error) => return Attempt::ConnectFailed(message::sanitise(&error.to_string())),
        };
        let mut outgoing = http::Request::new(Full::new(body));
        *outgoing.method_mut() = request.method.clone();
        *outgoing.uri_mut() = uri;
        *outgoing.headers_mut() = headers;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            let response = match self.http.request(outgoing).await {
                Ok(response) => response,
                Err(error) if error.is_connect() => {
                    return Attempt::ConnectFailed(describe_error(&error));
                }
                Err(error) => return Attempt::Broken(describe_error(&error)),
            };
            let (parts, mut incoming) = response.into_parts();
            let mut body = Vec::new();
            while let Some(frame) = incoming.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Ok(chunk) = frame.into_data() {
                            if body.len() + chunk.len() > MAX_BODY_BYTES {
                                return Attempt::TooLarge;
                            }
                            body.extend_from_slice(&chunk);
                        }
                    }
                    Err(error) => return Attempt::Broken(describe_error(&error)),
                }
            }
            Attempt::Answered {
                status: parts.status,
                headers: parts.headers,
                body: Bytes::from(body),
            }
        };
        match tokio::time::timeout_at(limit, exchange).await {
            Ok(attempt) => attempt,
            Err(_) if limit >= deadline => Attempt::DeadlineTimeout,
            Err(_) => Attempt::CallTimeout,
        }
    }
}

/// The request's extra headers, refusing CR/LF and headers the client owns.
pub(super) fn checked_headers(request: &BackendRequest) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    for (name, value) in &request.headers {
        let refuse = |reason: &str| Error::UnsafeHeader {
            operation: request.operation,
            name: name.as_str().to_owned(),
            reason: reason.to_owned(),
        };
        if value
            .as_bytes()
            .iter()
            .any(|b| matches!(b, b'\r' | b'\n' | 0))
        {
            return Err(refuse("value contains CR, LF or NUL"));
        }
        if RESERVED_HEADERS.contains(name) {
            return Err(refuse("the client sets this header itself"));
        }
        map.append(name.clone(), value.clone());
    }
    if !map.contains_key(http::header::ACCEPT) {
        map.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
    }
    Ok(map)
}

/// An answer as the client takes it: a 2xx decoded, anything else a status error.
pub(crate) fn read_answer(
    operation: BackendOp,
    status: StatusCode,
    headers: HeaderMap,
    body: &[u8],
) -> Result<BackendResponse, Error> {
    if status.is_success() {
        decode_success(operation, status, headers, body)
    } else {
        Err(status_error(operation, status, &headers, body))
    }
}

/// A 2xx answer: JSON body, or `None` when empty.
pub(super) fn decode_success(
    operation: BackendOp,
    status: StatusCode,
    headers: HeaderMap,
    body: &[u8],
) -> Result<BackendResponse, Error> {
    let body = if status == StatusCode::NO_CONTENT || body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(
            serde_json::from_slice::<Value>(body).map_err(|error| Error::Decode {
                operation,
                reason: format!("not JSON: {error}"),
            })?,
        )
    };
    Ok(BackendResponse {
        status,
        headers,
        body,
    })
}

/// A non-2xx answer as an error carrying the backend's message.
pub(super) fn status_error(
    operation: BackendOp,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let fallback = status.canonical_reason().unwrap_or("no message");
    let message = message::extract(json.as_ref(), body, fallback);
    // The answer text may quote what was sent (an email, a token): debug only.
    tracing::debug!(
        operation = %operation,
        status = status.as_u16(),
        answer = message,
        "Backend error answer."
    );
    Error::Status {
        operation,
        status,
        message,
        body: json,
        retry_after: retry::retry_after(headers),
    }
}

/// The pooled client: connect timeout, TCP_NODELAY, 60 s idle connections, rustls (ring) with
/// the platform verifier and ALPN `h2`/`http/1.1`, as reqwest configured it before.
pub(crate) fn http_client(connect_timeout: Duration) -> Result<HttpClient, Error> {
    let invalid = |reason: String| Error::InvalidConfig { reason };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|error| invalid(format!("TLS verifier: {error}")))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid(format!("TLS versions: {error}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(client_with(tls, connect_timeout))
}

/// The pooled client over `tls` (see [`http_client`]).
pub(crate) fn client_with(tls: rustls::ClientConfig, connect_timeout: Duration) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.enforce_http(false);
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .timer(hyper_util::rt::TokioTimer::new())
        .build(https)
}

/// A client error as text: its message and its sources (hyper-util errors carry no URL).
fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    message::sanitise(&text)
}
