//! Filter tests (filled in below).
