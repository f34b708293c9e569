//! Configuration reload (SIGHUP): re-read the settings file, the environment and every mapping,
//! validate all of it as `scimgate check` does (mapping tests included), build a new tenant
//! set, and only then swap it into the running server.
//!
//! A reload is all or nothing: any problem keeps the running configuration and is logged as
//! one error line naming every problem (`file:line:column: …` for mappings). Settings that
//! only a restart can apply (listen address, TLS mode and files, store, logging) are compared;
//! when they changed the running values are kept and a warning names each key. Open
//! connections are never touched: [`LiveConfig`] hands the next request the new configuration.
//!
//! This module decides what a valid reload is; it owns no sockets (`server` does) and maps no
//! error to HTTP (a reload is not a request).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::app;
use crate::server::LiveConfig;
use crate::settings::{self, Settings, TlsMode};
use crate::store::Store;

/// Why a reload was refused; the running configuration stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The settings file (or the `SCIMGATE__…` environment) does not load or validate.
    #[error("settings {file}: {}", .problems.join("; "))]
    Settings {
        /// The settings file, or `(environment)` when the gateway runs without one.
        file: String,
        /// Every problem, one line each.
        problems: Vec<String>,
    },
    /// A mapping does not load or fails its tests, or a tenant cannot be built (an
    /// authentication variable is unset, a token file is unreadable, a backend is unusable).
    #[error("{}", .problems.join("; "))]
    Tenants {
        /// Every problem, one line each, e.g. `mappings/acme.yaml:12:5: …`.
        problems: Vec<String>,
    },
}

/// What a successful reload applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// The tenants now served, by name.
    pub tenants: Vec<String>,
    /// Settings keys that changed but need a restart; their running values were kept.
    pub restart_required: Vec<&'static str>,
    /// Successful reloads since start, this one included.
    pub reloads: u64,
    /// Refused reloads since start.
    pub failures: u64,
}

/// Reloads the configuration of one running gateway, on demand or on SIGHUP.
#[derive(Debug)]
pub struct Reloader {
    config: Option<PathBuf>,
    store: Arc<dyn Store>,
    /// The main listener's configuration, then any other listener serving the same tenants
    /// (the admin listener).
    live: Vec<Arc<LiveConfig>>,
    /// Held for a whole reload, so two reloads never interleave.
    state: Mutex<State>,
    /// The connections, whose admin API lists the settings' tenants (read-only).
    connections: Option<Arc<crate::connection::Registry>>,
}

#[derive(Debug)]
struct State {
    /// The settings in force (restart-only keys as at start).
    running: Settings,
    reloads: u64,
    failures: u64,
}

impl Reloader {
    /// A reloader for a server started with `running` (read from `config`, if any), serving
    /// through `live` over `store`; the store itself is never reopened.
    pub fn new(
        config: Option<PathBuf>,
        running: Settings,
        store: Arc<dyn Store>,
        live: Arc<LiveConfig>,
    ) -> Self {
        Self {
            config,
            store,
            live: vec![live],
            state: Mutex::new(State {
                running,
                reloads: 0,
                failures: 0,
            }),
            connections: None,
        }
    }

    /// Also tells the connections' admin API the new settings' tenants on every reload.
    #[must_use]
    pub fn also_listing(mut self, connections: Arc<crate::connection::Registry>) -> Self {
        self.connections = Some(connections);
        self
    }

    /// Also swaps the tenants of another listener serving them (the admin listener) on every
    /// reload.
    #[must_use]
    pub fn also_serving(mut self, live: Arc<LiveConfig>) -> Self {
        self.live.push(live);
        self
    }

    /// The settings in force now.
    pub fn settings(&self) -> Settings {
        self.lock().running.clone()
    }

    /// Re-reads and validates everything, then swaps it in; on any problem keeps the running
    /// configuration. Logs one line either way (plus one warning per restart-only key). Blocks
    /// on file reads: call it off the async request threads.
    pub fn reload(&self) -> Result<ReloadReport, Error> {
        let mut state = self.lock();
        match self.build(&state.running) {
            Ok((settings, restart_required)) => {
                for key in &restart_required {
                    tracing::warn!(
                        key,
                        "Changed in the settings, but only a restart applies it; keeping the \
                         running value."
                    );
                }
                state.running = settings;
                state.reloads += 1;
                let report = ReloadReport {
                    tenants: state
                        .running
                        .tenants
                        .iter()
                        .map(|t| t.name.clone())
                        .collect(),
                    restart_required,
                    reloads: state.reloads,
                    failures: state.failures,
                };
                tracing::info!(
                    tenants = %report.tenants.join(","),
                    reloads = report.reloads,
                    failures = report.failures,
                    "Configuration reloaded."
                );
                Ok(report)
            }
            Err(error) => {
                state.failures += 1;
                tracing::error!(
                    %error,
                    reloads = state.reloads,
                    failures = state.failures,
                    "Configuration reload failed; still serving the previous configuration."
                );
                Err(error)
            }
        }
    }

    /// Loads and validates the new configuration and, if all of it is good, swaps it in.
    fn build(&self, running: &Settings) -> Result<(Settings, Vec<&'static str>), Error> {
        let mut settings =
            Settings::load(self.config.as_deref()).map_err(|error| Error::Settings {
                file: self.config.as_ref().map_or_else(
                    || "(environment)".to_owned(),
                    |path| path.display().to_string(),
                ),
                problems: settings_problems(&error),
            })?;
        let restart_required = keep_restart_only(running, &mut settings);
        let tenants =
            app::tenants_from_disk(&settings, &self.store).map_err(|error| Error::Tenants {
                // One log line per failed reload, whatever a problem's text holds.
                problems: error
                    .problems
                    .iter()
                    .map(|problem| problem.replace('\n', " "))
                    .collect(),
            })?;
        for live in &self.live {
            live.replace(&settings.server, tenants.clone());
        }
        if let Some(connections) = &self.connections {
            connections.set_file_tenants(crate::connection::file_tenants::FileTenant::all(
                &settings.tenants,
            ));
        }
        Ok((settings, restart_required))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic mid-reload leaves the previous, whole, settings in place.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reloads on every SIGHUP until the returned task is aborted. The signal handler is
    /// installed before this returns, so a SIGHUP sent afterwards never ends the process.
    #[cfg(unix)]
    pub fn spawn_on_hangup(self: &Arc<Self>) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let reloader = Arc::clone(self);
        Ok(tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration.");
                let reloader = Arc::clone(&reloader);
                // File reads and mapping compilation block: keep them off the request threads.
                if let Err(error) = tokio::task::spawn_blocking(move || reloader.reload()).await {
                    tracing::error!(%error, "Configuration reload task failed.");
                }
            }
        }))
    }
}

/// Every problem of a settings error, one line each.
fn settings_problems(error: &settings::Error) -> Vec<String> {
    match error {
        settings::Error::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
        settings::Error::Load(_) => vec![error.to_string().replace('\n', " ")],
    }
}

/// Puts the running values of restart-only keys back into `new`; returns the keys that differed.
fn keep_restart_only(running: &Settings, new: &mut Settings) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if running.server.listen != new.server.listen {
        changed.push("server.listen");
    }
    match (&running.server.tls, &new.server.tls) {
        (
            TlsMode::Files {
                cert_file,
                key_file,
                reload_interval,
            },
            TlsMode::Files {
                cert_file: new_cert,
                key_file: new_key,
                reload_interval: new_interval,
            },
        ) => {
            // The certificate's contents reload by themselves (`server::tls`); its paths do not.
            for (differs, key) in [
                (cert_file != new_cert, "server.tls.cert_file"),
                (key_file != new_key, "server.tls.key_file"),
                (
                    reload_interval != new_interval,
                    "server.tls.reload_interval",
                ),
            ] {
                if differs {
                    changed.push(key);
                }
            }
        }
        (TlsMode::None, TlsMode::None) => {}
        _ => changed.push("server.tls.mode"),
    }
    // Compared through Debug so that every store key counts, including ones added later.
    if format!("{:?}", running.store) != format!("{:?}", new.store) {
        changed.push("store");
    }
    if running.log.format != new.log.format {
        changed.push("log.format");
    }
    if running.log.level != new.log.level {
        changed.push("log.level");
    }
    new.server.listen = running.server.listen;
    new.server.tls = running.server.tls.clone();
    new.store = running.store.clone();
    new.log = running.log.clone();
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Settings {
        let yaml = format!(
            "server: {{ public_base_url: \"https://scim.example.com\", tls: {{ mode: none }} }}\n\
             tenants: [{{ name: acme, mapping: a.yaml }}]\n{extra}"
        );
        Settings::load_with(None, Some(&yaml), Some(config::Map::new())).expect("valid settings")
    }

    #[test]
    fn restart_only_keys_are_named_and_keep_their_running_values() {
        let running = settings("store: { sqlite_path: a.sqlite3 }\nlog: { level: info }");
        let mut new = settings(
            "store: { sqlite_path: b.sqlite3 }\nlog: { level: debug, format: json }\n\
             backend: { deadline: 10s }",
        );
        new.server.listen = "127.0.0.1:1".parse().expect("addr");
        let changed = keep_restart_only(&running, &mut new);
        assert_eq!(
            changed,
            vec!["server.listen", "store", "log.format", "log.level"]
        );
        assert_eq!(new.server.listen, running.server.listen);
        assert_eq!(new.store.sqlite_path, PathBuf::from("a.sqlite3"));
        assert_eq!(new.log.level, "info");
        // Everything else applies.
        assert_eq!(new.backend.deadline, std::time::Duration::from_secs(10));
    }

    #[test]
    fn unchanged_settings_need_no_restart() {
        let running = settings("");
        let mut new = settings("backend: { deadline: 1s }");
        new.server.limits.max_body_bytes = 10;
        assert!(keep_restart_only(&running, &mut new).is_empty());
    }

    #[test]
    fn a_tls_mode_change_needs_a_restart() {
        let running = settings("");
        let mut new = settings("");
        new.server.tls = TlsMode::Files {
            cert_file: "c.pem".into(),
            key_file: "k.pem".into(),
            reload_interval: std::time::Duration::from_secs(5),
        };
        assert_eq!(
            keep_restart_only(&running, &mut new),
            vec!["server.tls.mode"]
        );
        assert_eq!(new.server.tls, TlsMode::None);
    }
}
