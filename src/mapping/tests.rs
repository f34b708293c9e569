//! Tests of the whole module: the shipped mappings, the broken-file fixtures, the JSON Schema.

use super::*;
