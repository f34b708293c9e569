//! The `scimgate` command line.

fn main() {}
