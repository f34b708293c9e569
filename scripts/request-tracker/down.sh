#!/usr/bin/env bash
# Stop the RT that up.sh started: TERM (rt-server's Starlet master stops its workers), wait
# (RT_STOP_TIMEOUT, 15 s), then KILL the process group's survivors.
# RT_PURGE=1 also purges the packages up.sh installed and RT's data, config and state.
# Idempotent: stopping a stopped RT or purging a purged one succeeds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
need_root
STOP_TIMEOUT=${RT_STOP_TIMEOUT:-15}

stop_server() {
  local pid deadline workers
  pid=$(server_pid)
  if [ -z "$pid" ]; then
    log "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  workers=$(pgrep -P "$pid" || true)
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "pid $pid still alive after ${STOP_TIMEOUT} s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  # Workers the master left behind (after a KILL) hold the port.
  for w in $workers; do kill -KILL "$w" 2>/dev/null || true; done
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

purge() {
  local pkgs=() present=() p
  if [ -s "$STATE_DIR/packages.installed" ]; then
    mapfile -t pkgs <"$STATE_DIR/packages.installed"
  else
    pkgs=("${PACKAGES[@]}")
  fi
  for p in "${pkgs[@]}"; do
    if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
      present+=("$p")
    fi
  done
  if [ ${#present[@]} -gt 0 ]; then
    log "purging ${#present[@]} packages"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${present[@]}" >&2
  fi
  forget_ucf_files
  rm -rf /etc/request-tracker5 /var/lib/request-tracker5 /var/cache/request-tracker5 \
    /var/log/request-tracker5 /var/lib/dbconfig-common/sqlite3/request-tracker5 \
    /etc/dbconfig-common/request-tracker5.conf /etc/cron.d/request-tracker5 "$STATE_DIR"
  log "purged"
}

stop_server
if [ "${RT_PURGE:-0}" = 1 ]; then purge; fi
