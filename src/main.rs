//! The `scimgate` command line: `serve`, `demo`, `check`, `translate`, `schema`, `token`,
//! `healthcheck`, `audit`, `reconcile` and `example-api`. `anyhow` lives here only; the library returns
//! typed errors.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use scimgate::demo::{DemoOptions, DemoServer};
use scimgate::reload::Reloader;
use scimgate::settings::{LogFormat, Settings, TlsMode};
use scimgate::{app, mapping, server, telemetry, translate};

/// A SCIM 2.0 gateway in front of an existing REST user API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway with a settings file (then `SCIMGATE__…` environment overrides).
    Serve {
        /// The settings file (YAML).
        #[arg(long, env = "SCIMGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the bundled example API with the gateway in front of it, on loopback.
    Demo {
        /// Where the gateway listens (plain HTTP, loopback only).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The bearer token to accept (default: a fresh random one, printed at start).
        #[arg(long, env = "SCIMGATE_DEMO_TOKEN")]
        token: Option<String>,
    },
    /// Check settings and mapping files (and run the mappings' tests) without any network.
    Check {
        /// The settings file to check (default: config/scimgate.yaml when present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Mapping files to check (default: every *.yaml in ./mappings).
        mappings: Vec<PathBuf>,
    },
    /// Dry run: print the backend calls one SCIM request would make, and the SCIM answer.
    Translate {
        /// The mapping file.
        #[arg(long)]
        mapping: PathBuf,
        /// The SCIM request: `{"method":"PATCH","path":"/Users/17","body":{…}}`, or a bare
        /// User/Group resource (a create).
        request: PathBuf,
        /// The backend object as it is now (what the stand-in backend answers to reads).
        #[arg(long)]
        current: Option<PathBuf>,
    },
    /// Print the JSON Schema of the mapping file format.
    Schema,
    /// Print a fresh random token for Entra's Secret Token field and its settings line.
    Token,
    /// Read a password from stdin (its first line) and print its Argon2id PHC string for
    /// `tenants[].auth.basic[].password_hash`.
    HashPassword,
    /// Exit 0 when the gateway configured by the settings answers /healthz (for HEALTHCHECK).
    Healthcheck {
        /// The settings file (YAML).
        #[arg(long, env = "SCIMGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the audit trail of SCIM writes from the store the settings name.
    Audit {
        /// The settings file (YAML); `--settings` works too.
        #[arg(long, alias = "settings", env = "SCIMGATE_CONFIG")]
        config: Option<PathBuf>,
        /// Entries at or after this RFC 3339 time, e.g. 2026-11-01T00:00:00Z.
        #[arg(long)]
        since: String,
        /// Only entries about this SCIM id.
        #[arg(long)]
        scim_id: Option<String>,
        /// Only this tenant's entries.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many entries (oldest first).
        #[arg(long, default_value_t = scimgate::audit::DEFAULT_LIMIT)]
        limit: usize,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read-only: backend users and groups no SCIM id maps to, SCIM ids whose backend record is
    /// gone, and records whose identity changed (README: "Reconcile").
    Reconcile {
        /// The settings file (YAML).
        #[arg(long, alias = "settings", env = "SCIMGATE_CONFIG")]
        config: Option<PathBuf>,
        /// Only this tenant.
        #[arg(long, conflicts_with = "connection")]
        tenant: Option<String>,
        /// Only this connection (a customer workspace in the store), instead of the tenants.
        #[arg(long)]
        connection: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Manage connections (customer workspaces) in the store the settings name, as the admin
    /// API does.
    Connections {
        /// The settings file (YAML).
        #[arg(long, global = true, env = "SCIMGATE_CONFIG")]
        config: Option<PathBuf>,
        /// Print the admin API's JSON instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        action: ConnectionsCommand,
    },
    /// The bundled example API alone (no gateway), to bench or test against (README: "The
    /// example API").
    ExampleApi {
        /// Where the example API listens.
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: SocketAddr,
        /// The value clients must send in `X-Api-Key`.
        #[arg(long, default_value = "demo-api-key")]
        api_key: String,
        /// How many users (ids 1..N, username and email `user1@example.com` ...) to create first.
        #[arg(long, default_value_t = 0)]
        seed_users: usize,
    },
}

/// `scimgate connections …`.
#[derive(Debug, Subcommand)]
enum ConnectionsCommand {
    /// Create a connection: prints its SCIM Base URL and its Secret Token (shown once).
    Create {
        /// Its id (letters, digits, - and _; default: random).
        #[arg(long)]
        id: Option<String>,
        /// Its display name.
        #[arg(long)]
        name: Option<String>,
        /// Its mapping (`connections.mappings[].name`; optional when there is one).
        #[arg(long)]
        mapping: Option<String>,
        /// A variable, `NAME=VALUE` (repeat for each).
        #[arg(long = "var", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
    },
    /// List connections.
    List,
    /// Show a connection and its status.
    Show {
        /// The connection id.
        id: String,
    },
    /// Switch provisioning on.
    Enable {
        /// The connection id.
        id: String,
    },
    /// Switch provisioning off (403 "provisioning is switched off").
    Disable {
        /// The connection id.
        id: String,
    },
    /// Issue a new token; the old ones keep working until deleted.
    Rotate {
        /// The connection id.
        id: String,
    },
    /// Let a connection take the product's own API keys as its Secret Token (its mapping's
    /// `product_keys:` says how each key is checked).
    AcceptProductKeys {
        /// The connection id.
        id: String,
    },
    /// Delete one token of a connection.
    DeleteToken {
        /// The connection id.
        id: String,
        /// The token id (`show` lists them).
        token: String,
    },
    /// Delete a connection: its tokens stop at once, its id map goes.
    Delete {
        /// The connection id.
        id: String,
    },
}

fn parse_variable(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

/// `scimgate connections …` over the store and mappings the settings name.
async fn connections(
    config: Option<&Path>,
    action: ConnectionsCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use scimgate::connection::cli::Action;
    let settings = Settings::load(config).map_err(|error| anyhow::anyhow!("{error}"))?;
    let store = app::open_store(&settings).await?;
    let Some(registry) = app::connections_from_disk(&settings, &store).await? else {
        bail!("the settings list no connections.mappings: connections are not configured");
    };
    let action = match action {
        ConnectionsCommand::Create {
            id,
            name,
            mapping,
            variables,
        } => Action::Create {
            id,
            name,
            mapping,
            variables,
        },
        ConnectionsCommand::List => Action::List,
        ConnectionsCommand::Show { id } => Action::Show(id),
        ConnectionsCommand::Enable { id } => Action::Enable(id),
        ConnectionsCommand::Disable { id } => Action::Disable(id),
        ConnectionsCommand::Rotate { id } => Action::Rotate(id),
        ConnectionsCommand::DeleteToken { id, token } => Action::DeleteToken(id, token),
        ConnectionsCommand::AcceptProductKeys { id } => Action::AcceptProductKeys(id),
        ConnectionsCommand::Delete { id } => Action::Delete(id),
    };
    match scimgate::connection::cli::run(&registry, action, json).await {
        Ok(text) => {
            print!("{text}");
            if json {
                println!();
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("error: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `scimgate hash-password`: the first line of stdin (without its line ending) as an Argon2id
/// PHC string. The password is never printed.
fn hash_password() -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("no password on stdin (e.g. `printf %s \"$PASSWORD\" | scimgate hash-password`)");
    }
    let phc = server::auth::hash_password(password).map_err(anyhow::Error::msg)?;
    println!("{phc}");
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match command {
        Command::Serve { config } => serve(config.as_deref()).await,
        Command::Demo { listen, token } => demo(listen, token).await,
        Command::Check { config, mappings } => Ok(check(config.as_deref(), &mappings).await),
        Command::Translate {
            mapping,
            request,
            current,
        } => translate(&mapping, &request, current.as_deref()).await,
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&mapping::json_schema())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token => {
            let (token, line) = server::auth::new_token();
            println!("Secret Token (paste into Entra; shown once, not stored): {token}");
            println!("Settings line (tenants[].auth.bearer.token_hashes):       {line}");
            Ok(ExitCode::SUCCESS)
        }
        Command::HashPassword => hash_password(),
        Command::Healthcheck { config } => healthcheck(config.as_deref()).await,
        Command::Audit {
            config,
            since,
            scim_id,
            tenant,
            limit,
            json,
        } => {
            let query = scimgate::store::AuditQuery {
                since: scimgate::audit::parse_since(&since)?,
                tenant,
                scim_id,
                limit: scimgate::audit::parse_limit(&limit.to_string())?,
            };
            let settings =
                Settings::load(config.as_deref()).map_err(|error| anyhow::anyhow!("{error}"))?;
            let store = app::open_store(&settings).await?;
            print!(
                "{}",
                scimgate::audit::report(store.as_ref(), query, json).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile {
            config,
            tenant,
            connection,
            json,
        } => {
            let settings =
                Settings::load(config.as_deref()).map_err(|error| anyhow::anyhow!("{error}"))?;
            let reports = match connection {
                Some(id) => vec![scimgate::reconcile::run_connection(&settings, &id).await?],
                None => scimgate::reconcile::run(&settings, tenant.as_deref()).await?,
            };
            if json {
                print!("{}", scimgate::reconcile::render_json(&reports));
            } else {
                print!("{}", scimgate::reconcile::render_text(&reports));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ExampleApi {
            listen,
            api_key,
            seed_users,
        } => example_api(listen, api_key, seed_users).await,
        Command::Connections {
            config,
            json,
            action,
        } => connections(config.as_deref(), action, json).await,
    }
}

async fn serve(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config).map_err(|error| anyhow::anyhow!("{error}"))?;
    telemetry::init(settings.log.format, &settings.log.level)?;
    if matches!(settings.server.tls, TlsMode::None) {
        tracing::warn!(
            listen = %settings.server.listen,
            "Serving plain HTTP (server.tls.mode: none): only behind a TLS-terminating proxy."
        );
    }
    let store = app::open_store(&settings).await?;
    // The same validation as `check` and a reload: a mapping whose tests fail is refused.
    let tenants = match app::tenants_from_disk(&settings, &store) {
        Ok(tenants) => tenants,
        Err(error) => {
            tracing::error!(
                problems = %error.problems.join("; "),
                "Configuration refused; the gateway does not start."
            );
            return Err(error.into());
        }
    };
    let connections = match app::connections_from_disk(&settings, &store).await {
        Ok(connections) => connections,
        Err(error) => {
            tracing::error!(
                problems = %error.problems.join("; "),
                "Configuration refused; the gateway does not start."
            );
            return Err(error.into());
        }
    };
    let poller = connections
        .as_ref()
        .map(|registry| registry.spawn_poller(settings.connections.poll_interval));
    let admin = match settings.server.admin_listen {
        Some(addr) => {
            let admin = server::Server::bind_admin_with_connections(
                &settings.server,
                addr,
                tenants.clone(),
                connections.clone(),
            )
            .await?;
            tracing::info!(listen = %admin.local_addr(), "Admin listener (metrics, health, audit).");
            Some(admin)
        }
        None => None,
    };
    let pruner = settings
        .audit
        .enabled
        .then(|| scimgate::audit::spawn_pruner(store.clone(), settings.audit.retention));
    let server =
        server::Server::bind_with_connections(&settings.server, tenants, connections.clone())
            .await?;
    let mut reloader = Reloader::new(
        config.map(Path::to_path_buf),
        settings,
        store,
        server.live_config(),
    );
    if let Some(admin) = &admin {
        reloader = reloader.also_serving(admin.live_config());
    }
    if let Some(registry) = &connections {
        reloader = reloader.also_listing(std::sync::Arc::clone(registry));
    }
    let reloader = std::sync::Arc::new(reloader);
    let admin = admin.map(server::Server::spawn);
    // Installed before "listening" is logged, so no SIGHUP can arrive unhandled (and end the
    // process) once the gateway serves.
    #[cfg(unix)]
    let hangups = reloader
        .spawn_on_hangup()
        .context("cannot listen for SIGHUP")?;
    tracing::info!(listen = %server.local_addr(), "Gateway listening.");
    server.run(server::shutdown_signal()).await;
    #[cfg(unix)]
    hangups.abort();
    if let Some(admin) = admin {
        admin.shutdown().await?;
    }
    if let Some(pruner) = pruner {
        pruner.abort();
    }
    if let Some(poller) = poller {
        poller.abort();
    }
    tracing::info!("Gateway stopped.");
    Ok(ExitCode::SUCCESS)
}

async fn demo(listen: SocketAddr, token: Option<String>) -> anyhow::Result<ExitCode> {
    telemetry::init(LogFormat::Pretty, "info")?;
    let running = app::start_demo(listen, token).await?;
    let base = &running.scim_base_url;
    println!();
    println!("scimgate demo is running (Ctrl-C to stop).");
    println!("  SCIM base URL (Entra's Tenant URL): {base}");
    println!("  Bearer token (Entra's Secret Token): {}", running.token);
    println!(
        "  Example API behind it:               {}/api/v1/users (header X-Api-Key: {})",
        running.backend.base_url(),
        running.backend.api_key()
    );
    println!();
    println!("Try:");
    println!(
        "  curl -s -H 'Authorization: Bearer {}' -H 'Content-Type: application/scim+json' \\\n    \
         -d '{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"ann@example.com\",\
         \"name\":{{\"givenName\":\"Ann\",\"familyName\":\"Lee\"}},\"active\":true}}' {base}/Users",
        running.token
    );
    println!(
        "  curl -s -H 'Authorization: Bearer {}' '{base}/Users?filter=userName%20eq%20%22ann@example.com%22'",
        running.token
    );
    server::shutdown_signal().await;
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// `example-api`: the bundled example API alone (no gateway), until Ctrl-C or SIGTERM.
async fn example_api(
    listen: SocketAddr,
    api_key: String,
    seed_users: usize,
) -> anyhow::Result<ExitCode> {
    telemetry::init(LogFormat::Pretty, "warn")?;
    let options = DemoOptions {
        api_key,
        seed_users,
    };
    let backend = DemoServer::start(listen, options)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("example API listening on {}", backend.base_url());
    server::shutdown_signal().await;
    backend.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// `check`: every problem of the settings and of every mapping, then the mappings' tests;
/// with `store.kind: postgres`, whether the database answers. It runs the validation `serve`
/// and a reload run ([`app::tenants_from_disk`], [`app::check_mapping`]), so what it passes
/// `serve` starts with.
async fn check(config: Option<&Path>, mappings: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    let default_config = Path::new("config/scimgate.yaml");
    let config = config.or_else(|| default_config.exists().then_some(default_config));
    if let Some(config) = config {
        failed |= !check_settings(config).await;
    }
    let files = if mappings.is_empty() {
        mapping_files(Path::new("mappings"))
    } else {
        mappings.to_vec()
    };
    if files.is_empty() {
        println!("x no mapping files given and none found in ./mappings");
        return ExitCode::from(2);
    }
    let env = |name: &str| std::env::var(name).ok();
    for file in &files {
        let checked = app::load_mapping(file, &env)
            .and_then(|mapping| app::check_mapping(&file.display().to_string(), mapping));
        match checked {
            Ok(checked) => {
                println!("√ {} ({} tests passed)", file.display(), checked.tests);
                // Warnings do not fail the check: the mapping works, but deserves a look.
                for warning in checked.mapping.warnings() {
                    println!("! {}: {warning}", file.display());
                }
            }
            Err(problems) => {
                failed = true;
                println!("x {}", file.display());
                for problem in problems {
                    println!("  {problem}");
                }
            }
        }
    }
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// The settings file of `check`: loads, its store answers (PostgreSQL), and every tenant builds
/// as `serve` builds it (over an in-memory store: nothing is written). Prints √ or x lines;
/// false when anything is wrong.
async fn check_settings(config: &Path) -> bool {
    let settings = match Settings::load(Some(config)) {
        Ok(settings) => settings,
        Err(error) => {
            println!("x {}\n{error}", config.display());
            return false;
        }
    };
    let mut ok = true;
    match app::check_store(&settings).await {
        Ok(Some(found)) => println!("√ {found}"),
        Ok(None) => {}
        Err(error) => {
            ok = false;
            println!("x {error}");
        }
    }
    let store: std::sync::Arc<dyn scimgate::store::Store> =
        match scimgate::store::SqliteStore::open_in_memory() {
            Ok(store) => std::sync::Arc::new(store),
            Err(error) => {
                println!(
                    "x {}: cannot open an in-memory store: {error}",
                    config.display()
                );
                return false;
            }
        };
    match app::tenants_from_disk(&settings, &store) {
        Ok(tenants) => println!(
            "√ {} ({} tenant{} as `serve` builds them)",
            config.display(),
            tenants.len(),
            if tenants.len() == 1 { "" } else { "s" }
        ),
        Err(error) => {
            ok = false;
            println!("x {}: `serve` would refuse to start:", config.display());
            for problem in error.problems {
                println!("  {problem}");
            }
        }
    }
    ok
}

/// `translate`: the real engine against a recording stand-in backend; nothing leaves the machine.
async fn translate(
    mapping_file: &Path,
    request: &Path,
    current: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let mapping =
        match translate::load_mapping(&mapping_file.display().to_string(), &read(mapping_file)?) {
            Ok(mapping) => mapping,
            Err(problems) => {
                eprintln!("{}", problems.render());
                return Ok(ExitCode::from(2));
            }
        };
    let request = translate::parse_request(&read(request)?)?;
    let current = current
        .map(|path| read(path).and_then(|text| Ok(translate::parse_current(&text)?)))
        .transpose()?;
    let translation = translate::translate(mapping, request, current).await?;
    print!("{}", translate::render(&translation));
    Ok(ExitCode::SUCCESS)
}

/// The `*.yaml` mapping files of a directory, sorted.
fn mapping_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    files
}

/// `healthcheck`: GET /healthz on the configured listener (loopback when it listens on all
/// addresses); exit 0 on 200. Certificates are not verified: the target is this container.
async fn healthcheck(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config).map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut addr = settings.server.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let scheme = if matches!(settings.server.tls, TlsMode::None) {
        "http"
    } else {
        "https"
    };
    let timeout = std::time::Duration::from_secs(5);
    let client = scimgate::backend::fetch::unverified_client(timeout)
        .map_err(|error| anyhow::anyhow!("cannot build the HTTP client: {error}"))?;
    let url = format!("{scheme}://{addr}/healthz");
    let request = http::Request::get(url.as_str())
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .with_context(|| format!("GET {url}"))?;
    let answer = scimgate::backend::fetch::exchange(&client, request, 64 * 1024, timeout)
        .await
        .map_err(|error| anyhow::anyhow!("GET {url}: {error}"))?;
    if !answer.status.is_success() {
        bail!("GET {url} answered {}", answer.status);
    }
    Ok(ExitCode::SUCCESS)
}
