#!/usr/bin/env bash
# Stop the Redmine that up.sh started: TERM, wait (REDMINE_STOP_TIMEOUT, 15 s), then KILL.
# REDMINE_PURGE=1 also purges the packages up.sh installed and Redmine's data and state.
# Idempotent: stopping a stopped Redmine or purging a purged one succeeds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
need_root
STOP_TIMEOUT=${REDMINE_STOP_TIMEOUT:-15}

stop_server() {
  local pid deadline
  pid=$(server_pid)
  if [ -z "$pid" ]; then
    log "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "pid $pid still alive after ${STOP_TIMEOUT} s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

purge() {
  local pkgs=()
  if [ -s "$STATE_DIR/packages.installed" ]; then
    mapfile -t pkgs <"$STATE_DIR/packages.installed"
  else
    pkgs=("${PACKAGES[@]}")
  fi
  local present=() p
  for p in "${pkgs[@]}"; do
    if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
      present+=("$p")
    fi
  done
  if [ ${#present[@]} -gt 0 ]; then
    # The packages' removal scripts run bundler too: keep the pin (see common.sh).
    if is_installed ruby-bundler; then pin_bundler; fi
    drop_orphan_templates redmine/instances/default/dbconfig-remove redmine/instances/default/purge
    debconf-set-selections <<'DEBCONF'
redmine redmine/instances/default/dbconfig-remove boolean true
redmine redmine/instances/default/purge boolean true
DEBCONF
    log "purging ${#present[@]} packages"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${present[@]}" >&2
  fi
  forget_dbconfig_files
  rm -rf /var/lib/redmine /etc/redmine /var/log/redmine /var/cache/redmine \
    /var/lib/dbconfig-common/sqlite3/redmine /etc/dbconfig-common/redmine "$STATE_DIR"
  rmdir /etc/dbconfig-common 2>/dev/null || true
  log "purged"
}

stop_server
if [ "${REDMINE_PURGE:-0}" = 1 ]; then purge; fi
