//! The tower stack around the router, ordered in this one file.
//!
//! Outermost first; each layer says why it sits where it does (linkerd's
//! `inbound/src/http/server.rs` is the model). Layers fail with boxed errors; [`Rescue`] is
//! the single edge where those become SCIM error responses (see [`super::respond`]). This
//! module owns no routing and no authentication: the gate (`gate.rs`) authenticates on the
//! headers through the router, which is the innermost service.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::Request;
use http::header::{self, HeaderName, HeaderValue};
use http_body_util::BodyExt;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder};
use tracing::Instrument;

use super::gate::{AnonymousBudget, DiscardBody, Gate};
use super::handlers::Router;
use super::respond::{self, BoxError, Error, Response};
use crate::service::BoxFuture;
use crate::settings::Limits;

/// The header that carries the request id in and out.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id chosen for one request, stored in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The whole stack as one cloneable service; hyper calls one clone per request.
pub type Stack<B> = BoxCloneSyncService<Request<B>, Response, Infallible>;

/// Builds the stack in front of `router`.
pub fn build<B>(limits: &Limits, router: Router) -> Stack<B>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // The authenticated path, below the gate:
    let authenticated = BoxCloneSyncService::new(
        ServiceBuilder::new()
            // 8. Load shedding directly over the concurrency limit: when every slot is taken the
            //    limit reports "not ready" and this layer answers 503 + Retry-After at once
            //    instead of queueing (Entra retries 503s). Only authenticated requests count.
            .load_shed()
            .concurrency_limit(limits.max_concurrency)
            // 9. The overall deadline starts once a slot is held, so waiting is never counted,
            //    and covers reading the body.
            .timeout(limits.request_timeout)
            // 10. Body limit innermost before the router: reject by Content-Length, then while
            //     reading, within body_read_timeout, so the router only ever sees a complete,
            //     bounded body.
            .layer_fn({
                let (max, timeout) = (limits.max_body_bytes, limits.body_read_timeout);
                move |inner| BodyLimit {
                    inner,
                    max,
                    timeout,
                }
            })
            // 11. The router: tenant, SCIM handlers (authentication already done).
            .service(router.clone()),
    );
    // The anonymous path: health probes and unknown paths, without reading any body.
    let anonymous = BoxCloneSyncService::new(
        ServiceBuilder::new()
            .timeout(limits.request_timeout)
            .layer_fn(|inner| DiscardBody { inner })
            .service(router.clone()),
    );
    let stack = ServiceBuilder::new()
        // 1. Mark credentials sensitive before anything else can see, and so log, them:
        //    `HeaderValue`'s Debug then prints `Sensitive`.
        .layer_fn(|inner| SensitiveHeaders { inner })
        // 2. Request id next, so the trace span and every error body below can name it, and it
        //    is echoed even on responses the layers below produce themselves.
        .layer_fn(|inner| AssignRequestId { inner })
        // 3. One span per request, outside the rescue edge so it records the final status and
        //    the latency of every response, including rejected ones.
        .layer_fn(|inner| Trace { inner })
        // 4. The one edge: every boxed error from below (ours, timeout, load shed, panic)
        //    becomes a SCIM error response here. Nothing above it can fail.
        .layer_fn(|inner| Rescue {
            inner,
            broken: false,
        })
        // 5. Panics anywhere below become a SCIM 500 rather than a reset connection.
        .layer_fn(|inner| CatchPanic { inner })
        // 6. Header and URI limits are cheap checks on what is already read: run them before
        //    authentication and before a request takes any slot.
        .layer_fn({
            let (max_header_bytes, max_uri_bytes) = (limits.max_header_bytes, limits.max_uri_bytes);
            move |inner| HeaderLimits {
                inner,
                max_header_bytes,
                max_uri_bytes,
            }
        })
        // 7. The gate: authentication on the headers alone, before any body byte is read. A
        //    refusal is answered here; anonymous endpoints take the small anonymous budget
        //    (total and per peer) and never read a body; only authenticated requests go on.
        .service(Gate {
            router,
            budget: Arc::new(AnonymousBudget::new(
                limits.anonymous_concurrency,
                limits.anonymous_per_peer,
            )),
            authenticated,
            anonymous,
        });
    BoxCloneSyncService::new(stack)
}

/// Marks `Authorization`, `Proxy-Authorization` and `Cookie` values sensitive.
#[derive(Clone)]
struct SensitiveHeaders<S> {
    inner: S,
}

impl<S: Service<Request<B>>, B> Service<Request<B>> for SensitiveHeaders<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        for (name, value) in request.headers_mut().iter_mut() {
            if name == header::AUTHORIZATION
                || name == header::PROXY_AUTHORIZATION
                || name == header::COOKIE
            {
                value.set_sensitive(true);
            }
        }
        self.inner.call(request)
    }
}

/// Takes a sane `x-request-id` or makes one, stores it as [`RequestId`] and echoes it.
#[derive(Clone)]
struct AssignRequestId<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for AssignRequestId<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let id = request
            .headers()
            .get(X_REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .filter(|id| is_sane_request_id(id))
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        request.extensions_mut().insert(RequestId(id.clone()));
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(X_REQUEST_ID, value);
            }
            Ok(response)
        })
    }
}

/// A client's request id is kept if it is short and made of safe characters, so it cannot
/// forge log lines or grow without bound.
fn is_sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn request_id_of<B>(request: &Request<B>) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default()
}

/// One `request` span: method, path (never the query or body), request id, and, once known,
/// tenant, credential name, SCIM resource, operation and id, status, `scimType`, backend calls
/// made and latency. Its one "Request finished" line is the log line of a SCIM operation.
#[derive(Clone)]
struct Trace<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Trace<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = request.uri().path(),
            request_id = request_id_of(&request),
            tenant = tracing::field::Empty,
            credential = tracing::field::Empty,
            resource = tracing::field::Empty,
            operation = tracing::field::Empty,
            scim_id = tracing::field::Empty,
            status = tracing::field::Empty,
            scim_type = tracing::field::Empty,
            backend_calls = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let start = Instant::now();
        let future = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = future.await;
                let span = tracing::Span::current();
                span.record(
                    "latency_ms",
                    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                );
                if let Ok(response) = &result {
                    span.record("status", response.status().as_u16());
                }
                tracing::info!("Request finished");
                result
            }
            .instrument(span),
        )
    }
}

/// Converts every boxed error from below into a SCIM error response ([`respond::rescue`]).
#[derive(Clone)]
struct Rescue<S> {
    inner: S,
    /// The inner service failed to become ready; every call is answered with a 500.
    broken: bool,
}

impl<S, B> Service<Request<B>> for Rescue<S>
where
    S: Service<Request<B>, Response = Response, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // An inner service that fails to become ready is answered per request, in `call`.
        // (Below is load shedding over a concurrency limit, which is always ready: this is a
        // safety net, not a path taken.)
        match self.inner.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                if let Err(error) = result {
                    tracing::error!(%error, "Request stack not ready");
                    self.broken = true;
                }
                Poll::Ready(Ok(()))
            }
        }
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let request_id = request_id_of(&request);
        if self.broken {
            let error: BoxError = "request stack not ready".into();
            return Box::pin(std::future::ready(Ok(respond::rescue(&error, &request_id))));
        }
        let future = self.inner.call(request);
        Box::pin(async move {
            Ok(future
                .await
                .unwrap_or_else(|error| respond::rescue(&error, &request_id)))
        })
    }
}

/// Catches a panic in `call` or while polling the response future.
#[derive(Clone)]
struct CatchPanic<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for CatchPanic<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => Box::pin(CatchUnwind {
                future: Box::pin(future),
            }),
            Err(payload) => Box::pin(std::future::ready(Err(panicked(payload.as_ref())))),
        }
    }
}

/// Polls the inner future inside `catch_unwind`; the future is boxed, so it is `Unpin`.
struct CatchUnwind<F> {
    future: Pin<Box<F>>,
}

impl<F, E> std::future::Future for CatchUnwind<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.future.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll.map_err(Into::into),
            Err(payload) => Poll::Ready(Err(panicked(payload.as_ref()))),
        }
    }
}

fn panicked(payload: &(dyn std::any::Any + Send)) -> BoxError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    Error::Panicked { message }.into()
}

/// Rejects oversized header sections (431) and URIs (414).
#[derive(Clone)]
struct HeaderLimits<S> {
    inner: S,
    max_header_bytes: usize,
    max_uri_bytes: usize,
}

impl<S, B> Service<Request<B>> for HeaderLimits<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let uri_size = request
            .uri()
            .path_and_query()
            .map_or(0, |pq| pq.as_str().len());
        let header_size: usize = request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let rejection = if uri_size > self.max_uri_bytes {
            Some(Error::UriTooLong {
                size: uri_size,
                limit: self.max_uri_bytes,
            })
        } else if header_size > self.max_header_bytes {
            Some(Error::HeadersTooLarge {
                size: header_size,
                limit: self.max_header_bytes,
            })
        } else {
            None
        };
        if let Some(error) = rejection {
            return Box::pin(std::future::ready(Err(error.into())));
        }
        let future = self.inner.call(request);
        Box::pin(async move { future.await.map_err(Into::into) })
    }
}

/// Reads the body into memory, refusing more than `max` bytes (by `Content-Length` first) and
/// a body slower than `timeout`.
#[derive(Clone)]
struct BodyLimit<S> {
    inner: S,
    max: usize,
    timeout: std::time::Duration,
}

impl<S, B> Service<Request<B>> for BodyLimit<S>
where
    S: Service<Request<Bytes>, Response = Response, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (max, timeout) = (self.max, self.timeout);
        // The ready service is the one to call: take it and leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let declared = request
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<u64>().ok());
            if declared.is_some_and(|length| length > max as u64) {
                return Err(Error::BodyTooLarge { limit: max }.into());
            }
            let (parts, body) = request.into_parts();
            let read = http_body_util::Limited::new(body, max).collect();
            let Ok(read) = tokio::time::timeout(timeout, read).await else {
                return Err(Error::BodyTimeout { limit: timeout }.into());
            };
            let bytes = match read {
                Ok(collected) => collected.to_bytes(),
                Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                    return Err(Error::BodyTooLarge { limit: max }.into());
                }
                Err(error) => {
                    return Err(Error::BodyRead {
                        reason: error.to_string(),
                    }
                    .into());
                }
            };
            inner.call(Request::from_parts(parts, bytes)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Full;
    use tower::ServiceExt;

    use super::*;
    use crate::server::tenant::{Authenticate, Rejection, Tenant};
    use crate::service::{ScimReply, ScimService};

    struct Nobody;

    impl Authenticate for Nobody {
        fn authenticate<'a>(
            &'a self,
            headers: &'a http::HeaderMap,
            _peer: Option<std::net::IpAddr>,
        ) -> BoxFuture<'a, Result<String, Rejection>> {
            // The stack must have marked the credential before it got here: the principal
            // says so, and the service below echoes it.
            let sensitive = headers
                .get(header::AUTHORIZATION)
                .is_some_and(http::HeaderValue::is_sensitive);
            let present = headers.contains_key(header::AUTHORIZATION);
            Box::pin(async move {
                if present {
                    Ok(format!("sensitive={sensitive}"))
                } else {
                    Err(Rejection {
                        detail: "no credential".to_owned(),
                        reason: "test",
                        challenge: String::new(),
                        unavailable: false,
                        retry_after: None,
                    })
                }
            })
        }
    }

    struct Unused;

    impl ScimService for Unused {
        fn call(
            &self,
            call: crate::server::ScimCall,
        ) -> BoxFuture<'_, Result<ScimReply, crate::scim::ScimError>> {
            Box::pin(async move { Err(crate::scim::ScimError::new(500, call.principal)) })
        }

        fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn stack(limits: &Limits) -> Stack<Full<Bytes>> {
        let tenant = Tenant {
            name: "t".to_owned(),
            base_path: "/scim/v2".to_owned(),
            enabled: true,
            auth: Arc::new(Nobody),
            service: Arc::new(Unused),
        };
        build(limits, Router::new(vec![tenant]))
    }

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn authorization_is_sensitive_before_auth_sees_it() {
        let request = Request::get("/scim/v2/Users")
            .header(header::AUTHORIZATION, "Bearer secret")
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = stack(&Limits::default())
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), 500);
        let body = body_json(response).await;
        assert_eq!(body["detail"], "sensitive=true", "{body}");
    }

    /// A body whose bytes never come.
    struct NeverEnds;

    impl hyper::body::Body for NeverEnds {
        type Data = Bytes;
        type Error = BoxError;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
            Poll::Pending
        }
    }

    /// Issue 15: a request without a credential is refused before its body is read (the body
    /// here never ends), and an anonymous 401 names no configuration.
    #[tokio::test]
    async fn an_unauthenticated_request_is_refused_without_reading_its_body() {
        let body = NeverEnds;
        let request = Request::post("/scim/v2/Users")
            .header(header::CONTENT_LENGTH, "100000")
            .body(body)
            .expect("request");
        let limits = Limits::default();
        let tenant = Tenant {
            name: "t".to_owned(),
            base_path: "/scim/v2".to_owned(),
            enabled: true,
            auth: Arc::new(Nobody),
            service: Arc::new(Unused),
        };
        let stack = build(&limits, Router::new(vec![tenant]));
        let response =
            tokio::time::timeout(std::time::Duration::from_secs(2), stack.oneshot(request))
                .await
                .expect("answered without waiting for the body")
                .expect("infallible");
        assert_eq!(response.status(), 401);
        let body = body_json(response).await;
        assert!(
            !body["detail"]
                .as_str()
                .expect("detail")
                .contains("no credential"),
            "{body}"
        );
    }

    /// Issue 15: an authenticated body that does not arrive in time is a 408.
    #[tokio::test]
    async fn a_slow_authenticated_body_is_cut_off() {
        let body = NeverEnds;
        let request = Request::post("/scim/v2/Users")
            .header(header::AUTHORIZATION, "Bearer x")
            .body(body)
            .expect("request");
        let limits = Limits {
            body_read_timeout: std::time::Duration::from_millis(100),
            ..Limits::default()
        };
        let tenant = Tenant {
            name: "t".to_owned(),
            base_path: "/scim/v2".to_owned(),
            enabled: true,
            auth: Arc::new(Nobody),
            service: Arc::new(Unused),
        };
        let response = build(&limits, Router::new(vec![tenant]))
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), 408);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        let request = Request::post("/scim/v2/Users")
            .header(header::AUTHORIZATION, "Bearer x")
            .header(header::CONTENT_LENGTH, "11")
            .body(Full::new(Bytes::from_static(b"01234567890")))
            .expect("request");
        let response = stack(&limits).oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), 413);
        assert!(response.headers().contains_key(X_REQUEST_ID));
    }

    #[test]
    fn request_ids_must_be_short_and_plain() {
        assert!(is_sane_request_id("0f6c-4e1a_x.y:z"));
        for bad in ["", "with space", "new\nline", "ä", &"x".repeat(129)] {
            assert!(!is_sane_request_id(bad), "{bad:?}");
        }
    }
}
