//! The accept loop: TCP, optional TLS, hyper-util's auto (HTTP/1.1 + h2) connection builder,
//! and graceful shutdown.
//!
//! Slow clients are cut off by hyper's header read timeout (and the same bound on the TLS
//! handshake); a connection with no request in flight for `server.limits.idle_timeout` is
//! closed (HTTP/1.1 and h2 alike, gracefully: h2 gets a GOAWAY); at most
//! `server.limits.max_connections` are open at once (more are closed at accept, with a warning).
//! On shutdown the listener stops accepting and in-flight requests drain up to
//! `server.shutdown_grace`. Requests themselves are handled by the stack in `stack.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;

use super::live::{Activity, LiveConfig, LiveService, RouterKind};
use super::tenant::Tenant;
use super::tls::{self, CertReloader};
use crate::connection::Registry;
use crate::settings::{ServerSettings, TlsMode};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The certificate or TLS configuration is unusable.
    #[error(transparent)]
    Tls(#[from] tls::Error),
    /// The server task ended abnormally.
    #[error("server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A bound, not yet running, gateway server.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    tls: Option<(
        tokio_rustls::TlsAcceptor,
        Arc<CertReloader>,
        std::time::Duration,
    )>,
    live: Arc<LiveConfig>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `settings.listen` and loads the certificate; serves `tenants` once run.
    pub async fn bind(settings: &ServerSettings, tenants: Vec<Tenant>) -> Result<Self, Error> {
        Self::bind_router(settings, tenants, RouterKind::Scim, None).await
    }

    /// Like [`Server::bind`], also serving the connections of `connections`.
    pub async fn bind_with_connections(
        settings: &ServerSettings,
        tenants: Vec<Tenant>,
        connections: Option<Arc<Registry>>,
    ) -> Result<Self, Error> {
        Self::bind_router(settings, tenants, RouterKind::Scim, connections).await
    }

    /// Binds the plain-HTTP admin listener on `addr` (`server.admin_listen`): `/healthz`,
    /// `/readyz`, `/metrics` and `/admin/audit` for every tenant, without authentication, so it
    /// belongs on loopback or a private network. Limits and grace come from `settings`.
    pub async fn bind_admin(
        settings: &ServerSettings,
        addr: SocketAddr,
        tenants: Vec<Tenant>,
    ) -> Result<Self, Error> {
        Self::bind_admin_with_connections(settings, addr, tenants, None).await
    }

    /// Like [`Server::bind_admin`], also serving the admin API (`/admin/v1/…`) over
    /// `connections`, behind `connections.admin_token_hashes`.
    pub async fn bind_admin_with_connections(
        settings: &ServerSettings,
        addr: SocketAddr,
        tenants: Vec<Tenant>,
        connections: Option<Arc<Registry>>,
    ) -> Result<Self, Error> {
        let admin = ServerSettings {
            listen: addr,
            tls: TlsMode::None,
            ..settings.clone()
        };
        Self::bind_router(&admin, tenants, RouterKind::Admin, connections).await
    }

    async fn bind_router(
        settings: &ServerSettings,
        tenants: Vec<Tenant>,
        kind: RouterKind,
        connections: Option<Arc<Registry>>,
    ) -> Result<Self, Error> {
        let addr = settings.listen;
        let tls = match &settings.tls {
            TlsMode::Files {
                cert_file,
                key_file,
                reload_interval,
            } => {
                let reloader = Arc::new(CertReloader::load(cert_file, key_file)?);
                let config = tls::server_config(Arc::clone(&reloader))?;
                let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
                Some((acceptor, reloader, *reload_interval))
            }
            TlsMode::None => None,
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        Ok(Self {
            listener,
            local_addr,
            tls,
            live: Arc::new(LiveConfig::new(settings, tenants, kind, connections)),
        })
    }

    /// The tenants and limits being served, replaceable while serving (configuration reload).
    pub fn live_config(&self) -> Arc<LiveConfig> {
        Arc::clone(&self.live)
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then drains in-flight requests up to the grace period.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let Self {
            listener,
            local_addr,
            tls,
            live,
        } = self;
        let reload_task = tls.as_ref().map(|(_, reloader, interval)| {
            tokio::spawn(tls::watch(Arc::clone(reloader), *interval))
        });
        match &tls {
            Some(_) => tracing::info!(%local_addr, "Listening (HTTPS: TLS 1.2/1.3, h2 + http/1.1)"),
            None => tracing::warn!(
                %local_addr,
                "Listening on plain HTTP (server.tls.mode: none): only safe behind a \
                 TLS-terminating load balancer or on loopback"
            ),
        }
        let acceptor = tls.map(|(acceptor, _, _)| acceptor);

        // Each open connection holds one permit; shutdown waits until all are back.
        let max_connections = live.snapshot().limits.max_connections;
        let connections = Arc::new(Semaphore::new(max_connections));
        let (stop, stopping) = watch::channel(false);
        let mut warned_full: Option<Instant> = None;
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Usually EMFILE: back off briefly instead of spinning.
                        tracing::warn!(%error, "Accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                if warned_full.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(
                        max_connections,
                        "Connection limit reached (server.limits.max_connections); closing new \
                         connections until some end"
                    );
                    warned_full = Some(Instant::now());
                }
                drop(tcp);
                continue;
            };
            let _ = tcp.set_nodelay(true);
            // A new connection takes the connection limits in force now; each of its requests
            // then takes the stack in force when it arrives (see `live.rs`).
            let snapshot = live.snapshot();
            let builder = snapshot.builder.clone();
            let header_read_timeout = snapshot.limits.header_read_timeout;
            let idle_timeout = snapshot.limits.idle_timeout;
            drop(snapshot);
            let activity = Arc::new(Activity::new());
            let service = TowerToHyperService::new(LiveService {
                config: Arc::clone(&live),
                peer: Some(peer),
                activity: Arc::clone(&activity),
            });
            let acceptor = acceptor.clone();
            let stopping = stopping.clone();
            tokio::spawn(async move {
                // Held until the connection ends (the handshake included).
                let _permit = permit;
                let idle = Idle {
                    activity,
                    timeout: idle_timeout,
                    stopping,
                };
                let result = match acceptor {
                    None => drive(&builder, TokioIo::new(tcp), service, idle).await,
                    Some(acceptor) => {
                        let Some(stream) =
                            handshake(&acceptor, tcp, peer, header_read_timeout).await
                        else {
                            return;
                        };
                        drive(&builder, TokioIo::new(stream), service, idle).await
                    }
                };
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "Connection ended with an error");
                }
            });
        }

        drop(listener);
        if let Some(task) = reload_task {
            task.abort();
        }
        let shutdown_grace = live.snapshot().shutdown_grace;
        tracing::info!(grace = ?shutdown_grace, "Shutting down: draining in-flight requests");
        let _ = stop.send(true);
        let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
        tokio::select! {
            _ = connections.acquire_many(all) => tracing::info!("All connections closed"),
            () = tokio::time::sleep(shutdown_grace) => {
                tracing::warn!("Grace period over; closing the remaining connections");
            }
        }
    }

    /// Runs on a task; the handle's [`ServerHandle::shutdown`] stops it (used by tests).
    pub fn spawn(self) -> ServerHandle {
        let local_addr = self.local_addr;
        let (trigger, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(self.run(async move {
            let _ = stop.await;
        }));
        ServerHandle {
            local_addr,
            trigger,
            task,
        }
    }
}

/// When a connection should close on its own: idle too long, or the server is stopping.
struct Idle {
    activity: Arc<Activity>,
    timeout: Duration,
    stopping: watch::Receiver<bool>,
}

/// Serves one connection until it ends, closing it gracefully once it has had no request in
/// flight for the idle timeout, or when the server shuts down (in-flight requests finish).
async fn drive<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    service: TowerToHyperService<LiveService>,
    mut idle: Idle,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let connection = builder.serve_connection(io, service).into_owned();
    let mut connection = std::pin::pin!(connection);
    let mut closing = false;
    loop {
        let wait = idle.timeout.saturating_sub(idle.activity.idle_for());
        tokio::select! {
            result = connection.as_mut() => return result,
            changed = idle.stopping.changed(), if !closing => {
                if changed.is_err() || *idle.stopping.borrow() {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            () = tokio::time::sleep(wait.max(Duration::from_millis(10))), if !closing => {
                if idle.activity.idle_for() >= idle.timeout {
                    tracing::debug!(timeout = ?idle.timeout, "Idle connection closed");
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    limit: std::time::Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// A running server: its address and a way to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    trigger: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, drains in-flight requests (up to the grace period) and waits.
    pub async fn shutdown(self) -> Result<(), Error> {
        let _ = self.trigger.send(());
        self.task.await?;
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM: the production shutdown signal for [`Server::run`].
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "Cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "Cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
