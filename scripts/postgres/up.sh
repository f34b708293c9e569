#!/usr/bin/env bash
# Install (once, Debian's `postgresql` package), initialise (once) and start a private PostgreSQL
# cluster on 127.0.0.1 for the PostgreSQL store's tests and the two-replica test.
# Non-interactive and idempotent: a cluster already running is reused.
#
#   eval "$(scripts/postgres/up.sh)"   # exports SCIMGATE_TEST_POSTGRES_URL
#   scripts/postgres/down.sh           # stops it (PG_PURGE=1 also deletes its data)
#
# Environment: PG_PORT (55432, or the next free port), PG_STATE_DIR (/tmp/backends/postgres).
# The cluster runs as the `postgres` OS user when started by root (CI), else as the caller.
# Only the export line goes to stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
start=$SECONDS

if [ -z "$(pg_bin)" ]; then
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root"
  log "installing Debian's postgresql package"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
fi
bin=$(pg_bin)
[ -n "$bin" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"

mkdir -p "$STATE_DIR"
if [ "$(id -u)" -eq 0 ]; then chown "$RUN_AS" "$STATE_DIR"; fi

if [ ! -s "$PASSWORD_FILE" ]; then
  # Hex digits only: the password goes into a URL unescaped.
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$PASSWORD_FILE"
  chmod 600 "$PASSWORD_FILE"
fi
password=$(cat "$PASSWORD_FILE")

if [ ! -s "$DATA_DIR/PG_VERSION" ]; then
  log "initialising a cluster in $DATA_DIR"
  rm -rf "$DATA_DIR"
  as_owner mkdir -p "$DATA_DIR" "$SOCKET_DIR"
  as_owner "$bin/initdb" -D "$DATA_DIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$STATE_DIR/initdb.log" 2>&1 \
    || { cat "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
fi
as_owner mkdir -p "$SOCKET_DIR"

if running; then
  port=$(cat "$PORT_FILE")
  log "already running on 127.0.0.1:$port"
else
  port=${PG_PORT:-}
  if [ -z "$port" ]; then
    port=55432
    while port_busy "$port"; do port=$((port + 1)); done
  fi
  log "starting on 127.0.0.1:$port"
  as_owner "$bin/pg_ctl" -D "$DATA_DIR" -l "$STATE_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $SOCKET_DIR -c fsync=off -c max_connections=200" >&2 \
    || { tail -n 20 "$STATE_DIR/server.log" >&2; die "pg_ctl start failed"; }
  echo "$port" >"$PORT_FILE"
fi

psql_admin() { as_owner "$bin/psql" -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
  psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$password'" >&2
else
  psql_admin -c "ALTER ROLE $ROLE PASSWORD '$password'" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
  psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2
fi

log "ready in $((SECONDS - start)) s"
echo "export SCIMGATE_TEST_POSTGRES_URL=postgres://$ROLE:$password@127.0.0.1:$port/$DATABASE"
