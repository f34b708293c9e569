//! TLS for the listener: rustls with the ring provider, TLS 1.2 and 1.3 only, ALPN `h2` and
//! `http/1.1`, and a certificate that can be replaced without a restart.
//!
//! [`CertReloader`] is the server's certificate resolver; [`watch`] reloads it on SIGHUP and
//! whenever the files' modification times change. A failed reload keeps the old certificate
//! and logs why. This module does not accept connections: `listener.rs` does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate could not be loaded or TLS configured.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The certificate file could not be read or holds malformed PEM.
    #[error("cannot read certificate chain {}: {source}", path.display())]
    CertFile {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no `CERTIFICATE` block.
    #[error("no certificate in {}", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file could not be read or holds no private key.
    #[error("cannot read private key {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        source: rustls::pki_types::pem::Error,
    },
    /// The key is unsupported or does not belong to the certificate.
    #[error("certificate {} and key {} do not form a usable pair: {source}",
        cert.display(), key.display())]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// rustls refused the protocol configuration.
    #[error("TLS configuration failed: {0}")]
    Config(#[from] rustls::Error),
}

/// The certificate resolver: the current chain and key, replaceable while serving.
#[derive(Debug)]
pub struct CertReloader {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// Modification times of (cert, key) at the last load attempt.
    stamp: Mutex<Option<(SystemTime, SystemTime)>>,
}

impl CertReloader {
    /// Loads the chain and key; fails if they cannot serve.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Self, Error> {
        let stamp = stamps(cert_file, key_file);
        let key = load_certified_key(cert_file, key_file)?;
        Ok(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: RwLock::new(Arc::new(key)),
            stamp: Mutex::new(stamp),
        })
    }

    /// Reloads the files now; on failure the old certificate stays in use.
    pub fn reload(&self) -> Result<(), Error> {
        let stamp = stamps(&self.cert_file, &self.key_file);
        if let Ok(mut last) = self.stamp.lock() {
            *last = stamp;
        }
        let key = load_certified_key(&self.cert_file, &self.key_file)?;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(key);
        }
        Ok(())
    }

    /// Reloads if either file's modification time changed since the last attempt.
    /// Returns whether a reload was attempted.
    pub fn reload_if_changed(&self) -> Result<bool, Error> {
        let now = stamps(&self.cert_file, &self.key_file);
        let changed = self.stamp.lock().map(|last| *last != now).unwrap_or(false);
        if changed {
            self.reload()?;
        }
        Ok(changed)
    }

    /// The certificate currently served.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|key| Arc::clone(&key))
    }
}

impl ResolvesServerCert for CertReloader {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

fn stamps(cert_file: &Path, key_file: &Path) -> Option<(SystemTime, SystemTime)> {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Some((modified(cert_file)?, modified(key_file)?))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certified_key(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, Error> {
    let cert_error = |source| Error::CertFile {
        path: cert_file.to_owned(),
        source,
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(cert_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(cert_error)?;
    if chain.is_empty() {
        return Err(Error::NoCertificate {
            path: cert_file.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|source| Error::KeyFile {
        path: key_file.to_owned(),
        source,
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|source| Error::Pair {
        cert: cert_file.to_owned(),
        key: key_file.to_owned(),
        source,
    })
}

/// The server configuration: TLS 1.3 and 1.2 only, ALPN `h2` then `http/1.1`.
pub fn server_config(resolver: Arc<CertReloader>) -> Result<rustls::ServerConfig, Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Reloads `reloader` on SIGHUP and when the files change (checked every `interval`), until
/// the task is aborted. Failures are logged and the old certificate stays.
pub async fn watch(reloader: Arc<CertReloader>, interval: Duration) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let forced = match hangup.as_mut() {
            Some(hangup) => tokio::select! {
                _ = hangup.recv() => true,
                _ = ticker.tick() => false,
            },
            None => {
                ticker.tick().await;
                false
            }
        };
        #[cfg(not(unix))]
        let forced = {
            ticker.tick().await;
            false
        };
        let outcome = if forced {
            reloader.reload().map(|()| true)
        } else {
            reloader.reload_if_changed()
        };
        match outcome {
            Ok(true) => {
                tracing::info!(cert = %reloader.cert_file.display(), "Certificate reloaded");
            }
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%error, "Certificate reload failed; still serving the old one");
            }
        }
    }
}
