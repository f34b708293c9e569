#!/usr/bin/env bash
# The test command the README gives: everything the project's tests need, then the tests.
# Runs on a fresh machine as root (Redmine, Request Tracker and PostgreSQL come from Debian's
# packages, installed with apt-get) with the Rust toolchain, python3, node/npm and curl, and
# reaches crates.io, Debian's packages, PyPI (hadolint) and the npm registry (newman). The
# external conformance suites are in the repository (tests/conformance/); nothing beside the
# repository is read.
#
# Every server it starts is stopped when it ends, passed, failed or interrupted: the demo gateways
# by the scripts that start them, PostgreSQL (scripts/postgres/up.sh), Redmine and Request
# Tracker by the trap below (PostgreSQL only when it was not running before this script).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}

pg_started=
rt_started=
redmine_started=
stop_servers() {
  local status=$?
  trap - EXIT
  if [ -n "$redmine_started" ] && ! scripts/redmine/down.sh 2>/dev/null; then
    echo "test.sh: could not stop the Redmine this run started (scripts/redmine/down.sh)" >&2
    status=1
  fi
  if [ -n "$rt_started" ] && ! scripts/request-tracker/down.sh 2>/dev/null; then
    echo "test.sh: could not stop the Request Tracker this run started (scripts/request-tracker/down.sh)" >&2
    status=1
  fi
  # Silent when it works, so the test summary stays the last thing printed.
  if [ -n "$pg_started" ] && ! scripts/postgres/down.sh 2>/dev/null; then
    echo "test.sh: could not stop the PostgreSQL this run started (scripts/postgres/down.sh)" >&2
    status=1
  fi
  exit "$status"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# shellcheck source=postgres/common.sh
pg_running() { (. scripts/postgres/common.sh && running); }

step() { # step NAME COMMAND...: run one stage and say how long it took
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  "$@"
  echo "<== $name: $((SECONDS - start)) s"
}

step "build the scimgate binary (cargo build --locked)" cargo build --locked
# The shipped settings take the bearer token from SCIMGATE_TOKEN, and `check` refuses what
# `serve` would refuse, an unset token variable included: give it one, as a deployment does.
step "scimgate check: shipped settings and mappings, with their tests" \
  env SCIMGATE_TOKEN=check-only-token-not-served-0123456789 "$target/debug/scimgate" check
step "Dockerfile lint (hadolint)" scripts/lint-dockerfile.sh
step "external conformance suites against scimgate demo (cargo test --test it conformance::)" \
  env SCIMGATE_CONFORMANCE=1 cargo test --locked --test it conformance::
# A real legacy product (Redmine from Debian's packages) behind the gateway with
# mappings/redmine.yaml alone: started on its pristine database, the Rust tests of Redmine's API
# and of Entra's flows (tests/it/redmine, which need REDMINE_URL and REDMINE_API_KEY), stopped.
redmine_e2e() {
  local env rc=0
  redmine_started=1
  env=$(REDMINE_RESET=1 scripts/redmine/up.sh) || return 1
  (eval "$env" && cargo test --locked --test it redmine::) || rc=$?
  scripts/redmine/down.sh || rc=1
  redmine_started=
  return "$rc"
}
step "Redmine end to end (scripts/redmine/up.sh, cargo test --test it redmine)" redmine_e2e
# A second real product (Request Tracker 5 from Debian's packages) behind the gateway with
# mappings/request-tracker.yaml alone: started on its pristine database, the Rust end-to-end
# tests (tests/it/request_tracker, which need RT_URL and RT_TOKEN), stopped.
rt_e2e() {
  local env rc=0
  rt_started=1
  env=$(RT_RESET=1 scripts/request-tracker/up.sh) || return 1
  (eval "$env" && cargo test --locked --test it request_tracker::) || rc=$?
  scripts/request-tracker/down.sh || rc=1
  rt_started=
  return "$rc"
}
step "Request Tracker end to end (scripts/request-tracker/up.sh, cargo test --test it request_tracker)" rt_e2e
step "release binary as the container runs it (scripts/release-smoke.sh)" scripts/release-smoke.sh
# PostgreSQL (Debian's package) for the PostgreSQL store tests and the two-replica test; exports
# SCIMGATE_TEST_POSTGRES_URL (without it those tests fail when CI is set).
if ! pg_running; then pg_started=1; fi
# shellcheck disable=SC2016  # expanded by eval, inside step
step "PostgreSQL on loopback (scripts/postgres/up.sh)" eval 'pg=$(scripts/postgres/up.sh) && eval "$pg"'
# Last, so its summary closes the log: unit tests, mapping tests and the integration binary
# (gateway over real sockets, TLS, Entra conformance cases, engine, faults, and every command
# block of README.md against a fresh demo, `readme::`, docker lines checked against the files).
# (The Redmine and Request Tracker tests ran above with their product up; here REDMINE_URL and
# RT_URL are unset and CI would fail them.)
step "unit and integration tests (cargo test --locked)" \
  cargo test --locked --all-targets -- --skip request_tracker:: --skip redmine:: --skip conformance::
