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

# The packages' removal scripts run bundler too: keep the pin (see common.sh).
before_purge() {
  if is_installed ruby-bundler; then pin_bundler; fi
  drop_orphan_templates redmine/instances/default/dbconfig-remove redmine/instances/default/purge
  debconf-set-selections <<'DEBCONF'
redmine redmine/instances/default/dbconfig-remove boolean true
redmine redmine/instances/default/purge boolean true
DEBCONF
}

purge() {
  apt_purge
  forget_dbconfig_files
  rm -rf /var/lib/redmine /etc/redmine /var/log/redmine /var/cache/redmine \
    /var/lib/dbconfig-common/sqlite3/redmine /etc/dbconfig-common/redmine "$STATE_DIR"
  rmdir /etc/dbconfig-common 2>/dev/null || true
  log "purged"
}

stop_server
if [ "${REDMINE_PURGE:-0}" = 1 ]; then purge; fi
