//! Tracing setup: pretty lines for development, JSON lines for log collectors.
//!
//! Owns only the global subscriber. What gets logged, and that tokens and bodies never are, is
//! the job of each module (the server's stack marks `Authorization` sensitive).

use tracing_subscriber::EnvFilter;

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    installed.map_err(|_| Error::AlreadyInstalled)
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
