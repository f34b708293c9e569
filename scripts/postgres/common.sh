# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this
# Shared by up.sh / down.sh: paths and small helpers. Sourced, not run.

STATE_DIR=${PG_STATE_DIR:-/tmp/backends/postgres}
DATA_DIR=$STATE_DIR/data
SOCKET_DIR=$STATE_DIR/socket
PORT_FILE=$STATE_DIR/port
PASSWORD_FILE=$STATE_DIR/password
ROLE=scimgate
DATABASE=scimgate_test
# PostgreSQL refuses to run as root: root (CI) runs it as Debian's `postgres` user.
if [ "$(id -u)" -eq 0 ]; then RUN_AS=postgres; else RUN_AS=$(id -un); fi

log() { printf 'postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# pg_bin: the newest installed server's bin directory (empty when none).
pg_bin() {
  local dir found=
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then found=$dir; fi
  done
  echo "$found"
}

# as_owner CMD...: run as the cluster's OS user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}

running() {
  local bin
  bin=$(pg_bin)
  [ -n "$bin" ] && [ -s "$PORT_FILE" ] && [ -s "$DATA_DIR/PG_VERSION" ] \
    && as_owner "$bin/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
