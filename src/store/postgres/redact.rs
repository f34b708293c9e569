//! Connection strings and driver errors as they may be shown: [`redact`] renders a URL or
//! `key=value` string from the driver's parse without its password, [`describe`] a driver
//! error with its cause. Nothing here connects.

use tokio_postgres::config::SslMode;

/// A tokio-postgres error with its cause (e.g. "connection refused", the server's message).
pub(super) fn describe(error: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match (error.as_db_error(), error.source()) {
        (Some(db), _) => format!("{} ({})", db.message(), db.code().code()),
        (None, Some(source)) => format!("{error}: {source}"),
        (None, None) => error.to_string(),
    }
}

/// A connection string (URL or `key=value` form, any spacing, quoted values) as it may be
/// shown in a message: parsed with the driver's own parser and rendered from the parsed fields
/// (user, hosts, ports, database, `sslmode`), never with its password. A string the driver
/// cannot parse is not echoed at all, since nothing says which part of it is the password.
pub fn redact(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(config) => render(&config),
        Err(error) => format!("(unparsable connection string: {})", parse_reason(&error)),
    }
}

/// `postgres://user@host:port,…/dbname?sslmode=…` from parsed fields, without the password.
fn render(config: &tokio_postgres::Config) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const SHOWN: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');
    let encode = |text: &str| utf8_percent_encode(text, SHOWN).to_string();
    let mut out = String::from("postgres://");
    if let Some(user) = config.get_user() {
        out.push_str(&encode(user));
        out.push('@');
    }
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let mut text = match host {
                tokio_postgres::config::Host::Tcp(name) if name.contains(':') => {
                    format!("[{name}]")
                }
                tokio_postgres::config::Host::Tcp(name) => encode(name),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(path) => encode(&path.to_string_lossy()),
            };
            // One port applies to every host; otherwise one per host.
            let port = match ports {
                [one] => Some(one),
                many => many.get(index),
            };
            if let Some(port) = port {
                text.push_str(&format!(":{port}"));
            }
            text
        })
        .collect();
    out.push_str(&hosts.join(","));
    if let Some(dbname) = config.get_dbname() {
        out.push('/');
        out.push_str(&encode(dbname));
    }
    let sslmode = match config.get_ssl_mode() {
        SslMode::Disable => "disable",
        SslMode::Require => "require",
        _ => "prefer",
    };
    out.push_str("?sslmode=");
    out.push_str(sslmode);
    out
}

/// The driver's parse error without any character of the input (its "expected `=` but got
/// `x`" quotes one).
pub(super) fn parse_reason(error: &tokio_postgres::Error) -> String {
    let text = error.to_string();
    match text.find(" but got") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}
