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

purge() {
  apt_purge
  forget_rt_ucf_files
  rm -rf /etc/request-tracker5 /var/lib/request-tracker5 /var/cache/request-tracker5 \
    /var/log/request-tracker5 /var/lib/dbconfig-common/sqlite3/request-tracker5 \
    /etc/dbconfig-common/request-tracker5.conf /etc/cron.d/request-tracker5 "$STATE_DIR"
  log "purged"
}

stop_server
if [ "${RT_PURGE:-0}" = 1 ]; then purge; fi
