//! The accept loop: TCP, optional TLS, hyper-util's auto (HTTP/1.1 + h2) connection builder,
//! and graceful shutdown.
//!
//! Slow clients are cut off by hyper's header read timeout (and the same bound on the TLS
//! handshake); on shutdown the listener stops accepting and in-flight requests drain up to
//! `server.shutdown_grace`. Requests themselves are handled by the stack in `stack.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::live::{LiveConfig, LiveService, RouterKind};
use super::tenant::Tenant;
use super::tls::{self, CertReloader};
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
        Self::bind_router(settings, tenants, RouterKind::Scim).await
    }

    /// Binds the plain-HTTP admin listener on `addr` (`server.admin_listen`): `/healthz`,
    /// `/readyz`, `/metrics` and `/admin/audit` for every tenant, without authentication, so it
    /// belongs on loopback or a private network. Limits and grace come from `settings`.
    pub async fn bind_admin(
        settings: &ServerSettings,
        addr: SocketAddr,
        tenants: Vec<Tenant>,
    ) -> Result<Self, Error> {
        let admin = ServerSettings {
            listen: addr,
            tls: TlsMode::None,
            ..settings.clone()
        };
        Self::bind_router(&admin, tenants, RouterKind::Admin).await
    }

    async fn bind_router(
        settings: &ServerSettings,
        tenants: Vec<Tenant>,
        kind: RouterKind,
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
            live: Arc::new(LiveConfig::new(settings, tenants, kind)),
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

        let graceful = GracefulShutdown::new();
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
            let _ = tcp.set_nodelay(true);
            // A new connection takes the connection limits in force now; each of its requests
            // then takes the stack in force when it arrives (see `live.rs`).
            let snapshot = live.snapshot();
            let builder = snapshot.builder.clone();
            let header_read_timeout = snapshot.limits.header_read_timeout;
            drop(snapshot);
            let service = TowerToHyperService::new(LiveService {
                config: Arc::clone(&live),
            });
            let acceptor = acceptor.clone();
            // The watcher is taken before the handshake so shutdown also waits for it.
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let result = match acceptor {
                    None => {
                        let connection = builder.serve_connection(TokioIo::new(tcp), service);
                        watcher.watch(connection.into_owned()).await
                    }
                    Some(acceptor) => {
                        let Some(stream) =
                            handshake(&acceptor, tcp, peer, header_read_timeout).await
                        else {
                            return;
                        };
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
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
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("All connections closed"),
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
