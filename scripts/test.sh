#!/usr/bin/env bash
# The test command the README gives: everything the project's tests need, then the tests.
# Runs on a fresh machine with only the Rust toolchain; later stages install what they need.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { # step NAME COMMAND...: run one stage and say how long it took
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  "$@"
  echo "<== $name: $((SECONDS - start)) s"
}

step "unit and integration tests (cargo test --locked)" cargo test --locked --all-targets
