//! Tracing setup: pretty lines for development, JSON lines for log collectors
//! ([`json_layer`]). Metrics live in `crate::metrics`.
//!
//! Owns only the global subscriber. What gets logged, and that tokens and bodies never are, is
//! the job of each module (the server's stack marks `Authorization` sensitive).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::settings::LogFormat;

/// Why the subscriber could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `log.level` is not an `EnvFilter` directive.
    #[error("invalid log level `{level}`: {source}")]
    InvalidLevel {
        /// The directive as configured.
        level: String,
        /// The parser's complaint.
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber is already installed (e.g. by a test harness).
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Installs the global subscriber writing to stderr in `format`, filtered by `level`.
pub fn init(format: LogFormat, level: &str) -> Result<(), Error> {
    let filter = EnvFilter::try_new(level).map_err(|source| Error::InvalidLevel {
        level: level.to_owned(),
        source,
    })?;
    let installed = match format {
        LogFormat::Pretty => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init()
            .is_ok(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(filter)
            .with(json_layer(std::io::stderr))
            .try_init()
            .is_ok(),
    };
    if installed {
        Ok(())
    } else {
        Err(Error::AlreadyInstalled)
    }
}

/// The `log.format: json` output: one JSON object per event, the event's fields at the top
/// level, the current span's fields under `span` (for a SCIM request: request id, tenant,
/// credential name, resource, operation, SCIM id, status, `scimType`, backend calls, latency)
/// and every enclosing span under `spans`. Public so tests capture exactly this format.
pub fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_writer(writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_level_is_reported_not_installed() {
        let error = init(LogFormat::Json, "info,=[").expect_err("invalid directive");
        assert!(matches!(error, Error::InvalidLevel { .. }), "{error}");
    }
}
