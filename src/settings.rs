//! Settings: raw (serde) → validated, layered with the `config` crate.
