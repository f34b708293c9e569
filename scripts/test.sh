#!/usr/bin/env bash
# The test command the README gives: everything the project's tests need, then the tests.
# Runs on a fresh machine (as root: Redmine comes from Debian's packages) with the Rust toolchain,
# python3 and node/npm (all on the machine);
# the external conformance suites are read from ../shared/conformance next to the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}

step() { # step NAME COMMAND...: run one stage and say how long it took
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  "$@"
  echo "<== $name: $((SECONDS - start)) s"
}

step "build the scimgate binary (cargo build --locked)" cargo build --locked
step "scimgate check: shipped settings and mappings, with their tests" \
  "$target/debug/scimgate" check
step "Dockerfile lint (hadolint)" scripts/lint-dockerfile.sh
# Every command block of README.md against a fresh demo; docker lines checked against the files.
step "README commands (scripts/readme-commands.sh)" scripts/readme-commands.sh "$target/debug/scimgate"
step "external conformance suites against scimgate demo" scripts/conformance.sh "$target/debug/scimgate"
# A real legacy product (Redmine from Debian's packages, installed and started by the script)
# behind the gateway with mappings/redmine.yaml alone, replaying Entra's flows.
step "Redmine end to end (scripts/redmine/e2e.sh)" scripts/redmine/e2e.sh "$target/debug/scimgate"
step "release binary as the container runs it (scripts/release-smoke.sh)" scripts/release-smoke.sh
# PostgreSQL (Debian's package) for the PostgreSQL store tests and the two-replica test; exports
# SCIMGATE_TEST_POSTGRES_URL (without it those tests fail when CI is set).
# shellcheck disable=SC2016  # expanded by eval, inside step
step "PostgreSQL on loopback (scripts/postgres/up.sh)" eval 'pg=$(scripts/postgres/up.sh) && eval "$pg"'
# Last, so its summary closes the log: unit tests, mapping tests and the integration binary
# (gateway over real sockets, TLS, Entra conformance cases, engine, faults).
step "unit and integration tests (cargo test --locked)" cargo test --locked --all-targets
