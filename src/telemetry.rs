//! Tracing setup (pretty for development, JSON for production) and metrics.
