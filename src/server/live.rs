//! The configuration a running server serves with, replaceable while it serves.
//!
//! [`LiveConfig`] holds the tenants (mappings, engines, authenticators) and the request limits
//! as one built stack behind a lock; every request reads it once and runs on that snapshot, so
//! in-flight requests finish on the configuration they started with while the next request on
//! the same connection (HTTP/1.1 keep-alive or h2) uses the new one. New connections also take
//! their connection-level limits (header read timeout, h2 header list size) from it.
//!
//! This module swaps what it is given; deciding whether a new configuration is valid is the
//! reloader's job (`crate::reload`), and the listen address and TLS mode are fixed at bind.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::Request;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tower::Service;
use tower::util::ServiceExt;

use super::gate::PeerAddr;
use super::handlers::Router;
use super::respond::Response;
use super::stack::{self, Stack};
use super::tenant::Tenant;
use crate::connection::Registry;
use crate::service::BoxFuture;
use crate::settings::{Limits, ServerSettings};

/// One complete configuration of the server: what a request or a new connection runs on.
#[derive(Clone)]
pub(super) struct Snapshot {
    /// The tower stack around the router over the tenants.
    pub(super) stack: Stack<hyper::body::Incoming>,
    /// The HTTP/1.1 + h2 connection builder for new connections.
    pub(super) builder: auto::Builder<TokioExecutor>,
    /// The limits both were built with.
    pub(super) limits: Limits,
    /// How long in-flight requests may finish after a shutdown signal.
    pub(super) shutdown_grace: Duration,
}

/// Which routes a listener serves over its tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RouterKind {
    /// SCIM, discovery, health, `/metrics` and `/admin/audit` behind tenant credentials.
    Scim,
    /// The admin listener: health, `/metrics` and `/admin/audit` without credentials.
    Admin,
}

impl Snapshot {
    fn build(
        settings: &ServerSettings,
        tenants: Vec<Tenant>,
        kind: RouterKind,
        connections: Option<Arc<Registry>>,
    ) -> Self {
        let router = match kind {
            RouterKind::Scim => Router::new(tenants),
            RouterKind::Admin => Router::admin(tenants),
        }
        .with_ready_cache(settings.limits.ready_cache)
        .with_connections(connections);
        super::auth::configure_password_checks(
            settings.limits.password_hash_concurrency,
            settings.limits.login_failures,
            settings.limits.login_failure_window,
        );
        Self {
            stack: stack::build(&settings.limits, router),
            builder: connection_builder(&settings.limits),
            limits: settings.limits.clone(),
            shutdown_grace: settings.shutdown_grace,
        }
    }
}

/// The tenants and limits the server serves with now; [`LiveConfig::replace`] swaps them
/// atomically without touching open connections.
pub struct LiveConfig {
    current: RwLock<Arc<Snapshot>>,
    kind: RouterKind,
    /// The connections served next to the tenants (kept across reloads: they are live on
    /// their own).
    connections: Option<Arc<Registry>>,
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("limits", &self.snapshot().limits)
            .finish_non_exhaustive()
    }
}

impl LiveConfig {
    /// The first configuration, built at bind.
    pub(super) fn new(
        settings: &ServerSettings,
        tenants: Vec<Tenant>,
        kind: RouterKind,
        connections: Option<Arc<Registry>>,
    ) -> Self {
        let snapshot = Snapshot::build(settings, tenants, kind, connections.clone());
        Self {
            current: RwLock::new(Arc::new(snapshot)),
            kind,
            connections,
        }
    }

    /// Serves `tenants` with `settings.limits` and `settings.shutdown_grace` from the next
    /// request on. Requests already running finish on the previous configuration (they hold
    /// it); `settings.listen`, `settings.tls` and `settings.public_base_url` are not read here
    /// (the listener is bound, and the base URL is already in each tenant's engine).
    pub fn replace(&self, settings: &ServerSettings, tenants: Vec<Tenant>) {
        let next = Arc::new(Snapshot::build(
            settings,
            tenants,
            self.kind,
            self.connections.clone(),
        ));
        match self.current.write() {
            Ok(mut current) => *current = next,
            // A writer panicked mid-assignment; the pointer itself is always whole.
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }

    /// The configuration in force now (one read lock, one reference count).
    pub(super) fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

/// The per-connection service: each request runs on the stack current when it arrives.
#[derive(Clone)]
pub(super) struct LiveService {
    pub(super) config: Arc<LiveConfig>,
    /// The client's address, given to every request of the connection.
    pub(super) peer: Option<SocketAddr>,
    /// The connection's requests in flight and last activity, for the idle timeout.
    pub(super) activity: Arc<Activity>,
}

/// Whether a connection is idle: requests in flight and when the last one ended.
#[derive(Debug)]
pub(super) struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }
    }

    /// How long the connection has had no request in flight (zero while one is).
    pub(super) fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        self.last
            .lock()
            .map_or(Duration::ZERO, |last| last.elapsed())
    }

    fn start(self: &Arc<Self>) -> ActivityGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        ActivityGuard(Arc::clone(self))
    }
}

/// One request in flight on a connection; its end is the connection's last activity.
struct ActivityGuard(Arc<Activity>);

impl Drop for ActivityGuard {
    fn drop(&mut self) {
        if let Ok(mut last) = self.0.last.lock() {
            *last = Instant::now();
        }
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Service<Request<hyper::body::Incoming>> for LiveService {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness (load shedding) is the snapshot's stack's business, checked in `oneshot`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<hyper::body::Incoming>) -> Self::Future {
        request.extensions_mut().insert(PeerAddr(self.peer));
        let guard = self.activity.start();
        let stack = self.config.snapshot().stack.clone();
        let future = stack.oneshot(request);
        Box::pin(async move {
            let response = future.await;
            drop(guard);
            response
        })
    }
}

/// hyper-util's HTTP/1.1 + h2 connection builder with the connection-level limits.
fn connection_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // hyper's own h2 header limit (16 KiB by default) sits above ours, so that an oversized
    // header section reaches the stack and gets a SCIM 431 rather than a bare stream reset.
    let h2_headers = limits.max_header_bytes.saturating_add(limits.max_uri_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(h2_headers.saturating_mul(2)).unwrap_or(u32::MAX));
    builder
}
