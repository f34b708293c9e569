#!/usr/bin/env bash
# Stop the cluster scripts/postgres/up.sh started; PG_PURGE=1 also deletes its data directory.
# Idempotent: nothing running is fine. The Debian package stays installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
if running; then
  as_owner "$(pg_bin)/pg_ctl" -D "$DATA_DIR" -m fast -w stop >&2
  log "stopped"
else
  log "not running"
fi
rm -f "$PORT_FILE"
if [ "${PG_PURGE:-0}" = 1 ]; then
  rm -rf "$STATE_DIR"
  log "purged $STATE_DIR"
fi
