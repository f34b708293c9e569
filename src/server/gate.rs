//! Authentication on the headers, before any body byte is read, and the budget of requests
//! that are not (yet) authenticated.
//!
//! The gate sits in the stack after the header and URI checks and before the concurrency
//! limit. For a request to a tenant (or `/metrics`, `/admin/audit`) it checks the credential
//! on the headers alone: a refusal is answered at once, without reading the body, so a client
//! without a credential can never hold a slow body open. Only an authenticated request goes on
//! to the concurrency limit (`server.limits.max_concurrency`) and then reads its body, within
//! `server.limits.body_read_timeout`.
//!
//! Requests that are not authenticated have their own small budget, in total
//! (`anonymous_concurrency`) and per peer IP (`anonymous_per_peer`), so they never take an
//! authenticated client's slot: the anonymous endpoints (`/healthz`, `/readyz`, unknown
//! paths, answered without reading a body) and credential checks that have to wait (an Argon2
//! verification, a JWKS fetch). A check that completes at once (a bearer token, a remembered
//! Basic password) takes no slot. Each h2 stream is one request. Over budget: 503 +
//! `Retry-After`.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::Request;
use tower::Service;
use tower::util::{BoxCloneSyncService, ServiceExt};

use super::handlers::{Access, Router};
use super::respond::{BoxError, Error, Response};
use crate::service::BoxFuture;

/// The client's address, put into each request's extensions by the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub Option<SocketAddr>);

/// Who the gate accepted a request as, for the router.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The index of the tenant whose credential it carried.
    pub tenant: usize,
    /// The credential's name (`bearer#1`, `basic:alice`, …).
    pub principal: String,
    /// The connection (from the store) whose credential it carried, instead of a tenant.
    pub connection: Option<Arc<crate::connection::Live>>,
    /// The credential to send the backend instead of `backend.auth` (a checked product key).
    pub backend_credential: Option<crate::backend::Forwarded>,
}

/// The `Host` a request names: its URI's authority (h2) or its `Host` header.
pub(crate) fn host<B>(request: &Request<B>) -> Option<&str> {
    request.uri().host().or_else(|| {
        request
            .headers()
            .get(http::header::HOST)
            .and_then(|host| host.to_str().ok())
    })
}

/// The not-yet-authenticated requests in flight, in total and per peer.
#[derive(Debug)]
pub(super) struct AnonymousBudget {
    total: usize,
    per_peer: usize,
    state: Mutex<BudgetState>,
}

#[derive(Debug, Default)]
struct BudgetState {
    total: usize,
    peers: HashMap<IpAddr, usize>,
}

/// One unit of the anonymous budget, returned on drop.
#[derive(Debug)]
pub(super) struct AnonymousPermit {
    budget: Arc<AnonymousBudget>,
    peer: IpAddr,
}

impl AnonymousBudget {
    pub(super) fn new(total: usize, per_peer: usize) -> Self {
        Self {
            total,
            per_peer,
            state: Mutex::default(),
        }
    }

    /// A permit for a request from `peer`, or the 503 that refuses it.
    pub(super) fn try_acquire(
        self: &Arc<Self>,
        peer: Option<IpAddr>,
    ) -> Result<AnonymousPermit, Error> {
        // Requests without a socket (service tests) share one stand-in address.
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let of_peer = state.peers.get(&peer).copied().unwrap_or(0);
        if state.total >= self.total || of_peer >= self.per_peer {
            return Err(Error::AnonymousBusy {
                per_peer: of_peer >= self.per_peer,
            });
        }
        state.total += 1;
        state.peers.insert(peer, of_peer + 1);
        Ok(AnonymousPermit {
            budget: Arc::clone(self),
            peer,
        })
    }

    #[cfg(test)]
    pub(super) fn in_use(&self) -> usize {
        self.state.lock().map(|state| state.total).unwrap_or(0)
    }
}

impl Drop for AnonymousPermit {
    fn drop(&mut self) {
        let mut state = self
            .budget
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.total = state.total.saturating_sub(1);
        if let Some(count) = state.peers.get_mut(&self.peer) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.peers.remove(&self.peer);
            }
        }
    }
}

/// The part of the stack after the gate: boxed, so both paths have one type.
pub(super) type Inner<B> = BoxCloneSyncService<Request<B>, Response, BoxError>;

/// Authenticates on the headers, then sends the request down the authenticated path
/// (concurrency limit, body) or the anonymous one (budget, no body).
pub(super) struct Gate<B> {
    pub(super) router: Router,
    pub(super) budget: Arc<AnonymousBudget>,
    pub(super) authenticated: Inner<B>,
    pub(super) anonymous: Inner<B>,
}

impl<B> Clone for Gate<B> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            budget: Arc::clone(&self.budget),
            authenticated: self.authenticated.clone(),
            anonymous: self.anonymous.clone(),
        }
    }
}

impl<B: Send + 'static> Service<Request<B>> for Gate<B> {
    type Response = Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each path is driven with `oneshot`, which waits for its own readiness.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let gate = self.clone();
        Box::pin(async move {
            let peer = request
                .extensions()
                .get::<PeerAddr>()
                .and_then(|peer| peer.0)
                .map(|addr| addr.ip());
            match gate.router.access(request.uri().path(), host(&request)) {
                Access::Trusted => gate.authenticated.oneshot(request).await,
                Access::Open => {
                    let _permit = gate.budget.try_acquire(peer)?;
                    gate.anonymous.oneshot(request).await
                }
                Access::Credential(which) => {
                    let authenticated = {
                        let future = gate.router.authenticate(
                            which,
                            request.headers(),
                            peer,
                            request.uri().path(),
                            host(&request),
                        );
                        let mut future = std::pin::pin!(future);
                        // A check that completes at once takes no anonymous slot; one that
                        // waits (Argon2, JWKS) holds one until it ends.
                        let first = future
                            .as_mut()
                            .poll(&mut Context::from_waker(Waker::noop()));
                        match first {
                            Poll::Ready(result) => result,
                            Poll::Pending => {
                                let _permit = gate.budget.try_acquire(peer)?;
                                future.await
                            }
                        }
                    }?;
                    request.extensions_mut().insert(authenticated);
                    gate.authenticated.oneshot(request).await
                }
            }
        })
    }
}

/// Hands the router an empty body without reading the request's (anonymous endpoints take
/// none, and an unauthenticated client's body is never read).
#[derive(Clone)]
pub(super) struct DiscardBody<S> {
    pub(super) inner: S,
}

impl<S, B> Service<Request<B>> for DiscardBody<S>
where
    S: Service<Request<Bytes>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (parts, _body) = request.into_parts();
        self.inner.call(Request::from_parts(parts, Bytes::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_per_peer_and_in_total_and_frees_on_drop() {
        let budget = Arc::new(AnonymousBudget::new(3, 2));
        let a: Option<IpAddr> = Some("192.0.2.1".parse().unwrap());
        let b: Option<IpAddr> = Some("192.0.2.2".parse().unwrap());
        let first = budget.try_acquire(a).unwrap();
        let _second = budget.try_acquire(a).unwrap();
        assert!(matches!(
            budget.try_acquire(a),
            Err(Error::AnonymousBusy { per_peer: true })
        ));
        let _third = budget.try_acquire(b).unwrap();
        assert!(matches!(
            budget.try_acquire(b),
            Err(Error::AnonymousBusy { per_peer: false })
        ));
        drop(first);
        assert_eq!(budget.in_use(), 2);
        assert!(budget.try_acquire(a).is_ok());
    }
}
