//! TODO: see the issue for this module.
